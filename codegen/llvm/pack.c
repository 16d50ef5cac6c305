#include "pack.h"

#include "dnnk.h"

size_t pack_conv_panels(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], G = n->attr.conv.groups, Fg = F / G;
    int64_t K = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
    size_t bytes = (size_t)dnnk_packed_conv_weights(F, G, K) * sizeof(float);
    if (!out)
        return bytes;
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR);
    const float *src = w->data;
    float *dst = out;
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t b = 0; b < panels; b++)
            for (int64_t kk = 0; kk < K; kk++)
                for (int64_t r = 0; r < DNNK_MR; r++) {
                    int64_t f = b * DNNK_MR + r;
                    *dst++ = f < Fg ? src[(grp * Fg + f) * K + kk] : 0.0f;
                }
    return bytes;
}
