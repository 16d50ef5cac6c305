/* select-sparsity: owns @sparse, the encoding of a conv's, fc's or
 * qlinear_conv's weights (survey VII-B3). A layer with bound f32 weights,
 * or i8 ones whose zero point is 0 (a quantised layer's), is encoded as CSR
 * or CSC
 * when a row of its target's kernel registry computes it from that
 * encoding (KernelRow.sparse) and:
 *   - @sparse names the encoding (a forced one the target has no kernel
 *     for on this layer is an error naming the layer and why);
 *   - else --sparse names it (where a kernel computes the layer from it;
 *     elsewhere the layer stays dense, as --conv-algo does), or says `any`:
 *     the first encoding a kernel computes the layer from;
 *   - else the layer's density of non-zero weights is at most the row's
 *     crossover, measured on the target (bench/sparse.py): the first such
 *     row of the registry. A crossover of 0 (the reference's rows) is
 *     never chosen by density.
 * The choice is recorded as @sparse(csr) or @sparse(csc) on the layer,
 * which `dnnc dump` prints and which parses back to the same choice; a
 * layer left dense gets no annotation (no @sparse is dense; a written
 * @sparse(dense) stays). The encoding itself
 * fills the weight's Tensor.sparse (ir/sparse.h), which the reference and
 * the cpu target's packing read. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pass.h"
#include "sparse.h"
#include "target.h"

/* Why layer n's weights cannot be encoded at all, or NULL: they must be
 * bound f32, or i8 read with zero point 0 (ir/sparse.h). */
static const char *unencodable(const Graph *g, const Node *n)
{
    const Tensor *w = &g->tensors[n->params[0]];
    if (!w->data)
        return "its weights are not bound";
    if (!sparse_encodable(w->type.kind))
        return "its weights are not f32 or i8";
    return sparse_zero_is_zero(g, n) ? NULL : "its weight zero point is not 0";
}

/* The registry row of o's target that computes n from weights encoded as
 * f; NULL if none (and why, from the last candidate, in why). */
static const KernelRow *sparse_row(const PassOptions *o, const Graph *g, const Node *n, SparseFormat f,
                                   char *why, size_t whysz)
{
    int count = 0;
    const KernelRow *rows = o->target->registry ? o->target->registry(&count) : NULL;
    Node as_encoded = *n;
    as_encoded.ann.has_sparse = true, as_encoded.ann.sparse = f;
    snprintf(why, whysz, "it has no kernel for %s on %s weights", op_name(n->op), sparse_format_name(f));
    for (int k = 0; k < count; k++) {
        if (rows[k].op != n->op || rows[k].sparse != f)
            continue;
        if (kernel_row_applies(&rows[k], g, &as_encoded, kernel_row_layout(g, n), why, whysz))
            return &rows[k];
    }
    return NULL;
}

/* Whether a layer with nz non-zero weights of count is at most crossover
 * dense: within half a weight, as pruning to that density rounds
 * (passes/prune.c keeps round(D n)). */
static bool within(double crossover, int64_t nz, int64_t count)
{
    return nz <= llround(crossover * (double)count);
}

/* The first sparse row that computes n whose crossover the layer's
 * density is within (any density: every sparse row's, --sparse any). */
static const KernelRow *row_by_density(const PassOptions *o, const Graph *g, const Node *n)
{
    int64_t weights = 0, nz = o->sparse_any ? 0 : sparse_nonzero_weights(g, n, &weights);
    graph_release_data(g, n->params[0]);
    int count = 0;
    const KernelRow *rows = o->target->registry ? o->target->registry(&count) : NULL;
    char why[8];
    for (int k = 0; k < count; k++)
        if (rows[k].op == n->op && rows[k].sparse != SPARSE_NONE &&
            (o->sparse_any || (rows[k].crossover > 0 && within(rows[k].crossover, nz, weights))) &&
            sparse_row(o, g, n, rows[k].sparse, why, sizeof why) == &rows[k])
            return &rows[k];
    return NULL;
}

static void record(Graph *g, Node *n, SparseFormat f, PassReport *r)
{
    Tensor *w = &g->tensors[n->params[0]];
    n->ann.has_sparse = f != SPARSE_NONE;
    n->ann.sparse = f;
    w->sparse = NULL;
    if (f == SPARSE_NONE)
        return;
    w->sparse = sparse_encode_tensor(&g->arena, f, w);
    pass_count(r, f == SPARSE_CSR ? "layers encoded csr" : "layers encoded csc", 1);
}

/* A forced encoding: the layer's @sparse. */
static bool honour_annotation(Graph *g, Node *n, const PassOptions *o, PassReport *r)
{
    SparseFormat f = n->ann.sparse;
    const char *name = sparse_format_name(f);
    if (f == SPARSE_NONE) {
        /* Dense is how weights are stored: honoured on any layer, and
         * kept written as the user wrote it. */
        if (sparse_has_weights(n))
            g->tensors[n->params[0]].sparse = NULL;
        return true;
    }
    if (!sparse_has_weights(n)) {
        diag_error(o->diag, n->loc, "layer '%s': @sparse(%s) cannot be honoured: %s has no weights to encode",
                   n->name, name, op_name(n->op));
        return false;
    }
    const char *cannot = unencodable(g, n);
    if (cannot) {
        diag_error(o->diag, n->loc, "layer '%s': @sparse(%s) cannot be honoured: %s", n->name, name, cannot);
        return false;
    }
    char why[160];
    if (!sparse_row(o, g, n, f, why, sizeof why)) {
        diag_error(o->diag, n->loc, "layer '%s': @sparse(%s) cannot be honoured: target %s: %s", n->name,
                   name, o->target->name, why);
        return false;
    }
    record(g, n, f, r);
    return true;
}

/* No @sparse: --sparse, else the density against the crossovers. */
static void choose(Graph *g, Node *n, const PassOptions *o, PassReport *r)
{
    if (unencodable(g, n))
        return;
    char why[8];
    if (o->force_sparse && o->sparse_any) {
        const KernelRow *row = row_by_density(o, g, n);
        record(g, n, row ? row->sparse : SPARSE_NONE, r);
        return;
    }
    if (o->force_sparse) {
        bool can = o->sparse == SPARSE_NONE || sparse_row(o, g, n, o->sparse, why, sizeof why);
        record(g, n, can ? o->sparse : SPARSE_NONE, r);
        return;
    }
    const KernelRow *row = row_by_density(o, g, n);
    record(g, n, row ? row->sparse : SPARSE_NONE, r);
}

bool pass_select_sparsity(Graph *g, const PassOptions *o, PassReport *r)
{
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->removed)
            continue;
        if (n->ann.has_sparse)
            ok = honour_annotation(g, n, o, r) && ok;
        else if (sparse_has_weights(n))
            choose(g, n, o, r);
    }
    return ok;
}
