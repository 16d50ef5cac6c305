/* Convolution by Winograd F(m x m, 3 x 3) for m = 2, 4 and 6 (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016; survey V-A):
 * Y = A^T [sum over channels of U (.) V] A per m x m output tile, with
 * U = G g G^T packed at compile time (codegen/llvm/pack.c) and
 * V = B^T d B computed here. The alpha^2 element-wise products summed over
 * channels are alpha^2 GEMMs (filters x tiles, reduced over channels), run
 * by the im2col conv's micro-kernel (conv.c) on NR tiles at a time.
 *
 * The transforms are written out as sums, so that their zeros and ones
 * cost nothing: Lavin & Gray's matrices for m = 2 and 4, and for m = 6 the
 * ones the interpolation points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity
 * give (their entries are multiples of 1/32, exact in float). The
 * reference executor builds its own from the same points
 * (runtime/reference/winograd.c) and the tests compare the two. */
#include "common.h"

#define WINO_MAX_A2 64 /* alpha^2 of F(6x6, 3x3) */
/* Channels whose transformed tiles wait on the stack at once. */
#define WINO_CB 16
#define WINO_FILTERS (DNNK_WINOGRAD_PANELS * DNNK_MR)


/* y = B^T x for one alpha-vector x (elements xs apart) into y (ys apart),
 * per tile size: */
INLINE void wino_input_f2(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    y[0] = x0 - x2;
    y[ys] = x1 + x2;
    y[2 * ys] = x2 - x1;
    y[3 * ys] = x1 - x3;
}

INLINE void wino_input_f4(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    vf two = splatv(2), four = splatv(4), five = splatv(5);
    y[0] = four * x0 - five * x2 + x4;
    y[ys] = x4 + x3 - four * (x1 + x2);
    y[2 * ys] = x4 - x3 + four * (x1 - x2);
    y[3 * ys] = x4 - x2 + two * (x3 - x1);
    y[4 * ys] = x4 - x2 - two * (x3 - x1);
    y[5 * ys] = four * x1 - five * x3 + x5;
}

/* Rows 1 to 6 of B^T pair up as even + odd and even - odd, the points p
 * and -p: the even part holds x2, x4, x6, the odd part x1, x3, x5. Every
 * entry keeps its magnitude (no term is added and taken away again), so
 * the error bound on absolute values holds as for the plain sums. */
INLINE void wino_input_f6(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    vf x4 = x[4 * xs], x5 = x[5 * xs], x6 = x[6 * xs], x7 = x[7 * xs];
    vf k21_4 = splatv(5.25f), k17_4 = splatv(4.25f), k5_2 = splatv(2.5f);
    vf e1 = x2 + x6 - k17_4 * x4, o1 = x1 + x5 - k17_4 * x3;
    vf e2 = splatv(0.25f) * x2 - splatv(1.25f) * x4 + x6;
    vf o2 = splatv(0.5f) * x1 - k5_2 * x3 + splatv(2) * x5;
    vf e3 = splatv(4) * x2 - splatv(5) * x4 + x6;
    vf o3 = splatv(2) * x1 - k5_2 * x3 + splatv(0.5f) * x5;
    y[0] = x6 - x0 + k21_4 * (x2 - x4);
    y[ys] = e1 + o1;
    y[2 * ys] = e1 - o1;
    y[3 * ys] = e2 + o2;
    y[4 * ys] = e2 - o2;
    y[5 * ys] = e3 + o3;
    y[6 * ys] = e3 - o3;
    y[7 * ys] = x7 - x1 + k21_4 * (x3 - x5);
}

INLINE void wino_input_1d(int64_t m, const vf *x, int64_t xs, vf *y, int64_t ys)
{
    if (m == 2)
        wino_input_f2(x, xs, y, ys);
    else if (m == 4)
        wino_input_f4(x, xs, y, ys);
    else
        wino_input_f6(x, xs, y, ys);
}

/* y = A^T x: the m outputs of one alpha-vector of products. Row i of A^T
 * is p^i at the points p, so the points p and -p share their sum (even
 * rows) or difference (odd rows). */
INLINE void wino_output_f2(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x1 = x[xs], x2 = x[2 * xs];
    y[0] = x[0] + x1 + x2;
    y[ys] = x1 - x2 - x[3 * xs];
}

INLINE void wino_output_f4(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs], x5 = x[5 * xs];
    vf s12 = x1 + x2, d12 = x1 - x2, s34 = x3 + x4, d34 = x3 - x4;
    y[0] = x0 + s12 + s34;
    y[ys] = d12 + splatv(2) * d34;
    y[2 * ys] = s12 + splatv(4) * s34;
    y[3 * ys] = d12 + splatv(8) * d34 + x5;
}

INLINE void wino_output_f6(const vf *x, int64_t xs, vf *y, int64_t ys)
{
    vf x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    vf x4 = x[4 * xs], x5 = x[5 * xs], x6 = x[6 * xs], x7 = x[7 * xs];
    vf s12 = x1 + x2, d12 = x1 - x2, s34 = x3 + x4, d34 = x3 - x4, s56 = x5 + x6, d56 = x5 - x6;
    y[0] = x0 + s12 + s34 + s56;
    y[ys] = d12 + splatv(2) * d34 + splatv(0.5f) * d56;
    y[2 * ys] = s12 + splatv(4) * s34 + splatv(0.25f) * s56;
    y[3 * ys] = d12 + splatv(8) * d34 + splatv(0.125f) * d56;
    y[4 * ys] = s12 + splatv(16) * s34 + splatv(0.0625f) * s56;
    y[5 * ys] = d12 + splatv(32) * d34 + splatv(0.03125f) * d56 + x7;
}

INLINE void wino_output_1d(int64_t m, const vf *x, int64_t xs, vf *y, int64_t ys)
{
    if (m == 2)
        wino_output_f2(x, xs, y, ys);
    else if (m == 4)
        wino_output_f4(x, xs, y, ys);
    else
        wino_output_f6(x, xs, y, ys);
}

/* V = B^T d B for alpha x alpha tiles d (row-major, one vector of tiles
 * per element): the columns, then the rows. */
INLINE void wino_input_2d(int64_t m, const vf *d, vf *v)
{
    int64_t a = m + 2;
    vf t[WINO_MAX_A2];
    for (int64_t k = 0; k < a; k++)
        wino_input_1d(m, d + k, a, t + k, a);
    for (int64_t i = 0; i < a; i++)
        wino_input_1d(m, t + i * a, 1, v + i * a, 1);
}

/* Y = A^T M A: m x m outputs from alpha x alpha sums. */
INLINE void wino_output_2d(int64_t m, const vf *M, vf *y)
{
    int64_t a = m + 2;
    vf t[WINO_MAX_A2];
    for (int64_t k = 0; k < a; k++)
        wino_output_1d(m, M + k, a, t + k, a);
    for (int64_t i = 0; i < m; i++)
        wino_output_1d(m, t + i * a, 1, y + i * m, 1);
}

/* What one unit computes: image n, group g, NR tiles from t0, the filter
 * panels of the group from p0 (at most DNNK_WINOGRAD_PANELS). */
typedef struct WinoBlock {
    int64_t n, g, t0, p0, panels;
} WinoBlock;

/* The alpha x alpha input windows of tiles t0 .. t0 + NR - 1 of one
 * channel plane, as [alpha^2][NR]: tile t reads from (row of t * m - top
 * padding, column of t * m - left padding); taps outside the input are the
 * zero padding, and tiles past the last are zero. */
INLINE void wino_gather(const dnnk_winograd_desc *d, const float *plane, int64_t t0, float *win)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t m = d->m, a = m + 2, H = c->in.dims[2], W = c->in.dims[3];
    int64_t across = dnnk_winograd_across(d), tiles = dnnk_winograd_tiles(d);
    for (int64_t j = 0; j < DNNK_NR; j++) {
        int64_t t = t0 + j, y0 = t / across * m - c->win.pad[0], x0 = t % across * m - c->win.pad[1];
        bool real = t < tiles;
        if (real && y0 >= 0 && x0 >= 0 && y0 + a <= H && x0 + a <= W) {
            /* most windows: no tap in the padding */
            for (int64_t i = 0; i < a; i++)
                for (int64_t k = 0; k < a; k++)
                    win[(i * a + k) * DNNK_NR + j] = plane[(y0 + i) * W + x0 + k];
            continue;
        }
        for (int64_t i = 0; i < a; i++)
            for (int64_t k = 0; k < a; k++) {
                int64_t y = y0 + i, x = x0 + k;
                bool tap = real && y >= 0 && y < H && x >= 0 && x < W;
                win[(i * a + k) * DNNK_NR + j] = tap ? plane[y * W + x] : 0.0f;
            }
    }
}

/* V[xi][cc][NR] = B^T d B of channels c0 .. c0 + cb - 1 of the block's
 * tiles, two vectors of tiles at a time. */
INLINE void wino_transform_inputs(const dnnk_winograd_desc *d, const float *in, const WinoBlock *b,
                                  int64_t c0, int64_t cb, float *V)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t a2 = (d->m + 2) * (d->m + 2), C = c->in.dims[1], H = c->in.dims[2], W = c->in.dims[3];
    int64_t Cg = C / c->groups;
    float win[WINO_MAX_A2 * DNNK_NR];
    for (int64_t cc = 0; cc < cb; cc++) {
        const float *plane = in + (b->n * C + b->g * Cg + c0 + cc) * H * W;
        wino_gather(d, plane, b->t0, win);
        for (int64_t h = 0; h < DNNK_NR; h += DNNK_LANES) {
            vf x[WINO_MAX_A2], v[WINO_MAX_A2];
            for (int64_t xi = 0; xi < a2; xi++)
                x[xi] = loadv(win + xi * DNNK_NR + h);
            wino_input_2d(d->m, x, v);
            for (int64_t xi = 0; xi < a2; xi++)
                storev(V + (xi * WINO_CB + cc) * DNNK_NR + h, v[xi]);
        }
    }
}

/* M[xi][f][NR] = sum over the group's channels of U[f][c][xi] V[c][xi] for
 * the block's filters: per xi a GEMM, blocked by WINO_CB channels whose
 * transformed inputs are made once for every filter of the block. */
INLINE void wino_multiply(const dnnk_winograd_desc *d, const float *in, const float *U,
                          const WinoBlock *b, float *V, float *M)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t a2 = (d->m + 2) * (d->m + 2), Cg = c->in.dims[1] / c->groups;
    int64_t panels_per_group = dnnk_ceil_div(c->out.dims[1] / c->groups, DNNK_MR);
    for (int64_t c0 = 0; c0 < Cg; c0 += WINO_CB) {
        int64_t cb = min64(WINO_CB, Cg - c0);
        wino_transform_inputs(d, in, b, c0, cb, V);
        for (int64_t xi = 0; xi < a2; xi++)
            for (int64_t pp = 0; pp < b->panels; pp++) {
                int64_t panel = b->g * panels_per_group + b->p0 + pp;
                const float *A = U + ((panel * a2 + xi) * Cg + c0) * DNNK_MR;
                vf acc[DNNK_MR][2];
                micro_kernel(A, V + xi * WINO_CB * DNNK_NR, DNNK_NR, cb, acc);
                for (int r = 0; r < DNNK_MR; r++) {
                    float *row = M + (xi * WINO_FILTERS + pp * DNNK_MR + r) * DNNK_NR;
                    for (int h = 0; h < 2; h++) {
                        vf sum = c0 == 0 ? acc[r][h] : loadv(row + h * DNNK_LANES) + acc[r][h];
                        storev(row + h * DNNK_LANES, sum);
                    }
                }
            }
    }
}

/* Y = A^T M A for every filter and tile of the block, each output inside
 * the layer written as act(Y + bias + residual), as dnnk_conv's epilogue. */
INLINE void wino_write_outputs(const dnnk_winograd_desc *d, const float *M, const WinoBlock *b,
                               const float *bias, const float *res, float *out)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t m = d->m, a2 = (m + 2) * (m + 2), F = c->out.dims[1], Fg = F / c->groups;
    int64_t OH = c->out.dims[2], OW = c->out.dims[3];
    int64_t across = dnnk_winograd_across(d), tiles = dnnk_winograd_tiles(d);
    for (int64_t fi = 0; fi < b->panels * DNNK_MR && b->p0 * DNNK_MR + fi < Fg; fi++) {
        int64_t f = b->g * Fg + b->p0 * DNNK_MR + fi;
        float bf = bias ? bias[f] : 0.0f;
        for (int64_t h = 0; h < DNNK_NR; h += DNNK_LANES) {
            vf x[WINO_MAX_A2], y[WINO_MAX_A2];
            for (int64_t xi = 0; xi < a2; xi++)
                x[xi] = loadv(M + (xi * WINO_FILTERS + fi) * DNNK_NR + h);
            wino_output_2d(m, x, y);
            float ys[WINO_MAX_A2][DNNK_LANES];
            for (int64_t k = 0; k < m * m; k++)
                storev(ys[k], y[k]);
            for (int64_t l = 0; l < DNNK_LANES && b->t0 + h + l < tiles; l++) {
                int64_t t = b->t0 + h + l, oy = t / across * m, ox = t % across * m;
                for (int64_t i = 0; i < m && oy + i < OH; i++)
                    for (int64_t j = 0; j < m && ox + j < OW; j++) {
                        int64_t at = ((b->n * F + f) * OH + oy + i) * OW + ox + j;
                        float sum = ys[i * m + j][l] + bf;
                        out[at] = activate(&c->act, sum + (res ? res[at] : 0.0f));
                    }
            }
        }
    }
}

/* ptrs: out, in, [residual], transformed filters, [bias]. The products of
 * a unit wait on the stack until every channel is summed: M holds
 * alpha^2 x WINO_FILTERS x NR floats and V alpha^2 x WINO_CB x NR, sized for
 * F(6x6)'s alpha^2 of 64 whatever the tile (384 and 128 KiB with AVX-512's
 * NR of 32, half that otherwise), well within the 8 MiB of a pool thread.
 * A block of 24 filters for F(6x6) would halve M but transform every input
 * window twice as often: a third slower, measured on a 256-channel 56x56
 * layer. */
KERNEL dnnk_conv_winograd(const dnnk_winograd_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_conv_desc *c = &d->conv;
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = c->has_residual ? ptrs[2] : 0;
    const float *U = ptrs[2 + c->has_residual], *bias = c->has_bias ? ptrs[3 + c->has_residual] : 0;
    int64_t G = c->groups, blocks = dnnk_winograd_filter_blocks(d);
    int64_t tile_blocks = dnnk_ceil_div(dnnk_winograd_tiles(d), DNNK_NR);
    int64_t panels = dnnk_ceil_div(c->out.dims[1] / G, DNNK_MR);
    float V[WINO_MAX_A2 * WINO_CB * DNNK_NR], M[WINO_MAX_A2 * WINO_FILTERS * DNNK_NR];
    for (int64_t u = begin; u < end; u++) {
        int64_t fb = u % blocks, rest = u / blocks;
        WinoBlock b = {.n = rest / tile_blocks / G, .g = rest / tile_blocks % G,
                       .t0 = rest % tile_blocks * DNNK_NR, .p0 = fb * DNNK_WINOGRAD_PANELS};
        b.panels = min64(DNNK_WINOGRAD_PANELS, panels - b.p0);
        wino_multiply(d, in, U, &b, V, M);
        wino_write_outputs(d, M, &b, bias, res, out);
    }
}
