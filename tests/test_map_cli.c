/* `dnnc map` as a user runs it: reports, JSON keys, the plot, and exit
 * statuses for bad input (1) and bad usage (2); the mapping it reports is
 * the one the spatial pipeline records in the IR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static char tmp_dir[256];

/* 6 x 6 maps: RS keeps a whole filter row of the fc (S = 6) in the 12-word
 * ifmap RF, which holds 6 float32 values. */
static const char conv_net[] = "input x: f32[1, 3, 6, 6];\n"
                               "c = conv(x, filters=8, kernel=3, pad=1);\n"
                               "r = relu(c);\n"
                               "f = fc(r, units=10);\n"
                               "output f;\n";

static const char no_layers_net[] = "input x: f32[1, 4];\n"
                                    "y = relu(x);\n"
                                    "output y;\n";

/* A filter row longer than any RS RF window: fits no RS mapping. */
static const char wide_net[] = "input x: f32[1, 1, 8, 40];\n"
                               "c = conv(x, filters=1, kernel=[1, 33]);\n"
                               "output c;\n";

/* conv_net with its conv forced to rs. */
static const char annotated_net[] = "input x: f32[1, 3, 6, 6];\n"
                                    "@dataflow(rs) c = conv(x, filters=8, kernel=3, pad=1);\n"
                                    "r = relu(c);\n"
                                    "f = fc(r, units=10);\n"
                                    "output f;\n";

/* conv_net with its conv forced to OS_B, whose source name (os_b) differs
 * from the command line's and the report's (os-b). */
static const char os_b_net[] = "input x: f32[1, 3, 6, 6];\n"
                               "@dataflow(os_b) c = conv(x, filters=8, kernel=3, pad=1);\n"
                               "r = relu(c);\n"
                               "f = fc(r, units=10);\n"
                               "output f;\n";

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static Run run_dnnc_argv(const char *const *args)
{
    return run_program(DNNC_BINARY, tmp_dir, args);
}
#define run_dnnc(...) run_dnnc_argv((const char *const[]){__VA_ARGS__, NULL})

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-map-cli"))
        return -1;
    write_text(path_in("net.dnn"), conv_net);
    write_text(path_in("none.dnn"), no_layers_net);
    write_text(path_in("wide.dnn"), wide_net);
    write_text(path_in("annotated.dnn"), annotated_net);
    write_text(path_in("os_b.dnn"), os_b_net);
    write_text(path_in("small.arch"), "name = small\npe_rows = 4\npe_cols = 4\n");
    write_text(path_in("bad.arch"), "pe_rows = 4\npe_cols = many\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static void test_help(void **state)
{
    (void)state;
    Run r = run_dnnc("map", "--help");
    const char *options[] = {"--arch", "--dataflow", "--batch", "--json", "--plot", "--sparsity",
                             "--input", "--weights", "--random-weights", "--rlc", "--zero-skip",
                             "--verbose", "eyeriss256"};
    for (size_t i = 0; i < sizeof options / sizeof *options; i++)
        assert_contains(r.out, options[i]);
    assert_contains(r.out, "annotated @mapping is reported with exactly");
    assert_run(&r, 0, "usage: dnnc map", NULL);
}

static void test_report(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--arch", "eyeriss256", "--batch", "4");
    assert_contains(r.out, "\nc            conv");
    assert_contains(r.out, "\nf            fc");
    assert_run(&r, 0, "energy / MAC by dataflow", NULL);
}

/* --simulate: every layer's stream on the simulator, its counts the
 * model's (the arch's compression and zero skipping switched off in both);
 * under every dataflow the small net maps to. */
static void test_simulate(void **state)
{
    (void)state;
    static const char *const dataflows[] = {"ws", "os-a", "os-b", "os-c", "nlr", "rs", "best"};
    for (size_t i = 0; i < sizeof dataflows / sizeof *dataflows; i++) {
        Run r = run_dnnc("map", path_in("net.dnn"), "--dataflow", dataflows[i], "--batch", "2",
                         "--simulate");
        assert_contains(r.out, "compression and zero skipping off in both");
        assert_run(&r, 0, "2 of 2 layers: every access count, MACs performed and cycles equal to "
                          "the model's", NULL);
    }
    Run r = run_dnnc("map", path_in("net.dnn"), "--simulate", "--plot", path_in("sim.svg"));
    assert_run(&r, 0, "2 of 2 layers: every access count, MACs performed and cycles equal to "
                      "the model's", NULL);
    size_t len;
    char *svg = read_file_or_fail(path_in("sim.svg"), &len);
    assert_contains(svg, "Energy per layer: model, then simulator");
    assert_contains(svg, "<title>simulated dram: ");
    free(svg);
    r = run_dnnc("map", path_in("net.dnn"), "--simulate", "--json");
    assert_run(&r, 2, NULL, "--simulate prints a table; it does not combine with --json");
}

static void test_json(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--dataflow", "rs", "--json", "--plot",
                     path_in("plot.svg"));
    const char *keys[] = {"\"layers\"", "\"name\"", "\"op\"", "\"macs\"", "\"energy\"",
                          "\"dram_bytes\"", "\"cycles\"", "\"energy_by_level\"", "\"alu\"",
                          "\"dram\"", "\"buffer\"", "\"array\"", "\"rf\"", "\"total\"",
                          "\"energy_by_type\"", "\"utilization\"", "\"mapping\""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_contains(r.out, keys[i]);
    assert_run(&r, 0, "\"dataflow\": \"rs\"", NULL);
    size_t len;
    char *svg = read_file_or_fail(path_in("plot.svg"), &len);
    assert_contains(svg, "<svg");
    assert_contains(svg, "Fig. 33");
    free(svg);
}

/* A plot that cannot be written is an error, and leaves nothing behind:
 * the SVG goes to a temporary file renamed over the target only whole
 * (here the target is a directory, so the rename fails). */
static void test_plot_never_partial(void **state)
{
    (void)state;
    assert_int_equal(mkdir(path_in("plot_dir"), 0755), 0);
    Run r = run_dnnc("map", path_in("net.dnn"), "--dataflow", "rs", "--plot", path_in("plot_dir"));
    assert_run(&r, 1, NULL, "cannot write '");
    char *left = dir_find_prefix(tmp_dir, "plot_dir.tmp");
    assert_null(left);
    rmdir(path_in("plot_dir"));
}

static void test_arch_file(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--arch", path_in("small.arch"));
    assert_run(&r, 0, "arch small (4x4 PEs", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--arch", path_in("bad.arch"));
    assert_run(&r, 1, NULL, "bad.arch:2: error: expected a non-negative integer, got 'many'");
}

static void test_measured_sparsity(void **state)
{
    (void)state;
    /* A 1x3x6x6 float32 .npy of ones. */
    FILE *f = fopen(path_in("in.npy"), "wb");
    assert_non_null(f);
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 6, 6), }");
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hlen, 2, 1, f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    float one = 1;
    for (int i = 0; i < 3 * 6 * 6; i++)
        fwrite(&one, sizeof one, 1, f);
    assert_int_equal(fclose(f), 0);
    Run r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "1", "--input",
                     path_in("in.npy"), "--json");
    assert_run(&r, 0, "\"layers\"", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--input", path_in("in.npy"));
    assert_run(&r, 2, NULL, "--input needs --weights or --random-weights");
}

static void test_usage_errors(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--dataflow", "zz");
    assert_run(&r, 2, NULL, "unknown dataflow 'zz'");
    r = run_dnnc("map", path_in("net.dnn"), "--batch", "0");
    assert_run(&r, 2, NULL, "--batch needs an integer");
    r = run_dnnc("map", path_in("net.dnn"), "--arch", "eyeriss9");
    assert_run(&r, 2, NULL, "unknown architecture 'eyeriss9'");
    r = run_dnnc("map");
    assert_run(&r, 2, NULL, "no model file");
    r = run_dnnc("map", path_in("net.dnn"), "--frob");
    assert_run(&r, 2, NULL, "unknown option '--frob'");
    r = run_dnnc("map", path_in("net.dnn"), "--arch");
    assert_run(&r, 2, NULL, "--arch needs a value");
}

static void test_input_errors(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("none.dnn"));
    assert_run(&r, 1, NULL, "has no CONV or FC layer to map");
    r = run_dnnc("map", path_in("wide.dnn"), "--dataflow", "rs");
    assert_run(&r, 1, NULL, "wide.dnn:2:1: error: layer 'c' fits no rs mapping on eyeriss");
    r = run_dnnc("map", path_in("missing.dnn"));
    assert_int_equal(r.status, 1);
    run_free(&r);
}

/* ---- the report is what the IR records ---- */

static const char *example(const char *file)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, file);
    return path;
}

/* JSON without its layout: the keys and values alone, easy to search. */
static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The chosen part of layer `name` in dnnc map's JSON without layout: from
 * its name to its alternatives, "dataflows" (malloc'd). */
static char *chosen_part(const char *json, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "\"name\":\"%s\"", name);
    const char *start = strstr(json, key);
    if (!start)
        fail_msg("no layer %s in\n%s", name, json);
    const char *end = strstr(start, "\"dataflows\":");
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

/* One layer of a spatial dump: its name, @dataflow, and @mapping's bounds
 * by level (as @mapping lists them, outermost first) and dimension. */
typedef struct Recorded {
    char name[64], dataflow[8];
    long long bound[6][7];
} Recorded;

static const char dims[] = "NMCPQRS";
static const char *const record_levels[6] = {"dram", "buf", "rows", "cols", "pe", "rf"};
/* The same levels as dnnc map --json names them. */
static const char *const json_levels[6] = {"dram", "buffer", "rows", "cols", "pe", "rf"};

/* p: "dram, [Q, 12], buf, [], ..., rf, [M, 8, S, 3])", @mapping's inside. */
static void parse_bounds(const char *p, Recorded *r)
{
    for (int k = 0; k < 6; k++)
        for (int d = 0; d < 7; d++)
            r->bound[k][d] = 1;
    for (int k = 0; k < 6; k++) {
        size_t len = strlen(record_levels[k]);
        assert_int_equal(strncmp(p, record_levels[k], len), 0);
        p += len;
        assert_int_equal(strncmp(p, ", [", 3), 0);
        for (p += 3; *p != ']';) {
            char d;
            long long n;
            int used;
            assert_int_equal(sscanf(p, "%c, %lld%n", &d, &n, &used), 2);
            assert_non_null(strchr(dims, d));
            r->bound[k][strchr(dims, d) - dims] = n;
            p += used;
            p += *p == ',' ? 2 : 0;
        }
        p += p[1] == ',' ? 3 : 1;
    }
}

/* line: "@dataflow(rs) @mapping(...) c = conv(...);  # ..." The source
 * spells a dataflow as an identifier (os_b), the command line and the JSON
 * report with a dash (os-b): the record keeps the report's spelling. */
static void parse_recorded(const char *line, Recorded *r)
{
    assert_int_equal(sscanf(line, "@dataflow(%7[^)])", r->dataflow), 1);
    for (char *c = r->dataflow; *c; c++)
        *c = *c == '_' ? '-' : *c;
    parse_bounds(strstr(line, "@mapping(") + strlen("@mapping("), r);
    const char *eq = strstr(line, " = "), *start = eq;
    while (start[-1] != ' ')
        start--;
    snprintf(r->name, sizeof r->name, "%.*s", (int)(eq - start), start);
}

/* The record as dnnc map --json writes the mapping, without layout. */
static void assert_reported(const char *chosen, const Recorded *r)
{
    char want[256];
    snprintf(want, sizeof want, "\"dataflow\":\"%s\"", r->dataflow);
    assert_contains(chosen, want);
    for (int k = 0; k < 6; k++) {
        int n = snprintf(want, sizeof want, "\"%s\":{", json_levels[k]);
        for (int d = 0; d < 7; d++)
            n += snprintf(want + n, sizeof want - (size_t)n, "%s\"%c\":%lld", d ? "," : "",
                          dims[d], r->bound[k][d]);
        snprintf(want + n, sizeof want - (size_t)n, "}");
        assert_contains(chosen, want);
    }
}

/* What dnnc map reports for each layer is what map-dataflow records in the
 * IR, as dnnc dump --target spatial prints it (same options: Eyeriss v1,
 * the model's batch, -O2). */
static void assert_reports_the_ir(const char *model)
{
    Run dump = run_dnnc("dump", "--target", "spatial", "-O2", model);
    Run map = run_dnnc("map", model, "--json");
    assert_int_equal(dump.status, 0);
    assert_int_equal(map.status, 0);
    remove_space(map.out);
    int layers = 0;
    for (char *line = strtok(dump.out, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, "@mapping("))
            continue;
        Recorded r;
        parse_recorded(line, &r);
        char *chosen = chosen_part(map.out, r.name);
        assert_reported(chosen, &r);
        free(chosen);
        layers++;
    }
    assert_int_equal(occurrences(map.out, "\"name\":"), layers);
    run_free(&dump);
    run_free(&map);
}

static void test_reports_the_ir(void **state)
{
    (void)state;
    assert_reports_the_ir(path_in("net.dnn"));
    assert_reports_the_ir(path_in("os_b.dnn"));
    assert_reports_the_ir(example("lenet5.dnn"));
}

/* The report without what compares dataflows on the layers left free
 * (there are none in a dump that records every mapping): the text up to
 * its dataflow table; in JSON, everything but the model's path and the
 * "dataflows" objects. */
static void chosen_report(Run *r, bool json)
{
    assert_int_equal(r->status, 0);
    if (!json) {
        char *table = strstr(r->out, "\nenergy / MAC by dataflow");
        assert_non_null(table);
        *table = '\0';
        return;
    }
    remove_space(r->out);
    char *p;
    while ((p = strstr(r->out, ",\"dataflows\":{"))) {
        char *q = strchr(p, '{') + 1;
        for (int depth = 1; depth; q++)
            depth += (*q == '{') - (*q == '}');
        memmove(p, q, strlen(q) + 1);
    }
    p = strstr(r->out, "\"arch\":");
    assert_non_null(p);
    memmove(r->out, p, strlen(p) + 1);
}

/* A dump that records every layer's mapping, given back to dnnc map, is
 * reported with exactly those mappings: the same report. */
static void test_dump_reproduces_report(void **state)
{
    (void)state;
    const char *model = example("lenet5.dnn"), *dumped = path_in("recorded.dnn");
    Run dump = run_dnnc("dump", "--target", "spatial", "-O2", model, "-o", dumped);
    assert_int_equal(dump.status, 0);
    run_free(&dump);
    for (int json = 0; json < 2; json++) {
        Run a = run_dnnc("map", model, json ? "--json" : "--verbose");
        Run b = run_dnnc("map", dumped, json ? "--json" : "--verbose");
        chosen_report(&a, json);
        chosen_report(&b, json);
        assert_string_equal(a.out, b.out);
        run_free(&a);
        run_free(&b);
    }
}

/* --dataflow is a default for the layers without @dataflow. */
static void test_dataflow_default(void **state)
{
    (void)state;
    Run r = run_dnnc("map", example("lenet5.dnn"), "--dataflow", "ws", "--json");
    assert_int_equal(r.status, 0);
    remove_space(r.out);
    int layers = occurrences(r.out, "\"name\":");
    assert_true(layers >= 5);
    /* Once for the options, once per layer. */
    assert_int_equal(occurrences(r.out, "\"dataflow\":\"ws\""), layers + 1);
    assert_int_equal(occurrences(r.out, "\"dataflow\":"), layers + 1);
    run_free(&r);

    r = run_dnnc("map", path_in("annotated.dnn"), "--dataflow", "ws", "--json");
    assert_int_equal(r.status, 0);
    remove_space(r.out);
    char *c = chosen_part(r.out, "c"), *f = chosen_part(r.out, "f");
    assert_contains(c, "\"dataflow\":\"rs\"");
    assert_contains(f, "\"dataflow\":\"ws\"");
    free(c);
    free(f);
    run_free(&r);
}

/* A dataflow that fits no mapping of a layer is "-" in the comparison and
 * an "error" among the layer's alternatives; the others still map it. */
static void test_misfit_alternative(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("wide.dnn"), "--json");
    assert_run(&r, 0, "\"error\": \"no spatial assignment fits the array\"", NULL);
    r = run_dnnc("map", path_in("wide.dnn"));
    assert_contains(r.out, "\n  rs                                  -");
    assert_run(&r, 0, "\nc            conv os-a", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_simulate),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_plot_never_partial),
        cmocka_unit_test(test_arch_file),
        cmocka_unit_test(test_measured_sparsity),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_reports_the_ir),
        cmocka_unit_test(test_dump_reproduces_report),
        cmocka_unit_test(test_dataflow_default),
        cmocka_unit_test(test_misfit_alternative),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
