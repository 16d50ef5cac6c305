/* Pooling; units are (image, channel) planes. */
#include "common.h"

/* Max over the window's taps inside the input, any element type. */
KERNEL dnnk_maxpool(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_window *a = &d->win;
    int64_t H = d->in.dims[2], W = d->in.dims[3], OH = d->out.dims[2], OW = d->out.dims[3];
    int64_t type = d->out.type;
    for (int64_t p = begin; p < end; p++)
        for (int64_t y = 0; y < OH; y++)
            for (int64_t x = 0; x < OW; x++) {
                double m = -__builtin_inf();
                for (int64_t ky = 0; ky < a->kernel[0]; ky++) {
                    int64_t iy = y * a->stride[0] - a->pad[0] + ky * a->dilation[0];
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < a->kernel[1]; kx++) {
                        int64_t ix = x * a->stride[1] - a->pad[1] + kx * a->dilation[1];
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
KERNEL dnnk_avgpool(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_window *a = &d->win;
    int64_t H = d->in.dims[2], W = d->in.dims[3], OH = d->out.dims[2], OW = d->out.dims[3];
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t p = begin; p < end; p++)
        for (int64_t y = 0; y < OH; y++) {
            int64_t y0 = y * a->stride[0] - a->pad[0], y1 = y0 + a->kernel[0];
            int64_t yp = min64(y1, H + a->pad[2]) - y0;
            int64_t ylo = y0 < 0 ? 0 : y0, yhi = min64(y1, H);
            for (int64_t x = 0; x < OW; x++) {
                int64_t x0 = x * a->stride[1] - a->pad[1], x1 = x0 + a->kernel[1];
                int64_t xp = min64(x1, W + a->pad[3]) - x0;
                int64_t xlo = x0 < 0 ? 0 : x0, xhi = min64(x1, W);
                float sum = 0;
                for (int64_t iy = ylo; iy < yhi; iy++)
                    for (int64_t ix = xlo; ix < xhi; ix++)
                        sum += in[(p * H + iy) * W + ix];
                int64_t count = d->count_include_pad ? yp * xp : (yhi - ylo) * (xhi - xlo);
                out[(p * OH + y) * OW + x] = sum / (float)count;
            }
        }
}

KERNEL dnnk_global_maxpool(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t S = stride_of(&d->in, 2), type = d->out.type;
    for (int64_t p = begin; p < end; p++) {
        double m = -__builtin_inf();
        for (int64_t i = 0; i < S; i++) {
            double v = load_any(type, ptrs[1], p * S + i);
            m = v > m ? v : m;
        }
        store_any(type, ptrs[0], p, m);
    }
}

KERNEL dnnk_global_avgpool(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t S = stride_of(&d->in, 2);
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t p = begin; p < end; p++) {
        float sum = 0;
        for (int64_t i = 0; i < S; i++)
            sum += in[p * S + i];
        out[p] = sum / (float)S;
    }
}
