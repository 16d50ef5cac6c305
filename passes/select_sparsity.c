/* select-sparsity: owns @sparse, the encoding of a layer's weights (survey
 * VII-B3). Weights are stored dense so far, so @sparse(dense) is honoured
 * and CSR, CSC and RLC are errors naming the layer, until the sparse
 * encodings and kernels exist (docs/roadmap.md). */
#include "pass.h"

bool pass_select_sparsity(Graph *g, const PassOptions *o, PassReport *r)
{
    (void)r;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->ann.has_sparse || n->ann.sparse == SPARSE_NONE)
            continue;
        diag_error(o->diag, n->loc,
                   "layer '%s': @sparse(%s) is not implemented yet: weights are stored dense "
                   "(see docs/roadmap.md)", n->name, sparse_format_name(n->ann.sparse));
        ok = false;
    }
    return ok;
}
