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

typedef struct Plan {
    Location *loc;         /* per tensor id */
    bool *aliases;         /* per node: its output shares an operand's storage, no code */
    size_t workspace_size;
    unsigned char *weights; /* the blob (malloc), 64-byte aligned regions */
    size_t weights_size;
} Plan;

bool plan_build(const Graph *g, Plan *p, char *err, size_t errsz);
void plan_free(Plan *p);

#endif
