/* The spatial target: the Eyeriss-like accelerator of targets/spatial. Its
 * pipeline maps every conv and fc layer (passes/map_dataflow.c) and `dnnc
 * map` reports the energy of that mapping; it has no instruction-stream
 * code generator or simulator yet (docs/roadmap.md), so it neither runs
 * nor emits, and the driver says so. */
#include <stdio.h>

#include "targets_internal.h"

/* The PE array computes conv and fc layers by the direct sums its
 * dataflows schedule. */
static const KernelRow rows[] = {
    {OP_CONV, ALGO_DIRECT, ELEMS_FLOAT, ISA_ANY, "pe_array", {0}},
    {OP_FC, ALGO_AUTO, ELEMS_FLOAT, ISA_ANY, "pe_array", {0}},
};

static const KernelRow *spatial_registry(int *count)
{
    *count = (int)(sizeof rows / sizeof *rows);
    return rows;
}

static bool spatial_supports(const Graph *g, const Node *n, char *why, size_t whysz)
{
    (void)g;
    if (n->op == OP_CONV || n->op == OP_FC)
        return true;
    snprintf(why, whysz, "only conv and fc layers are mapped onto the PE array so far");
    return false;
}

/* Nothing compiles or runs here yet. */
static MemoryNeed spatial_memory(const Graph *g)
{
    (void)g;
    return (MemoryNeed){0, 0, NULL};
}

const Target target_spatial = {
    .name = "spatial",
    .summary = "the Eyeriss-like accelerator: dataflow mapping and energy (dnnc map); no code yet",
    .default_opt_level = 2,
    .registry = spatial_registry,
    .binds_kernels = false,
    .threads = false,
    .supports = spatial_supports,
    .memory = spatial_memory,
    .compile = NULL,
    .run = NULL,
    .emit = NULL,
    .release = NULL,
};
