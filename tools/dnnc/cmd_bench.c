/* dnnc bench: how fast the compiled code runs here: median latency over
 * repeated runs after warm-up, GFLOPS (2 flops per MAC) and the share of
 * this machine's measured peak; per layer with --per-layer. */
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"
#include "dnnrt.h"
#include "jit.h"
#include "json.h"
#include "peak.h"
#include "profile_marks.h"
#include "progress.h"
#include "stats.h"

typedef struct BenchArgs {
    const char *model;
    int threads, runs, warmup;
    bool per_layer, json, peak_only;
    ModelArgs weights;
    PipelineArgs pipeline;
} BenchArgs;

static const Option bench_options[] = {
    {"threads", 0, "N", "threads (default 1)\n" THREADS_HELP, OPTION_THREADS(BenchArgs, threads)},
    {"runs", 0, "N", "timed runs (default 20)", OPTION_INT(BenchArgs, runs, 1, 100000)},
    {"warmup", 0, "N", "untimed runs first (default 3)", OPTION_INT(BenchArgs, warmup, 0, 100000)},
    {"per-layer", 0, NULL, "median time of every layer", OPTION_FLAG(BenchArgs, per_layer)},
    {"json", 0, NULL, "one JSON object instead of text", OPTION_FLAG(BenchArgs, json)},
    {"peak", 0, NULL, "measure only the machine's peak", OPTION_FLAG(BenchArgs, peak_only)},
    OPTIONS_END,
};

const CommandSpec cmd_bench_spec = {
    .name = "bench",
    .summary = "time the compiled code: latency, GFLOPS, share of peak",
    .usage = "dnnc bench MODEL [options]\n"
             "       dnnc bench --peak [--threads N] [--json]",
    .description =
        "JIT-compiles MODEL for this machine and times it on random inputs: the median\n"
        "latency of --runs runs after --warmup runs, the GFLOPS that gives (2 flops per\n"
        "multiply-accumulate of `dnnc stats`), and the percentage of this machine's\n"
        "peak float32 rate with the same number of threads, which --peak measures\n"
        "(fused multiply-adds on the widest vectors the CPU has). Without weights\n"
        "options the weights are random (seed 0) and dense, which the dense kernels'\n"
        "speed does not depend on; the zeros that choose the sparse kernels are in a\n"
        "pruned model's own weights: give --weights (dnnc prune writes them beside\n"
        "the model), or --prune D to prune the random ones.\n"
        "It times native code, with per-layer marks from the JIT, so the target is\n"
        "cpu, at its default level (-O3) unless -O says otherwise.",
    .operand = "model file",
    .operand_offset = offsetof(BenchArgs, model),
    .operand_optional = true,
    .sections = {
        {"options:", bench_options, 0},
        MODEL_OPTION_SECTION(BenchArgs),
        PIPELINE_OPTION_SECTIONS(
            BenchArgs, "pipeline options (default: --target cpu at its default level):"),
    },
};

/* Checks after the options are parsed; OPTIONS_PARSED or the exit status. */
static int check_args(BenchArgs *a)
{
    if (!a->model && !a->peak_only)
        return usage_error("bench", "no model file (or --peak)");
    const Target *t = a->pipeline.target;
    if (t != target_find("cpu")) {
        fprintf(stderr, "dnnc bench: error: bench times native code with per-layer marks from the "
                        "JIT, which only target cpu makes; target %s has none\n", t->name);
        return EXIT_INPUT_ERROR;
    }
    if (a->model && !a->weights.weights && !a->weights.random && !model_is_onnx(a->model)) {
        a->weights.random = true, a->weights.seed = 0;
        fprintf(stderr, "dnnc bench: note: no --weights: random dense weights (seed 0)\n");
    }
    return OPTIONS_PARSED;
}

typedef struct Timing {
    double median_s, min_s;
    double *layer_s; /* per kernel call: median seconds */
    int n_calls;
} Timing;

/* calloc that says what it could not allocate and how many bytes: a model
 * too large for this machine is an error the user can act on. */
static void *alloc_or_say(size_t bytes, const char *what)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p)
        fprintf(stderr, "dnnc bench: error: out of memory allocating %zu bytes for %s\n", bytes, what);
    return p;
}

static void *alloc_tensor(const char *kind, const Tensor *t)
{
    char what[300];
    snprintf(what, sizeof what, "%s '%s'", kind, t->name);
    return alloc_or_say((size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind), what);
}

/* The model's inputs and outputs. */
typedef struct Buffers {
    void **in, **out;
    int n_in, n_out;
} Buffers;

/* Float inputs get values spread over [0, 1), like real data, rather than
 * zeros. */
static bool alloc_buffers(const Graph *g, Buffers *b)
{
    b->n_in = g->n_inputs, b->n_out = g->n_outputs;
    b->in = alloc_or_say(((size_t)b->n_in + 1) * sizeof *b->in, "the input pointers");
    b->out = alloc_or_say(((size_t)b->n_out + 1) * sizeof *b->out, "the output pointers");
    bool ok = b->in && b->out;
    for (int i = 0; ok && i < b->n_in; i++) {
        const Tensor *x = &g->tensors[g->inputs[i]];
        int64_t n = shape_elems(&x->shape);
        ok = (b->in[i] = alloc_tensor("input", x)) != NULL;
        for (int64_t k = 0; ok && x->type.kind == ELEM_F32 && k < n; k++)
            ((float *)b->in[i])[k] = (float)(((uint64_t)k * 2654435761u) % 1000) / 1000.0f;
    }
    for (int i = 0; ok && i < b->n_out; i++)
        ok = (b->out[i] = alloc_tensor("output", &g->tensors[g->outputs[i]])) != NULL;
    return ok;
}

static void free_buffers(Buffers *b)
{
    for (int i = 0; b->in && i < b->n_in; i++)
        free(b->in[i]);
    for (int i = 0; b->out && i < b->n_out; i++)
        free(b->out[i]);
    free(b->in), free(b->out);
}

/* Runs the model --warmup + --runs times; the time of each timed run goes
 * to runs[r] and, with --per-layer, that of call k to layer[k * runs + r]. */
static bool time_runs(JitModel *j, const BenchArgs *a, dnnrt_pool *pool, const Buffers *b,
                      double *runs, double *layer, int calls)
{
    int rc = 0;
    Progress p;
    progress_start(&p, "timing", a->warmup + a->runs);
    for (int r = 0; rc == 0 && r < a->warmup + a->runs; r++) {
        profile_marks_reset();
        double t0 = now_seconds();
        rc = jit_run(j, (const void *const *)b->in, (void *const *)b->out, pool);
        double dt = now_seconds() - t0;
        if (r >= a->warmup) {
            runs[r - a->warmup] = dt;
            for (int k = 0; a->per_layer && k < calls && k < profile_marks_count(); k++)
                layer[(size_t)k * (size_t)a->runs + (size_t)(r - a->warmup)] = profile_mark_seconds(k, t0);
        }
        progress_step(&p, r + 1);
    }
    progress_finish(&p);
    if (rc)
        fprintf(stderr, "dnnc bench: error: the compiled model returned error %d\n", rc);
    return rc == 0;
}

static bool time_model(JitModel *j, const Graph *g, const BenchArgs *a, dnnrt_pool *pool, Timing *t)
{
    int calls = jit_call_count(j);
    size_t n_runs = (size_t)a->runs;
    double *runs = alloc_or_say(n_runs * sizeof *runs, "the run times");
    double *layer = alloc_or_say(n_runs * ((size_t)calls + 1) * sizeof *layer, "the layer times");
    t->layer_s = alloc_or_say(((size_t)calls + 1) * sizeof *t->layer_s, "the layer medians");
    t->n_calls = calls;
    Buffers b = {0};
    bool ok = runs && layer && t->layer_s && alloc_buffers(g, &b) &&
              time_runs(j, a, pool, &b, runs, layer, calls);
    if (ok) {
        t->median_s = median_of(runs, a->runs);
        t->min_s = runs[0];
        for (int k = 0; a->per_layer && k < calls; k++)
            t->layer_s[k] = median_of(layer + (size_t)k * n_runs, a->runs);
    }
    free_buffers(&b);
    free(runs), free(layer);
    return ok;
}

static void print_layers(const Graph *g, const JitModel *j, const Timing *t, JsonWriter *w)
{
    if (w) {
        json_key(w, "layers");
        json_begin_array(w);
    } else {
        printf("\n%-32s %-12s %10s %8s %8s\n", "layer", "op", "ms", "GFLOPS", "share");
    }
    for (int k = 0; k < t->n_calls; k++) {
        int node = jit_call_node(j, k);
        const char *name = node >= 0 ? g->nodes[node].name : "(output copy)";
        const char *op = node >= 0 ? op_name(g->nodes[node].op) : "copy";
        int64_t macs = node >= 0 ? node_macs(g, &g->nodes[node]) : 0;
        double gf = t->layer_s[k] > 0 ? 2.0 * (double)macs / t->layer_s[k] / 1e9 : 0;
        if (w) {
            json_begin_object(w);
            json_key(w, "name"), json_string(w, name);
            json_key(w, "op"), json_string(w, op);
            json_key(w, "ms"), json_double(w, t->layer_s[k] * 1e3);
            json_key(w, "macs"), json_int(w, macs);
            json_key(w, "gflops"), json_double(w, gf);
            json_end_object(w);
        } else {
            printf("%-32.32s %-12s %10.3f %8.1f %7.1f%%\n", name, op, t->layer_s[k] * 1e3, gf,
                   100 * t->layer_s[k] / t->median_s);
        }
    }
    if (w)
        json_end_array(w);
}

static void report(const BenchArgs *a, const Graph *g, const JitModel *j, const Timing *t,
                   const Peak *peak, double compile_s)
{
    int64_t macs = graph_stats(g).macs;
    double gflops = 2.0 * (double)macs / t->median_s / 1e9;
    if (!a->json) {
        printf("%s: %d thread%s, median %.3f ms over %d runs (min %.3f ms), compiled in %.1f s\n",
               a->model, a->threads, a->threads == 1 ? "" : "s", t->median_s * 1e3, a->runs,
               t->min_s * 1e3, compile_s);
        printf("%.2f GMACs per run: %.1f GFLOPS, %.1f%% of this machine's peak (%.1f GFLOPS, %s)\n",
               (double)macs / 1e9, gflops, 100 * gflops / peak->gflops, peak->gflops, peak->isa);
        if (a->per_layer)
            print_layers(g, j, t, NULL);
        return;
    }
    JsonWriter w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model"), json_string(&w, a->model);
    json_key(&w, "threads"), json_int(&w, a->threads);
    json_key(&w, "runs"), json_int(&w, a->runs);
    json_key(&w, "median_ms"), json_double(&w, t->median_s * 1e3);
    json_key(&w, "min_ms"), json_double(&w, t->min_s * 1e3);
    json_key(&w, "macs"), json_int(&w, macs);
    json_key(&w, "gflops"), json_double(&w, gflops);
    json_key(&w, "peak_gflops"), json_double(&w, peak->gflops);
    json_key(&w, "percent_of_peak"), json_double(&w, 100 * gflops / peak->gflops);
    json_key(&w, "compile_s"), json_double(&w, compile_s);
    if (a->per_layer)
        print_layers(g, j, t, &w);
    json_end_object(&w);
    json_finish(&w);
}

int cmd_bench(int argc, char **argv)
{
    BenchArgs a = {.threads = 1, .runs = 20, .warmup = 3};
    int rc = model_command_parse(&cmd_bench_spec, argc, argv, &a, &a.pipeline, "cpu",
                                 LEVEL_OF_TARGET);
    if (rc == OPTIONS_PARSED)
        rc = check_args(&a);
    if (rc != OPTIONS_PARSED)
        return rc;
    Peak peak = measure_peak(a.threads);
    if (a.peak_only) {
        if (a.json)
            printf("{\"threads\": %d, \"peak_gflops\": %.3f, \"isa\": \"%s\"}\n", a.threads, peak.gflops, peak.isa);
        else
            printf("peak: %.1f GFLOPS float32 on %d thread%s (%s fused multiply-adds)\n", peak.gflops,
                   a.threads, a.threads == 1 ? "" : "s", peak.isa);
        return EXIT_OK;
    }
    Model m;
    a.pipeline.threads = a.threads;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, true, &m))
        return EXIT_INPUT_ERROR;
    char err[1024];
    CodegenOptions co = {.name = "model", .opt_level = a.pipeline.passes.opt_level,
                         .profile = a.per_layer};
    double t0 = now_seconds();
    JitModel *j = jit_compile(m.graph, &co, err, sizeof err);
    double compile_s = now_seconds() - t0;
    if (!j)
        fprintf(stderr, "dnnc bench: error: %s\n", err);
    dnnrt_pool *pool = j && a.threads > 1 ? dnnrt_pool_create(a.threads) : NULL;
    if (j && a.threads > 1 && !pool)
        fprintf(stderr, "dnnc bench: error: cannot start %d threads\n", a.threads);
    Timing t = {0};
    bool ok = j && (a.threads == 1 || pool) && time_model(j, m.graph, &a, pool, &t);
    if (ok)
        report(&a, m.graph, j, &t, &peak, compile_s);
    free(t.layer_s);
    dnnrt_pool_destroy(pool);
    jit_free(j);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
