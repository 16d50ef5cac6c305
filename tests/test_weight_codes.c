/* Weight codes (passes/weight_codes.c, ir/weight_code.c, the coded_conv
 * parts of passes/quantize.c): each mode's rule on weights whose codes and
 * scales are worked out by hand here, the layers the pass rewrites, the
 * reference executor's coded_conv against a float conv on the decoded
 * weights (bit for bit), the dump and the packed weights file read back
 * exactly, and the errors (docs/quantization.md, "Weight codes"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "code_pack.h"
#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "safetensors.h"
#include "target.h"
#include "weight_code.h"
#include "weight_codes.h"
#include "weights.h"

static const ElemType binary = {ELEM_BINARY, 1, 0}, ternary = {ELEM_TERNARY, 2, 0};
static const ElemType log2_4 = {ELEM_LOG2, 4, 0};

static float decoded(ElemType t, const uint8_t *codes, int64_t i, float scale, const float *codebook)
{
    return weight_code_value(t, codes[i], scale, codebook);
}

/* ---- each mode's rule ------------------------------------------------------ */

/* BWN: per filter, the sign and mean |w|. */
static void test_binary_is_the_sign_times_mean_abs(void **state)
{
    (void)state;
    const float w[6] = {0.5f, -1.0f, 0.25f, /* filter 1 */ -0.1f, 0.0f, -0.2f};
    uint8_t codes[6];
    float scale[2];
    weight_codes_choose(binary, true, w, 2, 3, codes, scale);
    assert_float_equal(scale[0], (float)(1.75 / 3), 0);
    assert_float_equal(scale[1], (float)(0.3 / 3), 0);
    const uint8_t want[6] = {1, 0, 1, 0, 1, 0}; /* 0 counts as positive */
    assert_memory_equal(codes, want, 6);
    assert_float_equal(decoded(binary, codes, 1, scale[0], NULL), -scale[0], 0);
}

/* TWN: threshold 0.7 mean |w|; the scale is the mean of the |w| above it. */
static void test_ternary_keeps_weights_above_0_7_mean_abs(void **state)
{
    (void)state;
    /* mean |w| = 0.4, threshold 0.28: 0.1 and -0.2 become 0; kept 1.0, -0.5, 0.3 */
    const float w[5] = {1.0f, -0.5f, 0.1f, -0.2f, 0.3f};
    uint8_t codes[5];
    float scale;
    weight_codes_choose(ternary, false, w, 1, 5, codes, &scale);
    const uint8_t want[5] = {1, 3, 0, 0, 1};
    assert_memory_equal(codes, want, 5);
    assert_float_equal(scale, 0.6f, 1e-7);
    assert_float_equal(decoded(ternary, codes, 1, scale, NULL), -scale, 0);
    assert_float_equal(decoded(ternary, codes, 2, scale, NULL), 0, 0);
    assert_false(weight_code_valid(ternary, 2));
}

/* log2<4>: a sign and 3 bits of magnitude, 7 levels scale 2^0 .. 2^-6 and 0;
 * the scale is the largest |w| rounded to a power of two in log2. */
static void test_log2_rounds_in_the_log_domain(void **state)
{
    (void)state;
    /* largest 1.2 -> scale 2^round(0.26) = 1; 0.3 -> 2^round(-1.74) = 2^-2;
     * -0.7 -> 2^round(-0.51) = 2^-1; 0.01 below 2^-6 = 0.015625 but above
     * its half: 2^-6; 0.005 below that half: 0 */
    const float w[6] = {1.2f, 0.3f, -0.7f, 0.01f, 0.005f, 0.0f};
    uint8_t codes[6];
    float scale;
    weight_codes_choose(log2_4, false, w, 1, 6, codes, &scale);
    assert_float_equal(scale, 1.0f, 0);
    const uint8_t want[6] = {1, 3, 8 | 2, 7, 0, 0};
    assert_memory_equal(codes, want, 6);
    const float values[6] = {1.0f, 0.25f, -0.5f, 0.015625f, 0, 0};
    for (int i = 0; i < 6; i++)
        assert_float_equal(decoded(log2_4, codes, i, scale, NULL), values[i], 0);
}

/* k-means: centroids start linearly over [min, max] and move to their
 * weights' means; the same weights always give the same codebook. */
static void test_kmeans_starts_linear_and_converges(void **state)
{
    (void)state;
    const ElemType one_bit = {ELEM_CODEBOOK, 1, 0}, two_bits = {ELEM_CODEBOOK, 2, 0};
    const float w[6] = {0.0f, 0.1f, 0.2f, 0.8f, 0.9f, 1.0f};
    uint8_t codes[6];
    float book[4];
    weight_codes_choose(one_bit, false, w, 1, 6, codes, book);
    assert_float_equal(book[0], 0.1f, 1e-7);
    assert_float_equal(book[1], 0.9f, 1e-7);
    const uint8_t want[6] = {0, 0, 0, 1, 1, 1};
    assert_memory_equal(codes, want, 6);
    /* 4 centroids start at 0, 1/3, 2/3, 1: {0, 0.1}, {0.2}, {0.8}, {0.9, 1.0},
     * then 0.05, 0.2, 0.8, 0.95 and no weight moves. */
    weight_codes_choose(two_bits, false, w, 1, 6, codes, book);
    const float want_book[4] = {0.05f, 0.2f, 0.8f, 0.95f};
    for (int j = 0; j < 4; j++)
        assert_float_equal(book[j], want_book[j], 1e-7);
    const uint8_t want2[6] = {0, 0, 1, 2, 3, 3};
    assert_memory_equal(codes, want2, 6);
}

/* Codes of 1 to 8 bits pack least significant bit first and unpack to the
 * same codes; a code that is not one, or padding that is not zero, is
 * refused. */
static void test_codes_pack_and_unpack_exactly(void **state)
{
    (void)state;
    uint8_t codes[37], back[37], packed[40];
    uint64_t seed = 7;
    for (int bits = 1; bits <= 8; bits++) {
        ElemType t = {ELEM_CODEBOOK, (uint8_t)bits, 0};
        for (int i = 0; i < 37; i++)
            codes[i] = (uint8_t)(test_uniform01(&seed) * (1 << bits));
        code_pack(t, codes, 37, packed);
        assert_int_equal(code_pack_bytes(t, 37), (37 * bits + 7) / 8);
        int64_t bad = -1;
        assert_true(code_unpack(t, packed, 37, back, &bad));
        assert_memory_equal(codes, back, 37);
    }
    const uint8_t two[2] = {1, 3};
    code_pack(ternary, two, 2, packed);
    assert_int_equal(packed[0], 1 | 3 << 2);
    int64_t bad = -1;
    packed[0] = 2; /* code 2 is not ternary */
    assert_false(code_unpack(ternary, packed, 2, back, &bad));
    assert_int_equal(bad, 0);
    packed[0] = 1 | 1 << 7; /* a bit beyond the last code */
    assert_false(code_unpack(ternary, packed, 2, back, &bad));
    assert_int_equal(bad, 2);
}

/* ---- the pass ---------------------------------------------------------------- */

static const char small_net[] = "input x: f32[1, 3, 8, 8];\n"
                                "c1 = conv(x, filters=4, kernel=3, pad=1, act=relu);\n"
                                "p1 = maxpool(c1, kernel=2, stride=2);\n"
                                "c2 = conv(p1, filters=5, kernel=3, pad=1);\n"
                                "r2 = tanh(c2);\n"
                                "f1 = fc(r2, units=6, act=relu);\n"
                                "f2 = fc(f1, units=3);\n"
                                "output f2;\n";

static Graph *small_graph(Parsed *p, uint64_t seed)
{
    return parse_with_random_weights(p, "small.dnn", small_net, seed);
}

/* The reference pipeline at -O1 with these options; messages in *log. */
static bool quantise(Graph *g, const char *path, const char *text, QuantOptions q, char **log)
{
    size_t size = 0;
    FILE *out = open_memstream(log, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    if (text)
        diag_add_file(&d, path, text, strlen(text));
    PipelineOptions po = {.opt_level = 1, .verify_each = true, .log = out};
    PassOptions o = {.opt_level = 1, .target = target_find("reference"), .diag = &d, .quant = &q};
    bool ok = pipeline_run(g, &o, &po);
    fclose(out);
    return ok;
}

static void quantise_or_fail(Graph *g, QuantOptions q)
{
    char *log = NULL;
    if (!quantise(g, NULL, NULL, q, &log))
        fail_msg("quantising failed:\n%s", log);
    free(log);
}

/* The network's output on one input, by the reference executor. */
static void run_reference(const Graph *g, const float *x, float *y)
{
    char err[512];
    float *outs[1] = {y};
    const float *ins[1] = {x};
    if (!reference_run(g, ins, outs, err, sizeof err))
        fail_msg("%s", err);
}

/* Every coded_conv's weights decoded into the float layer it replaced:
 * the float graph g computes what the coded graph q specifies. */
static void decode_into(Graph *g, const Graph *q)
{
    for (int i = 0; i < q->n_nodes; i++) {
        const Node *c = &q->nodes[i];
        if (c->removed || c->op != OP_CODED_CONV)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", c->name);
        *strrchr(name, '_') = '\0'; /* "c1_coded" replaced "c1" */
        const Node *f = &g->nodes[g->tensors[graph_find_tensor(g, name)].producer];
        const Tensor *codes = &q->tensors[c->params[0]];
        const float *decoder = q->tensors[c->params[1]].data;
        float *w = g->tensors[f->params[0]].data;
        int64_t filters = codes->shape.d[0], per = shape_elems(&codes->shape) / filters;
        for (int64_t k = 0; k < filters * per; k++)
            w[k] = weight_code_value(codes->type, ((const uint8_t *)codes->data)[k],
                                     decoder[c->attr.coded.per_channel ? k / per : 0], decoder);
    }
}

/* Item 3: the reference runs each mode as specified, a float conv (and fc)
 * on the decoded weights, so the outputs are the same bits. */
static void test_every_mode_runs_as_the_float_net_on_decoded_weights(void **state)
{
    (void)state;
    const QuantMode modes[] = {QUANT_LOG2, QUANT_KMEANS, QUANT_BINARY, QUANT_TERNARY};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        Parsed p, f;
        Graph *g = small_graph(&p, 11), *ref = small_graph(&f, 11);
        quantise_or_fail(g, (QuantOptions){.mode = modes[m], .first_last = true});
        assert_int_equal(test_count_op(g, OP_CODED_CONV), 4);
        assert_int_equal(test_count_op(g, OP_CONV) + test_count_op(g, OP_FC), 0);
        decode_into(ref, g);
        float x[3 * 8 * 8], y[3], want[3];
        uint64_t seed = 3;
        for (int i = 0; i < 3 * 8 * 8; i++)
            x[i] = (float)test_uniform01(&seed) - 0.5f;
        run_reference(g, x, y);
        run_reference(ref, x, want);
        assert_memory_equal(y, want, sizeof y);
        parsed_free(&p);
        parsed_free(&f);
    }
}

/* First and last layers stay float unless asked; @precision picks a code
 * per layer, with its bits. */
static void test_first_last_float_and_precision_per_layer(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = small_graph(&p, 2);
    quantise_or_fail(g, (QuantOptions){.mode = QUANT_BINARY});
    assert_int_equal(test_count_op(g, OP_CODED_CONV), 2);
    assert_int_equal(test_count_op(g, OP_CONV) + test_count_op(g, OP_FC), 2);
    parsed_free(&p);
    parse_with_random_weights(&p, "p.dnn",
                              "input x: f32[1, 3, 8, 8];\n"
                              "@precision(log2, 3) c1 = conv(x, filters=4, kernel=3);\n"
                              "@precision(ternary) c2 = conv(c1, filters=4, kernel=3);\n"
                              "@precision(codebook, 2) c3 = conv(c2, filters=4, kernel=3);\n"
                              "output c3;\n",
                              4);
    quantise_or_fail(p.graph, (QuantOptions){0});
    char *text = graph_to_text(p.graph);
    assert_contains(text, "@precision(log2, 3) c1_coded = coded_conv(x, filters=4, kernel=3, weight_type=log2, "
                          "weight_bits=3, per_channel=true);  # f32[1, 4, 6, 6], weights log2<3>, scale ");
    assert_contains(text, "weight_type=ternary, per_channel=true);  # f32[1, 4, 4, 4], weights ternary, scale ");
    assert_contains(text, "weight_type=codebook, weight_bits=2);  # f32[1, 4, 2, 2], weights codebook<2>, "
                          "codebook [");
    free(text);
    parsed_free(&p);
}

/* Item 2: the dump parses back to the same graph, and the weights file
 * holds the codes packed (U8, bits a code) and gives them back exactly. */
static void test_dump_and_packed_weights_read_back(void **state)
{
    (void)state;
    const QuantMode modes[] = {QUANT_LOG2, QUANT_KMEANS, QUANT_BINARY, QUANT_TERNARY};
    const int bits[] = {4, 4, 1, 2};
    char dir[256];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-codes"));
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        Parsed p, back;
        Graph *g = small_graph(&p, 5);
        quantise_or_fail(g, (QuantOptions){.mode = modes[m], .first_last = true});
        char *text = graph_to_text(g);
        parse_text(&back, "dumped.dnn", text);
        if (!back.graph)
            fail_msg("the dump does not parse:\n%s\n%s", text, back.messages);
        char err[512], path[512];
        snprintf(path, sizeof path, "%s", temp_path(dir, "w.safetensors"));
        if (!weights_save(g, path, err, sizeof err))
            fail_msg("%s", err);
        SafeTensors st;
        assert_true(safetensors_read(path, &st, err, sizeof err));
        const NamedArray *c1 = safetensors_find(&st, "c1_coded.weight");
        assert_non_null(c1);
        assert_int_equal(c1->array.dtype, ELEM_U8);
        assert_int_equal(c1->array.shape.d[0], (4 * 3 * 3 * 3 * bits[m] + 7) / 8);
        safetensors_free(&st);
        Diag d;
        diag_init(&d, stderr);
        assert_true(weights_load(back.graph, path, &d));
        char *again = graph_to_text(back.graph);
        assert_string_equal(text, again); /* comments too: the same scales and codebooks */
        assert_contains(again, "coded_conv(");
        for (int t = 0; t < g->n_tensors; t++) {
            const Tensor *a = &g->tensors[t];
            if (a->kind != TENSOR_PARAM || !a->data)
                continue;
            const Tensor *b = &back.graph->tensors[graph_find_tensor(back.graph, a->name)];
            assert_true(elem_type_equal(a->type, b->type));
            assert_memory_equal(a->data, b->data, (size_t)shape_elems(&a->shape) * elem_kind_size(a->type.kind));
        }
        free(again);
        free(text);
        parsed_free(&back);
        parsed_free(&p);
    }
    temp_dir_remove(dir);
}

/* ---- errors ------------------------------------------------------------------ */

static void expect_error(const char *text, QuantOptions q, const char *message)
{
    Parsed p;
    parse_with_random_weights(&p, "bad.dnn", text, 1);
    char *log = NULL;
    assert_false(quantise(p.graph, "bad.dnn", text, q, &log));
    assert_contains(log, message);
    free(log);
    parsed_free(&p);
}

static void test_a_codebook_larger_than_the_weights(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 1, 4, 4];\n@precision(codebook, 4) c = conv(x, filters=1, kernel=3);\n"
                 "output c;\n",
                 (QuantOptions){0},
                 "bad.dnn:2:25: error: layer 'c': a codebook of 2^4 = 16 centroids needs at least as many "
                 "weights, and the layer has 9");
}

static void test_a_mode_a_layer_cannot_take(void **state)
{
    (void)state;
    expect_error("input x: f32[1, 2, 4, 4];\nr = relu(x);\n"
                 "@precision(binary) c = conv(x, r, filters=2, kernel=1);\noutput c;\n",
                 (QuantOptions){0},
                 "layer 'c': @precision(binary) cannot apply: it has a fused residual operand (coded_conv has "
                 "none)");
    expect_error("input x: f32[1, 2, 4, 4];\n"
                 "@algo(winograd) @precision(ternary) c = conv(x, filters=2, kernel=3);\noutput c;\n",
                 (QuantOptions){0}, "layer 'c': @precision(ternary) cannot apply: its @algo is not coded_conv's");
    expect_error("input x: f32[1, 2, 4, 4];\n@precision(log2, 1) c = conv(x, filters=2, kernel=3);\noutput c;\n",
                 (QuantOptions){0}, "layer 'c': log2<1>: log2 codes take 2 to 8 bits");
    expect_error("input x: f32[1, 2, 4, 4];\n@precision(fixed, 16, 8) c = conv(x, filters=2, kernel=3);\n"
                 "output c;\n",
                 (QuantOptions){0}, "layer 'c': @precision(fixed<16,8>) is not implemented yet");
}

/* Weight codes need no calibration: data given for nothing is an error,
 * not ignored, also when only @precision asks for codes. */
static void test_calibration_data_for_weights_only_is_an_error(void **state)
{
    (void)state;
    float data[16] = {0};
    const float *batches[1] = {data};
    expect_error("input x: f32[1, 1, 4, 4];\nc = conv(x, filters=2, kernel=3);\n"
                 "d = conv(c, filters=2, kernel=1);\noutput d;\n",
                 (QuantOptions){.mode = QUANT_TERNARY, .first_last = true, .batches = batches, .n_batches = 1},
                 "--calibrate: the layers to quantise get weight codes only (ternary) and none computes on "
                 "integers");
    expect_error("input x: f32[1, 1, 4, 4];\n@precision(binary) c = conv(x, filters=2, kernel=3);\noutput c;\n",
                 (QuantOptions){.mode = QUANT_INT8, .batches = batches, .n_batches = 1},
                 "--calibrate: the layers to quantise get weight codes only (@precision)");
}

/* Codes are weights: no constant holds them and no op computes on them. */
static void test_codes_are_not_activations(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "c.dnn", "input x: f32[1, 2];\nk = constant(shape=[1, 2], dtype=ternary);\ny = add(x, k);\n"
                            "output y;\n");
    assert_null(p.graph);
    assert_contains(p.messages, "constant: values of type ternary cannot be stored");
    parsed_free(&p);
    parse_text(&p, "r.dnn", "input x: binary[1, 2];\ny = relu(x);\noutput y;\n");
    assert_null(p.graph);
    assert_contains(p.messages, "relu cannot compute on 'x' (binary[1, 2])");
    parsed_free(&p);
}

/* A weights file whose codes are not codes of the layer's type. */
static void test_bad_codes_in_the_weights_file(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-codes"));
    snprintf(path, sizeof path, "%s", temp_path(dir, "bad.safetensors"));
    const char *text = "input x: f32[1, 1, 4, 4];\nc = coded_conv(x, filters=1, kernel=2, weight_type=ternary, "
                       "bias=false);\noutput c;\n";
    Parsed p;
    parse_text(&p, "t.dnn", text);
    assert_non_null(p.graph);
    uint8_t packed[1] = {0x02}; /* the first code is 2 */
    float scale[1] = {1};
    NamedArray items[2] = {{"c.weight", {ELEM_U8, {1, {1}}, packed, 1}},
                           {"c.w_scale", {ELEM_F32, {1, {1}}, scale, 4}}};
    assert_true(safetensors_write(path, items, 2, err, sizeof err));
    char *log = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&log, &size);
    Diag d;
    diag_init(&d, out);
    assert_false(weights_load(p.graph, path, &d));
    fclose(out);
    assert_contains(log, "'c.weight'");
    assert_contains(log, "element 0 is not a ternary code");
    free(log);
    parsed_free(&p);
    temp_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_is_the_sign_times_mean_abs),
        cmocka_unit_test(test_ternary_keeps_weights_above_0_7_mean_abs),
        cmocka_unit_test(test_log2_rounds_in_the_log_domain),
        cmocka_unit_test(test_kmeans_starts_linear_and_converges),
        cmocka_unit_test(test_codes_pack_and_unpack_exactly),
        cmocka_unit_test(test_every_mode_runs_as_the_float_net_on_decoded_weights),
        cmocka_unit_test(test_first_last_float_and_precision_per_layer),
        cmocka_unit_test(test_dump_and_packed_weights_read_back),
        cmocka_unit_test(test_a_codebook_larger_than_the_weights),
        cmocka_unit_test(test_a_mode_a_layer_cannot_take),
        cmocka_unit_test(test_calibration_data_for_weights_only_is_an_error),
        cmocka_unit_test(test_bad_codes_in_the_weights_file),
        cmocka_unit_test(test_codes_are_not_activations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
