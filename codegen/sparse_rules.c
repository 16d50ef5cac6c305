/* The layers the sparse kernels compute (sparse_rules.h). */
#include "sparse_rules.h"

#include <stdint.h>
#include <stdio.h>

#include "kernels/dnnk.h"

static bool weights_fit(const Graph *g, const Node *n, char *why, size_t whysz)
{
    if (shape_elems(&g->tensors[n->params[0]].shape) <= INT32_MAX)
        return true;
    snprintf(why, whysz, "its sparse kernel takes at most 2^31 - 1 weights");
    return false;
}

bool sparse_accepts_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    return weights_fit(g, n, why, whysz);
}

bool sparse_accepts_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    const ConvAttrs *a = &n->attr.conv;
    bool pointwise = a->kernel[0] == 1 && a->kernel[1] == 1 && a->stride[0] == 1 && a->stride[1] == 1 &&
                     a->groups == 1;
    for (int i = 0; i < 4; i++)
        pointwise = pointwise && a->pad[i] == 0;
    if (!pointwise) {
        snprintf(why, whysz, "its sparse conv kernel computes 1x1 convs of stride 1, unpadded, groups 1 only");
        return false;
    }
    if (g->tensors[n->inputs[0]].shape.d[1] > DNNK_SPARSE_MAX_CHANNELS) {
        snprintf(why, whysz, "its sparse conv kernel takes at most %d input channels", DNNK_SPARSE_MAX_CHANNELS);
        return false;
    }
    return weights_fit(g, n, why, whysz);
}

bool sparse_accepts_conv_taps(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    const Shape *w = &g->tensors[n->params[0]].shape;
    if (w->d[1] * w->d[2] * w->d[3] > DNNK_SPARSE_MAX_CHANNELS) {
        snprintf(why, whysz, "its sparse conv kernel takes at most %d taps a filter", DNNK_SPARSE_MAX_CHANNELS);
        return false;
    }
    return weights_fit(g, n, why, whysz);
}

int64_t sparse_stored_bytes(const Graph *g, const Node *n)
{
    const SparseData *s = n->n_params ? g->tensors[n->params[0]].sparse : NULL;
    if (!s)
        return n->n_params ? shape_elems(&g->tensors[n->params[0]].shape) *
                                 elem_type_bits(g->tensors[n->params[0]].type) / 8
                           : 0;
    if (s->format == SPARSE_CSC)
        return dnnk_sparse_fc_bytes(s->rows, s->cols, s->nnz);
    return dnnk_sparse_conv_bytes(s->rows, s->nnz);
}
