/* Sparse kernels on pruned networks (issue 14 item 5): every golden conv
 * and fc case (tests/golden) and the Fashion-MNIST networks, pruned to
 * density 0.3 and to 0.1 (global magnitude pruning, passes/prune.c), then
 *   - the dense reference (the pruned graph, no encoding): the oracle;
 *   - the reference on the encoding (--sparse any on the reference: every
 *     conv and fc CSR, plain loops over it, runtime/reference/sparse.c);
 *   - the cpu target at -O2 with --sparse any: CSC fc and CSR 1x1 conv
 *     kernels wherever they apply, the dense kernels elsewhere;
 * each against the dense reference. With `--sweep`, the example networks
 * (the .dnn files of examples/, random weights, seed 1) at density 0.1 instead, one
 * image each: minutes on the reference (ctest label sweep).
 *
 * Tolerance. The cpu kernels sum in float32 in another order than the
 * reference's double sums; test_golden's bound (Higham 3.1, K u sum |w x|,
 * at most 1e-4 of a case's largest output) holds for them, the sums having
 * fewer terms (the zeros are gone). The reference on the encoding sums the
 * same products in double in another order and rounds once per layer, as
 * the dense reference does: its outputs differ by a few float32 roundings
 * propagated through the layers, 1e-5 of the largest output. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"
#include "pass.h"
#include "pipeline.h"
#include "prune.h"
#include "reference.h"
#include "target.h"
#include "test_util.h"
#include "weights.h"

#define GOLDEN_DIR DNNC_SOURCE_DIR "/tests/golden"

static bool sweep;

/* Runs target's pipeline on g at level, pruning to `density` (0: not) and
 * encoding every conv and fc a sparse kernel computes (--sparse any). */
static void pipeline(Graph *g, const char *target, int level, double density, bool sparse)
{
    PruneOptions prune = {.density = density};
    PassOptions o = {.opt_level = level, .target = target_find(target), .prune = density > 0 ? &prune : NULL,
                     .force_sparse = sparse, .sparse_any = sparse};
    run_pipeline_with_or_fail(g, &o);
}

static int sparse_layers(const Graph *g)
{
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        count += g->nodes[i].ann.has_sparse && g->nodes[i].ann.sparse != SPARSE_NONE;
    return count;
}

static float *run_reference(const Graph *g, const float *in, int64_t out_count)
{
    float *out = calloc((size_t)out_count, sizeof *out);
    assert_non_null(out);
    char err[1024];
    if (!reference_run(g, (const float *const[]){in}, (float *const[]){out}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

static float *run_cpu(const Graph *g, const float *in, int64_t out_count)
{
    float *out = calloc((size_t)out_count, sizeof *out);
    assert_non_null(out);
    char err[1024];
    CodegenOptions co = {.name = "sparse", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu: %s", err);
    assert_int_equal(jit_run(j, (const void *const[]){in}, (void *const[]){out}, NULL), 0);
    jit_free(j);
    return out;
}

/* The largest |got - want| over the largest |want|. */
static double relative_error(const float *got, const float *want, int64_t n)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    return isnan(err) ? INFINITY : err / fmax(scale, 1e-30);
}

/* The network of `parsed` (weights bound), pruned to density, through the
 * three paths; returns how many layers the cpu ran sparse. */
static int check_network(const char *name, Graph *g, double density)
{
    pipeline(g, "reference", 0, density, false);
    assert_int_equal(g->n_inputs, 1);
    int64_t in_count = shape_elems(&g->tensors[g->inputs[0]].shape);
    int64_t out_count = shape_elems(&g->tensors[g->outputs[0]].shape);
    float *in = malloc((size_t)in_count * sizeof *in);
    assert_non_null(in);
    uint64_t seed = 99;
    for (int64_t i = 0; i < in_count; i++)
        in[i] = (float)test_uniform01(&seed);
    float *dense = run_reference(g, in, out_count);
    Graph *on_ref = graph_clone(g), *on_cpu = graph_clone(g);
    assert_non_null(on_ref);
    assert_non_null(on_cpu);
    pipeline(on_ref, "reference", 0, 0, true);
    pipeline(on_cpu, "cpu", 2, 0, true);
    float *ref = run_reference(on_ref, in, out_count), *cpu = run_cpu(on_cpu, in, out_count);
    double e_ref = relative_error(ref, dense, out_count), e_cpu = relative_error(cpu, dense, out_count);
    int n_sparse = sparse_layers(on_cpu);
    printf("%-28s density %.1f  %3d sparse on the reference, %3d on the cpu  error %.2g, %.2g\n", name,
           density, sparse_layers(on_ref), n_sparse, e_ref, e_cpu);
    if (!(e_ref <= 1e-5) || !(e_cpu <= 1e-4))
        fail_msg("%s at density %.1f: error %.3g (reference on the encoding), %.3g (cpu)", name, density,
                 e_ref, e_cpu);
    free(in), free(dense), free(ref), free(cpu);
    graph_free(on_ref);
    graph_free(on_cpu);
    return n_sparse;
}

static bool has_weighted_layer(const Graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_CONV || g->nodes[i].op == OP_FC)
            return true;
    return false;
}

static void test_golden_cases(void **state)
{
    (void)state;
    if (sweep)
        skip();
    DIR *dir = opendir(GOLDEN_DIR);
    assert_non_null(dir);
    int cases = 0, sparse = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "MANIFEST") == 0)
            continue;
        char path[4200];
        for (double density = 0.3; density > 0.05; density -= 0.2) {
            snprintf(path, sizeof path, "%s/%s/model.dnn", GOLDEN_DIR, e->d_name);
            Parsed p;
            parse_file(&p, path);
            assert_non_null(p.graph);
            snprintf(path, sizeof path, "%s/%s/weights.safetensors", GOLDEN_DIR, e->d_name);
            Diag d;
            diag_init(&d, stderr);
            assert_true(weights_load(p.graph, path, &d));
            if (has_weighted_layer(p.graph)) {
                sparse += check_network(e->d_name, p.graph, density);
                cases++;
            }
            parsed_free(&p);
        }
    }
    closedir(dir);
    printf("%d golden runs with conv or fc, %d layers sparse on the cpu\n", cases, sparse);
    assert_true(cases >= 40);
    assert_true(sparse >= 20);
}

static void test_fashion_networks(void **state)
{
    (void)state;
    if (sweep)
        skip();
    static const char *const nets[][2] = {
        {"lenet5.dnn", "lenet5-fashion.safetensors"},
        {"fashion_bn.dnn", "fashion_bn.safetensors"},
    };
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        for (double density = 0.3; density > 0.05; density -= 0.2) {
            char path[4200];
            snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, nets[i][0]);
            Parsed p;
            parse_file(&p, path);
            assert_non_null(p.graph);
            snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, nets[i][1]);
            Diag d;
            diag_init(&d, stderr);
            assert_true(weights_load(p.graph, path, &d));
            assert_true(check_network(nets[i][0], p.graph, density) > 0);
            parsed_free(&p);
        }
}

static void test_example_networks(void **state)
{
    (void)state;
    if (!sweep)
        skip();
    static const char *const nets[] = {"alexnet.dnn", "googlenet.dnn", "mobilenet.dnn", "resnet50.dnn",
                                       "squeezenet.dnn", "vgg16.dnn"};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, nets[i]);
        Parsed p;
        parse_file(&p, path);
        assert_non_null(p.graph);
        assert_true(weights_randomize(p.graph, 1));
        assert_true(check_network(nets[i], p.graph, 0.1) > 0);
        parsed_free(&p);
    }
}

int main(int argc, char **argv)
{
    sweep = argc > 1 && strcmp(argv[1], "--sweep") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),
        cmocka_unit_test(test_fashion_networks),
        cmocka_unit_test(test_example_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
