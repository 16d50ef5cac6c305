/* What the cpu kernels that read sparse weights can compute, beyond their
 * op, types and encoding: the accepts column of kernels.def's
 * KERNEL_ROW_SPARSE rows. */
#ifndef DNNC_SPARSE_RULES_H
#define DNNC_SPARSE_RULES_H

#include "kernels/dnnk.h"
#include "registry.h"

/* dnnk_sparse_fc: at most INT32_MAX weights (its entry offsets are 32-bit). */
bool sparse_accepts_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_sparse_conv: a 1x1 kernel, stride 1, no padding, groups 1 (the
 * product of a sparse matrix and the dense image, "Fast Sparse
 * ConvNets"), at most INT32_MAX weights. */
bool sparse_accepts_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_sparse_conv_taps: any conv whose weights fit INT32_MAX. */
bool sparse_accepts_conv_taps(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* The filler entries a skip of `skip` zero weights takes in the packed
 * form (dnnk.h, "sparse weights"): one for every DNNK_SPARSE_SKIP_MAX + 1
 * skipped; the entry after them stores the rest. */
static inline int64_t sparse_skip_fillers(int64_t skip) { return skip / (DNNK_SPARSE_SKIP_MAX + 1); }

/* The entries of s as the cpu kernels pack it: its non-zero values and
 * the filler entries their skips take (an fc's CSC in slices of
 * DNNK_SPARSE_SLICE rows, each column of a slice skipping from the
 * slice's first row; a conv's CSR row by row). At most the weights: a
 * filler takes the place of a zero weight. */
int64_t sparse_packed_entries(const SparseData *s);

/* The bytes layer n's weights take as stored in the weights file: their
 * encoding as the cpu kernels pack it (dnnk_sparse_fc_bytes for CSC,
 * dnnk_sparse_conv_bytes for CSR) when select-sparsity encoded them,
 * else their dense size (elements x bits / 8). */
int64_t sparse_stored_bytes(const Graph *g, const Node *n);

#endif
