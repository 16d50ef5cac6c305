/* The cpu target's kernel registry as data: kernels.def expanded into its
 * data columns only, so that the target table and the passes can read it
 * without LLVM or the kernel library. codegen/llvm/bind.c expands the same
 * rows, in the same order, into the functions that bind a layer. */
#include "registry.h"

static const KernelRow rows[] = {
#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack) \
    {OP_##op, ALGO_##algo, types, ISA_##isa, #symbol},
#include "kernels.def"
#undef KERNEL_ROW
};

const KernelRow *cpu_kernel_rows(int *count)
{
    if (count)
        *count = (int)(sizeof rows / sizeof *rows);
    return rows;
}

const KernelRow *cpu_kernel_find(OpKind op, ConvAlgo algo, ElemKind type, KernelIsa isa)
{
    const KernelRow *portable = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const KernelRow *r = &rows[i];
        if (r->op != op || r->algo != algo || !(r->types & ELEM_BIT(type)))
            continue;
        if (r->isa == isa && isa != ISA_ANY)
            return r;
        if (r->isa == ISA_ANY && !portable)
            portable = r;
    }
    return portable;
}

ElemKind kernel_row_type(const Graph *g, const Node *n)
{
    return g->tensors[n->n_inputs > 0 ? n->inputs[0] : n->output].type.kind;
}
