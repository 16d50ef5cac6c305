/* Architecture description files: the built-in machines, the survey's
 * equal-area variants, and errors for bad input as "file:line: error: ...". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "test_util.h"

/* Parses text; returns what was printed to the error stream (malloc'd). */
static char *parse_errors(const char *text, ArchSet *out, bool *ok)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    assert_non_null(err);
    *ok = arch_parse("bad.arch", text, strlen(text), out, err);
    fclose(err);
    return buf;
}

static void expect_error(const char *text, const char *message)
{
    ArchSet s;
    bool ok;
    char *errors = parse_errors(text, &s, &ok);
    if (ok)
        fail_msg("accepted:\n%s", text);
    assert_contains(errors, message);
    free(errors);
}

static void test_eyeriss_v1(void **state)
{
    (void)state;
    ArchSet s;
    assert_true(arch_load("eyeriss", &s, stderr));
    const SpatialArch *a = &s.base;
    assert_string_equal(a->name, "eyeriss");
    assert_int_equal(a->pe_rows, 12);
    assert_int_equal(a->pe_cols, 14);
    assert_int_equal(a->rf_words[DATA_IFMAP], 12);
    assert_int_equal(a->rf_words[DATA_FILTER], 224);
    assert_int_equal(a->rf_words[DATA_PSUM], 24);
    assert_int_equal(a->buffer_bytes, 108 * 1024);
    assert_int_equal(a->word_bits, 16);
    assert_int_equal(a->dram_bus_bits, 64);
    assert_int_equal(a->noc, NOC_MULTICAST);
    assert_true(a->energy[LEVEL_DRAM] == 200 && a->energy[LEVEL_BUFFER] == 6 &&
                a->energy[LEVEL_ARRAY] == 2 && a->energy[LEVEL_RF] == 1 && a->energy_mac == 1);
    for (int d = 0; d < DATAFLOW_KINDS; d++)
        assert_false(s.has_variant[d]);
}

/* The survey's comparison: 256 PEs; RS with 512 B of RF per PE and a
 * 128 KB buffer; every other dataflow at the same total storage area. */
static void test_eyeriss256_equal_area(void **state)
{
    (void)state;
    ArchSet s;
    assert_true(arch_load("eyeriss256", &s, stderr));
    const SpatialArch *rs = arch_for(&s, DATAFLOW_RS);
    assert_int_equal(arch_pes(rs), 256);
    int64_t rf_bytes = (rs->rf_words[0] + rs->rf_words[1] + rs->rf_words[2]) * rs->word_bits / 8;
    assert_int_equal(rf_bytes, 512);
    assert_int_equal(rs->buffer_bytes, 128 * 1024);
    double area = arch_storage_area(rs);
    const Dataflow others[] = {DATAFLOW_WS, DATAFLOW_OS_A, DATAFLOW_OS_B, DATAFLOW_OS_C,
                               DATAFLOW_NLR};
    for (int i = 0; i < 5; i++) {
        const SpatialArch *a = arch_for(&s, others[i]);
        assert_true(s.has_variant[others[i]]);
        assert_int_equal(arch_pes(a), 256);
        if (fabs(arch_storage_area(a) / area - 1) > 0.01)
            fail_msg("%s: storage area %.0f, RS %.0f", dataflow_name(others[i]),
                     arch_storage_area(a), area);
    }
    /* No local reuse trades all of its RF for buffer. */
    const SpatialArch *nlr = arch_for(&s, DATAFLOW_NLR);
    assert_int_equal(nlr->rf_words[0] + nlr->rf_words[1] + nlr->rf_words[2], 0);
    assert_true(nlr->buffer_bytes > rs->buffer_bytes);
}

/* A file sets only what it changes; the rest is Eyeriss v1. Sections
 * override the base for one dataflow. */
static void test_overrides(void **state)
{
    (void)state;
    ArchSet s;
    bool ok;
    char *errors = parse_errors("# a bigger array\n"
                                "pe_rows = 16   # trailing comment\n"
                                "buffer = 2 MiB\n"
                                "energy.dram = 150.5\n"
                                "noc = broadcast\n"
                                "[dataflow nlr]\n"
                                "rf.psum = 0\n"
                                "buffer = 4096 B\n",
                                &s, &ok);
    assert_true(ok);
    assert_string_equal(errors, "");
    free(errors);
    assert_int_equal(s.base.pe_rows, 16);
    assert_int_equal(s.base.pe_cols, 14);
    assert_int_equal(s.base.buffer_bytes, 2 << 20);
    assert_true(s.base.energy[LEVEL_DRAM] == 150.5);
    assert_int_equal(s.base.noc, NOC_BROADCAST);
    assert_true(s.has_variant[DATAFLOW_NLR]);
    assert_int_equal(arch_for(&s, DATAFLOW_NLR)->buffer_bytes, 4096);
    assert_int_equal(arch_for(&s, DATAFLOW_NLR)->rf_words[DATA_PSUM], 0);
    assert_int_equal(arch_for(&s, DATAFLOW_NLR)->pe_rows, 16);
    assert_int_equal(arch_for(&s, DATAFLOW_RS)->buffer_bytes, 2 << 20);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("pe_rows 12\n", "bad.arch:1: error: expected 'key = value'");
    expect_error("\n\nrf.ifmp = 3\n", "bad.arch:3: error: unknown key 'rf.ifmp'; did you mean 'rf.ifmap'?");
    expect_error("pe_rows = 0\n", "bad.arch:1: error: pe_rows = 0 is out of range");
    expect_error("pe_rows = 99999999999999999999999\n", "bad.arch:1: error: '99999999999999999999999' overflows");
    expect_error("buffer = 9000000000000 MB\n", "bad.arch:1: error: '9000000000000 MB' overflows");
    expect_error("buffer = 12 GB\n", "bad.arch:1: error: unknown unit 'GB'");
    expect_error("pe_cols = 12x\n", "bad.arch:1: error: unexpected 'x' after the number");
    expect_error("energy.rf = -1\n", "bad.arch:1: error: energy.rf = -1 is out of range");
    expect_error("energy.rf = nan\n", "bad.arch:1: error: expected a number");
    expect_error("energy.rf = 1e999\n", "bad.arch:1: error: '1e999' is out of the range");
    expect_error("rlc = maybe\n", "bad.arch:1: error: rlc must be on or off");
    expect_error("noc = mesh\n", "bad.arch:1: error: noc must be multicast or broadcast");
    expect_error("pe_rows = 4\npe_rows = 5\n", "bad.arch:2: error: 'pe_rows' is set twice (first at line 1)");
    expect_error("[dataflow xyz]\n", "bad.arch:1: error: unknown dataflow 'xyz'");
    expect_error("[layer rs]\n", "bad.arch:1: error: unknown section '[layer rs]'");
    expect_error("[dataflow rs\n", "bad.arch:1: error: expected ']'");
    expect_error("[dataflow rs]\n[dataflow rs]\n", "bad.arch:2: error: a second [dataflow rs] section");
    expect_error("name = two words\n", "bad.arch:1: error: name must be");
    expect_error("pe_rows =\n", "bad.arch:1: error: missing value for 'pe_rows'");
    expect_error("= 3\n", "bad.arch:1: error: missing key");
    expect_error("rlc.word_bits = 16\n", "bad.arch:1: error: rlc.word_bits = 16 cannot hold");
    expect_error("pe_rows = 4\x01\n", "bad.arch:1: error: unexpected control character 0x01");
}

/* Several errors are all reported, each on its own line. */
static void test_several_errors(void **state)
{
    (void)state;
    ArchSet s;
    bool ok;
    char *errors = parse_errors("pe_rows = -1\nfoo = 1\npe_cols = 3\nbar\n", &s, &ok);
    assert_false(ok);
    assert_contains(errors, "bad.arch:1: error:");
    assert_contains(errors, "bad.arch:2: error:");
    assert_contains(errors, "bad.arch:4: error:");
    free(errors);
}

static void test_unknown_builtin(void **state)
{
    (void)state;
    ArchSet s;
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    assert_false(arch_load("eyeriss3", &s, err));
    assert_false(arch_load("/nonexistent/x.arch", &s, err));
    fclose(err);
    assert_contains(buf, "unknown architecture 'eyeriss3'");
    assert_contains(buf, "eyeriss256");
    assert_contains(buf, "cannot open");
    free(buf);
}

/* The printed description parses back to the same machine. */
static void test_print_round_trip(void **state)
{
    (void)state;
    ArchSet s, back;
    assert_true(arch_load("eyeriss256", &s, stderr));
    const SpatialArch *nlr = arch_for(&s, DATAFLOW_NLR);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    arch_print(nlr, f);
    fclose(f);
    assert_true(arch_parse("printed.arch", text, len, &back, stderr));
    char *again = NULL;
    f = open_memstream(&again, &len);
    arch_print(&back.base, f);
    fclose(f);
    assert_string_equal(again, text);
    assert_int_equal(back.base.buffer_bytes, nlr->buffer_bytes);
    free(again);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eyeriss_v1),
        cmocka_unit_test(test_eyeriss256_equal_area),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_unknown_builtin),
        cmocka_unit_test(test_print_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
