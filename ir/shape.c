/* Shape rules: for each op, the output shape and the shapes of its weights,
 * or an error that names the operands and their shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "checked.h"
#include "graph.h"

typedef struct InferCtx {
    const Graph *g;
    const Node *n;
    InferResult *r;
    char *err;
    size_t errsz;
    bool params_full; /* an op's rule asked for more than NODE_MAX_PARAMS parameters */
} InferCtx;

__attribute__((format(printf, 2, 3))) static bool fail(InferCtx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errsz, fmt, ap);
    va_end(ap);
    return false;
}

static const Tensor *operand(const InferCtx *c, int i) { return &c->g->tensors[c->n->inputs[i]]; }
static const Shape *in_shape(const InferCtx *c, int i) { return &operand(c, i)->shape; }

/* "'name' (f32[1, 3, 224, 224])" for error messages. */
static const char *describe(const InferCtx *c, int i, char *buf, size_t size)
{
    char ty[300];
    tensor_type_format(operand(c, i), ty, sizeof ty);
    snprintf(buf, size, "'%s' (%s)", operand(c, i)->name, ty);
    return buf;
}

static bool need_rank(InferCtx *c, int i, int lo, int hi)
{
    int r = in_shape(c, i)->rank;
    if (r >= lo && r <= hi)
        return true;
    char d[400];
    if (lo == hi)
        return fail(c, "%s expects a rank-%d operand, but %s has rank %d", op_name(c->n->op), lo,
                    describe(c, i, d, sizeof d), r);
    return fail(c, "%s expects an operand of rank %d to %d, but %s has rank %d",
                op_name(c->n->op), lo, hi, describe(c, i, d, sizeof d), r);
}

static void add_typed_param(InferCtx *c, const char *suffix, int rank, const int64_t *dims,
                            ElemKind type)
{
    /* The rules, not the input, decide how many: a rule past the room is
     * a bug, reported (infer_node) rather than written past the array. */
    if (c->r->n_params >= NODE_MAX_PARAMS) {
        c->params_full = true;
        return;
    }
    ParamSpec *p = &c->r->params[c->r->n_params++];
    p->suffix = suffix;
    p->shape.rank = rank;
    p->type = elem_type_default(type);
    memcpy(p->shape.d, dims, sizeof(int64_t) * (size_t)rank);
}

static void add_param(InferCtx *c, const char *suffix, int rank, const int64_t *dims)
{
    add_typed_param(c, suffix, rank, dims, ELEM_F32);
}

static void add_vector_param(InferCtx *c, const char *suffix, int64_t n)
{
    add_param(c, suffix, 1, &n);
}

/* Output extent of a sliding window; -1 when the window does not fit. */
static int64_t window_out(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k, int64_t stride,
                          int64_t dilation, bool ceil_mode)
{
    int64_t span;
    if (!checked_mul(dilation, k - 1, &span) || span >= DNNC_MAX_ELEMS)
        return -1;
    span += 1;
    int64_t padded = in + pad_lo + pad_hi;
    if (padded < span)
        return -1;
    int64_t steps = padded - span;
    int64_t out = (ceil_mode ? (steps + stride - 1) / stride : steps / stride) + 1;
    /* Caffe and PyTorch: the last window must start inside the input or the
     * leading padding, otherwise ceil mode would add a window of pure padding. */
    if (ceil_mode && (out - 1) * stride >= in + pad_lo)
        out--;
    return out;
}

/* Attributes come from untrusted text: keep them far from int64 overflow. */
static bool attrs_in_range(InferCtx *c, const int64_t *v, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (v[i] > DNNC_MAX_ELEMS)
            return fail(c, "%s: %s %lld is too large", op_name(c->n->op), what, (long long)v[i]);
    return true;
}

static bool spatial_out(InferCtx *c, const int64_t kernel[2], const int64_t stride[2],
                        const int64_t dilation[2], const int64_t pad[4], bool ceil_mode,
                        int64_t out[2])
{
    const Shape *s = in_shape(c, 0);
    if (!attrs_in_range(c, kernel, 2, "kernel") || !attrs_in_range(c, stride, 2, "stride") ||
        !attrs_in_range(c, dilation, 2, "dilation") || !attrs_in_range(c, pad, 4, "padding"))
        return false;
    for (int i = 0; i < 2; i++) {
        out[i] = window_out(s->d[2 + i], pad[i], pad[i + 2], kernel[i], stride[i], dilation[i],
                            ceil_mode);
        if (out[i] < 1) {
            char d[400];
            char win[64];
            if (dilation[i] > 1)
                snprintf(win, sizeof win, "%lld (dilation %lld)", (long long)kernel[i], (long long)dilation[i]);
            else
                snprintf(win, sizeof win, "%lld", (long long)kernel[i]);
            return fail(c, "%s: a window of %s does not fit the %s of %s with padding %lld+%lld",
                        op_name(c->n->op), win, i ? "width" : "height",
                        describe(c, 0, d, sizeof d), (long long)pad[i], (long long)pad[i + 2]);
        }
    }
    return true;
}

/* MAC counts (weights x output positions) must stay countable in int64. */
static bool macs_fit(InferCtx *c, const int64_t *w, int rank, int64_t positions)
{
    int64_t macs = positions;
    for (int i = 0; i < rank; i++)
        if (!checked_mul(macs, w[i], &macs) || macs > DNNC_MAX_MACS)
            return fail(c, "%s: the layer needs more than 2^56 multiply-accumulates",
                        op_name(c->n->op));
    return true;
}

/* The fused epilogue of conv and fc: an optional second operand (a
 * residual added before the activation) with the output's exact shape, and
 * activation parameters only for the activation that uses them. */
static bool check_epilogue(InferCtx *c, const Activation *act)
{
    if (c->n->n_inputs == 2 && !shape_equal(in_shape(c, 1), &c->r->out)) {
        char d[400], want[300];
        shape_format(&c->r->out, want, sizeof want);
        return fail(c, "%s: the residual operand %s must have the output's shape %s",
                    op_name(c->n->op), describe(c, 1, d, sizeof d), want);
    }
    Attrs defaults;
    attrs_init_defaults(OP_CONV, &defaults);
    const Activation *def = &defaults.conv.act;
    if (act->kind != ACT_LEAKY_RELU && act->alpha != def->alpha)
        return fail(c, "%s: alpha applies to act=leaky_relu only", op_name(c->n->op));
    if (act->kind != ACT_CLIP && (act->min != def->min || act->max != def->max))
        return fail(c, "%s: min and max apply to act=clip only", op_name(c->n->op));
    if (act->kind == ACT_CLIP && !(act->min <= act->max))
        return fail(c, "%s: act=clip needs min <= max", op_name(c->n->op));
    return true;
}

/* The output shape of a convolution with attributes a, and its weight
 * shape w; shared by conv and the quantised convolutions. */
static bool conv_shape(InferCtx *c, const ConvAttrs *a, int64_t w[4])
{
    if (!need_rank(c, 0, 4, 4))
        return false;
    const Shape *s = in_shape(c, 0);
    char d[400];
    if (s->d[1] % a->groups != 0)
        return fail(c, "%s: the %lld input channels of %s are not divisible by groups=%lld",
                    op_name(c->n->op), (long long)s->d[1], describe(c, 0, d, sizeof d),
                    (long long)a->groups);
    if (a->filters % a->groups != 0)
        return fail(c, "%s: filters=%lld is not divisible by groups=%lld", op_name(c->n->op),
                    (long long)a->filters, (long long)a->groups);
    if (!attrs_in_range(c, &a->filters, 1, "filters"))
        return false;
    int64_t hw[2];
    if (!spatial_out(c, a->kernel, a->stride, a->dilation, a->pad, false, hw))
        return false;
    c->r->out = (Shape){4, {s->d[0], a->filters, hw[0], hw[1]}};
    w[0] = a->filters, w[1] = s->d[1] / a->groups, w[2] = a->kernel[0], w[3] = a->kernel[1];
    return macs_fit(c, w, 4, s->d[0] * hw[0] * hw[1]);
}

static bool infer_conv(InferCtx *c)
{
    const ConvAttrs *a = &c->n->attr.conv;
    int64_t w[4];
    if (!conv_shape(c, a, w))
        return false;
    add_param(c, "weight", 4, w);
    if (a->bias)
        add_vector_param(c, "bias", a->filters);
    return check_epilogue(c, &a->act);
}

static bool infer_fc(InferCtx *c)
{
    const FcAttrs *a = &c->n->attr.fc;
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK) || !attrs_in_range(c, &a->units, 1, "units"))
        return false;
    const Shape *s = in_shape(c, 0);
    int64_t k = 1;
    for (int i = 1; i < s->rank; i++)
        k *= s->d[i]; /* bounded: the input's count was checked */
    c->r->out = (Shape){2, {s->d[0], a->units}};
    int64_t w[2] = {a->units, k};
    if (!macs_fit(c, w, 2, s->d[0]))
        return false;
    add_param(c, "weight", 2, w);
    if (a->bias)
        add_vector_param(c, "bias", a->units);
    return check_epilogue(c, &a->act);
}

static bool infer_pool(InferCtx *c)
{
    const PoolAttrs *a = &c->n->attr.pool;
    if (!need_rank(c, 0, 4, 4))
        return false;
    if (c->n->op == OP_AVGPOOL && (a->dilation[0] != 1 || a->dilation[1] != 1))
        return fail(c, "avgpool: dilation is not supported (only maxpool dilates)");
    for (int i = 0; i < 2; i++)
        if (a->pad[i] >= a->kernel[i] || a->pad[i + 2] >= a->kernel[i])
            return fail(c, "%s: padding %lld+%lld must be smaller than the window %lld",
                        op_name(c->n->op), (long long)a->pad[i], (long long)a->pad[i + 2],
                        (long long)a->kernel[i]);
    int64_t hw[2];
    if (!spatial_out(c, a->kernel, a->stride, a->dilation, a->pad, a->ceil, hw))
        return false;
    const Shape *s = in_shape(c, 0);
    c->r->out = (Shape){4, {s->d[0], s->d[1], hw[0], hw[1]}};
    return true;
}

static bool infer_global_pool(InferCtx *c)
{
    if (!need_rank(c, 0, 3, DNNC_MAX_RANK))
        return false;
    Shape out = *in_shape(c, 0);
    for (int i = 2; i < out.rank; i++)
        out.d[i] = 1;
    c->r->out = out;
    return true;
}

static bool infer_same(InferCtx *c)
{
    c->r->out = *in_shape(c, 0);
    return true;
}

/* The slopes are one per channel ([C]), or any shape that broadcasts to the
 * input (ONNX PRelu). */
static bool infer_prelu(InferCtx *c)
{
    const Shape *slope = &c->n->attr.prelu.slope_shape;
    c->r->out = *in_shape(c, 0);
    if (slope->rank == 0) {
        if (!need_rank(c, 0, 2, DNNC_MAX_RANK))
            return false;
        add_vector_param(c, "weight", in_shape(c, 0)->d[1]);
        return true;
    }
    Shape b;
    if (!shape_broadcast(in_shape(c, 0), slope, &b) || !shape_equal(&b, in_shape(c, 0))) {
        char d[400], sh[300];
        shape_format(slope, sh, sizeof sh);
        return fail(c, "prelu: slopes of shape %s do not broadcast to %s", sh,
                    describe(c, 0, d, sizeof d));
    }
    add_param(c, "weight", slope->rank, slope->d);
    return true;
}

static bool infer_maxout(InferCtx *c)
{
    const MaxoutAttrs *a = &c->n->attr.maxout;
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK))
        return false;
    Shape out = *in_shape(c, 0);
    if (out.d[1] % a->pieces != 0) {
        char d[400];
        return fail(c, "maxout: the %lld channels of %s are not divisible by pieces=%lld",
                    (long long)out.d[1], describe(c, 0, d, sizeof d), (long long)a->pieces);
    }
    out.d[1] /= a->pieces;
    c->r->out = out;
    return true;
}

/* Resolves a possibly negative axis; `extra` allows axis == rank (flatten). */
static bool resolve_axis(InferCtx *c, int64_t axis, int rank, int extra, int64_t *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank + extra)
        return fail(c, "%s: axis %lld is out of range for rank %d", op_name(c->n->op),
                    (long long)axis, rank);
    *out = a;
    return true;
}

static bool infer_softmax(InferCtx *c)
{
    int64_t axis = 0;
    if (!resolve_axis(c, c->n->attr.axis.axis, in_shape(c, 0)->rank, 0, &axis))
        return false;
    c->r->out = *in_shape(c, 0);
    return true;
}

static bool infer_batchnorm(InferCtx *c)
{
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK))
        return false;
    int64_t ch = in_shape(c, 0)->d[1];
    c->r->out = *in_shape(c, 0);
    add_vector_param(c, "weight", ch);
    add_vector_param(c, "bias", ch);
    add_vector_param(c, "running_mean", ch);
    add_vector_param(c, "running_var", ch);
    return true;
}

/* y = x * scale[c] + shift[c] along dimension 1: a batch norm that has no
 * layer to fold into, with its statistics already folded into two vectors. */
static bool infer_scale_shift(InferCtx *c)
{
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK))
        return false;
    int64_t ch = in_shape(c, 0)->d[1];
    c->r->out = *in_shape(c, 0);
    add_vector_param(c, "scale", ch);
    add_vector_param(c, "shift", ch);
    return true;
}

static bool infer_lrn(InferCtx *c)
{
    if (!need_rank(c, 0, 3, DNNC_MAX_RANK))
        return false;
    c->r->out = *in_shape(c, 0);
    return true;
}

/* Element-wise ops broadcast as NumPy does: shapes align on the right and
 * each dimension is equal or 1. */
static bool infer_broadcast(InferCtx *c)
{
    Shape out = *in_shape(c, 0);
    for (int i = 1; i < c->n->n_inputs; i++)
        if (!shape_broadcast(&out, in_shape(c, i), &out)) {
            char a[400], b[400];
            return fail(c, "%s: operand shapes do not broadcast: %s and %s", op_name(c->n->op),
                        describe(c, 0, a, sizeof a), describe(c, i, b, sizeof b));
        }
    c->r->out = out;
    return true;
}

static bool infer_concat(InferCtx *c)
{
    Shape out = *in_shape(c, 0);
    int64_t axis = 0;
    if (!resolve_axis(c, c->n->attr.axis.axis, out.rank, 0, &axis))
        return false;
    for (int i = 1; i < c->n->n_inputs; i++) {
        const Shape *s = in_shape(c, i);
        bool ok = s->rank == out.rank;
        for (int k = 0; ok && k < s->rank; k++)
            ok = k == axis || s->d[k] == out.d[k];
        if (!ok) {
            char a[400], b[400];
            return fail(c, "concat: %s and %s differ outside axis %lld",
                        describe(c, 0, a, sizeof a), describe(c, i, b, sizeof b), (long long)axis);
        }
        if (!checked_add(out.d[axis], s->d[axis], &out.d[axis]) || out.d[axis] > DNNC_MAX_ELEMS)
            return fail(c, "concat: the result is too large");
    }
    int64_t count;
    if (!shape_count(&out, &count))
        return fail(c, "concat: the result has too many elements");
    c->r->out = out;
    return true;
}

static bool infer_flatten(InferCtx *c)
{
    const Shape *s = in_shape(c, 0);
    int64_t axis = 0;
    if (!resolve_axis(c, c->n->attr.axis.axis, s->rank, 1, &axis))
        return false;
    int64_t rows = 1, cols = 1;
    for (int i = 0; i < s->rank; i++)
        *(i < axis ? &rows : &cols) *= s->d[i];
    c->r->out = (Shape){2, {rows, cols}};
    return true;
}

static bool infer_reshape(InferCtx *c)
{
    const Shape *s = in_shape(c, 0);
    Shape out = c->n->attr.reshape.shape;
    int infer_at = -1;
    int64_t known = 1, total = shape_elems(s);
    for (int i = 0; i < out.rank; i++) {
        if (out.d[i] == 0) {
            if (i >= s->rank)
                return fail(c, "reshape: 0 at position %d copies a dimension the input lacks", i);
            out.d[i] = s->d[i];
        }
        if (out.d[i] == -1) {
            if (infer_at >= 0)
                return fail(c, "reshape: more than one -1 in the target shape");
            infer_at = i;
        } else if (out.d[i] < -1) {
            return fail(c, "reshape: dimension %lld is negative", (long long)out.d[i]);
        } else if (!checked_mul(known, out.d[i], &known) || known > DNNC_MAX_ELEMS) {
            return fail(c, "reshape: the target shape has too many elements");
        }
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0)
            return fail(c, "reshape: cannot infer -1: %lld elements do not divide by %lld",
                        (long long)total, (long long)known);
        out.d[infer_at] = total / known;
        known = total;
    }
    if (known != total) {
        char a[400], b[300];
        shape_format(&out, b, sizeof b);
        return fail(c, "reshape: %s has %lld elements but the target shape %s has %lld",
                    describe(c, 0, a, sizeof a), (long long)total, b, (long long)known);
    }
    c->r->out = out;
    return true;
}

static bool infer_slice(InferCtx *c)
{
    const SliceAttrs *a = &c->n->attr.slice;
    Shape out = *in_shape(c, 0);
    int64_t axis = 0;
    if (!resolve_axis(c, a->axis, out.rank, 0, &axis))
        return false;
    if (a->start >= a->end || a->end > out.d[axis]) {
        char d[400];
        return fail(c, "slice: [%lld, %lld) is not a non-empty range inside dimension %lld (%lld) of %s",
                    (long long)a->start, (long long)a->end, (long long)axis,
                    (long long)out.d[axis], describe(c, 0, d, sizeof d));
    }
    out.d[axis] = a->end - a->start;
    c->r->out = out;
    return true;
}

/* ---- ops added for ONNX --------------------------------------------------- */

static bool infer_transpose(InferCtx *c)
{
    const Shape *s = in_shape(c, 0);
    const IntList *perm = &c->n->attr.transpose.perm;
    Shape out = {s->rank, {0}};
    if (perm->n == 0) {
        for (int i = 0; i < s->rank; i++)
            out.d[i] = s->d[s->rank - 1 - i];
        c->r->out = out;
        return true;
    }
    bool seen[DNNC_MAX_RANK] = {false};
    if (perm->n != s->rank)
        return fail(c, "transpose: perm has %d entries for an operand of rank %d", perm->n, s->rank);
    for (int i = 0; i < perm->n; i++) {
        if (perm->v[i] < 0 || perm->v[i] >= s->rank || seen[perm->v[i]])
            return fail(c, "transpose: perm is not a permutation of 0..%d", s->rank - 1);
        seen[perm->v[i]] = true;
        out.d[i] = s->d[perm->v[i]];
    }
    c->r->out = out;
    return true;
}

static bool infer_pad(InferCtx *c)
{
    const PadAttrs *a = &c->n->attr.pad;
    Shape out = *in_shape(c, 0);
    if (a->pads.n != 2 * out.rank)
        return fail(c, "pad: pads has %d entries; an operand of rank %d needs %d", a->pads.n,
                    out.rank, 2 * out.rank);
    for (int i = 0; i < out.rank; i++) {
        int64_t lo = a->pads.v[i], hi = a->pads.v[i + out.rank];
        if (lo > DNNC_MAX_ELEMS || hi > DNNC_MAX_ELEMS)
            return fail(c, "pad: padding is too large");
        /* reflect mirrors without repeating the edge, so it needs lo, hi < d. */
        if (a->mode == PAD_REFLECT && (lo >= out.d[i] || hi >= out.d[i]))
            return fail(c, "pad: reflect padding of %lld+%lld needs a dimension larger than %lld",
                        (long long)lo, (long long)hi, (long long)out.d[i]);
        out.d[i] += lo + hi;
    }
    c->r->out = out;
    return true;
}

/* NumPy matmul on operands of rank >= 2: [..., M, K] x [..., K, N]. */
static bool matmul_shape(InferCtx *c, Shape *out)
{
    const Shape *a = in_shape(c, 0), *b = in_shape(c, 1);
    char x[400], y[400];
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK) || !need_rank(c, 1, 2, DNNC_MAX_RANK))
        return false;
    if (a->d[a->rank - 1] != b->d[b->rank - 2])
        return fail(c, "%s: inner dimensions differ: %s and %s", op_name(c->n->op),
                    describe(c, 0, x, sizeof x), describe(c, 1, y, sizeof y));
    Shape ba = *a, bb = *b;
    ba.rank -= 2, bb.rank -= 2;
    if (!shape_broadcast(&ba, &bb, out))
        return fail(c, "%s: batch dimensions do not broadcast: %s and %s", op_name(c->n->op),
                    describe(c, 0, x, sizeof x), describe(c, 1, y, sizeof y));
    out->d[out->rank++] = a->d[a->rank - 2];
    out->d[out->rank++] = b->d[b->rank - 1];
    return true;
}

static bool infer_matmul(InferCtx *c) { return matmul_shape(c, &c->r->out); }

static bool infer_constant(InferCtx *c)
{
    const ConstantAttrs *a = &c->n->attr.constant;
    if (!elem_kind_size((ElemKind)a->dtype) || elem_is_code((ElemKind)a->dtype)) /* codes are weights only */
        return fail(c, "constant: values of type %s cannot be stored", elem_kind_name((ElemKind)a->dtype));
    c->r->out = a->shape;
    c->r->out_type = elem_type_default((ElemKind)a->dtype);
    add_typed_param(c, "value", a->shape.rank, a->shape.d, (ElemKind)a->dtype);
    return true;
}

static bool is_quantised(ElemKind k) { return k == ELEM_U8 || k == ELEM_I8; }

static bool need_quantised(InferCtx *c, ElemKind k, const char *what)
{
    if (is_quantised(k))
        return true;
    return fail(c, "%s: %s must be u8 or i8, not %s", op_name(c->n->op), what, elem_kind_name(k));
}

/* quantize, dequantize and qlinear_conv also take i16: the integers of
 * dynamic fixed point at 16 bits (fixed16, docs/quantization.md). */
static bool need_grid_type(InferCtx *c, ElemKind k, const char *what)
{
    if (is_quantised(k) || k == ELEM_I16)
        return true;
    return fail(c, "%s: %s must be u8, i8 or i16, not %s", op_name(c->n->op), what, elem_kind_name(k));
}

static bool need_operand_quantised(InferCtx *c, int i)
{
    char d[400];
    if (is_quantised(operand(c, i)->type.kind))
        return true;
    return fail(c, "%s: operand %s must be u8 or i8", op_name(c->n->op), describe(c, i, d, sizeof d));
}

/* scale and zero_point: one value, or one per index along axis. */
static bool add_scale_and_zero_point(InferCtx *c, const char *scale, const char *zero_point,
                                     int64_t count, ElemKind zp_type)
{
    add_param(c, scale, 1, &count);
    add_typed_param(c, zero_point, 1, &count, zp_type);
    return true;
}

static bool quant_count(InferCtx *c, const QuantizeAttrs *a, int64_t *count)
{
    int64_t axis = 0;
    *count = 1;
    if (!a->per_axis)
        return true;
    if (!resolve_axis(c, a->axis, in_shape(c, 0)->rank, 0, &axis))
        return false;
    *count = in_shape(c, 0)->d[axis];
    return true;
}

static bool infer_quantize(InferCtx *c)
{
    const QuantizeAttrs *a = &c->n->attr.quantize;
    int64_t n;
    if (!need_grid_type(c, (ElemKind)a->dtype, "dtype") || !quant_count(c, a, &n))
        return false;
    c->r->out = *in_shape(c, 0);
    c->r->out_type = elem_type_default((ElemKind)a->dtype);
    return add_scale_and_zero_point(c, "scale", "zero_point", n, (ElemKind)a->dtype);
}

static bool infer_dequantize(InferCtx *c)
{
    const QuantizeAttrs *a = &c->n->attr.quantize;
    ElemKind k = operand(c, 0)->type.kind;
    int64_t n;
    if (k != ELEM_I32 && k != ELEM_I16 && !need_operand_quantised(c, 0))
        return false;
    if (!quant_count(c, a, &n))
        return false;
    c->r->out = *in_shape(c, 0);
    c->r->out_type = elem_type_default(ELEM_F32);
    return add_scale_and_zero_point(c, "scale", "zero_point", n, k);
}

/* The convolution geometry of conv_integer and qlinear_conv is conv's. */
static bool qconv_geometry(InferCtx *c, const QConvAttrs *a)
{
    int64_t w[4];
    if (!need_operand_quantised(c, 0) || !need_quantised(c, (ElemKind)a->weight_type, "weight_type") ||
        !conv_shape(c, &a->conv, w))
        return false;
    add_typed_param(c, "weight", 4, w, (ElemKind)a->weight_type);
    return true;
}

static bool infer_conv_integer(InferCtx *c)
{
    const QConvAttrs *a = &c->n->attr.qconv;
    if (!qconv_geometry(c, a))
        return false;
    int64_t one = 1, per_w = a->per_channel ? a->conv.filters : 1;
    add_typed_param(c, "x_zero_point", 1, &one, operand(c, 0)->type.kind);
    add_typed_param(c, "w_zero_point", 1, &per_w, (ElemKind)a->weight_type);
    c->r->out_type = elem_type_default(ELEM_I32);
    return true;
}

/* The largest K (products per output) of a 16-bit qlinear_conv: each
 * product of two zero-point-corrected 16-bit values is below 2^32 in
 * magnitude and the i32 bias below 2^31, so K <= 2^31 keeps every sum below
 * 2^63, in the 64-bit accumulator (survey Fig. 39). */
#define QCONV16_MAX_K ((int64_t)1 << 31)

/* A qlinear_conv on i16 is dynamic fixed point at 16 bits: its input,
 * weights and output are all i16 (the 8-bit kernels never see 16-bit
 * operands), and its sums fit a 64-bit accumulator. */
static bool qconv16_geometry(InferCtx *c, const QConvAttrs *a)
{
    ElemKind x = operand(c, 0)->type.kind;
    if (x != ELEM_I16 && a->weight_type != ELEM_I16 && a->out_type != ELEM_I16)
        return qconv_geometry(c, a) && need_quantised(c, (ElemKind)a->out_type, "out_type");
    if (x != ELEM_I16 || a->weight_type != ELEM_I16 || a->out_type != ELEM_I16)
        return fail(c, "qlinear_conv: a 16-bit layer has i16 input, weight_type and out_type "
                       "(got %s, %s and %s)", elem_kind_name(x), elem_kind_name((ElemKind)a->weight_type),
                    elem_kind_name((ElemKind)a->out_type));
    int64_t w[4];
    if (!conv_shape(c, &a->conv, w))
        return false;
    if (w[1] * w[2] * w[3] > QCONV16_MAX_K)
        return fail(c, "qlinear_conv: %lld products per output can overflow a 64-bit accumulator "
                       "(at most 2^31 with 16-bit operands)", (long long)(w[1] * w[2] * w[3]));
    add_typed_param(c, "weight", 4, w, ELEM_I16);
    return true;
}

/* A second operand of an 8-bit qlinear_conv is a residual added in its
 * epilogue (docs/quantization.md, "The residual add"): integers of the
 * output's shape on their own grid, u8 or i8. */
static bool check_qconv_residual(InferCtx *c)
{
    char d[400], want[300];
    if (c->n->n_inputs != 2)
        return true;
    if (operand(c, 0)->type.kind == ELEM_I16)
        return fail(c, "qlinear_conv: a 16-bit layer takes no residual operand");
    if (!need_operand_quantised(c, 1))
        return false;
    if (shape_equal(in_shape(c, 1), &c->r->out))
        return true;
    shape_format(&c->r->out, want, sizeof want);
    return fail(c, "qlinear_conv: the residual operand %s must have the output's shape %s",
                describe(c, 1, d, sizeof d), want);
}

static bool infer_qlinear_conv(InferCtx *c)
{
    const QConvAttrs *a = &c->n->attr.qconv;
    if (!qconv16_geometry(c, a) || !check_qconv_residual(c))
        return false;
    int64_t one = 1, per_w = a->per_channel ? a->conv.filters : 1;
    add_scale_and_zero_point(c, "x_scale", "x_zero_point", one, operand(c, 0)->type.kind);
    add_scale_and_zero_point(c, "w_scale", "w_zero_point", per_w, (ElemKind)a->weight_type);
    add_scale_and_zero_point(c, "y_scale", "y_zero_point", one, (ElemKind)a->out_type);
    if (a->conv.bias)
        add_typed_param(c, "bias", 1, &a->conv.filters, ELEM_I32);
    if (c->n->n_inputs == 2)
        add_scale_and_zero_point(c, "residual_scale", "residual_zero_point", one, operand(c, 1)->type.kind);
    c->r->out_type = elem_type_default((ElemKind)a->out_type);
    return true;
}

/* coded_conv: conv's geometry and epilogue; params 0 the codes, 1 the
 * scales (one per filter with per_channel, else one) or, for codebook, the
 * 2^bits centroids, 2 the float bias. */
static bool infer_coded_conv(InferCtx *c)
{
    const CodedConvAttrs *a = &c->n->attr.coded;
    ElemType t = elem_type_default((ElemKind)a->weight_type);
    if (!elem_is_code(t.kind))
        return fail(c, "coded_conv: weight_type is log2, codebook, binary or ternary, not %s",
                    elem_kind_name(t.kind));
    bool sized = t.kind == ELEM_LOG2 || t.kind == ELEM_CODEBOOK;
    if (!sized && a->weight_bits != 4)
        return fail(c, "coded_conv: weight_bits applies to log2 and codebook weights only");
    if (sized && (a->weight_bits < (t.kind == ELEM_LOG2 ? 2 : 1) || a->weight_bits > 8))
        return fail(c, "coded_conv: %s weights take %s to 8 bits, not %lld", elem_kind_name(t.kind),
                    t.kind == ELEM_LOG2 ? "2 (a sign and a magnitude)" : "1", (long long)a->weight_bits);
    if (t.kind == ELEM_CODEBOOK && a->per_channel)
        return fail(c, "coded_conv: codebook weights have one codebook for the layer, no per_channel scale");
    if (sized)
        t.bits = (uint8_t)a->weight_bits;
    int64_t w[4];
    if (!conv_shape(c, &a->conv, w))
        return false;
    ParamSpec *codes = &c->r->params[c->r->n_params];
    add_param(c, "weight", 4, w);
    codes->type = t;
    if (t.kind == ELEM_CODEBOOK)
        add_vector_param(c, "codebook", (int64_t)1 << t.bits);
    else
        add_vector_param(c, "w_scale", a->per_channel ? a->conv.filters : 1);
    if (a->conv.bias)
        add_vector_param(c, "bias", a->conv.filters);
    return check_epilogue(c, &a->conv.act);
}

static int64_t matmul_columns(InferCtx *c) { return in_shape(c, 1)->d[in_shape(c, 1)->rank - 1]; }

static bool infer_matmul_integer(InferCtx *c)
{
    if (!need_operand_quantised(c, 0) || !need_operand_quantised(c, 1) || !matmul_shape(c, &c->r->out))
        return false;
    int64_t one = 1, per_b = c->n->attr.qmatmul.per_column ? matmul_columns(c) : 1;
    add_typed_param(c, "a_zero_point", 1, &one, operand(c, 0)->type.kind);
    add_typed_param(c, "b_zero_point", 1, &per_b, operand(c, 1)->type.kind);
    c->r->out_type = elem_type_default(ELEM_I32);
    return true;
}

static bool infer_qlinear_matmul(InferCtx *c)
{
    const QMatmulAttrs *a = &c->n->attr.qmatmul;
    if (!need_operand_quantised(c, 0) || !need_operand_quantised(c, 1) ||
        !need_quantised(c, (ElemKind)a->out_type, "out_type") || !matmul_shape(c, &c->r->out))
        return false;
    int64_t one = 1, per_b = a->per_column ? matmul_columns(c) : 1;
    add_scale_and_zero_point(c, "a_scale", "a_zero_point", one, operand(c, 0)->type.kind);
    add_scale_and_zero_point(c, "b_scale", "b_zero_point", per_b, operand(c, 1)->type.kind);
    add_scale_and_zero_point(c, "y_scale", "y_zero_point", one, (ElemKind)a->out_type);
    c->r->out_type = elem_type_default((ElemKind)a->out_type);
    return true;
}

/* Operand element types an op accepts (OpInfo.types). */
static bool check_operand_types(InferCtx *c)
{
    const OpInfo *info = op_info(c->n->op);
    char d[400];
    for (int i = 0; i < c->n->n_inputs && info->types != TYPES_OWN; i++) {
        ElemKind k = operand(c, i)->type.kind;
        if (info->types == TYPES_FLOAT && k != ELEM_F32)
            return fail(c, "%s takes f32 operands, but %s is not f32", info->name,
                        describe(c, i, d, sizeof d));
        if (!elem_kind_size(k) || elem_is_code(k))
            return fail(c, "%s cannot compute on %s", info->name, describe(c, i, d, sizeof d));
        if (k != operand(c, 0)->type.kind) {
            char e[400];
            return fail(c, "%s: operand types differ: %s and %s", info->name,
                        describe(c, 0, d, sizeof d), describe(c, i, e, sizeof e));
        }
    }
    return true;
}

typedef bool (*InferFn)(InferCtx *c);

static const InferFn infer_fns[] = {
#define OP(e, s, at, lo, hi, ty, inf, mac, ref) inf,
#include "ops.def"
#undef OP
};

bool infer_node(const Graph *g, const Node *n, InferResult *r, char *err, size_t errsz)
{
    InferCtx c = {g, n, r, err, errsz, false};
    memset(r, 0, sizeof *r);
    const OpInfo *info = op_info(n->op);
    if (n->n_inputs < info->min_inputs || (info->max_inputs >= 0 && n->n_inputs > info->max_inputs)) {
        if (info->max_inputs < 0)
            return fail(&c, "%s takes at least %d operands, got %d", info->name, info->min_inputs,
                        n->n_inputs);
        return fail(&c, "%s takes %d operand%s, got %d", info->name, info->max_inputs,
                    info->max_inputs == 1 ? "" : "s", n->n_inputs);
    }
    r->out_type = n->n_inputs ? g->tensors[n->inputs[0]].type : elem_type_default(ELEM_F32);
    if (!attrs_validate(n->op, &n->attr, err, errsz))
        return false;
    if (!check_operand_types(&c) || !infer_fns[n->op](&c))
        return false;
    if (c.params_full)
        return fail(&c, "internal error: %s has more than %d parameters (NODE_MAX_PARAMS)", info->name,
                    NODE_MAX_PARAMS);
    int64_t count;
    if (!shape_count(&r->out, &count))
        return fail(&c, "%s: the output has too many elements", info->name);
    for (int i = 0; i < r->n_params; i++)
        if (!shape_count(&r->params[i].shape, &count))
            return fail(&c, "%s: the %s has too many elements", info->name, r->params[i].suffix);
    return true;
}
