/* --autotune FILE and --max-conv-error from the command line (issue 12,
 * item 3): the first compile times every candidate of each conv shape and
 * writes FILE, a second reuses it without timing, `dnnc dump` shows the
 * chosen @algo, a choice edited into the file holds, and bad files and
 * options are clear errors that leave no output behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-autotune") ? 0 : -1;
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

/* Two convs of one shape, which Winograd and the FFT could run (measured
 * once), and a 1x1 conv over 32 channels, which only im2col's in-place GEMM
 * runs within 4 times the cost model's cheapest (nothing to time). */
static const char *net = "input x: f32[1, 32, 40, 40];\n"
                         "a = conv(x, filters=32, kernel=3, pad=1);\n"
                         "b = conv(a, filters=32, kernel=3, pad=1);\n"
                         "c = conv(b, filters=64, kernel=1);\n"
                         "output c;\n";

static void test_autotune_writes_then_reuses(void **state)
{
    (void)state;
    write_text("net.dnn", net);
    const char *choices = temp_path(tmp_dir, "net.choices");
    Run r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--autotune", choices,
                     "--pass-stats");
    assert_run(&r, 0, "@algo(", "--autotune: timed 1 new conv shape on");
    size_t len;
    char *text = read_file_or_fail(choices, &len);
    assert_contains(text, "conv f32[1,32,40,40] filters=32 kernel=3x3 stride=1x1");
    assert_contains(text, "im2col=");
    assert_contains(text, "winograd/2=");
    assert_contains(text, "fft/8=");
    assert_true(strstr(text, "kernel=1x1") == NULL); /* one candidate worth timing: nothing to time */

    /* Reused: nothing timed, nothing said; an edited choice holds. */
    char *line = strstr(text, "\nconv "), edited[4096];
    assert_non_null(line);
    line++;
    char *colon = strchr(line, ':');
    assert_non_null(colon);
    char *bar = strchr(colon, '|');
    assert_non_null(bar);
    snprintf(edited, sizeof edited, "%.*s: winograd/2 %s", (int)(colon - line), line, bar);
    write_text("net.choices", edited);
    free(text);
    r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--autotune", choices);
    strip_offsets(r.out);
    assert_contains(r.out, "@algo(winograd, tile=2) b = conv(a");
    assert_contains(r.out, "@algo(im2col) c = conv(b");
    assert_run(&r, 0, "@algo(winograd, tile=2) a = conv(x", NULL);
}

/* At -O3 the first two convs run on blocked activations: their
 * candidates are the blocked kernels (direct and Winograd's tiles, no
 * im2col), timed on blocks, under keys of their own. */
static void test_blocked_layers_are_timed_blocked(void **state)
{
    (void)state;
    write_text("blocked.dnn", "input x: f32[1, 32, 20, 20];\n"
                              "a = conv(x, filters=32, kernel=3, pad=1);\n"
                              "b = conv(a, filters=48, kernel=3, pad=1);\n"
                              "c = conv(b, filters=16, kernel=3, pad=1);\n"
                              "output c;\n");
    const char *choices = temp_path(tmp_dir, "blocked.choices");
    Run r = run_dnnc("dump", temp_path(tmp_dir, "blocked.dnn"), "--target", "cpu", "-O3", "--autotune",
                     choices);
    assert_run(&r, 0, "@layout(nchw16c)", "--autotune: timed 3 new conv shapes");
    char *text = read_file_or_fail(choices, NULL);
    assert_contains(text, "conv f32[1,32,20,20] filters=32 kernel=3x3");
    int blocked = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, " layout=nchw16c: "))
            continue;
        blocked++;
        assert_contains(line, "direct=");
        assert_contains(line, "winograd/4=");
        assert_null(strstr(line, "im2col="));
    }
    assert_int_equal(blocked, 2);
    free(text);
}

static void test_autotune_errors(void **state)
{
    (void)state;
    write_text("net.dnn", net);
    Run r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "reference", "--autotune",
                     temp_path(tmp_dir, "x.choices"));
    assert_run(&r, 2, NULL, "--autotune times the cpu target's kernels on this machine; target "
                            "reference has none to time");

    write_text("bad.choices", "conv f32[1]: winograd/5 | im2col=1\n");
    r = run_dnnc("compile", temp_path(tmp_dir, "net.dnn"), "--autotune",
                 temp_path(tmp_dir, "bad.choices"), "-o", temp_path(tmp_dir, "out"));
    assert_run(&r, 1, NULL, "bad.choices:1:14: error: not an algorithm");
    char *left = dir_find_prefix(tmp_dir, "out");
    assert_null(left);

    r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--autotune", tmp_dir);
    assert_run(&r, 1, NULL, "is not a regular file");
}

static void test_max_conv_error_option(void **state)
{
    (void)state;
    write_text("net.dnn", net);
    const char *bad[] = {"0", "-1", "abc", "nan", "inf", "1e-4x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Run r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu",
                         "--max-conv-error", bad[i]);
        assert_run(&r, 2, NULL, "--max-conv-error needs a positive number");
    }
    /* No fast algorithm is that exact: every conv runs im2col, the cheaper of
     * the exact ones. */
    Run r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--max-conv-error",
                     "1e-12", "--pass-stats");
    strip_offsets(r.out);
    assert_true(strstr(r.out, "winograd") == NULL && strstr(r.out, "fft") == NULL);
    assert_run(&r, 0, "@algo(im2col) a = conv(x", "fast algorithms refused for their error");
}

static void test_conv_algo_option(void **state)
{
    (void)state;
    write_text("net.dnn", net);
    Run r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--conv-algo", "auto");
    assert_run(&r, 2, NULL, "--conv-algo takes direct, im2col, winograd or fft");
    r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--conv-algo", "fft/64");
    assert_run(&r, 2, NULL, "--conv-algo fft/64: target cpu has no conv kernel for it");
    /* Forced where it applies; the 1x1 conv, which no FFT runs, keeps im2col. */
    r = run_dnnc("dump", temp_path(tmp_dir, "net.dnn"), "--target", "cpu", "--conv-algo", "fft/16");
    strip_offsets(r.out);
    assert_contains(r.out, "@algo(im2col) c = conv(b");
    assert_run(&r, 0, "@algo(fft, tile=16) a = conv(x", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_autotune_writes_then_reuses, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_blocked_layers_are_timed_blocked, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_autotune_errors, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_max_conv_error_option, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_conv_algo_option, setup_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
