#include "stats.h"

LayerStats layer_stats(const Graph *g, const Node *n)
{
    LayerStats s = {0};
    s.weights = node_weights(g, n);
    s.macs = node_macs(g, n);
    for (int i = 0; i < n->n_inputs; i++)
        s.in_act += shape_elems(&g->tensors[n->inputs[i]].shape);
    s.out_act = shape_elems(&g->tensors[n->output].shape);
    s.bound = node_weights_bound(g, n);
    if (s.bound) {
        s.nz_weights = node_nz_weights(g, n);
        s.nz_macs = node_nz_macs(g, n);
    }
    return s;
}

void stats_accumulate(LayerStats *total, const LayerStats *s)
{
    total->weights += s->weights;
    total->macs += s->macs;
    total->in_act += s->in_act;
    total->out_act += s->out_act;
    total->nz_weights += s->nz_weights;
    total->nz_macs += s->nz_macs;
    total->bound &= s->bound;
}

LayerStats graph_stats(const Graph *g)
{
    LayerStats total = {.bound = true};
    for (int i = 0; i < g->n_nodes; i++) {
        LayerStats s = layer_stats(g, &g->nodes[i]);
        stats_accumulate(&total, &s);
    }
    return total;
}
