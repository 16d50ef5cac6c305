/* The kernel library of the CPU target. These kernels are compiled to LLVM
 * bitcode for each target architecture when dnnc is built; codegen/llvm
 * links them into every module and calls them with a constant descriptor,
 * so that after inlining each layer is a function specialised to its
 * static shapes.
 *
 * Every kernel has the same signature:
 *   void dnnk_OP(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
 * ptrs[0] is the output, ptrs[1 .. n_in] the operands, then the weights in
 * the order the IR declares them. [begin, end) is a range of the kernel's
 * parallel units (dnnk_units tells how many there are); any split of the
 * range over threads computes the same result.
 *
 * This header is shared by dnnc (which fills descriptors) and the kernels,
 * so it must stay plain C with fixed-width fields. */
#ifndef DNNK_H
#define DNNK_H

#include <stdint.h>

#define DNNK_RANK 8
#define DNNK_MAX_IN 8

/* Element types, as the IR's ElemKind numbers them. */
enum { DNNK_F32 = 0, DNNK_I8 = 3, DNNK_U8 = 4, DNNK_I32 = 6 };

typedef struct dnnk_tensor {
    int64_t rank;
    int64_t dims[DNNK_RANK];
    int64_t type; /* DNNK_F32, ... */
} dnnk_tensor;

typedef struct dnnk_desc {
    dnnk_tensor out;
    int64_t n_in;
    dnnk_tensor in[DNNK_MAX_IN];
    int64_t i[40]; /* integer attributes, laid out per kernel (see kernels.c) */
    double f[8];   /* real attributes */
} dnnk_desc;

/* Indices into dnnk_desc.i for convolutions (conv, conv_integer, qlinear_conv). */
enum {
    CONV_KH, CONV_KW, CONV_SH, CONV_SW, CONV_DH, CONV_DW,
    CONV_PT, CONV_PL, CONV_PB, CONV_PR, CONV_GROUPS, CONV_BIAS, CONV_ACT,
    CONV_PER_CHANNEL,
    CONV_SCALE, /* 1: a per-filter scale and shift follow the bias (folded batch norm) */
    CONV_NR,    /* pixels per tile of the kernel library in use */
};

/* Fused activations (the epilogue of conv and fc). */
enum { DNNK_ACT_NONE, DNNK_ACT_RELU };

/* Micro-kernel blocking of the convolution GEMM: MR filters x NR pixels
 * accumulate in registers (two vectors per filter); weights are packed in
 * panels of MR filters. The kernel library is built with 8-lane vectors
 * (NR 16) and, for x86-64 with AVX-512, 16-lane vectors (NR 32);
 * descriptors carry the NR of the library they are for (CONV_NR). */
#define DNNK_MR 6
#ifndef DNNK_LANES
#define DNNK_LANES 8
#endif
#define DNNK_NR (2 * DNNK_LANES)

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

/* conv: units are (image, group, tile of CONV_NR output pixels); each unit
 * computes every filter of its group, so one pixel panel serves them all. */
static inline int64_t dnnk_conv_units(const dnnk_desc *d)
{
    int64_t groups = d->i[CONV_GROUPS];
    int64_t pixels = d->out.dims[2] * d->out.dims[3];
    return d->out.dims[0] * groups * dnnk_ceil_div(pixels, d->i[CONV_NR]);
}

/* Packed conv weights: [groups][ceil(Fg / MR)][K][MR], K = Cg * kh * kw in
 * (c, ky, kx) order, missing filters of the last panel zero. */
static inline int64_t dnnk_packed_conv_weights(int64_t filters, int64_t groups, int64_t k)
{
    return groups * dnnk_ceil_div(filters / groups, DNNK_MR) * k * DNNK_MR;
}

static inline int64_t dnnk_chunks(const dnnk_tensor *t) { return dnnk_ceil_div(dnnk_count(t), DNNK_CHUNK); }

#endif
