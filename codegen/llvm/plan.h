/* Where every tensor lives when compiled code runs: in the caller's input
 * or output buffers, in the weight blob, or at an offset in one workspace
 * whose regions are reused once a tensor is dead (liveness-based planning).
 * Layers that only reinterpret their operand (flatten, reshape, dropout,
 * constants) share its storage instead of copying, and a concat whose
 * operands can lie end to end in its output has them computed there, in
 * their slices (plan.c says when). No other layer's output shares storage
 * with any of its operands: kernels may read every operand after writing
 * parts of the output (conv and fc keep partial sums in the output while
 * they read their residual operand). */
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
    bool *aliases;         /* per node: no code of its own (it shares storage, or a concat in place) */
    size_t workspace_size;
    unsigned char *weights; /* the blob (malloc), 64-byte aligned regions */
    size_t weights_size;
} Plan;

struct KernelBinding;

/* Plans g; each layer's weights are packed as its binding (bind[node])
 * says. */
bool plan_build(const Graph *g, const struct KernelBinding *bind, Plan *p, char *err, size_t errsz);
void plan_free(Plan *p);

/* The bytes of the weight blob plan_build would make for g, each layer
 * bound to its portable (ISA_ANY) kernel and its weights sized by the
 * row's pack function, without packing anything; 0 if a layer has no
 * kernel (or memory runs out). */
size_t plan_weights_bytes(const Graph *g);

#endif
