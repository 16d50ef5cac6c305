/* Every backend at every level against the oracle (difftest.h).
 *
 * The oracle is the reference executor running the graph as written
 * (tolerance.c computes it with the tolerances). Then, for each target's
 * pipeline at -O0 to -O3 (a clone of the graph, verified after every
 * pass):
 *   reference   the reference executor on the rewritten graph;
 *   cpu         native code through LLVM's JIT, on the calling thread and
 *               on a pool of two threads;
 *   object      the object file `dnnc compile` writes, linked into a shared
 *               library and loaded (codegen/llvm/shared_object.h), at the
 *               levels DtCheckOptions.object_levels names;
 *   dump        the rewritten graph printed as source, parsed back (its
 *               print must be the same bytes), given the rewritten weights
 *               by name and run on the reference: a dump is a compiler
 *               input.
 * Every output of every run is compared element by element: floats within
 * the tolerance of tolerance.c (a NaN or an infinity only with the same
 * class), integers exactly. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "dnnrt.h"
#include "jit.h"
#include "kernels.h"
#include "npy.h"
#include "pipeline.h"
#include "reference.h"
#include "shared_object.h"
#include "target.h"
#include "weights.h"

/* Values beyond this are not a fair test of float32 code (squares and sums
 * of them approach the float range): the generator keeps floats below about
 * 1e3 (1e7 from a dequantized extreme i32), so a graph past it is counted as
 * discarded. */
#define MAX_MAGNITUDE 1e8

__attribute__((format(printf, 4, 5))) static DtStatus fail(DtOutcome *out, DtStatus s, const char *where,
                                                            const char *fmt, ...)
{
    if (out->status != DT_PASS)
        return out->status; /* keep the first failure */
    out->status = s;
    snprintf(out->where, sizeof out->where, "%s", where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->report, sizeof out->report, fmt, ap);
    va_end(ap);
    return s;
}

/* Same class for non-finite values: NaN with NaN, an infinity with the same one. */
static bool same_class(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b;
}

/* The outputs of one run against the oracle; false after recording the
 * failure with the worst element. */
static bool compare(const Graph *g, const DtTolerance *t, Array *got, const char *where, DtOutcome *out,
                    FILE *log)
{
    out->runs++;
    for (int o = 0; o < t->n_outputs; o++) {
        const Tensor *ot = &g->tensors[g->outputs[o]];
        const Array *want = &t->oracle[o];
        int64_t n = array_count(want);
        double worst = 0;
        int64_t worst_at = -1, bad = 0;
        for (int64_t k = 0; k < n; k++) {
            double a = load_elem(want->dtype, got[o].data, k), e = load_elem(want->dtype, want->data, k);
            double tol = t->tol[o][k], ratio;
            if (!isfinite(a) || !isfinite(e))
                ratio = same_class(a, e) ? 0 : INFINITY;
            else if (a == e)
                ratio = 0;
            else
                ratio = tol > 0 ? fabs(a - e) / tol : INFINITY;
            if (ratio > 1)
                bad++;
            if (worst_at < 0 || ratio > worst)
                worst = ratio, worst_at = k;
        }
        char at[256];
        array_format_index(&want->shape, worst_at, at, sizeof at);
        double a = load_elem(want->dtype, got[o].data, worst_at), e = load_elem(want->dtype, want->data, worst_at);
        if (bad == 0) {
            out->worst_ratio = fmax(out->worst_ratio, worst);
            if (log && worst > 0)
                fprintf(log, "    %-26s output '%s' %s: got %.9g, expected %.9g, %.3g of the tolerance %.3g\n",
                        "", ot->name, at, a, e, worst, t->tol[o][worst_at]);
            continue;
        }
        fail(out, DT_MISMATCH, where,
             "output '%s' (%s): %lld of %lld elements outside the tolerance; worst at %s: got %.9g, "
             "expected %.9g, |difference| %.3g, tolerance %.3g",
             ot->name, elem_kind_name(want->dtype), (long long)bad, (long long)n, at, a, e, fabs(a - e),
             t->tol[o][worst_at]);
        return false;
    }
    return true;
}

/* Output buffers in each output's type and shape. */
static bool alloc_outputs(const Graph *g, Array *got, void **ptrs, char *err, size_t errsz)
{
    for (int o = 0; o < g->n_outputs; o++) {
        const Tensor *t = &g->tensors[g->outputs[o]];
        if (!array_alloc(&got[o], t->type.kind, &t->shape, err, errsz))
            return false;
        ptrs[o] = got[o].data;
    }
    return true;
}

static void free_outputs(const Graph *g, Array *got)
{
    for (int o = 0; o < g->n_outputs; o++)
        array_free(&got[o]);
}

/* A clone of g through `target`'s pipeline at `level`, verified after every
 * pass; NULL with the messages in err. */
static Graph *compile_for(const Graph *g, const char *target, int level, char *err, size_t errsz)
{
    Graph *c = graph_clone(g);
    char *messages = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&messages, &len);
    if (!c || !log) {
        snprintf(err, errsz, "out of memory");
        if (log)
            fclose(log);
        free(messages);
        graph_free(c);
        return NULL;
    }
    Diag d;
    diag_init(&d, log);
    PipelineOptions po = {.opt_level = level, .verify_each = true, .log = log};
    PassOptions o = {.opt_level = level, .target = target_find(target), .diag = &d};
    bool ok = pipeline_run(c, &o, &po);
    fclose(log);
    if (!ok) {
        snprintf(err, errsz, "the pipeline failed: %s", messages ? messages : "");
        graph_free(c);
        c = NULL;
    }
    free(messages);
    return c;
}

static char *print_graph(const Graph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    graph_print(g, f);
    fclose(f);
    return text;
}

typedef struct Ctx {
    const Graph *g;       /* as written */
    const Array *inputs;
    const void **in_ptrs;
    const DtTolerance *tol;
    const DtCheckOptions *o;
    DtOutcome *out;
    dnnrt_pool *pool;
} Ctx;

static void note(const Ctx *x, const char *where)
{
    if (x->o->log)
        fprintf(x->o->log, "  %-28s ok (worst error %.3g of the tolerance so far)\n", where, x->out->worst_ratio);
}

/* Runs `c` with one of the run functions and compares; false on failure. */
typedef bool (*BackendRun)(const Ctx *x, const Graph *c, void *state, void **outs, char *err, size_t errsz);

static bool run_and_compare(const Ctx *x, const Graph *c, BackendRun run, void *state, const char *where)
{
    char err[2048] = "";
    if (c->n_outputs != x->g->n_outputs) {
        fail(x->out, DT_ERROR, where, "the compiled graph has %d outputs, the graph as written %d",
             c->n_outputs, x->g->n_outputs);
        return false;
    }
    for (int o = 0; o < c->n_outputs; o++) {
        const Tensor *a = &c->tensors[c->outputs[o]], *b = &x->g->tensors[x->g->outputs[o]];
        if (a->type.kind != b->type.kind || !shape_equal(&a->shape, &b->shape)) {
            fail(x->out, DT_ERROR, where, "output %d changed its type or shape", o);
            return false;
        }
    }
    Array *got = calloc((size_t)c->n_outputs + 1, sizeof *got);
    void **ptrs = calloc((size_t)c->n_outputs + 1, sizeof *ptrs);
    bool ok = got && ptrs && alloc_outputs(c, got, ptrs, err, sizeof err);
    if (ok && !run(x, c, state, ptrs, err, sizeof err)) {
        fail(x->out, DT_ERROR, where, "%s", err);
        ok = false;
    } else if (ok) {
        ok = compare(c, x->tol, got, where, x->out, x->o->log);
        if (ok)
            note(x, where);
    } else {
        fail(x->out, DT_ERROR, where, "%s", err[0] ? err : "out of memory");
    }
    if (got)
        free_outputs(c, got);
    free(got);
    free(ptrs);
    return ok;
}

static bool run_reference(const Ctx *x, const Graph *c, void *state, void **outs, char *err, size_t errsz)
{
    (void)state;
    return reference_run_typed(c, x->in_ptrs, outs, err, errsz);
}

static bool run_jit(const Ctx *x, const Graph *c, void *state, void **outs, char *err, size_t errsz)
{
    (void)c;
    int rc = jit_run(state, x->in_ptrs, outs, NULL);
    if (rc)
        snprintf(err, errsz, "the compiled model returned %d", rc);
    return rc == 0;
}

static bool run_jit_pool(const Ctx *x, const Graph *c, void *state, void **outs, char *err, size_t errsz)
{
    (void)c;
    int rc = jit_run(state, x->in_ptrs, outs, x->pool);
    if (rc)
        snprintf(err, errsz, "the compiled model returned %d", rc);
    return rc == 0;
}

static bool run_object(const Ctx *x, const Graph *c, void *state, void **outs, char *err, size_t errsz)
{
    (void)c;
    int rc = shared_model_run(state, x->in_ptrs, outs);
    if (rc)
        snprintf(err, errsz, "NAME_run returned %d", rc);
    return rc == 0;
}

/* The dump of c, parsed back, with c's weights by name, on the reference. */
static bool check_dump(const Ctx *x, const Graph *c, const char *where)
{
    char *text = print_graph(c), *messages = NULL;
    Graph *back = text ? dt_parse("dump.dnn", text, &messages) : NULL;
    bool ok = back != NULL;
    if (!ok)
        fail(x->out, DT_ERROR, where, "the dump does not parse back:\n%s\n--- the dump:\n%s",
             messages ? messages : "", text ? text : "");
    for (int t = 0; ok && t < back->n_tensors; t++) {
        Tensor *p = &back->tensors[t];
        if (p->kind != TENSOR_PARAM)
            continue;
        int orig = graph_find_tensor(c, p->name);
        if (orig < 0 || c->tensors[orig].kind != TENSOR_PARAM || !shape_equal(&p->shape, &c->tensors[orig].shape) ||
            p->type.kind != c->tensors[orig].type.kind) {
            fail(x->out, DT_ERROR, where, "weight '%s' of the parsed dump is not a weight of the same "
                 "shape and type in the compiled graph", p->name);
            ok = false;
        } else {
            p->data = c->tensors[orig].data; /* borrowed */
        }
    }
    /* With the same weights bound: the comments of quantised layers show
     * their scales, which live in the weights. */
    char *again = ok ? print_graph(back) : NULL;
    if (ok && (!again || strcmp(again, text) != 0)) {
        fail(x->out, DT_ERROR, where, "the dump parsed back prints differently:\n%s\n--- again:\n%s", text,
             again ? again : "");
        ok = false;
    }
    ok = ok && run_and_compare(x, back, run_reference, NULL, where);
    for (int t = 0; back && t < back->n_tensors; t++)
        if (back->tensors[t].kind == TENSOR_PARAM)
            back->tensors[t].data = NULL;
    graph_free(back);
    free(text);
    free(again);
    free(messages);
    return ok;
}

/* Every backend of one target at one level. */
static bool check_level(const Ctx *x, const char *target, int level)
{
    char where[64], err[2048];
    snprintf(where, sizeof where, "%s -O%d", target, level);
    Graph *c = compile_for(x->g, target, level, err, sizeof err);
    if (!c) {
        fail(x->out, DT_ERROR, where, "%s", err);
        return false;
    }
    bool ok = true;
    if (strcmp(target, "reference") == 0) {
        ok = run_and_compare(x, c, run_reference, NULL, where);
    } else {
        CodegenOptions co = {.name = "dt", .opt_level = level};
        JitModel *j = jit_compile(c, &co, err, sizeof err);
        if (!j) {
            fail(x->out, DT_ERROR, where, "JIT compilation failed: %s", err);
            ok = false;
        }
        ok = ok && run_and_compare(x, c, run_jit, j, where);
        snprintf(where, sizeof where, "cpu -O%d, 2 threads", level);
        ok = ok && (!x->pool || run_and_compare(x, c, run_jit_pool, j, where));
        jit_free(j);
        if (ok && (x->o->object_levels & (1u << level))) {
            snprintf(where, sizeof where, "object -O%d", level);
            CodegenOptions so = {.name = "dt", .opt_level = level};
            SharedModel *s = shared_model_build(c, &so, err, sizeof err);
            if (!s) {
                fail(x->out, DT_ERROR, where, "building the shared library failed: %s", err);
                ok = false;
            }
            ok = ok && run_and_compare(x, c, run_object, s, where);
            shared_model_free(s);
        }
    }
    snprintf(where, sizeof where, "dump of %s -O%d", target, level);
    ok = ok && check_dump(x, c, where);
    graph_free(c);
    return ok;
}

DtStatus dt_check(const Graph *g, const Array *inputs, const DtCheckOptions *o, DtOutcome *out)
{
    memset(out, 0, sizeof *out);
    DtTolerance tol;
    char err[2048];
    if (!dt_tolerance(g, inputs, &tol, err, sizeof err))
        return fail(out, DT_ERROR, "oracle", "%s", err);
    if (!tol.finite || tol.max_abs > MAX_MAGNITUDE) {
        if (tol.finite)
            fail(out, DT_DISCARDED, "oracle",
                 "a value of magnitude %.3g: beyond what float32 code can be compared on fairly", tol.max_abs);
        else
            fail(out, DT_DISCARDED, "oracle", "a value of the graph is not finite");
        dt_tolerance_free(&tol);
        return DT_DISCARDED;
    }
    for (int i = 0; i < tol.n_outputs; i++) {
        double m = 0, tmax = 0;
        for (int64_t k = 0; k < array_count(&tol.oracle[i]); k++) {
            m = fmax(m, fabs(load_elem(tol.oracle[i].dtype, tol.oracle[i].data, k)));
            tmax = fmax(tmax, tol.tol[i][k]);
        }
        if (m > 0)
            out->tolerance_scale = fmax(out->tolerance_scale, tmax / m);
    }
    const void **in_ptrs = calloc((size_t)g->n_inputs + 1, sizeof *in_ptrs);
    for (int i = 0; in_ptrs && i < g->n_inputs; i++)
        in_ptrs[i] = inputs[i].data;
    Ctx x = {g, inputs, in_ptrs, &tol, o, out, dnnrt_pool_create(2)};
    static const char *const targets[] = {"reference", "cpu"};
    bool ok = in_ptrs != NULL;
    for (int t = 0; ok && t < 2; t++)
        for (int level = 0; ok && level <= 3; level++)
            ok = check_level(&x, targets[t], level);
    dnnrt_pool_destroy(x.pool);
    free(in_ptrs);
    dt_tolerance_free(&tol);
    return out->status;
}

DtStatus dt_check_source(const char *name, const char *text, uint64_t seed, const DtCheckOptions *o,
                         DtOutcome *out)
{
    memset(out, 0, sizeof *out);
    char *messages = NULL, why[1024];
    Graph *g = dt_parse(name, text, &messages);
    if (!g) {
        fail(out, DT_ERROR, "generator", "the source does not compile:\n%s", messages ? messages : "");
        free(messages);
        return DT_ERROR;
    }
    free(messages);
    if (!dt_check_types(g, text, why, sizeof why)) {
        graph_free(g);
        return fail(out, DT_ERROR, "generator", "%s", why);
    }
    dt_fill_weights(g, seed);
    Array *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    if (!inputs || !dt_make_inputs(g, seed, inputs, why, sizeof why)) {
        free(inputs);
        graph_free(g);
        return fail(out, DT_ERROR, "inputs", "%s", inputs ? why : "out of memory");
    }
    dt_check(g, inputs, o, out);
    dt_free_inputs(g, inputs);
    free(inputs);
    graph_free(g);
    return out->status;
}

/* FILE.dnn -> FILE.SUFFIX */
static void sibling(const char *path, const char *suffix, char *buf, size_t size)
{
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".dnn") == 0)
        len -= 4;
    snprintf(buf, size, "%.*s.%s", (int)len, path, suffix);
}

static bool exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

DtStatus dt_check_file(const char *path, const DtCheckOptions *o, DtOutcome *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!f || !m) {
        if (f)
            fclose(f);
        if (m)
            fclose(m);
        free(text);
        return fail(out, DT_ERROR, "file", "cannot read %s", path);
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    uint64_t seed = dt_seed_of(text, 1);
    char *messages = NULL, why[2048] = "", side[4200];
    Graph *g = dt_parse(path, text, &messages);
    if (!g) {
        fail(out, DT_ERROR, "file", "%s does not compile:\n%s", path, messages ? messages : "");
        free(messages);
        free(text);
        return DT_ERROR;
    }
    free(messages);
    free(text);
    sibling(path, "safetensors", side, sizeof side);
    bool ok = true;
    if (exists(side)) {
        char *msg = NULL;
        size_t mlen = 0;
        FILE *log = open_memstream(&msg, &mlen);
        Diag d;
        diag_init(&d, log);
        ok = weights_load(g, side, &d);
        fclose(log);
        if (!ok)
            snprintf(why, sizeof why, "%s", msg ? msg : "");
        free(msg);
    } else {
        dt_fill_weights(g, seed);
    }
    Array *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    ok = ok && inputs && dt_make_inputs(g, seed, inputs, why, sizeof why);
    for (int i = 0; ok && i < g->n_inputs; i++) {
        char suffix[300];
        snprintf(suffix, sizeof suffix, "%s.npy", g->tensors[g->inputs[i]].name);
        sibling(path, suffix, side, sizeof side);
        if (!exists(side))
            continue;
        Array a;
        ok = npy_read(side, &a, why, sizeof why);
        if (ok && (a.dtype != inputs[i].dtype || !shape_equal(&a.shape, &inputs[i].shape))) {
            snprintf(why, sizeof why, "%s does not have the input's type and shape", side);
            array_free(&a);
            ok = false;
        }
        if (ok) {
            array_free(&inputs[i]);
            inputs[i] = a;
        }
    }
    if (ok)
        dt_check(g, inputs, o, out);
    else
        fail(out, DT_ERROR, "values", "%s", why[0] ? why : "out of memory");
    if (inputs)
        dt_free_inputs(g, inputs);
    free(inputs);
    graph_free(g);
    return out->status;
}

bool dt_save(const char *dir, const char *base, const char *text, uint64_t seed, char *err, size_t errsz)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.dnn", dir, base);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(err, errsz, "cannot write %s", path);
        return false;
    }
    Graph *g = dt_parse(path, text, NULL);
    if (!g) {
        snprintf(err, errsz, "%s does not compile (saved as text only)", path);
        return false;
    }
    dt_fill_weights(g, seed);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, base);
    bool ok = weights_save(g, path, err, errsz);
    Array *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    ok = ok && inputs && dt_make_inputs(g, seed, inputs, err, errsz);
    for (int i = 0; ok && i < g->n_inputs; i++) {
        snprintf(path, sizeof path, "%s/%s.%s.npy", dir, base, g->tensors[g->inputs[i]].name);
        ok = npy_write(path, &inputs[i], err, errsz);
    }
    if (inputs)
        dt_free_inputs(g, inputs);
    free(inputs);
    graph_free(g);
    return ok;
}
