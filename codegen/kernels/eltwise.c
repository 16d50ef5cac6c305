/* Element-wise kernels; units are chunks of DNNK_CHUNK output elements
 * unless said otherwise. */
#include "common.h"

INLINE float apply_unary(const dnnk_unary_desc *d, float x)
{
    switch (d->fn) {
    case DNNK_UNARY_RELU: return x > 0 ? x : 0.0f;
    case DNNK_UNARY_LEAKY_RELU: return x >= 0 ? x : (float)d->alpha * x;
    case DNNK_UNARY_ELU: return x > 0 ? x : (float)d->alpha * expm1f(x);
    case DNNK_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DNNK_UNARY_TANH: return tanhf(x);
    case DNNK_UNARY_HARD_SIGMOID: {
        float v = (float)d->alpha * x + (float)d->beta;
        return v < 0 ? 0.0f : v > 1 ? 1.0f : v;
    }
    case DNNK_UNARY_SELU: return (float)d->beta * (x > 0 ? x : (float)d->alpha * expm1f(x));
    default: return x;
    }
}

KERNEL dnnk_unary(const dnnk_unary_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++)
        out[i] = apply_unary(d, in[i]);
}

/* Any element type: min(max(x, min), max). */
KERNEL dnnk_clip(const dnnk_clip_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++) {
        double v = load_any(d->out.type, ptrs[1], i);
        v = v < d->min ? d->min : v;
        v = v > d->max ? d->max : v;
        store_any(d->out.type, ptrs[0], i, v);
    }
}

INLINE float fbin(int64_t op, float a, float b)
{
    switch (op) {
    case DNNK_BINARY_ADD: return a + b;
    case DNNK_BINARY_SUB: return a - b;
    case DNNK_BINARY_MUL: return a * b;
    case DNNK_BINARY_DIV: return a / b;
    case DNNK_BINARY_MAX: return a > b || a != a ? a : b;
    default: return a < b || a != a ? a : b;
    }
}

INLINE int64_t ibin(int64_t op, int64_t a, int64_t b)
{
    switch (op) {
    case DNNK_BINARY_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case DNNK_BINARY_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case DNNK_BINARY_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case DNNK_BINARY_DIV: return b ? a / b : 0;
    case DNNK_BINARY_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

/* The element of operand k that output element i reads. */
INLINE int64_t operand_index(const dnnk_binary_desc *d, int64_t k, int64_t i)
{
    return d->same_shape ? i : broadcast_offset(&d->in[k], &d->out, i);
}

/* Folds the operands left to right, each broadcast to the output. */
KERNEL dnnk_binary(const dnnk_binary_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t op = d->op, n_in = d->n_in;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++) {
        if (d->out.type == DNNK_F32) {
            float acc = ((const float *)ptrs[1])[operand_index(d, 0, i)];
            for (int64_t k = 1; k < n_in; k++)
                acc = fbin(op, acc, ((const float *)ptrs[1 + k])[operand_index(d, k, i)]);
            ((float *)ptrs[0])[i] = acc;
        } else {
            int64_t acc = load_integer(d->in[0].type, ptrs[1], operand_index(d, 0, i));
            for (int64_t k = 1; k < n_in; k++)
                acc = ibin(op, acc, load_integer(d->in[k].type, ptrs[1 + k], operand_index(d, k, i)));
            store_integer(d->out.type, ptrs[0], i, acc);
        }
    }
}

/* ptrs: out, in, slopes. */
KERNEL dnnk_prelu(const dnnk_prelu_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1], *slope = ptrs[2];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2);
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++) {
        int64_t k = d->broadcast ? broadcast_offset(&d->slope, &d->out, i) : (i / inner) % C;
        out[i] = in[i] >= 0 ? in[i] : slope[k] * in[i];
    }
}

/* ptrs: out, in, weight, bias, mean, var. Units are planes. */
KERNEL dnnk_batchnorm(const dnnk_batchnorm_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1], *g = ptrs[2], *b = ptrs[3], *mean = ptrs[4], *var = ptrs[5];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2);
    for (int64_t p = begin; p < end; p++) {
        int64_t c = p % C;
        float scale = g[c] / sqrtf(var[c] + (float)d->eps), shift = b[c] - mean[c] * scale;
        for (int64_t i = p * inner; i < (p + 1) * inner; i++)
            out[i] = in[i] * scale + shift;
    }
}

/* y = x * scale[c] + shift[c]. ptrs: out, in, scale, shift. Units are
 * planes. */
KERNEL dnnk_scale_shift(const dnnk_plain_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1], *scale = ptrs[2], *shift = ptrs[3];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2);
    for (int64_t p = begin; p < end; p++)
        for (int64_t i = p * inner; i < (p + 1) * inner; i++)
            out[i] = in[i] * scale[p % C] + shift[p % C];
}

/* out[n][c] = max over p < pieces of in[n][c * pieces + p]. */
KERNEL dnnk_maxout(const dnnk_maxout_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2), k = d->pieces;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++) {
        int64_t n = i / (C * inner), c = (i / inner) % C, x = i % inner;
        float m = in[((n * C + c) * k) * inner + x];
        for (int64_t p = 1; p < k; p++) {
            float v = in[((n * C + c) * k + p) * inner + x];
            m = v > m ? v : m;
        }
        out[i] = m;
    }
}
