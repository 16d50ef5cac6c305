/* One handler per ONNX operator: reads the node's attributes and operands
 * and emits the IR layers that compute it. Semantics follow the ONNX
 * operator specification of each opset (older versions where they differ). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

#define MAX_INTS 16

static const char *out0(const Onnx__NodeProto *n) { return n->output[0]; }

static bool bind_out(Importer *im, const Onnx__NodeProto *n, int tensor)
{
    if (tensor < 0)
        return false;
    onnx_bind_tensor(im, out0(n), tensor);
    return true;
}

/* Extra outputs (masks, indices, training statistics) are not computed. */
static bool only_first_output(Importer *im, const Onnx__NodeProto *n, const char *what)
{
    for (size_t i = 1; i < n->n_output; i++)
        if (n->output[i] && n->output[i][0]) {
            onnx_error(im, "output %zu (%s) is not supported", i, what);
            return false;
        }
    return true;
}

static bool need_const(Importer *im, const Onnx__NodeProto *n, size_t i, const char *what,
                       const OnnxConst **c)
{
    *c = onnx_input_const(im, n, i);
    if (*c)
        return true;
    onnx_error(im, "%s (input %zu) must be a constant or initializer; dnnc compiles static graphs",
               what, i);
    return false;
}

/* A unary layer on input 0. */
static bool unary(Importer *im, const Onnx__NodeProto *n, OpKind op, const Attrs *a)
{
    int x = onnx_input_tensor(im, n, 0);
    return x >= 0 && bind_out(im, n, onnx_emit(im, op, a, &x, 1, out0(n), NULL));
}

static Attrs defaults(OpKind op)
{
    Attrs a;
    attrs_init_defaults(op, &a);
    return a;
}

/* ---- renaming and constants ------------------------------------------------ */

static bool alias_input(Importer *im, const Onnx__NodeProto *n)
{
    OnnxValue *v = onnx_value(im, n->input[0]);
    if (v->constant)
        onnx_bind_const(im, out0(n), v->constant);
    else
        onnx_bind_tensor(im, out0(n), v->tensor);
    return true;
}

static bool op_identity(Importer *im, const Onnx__NodeProto *n) { return alias_input(im, n); }

/* Inference: the identity. */
static bool op_dropout(Importer *im, const Onnx__NodeProto *n)
{
    if (onnx_has_input(n, 2)) {
        const OnnxConst *training = onnx_input_const(im, n, 2);
        if (!training || onnx_const_get(training, 0) != 0) {
            onnx_error(im, "training mode is not supported");
            return false;
        }
    }
    return only_first_output(im, n, "the dropout mask") && alias_input(im, n);
}

static bool op_constant(Importer *im, const Onnx__NodeProto *n)
{
    OnnxConst *c = arena_alloc(&im->arena, sizeof *c);
    const Onnx__AttributeProto *a;
    char err[1024];
    if ((a = onnx_attr(n, "value")) && a->t) {
        if (!onnx_tensor_to_const(im, a->t, c, err, sizeof err)) {
            onnx_error(im, "%s", err);
            return false;
        }
    } else if ((a = onnx_attr(n, "value_float")) || (a = onnx_attr(n, "value_floats"))) {
        bool scalar = a->has_f;
        c->kind = ELEM_F32;
        c->shape = scalar ? (Shape){0, {0}} : (Shape){1, {(int64_t)a->n_floats}};
        c->data = arena_array(&im->arena, scalar ? 1 : a->n_floats + 1, sizeof(float));
        if (scalar)
            ((float *)c->data)[0] = a->f;
        else
            memcpy(c->data, a->floats, a->n_floats * sizeof(float));
    } else if ((a = onnx_attr(n, "value_int")) || (a = onnx_attr(n, "value_ints"))) {
        bool scalar = a->has_i;
        c->is_i64 = true;
        c->kind = ELEM_I32;
        c->shape = scalar ? (Shape){0, {0}} : (Shape){1, {(int64_t)a->n_ints}};
        c->i64 = arena_array(&im->arena, scalar ? 1 : a->n_ints + 1, sizeof(int64_t));
        if (scalar)
            c->i64[0] = a->i;
        else
            memcpy(c->i64, a->ints, a->n_ints * sizeof(int64_t));
    } else {
        onnx_error(im, "only 'value', 'value_float(s)' and 'value_int(s)' constants are supported");
        return false;
    }
    onnx_bind_const(im, out0(n), c);
    return true;
}

/* ---- element-wise ------------------------------------------------------------ */

/* Opsets before 7 broadcast B against A from `axis` (default: the trailing
 * dimensions) when broadcast=1; NumPy rules align on the right. The legacy
 * form becomes NumPy form by appending ones to B's shape. */
static int legacy_broadcast_operand(Importer *im, const Onnx__NodeProto *n, int b)
{
    if (im->opset >= 7 || !onnx_attr_int(n, "broadcast", 0) || !onnx_attr(n, "axis"))
        return b;
    const Shape *sa = onnx_input_shape(im, n, 0), *sb = &im->g->tensors[b].shape;
    int64_t axis = onnx_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += sa->rank;
    Shape target = *sb;
    while (target.rank < sa->rank - axis && target.rank < DNNC_MAX_RANK)
        target.d[target.rank++] = 1;
    if (shape_equal(&target, sb))
        return b;
    Attrs a = defaults(OP_RESHAPE);
    a.reshape.shape = target;
    return onnx_emit(im, OP_RESHAPE, &a, &b, 1, out0(n), "b");
}

static bool variadic(Importer *im, const Onnx__NodeProto *n, OpKind op)
{
    int inputs[64];
    if (n->n_input > 64) {
        onnx_error(im, "more than 64 operands");
        return false;
    }
    for (size_t i = 0; i < n->n_input; i++)
        if ((inputs[i] = onnx_input_tensor(im, n, i)) < 0)
            return false;
    if (n->n_input == 2 && (inputs[1] = legacy_broadcast_operand(im, n, inputs[1])) < 0)
        return false;
    if (op == OP_ADD && n->n_input == 1) /* Sum of one operand */
        return alias_input(im, n);
    Attrs a = defaults(op);
    return bind_out(im, n, onnx_emit(im, op, &a, inputs, (int)n->n_input, out0(n), NULL));
}

static bool op_add(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_ADD); }
static bool op_sub(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_SUB); }
static bool op_mul(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_MUL); }
static bool op_div(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_DIV); }
static bool op_max(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_MAX); }
static bool op_min(Importer *im, const Onnx__NodeProto *n) { return variadic(im, n, OP_MIN); }

static bool op_relu(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_RELU);
    return unary(im, n, OP_RELU, &a);
}

static bool op_sigmoid(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_SIGMOID);
    return unary(im, n, OP_SIGMOID, &a);
}

static bool op_tanh(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_TANH);
    return unary(im, n, OP_TANH, &a);
}

static bool op_leaky_relu(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_LEAKY_RELU);
    a.alpha.alpha = onnx_attr_float(n, "alpha", 0.01);
    return unary(im, n, OP_LEAKY_RELU, &a);
}

static bool op_elu(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_ELU);
    a.alpha.alpha = onnx_attr_float(n, "alpha", 1.0);
    return unary(im, n, OP_ELU, &a);
}

static bool op_selu(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_SELU);
    a.selu.alpha = onnx_attr_float(n, "alpha", a.selu.alpha);
    a.selu.gamma = onnx_attr_float(n, "gamma", a.selu.gamma);
    return unary(im, n, OP_SELU, &a);
}

static bool op_hard_sigmoid(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_HARD_SIGMOID);
    a.hard_sigmoid.alpha = onnx_attr_float(n, "alpha", 0.2);
    a.hard_sigmoid.beta = onnx_attr_float(n, "beta", 0.5);
    return unary(im, n, OP_HARD_SIGMOID, &a);
}

static bool op_prelu(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *slope;
    if (!need_const(im, n, 1, "the slope", &slope))
        return false;
    Attrs a = defaults(OP_PRELU);
    int x = onnx_input_tensor(im, n, 0);
    if (x < 0)
        return false;
    const Shape *xs = &im->g->tensors[x].shape;
    Shape b;
    a.prelu.slope_shape = slope->shape;
    if (slope->shape.rank == 0) /* a scalar slope broadcasts like [1] */
        a.prelu.slope_shape = (Shape){1, {1}};
    /* Opset 6 and PyTorch's exports of it: a 1-D slope is one per channel. */
    bool per_channel = slope->shape.rank == 1 && xs->rank >= 2 && slope->shape.d[0] == xs->d[1] &&
                       (im->opset < 7 || !shape_broadcast(xs, &slope->shape, &b) || !shape_equal(&b, xs));
    if (per_channel)
        a.prelu.slope_shape.rank = 0;
    int y = onnx_emit(im, OP_PRELU, &a, &x, 1, out0(n), NULL);
    return y >= 0 && onnx_bind_param(im, y, 0, slope, "the slope") && bind_out(im, n, y);
}

/* Bounds are attributes before opset 11 and optional inputs after. */
static bool op_clip(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_CLIP);
    if (im->opset < 11) {
        a.clip.min = onnx_attr_float(n, "min", a.clip.min);
        a.clip.max = onnx_attr_float(n, "max", a.clip.max);
    } else {
        for (size_t i = 1; i <= 2; i++) {
            if (!onnx_has_input(n, i))
                continue;
            const OnnxConst *c;
            if (!need_const(im, n, i, i == 1 ? "min" : "max", &c))
                return false;
            *(i == 1 ? &a.clip.min : &a.clip.max) = onnx_const_get(c, 0);
        }
    }
    return unary(im, n, OP_CLIP, &a);
}

/* ---- softmax ---------------------------------------------------------------- */

static bool reshape_to(Importer *im, const Onnx__NodeProto *n, int x, Shape target,
                       const char *suffix, int *out)
{
    Attrs a = defaults(OP_RESHAPE);
    a.reshape.shape = target;
    *out = onnx_emit(im, OP_RESHAPE, &a, &x, 1, out0(n), suffix);
    return *out >= 0;
}

/* Before opset 13 the input is flattened to 2-D at `axis` (default 1) and
 * normalised over the second dimension; since 13, over one axis (default -1). */
static bool softmax_like(Importer *im, const Onnx__NodeProto *n, OpKind op)
{
    int x = onnx_input_tensor(im, n, 0);
    if (x < 0)
        return false;
    Shape s = im->g->tensors[x].shape;
    int64_t axis = onnx_attr_int(n, "axis", im->opset < 13 ? 1 : -1);
    if (axis < -s.rank || axis >= s.rank) {
        onnx_error(im, "axis %lld is out of range for rank %d", (long long)axis, s.rank);
        return false;
    }
    if (axis < 0)
        axis += s.rank;
    Attrs a = defaults(op);
    if (im->opset >= 13 || axis == s.rank - 1) {
        a.axis.axis = axis;
        return bind_out(im, n, onnx_emit(im, op, &a, &x, 1, out0(n), NULL));
    }
    Shape flat = {2, {1, 1}};
    for (int i = 0; i < s.rank; i++)
        flat.d[i < axis ? 0 : 1] *= s.d[i];
    int x2, y2;
    a.axis.axis = 1;
    if (!reshape_to(im, n, x, flat, "2d", &x2) ||
        (y2 = onnx_emit(im, op, &a, &x2, 1, out0(n), "flat")) < 0 ||
        !reshape_to(im, n, y2, s, NULL, &x))
        return false;
    return bind_out(im, n, x);
}

static bool op_softmax(Importer *im, const Onnx__NodeProto *n) { return softmax_like(im, n, OP_SOFTMAX); }
static bool op_log_softmax(Importer *im, const Onnx__NodeProto *n) { return softmax_like(im, n, OP_LOG_SOFTMAX); }

/* ---- convolution and pooling ----------------------------------------------- */

typedef struct Window2d {
    int64_t kernel[2], stride[2], dilation[2], pad[4];
} Window2d;

/* kernel_shape, strides, dilations, pads and auto_pad of a 2-D window on an
 * input of spatial size in[2]. 1-D windows get height 1. */
static bool read_window(Importer *im, const Onnx__NodeProto *n, const int64_t in[2], int dims,
                        const int64_t *kernel_from_weights, Window2d *w)
{
    int64_t k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    int64_t v[4];
    int nk = onnx_attr_ints(n, "kernel_shape", v, 2);
    if (nk < 0 && kernel_from_weights)
        nk = dims, memcpy(v, kernel_from_weights, sizeof(int64_t) * (size_t)dims);
    if (nk != dims) {
        onnx_error(im, "kernel_shape must have %d entries", dims);
        return false;
    }
    int off = 2 - dims; /* 1-D windows use the width only */
    for (int i = 0; i < dims; i++)
        k[off + i] = v[i];
    int ns = onnx_attr_ints(n, "strides", v, 2);
    for (int i = 0; i < ns && i < dims; i++)
        s[off + i] = v[i];
    int nd = onnx_attr_ints(n, "dilations", v, 2);
    for (int i = 0; i < nd && i < dims; i++)
        d[off + i] = v[i];
    if ((ns >= 0 && ns != dims) || (nd >= 0 && nd != dims)) {
        onnx_error(im, "strides and dilations must have %d entries", dims);
        return false;
    }
    int np = onnx_attr_ints(n, "pads", v, 4);
    if (np >= 0 && np != 2 * dims) {
        onnx_error(im, "pads must have %d entries", 2 * dims);
        return false;
    }
    for (int i = 0; i < dims && np > 0; i++) {
        p[off + i] = v[i];
        p[2 + off + i] = v[dims + i];
    }
    /* Checked before any arithmetic on them: the values are untrusted. */
    const int64_t limit = (int64_t)1 << 31;
    for (int i = 0; i < 4; i++)
        if (p[i] < 0 || p[i] > limit || (i < 2 && (k[i] < 1 || s[i] < 1 || d[i] < 1 || k[i] > limit ||
                                                    s[i] > limit || d[i] > limit))) {
            onnx_error(im, "kernel, stride and dilation must be in [1, 2^31] and pads in [0, 2^31]");
            return false;
        }
    const char *auto_pad = onnx_attr_string(im, n, "auto_pad", "NOTSET");
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0, lower = strcmp(auto_pad, "SAME_LOWER") == 0;
    if (upper || lower) {
        /* Output = ceil(input / stride); the padding that achieves it is
         * split evenly, the odd element at the end (UPPER) or start (LOWER). */
        for (int i = 0; i < 2; i++) {
            int64_t out = (in[i] + s[i] - 1) / s[i];
            int64_t total = (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i];
            total = total > 0 ? total : 0;
            p[i] = upper ? total / 2 : total - total / 2;
            p[i + 2] = total - p[i];
        }
    } else if (strcmp(auto_pad, "VALID") == 0) {
        memset(p, 0, sizeof p);
    } else if (strcmp(auto_pad, "NOTSET") != 0) {
        onnx_error(im, "auto_pad '%s' is not supported", auto_pad);
        return false;
    }
    memcpy(w->kernel, k, sizeof k), memcpy(w->stride, s, sizeof s);
    memcpy(w->dilation, d, sizeof d), memcpy(w->pad, p, sizeof p);
    return true;
}

/* 1-D layers run as 2-D layers of height 1: [N, C, L] <-> [N, C, 1, L]. */
static int as_2d(Importer *im, const Onnx__NodeProto *n, int x)
{
    const Shape *s = &im->g->tensors[x].shape;
    if (s->rank == 4)
        return x;
    int y;
    return reshape_to(im, n, x, (Shape){4, {s->d[0], s->d[1], 1, s->d[2]}}, "2d", &y) ? y : -1;
}

static bool bind_spatial_out(Importer *im, const Onnx__NodeProto *n, int y, int rank)
{
    if (y < 0)
        return false;
    if (rank == 3) {
        const Shape *s = &im->g->tensors[y].shape;
        if (!reshape_to(im, n, y, (Shape){3, {s->d[0], s->d[1], s->d[3]}}, NULL, &y))
            return false;
    }
    return bind_out(im, n, y);
}

/* The operand of a conv or pool: rank 3 (1-D) or 4 (2-D). */
static int spatial_operand(Importer *im, const Onnx__NodeProto *n, int *rank, int64_t in[2])
{
    int x = onnx_input_tensor(im, n, 0);
    if (x < 0)
        return -1;
    const Shape *s = &im->g->tensors[x].shape;
    *rank = s->rank;
    if (s->rank != 3 && s->rank != 4) {
        onnx_error(im, "only 1-D and 2-D %s is supported (the input has rank %d)",
                   strstr(n->op_type, "Conv") ? "convolution" : "pooling", s->rank);
        return -1;
    }
    in[0] = s->rank == 4 ? s->d[2] : 1;
    in[1] = s->d[s->rank - 1];
    return as_2d(im, n, x);
}

static void set_conv_window(ConvAttrs *c, const Window2d *w)
{
    memcpy(c->kernel, w->kernel, sizeof c->kernel);
    memcpy(c->stride, w->stride, sizeof c->stride);
    memcpy(c->dilation, w->dilation, sizeof c->dilation);
    memcpy(c->pad, w->pad, sizeof c->pad);
}

/* Conv, ConvInteger and QLinearConv share the geometry: weight input w_in. */
static bool conv_setup(Importer *im, const Onnx__NodeProto *n, size_t w_in, const OnnxConst **w,
                       ConvAttrs *c, int *x, int *rank)
{
    int64_t in[2];
    if (!need_const(im, n, w_in, "the weight", w) || (*x = spatial_operand(im, n, rank, in)) < 0)
        return false;
    if ((*w)->shape.rank != *rank) {
        onnx_error(im, "the weight has rank %d for an input of rank %d", (*w)->shape.rank, *rank);
        return false;
    }
    Window2d win;
    if (!read_window(im, n, in, *rank - 2, (*w)->shape.d + 2, &win))
        return false;
    set_conv_window(c, &win);
    c->filters = (*w)->shape.d[0];
    c->groups = onnx_attr_int(n, "group", 1);
    return true;
}

static bool op_conv(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *w, *b = NULL;
    Attrs a = defaults(OP_CONV);
    int x, rank;
    if (!conv_setup(im, n, 1, &w, &a.conv, &x, &rank))
        return false;
    a.conv.bias = onnx_has_input(n, 2);
    if (a.conv.bias && !need_const(im, n, 2, "the bias", &b))
        return false;
    int y = onnx_emit(im, OP_CONV, &a, &x, 1, out0(n), rank == 3 ? "2d_out" : NULL);
    return y >= 0 && onnx_bind_param(im, y, 0, w, "the weight") &&
           (!b || onnx_bind_param(im, y, 1, b, "the bias")) && bind_spatial_out(im, n, y, rank);
}

static bool pool(Importer *im, const Onnx__NodeProto *n, OpKind op)
{
    int64_t in[2];
    int rank;
    int x = spatial_operand(im, n, &rank, in);
    Window2d win;
    if (x < 0 || !only_first_output(im, n, "the indices") ||
        !read_window(im, n, in, rank - 2, NULL, &win))
        return false;
    if (onnx_attr_int(n, "storage_order", 0) != 0) {
        onnx_error(im, "storage_order=1 is not supported");
        return false;
    }
    Attrs a = defaults(op);
    memcpy(a.pool.kernel, win.kernel, sizeof win.kernel);
    memcpy(a.pool.stride, win.stride, sizeof win.stride);
    memcpy(a.pool.dilation, win.dilation, sizeof win.dilation);
    memcpy(a.pool.pad, win.pad, sizeof win.pad);
    a.pool.ceil = onnx_attr_int(n, "ceil_mode", 0) != 0;
    a.pool.count_include_pad = onnx_attr_int(n, "count_include_pad", 0) != 0;
    return bind_spatial_out(im, n, onnx_emit(im, op, &a, &x, 1, out0(n), rank == 3 ? "2d_out" : NULL),
                            rank);
}

static bool op_max_pool(Importer *im, const Onnx__NodeProto *n) { return pool(im, n, OP_MAXPOOL); }
static bool op_average_pool(Importer *im, const Onnx__NodeProto *n) { return pool(im, n, OP_AVGPOOL); }

static bool op_global_average_pool(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_GLOBAL_AVGPOOL);
    return unary(im, n, OP_GLOBAL_AVGPOOL, &a);
}

static bool op_global_max_pool(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_GLOBAL_MAXPOOL);
    return unary(im, n, OP_GLOBAL_MAXPOOL, &a);
}

/* ---- normalisation ----------------------------------------------------------- */

static bool op_batch_normalization(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *c[4];
    static const char *const what[] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++)
        if (!need_const(im, n, (size_t)i + 1, what[i], &c[i]))
            return false;
    if (!only_first_output(im, n, "training statistics") ||
        (onnx_attr(n, "training_mode") && onnx_attr_int(n, "training_mode", 0))) {
        if (onnx_attr_int(n, "training_mode", 0))
            onnx_error(im, "training mode is not supported");
        return false;
    }
    Attrs a = defaults(OP_BATCHNORM);
    a.batchnorm.eps = onnx_attr_float(n, "epsilon", 1e-5);
    int x = onnx_input_tensor(im, n, 0);
    int y = x >= 0 ? onnx_emit(im, OP_BATCHNORM, &a, &x, 1, out0(n), NULL) : -1;
    for (int i = 0; y >= 0 && i < 4; i++)
        if (!onnx_bind_param(im, y, i, c[i], what[i]))
            return false;
    return bind_out(im, n, y);
}

static bool op_lrn(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_LRN);
    a.lrn.size = onnx_attr_int(n, "size", 0);
    a.lrn.alpha = onnx_attr_float(n, "alpha", 1e-4);
    a.lrn.beta = onnx_attr_float(n, "beta", 0.75);
    a.lrn.bias = onnx_attr_float(n, "bias", 1.0);
    if (a.lrn.size < 1) {
        onnx_error(im, "size must be a positive integer");
        return false;
    }
    return unary(im, n, OP_LRN, &a);
}

/* ---- matrix products ---------------------------------------------------------- */

static OnnxConst *f32_const(Importer *im, Shape shape)
{
    OnnxConst *c = arena_alloc(&im->arena, sizeof *c);
    c->kind = ELEM_F32;
    c->shape = shape;
    c->data = arena_array(&im->arena, (size_t)shape_elems(&shape) + 1, sizeof(float));
    return c;
}

/* The grid of B's dequantized integers, after a transpose if `swap`: a
 * per-column grid (axis 1) becomes one per row (axis 0). */
static const QuantParams *transposed_grid(Importer *im, const QuantParams *grid, bool swap)
{
    if (!grid || !swap || grid->count == 1)
        return grid;
    QuantParams *t = arena_alloc(&im->arena, sizeof *t);
    *t = *grid;
    t->axis = 1 - grid->axis;
    return t;
}

/* fc weights [N, K] = alpha * B' where B' = B ([N, K]) when transB, B^T
 * (B is [K, N]) otherwise. B itself when it is that already (float32, in
 * the graph, transB, alpha 1: every torchvision classifier), shared as
 * initializers are: a copy would hold VGG-16's 496 MB of fc weights twice. */
static const OnnxConst *gemm_weights(Importer *im, const OnnxConst *b, bool trans_b, double alpha)
{
    if (trans_b && alpha == 1.0 && !b->is_i64 && b->kind == ELEM_F32 && b->in_graph)
        return b;
    int64_t N = b->shape.d[trans_b ? 0 : 1], K = b->shape.d[trans_b ? 1 : 0];
    OnnxConst *w = f32_const(im, (Shape){2, {N, K}});
    float *data = w->data;
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++)
            data[j * K + k] = (float)(alpha * onnx_const_get(b, trans_b ? j * K + k : k * N + j));
    w->grid = alpha == 1.0 ? transposed_grid(im, b->grid, !trans_b) : NULL;
    return w;
}

/* beta * C, as a bias vector of `units` (C is a scalar or a row) or as the
 * full constant otherwise. */
static OnnxConst *gemm_offset(Importer *im, const OnnxConst *c, double beta, int64_t units,
                              bool as_vector)
{
    int64_t count = onnx_const_count(c);
    OnnxConst *out = f32_const(im, as_vector ? (Shape){1, {units}} : c->shape);
    float *data = out->data;
    for (int64_t i = 0; i < (as_vector ? units : count); i++)
        data[i] = (float)(beta * onnx_const_get(c, count == 1 ? 0 : i));
    return out;
}

/* y + beta * c, with the multiplication left out when beta is 1. */
static int add_scaled(Importer *im, const Onnx__NodeProto *n, int y, int c, double beta)
{
    if (c < 0)
        return -1;
    if (beta != 1.0) {
        OnnxConst *k = f32_const(im, (Shape){1, {1}});
        ((float *)k->data)[0] = (float)beta;
        int operands[2] = {c, onnx_const_tensor(im, arena_printf(&im->arena, "%s_beta", out0(n)), k)};
        Attrs mul = defaults(OP_MUL);
        if (operands[1] < 0 || (c = onnx_emit(im, OP_MUL, &mul, operands, 2, out0(n), "bc")) < 0)
            return -1;
    }
    int operands[2] = {y, c};
    Attrs add = defaults(OP_ADD);
    return onnx_emit(im, OP_ADD, &add, operands, 2, out0(n), NULL);
}

/* Gemm: Y = alpha * A' B' + beta * C. With a constant B it is an fc layer
 * (weights alpha * B', bias beta * C when C is a scalar or a row), plus an
 * add of beta * C when C is a matrix. A' = transpose(A) when transA. */
static bool op_gemm(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *b, *c = onnx_input_const(im, n, 2);
    if (!need_const(im, n, 1, "B", &b))
        return false;
    bool c_tensor = onnx_has_input(n, 2) && !c;
    if (b->shape.rank != 2) {
        onnx_error(im, "B must be a matrix");
        return false;
    }
    double alpha = onnx_attr_float(n, "alpha", 1.0), beta = onnx_attr_float(n, "beta", 1.0);
    const OnnxConst *w = gemm_weights(im, b, onnx_attr_int(n, "transB", 0), alpha);
    int64_t units = w->shape.d[0], c_count = c ? onnx_const_count(c) : 0;
    bool row_bias = c && (c_count == 1 || (c_count == units && c->shape.d[c->shape.rank - 1] == units));
    int x = onnx_input_tensor(im, n, 0);
    if (x >= 0 && onnx_attr_int(n, "transA", 0)) {
        Attrs t = defaults(OP_TRANSPOSE);
        x = onnx_emit(im, OP_TRANSPOSE, &t, &x, 1, out0(n), "at");
    }
    Attrs a = defaults(OP_FC);
    a.fc.units = units;
    a.fc.bias = row_bias;
    const char *suffix = (c && !row_bias) || c_tensor ? "ab" : NULL;
    int y = x >= 0 ? onnx_emit(im, OP_FC, &a, &x, 1, out0(n), suffix) : -1;
    if (y < 0 || !onnx_bind_param(im, y, 0, w, "B"))
        return false;
    if (row_bias && !onnx_bind_param(im, y, 1, gemm_offset(im, c, beta, units, true), "C"))
        return false;
    if (c && !row_bias) {
        const char *cname = arena_printf(&im->arena, "%s_beta_c", out0(n));
        int operands[2] = {y, onnx_const_tensor(im, cname, gemm_offset(im, c, beta, units, false))};
        Attrs add = defaults(OP_ADD);
        y = operands[1] >= 0 ? onnx_emit(im, OP_ADD, &add, operands, 2, out0(n), NULL) : -1;
    }
    if (c_tensor && y >= 0) /* C computed at run time: y + beta * C */
        y = add_scaled(im, n, y, onnx_input_tensor(im, n, 2), beta);
    return bind_out(im, n, y);
}

static bool op_matmul(Importer *im, const Onnx__NodeProto *n)
{
    int in[2] = {onnx_input_tensor(im, n, 0), onnx_input_tensor(im, n, 1)};
    Attrs a = defaults(OP_MATMUL);
    return in[0] >= 0 && in[1] >= 0 && bind_out(im, n, onnx_emit(im, OP_MATMUL, &a, in, 2, out0(n), NULL));
}

/* ---- shapes --------------------------------------------------------------------- */

static bool reshape_out(Importer *im, const Onnx__NodeProto *n, Shape target)
{
    int x = onnx_input_tensor(im, n, 0), y;
    return x >= 0 && reshape_to(im, n, x, target, NULL, &y) && bind_out(im, n, y);
}

static bool op_reshape(Importer *im, const Onnx__NodeProto *n)
{
    Shape target = {0};
    int64_t v[DNNC_MAX_RANK + 1];
    int count;
    if (im->opset < 5) {
        count = onnx_attr_ints(n, "shape", v, DNNC_MAX_RANK);
    } else {
        const OnnxConst *c;
        if (!need_const(im, n, 1, "the shape", &c))
            return false;
        if ((count = onnx_const_ints(im, c, "the shape", v, DNNC_MAX_RANK)) < 0)
            return false;
    }
    if (count < 0 || count > DNNC_MAX_RANK) {
        onnx_error(im, "the target shape must have 0 to %d entries", DNNC_MAX_RANK);
        return false;
    }
    target.rank = count;
    memcpy(target.d, v, sizeof(int64_t) * (size_t)count);
    for (int i = 0; i < count; i++)
        if (v[i] == 0 && onnx_attr_int(n, "allowzero", 0)) {
            onnx_error(im, "allowzero=1 with a zero in the shape is not supported");
            return false;
        }
    if (count == 0) { /* a scalar: a rank-0 tensor of one element */
        onnx_error(im, "reshaping to a scalar is not supported");
        return false;
    }
    return reshape_out(im, n, target);
}

static bool op_flatten(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_FLATTEN);
    a.axis.axis = onnx_attr_int(n, "axis", 1);
    return unary(im, n, OP_FLATTEN, &a);
}

/* axes from the attribute (before opset 13) or the second input. */
static int read_axes(Importer *im, const Onnx__NodeProto *n, int64_t *axes)
{
    if (im->opset < 13)
        return onnx_attr_ints(n, "axes", axes, DNNC_MAX_RANK);
    if (!onnx_has_input(n, 1))
        return -1;
    const OnnxConst *c;
    if (!need_const(im, n, 1, "axes", &c))
        return -2;
    int count = onnx_const_ints(im, c, "axes", axes, DNNC_MAX_RANK);
    return count < 0 ? -2 : count;
}

static bool op_squeeze(Importer *im, const Onnx__NodeProto *n)
{
    const Shape *s = onnx_input_shape(im, n, 0);
    int64_t axes[DNNC_MAX_RANK + 1];
    int count = read_axes(im, n, axes);
    if (count == -2)
        return false;
    bool drop[DNNC_MAX_RANK] = {false};
    for (int i = 0; i < s->rank; i++)
        drop[i] = count < 0 && s->d[i] == 1; /* no axes: every 1 goes */
    for (int i = 0; i < count; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + s->rank : axes[i];
        if (ax < 0 || ax >= s->rank || s->d[ax] != 1) {
            onnx_error(im, "axis %lld is out of range or not of size 1", (long long)axes[i]);
            return false;
        }
        drop[ax] = true;
    }
    Shape t = {0};
    for (int i = 0; i < s->rank; i++)
        if (!drop[i])
            t.d[t.rank++] = s->d[i];
    if (t.rank == 0)
        t = (Shape){1, {1}};
    return reshape_out(im, n, t);
}

static bool op_unsqueeze(Importer *im, const Onnx__NodeProto *n)
{
    const Shape *s = onnx_input_shape(im, n, 0);
    int64_t axes[DNNC_MAX_RANK + 1];
    int count = read_axes(im, n, axes);
    if (count < 0 || s->rank + count > DNNC_MAX_RANK) {
        if (count != -2)
            onnx_error(im, "axes are missing or the result has more than %d dimensions", DNNC_MAX_RANK);
        return false;
    }
    int rank = s->rank + count;
    bool ones[DNNC_MAX_RANK] = {false};
    for (int i = 0; i < count; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (ax < 0 || ax >= rank || ones[ax]) {
            onnx_error(im, "axis %lld is out of range or repeated", (long long)axes[i]);
            return false;
        }
        ones[ax] = true;
    }
    Shape t = {rank, {0}};
    for (int i = 0, k = 0; i < rank; i++)
        t.d[i] = ones[i] ? 1 : s->d[k++];
    return reshape_out(im, n, t);
}

static bool op_transpose(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_TRANSPOSE);
    int64_t perm[INT_LIST_MAX + 1];
    int count = onnx_attr_ints(n, "perm", perm, INT_LIST_MAX);
    if (count > INT_LIST_MAX) {
        onnx_error(im, "perm is too long");
        return false;
    }
    a.transpose.perm.n = count < 0 ? 0 : count;
    memcpy(a.transpose.perm.v, perm, sizeof(int64_t) * (size_t)a.transpose.perm.n);
    return unary(im, n, OP_TRANSPOSE, &a);
}

static bool op_concat(Importer *im, const Onnx__NodeProto *n)
{
    int inputs[64];
    if (n->n_input > 64 || !onnx_attr(n, "axis")) {
        onnx_error(im, n->n_input > 64 ? "more than 64 operands" : "the axis attribute is required");
        return false;
    }
    for (size_t i = 0; i < n->n_input; i++)
        if ((inputs[i] = onnx_input_tensor(im, n, i)) < 0)
            return false;
    Attrs a = defaults(OP_CONCAT);
    a.axis.axis = onnx_attr_int(n, "axis", 1);
    return bind_out(im, n, onnx_emit(im, OP_CONCAT, &a, inputs, (int)n->n_input, out0(n), NULL));
}

/* Split: one slice per output; sizes from the attribute (before 13), the
 * second input, or equal parts. */
static bool op_split(Importer *im, const Onnx__NodeProto *n)
{
    int x = onnx_input_tensor(im, n, 0);
    if (x < 0)
        return false;
    const Shape *s = &im->g->tensors[x].shape;
    int64_t axis = onnx_attr_int(n, "axis", 0);
    if (axis < -s->rank || axis >= s->rank) {
        onnx_error(im, "axis %lld is out of range", (long long)axis);
        return false;
    }
    axis += axis < 0 ? s->rank : 0;
    int64_t sizes[64];
    int count = (int)n->n_output;
    if (count > 64) {
        onnx_error(im, "more than 64 outputs");
        return false;
    }
    int given = -1;
    if (im->opset < 13) {
        given = onnx_attr_ints(n, "split", sizes, 64);
    } else if (onnx_has_input(n, 1)) {
        const OnnxConst *c;
        if (!need_const(im, n, 1, "split", &c))
            return false;
        if ((given = onnx_const_ints(im, c, "split", sizes, 64)) < 0)
            return false;
    }
    int64_t total = 0;
    for (int i = 0; i < count; i++) {
        if (given < 0)
            sizes[i] = s->d[axis] / count + (i < s->d[axis] % count ? 1 : 0);
        total += sizes[i];
    }
    if ((given >= 0 && given != count) || total != s->d[axis]) {
        onnx_error(im, "the split sizes do not add up to dimension %lld (%lld)", (long long)axis,
                   (long long)s->d[axis]);
        return false;
    }
    int64_t start = 0;
    for (int i = 0; i < count; i++) {
        Attrs a = defaults(OP_SLICE);
        a.slice.axis = axis, a.slice.start = start, a.slice.end = start + sizes[i];
        start += sizes[i];
        int y = onnx_emit(im, OP_SLICE, &a, &x, 1, n->output[i], NULL);
        if (y < 0)
            return false;
        onnx_bind_tensor(im, n->output[i], y);
    }
    return true;
}

/* Pad: attributes before opset 11, inputs (pads, constant_value) after. */
static bool op_pad(Importer *im, const Onnx__NodeProto *n)
{
    Attrs a = defaults(OP_PAD);
    int64_t pads[INT_LIST_MAX + 1];
    int count;
    if (im->opset < 11) {
        count = onnx_attr_ints(n, "pads", pads, INT_LIST_MAX);
        if (count < 0)
            count = onnx_attr_ints(n, "paddings", pads, INT_LIST_MAX);
        a.pad.value = onnx_attr_float(n, "value", 0.0);
    } else {
        const OnnxConst *p, *v;
        if (!need_const(im, n, 1, "pads", &p))
            return false;
        if ((count = onnx_const_ints(im, p, "pads", pads, INT_LIST_MAX)) < 0)
            return false;
        if (onnx_has_input(n, 2)) {
            if (!need_const(im, n, 2, "constant_value", &v))
                return false;
            a.pad.value = onnx_const_get(v, 0);
        }
        if (onnx_has_input(n, 3)) {
            onnx_error(im, "the axes input is not supported");
            return false;
        }
    }
    if (count < 0 || count > INT_LIST_MAX) {
        onnx_error(im, "pads are missing or too many");
        return false;
    }
    for (int i = 0; i < count; i++)
        if (pads[i] < 0) {
            onnx_error(im, "negative pads (cropping) are not supported");
            return false;
        }
    const char *mode = onnx_attr_string(im, n, "mode", "constant");
    if (strcmp(mode, "constant") == 0)
        a.pad.mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        a.pad.mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        a.pad.mode = PAD_EDGE;
    else {
        onnx_error(im, "pad mode '%s' is not supported", mode);
        return false;
    }
    a.pad.pads.n = count;
    memcpy(a.pad.pads.v, pads, sizeof(int64_t) * (size_t)count);
    return unary(im, n, OP_PAD, &a);
}

/* ---- quantisation ------------------------------------------------------------- */

/* Per-axis when the scale has more than one value. */
static bool quant_linear(Importer *im, const Onnx__NodeProto *n, OpKind op)
{
    const OnnxConst *scale, *zp = onnx_input_const(im, n, 2);
    if (!need_const(im, n, 1, "the scale", &scale) ||
        (onnx_has_input(n, 2) && !need_const(im, n, 2, "the zero point", &zp)))
        return false;
    Attrs a = defaults(op);
    a.quantize.per_axis = onnx_const_count(scale) > 1;
    a.quantize.axis = onnx_attr_int(n, "axis", 1);
    if (op == OP_QUANTIZE)
        a.quantize.dtype = zp ? (int)zp->kind : ELEM_U8;
    int x = onnx_input_tensor(im, n, 0);
    int y = x >= 0 ? onnx_emit(im, op, &a, &x, 1, out0(n), NULL) : -1;
    return y >= 0 && onnx_bind_param(im, y, 0, scale, "the scale") &&
           onnx_bind_param(im, y, 1, zp, "the zero point") && bind_out(im, n, y);
}

static bool op_quantize_linear(Importer *im, const Onnx__NodeProto *n) { return quant_linear(im, n, OP_QUANTIZE); }
static bool op_dequantize_linear(Importer *im, const Onnx__NodeProto *n) { return quant_linear(im, n, OP_DEQUANTIZE); }

/* Optional constant inputs of quantised ops; absent ones are zero. */
static bool optional_const(Importer *im, const Onnx__NodeProto *n, size_t i, const char *what,
                           const OnnxConst **c)
{
    *c = NULL;
    return !onnx_has_input(n, i) || need_const(im, n, i, what, c);
}

static bool op_conv_integer(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *w, *x_zp, *w_zp;
    Attrs a = defaults(OP_CONV_INTEGER);
    int x, rank;
    if (!conv_setup(im, n, 1, &w, &a.qconv.conv, &x, &rank) ||
        !optional_const(im, n, 2, "x_zero_point", &x_zp) ||
        !optional_const(im, n, 3, "w_zero_point", &w_zp))
        return false;
    a.qconv.weight_type = w->kind;
    a.qconv.per_channel = w_zp && onnx_const_count(w_zp) > 1;
    int y = onnx_emit(im, OP_CONV_INTEGER, &a, &x, 1, out0(n), rank == 3 ? "2d_out" : NULL);
    return y >= 0 && onnx_bind_param(im, y, 0, w, "the weight") &&
           onnx_bind_param(im, y, 1, x_zp, "x_zero_point") &&
           onnx_bind_param(im, y, 2, w_zp, "w_zero_point") && bind_spatial_out(im, n, y, rank);
}

/* Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
 * y_zero_point, B. IR params: weight, x_scale, x_zero_point, w_scale,
 * w_zero_point, y_scale, y_zero_point, bias. */
static bool op_qlinear_conv(Importer *im, const Onnx__NodeProto *n)
{
    static const size_t inputs[] = {3, 1, 2, 4, 5, 6, 7, 8};
    static const char *const what[] = {"the weight", "x_scale", "x_zero_point", "w_scale",
                                       "w_zero_point", "y_scale", "y_zero_point", "the bias"};
    const OnnxConst *c[8] = {NULL};
    Attrs a = defaults(OP_QLINEAR_CONV);
    int x, rank;
    if (!conv_setup(im, n, 3, &c[0], &a.qconv.conv, &x, &rank))
        return false;
    for (int i = 1; i < 8; i++)
        if (!(i == 7 ? optional_const(im, n, inputs[i], what[i], &c[i])
                     : need_const(im, n, inputs[i], what[i], &c[i])))
            return false;
    a.qconv.weight_type = c[0]->kind;
    a.qconv.out_type = c[6]->kind;
    a.qconv.per_channel = onnx_const_count(c[3]) > 1;
    a.qconv.conv.bias = c[7] != NULL;
    int y = onnx_emit(im, OP_QLINEAR_CONV, &a, &x, 1, out0(n), rank == 3 ? "2d_out" : NULL);
    for (int i = 0; y >= 0 && i < (c[7] ? 8 : 7); i++)
        if (!onnx_bind_param(im, y, i, c[i], what[i]))
            return false;
    return bind_spatial_out(im, n, y, rank);
}

static bool op_matmul_integer(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *a_zp, *b_zp;
    if (!optional_const(im, n, 2, "a_zero_point", &a_zp) ||
        !optional_const(im, n, 3, "b_zero_point", &b_zp))
        return false;
    int in[2] = {onnx_input_tensor(im, n, 0), onnx_input_tensor(im, n, 1)};
    Attrs a = defaults(OP_MATMUL_INTEGER);
    a.qmatmul.per_column = b_zp && onnx_const_count(b_zp) > 1;
    int y = in[0] >= 0 && in[1] >= 0 ? onnx_emit(im, OP_MATMUL_INTEGER, &a, in, 2, out0(n), NULL) : -1;
    return y >= 0 && onnx_bind_param(im, y, 0, a_zp, "a_zero_point") &&
           onnx_bind_param(im, y, 1, b_zp, "b_zero_point") && bind_out(im, n, y);
}

/* Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
 * y_zero_point. */
static bool op_qlinear_matmul(Importer *im, const Onnx__NodeProto *n)
{
    static const size_t inputs[] = {1, 2, 4, 5, 6, 7};
    static const char *const what[] = {"a_scale", "a_zero_point", "b_scale", "b_zero_point",
                                       "y_scale", "y_zero_point"};
    const OnnxConst *c[6];
    for (int i = 0; i < 6; i++)
        if (!need_const(im, n, inputs[i], what[i], &c[i]))
            return false;
    int in[2] = {onnx_input_tensor(im, n, 0), onnx_input_tensor(im, n, 3)};
    Attrs a = defaults(OP_QLINEAR_MATMUL);
    a.qmatmul.per_column = onnx_const_count(c[2]) > 1;
    a.qmatmul.out_type = c[5]->kind;
    int y = in[0] >= 0 && in[1] >= 0 ? onnx_emit(im, OP_QLINEAR_MATMUL, &a, in, 2, out0(n), NULL) : -1;
    for (int i = 0; y >= 0 && i < 6; i++)
        if (!onnx_bind_param(im, y, i, c[i], what[i]))
            return false;
    return bind_out(im, n, y);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct {
    const char *op_type;
    OnnxHandler handler;
} handlers[] = {
    {"Add", op_add},
    {"AveragePool", op_average_pool},
    {"BatchNormalization", op_batch_normalization},
    {"Clip", op_clip},
    {"Concat", op_concat},
    {"Constant", op_constant},
    {"Conv", op_conv},
    {"ConvInteger", op_conv_integer},
    {"DequantizeLinear", op_dequantize_linear},
    {"Div", op_div},
    {"Dropout", op_dropout},
    {"Elu", op_elu},
    {"Flatten", op_flatten},
    {"Gemm", op_gemm},
    {"GlobalAveragePool", op_global_average_pool},
    {"GlobalMaxPool", op_global_max_pool},
    {"HardSigmoid", op_hard_sigmoid},
    {"Identity", op_identity},
    {"LRN", op_lrn},
    {"LeakyRelu", op_leaky_relu},
    {"LogSoftmax", op_log_softmax},
    {"MatMul", op_matmul},
    {"MatMulInteger", op_matmul_integer},
    {"Max", op_max},
    {"MaxPool", op_max_pool},
    {"Min", op_min},
    {"Mul", op_mul},
    {"PRelu", op_prelu},
    {"Pad", op_pad},
    {"QLinearConv", op_qlinear_conv},
    {"QLinearMatMul", op_qlinear_matmul},
    {"QuantizeLinear", op_quantize_linear},
    {"Relu", op_relu},
    {"Reshape", op_reshape},
    {"Selu", op_selu},
    {"Sigmoid", op_sigmoid},
    {"Softmax", op_softmax},
    {"Split", op_split},
    {"Squeeze", op_squeeze},
    {"Sub", op_sub},
    {"Sum", op_add},
    {"Tanh", op_tanh},
    {"Transpose", op_transpose},
    {"Unsqueeze", op_unsqueeze},
};

OnnxHandler onnx_find_handler(const char *op_type)
{
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
        if (strcmp(handlers[i].op_type, op_type) == 0)
            return handlers[i].handler;
    return NULL;
}
