/* Fault injection, as SQLite tests malloc: every allocation the compiler
 * makes on a small model fails in turn, through parsing, weight binding, the
 * pass pipelines, ONNX import, code generation and running. Each failure
 * must end in a clean error ("out of memory") or in a correct result (some
 * allocations only speed things up), never in a crash; under
 * AddressSanitizer, LeakSanitizer then checks at exit that nothing any of
 * those runs allocated was left behind.
 *
 * The program is linked with -Wl,--wrap for malloc, calloc, realloc, strdup
 * and posix_memalign (tests/CMakeLists.txt), so every call from dnnc's own
 * libraries comes here. Shared libraries (libc's stdio, LLVM, protobuf-c,
 * zlib, cJSON) allocate behind the wrappers and are not failed. */
#include <execinfo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "jit.h"
#include "onnx_import.h"
#include "pipeline.h"
#include "reference.h"
#include "safetensors.h"
#include "target.h"
#include "test_util.h"
#include "weights.h"

/* ---- the wrappers -------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
int __wrap_posix_memalign(void **p, size_t align, size_t size);

static bool armed;         /* count (and maybe fail) allocations */
static long allocations;   /* since arming */
static long fail_at = -1;  /* the allocation that fails, or -1 */

/* True if this allocation is the one to fail. With DNNC_FAULT_TRACE set in
 * the environment, prints the stack of each failed allocation (to find
 * the code behind a report). */
static bool fails(void)
{
    if (!armed || allocations++ != fail_at)
        return false;
    if (getenv("DNNC_FAULT_TRACE")) {
        void *frames[32];
        int n = backtrace(frames, 32);
        fprintf(stderr, "allocation %ld fails here:\n", fail_at);
        backtrace_symbols_fd(frames, n, 2);
    }
    return true;
}

void *__wrap_malloc(size_t size) { return fails() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return fails() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size) { return fails() ? NULL : __real_realloc(p, size); }
char *__wrap_strdup(const char *s) { return fails() ? NULL : __real_strdup(s); }

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return fails() ? 12 /* ENOMEM */ : __real_posix_memalign(p, align, size);
}

static void arm(long k)
{
    allocations = 0;
    fail_at = k;
    armed = true;
}

static long disarm(void)
{
    armed = false;
    return allocations;
}

/* ---- the model ------------------------------------------------------------ */

/* Something of everything the passes rewrite: a batch norm to fold, a
 * constant computation, an identity, an epilogue with a residual add. */
static const char net[] = "input x: f32[1, 3, 8, 8];\n"
                          "c1 = conv(x, filters=4, kernel=3, pad=1, bias=false);\n"
                          "b1 = batchnorm(c1);\n"
                          "r1 = relu(b1);\n"
                          "k = constant(shape=[1, 4, 1, 1]);\n"
                          "kk = relu(k);\n"
                          "c2 = conv(r1, filters=4, kernel=3, pad=1);\n"
                          "a = add(c2, kk);\n"
                          "s = add(a, r1);\n"
                          "r2 = relu(s);\n"
                          "d = dropout(r2);\n"
                          "p = maxpool(d, kernel=2, stride=2);\n"
                          "f = flatten(p);\n"
                          "y = fc(f, units=5);\n"
                          "output y;\n";

#define OUTPUTS 5
#define TINY_CNN DNNC_SOURCE_DIR "/tests/onnx/models/tiny_cnn.onnx"

static char dir[512];
static float input[3 * 8 * 8];
static float tiny_input[3 * 32 * 32];

typedef enum { DONE, FAILED_CLEANLY } Outcome;

typedef struct Flow {
    Diag d;
    FILE *log;
    char *messages;
    size_t len;
} Flow;

static void flow_start(Flow *f)
{
    f->messages = NULL;
    f->log = open_memstream(&f->messages, &f->len);
    assert_non_null(f->log);
    diag_init(&f->d, f->log);
}

static void flow_end(Flow *f)
{
    fclose(f->log);
    free(f->messages);
}

/* A step that failed must have said why; anything but "out of memory" is a
 * wrong error. */
static Outcome failed(Flow *f, const char *step, const char *err)
{
    if (err)
        fprintf(f->log, "%s\n", err);
    fflush(f->log);
    if (!strstr(f->messages, "out of memory"))
        fail_msg("%s failed (allocation %ld of the run failed) without saying it ran out of memory:\n%s",
                 step, fail_at, f->messages);
    return FAILED_CLEANLY;
}

/* The graph through target's pipeline at level; compiled and run once. */
static Outcome compile_and_run(Flow *f, Graph *g, const char *target, int level, const float *in,
                               float *out)
{
    const Target *t = target_find(target);
    PipelineOptions po = {.opt_level = level, .log = f->log};
    PassOptions o = {.opt_level = level, .target = t, .diag = &f->d};
    if (!pipeline_run(g, &o, &po))
        return failed(f, "the pipeline", NULL);
    TargetOptions to = {.name = "fi", .opt_level = 1, .threads = 1};
    char err[512];
    TargetProgram *p = t->compile(g, &to, err, sizeof err);
    if (!p)
        return failed(f, "compile", err);
    const void *ins[1] = {in};
    void *outs[1] = {out};
    bool ran = t->run(p, ins, outs, err, sizeof err);
    t->release(p);
    return ran ? DONE : failed(f, "run", err);
}

/* Parse, bind weights from the file, then target's pipeline and run. */
static Outcome text_flow(Flow *f, const char *target, int level, float *out)
{
    Source src;
    if (!source_from_buffer("net.dnn", net, strlen(net), &src))
        return failed(f, "reading the source", "out of memory");
    Graph *g = frontend_parse(&src, &f->d);
    Outcome r;
    if (!g) {
        r = failed(f, "parse", NULL);
    } else if (!weights_load(g, temp_path(dir, "net.safetensors"), &f->d)) {
        r = failed(f, "weights", NULL);
    } else {
        Graph *copy = graph_clone(g);
        r = copy ? compile_and_run(f, copy, target, level, input, out)
                 : failed(f, "clone", "out of memory");
        graph_free(copy);
    }
    graph_free(g);
    source_free(&src);
    return r;
}

/* ONNX import (with its constant folding), then the reference pipeline. */
static Outcome onnx_flow(Flow *f, float *out)
{
    Graph *g = onnx_import(TINY_CNN, NULL, &f->d);
    if (!g)
        return failed(f, "ONNX import", NULL);
    Outcome r = compile_and_run(f, g, "reference", 2, tiny_input, out);
    graph_free(g);
    return r;
}

/* ---- the runs ---------------------------------------------------------------- */

typedef Outcome (*FlowFn)(Flow *f, float *out, const void *ctx);

static Outcome run_text(Flow *f, float *out, const void *ctx)
{
    const char *const *how = ctx;
    return text_flow(f, how[0], atoi(how[1]), out);
}

static Outcome run_onnx(Flow *f, float *out, const void *ctx)
{
    (void)ctx;
    return onnx_flow(f, out);
}

/* One run with allocation k failing (-1: none); the output on success. */
static Outcome run_once(FlowFn fn, const void *ctx, long k, float *out, long *count)
{
    Flow f;
    flow_start(&f);
    arm(k);
    Outcome r = fn(&f, out, ctx);
    *count = disarm();
    flow_end(&f);
    return r;
}

/* Whether got is what want is. A run that does without an allocation may
 * have skipped an optimisation (a fold that could not evaluate), which
 * moves float32 rounding but not what is computed: the tolerance of
 * tests/test_passes.c, which justifies it, applies. */
static bool same_outputs(const float *got, const float *want, int n)
{
    double scale = 0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-4 * scale))
            return false;
    return true;
}

/* Fails every allocation of the flow in turn: each run ends cleanly, and a
 * run that succeeds computes what the run without failures did. */
static void fail_each(const char *what, FlowFn fn, const void *ctx, int n_out)
{
    float want[16], got[16];
    long total;
    assert_int_equal(run_once(fn, ctx, -1, want, &total), DONE);
    long clean = 0, succeeded = 0;
    for (long k = 0; k < total; k++) {
        long count;
        memset(got, 0, sizeof got);
        if (run_once(fn, ctx, k, got, &count) == FAILED_CLEANLY) {
            clean++;
            continue;
        }
        if (!same_outputs(got, want, n_out))
            fail_msg("%s: with allocation %ld failing the run succeeded with other outputs", what, k);
        if (getenv("DNNC_FAULT_TRACE"))
            fprintf(stderr, "allocation %ld: the run did without it\n", k);
        succeeded++;
    }
    print_message("%s: %ld allocations; each failed in turn: %ld clean errors, %ld runs that did "
                  "without it\n", what, total, clean, succeeded);
}

/* With one-byte arena chunks every arena allocation is a malloc, so the
 * throw (ir/oom.h) is tried from every place that grows a graph or a
 * syntax tree. */
static void test_text_model_on_the_reference(void **state)
{
    (void)state;
    static const char *const how[] = {"reference", "2"};
    arena_set_min_chunk(1);
    fail_each("parse, weights, reference -O2 (1-byte arena chunks)", run_text, how, OUTPUTS);
    arena_set_min_chunk(64 * 1024);
}

static void test_text_model_on_the_cpu(void **state)
{
    (void)state;
    static const char *const how[] = {"cpu", "3"};
    fail_each("parse, weights, cpu -O3, JIT", run_text, how, OUTPUTS);
}

static void test_onnx_model(void **state)
{
    (void)state;
    arena_set_min_chunk(1);
    fail_each("ONNX import, reference -O2 (1-byte arena chunks)", run_onnx, NULL, 10);
    arena_set_min_chunk(64 * 1024);
}

/* ---- fixtures ------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(dir, sizeof dir, "dnnc-fault"))
        return -1;
    for (size_t i = 0; i < sizeof input / sizeof *input; i++)
        input[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    for (size_t i = 0; i < sizeof tiny_input / sizeof *tiny_input; i++)
        tiny_input[i] = (float)((i * 104729) % 2001) / 1000.0f - 1.0f;
    Parsed p;
    parse_text(&p, "net.dnn", net);
    if (!p.graph)
        return -1;
    randomize_weights_for_test(p.graph, 5);
    char err[512];
    bool ok = weights_save(p.graph, temp_path(dir, "net.safetensors"), err, sizeof err);
    parsed_free(&p);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_model_on_the_reference),
        cmocka_unit_test(test_onnx_model),
        cmocka_unit_test(test_text_model_on_the_cpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
