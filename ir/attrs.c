/* The attribute schema: one table per op, used to parse, validate, default
 * and print attributes generically. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define A(field) offsetof(Attrs, field)
#define NOLIMIT (-1e300)

/* Unbounded by default: +-FLT_MAX clamps nothing in any element type. */
#define CLIP_NONE 3.4028234663852886e38

static const char *const act_names[] = {"none", "relu", "leaky_relu", "clip", NULL};

/* The fused activation of conv and fc (ops.h, Activation). */
#define ACT_ATTRS(field)                                                                          \
    {"act", ATTR_ENUM, A(field.act.kind), false, ACT_NONE, 0,                                     \
     "fused activation: none, relu, leaky_relu or clip", act_names},                               \
    {"alpha", ATTR_FLOAT, A(field.act.alpha), false, 0.01, NOLIMIT, "act=leaky_relu: slope for x < 0", NULL}, \
    {"min", ATTR_FLOAT, A(field.act.min), false, -CLIP_NONE, NOLIMIT, "act=clip: lower bound", NULL}, \
    {"max", ATTR_FLOAT, A(field.act.max), false, CLIP_NONE, NOLIMIT, "act=clip: upper bound", NULL}

static const AttrSpec conv_attrs[] = {
    {"filters", ATTR_INT, A(conv.filters), true, 0, 1, "number of output channels", NULL},
    {"kernel", ATTR_PAIR, A(conv.kernel), true, 0, 1, "kernel height and width", NULL},
    {"stride", ATTR_PAIR, A(conv.stride), false, 1, 1, "stride", NULL},
    {"pad", ATTR_PADS, A(conv.pad), false, 0, 0, "zero padding: p, [h, w] or [top, left, bottom, right]", NULL},
    {"dilation", ATTR_PAIR, A(conv.dilation), false, 1, 1, "dilation", NULL},
    {"groups", ATTR_INT, A(conv.groups), false, 1, 1, "channel groups (= channels for depthwise)", NULL},
    {"bias", ATTR_BOOL, A(conv.bias), false, 1, 0, "whether the layer has a bias", NULL},
    ACT_ATTRS(conv),
    {0},
};

static const AttrSpec fc_attrs[] = {
    {"units", ATTR_INT, A(fc.units), true, 0, 1, "number of outputs", NULL},
    {"bias", ATTR_BOOL, A(fc.bias), false, 1, 0, "whether the layer has a bias", NULL},
    ACT_ATTRS(fc),
    {0},
};

#define POOL_COMMON                                                                       \
    {"kernel", ATTR_PAIR, A(pool.kernel), true, 0, 1, "window height and width", NULL},         \
    {"stride", ATTR_PAIR, A(pool.stride), false, 1, 1, "stride", NULL},                   \
    {"dilation", ATTR_PAIR, A(pool.dilation), false, 1, 1, "dilation", NULL},             \
    {"pad", ATTR_PADS, A(pool.pad), false, 0, 0, "padding: p, [h, w] or [t, l, b, r]", NULL},  \
    {"ceil", ATTR_BOOL, A(pool.ceil), false, 0, 0, "round the output size up (Caffe)", NULL}

static const AttrSpec maxpool_attrs[] = {
    POOL_COMMON,
    {0},
};

static const AttrSpec avgpool_attrs[] = {
    POOL_COMMON,
    {"count_include_pad", ATTR_BOOL, A(pool.count_include_pad), false, 0, 0,
     "divide by the whole window, padding included", NULL},
    {0},
};

static const AttrSpec leaky_relu_attrs[] = {
    {"alpha", ATTR_FLOAT, A(alpha.alpha), false, 0.01, NOLIMIT, "slope for x < 0", NULL},
    {0},
};

static const AttrSpec elu_attrs[] = {
    {"alpha", ATTR_FLOAT, A(alpha.alpha), false, 1.0, NOLIMIT, "alpha * (exp(x) - 1) for x < 0", NULL},
    {0},
};

static const AttrSpec maxout_attrs[] = {
    {"pieces", ATTR_INT, A(maxout.pieces), true, 0, 1, "channels reduced into one by max", NULL},
    {0},
};

static const AttrSpec softmax_attrs[] = {
    {"axis", ATTR_INT, A(axis.axis), false, 1, NOLIMIT, "axis normalised over", NULL},
    {0},
};

static const AttrSpec batchnorm_attrs[] = {
    {"eps", ATTR_FLOAT, A(batchnorm.eps), false, 1e-5, 0, "added to the variance", NULL},
    {0},
};

static const AttrSpec lrn_attrs[] = {
    {"size", ATTR_INT, A(lrn.size), false, 5, 1, "channels in the window", NULL},
    {"alpha", ATTR_FLOAT, A(lrn.alpha), false, 1e-4, NOLIMIT, "scale", NULL},
    {"beta", ATTR_FLOAT, A(lrn.beta), false, 0.75, NOLIMIT, "exponent", NULL},
    {"bias", ATTR_FLOAT, A(lrn.bias), false, 1.0, NOLIMIT, "k, added before the power", NULL},
    {0},
};

static const AttrSpec concat_attrs[] = {
    {"axis", ATTR_INT, A(axis.axis), false, 1, NOLIMIT, "axis joined along", NULL},
    {0},
};

static const AttrSpec flatten_attrs[] = {
    {"axis", ATTR_INT, A(axis.axis), false, 1, NOLIMIT, "dimensions before axis form the rows", NULL},
    {0},
};

static const AttrSpec reshape_attrs[] = {
    {"shape", ATTR_SHAPE, A(reshape.shape), true, 0, -1, "new shape; 0 copies, -1 infers", NULL},
    {0},
};

static const AttrSpec dropout_attrs[] = {
    {"rate", ATTR_FLOAT, A(dropout.rate), false, 0.5, 0, "training-time drop rate (ignored)", NULL},
    {0},
};

static const AttrSpec slice_attrs[] = {
    {"axis", ATTR_INT, A(slice.axis), false, 1, NOLIMIT, "axis sliced", NULL},
    {"start", ATTR_INT, A(slice.start), true, 0, 0, "first index kept", NULL},
    {"end", ATTR_INT, A(slice.end), true, 0, 0, "one past the last index kept", NULL},
    {0},
};

static const AttrSpec prelu_attrs[] = {
    {"slope_shape", ATTR_SHAPE, A(prelu.slope_shape), false, 0, 1,
     "shape of the slopes, broadcast to the input; [] for one slope per channel", NULL},
    {0},
};

static const AttrSpec clip_attrs[] = {
    {"min", ATTR_FLOAT, A(clip.min), false, -CLIP_NONE, NOLIMIT, "lower bound", NULL},
    {"max", ATTR_FLOAT, A(clip.max), false, CLIP_NONE, NOLIMIT, "upper bound", NULL},
    {0},
};

static const AttrSpec hard_sigmoid_attrs[] = {
    {"alpha", ATTR_FLOAT, A(hard_sigmoid.alpha), false, 0.2, NOLIMIT, "slope", NULL},
    {"beta", ATTR_FLOAT, A(hard_sigmoid.beta), false, 0.5, NOLIMIT, "offset", NULL},
    {0},
};

static const AttrSpec selu_attrs[] = {
    {"alpha", ATTR_FLOAT, A(selu.alpha), false, 1.67326319217681884765625, NOLIMIT, "alpha", NULL},
    {"gamma", ATTR_FLOAT, A(selu.gamma), false, 1.05070102214813232421875, NOLIMIT, "scale", NULL},
    {0},
};

static const AttrSpec transpose_attrs[] = {
    {"perm", ATTR_INTS, A(transpose.perm), false, 0, 0, "output dimension i is input dimension perm[i]; [] reverses", NULL},
    {0},
};

static const char *const pad_modes[] = {"constant", "reflect", "edge", NULL};

static const AttrSpec pad_attrs[] = {
    {"pads", ATTR_INTS, A(pad.pads), true, 0, 0, "begin of every dimension, then end of every dimension", NULL},
    {"value", ATTR_FLOAT, A(pad.value), false, 0, NOLIMIT, "value of constant padding", NULL},
    {"mode", ATTR_ENUM, A(pad.mode), false, 0, 0, "constant, reflect or edge", pad_modes},
    {0},
};

static const AttrSpec constant_attrs[] = {
    {"shape", ATTR_SHAPE, A(constant.shape), false, 0, 1, "shape of the value; [] for a scalar", NULL},
    {"dtype", ATTR_TYPE, A(constant.dtype), false, ELEM_F32, 0, "element type", NULL},
    {0},
};

#define QUANT_AXIS(field)                                                                   \
    {"axis", ATTR_INT, A(field.axis), false, 1, NOLIMIT, "axis of per-axis parameters", NULL}, \
    {"per_axis", ATTR_BOOL, A(field.per_axis), false, 0, 0, "one scale and zero point per index along axis", NULL}

static const AttrSpec quantize_attrs[] = {
    {"dtype", ATTR_TYPE, A(quantize.dtype), false, ELEM_U8, 0, "u8 or i8", NULL},
    QUANT_AXIS(quantize),
    {0},
};

static const AttrSpec dequantize_attrs[] = {
    QUANT_AXIS(quantize),
    {0},
};

#define QCONV_COMMON                                                                              \
    {"filters", ATTR_INT, A(qconv.conv.filters), true, 0, 1, "number of output channels", NULL},   \
    {"kernel", ATTR_PAIR, A(qconv.conv.kernel), true, 0, 1, "kernel height and width", NULL},      \
    {"stride", ATTR_PAIR, A(qconv.conv.stride), false, 1, 1, "stride", NULL},                      \
    {"pad", ATTR_PADS, A(qconv.conv.pad), false, 0, 0, "zero padding", NULL},                      \
    {"dilation", ATTR_PAIR, A(qconv.conv.dilation), false, 1, 1, "dilation", NULL},                \
    {"groups", ATTR_INT, A(qconv.conv.groups), false, 1, 1, "channel groups", NULL},               \
    {"weight_type", ATTR_TYPE, A(qconv.weight_type), false, ELEM_U8, 0, "u8 or i8", NULL},         \
    {"per_channel", ATTR_BOOL, A(qconv.per_channel), false, 0, 0, "weight zero point (and scale) per filter", NULL}

static const AttrSpec conv_integer_attrs[] = {
    QCONV_COMMON,
    {0},
};

static const AttrSpec coded_conv_attrs[] = {
    {"filters", ATTR_INT, A(coded.conv.filters), true, 0, 1, "number of output channels", NULL},
    {"kernel", ATTR_PAIR, A(coded.conv.kernel), true, 0, 1, "kernel height and width", NULL},
    {"stride", ATTR_PAIR, A(coded.conv.stride), false, 1, 1, "stride", NULL},
    {"pad", ATTR_PADS, A(coded.conv.pad), false, 0, 0, "zero padding", NULL},
    {"dilation", ATTR_PAIR, A(coded.conv.dilation), false, 1, 1, "dilation", NULL},
    {"groups", ATTR_INT, A(coded.conv.groups), false, 1, 1, "channel groups", NULL},
    {"bias", ATTR_BOOL, A(coded.conv.bias), false, 1, 0, "whether the layer has a float bias", NULL},
    ACT_ATTRS(coded.conv),
    {"weight_type", ATTR_TYPE, A(coded.weight_type), true, 0, 0, "log2, codebook, binary or ternary", NULL},
    {"weight_bits", ATTR_INT, A(coded.weight_bits), false, 4, 1, "log2 and codebook: bits a code (2 to 8)",
     NULL},
    {"per_channel", ATTR_BOOL, A(coded.per_channel), false, 0, 0, "one weight scale per filter", NULL},
    {0},
};

static const AttrSpec qlinear_conv_attrs[] = {
    QCONV_COMMON,
    {"bias", ATTR_BOOL, A(qconv.conv.bias), false, 0, 0, "an i32 bias in units of x_scale * w_scale", NULL},
    {"out_type", ATTR_TYPE, A(qconv.out_type), false, ELEM_U8, 0, "u8 or i8", NULL},
    {0},
};

static const AttrSpec matmul_integer_attrs[] = {
    {"per_column", ATTR_BOOL, A(qmatmul.per_column), false, 0, 0, "b's zero point per output column", NULL},
    {0},
};

static const AttrSpec qlinear_matmul_attrs[] = {
    {"per_column", ATTR_BOOL, A(qmatmul.per_column), false, 0, 0, "b's scale and zero point per output column", NULL},
    {"out_type", ATTR_TYPE, A(qmatmul.out_type), false, ELEM_U8, 0, "u8 or i8", NULL},
    {0},
};

static const OpInfo op_table[] = {
#define OP(e, s, at, lo, hi, ty, inf, mac, ref) {s, at, lo, hi, TYPES_##ty},
#include "ops.def"
#undef OP
};

const OpInfo *op_info(OpKind op) { return &op_table[op]; }
const char *op_name(OpKind op) { return op < OP_COUNT ? op_table[op].name : "?"; }

bool op_from_name(const char *name, OpKind *out)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(op_table[i].name, name) == 0) {
            *out = (OpKind)i;
            return true;
        }
    return false;
}

const AttrSpec *op_find_attr(OpKind op, const char *name)
{
    for (const AttrSpec *s = op_table[op].attrs; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static int attr_int_count(AttrKind k)
{
    switch (k) {
    case ATTR_PAIR: return 2;
    case ATTR_PADS: return 4;
    default: return 1;
    }
}

void attrs_init_defaults(OpKind op, Attrs *a)
{
    memset(a, 0, sizeof *a);
    for (const AttrSpec *s = op_table[op].attrs; s && s->name; s++) {
        char *field = (char *)a + s->offset;
        if (s->required)
            continue;
        switch (s->kind) {
        case ATTR_FLOAT: *(double *)field = s->def; break;
        case ATTR_BOOL: *(bool *)field = s->def != 0; break;
        case ATTR_ENUM:
        case ATTR_TYPE: *(int *)field = (int)s->def; break;
        case ATTR_SHAPE:
        case ATTR_INTS: break; /* empty */
        default:
            for (int i = 0; i < attr_int_count(s->kind); i++)
                ((int64_t *)field)[i] = (int64_t)s->def;
        }
    }
}

static bool value_int(const AttrSpec *s, const Value *v, int64_t *out, char *err, size_t errsz)
{
    if (v->kind != VAL_INT) {
        snprintf(err, errsz, "attribute '%s' expects an integer", s->name);
        return false;
    }
    if ((double)v->i < s->min) {
        snprintf(err, errsz, "attribute '%s' must be at least %g, got %lld", s->name, s->min,
                 (long long)v->i);
        return false;
    }
    *out = v->i;
    return true;
}

/* Integers from a scalar or a list; accepted list lengths are `scalar_ok`,
 * any length in `lens`. */
static bool value_ints(const AttrSpec *s, const Value *v, int64_t *out, int *n, int max,
                       char *err, size_t errsz)
{
    if (v->kind != VAL_LIST) {
        *n = 1;
        return value_int(s, v, out, err, errsz);
    }
    if (v->n > max) {
        snprintf(err, errsz, "attribute '%s' takes at most %d values, got %d", s->name, max, v->n);
        return false;
    }
    for (int i = 0; i < v->n; i++)
        if (!value_int(s, &v->items[i], &out[i], err, errsz))
            return false;
    *n = v->n;
    return true;
}

bool attr_set(const AttrSpec *s, Attrs *a, const Value *v, char *err, size_t errsz)
{
    char *field = (char *)a + s->offset;
    int64_t ints[DNNC_MAX_RANK];
    int n = 0;
    switch (s->kind) {
    case ATTR_INT:
        return value_int(s, v, (int64_t *)field, err, errsz);
    case ATTR_FLOAT: {
        double f;
        if (v->kind == VAL_INT)
            f = (double)v->i;
        else if (v->kind == VAL_FLOAT)
            f = v->f;
        else {
            snprintf(err, errsz, "attribute '%s' expects a number", s->name);
            return false;
        }
        if (!isfinite(f) || f < s->min) {
            snprintf(err, errsz, "attribute '%s' must be a finite number of at least %g",
                     s->name, s->min);
            return false;
        }
        *(double *)field = f;
        return true;
    }
    case ATTR_BOOL:
        if (v->kind != VAL_BOOL) {
            snprintf(err, errsz, "attribute '%s' expects true or false", s->name);
            return false;
        }
        *(bool *)field = v->b;
        return true;
    case ATTR_PAIR:
        if (!value_ints(s, v, ints, &n, 2, err, errsz))
            return false;
        if (n == 0) {
            snprintf(err, errsz, "attribute '%s' expects 1 or 2 values", s->name);
            return false;
        }
        ((int64_t *)field)[0] = ints[0];
        ((int64_t *)field)[1] = ints[n - 1];
        return true;
    case ATTR_PADS: {
        if (!value_ints(s, v, ints, &n, 4, err, errsz))
            return false;
        int64_t *p = (int64_t *)field;
        if (n == 1)
            p[0] = p[1] = p[2] = p[3] = ints[0];
        else if (n == 2)
            p[0] = p[2] = ints[0], p[1] = p[3] = ints[1];
        else if (n == 4)
            memcpy(p, ints, sizeof(int64_t) * 4);
        else {
            snprintf(err, errsz,
                     "attribute '%s' expects p, [h, w] or [top, left, bottom, right], got %d values",
                     s->name, n);
            return false;
        }
        return true;
    }
    case ATTR_SHAPE: {
        if (v->kind != VAL_LIST || (v->n == 0 && s->required)) {
            snprintf(err, errsz, "attribute '%s' expects a list of 1 to %d integers", s->name,
                     DNNC_MAX_RANK);
            return false;
        }
        if (!value_ints(s, v, ints, &n, DNNC_MAX_RANK, err, errsz))
            return false;
        Shape *sh = (Shape *)field;
        sh->rank = n;
        memcpy(sh->d, ints, sizeof(int64_t) * (size_t)n);
        return true;
    }
    case ATTR_INTS: {
        int64_t many[INT_LIST_MAX];
        if (v->kind != VAL_LIST) {
            snprintf(err, errsz, "attribute '%s' expects a list of integers", s->name);
            return false;
        }
        if (!value_ints(s, v, many, &n, INT_LIST_MAX, err, errsz))
            return false;
        IntList *l = (IntList *)field;
        l->n = n;
        memcpy(l->v, many, sizeof(int64_t) * (size_t)n);
        return true;
    }
    case ATTR_ENUM:
        for (int i = 0; v->kind == VAL_SYMBOL && s->choices[i]; i++)
            if (strcmp(v->sym, s->choices[i]) == 0) {
                *(int *)field = i;
                return true;
            }
        snprintf(err, errsz, "attribute '%s' expects one of: %s", s->name, s->doc);
        return false;
    case ATTR_TYPE: {
        ElemKind k;
        if (v->kind != VAL_SYMBOL || !elem_kind_from_name(v->sym, &k)) {
            snprintf(err, errsz, "attribute '%s' expects an element type (f32, i8, u8, i32, ...)",
                     s->name);
            return false;
        }
        *(int *)field = (int)k;
        return true;
    }
    }
    return false;
}

bool attrs_validate(OpKind op, const Attrs *a, char *err, size_t errsz)
{
    for (const AttrSpec *s = op_table[op].attrs; s && s->name; s++) {
        const char *field = (const char *)a + s->offset;
        int n = s->kind == ATTR_INT || s->kind == ATTR_PAIR || s->kind == ATTR_PADS ? attr_int_count(s->kind) : 0;
        for (int i = 0; i < n; i++) {
            int64_t v = ((const int64_t *)field)[i];
            if (v > ((int64_t)1 << 48)) {
                snprintf(err, errsz, "%s: %s=%lld is too large (at most 2^48)", op_table[op].name,
                         s->name, (long long)v);
                return false;
            }
            if ((double)v < s->min) {
                snprintf(err, errsz, "%s: %s=%lld must be at least %g", op_table[op].name, s->name,
                         (long long)v, s->min);
                return false;
            }
        }
        if (s->kind == ATTR_FLOAT) {
            double v = *(const double *)field;
            if (!isfinite(v) || v < s->min) {
                snprintf(err, errsz, "%s: attribute '%s' is %g, not a finite number of at least %g",
                         op_table[op].name, s->name, v, s->min);
                return false;
            }
        }
    }
    return true;
}

bool attr_is_default(const AttrSpec *s, const Attrs *a)
{
    if (s->required)
        return false;
    const char *field = (const char *)a + s->offset;
    switch (s->kind) {
    case ATTR_FLOAT: return *(const double *)field == s->def;
    case ATTR_BOOL: return *(const bool *)field == (s->def != 0);
    case ATTR_SHAPE: return ((const Shape *)field)->rank == 0;
    case ATTR_INTS: return ((const IntList *)field)->n == 0;
    case ATTR_ENUM:
    case ATTR_TYPE: return *(const int *)field == (int)s->def;
    default:
        for (int i = 0; i < attr_int_count(s->kind); i++)
            if (((const int64_t *)field)[i] != (int64_t)s->def)
                return false;
        return true;
    }
}

void format_double(double v, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* Keep a visible fraction so that the text reads back as a float. */
    if (!strpbrk(buf, ".eEni") && strlen(buf) + 2 < size)
        strcat(buf, ".0");
}

static void format_ints(const int64_t *v, int n, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

void attr_format(const AttrSpec *s, const Attrs *a, char *buf, size_t size)
{
    const char *field = (const char *)a + s->offset;
    char val[512];
    const int64_t *p = (const int64_t *)field;
    switch (s->kind) {
    case ATTR_INT: snprintf(val, sizeof val, "%lld", (long long)p[0]); break;
    case ATTR_FLOAT: format_double(*(const double *)field, val, sizeof val); break;
    case ATTR_BOOL: snprintf(val, sizeof val, "%s", *(const bool *)field ? "true" : "false"); break;
    case ATTR_PAIR:
        if (p[0] == p[1])
            snprintf(val, sizeof val, "%lld", (long long)p[0]);
        else
            format_ints(p, 2, val, sizeof val);
        break;
    case ATTR_PADS:
        if (p[0] == p[1] && p[0] == p[2] && p[0] == p[3])
            snprintf(val, sizeof val, "%lld", (long long)p[0]);
        else if (p[0] == p[2] && p[1] == p[3])
            format_ints(p, 2, val, sizeof val);
        else
            format_ints(p, 4, val, sizeof val);
        break;
    case ATTR_SHAPE: {
        const Shape *sh = (const Shape *)field;
        format_ints(sh->d, sh->rank, val, sizeof val);
        break;
    }
    case ATTR_INTS: {
        const IntList *l = (const IntList *)field;
        format_ints(l->v, l->n, val, sizeof val);
        break;
    }
    case ATTR_ENUM: snprintf(val, sizeof val, "%s", s->choices[*(const int *)field]); break;
    case ATTR_TYPE: snprintf(val, sizeof val, "%s", elem_kind_name((ElemKind) * (const int *)field)); break;
    }
    snprintf(buf, size, "%s=%s", s->name, val);
}
