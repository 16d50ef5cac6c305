#include "pack.h"

#include <string.h>

#include "conv_algo.h"
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

/* G of F(m, 3), Lavin & Gray's matrices for m = 2 and 4 (alpha rows of 3):
 * written out here, independently of the reference executor, which builds
 * its own from the interpolation points; the tests compare the two. */
static const double winograd_g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double winograd_g4[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

/* u = G g G^T (alpha x alpha, row-major) of one 3x3 filter plane, in
 * double and rounded once: the exact fractions of G need no float copy. */
static void winograd_filter_transform(int alpha, const double (*G)[3], const float *g, float *u)
{
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            double sum = 0;
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++)
                    sum += G[i][k] * g[k * 3 + l] * G[j][l];
            u[i * alpha + j] = (float)sum;
        }
}

size_t pack_winograd_filters(const Graph *g, const Node *n, int k, void *out)
{
    if (k != 0)
        return 0;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t F = w->shape.d[0], Cg = w->shape.d[1], G = n->attr.conv.groups, Fg = F / G;
    int m = conv_algo_tile(ALGO_WINOGRAD, n->ann.algo_tile, &n->attr.conv);
    int alpha = m + 2, a2 = alpha * alpha;
    size_t bytes = (size_t)dnnk_packed_winograd_weights(F, G, Cg, m) * sizeof(float);
    if (!out)
        return bytes;
    memset(out, 0, bytes);
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR);
    const float *src = w->data;
    float *dst = out, u[36];
    for (int64_t grp = 0; grp < G; grp++)
        for (int64_t f = 0; f < Fg; f++)
            for (int64_t c = 0; c < Cg; c++) {
                winograd_filter_transform(alpha, m == 2 ? winograd_g2 : winograd_g4,
                                          src + ((grp * Fg + f) * Cg + c) * 9, u);
                int64_t panel = grp * panels + f / DNNK_MR;
                for (int xi = 0; xi < a2; xi++)
                    dst[((panel * a2 + xi) * Cg + c) * DNNK_MR + f % DNNK_MR] = u[xi];
            }
    return bytes;
}
