/* Softmax, batch normalisation (and the scale-and-shift it folds into), and
 * local response normalisation. */
#include <math.h>

#include "kernels.h"

/* Along one axis: exp(x - max) / sum, the sum in double, ascending; the
 * log variant gives x - max - log(sum). */
static void softmax(const KernelArgs *a, bool log_output)
{
    const Shape *s = a->out_shape;
    int64_t axis = a->node->attr.axis.axis < 0 ? a->node->attr.axis.axis + s->rank
                                               : a->node->attr.axis.axis;
    int64_t outer = dims_product(s, 0, (int)axis), n = s->d[axis];
    int64_t inner = dims_product(s, (int)axis + 1, s->rank);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = fin(a, 0) + o * n * inner + i;
            float *y = fout(a) + o * n * inner + i;
            double m = x[0], sum = 0;
            for (int64_t k = 1; k < n; k++)
                m = x[k * inner] > m ? x[k * inner] : m;
            for (int64_t k = 0; k < n; k++)
                sum += exp((double)x[k * inner] - m);
            for (int64_t k = 0; k < n; k++)
                y[k * inner] = log_output ? (float)((double)x[k * inner] - m - log(sum))
                                          : (float)(exp((double)x[k * inner] - m) / sum);
        }
}

void ref_softmax(const KernelArgs *a) { softmax(a, false); }
void ref_log_softmax(const KernelArgs *a) { softmax(a, true); }

/* y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c], channel c =
 * dimension 1, computed in double. */
void ref_batchnorm(const KernelArgs *a)
{
    const Shape *s = a->out_shape;
    int64_t C = s->d[1], inner = dims_product(s, 2, s->rank), total = dims_product(s, 0, s->rank);
    const float *gamma = fparam(a, 0), *beta = fparam(a, 1), *mean = fparam(a, 2), *var = fparam(a, 3);
    double eps = a->node->attr.batchnorm.eps;
    for (int64_t i = 0; i < total; i++) {
        int64_t c = (i / inner) % C;
        double norm = ((double)fin(a, 0)[i] - mean[c]) / sqrt((double)var[c] + eps);
        fout(a)[i] = (float)(norm * gamma[c] + beta[c]);
    }
}

/* y = x * scale[c] + shift[c], channel c = dimension 1, in double. */
void ref_scale_shift(const KernelArgs *a)
{
    const Shape *s = a->out_shape;
    int64_t C = s->d[1], inner = dims_product(s, 2, s->rank), total = dims_product(s, 0, s->rank);
    const float *scale = fparam(a, 0), *shift = fparam(a, 1);
    for (int64_t i = 0; i < total; i++) {
        int64_t c = (i / inner) % C;
        fout(a)[i] = (float)((double)fin(a, 0)[i] * scale[c] + shift[c]);
    }
}

/* Across channels, as ONNX defines it: the window of channel c is
 * [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the channels, and
 *   y = x / (bias + alpha / size * sum of x^2 over the window)^beta. */
void ref_lrn(const KernelArgs *a)
{
    const LrnAttrs *at = &a->node->attr.lrn;
    const Shape *s = a->out_shape;
    int64_t N = s->d[0], C = s->d[1], inner = dims_product(s, 2, s->rank);
    int64_t before = (at->size - 1) / 2, after = at->size - 1 - before;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < inner; i++) {
                double sum = 0;
                int64_t lo = c - before < 0 ? 0 : c - before, hi = c + after >= C ? C - 1 : c + after;
                for (int64_t k = lo; k <= hi; k++) {
                    double v = fin(a, 0)[(n * C + k) * inner + i];
                    sum += v * v;
                }
                double x = fin(a, 0)[(n * C + c) * inner + i];
                fout(a)[(n * C + c) * inner + i] =
                    (float)(x / pow(at->bias + at->alpha / (double)at->size * sum, at->beta));
            }
}
