/* Winograd and FFT convolution through `dnnc run --target reference` (and
 * Winograd through `--target cpu`, whose kernel has F(2x2), F(4x4) and
 * F(6x6)): a network whose convolutions carry @algo(winograd) or @algo(fft)
 * gives the outputs of the same network without them, within the float32
 * rounding of the transforms (docs/fast-convolution.md; the per-layer
 * bounds are tested in test_winograd.c and test_fft.c), and differs from
 * it at all, which shows the transform ran rather than the direct sums. An
 * algorithm that cannot apply to a layer is an error naming the layer and
 * why. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "test_util.h"

static char tmp_dir[256];

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-fast-conv") ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static void write_text(const char *name, const char *text)
{
    write_text_file(temp_path(tmp_dir, name), text);
}

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* The outputs of NAME.dnn on in.npy on `target`, with random weights of
 * seed 7. */
static Array run_network_on(const char *name, const char *target)
{
    char model[64], output[64], err[256];
    snprintf(model, sizeof model, "%s.dnn", name);
    snprintf(output, sizeof output, "%s.npy", name);
    Run r = run_dnnc("run", temp_path(tmp_dir, model), "--target", target, "--random-weights", "7",
                     "--input", temp_path(tmp_dir, "in.npy"), "--output", temp_path(tmp_dir, output));
    if (r.status != 0)
        fail_msg("dnnc run %s: exit %d\n%s", model, r.status, r.err);
    run_free(&r);
    Array a;
    if (!npy_read(temp_path(tmp_dir, output), &a, err, sizeof err))
        fail_msg("%s", err);
    return a;
}

/* in.npy: inputs in [0, 1) from a fixed linear congruential sequence. */
static void write_input_npy(Shape shape)
{
    Array a;
    char err[256];
    if (!array_alloc(&a, ELEM_F32, &shape, err, sizeof err))
        fail_msg("%s", err);
    uint32_t state = 13;
    for (int64_t i = 0; i < array_count(&a); i++) {
        state = state * 1664525u + 1013904223u;
        ((float *)a.data)[i] = (float)(state >> 8) / 16777216.0f;
    }
    bool ok = npy_write(temp_path(tmp_dir, "in.npy"), &a, err, sizeof err);
    array_free(&a);
    if (!ok)
        fail_msg("%s", err);
}

/* fast.dnn against direct.dnn; `relative` bounds the largest difference
 * as a share of the largest output. Three layers of float32 transforms
 * stay within 1e-4 of it with a wide margin (the measured figures are
 * printed; docs/fast-convolution.md has the per-layer analysis). */
static void check_agrees_on(const char *target, const char *algo, double relative)
{
    Array fast = run_network_on("fast", target), direct = run_network_on("direct", target);
    assert_int_equal(array_count(&fast), array_count(&direct));
    double largest = 0, error = 0;
    for (int64_t i = 0; i < array_count(&direct); i++) {
        largest = fmax(largest, fabs(((float *)direct.data)[i]));
        error = fmax(error, fabs(((float *)fast.data)[i] - ((float *)direct.data)[i]));
    }
    print_message("dnnc run --target %s: @algo(%s) differs by %.2g of the largest output\n", target,
                  algo, error / largest);
    assert_true(largest > 0);
    assert_true(error > 0); /* the transform ran: its rounding differs */
    assert_true(error <= relative * largest);
    array_free(&fast);
    array_free(&direct);
}

static void check_agrees(const char *algo, double relative) { check_agrees_on("reference", algo, relative); }

static void test_run_agrees_with_and_without_winograd(void **state)
{
    (void)state;
    write_text("fast.dnn", "input x: f32[1, 3, 13, 11];\n"
                           "@algo(winograd) a = conv(x, filters=16, kernel=3, pad=1, act=relu);\n"
                           "@algo(winograd, tile=2) b = conv(a, filters=8, kernel=3, groups=2);\n"
                           "@algo(winograd, tile=6) c = conv(b, filters=4, kernel=3, pad=[0, 1, 2, 1]);\n"
                           "output c;\n");
    write_text("direct.dnn", "input x: f32[1, 3, 13, 11];\n"
                             "a = conv(x, filters=16, kernel=3, pad=1, act=relu);\n"
                             "b = conv(a, filters=8, kernel=3, groups=2);\n"
                             "c = conv(b, filters=4, kernel=3, pad=[0, 1, 2, 1]);\n"
                             "output c;\n");
    write_input_npy((Shape){4, {1, 3, 13, 11}});
    check_agrees("winograd", 1e-4);
}

/* The cpu target's Winograd kernel through `dnnc run`, each tile size
 * (F(4x4) by default): the same agreement with its own im2col
 * convolutions. */
static void test_cpu_run_agrees_with_and_without_winograd(void **state)
{
    (void)state;
    write_text("fast.dnn", "input x: f32[2, 3, 13, 11];\n"
                           "@algo(winograd) a = conv(x, filters=16, kernel=3, pad=1, act=relu);\n"
                           "@algo(winograd, tile=2) b = conv(a, filters=8, kernel=3, groups=2);\n"
                           "@algo(winograd, tile=6) c = conv(b, filters=4, kernel=3, pad=[0, 1, 2, 1]);\n"
                           "output c;\n");
    write_text("direct.dnn", "input x: f32[2, 3, 13, 11];\n"
                             "a = conv(x, filters=16, kernel=3, pad=1, act=relu);\n"
                             "b = conv(a, filters=8, kernel=3, groups=2);\n"
                             "c = conv(b, filters=4, kernel=3, pad=[0, 1, 2, 1]);\n"
                             "output c;\n");
    write_input_npy((Shape){4, {2, 3, 13, 11}});
    check_agrees_on("cpu", "winograd", 1e-4);
}

/* Kernels 5, 7 and 3, transform sizes chosen by select-algo (16) and
 * forced (32, 8), a grouped layer, an epilogue, partial tiles. */
static void write_fft_networks(void)
{
    write_text("fast.dnn", "input x: f32[1, 3, 21, 19];\n"
                           "@algo(fft) a = conv(x, filters=8, kernel=5, pad=2, act=relu);\n"
                           "@algo(fft, tile=32) b = conv(a, filters=6, kernel=7, pad=3, groups=2);\n"
                           "@algo(fft, tile=8) c = conv(b, filters=4, kernel=3, pad=1);\n"
                           "output c;\n");
    write_text("direct.dnn", "input x: f32[1, 3, 21, 19];\n"
                             "a = conv(x, filters=8, kernel=5, pad=2, act=relu);\n"
                             "b = conv(a, filters=6, kernel=7, pad=3, groups=2);\n"
                             "c = conv(b, filters=4, kernel=3, pad=1);\n"
                             "output c;\n");
    write_input_npy((Shape){4, {1, 3, 21, 19}});
}

static void test_run_agrees_with_and_without_fft(void **state)
{
    (void)state;
    write_fft_networks();
    check_agrees("fft", 1e-4);
}

/* The cpu target's FFT kernel (sizes 8, 16 and 32) through `dnnc run`:
 * the same agreement with its own im2col convolutions. */
static void test_cpu_run_agrees_with_and_without_fft(void **state)
{
    (void)state;
    write_fft_networks();
    check_agrees_on("cpu", "fft", 1e-4);
}

/* The cpu's FFT kernel has no transform of size 64: select-algo says
 * which sizes it has. */
static void test_cpu_refuses_sizes_it_lacks(void **state)
{
    (void)state;
    write_text("bad.dnn", "input x: f32[1, 3, 13, 11];\n"
                          "@algo(fft, tile=64) c = conv(x, filters=4, kernel=3);\n"
                          "output c;\n");
    write_input_npy((Shape){4, {1, 3, 13, 11}});
    Run r = run_dnnc("run", temp_path(tmp_dir, "bad.dnn"), "--target", "cpu", "--random-weights", "1",
                     "--input", temp_path(tmp_dir, "in.npy"));
    assert_contains(r.err, "fft with tile 8, 16 or 32)");
    assert_run(&r, 1, NULL,
               "bad.dnn:2:21: error: layer 'c': @algo(fft, tile=64) cannot be honoured: target cpu has no fft "
               "kernel for conv with tile 64 (it has: ");
    run_free(&r);
}

/* NAME.dnn holding one conv with `annotation` and `attrs` must fail with
 * `want` on stderr. */
static void check_refused(const char *annotation, const char *attrs, const char *want)
{
    char text[512];
    snprintf(text, sizeof text, "input x: f32[1, 3, 13, 11];\n%s c = conv(x, filters=4, %s);\noutput c;\n",
             annotation, attrs);
    write_text("bad.dnn", text);
    write_input_npy((Shape){4, {1, 3, 13, 11}});
    Run r = run_dnnc("run", temp_path(tmp_dir, "bad.dnn"), "--target", "reference",
                     "--random-weights", "1", "--input", temp_path(tmp_dir, "in.npy"));
    assert_run(&r, 1, NULL, want);
    run_free(&r);
}

static void test_algorithms_that_cannot_apply_are_errors(void **state)
{
    (void)state;
    check_refused("@algo(winograd)", "kernel=5",
                  "bad.dnn:2:17: error: layer 'c': @algo(winograd) cannot apply: Winograd F(m x m, "
                  "3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not kernel 5x5");
    check_refused("@algo(winograd, tile=2)", "kernel=3, stride=2",
                  "bad.dnn:2:25: error: layer 'c': @algo(winograd, tile=2) cannot apply: Winograd "
                  "F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not stride 2");
    check_refused("@algo(fft)", "kernel=3, stride=2", "layer 'c': @algo(fft) cannot apply");
    check_refused("@algo(fft, tile=8)", "kernel=9, pad=4", "layer 'c': @algo(fft, tile=8) cannot apply");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_agrees_with_and_without_winograd),
        cmocka_unit_test(test_cpu_run_agrees_with_and_without_winograd),
        cmocka_unit_test(test_run_agrees_with_and_without_fft),
        cmocka_unit_test(test_cpu_run_agrees_with_and_without_fft),
        cmocka_unit_test(test_cpu_refuses_sizes_it_lacks),
        cmocka_unit_test(test_algorithms_that_cannot_apply_are_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
