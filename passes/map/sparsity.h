/* Activation sparsity for the energy model: zero skipping and run-length
 * compression depend on how many activations are zero (survey VII-B1).
 * Measured by running the reference executor when weights and an input are
 * given; otherwise assumed for the outputs of ReLUs. */
#ifndef DNNC_MAP_SPARSITY_H
#define DNNC_MAP_SPARSITY_H

#include <stdbool.h>
#include <stddef.h>

#include "arch.h"
#include "graph.h"

typedef struct ActStats {
    double zero;     /* fraction of zero elements */
    double rlc_bits; /* bits per element under the machine's RLC, at the tensor's own bits;
                      * 0: not measured */
} ActStats;

/* Runs g on `inputs` (one float32 array per graph input, as reference_run
 * takes them) and fills stats[tensor id] for every activation tensor, each
 * read in its own element type (an i16 tensor of a fixed16 graph as its
 * integers). Weights must be bound. False, with the reason in err, on
 * failure. */
bool measure_activations(Graph *g, const float *const *inputs, const SpatialArch *a,
                         ActStats *stats, char *err, size_t errsz);

/* Runs g on `inputs` (one array per graph input, in its type) on the
 * reference executor and keeps every node's output in its own type:
 * values[tensor id] (g->n_tensors entries, malloc'ed, NULL for tensors no
 * node computes); the caller frees each. False, with the reason in err,
 * on failure (then every entry is NULL or freed by the caller alike). */
bool sparsity_run_every_tensor(Graph *g, const void *const *inputs, void **values, char *err,
                               size_t errsz);

/* Without data: a tensor that a ReLU produced (directly, or through ops
 * that keep zeros: pooling, LRN, dropout, reshapes, concatenation) is
 * assumed to have `relu_zero` zeros; any other has none. */
void assume_activations(const Graph *g, double relu_zero, ActStats *stats);

/* Whether n's output is rectified, zero wherever its value before the
 * activation is negative: relu, clip with min 0, and a conv, fc or coded_conv with one
 * of those fused into it (fuse-epilogue), which so counts as the layer
 * followed by its ReLU; a qlinear_conv whose ReLU the quantize pass
 * absorbed (u8 output, zero point 0, weights bound). */
bool sparsity_rectifies(const Graph *g, const Node *n);

/* Bits per element of one tensor of value_bits-bit values under the
 * machine's RLC field widths. */
double rlc_bits_measured(const float *data, int64_t count, const SpatialArch *a, int value_bits);

#endif
