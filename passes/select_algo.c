/* select-algo (survey V-A): owns @algo. Every conv is bound to one of the
 * algorithms its target's kernel registry has for its element type: the
 * one @algo forces (an error naming the layer and what the target has when
 * it has no such kernel), or else the registry's first row, which is the
 * only one so far; the cost model that will choose among direct, im2col,
 * Winograd and FFT belongs here. The choice is recorded as @algo, which
 * `dnnc dump` prints and the parser reads back. */
#include <stdio.h>
#include <string.h>

#include "pass.h"
#include "target.h"

static bool row_applies(const KernelRow *k, const Graph *g, const Node *n)
{
    ElemKind type = g->tensors[n->inputs[0]].type.kind;
    return k->op == n->op && (k->types & ELEM_BIT(type));
}

/* "im2col, direct": the algorithms the target has for n. */
static void list_algorithms(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                            char *buf, size_t size)
{
    buf[0] = '\0';
    for (int k = 0; k < n_rows; k++)
        if (row_applies(&rows[k], g, n) && !strstr(buf, conv_algo_name(rows[k].algo)))
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     conv_algo_name(rows[k].algo));
    if (!buf[0])
        snprintf(buf, size, "none");
}

static const KernelRow *find_row(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                                 ConvAlgo algo)
{
    for (int k = 0; k < n_rows; k++)
        if (row_applies(&rows[k], g, n) && (algo == ALGO_AUTO || rows[k].algo == algo))
            return &rows[k];
    return NULL;
}

bool pass_select_algo(Graph *g, const PassOptions *o, PassReport *r)
{
    const Target *t = o->target;
    int n_rows = 0;
    const KernelRow *rows = t->registry ? t->registry(&n_rows) : NULL;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->op != OP_CONV)
            continue;
        const KernelRow *row = find_row(rows, n_rows, g, n, n->ann.algo);
        if (!row) {
            char have[128];
            list_algorithms(rows, n_rows, g, n, have, sizeof have);
            if (n->ann.algo == ALGO_AUTO)
                diag_error(o->diag, n->loc, "layer '%s': target %s has no kernel for conv", n->name,
                           t->name);
            else
                diag_error(o->diag, n->loc,
                           "layer '%s': @algo(%s) cannot be honoured: target %s has no %s kernel for "
                           "conv (it has: %s)", n->name, conv_algo_name(n->ann.algo), t->name,
                           conv_algo_name(n->ann.algo), have);
            ok = false;
            continue;
        }
        if (n->ann.algo == ALGO_AUTO && t->binds_kernels) {
            n->ann.algo = row->algo;
            pass_count(r, "convolutions bound to an algorithm", 1);
        }
    }
    return ok;
}
