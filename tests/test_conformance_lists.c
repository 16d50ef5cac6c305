/* The ONNX conformance runner never counts a test that did not run as
 * passed: a listed test without its directory fails, and a missing data
 * root is told apart by exit status 77, which ctest counts as skipped and
 * tools/run-tests.sh as a failure (tests/onnx-conformance/README.md). Runs
 * the built onnx-conformance on a data root of its own making. */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

/* Runs the runner on a list holding `text`, in a fresh directory that is
 * also the data root, or, with `missing_root`, has that root missing. */
static Run run_list(const char *text, bool missing_root)
{
    char dir[4096];
    assert_true(temp_dir_create(dir, sizeof dir, "conformance"));
    const char *list = temp_path(dir, "list.txt");
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    const char *data = missing_root ? temp_path(dir, "no-such-root") : dir;
    const char *args[] = {"--list", list, "--data", data, NULL};
    Run r = run_program(CONFORMANCE_BINARY, dir, args);
    assert_int_equal(temp_dir_remove(dir), 0);
    return r;
}

static void test_missing_test_directory_fails(void **state)
{
    (void)state;
    Run r = run_list("# a comment\nnode/test_not_installed\n", false);
    assert_contains(r.out, "0 passed, 1 failed\n");
    assert_run(&r, 1, "FAIL node/test_not_installed: no test directory", NULL);
}

static void test_missing_data_root_is_skipped(void **state)
{
    (void)state;
    Run r = run_list("node/test_relu\n", true);
    assert_run(&r, 77, "no test data at", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_test_directory_fails),
        cmocka_unit_test(test_missing_data_root_is_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
