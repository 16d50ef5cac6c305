/* Kernels on blocked activations (NCHW16c, dnnk.h "blocked activations"):
 * the reorders into and out of the layout, a direct convolution in the
 * manner of oneDNN's AVX-512 one, its depthwise form, and the pools that
 * sit between such convolutions.
 *
 * A block of 16 channels of one pixel is 64 contiguous bytes, one v16
 * below. v16 has the same shape in every build, so the layout arithmetic
 * is the same everywhere; clang splits it into two 8-lane vectors (AVX2)
 * or four 4-lane ones (NEON) where vectors are narrower. */
#include "common.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));
typedef double v16d __attribute__((vector_size(128), aligned(8)));
typedef int64_t v16l __attribute__((vector_size(128), aligned(8)));

/* Loops over a register tile's pixels and filter blocks (constant trip
 * counts) unrolled whole, so that the arrays they index stay in registers. */
#define BLK_UNROLL _Pragma("clang loop unroll(full)")

VECTOR_OPS(v16, DNNK_BLOCK, blk_load, blk_store, blk_splat)

/* mask ? a : b per lane, mask lanes all ones or all zeros (a comparison). */
INLINE v16 blk_select(v16i mask, v16 a, v16 b) { return (v16)(((v16i)a & mask) | ((v16i)b & ~mask)); }

/* ---- reorder ----------------------------------------------------------- */

/* One stage of a 16 x 16 transpose: swaps bit b of the row index with bit
 * b of the column index, for rows x = r[i] and y = r[i + b], bit b of i
 * clear. Four stages (b = 8, 4, 2, 1) transpose; each new row is one
 * two-source shuffle. */
#define BLK_SWAP(x, y, lo, hi)                                                                              \
    do {                                                                                                    \
        v16 x_ = (x), y_ = (y);                                                                             \
        (x) = __builtin_shufflevector(x_, y_, lo);                                                          \
        (y) = __builtin_shufflevector(x_, y_, hi);                                                          \
    } while (0)
#define BLK_LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define BLK_HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define BLK_LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define BLK_HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define BLK_LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define BLK_HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define BLK_LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define BLK_HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

/* r[i][j] becomes r[j][i]. */
INLINE void blk_transpose(v16 r[16])
{
    for (int i = 0; i < 8; i++)
        BLK_SWAP(r[i], r[i + 8], BLK_LO8, BLK_HI8);
    for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; k++)
            BLK_SWAP(r[i + k], r[i + k + 4], BLK_LO4, BLK_HI4);
    for (int i = 0; i < 16; i += 4)
        for (int k = 0; k < 2; k++)
            BLK_SWAP(r[i + k], r[i + k + 2], BLK_LO2, BLK_HI2);
    for (int i = 0; i < 16; i += 2)
        BLK_SWAP(r[i], r[i + 1], BLK_LO1, BLK_HI1);
}

/* Pixels [p0, p1) of one channel block of one image, whose nc channels
 * (16, fewer in a padded last block) are nc planes of `plane` pixels in
 * the plain layout and the first nc lanes of each pixel's 16 in the
 * blocked one: plain to blocked (the lanes past nc become zeros) or back.
 * 16 pixels at a time as a 16 x 16 tile transposed in registers, the
 * rows past nc zeros; the last pixels one float at a time. */
INLINE void blk_reorder_pixels(float *blocked, float *plain, int64_t plane, int64_t nc, int64_t p0, int64_t p1,
                               bool to_blocked)
{
    int64_t p = p0;
    for (; p + DNNK_BLOCK <= p1; p += DNNK_BLOCK) {
        v16 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = to_blocked ? (i < nc ? blk_load(plain + i * plane + p) : (v16){0})
                              : blk_load(blocked + (p + i) * DNNK_BLOCK);
        blk_transpose(r);
        for (int i = 0; i < 16; i++) {
            if (to_blocked)
                blk_store(blocked + (p + i) * DNNK_BLOCK, r[i]);
            else if (i < nc)
                blk_store(plain + i * plane + p, r[i]);
        }
    }
    for (; p < p1; p++)
        for (int64_t c = 0; c < DNNK_BLOCK; c++) {
            if (to_blocked)
                blocked[p * DNNK_BLOCK + c] = c < nc ? plain[c * plane + p] : 0.0f;
            else if (c < nc)
                plain[c * plane + p] = blocked[p * DNNK_BLOCK + c];
        }
}

/* Plain NCHW to blocked or back, or a copy between equal layouts (a
 * reorder the user wrote that changes nothing); units are (image, channel
 * block, run of d->pixels pixels), so that a network's 3-channel input,
 * one block, still splits over threads. */
KERNEL dnnk_reorder(const dnnk_reorder_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t C = d->channels, CB = dnnk_ceil_div(C, DNNK_BLOCK), plane = d->out.dims[2] * d->out.dims[3];
    int64_t runs = dnnk_ceil_div(plane, d->pixels);
    float *out = ptrs[0], *in = ptrs[1];
    for (int64_t u = begin; u < end; u++) {
        int64_t run = u % runs, block = u / runs, n = block / CB, cb = block % CB;
        int64_t nc = min64(DNNK_BLOCK, C - cb * DNNK_BLOCK), p0 = run * d->pixels, p1 = min64(plane, p0 + d->pixels);
        int64_t at_blocked = block * DNNK_BLOCK * plane, at_plain = (n * C + cb * DNNK_BLOCK) * plane;
        if (d->from_blocked != d->to_blocked) {
            float *blocked = d->to_blocked ? out + at_blocked : in + at_blocked;
            float *plain = d->to_blocked ? in + at_plain : out + at_plain;
            blk_reorder_pixels(blocked, plain, plane, nc, p0, p1, d->to_blocked != 0);
        } else if (d->to_blocked) {
            copy_bytes(out + at_blocked + p0 * DNNK_BLOCK, in + at_blocked + p0 * DNNK_BLOCK,
                       (size_t)((p1 - p0) * DNNK_BLOCK) * sizeof(float));
        } else {
            for (int64_t c = 0; c < nc; c++)
                copy_bytes(out + at_plain + c * plane + p0, in + at_plain + c * plane + p0,
                           (size_t)(p1 - p0) * sizeof(float));
        }
    }
}

/* ---- the conv epilogue's activation, 16 lanes at a time ------------------ */

/* activate() (common.h) on a vector, with the same result in every lane
 * as the scalar function: its clip compares the float with double bounds,
 * which float thresholds reproduce exactly (blk_act_prepare). */
typedef struct BlkAct {
    int64_t kind;
    float alpha;
    float lo, hi;            /* clip: x < min iff x < lo (x <= lo if lo_inclusive) */
    bool lo_inclusive;       /*       x > max iff x > hi (x >= hi if hi_inclusive) */
    bool hi_inclusive;
    float below, above;      /* clip: the results for x < min and x > max */
} BlkAct;

/* For a float x and a double b rounded to the nearest float f: x < b iff
 * x < f when f >= b, and iff x <= f when f < b (no float lies between f
 * and b); likewise for x > b. NaN bounds compare false either way, as in
 * activate. */
INLINE BlkAct blk_act_prepare(const dnnk_act *a)
{
    BlkAct v = {.kind = a->kind, .alpha = (float)a->alpha};
    v.lo = (float)a->min;
    v.hi = (float)a->max;
    v.lo_inclusive = (double)v.lo < a->min;
    v.hi_inclusive = (double)v.hi > a->max;
    v.below = (float)(a->min > a->max ? a->max : a->min);
    v.above = (float)a->max;
    return v;
}

/* activate() of a kind known where it is called (a constant) on a vector,
 * with the scalar function's result in every lane. */
INLINE v16 blk_activate_kind(const BlkAct *a, v16 x, int64_t kind)
{
    switch (kind) {
    case DNNK_ACT_RELU: return blk_select(x > 0, x, (v16){0});
    case DNNK_ACT_LEAKY_RELU: return blk_select(x >= 0, x, blk_splat(a->alpha) * x);
    case DNNK_ACT_CLIP: {
        v16 lo = blk_splat(a->lo), hi = blk_splat(a->hi);
        v16i below = a->lo_inclusive ? x <= lo : x < lo, above = a->hi_inclusive ? x >= hi : x > hi;
        return blk_select(below, blk_splat(a->below), blk_select(above, blk_splat(a->above), x));
    }
    default: return x;
    }
}

/* x[r * stride + i] = activate(x[...]) for r < rows, i < n (rows
 * of a register tile, or of a Winograd tile), the kind tested once for
 * all (blk_tile_epilogue says why). */
#define BLK_ACTIVATE_ALL(a, x, stride, rows, n, kind)                                                       \
    BLK_UNROLL                                                                                              \
    for (int r = 0; r < (rows); r++)                                                                        \
        BLK_UNROLL                                                                                          \
        for (int i = 0; i < (n); i++)                                                                       \
            (x)[r * (stride) + i] = blk_activate_kind(a, (x)[r * (stride) + i], kind);
INLINE void blk_activate_all(const BlkAct *a, v16 *x, const int stride, const int rows, const int n)
{
    switch (a->kind) {
    case DNNK_ACT_RELU: BLK_ACTIVATE_ALL(a, x, stride, rows, n, DNNK_ACT_RELU) break;
    case DNNK_ACT_LEAKY_RELU: BLK_ACTIVATE_ALL(a, x, stride, rows, n, DNNK_ACT_LEAKY_RELU) break;
    case DNNK_ACT_CLIP: BLK_ACTIVATE_ALL(a, x, stride, rows, n, DNNK_ACT_CLIP) break;
    default: break;
    }
}

/* ---- blocked convolution ---------------------------------------------------
 * A register tile is UR consecutive output pixels (in row-major order) of
 * OCB filter blocks: OCB x UR vectors of 16 filters' sums. For each input
 * channel c of a block at a tap, the tile loads the OCB weight vectors of
 * c (16 filters each), broadcasts c's value at each of the UR pixels, and
 * does OCB x UR multiply-adds. OCB and UR are constants in the hot loop
 * (blk_conv_tile is instantiated for each pair) so that the sums stay in
 * registers: 24 of the 32 zmm with 16 lanes; with 8 lanes one filter block
 * (two vectors) of 6 pixels, 12 of 16 ymm (NEON: 24 of 32 q).
 * A depthwise tile is BLK_DW_UR pixels, a vector of sums each: 16 zmm; 4
 * pixels with 8 lanes (8 ymm: clang also keeps the inputs that taps share
 * in registers, and 6 pixels spill). */
#if DNNK_LANES >= 16
#define BLK_OCB 4
#define BLK_UR 6
#define BLK_DW_UR 16
#else
#define BLK_OCB 1
#define BLK_UR 6
#define BLK_DW_UR 4
#endif

/* The weights a unit keeps in the second-level cache: its input channels
 * are taken in chunks whose weights (for the unit's filter blocks) take
 * about this many bytes, each chunk's partial sums waiting in the output.
 * (Anywhere from 96 to 384 KiB ran as fast on Zen 5, 1 MiB of L2; a test
 * may define it as 1 to run every layer in chunks of one block.) */
#ifndef BLK_CHUNK_BYTES
#define BLK_CHUNK_BYTES (192 * 1024)
#endif

/* The sizes of a blocked conv (or depthwise conv), in blocks where blocked.
 * A conv reading plain activations (dnnk_conv_plain_blocked) has one
 * "block" of its C <= 16 channels, whose pixels are 1 float apart and its
 * channels H W apart. */
typedef struct BlkConv {
    int64_t C; /* the input's channels: the last block's lanes past C are padding */
    int64_t CB, H, W, FB, OH, OW, KH, KW, sh, sw, dh, dw, pad_top, pad_left;
    int64_t in_plane;  /* floats of one channel block of an input image: H W 16 (plain: C H W) */
    int64_t out_plane; /* of one filter block of an output image: OH OW 16 */
    int64_t w_block;   /* of one filter block's weights: CB KH KW 256 */
    int64_t rows, filter_blocks;
} BlkConv;

INLINE BlkConv blk_conv_sizes(const dnnk_conv_blocked_desc *d, const bool plain)
{
    const dnnk_conv_desc *c = &d->conv;
    const dnnk_window *w = &c->win;
    BlkConv g = {
        .C = d->channels, .CB = c->in.dims[1] / DNNK_BLOCK, .H = c->in.dims[2], .W = c->in.dims[3],
        .FB = c->out.dims[1] / DNNK_BLOCK, .OH = c->out.dims[2], .OW = c->out.dims[3],
        .KH = w->kernel[0], .KW = w->kernel[1], .sh = w->stride[0], .sw = w->stride[1],
        .dh = w->dilation[0], .dw = w->dilation[1], .pad_top = w->pad[0], .pad_left = w->pad[1],
        .rows = d->rows, .filter_blocks = d->filter_blocks,
    };
    g.in_plane = g.H * g.W * DNNK_BLOCK;
    if (plain)
        g.CB = 1, g.in_plane = g.C * g.H * g.W;
    g.out_plane = g.OH * g.OW * DNNK_BLOCK;
    g.w_block = g.CB * g.KH * g.KW * DNNK_BLOCK * DNNK_BLOCK;
    return g;
}

/* The operands of a call. */
typedef struct BlkOps {
    float *out;
    const float *in, *res, *w, *bias;
    const float *zero; /* 16 zeros: the channels of a pixel in the padding */
    BlkAct act;
} BlkOps;

INLINE BlkOps blk_ops(const dnnk_conv_desc *c, void *const *ptrs, const float *zero)
{
    BlkOps o = {.out = ptrs[0], .in = ptrs[1], .res = c->has_residual ? ptrs[2] : 0,
                .w = ptrs[2 + c->has_residual], .bias = c->has_bias ? ptrs[3 + c->has_residual] : 0,
                .zero = zero, .act = blk_act_prepare(&c->act)};
    return o;
}

/* n items in as even parts of at most `max` as there can be: `extra` of
 * base + 1 items, then base ones (7 in parts of 6: 4 + 3). */
typedef struct BlkSplit {
    int64_t parts, base, extra;
} BlkSplit;

INLINE BlkSplit blk_split(int64_t n, int64_t max)
{
    BlkSplit s = {.parts = dnnk_ceil_div(n, max)};
    s.base = n / s.parts, s.extra = n % s.parts;
    return s;
}

INLINE int64_t blk_part_start(const BlkSplit *s, int64_t i) { return i * s->base + min64(i, s->extra); }
INLINE int64_t blk_part_size(const BlkSplit *s, int64_t i) { return s->base + (i < s->extra); }

/* The taps [lo, hi) of a window dimension whose input positions
 * start + k * dilation lie in [0, size), k taps (the reference's taps
 * inside, in its order). */
INLINE void blk_taps_inside(int64_t start, int64_t dilation, int64_t k, int64_t size, int64_t *lo, int64_t *hi)
{
    int64_t a = start >= 0 ? 0 : dnnk_ceil_div(-start, dilation);
    int64_t b = start >= size ? 0 : (size - 1 - start) / dilation + 1;
    *lo = a;
    *hi = b < k ? b : k;
}

/* The tiles of a band of output rows [r0, r1): each row split evenly into
 * tiles of at most ur_max pixels; but where the band's pixels split as one
 * run take fewer tiles, rows leave registers idle (a row of 14: 5 + 5 + 4
 * of 6, 42 tiles in 14 rows against 33 for the band; a row of 7: 4 + 3),
 * so there, if the kernel's tiles may cross rows (may_span), the band is
 * one run. (Most tiles of a wide band still lie in one row, as the
 * plain-input conv's fast tiles must: 125 of 131 in a band of 7 rows of
 * 112.) */
typedef struct BlkTiles {
    int64_t count, r0, OW;
    bool span_rows;
    BlkSplit split; /* of a row, or of the band */
} BlkTiles;

INLINE BlkTiles blk_tiles(int64_t r0, int64_t r1, int64_t OW, int64_t ur_max, bool may_span)
{
    int64_t pixels = (r1 - r0) * OW;
    BlkTiles t = {.r0 = r0, .OW = OW,
                  .span_rows = may_span && dnnk_ceil_div(pixels, ur_max) < (r1 - r0) * dnnk_ceil_div(OW, ur_max)};
    t.split = blk_split(t.span_rows ? (r1 - r0) * OW : OW, ur_max);
    t.count = t.span_rows ? t.split.parts : (r1 - r0) * t.split.parts;
    return t;
}

/* Tile i: its first pixel (oy * OW + ox) and its pixels. */
INLINE int64_t blk_tile_pixel(const BlkTiles *t, int64_t i)
{
    if (t->span_rows)
        return t->r0 * t->OW + blk_part_start(&t->split, i);
    int64_t row = t->r0 + i / t->split.parts;
    return row * t->OW + blk_part_start(&t->split, i % t->split.parts);
}

INLINE int64_t blk_tile_size(const BlkTiles *t, int64_t i)
{
    return blk_part_size(&t->split, t->span_rows ? i : i % t->split.parts);
}

/* Streaming the weights. A unit of a layer whose filters are split over
 * the threads (rows_major false) reads its filters' weights once per
 * chunk, from memory: a network's weights (ResNet-50's 100 MB) outgrow the
 * caches. Where the unit's band has few pixels (ResNet-50's last stage: 49
 * of a 7 x 7 map), a 1x1 conv's tiles compute little with each line, and
 * the first tile of a chunk waits for the chunk's lines. So there, while a
 * unit computes its last chunk, each tile requests its share of the next
 * unit's first chunk, a few lines at each channel block, where the next
 * unit's filters are others (blk_next_chunk): the 1x1 convs of 2048
 * filters of ResNet-50's last stage, as a network of its own whose weights
 * leave the caches between runs, ran 9-12% faster, in ResNet-50 9-12% too
 * (dnnc bench --per-layer). Requests within a unit, for its own next chunk,
 * gained nothing more there and cost layer3's 1x1 reductions (four bands a
 * group of filters, which read the same weights) 10-15%. With more pixels the
 * lines arrive in time without the requests (a band of 196 pixels ran up
 * to 10% slower with them). The tiles that request are instances of their
 * own (blk_conv_tile_streamed_*), for 1x1 convs of stride 1 only: in the
 * shared instances the requests took registers from the hot loop of every
 * layer (3-5% slower), and instances with the other convs' taps too cost
 * ResNet-50 a quarter of its compile time for 0.5% more. */
#define BLK_STREAM_PIXELS 64

/* The weights one chunk of a unit reads: filter blocks [fb0, fb1) (runs
 * w_block floats apart) of channel blocks [cb0, cb1), each run contiguous. */
typedef struct BlkChunkWeights {
    const float *first; /* filter block fb0's, channel block cb0's */
    int64_t runs, floats;
} BlkChunkWeights;

INLINE BlkChunkWeights blk_chunk_weights(const BlkConv *g, const float *w, int64_t fb0, int64_t fb1, int64_t cb0,
                                         int64_t cb1)
{
    int64_t per_cb = g->KH * g->KW * DNNK_BLOCK * DNNK_BLOCK;
    return (BlkChunkWeights){.first = w + fb0 * g->w_block + cb0 * per_cb, .runs = fb1 - fb0,
                             .floats = (cb1 - cb0) * per_cb};
}

/* Requests `lines` lines of each of `runs` runs of weights from `at`
 * (runs w_block floats apart) into the second-level cache. The shares are
 * rounded up, so the last may run a few lines past its chunk: a request
 * never faults. */
INLINE void blk_prefetch_lines(const BlkConv *g, const float *at, int64_t runs, int64_t lines)
{
    for (int64_t r = 0; r < runs; r++)
        for (int64_t l = 0; l < lines; l++)
            __builtin_prefetch(at + r * g->w_block + l * DNNK_BLOCK, 0, 2);
}

/* A tile's work: image n, filter blocks from fb, pixels from pix, the
 * chunk of channel blocks [cb0, cb1); first: its sums start from zero
 * (else from the output's partial sums), last: the epilogue follows. */
typedef struct BlkTile {
    int64_t n, fb, pix, cb0, cb1;
    bool first, last;
    const float *prefetch;                 /* streamed: its share of the next unit's first chunk, in the first run */
    int64_t prefetch_runs, prefetch_lines; /* the runs, and the lines of each to request per channel block */
} BlkTile;

/* The first input row and column of the window of each of the tile's
 * pixels: one division, then steps along the output row, onto the next
 * where it ends (a division a pixel at every call of a register tile, with
 * the next tile's requests tested in every channel block, kept a fifth of
 * a 1x1 tile's time out of its hot loop with 8 lanes). */
INLINE void blk_origins(const BlkConv *g, int64_t pix, int ur, int64_t *iy0, int64_t *ix0)
{
    int64_t oy = pix / g->OW, ox = pix % g->OW;
    BLK_UNROLL
    for (int j = 0; j < ur; j++) {
        iy0[j] = oy * g->sh - g->pad_top;
        ix0[j] = ox * g->sw - g->pad_left;
        bool wrap = ++ox == g->OW;
        ox = wrap ? 0 : ox;
        oy += wrap;
    }
}

/* Whether some pixel's input row at tap row ky is inside; row_ok[j] says
 * for each. The tap rows of none are skipped whole. */
INLINE bool blk_rows_inside(const BlkConv *g, const int64_t *iy0, int64_t ky, int ur, bool *row_ok)
{
    bool any = false;
    BLK_UNROLL
    for (int j = 0; j < ur; j++) {
        row_ok[j] = (uint64_t)(iy0[j] + ky * g->dh) < (uint64_t)g->H;
        any |= row_ok[j];
    }
    return any;
}

/* The 16 channels of each pixel at tap (ky, kx) in the plane of one
 * channel block: the input's, or the zero block's for a tap in the
 * padding, so that the hot loop never tests. Plain input: each pixel's
 * first channel, or the plane's start where inside[j] is false. */
INLINE void blk_tap_pixels(const BlkConv *g, const float *plane, const float *zero, const int64_t *iy0,
                           const int64_t *ix0, const bool *row_ok, int64_t ky, int64_t kx, int ur,
                           const bool plain, const float **p, bool *inside)
{
    BLK_UNROLL
    for (int j = 0; j < ur; j++) {
        int64_t iy = iy0[j] + ky * g->dh, ix = ix0[j] + kx * g->dw;
        inside[j] = row_ok[j] && (uint64_t)ix < (uint64_t)g->W;
        p[j] = inside[j] ? plane + (iy * g->W + ix) * (plain ? 1 : DNNK_BLOCK) : plain ? plane : zero;
    }
}

/* How far ahead of the hot loop each filter block's weights are requested
 * into the first-level cache, in lines (one a channel). A layer whose
 * filters are split over the threads reads its weights from the
 * third-level cache or memory, and the next line's load stalled the loop
 * (a third of the samples of a 3x3 conv of 512 filters on 14 x 14 maps
 * sat on it); requested 32 lines ahead, that conv ran 7% faster on one
 * thread and ResNet-50 about 2% faster on two (Zen 3). 16 lines gained
 * less, 64 no more. The requests run past the end of a chunk into the
 * next chunk's weights, which that filter block reads next, and at the
 * end of the weights into whatever follows: a request never faults. */
#define BLK_WEIGHT_PREFETCH_LINES 32

/* The hot loop's body for channel c of one block at one tap (16 channels,
 * fewer in a padded last block, whose other lanes are never read: they may
 * hold anything, NaN included). w: the tap's 16 x 16 weights of the first
 * filter block ([channel][filter]), the others w_block apart; p: the
 * pixels' 16 channels. Plain input (a constant in each instance): pixel
 * j's channel c at p[j] + c cs, or zero where inside[j] is false (p[j]
 * then points at the plane, so that the load stays in bounds; its value
 * is not used). */
INLINE void blk_conv_channel(v16 acc[BLK_OCB][BLK_UR], const float *w, int64_t w_block, const float *const *p,
                             const bool *inside, int64_t cs, int64_t c, const int ocb, const int ur, const bool plain)
{
    v16 wv[BLK_OCB];
    BLK_UNROLL
    for (int o = 0; o < ocb; o++) {
        __builtin_prefetch(w + o * w_block + (c + BLK_WEIGHT_PREFETCH_LINES) * DNNK_BLOCK, 0, 3);
        wv[o] = blk_load(w + o * w_block + c * DNNK_BLOCK);
    }
    BLK_UNROLL
    for (int j = 0; j < ur; j++) {
        float v = plain ? p[j][c * cs] : p[j][c];
        v16 x = blk_splat(plain && !inside[j] ? 0.0f : v);
        BLK_UNROLL
        for (int o = 0; o < ocb; o++)
            acc[o][j] += wv[o] * x;
    }
}

/* The hot loop: the nc channels of one block at one tap. The channel loop
 * stays a loop: unrolled, clang hoists the 16 x ur broadcasts (and the
 * pixel pointers' selects, distributed over the 16 offsets) ahead of the
 * multiply-adds and spills them, at less than half the speed. */
INLINE void blk_conv_step(v16 acc[BLK_OCB][BLK_UR], const float *w, int64_t w_block, const float *const *p,
                          const bool *inside, int64_t cs, int64_t nc, const int ocb, const int ur, const bool plain)
{
    _Pragma("clang loop unroll(disable)")
    for (int64_t c = 0; c < nc; c++)
        blk_conv_channel(acc, w, w_block, p, inside, cs, c, ocb, ur, plain);
}

/* out = act((sum + bias) + residual) for a tile of `rows` filter blocks x
 * n consecutive pixels, as dnnk_conv (the bias 0 without one): x[r *
 * BLK_UR + j] the sums of block r at pixel j, bias (or NULL) its first
 * block's 16 biases, res (or NULL) its first block's residual at pixel 0,
 * block r's res_plane floats further. Each test is made once for the
 * tile: with the tests in a function of one vector, called in unrolled
 * loops, LLVM kept a branch per vector, 300 blocks of each register tile's
 * instance, which took a fifth of ResNet-50's compile time (1.6 against
 * 1.4 s of user time) and ran MobileNetV2 4% slower. */
INLINE void blk_tile_epilogue(const BlkOps *o, v16 *x, const float *bias, const float *res, int64_t res_plane,
                              const int rows, const int n)
{
    if (bias)
        BLK_UNROLL
        for (int r = 0; r < rows; r++) {
            v16 b = blk_load(bias + r * DNNK_BLOCK);
            BLK_UNROLL
            for (int j = 0; j < n; j++)
                x[r * BLK_UR + j] += b;
        }
    else /* + 0, as the reference: a sum of -0 becomes +0 */
        BLK_UNROLL
        for (int r = 0; r < rows; r++)
            BLK_UNROLL
            for (int j = 0; j < n; j++)
                x[r * BLK_UR + j] += (v16){0};
    if (res)
        BLK_UNROLL
        for (int r = 0; r < rows; r++)
            BLK_UNROLL
            for (int j = 0; j < n; j++)
                x[r * BLK_UR + j] += blk_load(res + r * res_plane + j * DNNK_BLOCK);
    blk_activate_all(&o->act, x, BLK_UR, rows, n);
}

/* A 1x1 conv: the input lines of the next tile's pixels in one channel
 * block, requested while this tile computes (each tile reads a few lines
 * from every channel block's plane, as many streams as there are blocks,
 * more than the hardware prefetchers follow: ResNet-50's 1x1 convs at batch
 * 8 ran 1.1 to 1.3 times slower without). next: where they are (blk_next_inputs);
 * pointwise: one after the other from next[0], so that the requests are one
 * address and six constant offsets, not six offsets kept on the stack. */
INLINE void blk_prefetch_next_inputs(const float *plane, const int64_t *next, const int ur, const bool pointwise)
{
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        __builtin_prefetch(plane + (pointwise ? next[0] + j * DNNK_BLOCK : next[j]), 0, 2);
}

/* Where in a channel block's plane the next ur pixels' windows start, for
 * blk_prefetch_next_inputs: found once a tile, so that each channel block
 * requests its lines without a test; a window outside the input requests
 * the plane's first line instead, a harmless request. Pointwise (as
 * blk_pointwise says): only next[0], the first pixel itself, without a
 * division (the others follow it); past the plane's last pixel, lines of
 * the next plane or past the input, which a request may name (it never
 * faults). */
INLINE void blk_next_inputs(const BlkConv *g, int64_t pix, const int ur, bool pointwise, int64_t *next)
{
    if (pointwise) {
        next[0] = pix * DNNK_BLOCK;
        return;
    }
    int64_t ny[BLK_UR], nx[BLK_UR];
    blk_origins(g, pix, ur, ny, nx);
    BLK_UNROLL
    for (int j = 0; j < ur; j++) {
        bool inside = (uint64_t)ny[j] < (uint64_t)g->H && (uint64_t)nx[j] < (uint64_t)g->W;
        next[j] = inside ? (ny[j] * g->W + nx[j]) * DNNK_BLOCK : 0;
    }
}

/* Whether every pixel's window is one tap inside the input: a 1x1 conv
 * without padding, of any stride (a projection shortcut's of stride 2 too),
 * whose tiles find their pixels' inputs once (blk_one_tap_inputs), not in
 * every channel block; pointwise: and of stride 1, pixel j of the input
 * being pixel j of the output. */
INLINE bool blk_one_tap(const BlkConv *g)
{
    return g->KH == 1 && g->KW == 1 && g->pad_top == 0 && g->pad_left == 0 && (g->OH - 1) * g->sh < g->H &&
           (g->OW - 1) * g->sw < g->W;
}

INLINE bool blk_pointwise(const BlkConv *g)
{
    return blk_one_tap(g) && g->sh == 1 && g->sw == 1 && g->H == g->OH && g->W == g->OW;
}

/* Where a one-tap tile's pixels are in a channel block's plane; pointwise:
 * one after the other (iy0 and ix0 are then not read). */
INLINE void blk_one_tap_inputs(const BlkConv *g, const BlkTile *t, const int64_t *iy0, const int64_t *ix0,
                               const int ur, const bool pointwise, int64_t *at)
{
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        at[j] = (pointwise ? t->pix + j : iy0[j] * g->W + ix0[j]) * DNNK_BLOCK;
}

/* The sums of one channel block's taps, added to acc; one_tap: as
 * blk_one_tap says, the pixels at `at` in the plane. */
INLINE void blk_conv_block_taps(v16 acc[BLK_OCB][BLK_UR], const BlkConv *g, const BlkOps *o, const float *plane,
                                const float *w, int64_t nc, const int64_t *iy0, const int64_t *ix0, const int ocb,
                                const int ur, const bool plain, bool one_tap, const int64_t *at)
{
    if (one_tap) {
        const float *p[BLK_UR];
        bool inside[BLK_UR];
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            p[j] = plane + at[j], inside[j] = true;
        blk_conv_step(acc, w, g->w_block, p, inside, 0, nc, ocb, ur, false);
        return;
    }
    for (int64_t ky = 0; ky < g->KH; ky++) {
        bool row_ok[BLK_UR];
        if (!blk_rows_inside(g, iy0, ky, ur, row_ok))
            continue;
        for (int64_t kx = 0; kx < g->KW; kx++) {
            const float *p[BLK_UR];
            bool inside[BLK_UR];
            blk_tap_pixels(g, plane, o->zero, iy0, ix0, row_ok, ky, kx, ur, plain, p, inside);
            blk_conv_step(acc, w + (ky * g->KW + kx) * DNNK_BLOCK * DNNK_BLOCK, g->w_block, p, inside,
                          g->H * g->W, nc, ocb, ur, plain);
        }
    }
}

/* The sums of a register tile of ocb filter blocks x ur pixels over a
 * chunk of channel blocks, in the order (channel block, ky, kx, channel),
 * added to acc; plain: the input is plain (one block of its channels);
 * one_tap: as blk_one_tap says; pointwise: as blk_pointwise says (iy0 and
 * ix0 are then not read); streamed: pointwise, its tile requesting its
 * share of the next unit's weights (BLK_STREAM_PIXELS). */
INLINE void blk_conv_sums(v16 acc[BLK_OCB][BLK_UR], const BlkConv *g, const BlkOps *o, const BlkTile *t,
                          const int64_t *iy0, const int64_t *ix0, const int ocb, const int ur, const bool plain,
                          const bool one_tap, bool pointwise, const bool streamed)
{
    int64_t taps = g->KH * g->KW;
    bool prefetch = taps == 1 && !plain;
    int64_t next[BLK_UR], at[BLK_UR];
    if (prefetch)
        blk_next_inputs(g, t->pix + ur, ur, pointwise, next);
    if (one_tap)
        blk_one_tap_inputs(g, t, iy0, ix0, ur, pointwise, at);
    for (int64_t cb = t->cb0; cb < t->cb1; cb++) {
        const float *plane = o->in + (t->n * g->CB + cb) * g->in_plane;
        const float *w = o->w + t->fb * g->w_block + cb * taps * DNNK_BLOCK * DNNK_BLOCK;
        if (prefetch)
            blk_prefetch_next_inputs(plane, next, ur, pointwise);
        if (streamed)
            blk_prefetch_lines(g, t->prefetch + (cb - t->cb0) * t->prefetch_lines * DNNK_BLOCK, t->prefetch_runs,
                               t->prefetch_lines);
        blk_conv_block_taps(acc, g, o, plane, w, min64(DNNK_BLOCK, g->C - cb * DNNK_BLOCK), iy0, ix0, ocb, ur,
                            plain, one_tap, at);
    }
}

/* Whether a tile of the plain-input conv lies in one output row and the
 * windows of its pixels inside the input at every tap: then the pixels of
 * a tap are sw floats apart in one input row, and nothing needs a test
 * (a network's first conv: 96% of the 112 x 112 outputs of a 7 x 7 conv
 * with stride 2 and padding 3 on a 224 x 224 image). */
INLINE bool blk_plain_tile_inside(const BlkConv *g, const int64_t *iy0, const int64_t *ix0, int ur)
{
    return iy0[ur - 1] == iy0[0] && iy0[0] >= 0 && iy0[0] + (g->KH - 1) * g->dh < g->H && ix0[0] >= 0 &&
           ix0[ur - 1] + (g->KW - 1) * g->dw < g->W;
}

/* blk_conv_sums of such a tile, in the same order (ky, kx, channel), so
 * that every sum is the same to the bit: at, pixel 0's window's first
 * input (channel 0); w, the first filter block's weights. The pixels'
 * pointers are one add each, and every pixel is inside. An image of 3
 * channels (a network's first conv, mostly) has its channel loop unrolled:
 * as a loop of 3 around 12 multiply-adds, the loop's own work took a
 * share of ResNet-50's 7 x 7 conv, which ran 12% faster unrolled (68 to
 * 77 GFLOPS on one thread of a Zen 3). */
INLINE void blk_conv_sums_plain_inside(v16 acc[BLK_OCB][BLK_UR], const BlkConv *g, const float *at, const float *w,
                                       int64_t w_block, const int ocb, const int ur)
{
    bool inside[BLK_UR];
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        inside[j] = true;
    for (int64_t ky = 0; ky < g->KH; ky++)
        for (int64_t kx = 0; kx < g->KW; kx++) {
            const float *p[BLK_UR];
            BLK_UNROLL
            for (int j = 0; j < ur; j++)
                p[j] = at + ky * g->dh * g->W + kx * g->dw + j * g->sw;
            const float *tap = w + (ky * g->KW + kx) * DNNK_BLOCK * DNNK_BLOCK;
            if (g->C == 3)
                BLK_UNROLL
                for (int c = 0; c < 3; c++)
                    blk_conv_channel(acc, tap, w_block, p, inside, g->H * g->W, c, ocb, ur, true);
            else
                blk_conv_step(acc, tap, w_block, p, inside, g->H * g->W, g->C, ocb, ur, true);
        }
}

/* The output lines (and, before the epilogue, the residual's) of the next
 * ur pixels of the tile's filter blocks, which the next tile of the band
 * most often writes: requested while this tile computes, so that its
 * stores and loads do not wait for memory. */
INLINE void blk_prefetch_next_outputs(const BlkConv *g, const BlkOps *o, const BlkTile *t, int64_t at, const int ocb,
                                      const int ur)
{
    if (t->pix + 2 * ur > g->OH * g->OW)
        return;
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            __builtin_prefetch(o->out + at + f * g->out_plane + (ur + j) * DNNK_BLOCK, 1, 2);
    if (!o->res || !t->last)
        return;
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            __builtin_prefetch(o->res + at + f * g->out_plane + (ur + j) * DNNK_BLOCK, 0, 2);
}

/* A register tile's sums before its first chunk: zeros, or the partial
 * sums that the output holds; the test made once for the tile
 * (blk_tile_epilogue says why). */
INLINE void blk_tile_start(v16 acc[BLK_OCB][BLK_UR], const BlkConv *g, const BlkOps *o, const BlkTile *t, int64_t at,
                           const int ocb, const int ur)
{
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            acc[f][j] = (v16){0};
    if (t->first)
        return;
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            acc[f][j] = blk_load(o->out + at + f * g->out_plane + j * DNNK_BLOCK);
}

/* One register tile of ocb filter blocks x ur pixels over a chunk of
 * channel blocks: its sums, then (after the last chunk) the epilogue. */
INLINE void blk_conv_tile(const BlkConv *g, const BlkOps *o, const BlkTile *t, const int ocb, const int ur,
                          const bool plain, const bool one_tap, const bool pointwise, const bool streamed)
{
    v16 acc[BLK_OCB][BLK_UR];
    int64_t at = (t->n * g->FB + t->fb) * g->out_plane + t->pix * DNNK_BLOCK;
    blk_tile_start(acc, g, o, t, at, ocb, ur);
    blk_prefetch_next_outputs(g, o, t, at, ocb, ur);
    /* A pointwise tile's pixels are its inputs: no origins (two divisions
     * a call, a visible share of a 1x1 tile over 64 channels with 8 lanes). */
    int64_t iy0[BLK_UR], ix0[BLK_UR];
    if (!pointwise)
        blk_origins(g, t->pix, ur, iy0, ix0);
    if (plain && blk_plain_tile_inside(g, iy0, ix0, ur))
        blk_conv_sums_plain_inside(acc, g, o->in + t->n * g->in_plane + iy0[0] * g->W + ix0[0],
                                   o->w + t->fb * g->w_block, g->w_block, ocb, ur);
    else
        blk_conv_sums(acc, g, o, t, iy0, ix0, ocb, ur, plain, one_tap, pointwise, streamed);
    if (t->last)
        blk_tile_epilogue(o, &acc[0][0], o->bias ? o->bias + t->fb * DNNK_BLOCK : 0, o->res ? o->res + at : 0,
                          g->out_plane, ocb, ur);
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int j = 0; j < ur; j++)
            blk_store(o->out + at + f * g->out_plane + j * DNNK_BLOCK, acc[f][j]);
}

/* Each instance is one function of the module, shared by every layer, and
 * linked only where a layer calls it (DNNK_DEFERRED): inlined into each
 * layer with its constant descriptor, the 24 instances
 * nearly doubled the compile time of ResNet-50 (8.1 against 4.3 s) for no
 * measured speed, the hot loop's strides being a few registers either way.
 * The 1x1 convs have instances of their own (one_tap): beside the other
 * convs' taps in one function, their hot loop's six pixel pointers were
 * spilled and loaded again at every channel (on a Zen 3 host, ResNet-50's
 * stride-2 projections went from 1.38 to 0.93 of ONNX Runtime's time with
 * their own and 4befad8's tiles; docs/performance.md). The pointwise 1x1
 * convs (stride 1, blk_pointwise) have their own too: with the constant,
 * a tile's six pixels are one pointer and constant offsets, and the work
 * between channel blocks (advancing six pointers, six requests whose
 * offsets were spilled) fell from about 40 instructions to 20, for 16
 * iterations of 22 in the hot loop (ResNet-50 1-1.5% faster on one thread,
 * run by run against the build before in one process). */
#define BLK_TILE_PARAMS (const BlkConv *g, const BlkOps *o, const BlkTile *t)
#define BLK_TILE_FN(ocb, ur)                                                                                \
    DNNK_DEFERRED_FN(blk_conv_tile_##ocb##_##ur, BLK_TILE_PARAMS)                                           \
    {                                                                                                       \
        blk_conv_tile(g, o, t, ocb, ur, false, false, false, false);                                        \
    }                                                                                                       \
    DNNK_DEFERRED_FN(blk_conv_tile_one_tap_##ocb##_##ur, BLK_TILE_PARAMS)                                   \
    {                                                                                                       \
        blk_conv_tile(g, o, t, ocb, ur, false, true, false, false);                                         \
    }                                                                                                       \
    DNNK_DEFERRED_FN(blk_conv_tile_pointwise_##ocb##_##ur, BLK_TILE_PARAMS)                                 \
    {                                                                                                       \
        blk_conv_tile(g, o, t, ocb, ur, false, true, true, false);                                          \
    }                                                                                                       \
    DNNK_DEFERRED_FN(blk_conv_tile_streamed_##ocb##_##ur, BLK_TILE_PARAMS)                                  \
    {                                                                                                       \
        blk_conv_tile(g, o, t, ocb, ur, false, true, true, true);                                           \
    }                                                                                                       \
    DNNK_DEFERRED_FN(blk_conv_tile_plain_##ocb##_##ur, BLK_TILE_PARAMS)                                     \
    {                                                                                                       \
        blk_conv_tile(g, o, t, ocb, ur, true, false, false, false);                                         \
    }
#define BLK_TILE_FNS(ocb)                                                                                   \
    BLK_TILE_FN(ocb, 1) BLK_TILE_FN(ocb, 2) BLK_TILE_FN(ocb, 3) BLK_TILE_FN(ocb, 4) BLK_TILE_FN(ocb, 5)     \
        BLK_TILE_FN(ocb, 6)
BLK_TILE_FNS(1)
#if BLK_OCB >= 2
BLK_TILE_FNS(2)
#endif
#if BLK_OCB >= 4
BLK_TILE_FNS(3)
BLK_TILE_FNS(4)
#endif

#define BLK_TILE_CASE(ocb, ur)                                                                              \
    case (ocb) * 16 + (ur):                                                                                 \
        if (!blk_tile_used(used, ocb, ur))                                                                  \
            break;                                                                                          \
        if (plain)                                                                                          \
            blk_conv_tile_plain_##ocb##_##ur(g, o, t);                                                      \
        else if (streamed)                                                                                  \
            blk_conv_tile_streamed_##ocb##_##ur(g, o, t);                                                   \
        else if (pointwise)                                                                                 \
            blk_conv_tile_pointwise_##ocb##_##ur(g, o, t);                                                  \
        else if (one_tap)                                                                                   \
            blk_conv_tile_one_tap_##ocb##_##ur(g, o, t);                                                    \
        else                                                                                                \
            blk_conv_tile_##ocb##_##ur(g, o, t);                                                            \
        break;
#define BLK_TILE_CASES(ocb)                                                                                 \
    BLK_TILE_CASE(ocb, 1)                                                                                   \
    BLK_TILE_CASE(ocb, 2)                                                                                   \
    BLK_TILE_CASE(ocb, 3) BLK_TILE_CASE(ocb, 4) BLK_TILE_CASE(ocb, 5) BLK_TILE_CASE(ocb, 6)

/* The tile shapes a layer's units call, as two sets of sizes (bit s - 1
 * for size s): its filter groups' splits into at most BLK_OCB blocks and
 * its bands' splits into tiles of at most BLK_UR pixels, of a full and of
 * the last group or band. Every pair of the two is a superset of the
 * pairs that blk_conv_dense calls. It is computed without loops, so that
 * LLVM folds it where the descriptor is a constant (a layer's instance)
 * before optimising: the instances of the tiles a layer never calls are
 * then dropped at once, which took most of the optimisation time of a
 * module (48 tile functions, 1.5 s of ResNet-50's 4.3). */
typedef struct BlkTilesUsed {
    int64_t ocb_sizes, ur_sizes;
} BlkTilesUsed;

INLINE int64_t blk_part_sizes(BlkSplit s) { return (int64_t)1 << (s.base - 1) | (int64_t)(s.extra > 0) << s.base; }

INLINE BlkTilesUsed blk_tiles_used(const BlkConv *g)
{
    int64_t groups = dnnk_ceil_div(g->FB, g->filter_blocks), bands = dnnk_ceil_div(g->OH, g->rows);
    int64_t full_group = min64(g->filter_blocks, g->FB), last_group = g->FB - (groups - 1) * g->filter_blocks;
    int64_t full_band = min64(g->rows, g->OH), last_band = g->OH - (bands - 1) * g->rows;
    BlkTilesUsed u = {
        .ocb_sizes = blk_part_sizes(blk_split(full_group, BLK_OCB)) | blk_part_sizes(blk_split(last_group, BLK_OCB)),
        .ur_sizes = blk_part_sizes(blk_tiles(0, full_band, g->OW, BLK_UR, true).split) |
                    blk_part_sizes(blk_tiles(0, last_band, g->OW, BLK_UR, true).split),
    };
    return u;
}

INLINE bool blk_tile_used(BlkTilesUsed u, int64_t ocb, int64_t ur)
{
    return (u.ocb_sizes >> (ocb - 1) & 1) && (u.ur_sizes >> (ur - 1) & 1);
}

/* A tile of any size, with the instance of its constants (plain, one_tap,
 * pointwise, streamed: which instance), if the layer uses it. */
INLINE void blk_conv_tile_any(const BlkConv *g, const BlkOps *o, const BlkTile *t, int64_t ocb, int64_t ur,
                              BlkTilesUsed used, const bool plain, bool one_tap, bool pointwise, bool streamed)
{
    switch (ocb * 16 + ur) {
        BLK_TILE_CASES(1)
#if BLK_OCB >= 2
        BLK_TILE_CASES(2)
#endif
#if BLK_OCB >= 4
        BLK_TILE_CASES(3)
        BLK_TILE_CASES(4)
#endif
    default: break;
    }
}

/* Channel blocks per chunk: as many as keep the chunk's weights for
 * `blocks` filter blocks within BLK_CHUNK_BYTES, and the chunks even. The
 * same for every unit (so a filter's sums do not depend on its unit). */
INLINE int64_t blk_chunk(const BlkConv *g)
{
    int64_t blocks = min64(g->filter_blocks, g->FB);
    int64_t per_cb = blocks * g->KH * g->KW * DNNK_BLOCK * DNNK_BLOCK * (int64_t)sizeof(float);
    int64_t fit = BLK_CHUNK_BYTES / per_cb;
    fit = fit < 1 ? 1 : fit > g->CB ? g->CB : fit;
    return dnnk_ceil_div(g->CB, dnnk_ceil_div(g->CB, fit));
}

/* The weights to request while tile t (of unit u) computes: after the
 * unit's last chunk, the first chunk of unit u + 1, which the same thread
 * most often runs next, where that unit's filters are others (its weights
 * then come from memory); none within a unit, or before a unit of the same
 * filters (another band, whose weights this unit leaves in the caches), or
 * after the layer's last unit. */
INLINE BlkChunkWeights blk_next_chunk(const dnnk_conv_blocked_desc *d, const BlkConv *g, const float *w, int64_t u,
                                      const BlkTile *t, int64_t chunk)
{
    int64_t bands = dnnk_ceil_div(g->OH, g->rows), groups = dnnk_ceil_div(g->FB, g->filter_blocks);
    if (!t->last || u + 1 >= dnnk_conv_blocked_units(d))
        return (BlkChunkWeights){0};
    dnnk_blocked_unit at = dnnk_blocked_unit_at(u, groups, bands, d->rows_major);
    dnnk_blocked_unit next = dnnk_blocked_unit_at(u + 1, groups, bands, d->rows_major);
    if (next.group == at.group)
        return (BlkChunkWeights){0};
    int64_t fb0 = next.group * g->filter_blocks;
    return blk_chunk_weights(g, w, fb0, min64(g->FB, fb0 + g->filter_blocks), 0, min64(g->CB, chunk));
}

/* Groups 1, input, output and residual blocked. ptrs: out, in, [residual],
 * weights [F/16][C/16][kh][kw][16 channels][16 filters], [bias]. Units
 * (image, group of filter blocks, band of rows) in d->rows_major's order
 * (dnnk_blocked_unit_at). Within
 * a unit: chunks of channel blocks, then tiles, then groups of at most
 * BLK_OCB of the unit's filter blocks; partial sums between chunks wait
 * in the output, unless it lies over the residual. Each output element is
 * written after its residual element is read, by the same tile, and
 * nothing else reads the residual: the output may lie over it (and never
 * over the input). */
INLINE void blk_conv_dense(const dnnk_conv_blocked_desc *d, void *const *ptrs, int64_t begin, int64_t end,
                           const bool plain)
{
    BlkConv g = blk_conv_sizes(d, plain);
    float zero[DNNK_BLOCK] = {0};
    BlkOps o = blk_ops(&d->conv, ptrs, zero);
    int64_t bands = dnnk_ceil_div(g.OH, g.rows), groups = dnnk_ceil_div(g.FB, g.filter_blocks);
    /* An output written over its residual (ir/storage.h) holds no partial
     * sums, which would overwrite residual values still to be read: every
     * channel block in one chunk, the sums in registers. The same sums in
     * the same order as in chunks (a partial sum stored and loaded again is
     * exact): the same bits. */
    int64_t chunk = o.res == o.out ? g.CB : blk_chunk(&g);
    BlkTilesUsed used = blk_tiles_used(&g);
    bool one_tap = !plain && blk_one_tap(&g);
    bool pointwise = one_tap && blk_pointwise(&g);
    bool streamed = pointwise && !d->rows_major && min64(g.rows, g.OH) * g.OW <= BLK_STREAM_PIXELS;
    for (int64_t u = begin; u < end; u++) {
        dnnk_blocked_unit at = dnnk_blocked_unit_at(u, groups, bands, d->rows_major);
        int64_t n = at.n, fg = at.group, r0 = at.run * g.rows, r1 = min64(g.OH, r0 + g.rows);
        int64_t fb0 = fg * g.filter_blocks, fb1 = min64(g.FB, fb0 + g.filter_blocks);
        BlkTiles tiles = blk_tiles(r0, r1, g.OW, BLK_UR, true);
        BlkSplit fsplit = blk_split(fb1 - fb0, BLK_OCB);
        for (int64_t cb0 = 0; cb0 < g.CB; cb0 += chunk) {
            BlkTile t = {.n = n, .cb0 = cb0, .cb1 = min64(g.CB, cb0 + chunk)};
            t.first = cb0 == 0, t.last = t.cb1 == g.CB;
            BlkChunkWeights next = streamed ? blk_next_chunk(d, &g, o.w, u, &t, chunk) : (BlkChunkWeights){0};
            int64_t share = dnnk_ceil_div(next.floats / DNNK_BLOCK, tiles.count);
            t.prefetch_runs = next.runs, t.prefetch_lines = dnnk_ceil_div(share, t.cb1 - t.cb0);
            for (int64_t i = 0; i < tiles.count; i++) {
                t.prefetch = next.first + i * share * DNNK_BLOCK;
                t.pix = blk_tile_pixel(&tiles, i);
                int64_t ur = blk_tile_size(&tiles, i);
                for (int64_t k = 0; k < fsplit.parts; k++) {
                    t.fb = fb0 + blk_part_start(&fsplit, k);
                    blk_conv_tile_any(&g, &o, &t, blk_part_size(&fsplit, k), ur, used, plain, one_tap, pointwise,
                                      streamed);
                }
            }
        }
    }
}

/* ---- depthwise --------------------------------------------------------- */

/* A tile of ur pixels of one output row of channel block cb, each pixel's
 * 16 channels one vector: per tap, its 16 weights times each pixel's
 * input. Tap rows outside the input are skipped (the row is the tile's);
 * a tap whose column is inside for every pixel reads the pixels at their
 * stride, one whose column is outside for some reads those from the zero
 * block. */
INLINE void blk_dw_tile(const BlkConv *g, const BlkOps *o, int64_t n, int64_t cb, int64_t pix, const int ur)
{
    v16 acc[BLK_DW_UR];
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        acc[j] = (v16){0};
    int64_t oy = pix / g->OW, iy0 = oy * g->sh - g->pad_top, ix0 = pix % g->OW * g->sw - g->pad_left;
    int64_t ky0, ky1, step = g->sw * DNNK_BLOCK;
    blk_taps_inside(iy0, g->dh, g->KH, g->H, &ky0, &ky1);
    const float *plane = o->in + (n * g->CB + cb) * g->in_plane;
    for (int64_t ky = ky0; ky < ky1; ky++) {
        const float *row = plane + (iy0 + ky * g->dh) * g->W * DNNK_BLOCK;
        const float *w = o->w + ((cb * g->KH + ky) * g->KW) * DNNK_BLOCK;
        for (int64_t kx = 0; kx < g->KW; kx++) {
            v16 wv = blk_load(w + kx * DNNK_BLOCK);
            int64_t ix = ix0 + kx * g->dw;
            if (ix >= 0 && ix + (ur - 1) * g->sw < g->W) {
                const float *p = row + ix * DNNK_BLOCK;
                BLK_UNROLL
                for (int j = 0; j < ur; j++)
                    acc[j] += blk_load(p + j * step) * wv;
            } else {
                BLK_UNROLL
                for (int j = 0; j < ur; j++) {
                    int64_t x = ix + j * g->sw;
                    const float *p = (uint64_t)x < (uint64_t)g->W ? row + x * DNNK_BLOCK : o->zero;
                    acc[j] += blk_load(p) * wv;
                }
            }
        }
    }
    int64_t at = (n * g->FB + cb) * g->out_plane + pix * DNNK_BLOCK;
    const float *bias = o->bias ? o->bias + cb * DNNK_BLOCK : 0;
    blk_tile_epilogue(o, acc, bias, o->res ? o->res + at : 0, 0, 1, ur);
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        blk_store(o->out + at + j * DNNK_BLOCK, acc[j]);
}

#define BLK_DW_CASE(ur)                                                                                     \
    case ur: blk_dw_tile(g, o, n, cb, pix, ur); break;

INLINE void blk_dw_tile_any(const BlkConv *g, const BlkOps *o, int64_t n, int64_t cb, int64_t pix, int64_t ur)
{
    switch (ur) {
        BLK_DW_CASE(1)
        BLK_DW_CASE(2)
        BLK_DW_CASE(3)
        BLK_DW_CASE(4)
#if BLK_DW_UR > 4
        BLK_DW_CASE(5)
        BLK_DW_CASE(6)
        BLK_DW_CASE(7)
        BLK_DW_CASE(8)
        BLK_DW_CASE(9)
        BLK_DW_CASE(10)
        BLK_DW_CASE(11)
        BLK_DW_CASE(12)
        BLK_DW_CASE(13)
        BLK_DW_CASE(14)
        BLK_DW_CASE(15)
        BLK_DW_CASE(16)
#endif
    default: break;
    }
}

/* groups = channels = filters, input, output and residual blocked. ptrs:
 * out, in, [residual], weights [C/16][kh][kw][16], [bias]. Units as
 * dnnk_conv_blocked's, its filter blocks the channel blocks. */
INLINE void blk_conv_depthwise(const dnnk_conv_blocked_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    BlkConv g = blk_conv_sizes(d, false);
    float zero[DNNK_BLOCK] = {0};
    BlkOps o = blk_ops(&d->conv, ptrs, zero);
    int64_t bands = dnnk_ceil_div(g.OH, g.rows), groups = dnnk_ceil_div(g.FB, g.filter_blocks);
    for (int64_t u = begin; u < end; u++) {
        dnnk_blocked_unit at = dnnk_blocked_unit_at(u, groups, bands, d->rows_major);
        int64_t n = at.n, fg = at.group, r0 = at.run * g.rows, r1 = min64(g.OH, r0 + g.rows);
        int64_t cb0 = fg * g.filter_blocks, cb1 = min64(g.FB, cb0 + g.filter_blocks);
        BlkTiles tiles = blk_tiles(r0, r1, g.OW, BLK_DW_UR, false);
        for (int64_t cb = cb0; cb < cb1; cb++)
            for (int64_t i = 0; i < tiles.count; i++)
                blk_dw_tile_any(&g, &o, n, cb, blk_tile_pixel(&tiles, i), blk_tile_size(&tiles, i));
    }
}

/* The registry's one kernel for convs on blocked activations: groups 1 or
 * depthwise (the descriptor is a constant, so each layer keeps one). */
KERNEL dnnk_conv_blocked(const dnnk_conv_blocked_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    if (d->conv.groups == 1)
        blk_conv_dense(d, ptrs, begin, end, false);
    else
        blk_conv_depthwise(d, ptrs, begin, end);
}

/* A conv of groups 1 reading plain activations of at most 16 channels and
 * writing blocked ones: a network's first conv reading the image as it
 * comes, without a reorder into a padded block (whose 16 lanes would
 * take 5 times the image's bytes for 3 channels). No residual. */
KERNEL dnnk_conv_plain_blocked(const dnnk_conv_blocked_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    blk_conv_dense(d, ptrs, begin, end, true);
}

/* ---- pooling ------------------------------------------------------------- */

/* Output pixels a max pool tile keeps in registers: independent maxima,
 * whose chains of dependent compares overlap (8 zmm, or 8 ymm with AVX2,
 * which spills with more). */
#if DNNK_LANES >= 16
#define BLK_POOL_UR 8
#else
#define BLK_POOL_UR 4
#endif

/* The sizes of a max pool. */
typedef struct BlkPool {
    int64_t H, W, OH, OW, KH, KW, sh, sw, dh, dw, pad_top, pad_left;
} BlkPool;

/* m = v > m ? v : m in every lane. */
INLINE v16 blk_max(v16 m, v16 v) { return blk_select(v > m, v, m); }

/* ur output pixels of row oy from the pixel at ox0, in one channel
 * block's planes: per tap row inside the input (in order), per tap column,
 * the pixels' inputs, or for a pixel whose column is outside, -infinity
 * (which never replaces a max, so the taps inside are the reference's). */
INLINE void blk_pool_tile(const BlkPool *g, const float *src, float *dst, const float *minus_inf, int64_t oy,
                          int64_t ox0, const int ur)
{
    v16 m[BLK_POOL_UR];
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        m[j] = blk_load(minus_inf);
    int64_t iy0 = oy * g->sh - g->pad_top, ix0 = ox0 * g->sw - g->pad_left, ky0, ky1;
    blk_taps_inside(iy0, g->dh, g->KH, g->H, &ky0, &ky1);
    for (int64_t ky = ky0; ky < ky1; ky++) {
        const float *row = src + (iy0 + ky * g->dh) * g->W * DNNK_BLOCK;
        for (int64_t kx = 0; kx < g->KW; kx++) {
            int64_t ix = ix0 + kx * g->dw;
            if (ix >= 0 && ix + (ur - 1) * g->sw < g->W) {
                BLK_UNROLL
                for (int j = 0; j < ur; j++)
                    m[j] = blk_max(m[j], blk_load(row + (ix + j * g->sw) * DNNK_BLOCK));
            } else {
                BLK_UNROLL
                for (int j = 0; j < ur; j++) {
                    int64_t x = ix + j * g->sw;
                    const float *p = (uint64_t)x < (uint64_t)g->W ? row + x * DNNK_BLOCK : minus_inf;
                    m[j] = blk_max(m[j], blk_load(p));
                }
            }
        }
    }
    BLK_UNROLL
    for (int j = 0; j < ur; j++)
        blk_store(dst + j * DNNK_BLOCK, m[j]);
}

#define BLK_POOL_CASE(ur)                                                                                   \
    case ur: blk_pool_tile(g, src, dst, minus_inf, oy, ox0, ur); break;

INLINE void blk_pool_tile_any(const BlkPool *g, const float *src, float *dst, const float *minus_inf, int64_t oy,
                              int64_t ox0, int64_t ur)
{
    switch (ur) {
        BLK_POOL_CASE(1)
        BLK_POOL_CASE(2)
        BLK_POOL_CASE(3)
        BLK_POOL_CASE(4)
#if BLK_POOL_UR > 4
        BLK_POOL_CASE(5)
        BLK_POOL_CASE(6)
        BLK_POOL_CASE(7)
        BLK_POOL_CASE(8)
#endif
    default: break;
    }
}

/* Max pooling, blocked in and out; units (image, channel block, output
 * row). As ref_maxpool bit for bit: per lane m = v > m ? v : m from
 * -infinity over the in-bounds taps in row-major order (the float compare
 * is the reference's double one; a NaN never replaces the max, a window
 * wholly in the padding gives -infinity). */
KERNEL dnnk_maxpool_blocked(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_window *a = &d->win;
    BlkPool g = {
        .H = d->in.dims[2], .W = d->in.dims[3], .OH = d->out.dims[2], .OW = d->out.dims[3],
        .KH = a->kernel[0], .KW = a->kernel[1], .sh = a->stride[0], .sw = a->stride[1],
        .dh = a->dilation[0], .dw = a->dilation[1], .pad_top = a->pad[0], .pad_left = a->pad[1],
    };
    float minus_inf[DNNK_BLOCK];
    for (int l = 0; l < DNNK_BLOCK; l++)
        minus_inf[l] = -__builtin_inff();
    float *out = ptrs[0];
    const float *in = ptrs[1];
    BlkSplit split = blk_split(g.OW, BLK_POOL_UR);
    for (int64_t u = begin; u < end; u++) {
        int64_t oy = u % g.OH, plane = u / g.OH;
        const float *src = in + plane * g.H * g.W * DNNK_BLOCK;
        float *dst = out + (plane * g.OH + oy) * g.OW * DNNK_BLOCK;
        for (int64_t i = 0; i < split.parts; i++) {
            int64_t ox0 = blk_part_start(&split, i);
            blk_pool_tile_any(&g, src, dst + ox0 * DNNK_BLOCK, minus_inf, oy, ox0, blk_part_size(&split, i));
        }
    }
}

/* sum + x, except that a NaN sum stays as it is. The reference's
 * compiled `sum += x` takes sum as the first operand, whose NaN x86 and
 * Arm return when both are NaN; clang commutes a vector addition at will,
 * so the kernel keeps the first NaN explicitly. */
INLINE v16d blk_add_keep_nan(v16d sum, v16d x)
{
    v16l is_number = sum == sum;
    return (v16d)(((v16l)(sum + x) & is_number) | ((v16l)sum & ~is_number));
}

/* The mean of each channel, blocked in, [N, C, 1, 1] out (the lanes of
 * real channels only); units (image, channel block). As ref_global_avgpool
 * bit for bit, NaN payloads included: per lane a double sum in pixel
 * order, divided in double by the pixel count, rounded once. */
KERNEL dnnk_global_avgpool_blocked(const dnnk_pool_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t S = d->in.dims[2] * d->in.dims[3], C = d->out.dims[1], CB = d->in.dims[1] / DNNK_BLOCK;
    float *out = ptrs[0];
    const float *in = ptrs[1];
    for (int64_t u = begin; u < end; u++) {
        const float *src = in + u * S * DNNK_BLOCK;
        v16d sum = {0};
        for (int64_t i = 0; i < S; i++)
            sum = blk_add_keep_nan(sum, __builtin_convertvector(blk_load(src + i * DNNK_BLOCK), v16d));
        v16d count;
        for (int l = 0; l < DNNK_BLOCK; l++)
            count[l] = (double)S;
        v16 mean = __builtin_convertvector(sum / count, v16);
        int64_t n = u / CB, c0 = u % CB * DNNK_BLOCK, nc = min64(DNNK_BLOCK, C - c0);
        float *dst = out + n * C + c0;
        if (nc == DNNK_BLOCK)
            blk_store(dst, mean);
        else
            for (int64_t l = 0; l < nc; l++)
                dst[l] = mean[l];
    }
}
