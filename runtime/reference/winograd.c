/* Winograd convolution F(m x m, 3 x 3) as plain code (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", CVPR 2016; survey V-A).
 * Written to be checked by reading: the transforms are built from their
 * interpolation points rather than copied from a table, and each output
 * tile is computed exactly as the algorithm specifies, in float32 as a fast
 * kernel computes it, so that its rounding error is the algorithm's own
 * (docs/fast-convolution.md states it and the tests measure it).
 *
 * The construction (Cook-Toom). The linear convolution s = g * h of a 3-tap
 * g and an m-tap h is the polynomial product s(x) = g(x) h(x), of degree
 * alpha - 1 with alpha = m + 2. Its values at alpha - 1 finite points p_j
 * and its leading coefficient g_2 h_(m-1) (its "value at infinity")
 * determine it: with M(x) = prod_j (x - p_j) and M_j(x) = M(x) / (x - p_j),
 *
 *   s(x) = sum_j g(p_j) h(p_j) M_j(x) / M_j(p_j)  +  g_2 h_(m-1) M(x)
 *
 * (Lagrange interpolation of s mod M, plus the multiple of M that s holds).
 * That is s = C [(G g) (.) (H h)] with, for the finite points and infinity,
 *
 *   G[j][k] = p_j^k / M_j(p_j)         G[inf][k] = 1 if k = 2, else 0
 *   H[j][l] = p_j^l                    H[inf][l] = 1 if l = m - 1, else 0
 *   C[k][j] = [x^k] M_j(x)             C[k][inf] = [x^k] M(x)
 *
 * A conv layer computes the correlation y_i = sum_k g_k d_(i+k), the
 * transpose of this algorithm in h: sum_k s_k d_k = sum_l h_l y_l for every
 * h, so y = H^T [(G g) (.) (C^T d)], that is A^T = H^T and B^T = C^T
 * (Lavin & Gray section 4). With the points 0, 1, -1, 2, -2 this gives
 * their F(4, 3) matrices exactly; for F(2, 3) some rows of G and B^T differ
 * from theirs in sign, which cancels in the product. In 2-D the algorithm
 * nests: Y = A^T [(G g G^T) (.) (B^T d B)] A. */
#include "winograd.h"

#include <math.h>
#include <string.h>

/* The interpolation points in the order the literature adds them: small
 * magnitudes keep the transforms' entries (and the error) small. */
static const double points[WINOGRAD_MAX_ALPHA - 1] = {0, 1, -1, 2, -2, 0.5, -0.5};

/* ---- the transforms, in double ---------------------------------------- */

/* p^e with p^0 = 1, 0^0 included. */
static double power(double p, int e)
{
    double v = 1;
    for (int i = 0; i < e; i++)
        v *= p;
    return v;
}

/* The coefficients (constant first) of prod (x - p_l) over the first n
 * points except point `skip` (-1: none): M_j(x), or M(x) itself. */
static void product_poly(int n, int skip, double coef[WINOGRAD_MAX_ALPHA])
{
    memset(coef, 0, sizeof(double) * WINOGRAD_MAX_ALPHA);
    coef[0] = 1;
    int degree = 0;
    for (int l = 0; l < n; l++) {
        if (l == skip)
            continue;
        /* times (x - p_l): shift up, subtract p_l times the old */
        for (int k = degree + 1; k > 0; k--)
            coef[k] = coef[k - 1] - points[l] * coef[k];
        coef[0] = -points[l] * coef[0];
        degree++;
    }
}

/* M_j(p_j) = prod over l != j of (p_j - p_l). */
static double lagrange_denominator(int n, int j)
{
    double v = 1;
    for (int l = 0; l < n; l++)
        if (l != j)
            v *= points[j] - points[l];
    return v;
}

bool winograd_matrices(int m, WinogradMatrices *t)
{
    if (m < 1 || m > WINOGRAD_MAX_M)
        return false;
    memset(t, 0, sizeof *t);
    int alpha = m + WINOGRAD_R - 1, finite = alpha - 1, inf = alpha - 1;
    t->m = m;
    t->alpha = alpha;
    for (int j = 0; j < finite; j++) {
        for (int i = 0; i < m; i++)
            t->AT[i][j] = power(points[j], i);
        double denominator = lagrange_denominator(finite, j);
        for (int k = 0; k < WINOGRAD_R; k++)
            t->G[j][k] = power(points[j], k) / denominator;
        product_poly(finite, j, t->BT[j]);
    }
    t->AT[m - 1][inf] = 1;
    t->G[inf][WINOGRAD_R - 1] = 1;
    product_poly(finite, -1, t->BT[inf]);
    return true;
}

WinogradMatrices winograd_matrices_absolute(WinogradMatrices t)
{
    for (int i = 0; i < WINOGRAD_MAX_ALPHA; i++) {
        for (int j = 0; j < WINOGRAD_MAX_ALPHA; j++) {
            if (i < WINOGRAD_MAX_M)
                t.AT[i][j] = fabs(t.AT[i][j]);
            t.BT[i][j] = fabs(t.BT[i][j]);
        }
        for (int k = 0; k < WINOGRAD_R; k++)
            t.G[i][k] = fabs(t.G[i][k]);
    }
    return t;
}

/* ---- one tile, in float32 ---------------------------------------------- */

typedef float Tile[WINOGRAD_MAX_ALPHA][WINOGRAD_MAX_ALPHA];

/* The transforms rounded to float, as a kernel holds them. */
typedef struct FloatMatrices {
    int m, alpha;
    Tile AT, G, BT;
} FloatMatrices;

static void to_float(const WinogradMatrices *t, FloatMatrices *f)
{
    memset(f, 0, sizeof *f);
    f->m = t->m;
    f->alpha = t->alpha;
    for (int i = 0; i < t->alpha; i++)
        for (int j = 0; j < t->alpha; j++) {
            if (i < t->m)
                f->AT[i][j] = (float)t->AT[i][j];
            if (j < WINOGRAD_R)
                f->G[i][j] = (float)t->G[i][j];
            f->BT[i][j] = (float)t->BT[i][j];
        }
}

/* out = L X L^T for L of p x q and X of q x q. Each of the algorithm's
 * transforms has this form: U = G g G^T, V = B^T d B, Y = A^T M A. Two
 * matrix products, each sum in float in ascending order. */
static void sandwich(const Tile L, int p, int q, const Tile X, Tile out)
{
    Tile LX;
    for (int i = 0; i < p; i++)
        for (int j = 0; j < q; j++) {
            float s = 0;
            for (int k = 0; k < q; k++)
                s += L[i][k] * X[k][j];
            LX[i][j] = s;
        }
    for (int i = 0; i < p; i++)
        for (int j = 0; j < p; j++) {
            float s = 0;
            for (int k = 0; k < q; k++)
                s += LX[i][k] * L[j][k];
            out[i][j] = s;
        }
}

static void store_tile(const Tile t, int n, float *dst)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            dst[i * n + j] = t[i][j];
}

/* ---- the layer ----------------------------------------------------------- */

/* Shapes and group sizes of a conv, named as in conv_core. */
typedef struct Dims {
    int64_t N, C, H, W, F, OH, OW, Cg, Fg, groups;
} Dims;

static Dims dims_of(const ConvAttrs *at, const Shape *is, const Shape *os)
{
    Dims d = {is->d[0], is->d[1], is->d[2], is->d[3], os->d[1], os->d[2], os->d[3], 0, 0,
              at->groups};
    d.Cg = d.C / d.groups;
    d.Fg = d.F / d.groups;
    return d;
}

size_t winograd_work_bytes(const ConvAttrs *at, int m, const Shape *is, const Shape *os)
{
    Dims d = dims_of(at, is, os);
    size_t alpha = (size_t)m + WINOGRAD_R - 1;
    return (size_t)(d.F * d.Cg + d.Cg) * alpha * alpha * sizeof(float);
}

/* U[f][c] = G g G^T for every filter f and channel c of its group: done
 * once, as a fast kernel does it ahead of time. */
static void transform_filters(const FloatMatrices *fm, const Dims *d, const float *w, float *U)
{
    int a = fm->alpha;
    for (int64_t f = 0; f < d->F; f++)
        for (int64_t c = 0; c < d->Cg; c++) {
            const float *g = w + (f * d->Cg + c) * WINOGRAD_R * WINOGRAD_R;
            Tile gt = {{0}}, u;
            for (int i = 0; i < WINOGRAD_R; i++)
                for (int j = 0; j < WINOGRAD_R; j++)
                    gt[i][j] = g[i * WINOGRAD_R + j];
            sandwich(fm->G, a, WINOGRAD_R, gt, u);
            store_tile(u, a, U + (f * d->Cg + c) * a * a);
        }
}

/* V[c] = B^T d B for the alpha x alpha input tile of channel c whose top
 * left is (y0, x0) in unpadded coordinates: taps outside the input are the
 * zero padding (or, past the bottom and right padding, feed only outputs
 * beyond the layer's, which are dropped). */
static void transform_input_tile(const FloatMatrices *fm, const Dims *d, const float *plane,
                                 int64_t y0, int64_t x0, float *V)
{
    int a = fm->alpha;
    Tile dt = {{0}}, v;
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            int64_t y = y0 + i, x = x0 + j;
            if (y >= 0 && y < d->H && x >= 0 && x < d->W)
                dt[i][j] = plane[y * d->W + x];
        }
    sandwich(fm->BT, a, a, dt, v);
    store_tile(v, a, V);
}

/* Y = A^T M A with M = sum over the group's channels (ascending) of
 * U[f][c] (.) V[c]; the outputs of the tile inside the layer go to acc
 * (the output plane of filter f), from (oy, ox) on. */
static void output_tile(const FloatMatrices *fm, const Dims *d, const float *Uf, const float *V,
                        int64_t oy, int64_t ox, double *acc)
{
    int a = fm->alpha, m = fm->m;
    Tile M = {{0}}, Y;
    for (int64_t c = 0; c < d->Cg; c++)
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++)
                M[i][j] += Uf[(c * a + i) * a + j] * V[(c * a + i) * a + j];
    sandwich(fm->AT, m, a, M, Y);
    for (int i = 0; i < m && oy + i < d->OH; i++)
        for (int j = 0; j < m && ox + j < d->OW; j++)
            acc[(oy + i) * d->OW + ox + j] = Y[i][j];
}

void winograd_conv_with(const WinogradMatrices *t, const ConvAttrs *at, const Shape *is,
                        const Shape *os, const float *in, const float *w, double *acc, void *work)
{
    FloatMatrices fm;
    to_float(t, &fm);
    Dims d = dims_of(at, is, os);
    int m = fm.m, a = fm.alpha;
    float *U = work, *V = U + d.F * d.Cg * a * a;
    transform_filters(&fm, &d, w, U);
    for (int64_t n = 0; n < d.N; n++)
        for (int64_t grp = 0; grp < d.groups; grp++)
            for (int64_t oy = 0; oy < d.OH; oy += m)
                for (int64_t ox = 0; ox < d.OW; ox += m) {
                    for (int64_t c = 0; c < d.Cg; c++) {
                        const float *plane = in + (n * d.C + grp * d.Cg + c) * d.H * d.W;
                        transform_input_tile(&fm, &d, plane, oy - at->pad[0], ox - at->pad[1],
                                             V + c * a * a);
                    }
                    for (int64_t f = grp * d.Fg; f < (grp + 1) * d.Fg; f++)
                        output_tile(&fm, &d, U + f * d.Cg * a * a, V, oy, ox,
                                    acc + (n * d.F + f) * d.OH * d.OW);
                }
}

void winograd_conv_core(const ConvAttrs *at, int m, const Shape *is, const Shape *os,
                        const float *in, const float *w, double *acc, void *work)
{
    WinogradMatrices t;
    winograd_matrices(m, &t);
    winograd_conv_with(&t, at, is, os, in, w, acc, work);
}
