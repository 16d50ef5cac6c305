/* fold-batchnorm (survey III-A3). At inference a batch norm is an affine
 * map per channel c:
 *   y = (x - mean) / sqrt(var + eps) * gamma + beta = x * s[c] + t[c],
 *   s = gamma / sqrt(var + eps),  t = beta - mean * s.
 * After a conv or fc that only it reads, it folds into that layer: each
 * output channel's weights are scaled, w' = w * s, and the bias becomes
 * b' = b * s + t (a layer without a bias gets one). Every other batch norm
 * becomes scale_shift(s, t). Both are exact up to float rounding of the new
 * weights. A graph without bound weights is rewritten all the same; its new
 * weights stay unbound. */
#include <math.h>

#include "pass.h"

typedef struct Affine {
    double *s, *t;
} Affine;

/* s and t of batch norm bn, or both NULL if its weights are not bound.
 * In the graph's arena, like everything a pass allocates (oom.h). */
static Affine affine_of(Graph *g, const Node *bn)
{
    Affine a = {NULL, NULL};
    if (!node_weights_bound(g, bn))
        return a;
    const float *gamma = g->tensors[bn->params[0]].data, *beta = g->tensors[bn->params[1]].data;
    const float *mean = g->tensors[bn->params[2]].data, *var = g->tensors[bn->params[3]].data;
    int64_t C = g->tensors[bn->params[0]].shape.d[0];
    a.s = arena_array(&g->arena, (size_t)C, sizeof(double));
    a.t = arena_array(&g->arena, (size_t)C, sizeof(double));
    for (int64_t c = 0; c < C; c++) {
        a.s[c] = gamma[c] / sqrt((double)var[c] + bn->attr.batchnorm.eps);
        a.t[c] = beta[c] - mean[c] * a.s[c];
    }
    return a;
}

/* The conv or fc that batch norm `bn` can fold into, or -1. */
static int fold_target(const Graph *g, int bn)
{
    const Node *n = &g->nodes[bn];
    const Node *p = graph_producer(g, n->inputs[0]);
    if (!p || (p->op != OP_CONV && p->op != OP_FC) || p->removed)
        return -1;
    int pi = g->tensors[n->inputs[0]].producer;
    const Activation *act = p->op == OP_CONV ? &p->attr.conv.act : &p->attr.fc.act;
    /* Through an activation or a residual the map is no longer affine in
     * the layer's weights alone. */
    if (graph_sole_reader(g, n->inputs[0]) != bn || p->n_inputs != 1 || act->kind != ACT_NONE)
        return -1;
    /* Values are folded only when both sides have them. */
    if (node_weights_bound(g, n) != node_weights_bound(g, p))
        return -1;
    /* A layer without a bias gets one, L.bias: not if a layer has that name. */
    bool has_bias = p->op == OP_CONV ? p->attr.conv.bias : p->attr.fc.bias;
    if (!has_bias && !pass_param_name_free(g, p, "bias"))
        return -1;
    return graph_can_forward(g, bn, p->output) ? pi : -1;
}

static bool *bias_flag(Node *n) { return n->op == OP_CONV ? &n->attr.conv.bias : &n->attr.fc.bias; }

/* w' = w * s per output channel, b' = b * s + t. */
static bool fold_into(Graph *g, int pi, const Affine *a, const PassOptions *o)
{
    Node *p = &g->nodes[pi];
    int w = p->params[0];
    int64_t F = g->tensors[w].shape.d[0], row = shape_elems(&g->tensors[w].shape) / F;
    if (a->s) {
        float *weights = graph_writable_data(g, w); /* in place unless lent */
        for (int64_t f = 0; f < F; f++)
            for (int64_t k = 0; k < row; k++)
                weights[f * row + k] = (float)(weights[f * row + k] * a->s[f]);
        graph_release_data(g, w);
    }
    bool had_bias = *bias_flag(p);
    if (!had_bias) {
        *bias_flag(p) = true;
        char err[512];
        if (!graph_update_node(g, pi, err, sizeof err)) {
            diag_error(o->diag, p->loc, "fold-batchnorm: %s", err);
            return false;
        }
        p = &g->nodes[pi];
    }
    if (a->s) {
        /* A new bias is unbound until now: zero, then folded like an old one. */
        float *bias = had_bias ? graph_writable_data(g, p->params[1]) : graph_new_data(g, p->params[1]);
        for (int64_t f = 0; f < F; f++)
            bias[f] = (float)(bias[f] * a->s[f] + a->t[f]);
    }
    return true;
}

/* The batch norm becomes scale_shift(s, t) in place. */
static bool become_scale_shift(Graph *g, int i, const Affine *a, const PassOptions *o)
{
    Node *n = &g->nodes[i];
    int64_t C = g->tensors[n->params[0]].shape.d[0];
    n->op = OP_SCALE_SHIFT;
    attrs_init_defaults(OP_SCALE_SHIFT, &n->attr);
    char err[512];
    if (!graph_update_node(g, i, err, sizeof err)) {
        diag_error(o->diag, n->loc, "fold-batchnorm: %s", err);
        return false;
    }
    if (a->s) {
        float *scale = graph_new_data(g, g->nodes[i].params[0]);
        float *shift = graph_new_data(g, g->nodes[i].params[1]);
        for (int64_t c = 0; c < C; c++) {
            scale[c] = (float)a->s[c];
            shift[c] = (float)a->t[c];
        }
    }
    return true;
}

static bool rewrite(Graph *g, int i, const PassOptions *o, PassReport *r)
{
    Affine a = affine_of(g, &g->nodes[i]);
    int pi = fold_target(g, i);
    bool ok;
    if (pi >= 0) {
        ok = fold_into(g, pi, &a, o) && graph_forward(g, i, g->nodes[pi].output);
        pass_count(r, g->nodes[pi].op == OP_CONV ? "batch norms folded into conv"
                                                 : "batch norms folded into fc", ok);
    } else if (pass_param_name_free(g, &g->nodes[i], "scale") &&
               pass_param_name_free(g, &g->nodes[i], "shift")) {
        ok = become_scale_shift(g, i, &a, o);
        pass_count(r, "batch norms turned into scale_shift", ok);
    } else {
        ok = true; /* its weights would be named like layers: it stays a batch norm */
    }
    return ok;
}

bool pass_fold_batchnorm(Graph *g, const PassOptions *o, PassReport *r)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].removed && g->nodes[i].op == OP_BATCHNORM && !rewrite(g, i, o, r))
            return false;
    return true;
}
