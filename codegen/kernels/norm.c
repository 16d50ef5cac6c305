/* Softmax, log-softmax and local response normalisation. */
#include "common.h"

/* Units are outer * inner lines along the axis. */
KERNEL dnnk_softmax(const dnnk_softmax_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t n = d->n, inner = d->inner;
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t line = begin; line < end; line++) {
        int64_t o = line / inner, j = line % inner;
        const float *x = in + o * n * inner + j;
        float *y = out + o * n * inner + j;
        float m = x[0], sum = 0;
        for (int64_t k = 1; k < n; k++)
            m = x[k * inner] > m ? x[k * inner] : m;
        for (int64_t k = 0; k < n; k++)
            sum += expf(x[k * inner] - m);
        float log_sum = logf(sum);
        for (int64_t k = 0; k < n; k++)
            y[k * inner] = d->log ? x[k * inner] - m - log_sum : expf(x[k * inner] - m) / sum;
    }
}

/* Across channels (ONNX). Units are (image, channel) planes. */
KERNEL dnnk_lrn(const dnnk_lrn_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2), size = d->size;
    int64_t before = (size - 1) / 2, after = size - 1 - before;
    const float *in = ptrs[1];
    float *out = ptrs[0];
    float alpha = (float)(d->alpha / (double)size), beta = (float)d->beta, bias = (float)d->bias;
    for (int64_t p = begin; p < end; p++) {
        int64_t n = p / C, c = p % C;
        int64_t lo = c - before < 0 ? 0 : c - before, hi = c + after >= C ? C - 1 : c + after;
        for (int64_t i = 0; i < inner; i++) {
            float sum = 0;
            for (int64_t k = lo; k <= hi; k++) {
                float v = in[(n * C + k) * inner + i];
                sum += v * v;
            }
            out[p * inner + i] = in[p * inner + i] / powf(bias + alpha * sum, beta);
        }
    }
}
