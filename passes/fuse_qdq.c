/* fuse-qdq: the QDQ form of a quantised ONNX model (ONNX Runtime's
 * quantize_static by default) computed on integers, as ONNX Runtime's QDQ
 * transformer does. A float conv, fc or matmul between dequantize and
 * quantize,
 *
 *     x = dequantize(x_q)            per tensor, u8 or i8
 *     y = conv(x)                    weights dequantized from integers
 *     r = relu(y)                    optional (or conv's fused relu)
 *     y_q = quantize(r)              per tensor
 *
 * becomes y_q = qlinear_conv(x_q) with the scales and zero points of the
 * dequantize, of the weights and of the quantize; an fc or matmul becomes a
 * qlinear_conv whose filter covers its input, reshaped around it (as the
 * quantize pass does). The weights' grid is the one the ONNX importer kept
 * on the float weights (Tensor.quant: a folded DequantizeLinear of i8 or u8
 * constants, per tensor or one scale per filter); the pass takes the
 * integers back from the float values and checks that each one gives the
 * same float again, else it leaves the layer (so a grid that another pass
 * made stale by changing the weights, folding a batch norm into them, is
 * harmless: the weights are no longer on it). A float bias becomes the i32
 * nearest bias / (x_scale * w_scale), which is the integer itself when the
 * model gave it as a dequantized i32 at that scale.
 *
 * A relu is absorbed only when the output's zero point is its type's
 * lowest value: then saturation is the relu. A qlinear_matmul with a
 * constant B moves to a qlinear_conv the same way; both compute
 * nearbyint(sum * x_scale * w_scale / y_scale) in the same order, so that
 * rewrite changes no bit. The float rewrite does: the float graph rounds
 * the conv's sum in float32 before quantize rounds it to the grid, the
 * qlinear_conv rounds the exact integer sum once (docs/quantization.md
 * states and tests the bound: at most one step of the output grid).
 *
 * Layers it cannot fuse stay as they were: the graph is still correct, in
 * float, and `dnnc dump` shows which layers became qlinear_conv. */
#include <math.h>
#include <string.h>

#include "pass.h"

#define INT32_LIMIT 2147483647.0

/* One layer to fuse: what it reads, its weights seen as filters x per_filter
 * integers on the grid, and the nodes it replaces. */
typedef struct Fusion {
    int node;         /* conv, fc, matmul or qlinear_matmul */
    int xq;           /* the integers it reads */
    int x_params[2];  /* their scale and zero point (the dequantize's or qlinear_matmul's) */
    int y_params[2];  /* the output grid's (the quantize's or qlinear_matmul's) */
    ElemKind y_type;
    int relu, quantize; /* the nodes absorbed after a float layer, or -1 */
    int64_t filters, per_filter;
    bool transposed;  /* matmul's B is [K, N]: filter f is column f */
    const float *w;   /* float layers: the dequantized weights */
    const void *wq;   /* qlinear_matmul: the integers */
    ElemKind wq_type;
    const float *w_scale; /* one, or one per filter */
    int n_scales;
    const int32_t *w_zero_point; /* float layers */
    int w_zp_param;              /* qlinear_matmul: b's zero point parameter */
    const float *bias;           /* float layers with a bias, else NULL */
} Fusion;

static const Tensor *param_of(const Graph *g, const Node *n, int k) { return &g->tensors[n->params[k]]; }

static double integer_of(ElemKind kind, const void *data, int64_t k)
{
    switch (kind) {
    case ELEM_U8: return ((const uint8_t *)data)[k];
    case ELEM_I8: return ((const int8_t *)data)[k];
    case ELEM_I32: return ((const int32_t *)data)[k];
    default: return 0;
    }
}

static double integer_at(const Tensor *t, int64_t k) { return integer_of(t->type.kind, t->data, k); }

static bool eight_bit(ElemKind k) { return k == ELEM_U8 || k == ELEM_I8; }

/* ---- matching ---- */

/* The dequantize that computes float operand x from 8-bit integers, one
 * scale for the tensor and bound parameters; -1 if it is not one. */
static int dequantize_under(const Graph *g, int x)
{
    const Node *p = graph_producer(g, x);
    if (!p || p->removed || p->op != OP_DEQUANTIZE || p->attr.quantize.per_axis ||
        !eight_bit(g->tensors[p->inputs[0]].type.kind) || !param_of(g, p, 0)->data || !param_of(g, p, 1)->data)
        return -1;
    return (int)(p - g->nodes);
}

/* The quantize after float layer n (through a relu, the layer's own or a
 * relu layer that alone reads it); -1 if there is none it can absorb. */
static int quantize_after(const Graph *g, const Node *n, bool fused_relu, int *relu)
{
    *relu = -1;
    int r = graph_sole_reader(g, n->output);
    if (r >= 0 && g->nodes[r].op == OP_RELU && !fused_relu) {
        *relu = r;
        r = graph_sole_reader(g, g->nodes[r].output);
    }
    const Node *q = r >= 0 ? &g->nodes[r] : NULL;
    if (!q || q->op != OP_QUANTIZE || q->attr.quantize.per_axis || !param_of(g, q, 0)->data ||
        !param_of(g, q, 1)->data)
        return -1;
    if (!(fused_relu || *relu >= 0))
        return r;
    /* relu then quantize is saturation at the lowest integer when the zero
     * point is that integer: max(v, 0) maps to it, and so does any v < 0. */
    double lowest = q->attr.quantize.dtype == ELEM_U8 ? 0 : -128;
    return integer_at(param_of(g, q, 1), 0) == lowest ? r : -1;
}

/* The float weights of layer n with their grid: a conv's or fc's weight,
 * a matmul's constant B ([K, N], one scale per column or one). */
static const Tensor *float_weights(const Graph *g, const Node *n, Fusion *f)
{
    const Tensor *w;
    if (n->op == OP_MATMUL) {
        const Node *c = graph_producer(g, n->inputs[1]);
        if (!c || c->op != OP_CONSTANT || g->tensors[n->inputs[1]].shape.rank != 2)
            return NULL;
        w = param_of(g, c, 0);
        f->transposed = true;
        f->filters = w->shape.d[1];
    } else {
        w = param_of(g, n, 0);
        f->filters = w->shape.d[0];
    }
    int filter_axis = f->transposed ? 1 : 0;
    if (!w->data || w->type.kind != ELEM_F32 || !w->quant || w->sparse ||
        (w->quant->count != 1 && (w->quant->axis != filter_axis || w->quant->count != f->filters)))
        return NULL;
    f->per_filter = shape_elems(&w->shape) / f->filters;
    return w;
}

/* A float conv, fc or matmul between dequantize and quantize. */
static bool match_float_layer(const Graph *g, int i, Fusion *f)
{
    const Node *n = &g->nodes[i];
    bool matmul = n->op == OP_MATMUL;
    if (n->op != OP_CONV && n->op != OP_FC && !matmul)
        return false;
    const Activation *act = n->op == OP_CONV ? &n->attr.conv.act : n->op == OP_FC ? &n->attr.fc.act : NULL;
    if ((act && act->kind != ACT_NONE && act->kind != ACT_RELU) || n->n_inputs != (matmul ? 2 : 1) ||
        (matmul && g->tensors[n->inputs[0]].shape.rank < 2))
        return false;
    *f = (Fusion){.node = i};
    int dq = dequantize_under(g, n->inputs[0]);
    f->quantize = quantize_after(g, n, act && act->kind == ACT_RELU, &f->relu);
    const Tensor *w = dq >= 0 && f->quantize >= 0 ? float_weights(g, n, f) : NULL;
    if (!w)
        return false;
    const Node *d = &g->nodes[dq], *q = &g->nodes[f->quantize];
    f->xq = d->inputs[0];
    f->x_params[0] = d->params[0], f->x_params[1] = d->params[1];
    f->y_params[0] = q->params[0], f->y_params[1] = q->params[1];
    f->y_type = (ElemKind)q->attr.quantize.dtype;
    f->w = w->data;
    f->w_scale = w->quant->scale;
    f->n_scales = w->quant->count;
    f->w_zero_point = w->quant->zero_point;
    bool bias = n->op == OP_CONV ? n->attr.conv.bias : n->op == OP_FC && n->attr.fc.bias;
    f->bias = bias ? param_of(g, n, 1)->data : NULL;
    return !bias || f->bias;
}

/* A qlinear_matmul whose B is a constant matrix of 8-bit integers. */
static bool match_qlinear_matmul(const Graph *g, int i, Fusion *f)
{
    const Node *n = &g->nodes[i];
    if (n->op != OP_QLINEAR_MATMUL || g->tensors[n->inputs[0]].shape.rank < 2)
        return false;
    const Node *c = graph_producer(g, n->inputs[1]);
    const Tensor *b = c && c->op == OP_CONSTANT ? param_of(g, c, 0) : NULL;
    if (!b || !b->data || b->sparse || b->shape.rank != 2 || !eight_bit(b->type.kind))
        return false;
    *f = (Fusion){.node = i, .xq = n->inputs[0], .x_params = {n->params[0], n->params[1]},
                  .y_params = {n->params[4], n->params[5]}, .y_type = (ElemKind)n->attr.qmatmul.out_type,
                  .relu = -1, .quantize = -1, .filters = b->shape.d[1], .per_filter = b->shape.d[0],
                  .transposed = true, .wq = b->data, .wq_type = b->type.kind,
                  .w_scale = param_of(g, n, 2)->data, .n_scales = (int)shape_elems(&param_of(g, n, 2)->shape),
                  .w_zp_param = n->params[3]};
    return true;
}

/* ---- the integers ---- */

static int64_t weight_index(const Fusion *f, int64_t filter, int64_t k)
{
    return f->transposed ? k * f->filters + filter : filter * f->per_filter + k;
}

static double scale_of(const Fusion *f, int64_t filter) { return f->w_scale[f->n_scales > 1 ? filter : 0]; }

static double zero_point_of(const Graph *g, const Fusion *f, int64_t filter)
{
    int64_t k = f->n_scales > 1 ? filter : 0;
    return f->wq ? integer_at(&g->tensors[f->w_zp_param], k) : f->w_zero_point[k];
}

/* Weight (filter, k) as an integer on its grid; false when the float
 * weight is not exactly the dequantized value of one (ref_dequantize's
 * arithmetic: the difference times the scale in double, then to float). */
static bool integer_weight(const Graph *g, const Fusion *f, int64_t filter, int64_t k, double *q)
{
    int64_t i = weight_index(f, filter, k);
    if (f->wq) {
        *q = integer_of(f->wq_type, f->wq, i);
        return true;
    }
    double s = scale_of(f, filter), zp = zero_point_of(g, f, filter);
    *q = nearbyint(f->w[i] / s) + zp;
    return (float)((*q - zp) * s) == f->w[i];
}

/* The weights' integer type (i8 where they all fit, else u8) and the
 * largest |w - zero point|; false when some weight is off the grid or
 * fits neither type. */
static bool weight_type(const Graph *g, Fusion *f, ElemKind *type, double *largest)
{
    double lo = 0, hi = 0;
    *largest = 0;
    for (int64_t c = 0; c < f->filters; c++) {
        double zp = zero_point_of(g, f, c);
        lo = fmin(lo, zp), hi = fmax(hi, zp);
        for (int64_t k = 0; k < f->per_filter; k++) {
            double q;
            if (!integer_weight(g, f, c, k, &q))
                return false;
            lo = fmin(lo, q), hi = fmax(hi, q);
            *largest = fmax(*largest, fabs(q - zp));
        }
    }
    *type = lo >= -128 && hi <= 127 ? ELEM_I8 : ELEM_U8;
    return lo >= (*type == ELEM_I8 ? -128 : 0) && hi <= (*type == ELEM_I8 ? 127 : 255);
}

/* The i32 bias of filter c: the nearest integer to bias / (x_scale * w_scale). */
static double integer_bias(const Graph *g, const Fusion *f, int64_t c)
{
    double x_scale = ((const float *)g->tensors[f->x_params[0]].data)[0];
    return f->bias ? nearbyint(f->bias[c] / (x_scale * scale_of(f, c))) : 0;
}

/* Whether the int32 accumulator of the kernels holds every sum: each bias
 * plus K times the largest product stays below 2^31 (survey Fig. 39). */
static bool accumulator_fits(const Graph *g, const Fusion *f, double largest_w)
{
    const Tensor *xzp = &g->tensors[f->x_params[1]];
    double zx = integer_at(xzp, 0);
    double largest_x = xzp->type.kind == ELEM_U8 ? fmax(zx, 255 - zx) : fmax(zx + 128, 127 - zx);
    double products = (double)f->per_filter * largest_x * largest_w;
    for (int64_t c = 0; c < f->filters; c++)
        if (fabs(integer_bias(g, f, c)) + products > INT32_LIMIT)
            return false;
    return products <= INT32_LIMIT;
}

/* ---- the rewrite ---- */

static int add_layer(Graph *g, OpKind op, const char *name, const Attrs *at, int input, SrcLoc loc,
                     const PassOptions *o)
{
    char err[512];
    int id = graph_add_node(g, op, name, at, &input, 1, loc, err, sizeof err);
    if (id < 0)
        diag_error(o->diag, loc, "fuse-qdq: cannot add layer '%s': %s", name, err);
    return id < 0 ? -1 : g->nodes[id].output;
}

static int reshaped(Graph *g, int t, Shape shape, const char *base, const char *suffix, SrcLoc loc,
                    const PassOptions *o)
{
    if (shape_equal(&g->tensors[t].shape, &shape))
        return t;
    const Node *p = graph_producer(g, t); /* an fc's matrix read by the next fc: the image under it */
    if (p && p->op == OP_RESHAPE && shape_equal(&g->tensors[p->inputs[0]].shape, &shape))
        return p->inputs[0];
    Attrs at;
    attrs_init_defaults(OP_RESHAPE, &at);
    at.reshape.shape = shape;
    return add_layer(g, OP_RESHAPE, pass_fresh_name(g, base, suffix), &at, t, loc, o);
}

/* The layer as a convolution and the shape of the image it reads: an fc's
 * filter covers its input, a matrix seen as [N, K, 1, 1]; a matmul's rows
 * (all dimensions but the last) are the batch. */
static ConvAttrs geometry(const Graph *g, const Fusion *f, Shape *image)
{
    const Node *n = &g->nodes[f->node];
    const Shape *in = &g->tensors[n->inputs[0]].shape;
    if (n->op == OP_CONV) {
        *image = *in;
        ConvAttrs c = n->attr.conv;
        c.act = (Activation){0};
        return c;
    }
    ConvAttrs c = {.filters = f->filters, .kernel = {1, 1}, .stride = {1, 1}, .dilation = {1, 1},
                   .groups = 1, .bias = f->bias != NULL};
    if (n->op == OP_FC && in->rank == 4) {
        c.kernel[0] = in->d[2], c.kernel[1] = in->d[3];
        *image = *in;
    } else {
        int64_t k = n->op == OP_FC ? shape_elems(in) / in->d[0] : in->d[in->rank - 1];
        *image = (Shape){4, {shape_elems(in) / k, k, 1, 1}};
    }
    return c;
}

static void copy_param(Graph *g, int to, int from)
{
    const Tensor *s = &g->tensors[from];
    memcpy(graph_new_data(g, to), s->data, (size_t)shape_elems(&s->shape) * elem_kind_size(s->type.kind));
}

static void store_integer(void *p, ElemKind k, int64_t i, double v)
{
    if (k == ELEM_I8)
        ((int8_t *)p)[i] = (int8_t)v;
    else if (k == ELEM_U8)
        ((uint8_t *)p)[i] = (uint8_t)v;
    else
        ((int32_t *)p)[i] = (int32_t)v;
}

/* qlinear_conv's parameters: weight, x_scale, x_zero_point, w_scale,
 * w_zero_point, y_scale, y_zero_point, [bias]. */
static void fill_params(Graph *g, const Fusion *f, const Node *qn)
{
    ElemKind wk = (ElemKind)qn->attr.qconv.weight_type;
    void *wq = graph_new_data(g, qn->params[0]);
    float *ws = graph_new_data(g, qn->params[3]);
    void *wzp = graph_new_data(g, qn->params[4]);
    for (int64_t c = 0; c < f->filters; c++) {
        for (int64_t k = 0; k < f->per_filter; k++) {
            double q;
            integer_weight(g, f, c, k, &q); /* on the grid: weight_type checked every one */
            store_integer(wq, wk, c * f->per_filter + k, q);
        }
        if (c < f->n_scales) {
            ws[c] = (float)scale_of(f, c);
            store_integer(wzp, wk, c, zero_point_of(g, f, c));
        }
    }
    copy_param(g, qn->params[1], f->x_params[0]);
    copy_param(g, qn->params[2], f->x_params[1]);
    copy_param(g, qn->params[5], f->y_params[0]);
    copy_param(g, qn->params[6], f->y_params[1]);
    int32_t *bias = f->bias ? graph_new_data(g, qn->params[7]) : NULL;
    for (int64_t c = 0; bias && c < f->filters; c++)
        bias[c] = (int32_t)integer_bias(g, f, c);
}

/* Removes the layer computing t when the rewrite left t unread: the
 * dequantize under the operand, a matmul's constant B. */
static void drop_if_unread(Graph *g, int t)
{
    const Node *p = graph_producer(g, t);
    if (p && !p->removed && g->tensors[t].n_users == 0 && !graph_is_output(g, t))
        graph_remove_node(g, (int)(p - g->nodes));
}

static bool fuse(Graph *g, const Fusion *f, ElemKind wk, const PassOptions *o)
{
    const Node *n = &g->nodes[f->node];
    const char *name = n->name;
    SrcLoc loc = n->loc;
    int last = f->quantize >= 0 ? f->quantize : f->node;
    Shape out = g->tensors[g->nodes[last].output].shape, image;
    Attrs at;
    attrs_init_defaults(OP_QLINEAR_CONV, &at);
    at.qconv = (QConvAttrs){geometry(g, f, &image), (int)wk, (int)f->y_type, f->n_scales > 1};
    int x = reshaped(g, f->xq, image, g->tensors[f->xq].name, "as_image", loc, o);
    int y = x < 0 ? -1 : add_layer(g, OP_QLINEAR_CONV, pass_fresh_name(g, name, "q"), &at, x, loc, o);
    if (y < 0)
        return false;
    fill_params(g, f, graph_producer(g, y));
    y = reshaped(g, y, out, name, "q_matrix", loc, o);
    const Node *layer = &g->nodes[f->node]; /* g->nodes may have moved */
    int operands[2] = {layer->inputs[0], layer->n_inputs > 1 ? layer->inputs[1] : -1};
    if (y < 0 || !graph_forward(g, last, y)) {
        diag_error(o->diag, loc, "fuse-qdq: layer '%s' cannot be replaced", name);
        return false;
    }
    if (f->relu >= 0)
        graph_remove_node(g, f->relu);
    if (last != f->node)
        graph_remove_node(g, f->node);
    for (int k = 0; k < 2; k++)
        if (operands[k] >= 0)
            drop_if_unread(g, operands[k]);
    return true;
}

static const char *fused_what(OpKind op)
{
    switch (op) {
    case OP_CONV: return "conv layers between dequantize and quantize now qlinear_conv";
    case OP_FC: return "fc layers between dequantize and quantize now qlinear_conv";
    case OP_MATMUL: return "matmul layers between dequantize and quantize now qlinear_conv";
    default: return "qlinear_matmul layers with a constant B now qlinear_conv";
    }
}

/* Whether layer i sits between a dequantize and a quantize at all: those
 * the pass leaves are counted, so that --pass-stats shows them. */
static bool between_qdq(const Graph *g, const Node *n)
{
    if (n->op != OP_CONV && n->op != OP_FC && n->op != OP_MATMUL)
        return false;
    int r = graph_sole_reader(g, n->output);
    r = r >= 0 && g->nodes[r].op == OP_RELU ? graph_sole_reader(g, g->nodes[r].output) : r;
    return dequantize_under(g, n->inputs[0]) >= 0 && r >= 0 && g->nodes[r].op == OP_QUANTIZE;
}

bool pass_fuse_qdq(Graph *g, const PassOptions *o, PassReport *r)
{
    int original = g->n_nodes;
    for (int i = 0; i < original; i++) {
        const Node *n = &g->nodes[i];
        if (n->removed || n->ann.has_precision) /* @precision says what it computes in */
            continue;
        Fusion f;
        ElemKind wk;
        double largest_w;
        bool matched = match_float_layer(g, i, &f) || match_qlinear_matmul(g, i, &f);
        if (matched && weight_type(g, &f, &wk, &largest_w) && accumulator_fits(g, &f, largest_w)) {
            OpKind op = n->op;
            if (!fuse(g, &f, wk, o))
                return false;
            pass_count(r, fused_what(op), 1);
        } else if (between_qdq(g, n) || n->op == OP_QLINEAR_MATMUL) {
            pass_count(r, n->op == OP_QLINEAR_MATMUL ? "qlinear_matmul layers kept (B not a constant)"
                                                     : "layers between dequantize and quantize kept float", 1);
        }
    }
    return true;
}
