/* The differential tester's findings, kept: every network in tests/difftest/
 * is a graph dnnc-difftest found a bug with (reduced by hand), run as the
 * tool runs it (tools/difftest: the same backends, levels and tolerance,
 * the same code) and required to pass. Values come from the files next to
 * a case (CASE.safetensors, CASE.INPUT.npy) when present, else from the
 * seed its "# dnnc-difftest seed N" line names. Each case's header says
 * what the bug was and where it was fixed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "test_util.h"

#define CASES_DIR DNNC_SOURCE_DIR "/tests/difftest"

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_difftest_regressions(void **state)
{
    (void)state;
    DIR *d = opendir(CASES_DIR);
    if (!d)
        fail_msg("cannot open %s", CASES_DIR);
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".dnn") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    /* No cases means the folder went missing: never pass by comparing nothing. */
    assert_true(n > 0);
    int failed = 0;
    DtCheckOptions o = {.object_levels = (1u << 0) | (1u << 3)};
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", CASES_DIR, names[i]);
        DtOutcome out;
        DtStatus s = dt_check_file(path, &o, &out);
        if (s == DT_PASS) {
            print_message("difftest %-40s %3d runs, worst error %.3g of the tolerance\n", names[i],
                          out.runs, out.worst_ratio);
        } else {
            print_error("difftest %s FAILED: %s: %s\n", names[i], out.where, out.report);
            failed++;
        }
        free(names[i]);
    }
    print_message("difftest: %d of %d regression cases passed\n", n - failed, n);
    if (failed)
        fail_msg("%d difftest regression case(s) failed", failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_difftest_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
