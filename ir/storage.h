/* Where activations live when compiled code runs, as the IR records it.
 *
 * @offset(N) on a layer puts its output at byte N of one workspace (the
 * plan-memory pass writes it for every layer that needs a place; a dump
 * shows it, docs/bundle.md#where-tensors-live). Network inputs and outputs live in the
 * caller's buffers and weights in the weight blob, so they have none.
 *
 * Two tensors live at the same time may share bytes only when one of them
 * has no code of its own, which the offsets alone say:
 *   - an alias: a flatten, reshape, dropout or constant layer (not a network
 *     output) whose output is at its operand's offset, or has no @offset
 *     when its operand is not in the workspace (a network input or output,
 *     a weight): it reinterprets its operand's bytes;
 *   - a concat in place: each operand, a layer's own output, at the
 *     concat's offset plus the bytes of the operands before it, every
 *     dimension before the axis 1 (so the slices lie end to end in either
 *     layout), each slice 64-byte aligned: the operands are computed
 *     straight into their slices.
 * And one tensor may take the bytes of another that dies as it is
 * written:
 *   - an element-wise layer in place: a relu, clip, batchnorm, add, ... at
 *     the offset of an operand of its output's shape, element kind and
 *     layout that no later layer reads (nor another operand of the same
 *     layer): each element is read before it is written over; and so a
 *     direct conv in float32 on blocked activations (dense weights) over
 *     its residual operand, which its kernel reads element by element as
 *     it writes the output (codegen/kernels.def states the contract).
 * A tensor and those that share its bytes this way form one root, live
 * from the first layer that writes any of them to the last that reads
 * any. Roots live at the same time must not overlap; a layer's operands
 * are live while it runs, so its output never overlaps them but as above
 * (a plain conv kernel may keep partial sums in its output while it still
 * has its residual to read).
 *
 * These rules are shared by the pass that places (passes/plan_memory.c),
 * code generation that reads the places (codegen/llvm/plan.c) and the
 * check that a placement is legal, whoever wrote it. */
#ifndef DNNC_STORAGE_H
#define DNNC_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* Every tensor in the workspace starts at a multiple of this (the kernels'
 * widest vector loads), and takes a multiple of it. */
#define STORAGE_ALIGN 64
/* No offset or workspace reaches this; it keeps the sums from overflowing. */
#define STORAGE_MAX_BYTES (UINT64_C(1) << 62)

/* Tensor t's bytes in its layout, rounded up to STORAGE_ALIGN. */
uint64_t storage_bytes(const Graph *g, int t);

/* Whether layer n may reinterpret its operand's bytes as its output, and
 * which tensor that operand is. */
bool storage_may_alias(const Graph *g, const Node *n);
int storage_alias_source(const Node *n);

/* Whether tensor t has a place in the workspace (its layer has @offset). */
bool storage_in_workspace(const Graph *g, int t);

/* Who shares whose bytes. */
typedef struct StorageMap {
    int *root;        /* per tensor: the tensor whose bytes it lies in (itself if its own) */
    uint64_t *within; /* per tensor: its byte offset in its root's bytes */
    bool *no_code;    /* per node: an alias or a concat in place */
    bool *in_place;   /* per node: an element-wise layer writing over an operand that dies there */
    int *first;       /* per root: the first layer that writes it or a member (-1: an input) */
    int *last;        /* per root: the last layer that writes or reads it or a member */
} StorageMap;

/* The map the IR's @offsets make. With `place_free` (the plan-memory
 * pass), a layer that has no @offset yet is also taken in place wherever
 * the rules allow: a concat whose operands have none either, an alias
 * whatever its operand's place (the pass then gives it its operand's).
 * False if memory runs out. */
bool storage_map_build(const Graph *g, bool place_free, StorageMap *m);
void storage_map_free(StorageMap *m);

/* Whether the @offsets of g are legal: no two roots that have one and are
 * live at the same time overlap. Layers without @offset are not checked
 * (a placement may be partial). Else err names both layers and where they
 * meet, and *culprit is the later one. */
bool storage_check(const Graph *g, const StorageMap *m, const Node **culprit, char *err, size_t errsz);

#endif
