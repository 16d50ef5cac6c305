/* quantize: post-training quantisation of conv and fc layers to int8 and
 * to dynamic fixed point at 8 and 16 bits (survey VII-A;
 * docs/quantization.md), and of their weights alone to log2, codebook,
 * binary or ternary codes: such a layer becomes a coded_conv on its float
 * input (code_layer; the codes are weight_codes.c's). Each chosen layer of
 * an integer mode becomes
 *
 *     x_q = quantize(x)                 u8 (i8 with --symmetric and a signed x)
 *     L_q = qlinear_conv(x_q, ...)      i8 weights per filter, i32 bias
 *     L   = dequantize(L_q)             for the layers that still need floats
 *
 * (fixed16: i16 activations and weights, power-of-two scales, and a ReLU
 * kept as a relu layer on the i16 integers: there is no u16 to absorb it.)
 *
 * with scales and zero points from the ranges calibration measured on real
 * data (calibrate.c). A ReLU (or a clip from 0) after the layer is absorbed:
 * the output is u8 with zero point 0, and saturation at 0 is the ReLU. At
 * 8 bits a residual add after a conv (a ResNet's) is absorbed too, as
 * oneDNN's "sum" post-op: its other operand becomes the qlinear_conv's
 * residual operand, integers on their own grid added in the epilogue, and
 * a ReLU after the add is absorbed as above; a conv with a fused residual
 * operand becomes the same. An fc
 * becomes a qlinear_conv whose filter covers its whole input (reshaped
 * around when the input is a matrix). Between quantised layers the values
 * stay integers: a layer whose input is a dequantize reads the integers
 * under it, and max pooling, flatten, reshape, slice and dropout move below
 * the dequantize (they commute with it exactly: the scale is positive).
 *
 * Which layers: every float conv and fc with --quantize MODE, except the
 * first and the last (the survey's note; --quantize-first-last takes them
 * too), and any layer with @precision(i8) or @precision(i16) (fixed16).
 * @precision(f32) keeps a layer float. The scales guarantee that the
 * accumulator cannot overflow (survey Fig. 39), K the products per output:
 * 8 bits, int32: |bias| + K * 255 * 128 < 2^31; 16 bits, int64: K <= 2^31
 * (the shape rule's bound) and every bias fits i32. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "quantize.h"
#include "weight_codes.h"

#define INT32_LIMIT 2147483647.0
#define ACC_PER_PRODUCT (255.0 * 128.0) /* the largest |u8 - zp| * |i8| */
#define MAX_K16 2147483648.0            /* 2^31: ir/shape.c's QCONV16_MAX_K */

typedef struct QParams {
    ElemKind type; /* u8, i8 or i16 */
    float scale;
    int32_t zero_point;
} QParams;

typedef struct Quantizer {
    Graph *g;
    const PassOptions *o;
    const QuantOptions *q;
    PassReport *r;
    TensorRange *range; /* per tensor id of the graph as calibrated */
    int *integers;      /* per tensor id, 8 then 16 bits: its quantize layer's output, or -1 */
    int n_ranged;
    /* A coded layer's new output stands for the float output it replaced,
     * whose range calibration measured: pairs (new, calibrated). */
    int (*stands_for)[2];
    int n_stands_for;
    int first, last; /* the first and last conv/fc in the graph */
} Quantizer;

/* ---- which layers ---- */

static bool conv_or_fc(const Node *n) { return !n->removed && (n->op == OP_CONV || n->op == OP_FC); }

static const Activation *activation_of(const Node *n)
{
    return n->op == OP_CONV ? &n->attr.conv.act : &n->attr.fc.act;
}

/* log2, kmeans, binary, ternary: the weights become codes (coded_conv). */
static bool weights_only(QuantMode m) { return quant_mode_codes_weights(m); }

/* fixed16: 16-bit integers, with 64-bit accumulators. */
static bool wide(QuantMode m) { return m == QUANT_FIXED16; }
/* Dynamic fixed point: power-of-two scales, zero points 0. */
static bool fixed_point(QuantMode m) { return m == QUANT_FIXED8 || m == QUANT_FIXED16; }

/* An activation that u8 saturation at zero computes: relu, or clip from 0
 * (its upper bound is within the calibrated range or clips it). fixed16
 * has no unsigned type: it keeps relu as a layer on its i16 integers, and
 * a clip would need its bound on the grid. */
static bool absorbable(const Activation *a, QuantMode m)
{
    return a->kind == ACT_NONE || a->kind == ACT_RELU ||
           (!wide(m) && a->kind == ACT_CLIP && a->min == 0);
}

/* Why layer n cannot be quantised in mode m, or NULL. */
static const char *cannot_quantise(const Graph *g, const Node *n, QuantMode m)
{
    if (g->tensors[n->inputs[0]].type.kind != ELEM_F32)
        return "its input is not float32";
    if (n->n_inputs != 1 && (weights_only(m) || wide(m)))
        return weights_only(m) ? "it has a fused residual operand (coded_conv has none)"
                               : "it has a fused residual operand (a 16-bit qlinear_conv has none)";
    if (weights_only(m) && n->ann.algo != ALGO_AUTO && n->ann.algo != ALGO_DIRECT)
        return "its @algo is not coded_conv's (the direct sums)";
    if (weights_only(m)) /* a float layer: any fused activation stays */
        return node_weights_bound(g, n) ? NULL : "its weights are not bound (give --weights)";
    if (!absorbable(activation_of(n), m))
        return wide(m) ? "its fused activation is not relu (fixed16 keeps relu only)"
                       : "its fused activation is not relu or a clip from 0";
    if (!node_weights_bound(g, n))
        return "its weights are not bound (give --weights)";
    return NULL;
}

/* The mode layer i is quantised in; QUANT_NONE keeps it float.
 * @precision(i8) is the command's 8-bit mode (int8 unless fixed8),
 * @precision(i16) is fixed16, and the weight codes are their modes. */
static QuantMode layer_mode(const Quantizer *z, int i)
{
    const Node *n = &z->g->nodes[i];
    QuantMode mode = z->q ? z->q->mode : QUANT_NONE;
    if (n->ann.has_precision) {
        switch (n->ann.precision.kind) {
        case ELEM_I16: return QUANT_FIXED16;
        case ELEM_I8: return mode == QUANT_FIXED8 ? QUANT_FIXED8 : QUANT_INT8;
        case ELEM_LOG2: return QUANT_LOG2;
        case ELEM_CODEBOOK: return QUANT_KMEANS;
        case ELEM_BINARY: return QUANT_BINARY;
        case ELEM_TERNARY: return QUANT_TERNARY;
        default: return QUANT_NONE;
        }
    }
    bool edge = i == z->first || i == z->last;
    return edge && !(z->q && z->q->first_last) ? QUANT_NONE : mode;
}

static void find_first_last(Quantizer *z)
{
    z->first = z->last = -1;
    for (int i = 0; i < z->g->n_nodes; i++)
        if (conv_or_fc(&z->g->nodes[i])) {
            z->first = z->first < 0 ? i : z->first;
            z->last = i;
        }
}

/* ---- names and nodes ---- */

/* Adds a layer built by this pass on n_inputs operands; its shape rule
 * cannot fail unless the pass is wrong, which is reported like any error. */
static int add_node_on(Quantizer *z, OpKind op, const char *name, const Attrs *at, const int *inputs,
                       int n_inputs, SrcLoc loc)
{
    char err[512];
    int id = graph_add_node(z->g, op, name, at, inputs, n_inputs, loc, err, sizeof err);
    if (id < 0)
        diag_error(z->o->diag, loc, "quantize: cannot add layer '%s': %s", name, err);
    return id;
}

static int add_node(Quantizer *z, OpKind op, const char *name, const Attrs *at, int input, SrcLoc loc)
{
    return add_node_on(z, op, name, at, &input, 1, loc);
}

static void set_qparams(Graph *g, int scale_t, int zp_t, const QParams *p)
{
    *(float *)graph_new_data(g, scale_t) = p->scale;
    void *zp = graph_new_data(g, zp_t);
    if (p->type == ELEM_U8)
        *(uint8_t *)zp = (uint8_t)p->zero_point;
    else if (p->type == ELEM_I16)
        *(int16_t *)zp = (int16_t)p->zero_point;
    else
        *(int8_t *)zp = (int8_t)p->zero_point;
}

static QParams qparams_of(const Graph *g, const Node *n)
{
    const Tensor *s = &g->tensors[n->params[0]], *zp = &g->tensors[n->params[1]];
    QParams p = {zp->type.kind, *(const float *)s->data, 0};
    p.zero_point = p.type == ELEM_U8    ? *(const uint8_t *)zp->data
                   : p.type == ELEM_I16 ? *(const int16_t *)zp->data
                                        : *(const int8_t *)zp->data;
    return p;
}

/* The integers of a grid type. */
static void integer_limits(ElemKind k, double *lo, double *hi)
{
    *lo = k == ELEM_U8 ? 0 : k == ELEM_I8 ? -128 : -32768;
    *hi = k == ELEM_U8 ? 255 : k == ELEM_I8 ? 127 : 32767;
}

/* ---- scales ---- */

/* Dynamic fixed point has one weight scale per layer (Ristretto's). */
static bool per_tensor(const Quantizer *z, QuantMode m) { return fixed_point(m) || (z->q && z->q->per_tensor); }

/* The smallest power of two at least s (s > 0): dynamic fixed point's
 * scale 2^-fl for the largest fractional length fl that holds a range. */
static double pow2_at_least(double s)
{
    int e;
    double m = frexp(s, &e); /* s = m 2^e, m in [0.5, 1) */
    return m == 0.5 ? s : ldexp(1, e);
}

/* The grid of an activation of range [lo, hi]: zero is always on it.
 * Dynamic fixed point has zero point 0 and a power-of-two scale: fixed8
 * on i8 or u8, fixed16 always on i16 (there is no u16; a ReLU output
 * leaves its sign bit unused, as every output in Ristretto's). */
static QParams activation_params(const Quantizer *z, QuantMode m, TensorRange r, bool rectified)
{
    double lo = fmin(r.lo, 0), hi = fmax(r.hi, 0);
    if (rectified)
        lo = 0;
    if (wide(m))
        return (QParams){ELEM_I16, (float)pow2_at_least(fmax(fmax(-lo, hi) / 32767, FLT_MIN)), 0};
    QParams p = {ELEM_U8, 0, 0};
    bool zero_centred = fixed_point(m) || (z->q && z->q->symmetric);
    if (lo < 0 && zero_centred) {
        p.type = ELEM_I8;
        p.scale = (float)(fmax(-lo, hi) / 127);
    } else if (zero_centred) {
        p.scale = (float)(hi / 255);
    } else {
        p.scale = (float)((hi - lo) / 255);
        if (p.scale > 0)
            p.zero_point = (int32_t)fmin(255, fmax(0, nearbyint(-lo / p.scale)));
    }
    if (!(p.scale > 0) || !isfinite(p.scale))
        p.scale = 1; /* a tensor that was always 0: any scale holds it */
    if (fixed_point(m))
        p.scale = (float)pow2_at_least(fmax(fmax(-lo, hi) / (p.type == ELEM_I8 ? 127 : 255), FLT_MIN));
    return p;
}

static TensorRange range_of(const Quantizer *z, int t)
{
    for (int k = 0; k < z->n_stands_for; k++)
        t = z->stands_for[k][0] == t ? z->stands_for[k][1] : t;
    return t < z->n_ranged ? z->range[t] : (TensorRange){false, 0, 0};
}

/* ---- the operand: integers already there, or a quantize ---- */

/* Integers under x: the operand of the dequantize that computes x, if it
 * is one (per tensor); -1 otherwise. */
static int integers_under(const Graph *g, int x)
{
    const Node *p = graph_producer(g, x);
    if (!p || p->removed || p->op != OP_DEQUANTIZE || p->attr.quantize.per_axis)
        return -1;
    ElemKind k = g->tensors[p->inputs[0]].type.kind;
    return k == ELEM_U8 || k == ELEM_I8 || k == ELEM_I16 ? p->inputs[0] : -1;
}

/* Whether integers of type k are what a layer of mode m reads. */
static bool grid_fits(ElemKind k, QuantMode m) { return wide(m) ? k == ELEM_I16 : k != ELEM_I16; }

/* Every value a grid can stand for: the range of a dequantize's output. */
static TensorRange grid_range(QParams p)
{
    double lo, hi;
    integer_limits(p.type, &lo, &hi);
    return (TensorRange){true, p.scale * (lo - p.zero_point), p.scale * (hi - p.zero_point)};
}

/* x as integers of mode m, and their grid in *p; -1 after an error. */
static int quantised_operand(Quantizer *z, int x, QuantMode m, SrcLoc loc, QParams *p)
{
    Graph *g = z->g;
    int q = integers_under(g, x);
    if (q >= 0 && grid_fits(g->tensors[q].type.kind, m)) {
        *p = qparams_of(g, graph_producer(g, x)); /* the dequantize's grid */
        return q;
    }
    int *cached = x < z->n_ranged ? &z->integers[2 * x + wide(m)] : NULL;
    if (cached && *cached >= 0) { /* quantised for another layer already */
        *p = qparams_of(g, graph_producer(g, *cached));
        return *cached;
    }
    /* Integers of the other width (a layer of 8 bits next to one of 16)
     * are dequantized and quantised again, on a grid that holds them all. */
    TensorRange r = q >= 0 ? grid_range(qparams_of(g, graph_producer(g, x))) : range_of(z, x);
    if (!r.seen) {
        diag_error(z->o->diag, loc, "quantize: calibration saw no values of '%s', the operand of a "
                   "layer to quantise", g->tensors[x].name);
        return -1;
    }
    *p = activation_params(z, m, r, false);
    Attrs at;
    attrs_init_defaults(OP_QUANTIZE, &at);
    at.quantize.dtype = (int)p->type;
    int id = add_node(z, OP_QUANTIZE, pass_fresh_name(g, g->tensors[x].name, "q"), &at, x, loc);
    if (id < 0)
        return -1;
    set_qparams(g, g->nodes[id].params[0], g->nodes[id].params[1], p);
    pass_count(z->r, "quantize layers added", 1);
    if (cached)
        *cached = g->nodes[id].output;
    return g->nodes[id].output;
}

/* ---- the layer ---- */

/* The layer's geometry as a convolution: an fc's filter covers its input,
 * a matrix input seen as [N, K, 1, 1]. */
static ConvAttrs conv_geometry(const Graph *g, const Node *n)
{
    if (n->op == OP_CONV) {
        ConvAttrs c = n->attr.conv;
        c.act = (Activation){0};
        return c;
    }
    const Shape *in = &g->tensors[n->inputs[0]].shape;
    ConvAttrs c = {.filters = n->attr.fc.units, .kernel = {1, 1}, .stride = {1, 1},
                   .dilation = {1, 1}, .groups = 1, .bias = n->attr.fc.bias};
    if (in->rank == 4)
        c.kernel[0] = in->d[2], c.kernel[1] = in->d[3];
    return c;
}

typedef struct LayerPlan {
    QuantMode mode;
    int node, act_node;  /* the layer and a relu/clip node it absorbs (or -1) */
    int add_node;        /* a residual add it absorbs (or -1) */
    int residual;        /* the float residual operand (or -1) */
    int out;             /* the float tensor the integers replace */
    bool relu;           /* fixed16: a relu layer on the integers (the layer's fused one) */
    ConvAttrs geometry;
    QParams x, y, r; /* r: the residual's grid */
    int64_t filters, per_filter; /* weights: filters x per_filter */
} LayerPlan;

/* A relu, or clip from 0, that is the only reader of tensor t. */
static int rectifying_reader(const Graph *g, int t)
{
    int r = graph_sole_reader(g, t);
    if (r < 0)
        return -1;
    const Node *a = &g->nodes[r];
    if (a->op == OP_RELU || (a->op == OP_CLIP && a->attr.clip.min == 0))
        return r;
    return -1;
}

/* Whether layer i will be quantised to integers later in the pass. */
static bool quantised_later(const Quantizer *z, int i, int p)
{
    const Node *n = &z->g->nodes[p];
    if (p <= i || !conv_or_fc(n))
        return false;
    QuantMode m = layer_mode(z, p);
    return m != QUANT_NONE && !weights_only(m) && !cannot_quantise(z->g, n, m);
}

/* The add that reads conv i's output alone and that the conv absorbs, or
 * -1: an add of two float tensors of the output's shape, at 8 bits. Its
 * other operand must not be a layer this pass quantises later: that
 * layer absorbs the add instead, and reads this one's integers (no float
 * round trip between the two). */
static int residual_add(const Quantizer *z, int i, QuantMode m)
{
    const Graph *g = z->g;
    const Node *n = &g->nodes[i];
    int a = graph_sole_reader(g, n->output);
    if (wide(m) || n->op != OP_CONV || n->n_inputs != 1 || activation_of(n)->kind != ACT_NONE || a < 0)
        return -1;
    const Node *add = &g->nodes[a];
    if (add->op != OP_ADD || add->n_inputs != 2 || add->inputs[0] == add->inputs[1])
        return -1;
    int other = add->inputs[0] == n->output ? add->inputs[1] : add->inputs[0];
    const Tensor *t = &g->tensors[other];
    if (t->type.kind != ELEM_F32 || !shape_equal(&t->shape, &g->tensors[n->output].shape) ||
        !shape_equal(&g->tensors[add->output].shape, &t->shape))
        return -1;
    const Node *p = graph_producer(g, other);
    return p && quantised_later(z, i, (int)(p - g->nodes)) ? -1 : a;
}

/* s as the float the weights file stores, rounded up where rounding down
 * would let the bias (bias / (x_scale * s)) exceed `room`. */
static double float_scale(double s, double bias, float x_scale, double room)
{
    float f = (float)s;
    while (bias / ((double)x_scale * f) > room)
        f = nextafterf(f, INFINITY);
    return f;
}

/* Per filter: scale so that the largest |w| is 127 (fixed16: 32767),
 * raised where the bias would not fit i32 or, at 8 bits, beside the
 * largest sum in the 32-bit accumulator. fixed16's accumulator has 64 bits
 * (the bound is checked here and by the shape rule); its bias is an i32 at
 * the product's format, frac_in + frac_w, which a large bias and small
 * weights can leave: then frac_w shrinks until every bias fits, as for
 * 8 bits (the IR has no wider bias type). */
static bool weight_scales(Quantizer *z, const LayerPlan *lp, double *scale)
{
    const Node *n = &z->g->nodes[lp->node];
    const float *w = z->g->tensors[n->params[0]].data;
    const float *b = lp->geometry.bias ? z->g->tensors[n->params[1]].data : NULL;
    if (wide(lp->mode) && (double)lp->per_filter > MAX_K16) {
        diag_error(z->o->diag, n->loc,
                   "layer '%s': %lld products per output can overflow a 64-bit accumulator "
                   "(at most 2^31 with 16-bit operands)", n->name, (long long)lp->per_filter);
        return false;
    }
    double levels = wide(lp->mode) ? 32767 : 127;
    double room = wide(lp->mode) ? INT32_LIMIT : INT32_LIMIT - (double)lp->per_filter * ACC_PER_PRODUCT;
    if (room <= 0) {
        diag_error(z->o->diag, n->loc,
                   "layer '%s': %lld products per output can overflow a 32-bit accumulator "
                   "(at most %lld)", n->name, (long long)lp->per_filter,
                   (long long)(INT32_LIMIT / ACC_PER_PRODUCT));
        return false;
    }
    double shared = 0;
    for (int64_t f = 0; f < lp->filters; f++) {
        double amax = 0;
        for (int64_t k = 0; k < lp->per_filter; k++)
            amax = fmax(amax, fabs(w[f * lp->per_filter + k]));
        scale[f] = amax > 0 ? amax / levels : 1;
        if (b) /* |bias / (x_scale * w_scale)| <= room */
            scale[f] = fmax(scale[f], fabs(b[f]) / (lp->x.scale * room));
        scale[f] = float_scale(scale[f], b ? fabs(b[f]) : 0, lp->x.scale, room);
        shared = fmax(shared, scale[f]);
    }
    if (fixed_point(lp->mode)) /* larger: the bias bound still holds */
        shared = pow2_at_least(shared);
    for (int64_t f = 0; per_tensor(z, lp->mode) && f < lp->filters; f++)
        scale[f] = shared;
    return true;
}

static void fill_weights(Quantizer *z, const LayerPlan *lp, int qnode, const double *scale)
{
    Graph *g = z->g;
    const Node *n = &g->nodes[lp->node];
    const Node *qn = &g->nodes[qnode];
    const float *w = g->tensors[n->params[0]].data;
    const float *b = lp->geometry.bias ? g->tensors[n->params[1]].data : NULL;
    void *wq = graph_new_data(g, qn->params[0]);
    set_qparams(g, qn->params[1], qn->params[2], &lp->x);
    float *ws = graph_new_data(g, qn->params[3]);
    graph_new_data(g, qn->params[4]); /* weight zero points: 0 */
    set_qparams(g, qn->params[5], qn->params[6], &lp->y);
    int64_t scales = per_tensor(z, lp->mode) ? 1 : lp->filters;
    double limit = wide(lp->mode) ? 32767 : 127;
    for (int64_t f = 0; f < scales; f++)
        ws[f] = (float)scale[f];
    for (int64_t f = 0; f < lp->filters; f++) {
        double s = ws[scales == 1 ? 0 : f];
        for (int64_t k = 0, i = f * lp->per_filter; k < lp->per_filter; k++, i++) {
            double v = fmax(-limit, fmin(limit, nearbyint(w[i] / s)));
            if (wide(lp->mode))
                ((int16_t *)wq)[i] = (int16_t)v;
            else
                ((int8_t *)wq)[i] = (int8_t)v;
        }
    }
    if (!b)
        return;
    int32_t *bq = graph_new_data(g, qn->params[7]);
    for (int64_t f = 0; f < lp->filters; f++)
        bq[f] = (int32_t)nearbyint(b[f] / ((double)lp->x.scale * ws[scales == 1 ? 0 : f]));
}

/* A reshape of t to `shape`; -1 after an error. */
static int reshape_to(Quantizer *z, int t, Shape shape, const char *base, const char *suffix,
                      SrcLoc loc)
{
    Attrs at;
    attrs_init_defaults(OP_RESHAPE, &at);
    at.reshape.shape = shape;
    int id = add_node(z, OP_RESHAPE, pass_fresh_name(z->g, base, suffix), &at, t, loc);
    return id < 0 ? -1 : z->g->nodes[id].output;
}

/* An fc on a matrix reads [N, K, 1, 1]; an fc's [N, M, 1, 1] goes back to
 * [N, M]. Returns the tensor to use; -1 after an error. */
static int as_conv_input(Quantizer *z, const Node *n, int xq)
{
    const Shape *s = &z->g->tensors[xq].shape;
    if (n->op != OP_FC || s->rank == 4)
        return xq;
    Shape four = {4, {s->d[0], shape_elems(s) / s->d[0], 1, 1}};
    return reshape_to(z, xq, four, z->g->tensors[xq].name, "as_image", n->loc);
}

static int as_layer_output(Quantizer *z, int node, int yq)
{
    const Node *n = &z->g->nodes[node];
    if (n->op != OP_FC)
        return yq;
    return reshape_to(z, yq, z->g->tensors[n->output].shape, n->name, "q_matrix", n->loc);
}

/* fixed16 absorbs nothing: a relu after the layer stays a layer, which
 * then runs on the i16 integers (sink_dequantize), and a fused relu
 * becomes one (lp->relu). Either way the output grid need not hold the
 * negative sums: they saturate and the relu makes them 0. */
static bool plan_layer(Quantizer *z, int i, QuantMode mode, LayerPlan *lp)
{
    Graph *g = z->g;
    const Node *n = &g->nodes[i];
    int add = residual_add(z, i, mode);
    int sum = add >= 0 ? g->nodes[add].output : n->output; /* what a relu would read */
    int reader = activation_of(n)->kind == ACT_NONE ? rectifying_reader(g, sum) : -1;
    *lp = (LayerPlan){.mode = mode, .node = i, .act_node = wide(mode) ? -1 : reader, .add_node = add,
                      .residual = n->n_inputs == 2 ? n->inputs[1] : -1, .geometry = conv_geometry(g, n)};
    if (add >= 0) {
        const Node *a = &g->nodes[add];
        lp->residual = a->inputs[0] == n->output ? a->inputs[1] : a->inputs[0];
    }
    lp->out = lp->act_node >= 0 ? g->nodes[lp->act_node].output : sum;
    lp->relu = wide(mode) && activation_of(n)->kind == ACT_RELU;
    bool rectified = reader >= 0 || activation_of(n)->kind != ACT_NONE;
    TensorRange r = range_of(z, lp->out);
    if (!r.seen) {
        diag_error(z->o->diag, n->loc, "layer '%s': calibration saw no values of its output", n->name);
        return false;
    }
    lp->y = activation_params(z, mode, r, rectified);
    const Tensor *w = &g->tensors[n->params[0]];
    lp->filters = w->shape.d[0];
    lp->per_filter = shape_elems(&w->shape) / lp->filters;
    return true;
}

/* Replaces the float layer (and the add and activation it absorbs) by the
 * dequantized integers. */
static bool replace_layer(Quantizer *z, const LayerPlan *lp, int dq_out)
{
    Graph *g = z->g;
    int last = lp->act_node >= 0 ? lp->act_node : lp->add_node >= 0 ? lp->add_node : lp->node;
    if (!graph_forward(g, last, dq_out))
        return false;
    if (lp->add_node >= 0 && last != lp->add_node)
        graph_remove_node(g, lp->add_node);
    if (last != lp->node)
        graph_remove_node(g, lp->node);
    return true;
}

static int dequantize_node(Quantizer *z, int t, const QParams *p, const char *base, SrcLoc loc)
{
    Attrs at;
    attrs_init_defaults(OP_DEQUANTIZE, &at);
    int id = add_node(z, OP_DEQUANTIZE, pass_fresh_name(z->g, base, "dq"), &at, t, loc);
    if (id >= 0)
        set_qparams(z->g, z->g->nodes[id].params[0], z->g->nodes[id].params[1], p);
    return id;
}

/* fixed16's relu on the integers y; -1 after an error. */
static int integer_relu(Quantizer *z, int y, const char *base, SrcLoc loc)
{
    Attrs at;
    attrs_init_defaults(OP_RELU, &at);
    int id = add_node(z, OP_RELU, pass_fresh_name(z->g, base, "relu"), &at, y, loc);
    return id < 0 ? -1 : z->g->nodes[id].output;
}

static bool quantise_layer(Quantizer *z, int i, QuantMode mode)
{
    Graph *g = z->g;
    LayerPlan lp;
    if (!plan_layer(z, i, mode, &lp))
        return false;
    SrcLoc loc = g->nodes[i].loc;
    const char *name = g->nodes[i].name;
    int xq = quantised_operand(z, g->nodes[i].inputs[0], mode, loc, &lp.x);
    xq = xq < 0 ? -1 : as_conv_input(z, &g->nodes[i], xq);
    int operands[2] = {xq, lp.residual >= 0 ? quantised_operand(z, lp.residual, mode, loc, &lp.r) : -1};
    double *scale = arena_array(&g->arena, (size_t)lp.filters, sizeof *scale);
    if (xq < 0 || (lp.residual >= 0 && operands[1] < 0) || !weight_scales(z, &lp, scale))
        return false;
    Attrs at;
    attrs_init_defaults(OP_QLINEAR_CONV, &at);
    at.qconv = (QConvAttrs){lp.geometry, wide(mode) ? ELEM_I16 : ELEM_I8, (int)lp.y.type,
                            !per_tensor(z, mode)};
    int qnode = add_node_on(z, OP_QLINEAR_CONV, pass_fresh_name(g, name, "q"), &at, operands,
                            lp.residual >= 0 ? 2 : 1, loc);
    if (qnode < 0)
        return false;
    g->nodes[qnode].ann = g->nodes[i].ann;
    g->nodes[qnode].ann.has_offset = false; /* another element type: plan-memory places it */
    fill_weights(z, &lp, qnode, scale);
    if (lp.residual >= 0) { /* the residual's scale and zero point come last */
        const Node *qn = &g->nodes[qnode];
        set_qparams(g, qn->params[qn->n_params - 2], qn->params[qn->n_params - 1], &lp.r);
        pass_count(z->r, lp.add_node >= 0 ? "residual adds fused into qlinear_conv"
                                          : "fused residual operands quantised", 1);
    }
    int yq = g->nodes[qnode].output;
    if (lp.relu)
        yq = integer_relu(z, yq, name, loc);
    yq = yq < 0 ? -1 : as_layer_output(z, i, yq);
    int dq = yq < 0 ? -1 : dequantize_node(z, yq, &lp.y, name, loc);
    if (dq < 0)
        return false;
    if (!replace_layer(z, &lp, g->nodes[dq].output)) {
        diag_error(z->o->diag, loc, "quantize: layer '%s' cannot be replaced", name);
        return false;
    }
    bool fc = g->nodes[i].op == OP_FC;
    pass_count(z->r, wide(mode) ? (fc ? "fc layers quantised to 16 bits" : "conv layers quantised to 16 bits")
                                : (fc ? "fc layers quantised to 8 bits" : "conv layers quantised to 8 bits"), 1);
    return true;
}

/* ---- weight codes: coded_conv ---- */

/* The code type of layer i in a weights-only mode: its @precision's, or
 * the mode's with --weight-bits (4 by default) for log2 and kmeans. */
static ElemType code_type(const Quantizer *z, int i, QuantMode mode)
{
    const Node *n = &z->g->nodes[i];
    if (n->ann.has_precision)
        return n->ann.precision;
    static const ElemKind kinds[] = {[QUANT_LOG2] = ELEM_LOG2, [QUANT_KMEANS] = ELEM_CODEBOOK,
                                     [QUANT_BINARY] = ELEM_BINARY, [QUANT_TERNARY] = ELEM_TERNARY};
    ElemType t = elem_type_default(kinds[mode]);
    if ((t.kind == ELEM_LOG2 || t.kind == ELEM_CODEBOOK) && z->q && z->q->weight_bits)
        t.bits = (uint8_t)z->q->weight_bits;
    return t;
}

/* What coded_conv's shape rule cannot see: a codebook needs a weight for
 * each centroid (k-means would leave centroids that no weight chose). */
static bool codes_fit(Quantizer *z, const Node *n, ElemType t)
{
    int64_t weights = shape_elems(&z->g->tensors[n->params[0]].shape);
    int fewest = t.kind == ELEM_LOG2 ? 2 : 1; /* log2: a sign and a magnitude */
    if ((t.kind == ELEM_LOG2 || t.kind == ELEM_CODEBOOK) && (t.bits < fewest || t.bits > 8)) {
        char ty[32];
        elem_type_format(t, ty, sizeof ty);
        diag_error(z->o->diag, n->loc, "layer '%s': %s: %s codes take %d to 8 bits", n->name, ty,
                   elem_kind_name(t.kind), fewest);
        return false;
    }
    if (t.kind != ELEM_CODEBOOK || weights >= (int64_t)1 << t.bits)
        return true;
    diag_error(z->o->diag, n->loc, "layer '%s': a codebook of 2^%d = %d centroids needs at least as many "
               "weights, and the layer has %lld (fewer bits: --weight-bits or @precision(codebook, B))",
               n->name, t.bits, 1 << t.bits, (long long)weights);
    return false;
}

static void fill_codes(Quantizer *z, int layer, int coded)
{
    Graph *g = z->g;
    const Node *n = &g->nodes[layer], *c = &g->nodes[coded];
    const CodedConvAttrs *at = &c->attr.coded;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t filters = w->shape.d[0];
    uint8_t *codes = graph_new_data(g, c->params[0]);
    float *decoder = graph_new_data(g, c->params[1]);
    weight_codes_choose(g->tensors[c->params[0]].type, at->per_channel, w->data, filters,
                        shape_elems(&w->shape) / filters, codes, decoder);
    if (at->conv.bias)
        memcpy(graph_new_data(g, c->params[2]), g->tensors[n->params[1]].data, (size_t)filters * sizeof(float));
}

/* conv or fc i as a coded_conv on its float input (an fc's filter covers
 * its input, reshaped around as for qlinear_conv), its activation fused. */
static bool code_layer(Quantizer *z, int i, QuantMode mode)
{
    Graph *g = z->g;
    ElemType t = code_type(z, i, mode);
    if (!codes_fit(z, &g->nodes[i], t))
        return false;
    Attrs at;
    attrs_init_defaults(OP_CODED_CONV, &at);
    at.coded.conv = conv_geometry(g, &g->nodes[i]);
    at.coded.conv.act = *activation_of(&g->nodes[i]);
    at.coded.weight_type = (int)t.kind;
    if (t.kind == ELEM_LOG2 || t.kind == ELEM_CODEBOOK)
        at.coded.weight_bits = t.bits;
    at.coded.per_channel = t.kind != ELEM_CODEBOOK && !(z->q && z->q->per_tensor);
    SrcLoc loc = g->nodes[i].loc;
    const char *name = g->nodes[i].name;
    int x = as_conv_input(z, &g->nodes[i], g->nodes[i].inputs[0]);
    int coded = x < 0 ? -1 : add_node(z, OP_CODED_CONV, pass_fresh_name(g, name, "coded"), &at, x, loc);
    if (coded < 0)
        return false;
    g->nodes[coded].ann = g->nodes[i].ann;
    g->nodes[coded].ann.has_offset = false; /* a new layer: plan-memory places it */
    fill_codes(z, i, coded);
    int y = as_layer_output(z, i, g->nodes[coded].output);
    if (y >= 0 && z->stands_for)
        z->stands_for[z->n_stands_for][0] = y, z->stands_for[z->n_stands_for++][1] = g->nodes[i].output;
    if (y < 0 || !graph_forward(g, i, y)) {
        diag_error(z->o->diag, loc, "quantize: layer '%s' cannot be replaced", name);
        return false;
    }
    pass_count(z->r, "conv and fc layers with coded weights", 1);
    return true;
}

/* ---- layers that commute with dequantize ---- */

/* op(dequantize(q)) = dequantize(op(q)) for these ops: they select or move
 * values, and dequantize is increasing. relu too on fixed16's i16, whose
 * zero point is 0: max(s q, 0) = s max(q, 0). (The 8-bit modes absorb a
 * relu into u8 saturation, and keep the others float as they were.) */
static bool commutes(const Graph *g, const Node *n)
{
    OpKind op = n->op;
    if (op == OP_RELU) {
        int q = integers_under(g, n->inputs[0]);
        return q >= 0 && g->tensors[q].type.kind == ELEM_I16 &&
               qparams_of(g, graph_producer(g, n->inputs[0])).zero_point == 0;
    }
    return op == OP_MAXPOOL || op == OP_GLOBAL_MAXPOOL || op == OP_FLATTEN || op == OP_RESHAPE ||
           op == OP_SLICE || op == OP_DROPOUT;
}

static bool sink_dequantize(Quantizer *z, int i)
{
    Graph *g = z->g;
    int q = integers_under(g, g->nodes[i].inputs[0]);
    if (q < 0)
        return true;
    QParams p = qparams_of(g, graph_producer(g, g->nodes[i].inputs[0]));
    Attrs at = g->nodes[i].attr;
    SrcLoc loc = g->nodes[i].loc;
    const char *name = g->nodes[i].name;
    int id = add_node(z, g->nodes[i].op, pass_fresh_name(g, name, "q"), &at, q, loc);
    int dq = id < 0 ? -1 : dequantize_node(z, g->nodes[id].output, &p, name, loc);
    if (dq < 0)
        return false;
    if (!graph_forward(g, i, g->nodes[dq].output)) {
        diag_error(z->o->diag, loc, "quantize: layer '%s' cannot be replaced", name);
        return false;
    }
    pass_count(z->r, "layers moved below a dequantize", 1);
    return true;
}

/* Dequantize layers this pass made that nothing reads any more. */
static void drop_unread(Graph *g, int from)
{
    for (int i = g->n_nodes - 1; i >= from; i--) {
        const Node *n = &g->nodes[i];
        if (!n->removed && g->tensors[n->output].n_users == 0 && !graph_is_output(g, n->output))
            graph_remove_node(g, i);
    }
}

/* ---- the pass ---- */

/* Records in *first the mode of the first layer to quantise to integers,
 * and in *coded whether a layer gets weight codes. */
static bool check_choice(const Quantizer *z, int i, QuantMode *first, bool *coded)
{
    const Node *n = &z->g->nodes[i];
    QuantMode mode = conv_or_fc(n) ? layer_mode(z, i) : QUANT_NONE;
    if (mode == QUANT_NONE)
        return true;
    const char *why = cannot_quantise(z->g, n, mode);
    if (why && n->ann.has_precision) {
        char want[32];
        elem_type_format(n->ann.precision, want, sizeof want);
        diag_error(z->o->diag, n->loc, "layer '%s': @precision(%s) cannot apply: %s", n->name, want, why);
        return false;
    }
    if (!why && weights_only(mode))
        *coded = true;
    else if (!why && *first == QUANT_NONE)
        *first = mode;
    return true;
}

static bool calibrate(Quantizer *z, QuantMode mode)
{
    const QuantOptions *q = z->q;
    if (!q || q->n_batches < 1) {
        diag_error(z->o->diag, SRCLOC_NONE, "quantising to %s needs calibration data: give --calibrate FILE",
                   quant_mode_name(mode));
        return false;
    }
    z->n_ranged = z->g->n_tensors;
    z->range = arena_array(&z->g->arena, (size_t)z->n_ranged, sizeof *z->range);
    z->integers = arena_array(&z->g->arena, 2 * (size_t)z->n_ranged, sizeof *z->integers);
    for (int t = 0; t < 2 * z->n_ranged; t++)
        z->integers[t] = -1;
    char err[1024];
    if (!calibrate_ranges(z->g, q, z->range, err, sizeof err)) {
        diag_error(z->o->diag, SRCLOC_NONE, "calibration: %s", err);
        return false;
    }
    return true;
}

bool pass_quantize(Graph *g, const PassOptions *o, PassReport *r)
{
    Quantizer z = {.g = g, .o = o, .q = o->quant, .r = r};
    if (z.q && !quant_mode_ready(z.q->mode)) {
        diag_error(o->diag, SRCLOC_NONE, "--quantize %s is not implemented yet", quant_mode_name(z.q->mode));
        return false;
    }
    find_first_last(&z);
    QuantMode first = QUANT_NONE;
    bool coded = false;
    for (int i = 0; i < g->n_nodes; i++)
        if (!check_choice(&z, i, &first, &coded))
            return false;
    if (first == QUANT_NONE && coded && z.q && z.q->n_batches > 0) {
        diag_error(o->diag, SRCLOC_NONE, "--calibrate: the layers to quantise get weight codes only (%s) and "
                   "none computes on integers, so there are no activation ranges to calibrate",
                   weights_only(z.q->mode) ? quant_mode_name(z.q->mode) : "@precision");
        return false;
    }
    if (first == QUANT_NONE && !coded)
        return true;
    if (first != QUANT_NONE && !calibrate(&z, first))
        return false;
    if (first != QUANT_NONE)
        z.stands_for = arena_array(&g->arena, (size_t)g->n_nodes, sizeof *z.stands_for);
    int original = g->n_nodes;
    for (int i = 0; i < original; i++) {
        const Node *n = &g->nodes[i];
        QuantMode mode = conv_or_fc(n) ? layer_mode(&z, i) : QUANT_NONE;
        bool ok = true;
        if (mode != QUANT_NONE && cannot_quantise(g, n, mode))
            pass_count(r, "conv and fc layers kept in float32", 1);
        else if (weights_only(mode))
            ok = code_layer(&z, i, mode);
        else if (mode != QUANT_NONE)
            ok = quantise_layer(&z, i, mode);
        else if (!n->removed && !n->ann.has_precision && commutes(g, n))
            ok = sink_dequantize(&z, i);
        if (!ok)
            return false;
    }
    drop_unread(g, original);
    return true;
}
