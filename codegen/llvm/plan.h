/* Where every tensor lives when compiled code runs: in the caller's input
 * or output buffers, in the weight blob, or at an offset in one workspace
 * whose regions are reused once a tensor is dead (liveness-based planning).
 * Layers that only reinterpret their operand (flatten, reshape, dropout,
 * constants) share its storage instead of copying. */
#ifndef DNNC_PLAN_H
#define DNNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

typedef enum { LOC_NONE, LOC_WORKSPACE, LOC_WEIGHTS, LOC_INPUT, LOC_OUTPUT } LocKind;

typedef struct Location {
    LocKind kind;
    size_t offset; /* bytes, in the workspace or the weight blob */
    int index;     /* input or output number */
} Location;

/* Layers a convolution absorbs into its epilogue: a batch norm (folded into
 * a per-filter scale and shift computed now) and a ReLU, when each is the
 * only reader of the layer before it. */
typedef struct Epilogue {
    int batchnorm, relu; /* node indices, or -1 */
    int last;            /* the node whose output the convolution writes */
    int absorbed_by;     /* for an absorbed layer: its convolution; -1 otherwise */
    size_t scale_offset; /* in the weight blob: F scales, then F shifts */
} Epilogue;

typedef struct Plan {
    Location *loc;         /* per tensor id */
    bool *aliases;         /* per node: no code of its own (it shares storage, or a
                            * convolution computes it in its epilogue) */
    Epilogue *epilogue;    /* per node (convolutions) */
    size_t workspace_size;
    unsigned char *weights; /* the blob (malloc), 64-byte aligned regions */
    size_t weights_size;
} Plan;

bool plan_build(const Graph *g, Plan *p, char *err, size_t errsz);
void plan_free(Plan *p);

#endif
