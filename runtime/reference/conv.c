/* Convolution and fully connected layers. */
#include "kernels.h"

/* out[n][f][y][x] = bias[f] + sum over c, ky, kx (in this order, ascending) of
 *   in[n][g*Cg + c][y*sh - pad_top + ky*dh][x*sw - pad_left + kx*dw] * w[f][c][ky][kx]
 * where g = f / (F / groups) and Cg = C / groups; taps outside the input are
 * zero padding and skipped. */
void ref_conv(const KernelArgs *a)
{
    const ConvAttrs *at = &a->node->attr.conv;
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    int64_t N = is->d[0], C = is->d[1], H = is->d[2], W = is->d[3];
    int64_t F = os->d[1], OH = os->d[2], OW = os->d[3];
    int64_t KH = at->kernel[0], KW = at->kernel[1];
    int64_t Cg = C / at->groups, Fg = F / at->groups;
    const float *in = a->in[0], *w = a->param[0], *bias = at->bias ? a->param[1] : NULL;
    for (int64_t n = 0; n < N; n++)
        for (int64_t f = 0; f < F; f++) {
            int64_t c0 = (f / Fg) * Cg;
            const float *wf = w + f * Cg * KH * KW;
            for (int64_t y = 0; y < OH; y++)
                for (int64_t x = 0; x < OW; x++) {
                    double acc = 0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ky = 0; ky < KH; ky++) {
                            int64_t iy = y * at->stride[0] - at->pad[0] + ky * at->dilation[0];
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t ix = x * at->stride[1] - at->pad[1] + kx * at->dilation[1];
                                if (ix < 0 || ix >= W)
                                    continue;
                                acc += (double)in[((n * C + c0 + c) * H + iy) * W + ix] *
                                       wf[(c * KH + ky) * KW + kx];
                            }
                        }
                    if (bias)
                        acc += bias[f];
                    a->out[((n * F + f) * OH + y) * OW + x] = (float)acc;
                }
        }
}

/* out[n][u] = bias[u] + sum over k ascending of in[n][k] * w[u][k], where the
 * input of each sample is read flat (C order), as Caffe's InnerProduct does. */
void ref_fc(const KernelArgs *a)
{
    const FcAttrs *at = &a->node->attr.fc;
    int64_t N = a->in_shape[0]->d[0], K = dims_product(a->in_shape[0], 1, a->in_shape[0]->rank);
    int64_t U = at->units;
    const float *w = a->param[0], *bias = at->bias ? a->param[1] : NULL;
    for (int64_t n = 0; n < N; n++)
        for (int64_t u = 0; u < U; u++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)a->in[0][n * K + k] * w[u * K + k];
            if (bias)
                acc += bias[u];
            a->out[n * U + u] = (float)acc;
        }
}
