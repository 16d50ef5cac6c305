/* The reference executor: plain loops for every op, written to be obviously
 * correct. It is the oracle every other path is compared with (JIT, object
 * code, Winograd, FFT, quantised, sparse, the accelerator simulator).
 *
 * Arithmetic: float32 tensors; every sum (convolution and FC dot products,
 * average pooling, softmax, LRN windows) is accumulated in double in a fixed
 * order and rounded to float once, so results do not depend on blocking or
 * threading and are at least as accurate as any float32 implementation. The
 * order is documented at each kernel. The exception is a conv whose @algo is
 * winograd: it runs the transform in float32 as the algorithm specifies
 * (winograd.c), so that fast kernels are checked against the algorithm's
 * own rounding as well as against the direct sums. */
#ifndef DNNC_REFERENCE_H
#define DNNC_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* Runs g once. inputs[i] holds graph input i and outputs[i] receives graph
 * output i, each float32 in the declared shape (C order). All weights must be
 * bound. On failure writes the reason to err. */
bool reference_run(const Graph *g, const float *const *inputs, float *const *outputs, char *err,
                   size_t errsz);

/* The working memory a run of g needs beside its activations: the largest
 * scratch of any layer (double accumulators, Winograd's and FFT's
 * transformed tiles), with that layer's name in *layer when it is not NULL
 * and some layer needs any; SIZE_MAX when it does not fit a size_t. */
size_t reference_scratch_bytes(const Graph *g, const char **layer);

/* The same for graphs with typed inputs and outputs (f32, i8, u8, i16, i32):
 * each buffer holds elements of its tensor's type. */
bool reference_run_typed(const Graph *g, const void *const *inputs, void *const *outputs, char *err,
                         size_t errsz);

/* Runs the one layer n of g: inputs[i] holds operand i and output receives
 * the result, each in its tensor's type. The constant folder uses it. */
bool reference_run_node(const Graph *g, const Node *n, const void *const *inputs, void *output,
                        char *err, size_t errsz);

#endif
