/* The reference kernels, one per op (named in ir/ops.def). */
#ifndef DNNC_REF_KERNELS_H
#define DNNC_REF_KERNELS_H

#include "graph.h"

typedef struct KernelArgs {
    const Node *node;
    const float *const *in;   /* activation operands */
    const Shape *const *in_shape;
    int n_in;
    const float *const *param; /* weights in the order the shape rule declares them */
    float *out;
    const Shape *out_shape;
} KernelArgs;

typedef void (*RefKernel)(const KernelArgs *a);

#define OP(e, s, at, lo, hi, inf, mac, ref) void ref(const KernelArgs *a);
#include "ops.def"
#undef OP

/* Product of dims [from, to): strides for C-order loops. */
int64_t dims_product(const Shape *s, int from, int to);

#endif
