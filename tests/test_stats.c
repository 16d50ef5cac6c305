/* The survey's model metrics from the example networks: Table II's CONV and
 * FC rows (weights and MACs) and totals per network, and Table IV's non-zero
 * weights and MACs on a small network whose zeros are counted by hand. The
 * numbers are those `dnnc stats --json` prints (both come from layer_stats
 * and graph_stats).
 *
 * Tolerances. The survey prints two or three significant digits ("2.3M",
 * "666M"); a figure is within its rounding when it lies within half a unit
 * of the last digit shown (2.3M: 2.25M to 2.35M, +-2.2%; 666M: +-0.08%).
 * That is the default tolerance of every row. A row held to anything else
 * says so and why, next to its numbers, and the test checks the reason
 * where it can be counted.
 *
 * Rows. A layer is in the CONV or FC row by the survey's own definition
 * (Section II-B): an FC layer applies filters "of the same size as the
 * ifmaps" (H = R, W = S, E = F = 1). dnnc's `fc` op is FC; a `conv` whose
 * filter covers its whole unpadded input and makes a 1x1 output is FC too.
 * The only such layer in the examples is LeNet-5's C5 (a 5x5 convolution of
 * S4's 5x5 maps), which examples/lenet5.dnn writes as a conv, as the paper
 * draws it, and the survey counts among LeNet-5's "two FC layers".
 * Everything else (batch norm, pooling, activations) is in neither row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"
#include "stats.h"
#include "test_util.h"
#include "weights.h"
#include "winograd.h"

typedef enum { ROW_CONV, ROW_FC, ROW_OTHER } Row;

/* The survey's class of a layer (see the top of the file). */
static Row survey_row(const Graph *g, const Node *n)
{
    if (n->op == OP_FC)
        return ROW_FC;
    if (n->op != OP_CONV)
        return ROW_OTHER;
    const ConvAttrs *a = &n->attr.conv;
    const Shape *in = &g->tensors[n->inputs[0]].shape, *out = &g->tensors[n->output].shape;
    bool whole_input = a->kernel[0] == in->d[2] && a->kernel[1] == in->d[3] && a->pad[0] == 0 &&
                       a->pad[1] == 0 && a->pad[2] == 0 && a->pad[3] == 0;
    return whole_input && out->d[2] == 1 && out->d[3] == 1 ? ROW_FC : ROW_CONV;
}

typedef struct Sums {
    int64_t weights[3], macs[3];
    int64_t weights_total, macs_total;
    int64_t bn_weights;       /* batch-norm parameters (in ROW_OTHER) */
    int64_t bias_connections; /* one per output of a CONV-row layer with a bias */
    int64_t pool_connections; /* average pooling: window + 1 per output (LeNet-5's trainable S2/S4) */
} Sums;

/* Sums over the layers of g, leaving out the layer named `skip` (may be NULL). */
static Sums sum_rows(const Graph *g, const char *skip)
{
    Sums s = {0};
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (skip && strcmp(n->name, skip) == 0)
            continue;
        LayerStats ls = layer_stats(g, n);
        Row r = survey_row(g, n);
        s.weights[r] += ls.weights;
        s.macs[r] += ls.macs;
        s.weights_total += ls.weights;
        s.macs_total += ls.macs;
        if (n->op == OP_BATCHNORM)
            s.bn_weights += ls.weights;
        if (r == ROW_CONV && n->attr.conv.bias)
            s.bias_connections += ls.out_act;
        if (n->op == OP_AVGPOOL)
            s.pool_connections +=
                ls.out_act * (n->attr.pool.kernel[0] * n->attr.pool.kernel[1] + 1);
    }
    return s;
}

static Sums sum_file(const char *file, const char *skip, Parsed *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, file);
    parse_file(p, path);
    if (!p->graph)
        fail_msg("%s:\n%s", file, p->messages);
    /* Without bound weights the non-zero counts are unknown, not guessed. */
    assert_false(graph_stats(p->graph).bound);
    return sum_rows(p->graph, skip);
}

/* A survey figure as printed ("2.3M", "666M", "58k", "1.43G") and half a
 * unit of its last digit, relative: the tolerance of its rounding. */
static double survey_value(const char *text, double *rounding)
{
    char *end;
    double v = strtod(text, &end);
    const char *dot = strchr(text, '.');
    int decimals = dot ? (int)(end - dot - 1) : 0;
    double scale = *end == 'k' ? 1e3 : *end == 'M' ? 1e6 : *end == 'G' ? 1e9 : 1;
    *rounding = 0.5 * pow(10, -decimals) / v;
    return v * scale;
}

/* Checks one figure: within `tolerance` (relative) of the survey's, or
 * within its rounding when tolerance is 0. */
static void check_figure(const char *net, const char *what, int64_t dnnc, const char *survey,
                         double tolerance)
{
    double rounding;
    double want = survey_value(survey, &rounding);
    double tol = tolerance > 0 ? tolerance : rounding;
    double dev = (double)dnnc / want - 1;
    print_message("  %-10s %-13s %14lld  survey %-6s %+7.2f%%  (within %.2f%%%s)\n", net, what,
                  (long long)dnnc, survey, 100 * dev, 100 * tol,
                  tolerance > 0 ? ", see the test" : ", its rounding");
    if (fabs(dev) > tol)
        fail_msg("%s %s: %lld is %+.2f%% from the survey's %s (allowed %.2f%%)", net, what,
                 (long long)dnnc, 100 * dev, survey, 100 * tol);
}

typedef struct Table2 {
    const char *net, *file;
    const char *conv_weights, *conv_macs, *fc_weights, *fc_macs, *weights, *macs;
    int64_t fc_weights_exact, fc_macs_exact; /* counted by hand, biases included */
} Table2;

/* Table II, the four ImageNet networks: every figure within its rounding.
 * The FC rows are also counted by hand, since "1M" and "2M" round loosely:
 *   AlexNet   fc6 256x6x6 -> 4096, fc7 4096 -> 4096, fc8 4096 -> 1000:
 *             9216 x 4096 + 4096 x 4096 + 4096 x 1000 = 58,621,952 MACs,
 *             + 4096 + 4096 + 1000 biases = 58,631,144 weights
 *   VGG-16    fc6 512x7x7 -> 4096, fc7, fc8 as AlexNet's:
 *             25088 x 4096 + 16,777,216 + 4,096,000 = 123,633,664 MACs,
 *             + 9,192 biases = 123,642,856 weights
 *   GoogLeNet 1024 -> 1000: 1,024,000 MACs, 1,025,000 weights
 *   ResNet-50 2048 -> 1000: 2,048,000 MACs, 2,049,000 weights */
static const Table2 table2[] = {
    {"AlexNet", "alexnet.dnn", "2.3M", "666M", "58.6M", "58.6M", "61M", "724M", 58631144, 58621952},
    {"VGG-16", "vgg16.dnn", "14.7M", "15.3G", "124M", "124M", "138M", "15.5G", 123642856,
     123633664},
    {"GoogLeNet", "googlenet.dnn", "6.0M", "1.43G", "1M", "1M", "7M", "1.43G", 1025000, 1024000},
    {"ResNet-50", "resnet50.dnn", "23.5M", "3.86G", "2M", "2M", "25.5M", "3.9G", 2049000, 2048000},
};

/* Checks a network's rows, its total weights without batch-norm
 * parameters (see ResNet-50). */
static Sums check_table2(const Table2 *t)
{
    Parsed p;
    Sums s = sum_file(t->file, NULL, &p);
    parsed_free(&p);
    print_message("Table II, %s:\n", t->net);
    assert_int_equal(s.weights[ROW_FC], t->fc_weights_exact);
    assert_int_equal(s.macs[ROW_FC], t->fc_macs_exact);
    check_figure(t->net, "CONV weights", s.weights[ROW_CONV], t->conv_weights, 0);
    check_figure(t->net, "CONV MACs", s.macs[ROW_CONV], t->conv_macs, 0);
    check_figure(t->net, "FC weights", s.weights[ROW_FC], t->fc_weights, 0);
    check_figure(t->net, "FC MACs", s.macs[ROW_FC], t->fc_macs, 0);
    check_figure(t->net, "weights", s.weights_total - s.bn_weights, t->weights, 0);
    check_figure(t->net, "MACs", s.macs_total, t->macs, 0);
    /* Every MAC is in a CONV or FC layer. */
    assert_true(s.macs[ROW_OTHER] == 0);
    return s;
}

static void test_alexnet(void **st)
{
    (void)st;
    assert_int_equal(check_table2(&table2[0]).weights[ROW_OTHER], 0);
}

static void test_vgg16(void **st)
{
    (void)st;
    assert_int_equal(check_table2(&table2[1]).weights[ROW_OTHER], 0);
}

static void test_googlenet(void **st)
{
    (void)st;
    assert_int_equal(check_table2(&table2[2]).weights[ROW_OTHER], 0);
}

/* ResNet-50's total weights are the survey's CONV + FC rows (23.5M + 2M);
 * dnnc also counts its 53 batch norms' 106,240 parameters (scale, shift,
 * mean and variance of 26,560 channels), which are in neither row: the
 * total checked against "25.5M" leaves them out (check_table2 does so for
 * every network; only ResNet-50 has batch norms), and they are checked on
 * their own. With them, dnnc's total is 25,610,152 (+0.43%). */
static void test_resnet50(void **st)
{
    (void)st;
    Sums s = check_table2(&table2[3]);
    assert_int_equal(s.bn_weights, 106240);
    assert_int_equal(s.weights[ROW_OTHER], s.bn_weights);
    print_message("  (ResNet-50's total with its batch norms: %lld)\n", (long long)s.weights_total);
}

/* LeNet-5. The survey's column mixes two networks: its totals (60k weights,
 * 341k MACs) are LeCun et al.'s 1998 parameter and connection counts, which
 * examples/lenet5.dnn follows (C3 connection table included), while its
 * layer shapes (20 and 50 filters, FC layers of 500 and 10) are Caffe's
 * LeNet, whose footnote gives 431k weights. So:
 *
 *   FC rows. The survey's "two FC layers" are C5 and F6 (the paper's
 *   output is 10 Euclidean RBF units, not counted as a layer; dnnc writes
 *   it as fc 84 -> 10 + softmax). Without dnnc's `out`:
 *     weights C5 48,120 + F6 10,164 = 58,284 ("58k"), within its rounding
 *     MACs    C5 48,000 + F6 10,080 = 58,080 ("58k"), within its rounding
 *   and C5 is there only because the row follows the survey's definition:
 *   by its op, dnnc would put it in CONV (FC 11,014 weights, -81%).
 *
 *   CONV MACs, C1 117,600 + C3 150,000 = 267,600 against "283k": -5.4%,
 *   held to 6%. The paper counts connections: every output also has a
 *   bias connection (C1 4,704 + C3 1,600) and S2 and S4 are trainable
 *   subsampling layers of 5 connections an output (1,176 x 5 + 400 x 5 =
 *   7,880). With them, 281,784: the paper's C1 + S2 + C3 + S4 connection
 *   counts (122,304 + 5,880 + 151,600 + 2,000), 0.4% below "283k", which is
 *   itself the survey's 341k total less its 58k FC row.
 *
 *   CONV weights, C1 156 + C3 1,516 = 1,672 (biases included) against
 *   "2.6k": -36%, not a tolerance but a different count. No reading of the
 *   paper's C1 and C3 gives 2.6k (adding S2's and S4's 44 trainable
 *   coefficients gives 1,716); a C3 connected to all six S2 maps does:
 *   156 + 16 x (6 x 25 + 1) = 2,572, within the rounding of "2.6k". The
 *   test checks dnnc's 1,672 exactly and the fully connected variant
 *   against the survey.
 *
 *   Totals: weights 60,806 against "60k" (+1.3%, held to 2%): the paper's
 *   60,840 is the same layers with S2/S4's 44 coefficients and the RBF
 *   layer's 840 weights where dnnc's `out` has 850. MACs 326,520 against
 *   "341k" (-4.2%, held to 5%): the connections above again; with them
 *   340,704, within the rounding of "341k". */
static void test_lenet5(void **st)
{
    (void)st;
    Parsed p;
    Sums all = sum_file("lenet5.dnn", NULL, &p);
    const Graph *g = p.graph;
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, "c5") == 0)
            assert_int_equal(survey_row(g, &g->nodes[i]), ROW_FC);
    Sums s = sum_rows(g, "out");
    print_message("Table II, LeNet-5:\n");
    assert_int_equal(s.weights[ROW_FC], 48120 + 10164);
    assert_int_equal(s.macs[ROW_FC], 48000 + 10080);
    check_figure("LeNet-5", "FC weights", s.weights[ROW_FC], "58k", 0);
    check_figure("LeNet-5", "FC MACs", s.macs[ROW_FC], "58k", 0);

    assert_int_equal(s.weights[ROW_CONV], 156 + 1516);
    assert_int_equal(s.macs[ROW_CONV], 117600 + 150000);
    check_figure("LeNet-5", "CONV MACs", s.macs[ROW_CONV], "283k", 0.06);
    int64_t connections = s.macs[ROW_CONV] + s.bias_connections + s.pool_connections;
    assert_int_equal(connections, 122304 + 5880 + 151600 + 2000);
    check_figure("LeNet-5", "CONV conn.", connections, "283k", 0.005);

    Parsed full;
    parse_text(&full, "lenet5_full_c3.dnn",
               "input data: f32[1, 1, 28, 28];\n"
               "c1 = conv(data, filters=6, kernel=5, pad=2);\n"
               "c1_act = tanh(c1);\n"
               "s2 = avgpool(c1_act, kernel=2, stride=2);\n"
               "c3 = conv(s2, filters=16, kernel=5);\n"
               "output c3;\n");
    if (!full.graph)
        fail_msg("%s", full.messages);
    Sums f = sum_rows(full.graph, NULL);
    assert_int_equal(f.weights[ROW_CONV], 156 + 2416);
    print_message("  LeNet-5 CONV weights %lld (survey 2.6k, -36%%: not LeNet-5's count; with "
                  "C3 fully connected:)\n", (long long)s.weights[ROW_CONV]);
    check_figure("LeNet-5", "CONV w. full", f.weights[ROW_CONV], "2.6k", 0);
    parsed_free(&full);

    assert_int_equal(all.weights_total, 60806);
    check_figure("LeNet-5", "weights", all.weights_total, "60k", 0.02);
    check_figure("LeNet-5", "MACs", all.macs_total, "341k", 0.05);
    check_figure("LeNet-5", "MACs+conn.",
                 all.macs_total + all.bias_connections + all.pool_connections, "341k", 0);
    parsed_free(&p);
}

/* Hand-checked counts on one small layer of each kind that has MACs. */
static void test_small_layer_counts(void **s)
{
    (void)s;
    Parsed p;
    parse_text(&p, "small.dnn",
               "input x: f32[2, 4, 10, 10];\n"
               "c = conv(x, filters=6, kernel=3, stride=2, pad=[1, 1, 0, 0], groups=2);\n"
               "f = fc(c, units=5, bias=false);\n"
               "output f;\n");
    if (!p.graph)
        fail_msg("%s", p.messages);
    const Node *c = &p.graph->nodes[0], *f = &p.graph->nodes[1];
    /* conv: out [2, 6, 5, 5]; a filter reads 4/2 channels x 3 x 3 = 18
     * weights, so weights 6 x 18 = 108 + 6 biases, and MACs 18 per output
     * element (padding positions included, as the survey counts). */
    LayerStats sc = layer_stats(p.graph, c), sf = layer_stats(p.graph, f);
    assert_int_equal(sc.weights, 114);
    assert_int_equal(sc.macs, 2 * 6 * 5 * 5 * 18);
    assert_int_equal(sc.in_act, 2 * 4 * 10 * 10);
    assert_int_equal(sc.out_act, 2 * 6 * 5 * 5);
    assert_int_equal(sf.weights, 5 * 150);
    assert_int_equal(sf.macs, 2 * 5 * 150);
    parsed_free(&p);
}

/* Table IV's non-zero weights and MACs on a network whose zeros are set by
 * hand. dnnc's non-zero MACs skip zero weights: an output element costs one
 * MAC per non-zero weight of its filter (padding positions included, as for
 * the MACs). Table IV's NZ MACs also skip zero activations, which depend on
 * the input ("we propose using the ... validation images"); dnnc leaves
 * those to the accelerator model, which measures or assumes activation
 * sparsity (docs/accelerator.md), so they are not in these counts.
 *
 *   conv: x [2, 3, 5, 5], 4 filters of 3 x 3 x 3 = 27 weights, pad 1:
 *         output [2, 4, 5, 5], 50 positions per filter.
 *         filter 0 all zero (pruned):     0 non-zero
 *         filter 1 only weight 13:        1
 *         filter 2 even weights 0..26:   14
 *         filter 3 dense:                27   -> 42 of 108 weights
 *         bias {0, 0.5, 0, 1}:             2  -> 44 of 112 parameters
 *         MACs 108 x 50 = 5,400; non-zero 42 x 50 = 2,100
 *   fc:   100 inputs (4 x 5 x 5), 3 units:
 *         row 0 only inputs 0..9:        10
 *         row 1 all zero:                 0
 *         row 2 all but every 4th:       75   -> 85 of 300 weights
 *         bias {1, 0, 0}:                 1   -> 86 of 303 parameters
 *         MACs 300 x 2 images = 600; non-zero 85 x 2 = 170
 *   total non-zero weights 44 + 86 = 130 of 415, MACs 2,100 + 170 = 2,270
 *   of 6,000. */
static void test_table4_nonzero_counts(void **s)
{
    (void)s;
    Parsed p;
    parse_text(&p, "sparse.dnn",
               "input x: f32[2, 3, 5, 5];\n"
               "c = conv(x, filters=4, kernel=3, pad=1);\n"
               "f = fc(c, units=3);\n"
               "output f;\n");
    if (!p.graph)
        fail_msg("%s", p.messages);
    Graph *g = p.graph;
    assert_true(weights_randomize(g, 7)); /* binds every parameter, all non-zero */
    const Node *c = &g->nodes[0], *f = &g->nodes[1];
    float *cw = g->tensors[c->params[0]].data, *cb = g->tensors[c->params[1]].data;
    float *fw = g->tensors[f->params[0]].data, *fb = g->tensors[f->params[1]].data;
    assert_int_equal(g->tensors[c->params[0]].type.kind, ELEM_F32);
    for (int k = 0; k < 27; k++) {
        cw[0 * 27 + k] = 0;
        cw[1 * 27 + k] = k == 13 ? -0.25f : 0;
        cw[2 * 27 + k] = k % 2 == 0 ? 0.5f : 0;
        cw[3 * 27 + k] = 1.0f + (float)k;
    }
    const float conv_bias[4] = {0, 0.5f, 0, 1};
    memcpy(cb, conv_bias, sizeof conv_bias);
    for (int k = 0; k < 100; k++) {
        fw[0 * 100 + k] = k < 10 ? 2.0f : 0;
        fw[1 * 100 + k] = 0;
        fw[2 * 100 + k] = k % 4 == 0 ? 0 : -1.0f;
    }
    const float fc_bias[3] = {1, 0, 0};
    memcpy(fb, fc_bias, sizeof fc_bias);

    LayerStats sc = layer_stats(g, c), sf = layer_stats(g, f), t = graph_stats(g);
    assert_true(sc.bound && sf.bound && t.bound);
    assert_int_equal(sc.weights, 112);
    assert_int_equal(sc.nz_weights, 44);
    assert_int_equal(sc.macs, 5400);
    assert_int_equal(sc.nz_macs, 2100);
    assert_int_equal(sf.weights, 303);
    assert_int_equal(sf.nz_weights, 86);
    assert_int_equal(sf.macs, 600);
    assert_int_equal(sf.nz_macs, 170);
    assert_int_equal(t.weights, 415);
    assert_int_equal(t.nz_weights, 130);
    assert_int_equal(t.macs, 6000);
    assert_int_equal(t.nz_macs, 2270);
    print_message("Table IV counts on a hand-made sparse network: non-zero weights %lld of %lld, "
                  "non-zero MACs %lld of %lld\n",
                  (long long)t.nz_weights, (long long)t.weights, (long long)t.nz_macs,
                  (long long)t.macs);
    parsed_free(&p);
}

/* ---- multiplications under each convolution algorithm ------------------- *
 *
 * The survey's figures (V-A): F(2x2, 3x3) needs 2.25 times fewer
 * multiplications than the direct sums and F(4x4, 3x3) 4 times, counting
 * the element-wise products (16 against 36 per 2x2 tile, 36 against 144 per
 * 4x4); F(6x6, 3x3) 324/64 = 5.0625 times. Exactly so when the tile divides
 * the output; partial tiles at the edges cost whole ones, so less. */

/* A 3x3 conv, pad 1, N x C x S x S -> N x F x S x S; groups g. */
static ConvAttrs conv3(int64_t filters, int64_t groups)
{
    return (ConvAttrs){.filters = filters, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                       .pad = {1, 1, 1, 1}, .groups = groups};
}

static double saving_of(ConvMultiplications direct, ConvMultiplications m)
{
    return (double)direct.products / (double)m.products;
}

static void test_winograd_saves_the_surveys_factors(void **st)
{
    (void)st;
    ConvAttrs at = conv3(6, 1);
    Shape is = {4, {2, 4, 12, 12}}, os = {4, {2, 6, 12, 12}}; /* 12: a multiple of 2, 4 and 6 */
    ConvMultiplications direct = conv_algo_multiplications(&at, &is, &os, ALGO_DIRECT, 0);
    assert_int_equal(direct.products, 2 * 6 * 144 * 4 * 9);
    assert_int_equal(direct.transforms, 0);
    ConvMultiplications f2 = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 2);
    ConvMultiplications f4 = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 4);
    ConvMultiplications f6 = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 6);
    /* 2 images x 36 tiles x 6 filters x 4 channels x 16 products */
    assert_int_equal(f2.products, 2 * 36 * 6 * 4 * 16);
    assert_true(saving_of(direct, f2) == 2.25);
    assert_true(saving_of(direct, f4) == 4.0);
    assert_true(saving_of(direct, f6) == 5.0625);
    /* The default tile is F(4x4); auto and im2col count as the direct sums. */
    assert_int_equal(conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 0).products, f4.products);
    assert_int_equal(conv_algo_multiplications(&at, &is, &os, ALGO_AUTO, 0).products, direct.products);
    assert_int_equal(conv_algo_multiplications(&at, &is, &os, ALGO_IM2COL, 0).products, direct.products);
    print_message("3x3, 12x12 outputs: F(2x2) %.4gx, F(4x4) %.4gx, F(6x6) %.4gx fewer "
                  "multiplications than direct\n", saving_of(direct, f2), saving_of(direct, f4),
                  saving_of(direct, f6));
}

static void test_partial_tiles_save_less(void **st)
{
    (void)st;
    ConvAttrs at = conv3(6, 1);
    Shape is = {4, {1, 4, 13, 13}}, os = {4, {1, 6, 13, 13}}; /* 13: no tile divides it */
    ConvMultiplications direct = conv_algo_multiplications(&at, &is, &os, ALGO_DIRECT, 0);
    ConvMultiplications f2 = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 2);
    ConvMultiplications f4 = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, 4);
    /* 7 x 7 tiles of 2 cover 14 x 14 outputs; 4 x 4 of 4 cover 16 x 16. */
    assert_int_equal(f2.products, 49 * 6 * 4 * 16);
    assert_int_equal(f4.products, 16 * 6 * 4 * 36);
    assert_true(saving_of(direct, f2) < 2.25 && saving_of(direct, f2) > 1);
    assert_true(saving_of(direct, f4) < 4 && saving_of(direct, f4) > 1);
    /* A 1x1 output is one F(6x6) tile: 64 products for 9. */
    Shape one_in = {4, {1, 4, 1, 1}}, one_out = {4, {1, 6, 1, 1}};
    ConvMultiplications d1 = conv_algo_multiplications(&at, &one_in, &one_out, ALGO_DIRECT, 0);
    ConvMultiplications f6 = conv_algo_multiplications(&at, &one_in, &one_out, ALGO_WINOGRAD, 6);
    assert_int_equal(f6.products * 9, d1.products * 64);
}

/* Entries of a transform matrix other than 0 and +-1: its multiplications. */
static int64_t nontrivial(const double *m, int rows, int cols, int stride)
{
    int64_t n = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            n += m[i * stride + j] != 0 && fabs(m[i * stride + j]) != 1;
    return n;
}

/* The transforms' multiplications, from the matrices the reference builds:
 * per image, channel and tile B^T d B (2 alpha products by B^T's entries);
 * per image, filter and tile A^T M A ((alpha + m) by A^T's); groups share
 * nothing but are counted per channel and filter all the same. */
static void test_winograd_transform_multiplications(void **st)
{
    (void)st;
    ConvAttrs at = conv3(6, 2);
    Shape is = {4, {1, 4, 8, 8}}, os = {4, {1, 6, 8, 8}};
    for (int m = 2; m <= 6; m += 2) {
        WinogradMatrices t;
        assert_true(winograd_matrices(m, &t));
        int64_t alpha = m + 2, tiles = ((8 + m - 1) / m) * ((8 + m - 1) / m);
        int64_t bt = nontrivial(&t.BT[0][0], (int)alpha, (int)alpha, WINOGRAD_MAX_ALPHA);
        int64_t at_ = nontrivial(&t.AT[0][0], m, (int)alpha, WINOGRAD_MAX_ALPHA);
        ConvMultiplications c = conv_algo_multiplications(&at, &is, &os, ALGO_WINOGRAD, m);
        assert_int_equal(c.transforms, tiles * (4 * 2 * alpha * bt + 6 * (alpha + m) * at_));
        /* groups of 2 channels: 6 filters x 2 channels x alpha^2 per tile */
        assert_int_equal(c.products, tiles * 6 * 2 * alpha * alpha);
        if (m == 2)
            assert_int_equal(c.transforms, 0); /* F(2x2)'s transforms are additions */
    }
}

/* FFT of size T: T (T/2 + 1) complex products (4 real each) per tile,
 * output channel and channel; a real T x T transform (3T^2 + 2T) log2 T. */
static void test_fft_multiplications(void **st)
{
    (void)st;
    ConvAttrs at = {.filters = 3, .kernel = {5, 5}, .stride = {1, 1}, .dilation = {1, 1},
                    .pad = {2, 2, 2, 2}, .groups = 1};
    Shape is = {4, {1, 2, 12, 12}}, os = {4, {1, 3, 12, 12}};
    ConvMultiplications direct = conv_algo_multiplications(&at, &is, &os, ALGO_DIRECT, 0);
    /* T = 16 (the default for 5x5): one 12 x 12 output tile */
    ConvMultiplications f16 = conv_algo_multiplications(&at, &is, &os, ALGO_FFT, 0);
    assert_int_equal(direct.products, 3 * 144 * 2 * 25);
    assert_int_equal(f16.products, 3 * 2 * 16 * 9 * 4);
    assert_int_equal(f16.transforms, (2 + 3) * (3 * 256 + 2 * 16) * 4);
    assert_true(saving_of(direct, f16) == 6.25);
    /* T = 8: output tiles of 4 x 4, 9 of them */
    ConvMultiplications f8 = conv_algo_multiplications(&at, &is, &os, ALGO_FFT, 8);
    assert_int_equal(f8.products, 9 * 3 * 2 * 8 * 5 * 4);
    assert_int_equal(f8.transforms, 9 * (2 + 3) * (3 * 64 + 2 * 8) * 3);
    /* Strided: the FFT does not apply, so the direct sums run. */
    at.stride[0] = at.stride[1] = 2;
    Shape os2 = {4, {1, 3, 6, 6}};
    assert_int_equal(conv_algo_multiplications(&at, &is, &os2, ALGO_FFT, 16).products,
                     conv_algo_multiplications(&at, &is, &os2, ALGO_DIRECT, 0).products);
}

/* layer_stats on a parsed graph: each conv's @algo and tile, its
 * multiplications; other layers' multiplications are their MACs. */
static void test_layer_stats_count_the_algorithm(void **st)
{
    (void)st;
    Parsed p;
    parse_text(&p, "algos.dnn",
               "input x: f32[1, 4, 8, 8];\n"
               "@algo(winograd, tile=2) a = conv(x, filters=4, kernel=3, pad=1);\n"
               "@algo(fft, tile=8) b = conv(a, filters=4, kernel=3, pad=1);\n"
               "c = conv(b, filters=4, kernel=3, stride=2, pad=1);\n"
               "f = fc(c, units=3);\n"
               "output f;\n");
    if (!p.graph)
        fail_msg("%s", p.messages);
    const Graph *g = p.graph;
    LayerStats a = layer_stats(g, &g->nodes[0]), b = layer_stats(g, &g->nodes[1]);
    LayerStats c = layer_stats(g, &g->nodes[2]), f = layer_stats(g, &g->nodes[3]);
    assert_int_equal(a.algo, ALGO_WINOGRAD);
    assert_int_equal(a.tile, 2);
    assert_int_equal(a.macs, 4 * 64 * 4 * 9);
    assert_int_equal(a.mults, 16 * 4 * 4 * 16);
    assert_true(stats_saving(&a) == 2.25);
    assert_int_equal(b.algo, ALGO_FFT);
    assert_int_equal(b.tile, 8);
    assert_int_equal(b.mults, 4 * 4 * 4 * 8 * 5 * 4); /* 4 tiles of 6 x 6 */
    assert_int_equal(c.algo, ALGO_DIRECT);            /* auto: the direct sums */
    assert_int_equal(c.tile, 0);
    assert_int_equal(c.mults, c.macs);
    assert_int_equal(f.algo, ALGO_AUTO);
    assert_int_equal(f.mults, f.macs);
    LayerStats t = graph_stats(g);
    assert_int_equal(t.mults, a.mults + b.mults + c.mults + f.mults);
    assert_int_equal(t.transform_mults, b.transform_mults); /* F(2x2)'s are 0 */
    parsed_free(&p);
}

/* text without its spaces and newlines (malloc'd): the JSON writer
 * indents, and the text table pads columns. */
static char *squeezed(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    assert_non_null(out);
    for (; *text; text++)
        if (*text != ' ' && *text != '\n')
            *o++ = *text;
    *o = '\0';
    return out;
}

/* `dnnc stats` shows each conv's algorithm and saving, in text and JSON. */
static void test_stats_command_shows_the_saving(void **st)
{
    (void)st;
    char dir[256];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-stats"));
    const char *model = temp_path(dir, "w.dnn");
    FILE *out = fopen(model, "w");
    assert_non_null(out);
    fputs("input x: f32[1, 8, 16, 16];\n"
          "@algo(winograd, tile=2) c2 = conv(x, filters=8, kernel=3, pad=1);\n"
          "@algo(winograd) c4 = conv(c2, filters=8, kernel=3, pad=1);\n"
          "r = relu(c4);\n"
          "output r;\n", out);
    assert_int_equal(fclose(out), 0);
    model = temp_path(dir, "w.dnn");

    /* c2: 8 x 256 x 8 x 9 = 147,456 MACs, F(2x2) 64 tiles x 64 x 16 =
     * 65,536 products; c4 (F(4x4), the default select-algo records): 16
     * tiles x 64 x 36 = 36,864, and 16 x (8 x 144 + 8 x 60) = 26,112 in
     * its transforms. */
    Run r = run_program(DNNC_BINARY, dir, (const char *const[]){"stats", model, NULL});
    char *text = squeezed(r.out);
    assert_run(&r, 0, "\n3 layers, 1.2k weights, 294.9k MACs, 102.4k multiplications (2.88x fewer)\n",
               NULL); /* frees r */
    assert_contains(text, "c2winogradF(2x2,3x3)147456655360" "2.25xfewer");
    assert_contains(text, "c4winogradF(4x4,3x3)1474563686426112" "4.00xfewer");
    assert_contains(text, "total29491210240026112" "2.88xfewer");
    free(text);

    r = run_program(DNNC_BINARY, dir, (const char *const[]){"stats", "--json", model, NULL});
    char *json = squeezed(r.out);
    assert_run(&r, 0, "\"saving\"", NULL); /* frees r */
    assert_contains(json, "\"name\":\"c2\",\"op\":\"conv\",\"output_shape\":[1,8,16,16],"
                          "\"algorithm\":\"winograd\",\"tile\":2");
    assert_contains(json, "\"macs\":147456");
    assert_contains(json, "\"multiplications\":65536,\"transform_multiplications\":0,"
                          "\"saving\":2.25}");
    assert_contains(json, "\"algorithm\":\"winograd\",\"tile\":4");
    assert_contains(json, "\"multiplications\":36864,\"transform_multiplications\":26112,"
                          "\"saving\":4}");
    assert_contains(json, "\"algorithm\":null,\"tile\":null"); /* relu */
    assert_contains(json, "\"total\":{\"layers\":3");
    assert_contains(json, "\"multiplications\":102400,\"transform_multiplications\":26112,"
                          "\"saving\":");
    const char *saving = strstr(strstr(json, "\"total\":"), "\"saving\":") + strlen("\"saving\":");
    assert_true(fabs(strtod(saving, NULL) - 294912.0 / 102400) < 1e-15);
    free(json);
    assert_int_equal(temp_dir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd_saves_the_surveys_factors),
        cmocka_unit_test(test_partial_tiles_save_less),
        cmocka_unit_test(test_winograd_transform_multiplications),
        cmocka_unit_test(test_fft_multiplications),
        cmocka_unit_test(test_layer_stats_count_the_algorithm),
        cmocka_unit_test(test_stats_command_shows_the_saving),
        cmocka_unit_test(test_small_layer_counts),
        cmocka_unit_test(test_table4_nonzero_counts),
        cmocka_unit_test(test_lenet5),
        cmocka_unit_test(test_alexnet),
        cmocka_unit_test(test_vgg16),
        cmocka_unit_test(test_googlenet),
        cmocka_unit_test(test_resnet50),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
