/* The accepts column of the registry's rows that read blocked layouts
 * (layout_rules.h). */
#include "layout_rules.h"

#include <stdio.h>

bool layout_accepts_blocked_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    const Shape *in = &g->tensors[n->inputs[0]].shape, *out = &g->tensors[n->output].shape;
    int64_t groups = n->attr.conv.groups, channels = in->d[1], filters = out->d[1];
    if (groups != 1 && !(groups == channels && groups == filters)) {
        snprintf(why, whysz, "its blocked kernel computes groups 1 or depthwise convs, not %lld groups",
                 (long long)groups);
        return false;
    }
    return layout_fits_shape(LAYOUT_NCHW16C, out, why, whysz);
}

bool layout_accepts_blocked_winograd(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    if (n->attr.conv.groups != 1) {
        snprintf(why, whysz, "its blocked Winograd kernel computes groups 1 only, not %lld groups",
                 (long long)n->attr.conv.groups);
        return false;
    }
    return layout_fits_shape(LAYOUT_NCHW16C, &g->tensors[n->output].shape, why, whysz);
}

bool layout_accepts_plain_input_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    int64_t channels = g->tensors[n->inputs[0]].shape.d[1];
    if (n->attr.conv.groups != 1) {
        snprintf(why, whysz, "its kernel reading plain input computes groups 1 only");
        return false;
    }
    if (channels > LAYOUT_BLOCK) {
        snprintf(why, whysz, "its kernel reading plain input takes at most %d channels, not %lld",
                 LAYOUT_BLOCK, (long long)channels);
        return false;
    }
    if (n->n_inputs > 1) {
        snprintf(why, whysz, "its kernel reading plain input takes no residual");
        return false;
    }
    return layout_fits_shape(LAYOUT_NCHW16C, &g->tensors[n->output].shape, why, whysz);
}

bool layout_accepts_elementwise(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    if (reads == LAYOUT_NCHW)
        return true;
    const Shape *out = &g->tensors[n->output].shape;
    int64_t axis = n->op == OP_CONCAT ? n->attr.axis.axis : 1;
    if (axis < 0)
        axis += out->rank;
    if (axis != 1) {
        snprintf(why, whysz, "a blocked concat joins channels only (axis 1)");
        return false;
    }
    for (int i = 0; i < n->n_inputs; i++) {
        const Shape *s = &g->tensors[n->inputs[i]].shape;
        if (n->op != OP_CONCAT && !shape_equal(s, out)) {
            snprintf(why, whysz, "in %s its operands must have the output's shape (no broadcast)",
                     layout_name(reads));
            return false;
        }
        /* Operands laid end to end, as stored: only the last may pad. */
        if (n->op == OP_CONCAT && i + 1 < n->n_inputs && s->rank == 4 &&
            layout_stored_channels(reads, s->d[1]) != s->d[1]) {
            snprintf(why, whysz, "a blocked concat's operands but the last must fill whole blocks of %d "
                     "channels (operand %d has %lld)", LAYOUT_BLOCK, i + 1, (long long)s->d[1]);
            return false;
        }
    }
    return layout_fits_shape(reads, out, why, whysz);
}
