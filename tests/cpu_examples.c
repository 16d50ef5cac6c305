/* One example network (argv[1]) with random weights, against the reference
 * executor running it as written: the reference after its -O3 pipeline
 * (at -O0 its pipeline changes no value: its level-0 passes record
 * annotations, and prune and quantize act only when asked, so a run there
 * would repeat the one as written), and native code after the cpu pipeline
 * at -O0 and -O3, through the LLVM
 * JIT (on 1 and 2 threads) and at -O3 as an object file linked into a shared
 * library; with a fast algorithm forced, the JIT only. Under the sanitizers the largest networks are skipped (exit 77,
 * counted as skipped): the reference alone would take many minutes there.
 *
 * With --aarch64 (or --aarch64-split) the -O3 code is also cross-compiled
 * for AArch64 (NEON), linked statically with tests/aarch64_driver.c by
 * Debian's aarch64-linux-gnu-gcc and run under qemu-aarch64-static, against
 * the same reference; --aarch64-split also runs it with every parallel
 * range one unit long, which must give the same bits. Missing tools fail
 * the test (tools/bootstrap.sh installs them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aarch64_run.h"
#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "shared_object.h"
#include "reference.h"
#include "test_util.h"
#include "weights.h"

static const char *example;

/* The AArch64 check (0 without --aarch64), and whether it also checks the
 * split of work (--aarch64-split). */
static bool aarch64_check, aarch64_split;

/* Both sides sum products of the same values; the reference in double, the
 * compiled code in float32 in another order. Through a deep network the
 * difference stays a few float32 ulps of the largest activations; 1e-4 of
 * the largest output (plus 1e-4 relative) leaves a wide margin while any
 * wrong index or missing term shows up at the level of the outputs
 * themselves. The outputs compared are the logits (the layer before the
 * final softmax when there is one), where differences are not squashed. */
static void compare(const float *got, const float *want, int64_t n)
{
    double scale = 0, worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double excess = err / (1e-4 * scale + 1e-4 * fabs((double)want[i]) + 1e-30);
        if (excess > worst || isnan(err))
            worst = isnan(err) ? INFINITY : excess, at = i;
    }
    print_message("%s: max|ref| %.4g, worst at %lld: cpu %.9g ref %.9g (%.3g of the tolerance)\n",
                  example, scale, (long long)at, got[at], want[at], worst);
    assert_true(worst <= 1.0);
}

/* The reference pipeline at `level` (every rewrite of the graph) against
 * the graph as written. */
static void check_reference(const Graph *g, int level, const float *in, float *got, const float *ref,
                            int64_t nout)
{
    Graph *copy = graph_clone(g);
    assert_non_null(copy);
    run_pipeline_or_fail(copy, "reference", level);
    char err[1024];
    const float *ins[1] = {in};
    float *outs[1] = {got};
    if (!reference_run(copy, ins, outs, err, sizeof err))
        fail_msg("reference -O%d: %s", level, err);
    print_message("reference -O%d: ", level);
    compare(got, ref, nout);
    graph_free(copy);
}

/* DNNC_TEST_CONV_ALGO (tests/CMakeLists.txt) forces a fast convolution on
 * the cpu: only the cpu's code changes, so only its JIT runs then. */
static bool forced_algo(void) { return getenv("DNNC_TEST_CONV_ALGO") != NULL; }

/* The cpu pipeline at `level`, then native code through the JIT on 1 and 2
 * threads and, at -O3, as an object linked into a shared library (the
 * object differs from the JIT's code only in how the module is written
 * and loaded, which one level exercises: as test_golden). */
static void check_cpu(const Graph *g, int level, const float *in, float *cpu, const float *ref,
                      int64_t nout)
{
    Graph *copy = graph_clone(g);
    assert_non_null(copy);
    run_pipeline_or_fail(copy, "cpu", level);
    char err[1024];
    CodegenOptions co = {.name = "ex", .opt_level = 3};
    JitModel *j = jit_compile(copy, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu -O%d: %s", level, err);
    const void *cin[1] = {in};
    void *cout[1] = {cpu};
    for (int threads = 1; threads <= 2; threads++) {
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        memset(cpu, 0, (size_t)nout * sizeof *cpu);
        assert_int_equal(jit_run(j, cin, cout, pool), 0);
        print_message("cpu -O%d, %d thread%s: ", level, threads, threads > 1 ? "s" : "");
        compare(cpu, ref, nout);
        dnnrt_pool_destroy(pool);
    }
    jit_free(j);
    if (forced_algo() || level < 3) { /* the object code runs the same kernels */
        graph_free(copy);
        return;
    }
    SharedModel *s = shared_model_build(copy, &co, err, sizeof err);
    if (!s)
        fail_msg("object code -O%d: %s", level, err);
    memset(cpu, 0, (size_t)nout * sizeof *cpu);
    assert_int_equal(shared_model_run(s, cin, cout), 0);
    print_message("object -O%d: ", level);
    compare(cpu, ref, nout);
    shared_model_free(s);
    graph_free(copy);
}

/* The compiled network for AArch64 (NEON), as a static program under qemu.
 * Its float32 sums are the x86 code's in another order (NEON's 4-lane
 * vectors, other tile shapes), so compare() holds it to the same
 * tolerance. */
static void check_aarch64(const Graph *g, const float *in, int64_t nin, float *cpu, const float *ref, int64_t nout)
{
    Aarch64Run r = {.features = "", .split = aarch64_split};
    aarch64_run(g, &r, in, (size_t)nin * sizeof *in, cpu, (size_t)nout * sizeof *cpu);
    print_message("aarch64 -O3 under qemu%s: ", aarch64_split ? " (and every range one unit)" : "");
    compare(cpu, ref, nout);
}

static void test_cpu_matches_reference(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s.dnn", DNNC_SOURCE_DIR, example);
    Parsed p;
    parse_file(&p, path);
    if (!p.graph)
        fail_msg("%s", p.messages);
    Graph *g = p.graph;
    /* Compare the logits: drop a final softmax from the outputs. */
    const Node *last = graph_producer(g, g->outputs[0]);
    if (last && last->op == OP_SOFTMAX)
        g->outputs[0] = last->inputs[0];
    randomize_weights_for_test(g, 1);
    const Tensor *x = &g->tensors[g->inputs[0]], *y = &g->tensors[g->outputs[0]];
    int64_t nin = shape_elems(&x->shape), nout = shape_elems(&y->shape);
    float *in = malloc((size_t)nin * sizeof *in), *ref = malloc((size_t)nout * sizeof *ref);
    float *cpu = malloc((size_t)nout * sizeof *cpu);
    assert_true(in && ref && cpu);
    for (int64_t i = 0; i < nin; i++)
        in[i] = (float)((i * 7919) % 1000) / 1000.0f;
    char err[1024];
    const float *ins[1] = {in};
    float *outs[1] = {ref};
    if (!reference_run(g, ins, outs, err, sizeof err))
        fail_msg("reference: %s", err);
    static const int levels[] = {0, 3};
    for (int l = 0; l < 2; l++) {
        if (!forced_algo() && levels[l] > 0)
            check_reference(g, levels[l], in, cpu, ref, nout);
        check_cpu(g, levels[l], in, cpu, ref, nout);
    }
    if (aarch64_check) {
        Graph *copy = graph_clone(g);
        assert_non_null(copy);
        run_pipeline_or_fail(copy, "cpu", 3);
        check_aarch64(copy, in, nin, cpu, ref, nout);
        graph_free(copy);
    }
    free(in), free(ref), free(cpu);
    parsed_free(&p);
}

static bool parse_args(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return false;
    example = argv[1];
    if (argc == 2)
        return true;
    aarch64_split = strcmp(argv[2], "--aarch64-split") == 0;
    aarch64_check = aarch64_split || strcmp(argv[2], "--aarch64") == 0;
    return aarch64_check;
}

int main(int argc, char **argv)
{
    if (!parse_args(argc, argv)) {
        fprintf(stderr, "usage: cpu_examples NAME [--aarch64 | --aarch64-split]\n"
                        "  NAME: an example network without .dnn\n");
        return 2;
    }
#ifdef DNNC_SANITIZED
    if (strcmp(example, "vgg16") == 0 || strcmp(example, "resnet50") == 0 ||
        strcmp(example, "googlenet") == 0) {
        printf("skipped: %s under the sanitizers would take too long (it runs in the normal build)\n",
               example);
        return 77;
    }
#endif
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cpu_matches_reference)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
