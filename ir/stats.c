#include "stats.h"

#include "checked.h"
#include "conv_algo.h"

/* Totals of counts that may saturate (conv_algo_multiplications) saturate too. */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return checked_add(a, b, &r) ? r : INT64_MAX;
}

/* A conv's algorithm as it runs: its @algo, with auto and one that cannot
 * compute the layer (a graph that has not been through select-algo) as the
 * direct sums, which is what runs them (runtime/reference/conv.c). */
static void count_conv(const Graph *g, const Node *n, LayerStats *s)
{
    const ConvAttrs *at = &n->attr.conv;
    ConvAlgo a = n->ann.algo;
    int tile = conv_algo_tile(a, n->ann.algo_tile, at);
    char why[8];
    bool tile_ok = !conv_algo_has_tile(a) || conv_algo_tile_valid(a, tile);
    if (a == ALGO_AUTO || !tile_ok || !conv_algo_applies(a, at, tile, why, sizeof why))
        a = ALGO_DIRECT, tile = 0;
    ConvMultiplications m = conv_algo_multiplications(
        at, &g->tensors[n->inputs[0]].shape, &g->tensors[n->output].shape, a, tile);
    s->algo = a;
    s->tile = tile;
    s->mults = m.products;
    s->transform_mults = m.transforms;
}

LayerStats layer_stats(const Graph *g, const Node *n)
{
    LayerStats s = {0};
    s.weights = node_weights(g, n);
    for (int i = 0; i < n->n_params; i++) {
        const Tensor *t = &g->tensors[n->params[i]];
        s.weight_bits += shape_elems(&t->shape) * elem_type_bits(t->type);
    }
    s.macs = node_macs(g, n);
    for (int i = 0; i < n->n_inputs; i++)
        s.in_act += shape_elems(&g->tensors[n->inputs[i]].shape);
    s.out_act = shape_elems(&g->tensors[n->output].shape);
    s.bound = node_weights_bound(g, n);
    if (s.bound) {
        s.nz_weights = node_nz_weights(g, n);
        s.nz_macs = node_nz_macs(g, n);
    }
    s.mults = s.macs;
    if (n->op == OP_CONV)
        count_conv(g, n, &s);
    return s;
}

void stats_accumulate(LayerStats *total, const LayerStats *s)
{
    total->weights += s->weights;
    total->weight_bits += s->weight_bits;
    total->macs += s->macs;
    total->in_act += s->in_act;
    total->out_act += s->out_act;
    total->nz_weights += s->nz_weights;
    total->nz_macs += s->nz_macs;
    total->bound &= s->bound;
    total->mults = sat_add(total->mults, s->mults);
    total->transform_mults = sat_add(total->transform_mults, s->transform_mults);
}

double stats_saving(const LayerStats *s)
{
    return s->mults ? (double)s->macs / (double)s->mults : 0;
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
