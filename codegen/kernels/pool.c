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

/* best[q] = the max over the taps of the planes, q < n, in dnnk_maxpool's
 * order and by its comparison (a NaN never replaces the max; a tap in the
 * padding is -infinity, which never does either), so the result is the
 * same to the bit. */
INLINE void max_taps(const PlaneGeometry *g, const float *planes, int64_t n, float *best)
{
    for (int64_t q = 0; q < n; q += DNNK_LANES) {
        vf m = splatv(-__builtin_inff());
        for (int64_t ky = 0; ky < g->kh; ky++)
            for (int64_t kx = 0; kx < g->kw; kx++) {
                vf v = loadv(tap_run(g, planes, ky, kx) + q);
                for (int l = 0; l < DNNK_LANES; l++)
                    m[l] = v[l] > m[l] ? v[l] : m[l];
            }
        storev(best + q, m);
    }
}

/* Max pooling of floats a tile at a time on phase planes padded with
 * -infinity (planes.c); units are (image, channel) planes. */
KERNEL dnnk_maxpool_float(const dnnk_pool_tile_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_pool_desc *p = &d->pool;
    if (!d->tile_rows) {
        dnnk_maxpool(p, ptrs, begin, end);
        return;
    }
    PlaneGeometry g = plane_geometry(&p->win, &p->in, d->tile_rows, d->tile_cols);
    int64_t OH = p->out.dims[2], OW = p->out.dims[3];
    const float *in = ptrs[1];
    float *out = ptrs[0];
    float planes[DNNK_PLANE_FLOATS], best[DNNK_PLANE_SUM_FLOATS];
    for (int64_t u = begin; u < end; u++)
        for (int64_t oy0 = 0; oy0 < OH; oy0 += g.rows)
            for (int64_t ox0 = 0; ox0 < OW; ox0 += g.cols) {
                int64_t rows = min64(g.rows, OH - oy0), cols = min64(g.cols, OW - ox0);
                fill_planes(&g, &p->win, in + u * g.H * g.W, oy0, ox0, rows, -__builtin_inff(), planes);
                max_taps(&g, planes, rows * g.width, best);
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t j = 0; j < cols; j++)
                        out[(u * OH + oy0 + i) * OW + ox0 + j] = best[i * g.width + j];
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
