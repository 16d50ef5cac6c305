/* map-dataflow (survey V-B): the spatial target's lowering. It records on
 * every conv and fc layer (and fixed16's qlinear_conv, map_is_layer) the
 * dataflow and the mapping the layer runs with, as @dataflow and @mapping,
 * so that a dump maps to the same result:
 *   - a layer with @mapping is evaluated with exactly that mapping under its
 *     @dataflow; if the mapping does not fit the machine, breaks the
 *     dataflow's rules or is not a loop nest of the layer, that is an error,
 *     never a reason to search again;
 *   - a layer with only @dataflow(X) gets the lowest-energy mapping under X;
 *   - any other gets the lowest-energy mapping under every dataflow.
 * A layer that fits no mapping is an error naming it, its line and why. */
#include "dataflow.h"
#include "map.h"
#include "pass.h"

/* The options' dataflow, if any, is a default: a layer's own @dataflow
 * wins, and the default is written into the IR like any other choice. */
static void default_dataflow(Graph *g, Dataflow d)
{
    for (int i = 0; d != DATAFLOW_AUTO && i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (map_is_layer(n) && n->ann.dataflow == DATAFLOW_AUTO)
            n->ann.dataflow = d;
    }
}

static void report_misfit(const Graph *g, const LayerMap *lm, const ArchSet *arch, Diag *d)
{
    const Node *n = &g->nodes[lm->node];
    Dataflow df = n->ann.dataflow;
    char why[MAP_WHY];
    if (!map_precision_supported(&arch->base, &lm->layer, why, sizeof why)) {
        diag_error(d, n->loc, "layer '%s': %s", n->name, why); /* the same under every dataflow */
    } else if (lm->recorded) {
        diag_error(d, n->loc, "layer '%s': its @mapping for %s does not hold on %s: %s", n->name,
                   dataflow_name(df), arch_for(arch, df)->name, lm->why[df]);
    } else if (df != DATAFLOW_AUTO) {
        diag_error(d, n->loc, "layer '%s' fits no %s mapping on %s: %s", n->name, dataflow_name(df),
                   arch_for(arch, df)->name, lm->why[df]);
    } else {
        diag_error(d, n->loc, "layer '%s' fits no mapping on %s under any dataflow", n->name,
                   arch->base.name);
        for (int k = 0; k < dataflow_count; k++)
            diag_note(d, SRCLOC_NONE, "under %s: %s", dataflow_name(dataflow_list[k]),
                      lm->why[dataflow_list[k]]);
    }
}

/* A mapping given in the IR is written back too: in its normal form
 * (mapping_to_ann), so that dumps compare equal. */
static void record(Graph *g, const LayerMap *lm, PassReport *r)
{
    Node *n = &g->nodes[lm->node];
    n->ann.dataflow = lm->chosen;
    mapping_to_ann(&lm->layer, &lm->choice[lm->chosen].mapping, &n->ann.mapping);
    if (!lm->recorded)
        pass_count(r, "layers mapped", 1);
}

bool pass_map_dataflow(Graph *g, const PassOptions *o, PassReport *r)
{
    ArchSet fallback;
    const ArchSet *arch = o->arch;
    if (!arch) {
        if (!arch_load("eyeriss", &fallback, NULL)) {
            diag_error(o->diag, SRCLOC_NONE, "map-dataflow: the built-in eyeriss description does not load");
            return false;
        }
        arch = &fallback;
    }
    MapOptions mo = o->map ? *o->map : (MapOptions){.relu_zero = 0.5};
    default_dataflow(g, mo.dataflow);
    mo.dataflow = DATAFLOW_AUTO; /* map_graph then follows each layer's annotations */
    GraphMap gm;
    if (!map_graph(g, arch, &mo, &gm)) {
        diag_error(o->diag, SRCLOC_NONE, "map-dataflow: out of memory");
        return false;
    }
    bool ok = true;
    for (int k = 0; k < gm.n; k++) {
        const LayerMap *lm = &gm.layers[k];
        if (lm->chosen == DATAFLOW_AUTO) {
            report_misfit(g, lm, arch, o->diag);
            ok = false;
        } else {
            record(g, lm, r);
        }
    }
    graph_map_free(&gm);
    return ok;
}
