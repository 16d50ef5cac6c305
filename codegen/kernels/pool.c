/* Pooling; units are (image, channel) planes. i[]: kh, kw, sh, sw, dh, dw,
 * pt, pl, pb, pr, count_include_pad. */
#include "common.h"

enum { POOL_KH, POOL_KW, POOL_SH, POOL_SW, POOL_DH, POOL_DW, POOL_PT, POOL_PL, POOL_PB, POOL_PR, POOL_INCLUDE_PAD };

/* Max over the window's taps inside the input, any element type. */
KERNEL dnnk_maxpool(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const int64_t *a = d->i;
    int64_t H = d->in[0].dims[2], W = d->in[0].dims[3], OH = d->out.dims[2], OW = d->out.dims[3];
    int64_t type = d->out.type;
    for (int64_t p = begin; p < end; p++)
        for (int64_t y = 0; y < OH; y++)
            for (int64_t x = 0; x < OW; x++) {
                double m = -__builtin_inf();
                for (int64_t ky = 0; ky < a[POOL_KH]; ky++) {
                    int64_t iy = y * a[POOL_SH] - a[POOL_PT] + ky * a[POOL_DH];
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < a[POOL_KW]; kx++) {
                        int64_t ix = x * a[POOL_SW] - a[POOL_PL] + kx * a[POOL_DW];
                        if (ix < 0 || ix >= W)
                            continue;
                        double v = load_any(type, ptrs[1], (p * H + iy) * W + ix);
                        m = v > m ? v : m;
                    }
                }
                store_any(type, ptrs[0], (p * OH + y) * OW + x, m);
            }
}

/* Sum over the window's taps inside the input, divided by their number, or
 * with count_include_pad by the window clipped to the padded input. */
KERNEL dnnk_avgpool(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const int64_t *a = d->i;
    int64_t H = d->in[0].dims[2], W = d->in[0].dims[3], OH = d->out.dims[2], OW = d->out.dims[3];
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t p = begin; p < end; p++)
        for (int64_t y = 0; y < OH; y++) {
            int64_t y0 = y * a[POOL_SH] - a[POOL_PT], y1 = y0 + a[POOL_KH];
            int64_t yp = min64(y1, H + a[POOL_PB]) - y0;
            int64_t ylo = y0 < 0 ? 0 : y0, yhi = min64(y1, H);
            for (int64_t x = 0; x < OW; x++) {
                int64_t x0 = x * a[POOL_SW] - a[POOL_PL], x1 = x0 + a[POOL_KW];
                int64_t xp = min64(x1, W + a[POOL_PR]) - x0;
                int64_t xlo = x0 < 0 ? 0 : x0, xhi = min64(x1, W);
                float sum = 0;
                for (int64_t iy = ylo; iy < yhi; iy++)
                    for (int64_t ix = xlo; ix < xhi; ix++)
                        sum += in[(p * H + iy) * W + ix];
                int64_t count = a[POOL_INCLUDE_PAD] ? yp * xp : (yhi - ylo) * (xhi - xlo);
                out[(p * OH + y) * OW + x] = sum / (float)count;
            }
        }
}

KERNEL dnnk_global_maxpool(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t S = stride_of(&d->in[0], 2), type = d->out.type;
    for (int64_t p = begin; p < end; p++) {
        double m = -__builtin_inf();
        for (int64_t i = 0; i < S; i++) {
            double v = load_any(type, ptrs[1], p * S + i);
            m = v > m ? v : m;
        }
        store_any(type, ptrs[0], p, m);
    }
}

KERNEL dnnk_global_avgpool(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t S = stride_of(&d->in[0], 2);
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t p = begin; p < end; p++) {
        float sum = 0;
        for (int64_t i = 0; i < S; i++)
            sum += in[p * S + i];
        out[p] = sum / (float)S;
    }
}
