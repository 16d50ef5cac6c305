/* Magnitude pruning (passes/prune.c, dnnc prune): the exact selection of the
 * k largest magnitudes against a sort, the densities the pass leaves
 * (globally and per layer, ties included), the command's errors and files,
 * and LeNet-5 on Fashion-MNIST at 10% density against PyTorch's global
 * magnitude pruning (tools/fashion/torch_prune.py; the accuracy case needs
 * the dataset, as test_fashion_mnist, and says so when it is missing). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#include "pipeline.h"
#include "prune.h"
#include "target.h"

static int by_magnitude_desc(const void *a, const void *b)
{
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return (x < y) - (x > y);
}

/* Two arrays of random values with repeats and signed zeros: every k gives
 * what sorting all the magnitudes gives. */
static void test_kth_largest_matches_a_sort(void **state)
{
    (void)state;
    enum { A = 700, B = 333 };
    float a[A], b[B], all[A + B];
    uint64_t seed = 1;
    for (int i = 0; i < A + B; i++) {
        double u = test_uniform01(&seed);
        float v = i % 7 == 0 ? 0.25f : i % 11 == 0 ? -0.0f : (float)((u - 0.5) * 10);
        (i < A ? a : b)[i < A ? i : i - A] = v;
        all[i] = v;
    }
    qsort(all, A + B, sizeof *all, by_magnitude_desc);
    const float *parts[2] = {a, b};
    int64_t n[2] = {A, B}, *scratch = malloc(PRUNE_SCRATCH * sizeof *scratch);
    assert_non_null(scratch);
    for (int64_t k = 1; k <= A + B; k++)
        assert_true(prune_kth_largest(parts, n, 2, k, scratch) == fabsf(all[k - 1]));
    free(scratch);
}

static const char net[] = "input x: f32[1, 3, 8, 8];\n"
                          "c = conv(x, filters=8, kernel=3, pad=1);\n"
                          "r = relu(c);\n"
                          "f = fc(r, units=10);\n"
                          "output f;\n";

static void prune_graph(Graph *g, double density, bool per_layer)
{
    PruneOptions po = {density, per_layer};
    PassOptions o = {.target = target_find("reference"), .prune = &po};
    run_pipeline_with_or_fail(g, &o);
}

static int64_t nonzero(const Graph *g, const char *layer, float *smallest_kept, float *largest_cut,
                       const float *before)
{
    const Node *n = &g->nodes[g->tensors[graph_find_tensor(g, layer)].producer];
    const Tensor *w = &g->tensors[n->params[0]];
    const float *v = w->data;
    int64_t count = 0;
    for (int64_t i = 0; i < shape_elems(&w->shape); i++) {
        if (v[i] != 0) {
            count++;
            assert_true(v[i] == before[i]); /* kept weights are unchanged */
            *smallest_kept = fminf(*smallest_kept, fabsf(v[i]));
        } else {
            *largest_cut = fmaxf(*largest_cut, fabsf(before[i]));
        }
    }
    return count;
}

static float *copy_weights(const Graph *g, const char *layer)
{
    const Node *n = &g->nodes[g->tensors[graph_find_tensor(g, layer)].producer];
    const Tensor *w = &g->tensors[n->params[0]];
    size_t bytes = (size_t)shape_elems(&w->shape) * sizeof(float);
    float *c = malloc(bytes);
    memcpy(c, w->data, bytes);
    return c;
}

/* Global: round(0.3 * (216 + 5120)) = 1601 weights left over both layers,
 * every kept one at least as large as every cut one. */
static void test_global_density_keeps_the_largest(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", net);
    randomize_weights_for_test(p.graph, 3);
    float *c0 = copy_weights(p.graph, "c"), *f0 = copy_weights(p.graph, "f");
    prune_graph(p.graph, 0.3, false);
    float kept = INFINITY, cut = 0;
    int64_t left = nonzero(p.graph, "c", &kept, &cut, c0) + nonzero(p.graph, "f", &kept, &cut, f0);
    assert_int_equal(left, 1601);
    assert_true(kept >= cut);
    free(c0);
    free(f0);
    parsed_free(&p);
}

/* Per layer: round(0.3 * 216) = 65 and round(0.3 * 5120) = 1536. */
static void test_per_layer_density(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", net);
    randomize_weights_for_test(p.graph, 4);
    float *c0 = copy_weights(p.graph, "c"), *f0 = copy_weights(p.graph, "f");
    prune_graph(p.graph, 0.3, true);
    float kept = INFINITY, cut = 0;
    assert_int_equal(nonzero(p.graph, "c", &kept, &cut, c0), 65);
    assert_true(kept >= cut);
    kept = INFINITY, cut = 0;
    assert_int_equal(nonzero(p.graph, "f", &kept, &cut, f0), 1536);
    assert_true(kept >= cut);
    free(c0);
    free(f0);
    parsed_free(&p);
}

/* Every weight the same magnitude: the density is still exact (ties are
 * broken by position). */
static void test_ties_keep_the_exact_count(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", net);
    randomize_weights_for_test(p.graph, 5);
    for (int i = 0; i < p.graph->n_nodes; i++) {
        const Node *n = &p.graph->nodes[i];
        if (n->op != OP_CONV && n->op != OP_FC)
            continue;
        float *w = p.graph->tensors[n->params[0]].data;
        for (int64_t k = 0; k < shape_elems(&p.graph->tensors[n->params[0]].shape); k++)
            w[k] = k % 2 ? 0.5f : -0.5f;
    }
    float *c0 = copy_weights(p.graph, "c"), *f0 = copy_weights(p.graph, "f");
    prune_graph(p.graph, 0.5, false);
    float kept = INFINITY, cut = 0;
    assert_int_equal(nonzero(p.graph, "c", &kept, &cut, c0) + nonzero(p.graph, "f", &kept, &cut, f0), 2668);
    free(c0);
    free(f0);
    parsed_free(&p);
}

/* ---- the command ---------------------------------------------------------- */

static char tmp_dir[256];
static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }
#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

static float ramp(int64_t i, uint32_t seed)
{
    (void)seed;
    return (float)(i % 13) / 13.0f;
}

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-prune"))
        return -1;
    write_text_file(path_in("net.dnn"), net);
    write_f32_npy(path_in("x.npy"), (Shape){4, {1, 3, 8, 8}}, ramp, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *model = path_in("net.dnn");
    Run r = run_dnnc("prune", model, "--random-weights", "1");
    assert_run(&r, 2, NULL, "dnnc prune: give --density D, the share of weights to keep");
    static const char *const bad[] = {"0", "1.5", "abc", "-0.1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[200];
        snprintf(want, sizeof want, "--density needs a density in (0, 1], the share of conv and fc "
                 "weights kept (0.1 keeps 10%%), got '%s'", bad[i]);
        r = run_dnnc("prune", model, "--random-weights", "1", "--density", bad[i]);
        assert_run(&r, 2, NULL, want);
    }
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--structured");
    assert_run(&r, 2, NULL, "--structured is not implemented yet");
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--energy-aware");
    assert_run(&r, 2, NULL, "--energy-aware is not implemented yet");
    r = run_dnnc("run", model, "--random-weights", "1", "--prune-per-layer", "--input", path_in("x.npy"));
    assert_run(&r, 2, NULL, "--prune-per-layer needs --prune DENSITY");
    r = run_dnnc("prune", model, "--density", "0.5");
    assert_run(&r, 2, NULL, "give --weights FILE (or --random-weights SEED)");
}

/* The files run exactly as --prune runs the model. */
static void test_written_model_runs_as_prune_does(void **state)
{
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s", path_in("net-p25.dnn"));
    Run r = run_dnnc("prune", path_in("net.dnn"), "--random-weights", "7", "--density", "0.25");
    assert_run(&r, 0, "total                                       5336         1334    25.0%", NULL);
    r = run_dnnc("run", out, "--weights", path_in("net-p25.safetensors"), "--input", path_in("x.npy"),
                 "--output", path_in("a.npy"));
    assert_run(&r, 0, "ran 1 sample", NULL);
    r = run_dnnc("run", path_in("net.dnn"), "--random-weights", "7", "--prune", "0.25", "--input",
                 path_in("x.npy"), "--output", path_in("b.npy"));
    assert_run(&r, 0, "ran 1 sample", NULL);
    size_t la, lb;
    char *a = read_file_or_fail(path_in("a.npy"), &la), *b = read_file_or_fail(path_in("b.npy"), &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

/* Issue 14: without fine-tuning, dnnc keeps at least PyTorch's accuracy at
 * the same overall density. PyTorch's global L1 pruning of LeNet-5 to 10%
 * classifies 6074 of the 10,000 test images right
 * (tools/fashion/torch_prune_results.json). */
static void test_lenet5_at_10_percent_matches_pytorch(void **state)
{
    (void)state;
    const char *dir = getenv("FASHION_MNIST_DIR");
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir && *dir ? dir : "/usr/share/datasets/fashion-mnist");
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", dir && *dir ? dir : "/usr/share/datasets/fashion-mnist");
    if (access(images, R_OK) != 0) {
        print_message("SKIPPED: %s is not there (install dataset-fashion-mnist or set FASHION_MNIST_DIR)\n",
                      images);
        skip();
    }
    Run r = run_dnnc("run", DNNC_SOURCE_DIR "/examples/lenet5.dnn", "--weights",
                     DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors", "--prune", "0.1", "--target",
                     "cpu", "--input", images, "--labels", labels, "--show", "0");
    const char *p = r.status == 0 ? strstr(r.out, "top-1 ") : NULL;
    p = p ? strchr(p, '(') : NULL;
    if (!p)
        assert_run(&r, 0, "accuracy: top-1", NULL);
    int correct = atoi(p + 1);
    run_free(&r);
    print_message("LeNet-5 at 10%% density: %d of 10000 (PyTorch 6074)\n", correct);
    assert_true(correct >= 6074);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kth_largest_matches_a_sort),
        cmocka_unit_test(test_global_density_keeps_the_largest),
        cmocka_unit_test(test_per_layer_density),
        cmocka_unit_test(test_ties_keep_the_exact_count),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_written_model_runs_as_prune_does),
        cmocka_unit_test(test_lenet5_at_10_percent_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
