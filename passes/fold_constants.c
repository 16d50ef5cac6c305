/* fold-constants: a layer whose operands all come from constant layers is
 * computed now, by the reference executor, and becomes a constant layer
 * holding its result. Nodes are visited in order, so a chain of constant
 * computations folds in one sweep. The constants it no longer reads are
 * left to eliminate-dead. */
#include <stdlib.h>

#include "pass.h"
#include "reference.h"

/* The values of tensor t if a constant layer with bound data computes it. */
static const void *constant_value(const Graph *g, int t)
{
    const Node *p = graph_producer(g, t);
    if (!p || p->op != OP_CONSTANT)
        return NULL;
    return g->tensors[p->params[0]].data;
}

static size_t output_bytes(const Graph *g, const Node *n)
{
    const Tensor *t = &g->tensors[n->output];
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

static bool foldable(const Graph *g, const Node *n)
{
    if (n->op == OP_CONSTANT || n->n_inputs == 0 || !node_weights_bound(g, n))
        return false;
    for (int k = 0; k < n->n_inputs; k++)
        if (!constant_value(g, n->inputs[k]))
            return false;
    /* The constant's value is the weight L.value: not if a layer has that name. */
    if (!pass_param_name_free(g, n, "value"))
        return false;
    return output_bytes(g, n) <= FOLD_CONSTANTS_MAX_BYTES; /* empty results fold too */
}

/* Turns node i into `constant` holding `values` (in its output's type, in
 * the graph's arena). */
static bool become_constant(Graph *g, int i, void *values, const PassOptions *o)
{
    Node *n = &g->nodes[i];
    const Tensor *out = &g->tensors[n->output];
    Attrs a;
    attrs_init_defaults(OP_CONSTANT, &a);
    a.constant.shape = out->shape;
    a.constant.dtype = (int)out->type.kind;
    graph_set_operands(g, i, NULL, 0);
    n->op = OP_CONSTANT;
    n->attr = a;
    n->ann = (Annotations){0};
    char err[512];
    if (!graph_update_node(g, i, err, sizeof err)) {
        diag_error(o->diag, g->nodes[i].loc, "fold-constants: %s", err);
        return false;
    }
    g->tensors[g->nodes[i].params[0]].data = values;
    g->tensors[g->nodes[i].params[0]].data_owned = true;
    return true;
}

/* Evaluates node i into storage of the graph's arena, which becomes the
 * constant's data; NULL if the executor cannot (out of memory). */
static void *evaluate(Graph *g, const Node *n)
{
    void *values = arena_alloc(&g->arena, output_bytes(g, n));
    const void *in_small[16];
    const void **in = n->n_inputs <= 16 ? in_small : malloc(sizeof(void *) * (size_t)n->n_inputs);
    if (!in)
        return NULL;
    for (int k = 0; k < n->n_inputs; k++)
        in[k] = constant_value(g, n->inputs[k]);
    char err[512];
    bool ok = reference_run_node(g, n, in, values, err, sizeof err);
    if (in != in_small)
        free(in);
    return ok ? values : NULL;
}

bool pass_fold_constants(Graph *g, const PassOptions *o, PassReport *r)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].removed || !foldable(g, &g->nodes[i]))
            continue;
        void *values = evaluate(g, &g->nodes[i]);
        if (!values)
            continue; /* out of memory: the layer simply runs later */
        if (!become_constant(g, i, values, o))
            return false;
        pass_count(r, "layers folded into constants", 1);
    }
    return true;
}
