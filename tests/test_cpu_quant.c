/* The cpu target's quantize and dequantize kernels (codegen/kernels/quant.c)
 * against the reference executor, bit for bit, through the JIT on 1 and 2
 * threads and as object code: u8, i8 and i16 grids, per tensor and per
 * axis, tensors longer than a chunk and not a whole number of vectors, and
 * the edges of the reference's rule (runtime/reference/quant.c): exact
 * ties of x / scale (rounded half to even: 0.5 to 0, 1.5 and 2.5 to 2,
 * -0.5 to -0, with scales whose reciprocal is not exact), the floats next
 * to ties (where a float division or a multiplication by the reciprocal
 * would round differently from the reference's double division),
 * saturation at both ends, infinities, NaN (0; on x86 the test cannot tell
 * it from the conversion's 0x80000000, whose low bytes are 0), negative
 * zero and subnormals. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "reference.h"
#include "shared_object.h"
#include "test_util.h"
#include "weights.h"

/* A one-layer graph: quantize (f32 in) or dequantize (type in). */
typedef struct QuantCase {
    const char *name;
    bool dequantize;
    const char *type; /* the integer side: u8, i8 or i16 */
    bool per_axis;
    float scale;      /* of channel 0; channel c has scale * (1 + c / 4) */
    int zero_point;   /* of channel 0; channel c has zero_point - c */
} QuantCase;

#define N 2
#define C 3
#define H 37
#define W 29 /* N * C * H * W = 6438: a chunk of 4096 and a tail not a whole number of vectors */
#define COUNT (N * C * H * W)

static int64_t elem_bytes(const char *type) { return strcmp(type, "i16") == 0 ? 2 : 1; }

static Graph *case_graph(Parsed *p, const QuantCase *q)
{
    char text[512];
    snprintf(text, sizeof text, "input x: %s[%d, %d, %d, %d];\ny = %s(x%s%s%s);\noutput y;\n",
             q->dequantize ? q->type : "f32", N, C, H, W, q->dequantize ? "dequantize" : "quantize",
             q->dequantize ? "" : ", dtype=", q->dequantize ? "" : q->type, q->per_axis ? ", per_axis=true" : "");
    parse_text(p, q->name, text);
    if (!p->graph)
        fail_msg("%s does not compile:\n%s\n%s", q->name, text, p->messages);
    Graph *g = p->graph;
    assert_true(weights_randomize(g, 1));
    const Node *n = &g->nodes[0];
    float *scale = g->tensors[n->params[0]].data;
    void *zp = g->tensors[n->params[1]].data;
    int channels = q->per_axis ? C : 1;
    for (int c = 0; c < channels; c++) {
        scale[c] = q->scale * (1 + (float)c / 4);
        int z = q->zero_point - c;
        if (strcmp(q->type, "u8") == 0)
            ((uint8_t *)zp)[c] = (uint8_t)z;
        else if (strcmp(q->type, "i8") == 0)
            ((int8_t *)zp)[c] = (int8_t)z;
        else
            ((int16_t *)zp)[c] = (int16_t)z;
    }
    return g;
}

/* Float inputs: the edges first, then ties k/2 steps of each channel's
 * scale from its zero point, then values spread over twice the grid. */
static float *quantize_input(const QuantCase *q)
{
    static const float edges[] = {0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e-45f,
                                  -1e-45f, 1.17549435e-38f, FLT_MAX, -FLT_MAX};
    float *x = malloc(COUNT * sizeof *x);
    assert_non_null(x);
    uint64_t state = 3;
    for (int64_t i = 0; i < COUNT; i++) {
        int64_t c = q->per_axis ? i / (H * W) % C : 0;
        float s = q->scale * (1 + (float)c / 4);
        int64_t k = i % 1200 - 600;
        double grid = strcmp(q->type, "i16") == 0 ? 40000 : 300;
        if (i < (int64_t)(sizeof edges / sizeof *edges))
            x[i] = edges[i];
        else if (i % 3 == 0)
            x[i] = (float)k / 2 * s; /* k odd: a tie (exact with a scale of few significant bits) */
        else if (i % 3 == 1 && i % 2)
            x[i] = nextafterf((float)k / 2 * s, i % 4 == 1 ? INFINITY : -INFINITY); /* a float apart */
        else
            x[i] = (float)((test_uniform01(&state) - 0.5) * 2 * grid * s);
    }
    return x;
}

/* Integer inputs: every value of the type, in turn. */
static void *dequantize_input(const QuantCase *q)
{
    int64_t size = elem_bytes(q->type);
    uint8_t *x = malloc((size_t)(COUNT * size));
    assert_non_null(x);
    for (int64_t i = 0; i < COUNT; i++) {
        if (size == 2) {
            int16_t v = (int16_t)(i % 2 ? 32767 - i * 11 : -32768 + i * 7);
            memcpy(x + 2 * i, &v, 2);
        } else {
            x[i] = (uint8_t)(i * 37);
        }
    }
    return x;
}

static void expect_same_bytes(const QuantCase *q, const char *what, const uint8_t *got, const uint8_t *want,
                              int64_t bytes)
{
    for (int64_t i = 0; i < bytes; i++)
        if (got[i] != want[i])
            fail_msg("%s, %s: byte %lld is 0x%02x, the reference's 0x%02x", q->name, what, (long long)i, got[i],
                     want[i]);
}

static void check_case(const QuantCase *q)
{
    Parsed p;
    Graph *g = case_graph(&p, q);
    void *input = q->dequantize ? dequantize_input(q) : (void *)quantize_input(q);
    int64_t bytes = COUNT * (q->dequantize ? 4 : elem_bytes(q->type));
    uint8_t *want = malloc((size_t)bytes), *got = malloc((size_t)bytes);
    assert_non_null(want);
    assert_non_null(got);
    char err[1024];
    if (!reference_run_typed(g, (const void *const[]){input}, (void *const[]){want}, err, sizeof err))
        fail_msg("%s, reference: %s", q->name, err);
    CodegenOptions co = {.name = "q", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("%s: %s", q->name, err);
    for (int threads = 1; threads <= 2; threads++) {
        memset(got, 0xa5, (size_t)bytes);
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        assert_int_equal(jit_run(j, (const void *const[]){input}, (void *const[]){got}, pool), 0);
        dnnrt_pool_destroy(pool);
        expect_same_bytes(q, threads > 1 ? "JIT, 2 threads" : "JIT, 1 thread", got, want, bytes);
    }
    jit_free(j);
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("%s, object code: %s", q->name, err);
    memset(got, 0xa5, (size_t)bytes);
    assert_int_equal(shared_model_run(s, (const void *const[]){input}, (void *const[]){got}), 0);
    expect_same_bytes(q, "object code", got, want, bytes);
    shared_model_free(s);
    free(want);
    free(got);
    free(input);
    parsed_free(&p);
}

static const QuantCase cases[] = {
    {"quantize u8, scale 2^-3, zero point 128", false, "u8", false, 0.125f, 128},
    {"quantize u8, scale 2^-3, zero point 0", false, "u8", false, 0.125f, 0},
    {"quantize u8, scale 0.0173", false, "u8", false, 0.0173f, 37},
    {"quantize u8, scale 49 * 2^-8", false, "u8", false, 0.19140625f, 100},
    {"quantize i8, scale 2^-2, zero point -3", false, "i8", false, 0.25f, -3},
    {"quantize i8 per axis, scale 0.031", false, "i8", true, 0.031f, 5},
    {"quantize u8 per axis, scale 2^-4", false, "u8", true, 0.0625f, 130},
    {"quantize i16, scale 2^-10", false, "i16", false, 0.0009765625f, 0},
    {"quantize i16 per axis, scale 0.0007", false, "i16", true, 0.0007f, 3},
    {"dequantize u8, zero point 128", true, "u8", false, 0.0173f, 128},
    {"dequantize i8 per axis", true, "i8", true, 0.031f, -2},
    {"dequantize i16, scale 2^-10", true, "i16", false, 0.0009765625f, 0},
    {"dequantize u8, subnormal scale", true, "u8", false, 1e-44f, 9},
};

static void test_quantize_and_dequantize(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        print_message("%s\n", cases[i].name);
        check_case(&cases[i]);
    }
}

/* The reference's rule on the edges, so that a change of the rule itself
 * (the oracle the kernels follow) shows here: ties to even, saturation,
 * NaN to 0. */
static void test_reference_rule(void **state)
{
    (void)state;
    QuantCase q = {"rule", false, "u8", false, 0.5f, 10};
    Parsed p;
    Graph *g = case_graph(&p, &q);
    float x[COUNT] = {0.25f, 0.75f, 1.25f, -0.25f, -5.25f, 1e9f, -1e9f, NAN, -0.0f, 122.75f, 122.25f};
    uint8_t y[COUNT];
    char err[256];
    assert_true(reference_run_typed(g, (const void *const[]){x}, (void *const[]){y}, err, sizeof err));
    const uint8_t want[] = {10, 12, 12, 10, 0, 255, 0, 0, 10, 255, 254};
    for (size_t i = 0; i < sizeof want; i++)
        assert_int_equal(y[i], want[i]);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_rule),
        cmocka_unit_test(test_quantize_and_dequantize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
