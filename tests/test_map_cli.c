/* `dnnc map` as a user runs it: reports, JSON keys, the plot, and exit
 * statuses for bad input (1) and bad usage (2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

static const char conv_net[] = "input x: f32[1, 3, 12, 12];\n"
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
    /* A 1x3x12x12 float32 .npy of ones. */
    FILE *f = fopen(path_in("in.npy"), "wb");
    assert_non_null(f);
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 12, 12), }");
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
    for (int i = 0; i < 3 * 12 * 12; i++)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_arch_file),
        cmocka_unit_test(test_measured_sparsity),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_input_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
