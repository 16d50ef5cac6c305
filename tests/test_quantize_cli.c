/* `dnnc quantize` and --quantize as a user runs them: usage errors (exit
 * 2), bad calibration data (exit 1, nothing written), the files it writes
 * (which every command takes and which run exactly as --quantize does),
 * and LeNet-5 on Fashion-MNIST in int8 within 0.3 points of float32 (issue
 * 13's goal; docs/quantization.md). The accuracy case needs the dataset
 * (as test_fashion_mnist) and is reported as skipped without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include "npy.h"

static char tmp_dir[256];

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

#define TINY_IMAGES DNNC_SOURCE_DIR "/tests/data/tiny-images.idx" /* 3 images 4x4 */

static const char tiny_net[] = "input x: f32[1, 1, 4, 4];\n"
                               "c = conv(x, filters=2, kernel=3, pad=1);\n"
                               "r = relu(c);\n"
                               "d = conv(r, filters=2, kernel=3, pad=1);\n"
                               "f = fc(d, units=3);\n"
                               "output f;\n";

static float sequence01(int64_t i, uint32_t seed)
{
    (void)seed;
    return (float)((i * 7919) % 97) / 97.0f;
}

static void write_npy(const char *name, Shape shape) { write_f32_npy(path_in(name), shape, sequence01, 0); }

static int setup_dir(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-quantize"))
        return -1;
    write_text_file(path_in("tiny.dnn"), tiny_net);
    write_npy("calib.npy", (Shape){4, {8, 1, 4, 4}});
    write_npy("wrong.npy", (Shape){2, {3, 5}});
    write_npy("input.npy", (Shape){4, {2, 1, 4, 4}});
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- usage ------------------------------------------------------------------ */

static void test_help_names_the_modes(void **state)
{
    (void)state;
    Run r = run_dnnc("quantize", "--help");
    assert_run(&r, 0, "usage: dnnc quantize MODEL --mode MODE [--calibrate DATA]", NULL);
    r = run_dnnc("--help");
    assert_run(&r, 0, "quantize", NULL);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    const char *model = path_in("tiny.dnn"), *calib = path_in("calib.npy");
    Run r = run_dnnc("quantize", model, "--random-weights", "1", "--calibrate", calib);
    assert_run(&r, 2, NULL, "dnnc quantize: give --mode (int8, fixed8, fixed16, log2, kmeans, binary or ternary)");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "int4", "--calibrate", calib);
    assert_run(&r, 2, NULL, "--mode takes int8, fixed8, fixed16, log2, kmeans, binary or ternary, got 'int4'");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "ternary", "--weight-bits", "3");
    assert_run(&r, 2, NULL, "--weight-bits applies to --quantize log2 and kmeans");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "kmeans", "--weight-bits", "9");
    assert_run(&r, 2, NULL, "--weight-bits takes the bits of a log2 or kmeans code, 1 to 8");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "int8");
    assert_run(&r, 2, NULL, "quantising to int8 needs calibration data: --calibrate FILE");
    r = run_dnnc("quantize", model, "--mode", "int8", "--calibrate", calib);
    assert_run(&r, 2, NULL, "give --weights FILE (or --random-weights SEED)");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "int8", "--calibrate", calib,
                 "--calibration", "mse");
    assert_run(&r, 2, NULL, "--calibration takes minmax, percentile or entropy, got 'mse'");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "int8", "--calibrate", calib,
                 "--percentile", "0");
    assert_run(&r, 2, NULL, "--percentile needs a share of values in (0, 100]");
    r = run_dnnc("quantize", model, "--random-weights", "1", "--mode", "int8", "--calibrate", calib,
                 "--calibrate-samples", "0");
    assert_run(&r, 2, NULL, "--calibrate-samples needs a positive count, got '0'");
}

/* The spatial target quantises too (its array computes in fixed16), and
 * maps each qlinear_conv like the conv it replaced. */
static void test_spatial_target_maps_quantised_layers(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("tiny.dnn"), "--random-weights", "1", "--quantize", "fixed16",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--target",
                     "spatial");
    if (r.status != 0)
        assert_run(&r, 0, "qlinear_conv(", NULL);
    assert_contains(r.out, "@mapping(dram, ");
    assert_contains(r.out, ") c_q = qlinear_conv(");
    run_free(&r);
    /* Weight codes are not what the array computes: an error, not the host. */
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--quantize", "ternary",
                 "--quantize-first-last", "--target", "spatial", "--input", path_in("input.npy"));
    assert_run(&r, 1, NULL, "layer 'c_coded': target spatial cannot run coded_conv: the PE array computes in "
                            "16-bit fixed point, not on weight codes (ternary)");
}

/* ---- bad calibration data: exit 1, nothing written --------------------------- */

static void expect_bad_calibration(const char *mode, const char *file, const char *extra, const char *want)
{
    char out[512]; /* path_in's buffers are reused */
    snprintf(out, sizeof out, "%s", path_in("bad-out.dnn"));
    Run r = extra ? run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "1", "--mode", mode,
                             "--calibrate", file, "-o", out, "--calibrate-samples", extra)
                  : run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "1", "--mode", mode,
                             "--calibrate", file, "-o", out);
    assert_run(&r, 1, NULL, want);
    assert_false(file_exists(out));
    assert_false(file_exists(path_in("bad-out.safetensors")));
}

static void test_bad_calibration_data_exits_1(void **state)
{
    (void)state;
    char want[1024];
    snprintf(want, sizeof want, "--calibrate %s: input 'x' is declared [1, 1, 4, 4] but the file holds "
             "[3, 5]", path_in("wrong.npy"));
    expect_bad_calibration("int8", path_in("wrong.npy"), NULL, want);
    expect_bad_calibration("fixed16", path_in("wrong.npy"), NULL, want);
    expect_bad_calibration("int8", path_in("missing.npy"), NULL, "missing.npy");
    snprintf(want, sizeof want, "--calibrate-samples 9: %s holds 8 samples and a batch is 1",
             path_in("calib.npy"));
    expect_bad_calibration("fixed16", path_in("calib.npy"), "9", want);
}

/* ---- what it writes ------------------------------------------------------------ */

/* Files `first` and `second` of the temporary directory hold the same bytes. */
static void expect_same_files(const char *first, const char *second)
{
    size_t a_len, b_len;
    char *a = read_file_or_fail(path_in(first), &a_len);
    char *b = read_file_or_fail(path_in(second), &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
}

/* The files dnnc quantize writes run exactly as --quantize runs the float
 * model: the same graph, the same integers. */
static void test_written_model_runs_as_quantize_does(void **state)
{
    (void)state;
    char out[512]; /* path_in's buffers are reused */
    snprintf(out, sizeof out, "%s", path_in("tiny-q.dnn"));
    Run r = run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "3", "--mode", "int8",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "-o", out);
    assert_run(&r, 0, "(3 layers quantised to int8, 0 conv/fc kept in float32)", NULL);
    r = run_dnnc("dump", out, "--weights", path_in("tiny-q.safetensors"));
    assert_run(&r, 0, "qlinear_conv(", NULL);
    /* c: 18 i8 weights (144 bits), 2 f32 weight scales (64), 2 i8 weight
     * zero points (16), 2 i32 biases (64), and for x and y an f32 scale and
     * a u8 zero point each (80): 368 bits. */
    r = run_dnnc("stats", out, "--weights", path_in("tiny-q.safetensors"));
    assert_run(&r, 0, "weight bits", NULL);
    r = run_dnnc("stats", out, "--weights", path_in("tiny-q.safetensors"), "--json");
    assert_run(&r, 0, "\"weight_bits\": 368,", NULL);
    r = run_dnnc("run", out, "--weights", path_in("tiny-q.safetensors"), "--input",
                 path_in("input.npy"), "--output", path_in("from-file.npy"));
    assert_run(&r, 0, "ran 2 samples", NULL);
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "3", "--quantize", "int8",
                 "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--input",
                 path_in("input.npy"), "--output", path_in("direct.npy"));
    assert_run(&r, 0, "ran 2 samples", NULL);
    expect_same_files("from-file.npy", "direct.npy");
}

/* fixed16: the dump shows i16 layers and each grid's Q format and parses
 * back, stats counts 16-bit weights, and the files run as --quantize does. */
static void test_fixed16_model(void **state)
{
    (void)state;
    char out[512], weights[512];
    snprintf(out, sizeof out, "%s", path_in("tiny-f16.dnn"));
    snprintf(weights, sizeof weights, "%s", path_in("tiny-f16.safetensors"));
    Run r = run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "3", "--mode", "fixed16",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "-o", out);
    assert_run(&r, 0, "(3 layers quantised to fixed16, 0 conv/fc kept in float32)", NULL);
    r = run_dnnc("dump", out, "--weights", weights);
    if (r.status != 0)
        assert_run(&r, 0, "weight_type=i16", NULL);
    assert_contains(r.out, "weight_type=i16");
    assert_contains(r.out, "out_type=i16");
    assert_contains(r.out, "zero point 0, weight scale ");
    assert_contains(r.out, ", Q");
    assert_contains(r.out, "relu(");
    write_text_file(path_in("tiny-f16-dump.dnn"), r.out);
    run_free(&r);
    r = run_dnnc("dump", path_in("tiny-f16-dump.dnn"), "--weights", weights);
    assert_run(&r, 0, "weight_type=i16", NULL);
    /* c: 18 i16 weights (288 bits), an f32 weight scale and an i16 weight
     * zero point (48), 2 i32 biases (64), and for x and y an f32 scale and
     * an i16 zero point each (96): 496 bits. */
    r = run_dnnc("stats", out, "--weights", weights, "--json");
    assert_run(&r, 0, "\"weight_bits\": 496,", NULL);
    r = run_dnnc("run", out, "--weights", weights, "--input", path_in("input.npy"), "--output",
                 path_in("f16-file.npy"), "--target", "cpu");
    assert_run(&r, 0, "ran 2 samples", NULL);
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "3", "--quantize", "fixed16",
                 "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--input",
                 path_in("input.npy"), "--output", path_in("f16-direct.npy"));
    assert_run(&r, 0, "ran 2 samples", NULL);
    expect_same_files("f16-file.npy", "f16-direct.npy");
}

/* log2, kmeans, binary, ternary: no calibration; the dump shows coded_conv
 * with its codes' type and scales and parses back, stats counts 2 bits a
 * ternary code, the files run as --quantize does on the cpu target, and
 * what the modes cannot do is an error with nothing written. */
static void test_weight_code_models(void **state)
{
    (void)state;
    char out[512], weights[512];
    snprintf(out, sizeof out, "%s", path_in("tiny-t.dnn"));
    snprintf(weights, sizeof weights, "%s", path_in("tiny-t.safetensors"));
    Run r = run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "3", "--mode", "ternary",
                     "--quantize-first-last", "-o", out);
    assert_run(&r, 0, "(3 layers quantised to ternary, 0 conv/fc kept in float32)", NULL);
    r = run_dnnc("dump", out, "--weights", weights);
    if (r.status != 0)
        assert_run(&r, 0, "coded_conv(", NULL);
    assert_contains(r.out, "c_coded = coded_conv(x, filters=2, kernel=3, pad=1, weight_type=ternary, "
                           "per_channel=true);  # f32[1, 2, 4, 4], weights ternary, scale ");
    write_text_file(path_in("tiny-t-dump.dnn"), r.out);
    run_free(&r);
    r = run_dnnc("dump", path_in("tiny-t-dump.dnn"), "--weights", weights);
    assert_run(&r, 0, "weight_type=ternary", NULL);
    /* c: 18 codes of 2 bits (36), 2 f32 scales (64), 2 f32 biases (64);
     * d: 36 codes (72) + 64 + 64; f: 96 codes (192), 3 scales and 3 biases
     * (192): 748 bits. */
    r = run_dnnc("stats", out, "--weights", weights, "--json");
    assert_run(&r, 0, "\"weight_bits\": 748,", NULL);
    r = run_dnnc("run", out, "--weights", weights, "--input", path_in("input.npy"), "--output",
                 path_in("t-file.npy"), "--target", "cpu");
    assert_run(&r, 0, "ran 2 samples", NULL);
    r = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "3", "--quantize", "ternary",
                 "--quantize-first-last", "--input", path_in("input.npy"), "--output", path_in("t-direct.npy"),
                 "--target", "cpu");
    assert_run(&r, 0, "ran 2 samples", NULL);
    expect_same_files("t-file.npy", "t-direct.npy");
    snprintf(out, sizeof out, "%s", path_in("tiny-k.dnn"));
    r = run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "3", "--mode", "kmeans", "--weight-bits",
                 "5", "--quantize-first-last", "-o", out);
    assert_run(&r, 1, NULL, "layer 'c': a codebook of 2^5 = 32 centroids needs at least as many weights, and "
                            "the layer has 18");
    assert_false(file_exists(out));
    r = run_dnnc("quantize", path_in("tiny.dnn"), "--random-weights", "3", "--mode", "log2", "--calibrate",
                 path_in("calib.npy"), "-o", out);
    assert_run(&r, 1, NULL, "--calibrate: the layers to quantise get weight codes only (log2)");
    assert_false(file_exists(out));
}

/* ---- LeNet-5 on Fashion-MNIST ------------------------------------------------------ */


static int lenet_correct(const char *quantize)
{
    char images[512], labels[512], calib[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", test_fashion_dir());
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", test_fashion_dir());
    snprintf(calib, sizeof calib, "%s/train-images-idx3-ubyte.gz", test_fashion_dir());
    const char *model = DNNC_SOURCE_DIR "/examples/lenet5.dnn";
    const char *weights = DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors";
    Run r = quantize ? run_dnnc("run", model, "--weights", weights, "--target", "cpu", "--quantize",
                                quantize, "--calibrate", calib, "--calibrate-samples", "1000",
                                "--input", images, "--labels", labels, "--show", "0")
                     : run_dnnc("run", model, "--weights", weights, "--target", "cpu", "--input",
                                images, "--labels", labels, "--show", "0");
    if (r.status != 0)
        assert_run(&r, 0, "accuracy: top-1", NULL);
    int correct = test_correct_of(r.out);
    run_free(&r);
    return correct;
}


/* LeNet-5's float32 count, which both accuracy cases compare with: the same
 * command on the same files gives the same count, so it runs once (10,000
 * images, 4 s of CPU under the sanitizers: CI time). */
static int lenet_correct_f32(void)
{
    static int correct = -1;
    if (correct < 0)
        correct = lenet_correct(NULL);
    return correct;
}

/* Issue 13's goal: int8 within 0.3 points (30 of 10,000 images) of float32,
 * calibrated on the first 1,000 training images (as tools/fashion/
 * torch_ptq.py calibrates PyTorch). */
static void test_lenet5_int8_within_0_3_points(void **state)
{
    (void)state;
    test_skip_without_fashion();
    int f32 = lenet_correct_f32(), int8 = lenet_correct("int8");
    print_message("LeNet-5 top-1: float32 %d, int8 %d of 10000\n", f32, int8);
    assert_true(int8 >= f32 - 30);
}

/* fixed16 within 0.1 points (10 images) of float32, either way: its grids
 * are 256 times finer than 8-bit ones (which already stay within 0.06
 * points), so its rounding moves an output by about 2^-15 of its range, and
 * only an image whose two best classes are that close can change class;
 * LeNet-5 has a handful at most. */
static void test_lenet5_fixed16_within_0_1_points(void **state)
{
    (void)state;
    test_skip_without_fashion();
    int f32 = lenet_correct_f32(), fixed16 = lenet_correct("fixed16");
    print_message("LeNet-5 top-1: float32 %d, fixed16 %d of 10000\n", f32, fixed16);
    assert_true(abs(fixed16 - f32) <= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_names_the_modes),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_spatial_target_maps_quantised_layers),
        cmocka_unit_test(test_bad_calibration_data_exits_1),
        cmocka_unit_test(test_written_model_runs_as_quantize_does),
        cmocka_unit_test(test_fixed16_model),
        cmocka_unit_test(test_weight_code_models),
        cmocka_unit_test(test_lenet5_int8_within_0_3_points),
        cmocka_unit_test(test_lenet5_fixed16_within_0_1_points),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
