/* select-precision: owns @precision, the element type a layer computes in
 * (survey VII-A). dnnc computes every float layer in f32 so far, so
 * @precision(f32) is honoured and every other type is an error naming the
 * layer, until the quantisation passes exist (docs/roadmap.md). */
#include "pass.h"

bool pass_select_precision(Graph *g, const PassOptions *o, PassReport *r)
{
    (void)r;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->ann.has_precision)
            continue;
        char want[32], have[32];
        elem_type_format(n->ann.precision, want, sizeof want);
        elem_type_format(g->tensors[n->output].type, have, sizeof have);
        if (n->ann.precision.kind != ELEM_F32) {
            diag_error(o->diag, n->loc,
                       "layer '%s': @precision(%s) is not implemented yet: dnnc computes in f32 "
                       "only (see docs/roadmap.md)", n->name, want);
            ok = false;
        } else if (g->tensors[n->output].type.kind != ELEM_F32) {
            diag_error(o->diag, n->loc, "layer '%s': @precision(f32) cannot apply to a layer that computes %s",
                       n->name, have);
            ok = false;
        }
    }
    return ok;
}
