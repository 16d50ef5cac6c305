/* Direct convolution: the sums of the definition, taken straight from the
 * input (no im2col panel, no transform). Each tap of the filter is one
 * vector multiply-add over a whole tile of outputs, on phase planes that
 * make every tap a contiguous run whatever the stride, dilation and
 * padding (planes.c). It pays where a filter sees few channels: a
 * depthwise conv has one, and im2col would pack nine inputs per output for
 * a GEMM of one filter (MobileNetV2's 3x3 layers). */
#include "common.h"

/* The conv's sizes beside its planes'. */
typedef struct ConvSizes {
    int64_t C, F, Cg, Fg, OH, OW;
} ConvSizes;

INLINE ConvSizes conv_sizes(const dnnk_conv_desc *c)
{
    ConvSizes z = {.C = c->in.dims[1], .F = c->out.dims[1], .OH = c->out.dims[2], .OW = c->out.dims[3]};
    z.Cg = z.C / c->groups, z.Fg = z.F / c->groups;
    return z;
}

/* sums[q] (+)= the taps of filter plane wf over the planes, q < n. */
INLINE void sum_taps(const PlaneGeometry *g, const float *wf, const float *planes, int64_t n, float *sums,
                     bool first)
{
    for (int64_t q = 0; q < n; q += DNNK_LANES) {
        vf acc = first ? (vf){0} : loadv(sums + q);
        for (int64_t ky = 0; ky < g->kh; ky++)
            for (int64_t kx = 0; kx < g->kw; kx++)
                acc = acc + splatv(wf[ky * g->kw + kx]) * loadv(tap_run(g, planes, ky, kx) + q);
        storev(sums + q, acc);
    }
}

/* The tile's outputs: act(sum + bias + residual), rows x cols of them. */
INLINE void write_tile(const PlaneGeometry *g, int64_t OW, const dnnk_act *act, const float *sums, float bias,
                       const float *res, float *out, int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++) {
        const float *s = sums + i * g->width;
        float *o = out + i * OW;
        const float *r = res ? res + i * OW : 0;
        for (int64_t j = 0; j < cols; j++)
            o[j] = activate(act, s[j] + bias + (r ? r[j] : 0.0f));
    }
}

/* Output (n, f, oy, ox) summed alone, for layers whose tile would not fit
 * the buffers: in the order of sum_taps (channel, ky, kx). */
INLINE float direct_sum(const PlaneGeometry *g, int64_t Cg, const float *in, const float *wf, int64_t oy,
                         int64_t ox)
{
    float sum = 0.0f;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = oy * g->sh - g->pad_top + ky * g->dh;
            if (iy < 0 || iy >= g->H)
                continue;
            for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = ox * g->sw - g->pad_left + kx * g->dw;
                if (ix >= 0 && ix < g->W)
                    sum += wf[(c * g->kh + ky) * g->kw + kx] * in[(c * g->H + iy) * g->W + ix];
            }
        }
    return sum;
}

/* units: (image, output channel). ptrs: out, in, [residual], weights
 * [F][Cg][kh][kw], [bias]. */
KERNEL dnnk_conv_direct(const dnnk_direct_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_conv_desc *c = &d->conv;
    ConvSizes z = conv_sizes(c);
    PlaneGeometry g = plane_geometry(&c->win, &c->in, d->tile_rows, d->tile_cols);
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = c->has_residual ? ptrs[2] : 0;
    const float *w = ptrs[2 + c->has_residual], *bias = c->has_bias ? ptrs[3 + c->has_residual] : 0;
    float planes[DNNK_PLANE_FLOATS], sums[DNNK_PLANE_SUM_FLOATS];
    int64_t taps = g.kh * g.kw, out_plane = z.OH * z.OW;
    for (int64_t u = begin; u < end; u++) {
        int64_t n = u / z.F, f = u % z.F, group = f / z.Fg;
        const float *in_group = in + (n * z.C + group * z.Cg) * g.H * g.W;
        const float *wf = w + f * z.Cg * taps;
        float b = bias ? bias[f] : 0.0f;
        float *o = out + u * out_plane;
        const float *r = res ? res + u * out_plane : 0;
        if (!d->tile_rows) {
            for (int64_t p = 0; p < out_plane; p++)
                o[p] = activate(&c->act, direct_sum(&g, z.Cg, in_group, wf, p / z.OW, p % z.OW) + b +
                                             (r ? r[p] : 0.0f));
            continue;
        }
        for (int64_t oy0 = 0; oy0 < z.OH; oy0 += g.rows)
            for (int64_t ox0 = 0; ox0 < z.OW; ox0 += g.cols) {
                int64_t rows = min64(g.rows, z.OH - oy0), cols = min64(g.cols, z.OW - ox0);
                for (int64_t ch = 0; ch < z.Cg; ch++) {
                    fill_planes(&g, &c->win, in_group + ch * g.H * g.W, oy0, ox0, rows, 0.0f, planes);
                    sum_taps(&g, wf + ch * taps, planes, rows * g.width, sums, ch == 0);
                }
                int64_t at = oy0 * z.OW + ox0;
                write_tile(&g, z.OW, &c->act, sums, b, r ? r + at : 0, o + at, rows, cols);
            }
    }
}
