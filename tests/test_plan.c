/* The cpu target's memory plan: where each tensor lives when compiled code
 * runs, placed by the plan-memory pass (@offset, passes/plan_memory.c) and
 * read by code generation (codegen/llvm/plan.c). Here: bytes reused once a
 * tensor is dead, aliases, concats whose operands are computed in their
 * slices of the output and the cases where they must copy, element-wise
 * layers written over a dying operand, places given in the source, and the
 * placements that are errors. The values the plans compute are checked by
 * every network test (test_golden, cpu_examples, test_cpu_blocked's
 * network) and, for the element-wise layers in place, here too; the rest
 * check the decisions. */
#include <stdio.h>
#include <stdlib.h>

#include "bind.h"
#include "cpu_check.h"
#include "plan.h"
#include "storage.h"
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

/* ---- plan-memory -------------------------------------------------------- */

static uint64_t offset_of(const Planned *x, const char *name)
{
    const Node *n = &x->p.graph->nodes[node_of(x, name)];
    if (!n->ann.has_offset)
        fail_msg("layer %s has no @offset", name);
    return n->ann.offset;
}

/* Four 4 KiB outputs in a chain: a is dead once b is written, so c takes
 * a's bytes, and the workspace holds two, not three. The dump shows every
 * place, and the network output none (the caller's buffer). */
static void test_dead_bytes_are_reused(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 8, 8];\n"
              "a = conv(x, filters=16, kernel=1);\n"
              "b = conv(a, filters=16, kernel=1);\n"
              "c = conv(b, filters=16, kernel=1);\n"
              "d = conv(c, filters=16, kernel=1);\n"
              "output d;\n",
              0);
    assert_int_equal(offset_of(&x, "a"), offset_of(&x, "c"));
    assert_int_not_equal(offset_of(&x, "a"), offset_of(&x, "b"));
    assert_int_equal(x.plan.workspace_size, 2 * 4096);
    assert_int_equal(loc(&x, "c")->offset, offset_of(&x, "c"));
    assert_int_equal(loc(&x, "d")->kind, LOC_OUTPUT);
    char *text = graph_to_text(x.p.graph);
    assert_contains(text, "@offset(0) a = conv(");
    assert_contains(text, "@offset(4096) b = conv(a");
    assert_contains(text, "@algo(im2col) d = conv(c");
    free(text);
    planned_free(&x);
}

static const char *const elementwise_layers = "input x: f32[1, 16, 8, 8];\n"
                                              "a = conv(x, filters=16, kernel=1);\n"
                                              "b = relu(a);\n"
                                              "c = add(a, b);\n"
                                              "e = sigmoid(x);\n"
                                              "p = global_avgpool(c);\n"
                                              "d = conv(c, filters=16, kernel=1);\n"
                                              "m = mul(p, d);\n"
                                              "s = add(m, m);\n"
                                              "t = clip(s, min=0, max=1);\n"
                                              "u = add(t, e);\n"
                                              "y = relu(u);\n"
                                              "output y;\n";

/* An element-wise layer writes its output over an operand of its shape
 * that no later layer reads: a chain of them takes one place, and the
 * layers still run (they are not aliases). Not over an operand read later
 * (a, read by c), a network input (x), one of another shape (p, broadcast),
 * nor into a network output (the caller's buffer). */
static void test_elementwise_layers_write_in_place(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x, elementwise_layers, 0);
    assert_int_not_equal(offset_of(&x, "b"), offset_of(&x, "a"));
    assert_int_equal(offset_of(&x, "c"), offset_of(&x, "a"));
    assert_int_not_equal(offset_of(&x, "e"), offset_of(&x, "a"));
    assert_int_equal(offset_of(&x, "m"), offset_of(&x, "d"));
    assert_int_not_equal(offset_of(&x, "m"), offset_of(&x, "p"));
    assert_int_equal(offset_of(&x, "s"), offset_of(&x, "d"));
    assert_int_equal(offset_of(&x, "t"), offset_of(&x, "d"));
    assert_int_equal(offset_of(&x, "u"), offset_of(&x, "d"));
    assert_int_equal(loc(&x, "y")->kind, LOC_OUTPUT);
    assert_false(x.plan.aliases[node_of(&x, "c")]);
    assert_false(x.plan.aliases[node_of(&x, "u")]);
    /* a (c's bytes), e, d and p live at once as d is written: three
     * places of 4 KiB and p's 64 bytes. */
    assert_int_equal(x.plan.workspace_size, 3 * 4096 + 64);
    planned_free(&x);
}

/* Blocked convs (-O3) whose residual dies at them: a direct conv writes
 * its output over its residual (c over a, e over c: 96 channels in, a 3x3
 * conv whose sums run in two chunks and a 1x1 in one), not over one read
 * later (b's residual x2 is read by c2 too), and neither a Winograd conv
 * (w) nor an im2col one on plain activations (p: 8 filters stay plain)
 * writes over its residual. */
static const char *const residual_convs = "input x: f32[1, 32, 10, 10];\n"
                                          "a = conv(x, filters=96, kernel=3, pad=1, act=relu);\n"
                                          "b = conv(a, filters=96, kernel=1, act=relu);\n"
                                          "@algo(direct) c = conv(b, a, filters=96, kernel=3, pad=1, act=relu);\n"
                                          "d = conv(c, filters=32, kernel=1);\n"
                                          "e = conv(d, c, filters=96, kernel=1, act=relu);\n"
                                          "x2 = conv(e, filters=96, kernel=1);\n"
                                          "b2 = conv(e, x2, filters=96, kernel=1);\n"
                                          "c2 = conv(b2, x2, filters=96, kernel=1);\n"
                                          "@algo(winograd) w = conv(c2, b2, filters=96, kernel=3, pad=1);\n"
                                          "q = conv(w, filters=8, kernel=1);\n"
                                          "r = conv(w, filters=8, kernel=1);\n"
                                          "@algo(im2col) p = conv(q, r, filters=8, kernel=3, pad=1);\n"
                                          "o = conv(p, filters=8, kernel=1);\n"
                                          "output o;\n";

static void test_blocked_convs_write_over_their_residual(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x, residual_convs, 3);
    assert_int_equal(offset_of(&x, "c"), offset_of(&x, "a"));
    assert_int_equal(offset_of(&x, "e"), offset_of(&x, "c"));
    assert_int_not_equal(offset_of(&x, "b2"), offset_of(&x, "x2"));
    assert_int_equal(offset_of(&x, "c2"), offset_of(&x, "x2"));
    assert_int_not_equal(offset_of(&x, "w"), offset_of(&x, "b2"));
    assert_int_not_equal(offset_of(&x, "p"), offset_of(&x, "r"));
    const Node *w = &x.p.graph->nodes[node_of(&x, "w")], *p = &x.p.graph->nodes[node_of(&x, "p")];
    assert_int_equal(w->ann.algo, ALGO_WINOGRAD);
    assert_int_equal(graph_tensor_layout(x.p.graph, w->output), LAYOUT_NCHW16C);
    assert_int_equal(p->ann.algo, ALGO_IM2COL);
    assert_int_equal(graph_tensor_layout(x.p.graph, p->output), LAYOUT_NCHW);
    planned_free(&x);
}

/* The network above's values with its layers in place, a chain of every
 * element-wise op in place on blocked activations (-O3: the convs write
 * nchw16c, and the layers after a max pool are not fused into it), and
 * batchnorm and scale_shift at -O0, against the same graph with every
 * output in bytes of its own (offsets laid end to end, a placement the
 * check accepts): the same kernels on the same values, so the same bits,
 * through the JIT on 1 and 2 threads and as object code. A layer that
 * overwrote an operand still to be read would change them. */
static void place_apart(Graph *g)
{
    uint64_t at = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].ann.has_offset) {
            g->nodes[i].ann.offset = at;
            at += storage_bytes(g, g->nodes[i].output);
        }
}

static int count_in_place(const Graph *g)
{
    StorageMap m;
    assert_true(storage_map_build(g, false, &m));
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        count += m.in_place[i];
    storage_map_free(&m);
    return count;
}

static void check_in_place_values(const char *text, int level, int in_place_layers)
{
    Parsed in_place, apart;
    Graph *g = cpu_parse_or_fail(&in_place, "in_place.dnn", text), *h = cpu_parse_or_fail(&apart, "apart.dnn", text);
    run_pipeline_or_fail(g, "cpu", level);
    run_pipeline_or_fail(h, "cpu", level);
    place_apart(h);
    assert_int_equal(count_in_place(g), in_place_layers);
    assert_int_equal(count_in_place(h), 0);
    CpuIo io;
    cpu_io_make(g, 7, &io);
    float *got[2], *want[2];
    cpu_run_jit(g, "in_place", NULL, NULL, &io, got);
    cpu_run_jit(h, "apart", NULL, NULL, &io, want);
    cpu_expect_same_bits("in place, 1 thread", got[0], want[0], io.out_count[0]);
    cpu_expect_same_bits("in place, 2 threads", got[1], want[0], io.out_count[0]);
    float *object = cpu_run_object(g, "in_place", &io);
    cpu_expect_same_bits("in place, object code", object, want[0], io.out_count[0]);
    free(got[0]), free(got[1]), free(want[0]), free(want[1]), free(object);
    cpu_io_free(&io);
    parsed_free(&apart);
    parsed_free(&in_place);
}

static void test_in_place_layers_compute_the_same(void **state)
{
    (void)state;
    check_in_place_values(elementwise_layers, 0, 5);
    check_in_place_values(residual_convs, 3, 3);
    check_in_place_values("input x: f32[1, 24, 12, 12];\n"
                          "a = conv(x, filters=32, kernel=3, pad=1);\n"
                          "q = maxpool(a, kernel=2, stride=2);\n"
                          "b = relu(q);\n"
                          "c = leaky_relu(b, alpha=0.125);\n"
                          "d = elu(c);\n"
                          "e = sigmoid(d);\n"
                          "f = tanh(e);\n"
                          "h = hard_sigmoid(f);\n"
                          "i = selu(h);\n"
                          "j = clip(i, min=0.25, max=2);\n"
                          "k = batchnorm(j);\n"
                          "l = prelu(k);\n"
                          "r = conv(q, filters=32, kernel=1);\n"
                          "s = sub(l, r);\n"
                          "t = mul(s, s);\n"
                          "u = div(t, q);\n"
                          "v = max(u, q);\n"
                          "w = min(v, q);\n"
                          "o = conv(w, filters=8, kernel=1);\n"
                          "output o;\n",
                          3, 14);
    /* batchnorm and scale_shift as such (-O0 folds neither: no conv before). */
    check_in_place_values("input x: f32[1, 24, 12, 12];\n"
                          "a = conv(x, filters=32, kernel=3, pad=1);\n"
                          "q = maxpool(a, kernel=2, stride=2);\n"
                          "k = batchnorm(q);\n"
                          "s = scale_shift(k);\n"
                          "l = prelu(s);\n"
                          "h = leaky_relu(l, alpha=0.5);\n"
                          "o = conv(h, filters=8, kernel=1);\n"
                          "output o;\n",
                          0, 4);
}

/* A flatten of a layer's output takes its bytes (its own @offset, the
 * same); a flatten of the network input has no place of its own. */
static void test_aliases_share_their_operand(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 4, 4];\n"
              "f0 = flatten(x);\n"
              "y0 = fc(f0, units=8);\n"
              "a = conv(x, filters=16, kernel=1);\n"
              "f = flatten(a);\n"
              "y = fc(f, units=10);\n"
              "output y, y0;\n",
              0);
    assert_false(x.p.graph->nodes[node_of(&x, "f0")].ann.has_offset);
    assert_true(x.plan.aliases[node_of(&x, "f0")]);
    assert_int_equal(loc(&x, "f0")->kind, LOC_INPUT);
    assert_int_equal(offset_of(&x, "f"), offset_of(&x, "a"));
    assert_true(x.plan.aliases[node_of(&x, "f")]);
    assert_false(x.plan.aliases[node_of(&x, "a")]);
    planned_free(&x);
}

/* A place written in the source is kept, and the others are put around
 * it: a lives while b is written, so it avoids b's bytes; c, written when
 * a is dead, takes a's. */
static void test_given_places_are_kept(void **state)
{
    (void)state;
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 8, 8];\n"
              "a = conv(x, filters=16, kernel=1);\n"
              "@offset(8192) b = conv(a, filters=16, kernel=1);\n"
              "c = conv(b, filters=16, kernel=1);\n"
              "d = conv(c, filters=16, kernel=1);\n"
              "output d;\n",
              0);
    assert_int_equal(offset_of(&x, "b"), 8192);
    assert_int_equal(offset_of(&x, "a"), 0);
    assert_int_equal(offset_of(&x, "c"), 0);
    assert_int_equal(x.plan.workspace_size, 8192 + 4096);
    planned_free(&x);
}

/* A placement that puts two live outputs in the same bytes is an error on
 * every target, naming both layers, at the later one's line. */
static void expect_pipeline_error(const char *text, const char *target, const char *message)
{
    Parsed p;
    parse_text(&p, "plan.dnn", text);
    if (!p.graph)
        fail_msg("%s", p.messages);
    randomize_weights_for_test(p.graph, 1);
    char *messages = NULL;
    assert_false(run_pipeline_on(p.graph, &p.src, target, 0, NULL, &messages));
    assert_contains(messages, message);
    free(messages);
    parsed_free(&p);
}

static void expect_error_on_every_target(const char *text, const char *message)
{
    expect_pipeline_error(text, "cpu", message);
    expect_pipeline_error(text, "reference", message);
}

static void test_overlapping_places_are_errors(void **state)
{
    (void)state;
    const char *overlap = "input x: f32[1, 16, 8, 8];\n"
                          "@offset(0) a = conv(x, filters=16, kernel=1);\n"
                          "@offset(2048) b = relu(a);\n"
                          "c = relu(b);\n"
                          "output c;\n";
    const char *message = "plan.dnn:3:15: error: layer 'b' @offset(2048) (4096 bytes) overlaps layer 'a' "
                          "@offset(0) (4096 bytes) while both are live, at layer 'b'";
    expect_error_on_every_target(overlap, message);
    /* A concat's operands are in its slices only where the rules allow
     * (here: two images, so each slice would be two runs): otherwise the
     * concat reads them while it writes its output. */
    expect_pipeline_error("input x: f32[2, 4, 8, 8];\n"
                          "@offset(0) a = conv(x, filters=16, kernel=1);\n"
                          "@offset(8192) b = conv(x, filters=16, kernel=1);\n"
                          "@offset(0) j = concat(a, b);\n"
                          "y = conv(j, filters=4, kernel=1);\n"
                          "output y;\n",
                          "cpu", "layer 'j' @offset(0) (16384 bytes) overlaps layer 'a' @offset(0) (8192 bytes)");
    /* An element-wise layer over its operand only where nothing reads the
     * operand later: here c does. */
    const char *still_read = "input x: f32[1, 16, 8, 8];\n"
                             "@offset(0) a = conv(x, filters=16, kernel=1);\n"
                             "@offset(0) b = relu(a);\n"
                             "c = add(a, b);\n"
                             "output c;\n";
    const char *read_message = "plan.dnn:3:12: error: layer 'b' @offset(0) (4096 bytes) overlaps layer 'a' "
                               "@offset(0) (4096 bytes) while both are live, at layer 'b'";
    expect_error_on_every_target(still_read, read_message);
    /* The same bytes after the first is dead are fine. */
    Planned x;
    plan_text(&x,
              "input x: f32[1, 16, 8, 8];\n"
              "@offset(0) a = conv(x, filters=16, kernel=1);\n"
              "b = relu(a);\n"
              "@offset(0) c = relu(b);\n"
              "d = relu(c);\n"
              "output d;\n",
              0);
    assert_int_equal(offset_of(&x, "c"), 0);
    planned_free(&x);
    /* So is a given place over the operand that dies there, on every
     * target. */
    const char *over = "input x: f32[1, 16, 8, 8];\n"
                       "@offset(0) a = conv(x, filters=16, kernel=1);\n"
                       "@offset(0) b = relu(a);\n"
                       "c = conv(b, filters=16, kernel=1);\n"
                       "output c;\n";
    plan_text(&x, over, 0);
    assert_int_equal(offset_of(&x, "b"), 0);
    planned_free(&x);
    Parsed p;
    parse_text(&p, "plan.dnn", over);
    assert_non_null(p.graph);
    randomize_weights_for_test(p.graph, 1);
    run_pipeline_or_fail(p.graph, "reference", 0);
    parsed_free(&p);
}

static void expect_parse_error(const char *text, const char *message)
{
    Parsed p;
    parse_text(&p, "plan.dnn", text);
    assert_null(p.graph);
    assert_contains(p.messages, message);
    parsed_free(&p);
}

static void test_bad_offsets_do_not_parse(void **state)
{
    (void)state;
    expect_parse_error("input x: f32[1, 4, 8, 8];\n@offset(100) a = relu(x);\nb = relu(a);\noutput b;\n",
                       "plan.dnn:2:14: error: layer 'a': @offset(100) is not a multiple of 64 bytes");
    expect_parse_error("input x: f32[1, 4, 8, 8];\n@offset(0) a = relu(x);\noutput a;\n",
                       "layer 'a': @offset: a network output lives in the caller's buffer");
    expect_parse_error("input x: f32[1, 4, 8, 8];\n@offset(-64) a = relu(x);\nb = relu(a);\noutput b;\n",
                       "@offset: argument 1 must be an integer in [0, ");
    expect_parse_error("input x: f32[1, 4, 8, 8];\n@offset(0, 64) a = relu(x);\nb = relu(a);\noutput b;\n",
                       "@offset takes one argument");
    expect_parse_error("input x: f32[1, 4, 8, 8];\n@offset(4611686018427387904) a = relu(x);\n"
                       "b = relu(a);\noutput b;\n",
                       "puts its output past the largest workspace");
    expect_parse_error("block twice(t) {\n  u = relu(t);\n  v = relu(u);\n  return v;\n}\n"
                       "input x: f32[1, 4, 8, 8];\n@offset(0) a = twice(x);\nb = relu(a);\noutput b;\n",
                       "@offset places one layer's output, not a block call's");
}

/* Code generation reads the places: a graph whose layers have none (as if
 * plan-memory had not run) is refused, naming the first layer without one. */
static void test_code_generation_needs_places(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "plan.dnn", "input x: f32[1, 16, 8, 8];\na = conv(x, filters=16, kernel=1);\n"
                               "b = relu(a);\noutput b;\n");
    assert_non_null(p.graph);
    randomize_weights_for_test(p.graph, 1);
    run_pipeline_or_fail(p.graph, "cpu", 0);
    for (int i = 0; i < p.graph->n_nodes; i++)
        p.graph->nodes[i].ann.has_offset = false;
    char err[512];
    KernelBinding *bind = bind_graph(p.graph, ISA_ANY, err, sizeof err);
    assert_non_null(bind);
    Plan plan;
    assert_false(plan_build(p.graph, bind, &plan, err, sizeof err));
    assert_contains(err, "layer 'a' has no place in the workspace");
    free(bind);
    parsed_free(&p);
}

/* A dump made at -O0 compiled at -O2: blocking the layers changes how
 * many bytes they take (24 channels take two blocks of 16), so the
 * rewrites drop the places they make stale and plan-memory places those
 * again: a and b lie 24 KiB apart in the dump, 32 KiB each once blocked. */
static void test_stale_places_are_placed_again(void **state)
{
    (void)state;
    Planned first;
    plan_text(&first,
              "input x: f32[1, 24, 16, 16];\n"
              "a = conv(x, filters=24, kernel=3, pad=1);\n"
              "r = relu(a);\n"
              "b = conv(r, filters=24, kernel=3, pad=1);\n"
              "s = relu(b);\n"
              "c = conv(s, filters=24, kernel=1);\n"
              "output c;\n",
              0);
    char *dump = graph_to_text(first.p.graph);
    assert_int_equal(offset_of(&first, "r"), offset_of(&first, "a"));
    assert_int_equal(offset_of(&first, "b"), offset_of(&first, "a") + 24576);
    Planned second;
    plan_text(&second, dump, 2);
    assert_int_equal(graph_tensor_layout(second.p.graph, tensor(&second, "a")), LAYOUT_NCHW16C);
    uint64_t a = offset_of(&second, "a"), b = offset_of(&second, "b");
    assert_true(a >= b + 32768 || b >= a + 32768);
    free(dump);
    planned_free(&second);
    planned_free(&first);
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
        cmocka_unit_test(test_dead_bytes_are_reused),
        cmocka_unit_test(test_elementwise_layers_write_in_place),
        cmocka_unit_test(test_blocked_convs_write_over_their_residual),
        cmocka_unit_test(test_in_place_layers_compute_the_same),
        cmocka_unit_test(test_aliases_share_their_operand),
        cmocka_unit_test(test_given_places_are_kept),
        cmocka_unit_test(test_overlapping_places_are_errors),
        cmocka_unit_test(test_bad_offsets_do_not_parse),
        cmocka_unit_test(test_code_generation_needs_places),
        cmocka_unit_test(test_stale_places_are_placed_again),
        cmocka_unit_test(test_written_weights_are_the_packed_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
