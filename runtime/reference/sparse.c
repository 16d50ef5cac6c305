/* conv and fc summed from an encoding of their weights (CSR or CSC,
 * ir/sparse.h): plain loops over the non-zero weights as the encoding
 * lists them, each added at every output it contributes to, in double.
 * The oracle of the cpu target's sparse kernels, beside the dense sums:
 * it reads the encoding itself, so that a wrong encoding shows here too. */
#include "kernels.h"

#include <string.h>

/* Calls visit(ctx, row, col, value) for every stored weight of s. */
typedef void (*SparseVisit)(void *ctx, int64_t row, int64_t col, float value);

static void visit_encoding(const SparseData *s, SparseVisit visit, void *ctx)
{
    bool by_column = s->format == SPARSE_CSC;
    int64_t outer = by_column ? s->cols : s->rows;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++) {
            int64_t row = by_column ? s->index[k] : o, col = by_column ? o : s->index[k];
            visit(ctx, row, col, s->values[k]);
        }
}

typedef struct ConvSums {
    const ConvAttrs *at;
    const Shape *is, *os;
    const float *in;
    double *acc;
} ConvSums;

/* Weight (f, col) of a conv, col = (c * KH + ky) * KW + kx, times the
 * input it meets at every output of filter f: as conv_core, padding taps
 * skipped. */
static void conv_weight(void *ctx, int64_t f, int64_t col, float w)
{
    const ConvSums *s = ctx;
    const ConvAttrs *at = s->at;
    int64_t N = s->is->d[0], C = s->is->d[1], H = s->is->d[2], W = s->is->d[3];
    int64_t F = s->os->d[1], OH = s->os->d[2], OW = s->os->d[3];
    int64_t KH = at->kernel[0], KW = at->kernel[1], Cg = C / at->groups, Fg = F / at->groups;
    int64_t c = (f / Fg) * Cg + col / (KH * KW), ky = col / KW % KH, kx = col % KW;
    for (int64_t n = 0; n < N; n++)
        for (int64_t y = 0; y < OH; y++) {
            int64_t iy = y * at->stride[0] - at->pad[0] + ky * at->dilation[0];
            if (iy < 0 || iy >= H)
                continue;
            for (int64_t x = 0; x < OW; x++) {
                int64_t ix = x * at->stride[1] - at->pad[1] + kx * at->dilation[1];
                if (ix >= 0 && ix < W)
                    s->acc[((n * F + f) * OH + y) * OW + x] += (double)s->in[((n * C + c) * H + iy) * W + ix] * w;
            }
        }
}

void sparse_conv_sums(const SparseData *s, const ConvAttrs *at, const Shape *is, const Shape *os,
                      const float *in, double *acc)
{
    memset(acc, 0, (size_t)shape_elems(os) * sizeof *acc);
    ConvSums sums = {at, is, os, in, acc};
    visit_encoding(s, conv_weight, &sums);
}

typedef struct FcSums {
    int64_t N, U, K;
    const float *in;
    double *acc;
} FcSums;

/* Weight (u, k) of an fc times input k of every sample. */
static void fc_weight(void *ctx, int64_t u, int64_t k, float w)
{
    const FcSums *s = ctx;
    for (int64_t n = 0; n < s->N; n++)
        s->acc[n * s->U + u] += (double)s->in[n * s->K + k] * w;
}

void sparse_fc_sums(const SparseData *s, int64_t N, const float *in, double *acc)
{
    memset(acc, 0, (size_t)(N * s->rows) * sizeof *acc);
    FcSums sums = {N, s->rows, s->cols, in, acc};
    visit_encoding(s, fc_weight, &sums);
}
