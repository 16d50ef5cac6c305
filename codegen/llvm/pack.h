/* Weight packing of the registry rows (codegen/kernels.def): weights are
 * constants when dnnc compiles, so a kernel that wants them in another
 * layout gets them re-laid out then, never at run time. */
#ifndef DNNC_PACK_H
#define DNNC_PACK_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* The bytes weight k of layer n takes packed, written to out unless out is
 * NULL (the size alone needs only the shapes); 0 if the kernel uses weight
 * k as stored. */
typedef size_t (*PackFn)(const Graph *g, const Node *n, int k, void *out);

/* conv filters [F][Cg][kh][kw] -> [groups][ceil(Fg / MR)][K][MR] panels of
 * the GEMM micro-kernel (dnnk.h); the bias is used as stored. */
size_t pack_conv_panels(const Graph *g, const Node *n, int k, void *out);

/* conv filters of a layer on blocked activations -> the order of
 * dnnk_conv_blocked (dnnk.h): [F/16][C/16][kh][kw][16][16], or
 * [C/16][kh][kw][16] for a depthwise conv; the same size; the bias as
 * stored. */
size_t pack_conv_blocked(const Graph *g, const Node *n, int k, void *out);

/* conv filters [F][Cg][3][3] of a Winograd F(m x m, 3 x 3) layer (m its
 * recorded tile, 2, 4 or 6) -> U = G g G^T in the panels of
 * dnnk_packed_winograd_weights (dnnk.h): alpha^2 / 9 times the filters'
 * size (4 for m = 4, 7.1 for m = 6), plus the panels' padding; the bias as
 * stored. */
size_t pack_winograd_filters(const Graph *g, const Node *n, int k, void *out);

/* conv filters [F][C][3][3] of a groups-1 Winograd layer on blocked
 * activations -> U = G g G^T as dnnk_conv_winograd_blocked reads it
 * (dnnk.h): [F/16][alpha^2][C/16][16 channels][16 filters], zeros past F
 * and C; the bias as pack_conv_blocked's. */
size_t pack_winograd_blocked(const Graph *g, const Node *n, int k, void *out);

/* conv filters [F][Cg][kh][kw] of an FFT layer (T its recorded transform
 * size, 8 to 32) -> conj(W) / T^2, W the T x T transform of each filter
 * plane zero-padded, computed in double and rounded once, in the panels of
 * dnnk_packed_fft_weights (dnnk.h): 2 T (T/2 + 1) / (kh kw) times the
 * filters' size (11.5 for 5x5 at T = 16), plus the panels' padding; the
 * bias as stored. */
size_t pack_fft_filters(const Graph *g, const Node *n, int k, void *out);

/* coded_conv's codes (one a byte in the IR) -> packed as in a weights file
 * (runtime/code_pack.h: bits a code, least significant bit first), plus one
 * zero byte so that the kernel may read every code as two bytes; the
 * scales or codebook and the bias as stored. */
size_t pack_coded_codes(const Graph *g, const Node *n, int k, void *out);

/* Whether qlinear_conv n fits the packed form of the int8 GEMM
 * (codegen/kernels/qgemm.c): every weight minus its zero point within s8,
 * K at most DNNK_QGEMM_MAX_K, every requantisation multiplier finite (an
 * infinite or NaN one is left to the scalar loops, which handle it as the
 * reference does). u8 weights with zero point 128 fit, and i8 ones with
 * zero point 0, the quantiser's symmetric weights. */
bool pack_qgemm_fits(const Graph *g, const Node *n);

/* qlinear_conv weights [F][Cg][kh][kw] -> the filter panels (or an fc's
 * rows) and the epilogue table of dnnk_packed_qgemm_bytes (dnnk.h): about
 * the weights' size, plus 16 bytes per filter and the layout's padding; 0
 * (the weights as stored) for a layer that does not fit, and for the other
 * parameters, which the kernel reads as stored (the zero points) or not at
 * all. */
size_t pack_qgemm_weights(const Graph *g, const Node *n, int k, void *out);

/* The same for AArch64's sdot kernel, whose pixels are s8: the same
 * weights, the offsets corrected for the pixels' form (PIXELS_S8). */
size_t pack_qgemm_sdot_weights(const Graph *g, const Node *n, int k, void *out);

/* How an int8 kernel holds its pixels: u8, i8 inputs shifted by 128 (x86's
 * vpdpbusd and vpmaddwd, the sparse fc), or s8, u8 inputs shifted by -128
 * (AArch64's sdot, which multiplies s8 by s8). */
typedef enum { PIXELS_U8, PIXELS_S8 } PackPixels;

/* Filter f's entries of the int8 GEMM's epilogue table (dnnk_packed_qgemm_bytes,
 * from `table`): its offset, bias[f] less the pixels' zero point (in the
 * form `pixels` says) times weight_sum (the sum of its weights less their
 * zero point), and its requantisation multiplier. */
void pack_qlinear_epilogue(const Graph *g, const Node *n, int64_t f, int64_t weight_sum, PackPixels pixels,
                           unsigned char *table);

/* The i8 weights [U][K] of a qlinear fc encoded CSR by select-sparsity ->
 * dnnk_qsparse_fc's groups of rows in blocks of columns and the epilogue
 * table (dnnk_qsparse_fc_bytes, dnnk.h); the other parameters as stored. */
size_t pack_qsparse_fc(const Graph *g, const Node *n, int k, void *out);

/* fc weights [U][K] encoded CSC by select-sparsity -> dnnk_sparse_fc's
 * slices (dnnk.h): 5 bytes a stored entry (non-zero weights and fillers,
 * with their 8-bit gaps) and 4 (K + 1) bytes a slice of DNNK_SPARSE_SLICE
 * outputs; the bias as stored. */
size_t pack_sparse_fc(const Graph *g, const Node *n, int k, void *out);

/* fc weights [U][K] encoded CSR -> dnnk_sparse_fc_rows's groups of
 * DNNK_SPARSE_GROUP rows (dnnk.h): 5 bytes a stored entry (non-zero
 * weights, fillers and padding) and 4 a group; the bias as stored. */
size_t pack_sparse_fc_rows(const Graph *g, const Node *n, int k, void *out);

/* conv filters [F][Cg][kh][kw] encoded CSR -> the offsets, values and
 * 8-bit gaps of columns (channels of a 1x1 conv, taps (c kh + ky) kw + kx
 * of any other) of dnnk_sparse_conv and dnnk_sparse_conv_taps (dnnk.h):
 * 5 bytes a stored entry and 4 (F + 1); the bias as stored. */
size_t pack_sparse_conv(const Graph *g, const Node *n, int k, void *out);

#endif
