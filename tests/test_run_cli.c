/* `dnnc run` as a user runs it: usage errors (exit 2), bad inputs and
 * weights (exit 1, the file's own error on stderr, no --output file left
 * behind), batches, IDX images with labels, and the numbers: the .npy a run
 * writes must equal what reference_run computes on the same graph, weights
 * and input. Runs the built binary (DNNC_BINARY) in a fresh temporary
 * directory (helpers in test_util.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

#include "npy.h"
#include "reference.h"
#include "safetensors.h"
#include "weights.h"

/* ---- fixture: a temporary directory with a network and inputs ------------ */

static char tmp_dir[256];

/* A small classifier with 3 classes: c.weight [2, 1, 3, 3], c.bias [2],
 * f.weight [3, 32], f.bias [3]. */
static const char tiny_net[] = "input x: f32[1, 1, 4, 4];\n"
                               "c = conv(x, filters=2, kernel=3, pad=1);\n"
                               "r = relu(c);\n"
                               "f = fc(r, units=3);\n"
                               "output f;\n";

#define TINY_IMAGES DNNC_SOURCE_DIR "/tests/data/tiny-images.idx" /* 3 images 4x4 */
#define TINY_LABELS DNNC_SOURCE_DIR "/tests/data/tiny-labels.idx" /* 3 labels */

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Fails if the directory holds a file whose name starts with prefix: the
 * output itself or a temporary OUT.tmp.XXXXXX beside it. */
static void assert_no_file_starting_with(const char *prefix)
{
    char *found = dir_find_prefix(tmp_dir, prefix);
    if (found) {
        print_error("unexpected file %s left in %s\n", found, tmp_dir);
        free(found);
        fail();
    }
}

/* A fixed sequence in [-1, 1): element i of stream `seed`, hashed. */
static float sequence_pm1(int64_t i, uint32_t seed)
{
    uint32_t s = (uint32_t)i * 2654435761u ^ seed * 40503u;
    s = s * 1664525u + 1013904223u;
    return (float)(s >> 8) / (float)(1u << 23) - 1.0f;
}

static void write_input(const char *name, Shape shape, uint32_t seed)
{
    write_f32_npy(path_in(name), shape, sequence_pm1, seed);
}

static int setup_dir(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-run"))
        return -1;
    FILE *f = fopen(path_in("tiny.dnn"), "w");
    if (!f)
        return -1;
    fputs(tiny_net, f);
    fclose(f);
    write_input("in1.npy", (Shape){4, {1, 1, 4, 4}}, 1);
    write_input("in4.npy", (Shape){4, {4, 1, 4, 4}}, 2);
    write_input("wrong.npy", (Shape){4, {1, 1, 5, 5}}, 3);
    /* A valid header for [1, 1, 4, 4] float32 (64 bytes) but only 10 bytes of data. */
    const char header[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }";
    unsigned char bad[256];
    size_t n = 0, hl = sizeof header - 1 + 1;
    memcpy(bad, "\x93NUMPY\x01\x00", 8), n = 8;
    bad[n++] = (unsigned char)hl, bad[n++] = 0;
    memcpy(bad + n, header, sizeof header - 1), n += sizeof header - 1;
    bad[n++] = '\n';
    memset(bad + n, 0, 10), n += 10;
    write_bytes(path_in("bad.npy"), bad, n);
    /* The same file with its magic damaged (\x93NUMPY -> \x93NUMPX). */
    bad[5] = 'X';
    write_bytes(path_in("damaged.npy"), bad, n);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

/* ---- running the driver ---------------------------------------------------- */

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* The tiny network parsed, with He-style random weights from `seed`. */
static void tiny_graph(Parsed *p, uint64_t seed)
{
    parse_text(p, "tiny.dnn", tiny_net);
    if (!p->graph)
        fail_msg("tiny.dnn does not parse:\n%s", p->messages);
    weights_randomize(p->graph, seed);
}

static Array read_npy_or_fail(const char *path)
{
    Array a;
    char err[1024];
    if (!npy_read(path, &a, err, sizeof err))
        fail_msg("%s", err);
    return a;
}

/* ---- usage ------------------------------------------------------------------ */

static void test_run_help_exits_0(void **state)
{
    (void)state;
    Run r = run_dnnc("run", "--help");
    assert_run(&r, 0, "usage: dnnc run MODEL", NULL);
}

static void test_run_without_input_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1");
    assert_run(&r, 2, NULL, "dnnc run: no --input");
}

static void test_run_without_weights_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--input", path_in("in1.npy"));
    assert_run(&r, 2, NULL, "dnnc run: give --weights FILE or --random-weights SEED");
}

static void test_run_with_both_weight_options_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--weights", path_in("w.safetensors"),
                     "--random-weights", "1", "--input", path_in("in1.npy"));
    assert_run(&r, 2, NULL, "dnnc run: --weights and --random-weights exclude each other");
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--weights",
                 path_in("w.safetensors"), "--input", path_in("in1.npy"));
    assert_run(&r, 2, NULL, "dnnc run: --weights and --random-weights exclude each other");
}

static void test_run_with_a_bad_seed_exits_2(void **state)
{
    (void)state;
    static const char *const seeds[] = {"abc", "-1", "12x", "", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "dnnc run: --random-weights needs a non-negative integer seed, got '%s'", seeds[i]);
        Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", seeds[i], "--input",
                         path_in("in1.npy"));
        assert_run(&r, 2, NULL, want);
    }
}

/* ---- bad inputs ------------------------------------------------------------- */

static void test_run_with_a_bad_npy_input_exits_1_and_writes_no_output(void **state)
{
    (void)state;
    char want[1200];
    snprintf(want, sizeof want, "%s: the data is 10 bytes but the header's shape and dtype need 64",
             path_in("bad.npy"));
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input",
                     path_in("bad.npy"), "--output", path_in("bad-out.npy"));
    assert_run(&r, 1, NULL, want);
    assert_no_file_starting_with("bad-out.npy");
}

/* The input is recognised by its magic; a file named .npy whose magic is
 * damaged is still reported as a broken .npy file, not as "not an IDX file",
 * which would send the user looking for the wrong problem. */
static void test_run_with_a_damaged_npy_magic_says_it_is_not_npy(void **state)
{
    (void)state;
    char want[1200];
    snprintf(want, sizeof want, "%s: not a .npy file", path_in("damaged.npy"));
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input",
                     path_in("damaged.npy"), "--output", path_in("damaged-out.npy"));
    assert_run(&r, 1, NULL, want);
    assert_no_file_starting_with("damaged-out.npy");
}

static void test_run_with_an_input_of_the_wrong_shape_names_both_shapes(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input",
                     path_in("wrong.npy"), "--output", path_in("wrong-out.npy"));
    assert_run(&r, 1, NULL, "input 'x' is declared [1, 1, 4, 4] but the file holds [1, 1, 5, 5]");
    assert_no_file_starting_with("wrong-out.npy");
}

static void test_run_with_labels_of_the_wrong_count_writes_no_output(void **state)
{
    (void)state;
    /* 2 labels for 3 images */
    const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2};
    write_bytes(path_in("two-labels.idx"), labels, sizeof labels);
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input", TINY_IMAGES,
                     "--labels", path_in("two-labels.idx"), "--output", path_in("labels-out.npy"));
    assert_run(&r, 1, "ran 3 samples", "expected 3 integer labels, found u8 [2]");
    assert_no_file_starting_with("labels-out.npy");
}

static void test_run_with_an_unwritable_output_names_it(void **state)
{
    (void)state;
    const char *out = path_in("no-such-dir/out.npy");
    char want[1200];
    snprintf(want, sizeof want, "cannot write '%s'", out);
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input",
                     path_in("in1.npy"), "--output", out);
    assert_run(&r, 1, "ran 1 sample", want);
}

static void test_run_with_weights_missing_a_tensor_names_it(void **state)
{
    (void)state;
    Parsed p;
    tiny_graph(&p, 7);
    /* Every weight but c.bias. */
    NamedArray items[8];
    int n = 0;
    for (int t = 0; t < p.graph->n_tensors; t++) {
        const Tensor *x = &p.graph->tensors[t];
        if (x->kind != TENSOR_PARAM || strcmp(x->name, "c.bias") == 0)
            continue;
        assert_true(n < 8);
        items[n].name = (char *)x->name;
        items[n].array = (Array){ELEM_F32, x->shape, x->data,
                                 (size_t)shape_elems(&x->shape) * sizeof(float)};
        n++;
    }
    assert_int_equal(n, 3);
    char err[1024];
    bool ok = safetensors_write(path_in("partial.safetensors"), items, n, err, sizeof err);
    parsed_free(&p);
    if (!ok)
        fail_msg("%s", err);
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--weights", path_in("partial.safetensors"),
                     "--input", path_in("in1.npy"), "--output", path_in("partial-out.npy"));
    assert_run(&r, 1, NULL, "layer 'c': weight 'c.bias' (f32[2]) is missing from");
    assert_no_file_starting_with("partial-out.npy");
}

/* ---- runs that succeed ---------------------------------------------------- */

static void test_run_with_a_batch_multiple_writes_every_batch(void **state)
{
    (void)state;
    const char *out = path_in("out4.npy");
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "7", "--input",
                     path_in("in4.npy"), "--output", out);
    assert_run(&r, 0, "ran 4 samples", NULL);
    Array a = read_npy_or_fail(out);
    assert_int_equal(a.dtype, ELEM_F32);
    Shape want = {2, {4, 3}};
    bool same = shape_equal(&a.shape, &want);
    array_free(&a);
    assert_true(same);
    assert_no_file_starting_with("out4.npy.tmp");
    remove(out);
}

static void test_run_with_idx_images_and_labels_prints_accuracy(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "7", "--input", TINY_IMAGES,
                     "--labels", TINY_LABELS);
    bool ran = strstr(r.out, "ran 3 samples") && strstr(r.out, "sample 2: top-3");
    assert_run(&r, 0, "accuracy: top-1 ", NULL);
    assert_true(ran);
}

/* Runs the tiny network with --random-weights 7 (or with `weights`) on
 * in4.npy and compares the output file, bit for bit, with reference_run on
 * the same graph, weights and input, one batch at a time. */
static void check_output_equals_reference(const char *weights)
{
    const char *out = path_in("ref-out.npy");
    Run r = weights ? run_dnnc("run", path_in("tiny.dnn"), "--weights", weights, "--input",
                               path_in("in4.npy"), "--output", out)
                    : run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "7", "--input",
                               path_in("in4.npy"), "--output", out);
    assert_run(&r, 0, "ran 4 samples", NULL);
    Array got = read_npy_or_fail(out);
    Array in = read_npy_or_fail(path_in("in4.npy"));
    remove(out);

    Parsed p;
    tiny_graph(&p, 7);
    float want[4][3];
    char err[1024] = "";
    bool ok = true;
    for (int b = 0; b < 4 && ok; b++) {
        const float *inputs[1] = {(const float *)in.data + 16 * b};
        float *outputs[1] = {want[b]};
        ok = reference_run(p.graph, inputs, outputs, err, sizeof err);
    }
    parsed_free(&p);
    array_free(&in);
    if (!ok) {
        array_free(&got);
        fail_msg("reference_run: %s", err);
    }
    bool same = got.dtype == ELEM_F32 && got.nbytes == sizeof want &&
                memcmp(got.data, want, sizeof want) == 0;
    if (!same && got.nbytes == sizeof want)
        for (int i = 0; i < 12; i++)
            print_error("[%d][%d]: dnnc run %.9g, reference_run %.9g\n", i / 3, i % 3,
                        (double)((float *)got.data)[i], (double)want[i / 3][i % 3]);
    array_free(&got);
    assert_true(same);
}

static void test_run_output_equals_reference_run(void **state)
{
    (void)state;
    check_output_equals_reference(NULL);
}

static void test_run_with_saved_weights_equals_the_random_weights(void **state)
{
    (void)state;
    Parsed p;
    tiny_graph(&p, 7);
    char err[1024];
    const char *w = path_in("seed7.safetensors");
    bool ok = weights_save(p.graph, w, err, sizeof err);
    parsed_free(&p);
    if (!ok)
        fail_msg("weights_save: %s", err);
    check_output_equals_reference(w);
    assert_true(file_exists(w));
    remove(w);
}

/* --target cpu goes through the same target table: native code, on two
 * threads, computes what the reference computes (to float rounding). */
static void test_run_on_the_cpu_target_agrees_with_the_reference(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "7", "--input",
                     path_in("in4.npy"), "--output", path_in("ref4.npy"));
    assert_run(&r, 0, "target reference", NULL);
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "7", "--input", path_in("in4.npy"),
                 "--output", path_in("cpu4.npy"), "--target", "cpu", "--threads", "2");
    assert_run(&r, 0, "target cpu", NULL);
    Array ref = read_npy_or_fail(path_in("ref4.npy")), cpu = read_npy_or_fail(path_in("cpu4.npy"));
    bool close = ref.nbytes == cpu.nbytes && shape_equal(&ref.shape, &cpu.shape);
    for (int64_t i = 0; close && i < array_count(&ref); i++) {
        float a = ((float *)ref.data)[i], b = ((float *)cpu.data)[i];
        close = fabsf(a - b) <= 1e-5f * (1 + fabsf(a));
    }
    array_free(&ref);
    array_free(&cpu);
    remove(path_in("ref4.npy"));
    remove(path_in("cpu4.npy"));
    assert_true(close);
}

/* ---- element types ----------------------------------------------------------- */

static const char *const run_targets[] = {"reference", "cpu"};
#define N_TARGETS (sizeof run_targets / sizeof *run_targets)

static void write_text(const char *name, const char *text)
{
    write_bytes(path_in(name), text, strlen(text));
}

/* A .npy file of dtype and shape holding the values at `data`. */
static void write_npy(const char *name, ElemKind dtype, Shape shape, const void *data)
{
    Array a;
    char err[1024];
    if (!array_alloc(&a, dtype, &shape, err, sizeof err))
        fail_msg("%s", err);
    memcpy(a.data, data, a.nbytes);
    bool ok = npy_write(path_in(name), &a, err, sizeof err);
    array_free(&a);
    if (!ok)
        fail_msg("%s", err);
}

/* y.scale and y.zero_point (u8): the weights of a quantize or dequantize
 * layer y. */
static void write_quant_weights(const char *name, float scale, uint8_t zero_point)
{
    NamedArray items[2] = {
        {"y.scale", {ELEM_F32, {1, {1}}, &scale, sizeof scale}},
        {"y.zero_point", {ELEM_U8, {1, {1}}, &zero_point, sizeof zero_point}},
    };
    char err[1024];
    if (!safetensors_write(path_in(name), items, 2, err, sizeof err))
        fail_msg("%s", err);
}

/* Fails unless the .npy file holds dtype, shape and exactly the values at
 * `want`, naming `what` and the first value that differs. */
static void assert_npy_holds(const char *path, const char *what, ElemKind dtype, Shape shape,
                             const void *want)
{
    Array got = read_npy_or_fail(path);
    char got_shape[300], want_shape[300];
    shape_format(&got.shape, got_shape, sizeof got_shape);
    shape_format(&shape, want_shape, sizeof want_shape);
    bool same_kind = got.dtype == dtype && shape_equal(&got.shape, &shape);
    if (!same_kind)
        print_error("%s: %s holds %s %s, expected %s %s\n", what, path, elem_kind_name(got.dtype),
                    got_shape, elem_kind_name(dtype), want_shape);
    Array expected = {dtype, shape, (void *)want, got.nbytes};
    int64_t differs = -1;
    for (int64_t i = 0; same_kind && differs < 0 && i < array_count(&got); i++)
        if (array_get(&got, i) != array_get(&expected, i))
            differs = i;
    if (differs >= 0)
        print_error("%s: element %lld is %.9g, expected %.9g\n", what, (long long)differs,
                    array_get(&got, differs), array_get(&expected, differs));
    array_free(&got);
    remove(path);
    assert_true(same_kind && differs < 0);
}

/* The reported example: u8 [0, 10, 20, 255] dequantized with scale 0.5 and
 * zero point 10 is [-5, 0, 5, 122.5], not the bytes read as floats. */
static void test_run_dequantizes_u8_inputs_on_every_target(void **state)
{
    (void)state;
    write_text("dq.dnn", "input x: u8[1, 4];\ny = dequantize(x);\noutput y;\n");
    write_quant_weights("dq.safetensors", 0.5f, 10);
    write_npy("dq-in.npy", ELEM_U8, (Shape){2, {1, 4}}, (const uint8_t[]){0, 10, 20, 255});
    for (size_t t = 0; t < N_TARGETS; t++) {
        Run r = run_dnnc("run", path_in("dq.dnn"), "--weights", path_in("dq.safetensors"), "--input",
                         path_in("dq-in.npy"), "--output", path_in("dq-out.npy"), "--target",
                         run_targets[t]);
        assert_run(&r, 0, "sample 0: top-4 3 (122.5) 2 (5) 1 (0) 0 (-5)", NULL);
        assert_npy_holds(path_in("dq-out.npy"), run_targets[t], ELEM_F32, (Shape){2, {1, 4}},
                         (const float[]){-5, 0, 5, 122.5f});
    }
}

/* The other reported example: quantize's output is written as u8. */
static void test_run_writes_quantized_outputs_as_u8_on_every_target(void **state)
{
    (void)state;
    write_text("q.dnn", "input x: f32[1, 4];\ny = quantize(x, dtype=u8);\noutput y;\n");
    write_quant_weights("q.safetensors", 0.2f, 10);
    write_npy("q-in.npy", ELEM_F32, (Shape){2, {1, 4}}, (const float[]){0, 0.4f, 1, -1.2f});
    for (size_t t = 0; t < N_TARGETS; t++) {
        Run r = run_dnnc("run", path_in("q.dnn"), "--weights", path_in("q.safetensors"), "--input",
                         path_in("q-in.npy"), "--output", path_in("q-out.npy"), "--target",
                         run_targets[t]);
        assert_run(&r, 0, "ran 1 sample", NULL);
        assert_npy_holds(path_in("q-out.npy"), run_targets[t], ELEM_U8, (Shape){2, {1, 4}},
                         (const uint8_t[]){10, 12, 15, 4});
    }
}

/* x: T[2, 3] comes back as it went in, and y = x + x wraps in T, on every
 * target; `want_stdout` is the top-5 line of the second sample. */
static void check_round_trip(const char *type, ElemKind dtype, const void *x, const void *twice,
                             const char *want_stdout)
{
    char net[128];
    snprintf(net, sizeof net, "input x: %s[2, 3];\ny = add(x, x);\noutput x;\noutput y;\n", type);
    write_text("rt.dnn", net);
    Shape s = {2, {2, 3}};
    write_npy("rt-in.npy", dtype, s, x);
    char out_x[1200], out_y[1200];
    snprintf(out_x, sizeof out_x, "x=%s", path_in("rt-x.npy"));
    snprintf(out_y, sizeof out_y, "y=%s", path_in("rt-y.npy"));
    for (size_t t = 0; t < N_TARGETS; t++) {
        Run r = run_dnnc("run", path_in("rt.dnn"), "--random-weights", "0", "--input",
                         path_in("rt-in.npy"), "--output", out_x, "--output", out_y, "--target",
                         run_targets[t]);
        assert_run(&r, 0, want_stdout, NULL);
        char what[64];
        snprintf(what, sizeof what, "%s on %s", type, run_targets[t]);
        assert_npy_holds(path_in("rt-x.npy"), what, dtype, s, x);
        assert_npy_holds(path_in("rt-y.npy"), what, dtype, s, twice);
    }
}

static void test_run_round_trips_integer_types_on_every_target(void **state)
{
    (void)state;
    check_round_trip("i8", ELEM_I8, (const int8_t[]){-128, -1, 0, 1, 64, 127},
                     (const int8_t[]){0, -2, 0, 2, -128, -2}, "sample 1: top-3 2 (127) 1 (64) 0 (1)");
    check_round_trip("u8", ELEM_U8, (const uint8_t[]){0, 1, 127, 128, 200, 255},
                     (const uint8_t[]){0, 2, 254, 0, 144, 254},
                     "sample 1: top-3 2 (255) 1 (200) 0 (128)");
    /* Scores of 10 digits are printed in full: as float32 they would round. */
    check_round_trip("i32", ELEM_I32, (const int32_t[]){INT32_MIN, -1, 0, 1, 1 << 30, INT32_MAX},
                     (const int32_t[]){0, -2, 0, 2, INT32_MIN, -2},
                     "sample 1: top-3 2 (2147483647) 1 (1073741824) 0 (1)");
}

/* Accuracy is counted on integer outputs as on float ones. */
static void test_run_reports_accuracy_of_integer_outputs(void **state)
{
    (void)state;
    write_text("ic.dnn", "input x: i32[2, 3];\ny = add(x, x);\noutput y;\n");
    write_npy("ic-in.npy", ELEM_I32, (Shape){2, {2, 3}}, (const int32_t[]){3, 1, 2, 16777217, 16777216, 0});
    write_npy("ic-labels.npy", ELEM_U8, (Shape){1, {2}}, (const uint8_t[]){0, 1});
    Run r = run_dnnc("run", path_in("ic.dnn"), "--random-weights", "0", "--input",
                     path_in("ic-in.npy"), "--labels", path_in("ic-labels.npy"));
    assert_run(&r, 0, "accuracy: top-1 50.00% (1/2), top-5 100.00%", NULL);
}

/* Data of another type than the input's is converted when every value is
 * exactly representable in the input's type. */
static void test_run_converts_data_that_fits_the_input_type(void **state)
{
    (void)state;
    Shape s = {2, {2, 3}};
    write_text("cv.dnn", "input x: i8[2, 3];\noutput x;\n");
    write_npy("cv-f32.npy", ELEM_F32, s, (const float[]){-128, -1, 0, 1, 64, 127});
    Run r = run_dnnc("run", path_in("cv.dnn"), "--random-weights", "0", "--input",
                     path_in("cv-f32.npy"), "--output", path_in("cv-out.npy"));
    assert_run(&r, 0, "ran 2 samples", NULL);
    assert_npy_holds(path_in("cv-out.npy"), "f32 into i8", ELEM_I8, s,
                     (const int8_t[]){-128, -1, 0, 1, 64, 127});

    write_text("cv.dnn", "input x: f32[2, 3];\noutput x;\n");
    write_npy("cv-i32.npy", ELEM_I32, s, (const int32_t[]){-16777216, -1, 0, 1, 1 << 30, 16777216});
    r = run_dnnc("run", path_in("cv.dnn"), "--random-weights", "0", "--input", path_in("cv-i32.npy"),
                 "--output", path_in("cv-out.npy"), "--target", "cpu");
    assert_run(&r, 0, "ran 2 samples", NULL);
    assert_npy_holds(path_in("cv-out.npy"), "i32 into f32", ELEM_F32, s,
                     (const float[]){-16777216, -1, 0, 1, 1 << 30, 16777216});

    write_text("cv.dnn", "input x: i32[2, 3];\noutput x;\n");
    write_npy("cv-u8.npy", ELEM_U8, s, (const uint8_t[]){0, 1, 2, 128, 254, 255});
    r = run_dnnc("run", path_in("cv.dnn"), "--random-weights", "0", "--input", path_in("cv-u8.npy"),
                 "--output", path_in("cv-out.npy"));
    assert_run(&r, 0, "ran 2 samples", NULL);
    assert_npy_holds(path_in("cv-out.npy"), "u8 into i32", ELEM_I32, s,
                     (const int32_t[]){0, 1, 2, 128, 254, 255});
}

/* Runs `net` on the .npy file `file` holding (dtype, values) and expects
 * the error that names the input, the file, both types and `element`. */
static void check_rejected(const char *net, const char *input_type, ElemKind dtype,
                           const void *values, const char *element)
{
    write_text("rj.dnn", net);
    write_npy("rj-in.npy", dtype, (Shape){2, {2, 2}}, values);
    char want[1400];
    snprintf(want, sizeof want, "dnnc run: error: input 'x' is %s but %s holds %s: element %s",
             input_type, path_in("rj-in.npy"), elem_kind_name(dtype), element);
    Run r = run_dnnc("run", path_in("rj.dnn"), "--random-weights", "0", "--input",
                     path_in("rj-in.npy"), "--output", path_in("rj-out.npy"));
    assert_run(&r, 1, NULL, want);
    assert_no_file_starting_with("rj-out.npy");
}

static void test_run_rejects_data_that_does_not_fit_the_input_type(void **state)
{
    (void)state;
    check_rejected("input x: u8[2, 2];\noutput x;\n", "u8", ELEM_I32,
                   (const int32_t[]){0, 255, 256, -1},
                   "[1, 0] = 256 is not exactly representable in u8");
    check_rejected("input x: u8[2, 2];\noutput x;\n", "u8", ELEM_I8, (const int8_t[]){0, -1, 1, 2},
                   "[0, 1] = -1 is not exactly representable in u8");
    check_rejected("input x: i8[2, 2];\noutput x;\n", "i8", ELEM_F32,
                   (const float[]){1, 2, 20.5f, 3}, "[1, 0] = 20.5 is not exactly representable in i8");
    check_rejected("input x: i8[2, 2];\noutput x;\n", "i8", ELEM_U8,
                   (const uint8_t[]){1, 128, 2, 3}, "[0, 1] = 128 is not exactly representable in i8");
    check_rejected("input x: f32[2, 2];\noutput x;\n", "f32", ELEM_I32,
                   (const int32_t[]){16777216, 16777217, 0, 0},
                   "[0, 1] = 16777217 is not exactly representable in f32");
    check_rejected("input x: i32[2, 2];\noutput x;\n", "i32", ELEM_F32,
                   (const float[]){1, 2, 3, 3e9f}, "[1, 1] = 3000000000 is not exactly representable in i32");
}

/* IDX images get their channel axis for every input type, but are scaled
 * to [0, 1] for float inputs only: an integer input gets the bytes. */
static void test_run_gives_idx_images_to_integer_inputs_unscaled(void **state)
{
    (void)state;
    uint8_t pixels[48];
    int8_t as_i8[48];
    for (int i = 0; i < 48; i++)
        pixels[i] = (uint8_t)i, as_i8[i] = (int8_t)i;
    Shape s = {4, {3, 1, 4, 4}};
    write_text("img.dnn", "input x: u8[1, 1, 4, 4];\noutput x;\n");
    for (size_t t = 0; t < N_TARGETS; t++) {
        Run r = run_dnnc("run", path_in("img.dnn"), "--random-weights", "0", "--input", TINY_IMAGES,
                         "--output", path_in("img-out.npy"), "--target", run_targets[t]);
        assert_run(&r, 0, "ran 3 samples", NULL);
        assert_npy_holds(path_in("img-out.npy"), run_targets[t], ELEM_U8, s, pixels);
    }
    write_text("img.dnn", "input x: i8[1, 1, 4, 4];\noutput x;\n");
    Run r = run_dnnc("run", path_in("img.dnn"), "--random-weights", "0", "--input", TINY_IMAGES,
                     "--output", path_in("img-out.npy"));
    assert_run(&r, 0, "ran 3 samples", NULL);
    assert_npy_holds(path_in("img-out.npy"), "IDX images into i8", ELEM_I8, s, as_i8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* usage */
        cmocka_unit_test(test_run_help_exits_0),
        cmocka_unit_test(test_run_without_input_exits_2),
        cmocka_unit_test(test_run_without_weights_exits_2),
        cmocka_unit_test(test_run_with_both_weight_options_exits_2),
        cmocka_unit_test(test_run_with_a_bad_seed_exits_2),
        /* bad inputs */
        cmocka_unit_test(test_run_with_a_bad_npy_input_exits_1_and_writes_no_output),
        cmocka_unit_test(test_run_with_a_damaged_npy_magic_says_it_is_not_npy),
        cmocka_unit_test(test_run_with_an_input_of_the_wrong_shape_names_both_shapes),
        cmocka_unit_test(test_run_with_labels_of_the_wrong_count_writes_no_output),
        cmocka_unit_test(test_run_with_an_unwritable_output_names_it),
        cmocka_unit_test(test_run_with_weights_missing_a_tensor_names_it),
        /* runs that succeed */
        cmocka_unit_test(test_run_with_a_batch_multiple_writes_every_batch),
        cmocka_unit_test(test_run_with_idx_images_and_labels_prints_accuracy),
        cmocka_unit_test(test_run_output_equals_reference_run),
        cmocka_unit_test(test_run_with_saved_weights_equals_the_random_weights),
        cmocka_unit_test(test_run_on_the_cpu_target_agrees_with_the_reference),
        /* element types */
        cmocka_unit_test(test_run_dequantizes_u8_inputs_on_every_target),
        cmocka_unit_test(test_run_writes_quantized_outputs_as_u8_on_every_target),
        cmocka_unit_test(test_run_round_trips_integer_types_on_every_target),
        cmocka_unit_test(test_run_reports_accuracy_of_integer_outputs),
        cmocka_unit_test(test_run_converts_data_that_fits_the_input_type),
        cmocka_unit_test(test_run_rejects_data_that_does_not_fit_the_input_type),
        cmocka_unit_test(test_run_gives_idx_images_to_integer_inputs_unscaled),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
