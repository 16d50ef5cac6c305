/* Dynamic fixed point at 16 bits (fixed16; docs/quantization.md): the
 * reference executor's i16 qlinear_conv against an independent plain
 * computation of the arithmetic the spatial simulator also implements,
 *
 *   acc = sum x * w + bias                  (exact, 64 bits)
 *   y   = saturate_i16(round_half_even(acc * 2^(frac_out - frac_in - frac_w)))
 *
 * on small layers that reach saturation at both ends, negative fractional
 * lengths, ties, groups, an fc, and a K whose sums pass 32 bits; the cpu
 * target's scalar kernel against the reference bit for bit on the same
 * layers and on whole quantised networks; and the rounding shift against
 * an exact long double computation, which shows it equals the 8-bit rule
 * (the double product, rounded once) wherever |acc| < 2^53. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "kernels.h"
#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "target.h"
#include "test_util.h"
#include "weights.h"

/* ---- the rounding shift ---------------------------------------------------- */

/* round_half_even(v * 2^-shift) exactly: long double holds every int64. */
static int64_t exact_shift(int64_t v, int shift)
{
    long double r = nearbyintl(ldexpl((long double)v, -shift));
    return r >= 9.2233720368547758e18L ? INT64_MAX : r <= -9.2233720368547758e18L ? INT64_MIN : (int64_t)r;
}

static void test_round_shift_is_exact(void **state)
{
    (void)state;
    /* Ties go to the even neighbour, in both directions. */
    assert_int_equal(ref_round_shift(1, 1), 0);
    assert_int_equal(ref_round_shift(3, 1), 2);
    assert_int_equal(ref_round_shift(5, 1), 2);
    assert_int_equal(ref_round_shift(-1, 1), 0);
    assert_int_equal(ref_round_shift(-3, 1), -2);
    assert_int_equal(ref_round_shift(-5, 1), -2);
    assert_int_equal(ref_round_shift(6, 2), 2);   /* 1.5 */
    assert_int_equal(ref_round_shift(-6, 2), -2); /* -1.5 */
    assert_int_equal(ref_round_shift(7, 2), 2);   /* 1.75 */
    assert_int_equal(ref_round_shift(-3, -4), -48);
    assert_int_equal(ref_round_shift(INT64_MIN, 63), -1);
    assert_int_equal(ref_round_shift(INT64_MIN, 64), 0);
    assert_int_equal(ref_round_shift(INT64_MAX, 70), 0);
    assert_int_equal(ref_round_shift(1, -63), INT64_MAX);
    assert_int_equal(ref_round_shift(-((int64_t)1 << 20), -50), INT64_MIN);
    uint64_t s = 17;
    for (int i = 0; i < 200000; i++) {
        int bits = 1 + (int)(test_uniform01(&s) * 63);
        int64_t v = (int64_t)((test_uniform01(&s) * 2 - 1) * ldexp(1, bits - 1));
        int shift = (int)(test_uniform01(&s) * 80) - 10;
        if (i % 4 == 0 && shift > 0 && shift < 62) /* a tie */
            v = (v >> shift) * ((int64_t)1 << shift) + ((int64_t)1 << (shift - 1));
        int64_t want = exact_shift(v, shift);
        if (ref_round_shift(v, shift) != want)
            fail_msg("round_shift(%lld, %d) = %lld, want %lld", (long long)v, shift,
                     (long long)ref_round_shift(v, shift), (long long)want);
        /* The 8-bit rule, the double product rounded once, agrees below 2^53. */
        if (fabs((double)v) < 0x1p53 && shift > -10)
            assert_true((double)want == nearbyint((double)v * ldexp(1, -shift)));
    }
}

/* ---- single layers ----------------------------------------------------------- */

/* The parameters of qlinear_conv, in the IR's order. */
enum { P_WEIGHT, P_X_SCALE, P_X_ZERO, P_W_SCALE, P_W_ZERO, P_Y_SCALE, P_Y_ZERO, P_BIAS };

typedef struct Layer {
    const char *name;
    int64_t n, c, h, w, filters, kh, kw, stride, pad, groups;
    int frac_in, frac_w, frac_out;
    bool relu;
    int64_t x_lo, x_hi, w_lo, w_hi, b_range; /* uniform draws */
} Layer;

typedef struct Built {
    Parsed p;
    Graph *g;
    int16_t *x, *want;
    int64_t x_count, y_count;
    int64_t largest_acc; /* the largest |acc| of any output */
} Built;

static void *param(Graph *g, int k) { return g->tensors[g->nodes[0].params[k]].data; }

static int64_t draw(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(test_uniform01(s) * (double)(hi - lo + 1));
}

/* The plain formula for output (n, f, y, x): the test's own loops. */
static int64_t plain_acc(const Layer *l, const int16_t *x, const int16_t *w, const int32_t *b, int64_t n,
                         int64_t f, int64_t oy, int64_t ox)
{
    int64_t cg = l->c / l->groups, fg = l->filters / l->groups, acc = b[f];
    for (int64_t c = 0; c < cg; c++)
        for (int64_t ky = 0; ky < l->kh; ky++)
            for (int64_t kx = 0; kx < l->kw; kx++) {
                int64_t iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                if (iy < 0 || iy >= l->h || ix < 0 || ix >= l->w)
                    continue;
                int64_t xv = x[((n * l->c + f / fg * cg + c) * l->h + iy) * l->w + ix];
                acc += xv * w[((f * cg + c) * l->kh + ky) * l->kw + kx];
            }
    return acc;
}

static int16_t requantised(int64_t acc, int shift, bool relu)
{
    double y = nearbyint(ldexp((double)acc, -shift)); /* exact: |acc| < 2^53 in these layers */
    y = y > 32767 ? 32767 : y < -32768 ? -32768 : y;
    return (int16_t)(relu && y < 0 ? 0 : y);
}

static void build(Built *b, const Layer *l, uint64_t seed)
{
    char text[1024];
    snprintf(text, sizeof text,
             "input x: i16[%lld, %lld, %lld, %lld];\n"
             "y = qlinear_conv(x, filters=%lld, kernel=[%lld, %lld], stride=%lld, pad=%lld, groups=%lld, "
             "weight_type=i16, out_type=i16, bias=true);\n%s",
             (long long)l->n, (long long)l->c, (long long)l->h, (long long)l->w, (long long)l->filters,
             (long long)l->kh, (long long)l->kw, (long long)l->stride, (long long)l->pad,
             (long long)l->groups, l->relu ? "r = relu(y);\noutput r;\n" : "output y;\n");
    parse_text(&b->p, l->name, text);
    if (!b->p.graph)
        fail_msg("%s:\n%s\n%s", l->name, text, b->p.messages);
    Graph *g = b->g = b->p.graph;
    assert_true(weights_randomize(g, 1));
    *(float *)param(g, P_X_SCALE) = ldexpf(1, -l->frac_in);
    *(float *)param(g, P_W_SCALE) = ldexpf(1, -l->frac_w);
    *(float *)param(g, P_Y_SCALE) = ldexpf(1, -l->frac_out);
    *(int16_t *)param(g, P_X_ZERO) = *(int16_t *)param(g, P_W_ZERO) = *(int16_t *)param(g, P_Y_ZERO) = 0;
    int16_t *w = param(g, P_WEIGHT);
    int32_t *bias = param(g, P_BIAS);
    int64_t wn = shape_elems(&g->tensors[g->nodes[0].params[P_WEIGHT]].shape);
    uint64_t s = seed;
    for (int64_t i = 0; i < wn; i++)
        w[i] = (int16_t)draw(&s, l->w_lo, l->w_hi);
    for (int64_t f = 0; f < l->filters; f++)
        bias[f] = (int32_t)draw(&s, -l->b_range, l->b_range);
    b->x_count = l->n * l->c * l->h * l->w;
    b->x = malloc((size_t)b->x_count * sizeof *b->x);
    assert_non_null(b->x);
    for (int64_t i = 0; i < b->x_count; i++)
        b->x[i] = (int16_t)draw(&s, l->x_lo, l->x_hi);
    const Shape *os = &g->tensors[g->outputs[0]].shape;
    b->y_count = shape_elems(os);
    b->want = malloc((size_t)b->y_count * sizeof *b->want);
    assert_non_null(b->want);
    b->largest_acc = 0;
    int shift = l->frac_in + l->frac_w - l->frac_out;
    for (int64_t n = 0, i = 0; n < os->d[0]; n++)
        for (int64_t f = 0; f < os->d[1]; f++)
            for (int64_t y = 0; y < os->d[2]; y++)
                for (int64_t x = 0; x < os->d[3]; x++, i++) {
                    int64_t acc = plain_acc(l, b->x, w, bias, n, f, y, x);
                    b->largest_acc = llabs(acc) > b->largest_acc ? llabs(acc) : b->largest_acc;
                    b->want[i] = requantised(acc, shift, l->relu);
                }
}

static void built_free(Built *b)
{
    free(b->x);
    free(b->want);
    parsed_free(&b->p);
}

static int16_t *run_reference(const Built *b)
{
    int16_t *out = malloc((size_t)b->y_count * sizeof *out);
    assert_non_null(out);
    char err[1024];
    if (!reference_run_typed(b->g, (const void *const[]){b->x}, (void *const[]){out}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

static void expect_same(const char *what, const int16_t *got, const int16_t *want, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (got[i] != want[i])
            fail_msg("%s: output %lld is %d, want %d", what, (long long)i, got[i], want[i]);
}

/* Through the JIT at -O0 and -O2 on 1 and 2 threads: the reference's bits.
 * outputs: any graph's, each of `sizes[k]` bytes. The cpu target's
 * lowering (-O0: what code generation reads, the places of the outputs)
 * first. */
static void check_cpu(Graph *g, const void *const *inputs, const void *const *want, const size_t *sizes)
{
    run_pipeline_or_fail(g, "cpu", 0);
    for (int level = 0; level <= 2; level += 2) {
        char err[1024];
        CodegenOptions co = {.name = "fixed16", .opt_level = level};
        JitModel *j = jit_compile(g, &co, err, sizeof err);
        if (!j)
            fail_msg("cpu target: %s", err);
        for (int threads = 1; threads <= 2; threads++) {
            void *got[4] = {0};
            for (int k = 0; k < g->n_outputs; k++) {
                got[k] = malloc(sizes[k]);
                assert_non_null(got[k]);
                memset(got[k], 0xa5, sizes[k]);
            }
            dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
            assert_int_equal(jit_run(j, inputs, (void *const *)got, pool), 0);
            dnnrt_pool_destroy(pool);
            for (int k = 0; k < g->n_outputs; k++) {
                if (memcmp(got[k], want[k], sizes[k]) != 0)
                    fail_msg("cpu target -O%d, %d thread(s): output %d differs from the reference", level,
                             threads, k);
                free(got[k]);
            }
        }
        jit_free(j);
    }
}

/* The reference equals the plain formula, and the cpu target the reference. */
static void check_layer(const Layer *l, Built *b)
{
    build(b, l, 99);
    int16_t *ref = run_reference(b);
    expect_same(l->name, ref, b->want, b->y_count);
    size_t bytes = (size_t)b->y_count * sizeof *ref;
    check_cpu(b->g, (const void *const[]){b->x}, (const void *const[]){ref}, &bytes);
    free(ref);
}

static void check_plain_layer(const Layer *l)
{
    Built b;
    check_layer(l, &b);
    built_free(&b);
}

static int count_equal(const int16_t *v, int64_t n, int16_t x)
{
    int k = 0;
    for (int64_t i = 0; i < n; i++)
        k += v[i] == x;
    return k;
}

/* Wide inputs and weights: outputs saturate at both ends. */
static void test_conv_saturates_at_both_ends(void **state)
{
    (void)state;
    Layer l = {"saturating.dnn", 1, 2, 6, 6, 3, 3, 3, 1, 1, 1, 8, 12, 8, false,
               -30000, 30000, -30000, 30000, 1 << 30};
    Built b;
    check_layer(&l, &b);
    assert_true(count_equal(b.want, b.y_count, 32767) > 0);
    assert_true(count_equal(b.want, b.y_count, -32768) > 0);
    built_free(&b);
}

/* Negative fractional lengths (a step of 2 for x, 4 for y) and a format
 * change that shifts left (frac_out > frac_in + frac_w), with a relu. */
static void test_negative_fractions_and_left_shifts(void **state)
{
    (void)state;
    Layer right = {"negative.dnn", 2, 3, 5, 5, 4, 3, 3, 2, 1, 1, -1, 3, -2, true, -500, 500, -300, 300, 5000};
    Built b;
    check_layer(&right, &b);
    assert_true(count_equal(b.want, b.y_count, 0) > 0); /* the relu zeroed some */
    built_free(&b);
    Layer left = {"left.dnn", 1, 2, 4, 4, 2, 1, 1, 1, 0, 1, 0, 0, 2, false, -40, 40, -40, 40, 100};
    check_plain_layer(&left);
}

/* A 1x1 conv of weight 1 at shift 1: every odd input is a tie. */
static void test_ties_round_to_even(void **state)
{
    (void)state;
    Layer l = {"ties.dnn", 1, 1, 1, 8, 1, 1, 1, 1, 0, 1, 1, 0, 0, false, 0, 0, 1, 1, 0};
    Built b;
    build(&b, &l, 1);
    static const int16_t x[8] = {1, 3, 5, -1, -3, -5, 7, -7};
    static const int16_t want[8] = {0, 2, 2, 0, -2, -2, 4, -4};
    memcpy(b.x, x, sizeof x);
    *(int32_t *)param(b.g, P_BIAS) = 0;
    int16_t *ref = run_reference(&b);
    expect_same("ties", ref, want, 8);
    size_t bytes = sizeof want;
    check_cpu(b.g, (const void *const[]){b.x}, (const void *const[]){ref}, &bytes);
    free(ref);
    built_free(&b);
}

static void test_grouped_and_depthwise_conv(void **state)
{
    (void)state;
    Layer grouped = {"grouped.dnn", 1, 4, 5, 5, 6, 3, 3, 1, 1, 2, 10, 14, 9, false, -2000, 2000, -9000, 9000, 1 << 20};
    check_plain_layer(&grouped);
    Layer depthwise = {"depthwise.dnn", 1, 3, 4, 4, 3, 3, 3, 1, 1, 3, 10, 14, 9, true, -2000, 2000, -9000, 9000, 1 << 20};
    check_plain_layer(&depthwise);
}

/* An fc as the quantize pass writes it: a kernel covering the input. */
static void test_fc(void **state)
{
    (void)state;
    Layer l = {"fc.dnn", 2, 5, 3, 3, 7, 3, 3, 1, 0, 1, 9, 13, 8, false, -3000, 3000, -3000, 3000, 1 << 22};
    check_plain_layer(&l);
}

/* K = 2048 products near 2^30: sums far past 32 bits, which an int32
 * accumulator would wrap. */
static void test_sums_beyond_32_bits(void **state)
{
    (void)state;
    Layer l = {"wide.dnn", 1, 512, 2, 2, 2, 2, 2, 1, 0, 1, 15, 15, 0, false, 30000, 32767, 30000, 32767, 0};
    Built b;
    check_layer(&l, &b);
    assert_true(b.largest_acc > ((int64_t)1 << 40));
    built_free(&b);
}

/* The shape rule states the 64-bit bound, and what a 16-bit layer is. */
static void test_shape_rule_errors(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "huge.dnn",
               "input x: i16[1, 32768, 256, 257];\n"
               "y = qlinear_conv(x, filters=1, kernel=[256, 257], weight_type=i16, out_type=i16);\n"
               "output y;\n");
    assert_null(p.graph);
    assert_contains(p.messages, "qlinear_conv: 2155872256 products per output can overflow a 64-bit "
                                "accumulator (at most 2^31 with 16-bit operands)");
    parsed_free(&p);
    parse_text(&p, "mixed.dnn",
               "input x: i16[1, 2, 4, 4];\ny = qlinear_conv(x, filters=1, kernel=3, weight_type=i8, out_type=i16);\n"
               "output y;\n");
    assert_null(p.graph);
    assert_contains(p.messages, "qlinear_conv: a 16-bit layer has i16 input, weight_type and out_type "
                                "(got i16, i8 and i16)");
    parsed_free(&p);
}

/* ---- whole networks ---------------------------------------------------------- */

static const char bn_net[] = "input x: f32[2, 3, 8, 8];\n"
                             "c1 = conv(x, filters=4, kernel=3, pad=1, act=relu);\n"
                             "p1 = maxpool(c1, kernel=2, stride=2);\n"
                             "c2 = conv(p1, filters=5, kernel=3, pad=1);\n"
                             "r2 = relu(c2);\n"
                             "d = dropout(r2);\n"
                             "f1 = fc(d, units=6);\n"
                             "r3 = relu(f1);\n"
                             "f2 = fc(r3, units=3);\n"
                             "output f2;\n";

#define BATCHES 3

/* g quantised by the reference pipeline at -O1 with q and BATCHES random
 * batches in [-1, 1). */
static void quantise(Graph *g, QuantOptions q, uint64_t seed)
{
    int64_t n = shape_elems(&g->tensors[g->inputs[0]].shape);
    float *data[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
        data[b] = malloc((size_t)n * sizeof(float));
        assert_non_null(data[b]);
        for (int64_t i = 0; i < n; i++)
            data[b][i] = (float)(test_uniform01(&seed) * 2 - 1);
    }
    q.batches = (const float *const *)data;
    q.n_batches = BATCHES;
    char *messages = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&messages, &size);
    Diag d;
    diag_init(&d, out);
    PipelineOptions po = {.opt_level = 1, .verify_each = true, .log = out};
    PassOptions o = {.opt_level = 1, .target = target_find("reference"), .diag = &d, .quant = &q};
    bool ok = pipeline_run(g, &o, &po);
    fclose(out);
    if (!ok)
        fail_msg("quantising failed:\n%s", messages);
    free(messages);
    for (int b = 0; b < BATCHES; b++)
        free(data[b]);
}

/* g (one float input, one float output) on random input in [-1, 1): the
 * cpu target gives the reference's bits. */
static void check_network_on_cpu(Graph *g, uint64_t seed)
{
    int64_t n_in = shape_elems(&g->tensors[g->inputs[0]].shape);
    int64_t n_out = shape_elems(&g->tensors[g->outputs[0]].shape);
    float *in = malloc((size_t)n_in * sizeof *in), *ref = malloc((size_t)n_out * sizeof *ref);
    assert_true(in && ref);
    for (int64_t i = 0; i < n_in; i++)
        in[i] = (float)(test_uniform01(&seed) * 2 - 1);
    char err[512];
    if (!reference_run(g, (const float *const[]){in}, (float *const[]){ref}, err, sizeof err))
        fail_msg("%s", err);
    size_t bytes = (size_t)n_out * sizeof *ref;
    check_cpu(g, (const void *const[]){in}, (const void *const[]){ref}, &bytes);
    free(in);
    free(ref);
}

static int count_op(const Graph *g, OpKind op, ElemKind out)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == op && g->tensors[g->nodes[i].output].type.kind == out;
    return n;
}

static bool power_of_two(float v)
{
    int e;
    return v > 0 && frexpf(v, &e) == 0.5f;
}

/* fixed16 on every layer: i16 everywhere between the one quantize and the
 * one dequantize, relus (the fused one and the layers) on the integers,
 * power-of-two scales, zero points 0, one weight scale per layer; the
 * reference and the cpu target agree bit for bit; the dump shows the Q
 * formats and parses back. */
static void test_network_in_fixed16(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn", bn_net);
    assert_non_null(p.graph);
    Graph *g = p.graph;
    randomize_weights_for_test(g, 5);
    quantise(g, (QuantOptions){.mode = QUANT_FIXED16, .first_last = true}, 6);
    assert_int_equal(count_op(g, OP_QLINEAR_CONV, ELEM_I16), 4);
    assert_int_equal(count_op(g, OP_RELU, ELEM_I16), 3);
    assert_int_equal(count_op(g, OP_RELU, ELEM_F32), 0);
    assert_int_equal(count_op(g, OP_MAXPOOL, ELEM_I16), 1);
    assert_int_equal(count_op(g, OP_QUANTIZE, ELEM_I16), 1);
    assert_int_equal(count_op(g, OP_DEQUANTIZE, ELEM_F32), 1);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_QLINEAR_CONV)
            continue;
        assert_int_equal(n->attr.qconv.weight_type, ELEM_I16);
        assert_false(n->attr.qconv.per_channel);
        for (int k = P_X_SCALE; k <= P_Y_SCALE; k += 2)
            assert_true(power_of_two(((const float *)g->tensors[n->params[k]].data)[0]));
        for (int k = P_X_ZERO; k <= P_Y_ZERO; k += 2)
            assert_int_equal(((const int16_t *)g->tensors[n->params[k]].data)[0], 0);
        /* Ristretto's rule: the largest |w| fits 32767 steps, not 16383. */
        const Tensor *w = &g->tensors[n->params[P_WEIGHT]];
        int biggest = 0;
        for (int64_t k = 0; k < shape_elems(&w->shape); k++)
            biggest = abs(((const int16_t *)w->data)[k]) > biggest ? abs(((const int16_t *)w->data)[k]) : biggest;
        assert_true(biggest > 16383 && biggest <= 32767);
    }
    check_network_on_cpu(g, 8);
    char *text = graph_to_text(g);
    assert_contains(text, "i16[2, 4, 8, 8]");
    assert_contains(text, ", Q");
    Parsed back;
    parse_text(&back, "back.dnn", text);
    if (!back.graph)
        fail_msg("the dump does not parse:\n%s\n%s", text, back.messages);
    free(text);
    parsed_free(&back);
    parsed_free(&p);
}

/* --quantize int8 with one layer @precision(i16): the 8-bit integers
 * before it are dequantized and quantised again on a 16-bit grid that
 * holds them, and the 16-bit output likewise for the 8-bit layer after. */
static void test_a_16_bit_layer_among_8_bit_ones(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "mixed.dnn",
               "input x: f32[1, 2, 6, 6];\n"
               "a = conv(x, filters=3, kernel=3, pad=1);\n"
               "@precision(i16) b = conv(a, filters=3, kernel=3, pad=1);\n"
               "c = conv(b, filters=2, kernel=3, pad=1);\n"
               "output c;\n");
    assert_non_null(p.graph);
    randomize_weights_for_test(p.graph, 9);
    quantise(p.graph, (QuantOptions){.mode = QUANT_INT8, .first_last = true}, 10);
    Graph *g = p.graph;
    assert_int_equal(count_op(g, OP_QLINEAR_CONV, ELEM_I16), 1);
    assert_int_equal(count_op(g, OP_QLINEAR_CONV, ELEM_U8) + count_op(g, OP_QLINEAR_CONV, ELEM_I8), 2);
    assert_int_equal(count_op(g, OP_QUANTIZE, ELEM_I16), 1);
    check_network_on_cpu(g, 11);
    parsed_free(&p);
}

/* A tiny filter with a large bias: the bias must fit i32 at frac_in +
 * frac_w, so frac_w shrinks, by no more than needed (powers of two: the
 * bias lands in the top half of i32). */
static void test_a_large_bias_shrinks_frac_w(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "bias.dnn", "input x: f32[1, 8];\n@precision(i16) f = fc(x, units=2);\noutput f;\n");
    Graph *g = p.graph;
    randomize_weights_for_test(g, 9);
    const Node *f = &g->nodes[0];
    float *w = g->tensors[f->params[0]].data, *b = g->tensors[f->params[1]].data;
    for (int i = 0; i < 8; i++)
        w[i] = 1e-9f;
    b[0] = 1e6f;
    quantise(g, (QuantOptions){0}, 12);
    const Node *q = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        q = g->nodes[i].op == OP_QLINEAR_CONV ? &g->nodes[i] : q;
    assert_non_null(q);
    int32_t bq = ((const int32_t *)g->tensors[q->params[P_BIAS]].data)[0];
    assert_true(bq > (1 << 30));
    assert_true(power_of_two(((const float *)g->tensors[q->params[P_W_SCALE]].data)[0]));
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_shift_is_exact),
        cmocka_unit_test(test_conv_saturates_at_both_ends),
        cmocka_unit_test(test_negative_fractions_and_left_shifts),
        cmocka_unit_test(test_ties_round_to_even),
        cmocka_unit_test(test_grouped_and_depthwise_conv),
        cmocka_unit_test(test_fc),
        cmocka_unit_test(test_sums_beyond_32_bits),
        cmocka_unit_test(test_shape_rule_errors),
        cmocka_unit_test(test_network_in_fixed16),
        cmocka_unit_test(test_a_16_bit_layer_among_8_bit_ones),
        cmocka_unit_test(test_a_large_bias_shrinks_frac_w),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
