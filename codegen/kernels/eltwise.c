/* Element-wise kernels; units are chunks of DNNK_CHUNK output elements. */
#include "common.h"

/* i[0] selects the function, f[0], f[1] are its parameters. */
enum { UN_RELU, UN_LEAKY_RELU, UN_ELU, UN_SIGMOID, UN_TANH, UN_HARD_SIGMOID, UN_SELU, UN_CLIP };

INLINE float unary(int64_t fn, const double *f, float x)
{
    switch (fn) {
    case UN_RELU: return x > 0 ? x : 0.0f;
    case UN_LEAKY_RELU: return x >= 0 ? x : (float)f[0] * x;
    case UN_ELU: return x > 0 ? x : (float)f[0] * expm1f(x);
    case UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case UN_TANH: return tanhf(x);
    case UN_HARD_SIGMOID: {
        float v = (float)f[0] * x + (float)f[1];
        return v < 0 ? 0.0f : v > 1 ? 1.0f : v;
    }
    case UN_SELU: return (float)f[1] * (x > 0 ? x : (float)f[0] * expm1f(x));
    default: return x;
    }
}

INLINE int64_t chunk_end(const dnnk_desc *d, int64_t end)
{
    return min64(end * DNNK_CHUNK, dnnk_count(&d->out));
}

KERNEL dnnk_unary(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1];
    float *out = ptrs[0];
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(d, end); i++)
        out[i] = unary(d->i[0], d->f, in[i]);
}

/* Any element type: min(max(x, f[0]), f[1]). */
KERNEL dnnk_clip(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(d, end); i++) {
        double v = load_any(d->out.type, ptrs[1], i);
        v = v < d->f[0] ? d->f[0] : v;
        v = v > d->f[1] ? d->f[1] : v;
        store_any(d->out.type, ptrs[0], i, v);
    }
}

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_MAX, BIN_MIN };

INLINE float fbin(int64_t op, float a, float b)
{
    switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_MAX: return a > b || a != a ? a : b;
    default: return a < b || a != a ? a : b;
    }
}

INLINE int64_t ibin(int64_t op, int64_t a, int64_t b)
{
    switch (op) {
    case BIN_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case BIN_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case BIN_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case BIN_DIV: return b ? a / b : 0;
    case BIN_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

/* Folds the operands left to right, each broadcast to the output; i[0] is
 * the operation, i[1] is 1 when every operand has the output's shape. */
KERNEL dnnk_binary(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t op = d->i[0], n_in = d->n_in;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(d, end); i++) {
        if (d->out.type == DNNK_F32) {
            float acc = ((const float *)ptrs[1])[d->i[1] ? i : broadcast_offset(&d->in[0], &d->out, i)];
            for (int64_t k = 1; k < n_in; k++)
                acc = fbin(op, acc,
                           ((const float *)ptrs[1 + k])[d->i[1] ? i : broadcast_offset(&d->in[k], &d->out, i)]);
            ((float *)ptrs[0])[i] = acc;
        } else {
            int64_t acc = load_int(d->in[0].type, ptrs[1], d->i[1] ? i : broadcast_offset(&d->in[0], &d->out, i));
            for (int64_t k = 1; k < n_in; k++)
                acc = ibin(op, acc,
                           load_int(d->in[k].type, ptrs[1 + k],
                                    d->i[1] ? i : broadcast_offset(&d->in[k], &d->out, i)));
            store_int(d->out.type, ptrs[0], i, acc);
        }
    }
}

/* ptrs: out, in, slopes. i[0]: slopes broadcast (1) or one per channel (0). */
KERNEL dnnk_prelu(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1], *slope = ptrs[2];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2);
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(d, end); i++) {
        int64_t k = d->i[0] ? broadcast_offset(&d->in[1], &d->out, i) : (i / inner) % C;
        out[i] = in[i] >= 0 ? in[i] : slope[k] * in[i];
    }
}

/* ptrs: out, in, weight, bias, mean, var; f[0] = eps. Units are planes. */
KERNEL dnnk_batchnorm(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1], *g = ptrs[2], *b = ptrs[3], *mean = ptrs[4], *var = ptrs[5];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2);
    for (int64_t p = begin; p < end; p++) {
        int64_t c = p % C;
        float scale = g[c] / sqrtf(var[c] + (float)d->f[0]), shift = b[c] - mean[c] * scale;
        for (int64_t i = p * inner; i < (p + 1) * inner; i++)
            out[i] = in[i] * scale + shift;
    }
}

/* out[n][c] = max over p < pieces of in[n][c * pieces + p]; units are chunks. */
KERNEL dnnk_maxout(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const float *in = ptrs[1];
    float *out = ptrs[0];
    int64_t C = d->out.dims[1], inner = stride_of(&d->out, 2), k = d->i[0];
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(d, end); i++) {
        int64_t n = i / (C * inner), c = (i / inner) % C, x = i % inner;
        float m = in[((n * C + c) * k) * inner + x];
        for (int64_t p = 1; p < k; p++) {
            float v = in[((n * C + c) * k + p) * inner + x];
            m = v > m ? v : m;
        }
        out[i] = m;
    }
}
