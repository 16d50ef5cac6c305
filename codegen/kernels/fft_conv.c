/* Convolution by FFT (survey V-A, Fig. 20) for stride 1 and dilation 1:
 * tiled overlap-save with one transform size T = 8, 16 or 32, the method of
 * the reference executor (runtime/reference/fft_conv.c), which the tests
 * compare this kernel with. Each output tile of (T - KH + 1) x (T - KW + 1)
 * is read off the circular cross-correlation of its T x T input window with
 * the filter, inverse(sum over channels of X_c . conj(W_c)) / T^2:
 *
 * - conj(W) / T^2 of every filter and channel is computed at compile time
 *   (pack_fft_filters, codegen/llvm/pack.c), in double and rounded once;
 * - the data are real, so their spectra are Hermitian: only the T x (T/2 + 1)
 *   coefficients of columns v <= T/2 are computed, stored and multiplied;
 * - the lanes of a vector are L = DNNK_LANES output tiles, so that every
 *   transform runs on L windows at once without shuffles, and the products
 *   summed over channels are, per coefficient, a complex GEMM (filters x
 *   tiles, reduced over channels) run by a register-blocked micro-kernel;
 * - a unit transforms each input window once for all its filters
 *   (dnnk_fft_block_filters) and inverts each sum once.
 *
 * The transform is the reference's radix-2 decimation in time, written for
 * vectors, with the twiddles as a constant table (each the float nearest the
 * exact root of unity) and the products by 1 and -i, which are exact,
 * skipped: every coefficient passes through no more roundings than in the
 * reference, so the error bound of docs/fast-convolution.md holds for it. */
#include "common.h"

/* A complex vector: the same coefficient of L windows. */
typedef struct fftk_vc {
    vf re, im;
} fftk_vc;

/* The stack of a unit, in complex vectors: the sums of its filters, the
 * spectra of a block of channels and one spectrum of scratch, for the
 * transform size that needs the most. With AVX-512's 16 lanes that is
 * 1.0 MiB (T = 32; T = 16 uses 810 KiB of it, T = 8 565 KiB), half that with
 * 8 lanes; dnnrt's threads have 8 MiB. */
#define FFTK_NEED(t) ((DNNK_FFT_FILTERS(t) + DNNK_FFT_CHANNELS(t) + 1) * (t) * ((t) / 2 + 1))
#define FFTK_LARGER(a, b) ((a) > (b) ? (a) : (b))
#define FFTK_STACK FFTK_LARGER(FFTK_NEED(8), FFTK_LARGER(FFTK_NEED(16), FFTK_NEED(32)))

_Static_assert(DNNK_FFT_MAX == 32, "the twiddle and bit-reversal tables are for 32 points");

/* W_32^k = exp(-2 pi i k / 32) for k < 16, the floats nearest the exact
 * values (21 digits; W_n^k = W_32^(k * 32 / n)). */
static const float fftk_twiddles[DNNK_FFT_MAX / 2][2] = {
    {1.0f, 0.0f},
    {0.980785280403230449126f, -0.195090322016128267848f},
    {0.923879532511286756128f, -0.382683432365089771728f},
    {0.831469612302545237079f, -0.555570233019602224743f},
    {0.707106781186547524401f, -0.707106781186547524401f},
    {0.555570233019602224743f, -0.831469612302545237079f},
    {0.382683432365089771728f, -0.923879532511286756128f},
    {0.195090322016128267848f, -0.980785280403230449126f},
    {0.0f, -1.0f},
    {-0.195090322016128267848f, -0.980785280403230449126f},
    {-0.382683432365089771728f, -0.923879532511286756128f},
    {-0.555570233019602224743f, -0.831469612302545237079f},
    {-0.707106781186547524401f, -0.707106781186547524401f},
    {-0.831469612302545237079f, -0.555570233019602224743f},
    {-0.923879532511286756128f, -0.382683432365089771728f},
    {-0.980785280403230449126f, -0.195090322016128267848f},
};

/* The 5-bit reversal of j < 32; of j < n, it is a multiple of 32 / n. */
static const unsigned char fftk_reversed[DNNK_FFT_MAX] = {
    0, 16, 8, 24, 4, 20, 12, 28, 2, 18, 10, 26, 6, 22, 14, 30,
    1, 17, 9, 25, 5, 21, 13, 29, 3, 19, 11, 27, 7, 23, 15, 31,
};

/* j with its log2 n bits reversed. */
INLINE int64_t fftk_reverse(int64_t j, int64_t n) { return fftk_reversed[j] / (DNNK_FFT_MAX / n); }


INLINE fftk_vc fftk_add(fftk_vc a, fftk_vc b) { return (fftk_vc){a.re + b.re, a.im + b.im}; }
INLINE fftk_vc fftk_sub(fftk_vc a, fftk_vc b) { return (fftk_vc){a.re - b.re, a.im - b.im}; }
INLINE fftk_vc fftk_conj(fftk_vc a) { return (fftk_vc){a.re, -a.im}; }

/* w b for w = W_n^k, or its conjugate for the inverse, by the schoolbook
 * formula; w = 1 and w = -i (+i) need no multiplication. */
INLINE fftk_vc fftk_twiddle(int64_t n, int64_t k, fftk_vc b, bool inverse)
{
    if (k == 0)
        return b;
    if (4 * k == n)
        return inverse ? (fftk_vc){-b.im, b.re} : (fftk_vc){b.im, -b.re};
    const float *w = fftk_twiddles[k * (DNNK_FFT_MAX / n)];
    vf wr = splatv(w[0]), wi = splatv(inverse ? -w[1] : w[1]);
    return (fftk_vc){wr * b.re - wi * b.im, wr * b.im + wi * b.re};
}

/* The butterflies a +- w b of the stages of length from .. to (powers of
 * two) of a radix-2 decimation-in-time transform of n points, in place: a
 * is in bit-reversed order before the first stage, natural after the last. */
INLINE void fftk_stages(int64_t n, int64_t from, int64_t to, fftk_vc *a, bool inverse)
{
    for (int64_t len = from; len <= to; len *= 2)
        for (int64_t s = 0; s < n; s += len)
            for (int64_t k = 0; k < len / 2; k++) {
                fftk_vc x = a[s + k], t = fftk_twiddle(len, k, a[s + k + len / 2], inverse);
                a[s + k] = fftk_add(x, t);
                a[s + k + len / 2] = fftk_sub(x, t);
            }
}

/* Coefficients 0 .. T/2 of the transform of one real row of the L windows,
 * g[x][lane]. The first two stages, whose twiddles are 1 and -i, are
 * written out for real data: the reference computes the same sums with
 * zero imaginary parts. */
INLINE void fftk_row_forward(int64_t T, const float *g, fftk_vc *out)
{
    fftk_vc a[DNNK_FFT_MAX];
    vf zero = {0}, r[4];
    for (int64_t s = 0; s < T; s += 4) {
        for (int64_t i = 0; i < 4; i++)
            r[i] = loadv(g + fftk_reverse(s + i, T) * DNNK_LANES);
        vf r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3];
        vf p0 = r0 + r1, p1 = r0 - r1, p2 = r2 + r3, p3 = r2 - r3;
        a[s] = (fftk_vc){p0 + p2, zero};
        a[s + 1] = (fftk_vc){p1, -p3};
        a[s + 2] = (fftk_vc){p0 - p2, zero};
        a[s + 3] = (fftk_vc){p1, p3};
    }
    fftk_stages(T, 8, T, a, false);
    for (int64_t v = 0; v <= T / 2; v++)
        out[v] = a[v];
}

/* The column transforms of R (T rows of T/2 + 1 coefficients: the rows'
 * transforms) into X, coefficient (u, v) at X[(u (T/2 + 1) + v) xs]. */
INLINE void fftk_columns_forward(int64_t T, const fftk_vc *R, fftk_vc *X, int64_t xs)
{
    int64_t half = T / 2 + 1;
    for (int64_t v = 0; v < half; v++) {
        fftk_vc a[DNNK_FFT_MAX];
        for (int64_t u = 0; u < T; u++)
            a[u] = R[fftk_reverse(u, T) * half + v];
        fftk_stages(T, 2, T, a, false);
        for (int64_t u = 0; u < T; u++)
            X[(u * half + v) * xs] = a[u];
    }
}

/* The inverse column transforms of a spectrum (coefficient (u, v) at
 * M[(u (T/2 + 1) + v) ms]), rows 0 .. rows - 1 of the result into R. */
INLINE void fftk_columns_inverse(int64_t T, int64_t rows, const fftk_vc *M, int64_t ms, fftk_vc *R)
{
    int64_t half = T / 2 + 1;
    for (int64_t v = 0; v < half; v++) {
        fftk_vc a[DNNK_FFT_MAX];
        for (int64_t u = 0; u < T; u++)
            a[u] = M[(fftk_reverse(u, T) * half + v) * ms];
        fftk_stages(T, 2, T, a, true);
        for (int64_t y = 0; y < rows; y++)
            R[y * half + v] = a[y];
    }
}

/* Values 0 .. keep - 1 of the real part of the inverse transform of a row
 * of a Hermitian spectrum, given by its coefficients 0 .. T/2 (the others
 * are conj(row[T - v])). The last stage computes real parts only. */
INLINE void fftk_row_inverse(int64_t T, const fftk_vc *row, int64_t keep, vf *out)
{
    fftk_vc a[DNNK_FFT_MAX];
    for (int64_t j = 0; j < T; j++) {
        int64_t v = fftk_reverse(j, T);
        a[j] = v <= T / 2 ? row[v] : fftk_conj(row[T - v]);
    }
    fftk_stages(T, 2, T / 2, a, true);
    for (int64_t k = 0; k < T / 2; k++) {
        vf t = fftk_twiddle(T, k, a[k + T / 2], true).re;
        if (k < keep)
            out[k] = a[k].re + t;
        if (k + T / 2 < keep)
            out[k + T / 2] = a[k].re - t;
    }
}

/* What one unit computes: image n, group g, the L tiles from t0 (one per
 * lane), filters f0 .. f0 + nf - 1 of the group; the top-left corner of
 * each lane's input window, far outside the plane for tiles past the last. */
typedef struct FftkBlock {
    int64_t n, g, t0, f0, nf;
    int64_t y0[DNNK_LANES], x0[DNNK_LANES];
} FftkBlock;

INLINE void fftk_windows(const dnnk_fft_desc *d, FftkBlock *b)
{
    int64_t across = dnnk_fft_across(d), tiles = dnnk_fft_tiles(d);
    for (int64_t l = 0; l < DNNK_LANES; l++) {
        int64_t t = b->t0 + l;
        bool real = t < tiles;
        b->y0[l] = real ? t / across * dnnk_fft_tile_h(d) - d->conv.win.pad[0] : -(1 << 30);
        b->x0[l] = real ? t % across * dnnk_fft_tile_w(d) - d->conv.win.pad[1] : -(1 << 30);
    }
}

/* Scalar copies: vectorised, a transposing copy becomes scatters or
 * gathers, several times slower where they are microcoded. */
#if defined(__clang__)
#define FFTK_SCALAR _Pragma("clang loop vectorize(disable)")
#else
#define FFTK_SCALAR
#endif

/* Row y of the block's windows of one channel plane: g[x][lane] = the input
 * at (y0 + y, x0 + x), zero outside the plane. */
INLINE void fftk_gather_row(const dnnk_fft_desc *d, const FftkBlock *b, const float *plane, int64_t y,
                            float *g)
{
    int64_t T = d->t, H = d->conv.in.dims[2], W = d->conv.in.dims[3];
    for (int64_t l = 0; l < DNNK_LANES; l++) {
        int64_t iy = b->y0[l] + y, x0 = b->x0[l];
        bool row = iy >= 0 && iy < H;
        /* the taps inside the plane, x0 + x in [0, W): x in [xa, xb) */
        int64_t xa = !row ? T : x0 < 0 ? min64(-x0, T) : 0, xb = !row ? T : min64(W - x0, T);
        xb = xb < xa ? xa : xb;
        FFTK_SCALAR
        for (int64_t x = 0; x < xa; x++)
            g[x * DNNK_LANES + l] = 0.0f;
        FFTK_SCALAR
        for (int64_t x = xa; x < xb; x++)
            g[x * DNNK_LANES + l] = plane[iy * W + x0 + x];
        FFTK_SCALAR
        for (int64_t x = xb; x < T; x++)
            g[x * DNNK_LANES + l] = 0.0f;
    }
}

/* The spectrum of one channel plane in the block's windows, coefficient k
 * at X[k xs]: the rows, then the columns; R holds the rows' transforms. */
INLINE void fftk_forward(const dnnk_fft_desc *d, const FftkBlock *b, const float *plane, fftk_vc *R,
                         fftk_vc *X, int64_t xs)
{
    int64_t T = d->t;
    float g[DNNK_FFT_MAX * DNNK_LANES];
    for (int64_t y = 0; y < T; y++) {
        fftk_gather_row(d, b, plane, y, g);
        fftk_row_forward(T, g, R + y * (T / 2 + 1));
    }
    fftk_columns_forward(T, R, X, xs);
}

/* M[r] (+)= sum over cb channels c of U_c[r] X[c] for the MR filters r of a
 * panel (U: [c][re, im][MR]), the sums kept in registers across the
 * channels and continued from M unless `first`. */
INLINE void fftk_cmac(const float *U, const fftk_vc *X, int64_t cb, fftk_vc *M, bool first)
{
    vf re[DNNK_MR], im[DNNK_MR];
    for (int r = 0; r < DNNK_MR; r++) {
        re[r] = first ? (vf){0} : M[r].re;
        im[r] = first ? (vf){0} : M[r].im;
    }
    for (int64_t c = 0; c < cb; c++) {
        vf xr = X[c].re, xi = X[c].im;
        const float *u = U + c * 2 * DNNK_MR;
        for (int r = 0; r < DNNK_MR; r++) {
            vf ur = splatv(u[r]), ui = splatv(u[DNNK_MR + r]);
            re[r] = re[r] + ur * xr - ui * xi;
            im[r] = im[r] + ur * xi + ui * xr;
        }
    }
    for (int r = 0; r < DNNK_MR; r++)
        M[r] = (fftk_vc){re[r], im[r]};
}

/* M[k FB + fi] = sum over the group's channels of X_c[k] U_c[k] for the
 * block's filters fi: per coefficient k a complex GEMM, by blocks of
 * channels whose spectra are computed once for all the block's filters. */
INLINE void fftk_multiply(const dnnk_fft_desc *d, const float *in, const float *U, const FftkBlock *b,
                          fftk_vc *X, fftk_vc *R, fftk_vc *M)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t T = d->t, S = dnnk_fft_bins(T), CB = DNNK_FFT_CHANNELS(T), FB = dnnk_fft_block_filters(T);
    int64_t C = c->in.dims[1], H = c->in.dims[2], W = c->in.dims[3], Cg = C / c->groups;
    int64_t Fg = c->out.dims[1] / c->groups, panels = dnnk_ceil_div(b->nf, DNNK_MR);
    for (int64_t c0 = 0; c0 < Cg; c0 += CB) {
        int64_t cb = dnnk_fft_block_size(T, Cg, c0);
        for (int64_t cc = 0; cc < cb; cc++)
            fftk_forward(d, b, in + (b->n * C + b->g * Cg + c0 + cc) * H * W, R, X + cc, CB);
        int64_t panel = cb * 2 * DNNK_MR; /* floats of a panel's spectra at one coefficient */
        for (int64_t k = 0; k < S; k++) {
            const float *Uk = U + dnnk_fft_weights_at(Fg, Cg, T, b->g, c0, k) + b->f0 / DNNK_MR * panel;
            for (int64_t p = 0; p < panels; p++)
                fftk_cmac(Uk + p * panel, X + k * CB, cb, M + k * FB + p * DNNK_MR, c0 == 0);
        }
    }
}

/* Inverts the sums of every filter of the block, each output inside the
 * layer written as act(y + bias + residual), as dnnk_conv's epilogue. */
INLINE void fftk_write_outputs(const dnnk_fft_desc *d, const FftkBlock *b, const fftk_vc *M, fftk_vc *R,
                               const float *bias, const float *res, float *out)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t T = d->t, TH = dnnk_fft_tile_h(d), TW = dnnk_fft_tile_w(d), FB = dnnk_fft_block_filters(T);
    int64_t F = c->out.dims[1], Fg = F / c->groups, OH = c->out.dims[2], OW = c->out.dims[3];
    int64_t across = dnnk_fft_across(d), tiles = dnnk_fft_tiles(d);
    for (int64_t fi = 0; fi < b->nf; fi++) {
        int64_t f = b->g * Fg + b->f0 + fi;
        float bf = bias ? bias[f] : 0.0f;
        fftk_columns_inverse(T, TH, M + fi, FB, R);
        for (int64_t y = 0; y < TH; y++) {
            vf row[DNNK_FFT_MAX];
            float ys[DNNK_FFT_MAX * DNNK_LANES];
            fftk_row_inverse(T, R + y * (T / 2 + 1), TW, row);
            for (int64_t x = 0; x < TW; x++)
                storev(ys + x * DNNK_LANES, row[x]);
            for (int64_t l = 0; l < DNNK_LANES && b->t0 + l < tiles; l++) {
                int64_t t = b->t0 + l, oy = t / across * TH + y, ox = t % across * TW;
                for (int64_t x = 0; oy < OH && x < TW && ox + x < OW; x++) {
                    int64_t at = ((b->n * F + f) * OH + oy) * OW + ox + x;
                    float sum = ys[x * DNNK_LANES + l] + bf;
                    out[at] = activate(&c->act, sum + (res ? res[at] : 0.0f));
                }
            }
        }
    }
}

/* ptrs: out, in, [residual], filter spectra, [bias]. A unit's sums, one
 * block of channel spectra and the rows' transforms wait on the stack
 * (FFTK_STACK complex vectors), with a few rows of scratch. */
KERNEL dnnk_conv_fft(const dnnk_fft_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_conv_desc *c = &d->conv;
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = c->has_residual ? ptrs[2] : 0;
    const float *U = ptrs[2 + c->has_residual], *bias = c->has_bias ? ptrs[3 + c->has_residual] : 0;
    int64_t T = d->t, S = dnnk_fft_bins(T), FB = dnnk_fft_block_filters(T);
    int64_t G = c->groups, Fg = c->out.dims[1] / G, blocks = dnnk_fft_filter_blocks(d);
    int64_t tile_blocks = dnnk_ceil_div(dnnk_fft_tiles(d), DNNK_LANES);
    fftk_vc stack[FFTK_STACK];
    fftk_vc *M = stack, *X = M + FB * S, *R = X + DNNK_FFT_CHANNELS(T) * S;
    for (int64_t u = begin; u < end; u++) {
        int64_t fb = u % blocks, rest = u / blocks;
        FftkBlock b = {.n = rest / tile_blocks / G, .g = rest / tile_blocks % G,
                       .t0 = rest % tile_blocks * DNNK_LANES, .f0 = fb * FB};
        b.nf = min64(FB, Fg - b.f0);
        fftk_windows(d, &b);
        fftk_multiply(d, in, U, &b, X, R, M);
        fftk_write_outputs(d, &b, M, R, bias, res, out);
    }
}
