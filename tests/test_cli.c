/* The dnnc driver as a user runs it: exit statuses (0 ok, 1 bad input,
 * 2 bad usage), what goes to stdout and what to stderr, and the files that
 * `dump -o` leaves behind. Runs the built binary (DNNC_BINARY) in a fresh
 * temporary directory.
 *
 * test_dump_to_an_unwritable_path_names_that_path asserts the correct
 * behaviour and FAILS until the driver is fixed; see its comment. */
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

extern char **environ;

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

/* Where each run's stdout and stderr are captured. */
static char out_capture[512], err_capture[512];

/* A path inside the temporary directory, in one of 8 rotating static
 * buffers: a test keeps at most a few paths live at once. */
static const char *path_in(const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return p;
}

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

static int setup_dir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/dnnc-cli-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(out_capture, sizeof out_capture, "%s/stdout.txt", tmp_dir);
    snprintf(err_capture, sizeof err_capture, "%s/stderr.txt", tmp_dir);
    write_text(path_in("good.dnn"), good_net);
    write_text(path_in("bad.dnn"), bad_net);
    write_text(path_in("warn.dnn"), warn_net);
    return 0;
}

/* The directory is flat: remove every file in it, then the directory. */
static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmp_dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(path_in(e->d_name));
    closedir(d);
    return rmdir(tmp_dir);
}

/* ---- running the driver ---------------------------------------------------- */

typedef struct Run {
    int status; /* exit status; -1 if it did not exit normally */
    char *out, *err;
} Run;

/* Runs dnnc with the given arguments (NULL-terminated), stdin from
 * /dev/null, stdout and stderr captured through files. */
static Run run_dnnc_argv(const char *const *args)
{
    const char *out_path = out_capture, *err_path = err_capture;
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)DNNC_BINARY;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, DNNC_BINARY, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", DNNC_BINARY, strerror(rc));
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);

    Run r;
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    r.out = read_file_or_fail(out_path, NULL);
    r.err = read_file_or_fail(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r;
}

#define run_dnnc(...) run_dnnc_argv((const char *const[]){__VA_ARGS__, NULL})

static void run_free(Run *r)
{
    free(r->out);
    free(r->err);
}

/* Checks the exit status and that each stream contains its excerpt (NULL:
 * the stream must be empty). Frees the run before failing. */
static void check_run(const char *file, int line, Run *r, int status, const char *out_has,
                      const char *err_has)
{
    bool status_ok = r->status == status;
    bool out_ok = out_has ? strstr(r->out, out_has) != NULL : r->out[0] == '\0';
    bool err_ok = err_has ? strstr(r->err, err_has) != NULL : r->err[0] == '\0';
    if (!(status_ok && out_ok && err_ok))
        print_error("%s:%d: expected exit %d, stdout %s%s%s, stderr %s%s%s\n"
                    "got exit %d\n--- stdout:\n%s--- stderr:\n%s---\n",
                    file, line, status, out_has ? "containing '" : "empty", out_has ? out_has : "",
                    out_has ? "'" : "", err_has ? "containing '" : "empty", err_has ? err_has : "",
                    err_has ? "'" : "", r->status, r->out, r->err);
    run_free(r);
    if (!(status_ok && out_ok && err_ok))
        _fail(file, line);
}

#define assert_run(r, status, out_has, err_has) \
    check_run(__FILE__, __LINE__, (r), (status), (out_has), (err_has))

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
    assert_run(&r, 2, NULL, "dnnc dump: -o needs a file name");
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
    const char *out = path_in("bad.out"), *tmp = path_in("bad.out.tmp");
    Run r = run_dnnc("dump", "-o", out, path_in("bad.dnn"));
    assert_run(&r, 1, NULL, "error: unknown op or block 'frobnicate'");
    assert_false(file_exists(out));
    assert_false(file_exists(tmp));
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
    assert_run(&to_file, 0, NULL, NULL);
    assert_true(same);
    assert_false(file_exists(path_in("good.out.tmp")));
}

/* FIXED: dump -o writes OUT.tmp and renames it, and when that fails the
 * message names the temporary ("cannot write '/x/out.tmp'"), which the user
 * never asked for, and gives no reason. The message should name OUT. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* help and usage */
        cmocka_unit_test(test_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_stats_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_dump_help_prints_usage_and_exits_0),
        cmocka_unit_test(test_help_command_shows_a_command_usage),
        cmocka_unit_test(test_version_exits_0),
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
        /* known defect: fails until the driver is fixed */
        cmocka_unit_test(test_dump_to_an_unwritable_path_names_that_path),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
