/* Winograd F(m x m, 3 x 3) in the reference executor
 * (runtime/reference/winograd.c), for m = 2, 4 and 6:
 *
 * - the transforms built from the interpolation points satisfy the
 *   algorithm's defining identity, in double, and are Lavin & Gray's;
 * - 2-D layers (padding, odd sizes that leave partial tiles, groups,
 *   depthwise, batches) agree with the direct sums (conv_core) within a
 *   rigorous bound on the float32 rounding error, computed per output;
 * - on layers with realistic ranges the error is measured and must stay
 *   within the tolerances stated below (docs/fast-convolution.md);
 * - ref_conv runs @algo(winograd, tile=m) through the Winograd core and
 *   the shared epilogue (bias, residual, activation);
 * (test_fast_conv_cli.c runs @algo(winograd) through `dnnc run`.)
 *
 * The error bound. Higham's model: a float32 inner product of length n has
 * an error of at most gamma_n = n u / (1 - n u) times the inner product of
 * the absolute values (u = 2^-24), and errors along a chain of products
 * compound additively in the number of roundings. Following one output
 * through the algorithm:
 *   U = G g G^T      G rounded to float (1 per factor, 2), two products of
 *                    length r = 3 (6)
 *   V = B^T d B      B^T rounded (2), two products of length alpha (2 alpha)
 *   M = sum_c U (.) V  one inner product over the Cg channels of a group (Cg)
 *   Y = A^T M A      A^T rounded (2), two products of length alpha (2 alpha)
 * so with K = 4 alpha + Cg + 12, |Y - y| <= gamma_K * T, where T is the same
 * computation with every matrix entry, weight and input replaced by its
 * absolute value. The tests compute T by running the Winograd core on those
 * absolute values (in float32 too: all terms are positive, so T is computed
 * to a relative gamma_K ~ 1e-5, covered by a 1% margin, as is the direct
 * reference's own double rounding, ~1e-13 relative). The bound is rigorous
 * but pessimistic: the transforms' large entries make T much larger than
 * |y| for m = 6 (points +-2 and +-1/2 give entries up to 2^5 in A^T and
 * 5.25 in B^T), and independent roundings add up like a random walk, not
 * linearly, so measured errors are one to three orders of magnitude below
 * it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "reference.h"
#include "test_util.h"
#include "winograd.h"

static const int tiles[] = {2, 4, 6};
#define N_TILES 3

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

/* Each test that reports numbers starts from its own seed, so that they do
 * not depend on which tests ran before. */
static void seed(uint64_t s) { rng = s ? s : 1; }

/* xorshift64*: uniform in [0, 1). */
static double uniform01(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

static double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

/* Standard normal (Box-Muller). */
static double normal(void)
{
    double u = uniform01(), v = uniform01();
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v) /* 2 pi */;
}

/* ---- the transforms ------------------------------------------------------ */

static WinogradMatrices matrices_or_fail(int m)
{
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    assert_int_equal(t.m, m);
    assert_int_equal(t.alpha, m + 2);
    return t;
}

/* y = A^T [(G g) (.) (B^T d)] in double, and y_abs the same with every
 * entry replaced by its absolute value (the scale of its rounding). */
static void winograd_1d(const WinogradMatrices *t, const double *g, const double *d, double *y,
                        double *y_abs)
{
    double prod[WINOGRAD_MAX_ALPHA], prod_abs[WINOGRAD_MAX_ALPHA];
    for (int j = 0; j < t->alpha; j++) {
        double gg = 0, gg_abs = 0, dd = 0, dd_abs = 0;
        for (int k = 0; k < WINOGRAD_R; k++) {
            gg += t->G[j][k] * g[k];
            gg_abs += fabs(t->G[j][k] * g[k]);
        }
        for (int k = 0; k < t->alpha; k++) {
            dd += t->BT[j][k] * d[k];
            dd_abs += fabs(t->BT[j][k] * d[k]);
        }
        prod[j] = gg * dd;
        prod_abs[j] = gg_abs * dd_abs;
    }
    for (int i = 0; i < t->m; i++) {
        y[i] = y_abs[i] = 0;
        for (int j = 0; j < t->alpha; j++) {
            y[i] += t->AT[i][j] * prod[j];
            y_abs[i] += fabs(t->AT[i][j]) * prod_abs[j];
        }
    }
}

/* For random signals d and filters g, A^T [(G g) (.) (B^T d)] is the
 * correlation y_i = sum_k g_k d_(i+k) to within double rounding: along any
 * path r + 2 alpha + 1 roundings, plus fewer than 8 in each entry of G (a
 * division and products of the points); 2 alpha + 16 units of 2^-53 times
 * y_abs cover it (y_abs >= sum_k |g_k d_(i+k)| bounds the direct sum's
 * own rounding too). */
static void test_transforms_satisfy_the_identity(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TILES; ti++) {
        WinogradMatrices t = matrices_or_fail(tiles[ti]);
        double worst = 0;
        for (int trial = 0; trial < 1000; trial++) {
            double g[WINOGRAD_R], d[WINOGRAD_MAX_ALPHA], y[WINOGRAD_MAX_M], y_abs[WINOGRAD_MAX_M];
            for (int k = 0; k < WINOGRAD_R; k++)
                g[k] = uniform(-1, 1);
            for (int k = 0; k < t.alpha; k++)
                d[k] = uniform(-1, 1);
            winograd_1d(&t, g, d, y, y_abs);
            for (int i = 0; i < t.m; i++) {
                double direct = 0;
                for (int k = 0; k < WINOGRAD_R; k++)
                    direct += g[k] * d[i + k];
                double bound = (2 * t.alpha + 16) * 0x1p-53 * y_abs[i];
                if (!(fabs(y[i] - direct) <= bound))
                    fail_msg("F(%d, 3) output %d: %.17g, direct %.17g (bound %.3g)", t.m, i, y[i],
                             direct, bound);
                worst = fmax(worst, fabs(y[i] - direct) / y_abs[i]);
            }
        }
        print_message("F(%d, 3): largest error %.2g of y_abs (2^-53 = 1.1e-16)\n", tiles[ti], worst);
    }
}

/* With the points 0, 1, -1, 2, -2 the construction gives the matrices of
 * Lavin & Gray's F(4, 3) (their section 4.2) entry for entry. */
static void test_f4_matrices_are_lavin_and_grays(void **state)
{
    (void)state;
    static const double AT[4][6] = {
        {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
    static const double G[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6},
                                   {-1. / 6, 1. / 6, -1. / 6}, {1. / 24, 1. / 12, 1. / 6},
                                   {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
    static const double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                    {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                    {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
    WinogradMatrices t = matrices_or_fail(4);
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 6; j++) {
            if (i < 4)
                assert_true(t.AT[i][j] == AT[i][j]);
            assert_true(t.BT[i][j] == BT[i][j]);
        }
        for (int k = 0; k < 3; k++)
            assert_true(fabs(t.G[i][k] - G[i][k]) <= 0x1p-52 * fabs(G[i][k]));
    }
}

static void test_unsupported_tiles_are_refused(void **state)
{
    (void)state;
    WinogradMatrices t;
    assert_false(winograd_matrices(0, &t));
    assert_false(winograd_matrices(WINOGRAD_MAX_M + 1, &t));
}

/* ---- 2-D layers against the direct sums --------------------------------- */

typedef enum { INPUT_SIGNED, INPUT_UNIT, INPUT_RELU } InputRange;

typedef struct Layer {
    int64_t n, c, h, w, f;
    int64_t groups;
    int64_t pad[4]; /* top, left, bottom, right */
    InputRange input;
} Layer;

/* What one layer gave: the largest |winograd - direct| and the largest
 * bound, relative to the layer's largest |output|; and per output relative
 * to its sum_k |x_k w_k| (the scale of a float32 dot product's error, the
 * unit of the FFT's table in docs/fast-convolution.md), in units of u. */
typedef struct Accuracy {
    double error, bound;
    double error_u, bound_u; /* the largest error, the smallest bound */
} Accuracy;

static ConvAttrs attrs_of(const Layer *L)
{
    ConvAttrs at = {.filters = L->f, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1},
                    .groups = L->groups};
    memcpy(at.pad, L->pad, sizeof at.pad);
    return at;
}

static float input_value(InputRange r)
{
    switch (r) {
    case INPUT_SIGNED: return (float)uniform(-1, 1);
    case INPUT_UNIT: return (float)uniform01();
    case INPUT_RELU: return (float)fmax(0, normal());
    }
    return 0;
}

/* Variance 1/fan_in, as the usual initialisations give (uniform in
 * [-a, a] has variance a^2 / 3). */
static float weight_value(int64_t fan_in) { return (float)uniform(-1, 1) * sqrtf(3.0f / (float)fan_in); }

static void fabs_all(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = fabsf(v[i]);
}

/* Runs L by F(m x m, 3 x 3) and directly on the same random data; every
 * output must be within the bound (see the top of the file). */
static Accuracy check_layer(const Layer *L, int m)
{
    ConvAttrs at = attrs_of(L);
    int64_t oh = L->h + L->pad[0] + L->pad[2] - 2, ow = L->w + L->pad[1] + L->pad[3] - 2;
    Shape is = {4, {L->n, L->c, L->h, L->w}}, os = {4, {L->n, L->f, oh, ow}};
    int64_t cg = L->c / L->groups, n_in = shape_elems(&is), n_out = shape_elems(&os);
    int64_t n_w = L->f * cg * 9;
    float *in = malloc(sizeof(float) * (size_t)n_in), *w = malloc(sizeof(float) * (size_t)n_w);
    double *direct = malloc(sizeof(double) * (size_t)n_out);
    double *wino = malloc(sizeof(double) * (size_t)n_out);
    double *scale = malloc(sizeof(double) * (size_t)n_out);
    double *dot_abs = malloc(sizeof(double) * (size_t)n_out);
    void *work = malloc(winograd_work_bytes(&at, m, &is, &os));
    assert_true(in && w && direct && wino && scale && dot_abs && work);
    for (int64_t i = 0; i < n_in; i++)
        in[i] = input_value(L->input);
    for (int64_t i = 0; i < n_w; i++)
        w[i] = weight_value(cg * 9);

    conv_core(&at, &is, &os, in, w, direct);
    winograd_conv_core(&at, m, &is, &os, in, w, wino, work);
    WinogradMatrices t = matrices_or_fail(m), t_abs = winograd_matrices_absolute(t);
    fabs_all(in, n_in);
    fabs_all(w, n_w);
    winograd_conv_with(&t_abs, &at, &is, &os, in, w, scale, work);
    conv_core(&at, &is, &os, in, w, dot_abs);

    double K = 4.0 * t.alpha + (double)cg + 12, u = 0x1p-24;
    double gamma = K * u / (1 - K * u) * 1.01;
    double largest = 0;
    Accuracy acc = {0, 0, 0, INFINITY};
    for (int64_t i = 0; i < n_out; i++)
        largest = fmax(largest, fabs(direct[i]));
    for (int64_t i = 0; i < n_out; i++) {
        double e = fabs(wino[i] - direct[i]), b = gamma * scale[i];
        if (!(e <= b))
            fail_msg("F(%dx%d) output %lld: %.9g, direct %.9g: error %.3g above the bound %.3g", m,
                     m, (long long)i, wino[i], direct[i], e, b);
        acc.error = fmax(acc.error, e / largest);
        acc.bound = fmax(acc.bound, b / largest);
        if (dot_abs[i] > 0) {
            acc.error_u = fmax(acc.error_u, e / dot_abs[i] / u);
            acc.bound_u = fmin(acc.bound_u, b / dot_abs[i] / u);
        }
    }
    free(dot_abs);
    free(in);
    free(w);
    free(direct);
    free(wino);
    free(scale);
    free(work);
    return acc;
}

static void check_every_tile(const Layer *L)
{
    for (int ti = 0; ti < N_TILES; ti++)
        check_layer(L, tiles[ti]);
}

static void test_padding(void **state)
{
    (void)state;
    check_every_tile(&(Layer){1, 3, 8, 8, 4, 1, {1, 1, 1, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 4, 9, 10, 5, 1, {0, 1, 2, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 2, 5, 7, 3, 1, {3, 0, 0, 2}, INPUT_SIGNED});
}

/* Output sizes that no m divides: the last tiles in each direction are
 * partial; a 1x1 output is one tile that is almost all outside. */
static void test_odd_sizes_leave_partial_tiles(void **state)
{
    (void)state;
    check_every_tile(&(Layer){2, 5, 13, 11, 3, 1, {0, 0, 0, 0}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 3, 17, 4, 2, 1, {1, 1, 1, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 2, 1, 1, 2, 1, {1, 1, 1, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 2, 3, 3, 2, 1, {0, 0, 0, 0}, INPUT_SIGNED});
}

static void test_groups_and_depthwise(void **state)
{
    (void)state;
    check_every_tile(&(Layer){1, 6, 10, 9, 4, 2, {1, 1, 1, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){2, 12, 7, 7, 6, 3, {0, 1, 0, 1}, INPUT_SIGNED});
    check_every_tile(&(Layer){1, 8, 15, 15, 8, 8, {1, 1, 1, 1}, INPUT_SIGNED});  /* depthwise */
    check_every_tile(&(Layer){1, 4, 11, 6, 8, 4, {1, 1, 1, 1}, INPUT_SIGNED});   /* multiplier 2 */
}

/* ---- accuracy on realistic layers --------------------------------------- */

/* Layers with the ranges of trained networks: weights of variance 1/fan_in
 * and inputs in [0, 1] (an image) or ReLU outputs (half-normal, half of
 * them zero), padding 1; the first as in the FFT's table. Seeded, so the
 * numbers are reproducible (the test prints them):
 *
 *            64 channels, 28x28, inputs in [0, 1]   256 channels, 14x14, ReLU inputs
 *   m     error  error/S   bound/S   bound       error  error/S   bound/S   bound     tolerance
 *   2   3.9e-7   1.8 u     592 u   2.3e-4      6.3e-7   2.3 u    1866 u   7.4e-4        8 u
 *   4   3.3e-6    16 u    2650 u   7.7e-3      1.2e-5    38 u    4488 u   2.5e-2      128 u
 *   6   3.8e-6    22 u    7621 u   1.6e-2      1.2e-5    73 u    7535 u   4.6e-2      256 u
 *
 * "error" and "bound" are the largest over the layer, relative to its
 * largest |output|; "error/S" is the largest over outputs of the error
 * relative to the output's S = sum |x||w| (a float32 dot product's error
 * scale; the FFT reaches about 1.2 u), "bound/S" the smallest bound of any
 * output in the same unit. Each output's bound is asserted (check_layer);
 * the tolerance on error/S, about 3.5 times the largest measured, guards
 * against a change that makes the algorithm less accurate than it is while
 * staying within the bound, which is one to three orders of magnitude
 * looser. F(4x4) is an order of magnitude less accurate than F(2x2), and
 * F(6x6) twice as inaccurate again, growing faster with the channels:
 * larger tiles have larger transform entries (docs/fast-convolution.md). */
static const double tolerance_u[N_TILES] = {8, 128, 256};

static void test_accuracy_on_realistic_layers(void **state)
{
    (void)state;
    seed(12);
    static const Layer layers[] = {
        {1, 64, 28, 28, 64, 1, {1, 1, 1, 1}, INPUT_UNIT},
        {1, 256, 14, 14, 256, 1, {1, 1, 1, 1}, INPUT_RELU},
    };
    for (int ti = 0; ti < N_TILES; ti++)
        for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
            Accuracy a = check_layer(&layers[l], tiles[ti]);
            print_message("F(%dx%d, 3x3), %lld channels: error %.2g, bound %.2g of the largest "
                          "output; per output %.3g u, bound %.4g u of sum |x||w|\n", tiles[ti],
                          tiles[ti], (long long)layers[l].c, a.error, a.bound, a.error_u, a.bound_u);
            assert_true(a.error_u <= tolerance_u[ti]);
        }
}

/* ---- ref_conv: dispatch and the shared epilogue ------------------------- */

/* ref_conv computes @algo(winograd, tile=m) as winograd_conv_core's sums
 * followed by conv's own epilogue, act(acc + bias + residual) rounded to
 * float once: the same bits as doing that here. */
static void check_ref_conv(int m)
{
    char src[512];
    snprintf(src, sizeof src,
             "input x: f32[2, 6, 10, 13];\n"
             "input skip: f32[2, 4, 10, 13];\n"
             "@algo(winograd, tile=%d) c = conv(x, skip, filters=4, kernel=3, pad=1, groups=2, "
             "act=leaky_relu, alpha=0.25);\n"
             "output c;\n", m);
    Parsed p;
    parse_text(&p, "net.dnn", src);
    if (!p.graph)
        fail_msg("%s", p.messages);
    Graph *g = p.graph;
    randomize_weights_for_test(g, 5);
    const Node *n = &g->nodes[0];
    const Tensor *x = &g->tensors[g->inputs[0]];
    const Tensor *out = &g->tensors[n->output];
    const float *w = g->tensors[n->params[0]].data;
    float *bias = g->tensors[n->params[1]].data;
    for (int f = 0; f < 4; f++)
        bias[f] = (float)uniform(-1, 1);
    int64_t n_in = shape_elems(&x->shape), n_out = shape_elems(&out->shape);
    float *in = malloc(sizeof(float) * (size_t)n_in), *res = malloc(sizeof(float) * (size_t)n_out);
    float *got = malloc(sizeof(float) * (size_t)n_out);
    double *acc = malloc(sizeof(double) * (size_t)n_out);
    void *work = malloc(winograd_work_bytes(&n->attr.conv, m, &x->shape, &out->shape));
    assert_true(in && res && got && acc && work);
    for (int64_t i = 0; i < n_in; i++)
        in[i] = (float)uniform(-1, 1);
    for (int64_t i = 0; i < n_out; i++)
        res[i] = (float)uniform(-1, 1);

    char err[256];
    if (!reference_run(g, (const float *const[]){in, res}, (float *const[]){got}, err, sizeof err))
        fail_msg("%s", err);
    winograd_conv_core(&n->attr.conv, m, &x->shape, &out->shape, in, w, acc, work);
    int64_t plane = out->shape.d[2] * out->shape.d[3];
    for (int64_t i = 0; i < n_out; i++) {
        float want = ref_activate(&n->attr.conv.act,
                                  (float)(acc[i] + bias[(i / plane) % 4] + (double)res[i]));
        if (got[i] != want)
            fail_msg("F(%dx%d) output %lld: %.9g, expected %.9g", m, m, (long long)i, got[i], want);
    }
    free(in);
    free(res);
    free(got);
    free(acc);
    free(work);
    parsed_free(&p);
}

static void test_ref_conv_runs_winograd_and_the_epilogue(void **state)
{
    (void)state;
    for (int ti = 0; ti < N_TILES; ti++)
        check_ref_conv(tiles[ti]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transforms_satisfy_the_identity),
        cmocka_unit_test(test_f4_matrices_are_lavin_and_grays),
        cmocka_unit_test(test_unsupported_tiles_are_refused),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_odd_sizes_leave_partial_tiles),
        cmocka_unit_test(test_groups_and_depthwise),
        cmocka_unit_test(test_accuracy_on_realistic_layers),
        cmocka_unit_test(test_ref_conv_runs_winograd_and_the_epilogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
