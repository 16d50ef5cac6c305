/* The @mapping annotation in source: what parses, how it prints back, and
 * the exact message, with its file:line:col, for every malformed form the
 * front end rejects. Whether a mapping fits its layer and the machine is
 * map-dataflow's to say (tests/test_map_pass.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define HEAD "input x: f32[1, 3, 8, 8];\n"
#define TAIL " c = conv(x, filters=16, kernel=3);\noutput c;\n"
#define LOOPS "dram, [], buf, [M, 2], rows, [R, 3, C, 3], cols, [P, 6], pe, [Q, 6], rf, [M, 8, S, 3]"

/* The source is rejected with one error whose first line is `message`. */
static void check_error(const char *file, int line, const char *src, const char *message)
{
    Parsed p;
    parse_text(&p, "net.dnn", src);
    const char *got = p.messages ? p.messages : "";
    bool ok = !p.graph && p.errors == 1 && strncmp(got, message, strlen(message)) == 0 &&
              got[strlen(message)] == '\n';
    if (!ok)
        print_error("%s:%d: for the source\n%s\nexpected one error\n%s\ngot %d error(s)\n%s\n", file,
                    line, src, message, p.errors, got);
    parsed_free(&p);
    if (!ok)
        _fail(file, line);
}
#define assert_error(src, message) check_error(__FILE__, __LINE__, (src), (message))

static void test_parses_and_prints(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", HEAD "@dataflow(rs) @mapping(" LOOPS ")" TAIL);
    if (!p.graph)
        fail_msg("%s", p.messages);
    const MappingAnn *m = &p.graph->nodes[0].ann.mapping;
    assert_true(m->present);
    /* Levels are stored outermost first; dimensions N M C P Q R S. */
    assert_int_equal(m->bound[1][1], 2);  /* buf M */
    assert_int_equal(m->bound[2][5], 3);  /* rows R */
    assert_int_equal(m->bound[5][1], 8);  /* rf M */
    assert_int_equal(m->bound[0][1], 1);  /* dram: nothing */
    /* The listed loops first, in their order, then the others N..S. */
    static const uint8_t rows[MAPPING_DIMS] = {5, 2, 0, 1, 3, 4, 6};
    assert_memory_equal(m->order[2], rows, sizeof rows);
    char *text = graph_to_text(p.graph);
    assert_contains(text, "@dataflow(rs) @mapping(" LOOPS ") c = conv(x, filters=16, kernel=3);");
    free(text);
    parsed_free(&p);
}

/* Bounds are constant expressions, so a block can compute them. */
static void test_bounds_from_block_constants(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn",
               "block b(x, half) {\n"
               "  @dataflow(rs)\n"
               "  @mapping(dram, [], buf, [M, 16 / half], rows, [R, 3, C, 3], cols, [P, 6],\n"
               "           pe, [Q, 6], rf, [M, half, S, 3])\n"
               "  c = conv(x, filters=16, kernel=3);\n"
               "  return c;\n"
               "}\n" HEAD "y = b(x, 8);\noutput y;\n");
    if (!p.graph)
        fail_msg("%s", p.messages);
    assert_int_equal(p.graph->nodes[0].ann.mapping.bound[5][1], 8);
    assert_int_equal(p.graph->nodes[0].ann.mapping.bound[1][1], 2);
    parsed_free(&p);
}

static void test_position_and_caret(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", HEAD "@dataflow(rs) @mapping(dram, [], buf, [K, 2])" TAIL);
    assert_null(p.graph);
    assert_string_equal(p.messages,
                        "net.dnn:2:40: error: @mapping: level 'buf': expected a dimension (N, M, C, "
                        "P, Q, R or S), got 'K'\n"
                        "  @dataflow(rs) @mapping(dram, [], buf, [K, 2]) c = conv(x, filters=16, kernel=3);\n"
                        "                                         ^\n");
    parsed_free(&p);
}

static void test_levels(void **state)
{
    (void)state;
    assert_error(HEAD "@dataflow(rs) @mapping()" TAIL,
                 "net.dnn:2:16: error: @mapping: missing level 'dram' (expected dram, buf, rows, "
                 "cols, pe, rf, each followed by a list of loops)");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [], buf, [M, 2])" TAIL,
                 "net.dnn:2:16: error: @mapping: missing level 'rows' (expected dram, buf, rows, "
                 "cols, pe, rf, each followed by a list of loops)");
    assert_error(HEAD "@dataflow(rs) @mapping(buf, [], dram, [])" TAIL,
                 "net.dnn:2:24: error: @mapping: expected level 'dram' as argument 1, got 'buf' "
                 "(levels go outermost first: dram, buf, rows, cols, pe, rf)");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [], [M, 2])" TAIL,
                 "net.dnn:2:34: error: @mapping: expected level 'buf' as argument 3, got a list "
                 "(levels go outermost first: dram, buf, rows, cols, pe, rf)");
    assert_error(HEAD "@dataflow(rs) @mapping(dram)" TAIL,
                 "net.dnn:2:24: error: @mapping: level 'dram' needs a list of loops such as "
                 "[M, 4, S, 3]");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, 4)" TAIL,
                 "net.dnn:2:30: error: @mapping: level 'dram' expects a list of loops such as "
                 "[M, 4, S, 3], got 4");
    assert_error(HEAD "@dataflow(rs) @mapping(" LOOPS ", dram, [])" TAIL,
                 "net.dnn:2:111: error: @mapping: unexpected argument 13 after the loops of "
                 "level 'rf'");
}

static void test_loops(void **state)
{
    (void)state;
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [4, M])" TAIL,
                 "net.dnn:2:31: error: @mapping: level 'dram': expected a dimension (N, M, C, P, "
                 "Q, R or S), got 4");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [m, 4])" TAIL,
                 "net.dnn:2:31: error: @mapping: level 'dram': expected a dimension (N, M, C, P, "
                 "Q, R or S), got 'm'");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M])" TAIL,
                 "net.dnn:2:31: error: @mapping: level 'dram': the loop over M needs a bound");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, 0])" TAIL,
                 "net.dnn:2:34: error: @mapping: level 'dram': the bound of M must be a positive "
                 "integer, got 0");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, 2 - 4])" TAIL,
                 "net.dnn:2:34: error: @mapping: level 'dram': the bound of M must be a positive "
                 "integer, got -2");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, 2.5])" TAIL,
                 "net.dnn:2:34: error: @mapping: level 'dram': the bound of M must be a positive "
                 "integer, got a number");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, [2]])" TAIL,
                 "net.dnn:2:34: error: @mapping: level 'dram': the bound of M must be a positive "
                 "integer, got a list");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, k])" TAIL,
                 "net.dnn:2:34: error: undefined constant 'k'");
    assert_error(HEAD "@dataflow(rs) @mapping(dram, [M, 2, C, 3, M, 3])" TAIL,
                 "net.dnn:2:43: error: @mapping: level 'dram' has two loops over M");
}

static void test_placement(void **state)
{
    (void)state;
    assert_error(HEAD "@mapping(" LOOPS ")" TAIL,
                 "net.dnn:2:2: error: @mapping needs a @dataflow: a mapping belongs to one "
                 "dataflow");
    assert_error(HEAD "@dataflow(rs) @mapping(" LOOPS ") r = relu(x);\noutput r;\n",
                 "net.dnn:2:16: error: @mapping applies to conv and fc layers, not relu");
    assert_error("block b(x) {\n  c = conv(x, filters=16, kernel=3);\n  return c;\n}\n" HEAD
                 "@dataflow(rs) @mapping(" LOOPS ") y = b(x);\noutput y;\n",
                 "net.dnn:6:16: error: @mapping applies to one conv or fc layer, not to a block call");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_and_prints),
        cmocka_unit_test(test_bounds_from_block_constants),
        cmocka_unit_test(test_position_and_caret),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
