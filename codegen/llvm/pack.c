#include "pack.h"

#include <math.h>
#include <string.h>

#include "weight_code.h"
#include "conv_algo.h"
#include "dnnk.h"
#include "kernels.h"
#include "sparse_rules.h"

/* The codes in the kernel's blocks (dnnk.h, DNNK_CODED_MR), each code's
 * bits as a weights file packs them (code_pack), and DNNK_CODED_SPARE zero
 * bytes. */
size_t pack_coded_codes(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], K = shape_elems(&w->shape) / F, G = n->attr.coded.conv.groups, Fg = F / G;
    int64_t bits = weight_code_bits(w->type), blocks = dnnk_coded_blocks(Fg);
    int64_t bytes = G * blocks * K * bits + DNNK_CODED_SPARE; /* a block's k: MR codes, `bits` bytes */
    if (!out)
        return (size_t)bytes;
    const uint8_t *codes = w->data;
    unsigned char *dst = out;
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t b = 0; b < blocks; b++)
            for (int64_t kk = 0; kk < K; kk++) {
                uint64_t word = 0;
                for (int64_t r = 0; r < DNNK_CODED_MR; r++) {
                    int64_t f = b * DNNK_CODED_MR + r;
                    word |= (uint64_t)(f < Fg ? codes[(grp * Fg + f) * K + kk] : 0) << (r * bits);
                }
                for (int64_t i = 0; i < bits; i++)
                    *dst++ = (unsigned char)(word >> (8 * i));
            }
    memset(dst, 0, DNNK_CODED_SPARE);
    return (size_t)bytes;
}

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

/* Filters [F][C][kh][kw] -> [FB][CB][kh][kw][16 c][16 f] for a groups-1
 * conv, [C][1][kh][kw] -> [CB][kh][kw][16 c] for a depthwise one: the 16
 * filters (or channels) of one vector side by side, in the order the
 * blocked kernel walks them (dnnk.h), zeros past F filters and C channels
 * (FB, CB: F and C rounded up to blocks of 16). The bias (k 1) becomes FB
 * blocks, zeros past F, so that padded filters compute act(0). */
size_t pack_conv_blocked(const Graph *g, const Node *n, int k, void *out)
{
    const int64_t B = DNNK_BLOCK;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], Cg = w->shape.d[1], KH = w->shape.d[2], KW = w->shape.d[3];
    int64_t FB = dnnk_ceil_div(F, B), CB = dnnk_ceil_div(Cg, B), taps = KH * KW;
    bool depthwise = n->attr.conv.groups != 1; /* Cg 1, a filter per channel */
    size_t bytes = (size_t)(k == 1 ? FB * B : depthwise ? FB * taps * B : FB * CB * taps * B * B) * sizeof(float);
    if (!out || k > 1)
        return k > 1 ? 0 : bytes;
    float *dst = out;
    if (k == 1) {
        const float *bias = g->tensors[n->params[1]].data;
        for (int64_t f = 0; f < FB * B; f++)
            dst[f] = f < F ? bias[f] : 0.0f;
        return bytes;
    }
    const float *src = w->data;
    if (depthwise) {
        for (int64_t cb = 0; cb < FB; cb++)
            for (int64_t t = 0; t < taps; t++)
                for (int64_t ci = 0; ci < B; ci++) {
                    int64_t c = cb * B + ci;
                    *dst++ = c < F ? src[c * taps + t] : 0.0f;
                }
        return bytes;
    }
    for (int64_t fb = 0; fb < FB; fb++)
        for (int64_t cb = 0; cb < CB; cb++)
            for (int64_t t = 0; t < taps; t++)
                for (int64_t ci = 0; ci < B; ci++)
                    for (int64_t fi = 0; fi < B; fi++) {
                        int64_t f = fb * B + fi, c = cb * B + ci;
                        *dst++ = f < F && c < Cg ? src[(f * Cg + c) * taps + t] : 0.0f;
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

size_t pack_winograd_blocked(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return pack_conv_blocked(g, n, k, out);
    const int64_t B = DNNK_BLOCK;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], C = w->shape.d[1], FB = dnnk_ceil_div(F, B), CB = dnnk_ceil_div(C, B);
    int m = conv_algo_tile(ALGO_WINOGRAD, n->ann.algo_tile, &n->attr.conv);
    int alpha = m + 2, a2 = alpha * alpha;
    size_t bytes = (size_t)(FB * a2 * CB * B * B) * sizeof(float);
    if (!out)
        return bytes;
    memset(out, 0, bytes);
    const float *src = w->data;
    float *dst = out, u[64]; /* alpha^2 of F(6x6, 3x3) at most */
    for (int64_t f = 0; f < F; f++)
        for (int64_t c = 0; c < C; c++) {
            winograd_filter_transform(alpha, winograd_g(m), src + (f * C + c) * 9, u);
            for (int xi = 0; xi < a2; xi++)
                dst[(((f / B * a2 + xi) * CB + c / B) * B + c % B) * B + f % B] = u[xi];
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

/* ---- int8 GEMM ------------------------------------------------------------ */

/* The parameters of qlinear_conv, in the IR's order. */
enum { Q_WEIGHT, Q_X_SCALE, Q_X_ZERO, Q_W_SCALE, Q_W_ZERO, Q_Y_SCALE, Q_Y_ZERO, Q_BIAS };

static const Tensor *qparam(const Graph *g, const Node *n, int k) { return &g->tensors[n->params[k]]; }

static double qvalue(const Graph *g, const Node *n, int k, int64_t i)
{
    const Tensor *t = qparam(g, n, k);
    return load_elem(t->type.kind, t->data, i);
}

/* Element i of u8 or i8 weights. */
static int64_t weight_at(const Tensor *w, int64_t i)
{
    return w->type.kind == ELEM_I8 ? ((const int8_t *)w->data)[i] : ((const uint8_t *)w->data)[i];
}

/* Filter f's weight zero point. */
static int64_t weight_zero(const Graph *g, const Node *n, int64_t f)
{
    return (int64_t)qvalue(g, n, Q_W_ZERO, n->attr.qconv.per_channel ? f : 0);
}

static double multiplier(const Graph *g, const Node *n, int64_t f)
{
    const float *w_scale = qparam(g, n, Q_W_SCALE)->data;
    return dnnk_requant_multiplier(*(const float *)qparam(g, n, Q_X_SCALE)->data,
                                   w_scale[n->attr.qconv.per_channel ? f : 0],
                                   *(const float *)qparam(g, n, Q_Y_SCALE)->data);
}

static int64_t conv_k(const Graph *g, const Node *n)
{
    const Shape *w = &qparam(g, n, Q_WEIGHT)->shape;
    return w->d[1] * w->d[2] * w->d[3];
}

bool pack_qgemm_fits(const Graph *g, const Node *n)
{
    if (n->op != OP_QLINEAR_CONV)
        return false;
    for (int k = 0; k < n->n_params; k++)
        if (!qparam(g, n, k)->data)
            return false;
    const Tensor *w = qparam(g, n, Q_WEIGHT);
    int64_t F = n->attr.qconv.conv.filters, K = conv_k(g, n);
    if (K > DNNK_QGEMM_MAX_K)
        return false;
    if (n->n_inputs == 2) { /* the residual's scale and zero point come last */
        double m = dnnk_residual_multiplier(*(const float *)qparam(g, n, n->n_params - 2)->data,
                                            *(const float *)qparam(g, n, Q_Y_SCALE)->data);
        if (!isfinite(m))
            return false;
    }
    /* i8 weights less 0 and u8 weights less 128 are s8 whatever they are. */
    int64_t any_fits = w->type.kind == ELEM_I8 ? 0 : 128;
    for (int64_t f = 0; f < F; f++) {
        if (!isfinite(multiplier(g, n, f)))
            return false;
        int64_t zero = weight_zero(g, n, f);
        if (zero == any_fits)
            continue;
        for (int64_t i = 0; i < K; i++) {
            int64_t v = weight_at(w, f * K + i) - zero;
            if (v < INT8_MIN || v > INT8_MAX)
                return false;
        }
    }
    return true;
}

/* Where weight i of filter f goes in the packed layout (dnnk.h). */
static int64_t qgemm_weight_at(int64_t f, int64_t i, int64_t Fg, int64_t K, bool fc)
{
    if (fc)
        return f * dnnk_ceil_div(K, DNNK_QGEMM_FC_K) * DNNK_QGEMM_FC_K + i;
    int64_t panel = f / Fg * dnnk_ceil_div(Fg, DNNK_MR) + f % Fg / DNNK_MR;
    return ((panel * dnnk_ceil_div(K, 4) + i / 4) * DNNK_MR + f % Fg % DNNK_MR) * 4 + i % 4;
}

/* The packed weights for a kernel holding its pixels as `pixels`. */
static size_t pack_qgemm(const Graph *g, const Node *n, int k, PackPixels pixels, void *out)
{
    if (k != Q_WEIGHT || !pack_qgemm_fits(g, n))
        return 0;
    int64_t F = n->attr.qconv.conv.filters, G = n->attr.qconv.conv.groups, Fg = F / G, K = conv_k(g, n);
    bool fc = sparse_qlinear_is_fc(g, n);
    size_t bytes = (size_t)dnnk_packed_qgemm_bytes(F, G, K, fc);
    if (!out)
        return bytes;
    memset(out, 0, bytes);
    int8_t *dst = out;
    unsigned char *table = (unsigned char *)out + dnnk_qgemm_weight_bytes(F, G, K, fc);
    const Tensor *w = qparam(g, n, Q_WEIGHT);
    for (int64_t f = 0; f < F; f++) {
        int64_t sum = 0, w_zero = weight_zero(g, n, f);
        for (int64_t i = 0; i < K; i++) {
            int64_t v = weight_at(w, f * K + i) - w_zero;
            dst[qgemm_weight_at(f, i, Fg, K, fc)] = (int8_t)v;
            sum += v;
        }
        pack_qlinear_epilogue(g, n, f, sum, pixels, table);
    }
    return bytes;
}

size_t pack_qgemm_weights(const Graph *g, const Node *n, int k, void *out)
{
    return pack_qgemm(g, n, k, PIXELS_U8, out);
}

size_t pack_qgemm_sdot_weights(const Graph *g, const Node *n, int k, void *out)
{
    return pack_qgemm(g, n, k, PIXELS_S8, out);
}

void pack_qlinear_epilogue(const Graph *g, const Node *n, int64_t f, int64_t weight_sum, PackPixels pixels,
                           unsigned char *table)
{
    /* The input's zero point as the kernel holds its pixels: i8 ones
     * shifted to u8 for PIXELS_U8, u8 ones to s8 for PIXELS_S8 (whose sums
     * are then sum (x - 128) w: subtracting the zero point less 128 is
     * adding 128 sum w, the correction that makes them sum x w again). */
    bool signed_input = g->tensors[n->inputs[0]].type.kind == ELEM_I8;
    int64_t shift = pixels == PIXELS_U8 ? (signed_input ? 128 : 0) : (signed_input ? 0 : -128);
    int64_t zero = (int64_t)qvalue(g, n, Q_X_ZERO, 0) + shift;
    int64_t F = n->attr.qconv.conv.filters;
    int64_t bias = n->attr.qconv.conv.bias ? (int64_t)qvalue(g, n, Q_BIAS, f) : 0;
    double offset = (double)(bias - zero * weight_sum), m = multiplier(g, n, f);
    memcpy(table + f * (int64_t)sizeof offset, &offset, sizeof offset);
    memcpy(table + (F + f) * (int64_t)sizeof m, &m, sizeof m);
}
