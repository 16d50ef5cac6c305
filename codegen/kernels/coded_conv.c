/* coded_conv: a float convolution whose weights are codes (log2, codebook,
 * binary, ternary; ir/weight_code.h), packed 1 to 8 bits each in blocks of
 * DNNK_CODED_MR filters (dnnk.h, pack_coded_codes): the code_bits bytes of
 * one k hold the block's eight codes, read as one word and decoded into
 * eight lanes at once, never written back as a float filter:
 *   codebook  a lookup in the layer's 2^bits centroids
 *   log2      the power of two 2^-(m-1) built from the magnitude bits
 *             straight into a float's exponent field, times the filter's
 *             scale (exact: a product by a power of two), the sign bit
 *             from the code's
 *   binary    the scale with its sign bit set from the code
 *   ternary   the code sign-extended from 2 bits to -1, 0 or 1, times the
 *             scale
 * Each decoded value is the one the reference executor computes, and each
 * output's sum is the reference's conv_core's: its terms in the order
 * (channel, ky, kx), in double (a float times a float is exact in double,
 * fused or not). Terms whose tap falls in the padding are added as zero
 * products instead of skipped: a sum that starts at +0 is never -0, so
 * adding +-0 leaves it unchanged (only a weight that decodes to an
 * infinity or NaN would tell the difference). Then the reference's
 * epilogue, so the result is the reference's bit for bit.
 *
 * The sums of many outputs are taken side by side, each in its own order:
 *   an fc (dnnk_coded_fc_form) one block of eight filters in the lanes of
 *     a vector, up to eight images, the codes decoded in registers at each
 *     k; at batch 1 the kernel reads 1 to 8 bits a weight where the float
 *     fc reads 32;
 *   a conv a GEMM like dnnk_conv's: a tile of nr output pixels in the
 *     lanes (a panel of CODED_KC receptive-field rows converted to double
 *     once), CODED_ROWS filters in registers, the block's weights decoded
 *     once per CODED_KC rows into a small tile that stays in the first
 *     level cache. */
#include "common.h"

/* One lane per filter of a block of codes (DNNK_CODED_MR is 8). */
typedef uint64_t coded_u64x8 __attribute__((vector_size(64)));
typedef uint32_t coded_u32x8 __attribute__((vector_size(32)));
typedef int32_t coded_i32x8 __attribute__((vector_size(32)));
typedef float coded_f32x8 __attribute__((vector_size(32)));
typedef double coded_f64x8 __attribute__((vector_size(64)));

/* The library's double vector (half as many lanes as vf), any alignment. */
#define CODED_LANES (DNNK_LANES / 2)
typedef double coded_vd __attribute__((vector_size(DNNK_LANES * 4), aligned(8)));

/* The micro-kernel: CODED_ROWS filters x DNNK_NR pixels of double sums in
 * registers (16 of 32 vector registers with 16-lane floats, 8 of 16 with
 * 8-lane ones). */
#define CODED_NV (DNNK_NR / CODED_LANES)
#define CODED_ROWS (DNNK_LANES / 4)

/* Rows of the reduction per block: the pixel panel (CODED_KC x nr doubles,
 * 64 KiB) and a block's decoded weights (CODED_KC x 8 doubles, 16 KiB). */
#define CODED_KC 64

/* What decodes a block's codes: its eight filters' scales (0 past the
 * group's filters) or the layer's codebook. */
typedef struct CodedDecoder {
    int64_t type, weight_bits, code_bits;
    coded_f32x8 scale;
    const float *codebook;
} CodedDecoder;

typedef struct CodedArgs {
    float *out;
    const float *in, *residual, *decoder, *bias;
    const uint8_t *codes;
} CodedArgs;

INLINE CodedArgs coded_args(const dnnk_coded_desc *d, void *const *ptrs)
{
    int64_t r = d->conv.has_residual;
    return (CodedArgs){.out = ptrs[0],
                       .in = ptrs[1],
                       .residual = r ? ptrs[2] : 0,
                       .codes = ptrs[2 + r],
                       .decoder = ptrs[3 + r],
                       .bias = d->conv.has_bias ? ptrs[4 + r] : 0};
}

INLINE coded_f32x8 coded_as_float(coded_u32x8 u)
{
    coded_f32x8 f;
    copy_bytes(&f, &u, sizeof f);
    return f;
}

INLINE coded_u32x8 coded_as_bits(coded_f32x8 f)
{
    coded_u32x8 u;
    copy_bytes(&u, &f, sizeof u);
    return u;
}

/* Block b of group g's decoder: filter f = b * 8 + r of the group in lane r. */
INLINE CodedDecoder coded_decoder(const dnnk_coded_desc *d, const CodedArgs *a, int64_t g, int64_t b)
{
    int64_t Fg = d->conv.out.dims[1] / d->conv.groups;
    CodedDecoder c = {d->weight_type, d->weight_bits, d->code_bits, {0}, a->decoder};
    for (int r = 0; r < DNNK_CODED_MR; r++) {
        int64_t f = b * DNNK_CODED_MR + r;
        c.scale[r] = f < Fg ? a->decoder[d->per_channel ? g * Fg + f : 0] : 0.0f;
    }
    return c;
}

/* The eight codes of one k of a block, from its code_bits bytes at p. */
INLINE coded_u32x8 coded_codes(const CodedDecoder *c, const uint8_t *p)
{
    uint64_t word;
    copy_bytes(&word, p, sizeof word); /* DNNK_CODED_SPARE bytes follow the last k */
    coded_u64x8 words, shifts;
    for (int r = 0; r < DNNK_CODED_MR; r++)
        words[r] = word, shifts[r] = (uint64_t)(r * c->code_bits);
    uint64_t mask = ((uint64_t)1 << c->code_bits) - 1;
    return __builtin_convertvector((words >> shifts) & mask, coded_u32x8);
}

/* The eight weights of codes `code`, each weight_code_value's float. */
INLINE coded_f64x8 coded_decode(const CodedDecoder *c, coded_u32x8 code)
{
    coded_f32x8 v;
    switch (c->type) {
    case DNNK_CODEBOOK:
        for (int r = 0; r < DNNK_CODED_MR; r++)
            v[r] = c->codebook[code[r]];
        break;
    case DNNK_BINARY: v = coded_as_float(coded_as_bits(c->scale) ^ (~code & 1u) << 31); break;
    case DNNK_TERNARY: v = __builtin_convertvector((coded_i32x8)(code << 30) >> 30, coded_f32x8) * c->scale; break;
    default: {
        uint32_t top = (uint32_t)c->weight_bits - 1;
        coded_u32x8 m = code & ((1u << top) - 1), sign = code >> top << 31;
        coded_f32x8 power = coded_as_float((128u - m) << 23); /* 2^-(m-1); m <= 127 keeps it normal */
        v = coded_as_float((coded_as_bits(c->scale * power) ^ sign) & (coded_u32x8)(m != 0));
    }
    }
    return __builtin_convertvector(v, coded_f64x8);
}

/* The reference's epilogue on one sum: act(sum + bias + residual), rounded once. */
INLINE float coded_epilogue(const dnnk_coded_desc *d, const CodedArgs *a, double sum, int64_t f, int64_t at)
{
    double bias = a->bias ? a->bias[f] : 0.0, residual = a->residual ? a->residual[at] : 0.0;
    return activate(&d->conv.act, (float)(sum + bias + residual));
}

/* ---- fc: filters in the lanes ---- */

/* Images [n0, n0 + images) of block b of group g; images is a constant
 * where this is inlined, so that the sums stay in registers. */
INLINE void coded_fc_images(const dnnk_coded_desc *d, const CodedArgs *a, const CodedDecoder *c, int64_t g,
                            int64_t b, int64_t n0, int images)
{
    const dnnk_conv_desc *v = &d->conv;
    int64_t F = v->out.dims[1], Fg = F / v->groups, K = stride_of(&v->in, 1) / v->groups;
    const uint8_t *codes = a->codes + (g * dnnk_coded_blocks(Fg) + b) * K * c->code_bits;
    const float *x = a->in + n0 * K * v->groups + g * K;
    coded_f64x8 acc[DNNK_CODED_MR] = {{0}};
    for (int64_t k = 0; k < K; k++) {
        coded_f64x8 w = coded_decode(c, coded_codes(c, codes + k * c->code_bits));
        for (int j = 0; j < images; j++) {
            coded_f64x8 xs;
            for (int r = 0; r < DNNK_CODED_MR; r++)
                xs[r] = x[j * K * v->groups + k];
            acc[j] += xs * w;
        }
    }
    for (int j = 0; j < images; j++)
        for (int64_t r = 0; r < DNNK_CODED_MR && b * DNNK_CODED_MR + r < Fg; r++) {
            int64_t f = g * Fg + b * DNNK_CODED_MR + r, at = (n0 + j) * F + f;
            a->out[at] = coded_epilogue(d, a, acc[j][r], f, at);
        }
}

/* Unit u: block u % blocks of group u / blocks, every image, eight at a time. */
INLINE void coded_fc_unit(const dnnk_coded_desc *d, const CodedArgs *a, int64_t u)
{
    int64_t N = d->conv.out.dims[0], blocks = dnnk_coded_blocks(d->conv.out.dims[1] / d->conv.groups);
    int64_t g = u / blocks, b = u % blocks;
    CodedDecoder c = coded_decoder(d, a, g, b);
    for (int64_t n0 = 0; n0 < N;) {
        int64_t left = N - n0;
        int images = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        switch (images) {
        case 8: coded_fc_images(d, a, &c, g, b, n0, 8); break;
        case 4: coded_fc_images(d, a, &c, g, b, n0, 4); break;
        case 2: coded_fc_images(d, a, &c, g, b, n0, 2); break;
        default: coded_fc_images(d, a, &c, g, b, n0, 1); break;
        }
        n0 += images;
    }
}

/* ---- conv: pixels in the lanes ---- */

/* Row (ky, kx) of channel plane `plane` in the receptive fields of the
 * nr pixels from p0, as doubles: zeros for taps in the padding and for
 * pixels past the last. The pixels go by runs within one output row,
 * where the taps inside the input are one range of columns. */
INLINE void coded_pack_row(const dnnk_conv_desc *d, const float *plane, int64_t p0, int64_t ky, int64_t kx,
                           double *row)
{
    const dnnk_window *w = &d->win;
    int64_t H = d->in.dims[2], W = d->in.dims[3], OW = d->out.dims[3], P = d->out.dims[2] * OW;
    int64_t sw = w->stride[1];
    for (int64_t j = 0; j < DNNK_NR;) {
        if (p0 + j >= P) {
            row[j++] = 0;
            continue;
        }
        int64_t oy = (p0 + j) / OW, ox = (p0 + j) % OW, run = min64(DNNK_NR - j, OW - ox);
        int64_t iy = oy * w->stride[0] - w->pad[0] + ky * w->dilation[0];
        int64_t x0 = ox * sw - w->pad[1] + kx * w->dilation[1], lo = run, hi = run; /* inside: [lo, hi) */
        if (iy >= 0 && iy < H) {
            lo = min64(x0 >= 0 ? 0 : (-x0 + sw - 1) / sw, run);
            hi = x0 >= W ? lo : min64((W - x0 + sw - 1) / sw, run);
            hi = hi < lo ? lo : hi;
        }
        double *r = row + j;
        for (int64_t t = 0; t < lo; t++)
            r[t] = 0;
        for (int64_t t = lo; t < hi; t++)
            r[t] = plane[iy * W + x0 + t * sw];
        for (int64_t t = hi; t < run; t++)
            r[t] = 0;
        j += run;
    }
}

/* Rows [k0, k0 + kc) of the receptive fields of the nr pixels from p0;
 * `in` is the group's first channel of the image. */
INLINE void coded_pack_panel(const dnnk_conv_desc *d, const float *in, int64_t p0, int64_t k0, int64_t kc,
                             double *panel)
{
    int64_t KH = d->win.kernel[0], KW = d->win.kernel[1], plane = d->in.dims[2] * d->in.dims[3];
    for (int64_t kk = 0; kk < kc; kk++) {
        int64_t k = k0 + kk;
        coded_pack_row(d, in + k / (KH * KW) * plane, p0, k / KW % KH, k % KW, panel + kk * DNNK_NR);
    }
}

/* Rows [k0, k0 + kc) of block b of group g decoded: tile[kk * 8 + r]. */
INLINE void coded_decode_tile(const dnnk_coded_desc *d, const CodedArgs *a, int64_t g, int64_t b, int64_t k0,
                              int64_t kc, double *tile)
{
    int64_t Fg = d->conv.out.dims[1] / d->conv.groups;
    int64_t K = d->conv.in.dims[1] / d->conv.groups * d->conv.win.kernel[0] * d->conv.win.kernel[1];
    CodedDecoder c = coded_decoder(d, a, g, b);
    const uint8_t *codes = a->codes + ((g * dnnk_coded_blocks(Fg) + b) * K + k0) * d->code_bits;
    for (int64_t kk = 0; kk < kc; kk++) {
        coded_f64x8 w = coded_decode(&c, coded_codes(&c, codes + kk * d->code_bits));
        copy_bytes(tile + kk * DNNK_CODED_MR, &w, sizeof w);
    }
}

INLINE coded_vd coded_load(const double *p)
{
    coded_vd v;
    copy_bytes(&v, p, sizeof v);
    return v;
}

INLINE void coded_store(double *p, coded_vd v) { copy_bytes(p, &v, sizeof v); }

/* acc[r] += the decoded weights of rows [0, kc) (column r of the tile, 8
 * apart) times the panel's rows, each sum in k order. */
INLINE void coded_micro_kernel(const double *tile, const double *panel, int64_t kc,
                               coded_vd acc[CODED_ROWS][CODED_NV])
{
    for (int64_t k = 0; k < kc; k++) {
        coded_vd x[CODED_NV];
        for (int v = 0; v < CODED_NV; v++)
            x[v] = coded_load(panel + k * DNNK_NR + v * CODED_LANES);
        for (int r = 0; r < CODED_ROWS; r++) {
            coded_vd w;
            for (int l = 0; l < CODED_LANES; l++)
                w[l] = tile[k * DNNK_CODED_MR + r];
            for (int v = 0; v < CODED_NV; v++)
                acc[r][v] += w * x[v];
        }
    }
}

/* The sums of filters [f, f + CODED_ROWS) of the unit's run from f_begin:
 * zero or the partial sums of the rows before k0. */
INLINE void coded_start(const double *partial, int64_t row, bool first, coded_vd acc[CODED_ROWS][CODED_NV])
{
    for (int r = 0; r < CODED_ROWS; r++)
        for (int v = 0; v < CODED_NV; v++)
            acc[r][v] = first ? (coded_vd){0} : coded_load(partial + (row + r) * DNNK_NR + v * CODED_LANES);
}

/* A tile row's sums rounded to float with their bias and residual, as
 * coded_epilogue rounds each, a vector at a time; then no activation or
 * relu (x > 0 ? x : +0, NaN too), whose vector form is a mask. */
typedef float coded_vh __attribute__((vector_size(DNNK_LANES * 2), aligned(4)));
typedef uint32_t coded_vh_bits __attribute__((vector_size(DNNK_LANES * 2), aligned(4)));

INLINE void coded_finish_vectors(const dnnk_coded_desc *d, const CodedArgs *a, const coded_vd *acc, int64_t f,
                                 int64_t at)
{
    coded_vd bias = {0};
    for (int l = 0; l < CODED_LANES; l++)
        bias[l] = a->bias ? a->bias[f] : 0.0;
    for (int v = 0; v < CODED_NV; v++) {
        int64_t i = at + v * CODED_LANES;
        coded_vh residual = {0};
        if (a->residual)
            copy_bytes(&residual, a->residual + i, sizeof residual);
        coded_vd sum = acc[v] + bias + __builtin_convertvector(residual, coded_vd);
        coded_vh x = __builtin_convertvector(sum, coded_vh);
        if (d->conv.act.kind == DNNK_ACT_RELU) {
            coded_vh_bits bits;
            copy_bytes(&bits, &x, sizeof bits);
            bits &= (coded_vh_bits)(x > 0);
            copy_bytes(&x, &bits, sizeof x);
        }
        copy_bytes(a->out + i, &x, sizeof x);
    }
}

/* Filters [f, min(f + CODED_ROWS, f_end)) of group g of image n, pixels
 * [p0, p0 + np): the epilogue into the output, by vectors where the tile
 * is whole and the activation has a vector form. */
INLINE void coded_finish(const dnnk_coded_desc *d, const CodedArgs *a, int64_t n, int64_t g, int64_t f,
                         int64_t f_end, int64_t p0, int64_t np, coded_vd acc[CODED_ROWS][CODED_NV])
{
    int64_t F = d->conv.out.dims[1], Fg = F / d->conv.groups, P = d->conv.out.dims[2] * d->conv.out.dims[3];
    bool vectors = np == DNNK_NR && (d->conv.act.kind == DNNK_ACT_NONE || d->conv.act.kind == DNNK_ACT_RELU);
    for (int64_t r = 0; r < CODED_ROWS && f + r < f_end; r++) {
        int64_t fo = g * Fg + f + r, at = (n * F + fo) * P + p0;
        if (vectors) {
            coded_finish_vectors(d, a, acc[r], fo, at);
            continue;
        }
        double sums[DNNK_NR];
        for (int v = 0; v < CODED_NV; v++)
            coded_store(sums + v * CODED_LANES, acc[r][v]);
        for (int64_t j = 0; j < np; j++)
            a->out[at + j] = coded_epilogue(d, a, sums[j], fo, at + j);
    }
}

/* Where a unit of a conv is: image n, group g, the pixels of tiles [t0,
 * t0 + tiles), filters [f_begin, f_end) of the group. */
typedef struct CodedUnit {
    int64_t n, g, t0, tiles, f_begin, f_end;
} CodedUnit;

/* Unit u: image, group, band of d->band tiles, run of d->run filters (the
 * innermost). */
INLINE CodedUnit coded_unit(const dnnk_coded_desc *d, int64_t u)
{
    const dnnk_conv_desc *v = &d->conv;
    int64_t G = v->groups, Fg = v->out.dims[1] / G;
    int64_t tiles = dnnk_ceil_div(v->out.dims[2] * v->out.dims[3], DNNK_NR);
    int64_t runs = dnnk_ceil_div(Fg, d->run), bands = dnnk_ceil_div(tiles, d->band);
    int64_t run = u % runs, band = u / runs % bands;
    CodedUnit c = {u / runs / bands / G, u / runs / bands % G, band * d->band, 0, 0, 0};
    c.tiles = min64(d->band, tiles - c.t0);
    c.f_begin = run * d->run, c.f_end = min64(Fg, c.f_begin + d->run);
    return c;
}

/* Filters [f, f + CODED_ROWS) of tile t of the unit over rows [k0, k0 +
 * kc): their sums start at zero (first) or from the partial sums, and
 * end in the output (last) or back there. */
INLINE void coded_rows(const dnnk_coded_desc *d, const CodedArgs *a, const CodedUnit *c, int64_t t, int64_t f,
                       const double *weights, const double *panel, int64_t kc, bool first, bool last,
                       double *partial)
{
    int64_t P = d->conv.out.dims[2] * d->conv.out.dims[3], p0 = (c->t0 + t) * DNNK_NR;
    coded_vd acc[CODED_ROWS][CODED_NV];
    coded_start(partial, f - c->f_begin, first, acc);
    coded_micro_kernel(weights, panel, kc, acc);
    if (last) {
        coded_finish(d, a, c->n, c->g, f, c->f_end, p0, min64(DNNK_NR, P - p0), acc);
        return;
    }
    for (int r = 0; r < CODED_ROWS; r++)
        for (int v = 0; v < CODED_NV; v++)
            coded_store(partial + (f - c->f_begin + r) * DNNK_NR + v * CODED_LANES, acc[r][v]);
}

/* The reduction in blocks of CODED_KC rows: each block's panels packed
 * once for all the unit's filters, each filter block's weights decoded
 * once for all its tiles. */
INLINE void coded_conv_unit(const dnnk_coded_desc *d, const CodedArgs *a, int64_t u)
{
    const dnnk_conv_desc *v = &d->conv;
    CodedUnit c = coded_unit(d, u);
    int64_t Cg = v->in.dims[1] / v->groups, K = Cg * v->win.kernel[0] * v->win.kernel[1];
    const float *in = a->in + (c.n * v->in.dims[1] + c.g * Cg) * v->in.dims[2] * v->in.dims[3];
    double panels[DNNK_CODED_TILES][CODED_KC * DNNK_NR], weights[CODED_KC * DNNK_CODED_MR];
    double partial[DNNK_CODED_TILES][DNNK_CODED_FILTERS * DNNK_NR];
    for (int64_t k0 = 0; k0 < K; k0 += CODED_KC) {
        int64_t kc = min64(CODED_KC, K - k0);
        for (int64_t t = 0; t < c.tiles; t++)
            coded_pack_panel(v, in, (c.t0 + t) * DNNK_NR, k0, kc, panels[t]);
        for (int64_t b = c.f_begin / DNNK_CODED_MR; b * DNNK_CODED_MR < c.f_end; b++) {
            coded_decode_tile(d, a, c.g, b, k0, kc, weights);
            for (int64_t t = 0; t < c.tiles; t++)
                for (int64_t f = b * DNNK_CODED_MR; f < (b + 1) * DNNK_CODED_MR && f < c.f_end; f += CODED_ROWS)
                    coded_rows(d, a, &c, t, f, weights + f % DNNK_CODED_MR, panels[t], kc, k0 == 0,
                               k0 + kc == K, partial[t]);
        }
    }
}

/* ptrs: out, in, [residual], codes, scales or codebook, [bias]; units:
 * dnnk_coded_units. */
KERNEL dnnk_coded_conv(const dnnk_coded_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    CodedArgs a = coded_args(d, ptrs);
    for (int64_t u = begin; u < end; u++) {
        if (d->fc)
            coded_fc_unit(d, &a, u);
        else
            coded_conv_unit(d, &a, u);
    }
}
