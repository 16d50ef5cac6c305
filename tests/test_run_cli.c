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

/* A float32 .npy file of the given shape, filled with a fixed sequence in
 * [-1, 1). */
static void write_input(const char *name, Shape shape, uint32_t seed)
{
    Array a;
    char err[1024];
    if (!array_alloc(&a, ELEM_F32, &shape, err, sizeof err))
        fail_msg("%s", err);
    float *v = a.data;
    uint32_t s = seed;
    for (int64_t i = 0; i < array_count(&a); i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
    bool ok = npy_write(path_in(name), &a, err, sizeof err);
    array_free(&a);
    if (!ok)
        fail_msg("%s", err);
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
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
