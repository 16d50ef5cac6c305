/* The convolution algorithms' parameters and applicability, one row per
 * algorithm (conv_algo.h). Adding an algorithm is a row here; nothing else
 * in dnnc asks which algorithm has which tiles. */
#include "conv_algo.h"

#include <stdio.h>
#include <string.h>

#define FFT_MIN_TILE 8  /* smaller FFTs leave too few outputs per tile to pay */
#define FFT_MAX_TILE 64
#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

typedef struct AlgoRule {
    const int *tiles; /* the valid tiles, ascending; NULL: no tile parameter */
    int n_tiles;
    const char *tile_list;    /* the tiles for messages */
    const char *tile_meaning; /* what the tile is */
    int (*default_tile)(const ConvAttrs *at);
    /* NULL: applies to every conv. */
    bool (*applies)(const ConvAttrs *at, int tile, char *why, size_t whysz);
} AlgoRule;

/* "2" for a square pair, "[2, 1]" otherwise: the language's own spelling. */
static void pair_text(const int64_t p[2], char *buf, size_t size)
{
    if (p[0] == p[1])
        snprintf(buf, size, "%lld", (long long)p[0]);
    else
        snprintf(buf, size, "[%lld, %lld]", (long long)p[0], (long long)p[1]);
}

/* Appends ", what VALUE" (or "what VALUE" first) to buf when p is not 1. */
static void note_not_one(const char *what, const int64_t p[2], char *buf, size_t size)
{
    if (p[0] == 1 && p[1] == 1)
        return;
    char v[48];
    pair_text(p, v, sizeof v);
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s %s", len ? ", " : "", what, v);
}

/* ---- Winograd F(m x m, 3 x 3) (Lavin & Gray) ---- */

static const int winograd_tiles[] = {2, 4, 6};

/* F(4x4, 3x3): 4x fewer multiplications than direct convolution (F(2x2)
 * 2.25x) for an error about ten times F(2x2)'s; F(6x6) saves 5.06x for up
 * to twice F(4x4)'s error again (measured in docs/fast-convolution.md). */
static int winograd_default_tile(const ConvAttrs *at)
{
    (void)at;
    return 4;
}

/* The transforms are built for a 3x3 filter sliding one step at a time. */
static bool winograd_applies(const ConvAttrs *at, int tile, char *why, size_t whysz)
{
    (void)tile;
    char bad[160] = "";
    if (at->kernel[0] != 3 || at->kernel[1] != 3)
        snprintf(bad, sizeof bad, "kernel %lldx%lld", (long long)at->kernel[0],
                 (long long)at->kernel[1]);
    note_not_one("stride", at->stride, bad, sizeof bad);
    note_not_one("dilation", at->dilation, bad, sizeof bad);
    if (!bad[0])
        return true;
    snprintf(why, whysz, "Winograd F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not %s",
             bad);
    return false;
}

/* ---- FFT convolution (tiled overlap-add or overlap-save) ---- */

static const int fft_tiles[] = {4, 8, 16, 32, 64};

static int64_t larger_kernel_side(const ConvAttrs *at)
{
    return at->kernel[0] > at->kernel[1] ? at->kernel[0] : at->kernel[1];
}

/* The smallest power of two of at least twice the kernel: an N-point
 * transform then yields N - k + 1 >= N / 2 outputs per tile, so at most
 * half of each transform is overlap. */
static int fft_default_tile(const ConvAttrs *at)
{
    int n = FFT_MIN_TILE;
    while (n < FFT_MAX_TILE && n < 2 * larger_kernel_side(at))
        n *= 2;
    return n;
}

/* An N-point tile yields N - k + 1 outputs of a k-wide kernel: with k = N
 * one output per transform, which never pays, so the tile must be larger
 * than the kernel. */
static bool fft_applies(const ConvAttrs *at, int tile, char *why, size_t whysz)
{
    char bad[160] = "";
    note_not_one("stride", at->stride, bad, sizeof bad);
    note_not_one("dilation", at->dilation, bad, sizeof bad);
    if (bad[0]) {
        snprintf(why, whysz, "FFT convolution needs stride 1 and dilation 1, not %s", bad);
        return false;
    }
    int n = tile ? tile : fft_default_tile(at);
    if (larger_kernel_side(at) >= n) {
        snprintf(why, whysz, "an FFT of size %d%s needs a kernel smaller than %dx%d, not %lldx%lld", n,
                 tile ? "" : " (the largest)", n, n, (long long)at->kernel[0],
                 (long long)at->kernel[1]);
        return false;
    }
    return true;
}

static const AlgoRule rules[] = {
    [ALGO_AUTO] = {0},
    [ALGO_DIRECT] = {0},
    [ALGO_IM2COL] = {0},
    [ALGO_WINOGRAD] = {winograd_tiles, COUNT(winograd_tiles), "2, 4 or 6",
                       "the output tile m of F(m x m, 3 x 3)", winograd_default_tile,
                       winograd_applies},
    [ALGO_FFT] = {fft_tiles, COUNT(fft_tiles), "4, 8, 16, 32 or 64", "the FFT size",
                  fft_default_tile, fft_applies},
};

bool conv_algo_has_tile(ConvAlgo a) { return rules[a].tiles != NULL; }

bool conv_algo_tile_valid(ConvAlgo a, int64_t tile)
{
    for (int i = 0; i < rules[a].n_tiles; i++)
        if (rules[a].tiles[i] == tile)
            return true;
    return false;
}

const char *conv_algo_tile_list(ConvAlgo a) { return rules[a].tiles ? rules[a].tile_list : ""; }

const char *conv_algo_tile_meaning(ConvAlgo a)
{
    return rules[a].tiles ? rules[a].tile_meaning : "";
}

int conv_algo_default_tile(ConvAlgo a, const ConvAttrs *at)
{
    return rules[a].default_tile ? rules[a].default_tile(at) : 0;
}

int conv_algo_tile(ConvAlgo a, int tile, const ConvAttrs *at)
{
    return tile ? tile : conv_algo_default_tile(a, at);
}

bool conv_algo_applies(ConvAlgo a, const ConvAttrs *at, int tile, char *why, size_t whysz)
{
    return !rules[a].applies || rules[a].applies(at, tile, why, whysz);
}
