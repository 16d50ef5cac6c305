/* The cpu target's direct convolution kernel (codegen/kernels/conv_direct.c)
 * against the reference executor's direct sums:
 *
 * - one-layer networks with @algo(direct): depthwise 3x3 at strides 1 and
 *   2 (MobileNetV2's), a channel multiplier, groups of several channels, a
 *   plain conv, dilation, asymmetric padding, windows mostly in padding,
 *   1x1 with stride 2, batches, bias, relu, relu6 (clip), leaky_relu and a
 *   residual; planes of one row tile and of several, rows split into
 *   column tiles, and kernels too large for any tile (the kernel's scalar
 *   sums), JIT-compiled and run on 1 and 2 threads, and on the kernel
 *   library of 8-lane vectors;
 * - the tile each of those layers gets (dnnk_plane_tile), so that every
 *   path of the kernel is known to have run;
 * - a network of several direct layers at -O2 (relu fused into them)
 *   through the JIT and as object code.
 *
 * The bound. The kernel sums each output in float, one fused multiply-add
 * per weight in the order (channel, ky, kx), K = Cg kh kw of them, then
 * adds the bias and the residual (two roundings); the reference sums in
 * double and rounds once. Each is within gamma_(K+2) S of the exact value,
 * S = sum |x||w| + |bias| + |residual| (Higham, 3.1), so they differ by at
 * most 2 gamma_(K+2) S: a wrong tap, index or phase moves an output by
 * about its own size, far beyond that. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu_check.h"
#include "kernels.h"
#include "reference.h"
#include "test_util.h"

typedef CpuConv Layer;

static void layer_text(const Layer *L, char *buf, size_t size)
{
    cpu_conv_text(L, "@algo(direct)", "output y;\n", buf, size);
}

static void check_path(const CpuLayer *l, CpuTiling want)
{
    const Node *n = &l->g->nodes[l->conv];
    const ConvAttrs *a = &n->attr.conv;
    const Shape *os = &l->g->tensors[n->output].shape;
    cpu_check_tiling(a->kernel, a->stride, a->dilation, os->d[2], os->d[3], want);
}

static void check_layer_for(const Layer *L, CpuTiling path, const char *cpu, const char *features)
{
    char text[1024];
    layer_text(L, text, sizeof text);
    CpuLayer l;
    cpu_layer_open(&l, L->name, text, ALGO_DIRECT, 0);
    l.cpu = cpu, l.features = features;
    print_message("%s:\n", L->name);
    check_path(&l, path);
    double *S = cpu_check_abs_sums(l.g, &l.g->nodes[l.conv], &l.io), *bound = malloc(sizeof(double) * (size_t)l.count);
    assert_non_null(bound);
    double K = (double)(L->c / L->groups * L->kh * L->kw);
    for (int64_t i = 0; i < l.count; i++)
        bound[i] = 2 * cpu_check_gamma(K + 2) * S[i];
    float *outs[2];
    cpu_run_jit(l.g, "layer", l.cpu, l.features, &l.io, outs);
    for (int t = 0; t < 2; t++) {
        char what[64];
        snprintf(what, sizeof what, "cpu (%d thread%s) - direct", t + 1, t ? "s" : "");
        cpu_check_bound(what, outs[t], l.direct, bound, S, l.count);
        free(outs[t]);
    }
    free(S), free(bound);
    cpu_layer_close(&l);
}

static void check_layer(const Layer *L, CpuTiling path) { check_layer_for(L, path, NULL, NULL); }

static void test_depthwise(void **state)
{
    (void)state;
    check_layer(&(Layer){"3x3 depthwise, stride 1, relu6", 1, 16, 14, 14, 16, 16, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1},
                         true, false, "clip, min=0, max=6"},
                TILE_ONE);
    check_layer(&(Layer){"3x3 depthwise, stride 2, 112x112, relu", 1, 8, 112, 112, 8, 8, 3, 3, 2, 2, 1, 1,
                         {1, 1, 1, 1}, true, false, "relu"},
                TILE_ROWS);
    check_layer(&(Layer){"3x3 depthwise, 112x112, stride 1", 1, 4, 112, 112, 4, 4, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1},
                         false, false, NULL},
                TILE_ROWS);
    check_layer(&(Layer){"3x3 depthwise, stride 2, pad 0 0 1 1, odd size", 1, 6, 15, 13, 6, 6, 3, 3, 2, 2, 1, 1,
                         {0, 0, 1, 1}, true, false, NULL},
                TILE_ONE);
    check_layer(&(Layer){"5x5 depthwise, multiplier 3, residual", 2, 4, 11, 9, 12, 4, 5, 5, 1, 1, 1, 1,
                         {2, 2, 2, 2}, true, true, "leaky_relu, alpha=0.2"},
                TILE_ONE);
}

static void test_other_convolutions(void **state)
{
    (void)state;
    check_layer(&(Layer){"3x3, 3 groups of 5 channels, batch 2", 2, 15, 10, 12, 9, 3, 3, 3, 1, 1, 1, 1,
                         {1, 1, 1, 1}, true, true, "relu"},
                TILE_ONE);
    check_layer(&(Layer){"plain 3x5 conv, stride 2 1", 1, 7, 17, 19, 5, 1, 3, 5, 2, 1, 1, 1, {1, 2, 0, 2}, true,
                         false, NULL},
                TILE_ONE);
    check_layer(&(Layer){"3x3, dilation 2 3, stride 2", 1, 3, 23, 25, 3, 3, 3, 3, 2, 2, 2, 3, {2, 3, 2, 3}, false,
                         false, NULL},
                TILE_ONE);
    check_layer(&(Layer){"1x1, stride 2", 1, 8, 13, 13, 16, 1, 1, 1, 2, 2, 1, 1, {0, 0, 0, 0}, true, false, "relu"},
                TILE_ONE);
    /* Most windows of the first and last rows lie wholly in padding. */
    check_layer(&(Layer){"3x5, pad 4 0 0 6", 1, 2, 6, 9, 3, 1, 3, 5, 1, 1, 1, 1, {4, 0, 0, 6}, false, false, NULL},
                TILE_ONE);
    check_layer(&(Layer){"7x7, stride 4, 16 phases", 1, 3, 61, 57, 2, 1, 7, 7, 4, 4, 1, 1, {3, 3, 3, 3}, true,
                         false, NULL},
                TILE_ONE);
}

/* Rows wider than the sums hold split into column tiles; kernels and
 * strides no plane holds fall back to the kernel's scalar sums. */
static void test_large_shapes(void **state)
{
    (void)state;
    check_layer(&(Layer){"3x3 depthwise, rows of 3001", 1, 2, 5, 3001, 2, 2, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true,
                         false, "relu"},
                TILE_COLUMNS);
    check_layer(&(Layer){"91x91 kernel", 1, 2, 95, 93, 2, 2, 91, 91, 1, 1, 1, 1, {0, 0, 0, 0}, true, false, NULL},
                TILE_NONE);
    check_layer(&(Layer){"1x2 kernel, stride 9000 across", 1, 1, 2, 9002, 2, 1, 1, 2, 1, 9000, 1, 1, {0, 0, 0, 0},
                         false, true, NULL},
                TILE_NONE);
}

/* The library of 8-lane vectors, which an AVX-512 host does not pick. */
static void test_eight_lanes(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const char *cpu = "x86-64-v3", *avx2 = "+avx2,+fma,+avx,+f16c";
    check_layer_for(&(Layer){"3x3 depthwise, stride 2, 8 lanes", 1, 8, 40, 33, 8, 8, 3, 3, 2, 2, 1, 1,
                             {1, 1, 1, 1}, true, true, "relu"},
                    TILE_ONE, cpu, avx2);
    check_layer_for(&(Layer){"3x3 depthwise, 8 lanes, row tiles", 1, 3, 70, 70, 3, 3, 3, 3, 1, 1, 1, 1,
                             {1, 1, 1, 1}, false, false, NULL},
                    TILE_ROWS, cpu, avx2);
#else
    skip();
#endif
}

/* relu fuses into the direct convs at -O2. Each layer errs by at most
 * 2 gamma_(K+2) S (above), about 1e-6 of S for these K; three layers stay
 * within 1e-5 of the largest output with room to spare, and a wrong index
 * moves outputs by their own size. */
static const char network[] =
    "input x: f32[1, 6, 29, 31];\n"
    "@algo(direct) a = conv(x, filters=12, kernel=3, pad=1, groups=6);\n"
    "h = relu(a);\n"
    "@algo(direct) b = conv(h, filters=12, kernel=3, stride=2, pad=1, groups=12);\n"
    "c = relu(b);\n"
    "@algo(direct) d = conv(c, filters=8, kernel=[3, 5], pad=[1, 2], groups=4);\n"
    "output d;\n";

static void test_network(void **state)
{
    (void)state;
    cpu_check_network(network, ALGO_DIRECT, 3, 2, 1e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise),
        cmocka_unit_test(test_other_convolutions),
        cmocka_unit_test(test_large_shapes),
        cmocka_unit_test(test_eight_lanes),
        cmocka_unit_test(test_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
