/* Quantised kernels, written for clarity: they serve the ONNX quantised
 * operators exactly as the reference executor defines them. Units are
 * chunks of output elements (quantize, dequantize) or images (conv) or rows
 * (matmul). */
#include "common.h"

/* Elements [i, end) that share the scale and zero point of element i. */
INLINE int64_t quant_run_end(const dnnk_quant_desc *d, int64_t i, int64_t end)
{
    return d->per_axis ? min64(end, (i / d->inner + 1) * d->inner) : end;
}

INLINE int64_t quant_index(const dnnk_quant_desc *d, int64_t i)
{
    return d->per_axis ? (i / d->inner) % d->out.dims[d->axis] : 0;
}

/* The loops below are the reference's steps (runtime/reference/quant.c),
 * element by element, with the element types constant so that clang
 * vectorises them (vdivpd, vrndscalepd, vcvtpd2dq on AVX-512): nothing
 * about the arithmetic changes, so neither does a bit. */

/* x / scale in double, rounded half to even, plus the zero point,
 * saturated to the type; NaN gives 0 (the reference's store_elem). */
INLINE void quantize_run(int64_t type, const float *x, void *out, int64_t i, int64_t end, double scale,
                         double zero_point)
{
    double lo = type == DNNK_U8 ? 0 : type == DNNK_I8 ? -128 : type == DNNK_I16 ? -32768 : -2147483648.0;
    double hi = type == DNNK_U8 ? 255 : type == DNNK_I8 ? 127 : type == DNNK_I16 ? 32767 : 2147483647.0;
    for (; i < end; i++) {
        double r = round_even(x[i] / scale) + zero_point;
        r = r < lo ? lo : r > hi ? hi : r;
        int32_t v = r != r ? 0 : (int32_t)r;
        if (type == DNNK_U8)
            ((uint8_t *)out)[i] = (uint8_t)v;
        else if (type == DNNK_I8)
            ((int8_t *)out)[i] = (int8_t)v;
        else if (type == DNNK_I16)
            ((int16_t *)out)[i] = (int16_t)v;
        else
            ((int32_t *)out)[i] = v;
    }
}

KERNEL dnnk_quantize(const dnnk_quant_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t last = chunk_end(&d->out, end);
    for (int64_t i = begin * DNNK_CHUNK, next; i < last; i = next) {
        int64_t c = quant_index(d, i);
        double scale = ((const float *)ptrs[2])[c], zero_point = load_any(d->out.type, ptrs[3], c);
        next = quant_run_end(d, i, last);
        switch (d->out.type) { /* each call inlined with its type constant */
        case DNNK_U8: quantize_run(DNNK_U8, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        case DNNK_I8: quantize_run(DNNK_I8, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        case DNNK_I16: quantize_run(DNNK_I16, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        default: quantize_run(DNNK_I32, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        }
    }
}

/* (q - zero_point) * scale in double, rounded to float once. */
INLINE void dequantize_run(int64_t type, const void *q, float *out, int64_t i, int64_t end, double scale,
                           double zero_point)
{
    for (; i < end; i++)
        out[i] = (float)((load_any(type, q, i) - zero_point) * scale);
}

KERNEL dnnk_dequantize(const dnnk_quant_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t last = chunk_end(&d->out, end), t = d->in.type;
    for (int64_t i = begin * DNNK_CHUNK, next; i < last; i = next) {
        int64_t c = quant_index(d, i);
        double scale = ((const float *)ptrs[2])[c], zero_point = load_any(t, ptrs[3], c);
        next = quant_run_end(d, i, last);
        switch (t) {
        case DNNK_U8: dequantize_run(DNNK_U8, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        case DNNK_I8: dequantize_run(DNNK_I8, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        case DNNK_I16: dequantize_run(DNNK_I16, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        default: dequantize_run(DNNK_I32, ptrs[1], ptrs[0], i, next, scale, zero_point); break;
        }
    }
}

/* The integer sum of one output of a quantised convolution, zero points
 * subtracted. */
INLINE int64_t qconv_sum(const dnnk_qconv_desc *d, const void *x, const void *w, double x_zp,
                         const void *w_zp, int64_t n, int64_t f, int64_t y, int64_t xo)
{
    const dnnk_window *a = &d->win;
    int64_t C = d->in.dims[1], H = d->in.dims[2], W = d->in.dims[3];
    int64_t G = d->groups, Cg = C / G, Fg = d->out.dims[1] / G, g = f / Fg;
    int64_t KH = a->kernel[0], KW = a->kernel[1], wt = d->weight_type, xt = d->in.type;
    int64_t wz = (int64_t)load_any(wt, w_zp, d->per_channel ? f : 0);
    int64_t sum = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ky = 0; ky < KH; ky++) {
            int64_t iy = y * a->stride[0] - a->pad[0] + ky * a->dilation[0];
            if (iy < 0 || iy >= H)
                continue;
            for (int64_t kx = 0; kx < KW; kx++) {
                int64_t ix = xo * a->stride[1] - a->pad[1] + kx * a->dilation[1];
                if (ix < 0 || ix >= W)
                    continue;
                int64_t xv = load_integer(xt, x, ((n * C + g * Cg + c) * H + iy) * W + ix) - (int64_t)x_zp;
                int64_t wv = load_integer(wt, w, ((f * Cg + c) * KH + ky) * KW + kx) - wz;
                sum += xv * wv;
            }
        }
    return sum;
}

/* m = 2^*e, a normal double: the requantisation multiplier of dynamic
 * fixed point (fixed16's 2^(frac_out - frac_in - frac_w)). */
INLINE bool power_of_two(double m, int64_t *e)
{
    uint64_t bits;
    copy_bytes(&bits, &m, sizeof bits);
    int64_t biased = (int64_t)(bits >> 52 & 0x7ff);
    if ((bits & 0x800fffffffffffffull) != 0 || biased == 0 || biased == 0x7ff)
        return false;
    *e = biased - 1023;
    return true;
}

/* round_half_even(v * 2^e) in integers, exact for every v (left shifts
 * saturate at 64 bits): for |v| < 2^53 the same as rounding the double
 * product, beyond it the only exact answer (runtime/reference/qconv16.c). */
INLINE int64_t shift_round_even(int64_t v, int64_t e)
{
    if (v == 0)
        return 0;
    if (e >= 0) {
        int64_t limit = e >= 63 ? 0 : INT64_MAX >> e;
        if (v > limit || v < -limit)
            return v > 0 ? INT64_MAX : INT64_MIN;
        return v * ((int64_t)1 << e);
    }
    if (e <= -64) /* |v| is at most half of 2^-e: rounds to 0 */
        return 0;
    /* The floor q and the remainder r in [0, 2^s), rounded up past half
     * and at half to the even neighbour. */
    int64_t s = -e, q = v >> s;
    uint64_t r = (uint64_t)v - ((uint64_t)q << s), half = (uint64_t)1 << (s - 1);
    return q + (r > half || (r == half && (q & 1)));
}

/* A qlinear_conv's residual operand: its integers, their zero point and
 * the multiplier M_r (dnnk_residual_multiplier); data NULL without one. */
typedef struct QconvResidual {
    const void *data;
    int64_t type;
    double zero_point, m;
} QconvResidual;

/* The pointers of a qlinear_conv without its residual operand, which go
 * to *r: `rest` (room for 12) holds them where a layer without one has
 * them, and is returned; ptrs itself when the layer has none. */
INLINE void *const *qconv_split_residual(const dnnk_qconv_desc *d, void *const *ptrs, void **rest,
                                         QconvResidual *r)
{
    r->data = NULL;
    if (!d->has_residual)
        return ptrs;
    int64_t params = 7 + d->has_bias; /* weight .. y_zero_point, bias */
    rest[0] = ptrs[0], rest[1] = ptrs[1];
    for (int64_t k = 0; k < params + 2; k++)
        rest[2 + k] = ptrs[3 + k];
    r->data = ptrs[2], r->type = d->residual_type;
    r->zero_point = load_any(r->type, rest[2 + params + 1], 0);
    r->m = dnnk_residual_multiplier(((const float *)rest[2 + params])[0], ((const float *)rest[7])[0]);
    return rest;
}

/* nearbyint((double)sum * m + (r_i - r_zero_point) * M_r), the reference's
 * rounding steps: each product rounded, then the sum (no fused
 * multiply-add, which the library's -ffp-contract=fast would make). */
INLINE double requantise_residual(double sum, double m, const QconvResidual *r, int64_t i)
{
#pragma clang fp contract(off)
    double residual = (load_any(r->type, r->data, i) - r->zero_point) * r->m;
    return round_even(sum * m + residual);
}

/* Units are images; the pointers are listed with dnnk_qconv_desc. */
KERNEL dnnk_qconv(const dnnk_qconv_desc *d, void *const *all_ptrs, int64_t begin, int64_t end)
{
    void *rest[12];
    QconvResidual r;
    void *const *ptrs = qconv_split_residual(d, all_ptrs, rest, &r);
    bool linear = d->linear;
    int64_t F = d->out.dims[1], OH = d->out.dims[2], OW = d->out.dims[3], xt = d->in.type;
    const void *x_zp = ptrs[linear ? 4 : 3], *w_zp = ptrs[linear ? 6 : 4];
    double xz = load_any(xt, x_zp, 0);
    for (int64_t n = begin; n < end; n++)
        for (int64_t f = 0; f < F; f++)
            for (int64_t y = 0; y < OH; y++)
                for (int64_t xo = 0; xo < OW; xo++) {
                    int64_t i = ((n * F + f) * OH + y) * OW + xo;
                    int64_t sum = qconv_sum(d, ptrs[1], ptrs[2], xz, w_zp, n, f, y, xo);
                    if (!linear) {
                        ((int32_t *)ptrs[0])[i] = (int32_t)sum;
                        continue;
                    }
                    if (d->has_bias)
                        sum += ((const int32_t *)ptrs[9])[f];
                    double scale = dnnk_requant_multiplier(((const float *)ptrs[3])[0],
                                                           ((const float *)ptrs[5])[d->per_channel ? f : 0],
                                                           ((const float *)ptrs[7])[0]);
                    double y_zero_point = load_any(d->out.type, ptrs[8], 0);
                    int64_t e;
                    double y = r.data                     ? requantise_residual((double)sum, scale, &r, i)
                               : power_of_two(scale, &e) ? (double)shift_round_even(sum, e)
                                                         : round_even((double)sum * scale);
                    store_saturated(d->out.type, ptrs[0], i, y + y_zero_point);
                }
}

/* Units are output rows (batch x M); the pointers are listed with
 * dnnk_qmatmul_desc. */
KERNEL dnnk_qmatmul(const dnnk_qmatmul_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    bool linear = d->linear, per_col = d->per_column;
    const dnnk_tensor *as = &d->a, *bs = &d->b, *os = &d->out;
    int64_t M = as->dims[as->rank - 2], K = as->dims[as->rank - 1], N = bs->dims[bs->rank - 1];
    dnnk_tensor ba = *as, bb = *bs, bo = *os;
    ba.rank -= 2, bb.rank -= 2, bo.rank -= 2;
    const void *a_zp = ptrs[linear ? 4 : 3], *b_zp = ptrs[linear ? 6 : 4];
    int64_t az = load_integer(as->type, a_zp, 0);
    for (int64_t row = begin; row < end; row++) {
        int64_t b = row / M, m = row % M;
        int64_t abase = (broadcast_offset(&ba, &bo, b) * M + m) * K, bbase = broadcast_offset(&bb, &bo, b) * K * N;
        for (int64_t n = 0; n < N; n++) {
            int64_t bz = load_integer(bs->type, b_zp, per_col ? n : 0), sum = 0;
            for (int64_t k = 0; k < K; k++)
                sum += (load_integer(as->type, ptrs[1], abase + k) - az) *
                       (load_integer(bs->type, ptrs[2], bbase + k * N + n) - bz);
            int64_t o = row * N + n;
            if (!linear) {
                ((int32_t *)ptrs[0])[o] = (int32_t)sum;
                continue;
            }
            double scale = dnnk_requant_multiplier(((const float *)ptrs[3])[0],
                                                   ((const float *)ptrs[5])[per_col ? n : 0],
                                                   ((const float *)ptrs[7])[0]);
            double y_zero_point = load_any(os->type, ptrs[8], 0);
            store_saturated(os->type, ptrs[0], o, round_even((double)sum * scale) + y_zero_point);
        }
    }
}
