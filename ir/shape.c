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

static void add_param(InferCtx *c, const char *suffix, int rank, const int64_t *dims)
{
    ParamSpec *p = &c->r->params[c->r->n_params++];
    p->suffix = suffix;
    p->shape.rank = rank;
    memcpy(p->shape.d, dims, sizeof(int64_t) * (size_t)rank);
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

static bool infer_conv(InferCtx *c)
{
    const ConvAttrs *a = &c->n->attr.conv;
    if (!need_rank(c, 0, 4, 4))
        return false;
    const Shape *s = in_shape(c, 0);
    char d[400];
    if (s->d[1] % a->groups != 0)
        return fail(c, "conv: the %lld input channels of %s are not divisible by groups=%lld",
                    (long long)s->d[1], describe(c, 0, d, sizeof d), (long long)a->groups);
    if (a->filters % a->groups != 0)
        return fail(c, "conv: filters=%lld is not divisible by groups=%lld", (long long)a->filters,
                    (long long)a->groups);
    if (!attrs_in_range(c, &a->filters, 1, "filters"))
        return false;
    int64_t hw[2];
    if (!spatial_out(c, a->kernel, a->stride, a->dilation, a->pad, false, hw))
        return false;
    c->r->out = (Shape){4, {s->d[0], a->filters, hw[0], hw[1]}};
    int64_t w[4] = {a->filters, s->d[1] / a->groups, a->kernel[0], a->kernel[1]};
    if (!macs_fit(c, w, 4, s->d[0] * hw[0] * hw[1]))
        return false;
    add_param(c, "weight", 4, w);
    if (a->bias)
        add_vector_param(c, "bias", a->filters);
    return true;
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
    return true;
}

static bool infer_pool(InferCtx *c)
{
    const PoolAttrs *a = &c->n->attr.pool;
    if (!need_rank(c, 0, 4, 4))
        return false;
    for (int i = 0; i < 2; i++)
        if (a->pad[i] >= a->kernel[i] || a->pad[i + 2] >= a->kernel[i])
            return fail(c, "%s: padding %lld+%lld must be smaller than the window %lld",
                        op_name(c->n->op), (long long)a->pad[i], (long long)a->pad[i + 2],
                        (long long)a->kernel[i]);
    int64_t one[2] = {1, 1}, hw[2];
    if (!spatial_out(c, a->kernel, a->stride, one, a->pad, a->ceil, hw))
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

static bool infer_prelu(InferCtx *c)
{
    if (!need_rank(c, 0, 2, DNNC_MAX_RANK))
        return false;
    c->r->out = *in_shape(c, 0);
    add_vector_param(c, "weight", in_shape(c, 0)->d[1]);
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

static bool infer_lrn(InferCtx *c)
{
    if (!need_rank(c, 0, 3, DNNC_MAX_RANK))
        return false;
    c->r->out = *in_shape(c, 0);
    return true;
}

static bool infer_add(InferCtx *c)
{
    for (int i = 1; i < c->n->n_inputs; i++)
        if (!shape_equal(in_shape(c, 0), in_shape(c, i))) {
            char a[400], b[400];
            return fail(c, "add: operand shapes differ: %s and %s", describe(c, 0, a, sizeof a),
                        describe(c, i, b, sizeof b));
        }
    c->r->out = *in_shape(c, 0);
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
        out.d[axis] += s->d[axis]; /* bounded: at most 2^16 operands of < 2^48 */
    }
    if (out.d[axis] > DNNC_MAX_ELEMS)
        return fail(c, "concat: the result is too large");
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

typedef bool (*InferFn)(InferCtx *c);

static const InferFn infer_fns[] = {
#define OP(e, s, at, lo, hi, inf, mac, ref) inf,
#include "ops.def"
#undef OP
};

bool infer_node(const Graph *g, const Node *n, InferResult *r, char *err, size_t errsz)
{
    InferCtx c = {g, n, r, err, errsz};
    memset(r, 0, sizeof *r);
    const OpInfo *info = op_info(n->op);
    if (n->n_inputs < info->min_inputs || (info->max_inputs >= 0 && n->n_inputs > info->max_inputs)) {
        if (info->max_inputs < 0)
            return fail(&c, "%s takes at least %d operands, got %d", info->name, info->min_inputs,
                        n->n_inputs);
        return fail(&c, "%s takes %d operand%s, got %d", info->name, info->max_inputs,
                    info->max_inputs == 1 ? "" : "s", n->n_inputs);
    }
    if (!infer_fns[n->op](&c))
        return false;
    int64_t count;
    if (!shape_count(&r->out, &count))
        return fail(&c, "%s: the output has too many elements", info->name);
    for (int i = 0; i < r->n_params; i++)
        if (!shape_count(&r->params[i].shape, &count))
            return fail(&c, "%s: the %s has too many elements", info->name, r->params[i].suffix);
    return true;
}
