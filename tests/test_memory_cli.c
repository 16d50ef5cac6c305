/* Networks too large for the memory dnnc may use: a clear error naming the
 * layer and the bytes, exit status 1, no signal and no file written, for
 * weights (checked before they are bound) and for what a target allocates
 * (checked before it compiles or runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "test_util.h"

static char tmp_dir[256];

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})
#define LENET DNNC_SOURCE_DIR "/examples/lenet5.dnn"

/* 10^5 x 10^5 float weights: 40 GB, more than any machine this runs on has
 * to spare (the example). */
static const char huge[] = "input x: f32[1, 100000];\n"
                           "y = fc(x, units=100000);\n"
                           "output y;\n";

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-memory"))
        return -1;
    write_file("huge.dnn", huge);
    Array a;
    char err[256];
    if (!array_alloc(&a, ELEM_F32, &(Shape){4, {1, 1, 28, 28}}, err, sizeof err))
        return -1;
    bool ok = npy_write(path_in("digit.npy"), &a, err, sizeof err);
    array_free(&a);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static void test_huge_weights_are_an_error_before_they_are_allocated(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("huge.dnn"), "--random-weights", "1", "--input",
                     path_in("digit.npy"));
    assert_contains(r.err, "dnnc may use (the memory available now; see --max-memory)");
    assert_run(&r, 1, NULL, "error: the network's weights need 37.3 GiB (40000400000 bytes; layer 'y'");
    r = run_dnnc("compile", path_in("huge.dnn"), "--random-weights", "1", "-o", path_in("huge"));
    assert_run(&r, 1, NULL, "error: the network's weights need 37.3 GiB");
    char *left = dir_find_prefix(tmp_dir, "huge.");
    if (left && strcmp(left, "huge.dnn") != 0)
        fail_msg("compile left %s behind", left);
    free(left);
}

static void test_max_memory_bounds_the_weights(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", LENET, "--random-weights", "1", "--max-memory", "100K");
    assert_run(&r, 1, NULL,
               "error: the network's weights need 237.5 KiB (243224 bytes; layer 'c5' the largest, "
               "188.0 KiB): more than the 100.0 KiB dnnc may use (--max-memory)");
}

/* LeNet-5's weights fit 300 KiB; the cpu target's packed copy, the JIT's
 * copy and its buffers on top of them do not, and neither do the
 * reference's buffers in 250 KiB. */
static void test_max_memory_bounds_what_a_target_allocates(void **state)
{
    (void)state;
    Run r = run_dnnc("run", LENET, "--random-weights", "1", "--max-memory", "300K", "--target", "cpu",
                     "--input", path_in("digit.npy"));
    assert_contains(r.err, "on top of the 237.5 KiB of weights: more than the 300.0 KiB dnnc may use");
    assert_run(&r, 1, NULL,
               "error: compiling and running on target cpu: its buffers and copies of the weights need");
    r = run_dnnc("run", LENET, "--random-weights", "1", "--max-memory", "250K", "--input",
                 path_in("digit.npy"));
    assert_run(&r, 1, NULL, "error: compiling and running on target reference");
    r = run_dnnc("run", LENET, "--random-weights", "1", "--max-memory", "2M", "--target", "cpu",
                 "--show", "0", "--input", path_in("digit.npy"));
    assert_run(&r, 0, "ran 1 sample", NULL);
}

static void test_bad_sizes_are_usage_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "0", "-1", "12X", "4GB", "99999999999999999999T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Run r = run_dnnc("stats", LENET, "--max-memory", bad[i]);
        assert_run(&r, 2, NULL, "--max-memory needs a size such as 512M, 4G or a number of bytes");
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_weights_are_an_error_before_they_are_allocated),
        cmocka_unit_test(test_max_memory_bounds_the_weights),
        cmocka_unit_test(test_max_memory_bounds_what_a_target_allocates),
        cmocka_unit_test(test_bad_sizes_are_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
