/* Structured pruning (survey VII-B1): whole filters of conv and fc layers
 * are removed, and the graph shrinks with them. A conv that keeps k of its
 * K filters computes k output channels; every layer that carries those
 * channels on (activations, batch norms, pooling, flatten, depthwise convs,
 * concats along the channels) loses the others, and the conv or fc layers that read them lose the
 * matching input channels (an fc after a flatten loses the H x W columns of
 * each removed channel). The kept filters are those of largest L1 norm, as
 * Li et al. ("Pruning Filters for Efficient ConvNets", ICLR 2017) rank
 * them: round(D x K) of each layer's K filters, at least one, ties kept in
 * order. Norms of different layers do not compare, so the density holds
 * layer by layer.
 *
 * A layer whose channels cannot all be followed is left whole, and named
 * with the reason when --prune-layers asks for it: its output reaches an
 * add (a residual connection needs the same channels on both sides), a
 * reshape, a slice, a softmax or another layer that mixes or moves
 * channels, or is a network output. Biases of removed filters go with them: the next layer
 * simply no longer reads those channels, so the pruned network computes
 * exactly what the unpruned one computes when those channels' weights in
 * the reading layers are zero (tests/test_prune.c checks that). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "prune.h"

/* The channels of an activation tensor that remain, along dimension 1.
 * After a flatten a channel is `block` consecutive columns (its H x W). */
typedef struct ChannelKeep {
    int64_t *kept; /* ascending channel indices */
    int64_t count;
    int64_t block;
    int64_t of; /* the channels there were */
} ChannelKeep;

typedef struct FilterPruner {
    Graph *g;
    const PassOptions *o;
    ChannelKeep **keep; /* by tensor id; NULL: every channel remains */
    bool *pruned;       /* by node: its own filters are pruned */
} FilterPruner;

/* ---- which layers can lose filters ---- */

static bool elementwise_on_channels(OpKind op)
{
    switch (op) {
    case OP_RELU: case OP_LEAKY_RELU: case OP_ELU: case OP_SIGMOID: case OP_TANH:
    case OP_HARD_SIGMOID: case OP_SELU: case OP_CLIP: case OP_DROPOUT:
    case OP_BATCHNORM: case OP_SCALE_SHIFT:
        return true;
    default:
        return false;
    }
}

static bool pools_channels_apart(OpKind op)
{
    return op == OP_MAXPOOL || op == OP_AVGPOOL || op == OP_GLOBAL_MAXPOOL || op == OP_GLOBAL_AVGPOOL;
}

/* A depthwise conv with one filter per channel: it carries channels on. */
static bool depthwise_per_channel(const Graph *g, const Node *n)
{
    const ConvAttrs *a = &n->attr.conv;
    int64_t c = g->tensors[n->inputs[0]].shape.d[1];
    return n->op == OP_CONV && a->groups > 1 && a->groups == c && a->filters == c;
}

static bool prelu_per_channel_or_shared(const Graph *g, const Node *n)
{
    const Shape *s = &n->attr.prelu.slope_shape;
    (void)g;
    return s->rank == 0 || shape_elems(s) == 1;
}

/* A concat of 4-d tensors along their channels: each operand's channels
 * keep their place after those of the operands before it. */
static bool joins_channels(const Graph *g, const Node *n)
{
    const Shape *s = &g->tensors[n->output].shape;
    int64_t axis = n->attr.axis.axis < 0 ? n->attr.axis.axis + s->rank : n->attr.axis.axis;
    return n->op == OP_CONCAT && s->rank == 4 && axis == 1;
}

/* Layer n reads the pruned channels and carries them on to its output. */
static bool carries_channels(const Graph *g, const Node *n)
{
    if (elementwise_on_channels(n->op) || pools_channels_apart(n->op) || joins_channels(g, n))
        return true;
    if (n->op == OP_PRELU)
        return prelu_per_channel_or_shared(g, n);
    if (n->op == OP_FLATTEN)
        return n->attr.axis.axis == 1;
    return depthwise_per_channel(g, n);
}

/* Layer n reads the pruned channels as its input and loses them as input
 * channels of its weights: an fc, or a conv over all channels. */
static bool absorbs_channels(const Node *n, int slot)
{
    if (slot != 0)
        return false;
    return n->op == OP_FC || (n->op == OP_CONV && n->attr.conv.groups == 1);
}

/* Whether every layer that tensor t reaches can follow its channels; if
 * not, why (naming the layer that cannot). */
static bool channels_followable(const Graph *g, int t, char *why, size_t whysz)
{
    if (graph_is_output(g, t)) {
        snprintf(why, whysz, "'%s' is a network output", g->tensors[t].name);
        return false;
    }
    const Tensor *x = &g->tensors[t];
    for (int u = 0; u < x->n_users; u++) {
        const Node *r = &g->nodes[x->users[u]];
        int slot = 0;
        while (slot < r->n_inputs && r->inputs[slot] != t)
            slot++;
        if (absorbs_channels(r, slot))
            continue;
        if ((joins_channels(g, r) || (slot == 0 && r->n_inputs == 1)) && carries_channels(g, r)) {
            if (!channels_followable(g, r->output, why, whysz))
                return false;
            continue;
        }
        snprintf(why, whysz, "its channels reach '%s' (%s), which needs all of them", r->name,
                 op_name(r->op));
        return false;
    }
    return true;
}

static bool has_filters(const Graph *g, const Node *n)
{
    if (n->removed || (n->op != OP_CONV && n->op != OP_FC))
        return false;
    if (n->op == OP_CONV && n->attr.conv.groups != 1)
        return false;
    const Tensor *w = &g->tensors[n->params[0]];
    return w->type.kind == ELEM_F32 && w->data && n->n_inputs == 1;
}

/* ---- choosing the filters ---- */

typedef struct FilterNorm {
    double l1;
    int64_t index;
} FilterNorm;

static int by_norm_desc(const void *a, const void *b)
{
    const FilterNorm *x = a, *y = b;
    if (x->l1 != y->l1)
        return x->l1 < y->l1 ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The round(density x K) filters of largest L1 norm (at least one), in
 * ascending order. */
static ChannelKeep *keep_filters(Graph *g, const Node *n, double density)
{
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t filters = w->shape.d[0], per = shape_elems(&w->shape) / filters;
    const float *v = w->data;
    FilterNorm *norms = arena_array(&g->arena, (size_t)filters, sizeof *norms);
    for (int64_t f = 0; f < filters; f++) {
        double s = 0;
        for (int64_t i = 0; i < per; i++)
            s += fabs((double)v[f * per + i]);
        norms[f] = (FilterNorm){s, f};
    }
    qsort(norms, (size_t)filters, sizeof *norms, by_norm_desc);
    ChannelKeep *k = arena_alloc(&g->arena, sizeof *k);
    k->count = llround(density * (double)filters);
    k->count = k->count < 1 ? 1 : k->count;
    k->block = 1;
    k->of = filters;
    k->kept = arena_array(&g->arena, (size_t)k->count, sizeof *k->kept);
    for (int64_t i = 0; i < k->count; i++)
        k->kept[i] = norms[i].index;
    qsort(k->kept, (size_t)k->count, sizeof *k->kept, by_index);
    return k;
}

/* ---- shrinking the layers ---- */

/* The same channels of a tensor of shape s seen flattened: each one the
 * product of s's dimensions past 1 wider. */
static ChannelKeep *flattened(Graph *g, const ChannelKeep *in, const Shape *s)
{
    ChannelKeep *k = arena_alloc(&g->arena, sizeof *k);
    *k = *in;
    for (int i = 2; i < s->rank; i++)
        k->block *= s->d[i];
    return k;
}

/* The keep of n's output given its input's: the same channels, wider
 * after a flatten. */
static ChannelKeep *carried_keep(Graph *g, const Node *n, ChannelKeep *in)
{
    return n->op == OP_FLATTEN ? flattened(g, in, &g->tensors[n->inputs[0]].shape) : in;
}

/* The input channels an absorbing layer loses, as columns of its weight:
 * an fc reading a 4-d tensor flattens it. */
static const ChannelKeep *columns_of(Graph *g, const Node *n, ChannelKeep *in)
{
    if (!in || n->op != OP_FC)
        return in;
    return flattened(g, in, &g->tensors[n->inputs[0]].shape);
}

/* The channels of a concat's output that remain: each operand's kept ones
 * (all of an operand nothing pruned), after the channels of the operands
 * before it; NULL when no operand lost any. */
static ChannelKeep *joined_keep(FilterPruner *p, const Node *n)
{
    Graph *g = p->g;
    int64_t count = 0, total = 0;
    bool any = false;
    for (int j = 0; j < n->n_inputs; j++) {
        const ChannelKeep *k = p->keep[n->inputs[j]];
        any = any || k;
        count += k ? k->count : g->tensors[n->inputs[j]].shape.d[1]; /* unpruned: as it was */
    }
    if (!any)
        return NULL;
    ChannelKeep *out = arena_alloc(&g->arena, sizeof *out);
    *out = (ChannelKeep){arena_array(&g->arena, (size_t)count, sizeof *out->kept), 0, 1, 0};
    for (int j = 0; j < n->n_inputs; j++) {
        const ChannelKeep *k = p->keep[n->inputs[j]];
        int64_t c = k ? k->of : g->tensors[n->inputs[j]].shape.d[1];
        for (int64_t i = 0; i < (k ? k->count : c); i++)
            out->kept[out->count++] = total + (k ? k->kept[i] : i);
        total += c;
    }
    out->of = total;
    return out;
}

/* Copies the kept part of `old` (shape os) into `fresh` (shape ns): rows of
 * dimension 0 by `rows`, columns of dimension 1 by `cols` (each kept
 * channel `cols->block` columns); NULL keeps all. */
static void copy_kept(const float *old, const Shape *os, float *fresh, const Shape *ns,
                      const ChannelKeep *rows, const ChannelKeep *cols)
{
    int64_t inner = 1;
    for (int i = 2; i < os->rank; i++)
        inner *= os->d[i];
    int64_t old_cols = os->rank > 1 ? os->d[1] : 1, new_cols = ns->rank > 1 ? ns->d[1] : 1;
    int64_t col_runs = cols ? cols->count : 1, run = cols ? cols->block * inner : old_cols * inner;
    for (int64_t r = 0; r < ns->d[0]; r++) {
        const float *src = old + (rows ? rows->kept[r] : r) * old_cols * inner;
        float *dst = fresh + r * new_cols * inner;
        for (int64_t c = 0; c < col_runs; c++)
            memcpy(dst + c * run, src + (cols ? cols->kept[c] * run : 0), (size_t)run * sizeof *dst);
    }
}

static int old_param(const Graph *g, const int *old, int n_old, const char *name)
{
    const char *suffix = strrchr(name, '.');
    for (int i = 0; i < n_old; i++) {
        const char *s = strrchr(g->tensors[old[i]].name, '.');
        if (s && suffix && strcmp(s, suffix) == 0)
            return old[i];
    }
    return -1;
}

/* Fills the parameters graph_resize_node re-created for node i from the
 * ones it had: the weight loses rows (filters) and columns (input
 * channels), every other parameter only rows. */
static void refill_params(FilterPruner *p, int i, const int *old, int n_old, const ChannelKeep *rows,
                          const ChannelKeep *cols)
{
    Graph *g = p->g;
    for (int k = 0; k < g->nodes[i].n_params; k++) {
        int t = g->nodes[i].params[k], was = old_param(g, old, n_old, g->tensors[t].name);
        if (g->tensors[t].data || was < 0 || !g->tensors[was].data)
            continue;
        bool weight = k == 0 && (g->nodes[i].op == OP_CONV || g->nodes[i].op == OP_FC);
        const Shape os = g->tensors[was].shape;
        float *fresh = graph_new_data(g, t);
        copy_kept(g->tensors[was].data, &os, fresh, &g->tensors[t].shape, rows, weight ? cols : NULL);
    }
}

static void set_filters(Node *n, int64_t count)
{
    if (n->op == OP_FC) {
        n->attr.fc.units = count;
        return;
    }
    n->attr.conv.filters = count;
    if (n->attr.conv.groups > 1)
        n->attr.conv.groups = count;
}

/* Resizes node i after its input lost channels and/or its filters were
 * chosen; false (reported) if its shape rule refuses, which would be this
 * pass's fault. */
static bool shrink_layer(FilterPruner *p, int i)
{
    Graph *g = p->g;
    Node *n = &g->nodes[i];
    ChannelKeep *in = joins_channels(g, n) ? joined_keep(p, n) : n->n_inputs ? p->keep[n->inputs[0]] : NULL;
    ChannelKeep *own = p->keep[n->output];
    if (!in && !p->pruned[i])
        return true;
    bool carries = in && !absorbs_channels(n, 0);
    if (carries) {
        own = carried_keep(g, n, in);
        p->keep[n->output] = own;
    }
    if (p->pruned[i] || (carries && n->op == OP_CONV))
        set_filters(n, own->count);
    int old[NODE_MAX_PARAMS], n_old = n->n_params;
    memcpy(old, n->params, sizeof old);
    char err[512];
    if (!graph_resize_node(g, i, err, sizeof err)) {
        diag_error(p->o->diag, n->loc, "structured pruning of layer '%s': %s", n->name, err);
        return false;
    }
    refill_params(p, i, old, n_old, own, carries ? NULL : columns_of(g, &g->nodes[i], in));
    return true;
}

/* ---- the pass ---- */

/* Whether layer n is to be pruned: every layer that has filters, or the
 * ones --prune-layers names. */
static bool asked_for(const PruneOptions *po, const Node *n)
{
    return !po->layers || prune_layer_listed(po->layers, n->name);
}

static bool choose_layers(FilterPruner *p, int64_t *chosen)
{
    Graph *g = p->g;
    const PruneOptions *po = p->o->prune;
    char why[512];
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!has_filters(g, n) || !asked_for(po, n))
            continue;
        if (!channels_followable(g, n->output, why, sizeof why)) {
            if (po->layers) {
                diag_error(p->o->diag, n->loc, "layer '%s' cannot lose whole filters: %s", n->name, why);
                return false;
            }
            continue;
        }
        p->pruned[i] = true;
        p->keep[n->output] = keep_filters(g, n, po->density);
        ++*chosen;
    }
    return true;
}

bool prune_filters(Graph *g, const PassOptions *o, PassReport *r)
{
    FilterPruner p = {g, o, arena_array(&g->arena, (size_t)g->n_tensors, sizeof *p.keep),
                      arena_array(&g->arena, (size_t)g->n_nodes, sizeof *p.pruned)};
    int64_t chosen = 0, before = 0, after = 0;
    if (!choose_layers(&p, &chosen))
        return false;
    if (!chosen) {
        diag_error(o->diag, SRCLOC_NONE, "structured pruning: no conv or fc layer can lose whole filters "
                                         "(every one feeds a layer that needs all its channels, or is an output)");
        return false;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (p.pruned[i])
            before += g->tensors[g->nodes[i].params[0]].shape.d[0];
        if (!shrink_layer(&p, i))
            return false;
        if (p.pruned[i])
            after += g->tensors[g->nodes[i].params[0]].shape.d[0];
    }
    pass_count(r, "layers pruned structurally", chosen);
    pass_count(r, "filters removed", before - after);
    return true;
}
