/* coded_conv: a float convolution whose weights are codes (log2, codebook,
 * binary, ternary; ir/weight_code.h), packed 1 to 8 bits each as in a
 * weights file (pack_coded_codes). Each code is unpacked and decoded in
 * registers where its products are taken, never written back as a float
 * filter:
 *   codebook  a lookup in the layer's 2^bits centroids
 *   log2      the power of two 2^-(m-1) built from the magnitude bits
 *             straight into a float's exponent field, times the filter's
 *             scale (exact: a product by a power of two), the sign bit
 *             from the code's
 *   binary    the scale with its sign bit set from the code
 *   ternary   the code sign-extended from 2 bits to -1, 0 or 1, times the
 *             scale
 * Each decoded value is the one the reference executor computes, and each
 * output's sum is taken as the reference's conv_core takes it (channel,
 * ky, kx ascending, in double: a float times a float is exact in double,
 * fused or not), with its epilogue, so the result is the reference's bit
 * for bit. A tap's code is decoded once per block of outputs and added to
 * all of them; the sums stay in double (float sums, or another order,
 * would not be the reference's). */
#include "common.h"

INLINE uint32_t coded_bits_of(float v)
{
    uint32_t u;
    __builtin_memcpy(&u, &v, sizeof u);
    return u;
}

INLINE float coded_float_of(uint32_t u)
{
    float v;
    __builtin_memcpy(&v, &u, sizeof v);
    return v;
}

INLINE float coded_log2(uint32_t code, int64_t bits, float scale)
{
    uint32_t sign = code >> (bits - 1), m = code & ((1u << (bits - 1)) - 1);
    if (m == 0)
        return 0.0f;
    float power = coded_float_of((127u - (m - 1)) << 23); /* 2^-(m-1); m <= 127 keeps it normal */
    return coded_float_of(coded_bits_of(scale * power) ^ sign << 31);
}

/* Code i of the packed codes: code_bits (1 to 8) from bit i * code_bits,
 * read as two bytes (the packing ends with a spare zero byte). */
INLINE uint32_t coded_code(const dnnk_coded_desc *d, const uint8_t *packed, int64_t i)
{
    int64_t at = i * d->code_bits;
    uint32_t two = packed[at >> 3] | (uint32_t)packed[(at >> 3) + 1] << 8;
    return (two >> (at & 7)) & ((1u << d->code_bits) - 1);
}

INLINE float coded_weight(const dnnk_coded_desc *d, uint32_t code, float scale, const float *codebook)
{
    switch (d->weight_type) {
    case DNNK_CODEBOOK: return codebook[code];
    case DNNK_BINARY: return coded_float_of(coded_bits_of(scale) ^ (~code & 1u) << 31);
    case DNNK_TERNARY: return (float)((int32_t)(code << 30) >> 30) * scale;
    default: return coded_log2(code, d->weight_bits, scale);
    }
}

/* Outputs are summed a block at a time, up to CODED_BLOCK of them (rows
 * of a column run, as many whole rows as fit): each tap's code is decoded
 * once into a register and its products added to every output of the
 * block that reads an input there (loops the compiler vectorises). */
#define CODED_BLOCK 4096

/* A block of outputs: rows [oy0, oy0 + rows), columns [ox0, ox0 + cols). */
typedef struct CodedBlock {
    int64_t oy0, rows, ox0, cols;
} CodedBlock;

/* The outputs of the block's columns whose tap at kernel column kx reads
 * inside the input, ox * sw - pad_left + kx * dw in [0, W): [*lo, *hi). */
INLINE void coded_columns(const dnnk_window *w, int64_t W, int64_t kx, const CodedBlock *b, int64_t *lo,
                          int64_t *hi)
{
    int64_t shift = w->pad[1] - kx * w->dilation[1], sw = w->stride[1];
    int64_t first = shift > 0 ? (shift + sw - 1) / sw : 0;
    int64_t end = W + shift > 0 ? (W + shift + sw - 1) / sw : 0;
    *lo = first > b->ox0 ? first : b->ox0;
    *hi = end < b->ox0 + b->cols ? end : b->ox0 + b->cols;
}

/* One tap (c, ky, kx) of weight wv added to the block's sums. */
INLINE void coded_tap(const dnnk_window *w, int64_t H, int64_t W, const float *plane, int64_t ky, int64_t kx,
                      double wv, const CodedBlock *b, double *acc)
{
    int64_t lo, hi, sw = w->stride[1];
    coded_columns(w, W, kx, b, &lo, &hi);
    for (int64_t r = 0; r < b->rows; r++) {
        int64_t iy = (b->oy0 + r) * w->stride[0] - w->pad[0] + ky * w->dilation[0];
        if (iy < 0 || iy >= H)
            continue;
        const float *x = plane + iy * W - w->pad[1] + kx * w->dilation[1];
        double *a = acc + r * b->cols - b->ox0;
        for (int64_t ox = lo; ox < hi; ox++)
            a[ox] += (double)x[ox * sw] * wv;
    }
}

/* acc[r * cols + j] = conv_core's sum for output (oy0 + r, ox0 + j): every
 * output's terms in conv_core's order (channel, ky, kx), skipped where the
 * tap falls in the padding, in double. */
INLINE void coded_sums(const dnnk_coded_desc *d, const float *in, const uint8_t *codes, int64_t first,
                       float scale, const float *codebook, const CodedBlock *b, double *acc)
{
    const dnnk_window *w = &d->conv.win;
    int64_t Cg = d->conv.in.dims[1] / d->conv.groups, H = d->conv.in.dims[2], W = d->conv.in.dims[3];
    int64_t KH = w->kernel[0], KW = w->kernel[1];
    for (int64_t j = 0; j < b->rows * b->cols; j++)
        acc[j] = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++) {
                uint32_t code = coded_code(d, codes, first + (c * KH + ky) * KW + kx);
                coded_tap(w, H, W, in + c * H * W, ky, kx, coded_weight(d, code, scale, codebook), b, acc);
            }
}

/* units: (image, output channel); ptrs as dnnk_coded_desc lists them. */
KERNEL dnnk_coded_conv(const dnnk_coded_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t C = c->in.dims[1], H = c->in.dims[2], W = c->in.dims[3];
    int64_t F = c->out.dims[1], OH = c->out.dims[2], OW = c->out.dims[3];
    int64_t Cg = C / c->groups, Fg = F / c->groups, per_filter = Cg * c->win.kernel[0] * c->win.kernel[1];
    const float *decoder = ptrs[3], *bias = c->has_bias ? ptrs[4] : 0;
    for (int64_t u = begin; u < end; u++) {
        int64_t n = u / F, f = u % F;
        const float *in = (const float *)ptrs[1] + (n * C + f / Fg * Cg) * H * W;
        const uint8_t *codes = ptrs[2]; /* the filter's codes from code f * per_filter */
        float scale = decoder[d->per_channel ? f : 0];
        double bias_f = bias ? bias[f] : 0.0;
        float *out = (float *)ptrs[0] + (n * F + f) * OH * OW;
        double acc[CODED_BLOCK];
        int64_t cols = OW < CODED_BLOCK ? OW : CODED_BLOCK, rows = CODED_BLOCK / cols;
        for (int64_t oy0 = 0; oy0 < OH; oy0 += rows)
            for (int64_t ox0 = 0; ox0 < OW; ox0 += cols) {
                CodedBlock b = {oy0, OH - oy0 < rows ? OH - oy0 : rows, ox0, OW - ox0 < cols ? OW - ox0 : cols};
                coded_sums(d, in, codes, f * per_filter, scale, decoder, &b, acc);
                /* the reference's epilogue: acc + bias + residual (none), rounded once */
                for (int64_t r = 0; r < b.rows; r++)
                    for (int64_t j = 0; j < b.cols; j++)
                        out[(oy0 + r) * OW + ox0 + j] = activate(&c->act, (float)(acc[r * b.cols + j] + bias_f + 0.0));
            }
    }
}
