/* The kernel registry of the cpu target as data: one row per kernel of the
 * library, written once in kernels.def. The select-algo pass reads these
 * rows (through the target table) to know which algorithms exist; code
 * generation reads the same rows, with their descriptor and weight-packing
 * functions, to bind each layer to its kernel. */
#ifndef DNNC_REGISTRY_H
#define DNNC_REGISTRY_H

#include <stdint.h>

#include "graph.h"

/* The instruction sets the kernel library is built for; ISA_ANY rows are
 * portable C compiled into every build of the library. */
typedef enum { ISA_ANY, ISA_X86_64, ISA_X86_64_AVX512, ISA_AARCH64 } KernelIsa;

/* A set of element kinds: bit k stands for ElemKind k. */
#define ELEM_BIT(k) (1u << (k))
#define ELEMS_FLOAT ELEM_BIT(ELEM_F32)
#define ELEMS_QUANT (ELEM_BIT(ELEM_I8) | ELEM_BIT(ELEM_U8))
#define ELEMS_INT (ELEMS_QUANT | ELEM_BIT(ELEM_I32))
#define ELEMS_DATA (ELEMS_FLOAT | ELEMS_INT)

typedef struct KernelRow {
    OpKind op;
    ConvAlgo algo;   /* ALGO_AUTO for ops without a choice of algorithm */
    uint32_t types;  /* element kinds of the operands the kernel accepts */
    KernelIsa isa;
    const char *kernel; /* the function in the kernel library */
} KernelRow;

/* The rows of the cpu target, in kernels.def order; their number in
 * *count unless count is NULL. */
const KernelRow *cpu_kernel_rows(int *count);

/* The cpu row for op under algo on operands of element kind `type`, for
 * the library built for isa: the isa's own row if there is one, else a
 * portable (ISA_ANY) row; NULL if neither exists. */
const KernelRow *cpu_kernel_find(OpKind op, ConvAlgo algo, ElemKind type, KernelIsa isa);

/* The element kind a layer is looked up by: its first operand's (which
 * for the quantised ops is the quantised side), or its output's for a layer
 * without operands (constant). */
ElemKind kernel_row_type(const Graph *g, const Node *n);

#endif
