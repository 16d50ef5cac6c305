/* The shape of a CONV, FC or QLINEAR_CONV layer as the mapper sees it: seven dimensions
 * of one group (survey Fig. 9). An FC layer is a CONV whose filter is as
 * large as its input, so AlexNet's fc6 reads a 256 x 6 x 6 input with
 * 6 x 6 filters, as in the survey's Table IV. */
#include <string.h>

#include "map.h"

/* a: the conv's geometry (a qlinear_conv's is attr.qconv.conv). */
static bool conv_layer(const Graph *g, const Node *n, const ConvAttrs *a, MapLayer *l)
{
    const Shape *in = &g->tensors[n->inputs[0]].shape, *out = &g->tensors[n->output].shape;
    if (in->rank != 4 || out->rank != 4 || a->groups < 1)
        return false;
    l->groups = a->groups;
    l->dim[DIM_M] = a->filters / a->groups;
    l->dim[DIM_C] = in->d[1] / a->groups;
    l->dim[DIM_P] = out->d[2];
    l->dim[DIM_Q] = out->d[3];
    l->dim[DIM_R] = a->kernel[0];
    l->dim[DIM_S] = a->kernel[1];
    l->stride[0] = a->stride[0], l->stride[1] = a->stride[1];
    l->dilation[0] = a->dilation[0], l->dilation[1] = a->dilation[1];
    l->in_h = in->d[2], l->in_w = in->d[3];
    l->pad_top = a->pad[0], l->pad_left = a->pad[1];
    return true;
}

static bool fc_layer(const Graph *g, const Node *n, MapLayer *l)
{
    const Shape *in = &g->tensors[n->inputs[0]].shape;
    l->groups = 1;
    l->dim[DIM_M] = n->attr.fc.units;
    l->dim[DIM_P] = l->dim[DIM_Q] = 1;
    if (in->rank == 4) {
        l->dim[DIM_C] = in->d[1];
        l->dim[DIM_R] = l->in_h = in->d[2];
        l->dim[DIM_S] = l->in_w = in->d[3];
    } else {
        int64_t k = 1;
        for (int i = 1; i < in->rank; i++)
            k *= in->d[i];
        l->dim[DIM_C] = k;
        l->dim[DIM_R] = l->dim[DIM_S] = l->in_h = l->in_w = 1;
    }
    l->stride[0] = l->stride[1] = l->dilation[0] = l->dilation[1] = 1;
    return true;
}

/* A quantised conv (qlinear_conv, an fc among them) or one with coded
 * weights (coded_conv) runs on the array as the float layer it replaced:
 * the same loops, values of other widths (precision.c). */
bool map_is_layer(const Node *n)
{
    return n->op == OP_CONV || n->op == OP_FC || n->op == OP_QLINEAR_CONV || n->op == OP_CODED_CONV;
}

bool map_layer_from_node(const Graph *g, const Node *n, int64_t batch, MapLayer *out)
{
    memset(out, 0, sizeof *out);
    out->name = n->name;
    out->op = n->op;
    bool ok = n->op == OP_CONV            ? conv_layer(g, n, &n->attr.conv, out)
              : n->op == OP_QLINEAR_CONV ? conv_layer(g, n, &n->attr.qconv.conv, out)
              : n->op == OP_CODED_CONV   ? conv_layer(g, n, &n->attr.coded.conv, out)
              : n->op == OP_FC           ? fc_layer(g, n, out)
                                         : false;
    if (!ok)
        return false;
    out->dim[DIM_N] = batch > 0 ? batch : g->tensors[n->inputs[0]].shape.d[0];
    for (int d = 0; d < DIM_COUNT; d++)
        if (out->dim[d] < 1)
            return false;
    map_precision_of_node(g, n, out);
    return true;
}
