/* What the cpu kernels that read sparse weights can compute, beyond their
 * op, types and encoding: the accepts column of kernels.def's
 * KERNEL_ROW_SPARSE rows. */
#ifndef DNNC_SPARSE_RULES_H
#define DNNC_SPARSE_RULES_H

#include "kernels/dnnk.h"
#include "registry.h"

/* dnnk_sparse_fc: at most INT32_MAX weights (its entry offsets are 32-bit). */
bool sparse_accepts_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_sparse_fc_rows: an fc at batch 1 (beyond, the CSC kernel reads
 * each weight once for several images), at most INT32_MAX weights. */
bool sparse_accepts_fc_rows(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_sparse_conv: a 1x1 kernel, stride 1, no padding, groups 1 (the
 * product of a sparse matrix and the dense image, "Fast Sparse
 * ConvNets"), at most INT32_MAX weights. */
bool sparse_accepts_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* Whether qlinear_conv n is an fc: a 1x1 output of a kernel as large as
 * its input, unpadded (what the quantiser makes of an fc layer), with no
 * residual operand (the int8 GEMM's epilogue adds one; the fc forms do
 * not). */
bool sparse_qlinear_is_fc(const Graph *g, const Node *n);

/* dnnk_qsparse_fc: a qlinear_conv that is an fc, groups 1, K at most
 * DNNK_QGEMM_MAX_K (its sums stay in int32). */
bool sparse_accepts_qlinear_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* dnnk_sparse_conv_taps: any conv whose weights fit INT32_MAX. */
bool sparse_accepts_conv_taps(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

/* The filler entries a gap of `gap` places between two entries takes in
 * the packed form (dnnk.h, "sparse weights"): each filler covers
 * DNNK_SPARSE_GAP_MAX of it, the entry after them the rest (1 to
 * DNNK_SPARSE_GAP_MAX). */
static inline int64_t sparse_gap_fillers(int64_t gap) { return gap > 0 ? (gap - 1) / DNNK_SPARSE_GAP_MAX : 0; }

/* The entries of s as the cpu kernels pack it: its non-zero values and
 * the filler entries their gaps take (an fc's CSC in slices of
 * DNNK_SPARSE_SLICE rows, each column of a slice starting from the
 * slice's first row; a conv's CSR row by row). At most the weights: a
 * filler takes the place of a zero weight. */
int64_t sparse_packed_entries(const SparseData *s);

/* The entries of an fc's CSR encoding s packed by rows for
 * dnnk_sparse_fc_rows: DNNK_SPARSE_GROUP for every step of every group of
 * rows, a group's steps the most entries (with fillers) of its rows. */
int64_t sparse_fc_rows_entries(const SparseData *s);

/* The steps of the group of rows from r0 of an fc's CSR encoding s: the
 * most entries (non-zero values and fillers) of its rows. */
int64_t sparse_fc_rows_group_steps(const SparseData *s, int64_t r0);

/* The blocks a layer of dnnk_qsparse_fc has at most (K at most
 * DNNK_QGEMM_MAX_K). */
#define DNNK_QSPARSE_MAX_BLOCKS ((DNNK_QGEMM_MAX_K + DNNK_QSPARSE_COLS - 1) / DNNK_QSPARSE_COLS)

/* The steps of dnnk_qsparse_fc's group of rows from r0 of a qlinear fc's
 * CSR encoding s, in every block (block_steps[b], DNNK_QSPARSE_MAX_BLOCKS
 * of room: the most entries of its rows in the block, in steps of
 * DNNK_QSPARSE_DEPTH), and in all (returned). */
int64_t sparse_qfc_group_steps(const SparseData *s, int64_t r0, int64_t *block_steps);

/* The steps of all groups. */
int64_t sparse_qfc_steps(const SparseData *s);

/* The entries layer n's encoded weights are packed into (non-zero values,
 * fillers and padding): sparse_fc_rows_entries for an fc's CSR, a
 * qlinear fc's steps of DNNK_SPARSE_GROUP x DNNK_QSPARSE_DEPTH entries,
 * sparse_packed_entries otherwise; 0 for dense weights. */
int64_t sparse_layer_entries(const Graph *g, const Node *n);

/* The bytes layer n's weights take as stored in the weights file: their
 * encoding as the cpu kernels pack it (dnnk_sparse_fc_bytes for CSC,
 * dnnk_sparse_fc_rows_bytes for an fc's CSR, dnnk_sparse_conv_bytes for a
 * conv's) when select-sparsity encoded them,
 * else their dense size (elements x bits / 8). */
int64_t sparse_stored_bytes(const Graph *g, const Node *n);

#endif
