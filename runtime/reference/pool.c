/* Max, average and global pooling. */
#include <float.h>
#include <math.h>

#include "kernels.h"

/* The input rows [lo, hi) a window covers, before and after clipping. */
typedef struct Window {
    int64_t lo, hi;       /* clipped to the input */
    int64_t padded_extent; /* extent clipped to input + padding (count_include_pad) */
} Window;

static Window window(int64_t out_pos, int64_t stride, int64_t pad_lo, int64_t pad_hi, int64_t k,
                     int64_t in)
{
    int64_t start = out_pos * stride - pad_lo, end = start + k;
    Window w;
    int64_t padded_end = end < in + pad_hi ? end : in + pad_hi;
    w.padded_extent = padded_end - start;
    w.lo = start < 0 ? 0 : start;
    w.hi = end < in ? end : in;
    return w;
}

/* Max over the part of the window inside the input: padding never wins.
 * Any element type: values compare exactly as doubles. */
void ref_maxpool(const KernelArgs *a)
{
    const PoolAttrs *at = &a->node->attr.pool;
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    int64_t NC = is->d[0] * is->d[1], H = is->d[2], W = is->d[3], OH = os->d[2], OW = os->d[3];
    ElemKind k = a->in_type[0];
    for (int64_t p = 0; p < NC; p++)
        for (int64_t y = 0; y < OH; y++)
            for (int64_t x = 0; x < OW; x++) {
                double m = -HUGE_VAL;
                for (int64_t ky = 0; ky < at->kernel[0]; ky++) {
                    int64_t iy = y * at->stride[0] - at->pad[0] + ky * at->dilation[0];
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < at->kernel[1]; kx++) {
                        int64_t ix = x * at->stride[1] - at->pad[1] + kx * at->dilation[1];
                        if (ix < 0 || ix >= W)
                            continue;
                        double v = load_elem(k, a->in[0], (p * H + iy) * W + ix);
                        m = v > m ? v : m;
                    }
                }
                store_elem(k, a->out, (p * OH + y) * OW + x, m);
            }
}

/* Sum (row-major over the window) divided by the number of input elements
 * the window covers, or with count_include_pad by the window clipped to the
 * padded input (PyTorch's and ONNX's rule, also in ceil mode). */
void ref_avgpool(const KernelArgs *a)
{
    const PoolAttrs *at = &a->node->attr.pool;
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    int64_t NC = is->d[0] * is->d[1], H = is->d[2], W = is->d[3], OH = os->d[2], OW = os->d[3];
    for (int64_t p = 0; p < NC; p++)
        for (int64_t y = 0; y < OH; y++) {
            Window wy = window(y, at->stride[0], at->pad[0], at->pad[2], at->kernel[0], H);
            for (int64_t x = 0; x < OW; x++) {
                Window wx = window(x, at->stride[1], at->pad[1], at->pad[3], at->kernel[1], W);
                double sum = 0;
                for (int64_t iy = wy.lo; iy < wy.hi; iy++)
                    for (int64_t ix = wx.lo; ix < wx.hi; ix++)
                        sum += fin(a, 0)[(p * H + iy) * W + ix];
                int64_t count = at->count_include_pad ? wy.padded_extent * wx.padded_extent
                                                      : (wy.hi - wy.lo) * (wx.hi - wx.lo);
                fout(a)[(p * OH + y) * OW + x] = (float)(sum / (double)count);
            }
        }
}

void ref_global_maxpool(const KernelArgs *a)
{
    const Shape *is = a->in_shape[0];
    int64_t NC = is->d[0] * is->d[1], S = dims_product(is, 2, is->rank);
    for (int64_t p = 0; p < NC; p++) {
        double m = -HUGE_VAL;
        for (int64_t i = 0; i < S; i++) {
            double v = load_elem(a->in_type[0], a->in[0], p * S + i);
            m = v > m ? v : m;
        }
        store_elem(a->out_type, a->out, p, m);
    }
}

void ref_global_avgpool(const KernelArgs *a)
{
    const Shape *is = a->in_shape[0];
    int64_t NC = is->d[0] * is->d[1], S = dims_product(is, 2, is->rank);
    for (int64_t p = 0; p < NC; p++) {
        double sum = 0;
        for (int64_t i = 0; i < S; i++)
            sum += fin(a, 0)[p * S + i];
        fout(a)[p] = (float)(sum / (double)S);
    }
}
