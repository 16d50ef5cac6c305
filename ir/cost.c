/* Weights and multiply-accumulates per node, as the survey counts them
 * (Table II: CONV and FC layers; Table IV: non-zero weights and MACs).
 * Pooling, activations and normalisation are not MACs there, so they count 0. */
#include "graph.h"

typedef int64_t (*MacsFn)(const Graph *g, const Node *n, bool nonzero_only);

/* Non-zero weights of output channel f (the first weight dimension). */
static int64_t nonzero_in_row(const Tensor *w, int64_t f)
{
    int64_t row = shape_elems(&w->shape) / w->shape.d[0], nz = 0;
    for (int64_t i = f * row; i < (f + 1) * row; i++)
        nz += elem_nonzero(w->type.kind, w->data, i);
    return nz;
}

/* Each output position of channel f costs one MAC per weight of f's filter;
 * skipping zero weights leaves the non-zero ones. */
static int64_t macs_per_filter(const Graph *g, const Node *n, int64_t positions, bool nonzero_only)
{
    const Tensor *w = &g->tensors[n->params[0]];
    if (!nonzero_only || !w->data)
        return shape_elems(&w->shape) * positions;
    int64_t total = 0;
    for (int64_t f = 0; f < w->shape.d[0]; f++)
        total += nonzero_in_row(w, f) * positions;
    return total;
}

static int64_t macs_conv(const Graph *g, const Node *n, bool nonzero_only)
{
    const Shape *o = &g->tensors[n->output].shape;
    return macs_per_filter(g, n, o->d[0] * o->d[2] * o->d[3], nonzero_only);
}

static int64_t macs_fc(const Graph *g, const Node *n, bool nonzero_only)
{
    return macs_per_filter(g, n, g->tensors[n->output].shape.d[0], nonzero_only);
}

/* [..., M, K] x [..., K, N]: M * N * K per batch element; weights are not
 * params here (both operands are tensors), so zero skipping does not apply. */
static int64_t macs_matmul(const Graph *g, const Node *n, bool nonzero_only)
{
    (void)nonzero_only;
    const Shape *a = &g->tensors[n->inputs[0]].shape, *o = &g->tensors[n->output].shape;
    return shape_elems(o) * a->d[a->rank - 1];
}

static int64_t macs_none(const Graph *g, const Node *n, bool nonzero_only)
{
    (void)g, (void)n, (void)nonzero_only;
    return 0;
}

static const MacsFn macs_fns[] = {
#define OP(e, s, at, lo, hi, ty, inf, mac, ref) mac,
#include "ops.def"
#undef OP
};

int64_t node_macs(const Graph *g, const Node *n) { return macs_fns[n->op](g, n, false); }
int64_t node_nz_macs(const Graph *g, const Node *n) { return macs_fns[n->op](g, n, true); }

int64_t node_weights(const Graph *g, const Node *n)
{
    int64_t total = 0;
    for (int i = 0; i < n->n_params; i++)
        total += shape_elems(&g->tensors[n->params[i]].shape);
    return total;
}

bool node_weights_bound(const Graph *g, const Node *n)
{
    for (int i = 0; i < n->n_params; i++)
        if (!g->tensors[n->params[i]].data)
            return false;
    return true;
}

int64_t node_nz_weights(const Graph *g, const Node *n)
{
    int64_t total = 0;
    for (int i = 0; i < n->n_params; i++) {
        const Tensor *t = &g->tensors[n->params[i]];
        int64_t count = shape_elems(&t->shape);
        for (int64_t k = 0; t->data && k < count; k++)
            total += elem_nonzero(t->type.kind, t->data, k);
    }
    return total;
}
