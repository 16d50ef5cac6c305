/* fuse-epilogue: the work after a conv, fc or coded_conv that can happen
 * while its result is still in registers moves into the layer itself
 * (ops.h, Activation): out = act(sum + bias + residual). In the order the epilogue
 * applies them, while the layer is the only reader's only operand source:
 *   add of a per-channel constant     -> added to the bias
 *   add of a tensor of the same shape -> the residual operand
 *   relu, leaky_relu or clip          -> the activation
 * Nothing fuses through a tensor that another layer or a graph output also
 * reads: that value must still exist; nor where the fused layer could not
 * keep the layout written on it (layout_carries_over). */
#include <string.h>

#include "pass.h"

/* The layers whose epilogue takes what follows them, and where it is. */
static bool fuses(OpKind op) { return op == OP_CONV || op == OP_FC || op == OP_CODED_CONV; }

static Activation *activation_of(Node *n)
{
    switch (n->op) {
    case OP_CONV: return &n->attr.conv.act;
    case OP_CODED_CONV: return &n->attr.coded.conv.act;
    default: return &n->attr.fc.act;
    }
}

static bool *bias_flag(Node *n)
{
    switch (n->op) {
    case OP_CONV: return &n->attr.conv.bias;
    case OP_CODED_CONV: return &n->attr.coded.conv.bias;
    default: return &n->attr.fc.bias;
    }
}

/* The bias parameter: after the weights, or after coded_conv's codes and
 * their scales or codebook. */
static int bias_param(const Node *n) { return n->params[n->op == OP_CODED_CONV ? 2 : 1]; }

/* The values of tensor t if a constant layer computes it (NULL when its
 * weights are not bound), and whether one does. */
static bool constant_tensor(const Graph *g, int t, const float **values)
{
    const Node *p = graph_producer(g, t);
    if (!p || p->op != OP_CONSTANT || g->tensors[t].type.kind != ELEM_F32)
        return false;
    *values = g->tensors[p->params[0]].data;
    return true;
}

/* A constant of shape c broadcast to the output shape o varies along
 * dimension 1 only: one value per channel. */
static bool per_channel(const Shape *c, const Shape *o)
{
    Shape b;
    if (c->rank > o->rank || !shape_broadcast(c, o, &b) || !shape_equal(&b, o))
        return false;
    for (int i = 0; i < c->rank; i++) {
        int dim = o->rank - c->rank + i;
        if (dim != 1 && c->d[i] != 1)
            return false;
    }
    return true;
}

/* The operand of add node `a` other than tensor t, or -1. */
static int other_operand(const Node *a, int t)
{
    if (a->op != OP_ADD || a->n_inputs != 2 || a->inputs[0] == a->inputs[1])
        return -1;
    return a->inputs[0] == t ? a->inputs[1] : a->inputs[0];
}

static bool update(Graph *g, int i, const PassOptions *o)
{
    char err[512];
    if (graph_update_node(g, i, err, sizeof err))
        return true;
    diag_error(o->diag, g->nodes[i].loc, "fuse-epilogue: %s", err);
    return false;
}

/* add(layer, per-channel constant): the constant joins the bias. */
static int fuse_bias(Graph *g, int i, int reader, const PassOptions *o)
{
    Node *n = &g->nodes[i];
    int c = other_operand(&g->nodes[reader], n->output);
    const float *values;
    if (c < 0 || !constant_tensor(g, c, &values) ||
        !per_channel(&g->tensors[c].shape, &g->tensors[n->output].shape) ||
        !graph_can_forward(g, reader, n->output))
        return 0;
    bool had_bias = *bias_flag(n);
    const float *old = had_bias ? g->tensors[bias_param(n)].data : NULL;
    bool bound = node_weights_bound(g, n);
    if ((values != NULL) != bound)
        return 0; /* values fold only when both sides have them */
    if (!had_bias && !pass_param_name_free(g, n, "bias"))
        return 0; /* the bias it would get, L.bias, is the name of a layer */
    if (!had_bias) {
        *bias_flag(n) = true;
        if (!update(g, i, o))
            return -1;
        n = &g->nodes[i];
    }
    if (bound) {
        int64_t F = g->tensors[n->output].shape.d[1];
        bool scalar = shape_elems(&g->tensors[c].shape) == 1; /* else one value per channel */
        float *bias = graph_new_data(g, bias_param(n));
        for (int64_t f = 0; f < F; f++)
            bias[f] = (float)((old ? (double)old[f] : 0.0) + values[scalar ? 0 : f]);
    }
    graph_forward(g, reader, n->output);
    return 1;
}

/* add(layer, x) with x of the output's shape: x becomes the residual. */
static int fuse_residual(Graph *g, int i, int reader, const PassOptions *o)
{
    Node *n = &g->nodes[i];
    int x = other_operand(&g->nodes[reader], n->output);
    if (x < 0 || n->n_inputs != 1 || !shape_equal(&g->tensors[x].shape, &g->tensors[n->output].shape) ||
        g->tensors[x].type.kind != ELEM_F32 || !graph_can_forward(g, reader, n->output))
        return 0;
    int operands[2] = {n->inputs[0], x};
    graph_set_operands(g, i, operands, 2);
    if (!update(g, i, o))
        return -1;
    graph_forward(g, reader, g->nodes[i].output);
    return 1;
}

/* relu, leaky_relu or a float clip: the layer's activation. */
static int fuse_activation(Graph *g, int i, int reader, const PassOptions *o)
{
    const Node *a = &g->nodes[reader];
    Attrs defaults; /* the parameters the activation does not use keep their defaults */
    attrs_init_defaults(OP_CONV, &defaults);
    Activation act = defaults.conv.act;
    if (a->op == OP_RELU) {
        act.kind = ACT_RELU;
    } else if (a->op == OP_LEAKY_RELU) {
        act.kind = ACT_LEAKY_RELU;
        act.alpha = a->attr.alpha.alpha;
    } else if (a->op == OP_CLIP && g->tensors[a->output].type.kind == ELEM_F32) {
        act.kind = ACT_CLIP;
        act.min = a->attr.clip.min;
        act.max = a->attr.clip.max;
    } else {
        return 0;
    }
    if (!graph_can_forward(g, reader, g->nodes[i].output))
        return 0;
    *activation_of(&g->nodes[i]) = act;
    if (!update(g, i, o))
        return -1;
    graph_forward(g, reader, g->nodes[i].output);
    return 1;
}

/* Whether layer n can take over reader's output with the layouts written
 * on them (@layout, say by the user at -O0): the fused output keeps the
 * one either has, so two must agree, and a network output (always plain)
 * cannot take a blocked one from n. */
static bool layout_carries_over(const Graph *g, const Node *n, const Node *reader)
{
    if (n->ann.has_layout && reader->ann.has_layout)
        return n->ann.layout == reader->ann.layout;
    if (n->ann.has_layout)
        return n->ann.layout == LAYOUT_NCHW || !graph_is_output(g, reader->output);
    return true;
}

/* The reader's @layout, now on layer n, which computes its output. */
static void carry_layout(Node *n, bool has_layout, Layout layout)
{
    if (has_layout && !n->ann.has_layout) {
        n->ann.has_layout = true;
        n->ann.layout = layout;
    }
}

typedef int (*FuseFn)(Graph *g, int i, int reader, const PassOptions *o);

static const struct {
    FuseFn fuse;
    const char *what;
} steps[] = {
    {fuse_bias, "bias adds fused"},
    {fuse_residual, "residual adds fused"},
    {fuse_activation, "activations fused"},
};

/* Fuses what follows layer i, step by step; false after an error. */
static bool fuse_layer(Graph *g, int i, const PassOptions *o, PassReport *r)
{
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        int done;
        do {
            Node *n = &g->nodes[i];
            int reader = graph_sole_reader(g, n->output);
            if (reader < 0 || activation_of(n)->kind != ACT_NONE ||
                !layout_carries_over(g, n, &g->nodes[reader]))
                return true;
            bool had_layout = g->nodes[reader].ann.has_layout;
            Layout layout = g->nodes[reader].ann.layout;
            done = steps[s].fuse(g, i, reader, o);
            if (done < 0)
                return false;
            if (done)
                carry_layout(&g->nodes[i], had_layout, layout);
            pass_count(r, steps[s].what, done);
        } while (done && s == 0); /* several constant adds may follow each other */
    }
    return true;
}

bool pass_fuse_epilogue(Graph *g, const PassOptions *o, PassReport *r)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->removed && fuses(n->op) && !fuse_layer(g, i, o, r))
            return false;
    }
    return true;
}
