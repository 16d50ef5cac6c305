/* The dnnc driver as a user runs it: exit statuses (0 ok, 1 bad input,
 * 2 bad usage), what goes to stdout and what to stderr, and the files that
 * `dump -o` leaves behind. Runs the built binary (DNNC_BINARY) in a fresh
 * temporary directory (helpers in test_util.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"

/* ---- fixture: a temporary directory with a few networks ------------------ */

static char tmp_dir[256];

/* A small valid network: conv, relu, fc. */
static const char good_net[] = "input x: f32[1, 3, 8, 8];\n"
                               "c = conv(x, filters=4, kernel=3, pad=1);\n"
                               "r = relu(c);\n"
                               "f = fc(r, units=10);\n"
                               "output f;\n";

/* Two errors: an unknown op and an undefined name. */
static const char bad_net[] = "input x: f32[1, 4];\n"
                              "y = frobnicate(x);\n"
                              "z = relu(q);\n"
                              "output z;\n";

/* Valid, but with an unused layer. */
static const char warn_net[] = "input x: f32[1, 4];\n"
                               "y = relu(x);\n"
                               "z = sigmoid(x);\n"
                               "output y;\n";

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Fails if the directory holds a file whose name starts with prefix. */
static void assert_no_file_starting_with(const char *prefix)
{
    char *found = dir_find_prefix(tmp_dir, prefix);
    if (found) {
        print_error("unexpected file %s left in %s\n", found, tmp_dir);
        free(found);
        fail();
    }
}

static int setup_dir(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-cli"))
        return -1;
    write_text(path_in("good.dnn"), good_net);
    write_text(path_in("bad.dnn"), bad_net);
    write_text(path_in("warn.dnn"), warn_net);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

/* ---- running the driver ---------------------------------------------------- */

/* Runs dnnc in the temporary directory with the given arguments
 * (NULL-terminated), stdin from /dev/null, stdout and stderr captured. */
static Run run_dnnc_argv(const char *const *args)
{
    return run_program(DNNC_BINARY, tmp_dir, args);
}

#define run_dnnc(...) run_dnnc_argv((const char *const[]){__VA_ARGS__, NULL})

/* ---- a small JSON checker ------------------------------------------------ */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i]))
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    const char *start = p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (*++p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p > start ? p : NULL;
}

/* Parses `{...}` or `[...]`: members are `"key": value` when `close` is '}'. */
static const char *json_container(const char *p, char close, int depth)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            if (!(p = json_string(p)))
                return NULL;
            p = json_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p, depth + 1)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_ws(p);
    }
}

static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 64)
        return NULL;
    switch (*p) {
    case '{': return json_container(p, '}', depth);
    case '[': return json_container(p, ']', depth);
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return json_number(p);
    }
}

/* True if text is exactly one JSON value, surrounded by white space. */
static bool is_json(const char *text)
{
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

/* ---- help and usage -------------------------------------------------------- */

static void test_help_prints_usage_and_exits_0(void **state)
{
    (void)state;
    Run r = run_dnnc("--help");
    assert_run(&r, 0, "usage: dnnc <command> [options] FILE", NULL);
}

static void test_stats_help_prints_usage_and_exits_0(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", "--help");
    assert_run(&r, 0, "usage: dnnc stats [options] FILE", NULL);
}

static void test_dump_help_prints_usage_and_exits_0(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", "--help");
    assert_run(&r, 0, "usage: dnnc dump [options] FILE", NULL);
}

static void test_help_command_shows_a_command_usage(void **state)
{
    (void)state;
    Run r = run_dnnc("help", "dump");
    assert_run(&r, 0, "usage: dnnc dump [options] FILE", NULL);
}

static void test_version_exits_0(void **state)
{
    (void)state;
    Run r = run_dnnc("--version");
    assert_run(&r, 0, "dnnc ", NULL);
}

static void test_help_lists_the_version_option(void **state)
{
    (void)state;
    Run r = run_dnnc("--help");
    assert_run(&r, 0, "\n  --version ", NULL);
}

/* `dnnc help --help` is the general help, as every command's --help is its
 * own help. */
static void test_help_help_prints_the_general_help(void **state)
{
    (void)state;
    const char *const forms[][3] = {{"help", "--help", NULL}, {"help", "-h", NULL}};
    Run general = run_dnnc("--help");
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        Run r = run_dnnc_argv(forms[i]);
        bool same = r.status == 0 && strcmp(r.out, general.out) == 0 && !r.err[0];
        if (!same)
            print_error("dnnc %s %s: exit %d\n%s%s", forms[i][0], forms[i][1], r.status, r.out, r.err);
        run_free(&r);
        if (!same)
            run_free(&general);
        assert_true(same);
    }
    run_free(&general);
}

static void test_no_arguments_print_usage_to_stderr_and_exit_2(void **state)
{
    (void)state;
    Run r = run_dnnc_argv((const char *const[]){NULL});
    assert_run(&r, 2, NULL, "usage: dnnc <command>");
}

static void test_unknown_command_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("frobnicate", path_in("good.dnn"));
    assert_run(&r, 2, NULL, "dnnc: unknown command 'frobnicate'");
}

static void test_dump_unknown_option_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", "--frobnicate", path_in("good.dnn"));
    assert_run(&r, 2, NULL, "dnnc dump: unknown option '--frobnicate'");
}

static void test_stats_unknown_option_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", "--frobnicate", path_in("good.dnn"));
    assert_run(&r, 2, NULL, "dnnc stats: unknown option '--frobnicate'");
}

static void test_dump_without_a_file_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("dump");
    assert_run(&r, 2, NULL, "dnnc dump: no input file");
}

static void test_stats_without_a_file_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", "--json");
    assert_run(&r, 2, NULL, "dnnc stats: no input file");
}

static void test_dump_o_without_a_name_exits_2(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("good.dnn"), "-o");
    assert_run(&r, 2, NULL, "dnnc dump: -o needs a value");
}

/* ---- input errors ------------------------------------------------------------ */

static void test_dump_of_a_file_with_errors_exits_1_with_nothing_on_stdout(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("bad.dnn"));
    char want[4200];
    snprintf(want, sizeof want, "%s:2:5: error: unknown op or block 'frobnicate'\n",
             path_in("bad.dnn"));
    assert_run(&r, 1, NULL, want);
}

static void test_stats_of_a_file_with_errors_exits_1_with_nothing_on_stdout(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", path_in("bad.dnn"));
    assert_run(&r, 1, NULL, "bad.dnn:2:5: error: unknown op or block 'frobnicate'\n");
}

static void test_stats_json_of_a_file_with_errors_exits_1_with_nothing_on_stdout(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", "--json", path_in("bad.dnn"));
    assert_run(&r, 1, NULL, "bad.dnn:2:5: error: unknown op or block 'frobnicate'\n");
}

static void test_nonexistent_file_exits_1_with_cannot_open(void **state)
{
    (void)state;
    const char *missing = path_in("missing.dnn");
    char want[4200];
    snprintf(want, sizeof want, "cannot open '%s'", missing);
    Run r = run_dnnc("dump", missing);
    assert_run(&r, 1, NULL, want);
}

static void test_warnings_alone_exit_0_and_still_print_the_dump(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("warn.dnn"));
    assert_run(&r, 0, "y = relu(x);", "warning: the result of 'z' is never used");
}

/* ---- dump -o ------------------------------------------------------------------ */

static void test_dump_o_of_a_bad_file_leaves_no_output_file(void **state)
{
    (void)state;
    const char *out = path_in("bad.out");
    Run r = run_dnnc("dump", "-o", out, path_in("bad.dnn"));
    assert_run(&r, 1, NULL, "error: unknown op or block 'frobnicate'");
    assert_false(file_exists(out));
    assert_no_file_starting_with("bad.out"); /* nor a temporary bad.out.tmp.XXXXXX */
}

static void test_dump_o_writes_what_dump_prints(void **state)
{
    (void)state;
    Run to_stdout = run_dnnc("dump", path_in("good.dnn"));
    assert_int_equal(to_stdout.status, 0);
    assert_true(strstr(to_stdout.out, "output f;") != NULL);

    const char *out = path_in("good.out");
    Run to_file = run_dnnc("dump", "-o", out, path_in("good.dnn"));
    char *written = read_file_or_fail(out, NULL);
    bool same = strcmp(written, to_stdout.out) == 0;
    if (!same)
        print_error("dump -o wrote\n%s\nbut dump printed\n%s\n", written, to_stdout.out);
    free(written);
    run_free(&to_stdout);
    /* The network has weights but none are bound: only the source is written. */
    assert_run(&to_file, 0, NULL, "note: wrote no weights: the model has none bound");
    assert_true(same);
    assert_no_file_starting_with("good.out.tmp");
    assert_no_file_starting_with("good.out.safetensors");
}

/* dump -o writes a temporary file beside OUT and renames it; when OUT cannot
 * be written, the message names OUT, the file the user asked for, never the
 * temporary. */
static void test_dump_to_an_unwritable_path_names_that_path(void **state)
{
    (void)state;
    const char *out = path_in("no-such-dir/out.dnn");
    char want[4200];
    snprintf(want, sizeof want, "cannot write '%s'", out);
    Run r = run_dnnc("dump", "-o", out, path_in("good.dnn"));
    assert_run(&r, 1, NULL, want);
}

/* ---- stats --json ------------------------------------------------------------- */

/* Fails unless `key` occurs as a JSON key after `from` in text. */
static void assert_has_key_after(const char *text, const char *from, const char *key)
{
    const char *section = strstr(text, from);
    if (!section)
        fail_msg("no %s in\n%s", from, text);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    if (!strstr(section, quoted))
        fail_msg("no key %s after %s in\n%s", quoted, from, text);
}

static void test_stats_json_is_json_with_layers_and_totals(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", "--json", path_in("good.dnn"));
    if (r.status != 0 || r.err[0] || !is_json(r.out)) {
        print_error("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.status, r.out, r.err);
        run_free(&r);
        fail_msg("dnnc stats --json did not print one valid JSON value");
    }
    static const char *const keys[] = {"weights", "macs", "nz_weights", "nz_macs"};
    assert_has_key_after(r.out, "\"layers\": [", "name");
    for (int i = 0; i < 4; i++) {
        assert_has_key_after(r.out, "\"layers\": [", keys[i]);
        assert_has_key_after(r.out, "\"total\": {", keys[i]);
    }
    /* One entry per layer: conv, relu, fc. */
    assert_true(strstr(r.out, "\"name\": \"c\"") && strstr(r.out, "\"name\": \"r\"") &&
                strstr(r.out, "\"name\": \"f\""));
    run_free(&r);
}

static void test_the_json_checker_rejects_broken_json(void **state)
{
    (void)state;
    assert_true(is_json("{\"a\": [1, -2.5e3, true, null, \"x\\n\"], \"b\": {}}\n"));
    assert_false(is_json("{\"a\": 1,}"));
    assert_false(is_json("{\"a\" 1}"));
    assert_false(is_json("[1, 2"));
    assert_false(is_json("{} {}"));
    assert_false(is_json(""));
}

/* ---- resources -------------------------------------------------------------- */

/* Runs dnnc with `args` with AddressSanitizer (when built with it) letting
 * an allocation that cannot succeed return NULL, as it does without, rather
 * than abort. */
static Run run_dnnc_may_fail_to_allocate(const char *const *args)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan ? strdup(asan) : NULL;
    char options[1024];
    snprintf(options, sizeof options, "%s%sallocator_may_return_null=1", asan ? asan : "",
             asan ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    Run r = run_dnnc_argv(args);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    return r;
}

/* A network whose input this machine cannot hold: bench says how many
 * bytes it needed rather than exiting without a word, whether the memory
 * check of the model options stops it first or the allocation itself fails
 * (past a raised --max-memory), which names the buffer. 2^47 float32 values
 * are 512 TiB, beyond any process's address space (128 TiB with 47-bit user
 * addresses), so the allocation fails whatever the overcommit policy. */
static void test_bench_names_a_buffer_it_cannot_allocate(void **state)
{
    (void)state;
    const char *net = path_in("huge.dnn");
    write_text(net, "input x: f32[131072, 1024, 1024, 1024];\n"
                    "y = relu(x);\n"
                    "output y;\n");
    Run checked = run_dnnc_may_fail_to_allocate(
        (const char *const[]){"bench", net, "--runs", "1", "--warmup", "0", NULL});
    assert_run(&checked, 1, NULL, "562949953421312 bytes");
    Run allocated = run_dnnc_may_fail_to_allocate((const char *const[]){
        "bench", net, "--runs", "1", "--warmup", "0", "--max-memory", "1024T", NULL});
    remove(net);
    assert_run(&allocated, 1, NULL,
               "dnnc bench: error: out of memory allocating 562949953421312 bytes for input 'x'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* help and usage */
        cmocka_unit_test(test_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_stats_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_dump_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_help_command_shows_a_command_usage),
        cmocka_unit_test(test_version_exits_0),
        cmocka_unit_test(test_help_lists_the_version_option),
        cmocka_unit_test(test_help_help_prints_the_general_help),
        cmocka_unit_test(test_no_arguments_print_usage_to_stderr_and_exit_2),
        cmocka_unit_test(test_unknown_command_exits_2),
        cmocka_unit_test(test_dump_unknown_option_exits_2),
        cmocka_unit_test(test_stats_unknown_option_exits_2),
        cmocka_unit_test(test_dump_without_a_file_exits_2),
        cmocka_unit_test(test_stats_without_a_file_exits_2),
        cmocka_unit_test(test_dump_o_without_a_name_exits_2),
        /* input errors */
        cmocka_unit_test(test_dump_of_a_file_with_errors_exits_1_with_nothing_on_stdout),
        cmocka_unit_test(test_stats_of_a_file_with_errors_exits_1_with_nothing_on_stdout),
        cmocka_unit_test(test_stats_json_of_a_file_with_errors_exits_1_with_nothing_on_stdout),
        cmocka_unit_test(test_nonexistent_file_exits_1_with_cannot_open),
        cmocka_unit_test(test_warnings_alone_exit_0_and_still_print_the_dump),
        /* dump -o */
        cmocka_unit_test(test_dump_o_of_a_bad_file_leaves_no_output_file),
        cmocka_unit_test(test_dump_o_writes_what_dump_prints),
        /* stats --json */
        cmocka_unit_test(test_stats_json_is_json_with_layers_and_totals),
        cmocka_unit_test(test_the_json_checker_rejects_broken_json),
        /* an unwritable output is reported under the name the user gave */
        cmocka_unit_test(test_dump_to_an_unwritable_path_names_that_path),
        /* resources */
        cmocka_unit_test(test_bench_names_a_buffer_it_cannot_allocate),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
