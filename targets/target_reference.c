/* The reference target: the graph runs on the reference executor (plain
 * loops, the oracle of every other target). It emits nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "reference.h"
#include "targets_internal.h"

/* Direct convolution and im2col + GEMM compute the same sums: the oracle
 * runs both as the same plain loops, in double, so that a graph compiled
 * for the cpu (whose convolutions say @algo(im2col)) runs here unchanged.
 * Winograd changes the arithmetic: ref_conv runs it as the plain transform
 * in float32 (runtime/reference/winograd.c), the independent check of a
 * fast kernel, and so does FFT (fft_conv.c). A layout is where the cpu
 * puts values, not what they are: the oracle computes a graph whatever
 * its @layout says, on its plain arrays (a reorder is a copy). */
static const KernelRow rows[] = {
    {OP_CONV, ALGO_DIRECT, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
    {OP_CONV, ALGO_IM2COL, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
    {OP_CONV, ALGO_WINOGRAD, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
    {OP_CONV, ALGO_FFT, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
    /* Sparse weights, CSR or CSC, on any conv (computed direct), fc and qlinear_conv:
     * plain loops over the encoding (runtime/reference/sparse.c), the
     * oracle of the cpu target's sparse kernels. Crossover 0: only where
     * @sparse or --sparse asks, so that the oracle stays dense otherwise. */
    {OP_CONV, ALGO_DIRECT, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSR, 0, NULL},
    {OP_CONV, ALGO_DIRECT, ELEMS_FLOAT, ISA_ANY, "ref_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSC, 0, NULL},
    {OP_FC, ALGO_AUTO, ELEMS_FLOAT, ISA_ANY, "ref_fc", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSR, 0, NULL},
    {OP_FC, ALGO_AUTO, ELEMS_FLOAT, ISA_ANY, "ref_fc", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSC, 0, NULL},
    /* The same for quantised layers' i8 weights, in exact integer sums. */
    {OP_QLINEAR_CONV, ALGO_AUTO, ELEMS_QUANT, ISA_ANY, "ref_qlinear_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSR, 0, NULL},
    {OP_QLINEAR_CONV, ALGO_AUTO, ELEMS_QUANT, ISA_ANY, "ref_qlinear_conv", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_CSC, 0, NULL},
};

static const KernelRow *reference_registry(int *count)
{
    *count = (int)(sizeof rows / sizeof *rows);
    return rows;
}

/* An activation type the reference computes on: one tensors can hold data
 * in, but not the weight codes, which only coded_conv's weights hold. */
static bool computes_on(ElemKind k) { return elem_kind_size(k) && !elem_is_code(k); }

/* Every op has a reference kernel (ir/ops.def); the element types it
 * computes on are the ones tensors can hold data in. */
static bool reference_supports(const Graph *g, const Node *n, char *why, size_t whysz)
{
    for (int i = 0; i < n->n_inputs; i++)
        if (!computes_on(g->tensors[n->inputs[i]].type.kind)) {
            snprintf(why, whysz, "the reference computes on f32, i8, u8, i16 and i32 only");
            return false;
        }
    if (!computes_on(g->tensors[n->output].type.kind)) {
        snprintf(why, whysz, "the reference computes on f32, i8, u8, i16 and i32 only");
        return false;
    }
    return true;
}

/* One buffer per activation, all alive at once (the oracle reuses nothing). */
/* Every activation at once, and the largest layer's scratch (its double
 * accumulators and, for Winograd and FFT, the transformed tiles). */
static MemoryNeed reference_memory(const Graph *g)
{
    MemoryNeed need = memory_activations(g);
    const char *layer = NULL;
    uint64_t scratch = reference_scratch_bytes(g, &layer);
    need.bytes = need.bytes > UINT64_MAX - scratch ? UINT64_MAX : need.bytes + scratch;
    if (scratch > need.largest && layer)
        need.largest = scratch, need.layer = layer;
    return need;
}

static TargetProgram *reference_compile(const Graph *g, const TargetOptions *o, char *err,
                                        size_t errsz)
{
    (void)o;
    TargetProgram *p = calloc(1, sizeof *p);
    if (!p)
        snprintf(err, errsz, "out of memory");
    else
        *p = (TargetProgram){&target_reference, g, NULL};
    return p;
}

static bool reference_target_run(TargetProgram *p, const void *const *inputs, void *const *outputs,
                                 char *err, size_t errsz)
{
    return reference_run_typed(p->graph, inputs, outputs, err, errsz);
}

static void reference_release(TargetProgram *p) { free(p); }

const Target target_reference = {
    .name = "reference",
    .summary = "the reference executor: plain loops in double, the oracle (runs, emits nothing)",
    .default_opt_level = 0,
    .registry = reference_registry,
    .binds_kernels = false,
    .plans_workspace = false,
    .threads = false,
    .supports = reference_supports,
    .memory = reference_memory,
    .compile = reference_compile,
    .run = reference_target_run,
    .emit = NULL,
    .release = reference_release,
};
