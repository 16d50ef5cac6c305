#include "pack.h"

#include <math.h>
#include <string.h>

#include "conv_algo.h"
#include "dnnk.h"

size_t pack_conv_panels(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], G = n->attr.conv.groups, Fg = F / G;
    int64_t K = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
    size_t bytes = (size_t)dnnk_packed_conv_weights(F, G, K) * sizeof(float);
    if (!out)
        return bytes;
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR);
    const float *src = w->data;
    float *dst = out;
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t b = 0; b < panels; b++)
            for (int64_t kk = 0; kk < K; kk++)
                for (int64_t r = 0; r < DNNK_MR; r++) {
                    int64_t f = b * DNNK_MR + r;
                    *dst++ = f < Fg ? src[(grp * Fg + f) * K + kk] : 0.0f;
                }
    return bytes;
}

/* G of F(m, 3) (alpha rows of 3): Lavin & Gray's matrices for m = 2 and 4,
 * and for m = 6 the one the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity
 * give, row j p_j^k / prod over l != j of (p_j - p_l), the points the
 * reference executor and the kernel's B^T and A^T use. Written out here,
 * independently of the reference, which builds its own from the points;
 * the tests compare the two. */
static const double winograd_g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double winograd_g4[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};
static const double winograd_g6[8][3] = {
    {-1, 0, 0},
    {-2.0 / 9, -2.0 / 9, -2.0 / 9},
    {-2.0 / 9, 2.0 / 9, -2.0 / 9},
    {1.0 / 90, 1.0 / 45, 2.0 / 45},
    {1.0 / 90, -1.0 / 45, 2.0 / 45},
    {32.0 / 45, 16.0 / 45, 8.0 / 45},
    {32.0 / 45, -16.0 / 45, 8.0 / 45},
    {0, 0, 1},
};

static const double (*winograd_g(int m))[3]
{
    return m == 2 ? winograd_g2 : m == 4 ? winograd_g4 : winograd_g6;
}

/* u = G g G^T (alpha x alpha, row-major) of one 3x3 filter plane, in
 * double and rounded once: the exact fractions of G need no float copy. */
static void winograd_filter_transform(int alpha, const double (*G)[3], const float *g, float *u)
{
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            double sum = 0;
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++)
                    sum += G[i][k] * g[k * 3 + l] * G[j][l];
            u[i * alpha + j] = (float)sum;
        }
}

size_t pack_winograd_filters(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], Cg = w->shape.d[1], G = n->attr.conv.groups, Fg = F / G;
    int m = conv_algo_tile(ALGO_WINOGRAD, n->ann.algo_tile, &n->attr.conv);
    int alpha = m + 2, a2 = alpha * alpha;
    size_t bytes = (size_t)dnnk_packed_winograd_weights(F, G, Cg, m) * sizeof(float);
    if (!out)
        return bytes;
    memset(out, 0, bytes);
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR);
    const float *src = w->data;
    float *dst = out, u[64]; /* alpha^2 of F(6x6, 3x3) at most */
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t f = 0; f < Fg; f++)
            for (int64_t c = 0; c < Cg; c++) {
                winograd_filter_transform(alpha, winograd_g(m), src + ((grp * Fg + f) * Cg + c) * 9, u);
                int64_t panel = grp * panels + f / DNNK_MR;
                for (int xi = 0; xi < a2; xi++)
                    dst[((panel * a2 + xi) * Cg + c) * DNNK_MR + f % DNNK_MR] = u[xi];
            }
    return bytes;
}

/* ---- FFT filters ---------------------------------------------------------- */

/* The columns v <= T/2 of the T x T DFT of one KH x KW filter plane
 * zero-padded, W[u][v] = sum w[y][x] exp(-2 pi i (uy + vx) / T), in double:
 * along the rows (a[y][v]), then down the columns. spec is [u][v][re, im]. */
static void fft_filter_spectrum(int T, int64_t KH, int64_t KW, const float *w, double *spec)
{
    static const double two_pi = 6.28318530717958647692528676655900577;
    int half = T / 2 + 1;
    double cs[DNNK_FFT_MAX], sn[DNNK_FFT_MAX], a[DNNK_FFT_MAX][DNNK_FFT_MAX / 2 + 1][2];
    for (int m = 0; m < T; m++)
        cs[m] = cos(two_pi * m / T), sn[m] = sin(two_pi * m / T);
    for (int64_t y = 0; y < KH; y++)
        for (int v = 0; v < half; v++) {
            a[y][v][0] = a[y][v][1] = 0;
            for (int64_t x = 0; x < KW; x++) {
                int m = (int)(v * x % T);
                a[y][v][0] += w[y * KW + x] * cs[m];
                a[y][v][1] -= w[y * KW + x] * sn[m];
            }
        }
    for (int u = 0; u < T; u++)
        for (int v = 0; v < half; v++) {
            double re = 0, im = 0;
            for (int64_t y = 0; y < KH; y++) {
                int m = (int)(u * y % T);
                re += a[y][v][0] * cs[m] + a[y][v][1] * sn[m];
                im += a[y][v][1] * cs[m] - a[y][v][0] * sn[m];
            }
            spec[(u * half + v) * 2] = re;
            spec[(u * half + v) * 2 + 1] = im;
        }
}

size_t pack_fft_filters(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], Cg = w->shape.d[1], KH = w->shape.d[2], KW = w->shape.d[3];
    int64_t G = n->attr.conv.groups, Fg = F / G;
    int T = conv_algo_tile(ALGO_FFT, n->ann.algo_tile, &n->attr.conv);
    int64_t S = dnnk_fft_bins(T);
    size_t bytes = (size_t)dnnk_packed_fft_weights(F, G, Cg, T) * sizeof(float);
    if (!out || T > DNNK_FFT_MAX || KH >= T || KW >= T)
        return out ? 0 : bytes;
    memset(out, 0, bytes);
    /* conj(W) / T^2: the kernel multiplies the input's spectra by it and
     * needs no scaling after the inverse transform (a power of two: exact). */
    double scale = 1.0 / ((double)T * T), spec[DNNK_FFT_MAX * (DNNK_FFT_MAX / 2 + 1) * 2];
    const float *src = w->data;
    float *dst = out;
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t f = 0; f < Fg; f++)
            for (int64_t c = 0; c < Cg; c++) {
                fft_filter_spectrum(T, KH, KW, src + ((grp * Fg + f) * Cg + c) * KH * KW, spec);
                int64_t c0 = c - c % DNNK_FFT_CHANNELS(T);
                int64_t cb = dnnk_fft_block_size(T, Cg, c0);
                for (int64_t bin = 0; bin < S; bin++) {
                    float *at = dst + dnnk_fft_weights_at(Fg, Cg, T, grp, c0, bin) +
                                (f / DNNK_MR * cb + c - c0) * 2 * DNNK_MR + f % DNNK_MR;
                    at[0] = (float)(spec[bin * 2] * scale);
                    at[DNNK_MR] = (float)(-spec[bin * 2 + 1] * scale);
                }
            }
    return bytes;
}
