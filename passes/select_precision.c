/* select-precision: owns @precision, the element type a layer computes in
 * (survey VII-A). After the quantize pass, a layer computes in f32, as a
 * qlinear_conv in i8 (int8, fixed8) or i16 (fixed16), or as a coded_conv
 * with weight codes (log2<b>, codebook<b>, binary, ternary); @precision
 * says which it must be, and any other type (fixed<b,f> by hand) is an
 * error naming the layer (docs/quantization.md). */
#include "pass.h"
#include "target.h"

/* Whether @precision(t) names something a layer can compute in. */
static bool precision_exists(ElemKind k)
{
    return k == ELEM_F32 || k == ELEM_I8 || k == ELEM_I16 || elem_is_code(k);
}

/* The type layer n computes in, as @precision spells it. */
static ElemType computes_in(const Graph *g, const Node *n)
{
    if (n->op == OP_QLINEAR_CONV || n->op == OP_CONV_INTEGER)
        return elem_type_default((ElemKind)n->attr.qconv.weight_type);
    if (n->op == OP_CODED_CONV)
        return g->tensors[n->params[0]].type;
    return g->tensors[n->output].type;
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
        ElemKind want_kind = n->ann.precision.kind;
        ElemType have = computes_in(g, n);
        char have_text[32];
        elem_type_format(have, have_text, sizeof have_text);
        if (!precision_exists(want_kind)) {
            diag_error(o->diag, n->loc,
                       "layer '%s': @precision(%s) is not implemented yet: dnnc computes in f32, "
                       "i8, i16 or weight codes (see docs/quantization.md)", n->name, want);
            ok = false;
        } else if (want_kind != ELEM_F32 && n->op != OP_QLINEAR_CONV && n->op != OP_CODED_CONV) {
            diag_error(o->diag, n->loc,
                       "layer '%s': @precision(%s) applies to conv and fc layers, which the quantize "
                       "pass turns into qlinear_conv or coded_conv; target %s does not run that pass",
                       n->name, want, o->target ? o->target->name : "?");
            ok = false;
        } else if (want_kind == ELEM_F32 ? have.kind != ELEM_F32 : !elem_type_equal(have, n->ann.precision)) {
            diag_error(o->diag, n->loc, "layer '%s': @precision(%s) cannot apply to a layer that computes %s",
                       n->name, want, have_text);
            ok = false;
        }
    }
    return ok;
}
