/* Node -> kernel calls: the only place that knows how each IR op maps onto
 * the kernel library and its descriptor layout (the files of codegen/kernels). */
#include "calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dnnk_tensor describe(const Tensor *t)
{
    dnnk_tensor d;
    memset(&d, 0, sizeof d);
    d.rank = t->shape.rank;
    for (int i = 0; i < t->shape.rank; i++)
        d.dims[i] = t->shape.d[i];
    d.type = t->type.kind;
    return d;
}

static bool push(CallList *l, const KernelCall *c)
{
    if ((size_t)l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        KernelCall *grown = realloc(l->calls, cap * sizeof *grown);
        if (!grown)
            return false;
        l->calls = grown;
        l->cap = cap;
    }
    l->calls[l->count++] = *c;
    return true;
}

/* A call with the node's output, operands and weights as pointers. */
static void start_call(const Graph *g, const Plan *p, int idx, const char *kernel, KernelCall *c)
{
    const Node *n = &g->nodes[idx];
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
    c->node = idx;
    c->desc.out = describe(&g->tensors[n->output]);
    c->desc.n_in = n->n_inputs < DNNK_MAX_IN ? n->n_inputs : DNNK_MAX_IN;
    for (int i = 0; i < c->desc.n_in; i++)
        c->desc.in[i] = describe(&g->tensors[n->inputs[i]]);
    c->ptrs[c->n_ptrs++] = p->loc[n->output];
    for (int i = 0; i < n->n_inputs && c->n_ptrs < CALL_MAX_PTRS; i++)
        c->ptrs[c->n_ptrs++] = p->loc[n->inputs[i]];
    for (int i = 0; i < n->n_params && c->n_ptrs < CALL_MAX_PTRS; i++)
        c->ptrs[c->n_ptrs++] = p->loc[n->params[i]];
}

static void conv_geometry(dnnk_desc *d, const ConvAttrs *a)
{
    int64_t *i = d->i;
    i[CONV_KH] = a->kernel[0], i[CONV_KW] = a->kernel[1];
    i[CONV_SH] = a->stride[0], i[CONV_SW] = a->stride[1];
    i[CONV_DH] = a->dilation[0], i[CONV_DW] = a->dilation[1];
    i[CONV_PT] = a->pad[0], i[CONV_PL] = a->pad[1], i[CONV_PB] = a->pad[2], i[CONV_PR] = a->pad[3];
    i[CONV_GROUPS] = a->groups, i[CONV_BIAS] = a->bias, i[CONV_ACT] = DNNK_ACT_NONE;
}

static int64_t axis_of(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

/* Units of a plane-parallel kernel: images x channels. */
static int64_t planes(const KernelCall *c) { return c->desc.out.dims[0] * c->desc.out.dims[1]; }

static bool unary_call(const Node *n, KernelCall *c)
{
    static const struct {
        OpKind op;
        int fn;
    } map[] = {
        {OP_RELU, 0}, {OP_LEAKY_RELU, 1}, {OP_ELU, 2}, {OP_SIGMOID, 3},
        {OP_TANH, 4}, {OP_HARD_SIGMOID, 5}, {OP_SELU, 6},
    };
    for (size_t k = 0; k < sizeof map / sizeof *map; k++)
        if (map[k].op == n->op) {
            c->desc.i[0] = map[k].fn;
            return true;
        }
    return false;
}

static bool binary_call(const Node *n, KernelCall *c)
{
    static const OpKind ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN};
    for (int k = 0; k < 6; k++)
        if (ops[k] == n->op) {
            c->desc.i[0] = k;
            bool same = true;
            for (int i = 0; i < c->desc.n_in; i++)
                same &= c->desc.in[i].rank == c->desc.out.rank &&
                        memcmp(c->desc.in[i].dims, c->desc.out.dims, sizeof c->desc.out.dims) == 0;
            c->desc.i[1] = same;
            return true;
        }
    return false;
}

/* Fills the kernel, descriptor and units of one call for nodes that need
 * exactly one; false if the op has no kernel. */
static bool single_call(const Graph *g, const Node *n, KernelCall *c)
{
    dnnk_desc *d = &c->desc;
    int64_t chunks = dnnk_chunks(&d->out);
    switch (n->op) {
    case OP_CONV:
        conv_geometry(d, &n->attr.conv);
        c->units = dnnk_conv_units(d);
        return true; /* the epilogue is added by conv_epilogue */
    case OP_FC:
        d->i[0] = n->attr.fc.bias, d->i[1] = DNNK_ACT_NONE;
        c->units = d->out.dims[1];
        return true;
    case OP_MATMUL:
        c->units = dnnk_count(&d->out) / d->out.dims[d->out.rank - 1];
        return true;
    case OP_MAXPOOL:
    case OP_AVGPOOL: {
        const PoolAttrs *a = &n->attr.pool;
        int64_t v[11] = {a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->dilation[0],
                         a->dilation[1], a->pad[0], a->pad[1], a->pad[2], a->pad[3], a->count_include_pad};
        memcpy(d->i, v, sizeof v);
        c->units = planes(c);
        return true;
    }
    case OP_GLOBAL_MAXPOOL:
    case OP_GLOBAL_AVGPOOL:
        c->units = planes(c);
        return true;
    case OP_BATCHNORM:
        d->f[0] = n->attr.batchnorm.eps;
        c->units = planes(c);
        return true;
    case OP_LRN:
        d->i[0] = n->attr.lrn.size;
        d->f[0] = n->attr.lrn.alpha, d->f[1] = n->attr.lrn.beta, d->f[2] = n->attr.lrn.bias;
        c->units = planes(c);
        return true;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: {
        const Shape *s = &g->tensors[n->output].shape;
        int64_t axis = axis_of(n->attr.axis.axis, s->rank), outer = 1, inner = 1;
        for (int i = 0; i < s->rank; i++)
            *(i < axis ? &outer : &inner) *= i == axis ? 1 : s->d[i];
        d->i[0] = outer, d->i[1] = s->d[axis], d->i[2] = inner, d->i[3] = n->op == OP_LOG_SOFTMAX;
        c->units = outer * inner;
        return true;
    }
    case OP_LEAKY_RELU:
    case OP_ELU:
        d->f[0] = n->attr.alpha.alpha;
        break;
    case OP_HARD_SIGMOID:
        d->f[0] = n->attr.hard_sigmoid.alpha, d->f[1] = n->attr.hard_sigmoid.beta;
        break;
    case OP_SELU:
        d->f[0] = n->attr.selu.alpha, d->f[1] = n->attr.selu.gamma;
        break;
    case OP_CLIP:
        d->f[0] = n->attr.clip.min, d->f[1] = n->attr.clip.max;
        break;
    case OP_PRELU:
        d->i[0] = n->attr.prelu.slope_shape.rank > 0;
        if (d->i[0]) { /* the slopes' shape, for broadcasting */
            d->in[1].rank = n->attr.prelu.slope_shape.rank;
            memcpy(d->in[1].dims, n->attr.prelu.slope_shape.d, sizeof(int64_t) * (size_t)d->in[1].rank);
        }
        break;
    case OP_MAXOUT:
        d->i[0] = n->attr.maxout.pieces;
        break;
    case OP_SLICE:
        d->i[0] = axis_of(n->attr.slice.axis, d->in[0].rank);
        d->i[1] = n->attr.slice.start;
        break;
    case OP_TRANSPOSE:
        for (int k = 0; k < d->out.rank; k++)
            d->i[k] = n->attr.transpose.perm.n ? n->attr.transpose.perm.v[k] : d->out.rank - 1 - k;
        break;
    case OP_PAD:
        for (int k = 0; k < d->out.rank; k++) {
            d->i[k] = n->attr.pad.pads.v[k];
            d->i[8 + k] = n->attr.pad.pads.v[d->out.rank + k];
        }
        d->i[16] = n->attr.pad.mode;
        d->f[0] = n->attr.pad.value;
        break;
    case OP_QUANTIZE:
    case OP_DEQUANTIZE: {
        const QuantizeAttrs *a = &n->attr.quantize;
        int64_t axis = axis_of(a->axis, d->out.rank), inner = 1;
        for (int k = (int)axis + 1; k < d->out.rank; k++)
            inner *= d->out.dims[k];
        d->i[0] = a->per_axis, d->i[1] = axis, d->i[2] = inner;
        break;
    }
    case OP_CONV_INTEGER:
    case OP_QLINEAR_CONV:
        conv_geometry(d, &n->attr.qconv.conv);
        d->i[CONV_PER_CHANNEL] = n->attr.qconv.per_channel;
        d->i[20] = n->attr.qconv.weight_type;
        d->i[21] = n->op == OP_QLINEAR_CONV;
        c->units = d->out.dims[0];
        return true;
    case OP_MATMUL_INTEGER:
    case OP_QLINEAR_MATMUL:
        d->i[0] = n->op == OP_QLINEAR_MATMUL, d->i[1] = n->attr.qmatmul.per_column;
        c->units = dnnk_count(&d->out) / d->out.dims[d->out.rank - 1];
        return true;
    default:
        if (!unary_call(n, c) && !binary_call(n, c) && n->op != OP_FLATTEN && n->op != OP_RESHAPE &&
            n->op != OP_DROPOUT && n->op != OP_CONSTANT)
            return false;
    }
    if (n->op == OP_LEAKY_RELU || n->op == OP_ELU || n->op == OP_HARD_SIGMOID || n->op == OP_SELU)
        unary_call(n, c);
    c->units = chunks;
    return true;
}

static const char *kernel_name(OpKind op)
{
    switch (op) {
    case OP_CONV: return "dnnk_conv";
    case OP_FC: return "dnnk_fc";
    case OP_MATMUL: return "dnnk_matmul";
    case OP_MAXPOOL: return "dnnk_maxpool";
    case OP_AVGPOOL: return "dnnk_avgpool";
    case OP_GLOBAL_MAXPOOL: return "dnnk_global_maxpool";
    case OP_GLOBAL_AVGPOOL: return "dnnk_global_avgpool";
    case OP_BATCHNORM: return "dnnk_batchnorm";
    case OP_LRN: return "dnnk_lrn";
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: return "dnnk_softmax";
    case OP_RELU:
    case OP_LEAKY_RELU:
    case OP_ELU:
    case OP_SIGMOID:
    case OP_TANH:
    case OP_HARD_SIGMOID:
    case OP_SELU: return "dnnk_unary";
    case OP_CLIP: return "dnnk_clip";
    case OP_PRELU: return "dnnk_prelu";
    case OP_MAXOUT: return "dnnk_maxout";
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MAX:
    case OP_MIN: return "dnnk_binary";
    case OP_SLICE: return "dnnk_slice";
    case OP_TRANSPOSE: return "dnnk_transpose";
    case OP_PAD: return "dnnk_pad";
    case OP_CONSTANT: return "dnnk_constant";
    case OP_FLATTEN:
    case OP_RESHAPE:
    case OP_DROPOUT: return "dnnk_copy";
    case OP_QUANTIZE: return "dnnk_quantize";
    case OP_DEQUANTIZE: return "dnnk_dequantize";
    case OP_CONV_INTEGER:
    case OP_QLINEAR_CONV: return "dnnk_qconv";
    case OP_MATMUL_INTEGER:
    case OP_QLINEAR_MATMUL: return "dnnk_qmatmul";
    default: return NULL;
    }
}

/* A folded batch norm and a ReLU run in the convolution's epilogue; it
 * writes the last absorbed layer's output (plan.c placed them together). */
static void conv_epilogue(const Graph *g, const Plan *p, int idx, KernelCall *c)
{
    const Epilogue *e = &p->epilogue[idx];
    c->desc.out = describe(&g->tensors[g->nodes[e->last].output]);
    c->ptrs[0] = p->loc[g->nodes[e->last].output];
    if (e->relu >= 0)
        c->desc.i[CONV_ACT] = DNNK_ACT_RELU;
    if (e->batchnorm >= 0) {
        size_t F = (size_t)c->desc.out.dims[1] * sizeof(float), aligned = (F + 63) / 64 * 64;
        c->desc.i[CONV_SCALE] = 1;
        c->ptrs[c->n_ptrs++] = (Location){LOC_WEIGHTS, e->scale_offset, 0};
        c->ptrs[c->n_ptrs++] = (Location){LOC_WEIGHTS, e->scale_offset + aligned, 0};
    }
}

/* One dnnk_concat_part call per operand. */
static bool concat_calls(const Graph *g, const Plan *p, int idx, CallList *out)
{
    const Node *n = &g->nodes[idx];
    const Tensor *o = &g->tensors[n->output];
    int64_t axis = axis_of(n->attr.axis.axis, o->shape.rank), offset = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        const Tensor *t = &g->tensors[n->inputs[k]];
        KernelCall c;
        memset(&c, 0, sizeof c);
        c.kernel = "dnnk_concat_part";
        c.node = idx;
        c.desc.out = describe(o);
        c.desc.n_in = 1;
        c.desc.in[0] = describe(t);
        c.desc.i[0] = axis, c.desc.i[1] = offset;
        c.units = dnnk_chunks(&c.desc.in[0]);
        c.work = dnnk_count(&c.desc.in[0]);
        c.ptrs[0] = p->loc[n->output];
        c.ptrs[1] = p->loc[n->inputs[k]];
        c.n_ptrs = 2;
        offset += t->shape.d[axis];
        if (!push(out, &c))
            return false;
    }
    return true;
}

/* Graph outputs that are graph inputs are copied at the end. */
static bool output_copies(const Graph *g, const Plan *p, CallList *out)
{
    for (int i = 0; i < g->n_outputs; i++) {
        const Tensor *t = &g->tensors[g->outputs[i]];
        if (p->loc[g->outputs[i]].kind == LOC_OUTPUT && p->loc[g->outputs[i]].index == i)
            continue;
        KernelCall c;
        memset(&c, 0, sizeof c);
        c.kernel = "dnnk_copy";
        c.node = -1;
        c.desc.out = describe(t);
        c.desc.n_in = 1;
        c.desc.in[0] = c.desc.out;
        c.units = dnnk_chunks(&c.desc.out);
        c.work = dnnk_count(&c.desc.out);
        c.ptrs[0] = (Location){LOC_OUTPUT, 0, i};
        c.ptrs[1] = p->loc[g->outputs[i]];
        c.n_ptrs = 2;
        if (!push(out, &c))
            return false;
    }
    return true;
}

bool calls_build(const Graph *g, const Plan *p, int nr, CallList *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (p->aliases[i])
            continue;
        if (n->op == OP_CONCAT) {
            if (!concat_calls(g, p, i, out))
                goto oom;
            continue;
        }
        KernelCall c;
        const char *kernel = kernel_name(n->op);
        if (n->n_inputs > DNNK_MAX_IN || n->n_inputs + n->n_params + 1 > CALL_MAX_PTRS) {
            snprintf(err, errsz, "layer '%s': the cpu target takes at most %d operands", n->name,
                     DNNK_MAX_IN);
            calls_free(out);
            return false;
        }
        start_call(g, p, i, kernel, &c);
        if (n->op == OP_CONV)
            c.desc.i[CONV_NR] = nr;
        if (!kernel || !single_call(g, n, &c)) {
            snprintf(err, errsz, "layer '%s': the cpu target has no kernel for %s", n->name,
                     op_name(n->op));
            calls_free(out);
            return false;
        }
        int64_t macs = node_macs(g, n);
        c.work = macs ? macs : dnnk_count(&c.desc.out);
        if (n->op == OP_CONV)
            conv_epilogue(g, p, i, &c);
        if (!push(out, &c))
            goto oom;
    }
    if (output_copies(g, p, out))
        return true;
oom:
    snprintf(err, errsz, "out of memory");
    calls_free(out);
    return false;
}

void calls_free(CallList *c)
{
    free(c->calls);
    memset(c, 0, sizeof *c);
}
