/* The kernel library in one translation unit, compiled to bitcode. Every
 * registry row (codegen/kernels.def) declares its kernel with the row's
 * descriptor type first, so that a kernel defined with another descriptor
 * than dnnc fills for it does not compile. */
#include "common.h"

#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack) \
    void symbol(const descriptor *d, void *const *ptrs, int64_t begin, int64_t end);
#define KERNEL_ROW_SPARSE(format, crossover, accepts, check, op, algo, types, isa, symbol, descriptor, describe, \
                          pack)                                                                                 \
    KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack)                                         \
    int64_t check(const descriptor *d, void *const *ptrs);
#include "kernels.def"
#undef KERNEL_ROW

#include "planes.c"
#include "blocked.c"
#include "conv.c"
#include "conv_direct.c"
#include "coded_conv.c"
#include "eltwise.c"
#include "fft_conv.c"
#include "norm.c"
#include "pool.c"
#include "quant.c"
#include "qgemm.c"
#include "sparse.c"
#include "qsparse.c"
#include "tensor.c"
#include "winograd.c"
#include "winograd_blocked.c"
