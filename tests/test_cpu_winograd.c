/* The cpu target's Winograd kernel (codegen/kernels/winograd.c, F(2x2, 3x3),
 * F(4x4, 3x3) and F(6x6, 3x3)) against the reference executor:
 *
 * - one-layer networks (padding on every side or none, odd sizes that
 *   leave partial tiles, batches, groups, depthwise, more channels, filters
 *   and tiles than one unit holds, bias, relu, leaky_relu, residual),
 *   JIT-compiled and run on 1 and 2 threads, against the direct sums and
 *   against the reference's own plain Winograd on the same graph, each
 *   output within a rigorous bound on the float32 rounding (below);
 * - networks of several Winograd layers at -O2 (the epilogue fused into
 *   them), through the JIT and as object code, against the reference
 *   running the same graph;
 * - the packed filters: U = G g G^T laid out as dnnk.h says, compared with
 *   the reference's transform, and the weight blob's size.
 *
 * The bound. test_winograd.c derives it for the reference: with
 * K = 4 alpha + Cg + 12 roundings along any one term (G and B^T and A^T
 * rounded, the products of each transform, the sum over the channels),
 * |Y - y| <= gamma_K T, T the same computation on absolute values. The
 * kernel rounds no more often along any term: its U is computed in double
 * and rounded once, its B^T and A^T are exact in float (integers, and for
 * F(6x6) multiples of 1/32) and written out as sums of at most alpha terms
 * in which every entry keeps its magnitude, and it sums over channels once
 * per term (with fused multiply-adds, which round less). The epilogue adds
 * two roundings (bias, residual) where the reference's direct path rounds
 * once, and relu and leaky_relu (alpha <= 1) pass errors on without
 * growth; with E = |bias| + |residual|, every output satisfies
 *     |cpu - direct| <= gamma_(K+4) (T + E),
 * and, the reference's Winograd obeying the same bound,
 *     |cpu - reference Winograd| <= 2 gamma_(K+4) (T + E).
 * T is computed in float32 on positive terms (relative error gamma_K,
 * about 1e-5), which a 1% margin covers. The test also prints the largest
 * error per S = sum |x||w| + E, the scale of a dot product's rounding, for
 * the kernel and the reference, and requires the kernel to be about as
 * accurate as the reference (a factor 4, or 16 u, whichever is larger):
 * the bound is two orders of magnitude looser than what either achieves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu_check.h"
#include "dnnk.h"
#include "kernels.h"
#include "reference.h"
#include "test_util.h"
#include "winograd.h"

static const double U_ROUND = 0x1p-24;

/* ---- one layer against the bound ----------------------------------------- */

typedef struct Layer {
    const char *name;
    int64_t n, c, h, w, f, groups;
    int64_t pad[4]; /* top, left, bottom, right */
    bool bias, residual;
    const char *act; /* the act= argument, or NULL */
} Layer;

static void layer_text(const Layer *L, int m, char *buf, size_t size)
{
    int64_t oh = L->h + L->pad[0] + L->pad[2] - 2, ow = L->w + L->pad[1] + L->pad[3] - 2;
    int len = snprintf(buf, size, "input x: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n,
                       (long long)L->c, (long long)L->h, (long long)L->w);
    if (L->residual)
        len += snprintf(buf + len, size - (size_t)len, "input s: f32[%lld, %lld, %lld, %lld];\n",
                        (long long)L->n, (long long)L->f, (long long)oh, (long long)ow);
    len += snprintf(buf + len, size - (size_t)len,
                    "@algo(winograd, tile=%d) y = conv(x%s, filters=%lld, kernel=3, "
                    "pad=[%lld, %lld, %lld, %lld], groups=%lld, bias=%s%s%s);\noutput y;\n",
                    m, L->residual ? ", s" : "", (long long)L->f, (long long)L->pad[0],
                    (long long)L->pad[1], (long long)L->pad[2], (long long)L->pad[3],
                    (long long)L->groups, L->bias ? "true" : "false", L->act ? ", act=" : "",
                    L->act ? L->act : "");
}

static WinogradMatrices absolute_matrices(int m)
{
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    return winograd_matrices_absolute(t);
}

static float *absolute_copy(const float *v, int64_t n)
{
    float *a = cpu_check_floats(n);
    for (int64_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

/* Per output: T (the Winograd computation on absolute values) and S (the
 * direct sums of |x||w|), each plus E = |bias| + |residual|. */
typedef struct Scales {
    double *T, *S;
} Scales;

static Scales layer_scales(const Graph *g, const Node *n, int m, const CpuIo *io)
{
    const ConvAttrs *at = &n->attr.conv;
    const Shape *is = &g->tensors[n->inputs[0]].shape, *os = &g->tensors[n->output].shape;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t count = shape_elems(os);
    float *ax = absolute_copy(io->in[0], io->in_count[0]), *aw = absolute_copy(w->data, shape_elems(&w->shape));
    Scales s = {malloc(sizeof(double) * (size_t)count), cpu_check_abs_sums(g, n, io)};
    void *work = malloc(winograd_work_bytes(at, m, is, os));
    assert_true(s.T && s.S && work);
    WinogradMatrices t = absolute_matrices(m);
    winograd_conv_with(&t, at, is, os, ax, aw, s.T, work);
    for (int64_t i = 0; i < count; i++)
        s.T[i] += cpu_check_epilogue_abs(g, n, io, i);
    free(ax), free(aw), free(work);
    return s;
}

/* b[i] = factor T[i]. */
static double *scaled(const double *T, double factor, int64_t count)
{
    double *b = malloc(sizeof(double) * (size_t)count);
    assert_non_null(b);
    for (int64_t i = 0; i < count; i++)
        b[i] = factor * T[i];
    return b;
}

static void check_layer(const Layer *L, int m)
{
    char text[1024];
    layer_text(L, m, text, sizeof text);
    CpuLayer l;
    cpu_layer_open(&l, L->name, text, ALGO_WINOGRAD, m);
    Scales s = layer_scales(l.g, &l.g->nodes[0], m, &l.io);
    int64_t cg = L->c / L->groups;
    double K = 4.0 * (m + 2) + (double)cg + 12 + 4, gamma = K * U_ROUND / (1 - K * U_ROUND) * 1.01;
    double *bound = scaled(s.T, gamma, l.count), *twice = scaled(s.T, 2 * gamma, l.count);

    print_message("%s, F(%dx%d, 3x3):\n", L->name, m, m);
    double ref_u = cpu_check_bound("reference Winograd - direct", l.ref, l.direct, bound, s.S, l.count);
    cpu_check_kernel(&l, "Winograd", bound, twice, s.S, ref_u);
    free(bound), free(twice), free(s.T), free(s.S);
    cpu_layer_close(&l);
}

static void check_every_tile(const Layer *L)
{
    check_layer(L, 2);
    check_layer(L, 4);
    check_layer(L, 6);
}

static void test_padding(void **state)
{
    (void)state;
    check_every_tile(&(Layer){"pad 1, bias, relu", 1, 8, 12, 12, 16, 1, {1, 1, 1, 1}, true, false, "relu"});
    check_every_tile(&(Layer){"pad 0 1 2 1, residual, leaky_relu", 1, 6, 9, 10, 8, 1, {0, 1, 2, 1}, true,
                              true, "leaky_relu, alpha=0.2"});
    /* Windows that lie mostly, or for the first rows wholly, in padding. */
    check_every_tile(&(Layer){"pad 3 0 0 2", 1, 2, 5, 7, 3, 1, {3, 0, 0, 2}, false, false, NULL});
}

/* Output sizes that no m divides, batches, a 1x1 output. */
static void test_odd_sizes_and_batches(void **state)
{
    (void)state;
    check_every_tile(&(Layer){"13x11, no padding, batch 2", 2, 5, 13, 11, 7, 1, {0, 0, 0, 0}, false, false,
                              NULL});
    check_every_tile(&(Layer){"17x4, batch 2, residual", 2, 3, 17, 4, 5, 1, {1, 1, 1, 1}, true, true, "relu"});
    check_every_tile(&(Layer){"1x1 output", 1, 2, 1, 1, 2, 1, {1, 1, 1, 1}, true, false, NULL});
}

static void test_groups_and_depthwise(void **state)
{
    (void)state;
    check_every_tile(&(Layer){"3 groups, batch 2, residual", 2, 12, 10, 9, 18, 3, {1, 1, 1, 1}, true, true,
                              "relu"});
    check_every_tile(&(Layer){"depthwise", 1, 16, 15, 15, 16, 16, {1, 1, 1, 1}, true, false, "relu"});
    check_every_tile(&(Layer){"depthwise, multiplier 2", 1, 4, 11, 6, 8, 4, {1, 1, 1, 1}, false, true, NULL});
}

/* More channels than one block of transformed inputs (16), more filters
 * than one unit's block (48, and a last panel of 4), more tiles than one
 * vector pair: every loop of the kernel runs more than once, and threads
 * split the units. The 20x20 layer has 25 tiles of 4x4 and 16 of 6x6, one
 * block of NR = 32 with AVX-512; the 38x41 one has 110 and 49 (the last
 * block partial), so that every tile size runs several tile blocks. */
static void test_several_blocks(void **state)
{
    (void)state;
    check_every_tile(&(Layer){"18 channels, 13 filters, 38x41", 1, 18, 38, 41, 13, 1, {1, 1, 1, 1}, false,
                              true, "relu"});
    check_every_tile(&(Layer){"40 channels, 100 filters, 20x20", 1, 40, 20, 20, 100, 1, {1, 1, 1, 1}, true,
                              true, "relu"});
    check_every_tile(&(Layer){"2 groups of 33 channels, 50 filters", 2, 66, 9, 14, 100, 2, {1, 0, 1, 0},
                              true, false, "leaky_relu, alpha=0.1"});
}

/* ---- networks ------------------------------------------------------------- */

/* relu and the residual add fuse into the Winograd convs at -O2, so that
 * their epilogue runs in the kernel; the layers use each tile size. */
static const char network[] =
    "input x: f32[2, 3, 17, 15];\n"
    "@algo(winograd) a = conv(x, filters=16, kernel=3, pad=1);\n"
    "r = relu(a);\n"
    "@algo(winograd, tile=2) b = conv(r, filters=16, kernel=3, pad=1, groups=4);\n"
    "s = add(b, r);\n"
    "t = relu(s);\n"
    "@algo(winograd, tile=6) c = conv(t, filters=16, kernel=3, pad=[0, 1, 2, 1], groups=16);\n"
    "d = conv(c, filters=8, kernel=1);\n"
    "output d;\n";

/* Several layers from one bound each: the reference's Winograd errs by at
 * most about 1.2e-5 of a layer's largest output (docs/fast-convolution.md,
 * 256 channels), the kernel likewise, so three layers stay within 1e-4 of
 * the largest output with room to spare; any wrong index or missing term
 * moves outputs by their own size. */
static void test_network(void **state)
{
    (void)state;
    cpu_check_network(network, ALGO_WINOGRAD, 3, 2, 1e-4);
}

/* ---- the packed filters --------------------------------------------------- */

/* U = G g G^T of filter f, channel c, element xi, in double from the
 * reference's matrices (for F(2x2) they differ from Lavin & Gray's in the
 * sign of rows that cancel, so only |U| is the same there). */
static double reference_u(const WinogradMatrices *t, const float *g9, int xi)
{
    int i = xi / t->alpha, j = xi % t->alpha;
    double sum = 0;
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < 3; l++)
            sum += t->G[i][k] * g9[k * 3 + l] * t->G[j][l];
    return sum;
}

static void check_packed_filters(int m)
{
    char text[256];
    snprintf(text, sizeof text,
             "input x: f32[1, 8, 6, 6];\n"
             "@algo(winograd, tile=%d) y = conv(x, filters=14, kernel=3, pad=1, groups=2);\n"
             "output y;\n", m);
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "packed.dnn", text);
    run_pipeline_or_fail(g, "cpu", 0);
    CodegenOptions co = {.name = "packed", .opt_level = 0};
    CompiledModel cm;
    char err[1024];
    if (!codegen_build(g, &co, NULL, &cm, err, sizeof err))
        fail_msg("%s", err);
    const Node *n = &g->nodes[0];
    const float *w = g->tensors[n->params[0]].data;
    const float *U = (const float *)(cm.plan.weights + cm.plan.loc[n->params[0]].offset);
    /* [groups 2][panels ceil(7 / 6) = 2][alpha^2][Cg 4][MR], then the bias. */
    int a2 = (m + 2) * (m + 2);
    size_t filters = (size_t)2 * 2 * a2 * 4 * DNNK_MR * sizeof(float);
    assert_int_equal(dnnk_packed_winograd_weights(14, 2, 4, m) * (int64_t)sizeof(float), (int64_t)filters);
    size_t aligned = (filters + 63) / 64 * 64;
    assert_int_equal(cm.plan.weights_size, aligned + 64); /* 14 biases in one 64-byte block */
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    for (int grp = 0; grp < 2; grp++)
        for (int f = 0; f < 7; f++)
            for (int c = 0; c < 4; c++)
                for (int xi = 0; xi < a2; xi++) {
                    int panel = grp * 2 + f / DNNK_MR;
                    float got = U[((panel * a2 + xi) * 4 + c) * DNNK_MR + f % DNNK_MR];
                    double want = reference_u(&t, w + ((grp * 7 + f) * 4 + c) * 9, xi);
                    double diff = m == 2 ? fabs(fabs(got) - fabs(want)) : fabs(got - want);
                    if (!(diff <= 4 * U_ROUND * fmax(fabs(want), 1e-30) + 1e-12))
                        fail_msg("F(%dx%d): U of filter %d channel %d element %d: %.9g, expected %.9g", m,
                                 m, grp * 7 + f, c, xi, got, want);
                }
    /* The missing filters of each group's last panel are zero. */
    for (int grp = 0; grp < 2; grp++)
        for (int xi = 0; xi < a2; xi++)
            for (int c = 0; c < 4; c++)
                for (int r = 7 - DNNK_MR; r < DNNK_MR; r++)
                    assert_true(U[(((grp * 2 + 1) * a2 + xi) * 4 + c) * DNNK_MR + r] == 0.0f);
    codegen_free(&cm);
    parsed_free(&p);
}

static void test_packed_filters(void **state)
{
    (void)state;
    check_packed_filters(2);
    check_packed_filters(4);
    check_packed_filters(6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_odd_sizes_and_batches),
        cmocka_unit_test(test_groups_and_depthwise),
        cmocka_unit_test(test_several_blocks),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_packed_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
