/* Convolution through the FFT (survey V-A), tiled overlap-save with one
 * fixed transform size T: each output tile of (T - KH + 1) x (T - KW + 1)
 * is read off the circular cross-correlation of a T x T input tile with the
 * zero-padded filter, computed as
 *   corr = inverse(X . conj(W)) / T^2,    X = forward(tile), W = forward(filter).
 * The outputs near the end of a tile, whose windows would wrap around, are
 * exactly the ones not kept, so no output sees a wrapped input.
 *
 * The survey's savings, kept visible in the loop structure: each input
 * tile's transform is computed once per channel and reused by every output
 * channel of its group; each filter's once per (filter, channel); products
 * are summed over channels in the frequency domain, so one inverse
 * transform per (output channel, tile). Real data have Hermitian spectra,
 * so only T x (T/2 + 1) coefficients are stored and multiplied. All
 * transform arithmetic is float32; docs/fast-convolution.md bounds the
 * error.
 *
 * Memory: the spectra of a group's input tiles are kept (a few times the
 * input's size), the filters' are made one filter at a time (Cg spectra).
 * Keeping all filter spectra instead would cost about T^2 / (KH KW) times
 * the weights, 30 times for VGG-16's largest layer (300 MB) at T = 16. */
#include "kernels.h"

#include <stdint.h>

#include "checked.h"
#include "fft.h"

bool fft_conv_applies(const ConvAttrs *at, int fft_size)
{
    return at->stride[0] == 1 && at->stride[1] == 1 && at->dilation[0] == 1 &&
           at->dilation[1] == 1 && fft_size >= 2 && fft_size <= (1 << 15) &&
           fft_size_valid(fft_size) && at->kernel[0] <= fft_size && at->kernel[1] <= fft_size;
}

/* The layer's sizes and the working memory, carved out of `work`. */
typedef struct FftConv {
    int64_t N, C, H, W, F, OH, OW, KH, KW, Cg, Fg, pad_top, pad_left;
    int64_t T, TH, TW;        /* transform size, output tile */
    int64_t tiles_y, tiles_x; /* output tiles per plane */
    int64_t S;                /* elements of one spectrum: T x (T/2 + 1) */
    FftPlan plan;
    float complex *inputs; /* N x tiles x Cg spectra: one group's input tiles */
    float complex *filter; /* Cg spectra: one filter */
    float complex *sum;    /* one spectrum: the products summed over channels */
    float *real;           /* one T x T real tile */
} FftConv;

static FftConv sizes_of(const ConvAttrs *at, int fft_size, const Shape *is, const Shape *os)
{
    FftConv fc = {.N = is->d[0], .C = is->d[1], .H = is->d[2], .W = is->d[3], .F = os->d[1],
                  .OH = os->d[2], .OW = os->d[3], .KH = at->kernel[0], .KW = at->kernel[1],
                  .pad_top = at->pad[0], .pad_left = at->pad[1], .T = fft_size};
    fc.Cg = fc.C / at->groups;
    fc.Fg = fc.F / at->groups;
    fc.TH = fc.T - fc.KH + 1;
    fc.TW = fc.T - fc.KW + 1;
    fc.tiles_y = (fc.OH + fc.TH - 1) / fc.TH;
    fc.tiles_x = (fc.OW + fc.TW - 1) / fc.TW;
    fc.S = fc.T * (fc.T / 2 + 1);
    return fc;
}

/* The bytes of working memory, in the order fft_conv_with_work lays
 * them out: the plan, the input spectra, one filter's spectra, the sum (all
 * float complex), the real tile. False on overflow. */
static bool work_bytes(const FftConv *fc, int64_t *bytes)
{
    int64_t tiles, inputs, filter, elems;
    return checked_mul(fc->tiles_y, fc->tiles_x, &tiles) && checked_mul(tiles, fc->N, &tiles) &&
           checked_mul(tiles, fc->Cg, &inputs) && checked_mul(inputs, fc->S, &inputs) &&
           checked_mul(fc->Cg + 1, fc->S, &filter) &&
           checked_add(inputs, filter + (int64_t)fft_plan_size((int)fc->T), &elems) &&
           checked_mul(elems, (int64_t)sizeof(float complex), bytes) &&
           checked_add(*bytes, fc->T * fc->T * (int64_t)sizeof(float), bytes);
}

size_t fft_conv_work_bytes(const ConvAttrs *at, int fft_size, const Shape *is, const Shape *os)
{
    if (!fft_conv_applies(at, fft_size))
        return 0;
    FftConv fc = sizes_of(at, fft_size, is, os);
    int64_t bytes;
    return work_bytes(&fc, &bytes) && (uint64_t)bytes < SIZE_MAX ? (size_t)bytes : SIZE_MAX;
}

/* The spectrum of one KH x KW filter plane, zero-padded to T x T. */
static void transform_filter(FftConv *fc, const float *wp, float complex *out)
{
    int64_t T = fc->T;
    for (int64_t i = 0; i < T * T; i++)
        fc->real[i] = 0;
    for (int64_t ky = 0; ky < fc->KH; ky++)
        for (int64_t kx = 0; kx < fc->KW; kx++)
            fc->real[ky * T + kx] = wp[ky * fc->KW + kx];
    fft_real_2d_forward(&fc->plan, fc->real, out);
}

/* The spectrum of the T x T input window whose top-left corner is (y0, x0)
 * of an H x W plane; positions outside the plane are the zero padding (or,
 * past the bottom and right padding, feed only outputs that are dropped). */
static void transform_tile(FftConv *fc, const float *plane, int64_t y0, int64_t x0,
                           float complex *out)
{
    int64_t T = fc->T;
    for (int64_t r = 0; r < T; r++)
        for (int64_t c = 0; c < T; c++) {
            int64_t iy = y0 + r, ix = x0 + c;
            bool inside = iy >= 0 && iy < fc->H && ix >= 0 && ix < fc->W;
            fc->real[r * T + c] = inside ? plane[iy * fc->W + ix] : 0.0f;
        }
    fft_real_2d_forward(&fc->plan, fc->real, out);
}

/* sum = sum over c ascending of X[c] . conj(filter[c]): the spectrum of the
 * cross-correlation summed over the group's channels. */
static void multiply_accumulate(FftConv *fc, const float complex *X)
{
    for (int64_t k = 0; k < fc->S; k++)
        fc->sum[k] = 0;
    for (int64_t c = 0; c < fc->Cg; c++)
        for (int64_t k = 0; k < fc->S; k++)
            fc->sum[k] += fft_mul(X[c * fc->S + k], conjf(fc->filter[c * fc->S + k]));
}

/* Inverts fc->sum into the output tile whose top-left is (oy, ox) of one
 * output plane: its outputs inside the plane, scaled by 1 / T^2 (exact: a
 * power of two). */
static void write_tile(FftConv *fc, double *plane, int64_t oy, int64_t ox)
{
    int64_t T = fc->T;
    fft_real_2d_inverse(&fc->plan, fc->sum, fc->real);
    for (int64_t y = 0; y < fc->TH && oy + y < fc->OH; y++)
        for (int64_t x = 0; x < fc->TW && ox + x < fc->OW; x++)
            plane[(oy + y) * fc->OW + ox + x] = (double)fc->real[y * T + x] / (double)(T * T);
}

/* The top-left output of tile t; tiles are numbered row by row. */
static int64_t tile_y(const FftConv *fc, int64_t t) { return t / fc->tiles_x * fc->TH; }
static int64_t tile_x(const FftConv *fc, int64_t t) { return t % fc->tiles_x * fc->TW; }

/* One group g: its input tiles' spectra, then each filter's spectra and
 * its output tiles. The spectra of tile t of sample n start at
 * inputs[(n * tiles + t) * Cg * S], one per channel. */
static void conv_group(FftConv *fc, int64_t g, const float *in, const float *w, double *acc)
{
    int64_t tiles = fc->tiles_y * fc->tiles_x;
    for (int64_t n = 0; n < fc->N; n++)
        for (int64_t t = 0; t < tiles; t++)
            for (int64_t c = 0; c < fc->Cg; c++) {
                const float *plane = in + (n * fc->C + g * fc->Cg + c) * fc->H * fc->W;
                transform_tile(fc, plane, tile_y(fc, t) - fc->pad_top, tile_x(fc, t) - fc->pad_left,
                               fc->inputs + ((n * tiles + t) * fc->Cg + c) * fc->S);
            }
    for (int64_t f = g * fc->Fg; f < (g + 1) * fc->Fg; f++) {
        for (int64_t c = 0; c < fc->Cg; c++)
            transform_filter(fc, w + (f * fc->Cg + c) * fc->KH * fc->KW, fc->filter + c * fc->S);
        for (int64_t n = 0; n < fc->N; n++)
            for (int64_t t = 0; t < tiles; t++) {
                multiply_accumulate(fc, fc->inputs + (n * tiles + t) * fc->Cg * fc->S);
                write_tile(fc, acc + (n * fc->F + f) * fc->OH * fc->OW, tile_y(fc, t), tile_x(fc, t));
            }
    }
}

void fft_conv_with_work(const ConvAttrs *at, int fft_size, const Shape *is, const Shape *os,
                        const float *in, const float *w, double *acc, void *work)
{
    if (!fft_conv_applies(at, fft_size)) {
        conv_core(at, is, os, in, w, acc);
        return;
    }
    FftConv fc = sizes_of(at, fft_size, is, os);
    fft_plan_init(&fc.plan, fft_size, work);
    fc.inputs = (float complex *)work + fft_plan_size(fft_size);
    fc.filter = fc.inputs + fc.N * fc.tiles_y * fc.tiles_x * fc.Cg * fc.S;
    fc.sum = fc.filter + fc.Cg * fc.S;
    fc.real = (float *)(fc.sum + fc.S);
    for (int64_t g = 0; g < at->groups; g++)
        conv_group(&fc, g, in, w, acc);
}
