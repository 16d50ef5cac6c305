/* eliminate-identity: removes layers whose output equals their operand
 * (dropout at inference, a reshape or flatten to the same shape, a slice of
 * a whole axis, padding by nothing, the identity permutation, a concat or
 * max/min of one operand), and makes a view of a view read the original
 * tensor with an explicit shape, so that the inner view can die. */
#include <string.h>

#include "pass.h"

static bool is_view(OpKind op) { return op == OP_RESHAPE || op == OP_FLATTEN; }

static bool same_shape(const Graph *g, const Node *n)
{
    return shape_equal(&g->tensors[n->inputs[0]].shape, &g->tensors[n->output].shape);
}

static bool identity_permutation(const TransposeAttrs *a, int rank)
{
    if (a->perm.n == 0)
        return rank <= 1; /* an empty perm reverses the dimensions */
    for (int i = 0; i < a->perm.n; i++)
        if (a->perm.v[i] != i)
            return false;
    return true;
}

static bool pads_nothing(const PadAttrs *a)
{
    for (int i = 0; i < a->pads.n; i++)
        if (a->pads.v[i] != 0)
            return false;
    return true;
}

/* The layer computes exactly its first operand. */
static bool is_identity(const Graph *g, const Node *n)
{
    switch (n->op) {
    case OP_DROPOUT:
        return true;
    case OP_RESHAPE:
    case OP_FLATTEN:
    case OP_SLICE: /* a slice of the whole axis keeps the shape */
        return same_shape(g, n);
    case OP_PAD:
        return pads_nothing(&n->attr.pad);
    case OP_TRANSPOSE:
        return identity_permutation(&n->attr.transpose, g->tensors[n->output].shape.rank);
    case OP_CONCAT:
    case OP_MAX:
    case OP_MIN:
        return n->n_inputs == 1;
    default:
        return false;
    }
}

/* reshape(reshape(x)) -> reshape(x) with the outer view's shape written
 * out, since 0 and -1 in it referred to the inner view's shape. 1 if it
 * did, 0 if n does not read a view, -1 after an error. */
static int shorten_view(Graph *g, int i, const PassOptions *o)
{
    Node *n = &g->nodes[i];
    const Node *inner = graph_producer(g, n->inputs[0]);
    if (!inner || !is_view(inner->op))
        return 0;
    int source = inner->inputs[0];
    Attrs a;
    attrs_init_defaults(OP_RESHAPE, &a);
    a.reshape.shape = g->tensors[n->output].shape;
    n->op = OP_RESHAPE;
    n->attr = a;
    graph_set_operand(g, i, 0, source);
    char err[512];
    if (!graph_update_node(g, i, err, sizeof err)) {
        diag_error(o->diag, n->loc, "eliminate-identity: %s", err);
        return -1;
    }
    return 1;
}

bool pass_eliminate_identity(Graph *g, const PassOptions *o, PassReport *r)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->removed || n->n_inputs == 0)
            continue;
        if (is_identity(g, n)) {
            if (graph_forward(g, i, n->inputs[0]))
                pass_count(r, "identity layers removed", 1);
            continue;
        }
        int shortened = is_view(n->op) ? shorten_view(g, i, o) : 0;
        if (shortened < 0)
            return false;
        pass_count(r, "views of views shortened", shortened);
    }
    return true;
}
