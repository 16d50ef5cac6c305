/* The driver's option layer (tools/dnnc/options.c) as a user meets it:
 * `--opt value` and `--opt=value` mean the same on every command, -O2 and
 * -O 2 too; --help is generated from the option tables and lists every
 * option once; a bad option is "dnnc CMD: message", a pointer to --help and
 * exit 2. Runs the built binary (DNNC_BINARY) in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

static const char net[] = "input x: f32[1, 3, 8, 8];\n"
                          "c = conv(x, filters=4, kernel=3, pad=1);\n"
                          "r = relu(c);\n"
                          "f = fc(r, units=10);\n"
                          "output f;\n";

/* Three 4x4 images for a network with one [1, 1, 4, 4] input. */
#define TINY_IMAGES DNNC_SOURCE_DIR "/tests/data/tiny-images.idx"
static const char tiny_net[] = "input x: f32[1, 1, 4, 4];\n"
                               "y = fc(x, units=3);\n"
                               "output y;\n";

static const char *const commands[] = {"dump", "stats", "run", "map", "compile", "bench", "import",
                                       "passes"};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static int write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-options"))
        return -1;
    return write_text("net.dnn", net) || write_text("tiny.dnn", tiny_net) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* Both runs exit 0 with the same standard output. */
static void assert_same_run(Run a, Run b, const char *what)
{
    bool same = a.status == 0 && b.status == 0 && strcmp(a.out, b.out) == 0;
    if (!same)
        print_error("%s: exit %d and %d\n--- first:\n%s%s--- second:\n%s%s", what, a.status,
                    b.status, a.out, a.err, b.out, b.err);
    run_free(&a);
    run_free(&b);
    assert_true(same);
}

/* ---- --opt value and --opt=value ---- */

static void test_values_with_a_space_or_an_equals_sign(void **state)
{
    (void)state;
    const char *m = path_in("net.dnn");
    assert_same_run(run_dnnc("stats", m, "--random-weights", "3", "--target", "cpu", "-O", "2"),
                    run_dnnc("stats", m, "--random-weights=3", "--target=cpu", "-O2"), "stats");
    assert_same_run(run_dnnc("dump", m, "--format", "dot", "--passes", "fuse-epilogue"),
                    run_dnnc("dump", "--format=dot", "--passes=fuse-epilogue", m), "dump");
    assert_same_run(run_dnnc("map", m, "--batch", "2", "--dataflow", "ws", "--rlc", "off"),
                    run_dnnc("map", m, "--batch=2", "--dataflow=ws", "--rlc=off"), "map");
    /* run prints a rate that varies: compare what it writes. */
    Run a = run_dnnc("run", path_in("tiny.dnn"), "--random-weights", "1", "--input", TINY_IMAGES,
                     "--show", "0", "--output", path_in("space.npy"));
    assert_run(&a, 0, "ran 3 samples", NULL);
    char named_output[1100];
    snprintf(named_output, sizeof named_output, "--output=y=%s", path_in("equals.npy"));
    Run b = run_dnnc("run", path_in("tiny.dnn"), "--random-weights=1", "--input=" TINY_IMAGES,
                     "--show=0", named_output);
    assert_run(&b, 0, "ran 3 samples", NULL);
    size_t na, nb;
    char *x = read_file_or_fail(path_in("space.npy"), &na);
    char *y = read_file_or_fail(path_in("equals.npy"), &nb);
    bool same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    assert_true(same);
}

static void test_compile_options_with_an_equals_sign(void **state)
{
    (void)state;
    Run r = run_dnnc("compile", path_in("net.dnn"), "--random-weights=1", "--emit=llvm",
                     "--name=netx", "-o", path_in("b"), "--reloc=static", "-O1");
    assert_run(&r, 0, "b.ll", NULL);
    char *h = read_file_or_fail(path_in("b.h"), NULL);
    bool prefixed = strstr(h, "int netx_run(") != NULL;
    free(h);
    remove(path_in("b.ll"));
    remove(path_in("b.h"));
    remove(path_in("b.weights"));
    assert_true(prefixed);
}

/* ---- --help, generated ---- */

/* The options a help text lists: the first word of every line that starts
 * with "  -" ("-o", "--weights", "-h,"), each of which must be unique. */
static void assert_each_option_once(const char *cmd, const char *help)
{
    char seen[64][48];
    int n = 0;
    for (const char *line = help; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "  -", 3) != 0)
            continue;
        char word[48];
        size_t len = strcspn(line + 2, " \n");
        snprintf(word, sizeof word, "%.*s", (int)len, line + 2);
        for (int i = 0; i < n; i++)
            if (strcmp(seen[i], word) == 0)
                fail_msg("dnnc %s --help lists %s twice:\n%s", cmd, word, help);
        assert_true(n < 64);
        snprintf(seen[n++], sizeof seen[0], "%s", word);
    }
    if (n == 0)
        fail_msg("dnnc %s --help lists no option:\n%s", cmd, help);
}

static void test_every_help_lists_every_option_once(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        Run r = run_dnnc(commands[i], "--help");
        char usage[64];
        snprintf(usage, sizeof usage, "usage: dnnc %s", commands[i]);
        assert_contains(r.out, "\n  -h, --help ");
        assert_each_option_once(commands[i], r.out);
        assert_run(&r, 0, usage, NULL);
    }
}

static void test_help_has_the_shared_groups_where_they_apply(void **state)
{
    (void)state;
    static const char *const model_commands[] = {"dump", "stats", "run", "compile", "bench", "map"};
    for (size_t i = 0; i < sizeof model_commands / sizeof *model_commands; i++) {
        Run r = run_dnnc(model_commands[i], "--help");
        static const char *const shared[] = {"\n  --weights FILE ", "\n  --random-weights SEED ",
                                             "\n  -O LEVEL ", "\n  --passes ", "\n  --disable-pass ",
                                             "\n  --print-before ", "\n  --print-after ",
                                             "\n  --print-after-all ", "\n  --verify-each ",
                                             "\n  --pass-stats "};
        for (size_t k = 0; k < sizeof shared / sizeof *shared; k++)
            assert_contains(r.out, shared[k]);
        /* map always maps onto the spatial target. */
        if (strcmp(model_commands[i], "map") != 0)
            assert_contains(r.out, "\n  --target NAME ");
        else if (strstr(r.out, "--target"))
            fail_msg("dnnc map --help offers --target:\n%s", r.out);
        run_free(&r);
    }
}

static void test_help_says_where_results_go(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", "--help");
    assert_run(&r, 0, "\n  -o OUT ", NULL);
    r = run_dnnc("compile", "--help");
    assert_run(&r, 0, "\n  -o DIR/NAME ", NULL);
    r = run_dnnc("import", "--help");
    assert_run(&r, 0, "\n  -o OUT.dnn ", NULL);
    r = run_dnnc("run", "--help");
    assert_run(&r, 0, "a network may have several outputs", NULL);
    /* dump and stats show the graph as written unless asked otherwise. */
    r = run_dnnc("dump", "--help");
    assert_run(&r, 0, "-O0", NULL);
    r = run_dnnc("stats", "--help");
    assert_run(&r, 0, "-O0", NULL);
}

/* Every command that takes --threads states the same bounds, and why. */
static void test_threads_help_states_the_bounds_and_why(void **state)
{
    (void)state;
    static const char *const takers[] = {"run", "bench"};
    for (size_t i = 0; i < sizeof takers / sizeof *takers; i++) {
        Run r = run_dnnc(takers[i], "--help");
        assert_run(&r, 0, "1 to 256: more threads than cores only contend", NULL);
    }
}

static void test_help_command_prints_the_same_text(void **state)
{
    (void)state;
    Run a = run_dnnc("help", "compile"), b = run_dnnc("compile", "-h");
    assert_same_run(a, b, "dnnc help compile / dnnc compile -h");
}

/* ---- errors ---- */

/* Exit 2, the message after "dnnc CMD: ", and the pointer to --help. */
static void check_usage_error(Run r, const char *cmd, const char *message)
{
    char want[512], hint[128];
    snprintf(want, sizeof want, "dnnc %s: %s", cmd, message);
    snprintf(hint, sizeof hint, "Run 'dnnc %s --help' for usage.", cmd);
    bool has_hint = strstr(r.err, hint) != NULL;
    if (!has_hint)
        print_error("no '%s' in\n%s", hint, r.err);
    assert_run(&r, 2, NULL, want);
    assert_true(has_hint);
}

static void test_unknown_options(void **state)
{
    (void)state;
    const char *m = path_in("net.dnn");
    check_usage_error(run_dnnc("run", m, "--frob"), "run", "unknown option '--frob'");
    check_usage_error(run_dnnc("compile", m, "-q"), "compile", "unknown option '-q'");
    check_usage_error(run_dnnc("stats", m, "--print"), "stats", "ambiguous option '--print' (");
    check_usage_error(run_dnnc("map", m, "--target", "spatial"), "map", "unknown option '--target'");
}

static void test_missing_and_unwanted_values(void **state)
{
    (void)state;
    const char *m = path_in("net.dnn");
    check_usage_error(run_dnnc("dump", m, "--target"), "dump", "--target needs a value");
    check_usage_error(run_dnnc("stats", m, "-O"), "stats", "-O needs a value");
    check_usage_error(run_dnnc("compile", m, "-o"), "compile", "-o needs a value");
    check_usage_error(run_dnnc("stats", m, "--json=yes"), "stats", "--json takes no value");
    check_usage_error(run_dnnc("dump", m, "--help=me"), "dump", "--help takes no value");
}

static void test_bad_values(void **state)
{
    (void)state;
    const char *m = path_in("net.dnn");
    /* --threads has the same bounds wherever it is taken. */
    check_usage_error(run_dnnc("bench", m, "--threads", "x"), "bench",
                      "--threads needs an integer from 1 to 256, got 'x'");
    check_usage_error(run_dnnc("bench", m, "--threads", "100000"), "bench",
                      "--threads needs an integer from 1 to 256, got '100000'");
    check_usage_error(run_dnnc("run", m, "--threads=257"), "run",
                      "--threads needs an integer from 1 to 256, got '257'");
    check_usage_error(run_dnnc("run", m, "--threads=0"), "run",
                      "--threads needs an integer from 1 to 256, got '0'");
    check_usage_error(run_dnnc("run", m, "--show=-1"), "run", "--show needs a non-negative integer, got '-1'");
    check_usage_error(run_dnnc("bench", m, "--runs=0"), "bench", "--runs needs an integer from 1 to 100000, got '0'");
    check_usage_error(run_dnnc("dump", m, "--format=svg"), "dump", "--format takes text or dot, not 'svg'");
    check_usage_error(run_dnnc("dump", m, "-O4"), "dump", "-O takes a level from 0 to 3");
    check_usage_error(run_dnnc("dump", m, "--target", "gpu"), "dump",
                      "unknown target 'gpu' (reference, cpu or spatial)");
    check_usage_error(run_dnnc("stats", m, "--random-weights=x"), "stats",
                      "--random-weights needs a non-negative integer seed, got 'x'");
}

static void test_operands(void **state)
{
    (void)state;
    const char *m = path_in("net.dnn");
    check_usage_error(run_dnnc("stats", m, m), "stats", "more than one input file");
    check_usage_error(run_dnnc("compile", "-o", path_in("x")), "compile", "no model file");
    check_usage_error(run_dnnc("passes", m), "passes", "unexpected argument");
    /* After "--" everything is an operand, even what looks like an option. */
    Run r = run_dnnc("stats", "--", "--json");
    assert_run(&r, 1, NULL, "cannot open '--json'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_with_a_space_or_an_equals_sign),
        cmocka_unit_test(test_compile_options_with_an_equals_sign),
        cmocka_unit_test(test_every_help_lists_every_option_once),
        cmocka_unit_test(test_help_has_the_shared_groups_where_they_apply),
        cmocka_unit_test(test_help_says_where_results_go),
        cmocka_unit_test(test_threads_help_states_the_bounds_and_why),
        cmocka_unit_test(test_help_command_prints_the_same_text),
        cmocka_unit_test(test_unknown_options),
        cmocka_unit_test(test_missing_and_unwanted_values),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_operands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
