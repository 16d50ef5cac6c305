/* conv_error_measure (conv_error.h): a window of the layer through the
 * algorithm and through the direct sums. */
#include "conv_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* The window: a smaller conv with the same kernel, stride, dilation and
 * padding, whose outputs are among the layer's own sums (the first filters
 * of the first groups, on the top-left corner of the first image). */
typedef struct Window {
    ConvAttrs at;
    Shape is, os;
    int64_t weights; /* floats: the first at.filters filters of the layer */
} Window;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t out_side(int64_t in, int64_t pad_a, int64_t pad_b, int64_t k, int64_t stride,
                        int64_t dilation)
{
    return (in + pad_a + pad_b - (k - 1) * dilation - 1) / stride + 1;
}

/* The window of at most max_filters filters (or whole groups) and inputs
 * of side `side` (or the kernel's, or the layer's when smaller). */
static Window window_of(const Graph *g, const Node *n, int64_t max_filters, int64_t side)
{
    const Shape *is = &g->tensors[n->inputs[0]].shape;
    Window w = {.at = n->attr.conv};
    int64_t G = w.at.groups, Cg = is->d[1] / G, Fg = w.at.filters / G;
    /* Filters within one group are independent: keep at most max_filters
     * of a wide group, or enough whole narrow groups (depthwise) to make
     * that many. */
    int64_t groups = Fg >= max_filters ? 1 : min64(G, max64(1, max_filters / Fg));
    w.at.groups = groups;
    w.at.filters = groups == 1 ? min64(Fg, max_filters) : groups * Fg;
    int64_t H = min64(is->d[2], max64(side, w.at.kernel[0]));
    int64_t W = min64(is->d[3], max64(side, w.at.kernel[1]));
    w.is = (Shape){4, {1, groups * Cg, H, W}};
    w.os = (Shape){4, {1, w.at.filters,
                       out_side(H, w.at.pad[0], w.at.pad[2], w.at.kernel[0], w.at.stride[0],
                                w.at.dilation[0]),
                       out_side(W, w.at.pad[1], w.at.pad[3], w.at.kernel[1], w.at.stride[1],
                                w.at.dilation[1])}};
    w.weights = w.at.filters * Cg * w.at.kernel[0] * w.at.kernel[1];
    return w;
}

/* The multiply-adds of the window's direct sums, in double: the product
 * of a fuzzed layer's sizes may not fit an int64. */
static double window_macs(const Window *w)
{
    return (double)w->os.d[1] * (double)(w->is.d[1] / w->at.groups) * (double)w->at.kernel[0] *
           (double)w->at.kernel[1] * (double)w->os.d[2] * (double)w->os.d[3];
}

/* Whether w still holds one whole output tile of c (or the whole layer,
 * when the layer is smaller than a tile). */
static bool holds_a_tile(const Window *w, AlgoChoice c, const Shape *layer_os)
{
    for (int dim = 0; dim < 2; dim++)
        if (w->os.d[2 + dim] <
            min64(conv_algo_output_tile(c.algo, c.tile, w->at.kernel[dim]), layer_os->d[2 + dim]))
            return false;
    return true;
}

/* The largest window within CONV_ERROR_MAX_MACS: CONV_ERROR_FILTERS
 * filters when they fit, else fewer, down to one (the accumulation over
 * the group's channels, which the error grows with, stays whole), then a
 * smaller side, down to one whole output tile of c. False when even that
 * is too large. */
static bool window_within_budget(const Graph *g, const Node *n, AlgoChoice c, Window *w)
{
    for (int64_t filters = CONV_ERROR_FILTERS; filters >= 1; filters /= 2) {
        *w = window_of(g, n, filters, CONV_ERROR_SIDE);
        if (window_macs(w) <= CONV_ERROR_MAX_MACS)
            return true;
    }
    const Shape *layer_os = &g->tensors[n->output].shape;
    for (int64_t side = CONV_ERROR_SIDE - 1; side >= 1; side--) {
        *w = window_of(g, n, 1, side);
        if (!holds_a_tile(w, c, layer_os))
            return false;
        if (window_macs(w) <= CONV_ERROR_MAX_MACS)
            return true;
    }
    return false;
}

/* splitmix64: the same numbers on every machine and run. */
static double uniform01(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

/* The window's inputs, and its weights: the layer's own when bound. */
static void fill(const Graph *g, const Node *n, const Window *w, float *in, float *wt)
{
    uint64_t state = 12345;
    int64_t inputs = w->is.d[1] * w->is.d[2] * w->is.d[3];
    for (int64_t i = 0; i < inputs; i++)
        in[i] = (float)uniform01(&state);
    const float *bound = g->tensors[n->params[0]].data;
    if (bound) {
        memcpy(wt, bound, (size_t)w->weights * sizeof *wt);
        return;
    }
    double fan_in = (double)(w->weights / w->at.filters), half = sqrt(3.0 / fan_in);
    for (int64_t i = 0; i < w->weights; i++)
        wt[i] = (float)((2 * uniform01(&state) - 1) * half);
}

static double relative_error(const double *y, const double *direct, int64_t count)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < count; i++) {
        err = fmax(err, fabs(y[i] - direct[i]));
        scale = fmax(scale, fabs(direct[i]));
    }
    return scale > 0 ? err / scale : 0;
}

bool conv_error_measure(const Graph *g, const Node *n, AlgoChoice c, double *error)
{
    *error = 0;
    if (c.algo != ALGO_WINOGRAD && c.algo != ALGO_FFT)
        return true;
    Window w;
    if (!window_within_budget(g, n, c, &w)) {
        *error = INFINITY;
        return true;
    }
    int64_t outputs = w.os.d[1] * w.os.d[2] * w.os.d[3];
    size_t work = conv_algo_work_bytes(&w.at, c, &w.is, &w.os);
    if (work == SIZE_MAX)
        return false;
    float *in = malloc((size_t)(w.is.d[1] * w.is.d[2] * w.is.d[3]) * sizeof *in);
    float *wt = malloc((size_t)w.weights * sizeof *wt);
    double *direct = malloc((size_t)outputs * sizeof *direct);
    double *y = malloc((size_t)outputs * sizeof *y);
    void *scratch = malloc(work ? work : 1);
    bool ok = in && wt && direct && y && scratch;
    if (ok) {
        fill(g, n, &w, in, wt);
        conv_core(&w.at, &w.is, &w.os, in, wt, direct);
        conv_algo_sums(&w.at, c, &w.is, &w.os, in, wt, y, scratch);
        *error = relative_error(y, direct, outputs);
    }
    free(in), free(wt), free(direct), free(y), free(scratch);
    return ok;
}
