/* select-algo (survey V-A): owns @algo. Every conv is bound to one of the
 * algorithms its target's kernel registry has for its element type: the
 * one @algo forces, or else the registry's first row whose algorithm
 * applies to the layer; the cost model that will choose among direct,
 * im2col, Winograd and FFT belongs here. What each algorithm can compute
 * (Winograd: 3x3, stride 1, dilation 1; FFT: stride 1, dilation 1, a kernel
 * smaller than its tile) is a rule of the algorithm, in ir/conv_algo.c, not
 * of the target; which tiles a target's kernel runs is its registry row's
 * (the cpu's Winograd runs F(2x2) and F(4x4)). A forced algorithm the
 * target lacks, or lacks for the tile asked, or one that cannot compute
 * the layer, is an error naming the layer and why. The choice is
 * recorded as @algo, and a Winograd or FFT without a tile gets its default
 * one, so that `dnnc dump` shows what runs and parses back to it. */
#include <stdio.h>
#include <string.h>

#include "conv_algo.h"
#include "pass.h"
#include "target.h"

static bool row_applies(const KernelRow *k, const Graph *g, const Node *n)
{
    ElemKind type = g->tensors[n->inputs[0]].type.kind;
    return k->op == n->op && (k->types & ELEM_BIT(type));
}

static bool algo_applies(ConvAlgo a, const Node *n)
{
    char why[8];
    return conv_algo_applies(a, &n->attr.conv, n->ann.algo_tile, why, sizeof why);
}

/* The tile algorithm a runs n with: the one written, else a's default. */
static int tile_of(ConvAlgo a, const Node *n)
{
    return conv_algo_tile(a, n->ann.algo_tile, &n->attr.conv);
}

/* "im2col, winograd with tile 2 or 4": the algorithms the target has for
 * n, with the tiles of those whose kernels run only some. */
static void list_algorithms(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                            char *buf, size_t size)
{
    buf[0] = '\0';
    for (int k = 0; k < n_rows; k++) {
        if (!row_applies(&rows[k], g, n) || strstr(buf, conv_algo_name(rows[k].algo)))
            continue;
        char tiles[64];
        kernel_row_tiles_text(&rows[k], tiles, sizeof tiles);
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s%s%s", buf[0] ? ", " : "",
                 conv_algo_name(rows[k].algo), tiles[0] ? " with tile " : "", tiles);
    }
    if (!buf[0])
        snprintf(buf, size, "none");
}

/* The row of the forced algorithm with its tile, or with none forced the
 * first row whose algorithm can compute n with its default tile. */
static const KernelRow *find_row(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                                 ConvAlgo algo)
{
    for (int k = 0; k < n_rows; k++) {
        const KernelRow *r = &rows[k];
        if (!row_applies(r, g, n) || !kernel_row_has_tile(r, tile_of(r->algo, n)))
            continue;
        if (algo == ALGO_AUTO ? algo_applies(r->algo, n) : r->algo == algo)
            return r;
    }
    return NULL;
}

/* Whether the target has algo for n at all, whatever the tile. */
static bool has_algorithm(const KernelRow *rows, int n_rows, const Graph *g, const Node *n, ConvAlgo algo)
{
    for (int k = 0; k < n_rows; k++)
        if (row_applies(&rows[k], g, n) && rows[k].algo == algo)
            return true;
    return false;
}

/* "@algo(winograd)" or "@algo(fft, tile=8)", as the user wrote it. */
static void algo_text(const Annotations *a, char *buf, size_t size)
{
    if (a->algo_tile)
        snprintf(buf, size, "@algo(%s, tile=%d)", conv_algo_name(a->algo), a->algo_tile);
    else
        snprintf(buf, size, "@algo(%s)", conv_algo_name(a->algo));
}

static void report_no_row(const Target *t, const KernelRow *rows, int n_rows, const Graph *g,
                          const Node *n, Diag *d)
{
    char have[128], algo[64];
    list_algorithms(rows, n_rows, g, n, have, sizeof have);
    algo_text(&n->ann, algo, sizeof algo);
    if (n->ann.algo == ALGO_AUTO)
        diag_error(d, n->loc, "layer '%s': target %s has no kernel for conv", n->name, t->name);
    else if (has_algorithm(rows, n_rows, g, n, n->ann.algo))
        diag_error(d, n->loc,
                   "layer '%s': %s cannot be honoured: target %s has no %s kernel for conv with "
                   "tile %d (it has: %s)", n->name, algo, t->name, conv_algo_name(n->ann.algo),
                   tile_of(n->ann.algo, n), have);
    else
        diag_error(d, n->loc,
                   "layer '%s': %s cannot be honoured: target %s has no %s kernel for conv (it "
                   "has: %s)", n->name, algo, t->name, conv_algo_name(n->ann.algo), have);
}

static bool bind_conv(const Target *t, const KernelRow *rows, int n_rows, const Graph *g, Node *n,
                      Diag *d, PassReport *r)
{
    const KernelRow *row = find_row(rows, n_rows, g, n, n->ann.algo);
    if (!row) {
        report_no_row(t, rows, n_rows, g, n, d);
        return false;
    }
    char why[256], algo[64];
    if (!conv_algo_applies(row->algo, &n->attr.conv, n->ann.algo_tile, why, sizeof why)) {
        algo_text(&n->ann, algo, sizeof algo);
        diag_error(d, n->loc, "layer '%s': %s cannot apply: %s", n->name, algo, why);
        return false;
    }
    if (n->ann.algo == ALGO_AUTO && t->binds_kernels) {
        n->ann.algo = row->algo;
        pass_count(r, "convolutions bound to an algorithm", 1);
    }
    if (!n->ann.algo_tile && conv_algo_has_tile(n->ann.algo)) {
        n->ann.algo_tile = conv_algo_default_tile(n->ann.algo, &n->attr.conv);
        pass_count(r, "default tiles recorded", 1);
    }
    return true;
}

bool pass_select_algo(Graph *g, const PassOptions *o, PassReport *r)
{
    const Target *t = o->target;
    int n_rows = 0;
    const KernelRow *rows = t->registry ? t->registry(&n_rows) : NULL;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_CONV)
            ok &= bind_conv(t, rows, n_rows, g, &g->nodes[i], o->diag, r);
    return ok;
}
