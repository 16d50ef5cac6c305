/* Phase planes (dnnk.h, "phase planes"): a tile's input window copied,
 * padded, so that every tap of a window op is one contiguous run over the
 * tile. Shared by the direct convolution (zeros for padding) and the float
 * max pooling (-infinity). */
#include "common.h"

typedef struct PlaneGeometry {
    int64_t H, W; /* the input plane */
    int64_t kh, kw, sh, sw, dh, dw, pad_top, pad_left;
    int64_t rows, cols;   /* the tile */
    int64_t width, plane; /* a plane's row width, floats a plane */
} PlaneGeometry;

INLINE PlaneGeometry plane_geometry(const dnnk_window *w, const dnnk_tensor *in, int64_t rows, int64_t cols)
{
    PlaneGeometry g = {
        .H = in->dims[2], .W = in->dims[3],
        .kh = w->kernel[0], .kw = w->kernel[1], .sh = w->stride[0], .sw = w->stride[1],
        .dh = w->dilation[0], .dw = w->dilation[1], .pad_top = w->pad[0], .pad_left = w->pad[1],
        .rows = rows, .cols = cols,
    };
    g.width = dnnk_plane_width(w, cols);
    g.plane = dnnk_plane_floats(w, rows, cols);
    return g;
}

/* Whether some tap lands on phase p of a stride s (dilation d, k taps). */
INLINE bool phase_used(int64_t p, int64_t k, int64_t d, int64_t s)
{
    for (int64_t t = 0; t < k; t++)
        if (t * d % s == p)
            return true;
    return false;
}

INLINE void fill_floats(float *p, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

#if DNNK_LANES == 16
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#else
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#endif

/* row[c] = src[2 c] for c in [lo, hi), two vectors at a time while the
 * second lies within the row's w elements; returns where it stopped. */
INLINE int64_t copy_even(const float *src, int64_t w, float *row, int64_t lo, int64_t hi)
{
    int64_t c = lo;
    for (; c + DNNK_LANES <= hi && 2 * (c + DNNK_LANES) <= w; c += DNNK_LANES)
        storev(row + c, __builtin_shufflevector(loadv(src + 2 * c), loadv(src + 2 * c + DNNK_LANES), EVEN_LANES));
    return c;
}

/* A phase plane's row: input columns base + c * sw for c < width, `pad`
 * outside the image; src is the input row, NULL outside the image. A
 * stride of 2 (the usual one) takes the even elements of vector pairs. */
INLINE void fill_plane_row(const PlaneGeometry *g, const float *src, int64_t base, float pad, float *row)
{
    if (!src) {
        fill_floats(row, g->width, pad);
        return;
    }
    int64_t lo = base >= 0 ? 0 : dnnk_ceil_div(-base, g->sw);
    int64_t hi = base >= g->W ? 0 : dnnk_ceil_div(g->W - base, g->sw);
    lo = min64(lo, g->width), hi = hi < lo ? lo : min64(hi, g->width);
    fill_floats(row, lo, pad);
    int64_t c = g->sw == 2 ? copy_even(src + base, g->W - base, row, lo, hi) : lo;
    for (; c < hi; c++)
        row[c] = src[base + c * g->sw];
    fill_floats(row + hi, g->width - hi, pad);
}

/* The phase planes of the tile at (oy0, ox0), `rows` rows of it, from the
 * input plane `in`; only the phases some tap reads. */
INLINE void fill_planes(const PlaneGeometry *g, const dnnk_window *w, const float *in, int64_t oy0, int64_t ox0,
                        int64_t rows, float pad, float *planes)
{
    int64_t plane_rows = rows + dnnk_plane_extra_rows(w);
    for (int64_t py = 0; py < g->sh; py++) {
        if (!phase_used(py, g->kh, g->dh, g->sh))
            continue;
        for (int64_t px = 0; px < g->sw; px++) {
            if (!phase_used(px, g->kw, g->dw, g->sw))
                continue;
            float *p = planes + (py * g->sw + px) * g->plane;
            int64_t base = ox0 * g->sw - g->pad_left + px;
            for (int64_t r = 0; r < plane_rows; r++) {
                int64_t iy = oy0 * g->sh - g->pad_top + r * g->sh + py;
                fill_plane_row(g, iy >= 0 && iy < g->H ? in + iy * g->W : 0, base, pad, p + r * g->width);
            }
            /* What the last vectors read past the rows: dropped columns. */
            fill_floats(p + plane_rows * g->width, g->plane - plane_rows * g->width, pad);
        }
    }
}

/* Where tap (ky, kx) reads in the planes: q = 0 of its run. */
INLINE const float *tap_run(const PlaneGeometry *g, const float *planes, int64_t ky, int64_t kx)
{
    int64_t dy = ky * g->dh, dx = kx * g->dw;
    return planes + (dy % g->sh * g->sw + dx % g->sw) * g->plane + dy / g->sh * g->width + dx / g->sw;
}
