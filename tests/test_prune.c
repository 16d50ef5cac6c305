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
#include "reference.h"
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

/* Runs the reference pipeline with pruning as po says; false with the
 * messages in *messages (the caller frees them) on an error. */
static bool prune_with(Graph *g, const PruneOptions *po, char **messages)
{
    PassOptions o = {.target = target_find("reference"), .prune = po};
    return run_pipeline_with(g, &o, messages);
}

static void prune_or_fail(Graph *g, const PruneOptions *po)
{
    PassOptions o = {.target = target_find("reference"), .prune = po};
    run_pipeline_with_or_fail(g, &o);
}

static void prune_graph(Graph *g, double density, bool per_layer)
{
    prune_or_fail(g, &(PruneOptions){.density = density, .per_layer = per_layer});
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

/* ---- structured pruning ---------------------------------------------------- */

/* c1's channels go through a batch norm, a relu, a max pool and a
 * depthwise conv into c2; c2's through a relu into an fc that flattens
 * them (36 columns each). f is the output and keeps its units. */
static const char chain_net[] = "input x: f32[1, 3, 12, 12];\n"
                                "c1 = conv(x, filters=8, kernel=3, pad=1);\n"
                                "n1 = batchnorm(c1);\n"
                                "r1 = relu(n1);\n"
                                "p1 = maxpool(r1, kernel=2, stride=2);\n"
                                "d1 = conv(p1, filters=8, kernel=3, pad=1, groups=8);\n"
                                "c2 = conv(d1, filters=6, kernel=3, pad=1);\n"
                                "r2 = relu(c2);\n"
                                "f = fc(r2, units=10);\n"
                                "output f;\n";

static const Tensor *param_of(const Graph *g, const char *name)
{
    int t = graph_find_tensor(g, name);
    assert_true(t >= 0);
    return &g->tensors[t];
}

/* The filters of `layer` (rows of its weight) that are not among the
 * `keep` of largest L1 norm, by a sort of its own. */
typedef struct RowNorm {
    double l1;
    int row;
} RowNorm;

static int by_l1_desc(const void *a, const void *b)
{
    const RowNorm *x = a, *y = b;
    return x->l1 != y->l1 ? (x->l1 < y->l1 ? 1 : -1) : x->row - y->row;
}

static void removed_filters(const Graph *g, const char *weight, int keep, bool *removed)
{
    const Tensor *w = param_of(g, weight);
    int rows = (int)w->shape.d[0];
    int64_t per = shape_elems(&w->shape) / rows;
    RowNorm norms[64];
    for (int r = 0; r < rows; r++) {
        norms[r] = (RowNorm){0, r};
        for (int64_t i = 0; i < per; i++)
            norms[r].l1 += fabs(((const float *)w->data)[r * per + i]);
    }
    qsort(norms, (size_t)rows, sizeof *norms, by_l1_desc);
    for (int r = 0; r < rows; r++)
        removed[norms[r].row] = r >= keep;
}

/* Zeroes rows of a parameter for the removed channels. */
static void silence(Graph *g, const char *param, const bool *removed)
{
    Tensor *t = (Tensor *)param_of(g, param);
    float *v = graph_writable_data(g, (int)(t - g->tensors));
    int64_t per = shape_elems(&t->shape) / t->shape.d[0];
    for (int64_t r = 0; r < t->shape.d[0]; r++)
        if (removed[r])
            memset(v + r * per, 0, (size_t)per * sizeof *v);
}

static float *reference_output(const Graph *g, const float *input)
{
    float *out = calloc((size_t)shape_elems(&g->tensors[g->outputs[0]].shape), sizeof *out);
    assert_non_null(out);
    char err[512];
    if (!reference_run(g, (const float *const[]){input}, (float *const[]){out}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

/* The network twice with the same random weights, the second pruned
 * structurally to half its filters. */
static void whole_and_pruned(const char *text, uint64_t seed, Parsed *whole, Parsed *pruned)
{
    parse_text(whole, "net.dnn", text);
    parse_text(pruned, "net.dnn", text);
    randomize_weights_for_test(whole->graph, seed);
    randomize_weights_for_test(pruned->graph, seed);
    prune_or_fail(pruned->graph, &(PruneOptions){.density = 0.5, .structured = true});
}

/* Both graphs give exactly the same output on one random input; frees them. */
static void assert_same_outputs(Parsed *whole, Parsed *pruned)
{
    const Tensor *x = &whole->graph->tensors[whole->graph->inputs[0]];
    int64_t n = shape_elems(&x->shape), m = shape_elems(&whole->graph->tensors[whole->graph->outputs[0]].shape);
    float *input = malloc((size_t)n * sizeof *input);
    assert_non_null(input);
    uint64_t seed = 5;
    for (int64_t i = 0; i < n; i++)
        input[i] = (float)(test_uniform01(&seed) * 2 - 1);
    float *want = reference_output(whole->graph, input), *got = reference_output(pruned->graph, input);
    for (int64_t i = 0; i < m; i++)
        assert_true(got[i] == want[i]);
    free(input);
    free(want);
    free(got);
    parsed_free(whole);
    parsed_free(pruned);
}

/* At density 0.5 c1 keeps 4 of its 8 filters and c2 3 of its 6; every
 * layer on the way loses the same channels, and the network computes
 * exactly what the whole one computes when the removed filters, and the
 * parameters of those channels after them, are zero (they then carry
 * exact zeros, which add nothing). */
static void test_structured_pruning_removes_channels(void **state)
{
    (void)state;
    Parsed whole, pruned;
    whole_and_pruned(chain_net, 11, &whole, &pruned);
    const Graph *g = pruned.graph;
    assert_int_equal(param_of(g, "c1.weight")->shape.d[0], 4);
    assert_int_equal(param_of(g, "n1.running_var")->shape.d[0], 4);
    assert_int_equal(param_of(g, "d1.weight")->shape.d[0], 4);
    assert_int_equal(param_of(g, "c2.weight")->shape.d[0], 3);
    assert_int_equal(param_of(g, "c2.weight")->shape.d[1], 4);
    assert_int_equal(param_of(g, "f.weight")->shape.d[0], 10);
    assert_int_equal(param_of(g, "f.weight")->shape.d[1], 3 * 36);

    bool gone1[8], gone2[6];
    removed_filters(whole.graph, "c1.weight", 4, gone1);
    removed_filters(whole.graph, "c2.weight", 3, gone2);
    static const char *const after_c1[] = {"c1.weight", "c1.bias", "n1.weight", "n1.bias", "d1.weight", "d1.bias"};
    for (size_t i = 0; i < sizeof after_c1 / sizeof *after_c1; i++)
        silence(whole.graph, after_c1[i], gone1);
    silence(whole.graph, "c2.weight", gone2);
    silence(whole.graph, "c2.bias", gone2);
    assert_same_outputs(&whole, &pruned);
}

/* Two convs joined by a concat: each keeps half its filters, and the conv
 * after the concat loses each one's removed channels at its own place. */
static void test_structured_pruning_through_a_concat(void **state)
{
    (void)state;
    static const char joined[] = "input x: f32[1, 3, 8, 8];\n"
                                 "a = conv(x, filters=4, kernel=3, pad=1);\n"
                                 "b = conv(x, filters=6, kernel=1);\n"
                                 "j = concat(a, b);\n"
                                 "r = relu(j);\n"
                                 "c = conv(r, filters=5, kernel=3);\n"
                                 "output c;\n";
    Parsed whole, pruned;
    whole_and_pruned(joined, 21, &whole, &pruned);
    assert_int_equal(param_of(pruned.graph, "c.weight")->shape.d[1], 2 + 3);
    bool gone_a[4], gone_b[6];
    removed_filters(whole.graph, "a.weight", 2, gone_a);
    removed_filters(whole.graph, "b.weight", 3, gone_b);
    silence(whole.graph, "a.weight", gone_a);
    silence(whole.graph, "a.bias", gone_a);
    silence(whole.graph, "b.weight", gone_b);
    silence(whole.graph, "b.bias", gone_b);
    assert_same_outputs(&whole, &pruned);
}

/* A layer whose channels meet another's in an add keeps its filters; asked
 * for by name, it is an error that says why. */
static void test_structured_pruning_refuses_a_residual(void **state)
{
    (void)state;
    static const char residual[] = "input x: f32[1, 4, 6, 6];\n"
                                   "a = conv(x, filters=4, kernel=3, pad=1);\n"
                                   "r = relu(a);\n"
                                   "s = add(r, x);\n"
                                   "b = conv(s, filters=4, kernel=3, pad=1);\n"
                                   "output b;\n";
    Parsed p;
    parse_text(&p, "res.dnn", residual);
    randomize_weights_for_test(p.graph, 2);
    char *messages = NULL;
    PruneOptions po = {.density = 0.5, .structured = true, .layers = "a"};
    assert_false(prune_with(p.graph, &po, &messages));
    assert_contains(messages, "error: layer 'a' cannot lose whole filters: its channels reach "
                              "'s' (add), which needs all of them");
    free(messages);
    messages = NULL;
    po.layers = NULL;
    assert_false(prune_with(p.graph, &po, &messages));
    assert_contains(messages, "structured pruning: no conv or fc layer can lose whole filters");
    free(messages);
    messages = NULL;
    po.layers = "a,nope";
    assert_false(prune_with(p.graph, &po, &messages));
    assert_contains(messages, "--prune-layers: the network has no conv or fc layer called 'nope'");
    free(messages);
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
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--structured", "--per-layer");
    assert_run(&r, 2, NULL, "structured pruning is per layer already");
    r = run_dnnc("run", model, "--random-weights", "1", "--prune-structured", "--input", path_in("x.npy"));
    assert_run(&r, 2, NULL, "--prune-structured needs --prune DENSITY");
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--structured", "--layers", "f");
    assert_run(&r, 1, NULL, "net.dnn:4:1: error: layer 'f' cannot lose whole filters: 'f' is a network output");
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--arch", "nope");
    assert_run(&r, 2, NULL, "nope");
    r = run_dnnc("run", model, "--random-weights", "1", "--prune-per-layer", "--input", path_in("x.npy"));
    assert_run(&r, 2, NULL, "--prune-per-layer needs --prune DENSITY");
    r = run_dnnc("prune", model, "--density", "0.5");
    assert_run(&r, 2, NULL, "give --weights FILE (or --random-weights SEED)");
}

/* --arch adds each layer's energy on the machine, before and after. */
static void test_report_with_energy(void **state)
{
    (void)state;
    Run r = run_dnnc("prune", path_in("net.dnn"), "--random-weights", "7", "--density", "0.25", "--arch", "eyeriss",
                     "-o", path_in("net-e.dnn"));
    assert_run(&r, 0, "non-zero MACs       energy        after   change", NULL);
}

/* The energy column of dnnc map's "total" row, whose figures carry a
 * k, M or G suffix. */
static double map_total_energy(const char *out)
{
    const char *total = strstr(out, "\ntotal ");
    assert_non_null(total);
    char name[16], macs[32], energy[32];
    assert_int_equal(sscanf(total + 1, "%15s %31s %31s", name, macs, energy), 3);
    char *suffix;
    double v = strtod(energy, &suffix);
    return v * (*suffix == 'k' ? 1e3 : *suffix == 'M' ? 1e6 : *suffix == 'G' ? 1e9 : 1.0);
}

/* dnnc map takes the pruning options: the pruned network's energy is
 * lower (zero weights gate their MACs). It takes the quantisation options
 * too, and costs each layer at its precision: 4-bit log2 weights move and
 * multiply for less than float32 ones (both of its layers coded). */
static void test_map_takes_prune(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "7");
    double whole = map_total_energy(r.out);
    assert_run(&r, 0, "total", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "7", "--prune", "0.25");
    double pruned = map_total_energy(r.out);
    assert_run(&r, 0, "total", NULL);
    assert_true(pruned < 0.9 * whole);
    r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "7", "--quantize", "log2", "--quantize-first-last");
    double coded = map_total_energy(r.out);
    assert_run(&r, 0, "total", NULL);
    assert_true(coded < whole);
}

/* The files run exactly as --prune runs the model. */
static void test_written_model_runs_as_prune_does(void **state)
{
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s", path_in("net-p25.dnn"));
    Run r = run_dnnc("prune", path_in("net.dnn"), "--random-weights", "7", "--density", "0.25");
    assert_run(&r, 0, "total                                     18/18         5336         1334    25.0%", NULL);
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

/* The Fashion-MNIST test set (as test_fashion_mnist finds it); the test
 * is skipped, saying so, when it is not installed. */
static void fashion_test_set(char *images, char *labels, size_t size)
{
    const char *dir = getenv("FASHION_MNIST_DIR");
    dir = dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
    snprintf(images, size, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(labels, size, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (access(images, R_OK) != 0) {
        print_message("SKIPPED: %s is not there (install dataset-fashion-mnist or set FASHION_MNIST_DIR)\n",
                      images);
        skip();
    }
}

/* The test images a pruned network classifies right: `dnnc run NET
 * --weights W --prune D [extra] --target cpu` on the test set (extra may
 * be NULL). */
static int pruned_correct(const char *network, const char *weights, const char *density, const char *extra)
{
    char images[512], labels[512];
    fashion_test_set(images, labels, sizeof images);
    Run r = run_dnnc("run", network, "--weights", weights, "--prune", density, "--target", "cpu", "--input", images,
                     "--labels", labels, "--show", "0", extra);
    const char *p = r.status == 0 ? strstr(r.out, "top-1 ") : NULL;
    p = p ? strchr(p, '(') : NULL;
    if (!p)
        assert_run(&r, 0, "accuracy: top-1", NULL);
    int correct = atoi(p + 1);
    run_free(&r);
    return correct;
}

/* Issue 14: without fine-tuning, dnnc keeps at least PyTorch's accuracy at
 * the same overall density. PyTorch's global L1 pruning of LeNet-5 to 10%
 * classifies 6074 of the 10,000 test images right
 * (tools/fashion/torch_prune_results.json). */
static void test_lenet5_at_10_percent_matches_pytorch(void **state)
{
    (void)state;
    int correct = pruned_correct(DNNC_SOURCE_DIR "/examples/lenet5.dnn",
                                 DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors", "0.1", NULL);
    print_message("LeNet-5 at 10%% density: %d of 10000 (PyTorch 6074)\n", correct);
    assert_true(correct >= 6074);
}

/* Structured pruning computes what PyTorch computes when ln_structured
 * keeps the same filters and the pruned channels' biases and batch-norm
 * scales and shifts are zeroed too (tools/fashion/torch_prune_structured.py,
 * "removed"): the BN network keeps half its filters in b1-b3 and f4 and
 * classifies 3960 images right, LeNet-5 keeps 3/4 of c5's and f6's, 8575.
 * Both add the same products in other orders: an image whose two best
 * classes are within float32 rounding of each other may flip, hence 2. */
static void test_structured_pruning_matches_pytorch(void **state)
{
    (void)state;
    int bn = pruned_correct(DNNC_SOURCE_DIR "/examples/fashion_bn.dnn",
                            DNNC_SOURCE_DIR "/examples/fashion_bn.safetensors", "0.5", "--prune-structured");
    int lenet = pruned_correct(DNNC_SOURCE_DIR "/examples/lenet5.dnn",
                               DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors", "0.75", "--prune-structured");
    print_message("structured: BN network at 0.5 %d (PyTorch 3960), LeNet-5 at 0.75 %d (PyTorch 8575)\n", bn, lenet);
    assert_true(abs(bn - 3960) <= 2);
    assert_true(abs(lenet - 8575) <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kth_largest_matches_a_sort),
        cmocka_unit_test(test_global_density_keeps_the_largest),
        cmocka_unit_test(test_per_layer_density),
        cmocka_unit_test(test_ties_keep_the_exact_count),
        cmocka_unit_test(test_structured_pruning_removes_channels),
        cmocka_unit_test(test_structured_pruning_through_a_concat),
        cmocka_unit_test(test_structured_pruning_refuses_a_residual),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_written_model_runs_as_prune_does),
        cmocka_unit_test(test_report_with_energy),
        cmocka_unit_test(test_map_takes_prune),
        cmocka_unit_test(test_lenet5_at_10_percent_matches_pytorch),
        cmocka_unit_test(test_structured_pruning_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
