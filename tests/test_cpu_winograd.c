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
 *   the reference's transform, and the weight blob's size;
 * - the same on blocked activations (dnnk_conv_winograd_blocked, groups
 *   1): the one-layer networks with the conv in nchw16c, layers whose
 *   channels, filters and tiles take several chunks, filter groups and runs
 *   of a unit, padding lanes that hold NaN, a network at -O2 whose Winograd
 *   convs select-layout blocks, and the blocked U's layout.
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

/* blocked: the conv in nchw16c, its operands reordered into it at -O0. */
static void layer_text(const Layer *L, int m, bool blocked, char *buf, size_t size)
{
    int64_t oh = L->h + L->pad[0] + L->pad[2] - 2, ow = L->w + L->pad[1] + L->pad[3] - 2;
    int len = snprintf(buf, size, "input x: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n,
                       (long long)L->c, (long long)L->h, (long long)L->w);
    if (L->residual)
        len += snprintf(buf + len, size - (size_t)len, "input s: f32[%lld, %lld, %lld, %lld];\n",
                        (long long)L->n, (long long)L->f, (long long)oh, (long long)ow);
    len += snprintf(buf + len, size - (size_t)len,
                    "@algo(winograd, tile=%d) %s = conv(x%s, filters=%lld, kernel=3, "
                    "pad=[%lld, %lld, %lld, %lld], groups=%lld, bias=%s%s%s);\n",
                    m, blocked ? "@layout(nchw16c) c" : "y", L->residual ? ", s" : "", (long long)L->f,
                    (long long)L->pad[0], (long long)L->pad[1], (long long)L->pad[2], (long long)L->pad[3],
                    (long long)L->groups, L->bias ? "true" : "false", L->act ? ", act=" : "",
                    L->act ? L->act : "");
    /* A network output is plain. */
    snprintf(buf + len, size - (size_t)len, "%soutput y;\n", blocked ? "@layout(nchw) y = reorder(c);\n" : "");
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

/* cpu, features: the machine the kernel is compiled for (NULL: the host). */
static void check_layer_on(const Layer *L, int m, bool blocked, const char *cpu, const char *features)
{
    char text[1024];
    layer_text(L, m, blocked, text, sizeof text);
    CpuLayer l;
    cpu_layer_open(&l, L->name, text, ALGO_WINOGRAD, m);
    l.cpu = cpu, l.features = features;
    const Node *conv = &l.g->nodes[l.conv];
    assert_int_equal(graph_tensor_layout(l.g, conv->output), blocked ? LAYOUT_NCHW16C : LAYOUT_NCHW);
    Scales s = layer_scales(l.g, conv, m, &l.io);
    int64_t cg = L->c / L->groups;
    double K = 4.0 * (m + 2) + (double)cg + 12 + 4, gamma = K * U_ROUND / (1 - K * U_ROUND) * 1.01;
    double *bound = scaled(s.T, gamma, l.count), *twice = scaled(s.T, 2 * gamma, l.count);

    print_message("%s, F(%dx%d, 3x3)%s:\n", L->name, m, m, blocked ? ", blocked" : "");
    double ref_u = cpu_check_bound("reference Winograd - direct", l.ref, l.direct, bound, s.S, l.count);
    cpu_check_kernel(&l, "Winograd", bound, twice, s.S, ref_u);
    free(bound), free(twice), free(s.T), free(s.S);
    cpu_layer_close(&l);
}

static void check_layer(const Layer *L, int m, bool blocked) { check_layer_on(L, m, blocked, NULL, NULL); }

static void check_every_tile(const Layer *L)
{
    for (int m = 2; m <= 6; m += 2)
        check_layer(L, m, false);
}

/* Whether the blocked kernel runs with tile m here: every tile in the
 * plain build; F(4x4) alone under the sanitizers (CI time), which watch
 * dnnc's own code (the split, the packing), the same for every tile: the
 * JIT-compiled kernels are not instrumented. */
static bool blocked_tile_runs(int m)
{
#ifdef DNNC_SANITIZED
    return m == 4;
#else
    (void)m;
    return true;
#endif
}

/* On blocked activations as well (groups 1 only: the blocked kernel's). */
static void check_every_tile_both(const Layer *L)
{
    for (int m = 2; m <= 6; m += 2) {
        check_layer(L, m, false);
        if (blocked_tile_runs(m))
            check_layer(L, m, true);
    }
}

static void test_padding(void **state)
{
    (void)state;
    check_every_tile_both(&(Layer){"pad 1, bias, relu", 1, 8, 12, 12, 16, 1, {1, 1, 1, 1}, true, false, "relu"});
    check_every_tile_both(&(Layer){"pad 0 1 2 1, residual, leaky_relu", 1, 6, 9, 10, 8, 1, {0, 1, 2, 1}, true,
                                   true, "leaky_relu, alpha=0.2"});
    /* Windows that lie mostly, or for the first rows wholly, in padding. */
    check_every_tile_both(&(Layer){"pad 3 0 0 2", 1, 2, 5, 7, 3, 1, {3, 0, 0, 2}, false, false, NULL});
}

/* Output sizes that no m divides, batches, a 1x1 output. */
static void test_odd_sizes_and_batches(void **state)
{
    (void)state;
    check_every_tile_both(&(Layer){"13x11, no padding, batch 2", 2, 5, 13, 11, 7, 1, {0, 0, 0, 0}, false, false,
                                   NULL});
    check_every_tile_both(&(Layer){"17x4, batch 2, residual", 2, 3, 17, 4, 5, 1, {1, 1, 1, 1}, true, true, "relu"});
    check_every_tile_both(&(Layer){"1x1 output", 1, 2, 1, 1, 2, 1, {1, 1, 1, 1}, true, false, NULL});
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
    check_every_tile_both(&(Layer){"18 channels, 13 filters, 38x41", 1, 18, 38, 41, 13, 1, {1, 1, 1, 1}, false,
                                   true, "relu"});
    check_every_tile_both(&(Layer){"40 channels, 100 filters, 20x20", 1, 40, 20, 20, 100, 1, {1, 1, 1, 1}, true,
                                   true, "relu"});
    check_every_tile(&(Layer){"2 groups of 33 channels, 50 filters", 2, 66, 9, 14, 100, 2, {1, 0, 1, 0},
                              true, false, "leaky_relu, alpha=0.1"});
}

/* The blocked kernel's loops each run more than once: per unit several
 * chunks of channel blocks (their sums waiting in M), several runs of
 * tiles and groups of filter blocks, with a padded last block of channels
 * (72 = 4 x 16 + 8, 33 = 2 x 16 + 1) and of filters (80 = 5 x 16, 20 = 16
 * + 4). For F(2x2) the 46x44 layer has 506 tiles in runs of 102, one
 * channel block a chunk; F(4x4) 132 in runs of 36, two a chunk; F(6x6) 64
 * in runs of 24, one. */
static void test_blocked_chunks_and_runs(void **state)
{
    (void)state;
    for (int m = 2; m <= 6; m += 2) {
        if (!blocked_tile_runs(m))
            continue;
        check_layer(&(Layer){"72 channels, 80 filters, 46x44", 1, 72, 46, 44, 80, 1, {1, 1, 1, 1}, true, false,
                             "relu"},
                    m, true);
        check_layer(&(Layer){"batch 2, 33 channels, 20 filters, 30x30", 2, 33, 30, 30, 20, 1, {1, 1, 1, 1}, true,
                             true, "leaky_relu, alpha=0.1"},
                    m, true);
    }
}

/* The library built with 8 lanes (AVX2), where a block of 16 channels is
 * two vectors and a register tile one block of filters: the same layers. */
static void test_blocked_eight_lanes(void **state)
{
    (void)state;
    const char *cpu = "x86-64-v3", *avx2 = "+avx2,+fma,+avx,+f16c";
    for (int m = 2; m <= 6; m += 2) {
        if (!blocked_tile_runs(m))
            continue;
        check_layer_on(&(Layer){"72 channels, 80 filters, 46x44", 1, 72, 46, 44, 80, 1, {1, 1, 1, 1}, true, false,
                                "relu"},
                       m, true, cpu, avx2);
        check_layer_on(&(Layer){"pad 0 1 2 1, residual, leaky_relu", 1, 6, 9, 10, 8, 1, {0, 1, 2, 1}, true, true,
                                "leaky_relu, alpha=0.2"},
                       m, true, cpu, avx2);
    }
}

/* Padding lanes may hold anything (as test_cpu_blocked's
 * test_padding_never_read): b = a / a is 1 on the 20 channels and 0 / 0 =
 * NaN on the 12 lanes past them, which the transforms carry into every
 * sum if the GEMM reads them. Each output sums 9 x 20 products of 1 (or
 * 0, in the padding) and a weight, and the bias: |y| <= S = sum |w| +
 * |bias| per filter, and a Winograd error stays far below 1e-4 S (about
 * 1e-5 of a layer's largest output, docs/fast-convolution.md). */
static void test_blocked_padding_never_read(void **state)
{
    (void)state;
    for (int m = 2; m <= 6; m += 2) {
        char text[512];
        snprintf(text, sizeof text,
                 "input x: f32[1, 20, 9, 11];\n"
                 "@layout(nchw16c) a = reorder(x);\n"
                 "@layout(nchw16c) b = div(a, a);\n"
                 "@algo(winograd, tile=%d) @layout(nchw16c) c = conv(b, filters=16, kernel=3, pad=1);\n"
                 "@layout(nchw) y = reorder(c);\noutput y;\n",
                 m);
        CpuNanRun r;
        cpu_nan_run_open(&r, text);
        const float *w = r.g->tensors[r.conv->params[0]].data, *bias = r.g->tensors[r.conv->params[1]].data;
        for (int t = 0; t < 2; t++)
            for (int64_t i = 0; i < r.io.out_count[0]; i++) {
                int64_t f = i / (9 * 11); /* y is [1, 16, 9, 11] */
                double S = fabs(bias[f]);
                for (int k = 0; k < 20 * 9; k++)
                    S += fabs(w[f * 20 * 9 + k]);
                if (!(fabs((double)r.outs[t][i] - r.want[i]) <= 1e-4 * S))
                    fail_msg("F(%dx%d): output %lld is %g, the reference's %g", m, m, (long long)i, r.outs[t][i],
                             r.want[i]);
            }
        cpu_nan_run_close(&r);
    }
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

/* Groups-1 Winograd convs are blocked at -O2, the epilogue fused as
 * before; the first reads a reorder of the plain input (the kernel that
 * reads plain input is direct only). */
static const char blocked_network[] =
    "input x: f32[2, 20, 17, 15];\n"
    "@algo(winograd) a = conv(x, filters=32, kernel=3, pad=1);\n"
    "r = relu(a);\n"
    "@algo(winograd, tile=2) b = conv(r, filters=32, kernel=3, pad=1);\n"
    "s = add(b, r);\n"
    "t = relu(s);\n"
    "@algo(winograd, tile=6) c = conv(t, filters=24, kernel=3, pad=[0, 1, 2, 1]);\n"
    "d = conv(c, filters=8, kernel=1);\n"
    "output d;\n";

static void test_blocked_network(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "blocked.dnn", blocked_network);
    run_pipeline_or_fail(g, "cpu", 2);
    int blocked = 0;
    for (int i = 0; i < g->n_nodes; i++)
        blocked += g->nodes[i].ann.algo == ALGO_WINOGRAD &&
                   graph_tensor_layout(g, g->nodes[i].output) == LAYOUT_NCHW16C;
    assert_int_equal(blocked, 3);
    parsed_free(&p);
    cpu_check_network(blocked_network, ALGO_WINOGRAD, 3, 2, 1e-4);
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
    CpuPacked k;
    cpu_packed_open(&k, text);
    const float *w = k.filters, *U = k.packed;
    /* [groups 2][panels ceil(7 / 6) = 2][alpha^2][Cg 4][MR], then the bias. */
    int a2 = (m + 2) * (m + 2);
    size_t filters = (size_t)2 * 2 * a2 * 4 * DNNK_MR * sizeof(float);
    assert_int_equal(dnnk_packed_winograd_weights(14, 2, 4, m) * (int64_t)sizeof(float), (int64_t)filters);
    size_t aligned = (filters + 63) / 64 * 64;
    assert_int_equal(k.cm.plan.weights_size, aligned + 64); /* 14 biases in one 64-byte block */
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
    cpu_packed_close(&k);
}

/* The blocked kernel's U: [FB][alpha^2][CB][16 channels][16 filters],
 * zeros past F = 20 and C = 18 (two blocks of each). */
static void check_packed_blocked(int m)
{
    char text[256];
    snprintf(text, sizeof text,
             "input x: f32[1, 18, 6, 6];\n"
             "@algo(winograd, tile=%d) @layout(nchw16c) c = conv(x, filters=20, kernel=3, pad=1);\n"
             "@layout(nchw) y = reorder(c);\noutput y;\n",
             m);
    CpuPacked k;
    cpu_packed_open(&k, text);
    const float *w = k.filters, *U = k.packed;
    int a2 = (m + 2) * (m + 2);
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    for (int f = 0; f < 32; f++)
        for (int c = 0; c < 32; c++)
            for (int xi = 0; xi < a2; xi++) {
                float got = U[(((f / 16 * a2 + xi) * 2 + c / 16) * 16 + c % 16) * 16 + f % 16];
                if (f >= 20 || c >= 18) {
                    assert_true(got == 0.0f);
                    continue;
                }
                double want = reference_u(&t, w + (f * 18 + c) * 9, xi);
                double diff = m == 2 ? fabs(fabs(got) - fabs(want)) : fabs(got - want);
                if (!(diff <= 4 * U_ROUND * fmax(fabs(want), 1e-30) + 1e-12))
                    fail_msg("F(%dx%d), blocked: U of filter %d channel %d element %d: %.9g, expected %.9g", m, m,
                             f, c, xi, got, want);
            }
    cpu_packed_close(&k);
}

static void test_packed_filters(void **state)
{
    (void)state;
    check_packed_filters(2);
    check_packed_filters(4);
    check_packed_filters(6);
    check_packed_blocked(2);
    check_packed_blocked(4);
    check_packed_blocked(6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_odd_sizes_and_batches),
        cmocka_unit_test(test_groups_and_depthwise),
        cmocka_unit_test(test_several_blocks),
        cmocka_unit_test(test_blocked_chunks_and_runs),
        cmocka_unit_test(test_blocked_eight_lanes),
        cmocka_unit_test(test_blocked_padding_never_read),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_blocked_network),
        cmocka_unit_test(test_packed_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
