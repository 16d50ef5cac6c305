/* Sparse encodings of a layer's weights (survey VII-B3): the weight tensor
 * viewed as a rows x cols matrix (rows: its first dimension, the filters of
 * a conv and the outputs of an fc; cols: the product of the others), its
 * non-zero values stored once with their positions as CSR (row by row,
 * each value with its column) or CSC (column by column, each value with
 * its row, as EIE stores fc weights). select-sparsity fills Tensor.sparse
 * with it; the reference executor reads it with plain loops and the cpu
 * target's packing turns it into its kernels' stored form. */
#ifndef DNNC_SPARSE_H
#define DNNC_SPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

/* The matrix a weight tensor of shape s is viewed as. */
void sparse_matrix_dims(const Shape *s, int64_t *rows, int64_t *cols);

/* Whether layer n has weights an encoding may hold (select-sparsity's
 * layers): conv, fc and qlinear_conv. */
bool sparse_has_weights(const Node *n);

/* Whether weights of kind k can be encoded: f32, and i8 (the quantised
 * weights of a qlinear_conv, whose zero point must then be 0: the values
 * stored are the integers, exact as floats). */
bool sparse_encodable(ElemKind k);

/* Whether a weight of layer n stored as 0 is a real 0: always, but on a
 * qlinear_conv whose weight zero point is not 0 everywhere (or not bound),
 * whose weights an encoding cannot leave out. */
bool sparse_zero_is_zero(const Graph *g, const Node *n);

/* The non-zero weights of layer n (its parameter 0, which must be bound
 * and sparse_encodable), and in *count all of them. */
int64_t sparse_nonzero_weights(const Graph *g, const Node *n, int64_t *count);

/* The CSR or CSC encoding of the f32 matrix w (rows x cols, row-major), in
 * a's memory (which throws when out of memory, ir/oom.h). Values in the
 * order of the walk (rows, or columns, ascending; within one, ascending
 * positions); an all-zero matrix has nnz 0 and pointers all 0. */
SparseData *sparse_encode(Arena *a, SparseFormat f, const float *w, int64_t rows, int64_t cols);

/* The same for a bound tensor of a sparse_encodable kind, viewed as
 * sparse_matrix_dims says. */
SparseData *sparse_encode_tensor(Arena *a, SparseFormat f, const Tensor *t);

/* Whether s is a well-formed encoding of a rows x cols matrix: pointers
 * from 0 ascending to nnz, indices within range and ascending within a row
 * (column). If not, why in `why`. */
bool sparse_check(const SparseData *s, int64_t rows, int64_t cols, char *why, size_t whysz);

/* Whether s (well formed) holds exactly the non-zero values of the matrix
 * w of kind `kind` (sparse_encodable), each at its place. */
bool sparse_matches(const SparseData *s, ElemKind kind, const void *w);

/* Writes the dense matrix s encodes into w (rows x cols, row-major). */
void sparse_decode(const SparseData *s, float *w);

#endif
