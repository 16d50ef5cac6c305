/* Mapping a whole network: every CONV and FC layer, under the dataflows the
 * options ask for, each on the machine variant that dataflow runs on. */
#include <stdlib.h>
#include <string.h>

#include "dataflow.h"
#include "map.h"
#include "sparsity.h"

/* The tensor a layer's output is written to DRAM as: after its ReLU
 * (Eyeriss applies ReLU before compressing the output), whether the ReLU
 * is fused into the layer or follows it as a layer of its own. */
static int written_output(const Graph *g, const Node *n)
{
    if (sparsity_rectifies(g, n))
        return n->output;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *c = &g->nodes[i];
        bool activation = c->op == OP_RELU || c->op == OP_CLIP;
        if (activation && sparsity_rectifies(g, c) && c->n_inputs == 1 && c->inputs[0] == n->output)
            return c->output;
    }
    return n->output;
}

/* The share of a bound weight tensor's values that are zero (0 unbound). */
static double zero_share(const Tensor *w)
{
    int64_t n = shape_elems(&w->shape), zeros = 0;
    for (int64_t i = 0; w->data && i < n; i++)
        zeros += !elem_nonzero(w->type.kind, w->data, i);
    return n > 0 ? (double)zeros / (double)n : 0;
}

/* Measured RLC bits hold for values of the tensor's own width; a layer
 * costed at another (--float-as word) models them from the zeros instead. */
static double rlc_bits_at(const Graph *g, int tensor, const ActStats *s, int costed_bits)
{
    return elem_type_bits(g->tensors[tensor].type) == costed_bits ? s->rlc_bits : 0;
}

static void set_sparsity(const Graph *g, const Node *n, const ActStats *stats, const SpatialArch *a,
                         MapLayer *l)
{
    int out_tensor = written_output(g, n);
    const ActStats *in = &stats[n->inputs[0]], *out = &stats[out_tensor];
    l->ifmap_zero = in->zero;
    l->ifmap_rlc_bits = rlc_bits_at(g, n->inputs[0], in, map_value_bits(a, l, DATA_IFMAP));
    l->ofmap_zero = out->zero;
    l->ofmap_rlc_bits = rlc_bits_at(g, out_tensor, out, map_output_bits(a, l));
    l->filter_zero = n->n_params ? zero_share(&g->tensors[n->params[0]]) : 0;
}

static int count_layers(const Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += map_is_layer(&g->nodes[i]);
    return n;
}

static void map_one(const ArchSet *arch, Dataflow forced, LayerMap *lm)
{
    lm->chosen = DATAFLOW_AUTO;
    for (int k = 0; k < dataflow_count; k++) {
        Dataflow d = dataflow_list[k];
        if (forced != DATAFLOW_AUTO && d != forced)
            continue;
        lm->tried[d] = true;
        lm->fits[d] = map_search(arch_for(arch, d), &lm->layer, d, &lm->choice[d], lm->why[d],
                                 sizeof lm->why[d]);
        if (lm->fits[d] && (lm->chosen == DATAFLOW_AUTO ||
                            lm->choice[d].cost.energy_total <
                                lm->choice[lm->chosen].cost.energy_total))
            lm->chosen = d;
    }
}

/* The layer carries the mapping to use: evaluate it, search nothing. */
static void evaluate_recorded(const ArchSet *arch, const Node *n, LayerMap *lm)
{
    Dataflow d = n->ann.dataflow;
    MapChoice *mc = &lm->choice[d];
    lm->recorded = lm->tried[d] = true;
    lm->fits[d] = mapping_from_ann(&lm->layer, d, &n->ann.mapping, &mc->mapping, lm->why[d],
                                   sizeof lm->why[d]) &&
                  map_evaluate(arch_for(arch, d), &lm->layer, &mc->mapping, &mc->cost, lm->why[d],
                               sizeof lm->why[d]);
    mc->evaluated = 1;
    lm->chosen = lm->fits[d] ? d : DATAFLOW_AUTO;
}

bool map_graph(const Graph *g, const ArchSet *arch, const MapOptions *o, GraphMap *out)
{
    out->n = 0;
    out->layers = calloc((size_t)count_layers(g) + 1, sizeof *out->layers);
    ActStats *assumed = calloc((size_t)g->n_tensors + 1, sizeof *assumed);
    if (!out->layers || !assumed) {
        free(assumed);
        return false;
    }
    assume_activations(g, o->relu_zero, assumed);
    const ActStats *stats = o->measured ? o->measured : assumed;
    int total = count_layers(g);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        LayerMap *lm = &out->layers[out->n];
        if (!map_layer_from_node(g, n, o->batch, &lm->layer))
            continue;
        lm->node = i;
        if (o->float_as_word && lm->layer.precision.is_float && n->op != OP_CODED_CONV)
            memset(&lm->layer.precision, 0, sizeof lm->layer.precision);
        set_sparsity(g, n, stats, &arch->base, &lm->layer);
        Dataflow forced = o->dataflow != DATAFLOW_AUTO ? o->dataflow : n->ann.dataflow;
        if (n->ann.mapping.present && forced == n->ann.dataflow)
            evaluate_recorded(arch, n, lm);
        else
            map_one(arch, forced, lm);
        out->n++;
        if (o->progress)
            o->progress(o->progress_ctx, out->n, total);
    }
    free(assumed);
    return true;
}

void graph_map_free(GraphMap *m)
{
    free(m->layers);
    m->layers = NULL;
    m->n = 0;
}

void mapping_format(const Mapping *m, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int lv = LOOP_LEVELS - 1; lv >= 0 && used < size; lv--) {
        if (lv == LOOP_DRAM)
            continue; /* the remainder; implied */
        int w = snprintf(buf + used, size - used, "%s%s ", used ? "| " : "",
                         loop_level_name((LoopLevel)lv));
        used += w > 0 ? (size_t)w : 0;
        bool any = false;
        for (int k = 0; k < DIM_COUNT && used < size; k++) {
            Dim d = (lv == LOOP_ROW || lv == LOOP_COL || lv == LOOP_RF) ? (Dim)k : m->order[lv][k];
            if (m->factor[lv][d] > 1) {
                w = snprintf(buf + used, size - used, "%s%lld", dim_name(d),
                             (long long)m->factor[lv][d]);
                used += w > 0 ? (size_t)w : 0;
                any = true;
            }
        }
        if (!any && used < size) {
            w = snprintf(buf + used, size - used, "-");
            used += w > 0 ? (size_t)w : 0;
        }
        if (used < size) {
            w = snprintf(buf + used, size - used, " ");
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (used >= size && size)
        buf[size - 1] = '\0';
}
