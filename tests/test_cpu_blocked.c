/* The cpu target's kernels on blocked activations (nchw16c,
 * codegen/kernels/blocked.c, docs/layouts.md) against the reference
 * executor, which computes every layer on plain arrays:
 *
 * - one conv put in nchw16c by @layout (the pass reorders its input in and
 *   a reorder takes its output out): 1x1, 3x3, 5x5 and 7x7 kernels, strides
 *   1, 2 and 4, dilation, asymmetric padding, rows of 1 to 57 pixels (every
 *   tile width of the register tile and its remainders), filter counts
 *   that fill the unit's filter groups and that do not, depthwise convs,
 *   batches, bias, residual and each fused activation; through the JIT on 1
 *   and 2 threads, and on the kernel library of 8-lane vectors;
 * - max pooling and global average pooling on blocked tensors, and the
 *   reorders both ways: bit for bit, NaN and infinities included;
 * - the split of a blocked conv into parallel units (docs/layouts.md,
 *   "Threads") on the shapes the docs quote;
 * - a network at -O2 that select-layout makes blocked by itself, through
 *   the JIT and as object code.
 *
 * The conv's bound. The kernel sums each output in float, one fused
 * multiply-add per weight, K = Cg kh kw of them, in an order of its own
 * (channel blocks, taps, channels), the partial sums of each block of
 * channels waiting in the output as floats (rounded as the sum is anyway),
 * then adds the bias and the residual: K + 2 roundings. The reference sums
 * in double and rounds once. Each is within gamma_(K+2) S of the exact
 * value, S = sum |x||w| + |bias| + |residual| (Higham, 3.1), so they
 * differ by at most 2 gamma_(K+2) S: a wrong tap, channel or pixel moves
 * an output by about its own size, far beyond that. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu_check.h"
#include "dnnk.h"
#include "reference.h"
#include "test_util.h"

typedef CpuConv Layer;

/* The conv in nchw16c by the direct kernel (select-algo would run a 3x3
 * stride-1 conv by Winograd, which test_cpu_winograd checks), its input
 * reordered into blocks by hand (a conv of at most 16 channels would
 * otherwise read the plain input, with dnnk_conv_plain_blocked); the
 * reorder after it keeps the network's output plain, as it must be. */
static void layer_text(const Layer *L, bool plain_input, char *buf, size_t size)
{
    char conv[1024];
    cpu_conv_text(L, "@algo(direct) @layout(nchw16c)", "@layout(nchw) z = reorder(y);\noutput z;\n", conv,
                  sizeof conv);
    if (plain_input) {
        snprintf(buf, size, "%s", conv);
        return;
    }
    const char *head = "@algo(direct) @layout(nchw16c) y = conv(x";
    char *at = strstr(conv, head);
    assert_non_null(at);
    snprintf(buf, size, "%.*s@layout(nchw16c) xb = reorder(x);\n@algo(direct) @layout(nchw16c) y = conv(xb%s",
             (int)(at - conv), conv, at + strlen(head));
}

/* The conv through the JIT: its input blocked, or plain where plain_input
 * (dnnk_conv_plain_blocked, which @layout picks for at most 16 channels
 * to save the reorder). */
static void check_layer_in(const Layer *L, const char *cpu, const char *features, bool plain_input)
{
    char text[1024];
    layer_text(L, plain_input, text, sizeof text);
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, L->name, text);
    run_pipeline_or_fail(g, "cpu", 0);
    const Node *conv = &g->nodes[cpu_find_op(g, OP_CONV)];
    assert_true(conv->ann.has_layout && conv->ann.layout == LAYOUT_NCHW16C);
    assert_int_equal(conv->ann.algo, ALGO_DIRECT);
    assert_int_equal(graph_tensor_layout(g, conv->inputs[0]), plain_input ? LAYOUT_NCHW : LAYOUT_NCHW16C);
    CpuIo io;
    cpu_io_make(g, 3, &io);
    float *want = cpu_run_reference(g, &io);
    print_message("%s:\n", L->name);
    int64_t count = io.out_count[0];
    double *S = cpu_check_abs_sums(g, conv, &io), *bound = malloc(sizeof(double) * (size_t)count);
    assert_non_null(bound);
    double K = (double)(L->c / L->groups * L->kh * L->kw);
    for (int64_t i = 0; i < count; i++)
        bound[i] = 2 * cpu_check_gamma(K + 2) * S[i];
    float *outs[2];
    cpu_run_jit(g, "layer", cpu, features, &io, outs);
    for (int t = 0; t < 2; t++) {
        char what[64];
        snprintf(what, sizeof what, "cpu (%d thread%s) - reference", t + 1, t ? "s" : "");
        cpu_check_bound(what, outs[t], want, bound, S, count);
    }
    /* The split of units over threads changes no sum. */
    assert_memory_equal(outs[0], outs[1], (size_t)count * sizeof(float));
    free(outs[0]), free(outs[1]);
    free(S), free(bound), free(want);
    cpu_io_free(&io);
    parsed_free(&p);
}

static void check_layer_for(const Layer *L, const char *cpu, const char *features)
{
    check_layer_in(L, cpu, features, false);
}

static void check_layer(const Layer *L) { check_layer_for(L, NULL, NULL); }

static void test_convolutions(void **state)
{
    (void)state;
    check_layer(&(Layer){"3x3, 32 -> 64, 14x14, relu", 1, 32, 14, 14, 64, 1, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1},
                         true, false, "relu"});
    check_layer(&(Layer){"1x1, 64 -> 80 (a short filter group), 7x7, residual", 1, 64, 7, 7, 80, 1, 1, 1, 1, 1, 1,
                         1, {0, 0, 0, 0}, true, true, "relu"});
    check_layer(&(Layer){"1x1, stride 2, 32 -> 48, batch 2", 2, 32, 13, 13, 48, 1, 1, 1, 2, 2, 1, 1,
                         {0, 0, 0, 0}, false, false, NULL});
    check_layer(&(Layer){"7x7, stride 2, pad 3, 16 -> 32", 1, 16, 23, 29, 32, 1, 7, 7, 2, 2, 1, 1, {3, 3, 3, 3},
                         true, false, "clip, min=0, max=6"});
    check_layer(&(Layer){"5x5, dilation 2 1, pad 4 0 1 3", 1, 16, 12, 17, 16, 1, 5, 5, 1, 1, 2, 1, {4, 0, 1, 3},
                         true, true, "leaky_relu, alpha=0.1"});
    check_layer(&(Layer){"3x3, stride 4, rows of 57", 1, 16, 9, 229, 16, 1, 3, 3, 4, 4, 1, 1, {1, 1, 1, 1},
                         false, false, NULL});
    check_layer(&(Layer){"3x3, one column, one row", 1, 32, 1, 1, 16, 1, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true,
                         false, NULL});
    /* Bands of 6 and 5 rows of 8: the first band's 48 pixels are tiles of
     * 6, the last band's 40 tiles of 6 and 5 (the kernel's tile shapes in
     * use are those of a full and of the last band). */
    check_layer(&(Layer){"3x3, 11x8, a last band of other tiles", 1, 16, 11, 8, 16, 1, 3, 3, 1, 1, 1, 1,
                         {1, 1, 1, 1}, false, false, NULL});
    check_layer(&(Layer){"3x3, 2048 channels (several channel chunks)", 1, 2048, 3, 5, 32, 1, 3, 3, 1, 1, 1, 1,
                         {1, 1, 1, 1}, true, true, "relu"});
    /* Rows major (2,048 weights against 14,384 inputs): 2 filter groups by
     * 8 bands of 4 rows, a band's groups consecutive. */
    check_layer(&(Layer){"1x1, 16 -> 128, 29x31, rows major", 1, 16, 29, 31, 128, 1, 1, 1, 1, 1, 1, 1,
                         {0, 0, 0, 0}, true, true, "relu"});
}

/* Channels and filters that do not fill their last block: its lanes past
 * them are padding, which the channel loop stops before and the packed
 * weights and bias fill with zeros. */
static void test_padded_blocks(void **state)
{
    (void)state;
    check_layer(&(Layer){"7x7, stride 2, 3 -> 64 (a first conv: 3 of 16 lanes)", 1, 3, 29, 31, 64, 1, 7, 7, 2, 2, 1,
                         1, {3, 3, 3, 3}, true, false, "relu"});
    check_layer(&(Layer){"1x1, 40 -> 24, residual, batch 2", 2, 40, 9, 7, 24, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0},
                         true, true, "clip, min=0, max=6"});
    check_layer(&(Layer){"3x3, 20 -> 1000 (63 blocks, the last of 8)", 1, 20, 5, 6, 1000, 1, 3, 3, 1, 1, 1, 1,
                         {1, 1, 1, 1}, true, false, NULL});
    check_layer(&(Layer){"3x3 depthwise, 24 channels, stride 2", 1, 24, 13, 11, 24, 24, 3, 3, 2, 2, 1, 1,
                         {1, 1, 1, 1}, true, true, "relu"});
}

/* dnnk_conv_plain_blocked: the image as it comes, blocked out; pixels in
 * the padding read one zero for every channel. */
static void test_plain_input(void **state)
{
    (void)state;
    check_layer_in(&(Layer){"7x7, stride 2, pad 3, plain 3 -> 64", 1, 3, 29, 31, 64, 1, 7, 7, 2, 2, 1, 1,
                            {3, 3, 3, 3}, true, false, "relu"},
                   NULL, NULL, true);
    check_layer_in(&(Layer){"3x3, plain 16 -> 40, batch 2, dilation 2, pad 2 0 1 3", 2, 16, 9, 13, 40, 1, 3, 3, 1,
                            1, 2, 2, {2, 0, 1, 3}, false, false, NULL},
                   NULL, NULL, true);
#if defined(__x86_64__) /* the library of 8-lane vectors */
    check_layer_in(&(Layer){"11x11, stride 4, plain 3 -> 96, 8 lanes", 1, 3, 35, 39, 96, 1, 11, 11, 4, 4, 1, 1,
                            {2, 2, 2, 2}, true, false, "clip, min=0, max=6"},
                   "x86-64-v3", "+avx2,+fma,+avx,+f16c", true);
#endif
}

static void test_depthwise(void **state)
{
    (void)state;
    check_layer(&(Layer){"3x3 depthwise, stride 1, relu6", 1, 32, 14, 14, 32, 32, 3, 3, 1, 1, 1, 1,
                         {1, 1, 1, 1}, true, false, "clip, min=0, max=6"});
    check_layer(&(Layer){"3x3 depthwise, stride 2, 57x57", 1, 16, 57, 57, 16, 16, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1},
                         true, true, "relu"});
    check_layer(&(Layer){"5x5 depthwise, dilation 2, batch 2", 2, 48, 11, 9, 48, 48, 5, 5, 1, 1, 2, 2,
                         {4, 4, 4, 4}, false, false, NULL});
}

/* The library of 8-lane vectors, which an AVX-512 host does not pick. */
static void test_eight_lanes(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const char *cpu = "x86-64-v3", *avx2 = "+avx2,+fma,+avx,+f16c";
    check_layer_for(&(Layer){"3x3, 32 -> 48, 8 lanes", 1, 32, 9, 11, 48, 1, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true,
                             true, "relu"},
                    cpu, avx2);
    check_layer_for(&(Layer){"3x3 depthwise, stride 2, 8 lanes", 1, 32, 15, 15, 32, 32, 3, 3, 2, 2, 1, 1,
                             {1, 1, 1, 1}, true, false, NULL},
                    cpu, avx2);
    check_layer_for(&(Layer){"3x3, 5 -> 20, 8 lanes (padded blocks)", 1, 5, 8, 9, 20, 1, 3, 3, 1, 1, 1, 1,
                             {1, 1, 1, 1}, true, false, "relu"},
                    cpu, avx2);
#else
    skip();
#endif
}

/* Runs `text` (one input, one output, a layout-changing network) at -O0
 * on inputs with NaN and infinities among the values, and checks that the
 * JIT's output equals the reference's bit for bit. */
static void check_exact(const char *name, const char *text, OpKind blocked_op)
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, name, text);
    run_pipeline_or_fail(g, "cpu", 0);
    const Node *n = &g->nodes[cpu_find_op(g, blocked_op)];
    assert_int_equal(graph_tensor_layout(g, n->inputs[0]), LAYOUT_NCHW16C);
    CpuIo io;
    cpu_io_make(g, 11, &io);
    io.in[0][5] = NAN, io.in[0][77] = INFINITY, io.in[0][78] = -INFINITY, io.in[0][200] = -NAN;
    float *want = cpu_run_reference(g, &io), *outs[2];
    cpu_run_jit(g, name, NULL, NULL, &io, outs);
    print_message("%s: %lld outputs\n", name, (long long)io.out_count[0]);
    for (int t = 0; t < 2; t++)
        assert_memory_equal(outs[t], want, (size_t)io.out_count[0] * sizeof(float));
    free(outs[0]), free(outs[1]), free(want);
    cpu_io_free(&io);
    parsed_free(&p);
}

static void test_pooling_and_reorders(void **state)
{
    (void)state;
    check_exact("maxpool 3x3 stride 2 pad 1, ceil",
                "input x: f32[2, 32, 15, 14];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) m = maxpool(a, kernel=3, stride=2, pad=1, ceil=true);\n"
                "@layout(nchw) y = reorder(m);\noutput y;\n",
                OP_MAXPOOL);
    check_exact("maxpool 3x3 dilation 3, windows in padding",
                "input x: f32[1, 16, 9, 7];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) m = maxpool(a, kernel=3, dilation=3, pad=[2, 2, 2, 2]);\n"
                "@layout(nchw) y = reorder(m);\noutput y;\n",
                OP_MAXPOOL);
    check_exact("global avgpool",
                "input x: f32[2, 48, 7, 9];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "y = global_avgpool(a);\noutput y;\n",
                OP_GLOBAL_AVGPOOL);
    /* reorders there and back, and an element-wise layer between them. */
    check_exact("reorders",
                "input x: f32[3, 64, 5, 11];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) b = add(a, a);\n"
                "@layout(nchw) y = reorder(b);\noutput y;\n",
                OP_ADD);
    /* The same with padded last blocks: the padding never reaches the
     * plain outputs. */
    check_exact("maxpool, 40 channels",
                "input x: f32[2, 40, 9, 8];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) m = maxpool(a, kernel=3, stride=2, pad=1);\n"
                "@layout(nchw) y = reorder(m);\noutput y;\n",
                OP_MAXPOOL);
    check_exact("global avgpool, 3 x 24 channels",
                "input x: f32[3, 24, 5, 5];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "y = global_avgpool(a);\noutput y;\n",
                OP_GLOBAL_AVGPOOL);
    check_exact("reorders, 20 channels, concat",
                "input x: f32[2, 20, 3, 17];\n"
                "input z: f32[2, 16, 3, 17];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) c = reorder(z);\n"
                "@layout(nchw16c) b = concat(c, a);\n"
                "@layout(nchw) y = reorder(b);\noutput y;\n",
                OP_CONCAT);
    /* A plane of more than DNNK_REORDER_PIXELS pixels: two runs a block. */
    check_exact("reorders, 70 x 61 pixels",
                "input x: f32[1, 19, 70, 61];\n"
                "@layout(nchw16c) a = reorder(x);\n"
                "@layout(nchw16c) b = relu(a);\n"
                "@layout(nchw) y = reorder(b);\noutput y;\n",
                OP_RELU);
}

/* Padding lanes may hold anything: here 0 / 0 = NaN (the reorder fills them
 * with zeros, the division keeps going there), and the conv that reads
 * them must not let it into a filter's sum. Each output sums 20 products
 * of a weight and 1 and the bias: within 2 gamma_22 S of the reference, S
 * = sum |w| + |bias|. */
static void test_padding_never_read(void **state)
{
    (void)state;
    CpuNanRun r;
    cpu_nan_run_open(&r, "input x: f32[1, 20, 4, 6];\n"
                         "@layout(nchw16c) a = reorder(x);\n"
                         "@layout(nchw16c) b = div(a, a);\n"
                         "@layout(nchw16c) c = conv(b, filters=16, kernel=1);\n"
                         "@layout(nchw) y = reorder(c);\noutput y;\n");
    const float *w = r.g->tensors[r.conv->params[0]].data, *bias = r.g->tensors[r.conv->params[1]].data;
    for (int t = 0; t < 2; t++)
        for (int64_t i = 0; i < r.io.out_count[0]; i++) {
            int64_t f = i / (4 * 6); /* y is [1, 16, 4, 6] */
            double S = fabs(bias[f]);
            for (int c = 0; c < 20; c++)
                S += fabs(w[f * 20 + c]);
            assert_true(fabs((double)r.outs[t][i] - r.want[i]) <= 2 * cpu_check_gamma(22) * S);
        }
    cpu_nan_run_close(&r);
}

/* A concat whose padded operand is not the last cannot lay its operands
 * end to end in blocks: select-layout keeps it plain. */
static void test_padded_concat_stays_plain(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "concat",
                                 "input x: f32[1, 16, 8, 8];\n"
                                 "a = conv(x, filters=24, kernel=1);\n"
                                 "b = conv(x, filters=32, kernel=1);\n"
                                 "j = concat(a, b);\n"
                                 "k = concat(b, a);\n"
                                 "y = conv(j, filters=16, kernel=1);\n"
                                 "z = conv(k, filters=16, kernel=1);\n"
                                 "s = add(y, z);\noutput s;\n");
    run_pipeline_or_fail(g, "cpu", 2);
    int j = graph_find_tensor(g, "j"), k = graph_find_tensor(g, "k");
    assert_true(j >= 0 && k >= 0);
    assert_int_equal(graph_tensor_layout(g, j), LAYOUT_NCHW);
    assert_int_equal(graph_tensor_layout(g, k), LAYOUT_NCHW16C);
    parsed_free(&p);
}

/* A reorder that changes nothing and cannot be removed (it joins the
 * network's input to its output) copies. */
static void test_identity_reorder(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "identity", "input x: f32[2, 32, 3, 5];\n@layout(nchw) y = reorder(x);\noutput y;\n");
    run_pipeline_or_fail(g, "cpu", 2);
    assert_int_equal(g->n_nodes, 1);
    CpuIo io;
    cpu_io_make(g, 13, &io);
    float *outs[2];
    cpu_run_jit(g, "identity", NULL, NULL, &io, outs);
    for (int t = 0; t < 2; t++)
        assert_memory_equal(outs[t], io.in[0], (size_t)io.in_count[0] * sizeof(float));
    free(outs[0]), free(outs[1]);
    cpu_io_free(&io);
    parsed_free(&p);
}

/* The split rule of docs/layouts.md, "Threads", on the shapes it quotes. */
static void test_split_rule(void **state)
{
    (void)state;
    /* VGG-16's first layers: one filter group, 16 bands of 14 rows. */
    assert_int_equal(dnnk_blocked_filter_blocks(64 / DNNK_BLOCK), 4);
    assert_int_equal(dnnk_blocked_rows(1, 224, 224), 14);
    /* ResNet-50's 7 x 7 layers of 512 filters: 8 filter groups, whole images. */
    assert_int_equal(dnnk_blocked_filter_blocks(512 / DNNK_BLOCK), 4);
    assert_int_equal(dnnk_blocked_rows(8, 7, 7), 7);
    /* 56 x 56 with one filter group: bands halve to 2 rows (28 units). */
    assert_int_equal(dnnk_blocked_rows(1, 56, 56), 2);
    /* A batch fills the units alone. */
    assert_int_equal(dnnk_blocked_rows(16, 28, 28), 28);
    /* A band keeps 48 outputs: 3 x 3 images stay whole. */
    assert_int_equal(dnnk_blocked_rows(1, 3, 3), 3);
}

/* The order of the units (docs/layouts.md, "Threads"): rows major where
 * the weights are smaller than an image of the input, so that a thread's
 * contiguous share of the units is a band of rows with all its filters. */
static void test_unit_order(void **state)
{
    (void)state;
    /* ResNet-50: a 1x1 conv of 256 filters on 64 x 56 x 56 (16,384 weights
     * against 200,704 inputs) is rows major; a 3x3 conv of 256 filters on
     * 256 x 14 x 14 (589,824 against 50,176) filters major. */
    assert_true(dnnk_blocked_rows_major(64 * 256, 64 * 56 * 56));
    assert_false(dnnk_blocked_rows_major(256 * 256 * 9, 256 * 14 * 14));
    /* 2 images, 3 filter groups, 4 bands: rows major walks an image's
     * groups within each band, filters major its bands within each group. */
    dnnk_blocked_unit r = dnnk_blocked_unit_at(12 + 7, 3, 4, 1), f = dnnk_blocked_unit_at(12 + 7, 3, 4, 0);
    assert_int_equal(r.n, 1), assert_int_equal(r.group, 1), assert_int_equal(r.run, 2);
    assert_int_equal(f.n, 1), assert_int_equal(f.group, 1), assert_int_equal(f.run, 3);
    /* Either way every (image, group, band) is one unit. */
    for (int major = 0; major < 2; major++) {
        bool seen[2][3][4] = {{{false}}};
        for (int64_t u = 0; u < 24; u++) {
            dnnk_blocked_unit a = dnnk_blocked_unit_at(u, 3, 4, major);
            assert_false(seen[a.n][a.group][a.run]);
            seen[a.n][a.group][a.run] = true;
        }
    }
}

/* select-layout makes this blocked by itself at -O2 (no reorder: the
 * first conv reads the plain image, the global pool writes plain), padded
 * blocks included: b and c's 24, the concat's 56 (a's whole blocks, then c's
 * padded one), e's 40; each conv errs by at most 2 gamma_(K+2) S (above),
 * about 1e-5 of S for these K, and S is a few times the largest output;
 * 1e-4 of the largest output leaves room for four layers, and a wrong
 * index moves outputs by their own size. */
static const char network[] =
    "input x: f32[1, 3, 20, 20];\n"
    "a = conv(x, filters=32, kernel=3, pad=1);\n"
    "ra = relu(a);\n"
    "b = conv(ra, filters=24, kernel=1);\n"
    "rb = relu(b);\n"
    "c = conv(rb, filters=24, kernel=3, pad=1, groups=24);\n"
    "j = concat(ra, c);\n"
    "d = add(j, j);\n"
    "rd = relu(d);\n"
    "m = maxpool(rd, kernel=2, stride=2);\n"
    "e = conv(m, filters=40, kernel=3, stride=2, pad=1);\n"
    "p = global_avgpool(e);\n"
    "f = flatten(p);\n"
    "h = fc(f, units=10);\n"
    "output h;\n";

static void test_network(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "network.dnn", network);
    run_pipeline_or_fail(g, "cpu", 2);
    int blocked = 0, reorders = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        blocked += g->nodes[i].ann.has_layout && g->nodes[i].ann.layout == LAYOUT_NCHW16C;
        reorders += g->nodes[i].op == OP_REORDER;
    }
    /* a (reading the plain image), b, c, j, d, rd, m, e (the relus fused
     * into a, b); no reorder. */
    assert_int_equal(blocked, 8);
    assert_int_equal(reorders, 0);
    CpuIo io;
    cpu_io_make(g, 5, &io);
    float *ref = cpu_run_reference(g, &io), *outs[2];
    cpu_run_jit(g, "network", NULL, NULL, &io, outs);
    double scale = 0, worst[3] = {0};
    float *obj = cpu_run_object(g, "network", &io);
    for (int64_t i = 0; i < io.out_count[0]; i++) {
        scale = fmax(scale, fabs(ref[i]));
        worst[0] = fmax(worst[0], fabs(outs[0][i] - ref[i]));
        worst[1] = fmax(worst[1], fabs(outs[1][i] - ref[i]));
        worst[2] = fmax(worst[2], fabs(obj[i] - ref[i]));
    }
    print_message("network: largest errors %.3g %.3g %.3g of the largest output %.4g\n", worst[0] / scale,
                  worst[1] / scale, worst[2] / scale, scale);
    assert_true(scale > 0);
    for (int k = 0; k < 3; k++)
        assert_true(worst[k] <= 1e-4 * scale);
    free(outs[0]), free(outs[1]), free(obj), free(ref);
    cpu_io_free(&io);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convolutions),
        cmocka_unit_test(test_depthwise),
        cmocka_unit_test(test_padded_blocks),
        cmocka_unit_test(test_plain_input),
        cmocka_unit_test(test_padding_never_read),
        cmocka_unit_test(test_padded_concat_stays_plain),
        cmocka_unit_test(test_eight_lanes),
        cmocka_unit_test(test_pooling_and_reorders),
        cmocka_unit_test(test_identity_reorder),
        cmocka_unit_test(test_split_rule),
        cmocka_unit_test(test_unit_order),
        cmocka_unit_test(test_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
