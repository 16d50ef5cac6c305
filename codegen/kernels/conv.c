/* Convolution as a GEMM with a register-blocked micro-kernel, fully
 * connected layers, and matrix products. */
#include "common.h"

/* Gathers rows [k0, k0 + kc) of the receptive fields of NR output pixels
 * into a [kc][NR] panel (implicit im2col): row k = (c, ky, kx), zeros for
 * padding and for pixels past the end. */
INLINE void pack_pixels(const dnnk_desc *d, const float *in, int64_t n, int64_t g, int64_t p0,
                        int64_t k0, int64_t kc, float *panel)
{
    const int64_t *a = d->i;
    int64_t C = d->in[0].dims[1], H = d->in[0].dims[2], W = d->in[0].dims[3];
    int64_t OW = d->out.dims[3], P = d->out.dims[2] * OW;
    int64_t Cg = C / a[CONV_GROUPS], KH = a[CONV_KH], KW = a[CONV_KW];
    int64_t y0[DNNK_NR], x0[DNNK_NR];
    for (int64_t j = 0; j < DNNK_NR; j++) {
        bool real = p0 + j < P;
        y0[j] = real ? (p0 + j) / OW * a[CONV_SH] - a[CONV_PT] : -(1 << 30);
        x0[j] = real ? (p0 + j) % OW * a[CONV_SW] - a[CONV_PL] : -(1 << 30);
    }
    for (int64_t kk = 0; kk < kc; kk++) {
        int64_t k = k0 + kk, c = k / (KH * KW), ky = k / KW % KH, kx = k % KW;
        const float *plane = in + (n * C + g * Cg + c) * H * W;
        float *row = panel + kk * DNNK_NR;
        for (int64_t j = 0; j < DNNK_NR; j++) {
            int64_t iy = y0[j] + ky * a[CONV_DH], ix = x0[j] + kx * a[CONV_DW];
            bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            row[j] = inside ? plane[iy * W + ix] : 0.0f;
        }
    }
}

/* acc[MR][NR] = A[K][MR]^T x B[K][NR] (rows of B ldb apart), two vectors
 * per row. */
INLINE void micro_kernel(const float *A, const float *B, int64_t ldb, int64_t K, vf acc[DNNK_MR][2])
{
    for (int r = 0; r < DNNK_MR; r++)
        acc[r][0] = acc[r][1] = (vf){0};
    for (int64_t k = 0; k < K; k++) {
        vf b0 = loadv(B + k * ldb), b1 = loadv(B + k * ldb + DNNK_LANES);
        for (int r = 0; r < DNNK_MR; r++) {
            vf a = (vf){0} + A[k * DNNK_MR + r];
            acc[r][0] = acc[r][0] + a * b0;
            acc[r][1] = acc[r][1] + a * b1;
        }
    }
}

INLINE float activate(int64_t act, float v) { return act == DNNK_ACT_RELU && v < 0 ? 0.0f : v; }

/* A 1x1 convolution with stride 1 and no padding reads its input as the
 * GEMM's right-hand matrix directly: row c of it is channel c's plane. */
INLINE bool reads_input_directly(const int64_t *a)
{
    return a[CONV_KH] == 1 && a[CONV_KW] == 1 && a[CONV_SH] == 1 && a[CONV_SW] == 1 &&
           a[CONV_PT] == 0 && a[CONV_PL] == 0 && a[CONV_PB] == 0 && a[CONV_PR] == 0;
}

/* Rows of the GEMM reduction per block: the pixel panel (KC x NR floats)
 * stays in the first-level cache while every filter panel streams past it. */
#define KC 256

/* ptrs: out, in, packed weights, [bias], [scale, shift]. The sum over K is
 * done in blocks of KC; partial sums wait in the output. Epilogue:
 * out = act((acc + bias) * scale + shift). */
KERNEL dnnk_conv(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const int64_t *a = d->i;
    float *out = ptrs[0];
    const float *in = ptrs[1], *w = ptrs[2], *bias = a[CONV_BIAS] ? ptrs[3] : 0;
    const float *scale = a[CONV_SCALE] ? ptrs[3 + a[CONV_BIAS]] : 0;
    const float *shift = a[CONV_SCALE] ? ptrs[4 + a[CONV_BIAS]] : 0;
    int64_t G = a[CONV_GROUPS], F = d->out.dims[1], Fg = F / G, C = d->in[0].dims[1];
    int64_t P = d->out.dims[2] * d->out.dims[3];
    int64_t K = C / G * a[CONV_KH] * a[CONV_KW];
    int64_t panels_per_group = dnnk_ceil_div(Fg, DNNK_MR);
    int64_t tiles = dnnk_ceil_div(P, DNNK_NR);
    bool direct = reads_input_directly(a);
    float panel[KC * DNNK_NR];
    for (int64_t u = begin; u < end; u++) {
        int64_t tile = u % tiles, g = (u / tiles) % G, n = u / tiles / G;
        int64_t p0 = tile * DNNK_NR, np = min64(DNNK_NR, P - p0);
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            int64_t kc = min64(KC, K - k0);
            bool first = k0 == 0, last = k0 + kc == K;
            const float *B = panel;
            int64_t ldb = DNNK_NR;
            if (direct && np == DNNK_NR) {
                B = in + (n * C + g * (C / G) + k0) * P + p0;
                ldb = P;
            } else {
                pack_pixels(d, in, n, g, p0, k0, kc, panel);
            }
            for (int64_t f0 = 0; f0 < Fg; f0 += DNNK_MR) {
                const float *A = w + ((g * panels_per_group) + f0 / DNNK_MR) * K * DNNK_MR + k0 * DNNK_MR;
                vf acc[DNNK_MR][2];
                micro_kernel(A, B, ldb, kc, acc);
                for (int64_t r = 0; r < DNNK_MR && f0 + r < Fg; r++) {
                    int64_t f = g * Fg + f0 + r;
                    float row[DNNK_NR];
                    storev(row, acc[r][0]);
                    storev(row + DNNK_LANES, acc[r][1]);
                    float *o = out + (n * F + f) * P + p0;
                    if (!last) {
                        for (int64_t j = 0; j < np; j++)
                            o[j] = first ? row[j] : o[j] + row[j];
                        continue;
                    }
                    float b = bias ? bias[f] : 0.0f, s = scale ? scale[f] : 1.0f, t = shift ? shift[f] : 0.0f;
                    for (int64_t j = 0; j < np; j++)
                        o[j] = activate(a[CONV_ACT], ((first ? 0.0f : o[j]) + row[j] + b) * s + t);
                }
            }
        }
    }
}

/* out[n][u] = bias[u] + sum_k in[n][k] * w[u][k]; units are output features.
 * i[0]: bias present, i[1]: activation. */
KERNEL dnnk_fc(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *w = ptrs[2], *bias = d->i[0] ? ptrs[3] : 0;
    int64_t N = d->in[0].dims[0], K = stride_of(&d->in[0], 1), U = d->out.dims[1];
    for (int64_t u = begin; u < end; u++)
        for (int64_t n = 0; n < N; n++) {
            const float *x = in + n * K, *wu = w + u * K;
            vf acc = {0};
            int64_t k = 0;
            for (; k + DNNK_LANES <= K; k += DNNK_LANES)
                acc = acc + loadv(x + k) * loadv(wu + k);
            float sum = 0;
            for (int i = 0; i < DNNK_LANES; i++)
                sum += acc[i];
            for (; k < K; k++)
                sum += x[k] * wu[k];
            out[n * U + u] = activate(d->i[1], sum + (bias ? bias[u] : 0.0f));
        }
}

/* NumPy matmul with broadcast batch dimensions; units are rows of the
 * output (batch x M). */
KERNEL dnnk_matmul(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *as = &d->in[0], *bs = &d->in[1], *os = &d->out;
    int64_t M = as->dims[as->rank - 2], K = as->dims[as->rank - 1], N = bs->dims[bs->rank - 1];
    dnnk_tensor ba = *as, bb = *bs, bo = *os;
    ba.rank -= 2, bb.rank -= 2, bo.rank -= 2;
    float *out = ptrs[0];
    const float *A = ptrs[1], *B = ptrs[2];
    for (int64_t row = begin; row < end; row++) {
        int64_t b = row / M, m = row % M;
        const float *a = A + (broadcast_offset(&ba, &bo, b) * M + m) * K;
        const float *bm = B + broadcast_offset(&bb, &bo, b) * K * N;
        float *o = out + row * N;
        for (int64_t n = 0; n < N; n++)
            o[n] = 0;
        for (int64_t k = 0; k < K; k++)
            for (int64_t n = 0; n < N; n++)
                o[n] += a[k] * bm[k * N + n];
    }
}
