/* The fuse-qdq pass on the QDQ models of tools/onnx/make_qdq_models.py
 * (tests/onnx/qdq_*.onnx, qlinear_matmul.onnx): what it rewrites and what
 * it leaves, the int8 kernels against the reference on the rewritten graph
 * bit for bit (JIT on 1 and 2 threads), and the rewritten graph against the
 * float graph within the bound of docs/quantization.md: one step of the
 * output grid per layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_check.h"
#include "test_util.h"

#define MODELS DNNC_SOURCE_DIR "/tests/onnx/"

/* The model through `target`'s pipeline at -O`level` (fuse-qdq runs from -O2). */
static Graph *compiled(const char *model, const char *target, int level)
{
    Graph *g = test_import_onnx(model);
    char *messages = NULL;
    if (!run_pipeline(g, target, level, NULL, &messages))
        fail_msg("%s: %s", model, messages ? messages : "");
    free(messages);
    return g;
}

typedef struct Expect {
    const char *model;
    int qlinear_conv, conv, fc, matmul, qlinear_matmul, quantize, dequantize;
} Expect;

/* Every QDQ layer becomes a qlinear_conv; the integers flow from the first
 * quantize to the last dequantize. What the pass cannot take stays float:
 * a conv + relu whose output zero point (10) is not u8's 0, and a matmul of
 * two activations. */
static const Expect expected[] = {
    {MODELS "qdq_conv_per_tensor.onnx", 3, 0, 0, 0, 0, 1, 1},
    {MODELS "qdq_conv_per_channel.onnx", 3, 0, 0, 0, 0, 1, 1},
    {MODELS "qdq_fc.onnx", 2, 0, 0, 0, 0, 1, 1},
    {MODELS "qlinear_matmul.onnx", 1, 0, 0, 0, 0, 1, 1},
    {MODELS "qdq_refused.onnx", 0, 1, 0, 1, 0, 3, 3},
};

static void test_rewrites_what_it_should(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof expected / sizeof *expected; k++) {
        const Expect *e = &expected[k];
        Graph *g = compiled(e->model, "reference", 2);
        static const OpKind ops[] = {OP_QLINEAR_CONV, OP_CONV, OP_FC, OP_MATMUL, OP_QLINEAR_MATMUL, OP_QUANTIZE,
                                     OP_DEQUANTIZE};
        int want[] = {e->qlinear_conv, e->conv, e->fc, e->matmul, e->qlinear_matmul, e->quantize, e->dequantize};
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
            if (test_count_op(g, ops[i]) != want[i])
                fail_msg("%s: %d %s layers, want %d", e->model, test_count_op(g, ops[i]), op_name(ops[i]),
                         want[i]);
        char *text = graph_to_text(g);
        assert_dump_parses_back(text);
        free(text);
        graph_free(g);
    }
}

/* -O1 runs no fuse-qdq: the graph as imported, in float. */
static void test_not_below_o2(void **state)
{
    (void)state;
    Graph *g = compiled(MODELS "qdq_conv_per_tensor.onnx", "reference", 1);
    assert_int_equal(test_count_op(g, OP_QLINEAR_CONV), 0);
    assert_int_equal(test_count_op(g, OP_CONV), 3);
    graph_free(g);
}

/* The qlinear_conv of the rewrite takes the weights' integers, scales and
 * zero points from the model, and the bias as the i32 the model gave. */
static void test_params_are_the_models(void **state)
{
    (void)state;
    Graph *g = compiled(MODELS "qdq_conv1_per_channel.onnx", "reference", 2);
    const Node *q = &g->nodes[cpu_find_op(g, OP_QLINEAR_CONV)];
    assert_true(q->attr.qconv.per_channel);
    assert_int_equal(q->attr.qconv.weight_type, ELEM_I8);
    assert_int_equal(q->attr.qconv.out_type, ELEM_U8);
    const int8_t *w = g->tensors[q->params[0]].data;
    int largest = 0;
    for (int64_t i = 0; i < shape_elems(&g->tensors[q->params[0]].shape); i++)
        largest = abs(w[i]) > largest ? abs(w[i]) : largest;
    assert_int_equal(largest, 127); /* symmetric: each filter's largest |w| is 127 */
    /* The float graph's bias is float(scale * b) for the model's i32 b at
     * scale x_scale * w_scale: dividing gives b back within float's
     * rounding, 1e-4 with |b| < 2000 (make_qdq_models.py). */
    Graph *plain = compiled(MODELS "qdq_conv1_per_channel.onnx", "reference", 1);
    const float *float_bias = plain->tensors[plain->nodes[cpu_find_op(plain, OP_CONV)].params[1]].data;
    const int32_t *bias = g->tensors[q->params[7]].data;
    const float *w_scale = g->tensors[q->params[3]].data;
    for (int c = 0; c < 8; c++) {
        double exact = float_bias[c] / ((double)(1.0f / 64) * w_scale[c]);
        assert_true(fabs(bias[c] - exact) < 1e-4 && bias[c] != 0);
    }
    graph_free(plain);
    assert_float_equal(((const float *)g->tensors[q->params[1]].data)[0], 1.0f / 64, 0);
    assert_int_equal(((const uint8_t *)g->tensors[q->params[2]].data)[0], 128);
    graph_free(g);
}

/* Inputs over [-2.5, 2.5): past the input grid's range [-2, 1.98], so
 * that saturation is exercised too. */
static void make_inputs(const Graph *g, uint64_t seed, CpuIo *io)
{
    cpu_io_make(g, seed, io);
    for (int64_t i = 0; i < io->in_count[0]; i++)
        io->in[0][i] *= 2.5f;
}

/* The compiled int8 kernels compute what the reference computes from the
 * rewritten graph, bit for bit, on 1 and 2 threads: the host's kernels
 * (VNNI where it has it) and the AVX2 ones without VNNI (vpmaddubsw, with
 * its 16-bit saturation handled), when the host can run them. */
static void test_kernels_match_reference(void **state)
{
    (void)state;
    static const char *const cpus[][2] = {{NULL, NULL}, {"x86-64-v3", "+avx2,+fma,+avx,+f16c"}};
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    for (size_t k = 0; k < sizeof expected / sizeof *expected; k++) {
        Graph *g = compiled(expected[k].model, "cpu", 2);
        CpuIo io;
        make_inputs(g, 11 + k, &io);
        float *want = cpu_run_reference(g, &io), *got[2];
        for (int c = 0; c < (avx2 ? 2 : 1); c++) {
            cpu_run_jit(g, expected[k].model, cpus[c][0], cpus[c][1], &io, got);
            cpu_expect_same_bits(expected[k].model, got[0], want, io.out_count[0]);
            cpu_expect_same_bits(expected[k].model, got[1], want, io.out_count[0]);
            free(got[0]), free(got[1]);
        }
        free(want);
        cpu_io_free(&io);
        graph_free(g);
    }
}

/* What the pass leaves runs as before: the refused model's output at -O2
 * is the -O1 graph's, bit for bit. */
static void test_refused_runs_as_before(void **state)
{
    (void)state;
    Graph *plain = compiled(MODELS "qdq_refused.onnx", "reference", 1);
    Graph *o2 = compiled(MODELS "qdq_refused.onnx", "reference", 2);
    CpuIo io;
    make_inputs(plain, 5, &io);
    float *a = cpu_run_reference(plain, &io), *b = cpu_run_reference(o2, &io);
    cpu_expect_same_bits("qdq_refused.onnx", b, a, io.out_count[0]);
    free(a), free(b);
    cpu_io_free(&io);
    graph_free(plain), graph_free(o2);
}

/* The grid step of the graph's output: its dequantize's scale. */
static double output_step(const Graph *g)
{
    const Node *d = graph_producer(g, g->outputs[0]);
    assert_true(d && d->op == OP_DEQUANTIZE);
    return ((const float *)g->tensors[d->params[0]].data)[0];
}

/* The largest difference between the float graph (-O1) and the rewritten
 * one (-O2), in steps of the output grid, over a few random inputs;
 * *differing counts the outputs that differ at all. */
static double steps_apart(const char *model, int64_t *differing, int64_t *total)
{
    Graph *plain = compiled(model, "reference", 1), *fused = compiled(model, "reference", 2);
    assert_true(test_count_op(fused, OP_QLINEAR_CONV) > 0);
    double step = output_step(fused), worst = 0;
    *differing = *total = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        CpuIo io;
        make_inputs(plain, seed, &io);
        float *a = cpu_run_reference(plain, &io), *b = cpu_run_reference(fused, &io);
        for (int64_t i = 0; i < io.out_count[0]; i++) {
            double d = fabs((double)a[i] - b[i]) / step;
            worst = fmax(worst, d);
            *differing += d > 0;
        }
        *total += io.out_count[0];
        free(a), free(b);
        cpu_io_free(&io);
    }
    graph_free(plain), graph_free(fused);
    return worst;
}

/* One layer: at most one step of the output grid (docs/quantization.md
 * proves it where the float graph's rounding error and the bias's
 * rounding add up to less than one step; here each is below 0.002). The integers on both sides are
 * dequantized with the same scale, exactly, so a difference of one step
 * is that step up to the rounding of the two dequantized floats: half an
 * ulp of each, at most 255 steps from the zero point, 2 * 255 * 2^-24 <
 * 3.1e-5 of a step (SLACK). */
#define SLACK 3.1e-5

/* Fails unless every model's outputs are within `bound` steps (+ SLACK). */
static void expect_within(const char *const *models, size_t n, double bound)
{
    for (size_t k = 0; k < n; k++) {
        int64_t differing, total;
        double worst = steps_apart(models[k], &differing, &total);
        print_message("%s: %lld of %lld outputs differ, by at most %.6g steps\n", models[k],
                      (long long)differing, (long long)total, worst);
        if (worst > bound + SLACK)
            fail_msg("%s: %.6g steps apart", models[k], worst);
    }
}

static void test_one_layer_within_one_step(void **state)
{
    (void)state;
    static const char *const models[] = {MODELS "qdq_conv1_per_tensor.onnx", MODELS "qdq_conv1_per_channel.onnx",
                                         MODELS "qdq_gemm1.onnx", MODELS "qdq_matmul1.onnx"};
    expect_within(models, sizeof models / sizeof *models, 1);
}

/* A chain: one layer's step can move the next layer's sum by up to
 * K * |w| * x_scale, so the bound compounds and is not one step. None
 * differ on these inputs (docs/quantization.md); 2 steps still catch a
 * rewrite that is wrong (a lost bias moves outputs by tens). */
static void test_chain_close(void **state)
{
    (void)state;
    static const char *const models[] = {MODELS "qdq_conv_per_tensor.onnx", MODELS "qdq_conv_per_channel.onnx",
                                         MODELS "qdq_fc.onnx"};
    expect_within(models, sizeof models / sizeof *models, 2);
}

/* qlinear_matmul and the qlinear_conv it becomes round the same sums with
 * the same multiplier: not one bit changes. */
static void test_qlinear_matmul_exact(void **state)
{
    (void)state;
    int64_t differing, total;
    double worst = steps_apart(MODELS "qlinear_matmul.onnx", &differing, &total);
    assert_true(total > 0);
    assert_int_equal(differing, 0);
    assert_true(worst == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrites_what_it_should),
        cmocka_unit_test(test_not_below_o2),
        cmocka_unit_test(test_params_are_the_models),
        cmocka_unit_test(test_kernels_match_reference),
        cmocka_unit_test(test_refused_runs_as_before),
        cmocka_unit_test(test_one_layer_within_one_step),
        cmocka_unit_test(test_chain_close),
        cmocka_unit_test(test_qlinear_matmul_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
