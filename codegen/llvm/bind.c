/* The registry's functions: kernels.def expanded a second time, in the
 * order registry.c expands it, so that row i of cpu_kernel_rows is bound by
 * functions[i]. A layer is looked up once, by cpu_kernel_find. */
#include "bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"
#include "describe.h"

/* Each row's describe function behind the one type DescribeFn: it fills
 * the row's descriptor struct, whose bytes the call then carries. */
#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack)                     \
    static int bind_##op##_##algo##_##isa##_##symbol(const CallSite *s, KernelCall *c)           \
    {                                                                                            \
        _Static_assert(sizeof(descriptor) <= CALL_DESC_MAX, #descriptor " fits KernelCall.desc"); \
        descriptor d;                                                                            \
        memset(&d, 0, sizeof d);                                                                 \
        int calls = describe(s, c, &d);                                                          \
        memcpy(c->desc, &d, sizeof d);                                                           \
        c->desc_size = sizeof d;                                                                 \
        return calls;                                                                            \
    }
#include "kernels.def"
#undef KERNEL_ROW

static const struct {
    DescribeFn describe;
    PackFn pack;
} functions[] = {
#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack) \
    {bind_##op##_##algo##_##isa##_##symbol, pack},
#include "kernels.def"
#undef KERNEL_ROW
};

/* The tile the layer's algorithm runs (0: none), which its row must have. */
static int layer_tile(const Node *n)
{
    return n->op == OP_CONV ? conv_algo_tile(n->ann.algo, n->ann.algo_tile, &n->attr.conv) : 0;
}

/* row: the layer's row when only its tile is missing, else NULL. */
static void no_kernel(const Graph *g, const Node *n, const KernelRow *row, ConvAlgo algo, char *err,
                      size_t errsz)
{
    if (n->op == OP_CONV && algo == ALGO_AUTO) {
        /* Code generation chooses nothing: the cpu pipeline's select-algo
         * pass records every conv's algorithm. */
        snprintf(err, errsz, "layer '%s': no algorithm is recorded for conv (run the cpu target's "
                             "pass pipeline first)", n->name);
        return;
    }
    char how[64] = "";
    if (row)
        snprintf(how, sizeof how, " (%s, tile %d)", conv_algo_name(algo), layer_tile(n));
    else if (algo != ALGO_AUTO)
        snprintf(how, sizeof how, " (%s)", conv_algo_name(algo));
    Layout reads = kernel_row_layout(g, n);
    snprintf(err, errsz, "layer '%s': the cpu target has no kernel for %s%s on %s%s%s", n->name,
             op_name(n->op), how, elem_kind_name(kernel_row_type(g, n)), reads == LAYOUT_NCHW ? "" : " in ",
             reads == LAYOUT_NCHW ? "" : layout_name(reads));
}

KernelBinding *bind_graph(const Graph *g, KernelIsa isa, char *err, size_t errsz)
{
    const KernelRow *rows = cpu_kernel_rows(NULL);
    KernelBinding *b = calloc((size_t)g->n_nodes + 1, sizeof *b);
    if (!b) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        ConvAlgo algo = n->ann.algo;
        const KernelRow *row = cpu_kernel_for_layer(g, n, isa);
        if (!row || !kernel_row_has_tile(row, layer_tile(n))) {
            no_kernel(g, n, row, algo, err, errsz);
            free(b);
            return NULL;
        }
        /* Layouts are select-layout's: code generation only checks that
         * the kernel writes what the layer says it does. */
        Layout reads = kernel_row_layout(g, n), writes = graph_tensor_layout(g, n->output);
        if (kernel_row_writes(row, n, reads) != writes) {
            snprintf(err, errsz, "layer '%s': its kernel %s writes %s, the layer says %s (run the cpu "
                     "target's pass pipeline first)", n->name, row->kernel,
                     layout_name(kernel_row_writes(row, n, reads)), layout_name(writes));
            free(b);
            return NULL;
        }
        /* The fast kernels compute only what their algorithm can (the FFT's
         * tiles would be empty for a kernel as large as the transform):
         * select-algo refuses the rest, and a graph that skipped it too. */
        char why[256];
        if (n->op == OP_CONV && !conv_algo_applies(algo, &n->attr.conv, layer_tile(n), why, sizeof why)) {
            snprintf(err, errsz, "layer '%s': %s cannot compute it: %s", n->name, conv_algo_name(algo), why);
            free(b);
            return NULL;
        }
        size_t k = (size_t)(row - rows);
        b[i] = (KernelBinding){row, functions[k].describe, functions[k].pack};
    }
    return b;
}
