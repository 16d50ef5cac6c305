/* The kernel library of the CPU target. These kernels are compiled to LLVM
 * bitcode for each target architecture when dnnc is built; codegen/llvm
 * links them into every module and calls them with a constant descriptor,
 * so that after inlining each layer is a function specialised to its
 * static shapes.
 *
 * Every kernel has the same signature, with its own descriptor type:
 *   void dnnk_X(const dnnk_X_desc *d, void *const *ptrs, int64_t begin, int64_t end)
 * ptrs[0] is the output, ptrs[1 .. n_in] the operands, then the weights in
 * the order the IR declares them. [begin, end) is a range of the kernel's
 * parallel units (dnnc computes how many there are when it fills the
 * descriptor); any split of the range over threads computes the same
 * result. Which kernel and descriptor serve which layer is the registry
 * (codegen/kernels.def).
 *
 * This header is shared by dnnc (which fills descriptors) and the kernels,
 * so it must stay plain C with fixed-width fields: every field is 8 bytes,
 * so the layout is the same for every target the library is built for. */
#ifndef DNNK_H
#define DNNK_H

#include <stdint.h>

#define DNNK_RANK 8
#define DNNK_MAX_IN 8

/* Element types, as the IR's ElemKind numbers them (codegen checks this). */
enum { DNNK_F32 = 0, DNNK_I8 = 3, DNNK_U8 = 4, DNNK_I16 = 5, DNNK_I32 = 6 };
/* Weight codes (ir/weight_code.h), one a byte. */
enum { DNNK_LOG2 = 8, DNNK_CODEBOOK = 9, DNNK_BINARY = 10, DNNK_TERNARY = 11 };

typedef struct dnnk_tensor {
    int64_t rank;
    int64_t dims[DNNK_RANK];
    int64_t type; /* DNNK_F32, ... */
} dnnk_tensor;

/* A convolution or pooling window: pads are top, left, bottom, right. */
typedef struct dnnk_window {
    int64_t kernel[2], stride[2], dilation[2], pad[4];
} dnnk_window;

/* The fused activation of conv and fc, numbered as the IR's ActKind. */
enum { DNNK_ACT_NONE, DNNK_ACT_RELU, DNNK_ACT_LEAKY_RELU, DNNK_ACT_CLIP };

typedef struct dnnk_act {
    int64_t kind;
    double alpha;    /* leaky_relu */
    double min, max; /* clip */
} dnnk_act;

/* ---- descriptors, one per kernel family ----------------------------------- */

/* dnnk_conv. ptrs: out, in, [residual], packed weights, [bias]. */
typedef struct dnnk_conv_desc {
    dnnk_tensor out, in;
    dnnk_window win;
    int64_t groups;
    int64_t has_bias, has_residual;
    dnnk_act act;
    int64_t nr; /* pixels per tile of the library build the call is for */
} dnnk_conv_desc;

/* dnnk_conv_winograd: a 3x3 conv with stride 1 and dilation 1 by Winograd
 * F(m x m, 3 x 3). ptrs as dnnk_conv's, the weights transformed at compile
 * time (dnnk_packed_winograd_weights). */
typedef struct dnnk_winograd_desc {
    dnnk_conv_desc conv;
    int64_t m; /* the output tile: 2, 4 or 6 */
} dnnk_winograd_desc;

/* dnnk_conv_fft: a conv with stride 1 and dilation 1 by tiled overlap-save
 * FFT of size t, kernels smaller than t. ptrs as dnnk_conv's, the weights
 * transformed at compile time (dnnk_packed_fft_weights). */
typedef struct dnnk_fft_desc {
    dnnk_conv_desc conv;
    int64_t t; /* the transform size: 8, 16 or 32 */
} dnnk_fft_desc;

/* dnnk_conv_direct: a conv summed directly from its input, one output
 * channel of one image per unit, a tile of tile_rows x tile_cols outputs at
 * a time on phase planes (dnnk_plane_* below). ptrs as dnnk_conv's, the
 * weights as stored ([F][Cg][kh][kw]). tile_rows 0: no tile fits the
 * kernel's buffers (a kernel or stride too large for them) and the kernel
 * sums each output alone. */
typedef struct dnnk_direct_desc {
    dnnk_conv_desc conv;
    int64_t tile_rows, tile_cols;
} dnnk_direct_desc;

/* dnnk_fc. ptrs: out, in, [residual], weights, [bias]. */
typedef struct dnnk_fc_desc {
    dnnk_tensor out, in;
    int64_t has_bias, has_residual;
    dnnk_act act;
} dnnk_fc_desc;

/* ---- sparse weights (kernels/sparse.c, docs/pruning.md) ----
 *
 * The kernels read the non-zero weights as values with relative indices,
 * as Deep Compression stores them: each entry's index is a byte, its gap
 * from the entry before it in its column (fc) or row (conv), the first
 * entry's from the column's or row's first place. A gap of more than
 * DNNK_SPARSE_GAP_MAX takes a filler entry, a zero value
 * DNNK_SPARSE_GAP_MAX places on; fillers are entries like the others
 * (counted in `entries`, codegen/sparse_rules.h). Eight bits, not Deep
 * Compression's four for fc: at the densities the kernels are chosen for
 * (0.1 and below) one gap in four exceeds 15 and four bits would
 * store more bytes with their fillers than eight without (docs/pruning.md).
 * An fc's rows are cut in slices of DNNK_SPARSE_SLICE, each a unit of
 * work whose sums (4 KB) stay in the first-level cache; the slice is long
 * so that a column's entries are a long loop (at batch 1 the loop's exit,
 * once per column and slice, cost more than the entries in slices of
 * 256). */
#define DNNK_SPARSE_SLICE 1024
#define DNNK_SPARSE_GAP_MAX 255
/* Images an fc's sparse x dense product takes at once. */
#define DNNK_SPARSE_BATCH 8
/* Pixels of one unit of the sparse conv: a multiple of every build's lanes. */
#define DNNK_SPARSE_PIXELS 64

/* dnnk_sparse_fc: an fc whose weights [U][K] are stored by column (CSC,
 * as EIE stores them) in slices of DNNK_SPARSE_SLICE outputs, one unit a
 * slice. ptrs: out, in, [residual], packed weights, [bias]. The packed
 * weights (dnnk_sparse_fc_bytes): per slice, K + 1 int32 offsets (column k
 * of slice s holds entries [off[s][k], off[s][k + 1]), ascending from 0 to
 * `entries`); then every entry's value (float); then every entry's gap
 * (uint8: its row within the slice less the row of the entry before it in
 * its column), slice by slice, column by column. */
typedef struct dnnk_sparse_fc_desc {
    dnnk_tensor out, in;
    int64_t has_bias, has_residual;
    dnnk_act act;
    int64_t entries; /* the non-zero weights */
} dnnk_sparse_fc_desc;

static inline int64_t dnnk_sparse_fc_slices(int64_t units)
{
    return (units + DNNK_SPARSE_SLICE - 1) / DNNK_SPARSE_SLICE;
}
static inline int64_t dnnk_sparse_fc_values_at(int64_t units, int64_t k)
{
    return dnnk_sparse_fc_slices(units) * (k + 1) * 4;
}
static inline int64_t dnnk_sparse_fc_bytes(int64_t units, int64_t k, int64_t entries)
{
    return dnnk_sparse_fc_values_at(units, k) + entries * 5;
}

/* dnnk_sparse_fc_rows: an fc at batch 1 whose weights [U][K] are stored
 * by row (CSR), DNNK_SPARSE_GROUP rows at a time (sliced ELLPACK): a unit
 * is a group, whose rows walk their entries in step, one lane each, each
 * lane's sum a dot product of its row's values with the inputs its gaps
 * reach. ptrs and descriptor as dnnk_sparse_fc's. The
 * packed weights (dnnk_sparse_fc_rows_bytes): G + 1 int32 offsets (group g
 * holds steps [off[g], off[g + 1]), from 0 ascending), then the value
 * (float) of every step's DNNK_SPARSE_GROUP entries, then their gaps
 * (uint8): lane l of a step is row DNNK_SPARSE_GROUP g + l, its gap its
 * column less the one of the row's entry before it (the first: from
 * column 0). A row with fewer entries than its group's steps ends with
 * padding, entries of value 0 and gap 0, as does a lane past the last row;
 * `entries` counts them all (DNNK_SPARSE_GROUP a step). */
#define DNNK_SPARSE_GROUP 16

static inline int64_t dnnk_sparse_fc_rows_groups(int64_t units)
{
    return (units + DNNK_SPARSE_GROUP - 1) / DNNK_SPARSE_GROUP;
}
static inline int64_t dnnk_sparse_fc_rows_values_at(int64_t units)
{
    return (dnnk_sparse_fc_rows_groups(units) + 1) * 4;
}
static inline int64_t dnnk_sparse_fc_rows_bytes(int64_t units, int64_t entries)
{
    return dnnk_sparse_fc_rows_values_at(units) + entries * 5;
}

/* dnnk_sparse_conv: a 1x1 conv of stride 1, unpadded, groups 1, whose
 * filters [F][C] are stored by row (CSR), against dense activations: each
 * unit computes every filter at DNNK_SPARSE_PIXELS pixels of one image,
 * which stay in cache while the filters' entries stream ("Fast Sparse
 * ConvNets"). ptrs as dnnk_sparse_fc's. The packed weights
 * (dnnk_sparse_conv_bytes): F + 1 int32 offsets (filter f holds entries
 * [off[f], off[f + 1])), every entry's value (float), every entry's gap
 * (uint8: its input channel less the one of the entry before it). */
typedef struct dnnk_sparse_conv_desc {
    dnnk_tensor out, in;
    int64_t has_bias, has_residual;
    dnnk_act act;
    int64_t entries;
} dnnk_sparse_conv_desc;

static inline int64_t dnnk_sparse_conv_values_at(int64_t filters) { return (filters + 1) * 4; }
static inline int64_t dnnk_sparse_conv_bytes(int64_t filters, int64_t entries)
{
    return dnnk_sparse_conv_values_at(filters) + entries * 5;
}
static inline int64_t dnnk_sparse_conv_units(const dnnk_sparse_conv_desc *d)
{
    int64_t pixels = d->out.dims[2] * d->out.dims[3];
    return d->out.dims[0] * ((pixels + DNNK_SPARSE_PIXELS - 1) / DNNK_SPARSE_PIXELS);
}

/* dnnk_sparse_conv_taps: any other conv (kernel, stride, padding,
 * dilation, groups) whose filters [F][Cg][kh][kw] are stored by row (CSR)
 * by their taps (c kh + ky) kw + kx, each entry's gap its tap less the
 * one before it, otherwise as dnnk_sparse_conv's (dnnk_sparse_conv_bytes). One unit is one output plane
 * (image, filter): each entry adds its weight times the input it meets to
 * every output of the plane, a row at a time. ptrs as dnnk_conv's. */
typedef struct dnnk_sparse_taps_desc {
    dnnk_conv_desc conv;
    int64_t entries;
} dnnk_sparse_taps_desc;

/* dnnk_matmul. ptrs: out, a, b. */
typedef struct dnnk_matmul_desc {
    dnnk_tensor out, a, b;
} dnnk_matmul_desc;

/* Windowed and global pooling; global pools read only the tensors. */
typedef struct dnnk_pool_desc {
    dnnk_tensor out, in;
    dnnk_window win;
    int64_t count_include_pad;
} dnnk_pool_desc;

/* dnnk_maxpool_float: max pooling of floats a tile of tile_rows x
 * tile_cols outputs at a time on phase planes (dnnk_plane_*); tile_rows 0:
 * no tile fits, and the kernel runs dnnk_maxpool's loops. */
typedef struct dnnk_pool_tile_desc {
    dnnk_pool_desc pool;
    int64_t tile_rows, tile_cols;
} dnnk_pool_tile_desc;

/* Kernels configured by their output alone: copy, constant, scale_shift. */
typedef struct dnnk_plain_desc {
    dnnk_tensor out;
} dnnk_plain_desc;

/* dnnk_unary: the function and its parameters. */
enum {
    DNNK_UNARY_RELU, DNNK_UNARY_LEAKY_RELU, DNNK_UNARY_ELU, DNNK_UNARY_SIGMOID, DNNK_UNARY_TANH,
    DNNK_UNARY_HARD_SIGMOID, DNNK_UNARY_SELU,
};

typedef struct dnnk_unary_desc {
    dnnk_tensor out;
    int64_t fn;
    double alpha, beta; /* leaky_relu and elu: alpha; hard_sigmoid: alpha, beta; selu: alpha, gamma */
} dnnk_unary_desc;

typedef struct dnnk_clip_desc {
    dnnk_tensor out;
    double min, max;
} dnnk_clip_desc;

/* dnnk_binary folds its operands left to right. */
enum { DNNK_BINARY_ADD, DNNK_BINARY_SUB, DNNK_BINARY_MUL, DNNK_BINARY_DIV, DNNK_BINARY_MAX, DNNK_BINARY_MIN };

typedef struct dnnk_binary_desc {
    dnnk_tensor out;
    int64_t n_in;
    dnnk_tensor in[DNNK_MAX_IN];
    int64_t op;
    int64_t same_shape; /* every operand has the output's shape: no broadcasting */
} dnnk_binary_desc;

/* dnnk_prelu. ptrs: out, in, slopes. */
typedef struct dnnk_prelu_desc {
    dnnk_tensor out;
    int64_t broadcast; /* 1: slopes of shape `slope` broadcast to out; 0: one per channel */
    dnnk_tensor slope;
} dnnk_prelu_desc;

typedef struct dnnk_maxout_desc {
    dnnk_tensor out;
    int64_t pieces;
} dnnk_maxout_desc;

/* dnnk_batchnorm. ptrs: out, in, weight, bias, mean, var. */
typedef struct dnnk_batchnorm_desc {
    dnnk_tensor out;
    double eps;
} dnnk_batchnorm_desc;

typedef struct dnnk_lrn_desc {
    dnnk_tensor out;
    int64_t size;
    double alpha, beta, bias;
} dnnk_lrn_desc;

/* Softmax along an axis of size n, with `outer` blocks before it and
 * `inner` elements after it. */
typedef struct dnnk_softmax_desc {
    int64_t outer, n, inner;
    int64_t log; /* log-softmax */
} dnnk_softmax_desc;

/* One operand of a concatenation: `part` goes to output positions
 * [offset, offset + part.dims[axis]) along axis. */
typedef struct dnnk_concat_desc {
    dnnk_tensor out, part;
    int64_t axis, offset;
} dnnk_concat_desc;

typedef struct dnnk_slice_desc {
    dnnk_tensor out, in;
    int64_t axis, start;
} dnnk_slice_desc;

/* Output dimension k is input dimension perm[k]. */
typedef struct dnnk_transpose_desc {
    dnnk_tensor out, in;
    int64_t perm[DNNK_RANK];
} dnnk_transpose_desc;

enum { DNNK_PAD_CONSTANT, DNNK_PAD_REFLECT, DNNK_PAD_EDGE };

/* The padding after each dimension is what the output's shape leaves. */
typedef struct dnnk_pad_desc {
    dnnk_tensor out, in;
    int64_t before[DNNK_RANK];
    int64_t mode;
    double value;
} dnnk_pad_desc;

/* quantize and dequantize. ptrs: out, in, scale, zero_point. With
 * per_axis, index i uses parameter (i / inner) % out.dims[axis]. */
typedef struct dnnk_quant_desc {
    dnnk_tensor out, in;
    int64_t per_axis, axis, inner;
} dnnk_quant_desc;

/* conv_integer, ptrs: out, x, weight, x_zero_point, w_zero_point.
 * qlinear_conv (linear), ptrs: out, x, [residual], weight, x_scale,
 * x_zero_point, w_scale, w_zero_point, y_scale, y_zero_point, [bias],
 * [residual_scale, residual_zero_point]. */
typedef struct dnnk_qconv_desc {
    dnnk_tensor out, in;
    dnnk_window win;
    int64_t groups, has_bias, per_channel, weight_type, linear;
    int64_t has_residual, residual_type; /* qlinear_conv's residual operand (8 bits only) */
} dnnk_qconv_desc;

/* dnnk_qgemm_vnni, dnnk_qgemm_madd, dnnk_qgemm_sdot, dnnk_qgemm_neon: qlinear_conv on dot products of four
 * bytes (codegen/kernels/qgemm.c), a GEMM or, for an fc (a 1x1 output of a
 * kernel as large as the input, unpadded), a dot product per output. ptrs
 * as qlinear_conv's, the weight packed (dnnk_packed_qgemm_bytes) when
 * `blocked`. A layer whose weights do not fit the packed form
 * (codegen/llvm/pack.c says which) is not blocked: the kernel runs
 * dnnk_qconv's loops, whose units are images. */
typedef struct dnnk_qgemm_desc {
    dnnk_qconv_desc conv;
    int64_t blocked, fc;
    int64_t nr;            /* pixels per tile of the library build the call is for */
    int64_t filter_blocks; /* the blocks of filter panels each group's units split into */
    int64_t rows_major;    /* the order of a group's units, dnnk_blocked_unit_at's (tiles the runs) */
} dnnk_qgemm_desc;

/* dnnk_coded_conv: coded_conv, a float convolution whose weights are
 * codes decoded in registers (codegen/kernels/coded_conv.c). ptrs: out,
 * in, [residual], the codes packed by pack_coded_codes, the scales (one per
 * filter when per_channel, else one) or the codebook, [bias]. Units:
 * dnnk_coded_units. */
typedef struct dnnk_coded_desc {
    dnnk_conv_desc conv;
    int64_t weight_type; /* DNNK_LOG2, DNNK_CODEBOOK, DNNK_BINARY or DNNK_TERNARY */
    int64_t weight_bits; /* log2: a sign bit and weight_bits - 1 of magnitude */
    int64_t code_bits;   /* bits a packed code: weight_bits, binary 1, ternary 2 */
    int64_t per_channel;
    int64_t fc; /* one output pixel whose window is the whole (unpadded) input: dnnk_coded_fc_form */
    int64_t band, run; /* a conv's unit: tiles (at most DNNK_CODED_TILES), filters (DNNK_CODED_FILTERS) */
} dnnk_coded_desc;

/* The codes of a coded_conv as the kernel reads them (pack_coded_codes):
 * for each group, blocks of DNNK_CODED_MR filters (codes 0 past the
 * group's filters); in a block, for each k = (c, ky, kx) ascending, the
 * block's DNNK_CODED_MR codes of code_bits each, least significant bit
 * first: code_bits bytes, read as one 64-bit word and decoded into one
 * vector of the block's weights. DNNK_CODED_SPARE zero bytes end the codes,
 * so that the word of the last k stays inside them. */
#define DNNK_CODED_MR 8
#define DNNK_CODED_SPARE 8

/* A unit of a conv computes at most this many filters of one tile of nr
 * pixels: their partial double sums wait on the stack between blocks of
 * the reduction (DNNK_CODED_FILTERS x nr doubles a tile, 64 KiB for nr 32). */
#define DNNK_CODED_FILTERS 256

/* A unit of a conv covers at most this many tiles of nr pixels: each
 * block of codes is decoded once for all of them. */
#define DNNK_CODED_TILES 4

/* A conv with a single output pixel whose window covers its whole input
 * without padding (an fc, as quantize writes it): each filter's inputs are
 * the image's channels of its group, contiguous. */
static inline int64_t dnnk_coded_fc_form(const dnnk_conv_desc *d)
{
    const dnnk_window *w = &d->win;
    return d->out.dims[2] == 1 && d->out.dims[3] == 1 && w->kernel[0] == d->in.dims[2] &&
           w->kernel[1] == d->in.dims[3] && !w->pad[0] && !w->pad[1] && !w->pad[2] && !w->pad[3];
}

/* The requantisation multiplier of qlinear_conv and qlinear_matmul for one
 * output channel, in the one order the reference executor specifies
 * (runtime/reference/quant.c), so that kernels agree with it bit for bit:
 * y = saturate(nearbyint((double)(acc + bias) * M) + y_zero_point). */
static inline double dnnk_requant_multiplier(float x_scale, float w_scale, float y_scale)
{
    return (double)x_scale * (double)w_scale / (double)y_scale;
}

/* M_r of a qlinear_conv's residual operand, as the reference forms it:
 * y = saturate(nearbyint((double)(acc + bias) * M + (double)(r - r_zero_point) * M_r) + y_zero_point),
 * each product and the sum rounded to double (no fused multiply-add). */
static inline double dnnk_residual_multiplier(float r_scale, float y_scale)
{
    return (double)r_scale / (double)y_scale;
}

/* matmul_integer, ptrs: out, a, b, a_zero_point, b_zero_point.
 * qlinear_matmul (linear), ptrs: out, a, b, a_scale, a_zero_point,
 * b_scale, b_zero_point, y_scale, y_zero_point. */
typedef struct dnnk_qmatmul_desc {
    dnnk_tensor out, a, b;
    int64_t linear, per_column;
} dnnk_qmatmul_desc;

/* Micro-kernel blocking of the convolution GEMM: MR filters x NR pixels
 * accumulate in registers (two vectors per filter); weights are packed in
 * panels of MR filters. The kernel library is built with 8-lane vectors
 * (NR 16) and, for x86-64 with AVX-512, 16-lane vectors (NR 32);
 * descriptors carry the NR of the library they are for (nr). */
#define DNNK_MR 6
#ifndef DNNK_LANES
#define DNNK_LANES 8
#endif
#define DNNK_NR (2 * DNNK_LANES)

/* The int8 GEMM (dnnk_qgemm_*): the pixel panel holds the receptive
 * fields of nr output pixels as u8 in groups of four consecutive k, one
 * 32-bit lane per pixel, and the filter panels four s8 weights of MR
 * filters per group; vpdpbusd multiplies the two and adds the four
 * products of each lane to its int32 sum. */

/* The k of one pixel panel: a unit packs its pixels once per block of
 * DNNK_QGEMM_KC (a panel of DNNK_QGEMM_KC x nr bytes, 144 KiB for nr 32, on
 * the stack: a 3x3 conv on 512 channels in one block), and every filter
 * panel of the unit reads it. */
#define DNNK_QGEMM_KC 4608

/* Filter panels whose partial sums a unit keeps on the stack while it runs
 * over the blocks of a K larger than DNNK_QGEMM_KC: units then take at
 * most this many. */
#define DNNK_QGEMM_PANELS 16

/* The units a layer is split into at least, where its filter panels allow:
 * a layer of few pixels is split over its filters too. Few: every unit
 * packs its tile's pixel panel again unless the same thread ran the unit
 * before it, and the pool hands out ranges of n / (4 * threads) units, so
 * with 16 (as before 3 Dec) ResNet-50's 3x3 convs on 7x7 maps (2 tiles x 8
 * blocks, K = 4,608) packed each tile 4 times on two threads and ran at 0.71
 * to 0.90 of their one-thread time; with 4, 0.1 to 0.2 ms less each (int8
 * ResNet-50 on two threads 11.3 -> 10.6 ms). The price: such a layer
 * keeps at most 4 threads busy. */
#define DNNK_QGEMM_UNITS 4

/* An fc's unit: this many filters of a group, for every image. Its weights
 * are laid out per filter, K padded to DNNK_QGEMM_FC_K (a vector of 4-byte
 * lanes of the widest build). */
#define DNNK_QGEMM_FC_FILTERS 16
#define DNNK_QGEMM_FC_K 64

/* The largest K whose sums of u8 x s8 products stay in int32:
 * 255 * 128 * K < 2^31. */
#define DNNK_QGEMM_MAX_K 65793

/* ---- parallel units: shared by dnnc and the kernels ---------------------- */

/* Elements per work unit of element-wise and copying kernels. */
#define DNNK_CHUNK 4096

static inline int64_t dnnk_count(const dnnk_tensor *t)
{
    int64_t n = 1;
    for (int64_t i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static inline int64_t dnnk_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* dnnk_qsparse_fc, dnnk_qsparse_fc_vbmi: an int8 fc (a qlinear_conv whose
 * kernel covers its unpadded input, groups 1) whose i8 weights [U][K]
 * (zero point 0) are stored by rows (CSR) for a table lookup instead of a
 * gather: the inputs are cut in blocks of DNNK_QSPARSE_COLS columns, which
 * one vpermi2b looks 64 entries up in (two vectors of 64 bytes); the rows
 * in groups of DNNK_SPARSE_GROUP, one lane each, DNNK_QSPARSE_DEPTH
 * entries a lane a step, which one vpdpbusd multiplies and adds into the
 * lane's int32 sum. A unit is a group, for every image. The packed weights
 * (dnnk_qsparse_fc_bytes):
 *   - G B + 1 int32 offsets, G groups by B = ceil(K / DNNK_QSPARSE_COLS)
 *     blocks, group major: (group g, block b) holds steps
 *     [off[g B + b], off[g B + b + 1]), from 0 ascending; zeros up to a
 *     multiple of 64 bytes;
 *   - the steps, DNNK_QSPARSE_STEP_BYTES each: 64 column bytes (lane l,
 *     row DNNK_SPARSE_GROUP g + l, has bytes 4 l to 4 l + 3: columns of
 *     its row less the block's first, in their low 7 bits, which is all
 *     vpermi2b reads: any byte names a place in the block), then the
 *     64 weights (i8) in the same places; a row with fewer entries in a
 *     block than its group's steps there ends with column 0, weight 0, as
 *     does a lane past the last row;
 *   - the epilogue table of the int8 GEMM: U double offsets, U double
 *     multipliers (dnnk_packed_qgemm_bytes). */
#define DNNK_QSPARSE_COLS 128
#define DNNK_QSPARSE_DEPTH 4
#define DNNK_QSPARSE_STEP_BYTES (2 * DNNK_SPARSE_GROUP * DNNK_QSPARSE_DEPTH)

typedef struct dnnk_qsparse_fc_desc {
    dnnk_qconv_desc conv;
    int64_t steps;
} dnnk_qsparse_fc_desc;

static inline int64_t dnnk_qsparse_fc_groups(int64_t units) { return dnnk_ceil_div(units, DNNK_SPARSE_GROUP); }
static inline int64_t dnnk_qsparse_fc_blocks(int64_t k) { return dnnk_ceil_div(k, DNNK_QSPARSE_COLS); }
/* The steps start 64-byte aligned (as the packed weights do), so that no
 * 64-byte load of them straddles two cache lines. */
static inline int64_t dnnk_qsparse_fc_steps_at(int64_t units, int64_t k)
{
    return dnnk_ceil_div((dnnk_qsparse_fc_groups(units) * dnnk_qsparse_fc_blocks(k) + 1) * 4, 64) * 64;
}
static inline int64_t dnnk_qsparse_fc_table_at(int64_t units, int64_t k, int64_t steps)
{
    return dnnk_qsparse_fc_steps_at(units, k) + steps * DNNK_QSPARSE_STEP_BYTES;
}
static inline int64_t dnnk_qsparse_fc_bytes(int64_t units, int64_t k, int64_t steps)
{
    return dnnk_qsparse_fc_table_at(units, k, steps) + 2 * units * (int64_t)sizeof(double);
}

static inline int64_t dnnk_coded_blocks(int64_t filters) { return dnnk_ceil_div(filters, DNNK_CODED_MR); }

/* Units: an fc's are (group, block of DNNK_CODED_MR filters), every image;
 * a conv's (image, group, band of `band` tiles of nr pixels, run of `run`
 * filters). */
static inline int64_t dnnk_coded_units(const dnnk_coded_desc *d)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t Fg = c->out.dims[1] / c->groups, P = c->out.dims[2] * c->out.dims[3];
    if (d->fc)
        return c->groups * dnnk_coded_blocks(Fg);
    int64_t bands = dnnk_ceil_div(dnnk_ceil_div(P, c->nr), d->band);
    return c->out.dims[0] * c->groups * bands * dnnk_ceil_div(Fg, d->run);
}

/* A conv's split: bands of DNNK_CODED_TILES tiles and runs of
 * DNNK_CODED_FILTERS filters, halved (bands first, then runs, down to one
 * tile and one block of filters) while the layer has fewer than
 * DNNK_CODED_UNITS units, so that both cores have work on small layers.
 * Only then: a smaller band decodes each block's codes for fewer pixels,
 * a shorter run packs the pixels for fewer filters (on the BN net's 7 x 7
 * layer, at least 8 units took twice the time on one thread). */
#define DNNK_CODED_UNITS 2

static inline void dnnk_coded_split(dnnk_coded_desc *d)
{
    d->band = DNNK_CODED_TILES, d->run = DNNK_CODED_FILTERS;
    while (d->band > 1 && dnnk_coded_units(d) < DNNK_CODED_UNITS)
        d->band /= 2;
    while (d->run > DNNK_CODED_MR && dnnk_coded_units(d) < DNNK_CODED_UNITS)
        d->run /= 2;
}

/* conv: units are (image, group, tile of nr output pixels); each unit
 * computes every filter of its group, so one pixel panel serves them all. */
static inline int64_t dnnk_conv_units(const dnnk_conv_desc *d)
{
    int64_t pixels = d->out.dims[2] * d->out.dims[3];
    return d->out.dims[0] * d->groups * dnnk_ceil_div(pixels, d->nr);
}

/* int8 GEMM: tiles of nr output pixels per image. */
static inline int64_t dnnk_qgemm_tiles(const dnnk_qgemm_desc *d)
{
    return dnnk_ceil_div(d->conv.out.dims[2] * d->conv.out.dims[3], d->nr);
}

/* int8 GEMM: units are (image, group, tile, block of filter panels), the
 * tiles and blocks of a group in rows_major's order: rows major, the blocks
 * of one tile are consecutive, so that a thread taking several of them
 * packs the tile's pixels once; for an fc (group, DNNK_QGEMM_FC_FILTERS
 * filters); images when the layer is not blocked. */
static inline int64_t dnnk_qgemm_units(const dnnk_qgemm_desc *d)
{
    const dnnk_qconv_desc *c = &d->conv;
    if (!d->blocked)
        return c->out.dims[0];
    if (d->fc)
        return c->groups * dnnk_ceil_div(c->out.dims[1] / c->groups, DNNK_QGEMM_FC_FILTERS);
    return c->out.dims[0] * c->groups * dnnk_qgemm_tiles(d) * d->filter_blocks;
}

/* Packed int8 GEMM weights, s8 = weight - w_zero_point, K = Cg * kh * kw in
 * (c, ky, kx) order, zeros wherever the layout has no weight:
 *   - a GEMM's filter panels: per group, per panel of MR filters,
 *     [ceil(K / 4)][MR][4];
 *   - an fc's: per filter, K padded to a multiple of DNNK_QGEMM_FC_K;
 * then, per filter f, the epilogue's double offset, bias[f] minus the u8
 * zero point of the pixels times the sum of f's weights (the sums of
 * products are taken on u8 pixels: i8 ones shifted by 128, zero points
 * too), and then per filter its double multiplier M_f
 * (dnnk_requant_multiplier). */
static inline int64_t dnnk_qgemm_weight_bytes(int64_t filters, int64_t groups, int64_t k, int64_t fc)
{
    if (fc)
        return filters * dnnk_ceil_div(k, DNNK_QGEMM_FC_K) * DNNK_QGEMM_FC_K;
    return groups * dnnk_ceil_div(filters / groups, DNNK_MR) * dnnk_ceil_div(k, 4) * DNNK_MR * 4;
}

static inline int64_t dnnk_packed_qgemm_bytes(int64_t filters, int64_t groups, int64_t k, int64_t fc)
{
    return dnnk_qgemm_weight_bytes(filters, groups, k, fc) + 2 * filters * (int64_t)sizeof(double);
}

/* Packed conv weights: [groups][ceil(Fg / MR)][K][MR], K = Cg * kh * kw in
 * (c, ky, kx) order, missing filters of the last panel zero. */
static inline int64_t dnnk_packed_conv_weights(int64_t filters, int64_t groups, int64_t k)
{
    return groups * dnnk_ceil_div(filters / groups, DNNK_MR) * k * DNNK_MR;
}

/* Winograd conv: filter panels (of MR) whose alpha^2 products one unit
 * keeps on the stack while it sums over the channels. */
#define DNNK_WINOGRAD_PANELS 8

/* Output tiles of m x m per plane of a Winograd conv: tiles_across per row
 * of tiles, tiles_across * tiles_down in all, numbered row by row. */
static inline int64_t dnnk_winograd_across(const dnnk_winograd_desc *d)
{
    return dnnk_ceil_div(d->conv.out.dims[3], d->m);
}

static inline int64_t dnnk_winograd_tiles(const dnnk_winograd_desc *d)
{
    return dnnk_winograd_across(d) * dnnk_ceil_div(d->conv.out.dims[2], d->m);
}

/* Blocks of DNNK_WINOGRAD_PANELS filter panels per group. */
static inline int64_t dnnk_winograd_filter_blocks(const dnnk_winograd_desc *d)
{
    int64_t filters = d->conv.out.dims[1] / d->conv.groups;
    return dnnk_ceil_div(dnnk_ceil_div(filters, DNNK_MR), DNNK_WINOGRAD_PANELS);
}

/* Winograd conv: units are (image, group, block of nr output tiles, block
 * of filters), so that threads split a layer over its tiles and, where
 * there are few tiles (a small image), over its filters too. */
static inline int64_t dnnk_winograd_units(const dnnk_winograd_desc *d)
{
    int64_t tile_blocks = dnnk_ceil_div(dnnk_winograd_tiles(d), d->conv.nr);
    return d->conv.out.dims[0] * d->conv.groups * tile_blocks * dnnk_winograd_filter_blocks(d);
}

/* Packed Winograd filters, U = G g G^T of every filter and channel:
 * [groups][ceil(Fg / MR)][alpha^2][Cg][MR], alpha = m + 2, so that each of
 * the alpha^2 products is a GEMM over the channels with the conv's
 * micro-kernel; missing filters of the last panel zero. */
static inline int64_t dnnk_packed_winograd_weights(int64_t filters, int64_t groups, int64_t channels,
                                                   int64_t m)
{
    return dnnk_packed_conv_weights(filters, groups, (m + 2) * (m + 2) * channels);
}

/* FFT conv: the largest transform the kernel runs. */
#define DNNK_FFT_MAX 32

/* Coefficients kept of a real t x t spectrum, t x (t/2 + 1) (the others
 * are their complex conjugates). */
static inline int64_t dnnk_fft_bins(int64_t t) { return t * (t / 2 + 1); }

/* Output tiles of a transform of size t: (t - kh + 1) x (t - kw + 1),
 * tiles_across per row of tiles, numbered row by row. */
static inline int64_t dnnk_fft_tile_h(const dnnk_fft_desc *d) { return d->t - d->conv.win.kernel[0] + 1; }
static inline int64_t dnnk_fft_tile_w(const dnnk_fft_desc *d) { return d->t - d->conv.win.kernel[1] + 1; }

static inline int64_t dnnk_fft_across(const dnnk_fft_desc *d)
{
    return dnnk_ceil_div(d->conv.out.dims[3], dnnk_fft_tile_w(d));
}

static inline int64_t dnnk_fft_tiles(const dnnk_fft_desc *d)
{
    return dnnk_fft_across(d) * dnnk_ceil_div(d->conv.out.dims[2], dnnk_fft_tile_h(d));
}

/* Filters whose spectra sums one unit keeps on the stack (whole MR panels):
 * each unit transforms its input tiles once for this many filters, so
 * more is faster, and the sums take t (t/2 + 1) complex vectors each, so
 * fewer as t grows (codegen/kernels/fft_conv.c sizes its stack by them). */
#define DNNK_FFT_FILTERS(t) ((t) <= 8 ? 96 : (t) <= 16 ? 36 : 12)

static inline int64_t dnnk_fft_block_filters(int64_t t) { return DNNK_FFT_FILTERS(t); }

static inline int64_t dnnk_fft_filter_blocks(const dnnk_fft_desc *d)
{
    return dnnk_ceil_div(d->conv.out.dims[1] / d->conv.groups, dnnk_fft_block_filters(d->t));
}

/* Channels whose spectra one unit keeps on the stack at once: the GEMM
 * micro-kernel runs over them, so more load and store each sum fewer
 * times; the packed filters are laid out in blocks of as many. */
#define DNNK_FFT_CHANNELS(t) ((t) <= 8 ? 16 : (t) <= 16 ? 8 : 2)

/* FFT conv: units are (image, group, block of nr / 2 output tiles, block
 * of filters), the tiles of a block in the lanes of one vector. */
static inline int64_t dnnk_fft_units(const dnnk_fft_desc *d)
{
    int64_t tile_blocks = dnnk_ceil_div(dnnk_fft_tiles(d), d->conv.nr / 2);
    return d->conv.out.dims[0] * d->conv.groups * tile_blocks * dnnk_fft_filter_blocks(d);
}

/* Packed FFT filters, conj(W) / t^2 with W the t x t transform of every
 * filter and channel plane zero-padded: per group, per block of
 * DNNK_FFT_CHANNELS(t) channels (the last may be short, cb channels),
 * [t (t/2 + 1)][ceil(Fg / MR)][cb][re, im][MR], so that each coefficient's
 * products are a complex GEMM over the channels, read in the order the
 * kernel runs them; missing filters of the last panel zero. */
static inline int64_t dnnk_packed_fft_weights(int64_t filters, int64_t groups, int64_t channels, int64_t t)
{
    return dnnk_packed_conv_weights(filters, groups, 2 * dnnk_fft_bins(t) * channels);
}

/* The channels of the block of channels that starts at c0. */
static inline int64_t dnnk_fft_block_size(int64_t t, int64_t channels, int64_t c0)
{
    return channels - c0 < DNNK_FFT_CHANNELS(t) ? channels - c0 : DNNK_FFT_CHANNELS(t);
}

/* Where the filter spectra of group g, channel block c0 (a multiple of
 * DNNK_FFT_CHANNELS(t)) and coefficient k start: the panels of the group
 * follow, each cb x 2 x MR floats. */
static inline int64_t dnnk_fft_weights_at(int64_t filters_per_group, int64_t channels, int64_t t, int64_t g,
                                          int64_t c0, int64_t k)
{
    int64_t panels = dnnk_ceil_div(filters_per_group, DNNK_MR), bins = dnnk_fft_bins(t);
    return ((g * channels + c0) * bins + k * dnnk_fft_block_size(t, channels, c0)) * panels * 2 * DNNK_MR;
}

/* ---- phase planes (dnnk_conv_direct, dnnk_maxpool_float) ----
 * A window op computes a tile of outputs at a time. The tile's input
 * window is copied, padded, into stride_h x stride_w phase planes: plane
 * (py, px) holds input row oy0 * sh - pad_top + r * sh + py and column
 * ox0 * sw - pad_left + c * sw + px at [r][c], each row plane_width wide.
 * Output (i, j) of the tile then combines, over the taps (ky, kx), plane
 * (dy % sh, dx % sw) at [i + dy / sh][j + dx / sw], with dy = ky *
 * dilation_h, dx = kx * dilation_w: for each tap one contiguous run over
 * q = i * plane_width + j, whatever the stride, dilation or padding, so that
 * every tap is one vector operation over the whole tile (columns j >=
 * tile_cols are computed and dropped). */

/* Floats of the phase planes and of the tile's results on a unit's stack. */
#define DNNK_PLANE_FLOATS 8192
#define DNNK_PLANE_SUM_FLOATS 2048
/* Slack after each plane and after the results: the widest vector. */
#define DNNK_PLANE_SLACK 16

static inline int64_t dnnk_plane_extra_rows(const dnnk_window *w)
{
    return (w->kernel[0] - 1) * w->dilation[0] / w->stride[0];
}

static inline int64_t dnnk_plane_extra_cols(const dnnk_window *w)
{
    return (w->kernel[1] - 1) * w->dilation[1] / w->stride[1];
}

static inline int64_t dnnk_plane_width(const dnnk_window *w, int64_t tile_cols)
{
    return tile_cols + dnnk_plane_extra_cols(w);
}

/* One phase plane: its rows, then the slack a vector reads past them. */
static inline int64_t dnnk_plane_floats(const dnnk_window *w, int64_t tile_rows, int64_t tile_cols)
{
    return (tile_rows + dnnk_plane_extra_rows(w)) * dnnk_plane_width(w, tile_cols) + dnnk_plane_extra_cols(w) +
           DNNK_PLANE_SLACK;
}

/* Whether a tile of rows x cols fits the unit's buffers (sizes checked
 * against overflow: strides and kernels are the model's). */
static inline int dnnk_plane_tile_fits(const dnnk_window *w, int64_t rows, int64_t cols)
{
    int64_t sh = w->stride[0], sw = w->stride[1];
    if (sh > DNNK_PLANE_FLOATS || sw > DNNK_PLANE_FLOATS / sh)
        return 0;
    int64_t width = dnnk_plane_width(w, cols), extra = dnnk_plane_extra_rows(w);
    if (width > DNNK_PLANE_FLOATS || extra > DNNK_PLANE_FLOATS)
        return 0;
    if (rows * width + DNNK_PLANE_SLACK > DNNK_PLANE_SUM_FLOATS)
        return 0;
    return dnnk_plane_floats(w, rows, cols) <= DNNK_PLANE_FLOATS / (sh * sw);
}

/* The tile of an out_h x out_w output: whole output rows where they fit
 * (each row's dropped columns are computed once per row), as many rows as
 * the results hold; narrower columns only for rows too wide for the
 * buffers; no tile (0 x 0: the kernel computes each output alone) when not
 * even one output fits, for kernels or strides larger than the planes. */
static inline void dnnk_plane_tile(const dnnk_window *w, int64_t out_h, int64_t out_w, int64_t *tile_rows,
                                   int64_t *tile_cols)
{
    int64_t cols = out_w;
    for (;;) {
        if (dnnk_plane_tile_fits(w, 1, cols)) {
            int64_t rows = 1;
            while (rows < out_h && dnnk_plane_tile_fits(w, rows + 1, cols))
                rows++;
            *tile_rows = rows, *tile_cols = cols;
            return;
        }
        if (cols == 1)
            break;
        cols = dnnk_ceil_div(cols, 2);
    }
    *tile_rows = *tile_cols = 0;
}

/* ---- blocked activations (NCHW16c) ----------------------------------------
 * A tensor of logical shape [N, C, H, W] in the blocked layout holds
 * element (n, c, h, w) at ((n * CB + c/16) * H + h) * W * 16 + w * 16 +
 * c % 16, CB = ceil(C / 16) blocks: the 16 channels of a block side by
 * side, one AVX-512 vector. Where C is not a multiple of 16 the last
 * block is padded: its lanes past C hold values that no kernel reads as
 * channels (a conv's channel loop stops at C, pools and element-wise ops
 * compute them and nothing reads the results, reorders to plain skip
 * them). Descriptors give blocked tensors with their stored channels,
 * CB * 16, so that element-wise ops and channel concat (whose operands but
 * the last fill whole blocks) cover the padding like any element; the
 * kernels that need C itself carry it. Builds with narrower vectors treat
 * a block as two (or four). */
#define DNNK_BLOCK 16

/* dnnk_reorder: from the layout from_blocked says (1 blocked, 0 plain) to
 * the one to_blocked says, out and in of the same logical shape (equal
 * layouts: a copy); out as stored, channels its logical C. Padding lanes
 * it writes are zeros. ptrs: out, in (in is not written; the pointer is
 * not const because one helper serves both directions). Units: (image,
 * channel block, run of `pixels` pixels of the H x W plane). */
typedef struct dnnk_reorder_desc {
    dnnk_tensor out;
    int64_t channels;
    int64_t from_blocked, to_blocked;
    int64_t pixels; /* per unit, a multiple of 16 (DNNK_REORDER_PIXELS) */
} dnnk_reorder_desc;

/* Pixels per reorder unit: 16 KiB of plain floats per channel, so that a
 * 224 x 224 plane makes 13 units. */
#define DNNK_REORDER_PIXELS 4096

static inline int64_t dnnk_reorder_units(const dnnk_reorder_desc *d)
{
    int64_t plane = d->out.dims[2] * d->out.dims[3];
    return d->out.dims[0] * dnnk_ceil_div(d->channels, DNNK_BLOCK) * dnnk_ceil_div(plane, d->pixels);
}

/* dnnk_conv_blocked: groups 1, or depthwise (groups = channels =
 * filters); input, output and residual blocked, as stored (channels
 * rounded up to blocks; `channels` is the input's logical C). ptrs: out,
 * in, [residual], packed weights, [bias] (one per stored filter, zeros
 * past F). Weights packed by dnnc, zeros past F filters and C channels:
 *   conv:      [FB][CB][kh][kw][16 channels][16 filters]
 *   depthwise: [CB][kh][kw][16 channels]
 * Units: (image, group of filter_blocks blocks of 16 filters, band of
 * rows output rows), in the order rows_major says (dnnk_blocked_unit_at);
 * a depthwise conv's filter blocks are its channel blocks. Epilogue as dnnk_conv's:
 * out = act((sum + bias) + residual). */
typedef struct dnnk_conv_blocked_desc {
    dnnk_conv_desc conv;
    int64_t channels;      /* the input's logical C */
    int64_t filter_blocks; /* blocks of 16 filters per unit */
    int64_t rows;          /* output rows per unit */
    int64_t rows_major;    /* the units' order, dnnk_blocked_unit's */
} dnnk_conv_blocked_desc;

/* dnnk_conv_plain_blocked: the same descriptor, weights, units and
 * epilogue for a groups-1 conv whose input is plain [N][C][H][W] with C <=
 * 16 (one block: a network's image) and whose output is blocked; no
 * residual. */

/* dnnc's split of a blocked conv (codegen/llvm/describe.c says why). */
#define DNNK_BLOCKED_FILTER_BLOCKS 4
#define DNNK_BLOCKED_UNITS 16
#define DNNK_BLOCKED_MIN_PIXELS 48

static inline int64_t dnnk_blocked_filter_blocks(int64_t filter_blocks)
{
    return filter_blocks < DNNK_BLOCKED_FILTER_BLOCKS ? filter_blocks : DNNK_BLOCKED_FILTER_BLOCKS;
}

/* Output rows per unit, for `parts` (image, filter group) pairs of an
 * out_h x out_w output. */
static inline int64_t dnnk_blocked_rows(int64_t parts, int64_t out_h, int64_t out_w)
{
    int64_t rows = out_h;
    while (rows > 1 && parts * dnnk_ceil_div(out_h, rows) < DNNK_BLOCKED_UNITS &&
           dnnk_ceil_div(rows, 2) * out_w >= DNNK_BLOCKED_MIN_PIXELS)
        rows = dnnk_ceil_div(rows, 2);
    return rows;
}

/* The order of a blocked conv's units within an image. The pool gives each
 * thread a contiguous share of them (runtime/threadpool.c). Rows major
 * (band, then group of filter blocks): a thread computes every filter of
 * its rows, reading all the weights and its part of the input, which it
 * mostly wrote itself as the previous layer's rows. Filters major: a thread
 * reads its part of the weights and all of the input. So rows major when
 * the layer's weights take fewer bytes than one image of its input (a 1x1
 * conv on 56 x 56 maps: 0.1 MB against 3.2; a 3x3 conv of 256 filters on
 * 14 x 14 maps, 2.4 MB against 0.2, is filters major). */
static inline int64_t dnnk_blocked_rows_major(int64_t weight_values, int64_t image_values)
{
    return weight_values < image_values;
}

/* Unit u of a blocked layer of `groups` groups of filter blocks and `runs`
 * runs of rows or tiles per image: its image, group and run. */
typedef struct dnnk_blocked_unit {
    int64_t n, group, run;
} dnnk_blocked_unit;

static inline dnnk_blocked_unit dnnk_blocked_unit_at(int64_t u, int64_t groups, int64_t runs, int64_t rows_major)
{
    int64_t per_image = groups * runs, in_image = u % per_image;
    if (rows_major)
        return (dnnk_blocked_unit){u / per_image, in_image % groups, in_image / groups};
    return (dnnk_blocked_unit){u / per_image, in_image / runs, in_image % runs};
}

static inline int64_t dnnk_conv_blocked_units(const dnnk_conv_blocked_desc *d)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t groups = dnnk_ceil_div(c->out.dims[1] / DNNK_BLOCK, d->filter_blocks);
    return c->out.dims[0] * groups * dnnk_ceil_div(c->out.dims[2], d->rows);
}

/* dnnk_conv_winograd_blocked: a groups-1 3x3 conv with stride 1 and
 * dilation 1 by Winograd F(m x m, 3 x 3) on blocked activations (input,
 * output and residual as dnnk_conv_blocked's). ptrs as dnnk_conv_blocked's,
 * the weights U = G g G^T packed by dnnc as
 *   [FB][alpha^2][CB][16 channels][16 filters], zeros past F and C,
 * so that each of the alpha^2 products is a GEMM over the channels with the
 * blocked conv's register tiles, its "pixels" the output tiles' transformed
 * windows. Units: (image, group of filter_blocks blocks of 16 filters, run
 * of `tiles` output tiles), in the order rows_major says. A unit transforms the windows
 * of its tiles for channel_blocks blocks of channels at a time (V), sums
 * their products with its filters' U into M, and writes its outputs from M
 * at the end; V and M wait on the stack. */
typedef struct dnnk_winograd_blocked_desc {
    dnnk_conv_desc conv;
    int64_t channels;       /* the input's logical C */
    int64_t m;              /* the output tile: 2, 4 or 6 */
    int64_t filter_blocks;  /* blocks of 16 filters per unit */
    int64_t tiles;          /* output tiles per unit, a multiple of DNNK_WINOGRAD_BLOCKED_UR */
    int64_t channel_blocks; /* blocks of 16 channels transformed at once */
    int64_t rows_major;     /* the units' order, as dnnk_conv_blocked_desc's */
} dnnk_winograd_blocked_desc;

/* Tiles of one register tile of the blocked Winograd GEMM (the blocked
 * conv's pixels per tile). */
#define DNNK_WINOGRAD_BLOCKED_UR 6

/* Units a layer is split into at least, where its tiles allow (runs of
 * tiles halve until then): fewer than the blocked conv's, as each run reads
 * its filters' U again. */
#define DNNK_WINOGRAD_BLOCKED_UNITS 8

/* Floats of V and M on a unit's stack: 512 KiB (docs/bundle.md). */
#define DNNK_WINOGRAD_BLOCKED_STACK (128 * 1024)

/* Output tiles of an out_h x out_w plane, m x m each. */
static inline int64_t dnnk_winograd_plane_tiles(int64_t out_h, int64_t out_w, int64_t m)
{
    return dnnk_ceil_div(out_h, m) * dnnk_ceil_div(out_w, m);
}

/* Floats of V and M for a unit's sizes: alpha^2 vectors of 16 per tile and
 * block (channel blocks of V, filter blocks of M). */
static inline int64_t dnnk_winograd_blocked_floats(int64_t m, int64_t tiles, int64_t filter_blocks,
                                                   int64_t channel_blocks)
{
    return (m + 2) * (m + 2) * 16 * tiles * (filter_blocks + channel_blocks);
}

/* dnnc's split of a blocked Winograd conv of tile d->m (codegen/llvm/
 * describe.c says why), for `images` images of channel_blocks blocks in
 * and filter_blocks out, an out_h x out_w output: fills d's filter_blocks,
 * tiles and channel_blocks. */
static inline void dnnk_winograd_blocked_split(dnnk_winograd_blocked_desc *d, int64_t images,
                                               int64_t channel_blocks, int64_t filter_blocks, int64_t out_h,
                                               int64_t out_w)
{
    const int64_t ur = DNNK_WINOGRAD_BLOCKED_UR, stack = DNNK_WINOGRAD_BLOCKED_STACK;
    int64_t tiles = dnnk_winograd_plane_tiles(out_h, out_w, d->m);
    d->filter_blocks = dnnk_blocked_filter_blocks(filter_blocks);
    int64_t longest = stack / dnnk_winograd_blocked_floats(d->m, 1, d->filter_blocks, 1) / ur * ur;
    int64_t run = dnnk_ceil_div(dnnk_ceil_div(tiles, dnnk_ceil_div(tiles, longest)), ur) * ur;
    int64_t parts = images * dnnk_ceil_div(filter_blocks, d->filter_blocks);
    while (run > 2 * ur && parts * dnnk_ceil_div(tiles, run) < DNNK_WINOGRAD_BLOCKED_UNITS)
        run = dnnk_ceil_div(dnnk_ceil_div(run, 2), ur) * ur;
    d->tiles = run;
    int64_t sums = dnnk_winograd_blocked_floats(d->m, run, d->filter_blocks, 0);
    int64_t fit = (stack - sums) / dnnk_winograd_blocked_floats(d->m, run, 0, 1);
    d->channel_blocks = fit < channel_blocks ? fit : channel_blocks;
}

static inline int64_t dnnk_winograd_blocked_units(const dnnk_winograd_blocked_desc *d)
{
    const dnnk_conv_desc *c = &d->conv;
    int64_t groups = dnnk_ceil_div(c->out.dims[1] / DNNK_BLOCK, d->filter_blocks);
    int64_t tiles = dnnk_winograd_plane_tiles(c->out.dims[2], c->out.dims[3], d->m);
    return c->out.dims[0] * groups * dnnk_ceil_div(tiles, d->tiles);
}

/* dnnk_maxpool_blocked: max pooling of a blocked float tensor into a
 * blocked one, as the reference computes it bit for bit. ptrs: out, in.
 * Units: (image, channel block, output row). */
static inline int64_t dnnk_pool_blocked_units(const dnnk_pool_desc *d)
{
    return d->out.dims[0] * (d->out.dims[1] / DNNK_BLOCK) * d->out.dims[2];
}

/* dnnk_global_avgpool_blocked: the mean of each channel of a blocked
 * float input (as stored), as the reference computes it bit for bit, into
 * the plain [N, C, 1, 1] output. ptrs: out, in. Units: (image, channel
 * block). */
static inline int64_t dnnk_global_pool_blocked_units(const dnnk_pool_desc *d)
{
    return d->in.dims[0] * (d->in.dims[1] / DNNK_BLOCK);
}

static inline int64_t dnnk_chunks(const dnnk_tensor *t) { return dnnk_ceil_div(dnnk_count(t), DNNK_CHUNK); }

#endif
