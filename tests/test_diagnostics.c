/* Diagnostics: one test per class of error the front end reports. Each test
 * shows a small network and the exact text a user sees for it: the
 * "file:line:col: error: message" line, the quoted source line and the caret
 * line under the offending text, plus any notes. A rejected network must give
 * no graph and a positive error count.
 *
 * The section "Regressions" at the end guards defects that were found and
 * fixed; each test says what it guarantees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Every test parses its network under this name. */
#define NET "net.dnn"

/* Pass as `errors` to accept any positive number of errors. */
#define SOME_ERRORS (-1)

/* Parses src and checks the verdict (graph built or not), the error and
 * warning counts, and the diagnostics: equal to `text` when `whole`, else
 * containing it. Frees everything before failing, so that a failing test
 * does not also report leaks under AddressSanitizer. */
static void check_parse(const char *file, int line, const char *src, bool want_graph, int errors,
                        int warnings, const char *text, bool whole)
{
    Parsed p;
    parse_text(&p, NET, src);
    const char *got = p.messages ? p.messages : "";
    bool graph_ok = (p.graph != NULL) == want_graph;
    bool errors_ok = errors == SOME_ERRORS ? p.errors > 0 : p.errors == errors;
    bool warnings_ok = warnings < 0 || p.warnings == warnings;
    bool text_ok = whole ? strcmp(got, text) == 0 : strstr(got, text) != NULL;
    bool ok = graph_ok && errors_ok && warnings_ok && text_ok;
    if (!ok) {
        print_error("%s:%d: for the source\n%s\n", file, line, src);
        if (!graph_ok)
            print_error("expected %s\n", want_graph ? "a graph" : "no graph (NULL)");
        if (!errors_ok)
            print_error("expected %d error(s), got %d\n", errors, p.errors);
        if (!warnings_ok)
            print_error("expected %d warning(s), got %d\n", warnings, p.warnings);
        if (!text_ok)
            print_error("expected diagnostics %s\n---\n%s---\ngot\n---\n%s---\n",
                        whole ? "exactly" : "containing", text, got);
    }
    parsed_free(&p);
    if (!ok)
        _fail(file, line);
}

/* The network is rejected with exactly `n` errors and exactly this output. */
#define assert_rejected(n, src, output) \
    check_parse(__FILE__, __LINE__, (src), false, (n), -1, (output), true)

/* The network is rejected and the output contains this excerpt. */
#define assert_rejected_with(src, excerpt) \
    check_parse(__FILE__, __LINE__, (src), false, SOME_ERRORS, -1, (excerpt), false)

/* The network is accepted, with no errors, exactly `n` warnings and exactly
 * this output. */
#define assert_accepted_with_warnings(n, src, output) \
    check_parse(__FILE__, __LINE__, (src), true, 0, (n), (output), true)

static int count_occurrences(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- syntax ------------------------------------------------------------ */

static void test_unexpected_token(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = relu(x));\n"
                    "output y;\n",
                    "net.dnn:2:12: error: syntax error, unexpected ')', expecting ';'\n"
                    "  y = relu(x));\n"
                    "             ^\n");
}

static void test_unterminated_block_reports_end_of_file(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  y = relu(t);\n"
                    "  return y;\n",
                    "net.dnn:4:12: error: syntax error, unexpected end of file, expecting 'return' "
                    "or identifier or '}' or '@'\n"
                    "    return y;\n"
                    "             ^\n");
}

/* Only the first diagnostic is checked here; that one character gives one
 * error is checked in test_one_stray_character_is_one_error. */
static void test_stray_character(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "y = relu(x) $;\n"
                         "output y;\n",
                         "net.dnn:2:13: error: unexpected character '$'\n"
                         "  y = relu(x) $;\n"
                         "              ^\n");
}

/* The byte is shown as '?' in the quoted line, so the caret stays aligned. */
static void test_non_printable_byte(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "y = relu(\x01x);\n"
                         "output y;\n",
                         "net.dnn:2:10: error: unexpected byte 0x01\n"
                         "  y = relu(?x);\n"
                         "           ^\n");
}

static void test_several_syntax_errors_are_reported_in_one_run(void **state)
{
    (void)state;
    assert_rejected(3,
                    "input x: f32[1, 4];\n"
                    "a = relu(x));\n"
                    "b = relu(a,, );\n"
                    "c = (relu(b);\n"
                    "output c;\n",
                    "net.dnn:2:12: error: syntax error, unexpected ')', expecting ';'\n"
                    "  a = relu(x));\n"
                    "             ^\n"
                    "net.dnn:3:12: error: syntax error, unexpected ','\n"
                    "  b = relu(a,, );\n"
                    "             ^\n"
                    "net.dnn:4:5: error: syntax error, unexpected '(', expecting identifier\n"
                    "  c = (relu(b);\n"
                    "      ^\n");
}

static void test_integer_literal_too_large(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 99999999999999999999];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:17: error: integer literal '99999999999999999999' is too large\n"
                    "  input x: f32[1, 99999999999999999999];\n"
                    "                  ^~~~~~~~~~~~~~~~~~~~\n");
}

/* ---- ops and attributes ---------------------------------------------------- */

static void test_unknown_op_suggests_a_close_name(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = sigmod(x);\n"
                    "output y;\n",
                    "net.dnn:2:5: error: unknown op or block 'sigmod'; did you mean 'sigmoid'?\n"
                    "  y = sigmod(x);\n"
                    "      ^~~~~~\n");
}

static void test_unknown_op_far_from_every_name_has_no_suggestion(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = frobnicate(x);\n"
                    "output y;\n",
                    "net.dnn:2:5: error: unknown op or block 'frobnicate'\n"
                    "  y = frobnicate(x);\n"
                    "      ^~~~~~~~~~\n");
}

static void test_unknown_callee_suggests_a_block_name(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block resblock(t) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = resblok(x);\n"
                    "output y;\n",
                    "net.dnn:6:5: error: unknown op or block 'resblok'; did you mean 'resblock'?\n"
                    "  y = resblok(x);\n"
                    "      ^~~~~~~\n");
}

static void test_unknown_attribute_suggests_a_close_name(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, strid=2);\n"
                    "output y;\n",
                    "net.dnn:2:34: error: conv has no attribute 'strid'; did you mean 'stride'?\n"
                    "  y = conv(x, filters=4, kernel=3, strid=2);\n"
                    "                                   ^~~~~\n");
}

static void test_unknown_attribute_far_from_every_name_has_no_suggestion(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, zzzzzz=2);\n"
                    "output y;\n",
                    "net.dnn:2:34: error: conv has no attribute 'zzzzzz'\n"
                    "  y = conv(x, filters=4, kernel=3, zzzzzz=2);\n"
                    "                                   ^~~~~~\n");
}

static void test_attribute_given_twice(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, filters=8);\n"
                    "output y;\n",
                    "net.dnn:2:34: error: attribute 'filters' is given twice\n"
                    "  y = conv(x, filters=4, kernel=3, filters=8);\n"
                    "                                   ^~~~~~~\n");
}

static void test_missing_required_attribute(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:5: error: conv requires the attribute 'filters' (number of output "
                    "channels)\n"
                    "  y = conv(x, kernel=3);\n"
                    "      ^~~~\n");
}

static void test_attribute_of_the_wrong_kind(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=2.5, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:21: error: conv: attribute 'filters' expects an integer\n"
                    "  y = conv(x, filters=2.5, kernel=3);\n"
                    "                      ^~~\n");
}

static void test_attribute_below_its_minimum(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, stride=0);\n"
                    "output y;\n",
                    "net.dnn:2:41: error: conv: attribute 'stride' must be at least 1, got 0\n"
                    "  y = conv(x, filters=4, kernel=3, stride=0);\n"
                    "                                          ^\n");
}

static void test_pad_list_of_three_values(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, pad=[1, 1, 1]);\n"
                    "output y;\n",
                    "net.dnn:2:38: error: conv: attribute 'pad' expects p, [h, w] or [top, left, "
                    "bottom, right], got 3 values\n"
                    "  y = conv(x, filters=4, kernel=3, pad=[1, 1, 1]);\n"
                    "                                       ^~~~~~~~~\n");
}

static void test_bool_attribute_given_an_integer(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, bias=1);\n"
                    "output y;\n",
                    "net.dnn:2:39: error: conv: attribute 'bias' expects true or false\n"
                    "  y = conv(x, filters=4, kernel=3, bias=1);\n"
                    "                                        ^\n");
}

/* ---- names --------------------------------------------------------------- */

static void test_undefined_name_suggests_a_close_name(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input data: f32[1, 4];\n"
                    "y = relu(dta);\n"
                    "output y;\n",
                    "net.dnn:2:10: error: undefined name 'dta'; did you mean 'data'?\n"
                    "  y = relu(dta);\n"
                    "           ^~~\n");
}

static void test_undefined_name_far_from_every_name_has_no_suggestion(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input data: f32[1, 4];\n"
                    "y = relu(qqqqqqq);\n"
                    "output y;\n",
                    "net.dnn:2:10: error: undefined name 'qqqqqqq'\n"
                    "  y = relu(qqqqqqq);\n"
                    "           ^~~~~~~\n");
}

static void test_redefinition_of_a_layer_points_at_the_first(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = relu(x);\n"
                    "y = sigmoid(x);\n"
                    "output y;\n",
                    "net.dnn:3:1: error: redefinition of 'y'\n"
                    "  y = sigmoid(x);\n"
                    "  ^\n"
                    "net.dnn:2:1: note: previous definition is here\n"
                    "  y = relu(x);\n"
                    "  ^\n");
}

static void test_redefinition_of_an_input_points_at_the_input(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "x = relu(x);\n"
                    "output x;\n",
                    "net.dnn:2:1: error: redefinition of 'x'\n"
                    "  x = relu(x);\n"
                    "  ^\n"
                    "net.dnn:1:7: note: previous definition is here\n"
                    "  input x: f32[1, 4];\n"
                    "        ^\n");
}

static void test_redefinition_of_a_block(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "block b(t) {\n"
                    "  s = sigmoid(t);\n"
                    "  return s;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:6:7: error: redefinition of block 'b'\n"
                    "  block b(t) {\n"
                    "        ^\n"
                    "net.dnn:2:7: note: previous definition is here\n"
                    "  block b(t) {\n"
                    "        ^\n");
}

/* ---- cycles ---------------------------------------------------------------- */

static void test_layer_reading_itself_is_a_cycle(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "a = relu(a);\n"
                    "output a;\n",
                    "net.dnn:2:1: error: cycle: 'a' depends on itself (a -> a)\n"
                    "  a = relu(a);\n"
                    "  ^\n");
}

static void test_cycle_through_three_layers_lists_the_path(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "a = relu(c);\n"
                    "b = relu(a);\n"
                    "c = relu(b);\n"
                    "output c;\n",
                    "net.dnn:2:1: error: cycle: 'a' depends on itself (a -> c -> b -> a)\n"
                    "  a = relu(c);\n"
                    "  ^\n");
}

/* ---- shapes ---------------------------------------------------------------- */

static void test_add_of_different_shapes_names_both(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input a: f32[1, 4];\n"
                    "input b: f32[1, 5];\n"
                    "y = add(a, b);\n"
                    "output y;\n",
                    "net.dnn:3:1: error: add: operand shapes do not broadcast: 'a' (f32[1, 4]) and 'b' "
                    "(f32[1, 5])\n"
                    "  y = add(a, b);\n"
                    "  ^\n");
}

static void test_concat_mismatch_outside_the_axis_names_both(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input a: f32[1, 2, 8, 8];\n"
                    "input b: f32[1, 3, 4, 8];\n"
                    "y = concat(a, b);\n"
                    "output y;\n",
                    "net.dnn:3:1: error: concat: 'a' (f32[1, 2, 8, 8]) and 'b' (f32[1, 3, 4, 8]) "
                    "differ outside axis 1\n"
                    "  y = concat(a, b);\n"
                    "  ^\n");
}

static void test_conv_channels_not_divisible_by_groups(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=4, kernel=3, groups=2);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: conv: the 3 input channels of 'x' (f32[1, 3, 8, 8]) are "
                    "not divisible by groups=2\n"
                    "  y = conv(x, filters=4, kernel=3, groups=2);\n"
                    "  ^\n");
}

static void test_window_larger_than_the_input(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 4, 4];\n"
                    "y = conv(x, filters=4, kernel=5);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: conv: a window of 5 does not fit the height "
                    "of 'x' (f32[1, 3, 4, 4]) with padding 0+0\n"
                    "  y = conv(x, filters=4, kernel=5);\n"
                    "  ^\n");
}

static void test_reshape_element_count_mismatch(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 4, 4];\n"
                    "y = reshape(x, shape=[1, 47]);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: reshape: 'x' (f32[1, 3, 4, 4]) has 48 elements but the "
                    "target shape [1, 47] has 47\n"
                    "  y = reshape(x, shape=[1, 47]);\n"
                    "  ^\n");
}

static void test_slice_out_of_range(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 4, 4];\n"
                    "y = slice(x, start=1, end=4);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: slice: [1, 4) is not a non-empty range inside dimension 1 "
                    "(3) of 'x' (f32[1, 3, 4, 4])\n"
                    "  y = slice(x, start=1, end=4);\n"
                    "  ^\n");
}

/* ---- warnings: the graph is still built ------------------------------------ */

static void test_unused_layer_is_a_warning(void **state)
{
    (void)state;
    assert_accepted_with_warnings(1,
                                  "input x: f32[1, 4];\n"
                                  "y = relu(x);\n"
                                  "z = sigmoid(x);\n"
                                  "output y;\n",
                                  "net.dnn:3:1: warning: the result of 'z' is never used\n"
                                  "  z = sigmoid(x);\n"
                                  "  ^\n");
}

static void test_unused_input_is_a_warning(void **state)
{
    (void)state;
    assert_accepted_with_warnings(1,
                                  "input x: f32[1, 4];\n"
                                  "input w: f32[1, 4];\n"
                                  "y = relu(x);\n"
                                  "output y;\n",
                                  "net.dnn:2:7: warning: input 'w' is never used\n"
                                  "  input w: f32[1, 4];\n"
                                  "        ^\n");
}

/* Reported once for the statement, not once per instance of the block. */
static void test_unused_layer_in_a_block_is_reported_once(void **state)
{
    (void)state;
    assert_accepted_with_warnings(1,
                                  "input x: f32[1, 4];\n"
                                  "block b(t) {\n"
                                  "  u = sigmoid(t);\n"
                                  "  r = relu(t);\n"
                                  "  return r;\n"
                                  "}\n"
                                  "y1 = b(x);\n"
                                  "y2 = b(y1);\n"
                                  "output y2;\n",
                                  "net.dnn:3:3: warning: the result of 'y1.u' is never used\n"
                                  "    u = sigmoid(t);\n"
                                  "    ^\n"
                                  "net.dnn:7:6: note: in block 'b' instantiated here\n"
                                  "  y1 = b(x);\n"
                                  "       ^\n");
}

/* ---- blocks ---------------------------------------------------------------- */

static void test_error_in_a_block_instance_notes_the_call(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "block b(t, k) {\n"
                    "  c = conv(t, filters=4, kernel=k);\n"
                    "  return c;\n"
                    "}\n"
                    "y = b(x, 9);\n"
                    "output y;\n",
                    "net.dnn:3:3: error: conv: a window of 9 does not fit the height "
                    "of 'x' (f32[1, 3, 8, 8]) with padding 0+0\n"
                    "    c = conv(t, filters=4, kernel=k);\n"
                    "    ^\n"
                    "net.dnn:6:5: note: in block 'b' instantiated here\n"
                    "  y = b(x, 9);\n"
                    "      ^\n");
}

static void test_attribute_error_in_a_block_notes_the_call(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "block b(t) {\n"
                    "  c = conv(t, filters=4, kernel=3, strid=1);\n"
                    "  return c;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:3:36: error: conv has no attribute 'strid'; did you mean 'stride'?\n"
                    "    c = conv(t, filters=4, kernel=3, strid=1);\n"
                    "                                     ^~~~~\n"
                    "net.dnn:6:5: note: in block 'b' instantiated here\n"
                    "  y = b(x);\n"
                    "      ^\n");
}

static void test_error_in_a_nested_block_notes_every_call(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "block inner(t) {\n"
                    "  c = conv(t, filters=4, kernel=3, groups=2);\n"
                    "  return c;\n"
                    "}\n"
                    "block outer(t) {\n"
                    "  i = inner(t);\n"
                    "  return i;\n"
                    "}\n"
                    "y = outer(x);\n"
                    "output y;\n",
                    "net.dnn:3:3: error: conv: the 3 input channels of 'x' (f32[1, 3, 8, 8]) are "
                    "not divisible by groups=2\n"
                    "    c = conv(t, filters=4, kernel=3, groups=2);\n"
                    "    ^\n"
                    "net.dnn:7:7: note: in block 'inner' instantiated here\n"
                    "    i = inner(t);\n"
                    "        ^~~~~\n"
                    "net.dnn:10:5: note: in block 'outer' instantiated here\n"
                    "  y = outer(x);\n"
                    "      ^~~~~\n");
}

static void test_block_instantiating_itself(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = b(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:3:7: error: block 'b' instantiates itself\n"
                    "    r = b(t);\n"
                    "        ^\n"
                    "net.dnn:6:5: note: in block 'b' instantiated here\n"
                    "  y = b(x);\n"
                    "      ^\n");
}

static void test_blocks_instantiating_each_other(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block a(t) {\n"
                    "  r = c(t);\n"
                    "  return r;\n"
                    "}\n"
                    "block c(t) {\n"
                    "  r = a(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = a(x);\n"
                    "output y;\n",
                    "net.dnn:7:7: error: block 'a' instantiates itself\n"
                    "    r = a(t);\n"
                    "        ^\n"
                    "net.dnn:3:7: note: in block 'c' instantiated here\n"
                    "    r = c(t);\n"
                    "        ^\n"
                    "net.dnn:10:5: note: in block 'a' instantiated here\n"
                    "  y = a(x);\n"
                    "      ^\n");
}

static void test_block_argument_for_an_unknown_parameter(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x, alpha=2);\n"
                    "output y;\n",
                    "net.dnn:6:10: error: block 'b' has no parameter 'alpha'\n"
                    "  y = b(x, alpha=2);\n"
                    "           ^~~~~\n");
}

static void test_block_argument_missing(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t, n) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:6:5: error: block 'b' needs the argument 'n'\n"
                    "  y = b(x);\n"
                    "      ^\n");
}

/* Only the start of the message is checked here; the full message with the
 * count is checked by test_too_many_block_arguments_are_counted. */
static void test_too_many_block_arguments(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "block b(t) {\n"
                         "  r = relu(t);\n"
                         "  return r;\n"
                         "}\n"
                         "y = b(x, x);\n"
                         "output y;\n",
                         "net.dnn:6:10: error: block 'b' takes 1 argument");
}

static void test_block_without_return(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = relu(t);\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:2:7: error: block 'b' has no 'return' statement\n"
                    "  block b(t) {\n"
                    "        ^\n");
}

/* ---- outputs --------------------------------------------------------------- */

/* Checks the message only; that it names the file is checked by
 * test_missing_output_declaration_names_the_file. */
static void test_missing_output_declaration(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "y = relu(x);\n",
                         "error: the network declares no outputs (add 'output NAME;')\n");
}

static void test_undefined_output(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = relu(x);\n"
                    "output yy;\n",
                    "net.dnn:3:8: error: undefined output 'yy'\n"
                    "  output yy;\n"
                    "         ^~\n");
}

/* ---- input declarations ------------------------------------------------------ */

static void test_unknown_element_type(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f33[1, 4];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:10: error: unknown element type 'f33'\n"
                    "  input x: f33[1, 4];\n"
                    "           ^~~\n");
}

static void test_fixed_point_type_without_parameters(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: fixed[1, 4];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:10: error: element type 'fixed' takes 2 parameters, got 0\n"
                    "  input x: fixed[1, 4];\n"
                    "           ^~~~~\n");
}

static void test_zero_dimension(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 0];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:17: error: a dimension of input 'x' must be a positive integer\n"
                    "  input x: f32[1, 0];\n"
                    "                  ^\n");
}

static void test_negative_dimension(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, -3];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:17: error: a dimension of input 'x' must be a positive integer\n"
                    "  input x: f32[1, -3];\n"
                    "                  ^~\n");
}

static void test_rank_above_eight(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 1, 1, 1, 1, 1, 1, 1, 1];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:13: error: input 'x' has rank 9; dnnc supports up to 8\n"
                    "  input x: f32[1, 1, 1, 1, 1, 1, 1, 1, 1];\n"
                    "              ^~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}

/* ---- overflow -------------------------------------------------------------- */

static void test_input_dimensions_whose_product_overflows(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1000000000, 1000000000, 1000000000];\n"
                    "y = relu(x);\n"
                    "output y;\n",
                    "net.dnn:1:13: error: input 'x' has more than 2^48 elements\n"
                    "  input x: f32[1000000000, 1000000000, 1000000000];\n"
                    "              ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}

static void test_conv_with_huge_filter_count(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "y = conv(x, filters=1000000000000000, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: conv: filters=1000000000000000 is too large (at most 2^48)\n"
                    "  y = conv(x, filters=1000000000000000, kernel=3);\n"
                    "  ^\n");
}

static void test_conv_with_too_many_macs(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 224, 224];\n"
                    "y = conv(x, filters=1099511627776, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:1: error: conv: the layer needs more than 2^56 multiply-accumulates\n"
                    "  y = conv(x, filters=1099511627776, kernel=3);\n"
                    "  ^\n");
}

static void test_overflow_in_a_block_default(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t, n=9223372036854775807 + 1) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:2:14: error: integer overflow in '+'\n"
                    "  block b(t, n=9223372036854775807 + 1) {\n"
                    "               ^~~~~~~~~~~~~~~~~~~~~~~\n");
}

static void test_overflow_in_an_attribute_inside_a_block(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "block b(t, k) {\n"
                    "  c = conv(t, filters=4, kernel=k * 4611686018427387904);\n"
                    "  return c;\n"
                    "}\n"
                    "y = b(x, 2);\n"
                    "output y;\n",
                    "net.dnn:3:33: error: integer overflow in '*'\n"
                    "    c = conv(t, filters=4, kernel=k * 4611686018427387904);\n"
                    "                                  ^~~~~~~~~~~~~~~~~~~~~~~\n"
                    "net.dnn:6:5: note: in block 'b' instantiated here\n"
                    "  y = b(x, 2);\n"
                    "      ^\n");
}

static void test_division_by_zero(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t, n=4 / 0) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:2:14: error: division by zero\n"
                    "  block b(t, n=4 / 0) {\n"
                    "               ^~~~~\n");
}

/* ---- annotations: @layout ---------------------------------------------------- */

static void test_layout_unknown_name_lists_the_known_ones(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 16, 8, 8];\n"
                         "@layout(nchw8c) y = conv(x, filters=16, kernel=1);\n"
                         "z = relu(y);\n"
                         "output z;\n",
                         "net.dnn:2:9: error: @layout: unknown value 'nchw8c' (known: nchw, nchw16c)\n");
}

/* Blocks hold channels of 4-d tensors (any number: the last block may be
 * padded). */
static void test_layout_needs_four_dimensions(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 16];\n"
                         "@layout(nchw16c) y = relu(x);\n"
                         "z = relu(y);\n"
                         "output z;\n",
                         "error: layer 'y': @layout(nchw16c): nchw16c holds only 4-d tensors (this one "
                         "has 2 dimensions)\n");
}

/* The caller of a compiled network reads its outputs plain. */
static void test_layout_of_a_network_output(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 16, 8, 8];\n"
                         "@layout(nchw16c) y = conv(x, filters=16, kernel=1);\n"
                         "output y;\n",
                         "net.dnn:2:18: error: layer 'y': @layout(nchw16c): a network output is always "
                         "nchw\n");
}

/* ---- annotations: @algo's tile ------------------------------------------------ */

static void test_tile_on_an_algorithm_without_one(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "@algo(direct, tile=4) y = conv(x, filters=4, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:15: error: @algo(direct) takes no tile: only winograd and fft have "
                    "one\n"
                    "  @algo(direct, tile=4) y = conv(x, filters=4, kernel=3);\n"
                    "                ^~~~\n");
}

static void test_winograd_tile_not_2_4_or_6(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 3, 8, 8];\n"
                    "@algo(winograd, tile=3) y = conv(x, filters=4, kernel=3);\n"
                    "output y;\n",
                    "net.dnn:2:22: error: @algo(winograd): tile must be 2, 4 or 6 (the output tile "
                    "m of F(m x m, 3 x 3)), got 3\n"
                    "  @algo(winograd, tile=3) y = conv(x, filters=4, kernel=3);\n"
                    "                       ^\n");
}

static void test_fft_tile_not_a_power_of_two_from_4_to_64(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(fft, tile=128) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "net.dnn:2:17: error: @algo(fft): tile must be 4, 8, 16, 32 or 64 (the FFT "
                         "size), got 128\n");
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(fft, tile=[8]) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "error: @algo(fft): tile must be 4, 8, 16, 32 or 64 (the FFT size), got a "
                         "list\n");
}

static void test_algo_argument_other_than_tile(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(winograd, size=4) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "net.dnn:2:17: error: @algo has no argument 'size' (known: tile)\n");
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(winograd, tile=2, tile=4) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "net.dnn:2:25: error: @algo: argument 'tile' is given twice\n");
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(winograd, 4) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "error: @algo takes one algorithm (and tile=N for winograd and fft)\n");
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@algo(tile=4, winograd) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "net.dnn:2:15: error: @algo: positional argument after keyword "
                         "arguments\n");
    assert_rejected_with("input x: f32[1, 3, 8, 8];\n"
                         "@sparse(csr, tile=4) y = conv(x, filters=4, kernel=3);\n"
                         "output y;\n",
                         "net.dnn:2:14: error: @sparse takes no keyword arguments\n");
}

/* The tile is a constant expression: a block parameter may give it, and a
 * layer's own @algo replaces the block call's, tile included. */
static void test_tile_from_a_block_parameter(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, NET,
               "input x: f32[1, 3, 8, 8];\n"
               "block b(t, m) {\n"
               "  @algo(winograd, tile=m) c = conv(t, filters=4, kernel=3);\n"
               "  @algo(direct) d = conv(c, filters=4, kernel=3);\n"
               "  return d;\n"
               "}\n"
               "@algo(winograd, tile=2) y = b(x, m=2 * 3);\n"
               "output y;\n");
    if (!p.graph)
        fail_msg("%s", p.messages);
    assert_int_equal(p.graph->nodes[0].ann.algo, ALGO_WINOGRAD);
    assert_int_equal(p.graph->nodes[0].ann.algo_tile, 6);
    assert_int_equal(p.graph->nodes[1].ann.algo, ALGO_DIRECT);
    assert_int_equal(p.graph->nodes[1].ann.algo_tile, 0);
    parsed_free(&p);
}

/* ---- the error limit --------------------------------------------------------- */

/* `n` lines made from `line_fmt` (one %d for the line's number), between an
 * input declaration and an output declaration. */
static char *network_with_lines(int n, const char *line_fmt)
{
    size_t size = 0;
    char *text = NULL;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    fputs("input x: f32[1, 4];\n", f);
    for (int i = 1; i <= n; i++) {
        fprintf(f, line_fmt, i);
        fputc('\n', f);
    }
    fputs("output y1;\n", f);
    fclose(f);
    return text;
}

/* 25 errors: the first 20 are shown (lines 2..21), then the run stops. */
static void check_error_limit(const char *line_fmt)
{
    char *src = network_with_lines(25, line_fmt);
    Parsed p;
    parse_text(&p, NET, src);
    bool ok = !p.graph && p.errors >= 20 && count_occurrences(p.messages, ": error: ") == 20 &&
              strstr(p.messages, "net.dnn:21:") && !strstr(p.messages, "net.dnn:22:") &&
              strstr(p.messages, "dnnc: fatal: too many errors (20), stopping\n");
    if (!ok)
        print_error("expected 20 errors then 'too many errors'; got %d errors:\n%s\n", p.errors,
                    p.messages);
    parsed_free(&p);
    free(src);
    assert_true(ok);
}

static void test_more_than_20_semantic_errors_stop_the_run(void **state)
{
    (void)state;
    check_error_limit("y%d = frob(x);");
}

static void test_more_than_20_syntax_errors_stop_the_run(void **state)
{
    (void)state;
    check_error_limit("y%d = relu(x));");
}

/* ---- Regressions -------------------------------------------------------------
 * Each test below guards a defect that was found and fixed in the compiler,
 * so that it stays fixed. */

/* A missing ';' is reported just past the last token of the statement, as
 * gcc and clang do, not at the next token on the following line. Only the
 * position, the quoted line and the caret are checked, not the wording. */
static void test_missing_semicolon_is_reported_after_the_statement(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, NET,
               "input x: f32[1, 4];\n"
               "y = relu(x)\n"
               "output y;\n");
    bool ok = !p.graph && p.errors == 1 &&
              strncmp(p.messages, "net.dnn:2:12: error: ", strlen("net.dnn:2:12: error: ")) == 0 &&
              strstr(p.messages, "';'") &&
              strstr(p.messages, "\n  y = relu(x)\n             ^\n");
    if (!ok)
        print_error("expected one error at 2:12 mentioning ';', quoting line 2; got %d:\n%s\n",
                    p.errors, p.messages);
    parsed_free(&p);
    assert_true(ok);
}

/* A stray character gives exactly one error, the scanner's "unexpected
 * character", with no second syntax error at the same place. */
static void test_one_stray_character_is_one_error(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = relu(x) $;\n"
                    "output y;\n",
                    "net.dnn:2:13: error: unexpected character '$'\n"
                    "  y = relu(x) $;\n"
                    "              ^\n");
}

/* One non-ASCII character (here U+00D7, as pasted from a paper) gives one
 * error at the character's column, not one per UTF-8 byte; its wording is
 * left open. */
static void test_one_non_ascii_character_is_one_error(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "y = relu(x \xc3\x97 2);\n"
                         "output y;\n",
                         "net.dnn:2:12: error: unexpected ");
    Parsed p;
    parse_text(&p, NET,
               "input x: f32[1, 4];\n"
               "y = relu(x \xc3\x97 2);\n"
               "output y;\n");
    int errors = p.errors;
    if (errors != 1)
        print_error("expected 1 error, got %d:\n%s\n", errors, p.messages);
    parsed_free(&p);
    assert_int_equal(errors, 1);
}

/* Swapping two adjacent letters, the most common typo, counts as one edit
 * (Damerau distance), so even a 4-letter op name gets its suggestion. */
static void test_unknown_op_with_swapped_letters_suggests_the_op(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "y = rleu(x);\n"
                    "output y;\n",
                    "net.dnn:2:5: error: unknown op or block 'rleu'; did you mean 'relu'?\n"
                    "  y = rleu(x);\n"
                    "      ^~~~\n");
}

/* "did you mean" never suggests the layer being defined (here 'conv2'),
 * since that fix would be a cycle. */
static void test_undefined_name_does_not_suggest_the_layer_itself(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "conv2 = relu(conv3);\n"
                    "output conv2;\n",
                    "net.dnn:2:14: error: undefined name 'conv3'\n"
                    "  conv2 = relu(conv3);\n"
                    "               ^~~~~\n");
}

/* Inside a block, an undefined name one letter away from a block
 * parameter gets that parameter as its suggestion. */
static void test_undefined_name_in_a_block_suggests_a_parameter(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = relu(tt);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x);\n"
                    "output y;\n",
                    "net.dnn:3:12: error: undefined name 'tt' in block 'b'; did you mean 't'?\n"
                    "    r = relu(tt);\n"
                    "             ^~\n"
                    "net.dnn:6:5: note: in block 'b' instantiated here\n"
                    "  y = b(x);\n"
                    "      ^\n");
}

/* Too many block arguments give one error with the count of arguments
 * given, at the first extra one, not one error per extra argument. */
static void test_too_many_block_arguments_are_counted(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\n"
                    "block b(t) {\n"
                    "  r = relu(t);\n"
                    "  return r;\n"
                    "}\n"
                    "y = b(x, x, x);\n"
                    "output y;\n",
                    "net.dnn:6:10: error: block 'b' takes 1 argument, got 3\n"
                    "  y = b(x, x, x);\n"
                    "           ^\n");
}

/* "the network declares no outputs" starts with the file name, like every
 * other diagnostic. Only that prefix is checked (a line and column, e.g. the
 * end of the file, are allowed). */
static void test_missing_output_declaration_names_the_file(void **state)
{
    (void)state;
    assert_rejected_with("input x: f32[1, 4];\n"
                         "y = relu(x);\n",
                         "net.dnn:");
}

/* With CRLF line ends, quoted source lines are shown without the carriage
 * return (no trailing '?' for a non-printable byte). */
static void test_crlf_source_lines_are_quoted_without_the_carriage_return(void **state)
{
    (void)state;
    assert_rejected(1,
                    "input x: f32[1, 4];\r\n"
                    "y = relu(q);\r\n"
                    "output y;\r\n",
                    "net.dnn:2:10: error: undefined name 'q'; did you mean 'x'?\n"
                    "  y = relu(q);\n"
                    "           ^\n");
}

/* Deeply nested parentheses give an error saying the nesting is too deep,
 * never bison's "memory exhausted", which reads like a crash. */
static void test_deep_parentheses_say_nesting_not_memory(void **state)
{
    (void)state;
    size_t depth = 20000;
    char *src = malloc(4 * depth + 200);
    assert_non_null(src);
    char *p = src + sprintf(src, "input x: f32[1, 4];\nblock b(t, n=");
    memset(p, '(', depth), p += depth;
    *p++ = '1';
    memset(p, ')', depth), p += depth;
    strcpy(p, ") {\n  r = relu(t);\n  return r;\n}\ny = b(x);\noutput y;\n");
    Parsed q;
    parse_text(&q, NET, src);
    bool ok = !q.graph && q.errors > 0 && !strstr(q.messages, "memory exhausted") &&
              strstr(q.messages, "nested");
    if (!ok)
        print_error("expected an error about nesting, got:\n%.300s\n", q.messages);
    parsed_free(&q);
    free(src);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* syntax */
        cmocka_unit_test(test_unexpected_token),
        cmocka_unit_test(test_unterminated_block_reports_end_of_file),
        cmocka_unit_test(test_stray_character),
        cmocka_unit_test(test_non_printable_byte),
        cmocka_unit_test(test_several_syntax_errors_are_reported_in_one_run),
        cmocka_unit_test(test_integer_literal_too_large),
        /* ops and attributes */
        cmocka_unit_test(test_unknown_op_suggests_a_close_name),
        cmocka_unit_test(test_unknown_op_far_from_every_name_has_no_suggestion),
        cmocka_unit_test(test_unknown_callee_suggests_a_block_name),
        cmocka_unit_test(test_unknown_attribute_suggests_a_close_name),
        cmocka_unit_test(test_unknown_attribute_far_from_every_name_has_no_suggestion),
        cmocka_unit_test(test_attribute_given_twice),
        cmocka_unit_test(test_missing_required_attribute),
        cmocka_unit_test(test_attribute_of_the_wrong_kind),
        cmocka_unit_test(test_attribute_below_its_minimum),
        cmocka_unit_test(test_pad_list_of_three_values),
        cmocka_unit_test(test_bool_attribute_given_an_integer),
        /* names */
        cmocka_unit_test(test_undefined_name_suggests_a_close_name),
        cmocka_unit_test(test_undefined_name_far_from_every_name_has_no_suggestion),
        cmocka_unit_test(test_redefinition_of_a_layer_points_at_the_first),
        cmocka_unit_test(test_redefinition_of_an_input_points_at_the_input),
        cmocka_unit_test(test_redefinition_of_a_block),
        /* cycles */
        cmocka_unit_test(test_layer_reading_itself_is_a_cycle),
        cmocka_unit_test(test_cycle_through_three_layers_lists_the_path),
        /* shapes */
        cmocka_unit_test(test_add_of_different_shapes_names_both),
        cmocka_unit_test(test_concat_mismatch_outside_the_axis_names_both),
        cmocka_unit_test(test_conv_channels_not_divisible_by_groups),
        cmocka_unit_test(test_window_larger_than_the_input),
        cmocka_unit_test(test_reshape_element_count_mismatch),
        cmocka_unit_test(test_slice_out_of_range),
        /* warnings */
        cmocka_unit_test(test_unused_layer_is_a_warning),
        cmocka_unit_test(test_unused_input_is_a_warning),
        cmocka_unit_test(test_unused_layer_in_a_block_is_reported_once),
        /* blocks */
        cmocka_unit_test(test_error_in_a_block_instance_notes_the_call),
        cmocka_unit_test(test_attribute_error_in_a_block_notes_the_call),
        cmocka_unit_test(test_error_in_a_nested_block_notes_every_call),
        cmocka_unit_test(test_block_instantiating_itself),
        cmocka_unit_test(test_blocks_instantiating_each_other),
        cmocka_unit_test(test_block_argument_for_an_unknown_parameter),
        cmocka_unit_test(test_block_argument_missing),
        cmocka_unit_test(test_too_many_block_arguments),
        cmocka_unit_test(test_block_without_return),
        /* outputs */
        cmocka_unit_test(test_missing_output_declaration),
        cmocka_unit_test(test_undefined_output),
        /* input declarations */
        cmocka_unit_test(test_unknown_element_type),
        cmocka_unit_test(test_fixed_point_type_without_parameters),
        cmocka_unit_test(test_zero_dimension),
        cmocka_unit_test(test_negative_dimension),
        cmocka_unit_test(test_rank_above_eight),
        /* overflow */
        cmocka_unit_test(test_input_dimensions_whose_product_overflows),
        cmocka_unit_test(test_conv_with_huge_filter_count),
        cmocka_unit_test(test_conv_with_too_many_macs),
        cmocka_unit_test(test_overflow_in_a_block_default),
        cmocka_unit_test(test_overflow_in_an_attribute_inside_a_block),
        cmocka_unit_test(test_division_by_zero),
        /* annotations: @layout */
        cmocka_unit_test(test_layout_unknown_name_lists_the_known_ones),
        cmocka_unit_test(test_layout_needs_four_dimensions),
        cmocka_unit_test(test_layout_of_a_network_output),
        /* annotations: @algo's tile */
        cmocka_unit_test(test_tile_on_an_algorithm_without_one),
        cmocka_unit_test(test_winograd_tile_not_2_4_or_6),
        cmocka_unit_test(test_fft_tile_not_a_power_of_two_from_4_to_64),
        cmocka_unit_test(test_algo_argument_other_than_tile),
        cmocka_unit_test(test_tile_from_a_block_parameter),
        /* the error limit */
        cmocka_unit_test(test_more_than_20_semantic_errors_stop_the_run),
        cmocka_unit_test(test_more_than_20_syntax_errors_stop_the_run),
        /* regressions: defects found and fixed */
        cmocka_unit_test(test_missing_semicolon_is_reported_after_the_statement),
        cmocka_unit_test(test_one_stray_character_is_one_error),
        cmocka_unit_test(test_one_non_ascii_character_is_one_error),
        cmocka_unit_test(test_unknown_op_with_swapped_letters_suggests_the_op),
        cmocka_unit_test(test_undefined_name_does_not_suggest_the_layer_itself),
        cmocka_unit_test(test_undefined_name_in_a_block_suggests_a_parameter),
        cmocka_unit_test(test_too_many_block_arguments_are_counted),
        cmocka_unit_test(test_missing_output_declaration_names_the_file),
        cmocka_unit_test(test_crlf_source_lines_are_quoted_without_the_carriage_return),
        cmocka_unit_test(test_deep_parentheses_say_nesting_not_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
