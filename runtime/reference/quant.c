/* Quantised ops (ONNX QuantizeLinear, DequantizeLinear, ConvInteger,
 * QLinearConv, MatMulInteger, QLinearMatMul): real = scale * (q - zero_point).
 * Integer products are formed exactly: the zero-point-corrected values are
 * small integers, exact in float, and the cores sum them in double, exactly
 * for any layer dnnc accepts (|sum| < 2^53).
 *
 * Requantisation (QLinearConv, QLinearMatMul) is specified exactly, so that
 * compiled integer kernels can be compared with it bit for bit: per output
 * channel c (one value when the weights are per tensor) the multiplier
 *   M_c = (double)x_scale * (double)w_scale[c] / (double)y_scale
 * is formed once, in that order, and each output is
 *   y = saturate(nearbyint((double)(acc + bias[c]) * M_c) + y_zero_point)
 * with acc + bias[c] an exact integer, nearbyint rounding half to even (the
 * default rounding mode) and saturate clamping to the output type. ONNX
 * leaves the order of the scale products open; this is one order, fixed.
 * With a residual operand r (ONNX has none; the quantize pass fuses a
 * residual add into the layer, as oneDNN's "sum" post-op) the multiplier
 *   M_r = (double)r_scale / (double)y_scale
 * is formed once too, and each output is
 *   y = saturate(nearbyint(P + R) + y_zero_point),
 *   P = (double)(acc + bias[c]) * M_c,  R = (double)(r - r_zero_point) * M_r
 * each product rounded to double, then their sum rounded to double, then
 * rounded half to even: three roundings in double and one to an integer.
 * This file is compiled with -ffp-contract=off so that the compiler keeps
 * them (a fused multiply-add would round once where this rounds twice);
 * the kernels keep them too (codegen/kernels/qgemm.c).
 * qlinear_conv on i16 (fixed16) sums in 64-bit integers instead (qconv16.c). */
#include <math.h>

#include "kernels.h"

/* Index into per-axis parameters for element i of a tensor of shape s. */
static int64_t axis_index(const Shape *s, int64_t axis, int64_t i)
{
    if (axis < 0)
        axis += s->rank;
    return (i / dims_product(s, (int)axis + 1, s->rank)) % s->d[axis];
}

void ref_quantize(const KernelArgs *a)
{
    const QuantizeAttrs *at = &a->node->attr.quantize;
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = at->per_axis ? axis_index(a->out_shape, at->axis, i) : 0;
        double q = fin(a, 0)[i] / (double)fparam(a, 0)[c];
        store_saturated(a->out_type, a->out, i, nearbyint(q) + load_elem(a->param_type[1], a->param[1], c));
    }
}

void ref_dequantize(const KernelArgs *a)
{
    const QuantizeAttrs *at = &a->node->attr.quantize;
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t c = at->per_axis ? axis_index(a->out_shape, at->axis, i) : 0;
        double q = load_elem(a->in_type[0], a->in[0], i) - load_elem(a->param_type[1], a->param[1], c);
        fout(a)[i] = (float)(q * fparam(a, 0)[c]);
    }
}

/* M_c of the requantisation above: the one order of the scale products. */
double ref_requant_multiplier(float x_scale, float w_scale, float y_scale)
{
    return (double)x_scale * (double)w_scale / (double)y_scale;
}

/* The scratch layout of the integer kernels: double accumulators for the
 * output, then float copies of the two zero-point-corrected operands. */
typedef struct IntegerScratch {
    double *acc;
    float *first, *second;
} IntegerScratch;

static IntegerScratch split_scratch(const KernelArgs *a, int64_t first_count)
{
    IntegerScratch s;
    s.acc = (double *)a->scratch;
    s.first = (float *)(s.acc + dims_product(a->out_shape, 0, a->out_shape->rank));
    s.second = s.first + first_count;
    return s;
}

/* out = q - zero_point as floats; zero_point per `group` consecutive
 * elements when the parameter holds more than one value. */
static void centre(float *out, ElemKind k, const void *q, int64_t count, ElemKind zk, const void *zp,
                   int64_t zp_count, int64_t group)
{
    for (int64_t i = 0; i < count; i++)
        out[i] = (float)(load_elem(k, q, i) - load_elem(zk, zp, zp_count > 1 ? i / group : 0));
}

/* Runs conv_core on zero-point-corrected operands (params: the weight and
 * the two zero points at the given positions). Weights encoded by
 * select-sparsity (whose zero point is 0: the verifier checks it) are
 * summed from the encoding (sparse.c), the same exact integer sums. */
static double *integer_conv(const KernelArgs *a, int x_zp, int w, int w_zp)
{
    const QConvAttrs *at = &a->node->attr.qconv;
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    int64_t in_count = dims_product(is, 0, is->rank);
    int64_t w_count = at->conv.filters * (is->d[1] / at->conv.groups) * at->conv.kernel[0] * at->conv.kernel[1];
    IntegerScratch s = split_scratch(a, in_count);
    centre(s.first, a->in_type[0], a->in[0], in_count, a->param_type[x_zp], a->param[x_zp], 1, 1);
    if (a->sparse) {
        sparse_conv_sums(a->sparse, &at->conv, is, os, s.first, s.acc);
        return s.acc;
    }
    centre(s.second, a->param_type[w], a->param[w], w_count, a->param_type[w_zp], a->param[w_zp],
           at->per_channel ? at->conv.filters : 1, w_count / at->conv.filters);
    conv_core(&at->conv, is, os, s.first, s.second, s.acc);
    return s.acc;
}

/* params: weight, x_zero_point, w_zero_point */
void ref_conv_integer(const KernelArgs *a)
{
    double *acc = integer_conv(a, 1, 0, 2);
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++)
        ((int32_t *)a->out)[i] = (int32_t)acc[i];
}

/* M_r of the residual term above. */
double ref_residual_multiplier(float r_scale, float y_scale) { return (double)r_scale / (double)y_scale; }

/* (r - r_zero_point) * M_r for output i, or 0 without a residual operand
 * (params after the bias: r_scale, r_zero_point). */
static double residual_term(const KernelArgs *a, int64_t i)
{
    if (a->n_in < 2)
        return 0;
    int p = a->node->attr.qconv.conv.bias ? 8 : 7;
    double r = load_elem(a->in_type[1], a->in[1], i) - load_elem(a->param_type[p + 1], a->param[p + 1], 0);
    return r * ref_residual_multiplier(fparam(a, p)[0], fparam(a, 5)[0]);
}

/* params: weight, x_scale, x_zero_point, w_scale, w_zero_point, y_scale,
 * y_zero_point, [bias], [residual_scale, residual_zero_point] */
void ref_qlinear_conv(const KernelArgs *a)
{
    if (a->in_type[0] == ELEM_I16) { /* 16 bits: 64-bit integer sums (qconv16.c) */
        ref_qlinear_conv16(a);
        return;
    }
    const QConvAttrs *at = &a->node->attr.qconv;
    const Shape *os = a->out_shape;
    double *acc = integer_conv(a, 2, 0, 4);
    int64_t n = dims_product(os, 0, os->rank), plane = os->d[2] * os->d[3];
    for (int64_t i = 0; i < n; i++) {
        int64_t f = (i / plane) % os->d[1];
        double sum = acc[i] + (at->conv.bias ? ((const int32_t *)a->param[7])[f] : 0);
        double w_scale = fparam(a, 3)[at->per_channel ? f : 0];
        double m = ref_requant_multiplier(fparam(a, 1)[0], w_scale, fparam(a, 5)[0]);
        double y_zero_point = load_elem(a->param_type[6], a->param[6], 0);
        double scaled = a->n_in < 2 ? sum * m : sum * m + residual_term(a, i);
        store_saturated(a->out_type, a->out, i, nearbyint(scaled) + y_zero_point);
    }
}

/* Runs matmul_core on zero-point-corrected operands; b's zero point may be
 * per output column. */
static double *integer_matmul(const KernelArgs *a, int a_zp, int b_zp, bool per_column)
{
    const Shape *as = a->in_shape[0], *bs = a->in_shape[1];
    int64_t na = dims_product(as, 0, as->rank), nb = dims_product(bs, 0, bs->rank);
    int64_t cols = bs->d[bs->rank - 1];
    IntegerScratch s = split_scratch(a, na);
    centre(s.first, a->in_type[0], a->in[0], na, a->param_type[a_zp], a->param[a_zp], 1, 1);
    for (int64_t i = 0; i < nb; i++)
        s.second[i] = (float)(load_elem(a->in_type[1], a->in[1], i) -
                              load_elem(a->param_type[b_zp], a->param[b_zp], per_column ? i % cols : 0));
    matmul_core(as, bs, a->out_shape, s.first, s.second, s.acc);
    return s.acc;
}

/* params: a_zero_point, b_zero_point */
void ref_matmul_integer(const KernelArgs *a)
{
    double *acc = integer_matmul(a, 0, 1, a->node->attr.qmatmul.per_column);
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++)
        ((int32_t *)a->out)[i] = (int32_t)acc[i];
}

/* params: a_scale, a_zero_point, b_scale, b_zero_point, y_scale, y_zero_point */
void ref_qlinear_matmul(const KernelArgs *a)
{
    bool per_column = a->node->attr.qmatmul.per_column;
    double *acc = integer_matmul(a, 1, 3, per_column);
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    int64_t cols = a->out_shape->d[a->out_shape->rank - 1];
    for (int64_t i = 0; i < n; i++) {
        double b_scale = fparam(a, 2)[per_column ? i % cols : 0];
        double m = ref_requant_multiplier(fparam(a, 0)[0], b_scale, fparam(a, 4)[0]);
        double y_zero_point = load_elem(a->param_type[5], a->param[5], 0);
        store_saturated(a->out_type, a->out, i, nearbyint(acc[i] * m) + y_zero_point);
    }
}
