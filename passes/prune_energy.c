/* Energy-aware pruning (survey VII-B1; Yang et al., "Designing
 * Energy-Efficient Convolutional Neural Networks using Energy-Aware
 * Pruning", CVPR 2017): the number of weights is a poor proxy for energy,
 * so the spatial target's energy model says what a pruned weight saves.
 * Each conv and fc layer is mapped on the machine as `dnnc map` maps it
 * (the lowest-energy dataflow and mapping, ReLU outputs assumed half
 * zeros) and evaluated again with that mapping and every weight zero: with
 * zero skipping the energy is linear in the share of zero weights, and the
 * difference divided by the layer's MACs is the energy each MAC a zero
 * weight gates saves there, f_l.
 *
 * A weight's worth is taken to be its magnitude times the MACs it takes
 * part in (the outputs it moves: a conv weight serves every output pixel,
 * an fc weight one), its cost what those MACs take, so the weights kept are
 * those of largest |w| / f_l over all layers together: global magnitude
 * pruning with each magnitude divided by the energy of one of its MACs. Of
 * two weights equally large, the one whose MACs cost more goes first.
 * Dividing by the energy per weight instead would strip the convs first,
 * whose weights each serve thousands of MACs: AlexNet's five convs all
 * went to zero at 30% density, a network that computes nothing. */
#include <math.h>
#include <stdlib.h>

#include "arch.h"
#include "map.h"
#include "pass.h"
#include "prune.h"

/* The energy each gated MAC saves in the layer lm maps, under its chosen
 * mapping: (E(dense) - E(every weight zero)) / MACs. */
static double energy_per_mac(const ArchSet *arch, const LayerMap *lm)
{
    const MapChoice *c = &lm->choice[lm->chosen];
    MapLayer empty = lm->layer;
    empty.filter_zero = 1;
    LayerCost zero;
    char why[MAP_WHY];
    if (!map_evaluate(arch_for(arch, lm->chosen), &empty, &c->mapping, &zero, why, sizeof why) ||
        c->cost.macs <= 0)
        return 0;
    double saved = (c->cost.energy_total - zero.energy_total) / c->cost.macs;
    return saved > 0 ? saved : 0;
}

bool prune_energy_per_mac(const Graph *g, const PassOptions *o, double *per_node)
{
    const ArchSet *arch = o->prune->energy_arch;
    if (!arch_for(arch, DATAFLOW_RS)->zero_skip) {
        diag_error(o->diag, SRCLOC_NONE, "energy-aware pruning: machine '%s' has zero_skip = off, so a zero "
                                         "weight saves no energy there", arch->base.name);
        return false;
    }
    MapOptions mo = {.dataflow = DATAFLOW_AUTO, .relu_zero = 0.5};
    GraphMap gm;
    if (!map_graph(g, arch, &mo, &gm)) {
        diag_error(o->diag, SRCLOC_NONE, "energy-aware pruning: out of memory mapping the network");
        return false;
    }
    for (int i = 0; i < g->n_nodes; i++)
        per_node[i] = NAN;
    bool ok = true;
    for (int k = 0; k < gm.n; k++) {
        const LayerMap *lm = &gm.layers[k];
        const Node *n = &g->nodes[lm->node];
        if (lm->chosen == DATAFLOW_AUTO) {
            diag_error(o->diag, n->loc, "energy-aware pruning: layer '%s' fits the machine under no "
                                        "dataflow (%s)", n->name, lm->why[DATAFLOW_RS]);
            ok = false;
            continue;
        }
        per_node[lm->node] = energy_per_mac(arch, lm);
    }
    graph_map_free(&gm);
    return ok;
}
