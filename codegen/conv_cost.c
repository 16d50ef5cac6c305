/* cpu_conv_cost (conv_cost.h): each convolution kernel's work counted as
 * the kernel does it, for its busiest thread, weighted by cycles per unit
 * of work fitted to --autotune's measurements of the example networks'
 * layers (docs/fast-convolution.md, "Choosing the algorithm", which gives
 * the fit and how often the model picks what was measured fastest). */
#include "conv_cost.h"

#include <math.h>

#include "dnnk.h"

/* Cycles per unit of work (ConvWork), fitted by tools/fit_conv_cost.py to
 * --autotune's times of the example networks' layers on 2 threads of a
 * 2-core AVX-512 machine (tests/data/autotune/examples.choices), with the
 * FMA's cost fixed at 0.625 (two ports at 80%) as the scale. The others
 * absorb what the counts leave out: `written` (an output through the
 * scalar epilogue, with its bounds checks and scattered stores) the most;
 * a unit's set-up was lost in the measurements' noise and fitted to 0. */
static const ConvWork cycles_per = {
    .fmas = 0.625,
    .gathered = 4.2,
    .transformed = 2.34,
    .written = 9.85,
    .accumulated = 3.64,
    .streamed = 0.39,
    .units = 0,
    /* Not fitted (the measurements above have no direct convolution): set by
     * hand so that the model ranks as measured the seven layers they were
     * calibrated on (the two kernels' relative times on one layer, from
     * dnnc bench --per-layer and --autotune on the development build):
     * MobileNetV2's depthwise 3x3 at strides 1 and 2 (direct about 5 times
     * faster than im2col), the 5x5 conv on 16 channels of
     * examples/googlenet.dnn and 3x3, 5x5 and 1x1 convs over 32 channels
     * (im2col 1.3 to 5 times faster: direct copies each channel's plane
     * once per filter). A copied element costs about two cycles (a strided
     * copy, element by element, for a stride above 1); a chained
     * multiply-add two, as each waits for its vector's previous one as well
     * as its load. */
    .copied = 2.0,
    .chained = 2.0,
};
/* Cycles per unit of work of the kernels on blocked activations
 * (codegen/kernels/blocked.c and winograd_blocked.c), which run whole
 * vectors through their epilogue and keep every transform in registers.
 * Their multiply-adds run at about 90% of two a cycle (the scale); the
 * others were searched on a grid for the least time the model's picks
 * take, by --autotune's times of the 29 blocked 3x3 shapes of the example
 * networks (tests/data/autotune/examples.choices; 2 threads of a 2-core
 * AVX-512 machine): a second --autotune run alone gives the same
 * constants, and on either run the picks take 0.3-0.4% more than the
 * fastest (docs/fast-convolution.md). `streamed` counts every byte of
 * weights or U a unit reads, as the re-reads of large U cost even from the
 * third-level cache. */
static const ConvWork blocked_cycles_per = {
    .fmas = 0.56,
    .transformed = 0.5,
    .accumulated = 0.125,
    .streamed = 0.09,
};
/* Filters a unit reads from beyond the second-level cache. */
#define L2_BYTES (1u << 20)
/* Channels whose transformed windows a Winograd unit keeps at once
 * (WINO_CB of codegen/kernels/winograd.c). */
#define WINOGRAD_CHANNEL_BLOCK 16
/* Rows of the im2col GEMM's reduction per block (KC of conv.c). */
#define IM2COL_K_BLOCK 256

/* The vector lanes of the kernel library this machine runs (kernels_bc.c
 * picks the AVX-512 build where the CPU has it). */
static int host_lanes(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") ? 16 : 8;
#else
    return 8;
#endif
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t min_of(int64_t a, int64_t b) { return a < b ? a : b; }

typedef struct ConvDims {
    int64_t N, G, Cg, Fg, P, K; /* images, groups, channels and filters per group, pixels, taps */
    int64_t OH, OW;
    int lanes, nr, threads;
} ConvDims;

static ConvDims dims_of(const Graph *g, const Node *n, int lanes, int threads)
{
    const Shape *is = &g->tensors[n->inputs[0]].shape, *os = &g->tensors[n->output].shape;
    const ConvAttrs *a = &n->attr.conv;
    ConvDims d = {.N = is->d[0], .G = a->groups, .Cg = is->d[1] / a->groups,
                  .Fg = os->d[1] / a->groups, .OH = os->d[2], .OW = os->d[3]};
    d.P = d.OH * d.OW;
    d.K = d.Cg * a->kernel[0] * a->kernel[1];
    d.lanes = lanes;
    d.threads = threads > 0 ? threads : 1;
    d.nr = 2 * d.lanes;
    return d;
}

/* The vector FMAs of the micro-kernel over k rows: 2 MR per row. */
static double micro_kernel_fmas(double k_rows) { return k_rows * 2 * DNNK_MR; }

/* Bytes of packed filters a unit reads that do not stay in L2. */
static double streamed(double bytes) { return bytes > L2_BYTES ? bytes : 0; }

/* The work of one unit w for the thread with the most of `units` units. */
static ConvWork busiest_thread(ConvWork w, const ConvDims *d, double units)
{
    double k = ceil((units - 0.5) / d->threads);
    return (ConvWork){w.fmas * k, w.gathered * k, w.transformed * k, w.written * k,
                      w.accumulated * k, w.streamed * k, k, w.copied * k, w.chained * k, w.blocked};
}

/* dnnk_conv: per tile of NR pixels, the panel packed (except a 1x1 conv
 * that reads its input in place), every filter panel through the
 * micro-kernel over K, and NR outputs per filter written. */
static ConvWork im2col_work(const ConvDims *d, const ConvAttrs *a)
{
    bool in_place = a->kernel[0] == 1 && a->kernel[1] == 1 && a->stride[0] == 1 &&
                    a->stride[1] == 1 && !a->pad[0] && !a->pad[1] && !a->pad[2] && !a->pad[3];
    double units = (double)(d->N * d->G * ceil_div(d->P, d->nr));
    double panels = (double)ceil_div(d->Fg, DNNK_MR);
    double k_blocks = (double)ceil_div(d->K, IM2COL_K_BLOCK);
    ConvWork w = {
        .fmas = panels * micro_kernel_fmas((double)d->K),
        .gathered = in_place ? 0 : (double)d->K * d->nr,
        .written = (double)d->Fg * d->nr,
        .accumulated = (k_blocks - 1) * (double)d->Fg * d->nr / d->lanes * 2,
        .streamed = streamed(panels * DNNK_MR * (double)d->K * 4),
    };
    return busiest_thread(w, d, units);
}

/* Vector ops of one alpha-point 1-D input and output transform (B^T x,
 * A^T x), counted from codegen/kernels/winograd.c. */
static double winograd_1d_ops(int m, bool output)
{
    if (m == 2)
        return 4;
    if (m == 4)
        return output ? 10 : 16;
    return output ? 20 : 28; /* m = 6 */
}

/* dnnk_conv_winograd: per unit (NR tiles, a block of filters), every
 * channel's windows gathered and transformed (once per filter block),
 * alpha^2 GEMMs over the channels, then per filter the output transform
 * and m^2 NR outputs written. */
static ConvWork winograd_work(const ConvDims *d, int m)
{
    int64_t alpha = m + 2, a2 = alpha * alpha;
    int64_t tiles = ceil_div(d->OH, m) * ceil_div(d->OW, m);
    int64_t panels = ceil_div(d->Fg, DNNK_MR);
    int64_t filter_blocks = ceil_div(panels, DNNK_WINOGRAD_PANELS);
    double units = (double)(d->N * d->G * ceil_div(tiles, d->nr) * filter_blocks);
    double block_panels = (double)panels / (double)filter_blocks;
    double vectors = (double)d->nr / d->lanes, filters = (double)d->Fg / (double)filter_blocks;
    double channel_blocks = (double)ceil_div(d->Cg, WINOGRAD_CHANNEL_BLOCK);
    ConvWork w = {
        .fmas = (double)a2 * block_panels * micro_kernel_fmas((double)d->Cg),
        .gathered = (double)d->Cg * (double)a2 * d->nr,
        .transformed = (double)d->Cg * vectors * 2 * alpha * winograd_1d_ops(m, false) +
                       filters * vectors * (alpha + m) * winograd_1d_ops(m, true),
        .written = filters * m * m * d->nr,
        .accumulated = (double)a2 * block_panels * DNNK_MR * vectors * (2 * channel_blocks - 1) +
                       (double)(a2 * d->Cg) * vectors,
        .streamed = streamed(block_panels * DNNK_MR * (double)(a2 * d->Cg) * 4),
    };
    return busiest_thread(w, d, units);
}

/* Vector ops of a real T x T transform, forward or inverse, on vectors of
 * windows: T + T/2 + 1 one-dimensional transforms of (T/2) log2 T
 * butterflies, each a complex multiplication and two additions (about 8
 * ops; the trivial twiddles are skipped, which the constant ignores). */
static double fft_ops(int64_t T)
{
    double log2t = 0;
    for (int64_t t = 1; t < T; t *= 2)
        log2t++;
    return (double)(T + T / 2 + 1) * (double)(T / 2) * log2t * 8;
}

/* dnnk_conv_fft: per unit (L tiles, a block of filters), every channel's
 * windows gathered and transformed once, T (T/2 + 1) complex
 * multiply-adds (4 FMAs) per filter and channel, then per filter one
 * inverse transform and the tile's outputs written. */
static ConvWork fft_work(const ConvDims *d, const ConvAttrs *a, int64_t T)
{
    int64_t th = T - a->kernel[0] + 1, tw = T - a->kernel[1] + 1;
    int64_t tiles = ceil_div(d->OH, th) * ceil_div(d->OW, tw);
    int64_t filter_blocks = ceil_div(d->Fg, dnnk_fft_block_filters(T));
    double units = (double)(d->N * d->G * ceil_div(tiles, d->lanes) * filter_blocks);
    double filters = (double)d->Fg / (double)filter_blocks, bins = (double)dnnk_fft_bins(T);
    double channel_blocks = (double)ceil_div(d->Cg, DNNK_FFT_CHANNELS(T));
    ConvWork w = {
        .fmas = bins * filters * (double)d->Cg * 4,
        .gathered = (double)d->Cg * (double)(T * T * d->lanes),
        .transformed = ((double)d->Cg + filters) * fft_ops(T),
        .written = filters * (double)(th * tw * d->lanes),
        .accumulated = bins * 2 * filters * (2 * channel_blocks - 1) + bins * 2 * (double)d->Cg,
        .streamed = streamed(filters * (double)d->Cg * 2 * bins * 4),
    };
    return busiest_thread(w, d, units);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

/* Phases of a stride s that some of k taps d apart land on: t d mod s
 * repeats every s / gcd(d, s) taps. */
static double phases_used(int64_t k, int64_t d, int64_t s)
{
    int64_t period = s / gcd64(d, s);
    return (double)(k < period ? k : period);
}

/* dnnk_conv_direct: per unit (image, filter), per tile and channel of the
 * group, the phase planes copied and one chained multiply-add per tap and
 * vector of the tile; the scalar sums (no tile fits) as one multiply-add
 * per weight and output, unvectorised. */
static ConvWork direct_work(const ConvDims *d, const ConvAttrs *a)
{
    dnnk_window win = {{a->kernel[0], a->kernel[1]}, {a->stride[0], a->stride[1]}, {a->dilation[0], a->dilation[1]},
                       {0, 0, 0, 0}};
    int64_t rows, cols, taps = a->kernel[0] * a->kernel[1];
    dnnk_plane_tile(&win, d->OH, d->OW, &rows, &cols);
    double units = (double)(d->N * d->G * d->Fg), outputs = (double)(d->OH * d->OW);
    ConvWork w = {.written = outputs};
    if (!rows) {
        w.chained = outputs * (double)(d->Cg * taps);
        return busiest_thread(w, d, units);
    }
    int64_t width = dnnk_plane_width(&win, cols), plane_rows = rows + dnnk_plane_extra_rows(&win);
    double tiles = (double)(ceil_div(d->OH, rows) * ceil_div(d->OW, cols)), cg = (double)d->Cg;
    double phases = phases_used(a->kernel[0], a->dilation[0], a->stride[0]) *
                    phases_used(a->kernel[1], a->dilation[1], a->stride[1]);
    w.copied = tiles * cg * phases * (double)(plane_rows * width);
    w.chained = tiles * cg * (double)taps * (double)ceil_div(rows * width, d->lanes);
    return busiest_thread(w, d, units);
}

/* ---- on blocked activations (groups 1) ---------------------------------- */

/* Vector multiply-adds of the library's lanes for n multiply-adds of 16
 * lanes (a v16 of blocked.c is 16 / lanes vectors). */
static double of_lanes(double v16_ops, const ConvDims *d) { return v16_ops * DNNK_BLOCK / d->lanes; }

/* dnnk_conv_blocked: per output pixel and block of 16 filters, C taps
 * multiply-adds (the channels of padded blocks are not run); each unit
 * (filter blocks, band of rows, describe_conv_blocked's split) reads its
 * filters' weights once. */
static ConvWork blocked_direct_work(const ConvDims *d, const ConvAttrs *a)
{
    int64_t FB = ceil_div(d->Fg, DNNK_BLOCK), taps = a->kernel[0] * a->kernel[1];
    int64_t unit_fb = dnnk_blocked_filter_blocks(FB), parts = d->N * ceil_div(FB, unit_fb);
    double units = (double)(parts * ceil_div(d->OH, dnnk_blocked_rows(parts, d->OH, d->OW)));
    ConvWork w = {
        .fmas = of_lanes((double)(d->N * d->P * FB * d->Cg * taps), d) / units,
        .streamed = (double)(unit_fb * DNNK_BLOCK * d->Cg * taps * 4),
        .blocked = true,
    };
    return busiest_thread(w, d, units);
}

/* dnnk_conv_winograd_blocked, with describe_conv_winograd_blocked's split:
 * per unit, its tiles' windows transformed for every channel block (once
 * per unit, so once per group of filter blocks), alpha^2 multiply-adds per
 * tile (padded to whole register tiles), filter block and channel, the
 * sums stored and reloaded between chunks of channels, one output
 * transform per tile and filter block, and the unit's U read once. */
static ConvWork blocked_winograd_work(const ConvDims *d, int m)
{
    int64_t alpha = m + 2, a2 = alpha * alpha, FB = ceil_div(d->Fg, DNNK_BLOCK), CB = ceil_div(d->Cg, DNNK_BLOCK);
    dnnk_winograd_blocked_desc v = {.m = m};
    dnnk_winograd_blocked_split(&v, d->N, CB, FB, d->OH, d->OW);
    int64_t tiles = dnnk_winograd_plane_tiles(d->OH, d->OW, m), runs = ceil_div(tiles, v.tiles);
    int64_t fgroups = ceil_div(FB, v.filter_blocks), chunks = ceil_div(CB, v.channel_blocks);
    double units = (double)(d->N * fgroups * runs), padded = 0; /* tiles of whole register tiles, per image */
    for (int64_t r = 0; r < runs; r++)
        padded += (double)(ceil_div(min_of(v.tiles, tiles - r * v.tiles), DNNK_WINOGRAD_BLOCKED_UR) *
                           DNNK_WINOGRAD_BLOCKED_UR);
    double images = (double)d->N;
    double in_ops = 2.0 * (double)alpha * winograd_1d_ops(m, false) + 2.0 * (double)a2; /* with loads and stores */
    double out_ops = (double)(alpha + m) * winograd_1d_ops(m, true) + (double)(a2 + 2 * m * m);
    ConvWork w = {
        .fmas = of_lanes(images * padded * (double)(a2 * FB * d->Cg), d) / units,
        .transformed = of_lanes(images * ((double)fgroups * padded * (double)CB * in_ops +
                                          (double)(FB * tiles) * out_ops), d) / units,
        .accumulated = of_lanes(images * (double)fgroups * padded *
                                    (double)(a2 * v.filter_blocks * 2 * (chunks - 1)), d) / units,
        .streamed = (double)(a2 * CB * v.filter_blocks * DNNK_BLOCK * DNNK_BLOCK * 4),
        .blocked = true,
    };
    return busiest_thread(w, d, units);
}

/* Whether n runs on blocked activations by a kernel of groups 1 (the
 * first conv reading plain input included). */
static bool runs_blocked(const Graph *g, const Node *n)
{
    return graph_tensor_layout(g, n->output) == LAYOUT_NCHW16C && n->attr.conv.groups == 1;
}

ConvWork cpu_conv_work(const Graph *g, const Node *n, AlgoChoice c, int lanes, int threads)
{
    ConvDims d = dims_of(g, n, lanes, threads);
    int tile = conv_algo_tile(c.algo, c.tile, &n->attr.conv);
    if (runs_blocked(g, n))
        return c.algo == ALGO_WINOGRAD ? blocked_winograd_work(&d, tile)
                                       : blocked_direct_work(&d, &n->attr.conv);
    switch (c.algo) {
    case ALGO_WINOGRAD:
        return winograd_work(&d, tile);
    case ALGO_FFT:
        return fft_work(&d, &n->attr.conv, tile);
    case ALGO_DIRECT:
        return direct_work(&d, &n->attr.conv);
    default:
        return im2col_work(&d, &n->attr.conv);
    }
}

double cpu_conv_cycles(ConvWork w)
{
    if (w.blocked)
        return w.fmas * blocked_cycles_per.fmas + w.transformed * blocked_cycles_per.transformed +
               w.accumulated * blocked_cycles_per.accumulated + w.streamed * blocked_cycles_per.streamed;
    return w.fmas * cycles_per.fmas + w.gathered * cycles_per.gathered +
           w.transformed * cycles_per.transformed + w.written * cycles_per.written +
           w.accumulated * cycles_per.accumulated + w.streamed * cycles_per.streamed +
           w.units * cycles_per.units + w.copied * cycles_per.copied + w.chained * cycles_per.chained;
}

double cpu_conv_cost(const Graph *g, const Node *n, AlgoChoice c, int threads)
{
    return cpu_conv_cycles(cpu_conv_work(g, n, c, host_lanes(), threads));
}
