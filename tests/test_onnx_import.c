/* The ONNX importer (frontend/onnx): every way a model can be unusable must
 * end in a NULL graph and an error that says what is wrong and where (the
 * node, its op type and the opset), never in a crash or a wrong graph; and a
 * valid model must import, print as source that parses back, and compute
 * what ONNX says it computes, through the library and through `dnnc import`
 * and `dnnc run`.
 *
 * The models are in tests/onnx/, written by tools/onnx/make_bad_models.py
 * (the test itself needs no Python). Byte-level damage (not protobuf, empty,
 * truncated) and external data files are made here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include "npy.h"
#include "onnx_import.h"
#include "reference.h"

#define MODELS DNNC_SOURCE_DIR "/tests/onnx/"
#define TINY MODELS "tiny_conv_relu_gemm.onnx"
#define TINY_INPUT MODELS "tiny_conv_relu_gemm.input.npy"
#define TINY_EXPECTED MODELS "tiny_conv_relu_gemm.expected.npy"

/* ---- fixture: a temporary directory ----------------------------------------- */

static char tmp_dir[256];

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-onnx") ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- importing, with the diagnostics captured -------------------------------- */

typedef struct Imported {
    Graph *graph;
    char *messages;
    int errors;
} Imported;

static void imported_free(Imported *r)
{
    graph_free(r->graph);
    free(r->messages);
    memset(r, 0, sizeof *r);
}

/* bytes == NULL: onnx_import(path); otherwise onnx_import_bytes with
 * display name `path` and external data looked up in base_dir. */
static Imported run_import(const char *path, const unsigned char *bytes, size_t len,
                           const char *base_dir)
{
    Imported r = {0};
    size_t size = 0;
    FILE *out = open_memstream(&r.messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    r.graph = bytes ? onnx_import_bytes(bytes, len, path, base_dir, NULL, &d)
                    : onnx_import(path, NULL, &d);
    fclose(out);
    r.errors = d.errors;
    return r;
}

static Imported import_file(const char *path) { return run_import(path, NULL, 0, NULL); }

/* Fails unless importing did not produce a graph and reported an error
 * containing `message`; frees the result. */
#define assert_import_fails(r, message) check_import_fails((r), (message), __FILE__, __LINE__)
static void check_import_fails(Imported *r, const char *message, const char *file, int line)
{
    bool ok = r->graph == NULL && r->errors > 0 && r->messages && strstr(r->messages, message);
    if (!ok)
        print_error("%s:%d: expected the import to fail with\n  %s\ngot %s, %d errors:\n%s\n", file,
                    line, message, r->graph ? "a graph" : "no graph", r->errors,
                    r->messages ? r->messages : "");
    imported_free(r);
    if (!ok)
        _fail(file, line);
}

/* Imports tests/onnx/NAME and expects "MODELS/NAME: error: ...message". */
static void expect_model_error(const char *name, const char *message)
{
    char path[1024], want[2048];
    snprintf(path, sizeof path, MODELS "%s", name);
    snprintf(want, sizeof want, "%s: error: %s", path, message);
    Imported r = import_file(path);
    assert_import_fails(&r, want);
}

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

static Array read_npy_or_fail(const char *path)
{
    Array a;
    char err[1024];
    if (!npy_read(path, &a, err, sizeof err))
        fail_msg("%s", err);
    return a;
}

/* ---- bytes that are not a model ---------------------------------------------- */

static void test_bytes_that_are_not_protobuf_are_rejected(void **state)
{
    (void)state;
    static const char text[] = "input x: f32[1, 4];\ny = relu(x);\noutput y;\n";
    Imported r =
        run_import("net.onnx", (const unsigned char *)text, sizeof text - 1, "/nonexistent");
    assert_import_fails(&r, "net.onnx: error: not a valid ONNX model (the protobuf data is "
                            "malformed or truncated)");
}

/* An empty file is a valid (empty) protobuf message: the importer must
 * still say the file is empty rather than blame a missing opset. */
static void test_an_empty_file_says_it_is_empty(void **state)
{
    (void)state;
    const char *path = path_in("empty.onnx");
    write_bytes(path, "", 0);
    Imported r = import_file(path);
    remove(path);
    /* The message, not the file name, must say so. */
    const char *prefix = "empty.onnx: error: ";
    const char *error = r.messages ? strstr(r.messages, prefix) : NULL;
    bool ok = !r.graph && r.errors > 0 && error && strstr(error + strlen(prefix), "empty");
    if (!ok)
        print_error("expected no graph and an error saying the file is empty;\n"
                    "got %s, %d errors:\n%s\n", r.graph ? "a graph" : "no graph", r.errors,
                    r.messages ? r.messages : "");
    imported_free(&r);
    assert_true(ok);
}

static void test_a_truncated_model_is_rejected(void **state)
{
    (void)state;
    size_t len;
    char *bytes = read_file_or_fail(TINY, &len);
    assert_true(len > 100);
    Imported r = run_import("half.onnx", (const unsigned char *)bytes, len / 2, "/nonexistent");
    free(bytes);
    assert_import_fails(&r, "half.onnx: error: not a valid ONNX model (the protobuf data is "
                            "malformed or truncated)");
}

static void test_a_missing_file_is_named(void **state)
{
    (void)state;
    char want[1200];
    snprintf(want, sizeof want, "error: cannot open '%s': No such file or directory",
             path_in("no-such-model.onnx"));
    Imported r = import_file(path_in("no-such-model.onnx"));
    assert_import_fails(&r, want);
}

/* ---- the model header ------------------------------------------------------------ */

static void test_a_model_without_a_graph(void **state)
{
    (void)state;
    expect_model_error("no_graph.onnx", "the model has no graph");
}

static void test_opset_18_is_outside_the_supported_range(void **state)
{
    (void)state;
    expect_model_error("opset18.onnx", "opset 18 is outside the supported range 1 to 17");
}

static void test_a_model_importing_no_default_opset(void **state)
{
    (void)state;
    expect_model_error("no_default_opset.onnx", "the model imports no ONNX opset");
}

/* ---- operators ------------------------------------------------------------------- */

static void test_an_unknown_op_names_the_op_the_node_and_the_opset(void **state)
{
    (void)state;
    expect_model_error("unknown_op.onnx", "node 0 'y' (Foo, opset 13): unsupported op 'Foo'");
}

static void test_an_op_in_another_domain(void **state)
{
    (void)state;
    expect_model_error("other_domain.onnx",
                       "node 0 'r' (Relu, opset 13): the operator domain 'com.microsoft' is not "
                       "supported");
}

static void test_auto_pad_foo(void **state)
{
    (void)state;
    expect_model_error("auto_pad_foo.onnx",
                       "node 0 'p' (MaxPool, opset 13): auto_pad 'FOO' is not supported");
}

/* Found by fuzz_onnx: attributes set by the importer are checked like parsed
 * ones (a zero group count divided by zero). */
static void test_conv_with_zero_groups(void **state)
{
    (void)state;
    expect_model_error("fuzz_conv_group_zero.onnx",
                       "node 0 '3' (Conv, opset 6): conv: groups=0 must be at least 1");
}

/* Found by fuzz_onnx: a node that redefines a name (here its own input) broke
 * import-time folding; ONNX names are defined once. */
static void test_an_output_that_redefines_a_name(void **state)
{
    (void)state;
    expect_model_error("fuzz_output_redefines_input.onnx",
                       "node 3 '1' (Selu, opset 6): output '1' is already defined");
}

/* Found by fuzz_onnx while the importer learnt to split initializers at the
 * wire level: an initializer with 2^40 elements in its dims and no data at
 * all. Its size is checked against the values it holds before anything is
 * allocated for it. */
static void test_an_initializer_without_its_data(void **state)
{
    (void)state;
    expect_model_error("fuzz_initializer_dims_without_data.onnx",
                       "initializer: tensor 'k' holds 0 values but its dims need 1099511627776");
}

/* Found by fuzz_onnx: a PRelu of an empty constant folds to an empty
 * constant (the fold-constants pass folds empty results too); the
 * redefinition after it is the model's only error. */
static void test_an_empty_constant_folds(void **state)
{
    (void)state;
    expect_model_error("fuzz_prelu_empty_fold.onnx",
                       "node 1 '2' (PRelu, opset 16): output '2' is already defined");
}

/* A fold larger than fold-constants makes is an error, and the node that
 * reads its result then finds it undefined: its name must not keep a
 * tensor id of the scratch graph the fold ran in (that read out of
 * bounds before). */
static void test_a_fold_too_large_leaves_its_output_undefined(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, MODELS "%s", "fold_too_large_then_read.onnx");
    Imported r = import_file(path);
    assert_null(r.graph);
    assert_contains(r.messages, "error: node 0 'mm' (MatMul, opset 13): the constant computation "
                                "could not be folded (its result has 268500996 bytes; the limit "
                                "is 268435456)");
    assert_contains(r.messages, "error: node 1 'r' (Relu, opset 13): input 'p' is not defined "
                                "before this node");
    imported_free(&r);
}

/* Found by fuzz_onnx: SAME padding with a zero stride divided by zero;
 * window attributes are checked before any arithmetic on them. */
static void test_a_zero_stride_with_same_padding(void **state)
{
    (void)state;
    expect_model_error("fuzz_stride_zero_same_pad.onnx",
                       "node 0 'y' (AveragePool, opset 11): kernel, stride and dilation must be in "
                       "[1, 2^31] and pads in [0, 2^31]");
}

static void test_storage_order_1(void **state)
{
    (void)state;
    expect_model_error("storage_order.onnx",
                       "node 0 'p' (MaxPool, opset 13): storage_order=1 is not supported");
}

static void test_pad_mode_wrap(void **state)
{
    (void)state;
    expect_model_error("pad_wrap.onnx",
                       "node 0 'p' (Pad, opset 13): pad mode 'wrap' is not supported");
}

static void test_negative_pads(void **state)
{
    (void)state;
    expect_model_error("pad_negative.onnx",
                       "node 0 'p' (Pad, opset 13): negative pads (cropping) are not supported");
}

static void test_conv_on_a_3d_input(void **state)
{
    (void)state;
    expect_model_error("conv3d.onnx", "node 0 'c' (Conv, opset 13): only 1-D and 2-D convolution "
                                      "is supported (the input has rank 5)");
}

static void test_a_used_dropout_mask(void **state)
{
    (void)state;
    expect_model_error("dropout_mask.onnx",
                       "node 0 'd' (Dropout, opset 13): output 1 (the dropout mask) is not "
                       "supported");
}

static void test_batchnorm_in_training_mode(void **state)
{
    (void)state;
    expect_model_error("batchnorm_training.onnx",
                       "node 0 'bn' (BatchNormalization, opset 15): training mode is not "
                       "supported");
}

static void test_batchnorm_training_outputs(void **state)
{
    (void)state;
    expect_model_error("batchnorm_training_outputs.onnx",
                       "node 0 'bn' (BatchNormalization, opset 15): output 1 (training statistics) "
                       "is not supported");
}

static void test_a_conv_weight_that_is_a_runtime_input(void **state)
{
    (void)state;
    expect_model_error("conv_weight_input.onnx",
                       "node 0 'c' (Conv, opset 13): the weight (input 1) must be a constant or "
                       "initializer");
}

/* ---- graph inputs and initializers ------------------------------------------------ */

static void test_a_symbolic_input_dimension(void **state)
{
    (void)state;
    expect_model_error("symbolic_dim.onnx", "graph input 'x' has a dimension that is not a static "
                                            "positive size (dnnc needs static shapes)");
}

static void test_an_int64_input(void **state)
{
    (void)state;
    expect_model_error("input_int64.onnx", "graph input 'x' has an element type dnnc cannot "
                                           "compute on (f32, i8, u8, i32 only)");
}

static void test_a_double_input(void **state)
{
    (void)state;
    expect_model_error("input_double.onnx", "graph input 'x' has an element type dnnc cannot "
                                            "compute on (f32, i8, u8, i32 only)");
}

static void test_raw_data_shorter_than_the_dims(void **state)
{
    (void)state;
    expect_model_error("raw_data_short.onnx",
                       "initializer: tensor 'k' has 12 raw bytes but its dims and type need 16");
}

/* ---- external data ---------------------------------------------------------------- */

static void test_external_data_at_an_absolute_path(void **state)
{
    (void)state;
    expect_model_error("external_absolute.onnx",
                       "initializer: tensor 'k': external data path '/etc/passwd' leaves the "
                       "model's folder");
}

static void test_external_data_above_the_model_folder(void **state)
{
    (void)state;
    expect_model_error("external_dotdot.onnx",
                       "initializer: tensor 'k': external data path '../secret.bin' leaves the "
                       "model's folder");
    expect_model_error("external_dotdot_inner.onnx",
                       "initializer: tensor 'k': external data path 'data/../../secret.bin' leaves "
                       "the "
                       "model's folder");
}

/* '..' is refused even when the file it names exists. */
static void test_external_data_above_the_folder_is_refused_even_if_it_exists(void **state)
{
    (void)state;
    char sub[1024];
    snprintf(sub, sizeof sub, "%s", path_in("sub"));
    assert_int_equal(mkdir(sub, 0755), 0);
    float k[4] = {1, 2, 3, 4};
    write_bytes(path_in("secret.bin"), k, sizeof k);
    size_t len;
    char *bytes = read_file_or_fail(MODELS "external_dotdot.onnx", &len);
    Imported r = run_import("m.onnx", (const unsigned char *)bytes, len, sub);
    free(bytes);
    remove(path_in("secret.bin"));
    rmdir(sub);
    assert_import_fails(&r, "external data path '../secret.bin' leaves the model's folder");
}

/* external_valid.onnx: k = f32[2, 2] in w.bin at offset 8, length 16,
 * y = x + k. */
static void write_external_model(const float k[4], size_t data_bytes)
{
    size_t len;
    char *model = read_file_or_fail(MODELS "external_valid.onnx", &len);
    write_bytes(path_in("ext.onnx"), model, len);
    free(model);
    unsigned char data[24] = {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
    memcpy(data + 8, k, 16);
    write_bytes(path_in("w.bin"), data, data_bytes);
}

static void check_adds_k(const Graph *g, const float k[4])
{
    const float x[4] = {10, 20, 30, 40};
    float y[4] = {0};
    const float *in[1] = {x};
    float *out[1] = {y};
    char err[1024];
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    if (!reference_run(g, in, out, err, sizeof err))
        fail_msg("reference_run: %s", err);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == x[i] + k[i]);
}

static void test_external_data_beside_the_model_loads(void **state)
{
    (void)state;
    const float k[4] = {1.5f, -2.0f, 3.25f, 0.5f};
    write_external_model(k, 24);
    Imported r = import_file(path_in("ext.onnx"));
    if (!r.graph)
        fail_msg("import failed:\n%s", r.messages);
    assert_int_equal(r.errors, 0);
    check_adds_k(r.graph, k);
    imported_free(&r);

    /* The same bytes from memory with base_dir pointing at the folder. */
    size_t len;
    char *model = read_file_or_fail(path_in("ext.onnx"), &len);
    r = run_import("ext.onnx", (const unsigned char *)model, len, tmp_dir);
    free(model);
    if (!r.graph)
        fail_msg("import from bytes failed:\n%s", r.messages);
    check_adds_k(r.graph, k);
    imported_free(&r);
    remove(path_in("ext.onnx"));
    remove(path_in("w.bin"));
}

static void test_external_data_file_too_short(void **state)
{
    (void)state;
    const float k[4] = {1, 2, 3, 4};
    write_external_model(k, 20);
    Imported r = import_file(path_in("ext.onnx"));
    assert_import_fails(&r, "tensor 'k': w.bin has 20 bytes, fewer than offset 8 + 16");
    remove(path_in("w.bin"));
    char want[1200];
    snprintf(want, sizeof want, "initializer: cannot open '%s': No such file or directory",
             path_in("w.bin"));
    r = import_file(path_in("ext.onnx"));
    assert_import_fails(&r, want);
    remove(path_in("ext.onnx"));
}

/* ---- the graph's wiring -------------------------------------------------------------- */

static void test_a_node_reading_an_undefined_name(void **state)
{
    (void)state;
    expect_model_error("undefined_input.onnx",
                       "node 0 'a' (Add, opset 13): input 'ghost' is not defined before this node");
}

static void test_a_graph_output_never_computed(void **state)
{
    (void)state;
    expect_model_error("output_not_computed.onnx", "graph output 'z' is not computed by any node");
}

/* A node whose first operand is absent (no inputs, or the empty name ONNX
 * uses for an omitted optional input) must be an error naming the node.
 * Run through the driver so that a crash fails this test only. */
static void check_missing_input(const char *model, const char *node)
{
    char path[1024];
    snprintf(path, sizeof path, MODELS "%s", model);
    Run r = run_dnnc("dump", path);
    assert_run(&r, 1, NULL, node);
}

static void test_identity_without_inputs(void **state)
{
    (void)state;
    check_missing_input("missing_input_identity_none.onnx", "node 0 'n' (Identity, opset 13): ");
}

static void test_identity_of_the_empty_name(void **state)
{
    (void)state;
    check_missing_input("missing_input_identity_empty.onnx", "node 0 'n' (Identity, opset 13): ");
}

static void test_dropout_without_inputs(void **state)
{
    (void)state;
    check_missing_input("missing_input_dropout_none.onnx", "node 0 'n' (Dropout, opset 13): ");
}

static void test_squeeze_of_the_empty_name(void **state)
{
    (void)state;
    check_missing_input("missing_input_squeeze_empty.onnx", "node 0 'n' (Squeeze, opset 13): ");
}

static void test_unsqueeze_of_the_empty_name(void **state)
{
    (void)state;
    check_missing_input("missing_input_unsqueeze_empty.onnx", "node 0 'n' (Unsqueeze, opset 13): ");
}

/* ---- values out of range ------------------------------------------------------------ */

/* Reshape to [1e20] (a float32 shape) and to [INT64_MAX]: an error naming
 * the node, and not a claim that the dimension is negative (the value the
 * undefined float-to-int64 conversion happens to give on x86). */
static void check_reshape_out_of_range(const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, MODELS "%s", model);
    Run r = run_dnnc("dump", path);
    bool negative = strstr(r.err, "-9223372036854775808") != NULL;
    assert_run(&r, 1, NULL, "node 0 'r' (Reshape, opset 13): ");
    assert_false(negative);
}

static void test_reshape_to_a_float_shape_beyond_int64(void **state)
{
    (void)state;
    check_reshape_out_of_range("reshape_float_shape.onnx");
}

static void test_reshape_to_int64_max(void **state)
{
    (void)state;
    check_reshape_out_of_range("reshape_int64_max.onnx");
}

/* dims [2^20, 2^20] float and no data in an 89-byte file: an error about
 * tensor 'k', not an attempt to allocate 4 TiB. */
static void test_an_initializer_whose_dims_exceed_its_data(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", MODELS "huge_initializer.onnx");
    assert_run(&r, 1, NULL, "initializer: tensor 'k'");
}

static float zero(int64_t i, uint32_t seed)
{
    (void)i, (void)seed;
    return 0.0f;
}

/* Values spread over [-1, 1], varying from element to element. */
static float spread(int64_t i, uint32_t seed)
{
    (void)seed;
    return (float)((i * 7 % 23) - 11) / 11.0f;
}

/* A constant that a running node has already used (x + k) is then the
 * operand of a node folded at import (relu(k)): y = x + k + relu(k). Import
 * and run through the driver so that a crash fails this test only. */
static void test_a_constant_used_by_a_running_node_and_then_a_folded_one(void **state)
{
    (void)state;
    Run r = run_dnnc("import", MODELS "constant_used_by_a_folded_node.onnx", "-o",
                     path_in("shared.dnn"));
    assert_run(&r, 0, "wrote", NULL);
    write_f32_npy(path_in("zeros.npy"), (Shape){2, {1, 4}}, zero, 0);
    r = run_dnnc("run", path_in("shared.dnn"), "--weights", path_in("shared.safetensors"),
                 "--input", path_in("zeros.npy"), "--output", path_in("shared-out.npy"));
    assert_run(&r, 0, "ran 1 sample", NULL);
    Array y = read_npy_or_fail(path_in("shared-out.npy"));
    const float want[4] = {2, -2, 6, -4};
    bool same =
        y.dtype == ELEM_F32 && y.nbytes == sizeof want && memcmp(y.data, want, sizeof want) == 0;
    array_free(&y);
    remove(path_in("shared.dnn"));
    remove(path_in("shared.safetensors"));
    remove(path_in("zeros.npy"));
    remove(path_in("shared-out.npy"));
    assert_true(same);
}

/* ---- a valid model ------------------------------------------------------------------- */

/* |got - want| <= 1e-5 + 1e-5 |want| element by element. */
static void assert_close(const Array *got, const Array *want)
{
    assert_int_equal(got->dtype, ELEM_F32);
    assert_int_equal(want->dtype, ELEM_F32);
    assert_true(shape_equal(&got->shape, &want->shape));
    const float *g = got->data, *w = want->data;
    for (int64_t i = 0; i < array_count(want); i++)
        if (!(fabs((double)g[i] - (double)w[i]) <= 1e-5 + 1e-5 * fabs((double)w[i])))
            fail_msg("element %lld: got %.9g, expected %.9g", (long long)i, (double)g[i],
                     (double)w[i]);
}

/* The raw bytes of initializer w_k (64 floats k * 1000 + i) start at each
 * offset modulo 4 in the file; the importer reads each from where it lies
 * (at the offset the wire walk found) into an aligned block of its own.
 * With x = 0, y_k = w_k. */
static void test_raw_data_at_every_alignment_is_read_in_place(void **state)
{
    (void)state;
    write_f32_npy(path_in("x64.npy"), (Shape){2, {1, 64}}, zero, 0);
    for (int k = 1; k <= 4; k++) {
        char out[600];
        snprintf(out, sizeof out, "y%d=%s", k, path_in("y.npy"));
        Run r = run_dnnc("run", MODELS "raw_data_alignments.onnx", "--input", path_in("x64.npy"), "--output", out,
                         "--show", "0");
        assert_run(&r, 0, "ran 1 sample", NULL);
        Array y = read_npy_or_fail(path_in("y.npy"));
        assert_int_equal(y.nbytes, 64 * sizeof(float));
        for (int i = 0; i < 64; i++)
            assert_true(((const float *)y.data)[i] == (float)(k * 1000 + i));
        array_free(&y);
    }
    remove(path_in("y.npy"));
    remove(path_in("x64.npy"));
}

/* Runs shared_conv_weight.onnx at -O LEVEL and reads output `name`. */
static Array run_shared_weight_model(const char *level, const char *name)
{
    char out[600];
    snprintf(out, sizeof out, "%s=%s", name, path_in("shared-weight-out.npy"));
    Run r = run_dnnc("run", MODELS "shared_conv_weight.onnx", level, "--input", path_in("shared-weight-x.npy"),
                     "--output", out, "--show", "0");
    assert_run(&r, 0, "ran 1 sample", NULL);
    Array y = read_npy_or_fail(path_in("shared-weight-out.npy"));
    remove(path_in("shared-weight-out.npy"));
    return y;
}

/* Two convs read one initializer, each followed by its own batch norm. The
 * importer gives both the same storage, so that storage is not the graph's
 * to rewrite: folding the first batch norm in place would scale the second
 * conv's weights too (by about 3, far beyond assert_close). -O0 folds
 * nothing, -O2 folds both. */
static void test_folding_a_shared_weight_leaves_its_other_reader_alone(void **state)
{
    (void)state;
    write_f32_npy(path_in("shared-weight-x.npy"), (Shape){4, {1, 3, 6, 6}}, spread, 0);
    const char *outputs[] = {"y0", "y1"};
    for (int k = 0; k < 2; k++) {
        Array unfolded = run_shared_weight_model("-O0", outputs[k]);
        Array folded = run_shared_weight_model("-O2", outputs[k]);
        assert_close(&folded, &unfolded);
        array_free(&unfolded);
        array_free(&folded);
    }
    remove(path_in("shared-weight-x.npy"));
}

static void test_tiny_model_imports_prints_and_parses(void **state)
{
    (void)state;
    Imported r = import_file(TINY);
    if (!r.graph)
        fail_msg("import failed:\n%s", r.messages);
    assert_int_equal(r.errors, 0);
    assert_string_equal(r.messages, "");
    char *text = graph_to_text(r.graph);
    /* ONNX names become identifiers: "input.1" -> input_1, "onnx::Relu_5"
     * -> onnx__Relu_5, "6" -> t6, and "output" (a keyword) -> output_2. */
    assert_contains(text, "input input_1: f32[1, 1, 4, 4];");
    assert_contains(text, "onnx__Relu_5 = conv(input_1, filters=2, kernel=3, pad=1);");
    assert_contains(text, "t6 = relu(onnx__Relu_5);");
    assert_contains(text, "fc(t7, units=3);");
    assert_contains(text, "output output_2;");

    Parsed p;
    parse_text(&p, "tiny.dnn", text);
    if (!p.graph)
        fail_msg("the printed model does not parse:\n%s\n%s", text, p.messages);
    assert_int_equal(p.errors, 0);
    char *again = graph_to_text(p.graph);
    assert_string_equal(again, text);
    free(again);
    parsed_free(&p);
    free(text);

    /* And it computes what NumPy computed (tools/onnx/make_bad_models.py). */
    Array in = read_npy_or_fail(TINY_INPUT), want = read_npy_or_fail(TINY_EXPECTED);
    Array got;
    char err[1024];
    Shape out_shape = {2, {1, 3}};
    if (!array_alloc(&got, ELEM_F32, &out_shape, err, sizeof err))
        fail_msg("%s", err);
    const float *inputs[1] = {in.data};
    float *outputs[1] = {got.data};
    bool ran = reference_run(r.graph, inputs, outputs, err, sizeof err);
    imported_free(&r);
    if (!ran)
        fail_msg("reference_run: %s", err);
    assert_close(&got, &want);
    array_free(&in);
    array_free(&want);
    array_free(&got);
}

static void test_dnnc_import_writes_source_and_weights_that_run_like_the_model(void **state)
{
    (void)state;
    Run r = run_dnnc("import", TINY, "-o", path_in("tiny.dnn"));
    assert_run(&r, 0, "(4 layers)", NULL);
    assert_true(file_exists(path_in("tiny.dnn")));
    assert_true(file_exists(path_in("tiny.safetensors")));

    r = run_dnnc("run", path_in("tiny.dnn"), "--weights", path_in("tiny.safetensors"), "--input",
                 TINY_INPUT, "--output", path_in("from-dnn.npy"));
    assert_run(&r, 0, "ran 1 sample", NULL);
    Array from_dnn = read_npy_or_fail(path_in("from-dnn.npy"));
    Array want = read_npy_or_fail(TINY_EXPECTED);
    assert_close(&from_dnn, &want);
    array_free(&want);

    /* The .onnx itself, run directly: it carries its weights. */
    r = run_dnnc("run", TINY, "--input", TINY_INPUT, "--output", path_in("from-onnx.npy"));
    if (r.status != 0)
        array_free(&from_dnn);
    assert_run(&r, 0, "ran 1 sample", NULL);
    Array from_onnx = read_npy_or_fail(path_in("from-onnx.npy"));
    bool same = from_onnx.nbytes == from_dnn.nbytes &&
                memcmp(from_onnx.data, from_dnn.data, from_dnn.nbytes) == 0;
    array_free(&from_onnx);
    array_free(&from_dnn);
    assert_true(same);
    remove(path_in("tiny.dnn"));
    remove(path_in("tiny.safetensors"));
    remove(path_in("from-dnn.npy"));
    remove(path_in("from-onnx.npy"));
}

/* Without -o the outputs are named after the model, beside it. */
static void test_dnnc_import_names_its_outputs_after_the_model(void **state)
{
    (void)state;
    size_t len;
    char *model = read_file_or_fail(TINY, &len);
    write_bytes(path_in("copy.onnx"), model, len);
    free(model);
    Run r = run_dnnc("import", path_in("copy.onnx"));
    assert_run(&r, 0, "copy.dnn", NULL);
    assert_true(file_exists(path_in("copy.dnn")));
    assert_true(file_exists(path_in("copy.safetensors")));
    remove(path_in("copy.onnx"));
    remove(path_in("copy.dnn"));
    remove(path_in("copy.safetensors"));
}

/* A model that does not import leaves no files behind. */
static void test_dnnc_import_of_a_bad_model_writes_nothing(void **state)
{
    (void)state;
    Run r = run_dnnc("import", MODELS "unknown_op.onnx", "-o", path_in("bad.dnn"));
    assert_run(&r, 1, NULL, "unsupported op 'Foo'");
    char *left = dir_find_prefix(tmp_dir, "bad.");
    if (left) {
        print_error("unexpected file %s left in %s\n", left, tmp_dir);
        free(left);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* bytes that are not a model */
        cmocka_unit_test(test_bytes_that_are_not_protobuf_are_rejected),
        cmocka_unit_test(test_an_empty_file_says_it_is_empty),
        cmocka_unit_test(test_a_truncated_model_is_rejected),
        cmocka_unit_test(test_a_missing_file_is_named),
        /* the model header */
        cmocka_unit_test(test_a_model_without_a_graph),
        cmocka_unit_test(test_opset_18_is_outside_the_supported_range),
        cmocka_unit_test(test_a_model_importing_no_default_opset),
        /* operators */
        cmocka_unit_test(test_an_unknown_op_names_the_op_the_node_and_the_opset),
        cmocka_unit_test(test_an_op_in_another_domain),
        cmocka_unit_test(test_auto_pad_foo),
        cmocka_unit_test(test_conv_with_zero_groups),
        cmocka_unit_test(test_an_output_that_redefines_a_name),
        cmocka_unit_test(test_an_initializer_without_its_data),
        cmocka_unit_test(test_a_zero_stride_with_same_padding),
        cmocka_unit_test(test_an_empty_constant_folds),
        cmocka_unit_test(test_a_fold_too_large_leaves_its_output_undefined),
        cmocka_unit_test(test_storage_order_1),
        cmocka_unit_test(test_pad_mode_wrap),
        cmocka_unit_test(test_negative_pads),
        cmocka_unit_test(test_conv_on_a_3d_input),
        cmocka_unit_test(test_a_used_dropout_mask),
        cmocka_unit_test(test_batchnorm_in_training_mode),
        cmocka_unit_test(test_batchnorm_training_outputs),
        cmocka_unit_test(test_a_conv_weight_that_is_a_runtime_input),
        /* graph inputs and initializers */
        cmocka_unit_test(test_a_symbolic_input_dimension),
        cmocka_unit_test(test_an_int64_input),
        cmocka_unit_test(test_a_double_input),
        cmocka_unit_test(test_raw_data_shorter_than_the_dims),
        /* external data */
        cmocka_unit_test(test_external_data_at_an_absolute_path),
        cmocka_unit_test(test_external_data_above_the_model_folder),
        cmocka_unit_test(test_external_data_above_the_folder_is_refused_even_if_it_exists),
        cmocka_unit_test(test_external_data_beside_the_model_loads),
        cmocka_unit_test(test_external_data_file_too_short),
        /* wiring */
        cmocka_unit_test(test_a_node_reading_an_undefined_name),
        cmocka_unit_test(test_a_graph_output_never_computed),
        cmocka_unit_test(test_identity_without_inputs),
        cmocka_unit_test(test_identity_of_the_empty_name),
        cmocka_unit_test(test_dropout_without_inputs),
        cmocka_unit_test(test_squeeze_of_the_empty_name),
        cmocka_unit_test(test_unsqueeze_of_the_empty_name),
        /* values out of range */
        cmocka_unit_test(test_reshape_to_a_float_shape_beyond_int64),
        cmocka_unit_test(test_reshape_to_int64_max),
        cmocka_unit_test(test_an_initializer_whose_dims_exceed_its_data),
        cmocka_unit_test(test_a_constant_used_by_a_running_node_and_then_a_folded_one),
        /* a valid model */
        cmocka_unit_test(test_folding_a_shared_weight_leaves_its_other_reader_alone),
        cmocka_unit_test(test_raw_data_at_every_alignment_is_read_in_place),
        cmocka_unit_test(test_tiny_model_imports_prints_and_parses),
        cmocka_unit_test(test_dnnc_import_writes_source_and_weights_that_run_like_the_model),
        cmocka_unit_test(test_dnnc_import_names_its_outputs_after_the_model),
        cmocka_unit_test(test_dnnc_import_of_a_bad_model_writes_nothing),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
