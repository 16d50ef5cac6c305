/* autotune.h: timing a conv shape's candidate algorithms in JIT modules,
 * each with its weights out of the caches. */
#include "autotune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_evict.h"
#include "dnnrt.h"
#include "jit.h"
#include "pipeline.h"
#include "profile_marks.h"
#include "progress.h"
#include "target.h"
#include "weights.h"

/* Timed runs per module: at least MIN_RUNS and MIN_SECONDS, at most
 * MAX_RUNS; a candidate's time is its least over MODULES modules built
 * apart. */
#define MIN_RUNS 5
#define MAX_RUNS 40
#define MIN_SECONDS 0.25
#define MODULES 3

const char *autotune_machine(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") ? "x86_64+avx512f" : "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

/* A layer of t computing op on x, laid out in l; its id, or -1. */
static int add_laid_out(Graph *t, OpKind op, const char *name, const Attrs *a, int x, Layout l, char *err,
                        size_t errsz)
{
    int id = graph_add_node(t, op, name, a, &x, 1, SRCLOC_NONE, err, errsz);
    if (id >= 0 && l != LAYOUT_NCHW) {
        t->nodes[id].ann.has_layout = true;
        t->nodes[id].ann.layout = l;
    }
    return id;
}

/* A conv like n (no residual: the same sums, one operand fewer) reading x
 * in the layouts n reads and writes, forced to c, as a network output
 * (through a reorder to plain when n writes blocks, untimed). */
static bool add_candidate(Graph *t, const Node *n, Layout writes, int x, const char *name, AlgoChoice c,
                          char *err, size_t errsz)
{
    int id = add_laid_out(t, OP_CONV, name, &n->attr, x, writes, err, errsz);
    if (id < 0)
        return false;
    t->nodes[id].ann.algo = c.algo;
    t->nodes[id].ann.algo_tile = c.tile;
    int y = t->nodes[id].output;
    if (writes != LAYOUT_NCHW) {
        Attrs none = {0};
        char plain[48];
        snprintf(plain, sizeof plain, "%s_plain", name);
        int r = add_laid_out(t, OP_REORDER, plain, &none, y, LAYOUT_NCHW, err, errsz);
        if (r < 0)
            return false;
        y = t->nodes[r].output;
    }
    graph_add_output(t, y);
    return true;
}

/* The cpu target's lowering of t at -O0: it keeps every layout and
 * algorithm written and gives the layers their places. */
static bool lower(Graph *t, char *err, size_t errsz)
{
    char *messages = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&messages, &size);
    if (!log) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    Diag d;
    diag_init(&d, log);
    PipelineOptions po = {.opt_level = 0};
    PassOptions o = {.opt_level = 0, .target = target_find("cpu"), .diag = &d};
    bool ok = pipeline_run(t, &o, &po);
    fclose(log);
    if (!ok)
        snprintf(err, errsz, "the candidates do not compile: %s", messages ? messages : "");
    free(messages);
    return ok;
}

/* x of n's input shape and type, in the layout n reads, and per candidate
 * a conv like n forced to it, candidate i the layer named candidate<i>. A
 * first conv, untimed, runs the first candidate before them, so that none
 * of them pays for bringing x into the caches (on small layers that cost
 * more than the conv itself). A layer that runs on blocked activations has
 * its candidates timed on blocked activations: their kernels are others. */
static Graph *candidates_graph(const Graph *g, const Node *n, const AlgoChoice *c, int nc,
                               char *err, size_t errsz)
{
    const Tensor *in = &g->tensors[n->inputs[0]];
    Layout reads = graph_tensor_layout(g, n->inputs[0]), writes = graph_tensor_layout(g, n->output);
    Attrs none = {0};
    Graph *t = graph_new();
    int x = graph_add_input(t, "x", in->shape, in->type, SRCLOC_NONE);
    int id = reads == LAYOUT_NCHW ? 0 : add_laid_out(t, OP_REORDER, "x_laid_out", &none, x, reads, err, errsz);
    bool ok = id >= 0;
    if (ok && reads != LAYOUT_NCHW)
        x = t->nodes[id].output;
    for (int i = -1; ok && i < nc; i++) {
        char name[32];
        snprintf(name, sizeof name, i < 0 ? "warmup" : "candidate%d", i);
        ok = add_candidate(t, n, writes, x, name, c[i < 0 ? 0 : i], err, errsz);
    }
    if (ok && !weights_randomize(t, 1)) {
        snprintf(err, errsz, "out of memory binding random weights");
        ok = false;
    }
    if (!ok || !lower(t, err, errsz)) {
        graph_free(t);
        return NULL;
    }
    return t;
}

/* Candidate i's layer in t: the one named candidate<i>. */
static int candidate_node(const Graph *t, int i)
{
    char name[32];
    snprintf(name, sizeof name, "candidate%d", i);
    int tensor = graph_find_tensor(t, name);
    return tensor < 0 ? -1 : t->tensors[tensor].producer;
}

typedef struct Buffers {
    void *in;
    void *out[ALGO_CHOICES_MAX_TIMES + 1];
    int n_out;
} Buffers;

static bool alloc_buffers(const Graph *t, Buffers *b)
{
    const Tensor *x = &t->tensors[t->inputs[0]];
    int64_t count = shape_elems(&x->shape);
    b->in = malloc((size_t)count * sizeof(float));
    bool ok = b->in != NULL;
    for (int64_t k = 0; ok && k < count; k++) /* spread over [0, 1), like activations */
        ((float *)b->in)[k] = (float)(((uint64_t)k * 2654435761u) % 1000) / 1000.0f;
    b->n_out = t->n_outputs;
    for (int i = 0; i < b->n_out; i++) {
        b->out[i] = malloc((size_t)shape_elems(&t->tensors[t->outputs[i]].shape) * sizeof(float));
        ok &= b->out[i] != NULL;
    }
    return ok;
}

static void free_buffers(Buffers *b)
{
    free(b->in);
    for (int i = 0; i < b->n_out; i++)
        free(b->out[i]);
}

/* Runs j after one untimed run until at least min_runs runs and
 * MIN_SECONDS were timed, or max_runs; samples[i * stride + r] holds
 * candidate i's time in run r. Returns the runs timed, or -1 on error. */
static int time_candidates(const Graph *t, JitModel *j, dnnrt_pool *pool, const Buffers *b, int nc,
                           double *samples, int stride, int min_runs, int max_runs)
{
    const void *inputs[1] = {b->in};
    int calls = jit_call_count(j), runs = 0;
    int node_of[ALGO_CHOICES_MAX_TIMES];
    for (int i = 0; i < nc; i++)
        node_of[i] = candidate_node(t, i);
    size_t weight_bytes;
    const void *weights = jit_weights(j, &weight_bytes);
    double spent = 0;
    for (int r = -1; runs < max_runs && (runs < min_runs || spent < MIN_SECONDS); r++) {
        /* Every candidate's weights out of the caches, so that each reads
         * them from memory, as a network does: it runs each layer once an
         * inference, and its weights, from ResNet-50's 100 MB to VGG-16's
         * 550 MB, outgrow a last-level cache of tens of MB. Timed with the
         * weights the previous run left in the caches, a layer whose
         * weights are large (a big Winograd tile's U) measured faster than
         * it runs in a network. No candidate reads another's weights, so
         * each finds its own where this left them; its input stays in the
         * caches, as a layer's input does, written just before. */
        cache_evict(weights, weight_bytes);
        profile_marks_reset();
        double t0 = now_seconds();
        if (jit_run(j, inputs, (void *const *)b->out, pool) != 0)
            return -1;
        spent += now_seconds() - t0;
        if (r < 0)
            continue; /* the first run warms caches and pages */
        for (int i = 0; i < nc; i++)
            samples[i * stride + runs] = 0;
        for (int k = 0; k < calls && k < profile_marks_count(); k++)
            for (int i = 0; i < nc; i++)
                if (jit_call_node(j, k) == node_of[i])
                    samples[i * stride + runs] += profile_mark_seconds(k, t0);
        runs++;
    }
    return runs;
}

/* One module of candidates: compiled, run, freed. */
typedef struct Module {
    Graph *graph;
    JitModel *jit;
    Buffers buffers;
} Module;

static bool module_build(const Graph *g, const Node *n, const AlgoChoice *c, int nc, Module *m,
                         char *err, size_t errsz)
{
    memset(m, 0, sizeof *m);
    m->graph = candidates_graph(g, n, c, nc, err, errsz);
    CodegenOptions co = {.name = "autotune", .opt_level = 3, .profile = true};
    m->jit = m->graph ? jit_compile(m->graph, &co, err, errsz) : NULL;
    if (m->jit && !alloc_buffers(m->graph, &m->buffers))
        snprintf(err, errsz, "out of memory for the candidates' inputs and outputs");
    return m->jit && m->buffers.in;
}

static void module_free(Module *m)
{
    free_buffers(&m->buffers);
    jit_free(m->jit);
    graph_free(m->graph);
}

/* A first run of every candidate; those more than PRUNE_FACTOR times
 * slower than the fastest keep that one time (a large FFT on a small
 * image can take a hundred times longer: timing it again would only make
 * --autotune slow). The others, kept[0..) (their number returned), are
 * timed properly. -1 on error. */
#define PRUNE_FACTOR 3.0
static int first_run(Module *m, dnnrt_pool *pool, int nc, double *ms, int *kept)
{
    double samples[ALGO_CHOICES_MAX_TIMES];
    if (time_candidates(m->graph, m->jit, pool, &m->buffers, nc, samples, 1, 1, 1) != 1)
        return -1;
    double fastest = samples[0];
    for (int i = 0; i < nc; i++)
        fastest = samples[i] < fastest ? samples[i] : fastest;
    int n_kept = 0;
    for (int i = 0; i < nc; i++) {
        ms[i] = samples[i] * 1e3;
        if (samples[i] <= PRUNE_FACTOR * fastest)
            kept[n_kept++] = i;
    }
    return n_kept;
}

/* Times the candidates c[kept[0..n_kept)] in MODULES modules built apart,
 * each with its candidates in another order, and sets ms[kept[i]] to kept
 * candidate i's least time. False with err set on failure. */
static bool time_in_modules(const Graph *g, const Node *n, const AlgoChoice *c, const int *kept, int n_kept,
                            dnnrt_pool *pool, double *ms, char *err, size_t errsz)
{
    for (int rep = 0; rep < MODULES; rep++) {
        AlgoChoice order[ALGO_CHOICES_MAX_TIMES];
        int slot_of[ALGO_CHOICES_MAX_TIMES]; /* kept candidate i is the module's slot_of[i] */
        for (int i = 0; i < n_kept; i++) {
            slot_of[i] = (i + rep) % n_kept;
            order[slot_of[i]] = c[kept[i]];
        }
        Module m;
        bool ok = module_build(g, n, order, n_kept, &m, err, errsz);
        double samples[ALGO_CHOICES_MAX_TIMES * MAX_RUNS];
        int runs = ok ? time_candidates(m.graph, m.jit, pool, &m.buffers, n_kept, samples, MAX_RUNS, MIN_RUNS,
                                        MAX_RUNS)
                      : -1;
        module_free(&m);
        if (runs <= 0)
            return false;
        for (int i = 0; i < n_kept; i++)
            for (int r = 0; r < runs; r++) {
                double t = samples[slot_of[i] * MAX_RUNS + r] * 1e3;
                if ((rep == 0 && r == 0) || t < ms[kept[i]])
                    ms[kept[i]] = t;
            }
    }
    return true;
}

bool autotune_measure(void *ctx, const Graph *g, const Node *n, const AlgoChoice *c, int nc,
                      double *ms, Diag *d)
{
    const AutotuneContext *a = ctx;
    char err[1024] = "";
    dnnrt_pool *pool = a->threads > 1 ? dnnrt_pool_create(a->threads) : NULL;
    Module m = {0};
    bool ok = (a->threads == 1 || pool) && module_build(g, n, c, nc, &m, err, sizeof err);
    int kept[ALGO_CHOICES_MAX_TIMES], n_kept = ok ? first_run(&m, pool, nc, ms, kept) : -1;
    module_free(&m);
    bool timed = n_kept > 0 && time_in_modules(g, n, c, kept, n_kept, pool, ms, err, sizeof err);
    if (!timed)
        diag_error(d, n->loc, "layer '%s': --autotune could not time its algorithms: %s", n->name,
                   err[0] ? err : pool || a->threads == 1 ? "out of memory" : "no threads");
    dnnrt_pool_destroy(pool);
    return timed;
}
