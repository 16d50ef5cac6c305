/* The quantize pass and its calibration (passes/quantize.c, calibrate.c):
 * which layers become qlinear_conv and what stays float, the integers and
 * scales it writes (each checked against its rule in docs/quantization.md,
 * with the ranges recomputed here by the reference executor), the layers
 * that commute with dequantize, the errors, and the thresholds of the
 * percentile and entropy methods on histograms whose answer is known. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "target.h"

/* ---- running the pipeline with quantisation ------------------------------ */

#define BATCHES 4

typedef struct Calib {
    float *data[BATCHES];
    const float *batches[BATCHES];
} Calib;

/* BATCHES batches for input 0 of g, uniform in [lo, hi). */
static void make_calibration(const Graph *g, Calib *c, uint64_t seed, double lo, double hi)
{
    int64_t n = shape_elems(&g->tensors[g->inputs[0]].shape);
    for (int b = 0; b < BATCHES; b++) {
        c->data[b] = malloc((size_t)n * sizeof(float));
        assert_non_null(c->data[b]);
        for (int64_t i = 0; i < n; i++)
            c->data[b][i] = (float)(lo + (hi - lo) * test_uniform01(&seed));
        c->batches[b] = c->data[b];
    }
}

static void free_calibration(Calib *c)
{
    for (int b = 0; b < BATCHES; b++)
        free(c->data[b]);
}

/* The reference pipeline at -O1 (batch norms folded, nothing fused) with
 * these quantisation options; diagnostics in *messages. */
static bool quantise_from(Graph *g, const Source *src, QuantOptions q, const Calib *c, char **messages)
{
    size_t size = 0;
    FILE *out = open_memstream(messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    if (src) /* so that locations quote the source, as the driver's do */
        diag_add_file(&d, src->path, src->text, src->len);
    if (c) {
        q.batches = c->batches;
        q.n_batches = BATCHES;
    }
    PipelineOptions po = {.opt_level = 1, .verify_each = true, .log = out};
    PassOptions o = {.opt_level = 1, .target = target_find("reference"), .diag = &d, .quant = &q};
    bool ok = pipeline_run(g, &o, &po);
    fclose(out);
    return ok;
}

static void quantise_or_fail(Graph *g, QuantOptions q, const Calib *c)
{
    char *messages = NULL;
    if (!quantise_from(g, NULL, q, c, &messages))
        fail_msg("quantising failed:\n%s", messages);
    free(messages);
}

static const float *param_f32(const Graph *g, const Node *n, int k) { return g->tensors[n->params[k]].data; }

/* ---- which layers, and the shape of the result ---------------------------- */

static const char small_net[] = "input x: f32[1, 3, 8, 8];\n"
                                "c1 = conv(x, filters=4, kernel=3, pad=1);\n"
                                "r1 = relu(c1);\n"
                                "p1 = maxpool(r1, kernel=2, stride=2);\n"
                                "c2 = conv(p1, filters=5, kernel=3, pad=1);\n"
                                "r2 = relu(c2);\n"
                                "f1 = fc(r2, units=6);\n"
                                "f2 = fc(f1, units=3);\n"
                                "output f2;\n";

static Graph *small_graph(Parsed *p, uint64_t seed)
{
    return parse_with_random_weights(p, "small.dnn", small_net, seed);
}

static void test_first_and_last_layers_stay_float_by_default(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = small_graph(&p, 1);
    Calib c;
    make_calibration(g, &c, 2, -1, 1);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_INT8}, &c);
    assert_int_equal(test_count_op(g, OP_QLINEAR_CONV), 2); /* c2 and f1 */
    assert_int_equal(test_count_op(g, OP_CONV), 1);         /* c1 */
    assert_int_equal(test_count_op(g, OP_FC), 1);           /* f2 */
    /* c2's relu is absorbed: u8 with zero point 0; c1's is not. */
    assert_int_equal(test_count_op(g, OP_RELU), 1);
    const Node *c2 = test_layer_named(g, "c2_q");
    assert_int_equal(g->tensors[c2->output].type.kind, ELEM_U8);
    assert_int_equal(*(const uint8_t *)g->tensors[c2->params[6]].data, 0);
    /* f1 reads c2's integers (no quantize between) through a filter as
     * large as its 5x4x4 input. */
    const Node *f1 = test_layer_named(g, "f1_q");
    assert_int_equal(f1->attr.qconv.conv.kernel[0], 4);
    assert_int_equal(f1->attr.qconv.conv.kernel[1], 4);
    assert_int_equal(f1->inputs[0], c2->output);
    assert_int_equal(test_count_op(g, OP_QUANTIZE), 1); /* of p1 */
    free_calibration(&c);
    parsed_free(&p);
}

static void test_all_layers_with_first_last(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = small_graph(&p, 3);
    Calib c;
    make_calibration(g, &c, 4, 0, 1);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_INT8, .first_last = true}, &c);
    assert_int_equal(test_count_op(g, OP_QLINEAR_CONV), 4);
    assert_int_equal(test_count_op(g, OP_CONV) + test_count_op(g, OP_FC) + test_count_op(g, OP_RELU), 0);
    /* One quantize at the input, one dequantize at the output; the max
     * pooling runs on c1's u8 integers. */
    assert_int_equal(test_count_op(g, OP_QUANTIZE), 1);
    assert_int_equal(test_count_op(g, OP_DEQUANTIZE), 1);
    const Node *pool = &g->nodes[0];
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_MAXPOOL)
            pool = &g->nodes[i];
    assert_int_equal(pool->op, OP_MAXPOOL);
    assert_int_equal(g->tensors[pool->output].type.kind, ELEM_U8);
    assert_int_equal(g->tensors[g->outputs[0]].type.kind, ELEM_F32);
    assert_string_equal(g->tensors[g->outputs[0]].name, "f2");
    free_calibration(&c);
    parsed_free(&p);
}

/* The quantised graph prints as source that parses back to the same text. */
static void test_the_quantised_graph_prints_and_parses_back(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = small_graph(&p, 5);
    Calib c;
    make_calibration(g, &c, 6, -1, 1);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_INT8, .first_last = true}, &c);
    char *text = graph_to_text(g);
    /* The comments differ: with bound weights they show each grid. */
    assert_contains(text, "# u8[1, 4, 8, 8], scale ");
    assert_contains(text, "zero point 0, weight scale ");
    assert_dump_parses_back(text);
    free(text);
    free_calibration(&c);
    parsed_free(&p);
}

/* ---- the numbers ------------------------------------------------------------ */

/* The range of graph input x over the calibration batches. */
static void input_range(const Graph *g, const Calib *c, double *lo, double *hi)
{
    int64_t n = shape_elems(&g->tensors[g->inputs[0]].shape);
    *lo = INFINITY, *hi = -INFINITY;
    for (int b = 0; b < BATCHES; b++)
        for (int64_t i = 0; i < n; i++)
            *lo = fmin(*lo, c->data[b][i]), *hi = fmax(*hi, c->data[b][i]);
}

/* Every rule of "Scales and integers" in docs/quantization.md on c1 of the
 * small network, quantised with --quantize-first-last. */
static void test_scales_weights_and_bias_follow_the_rules(void **state)
{
    (void)state;
    Parsed p, orig;
    Graph *g = small_graph(&p, 7);
    small_graph(&orig, 7);
    Calib c;
    make_calibration(g, &c, 8, -0.5, 2);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_INT8, .first_last = true}, &c);
    const Node *q = test_layer_named(g, "c1_q");
    const Node *f = test_layer_named(orig.graph, "c1");
    /* x: min-max over the data, zero included, 255 steps. */
    double lo, hi;
    input_range(g, &c, &lo, &hi);
    float x_scale = param_f32(g, q, 1)[0];
    assert_true(x_scale == (float)((hi - fmin(lo, 0)) / 255));
    assert_int_equal(*(const uint8_t *)g->tensors[q->params[2]].data,
                     (int)nearbyint(-fmin(lo, 0) / x_scale));
    /* Weights: per filter, the largest |w| is 127 steps; every weight within
     * half a step of its float value. */
    const float *w = param_f32(orig.graph, f, 0), *b = param_f32(orig.graph, f, 1);
    const int8_t *wq = g->tensors[q->params[0]].data;
    const float *ws = param_f32(g, q, 3);
    const int32_t *bq = g->tensors[q->params[7]].data;
    for (int k = 0; k < 4; k++) {
        int biggest = 0;
        for (int i = 0; i < 27; i++) {
            assert_true(fabs(w[k * 27 + i] - wq[k * 27 + i] * (double)ws[k]) <= ws[k] * 0.5000001);
            biggest = abs(wq[k * 27 + i]) > biggest ? abs(wq[k * 27 + i]) : biggest;
        }
        assert_int_equal(biggest, 127);
        assert_int_equal(bq[k], (int32_t)nearbyint(b[k] / ((double)x_scale * ws[k])));
    }
    free_calibration(&c);
    parsed_free(&orig);
    parsed_free(&p);
}

static bool power_of_two(float v)
{
    int e;
    return v > 0 && frexpf(v, &e) == 0.5f;
}

/* Dynamic fixed point (fixed8): every scale a power of two, every zero
 * point 0, one weight scale per layer, signed integers where the values
 * can be negative; each fractional length the largest that holds its
 * range: the largest |x| fits in 127 (i8) or 255 (u8) steps, half the
 * step would not. */
static void test_fixed8_uses_power_of_two_scales(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = small_graph(&p, 15);
    Calib c;
    make_calibration(g, &c, 16, -0.7, 3);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_FIXED8, .first_last = true}, &c);
    double lo, hi;
    input_range(g, &c, &lo, &hi);
    int quantised = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op == OP_QUANTIZE) {
            float s = param_f32(g, n, 0)[0];
            assert_true(power_of_two(s));
            assert_int_equal(g->tensors[n->output].type.kind, ELEM_I8); /* x can be negative */
            assert_true(fmax(-lo, hi) <= 127 * (double)s && fmax(-lo, hi) > 63.5 * (double)s);
        }
        if (n->op != OP_QLINEAR_CONV)
            continue;
        quantised++;
        assert_false(n->attr.qconv.per_channel);
        for (int k = 1; k <= 5; k += 2)
            assert_true(power_of_two(param_f32(g, n, k)[0]));
        assert_int_equal(*(const uint8_t *)g->tensors[n->params[6]].data, 0);
    }
    assert_int_equal(quantised, 4);
    free_calibration(&c);
    parsed_free(&p);
}

/* A filter of tiny weights (a dead channel after batch-norm folding) with a
 * large bias: the weight scale grows until the bias fits beside the largest
 * accumulator (|bias| + K * 255 * 128 < 2^31). */
static void test_a_large_bias_raises_the_weight_scale(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "bias.dnn", "input x: f32[1, 8];\n@precision(i8) f = fc(x, units=2);\noutput f;\n");
    Graph *g = p.graph;
    randomize_weights_for_test(g, 9);
    const Node *f = test_layer_named(g, "f");
    float *w = g->tensors[f->params[0]].data, *b = g->tensors[f->params[1]].data;
    for (int i = 0; i < 8; i++)
        w[i] = 1e-9f;
    b[0] = 1e6f;
    Calib c;
    make_calibration(g, &c, 10, 0, 1);
    quantise_or_fail(g, (QuantOptions){0}, &c);
    const Node *q = test_layer_named(g, "f_q");
    const int32_t *bq = g->tensors[q->params[7]].data;
    double room = 2147483647.0 - 8 * 255.0 * 128.0;
    assert_true(fabs((double)bq[0]) <= room);
    assert_true(fabs((double)bq[0]) > room * 0.99); /* raised no further than needed */
    free_calibration(&c);
    parsed_free(&p);
}

/* ---- errors and annotations ------------------------------------------------- */

static void expect_error(const char *source, QuantOptions q, bool calibrated, const char *want)
{
    Parsed p;
    parse_text(&p, "bad.dnn", source);
    if (!p.graph)
        fail_msg("%s", p.messages);
    randomize_weights_for_test(p.graph, 11);
    Calib c;
    make_calibration(p.graph, &c, 12, 0, 1);
    char *messages = NULL;
    assert_false(quantise_from(p.graph, &p.src, q, calibrated ? &c : NULL, &messages));
    assert_contains(messages, want);
    free(messages);
    free_calibration(&c);
    parsed_free(&p);
}

static void test_accumulator_overflow_is_an_error(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 70000];\n@precision(i8) f = fc(x, units=2);\noutput f;\n",
                 (QuantOptions){0}, true,
                 "layer 'f': 70000 products per output can overflow a 32-bit accumulator (at most 65793)");
}

static void test_precision_i8_needs_calibration(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 2, 4, 4];\n@precision(i8) c = conv(x, filters=2, kernel=3);\noutput c;\n",
                 (QuantOptions){0}, false, "quantising to int8 needs calibration data: give --calibrate FILE");
}

static void test_precision_i8_on_a_layer_it_cannot_take(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 2, 4, 4];\n"
                 "@precision(i8) c = conv(x, filters=2, kernel=3, act=leaky_relu);\noutput c;\n",
                 (QuantOptions){0}, true,
                 "bad.dnn:2:16: error: layer 'c': @precision(i8) cannot apply: its fused activation is "
                 "not relu or a clip from 0");
}

/* fixed16 keeps a relu as a layer on its i16 integers; a clip (ReLU6)
 * would need its bound on the grid. */
static void test_precision_i16_on_a_layer_it_cannot_take(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 2, 4, 4];\n"
                 "@precision(i16) c = conv(x, filters=2, kernel=3, act=clip, min=0, max=6);\noutput c;\n",
                 (QuantOptions){0}, true,
                 "bad.dnn:2:17: error: layer 'c': @precision(i16) cannot apply: its fused activation is "
                 "not relu (fixed16 keeps relu only)");
}

static void test_unimplemented_precisions_are_errors(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 2, 4, 4];\n@precision(fixed, 16, 8) c = conv(x, filters=2, kernel=3);\noutput c;\n",
                 (QuantOptions){0}, true, "layer 'c': @precision(fixed<16,8>) is not implemented yet");
}

static void test_precision_f32_keeps_a_layer_float(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "keep.dnn",
               "input x: f32[1, 2, 6, 6];\n"
               "a = conv(x, filters=2, kernel=3);\n"
               "@precision(f32) b = conv(a, filters=2, kernel=3);\n"
               "c = conv(b, filters=2, kernel=1);\n"
               "output c;\n");
    randomize_weights_for_test(p.graph, 13);
    Calib c;
    make_calibration(p.graph, &c, 14, -1, 1);
    quantise_or_fail(p.graph, (QuantOptions){.mode = QUANT_INT8, .first_last = true}, &c);
    assert_int_equal(test_count_op(p.graph, OP_QLINEAR_CONV), 2);
    assert_int_equal(test_layer_named(p.graph, "b")->op, OP_CONV);
    free_calibration(&c);
    parsed_free(&p);
}

/* ---- thresholds -------------------------------------------------------------- */

static void test_percentile_threshold(void **state)
{
    (void)state;
    double hist[100];
    for (int i = 0; i < 100; i++)
        hist[i] = 1;
    /* Half the values lie in the first 50 bins of [0, 10]. */
    assert_true(calib_threshold(hist, 100, 10, 255, CALIB_PERCENTILE, 50) == 5);
    assert_true(calib_threshold(hist, 100, 10, 255, CALIB_PERCENTILE, 100) == 10);
    assert_true(calib_threshold(hist, 100, 10, 255, CALIB_MINMAX, 50) == 10);
}

/* A flat histogram loses nothing on the grid without clipping (KL = 0 at
 * the top), and clipping would pile values into the last bin. */
static void test_entropy_keeps_a_flat_histogram_whole(void **state)
{
    (void)state;
    double hist[2048];
    for (int i = 0; i < 2048; i++)
        hist[i] = 100;
    assert_true(calib_threshold(hist, 2048, 4, 127, CALIB_ENTROPY, 0) == 4);
}

/* A steeply falling histogram: the grid is too coarse for the dense part
 * unless the long tail is clipped; the threshold is inside the range and
 * never below `levels` bins. */
static void test_entropy_clips_a_long_tail(void **state)
{
    (void)state;
    double hist[2048];
    for (int i = 0; i < 2048; i++)
        hist[i] = 1e6 * exp(-i / 40.0) + 1;
    double t = calib_threshold(hist, 2048, 1, 127, CALIB_ENTROPY, 0);
    assert_true(t < 0.5);
    assert_true(t >= 127.0 / 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_and_last_layers_stay_float_by_default),
        cmocka_unit_test(test_all_layers_with_first_last),
        cmocka_unit_test(test_the_quantised_graph_prints_and_parses_back),
        cmocka_unit_test(test_scales_weights_and_bias_follow_the_rules),
        cmocka_unit_test(test_fixed8_uses_power_of_two_scales),
        cmocka_unit_test(test_a_large_bias_raises_the_weight_scale),
        cmocka_unit_test(test_accumulator_overflow_is_an_error),
        cmocka_unit_test(test_precision_i8_needs_calibration),
        cmocka_unit_test(test_precision_i8_on_a_layer_it_cannot_take),
        cmocka_unit_test(test_precision_i16_on_a_layer_it_cannot_take),
        cmocka_unit_test(test_unimplemented_precisions_are_errors),
        cmocka_unit_test(test_precision_f32_keeps_a_layer_float),
        cmocka_unit_test(test_percentile_threshold),
        cmocka_unit_test(test_entropy_keeps_a_flat_histogram_whole),
        cmocka_unit_test(test_entropy_clips_a_long_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
