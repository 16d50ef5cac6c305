/* Convolution as a GEMM with a register-blocked micro-kernel, fully
 * connected layers, and matrix products. */
#include "common.h"

/* Gathers rows [k0, k0 + kc) of the receptive fields of NR output pixels
 * into a [kc][NR] panel (implicit im2col): row k = (c, ky, kx), zeros for
 * padding and for pixels past the end. */
INLINE void pack_pixels(const dnnk_conv_desc *d, const float *in, int64_t n, int64_t g, int64_t p0,
                        int64_t k0, int64_t kc, float *panel)
{
    const dnnk_window *w = &d->win;
    int64_t C = d->in.dims[1], H = d->in.dims[2], W = d->in.dims[3];
    int64_t OW = d->out.dims[3], P = d->out.dims[2] * OW;
    int64_t Cg = C / d->groups, KH = w->kernel[0], KW = w->kernel[1];
    int64_t y0[DNNK_NR], x0[DNNK_NR];
    for (int64_t j = 0; j < DNNK_NR; j++) {
        bool real = p0 + j < P;
        y0[j] = real ? (p0 + j) / OW * w->stride[0] - w->pad[0] : -(1 << 30);
        x0[j] = real ? (p0 + j) % OW * w->stride[1] - w->pad[1] : -(1 << 30);
    }
    for (int64_t kk = 0; kk < kc; kk++) {
        int64_t k = k0 + kk, c = k / (KH * KW), ky = k / KW % KH, kx = k % KW;
        const float *plane = in + (n * C + g * Cg + c) * H * W;
        float *row = panel + kk * DNNK_NR;
        for (int64_t j = 0; j < DNNK_NR; j++) {
            int64_t iy = y0[j] + ky * w->dilation[0], ix = x0[j] + kx * w->dilation[1];
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
            vf a = splatv(A[k * DNNK_MR + r]);
            acc[r][0] = acc[r][0] + a * b0;
            acc[r][1] = acc[r][1] + a * b1;
        }
    }
}

/* A 1x1 convolution with stride 1 and no padding reads its input as the
 * GEMM's right-hand matrix directly: row c of it is channel c's plane. */
INLINE bool reads_input_directly(const dnnk_window *w)
{
    return w->kernel[0] == 1 && w->kernel[1] == 1 && w->stride[0] == 1 && w->stride[1] == 1 &&
           w->pad[0] == 0 && w->pad[1] == 0 && w->pad[2] == 0 && w->pad[3] == 0;
}

/* Rows of the GEMM reduction per block: the pixel panel (KC x NR floats)
 * stays in the first-level cache while every filter panel streams past it. */
#define KC 256

/* ptrs: out, in, [residual], packed weights, [bias]. The sum over K is
 * done in blocks of KC; partial sums wait in the output, which therefore
 * never shares storage with the residual (the workspace planner keeps
 * every operand of a layer live while it runs). Epilogue:
 * out = act(acc + bias + residual). */
KERNEL dnnk_conv(const dnnk_conv_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = d->has_residual ? ptrs[2] : 0;
    const float *w = ptrs[2 + d->has_residual], *bias = d->has_bias ? ptrs[3 + d->has_residual] : 0;
    int64_t G = d->groups, F = d->out.dims[1], Fg = F / G, C = d->in.dims[1];
    int64_t P = d->out.dims[2] * d->out.dims[3];
    int64_t K = C / G * d->win.kernel[0] * d->win.kernel[1];
    int64_t panels_per_group = dnnk_ceil_div(Fg, DNNK_MR);
    int64_t tiles = dnnk_ceil_div(P, DNNK_NR);
    bool direct = reads_input_directly(&d->win);
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
                    int64_t f = g * Fg + f0 + r, at = (n * F + f) * P + p0;
                    float row[DNNK_NR];
                    storev(row, acc[r][0]);
                    storev(row + DNNK_LANES, acc[r][1]);
                    float *o = out + at;
                    if (!last) {
                        for (int64_t j = 0; j < np; j++)
                            o[j] = first ? row[j] : o[j] + row[j];
                        continue;
                    }
                    float b = bias ? bias[f] : 0.0f;
                    for (int64_t j = 0; j < np; j++) {
                        float sum = (first ? 0.0f : o[j]) + row[j] + b;
                        o[j] = activate(&d->act, sum + (res ? res[at + j] : 0.0f));
                    }
                }
            }
        }
    }
}

/* out[n][u] = act(sum_k in[n][k] * w[u][k] + bias[u] + residual[n][u]);
 * units are output features. ptrs: out, in, [residual], weights, [bias]. */
KERNEL dnnk_fc(const dnnk_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = d->has_residual ? ptrs[2] : 0;
    const float *w = ptrs[2 + d->has_residual], *bias = d->has_bias ? ptrs[3 + d->has_residual] : 0;
    int64_t N = d->in.dims[0], K = stride_of(&d->in, 1), U = d->out.dims[1];
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
            int64_t at = n * U + u;
            out[at] = activate(&d->act, sum + (bias ? bias[u] : 0.0f) + (res ? res[at] : 0.0f));
        }
}

/* NumPy matmul with broadcast batch dimensions; units are rows of the
 * output (batch x M). */
KERNEL dnnk_matmul(const dnnk_matmul_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *as = &d->a, *bs = &d->b, *os = &d->out;
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
