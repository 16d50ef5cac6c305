/* The cpu target's kernel registry as data: kernels.def expanded into its
 * data columns only, so that the target table and the passes can read it
 * without LLVM or the kernel library. codegen/llvm/bind.c expands the same
 * rows, in the same order, into the functions that bind a layer. */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "layout_rules.h"
#include "sparse_rules.h"

static const KernelRow rows[] = {
#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack) \
    {OP_##op, ALGO_##algo, types, ISA_##isa, #symbol, {0}, LAYOUTS_PLAIN, LAYOUT_SAME, NULL, SPARSE_NONE, 0, NULL},
#define KERNEL_ROW_TILED(tiles, op, algo, types, isa, symbol, descriptor, describe, pack) \
    {OP_##op, ALGO_##algo, types, ISA_##isa, #symbol, tiles, LAYOUTS_PLAIN, LAYOUT_SAME, NULL, SPARSE_NONE, 0,   \
     NULL},
#define KERNEL_ROW_LAYOUT(reads, writes, accepts, op, algo, types, isa, symbol, descriptor, describe, pack) \
    {OP_##op, ALGO_##algo, types, ISA_##isa, #symbol, {0}, reads, writes, accepts, SPARSE_NONE, 0, NULL},
#define KERNEL_ROW_SPARSE(format, crossover, accepts, check, op, algo, types, isa, symbol, descriptor, describe, \
                          pack)                                                                                 \
    {OP_##op, ALGO_##algo, types, ISA_##isa, #symbol, {0}, LAYOUTS_PLAIN, LAYOUT_SAME, accepts, format,          \
     crossover, #check},
#include "kernels.def"
#undef KERNEL_ROW
};

bool kernel_row_applies(const KernelRow *r, const Graph *g, const Node *n, Layout reads, char *why,
                        size_t whysz)
{
    char scratch[8];
    if (!why)
        why = scratch, whysz = sizeof scratch;
    if (r->op != n->op || !(r->types & ELEM_BIT(kernel_row_type(g, n)))) {
        snprintf(why, whysz, "not this op or type");
        return false;
    }
    if (r->sparse != kernel_layer_sparse(n)) {
        snprintf(why, whysz, "its kernel reads %s weights", sparse_format_name(r->sparse));
        return false;
    }
    if (!(r->reads & LAYOUT_BIT(reads))) {
        snprintf(why, whysz, "it does not read %s", layout_name(reads));
        return false;
    }
    for (int i = 0; i < n->n_inputs; i++)
        if (!layout_fits_shape(reads, &g->tensors[n->inputs[i]].shape, why, whysz))
            return false;
    return !r->accepts || r->accepts(g, n, reads, why, whysz);
}

Layout kernel_row_writes(const KernelRow *r, const Node *n, Layout reads)
{
    if (r->writes == LAYOUT_SAME)
        return reads;
    if (r->writes == LAYOUT_ANNOTATED)
        return n->ann.has_layout ? n->ann.layout : LAYOUT_NCHW;
    return (Layout)r->writes;
}

Layout kernel_row_layout(const Graph *g, const Node *n)
{
    return n->n_inputs > 0 ? graph_tensor_layout(g, n->inputs[0]) : LAYOUT_NCHW;
}

bool kernel_row_has_tile(const KernelRow *r, int tile)
{
    if (tile == 0 || r->tiles[0] == 0)
        return true;
    for (int i = 0; i < KERNEL_MAX_TILES && r->tiles[i]; i++)
        if (r->tiles[i] == tile)
            return true;
    return false;
}

void kernel_row_tiles_text(const KernelRow *r, char *buf, size_t size)
{
    int n = 0;
    while (n < KERNEL_MAX_TILES && r->tiles[n])
        n++;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(buf);
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        snprintf(buf + len, size - len, "%s%d", sep, r->tiles[i]);
    }
}

const KernelRow *cpu_kernel_rows(int *count)
{
    if (count)
        *count = (int)(sizeof rows / sizeof *rows);
    return rows;
}

KernelIsa kernel_isa_parent(KernelIsa isa)
{
    switch (isa) {
    case ISA_X86_64_AVX512_VBMI: return ISA_X86_64_AVX512_VNNI;
    case ISA_X86_64_AVX512_VNNI: return ISA_X86_64_AVX512_BW;
    case ISA_X86_64_AVX512_BW: return ISA_X86_64_AVX512;
    case ISA_X86_64_AVX_VNNI: return ISA_X86_64_AVX2;
    case ISA_X86_64_AVX512:
    case ISA_X86_64_AVX2: return ISA_X86_64;
    case ISA_AARCH64_DOTPROD: return ISA_AARCH64;
    default: return ISA_ANY;
    }
}

/* The first row for (op, algo, type) on plain operands and dense weights
 * that needs exactly isa. */
static const KernelRow *find_for(OpKind op, ConvAlgo algo, ElemKind type, KernelIsa isa)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const KernelRow *r = &rows[i];
        if (r->op == op && r->algo == algo && (r->types & ELEM_BIT(type)) && r->isa == isa &&
            (r->reads & LAYOUTS_PLAIN) && r->sparse == SPARSE_NONE)
            return r;
    }
    return NULL;
}

const KernelRow *cpu_kernel_find(OpKind op, ConvAlgo algo, ElemKind type, KernelIsa isa)
{
    for (;; isa = kernel_isa_parent(isa)) {
        const KernelRow *r = find_for(op, algo, type, isa);
        if (r || isa == ISA_ANY)
            return r;
    }
}

const KernelRow *cpu_kernel_for_layer(const Graph *g, const Node *n, KernelIsa isa)
{
    Layout reads = kernel_row_layout(g, n), writes = graph_tensor_layout(g, n->output);
    const KernelRow *other = NULL; /* one that computes the layer in another layout */
    for (;; isa = kernel_isa_parent(isa)) {
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            const KernelRow *r = &rows[i];
            if (r->isa != isa || r->algo != n->ann.algo || !kernel_row_applies(r, g, n, reads, NULL, 0))
                continue;
            if (kernel_row_writes(r, n, reads) == writes)
                return r;
            other = other ? other : r;
        }
        if (isa == ISA_ANY)
            return other;
    }
}

ElemKind kernel_row_type(const Graph *g, const Node *n)
{
    return g->tensors[n->n_inputs > 0 ? n->inputs[0] : n->output].type.kind;
}
