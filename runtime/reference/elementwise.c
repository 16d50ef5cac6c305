/* Element access for every element type, broadcasting, and the element-wise
 * ops that work on any type (add, sub, mul, div, max, min, clip) or on
 * floats (hard_sigmoid, selu). */
#include <math.h>
#include <stdint.h>

#include "kernels.h"

double load_elem(ElemKind k, const void *data, int64_t i)
{
    switch (k) {
    case ELEM_F32: return ((const float *)data)[i];
    case ELEM_I8: return ((const int8_t *)data)[i];
    case ELEM_U8: return ((const uint8_t *)data)[i];
    case ELEM_I16: return ((const int16_t *)data)[i];
    case ELEM_I32: return ((const int32_t *)data)[i];
    default: return 0;
    }
}

static int64_t load_int(ElemKind k, const void *data, int64_t i)
{
    switch (k) {
    case ELEM_I8: return ((const int8_t *)data)[i];
    case ELEM_U8: return ((const uint8_t *)data)[i];
    case ELEM_I16: return ((const int16_t *)data)[i];
    case ELEM_I32: return ((const int32_t *)data)[i];
    default: return 0;
    }
}

/* Integers wrap modulo 2^bits, as NumPy's fixed-width integers do. */
static void store_int(ElemKind k, void *data, int64_t i, int64_t v)
{
    uint64_t u = (uint64_t)v;
    switch (k) {
    case ELEM_I8: ((int8_t *)data)[i] = (int8_t)(uint8_t)u; break;
    case ELEM_U8: ((uint8_t *)data)[i] = (uint8_t)u; break;
    case ELEM_I16: ((int16_t *)data)[i] = (int16_t)(uint16_t)u; break;
    case ELEM_I32: ((int32_t *)data)[i] = (int32_t)(uint32_t)u; break;
    default: break;
    }
}

void store_elem(ElemKind k, void *data, int64_t i, double v)
{
    if (k == ELEM_F32) {
        ((float *)data)[i] = (float)v;
        return;
    }
    /* Out-of-range double to integer conversion is undefined in C: clamp to
     * int64 first, then wrap. */
    int64_t x = isnan(v) ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
    store_int(k, data, i, x);
}

void store_saturated(ElemKind k, void *data, int64_t i, double v)
{
    double lo = k == ELEM_U8 ? 0 : k == ELEM_I8 ? -128 : k == ELEM_I16 ? -32768 : -2147483648.0;
    double hi = k == ELEM_U8 ? 255 : k == ELEM_I8 ? 127 : k == ELEM_I16 ? 32767 : 2147483647.0;
    double r = nearbyint(v); /* the default rounding mode: half to even */
    store_elem(k, data, i, r < lo ? lo : r > hi ? hi : r);
}

int64_t broadcast_offset(const Shape *in, const Shape *out, int64_t i)
{
    int64_t offset = 0, stride = 1;
    for (int d = out->rank - 1, k = in->rank - 1; d >= 0 && k >= 0; d--, k--) {
        int64_t coord = (i / dims_product(out, d + 1, out->rank)) % out->d[d];
        if (in->d[k] != 1)
            offset += coord * stride;
        stride *= in->d[k];
    }
    return offset;
}

typedef double (*FloatOp)(double a, double b);
typedef int64_t (*IntOp)(int64_t a, int64_t b);

static double f_add(double a, double b) { return a + b; }
static double f_sub(double a, double b) { return a - b; }
static double f_mul(double a, double b) { return a * b; }
static double f_div(double a, double b) { return a / b; }
static double f_max(double a, double b) { return a > b || isnan(a) ? a : b; }
static double f_min(double a, double b) { return a < b || isnan(a) ? a : b; }
static int64_t i_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t i_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t i_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
/* Truncating, as C and ONNX's integer Div; division by zero gives 0 rather
 * than undefined behaviour. */
static int64_t i_div(int64_t a, int64_t b) { return b ? a / b : 0; }
static int64_t i_max(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t i_min(int64_t a, int64_t b) { return a < b ? a : b; }

/* Folds the operands left to right, each broadcast to the output. Floats
 * are computed in double (one rounding at the end); integers in int64 and
 * wrapped to the element type. */
static void fold(const KernelArgs *a, FloatOp fop, IntOp iop)
{
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t off0 = broadcast_offset(a->in_shape[0], a->out_shape, i);
        if (a->out_type == ELEM_F32) {
            double acc = load_elem(ELEM_F32, a->in[0], off0);
            for (int k = 1; k < a->n_in; k++)
                acc = fop(acc, load_elem(ELEM_F32, a->in[k], broadcast_offset(a->in_shape[k], a->out_shape, i)));
            store_elem(ELEM_F32, a->out, i, acc);
        } else {
            int64_t acc = load_int(a->in_type[0], a->in[0], off0);
            for (int k = 1; k < a->n_in; k++)
                acc = iop(acc, load_int(a->in_type[k], a->in[k],
                                        broadcast_offset(a->in_shape[k], a->out_shape, i)));
            store_int(a->out_type, a->out, i, acc);
        }
    }
}

void ref_add(const KernelArgs *a) { fold(a, f_add, i_add); }
void ref_sub(const KernelArgs *a) { fold(a, f_sub, i_sub); }
void ref_mul(const KernelArgs *a) { fold(a, f_mul, i_mul); }
void ref_div(const KernelArgs *a) { fold(a, f_div, i_div); }
void ref_max(const KernelArgs *a) { fold(a, f_max, i_max); }
void ref_min(const KernelArgs *a) { fold(a, f_min, i_min); }

/* min(max(x, lo), hi); for integer types the bounds are the attribute values
 * (written as numbers in source). */
void ref_clip(const KernelArgs *a)
{
    const ClipAttrs *at = &a->node->attr.clip;
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        double v = load_elem(a->in_type[0], a->in[0], i);
        v = v < at->min ? at->min : v;
        v = v > at->max ? at->max : v;
        store_elem(a->out_type, a->out, i, v);
    }
}

void ref_hard_sigmoid(const KernelArgs *a)
{
    const HardSigmoidAttrs *at = &a->node->attr.hard_sigmoid;
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        double v = at->alpha * fin(a, 0)[i] + at->beta;
        fout(a)[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

void ref_selu(const KernelArgs *a)
{
    const SeluAttrs *at = &a->node->attr.selu;
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        double x = fin(a, 0)[i];
        fout(a)[i] = (float)(at->gamma * (x > 0 ? x : at->alpha * expm1(x)));
    }
}
