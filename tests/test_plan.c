/* The cpu target's memory plan (codegen/llvm/plan.c): where each tensor
 * lives when compiled code runs. Here: concats whose operands are computed
 * in their slices of the output, and the cases where they must copy. The
 * values the plans compute are checked by every network test (test_golden,
 * cpu_examples, test_cpu_blocked's network); these check the decisions. */
#include <stdio.h>
#include <stdlib.h>

#include "bind.h"
#include "plan.h"
#include "test_util.h"

typedef struct Planned {
    Parsed p;
    KernelBinding *bind;
    Plan plan;
} Planned;

/* Parses text, runs the cpu pipeline at `level` and plans it. */
static void plan_text(Planned *x, const char *text, int level)
{
    parse_text(&x->p, "plan.dnn", text);
    if (!x->p.graph)
        fail_msg("%s", x->p.messages);
    randomize_weights_for_test(x->p.graph, 1);
    run_pipeline_or_fail(x->p.graph, "cpu", level);
    char err[512];
    x->bind = bind_graph(x->p.graph, ISA_ANY, err, sizeof err);
    if (!x->bind)
        fail_msg("bind: %s", err);
    if (!plan_build(x->p.graph, x->bind, &x->plan, err, sizeof err))
        fail_msg("plan: %s", err);
}

static void planned_free(Planned *x)
{
    plan_free(&x->plan);
    free(x->bind);
    parsed_free(&x->p);
}

static int tensor(const Planned *x, const char *name)
{
    int t = graph_find_tensor(x->p.graph, name);
    if (t < 0)
        fail_msg("no tensor %s", name);
    return t;
}

static int node_of(const Planned *x, const char *name)
{
    return x->p.graph->tensors[tensor(x, name)].producer;
}

static const Location *loc(const Planned *x, const char *name) { return &x->plan.loc[tensor(x, name)]; }

/* Whether the concat `name` has no code and its operands lie in it end to
 * end at the given byte offsets. */
static void assert_in_place(const Planned *x, const char *concat, const char *const *operands,
                            const size_t *offsets, int n)
{
    assert_true(x->plan.aliases[node_of(x, concat)]);
    const Location *c = loc(x, concat);
    assert_int_equal(c->kind, LOC_WORKSPACE);
    for (int i = 0; i < n; i++) {
        const Location *o = loc(x, operands[i]);
        assert_int_equal(o->kind, LOC_WORKSPACE);
        assert_int_equal(o->offset, c->offset + offsets[i]);
    }
}

/* Plain channels of one image: slices of 16 x 8 x 8 floats (4 KiB) and
 * 8 x 8 x 8 (2 KiB), both 64-byte aligned. */
static void test_plain_concat_in_place(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 4, 8, 8];\n"
              "a = conv(x, filters=16, kernel=1);\n"
              "b = conv(x, filters=8, kernel=3, pad=1);\n"
              "j = concat(a, b);\n"
              "y = conv(j, filters=4, kernel=1);\n"
              "output y;\n",
              0);
    assert_in_place(&x, "j", (const char *const[]){"a", "b"}, (const size_t[]){0, 16 * 64 * 4}, 2);
    /* The concat's output is as large as its operands together. */
    assert_true(x.plan.workspace_size >= 24 * 64 * 4);
    planned_free(&x);
}

/* Blocked at -O2: a's two whole blocks, then b's padded one (24 of 32
 * lanes) as stored. */
static void test_blocked_concat_in_place(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 8, 8];\n"
              "a = conv(x, filters=32, kernel=1);\n"
              "b = conv(x, filters=24, kernel=3, pad=1);\n"
              "j = concat(a, b);\n"
              "y = conv(j, filters=16, kernel=1);\n"
              "output y;\n",
              2);
    assert_int_equal(graph_tensor_layout(x.p.graph, tensor(&x, "j")), LAYOUT_NCHW16C);
    assert_in_place(&x, "j", (const char *const[]){"a", "b"}, (const size_t[]){0, 32 * 64 * 4}, 2);
    planned_free(&x);
}

/* Where the operands cannot be the output's slices, the concat copies. */
static void assert_copies(const char *text, const char *why)
{
    print_message("%s\n", why);
    Planned x;
    plan_text(&x, text, 0);
    assert_false(x.plan.aliases[node_of(&x, "j")]);
    planned_free(&x);
}

static void test_concats_that_copy(void **state)
{
    (void)state;
    assert_copies("input x: f32[2, 4, 8, 8];\n"
                  "a = conv(x, filters=16, kernel=1);\n"
                  "b = conv(x, filters=8, kernel=1);\n"
                  "j = concat(a, b);\n"
                  "y = conv(j, filters=4, kernel=1);\noutput y;\n",
                  "two images: each operand's slice is two runs");
    assert_copies("input x: f32[1, 4, 8, 8];\n"
                  "a = conv(x, filters=16, kernel=1);\n"
                  "j = concat(a, x);\n"
                  "y = conv(j, filters=4, kernel=1);\noutput y;\n",
                  "a network input lives in the caller's buffer");
    assert_copies("input x: f32[1, 4, 8, 8];\n"
                  "a = conv(x, filters=16, kernel=1);\n"
                  "j = concat(a, a);\n"
                  "y = conv(j, filters=4, kernel=1);\noutput y;\n",
                  "the same tensor twice");
    assert_copies("input x: f32[1, 4, 7, 7];\n"
                  "a = conv(x, filters=3, kernel=1);\n"
                  "b = conv(x, filters=8, kernel=1);\n"
                  "j = concat(a, b);\n"
                  "y = conv(j, filters=4, kernel=1);\noutput y;\n",
                  "b's slice would start at 3 x 49 floats, 588 bytes: not 64-byte aligned");
    assert_copies("input x: f32[1, 4, 8, 8];\n"
                  "a = conv(x, filters=16, kernel=1);\n"
                  "b = conv(x, filters=16, kernel=1);\n"
                  "i = concat(a, b);\n"
                  "j = concat(i, b);\n"
                  "y = conv(j, filters=4, kernel=1);\noutput y;\n",
                  "b is in i's slices already, and i is a concat's output");
    assert_copies("input x: f32[1, 4, 8, 8];\n"
                  "a = conv(x, filters=16, kernel=1);\n"
                  "b = conv(x, filters=16, kernel=1);\n"
                  "j = concat(a, b);\n"
                  "output j, a;\n",
                  "j and a are network outputs, in the caller's buffers");
}

/* ---- the weight blob ------------------------------------------------------ */

/* Compiling a model writes its weights layer by layer (plan_write_weights)
 * instead of packing them whole in memory (plan_pack_weights), as the JIT
 * does: the two must be the same bytes, with packed layers (a blocked conv
 * and a Winograd one), a grouped conv, an fc and biases, each padded. */
static void test_written_weights_are_the_packed_blob(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 12, 12];\n"
              "a = conv(x, filters=32, kernel=3, pad=1, act=relu);\n"
              "b = conv(a, filters=32, kernel=3, pad=1, groups=4);\n"
              "c = conv(b, filters=16, kernel=1, stride=2);\n"
              "f = fc(c, units=10);\n"
              "output f;\n",
              3);
    unsigned char *blob = calloc(x.plan.weights_size, 1);
    assert_non_null(blob);
    plan_pack_weights(x.p.graph, x.bind, &x.plan, blob);
    FILE *f = tmpfile();
    assert_non_null(f);
    char err[256];
    assert_true(plan_write_weights(x.p.graph, x.bind, &x.plan, f, err, sizeof err));
    assert_int_equal(ftell(f), (long)x.plan.weights_size);
    rewind(f);
    unsigned char *written = malloc(x.plan.weights_size);
    assert_non_null(written);
    assert_int_equal(fread(written, 1, x.plan.weights_size, f), x.plan.weights_size);
    assert_memory_equal(written, blob, x.plan.weights_size);
    fclose(f);
    free(written);
    free(blob);
    planned_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_concat_in_place),
        cmocka_unit_test(test_blocked_concat_in_place),
        cmocka_unit_test(test_concats_that_copy),
        cmocka_unit_test(test_written_weights_are_the_packed_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
