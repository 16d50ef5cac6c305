/* The residual add in integers (passes/quantize.c, docs/quantization.md,
 * "The residual add"): on a small network of ResNet's two kinds of block,
 * the quantize pass absorbs every add (and the relu after it) into a
 * qlinear_conv with a residual operand, the dump shows it and parses back,
 * the quantised network stays close to the float one, and the cpu target
 * computes it bit for bit as the reference executor does, through the JIT
 * on 1 and 2 threads and as object code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "shared_object.h"
#include "target.h"

/* An identity block (b's add reads the block's input), a projection block
 * (two convs meet at an add: d, the earlier, leaves the add to e), and a
 * conv written with a fused residual operand (g). */
static const char net[] = "input x: f32[2, 4, 6, 6];\n"
                          "c0 = conv(x, filters=8, kernel=3, pad=1, act=relu);\n"
                          "a = conv(c0, filters=8, kernel=3, pad=1, act=relu);\n"
                          "b = conv(a, filters=8, kernel=1);\n"
                          "s = add(b, c0);\n"
                          "r = relu(s);\n"
                          "d = conv(r, filters=8, kernel=1);\n"
                          "e = conv(r, filters=8, kernel=3, pad=1);\n"
                          "s2 = add(d, e);\n"
                          "r2 = relu(s2);\n"
                          "g = conv(r2, r, filters=8, kernel=1, act=relu);\n"
                          "f = fc(g, units=5);\n"
                          "output f;\n";

#define BATCHES 4
#define IN_COUNT (2 * 4 * 6 * 6)
#define OUT_COUNT (2 * 5)

typedef struct Calib {
    float data[BATCHES][IN_COUNT];
    const float *batches[BATCHES];
} Calib;

static void make_calibration(Calib *c)
{
    uint64_t seed = 11;
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < IN_COUNT; i++)
            c->data[b][i] = (float)(2 * test_uniform01(&seed) - 1);
        c->batches[b] = c->data[b];
    }
}

/* The network quantised to int8 on the reference pipeline at -O1, every
 * layer (first and last too, so that every output is the reference's
 * integers dequantized). */
static Graph *quantised(Parsed *p, const Calib *c)
{
    Graph *g = parse_with_random_weights(p, "residual.dnn", net, 3);
    char *messages = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&messages, &size);
    Diag d;
    diag_init(&d, log);
    QuantOptions q = {.mode = QUANT_INT8, .first_last = true, .batches = c->batches, .n_batches = BATCHES};
    PipelineOptions po = {.opt_level = 1, .verify_each = true, .log = log};
    PassOptions o = {.opt_level = 1, .target = target_find("reference"), .diag = &d, .quant = &q};
    bool ok = pipeline_run(g, &o, &po);
    fclose(log);
    if (!ok)
        fail_msg("quantising failed:\n%s", messages);
    free(messages);
    return g;
}

static void test_the_adds_join_the_convs(void **state)
{
    (void)state;
    Calib c;
    make_calibration(&c);
    Parsed p;
    Graph *g = quantised(&p, &c);
    assert_int_equal(test_count_op(g, OP_ADD), 0);
    assert_int_equal(test_count_op(g, OP_RELU), 0);
    assert_int_equal(test_count_op(g, OP_CONV) + test_count_op(g, OP_FC), 0);
    assert_int_equal(test_count_op(g, OP_QUANTIZE), 1);   /* of x */
    assert_int_equal(test_count_op(g, OP_DEQUANTIZE), 1); /* of f */
    const Node *c0 = test_layer_named(g, "c0_q"), *b = test_layer_named(g, "b_q"), *d = test_layer_named(g, "d_q");
    const Node *e = test_layer_named(g, "e_q"), *last = test_layer_named(g, "g_q");
    /* b adds c0's integers; e adds d's (d, the earlier, has none); g its
     * fused operand r, which is b's output. */
    assert_int_equal(b->n_inputs, 2);
    assert_int_equal(b->inputs[1], c0->output);
    assert_int_equal(d->n_inputs, 1);
    assert_int_equal(e->n_inputs, 2);
    assert_int_equal(e->inputs[1], d->output);
    assert_int_equal(last->n_inputs, 2);
    assert_int_equal(last->inputs[1], b->output);
    /* The relus after the adds are u8 saturation at zero point 0; the
     * residual's grid is its producer's. */
    assert_int_equal(g->tensors[b->output].type.kind, ELEM_U8);
    assert_int_equal(*(const uint8_t *)g->tensors[b->params[6]].data, 0);
    assert_true(*(const float *)g->tensors[e->params[e->n_params - 2]].data ==
                *(const float *)g->tensors[d->params[5]].data);
    parsed_free(&p);
}

static void test_the_dump_parses_back(void **state)
{
    (void)state;
    Calib c;
    make_calibration(&c);
    Parsed p;
    Graph *g = quantised(&p, &c);
    char *text = graph_to_text(g);
    assert_contains(text, "b_q = qlinear_conv(a_q, c0_q, filters=8, kernel=1, ");
    assert_contains(text, ", residual scale ");
    assert_dump_parses_back(text);
    free(text);
    parsed_free(&p);
}

static void run_reference(const Graph *g, const float *x, float *y)
{
    char err[1024];
    if (!reference_run_typed(g, (const void *const[]){x}, (void *const[]){y}, err, sizeof err))
        fail_msg("reference: %s", err);
}

/* The integers stay close to the float network: every output within 5% of
 * the largest (the rounding of six layers of 8-bit grids each a 255th of
 * their range, and no saturation beyond the calibrated ranges: the input
 * is a calibration batch). A wrong residual grid moves them by the
 * residual's whole size. */
static void test_close_to_float(void **state)
{
    (void)state;
    Calib c;
    make_calibration(&c);
    Parsed fp, qp;
    Graph *fg = parse_with_random_weights(&fp, "residual.dnn", net, 3);
    Graph *qg = quantised(&qp, &c);
    float want[OUT_COUNT], got[OUT_COUNT];
    run_reference(fg, c.data[0], want);
    run_reference(qg, c.data[0], got);
    double most = 0, worst = 0;
    for (int i = 0; i < OUT_COUNT; i++)
        most = fmax(most, fabs(want[i]));
    for (int i = 0; i < OUT_COUNT; i++)
        worst = fmax(worst, fabs(got[i] - want[i]));
    print_message("largest output %g, largest difference %g\n", most, worst);
    assert_true(most > 0);
    assert_true(worst <= 0.05 * most);
    parsed_free(&fp);
    parsed_free(&qp);
}

static void expect_bits(const char *what, const float *got, const float *want)
{
    if (memcmp(got, want, OUT_COUNT * sizeof *got) != 0)
        for (int i = 0; i < OUT_COUNT; i++)
            if (memcmp(&got[i], &want[i], sizeof *got) != 0)
                fail_msg("%s: output %d is %.9g, the reference's %.9g", what, i, got[i], want[i]);
}

static void test_cpu_matches_the_reference(void **state)
{
    (void)state;
    Calib c;
    make_calibration(&c);
    Parsed p;
    Graph *g = quantised(&p, &c);
    run_pipeline_or_fail(g, "cpu", 0); /* the places code generation reads */
    float want[OUT_COUNT], got[OUT_COUNT];
    char err[1024];
    CodegenOptions co = {.name = "residual", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("JIT: %s", err);
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("object code: %s", err);
    for (int b = 0; b < BATCHES; b++) {
        run_reference(g, c.data[b], want);
        for (int threads = 1; threads <= 2; threads++) {
            dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
            assert_int_equal(jit_run(j, (const void *const[]){c.data[b]}, (void *const[]){got}, pool), 0);
            dnnrt_pool_destroy(pool);
            expect_bits(threads > 1 ? "JIT, 2 threads" : "JIT, 1 thread", got, want);
        }
        assert_int_equal(shared_model_run(s, (const void *const[]){c.data[b]}, (void *const[]){got}), 0);
        expect_bits("object code", got, want);
    }
    shared_model_free(s);
    jit_free(j);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_adds_join_the_convs),
        cmocka_unit_test(test_the_dump_parses_back),
        cmocka_unit_test(test_close_to_float),
        cmocka_unit_test(test_cpu_matches_the_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
