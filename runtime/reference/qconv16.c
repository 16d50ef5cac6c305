/* qlinear_conv on 16-bit integers: dynamic fixed point at 16 bits (fixed16,
 * survey VII-A1; docs/quantization.md, "fixed16"). The arithmetic is exact
 * and integer, so that the cpu kernel and the spatial simulator can match it
 * bit for bit:
 *
 *   acc = sum (x - x_zero_point) * (w - w_zero_point) + bias[f]    int64, exact
 *   y   = saturate_i16(round_half_even(acc * M_f) + y_zero_point)
 *
 * M_f = x_scale * w_scale[f] / y_scale formed in double as for 8 bits
 * (quant.c). The quantize pass makes every scale a power of two, 2^-frac,
 * and every zero point 0, so M_f = 2^(frac_out - frac_in - frac_w) and the
 * product is a rounding shift of the 64-bit sum, done here in integers.
 * For |acc| < 2^53 that is bit for bit the 8-bit rule
 * nearbyint((double)acc * M_f): the double product of an integer below 2^53
 * and a power of two is exact, and nearbyint rounds half to even; past
 * 2^53 only the shift is exact. A multiplier that is not a power of two (a
 * hand-written layer) takes the double rule. The sums fit 64 bits: the
 * shape rule admits at most 2^31 products per output, each below 2^32. */
#include <math.h>
#include <stdint.h>

#include "kernels.h"

int64_t ref_round_shift(int64_t v, int shift)
{
    if (shift <= 0) { /* a left shift, saturated where it leaves 64 bits */
        if (v == 0)
            return 0;
        uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        if (-shift >= 63 || mag > ((uint64_t)INT64_MAX >> -shift))
            return v < 0 ? INT64_MIN : INT64_MAX;
        return v * ((int64_t)1 << -shift);
    }
    if (shift >= 64) /* |v| <= 2^63 <= half of 2^shift: rounds to 0 (a tie goes to even 0) */
        return 0;
    /* Rounding half to even is symmetric: round the magnitude. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint64_t q = mag >> shift, r = mag & ((UINT64_C(1) << shift) - 1), half = UINT64_C(1) << (shift - 1);
    if (r > half || (r == half && (q & 1)))
        q++;
    return v < 0 ? -(int64_t)q : (int64_t)q;
}

/* round_half_even(acc * m) as the header says. */
static double requantise(int64_t acc, double m)
{
    int e;
    if (m > 0 && frexp(m, &e) == 0.5) /* m = 2^(e - 1) */
        return (double)ref_round_shift(acc, 1 - e);
    return nearbyint((double)acc * m);
}

/* The exact sum of one output, zero points subtracted, without the bias. */
static int64_t window_sum(const KernelArgs *a, int64_t n, int64_t f, int64_t y, int64_t x, int64_t x_zp,
                          int64_t w_zp)
{
    const ConvAttrs *at = &a->node->attr.qconv.conv;
    const Shape *is = a->in_shape[0];
    int64_t C = is->d[1], H = is->d[2], W = is->d[3], F = a->out_shape->d[1];
    int64_t KH = at->kernel[0], KW = at->kernel[1], Cg = C / at->groups, c0 = f / (F / at->groups) * Cg;
    const int16_t *in = a->in[0], *w = a->param[0];
    int64_t sum = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ky = 0; ky < KH; ky++) {
            int64_t iy = y * at->stride[0] - at->pad[0] + ky * at->dilation[0];
            if (iy < 0 || iy >= H)
                continue;
            for (int64_t kx = 0; kx < KW; kx++) {
                int64_t ix = x * at->stride[1] - at->pad[1] + kx * at->dilation[1];
                if (ix < 0 || ix >= W)
                    continue;
                int64_t xv = in[((n * C + c0 + c) * H + iy) * W + ix] - x_zp;
                int64_t wv = w[((f * Cg + c) * KH + ky) * KW + kx] - w_zp;
                sum += xv * wv;
            }
        }
    return sum;
}

/* params: weight, x_scale, x_zero_point, w_scale, w_zero_point, y_scale,
 * y_zero_point, [bias], all zero points i16 (the shape rule's). */
void ref_qlinear_conv16(const KernelArgs *a)
{
    const QConvAttrs *at = &a->node->attr.qconv;
    const Shape *os = a->out_shape;
    int64_t x_zp = ((const int16_t *)a->param[2])[0], y_zp = ((const int16_t *)a->param[6])[0];
    for (int64_t n = 0; n < os->d[0]; n++)
        for (int64_t f = 0; f < os->d[1]; f++) {
            int64_t per = at->per_channel ? f : 0;
            int64_t w_zp = ((const int16_t *)a->param[4])[per];
            int64_t bias = at->conv.bias ? ((const int32_t *)a->param[7])[f] : 0;
            double m = ref_requant_multiplier(fparam(a, 1)[0], fparam(a, 3)[per], fparam(a, 5)[0]);
            for (int64_t y = 0; y < os->d[2]; y++)
                for (int64_t x = 0; x < os->d[3]; x++) {
                    int64_t acc = window_sum(a, n, f, y, x, x_zp, w_zp) + bias;
                    int64_t i = ((n * os->d[1] + f) * os->d[2] + y) * os->d[3] + x;
                    store_saturated(ELEM_I16, a->out, i, requantise(acc, m) + (double)y_zp);
                }
        }
}
