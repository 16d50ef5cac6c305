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
 * than the kernel. A 1x1 kernel is a matrix product over the channels:
 * its transform would hold T (T/2 + 1) complex numbers per weight (a
 * gigabyte of filters for one of MobileNetV2's 1x1 layers at T = 32) to
 * compute the same products, so the FFT does not take it either. */
static bool fft_applies(const ConvAttrs *at, int tile, char *why, size_t whysz)
{
    if (at->kernel[0] == 1 && at->kernel[1] == 1) {
        snprintf(why, whysz, "FFT convolution needs a kernel larger than 1x1 (a 1x1 conv is a "
                             "matrix product: im2col runs it in place)");
        return false;
    }
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

int conv_algo_tiles(ConvAlgo a, const int **tiles)
{
    *tiles = rules[a].tiles;
    return rules[a].n_tiles;
}

bool algo_choice_same(AlgoChoice a, AlgoChoice b) { return a.algo == b.algo && a.tile == b.tile; }

void algo_choice_text(AlgoChoice c, char *buf, size_t size)
{
    if (c.tile)
        snprintf(buf, size, "%s/%d", conv_algo_name(c.algo), c.tile);
    else
        snprintf(buf, size, "%s", conv_algo_name(c.algo));
}

bool algo_choice_parse(const char *s, size_t len, AlgoChoice *out)
{
    char name[16];
    const char *slash = memchr(s, '/', len);
    size_t name_len = slash ? (size_t)(slash - s) : len;
    if (name_len == 0 || name_len >= sizeof name)
        return false;
    memcpy(name, s, name_len);
    name[name_len] = '\0';
    if (!conv_algo_from_name(name, &out->algo) || out->algo == ALGO_AUTO)
        return false;
    out->tile = 0;
    if (!slash)
        return !conv_algo_has_tile(out->algo);
    size_t digits = len - name_len - 1;
    if (digits == 0 || digits > 2 || slash[1] == '0') /* one spelling per tile */
        return false;
    for (size_t i = 0; i < digits; i++) {
        if (slash[1 + i] < '0' || slash[1 + i] > '9')
            return false;
        out->tile = out->tile * 10 + (slash[1 + i] - '0');
    }
    return conv_algo_tile_valid(out->algo, out->tile);
}

bool algo_choice_parse_option(const char *s, AlgoChoice *out)
{
    AlgoChoice c = {ALGO_AUTO, 0};
    bool ok = conv_algo_from_name(s, &c.algo) || algo_choice_parse(s, strlen(s), &c);
    if (!ok || c.algo == ALGO_AUTO)
        return false;
    *out = c;
    return true;
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

/* ---- multiplications (conv_algo.h; docs/fast-convolution.md) ---- */

#include "checked.h"

/* Counts are products of a layer's sizes, at most a few orders of magnitude
 * above its MACs (a forced large FFT on a tiny output), so they saturate
 * rather than wrap. */
static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return checked_mul(a, b, &r) ? r : INT64_MAX;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return checked_add(a, b, &r) ? r : INT64_MAX;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Sizes of a conv, named as in the reference's kernels. */
typedef struct ConvSizes {
    int64_t N, C, F, OH, OW, Cg, KH, KW;
} ConvSizes;

static ConvSizes conv_sizes(const ConvAttrs *at, const Shape *is, const Shape *os)
{
    return (ConvSizes){is->d[0], is->d[1], os->d[1], os->d[2], os->d[3], is->d[1] / at->groups,
                       at->kernel[0], at->kernel[1]};
}

/* One multiplication per weight per output, padding positions included:
 * the MACs of ir/cost.c. */
static ConvMultiplications direct_multiplications(const ConvSizes *s)
{
    int64_t outputs = sat_mul(sat_mul(s->N, s->F), sat_mul(s->OH, s->OW));
    return (ConvMultiplications){sat_mul(outputs, sat_mul(s->Cg, sat_mul(s->KH, s->KW))), 0};
}

/* Entries other than 0 and +-1 of B^T and A^T, the transforms' only
 * multiplications, for the matrices runtime/reference/winograd.c builds
 * from the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (tests/
 * test_stats.c counts them there). F(2x2)'s transforms are additions. */
static const struct {
    int m, bt, at;
} winograd_nontrivial[] = {{2, 0, 0}, {4, 12, 6}, {6, 28, 20}};

/* Per image, channel and tile V = B^T d B: two products by B^T of alpha
 * columns each; per image, output channel and tile Y = A^T M A: A^T times
 * alpha columns, then m rows times A. Each output channel sums its group's
 * element-wise products U (.) V before one output transform. */
static ConvMultiplications winograd_multiplications(const ConvSizes *s, int m)
{
    int64_t alpha = m + 2, bt = 0, at = 0;
    for (int i = 0; i < COUNT(winograd_nontrivial); i++)
        if (winograd_nontrivial[i].m == m)
            bt = winograd_nontrivial[i].bt, at = winograd_nontrivial[i].at;
    int64_t tiles = sat_mul(s->N, ceil_div(s->OH, m) * ceil_div(s->OW, m));
    ConvMultiplications r;
    r.products = sat_mul(tiles, sat_mul(sat_mul(s->F, s->Cg), alpha * alpha));
    r.transforms = sat_add(sat_mul(tiles, sat_mul(s->C, 2 * alpha * bt)),
                           sat_mul(tiles, sat_mul(s->F, (alpha + m) * at)));
    return r;
}

/* A real T x T transform as runtime/reference/fft.c computes it: T + T/2 + 1
 * one-dimensional transforms (the rows, then the kept columns), each
 * (T/2) log2 T butterflies of one complex multiplication (4 real ones,
 * trivial twiddles included): (3 T^2 + 2 T) log2 T. */
static int64_t fft_transform_multiplications(int64_t T)
{
    int64_t log2t = 0;
    while (((int64_t)1 << log2t) < T)
        log2t++;
    return (T + T / 2 + 1) * (T / 2) * log2t * 4;
}

int64_t conv_algo_output_tile(ConvAlgo a, int tile, int64_t kernel)
{
    return a == ALGO_FFT ? tile - kernel + 1 : tile;
}

/* Overlap-save with output tiles of (T - KH + 1) x (T - KW + 1): per image
 * and tile, one forward transform per input channel (shared by the
 * group's output channels) and one inverse per output channel, and
 * T (T/2 + 1) complex products per (output channel, channel of its group):
 * the kept half of a real input's Hermitian spectrum. */
static ConvMultiplications fft_multiplications(const ConvSizes *s, int T)
{
    int64_t tiles = sat_mul(s->N, ceil_div(s->OH, conv_algo_output_tile(ALGO_FFT, T, s->KH)) *
                                      ceil_div(s->OW, conv_algo_output_tile(ALGO_FFT, T, s->KW)));
    int64_t complex_products = sat_mul(tiles, sat_mul(sat_mul(s->F, s->Cg), (int64_t)T * (T / 2 + 1)));
    ConvMultiplications r;
    r.products = sat_mul(complex_products, 4);
    r.transforms = sat_mul(sat_mul(tiles, sat_add(s->C, s->F)), fft_transform_multiplications(T));
    return r;
}

ConvMultiplications conv_algo_multiplications(const ConvAttrs *at, const Shape *is,
                                              const Shape *os, ConvAlgo a, int tile)
{
    ConvSizes s = conv_sizes(at, is, os);
    int t = conv_algo_tile(a, tile, at);
    char why[8];
    bool tile_ok = !conv_algo_has_tile(a) || conv_algo_tile_valid(a, t);
    if (!tile_ok || !conv_algo_applies(a, at, t, why, sizeof why))
        return direct_multiplications(&s);
    switch (a) {
    case ALGO_WINOGRAD: return winograd_multiplications(&s, t);
    case ALGO_FFT: return fft_multiplications(&s, t);
    default: return direct_multiplications(&s);
    }
}
