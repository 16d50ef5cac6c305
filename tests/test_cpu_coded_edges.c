/* The cpu target's coded_conv kernel (codegen/kernels/coded_conv.c) against
 * the reference executor, bit for bit, on layers that reach every edge of
 * its blocking (dnnk.h): blocks of 8 filters and micro-kernels of 4 (2 with
 * 8-lane vectors) that the filters do not fill, runs of 256 filters, tiles
 * of 32 pixels (16) and bands of 4 tiles that the pixels do not fill, both
 * halved for small layers (dnnk_coded_split),
 * blocks of 64 rows of the reduction, taps in the padding, the fc form's
 * batches of 8, 4, 2 and 1 images. Each layer is coded in every mode
 * (log2<4>, codebook<3>, binary, ternary), through the JIT at -O2 on 1 and
 * 2 threads (and as object code in log2): both decode each code to the same float
 * and take conv_core's sums in double in the same order, so any difference
 * is a bug, not rounding. tests/test_cpu_coded.c runs the golden cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_check.h"
#include "pipeline.h"
#include "quantize.h"
#include "target.h"

static const QuantMode modes[] = {QUANT_LOG2, QUANT_KMEANS, QUANT_BINARY, QUANT_TERNARY};

static void check_layer(const char *name, const char *text, QuantMode m)
{
    char what[256];
    snprintf(what, sizeof what, "%s, %s", name, quant_mode_name(m));
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, name, text);
    cpu_code_every_layer(g, m, what);
    cpu_find_op(g, OP_CODED_CONV);
    CpuIo io;
    cpu_io_make(g, 5, &io);
    /* every other input +-2^40: with binary and ternary weights (+-scale)
     * their products cancel exactly in many sums, which leaves there the
     * rounding of the small terms added among them, which depends on the
     * order of the terms */
    for (int64_t i = 0; i < io.in_count[0]; i += 2)
        io.in[0][i] = io.in[0][i] < 0 ? -0x1p40f : 0x1p40f;
    float *want = cpu_run_reference(g, &io), *jit[2];
    cpu_run_jit(g, "coded_edges", NULL, NULL, &io, jit);
    cpu_expect_same_bits(what, jit[0], want, io.out_count[0]);
    cpu_expect_same_bits(what, jit[1], want, io.out_count[0]);
    if (m == QUANT_LOG2) { /* object code differs from the JIT only in how it is loaded */
        float *object = cpu_run_object(g, "coded_edges", &io);
        cpu_expect_same_bits(what, object, want, io.out_count[0]);
        free(object);
    }
    free(want), free(jit[0]), free(jit[1]);
    cpu_io_free(&io);
    parsed_free(&p);
}

static const struct {
    const char *name, *text;
} layers[] = {
    /* 13 filters: a full block and one of 5 (a micro-kernel with 1 real
     * row); 99 pixels: 3 full tiles and 3 pixels (6 and 3 with 16) */
    {"filter and pixel tails",
     "input x: f32[1, 5, 9, 11];\nc = conv(x, filters=13, kernel=3, pad=1);\noutput c;\n"},
    /* 300 filters: runs of 256 and 44; K = 630: 9 blocks of 64 rows and
     * one of 54, the partial sums waiting between them; relu */
    {"runs of filters, blocks of k",
     "input x: f32[1, 70, 6, 7];\nc = conv(x, filters=300, kernel=3, pad=1, act=relu);\noutput c;\n"},
    /* one tile of 16 pixels: dnnk_coded_split halves the run of filters
     * to 32 for two units, runs of 32 and 8 */
    {"one tile, runs split", "input x: f32[1, 24, 4, 4];\nc = conv(x, filters=40, kernel=3, pad=1);\noutput c;\n"},
    /* 930 pixels an image: 29 full tiles and 2 pixels, 8 bands, the last
     * of 2 tiles (59 tiles, 15 bands with 16); two images */
    {"bands of tiles", "input x: f32[2, 3, 30, 31];\nc = conv(x, filters=9, kernel=3, pad=1);\noutput c;\n"},
    /* the corner outputs' taps are all in the padding: the bias alone */
    {"taps in the padding", "input x: f32[1, 2, 3, 3];\nc = conv(x, filters=4, kernel=3, pad=4);\noutput c;\n"},
    {"stride, dilation, uneven padding",
     "input x: f32[1, 3, 17, 19];\nc = conv(x, filters=6, kernel=3, stride=2, dilation=2, pad=[1, 2, 0, 3]);\n"
     "output c;\n"},
    {"groups", "input x: f32[1, 6, 10, 10];\nc = conv(x, filters=12, kernel=3, pad=1, groups=3);\noutput c;\n"},
    {"depthwise, two images",
     "input x: f32[2, 8, 12, 12];\nc = conv(x, filters=16, kernel=3, pad=1, groups=8);\noutput c;\n"},
    /* fuse-epilogue makes the add the residual operand and the relu the
     * activation (test_residual_and_relu_fuse) */
    {"residual and relu",
     "input x: f32[1, 4, 9, 9];\nc = conv(x, filters=4, kernel=3, pad=1);\ns = add(c, x);\nr = relu(s);\n"
     "output r;\n"},
    /* 15 images: batches of 8, 4, 2 and 1; 21 units: blocks of 8, 8, 5 */
    {"fc, 15 images", "input x: f32[15, 2, 3, 3];\nf = fc(x, units=21, act=relu);\noutput f;\n"},
    {"fc, one image", "input x: f32[1, 100];\nf = fc(x, units=9);\noutput f;\n"},
    /* one output pixel whose window is the whole input, in 2 groups */
    {"grouped conv as an fc",
     "input x: f32[3, 4, 3, 3];\nc = conv(x, filters=6, kernel=3, groups=2);\noutput c;\n"},
};

static void test_every_edge_of_the_blocking_in_every_mode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            check_layer(layers[i].name, layers[i].text, modes[m]);
}

/* At -O2 on the cpu target, a relu and a residual add after a coded_conv
 * become its epilogue: one layer, two operands, act=relu. */
static void test_residual_and_relu_fuse(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "fuse.dnn",
                                 "input x: f32[1, 4, 9, 9];\nc = conv(x, filters=4, kernel=3, pad=1);\n"
                                 "s = add(c, x);\nr = relu(s);\noutput r;\n");
    cpu_code_every_layer(g, QUANT_LOG2, "fuse.dnn");
    run_pipeline_or_fail(g, "cpu", 2);
    int coded = cpu_find_op(g, OP_CODED_CONV), live = 0;
    for (int i = 0; i < g->n_nodes; i++)
        live += !g->nodes[i].removed && g->nodes[i].op != OP_CONSTANT;
    assert_int_equal(live, 1);
    assert_int_equal(g->nodes[coded].n_inputs, 2);
    assert_int_equal(g->nodes[coded].attr.coded.conv.act.kind, ACT_RELU);
    assert_true(g->outputs[0] == g->nodes[coded].output);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_edge_of_the_blocking_in_every_mode),
        cmocka_unit_test(test_residual_and_relu_fuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
