/* select-precision: owns @precision, the element type a layer computes in
 * (survey VII-A). After the quantize pass, a layer computes in f32 or, as a
 * qlinear_conv, in i8 (int8, fixed8) or i16 (fixed16); @precision says
 * which it must be, and any other type is an error naming the layer until
 * its quantisation mode exists (docs/quantization.md). */
#include "pass.h"
#include "target.h"

/* The type layer n computes in, as @precision spells it. */
static ElemKind computes_in(const Graph *g, const Node *n)
{
    if (n->op == OP_QLINEAR_CONV || n->op == OP_CONV_INTEGER)
        return (ElemKind)n->attr.qconv.weight_type;
    return g->tensors[n->output].type.kind;
}

bool pass_select_precision(Graph *g, const PassOptions *o, PassReport *r)
{
    (void)r;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->ann.has_precision)
            continue;
        char want[32];
        elem_type_format(n->ann.precision, want, sizeof want);
        ElemKind want_kind = n->ann.precision.kind, have = computes_in(g, n);
        if (want_kind != ELEM_F32 && want_kind != ELEM_I8 && want_kind != ELEM_I16) {
            diag_error(o->diag, n->loc,
                       "layer '%s': @precision(%s) is not implemented yet: dnnc computes in f32, "
                       "i8 or i16 (see docs/quantization.md)", n->name, want);
            ok = false;
        } else if (want_kind != ELEM_F32 && n->op != OP_QLINEAR_CONV) {
            diag_error(o->diag, n->loc,
                       "layer '%s': @precision(%s) applies to conv and fc layers, which the quantize "
                       "pass turns into qlinear_conv; target %s does not run that pass",
                       n->name, want, o->target ? o->target->name : "?");
            ok = false;
        } else if (have != want_kind) {
            diag_error(o->diag, n->loc, "layer '%s': @precision(%s) cannot apply to a layer that computes %s",
                       n->name, want, elem_kind_name(have));
            ok = false;
        }
    }
    return ok;
}
