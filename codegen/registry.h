/* The kernel registry of the cpu target as data: one row per kernel of the
 * library, written once in kernels.def. The select-algo pass reads these
 * rows (through the target table) to know which algorithms exist; code
 * generation reads the same rows, with their descriptor and weight-packing
 * functions, to bind each layer to its kernel. */
#ifndef DNNC_REGISTRY_H
#define DNNC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* The instruction sets a registry row's kernel needs. ISA_ANY rows are
 * portable C compiled into every build of the library; ISA_X86_64 and
 * ISA_AARCH64 rows need their architecture's builds, ISA_X86_64_AVX512 rows
 * the AVX-512 build (16-lane vectors). The others are extensions that a
 * target's CPU features add to one build: AVX2 and AVX-VNNI to the x86-64
 * build (8 lanes), AVX-512BW and AVX-512 VNNI to the AVX-512 build, the
 * dot-product instructions to the AArch64 build. The
 * library in use is described by the most specific of them its target has;
 * kernel_isa_parent gives the set it stands for. */
typedef enum {
    ISA_ANY,
    ISA_X86_64,
    ISA_X86_64_AVX512,
    ISA_AARCH64,
    ISA_X86_64_AVX2,
    ISA_X86_64_AVX_VNNI,
    ISA_X86_64_AVX512_BW,
    ISA_X86_64_AVX512_VNNI,
    ISA_X86_64_AVX512_VBMI, /* VNNI and VBMI (vpermi2b): Ice Lake, Zen 4 and later */
    ISA_AARCH64_DOTPROD,    /* Armv8.2's sdot and udot (+dotprod): Cortex-A55, A76, Neoverse N1 and later */
} KernelIsa;

/* What isa extends (AVX-512 VNNI -> AVX-512BW -> AVX-512 -> x86-64 ->
 * any; AVX-VNNI -> AVX2 -> x86-64; AArch64 dotprod -> AArch64): a library with isa also runs every row
 * of its parents. ISA_ANY is its own parent. */
KernelIsa kernel_isa_parent(KernelIsa isa);

/* A set of element kinds: bit k stands for ElemKind k. */
#define ELEM_BIT(k) (1u << (k))
#define ELEMS_FLOAT ELEM_BIT(ELEM_F32)
#define ELEMS_QUANT (ELEM_BIT(ELEM_I8) | ELEM_BIT(ELEM_U8))
/* The 8-bit grids and fixed16's i16 (docs/quantization.md). */
#define ELEMS_QUANT16 (ELEMS_QUANT | ELEM_BIT(ELEM_I16))
#define ELEMS_INT (ELEMS_QUANT16 | ELEM_BIT(ELEM_I32))
#define ELEMS_DATA (ELEMS_FLOAT | ELEMS_INT)

#define KERNEL_MAX_TILES 4
/* The tiles column of kernels.def's KERNEL_ROW_TILED rows. */
#define TILES(...) {__VA_ARGS__}

/* A set of layouts: bit l stands for Layout l. */
#define LAYOUT_BIT(l) (1u << (l))
/* The layout columns of kernels.def's KERNEL_ROW_LAYOUT rows. */
#define LAYOUTS_PLAIN LAYOUT_BIT(LAYOUT_NCHW)
#define LAYOUTS_BLOCKED LAYOUT_BIT(LAYOUT_NCHW16C)
#define LAYOUTS_ALL (LAYOUTS_PLAIN | LAYOUTS_BLOCKED)
/* writes: the layout the kernel read (KernelRow.writes). */
#define LAYOUT_SAME (-1)
/* writes: the layout of the layer's @layout (a reorder's). */
#define LAYOUT_ANNOTATED (-2)

/* What a row's kernel computes beyond its op and types: whether it can
 * compute layer n reading its operands in layout `reads`; if not, why (a
 * phrase). */
typedef bool (*KernelAccepts)(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz);

typedef struct KernelRow {
    OpKind op;
    ConvAlgo algo;   /* ALGO_AUTO for ops without a choice of algorithm */
    uint32_t types;  /* element kinds of the operands the kernel accepts */
    KernelIsa isa;
    const char *kernel; /* the function in the kernel library */
    /* The tiles of algo (ir/conv_algo.h) the kernel runs, ascending, 0 after
     * the last; none listed: every tile the algorithm has. */
    int tiles[KERNEL_MAX_TILES];
    uint32_t reads; /* LAYOUT_BITs: the layouts it reads its operands in */
    int writes;     /* the Layout it writes, or LAYOUT_SAME, LAYOUT_ANNOTATED */
    KernelAccepts accepts; /* NULL: every layer of its op and types */
    /* The encoding of the weights the kernel reads (SPARSE_NONE: dense) and,
     * for a sparse one, the density of non-zero weights at or below which
     * select-sparsity chooses it: the crossover measured on the target
     * (bench/sparse.py); 0: only where @sparse or --sparse asks for it. */
    SparseFormat sparse;
    double crossover;
    /* The kernel library's function that checks a call's packed weights
     * before the generated code runs any layer (a weights file loaded at
     * run time may be damaged); NULL: none. */
    const char *check;
} KernelRow;

/* The encoding of the weights layer n computes with: its @sparse, dense
 * when it has none. */
static inline SparseFormat kernel_layer_sparse(const Node *n)
{
    return n->ann.has_sparse ? n->ann.sparse : SPARSE_NONE;
}

/* Whether row r computes layer n reading its operands in layout `reads`:
 * its op, operand types and layouts, its weights' encoding (the layer's
 * @sparse) and what its kernel accepts; if not,
 * why in `why` (may be NULL). */
bool kernel_row_applies(const KernelRow *r, const Graph *g, const Node *n, Layout reads, char *why,
                        size_t whysz);

/* The layout a layer bound to row r writes, reading `reads`. */
Layout kernel_row_writes(const KernelRow *r, const Node *n, Layout reads);

/* The layout layer n reads its activation operands in: its first
 * operand's (a layer's operands share one layout; select-layout sees to
 * it); plain for a layer without operands. */
Layout kernel_row_layout(const Graph *g, const Node *n);

/* Whether row r runs tile `tile` of its algorithm (0: no tile, always). */
bool kernel_row_has_tile(const KernelRow *r, int tile);

/* "2 or 4": the tiles r lists, for messages; "" if it lists none. */
void kernel_row_tiles_text(const KernelRow *r, char *buf, size_t size);

/* The rows of the cpu target, in kernels.def order; their number in
 * *count unless count is NULL. */
const KernelRow *cpu_kernel_rows(int *count);

/* The cpu row for op under algo on plain operands of element kind `type`
 * and dense weights, for the library described by isa: the isa's own row
 * if there is one, else its parent's, and so on up to a portable (ISA_ANY)
 * row; NULL if none exists. */
const KernelRow *cpu_kernel_find(OpKind op, ConvAlgo algo, ElemKind type, KernelIsa isa);

/* The row that binds layer n (its op, recorded algorithm, type, the
 * layout it reads and the one it writes) for the library described by
 * isa, as cpu_kernel_find chooses; if none writes the layer's layout, one
 * that computes it in another (code generation then names the mismatch);
 * NULL if none computes it. */
const KernelRow *cpu_kernel_for_layer(const Graph *g, const Node *n, KernelIsa isa);

/* The element kind a layer is looked up by: its first operand's (which
 * for the quantised ops is the quantised side), or its output's for a layer
 * without operands (constant). */
ElemKind kernel_row_type(const Graph *g, const Node *n);

#endif
