/* Convolution, fully connected layers and matrix products. The quantised
 * variants (quant.c) reuse the same cores on zero-point-corrected values. */
#include "conv_algo.h"
#include "kernels.h"
#include "weight_code.h"
#include "winograd.h"

/* The outputs x in [0, OW) whose input position x * stride + off lies in
 * [0, size), as [*x0, *x1) (empty when *x0 >= *x1). */
static void outputs_inside(int64_t off, int64_t stride, int64_t size, int64_t OW, int64_t *x0,
                           int64_t *x1)
{
    int64_t hi = off >= size ? 0 : (size - 1 - off) / stride + 1;
    *x0 = off >= 0 ? 0 : (-off + stride - 1) / stride;
    *x1 = hi < OW ? hi : OW;
}

/* acc[n][f][y][x] = sum over c, ky, kx (in this order, ascending) of
 *   in[n][g*Cg + c][y*sh - pad_top + ky*dh][x*sw - pad_left + kx*dw] * w[f][c][ky][kx]
 * where g = f / (F / groups) and Cg = C / groups; taps outside the input are
 * zero padding and skipped. Sums in double, no bias. A row of outputs is
 * summed side by side, each output's terms still in that order: the
 * products of two floats are exact in double, so the sums are those of one
 * output at a time, bit for bit, without its chain of dependent additions
 * (several times faster, for the tests that run whole networks). */
void conv_core(const ConvAttrs *at, const Shape *is, const Shape *os, const float *in,
               const float *w, double *acc_out)
{
    int64_t N = is->d[0], C = is->d[1], H = is->d[2], W = is->d[3];
    int64_t F = os->d[1], OH = os->d[2], OW = os->d[3];
    int64_t KH = at->kernel[0], KW = at->kernel[1], sw = at->stride[1];
    int64_t Cg = C / at->groups, Fg = F / at->groups;
    for (int64_t n = 0; n < N; n++)
        for (int64_t f = 0; f < F; f++) {
            int64_t c0 = (f / Fg) * Cg;
            const float *wf = w + f * Cg * KH * KW;
            for (int64_t y = 0; y < OH; y++) {
                double *acc = acc_out + ((n * F + f) * OH + y) * OW;
                for (int64_t x = 0; x < OW; x++)
                    acc[x] = 0;
                for (int64_t c = 0; c < Cg; c++)
                    for (int64_t ky = 0; ky < KH; ky++) {
                        int64_t iy = y * at->stride[0] - at->pad[0] + ky * at->dilation[0];
                        if (iy < 0 || iy >= H)
                            continue;
                        const float *row = in + ((n * C + c0 + c) * H + iy) * W;
                        for (int64_t kx = 0; kx < KW; kx++) {
                            int64_t off = kx * at->dilation[1] - at->pad[1], x0, x1;
                            outputs_inside(off, sw, W, OW, &x0, &x1);
                            double wv = wf[(c * KH + ky) * KW + kx];
                            for (int64_t x = x0; x < x1; x++)
                                acc[x] += (double)row[x * sw + off] * wv;
                        }
                    }
            }
        }
}

/* The epilogue of conv and fc: out = act(acc + bias + residual), the sum
 * in double rounded to float once, then the activation on that float as
 * the activation's own layer computes it. */
static float epilogue(const KernelArgs *a, const Activation *act, double acc, double bias, int64_t i)
{
    double residual = a->n_in == 2 ? fin(a, 1)[i] : 0.0;
    return ref_activate(act, (float)(acc + bias + residual));
}

/* ---- ref_conv: the sums by the layer's @algo ---- */

/* The sums of a conv, without bias, by one algorithm with its tile (0 for
 * algorithms without one); work holds the core's work_bytes. */
typedef void (*ConvCore)(const ConvAttrs *at, int tile, const Shape *is, const Shape *os,
                         const float *in, const float *w, double *acc, void *work);
typedef size_t (*ConvWorkBytes)(const ConvAttrs *at, int tile, const Shape *is, const Shape *os);

static void direct_core(const ConvAttrs *at, int tile, const Shape *is, const Shape *os,
                        const float *in, const float *w, double *acc, void *work)
{
    (void)tile, (void)work;
    conv_core(at, is, os, in, w, acc);
}

/* One row per ConvAlgo. Direct and im2col + GEMM compute the same sums, so
 * the oracle runs both (and auto) as conv_core's plain loops; Winograd
 * and FFT change the arithmetic and have their own plain implementations
 * (winograd.c, fft_conv.c). */
static const struct {
    ConvCore run;
    ConvWorkBytes work_bytes; /* NULL: none */
} cores[] = {
    [ALGO_AUTO] = {direct_core, NULL},
    [ALGO_DIRECT] = {direct_core, NULL},
    [ALGO_IM2COL] = {direct_core, NULL},
    [ALGO_WINOGRAD] = {winograd_conv_core, winograd_work_bytes},
    [ALGO_FFT] = {fft_conv_with_work, fft_conv_work_bytes},
};

/* The algorithm that computes n and its tile: its @algo's, or the direct
 * sums when that algorithm has no core here or cannot compute n. select-algo
 * reports both as errors before anything runs; only a graph that has not
 * been through it gets here with them (fold-constants evaluates layers
 * before it), and the direct sums are then the right answer. */
static ConvAlgo core_of(const Node *n, int *tile)
{
    const ConvAttrs *at = &n->attr.conv;
    ConvAlgo algo = n->ann.algo;
    *tile = conv_algo_tile(algo, n->ann.algo_tile, at);
    char why[8];
    if (!cores[algo].run || !conv_algo_applies(algo, at, *tile, why, sizeof why)) {
        *tile = 0;
        return ALGO_DIRECT;
    }
    return algo;
}

size_t conv_algo_work_bytes(const ConvAttrs *at, AlgoChoice c, const Shape *is, const Shape *os)
{
    if (!cores[c.algo].work_bytes)
        return 0;
    return cores[c.algo].work_bytes(at, conv_algo_tile(c.algo, c.tile, at), is, os);
}

void conv_algo_sums(const ConvAttrs *at, AlgoChoice c, const Shape *is, const Shape *os,
                    const float *in, const float *w, double *acc, void *work)
{
    cores[c.algo].run(at, conv_algo_tile(c.algo, c.tile, at), is, os, in, w, acc, work);
}

size_t conv_work_bytes(const Graph *g, const Node *n)
{
    int tile;
    ConvAlgo algo = core_of(n, &tile);
    if (!cores[algo].work_bytes)
        return 0;
    return cores[algo].work_bytes(&n->attr.conv, tile, &g->tensors[n->inputs[0]].shape,
                                  &g->tensors[n->output].shape);
}

void ref_conv(const KernelArgs *a)
{
    const ConvAttrs *at = &a->node->attr.conv;
    const Shape *os = a->out_shape;
    int64_t count = dims_product(os, 0, os->rank), plane = os->d[2] * os->d[3];
    double *acc = (double *)a->scratch;
    int tile;
    ConvAlgo algo = core_of(a->node, &tile);
    if (a->sparse)
        sparse_conv_sums(a->sparse, at, a->in_shape[0], os, fin(a, 0), acc);
    else
        cores[algo].run(at, tile, a->in_shape[0], os, fin(a, 0), fparam(a, 0), acc, acc + count);
    const float *bias = at->bias ? fparam(a, 1) : NULL;
    for (int64_t i = 0; i < count; i++)
        fout(a)[i] = epilogue(a, &at->act, acc[i], bias ? bias[(i / plane) % os->d[1]] : 0.0, i);
}

/* coded_conv: each code decoded to its float value exactly as
 * ir/weight_code.h defines it, then conv's plain sums (conv_core) and
 * epilogue on those floats. The decoded filters live in the scratch after
 * the accumulators (scratch_bytes keeps room for a float copy of the first
 * parameter). */
void ref_coded_conv(const KernelArgs *a)
{
    const CodedConvAttrs *at = &a->node->attr.coded;
    const Shape *os = a->out_shape;
    int64_t count = dims_product(os, 0, os->rank), plane = os->d[2] * os->d[3];
    int64_t per_filter = a->in_shape[0]->d[1] / at->conv.groups * at->conv.kernel[0] * at->conv.kernel[1];
    ElemType t = {(ElemKind)at->weight_type, (uint8_t)at->weight_bits, 0};
    double *acc = (double *)a->scratch;
    float *w = (float *)(acc + count);
    const uint8_t *codes = a->param[0];
    const float *scale_or_codebook = fparam(a, 1);
    for (int64_t f = 0; f < at->conv.filters; f++) {
        float scale = scale_or_codebook[at->per_channel ? f : 0];
        for (int64_t k = f * per_filter; k < (f + 1) * per_filter; k++)
            w[k] = weight_code_value(t, codes[k], scale, scale_or_codebook);
    }
    conv_core(&at->conv, a->in_shape[0], os, fin(a, 0), w, acc);
    const float *bias = at->conv.bias ? fparam(a, 2) : NULL;
    for (int64_t i = 0; i < count; i++)
        fout(a)[i] = epilogue(a, &at->conv.act, acc[i], bias ? bias[(i / plane) % os->d[1]] : 0.0, i);
}

/* out[n][u] = act(bias[u] + sum over k ascending of in[n][k] * w[u][k], where the
 * input of each sample is read flat (C order), as Caffe's InnerProduct does; residual and
 * activation as for conv. With an encoding of the weights, the sums are
 * sparse_fc_sums'. */
void ref_fc(const KernelArgs *a)
{
    const FcAttrs *at = &a->node->attr.fc;
    int64_t N = a->in_shape[0]->d[0], K = dims_product(a->in_shape[0], 1, a->in_shape[0]->rank);
    int64_t U = at->units;
    const float *w = fparam(a, 0), *bias = at->bias ? fparam(a, 1) : NULL;
    double *sums = (double *)a->scratch;
    if (a->sparse)
        sparse_fc_sums(a->sparse, N, fin(a, 0), sums);
    for (int64_t n = 0; n < N; n++)
        for (int64_t u = 0; u < U; u++) {
            double acc = 0;
            if (a->sparse)
                acc = sums[n * U + u];
            else
                for (int64_t k = 0; k < K; k++)
                    acc += (double)fin(a, 0)[n * K + k] * w[u * K + k];
            fout(a)[n * U + u] = epilogue(a, &at->act, acc, bias ? bias[u] : 0.0, n * U + u);
        }
}

/* NumPy matmul, batch dimensions broadcast: acc[b][m][n] = sum over k
 * ascending of A[b][m][k] * B[b][k][n], in double. */
void matmul_core(const Shape *as, const Shape *bs, const Shape *os, const float *A, const float *B,
                 double *acc_out)
{
    int64_t M = as->d[as->rank - 2], K = as->d[as->rank - 1], N = bs->d[bs->rank - 1];
    Shape ba = *as, bb = *bs, bo = *os;
    ba.rank -= 2, bb.rank -= 2, bo.rank -= 2;
    int64_t batches = dims_product(&bo, 0, bo.rank);
    for (int64_t b = 0; b < batches; b++) {
        const float *Ab = A + broadcast_offset(&ba, &bo, b) * M * K;
        const float *Bb = B + broadcast_offset(&bb, &bo, b) * K * N;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)Ab[m * K + k] * Bb[k * N + n];
                acc_out[(b * M + m) * N + n] = acc;
            }
    }
}

void ref_matmul(const KernelArgs *a)
{
    int64_t count = dims_product(a->out_shape, 0, a->out_shape->rank);
    double *acc = (double *)a->scratch;
    matmul_core(a->in_shape[0], a->in_shape[1], a->out_shape, fin(a, 0), fin(a, 1), acc);
    for (int64_t i = 0; i < count; i++)
        fout(a)[i] = (float)acc[i];
}
