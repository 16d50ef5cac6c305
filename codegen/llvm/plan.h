/* Where every tensor lives when compiled code runs: in the caller's input
 * or output buffers, in the weight blob, or in one workspace at the offset
 * the IR records (@offset, written by the plan-memory pass: by liveness,
 * regions reused once a tensor is dead). Layers that only reinterpret
 * their operand (flatten, reshape, dropout, constants) share its storage
 * instead of copying, and a concat whose operands lie end to end in its
 * output has them computed there, in their slices (ir/storage.h says
 * when). No other layer's output shares storage with any of its operands:
 * kernels may read every operand after writing parts of the output (conv
 * and fc keep partial sums in the output while they read their residual
 * operand). This file reads those places and lays out the weight blob. */
#ifndef DNNC_PLAN_H
#define DNNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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
    unsigned char *weights; /* the blob (malloc), 64-byte aligned regions; NULL until packed */
    size_t weights_size;
} Plan;

struct KernelBinding;

/* Plans g: storage for every tensor (as its @offsets say; an error names a
 * layer without a place, or two live tensors that share bytes), and where
 * each weight lies in the blob, packed as its binding (bind[node]) says. The blob is made only
 * when asked for: in memory (plan_pack_weights, for code that runs in this
 * process or embeds it), or written layer by layer (plan_write_weights),
 * so that compiling a model never holds its packed weights whole. */
bool plan_build(const Graph *g, const struct KernelBinding *bind, Plan *p, char *err, size_t errsz);
/* Packs the blob into `blob`: p->weights_size zeroed bytes, 64-byte aligned. */
void plan_pack_weights(const Graph *g, const struct KernelBinding *bind, const Plan *p, unsigned char *blob);
/* Writes the blob to f; the caller checks f for write errors. */
bool plan_write_weights(const Graph *g, const struct KernelBinding *bind, const Plan *p, FILE *f, char *err,
                        size_t errsz);
void plan_free(Plan *p);

/* The bytes of the weight blob plan_build would make for g, each layer
 * bound to its portable (ISA_ANY) kernel and its weights sized by the
 * row's pack function, without packing anything; 0 if a layer has no
 * kernel (or memory runs out). */
size_t plan_weights_bytes(const Graph *g);

#endif
