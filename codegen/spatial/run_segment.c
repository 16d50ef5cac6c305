/* One part of a whole-graph program on the simulator (spatial_graph.h). */
#include <stdio.h>

#include "sim.h"
#include "spatial_graph.h"

bool spatial_run_segment(const SpatialGraphCode *code, const SpatialStep *st, int64_t *dram,
                         const SimOptions *o, SimLayerCounts *counts, char *err, size_t errsz)
{
    IsaProgram view = code->program; /* the segment's instructions, shared */
    view.instrs += st->begin;
    view.n_instrs = st->end - st->begin;
    SimResult res;
    char why[512];
    if (!sim_run(&view, dram, o, &res, why, sizeof why)) {
        snprintf(err, errsz, "the simulator, in the part of the program from instruction %zu on: %s",
                 st->begin, why);
        return false;
    }
    for (int i = 0; i < res.n_layers; i++)
        if (res.layers[i].layer >= 0 && (size_t)res.layers[i].layer < code->program.n_layers)
            sim_counts_add(&counts[res.layers[i].layer], &res.layers[i]);
    sim_result_free(&res);
    return true;
}
