/* ONNX models exported by PyTorch, end to end: tests/onnx/models/tiny_cnn.onnx
 * (written by tools/onnx/export_torchvision.py --ci tests/onnx/models; see
 * tools/onnx/README.md) is imported with onnx_import, run with the reference
 * executor on the committed input and compared with PyTorch's output. Then
 * the two ways back from an import to a runnable model must not change a
 * bit: printing the graph as source, parsing it and binding the saved
 * weights (in-process), and `dnnc import` followed by `dnnc run` on the .dnn
 * and .safetensors it wrote (the built driver, DNNC_BINARY).
 *
 * tiny_cnn: 3x32x32 -> conv 3x3 (no bias) -> batchnorm -> relu -> maxpool 2
 * -> residual block (conv, bn, relu, conv, bn, add, relu) -> conv 3x3 stride 2
 * (bias) -> batchnorm (eps 1e-3) -> relu -> GlobalAveragePool -> Flatten ->
 * Gemm -> Softmax; exported with training=PRESERVE so that the
 * BatchNormalization nodes stay in the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "npy.h"
#include "onnx_import.h"
#include "reference.h"
#include "weights.h"

#define MODEL_DIR DNNC_SOURCE_DIR "/tests/onnx/models"
#define TINY_ONNX MODEL_DIR "/tiny_cnn.onnx"
#define TINY_INPUT MODEL_DIR "/tiny_cnn.input.npy"
#define TINY_EXPECTED MODEL_DIR "/tiny_cnn.expected.npy"

/* The criterion: max |dnnc - PyTorch| / max |PyTorch| <= 1e-4.
 * PyTorch computes in float32 (each dot product accumulated in float, in an
 * order chosen by its kernels), the reference executor accumulates every sum
 * in double and rounds once per layer; both are run on the same float32
 * weights and input, so they differ by PyTorch's float32 rounding, which
 * grows roughly with the square root of the reduction length (<= 72 terms
 * here), plus the reference's single rounding per layer. The measured figure
 * is 7e-8 (against PyTorch in float64: dnnc 5.7e-8, PyTorch float32 6.0e-8);
 * for the ImageNet models of docs/onnx-models.md it is at most 2.6e-6
 * (VGG-16), nearly all of it PyTorch's. 1e-4 leaves a margin of 1000x here
 * and 38x there, and still catches mistakes in the import: computed with
 * PyTorch on this model, a batchnorm eps of 1e-5 read in place of 1e-3
 * changes the output by 3e-4 of its magnitude, swapped running mean and
 * variance by 3e-2 to 6e-1, a flipped convolution kernel by 3e-2. */
#define REL_TOLERANCE 1e-4

static Array npy_or_fail(const char *path)
{
    Array a;
    char err[1024];
    if (!npy_read(path, &a, err, sizeof err))
        fail_msg("%s", err);
    if (a.dtype != ELEM_F32) {
        array_free(&a);
        fail_msg("%s: expected float32", path);
    }
    return a;
}

static void assert_shape(const Shape *got, const Shape *want, const char *what)
{
    if (!shape_equal(got, want)) {
        print_error("%s: rank %d vs %d\n", what, got->rank, want->rank);
        for (int i = 0; i < got->rank || i < want->rank; i++)
            print_error("  dim %d: %lld vs %lld\n", i,
                        (long long)(i < got->rank ? got->d[i] : -1),
                        (long long)(i < want->rank ? want->d[i] : -1));
        fail_msg("%s: shape mismatch", what);
    }
}

/* Runs a one-input, one-output graph on `in`; returns the output (malloc'd,
 * `*n` elements, in the shape of the graph output). */
static float *run_or_fail(const Graph *g, const Array *in, int64_t *n)
{
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    assert_shape(&in->shape, &g->tensors[g->inputs[0]].shape, "input");
    *n = shape_elems(&g->tensors[g->outputs[0]].shape);
    float *out = calloc((size_t)*n, sizeof *out);
    assert_non_null(out);
    const float *inputs[1] = {in->data};
    float *outputs[1] = {out};
    char err[1024] = "";
    if (!reference_run(g, inputs, outputs, err, sizeof err)) {
        free(out);
        fail_msg("reference_run: %s", err);
    }
    return out;
}

/* The tiny network imported from ONNX and run on the committed input. */
static float *run_tiny_onnx(int64_t *n)
{
    Graph *g = test_import_onnx(TINY_ONNX);
    Array in = npy_or_fail(TINY_INPUT);
    float *out = run_or_fail(g, &in, n);
    array_free(&in);
    graph_free(g);
    return out;
}

static void assert_bit_identical(const float *got, const float *want, int64_t n, const char *what)
{
    if (memcmp(got, want, (size_t)n * sizeof *got) == 0)
        return;
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof *got) != 0)
            print_error("[%lld]: %s %.9g, .onnx %.9g\n", (long long)i, what, (double)got[i],
                        (double)want[i]);
    fail_msg("%s differs from running the .onnx", what);
}

/* ---- the import itself ------------------------------------------------------ */

/* The committed file must keep its BatchNormalization nodes (a training=EVAL
 * export folds them into the convolutions, and the test would no longer
 * cover them), and every layer must be there. */
static void test_tiny_cnn_imports_every_layer_with_batch_norm_kept(void **state)
{
    (void)state;
    Graph *g = test_import_onnx(TINY_ONNX);
    int count[OP_COUNT] = {0};
    for (int i = 0; i < g->n_nodes; i++)
        count[g->nodes[i].op]++;
    int n_nodes = g->n_nodes;
    Shape in = g->tensors[g->inputs[0]].shape, out = g->tensors[g->outputs[0]].shape;
    graph_free(g);
    assert_int_equal(count[OP_CONV], 4);
    assert_int_equal(count[OP_BATCHNORM], 4);
    assert_int_equal(count[OP_RELU], 4);
    assert_int_equal(count[OP_MAXPOOL], 1);
    assert_int_equal(count[OP_ADD], 1);
    assert_int_equal(count[OP_GLOBAL_AVGPOOL], 1);
    assert_int_equal(count[OP_FLATTEN], 1);
    assert_int_equal(count[OP_FC], 1);
    assert_int_equal(count[OP_SOFTMAX], 1);
    assert_int_equal(n_nodes, 18);
    assert_shape(&in, &(Shape){4, {1, 3, 32, 32}}, "graph input");
    assert_shape(&out, &(Shape){2, {1, 10}}, "graph output");
}

/* ---- against PyTorch --------------------------------------------------------- */

static void test_tiny_cnn_matches_pytorch(void **state)
{
    (void)state;
    int64_t n;
    float *got = run_tiny_onnx(&n);
    Array want = npy_or_fail(TINY_EXPECTED);
    if (array_count(&want) != n) {
        free(got);
        array_free(&want);
        fail_msg("expected.npy has %lld values, the graph output %lld",
                 (long long)array_count(&want), (long long)n);
    }
    const float *w = want.data;
    double max_diff = 0, max_out = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)w[i]);
        if (!(d <= max_diff)) /* NaN counts as the worst */
            max_diff = d, worst = i;
        if (fabs((double)w[i]) > max_out)
            max_out = fabs((double)w[i]);
    }
    double rel = max_diff / max_out;
    bool ok = max_out > 0 && rel <= REL_TOLERANCE;
    if (!ok)
        print_error("max |diff| %.3g at [%lld] (dnnc %.9g, PyTorch %.9g), max |out| %.3g, "
                    "relative %.3g > %g\n",
                    max_diff, (long long)worst, (double)got[worst], (double)w[worst], max_out,
                    rel, REL_TOLERANCE);
    free(got);
    array_free(&want);
    assert_true(ok);
}

/* ---- the imported model as source and weights --------------------------------- */

/* graph_print, frontend_parse and the weights written by weights_save, read
 * back with weights_load: what `dnnc import` writes, done in-process. */
static void test_tiny_cnn_printed_and_parsed_back_runs_bit_identically(void **state)
{
    (void)state;
    char dir[256];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-onnx-models"));
    char weights[512];
    snprintf(weights, sizeof weights, "%s/tiny_cnn.safetensors", dir);

    Graph *g = test_import_onnx(TINY_ONNX);
    char *text = graph_to_text(g);
    char err[1024];
    bool saved = weights_save(g, weights, err, sizeof err);
    graph_free(g);
    if (!saved) {
        free(text);
        fail_msg("weights_save: %s", err);
    }

    Parsed p;
    parse_text(&p, "tiny_cnn.dnn", text);
    free(text);
    if (!p.graph)
        fail_msg("the printed graph does not parse:\n%s", p.messages);
    weights_load_or_fail(p.graph, weights);

    Array in = npy_or_fail(TINY_INPUT);
    int64_t n_dnn, n_onnx;
    float *got = run_or_fail(p.graph, &in, &n_dnn);
    array_free(&in);
    parsed_free(&p);
    float *want = run_tiny_onnx(&n_onnx);
    assert_int_equal(n_dnn, n_onnx);
    assert_bit_identical(got, want, n_dnn, "the parsed .dnn");
    free(got);
    free(want);
    assert_int_equal(temp_dir_remove(dir), 0);
}

/* The same through the driver: `dnnc import -o`, then `dnnc run` on the
 * .dnn with the .safetensors written beside it. */
static void test_dnnc_import_then_run_is_bit_identical(void **state)
{
    (void)state;
    char dir[256];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-onnx-models"));
    char source[512], weights[512], output[512];
    snprintf(source, sizeof source, "%s/tiny_cnn.dnn", dir);
    snprintf(weights, sizeof weights, "%s/tiny_cnn.safetensors", dir);
    snprintf(output, sizeof output, "%s/out.npy", dir);

    Run r = run_program(DNNC_BINARY, dir, (const char *const[]){"import", TINY_ONNX, "-o", source,
                                                                  NULL});
    assert_run(&r, 0, "(18 layers)", NULL);
    r = run_program(DNNC_BINARY, dir,
                    (const char *const[]){"run", source, "--weights", weights, "--input",
                                          TINY_INPUT, "--output", output, NULL});
    assert_run(&r, 0, "ran 1 sample", NULL);

    Array got = npy_or_fail(output);
    int64_t n;
    float *want = run_tiny_onnx(&n);
    bool same_count = array_count(&got) == n;
    if (same_count)
        assert_bit_identical(got.data, want, n, "dnnc run on the imported .dnn");
    array_free(&got);
    free(want);
    assert_true(same_count);
    assert_int_equal(temp_dir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_cnn_imports_every_layer_with_batch_norm_kept),
        cmocka_unit_test(test_tiny_cnn_matches_pytorch),
        cmocka_unit_test(test_tiny_cnn_printed_and_parsed_back_runs_bit_identically),
        cmocka_unit_test(test_dnnc_import_then_run_is_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
