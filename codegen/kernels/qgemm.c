/* Int8 convolution (qlinear_conv) as a GEMM on dot products of four bytes,
 * or for an fc (a 1x1 output of a kernel covering the input) one dot
 * product per output, with the requantisation in the epilogue. Pixels are
 * u8 (an i8 input is shifted by 128, which the packed offsets undo),
 * weights s8 once their zero point is subtracted (codegen/llvm/pack.c packs
 * them, and says which layers fit); the layouts are dnnk.h's. The same code
 * serves every instruction set through its dot product of four:
 *   - vpdpbusd (AVX-512 VNNI on 16 lanes, AVX-VNNI on 8), which adds the
 *     four u8 x s8 products of a lane to its int32 sum without saturating;
 *   - without VNNI, vpmaddwd on bytes widened to 16 bits. vpmaddubsw, the
 *     older u8 x s8 instruction, adds pairs of products in int16 with
 *     saturation (255 * 127 * 2 > 32767), so it is exact only for weights
 *     within [-64, 64], a range it would have to be told of. oneDNN
 *     accepts the saturation (or asks for weights halved); ONNX Runtime
 *     keeps s8 weights on vpmaddubsw only within [-64, 64] and otherwise
 *     turns them into u8 for a kernel that widens both operands to 16 bits
 *     for vpmaddwd. The widening is what this path does, for every weight:
 *     vpmaddwd's pairs of 16-bit products never leave int32;
 *   - on AArch64 with the dot-product extension (Armv8.2 +dotprod), sdot,
 *     which adds the four s8 x s8 products of a lane to its int32 sum. Its
 *     pixels are s8: u8 inputs shifted by -128 (i8 ones as they are), and
 *     the packed offsets (pack_qgemm_sdot_weights) add back the 128 sum w
 *     the shift took off, exactly, as gemmlowp, ruy and XNNPACK do. usdot
 *     (u8 x s8, +i8mm) would need no shift, but fewer cores have it;
 *   - on other AArch64 cores, 16-bit products of bytes widened as for
 *     vpmaddwd (a u8 x s8 product fits int16), added up in 32 bits.
 * Sums stay within int32 (K <= DNNK_QGEMM_MAX_K), and the epilogue forms
 * (sum + offset) * M in double and rounds it half to even: bit for bit the
 * reference executor's requantisation (runtime/reference/quant.c). */
#include "common.h"

/* DNNK_LANES int32 sums; as bytes, DNNK_LANES groups of four u8 pixels. */
typedef int32_t vi __attribute__((vector_size(DNNK_LANES * 4), aligned(4)));
typedef uint16_t vu16 __attribute__((vector_size(DNNK_LANES * 4), aligned(4)));
typedef int16_t vs16 __attribute__((vector_size(DNNK_LANES * 4), aligned(4)));

/* *acc += the dot products of the four u8 of each lane of *x with the four
 * s8 of the same lane of *w. Vectors go by pointer: passed by value they
 * would change the calling convention between the baseline caller and the
 * callee with AVX. */
typedef void (*QgemmDot)(vi *acc, const vi *x, const vi *w);

INLINE vi load_vi(const void *p)
{
    vi v;
    copy_bytes(&v, p, sizeof v);
    return v;
}

INLINE vi splat_vi(int32_t x)
{
    vi v;
    for (int l = 0; l < DNNK_LANES; l++)
        v[l] = x;
    return v;
}

/* The dot products, each compiled for the instructions it names (and
 * calling nothing compiled without them: a vector returned across would
 * change the calling convention). The library is built for a baseline CPU
 * and dnnc gives every function of it the target's CPU when it links it
 * (codegen/llvm/lower.c); it binds a kernel only for a CPU that has its
 * instructions. The kernels reach their dot product through a pointer, so
 * that clang, which refuses a direct call of an always_inline function
 * with features its caller lacks, lets it be inlined all the same. */
#if defined(__x86_64__) && DNNK_LANES == 16
#define QGEMM_VNNI "avx512f,avx512bw,avx512vnni"
#define QGEMM_MADD "avx512f,avx512bw"
#define VPDPBUSD __builtin_ia32_vpdpbusd512
#define VPMADDWD __builtin_ia32_pmaddwd512
#elif defined(__x86_64__)
#define QGEMM_VNNI "avx2,avxvnni"
#define QGEMM_MADD "avx2"
#define VPDPBUSD __builtin_ia32_vpdpbusd256
#define VPMADDWD __builtin_ia32_pmaddwd256
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

/* The ACLE's sdot intrinsic. clang before 17 declares it only where the
 * whole translation unit has +dotprod (__ARM_FEATURE_DOTPROD), which this
 * library, built for every AArch64 core, has not: there, the builtin it
 * stands for (34: its result and accumulator are int32x4_t). */
#if defined(__ARM_FEATURE_DOTPROD) || __clang_major__ >= 17
#define SDOT vdotq_s32
#else
#define SDOT(acc, x, w) ((int32x4_t)__builtin_neon_vdotq_v((int8x16_t)(acc), x, w, 34))
#endif

/* sdot on each 128-bit half of the eight lanes (split and joined in
 * registers: a copy through memory kept the accumulators there). */
#if DNNK_LANES != 8
#error "the AArch64 build has 8 lanes"
#endif
typedef int32_t vi4 __attribute__((vector_size(16)));

__attribute__((always_inline, target("dotprod"))) static void dot_sdot(vi *acc, const vi *x, const vi *w)
{
    vi4 a0 = __builtin_shufflevector(*acc, *acc, 0, 1, 2, 3), a1 = __builtin_shufflevector(*acc, *acc, 4, 5, 6, 7);
    vi4 x0 = __builtin_shufflevector(*x, *x, 0, 1, 2, 3), x1 = __builtin_shufflevector(*x, *x, 4, 5, 6, 7);
    vi4 w0 = __builtin_shufflevector(*w, *w, 0, 1, 2, 3), w1 = __builtin_shufflevector(*w, *w, 4, 5, 6, 7);
    a0 = (vi4)SDOT((int32x4_t)a0, (int8x16_t)x0, (int8x16_t)w0);
    a1 = (vi4)SDOT((int32x4_t)a1, (int8x16_t)x1, (int8x16_t)w1);
    *acc = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 4, 5, 6, 7);
}

/* Without dot products (cores before +dotprod: Cortex-A53, A57, A72):
 * every u8 x s8 product fits int16 (255 * -128 = -32640), so bytes 0 and
 * 2 of every lane, then 1 and 3, are multiplied in 16-bit halves (pixels
 * zero-extended, weights sign-extended) and each lane's four products
 * added in 32 bits. */
typedef uint32_t vu __attribute__((vector_size(DNNK_LANES * 4), aligned(4)));

INLINE vi halves_sum(vs16 products)
{
    vi p = (vi)products;
    return ((vi)((vu)p << 16) >> 16) + (p >> 16);
}

static void dot_widen(vi *acc, const vi *x, const vi *w)
{
    vs16 x_even = (vs16)(*x & 0x00ff00ff), x_odd = (vs16)((*x >> 8) & 0x00ff00ff);
    vs16 w_even = (vs16)((vu16)*w << 8) >> 8, w_odd = (vs16)*w >> 8;
    *acc += halves_sum(x_even * w_even) + halves_sum(x_odd * w_odd);
}
#endif

#ifdef QGEMM_VNNI
__attribute__((always_inline, target(QGEMM_VNNI))) static void dot_vnni(vi *acc, const vi *x, const vi *w)
{
    *acc = (vi)VPDPBUSD(*acc, *x, *w);
}

/* Bytes 0 and 2 of every lane, then bytes 1 and 3, in 16-bit halves:
 * pixels zero-extended, weights sign-extended; vpmaddwd multiplies the
 * halves and adds each lane's two products in 32 bits. */
__attribute__((always_inline, target(QGEMM_MADD))) static void dot_madd(vi *acc, const vi *x, const vi *w)
{
    vi x_even = *x & 0x00ff00ff, x_odd = (*x >> 8) & 0x00ff00ff;
    vs16 w_even = (vs16)((vu16)*w << 8) >> 8, w_odd = (vs16)*w >> 8;
    *acc += (vi)VPMADDWD((vs16)x_even, w_even) + (vi)VPMADDWD((vs16)x_odd, w_odd);
}
#endif

/* The four bytes at p as one int32 (little-endian, as the lanes hold them). */
INLINE int32_t load_word(const void *p)
{
    int32_t w;
    copy_bytes(&w, p, sizeof w);
    return w;
}

/* ---- the pixel panel ---------------------------------------------------- */

/* Bytes of the window a tile's pixels read one input channel through (on
 * the stack, with DNNK_NR bytes to spare): its input rows, padded with the
 * zero point, as wide as the layer's receptive fields reach. */
#define QGEMM_WINDOW 16384

/* The tile's pixels, p0 .. p0 + np - 1 of an image, and where they read.
 * With a window (the usual case), pixel j's receptive field starts at
 * base[j] of it, and for stride 1 the pixels of each output row form a run
 * of consecutive bases, run i being pixels run[i] .. run[i + 1] - 1;
 * otherwise y0 and x0 are the corners in the input (far outside for pixels
 * past the end), read with bounds checks. */
typedef struct QgemmTile {
    int64_t p0, np;
    bool windowed;
    int64_t rows, iy0; /* the window: its rows, and the first one's input row */
    int64_t base[DNNK_NR];
    int64_t runs, run[DNNK_NR + 1];
    int64_t y0[DNNK_NR], x0[DNNK_NR];
} QgemmTile;

/* Bytes per row of a window: as far as the layer's receptive fields reach.
 * A function of the descriptor, so that the copies it sizes are constant. */
INLINE int64_t window_width(const dnnk_qconv_desc *c)
{
    const dnnk_window *w = &c->win;
    return (c->out.dims[3] - 1) * w->stride[1] + (w->kernel[1] - 1) * w->dilation[1] + 1;
}

INLINE void qgemm_tile(const dnnk_qconv_desc *c, int64_t tile, QgemmTile *t)
{
    const dnnk_window *w = &c->win;
    int64_t OW = c->out.dims[3], P = c->out.dims[2] * OW;
    t->p0 = tile * DNNK_NR;
    t->np = min64(DNNK_NR, P - t->p0);
    int64_t first = t->p0 / OW, last = (t->p0 + t->np - 1) / OW;
    t->iy0 = first * w->stride[0] - w->pad[0];
    t->rows = (last - first) * w->stride[0] + (w->kernel[0] - 1) * w->dilation[0] + 1;
    int64_t width = window_width(c);
    t->windowed = t->rows * width + DNNK_NR <= QGEMM_WINDOW;
    t->runs = 0;
    for (int64_t j = 0; j < DNNK_NR; j++) {
        bool real = j < t->np;
        int64_t y = (t->p0 + j) / OW, x = (t->p0 + j) % OW;
        t->base[j] = real ? (y - first) * w->stride[0] * width + x * w->stride[1] : 0;
        if (real && (j == 0 || x == 0))
            t->run[t->runs++] = j;
        t->y0[j] = real ? y * w->stride[0] - w->pad[0] : -(1 << 30);
        t->x0[j] = real ? x * w->stride[1] - w->pad[1] : -(1 << 30);
    }
    t->run[t->runs] = t->np;
}

INLINE void fill_bytes(uint8_t *p, uint8_t v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

/* The tile's window on one input channel: input rows iy0 .. iy0 + rows - 1,
 * columns -pad_left .. width - pad_left - 1, zp outside the image. */
INLINE void qgemm_window(const dnnk_qconv_desc *c, const uint8_t *plane, uint8_t zp, const QgemmTile *t,
                         uint8_t *win)
{
    int64_t H = c->in.dims[2], W = c->in.dims[3], width = window_width(c);
    int64_t left = min64(c->win.pad[1], width), inside = min64(W, width - left);
    for (int64_t r = 0; r < t->rows; r++) {
        uint8_t *dst = win + r * width;
        int64_t iy = t->iy0 + r;
        if (iy < 0 || iy >= H) {
            fill_bytes(dst, zp, width);
            continue;
        }
        /* A copy of a length the layer fixes: a few vector moves. */
        fill_bytes(dst, zp, left);
        copy_bytes(dst + left, plane + iy * W, (size_t)inside);
        fill_bytes(dst + left + inside, zp, width - left - inside);
    }
    fill_bytes(win + t->rows * width, zp, DNNK_NR); /* what whole-run copies read past the end */
}

/* Row (ky, kx) of a channel for the tile's pixels, from its window: each
 * run copied whole, NR bytes at a time (row and window have NR bytes to
 * spare; a run's excess is overwritten by the next, or lies past np). */
INLINE void qgemm_window_row(const dnnk_qconv_desc *c, const uint8_t *win, const QgemmTile *t, int64_t ky,
                             int64_t kx, uint8_t *row)
{
    int64_t delta = ky * c->win.dilation[0] * window_width(c) + kx * c->win.dilation[1];
    if (c->win.stride[1] != 1) {
        for (int64_t j = 0; j < DNNK_NR; j++)
            row[j] = win[t->base[j] + delta];
        return;
    }
    for (int64_t i = 0; i < t->runs; i++)
        copy_bytes(row + t->run[i], win + t->base[t->run[i]] + delta, DNNK_NR);
}

/* The same row read from the input itself, with bounds checks: for layers
 * whose receptive fields span more than a window holds. */
INLINE void qgemm_input_row(const dnnk_qconv_desc *c, const uint8_t *plane, uint8_t zp, const QgemmTile *t,
                            int64_t ky, int64_t kx, uint8_t *row)
{
    const dnnk_window *w = &c->win;
    int64_t H = c->in.dims[2], W = c->in.dims[3];
    for (int64_t j = 0; j < DNNK_NR; j++) {
        int64_t iy = t->y0[j] + ky * w->dilation[0], ix = t->x0[j] + kx * w->dilation[1];
        bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
        row[j] = inside ? plane[iy * W + ix] : zp;
    }
}

/* Four rows into one row of the panel, each lane the four consecutive k of
 * one pixel, made u8 by flipping the sign bits of i8 (flip 0x80808080; zp
 * is stored raw, so it flips with them). */
INLINE void qgemm_interleave(const uint8_t *const rows[4], uint32_t flip, uint8_t *panel_row)
{
    typedef uint8_t vbytes __attribute__((vector_size(DNNK_NR), aligned(1)));
    typedef uint32_t vwords __attribute__((vector_size(DNNK_NR * 4), aligned(4)));
    vwords words = {0};
    for (int r = 0; r < 4; r++) {
        vbytes b;
        copy_bytes(&b, rows[r], sizeof b);
        words |= __builtin_convertvector(b, vwords) << (8 * r);
    }
    words ^= flip;
    copy_bytes(panel_row, &words, sizeof words);
}

/* Rows k0 .. k0 + 4 q4 - 1 of the receptive fields of the tile's pixels in
 * image n, group g into the panel, [q4][NR][4]; k = (c, ky, kx), zp for k
 * past K (whose weights are 0). Each channel's window is built once. */
INLINE void qgemm_pack_pixels(const dnnk_qconv_desc *c, const uint8_t *in, uint8_t zp, uint32_t flip,
                              const QgemmTile *t, int64_t n, int64_t g, int64_t k0, int64_t q4,
                              uint8_t *panel)
{
    int64_t C = c->in.dims[1], Cg = C / c->groups, KH = c->win.kernel[0], KW = c->win.kernel[1];
    int64_t taps = KH * KW, plane_size = c->in.dims[2] * c->in.dims[3];
    uint8_t rows[4][2 * DNNK_NR], win[QGEMM_WINDOW];
    int64_t i = 0, count = 4 * q4;
    for (int64_t ch = k0 / taps, tap = k0 % taps; i < count; ch++, tap = 0) {
        const uint8_t *plane = ch < Cg ? in + (n * C + g * Cg + ch) * plane_size : in;
        if (ch < Cg && t->windowed)
            qgemm_window(c, plane, zp, t, win);
        for (; tap < taps && i < count; tap++, i++) {
            int64_t ky = tap / KW, kx = tap % KW;
            uint8_t *row = rows[i % 4];
            if (ch >= Cg)
                fill_bytes(row, zp, DNNK_NR);
            else if (t->windowed)
                qgemm_window_row(c, win, t, ky, kx, row);
            else
                qgemm_input_row(c, plane, zp, t, ky, kx, row);
            if (i % 4 == 3)
                qgemm_interleave((const uint8_t *const[4]){rows[0], rows[1], rows[2], rows[3]}, flip,
                                 panel + i / 4 * DNNK_NR * 4);
        }
    }
}

/* Whether the layer is pointwise: a 1x1 kernel at stride 1 without padding,
 * whose output pixel p reads input pixel p of each channel alone. */
INLINE bool qgemm_pointwise(const dnnk_qconv_desc *c)
{
    const dnnk_window *w = &c->win;
    return w->kernel[0] == 1 && w->kernel[1] == 1 && w->stride[0] == 1 && w->stride[1] == 1 && w->pad[0] == 0 &&
           w->pad[1] == 0 && w->pad[2] == 0 && w->pad[3] == 0;
}

/* qgemm_pack_pixels for a pointwise layer's whole tile: each channel's row
 * is DNNK_NR consecutive bytes of its plane, interleaved from where it lies
 * (no window, no copy); channels past the group's, zp. */
INLINE void qgemm_pack_pointwise(const dnnk_qconv_desc *c, const uint8_t *in, uint8_t zp, uint32_t flip,
                                 const QgemmTile *t, int64_t n, int64_t g, int64_t k0, int64_t q4,
                                 uint8_t *panel)
{
    int64_t C = c->in.dims[1], Cg = C / c->groups, plane_size = c->in.dims[2] * c->in.dims[3];
    uint8_t pad[DNNK_NR];
    fill_bytes(pad, zp, DNNK_NR);
    const uint8_t *first = in + (n * C + g * Cg) * plane_size + t->p0;
    for (int64_t q = 0; q < q4; q++) {
        const uint8_t *rows[4];
        for (int r = 0; r < 4; r++) {
            int64_t ch = k0 + 4 * q + r;
            rows[r] = ch < Cg ? first + ch * plane_size : pad;
        }
        qgemm_interleave(rows, flip, panel + q * DNNK_NR * 4);
    }
}

/* ---- the micro-kernel and the epilogue ------------------------------------ */

/* On AArch64 the loops over a panel's filters (and an fc's rows) are
 * unrolled, so that the sums (24 vectors of 4 lanes) stay in registers
 * (clang leaves them rolled there, the sums in memory: a load and a store
 * per sdot). The x86 builds are left as they were measured
 * (docs/int8-kernels.md). */
#if defined(__aarch64__)
#define QGEMM_UNROLL_FILTERS _Pragma("clang loop unroll(full)")
#else
#define QGEMM_UNROLL_FILTERS
#endif

/* acc[MR][2] += the q4 groups of four of the filter panel A ([q4][MR][4])
 * times the pixel panel B ([q4][NR][4]), two vectors of pixels per filter. */
INLINE void qgemm_micro_kernel(const int8_t *A, const uint8_t *B, int64_t q4, vi acc[DNNK_MR][2],
                               QgemmDot dot)
{
    for (int64_t q = 0; q < q4; q++) {
        vi x0 = load_vi(B + q * DNNK_NR * 4), x1 = load_vi(B + q * DNNK_NR * 4 + DNNK_LANES * 4);
        QGEMM_UNROLL_FILTERS
        for (int r = 0; r < DNNK_MR; r++) {
            vi w = splat_vi(load_word(A + (q * DNNK_MR + r) * 4));
            dot(&acc[r][0], &x0, &w);
            dot(&acc[r][1], &x1, &w);
        }
    }
}

/* The requantised output of a sum, as its byte:
 * saturate(nearbyint((sum + offset) * m) + y_zp), in double as the
 * reference does, each step exact up to the one rounding of the product
 * (offset and m are finite: pack_qgemm_fits). */
INLINE uint8_t requantise(int64_t type, int64_t sum, double offset, double m, double y_zp)
{
    double lo = type == DNNK_U8 ? 0 : -128, hi = type == DNNK_U8 ? 255 : 127;
    double y = round_even(((double)sum + offset) * m) + y_zp;
    return (uint8_t)(int32_t)(y < lo ? lo : y > hi ? hi : y);
}

/* The same with the residual term of output i (requantise_residual,
 * quant.c, for the rounding steps). */
INLINE uint8_t requantise_with(int64_t type, int64_t sum, double offset, double m, double y_zp,
                               const QconvResidual *r, int64_t i)
{
    double lo = type == DNNK_U8 ? 0 : -128, hi = type == DNNK_U8 ? 255 : 127;
    double y = requantise_residual((double)sum + offset, m, r, i) + y_zp;
    return (uint8_t)(int32_t)(y < lo ? lo : y > hi ? hi : y);
}

/* A whole tile's sums (or bytes) as doubles, DNNK_NR lanes: the epilogue's
 * vectors, which the back end splits into the widest the target has (8
 * doubles on AVX-512). */
typedef double vdouble __attribute__((vector_size(DNNK_NR * 8), aligned(8)));
typedef int32_t vsums __attribute__((vector_size(DNNK_NR * 4), aligned(4)));
typedef uint8_t vbytes_u8 __attribute__((vector_size(DNNK_NR), aligned(1)));
typedef int8_t vbytes_i8 __attribute__((vector_size(DNNK_NR), aligned(1)));

INLINE vdouble splat_double(double x)
{
    vdouble v;
    for (int j = 0; j < DNNK_NR; j++)
        v[j] = x;
    return v;
}

/* The residual term of outputs at .. at + DNNK_NR - 1, (r - z_r) * M_r
 * (requantise_residual's first step), all of them in the tensor. */
INLINE vdouble residual_terms(const QconvResidual *r, int64_t at)
{
    vdouble v;
    if (r->type == DNNK_U8) {
        vbytes_u8 b;
        copy_bytes(&b, (const uint8_t *)r->data + at, sizeof b);
        v = __builtin_convertvector(b, vdouble);
    } else {
        vbytes_i8 b;
        copy_bytes(&b, (const int8_t *)r->data + at, sizeof b);
        v = __builtin_convertvector(b, vdouble);
    }
    return (v - r->zero_point) * r->m;
}

/* requantise (and requantise_with) on a whole tile at once: the same
 * operations in the same order on every lane, so the same bits, with
 * vectors of doubles in place of one double at a time (the scalar form
 * with a residual, which reads its operand through a switch on its type,
 * cost a 56x56 layer with 256 filters 0.5 ms on one thread, more than its
 * products). The clamp comes before the conversion to int32, as in
 * requantise: a product past int32's range saturates instead of wrapping. */
INLINE void requantise_tile(int64_t type, uint8_t *out, const vi acc[2], double offset, double m, double y_zp,
                            const QconvResidual *r, int64_t at)
{
#pragma clang fp contract(off)
    vsums sums;
    copy_bytes(&sums, acc, sizeof sums);
    vdouble y = __builtin_convertvector(sums, vdouble) + offset;
    y = r->data ? y * m + residual_terms(r, at) : y * m;
    y = __builtin_elementwise_roundeven(y) + y_zp;
    y = __builtin_elementwise_max(y, splat_double(type == DNNK_U8 ? 0 : -128));
    y = __builtin_elementwise_min(y, splat_double(type == DNNK_U8 ? 255 : 127));
    vbytes_u8 bytes = __builtin_convertvector(__builtin_convertvector(y, vsums), vbytes_u8);
    copy_bytes(out, &bytes, sizeof bytes);
}

/* One filter's sums of the tile's pixels requantised into out (np bytes),
 * output `at` of the layer first (where its residual is): a whole tile in
 * vectors, a partial one (the last of a plane) one output at a time, which
 * reads no residual past the tensor's end. */
INLINE void qgemm_store(int64_t type, uint8_t *out, const vi acc[2], double offset, double m, double y_zp,
                        int64_t np, const QconvResidual *r, int64_t at)
{
    if (np == DNNK_NR) {
        requantise_tile(type, out, acc, offset, m, y_zp, r, at);
        return;
    }
    int32_t sums[DNNK_NR];
    copy_bytes(sums, acc, sizeof sums);
    for (int64_t j = 0; j < np; j++)
        out[j] = r->data ? requantise_with(type, sums[j], offset, m, y_zp, r, at + j)
                         : requantise(type, sums[j], offset, m, y_zp);
}

/* The double at index i of the packed epilogue table. */
INLINE double table_at(const uint8_t *table, int64_t i)
{
    double v;
    copy_bytes(&v, table + i * (int64_t)sizeof v, sizeof v);
    return v;
}

/* ---- a GEMM ------------------------------------------------------------------ */

/* Units as dnnk_qgemm_units numbers them. Each packs its tile's pixels
 * (unless the previous unit of the range did, for the same tile, with K in
 * one block) and runs its block of filter panels over them; with K in
 * several blocks the sums of each panel wait in `partial` between blocks. */
INLINE void qgemm_conv(const dnnk_qgemm_desc *d, void *const *ptrs, const QconvResidual *res, int64_t begin,
                       int64_t end, QgemmDot dot, uint32_t to_pixels)
{
    const dnnk_qconv_desc *c = &d->conv;
    int64_t G = c->groups, F = c->out.dims[1], Fg = F / G, P = c->out.dims[2] * c->out.dims[3];
    int64_t K = c->in.dims[1] / G * c->win.kernel[0] * c->win.kernel[1], K4 = dnnk_ceil_div(K, 4);
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR), tiles = dnnk_qgemm_tiles(d), blocks = d->filter_blocks;
    int64_t per_block = dnnk_ceil_div(panels, blocks), kc4 = DNNK_QGEMM_KC / 4;
    int64_t k_blocks = dnnk_ceil_div(K4, kc4);
    const uint8_t *in = ptrs[1];
    const int8_t *w = ptrs[2];
    const uint8_t *table = (const uint8_t *)ptrs[2] + dnnk_qgemm_weight_bytes(F, G, K, 0);
    uint8_t *out = ptrs[0];
    uint8_t zp = (uint8_t)load_integer(c->in.type, ptrs[4], 0);
    uint32_t flip = to_pixels ^ (c->in.type == DNNK_I8 ? 0x80808080u : 0);
    double y_zp = load_any(c->out.type, ptrs[8], 0);
    bool pointwise = qgemm_pointwise(c);
    uint8_t panel[DNNK_QGEMM_KC * DNNK_NR];
    vi partial[DNNK_QGEMM_PANELS][DNNK_MR][2];
    QgemmTile t;
    int64_t placed = -1, packed = -1; /* the (image, group, tile) of t, and of the panel (K in one block) */
    for (int64_t u = begin; u < end; u++) {
        dnnk_blocked_unit in_group = dnnk_blocked_unit_at(u, blocks, tiles, d->rows_major);
        int64_t b = in_group.group, tile = in_group.run, g = in_group.n % G, n = in_group.n / G;
        int64_t at = in_group.n * tiles + tile;
        int64_t first = b * per_block, last = min64(panels, first + per_block);
        if (placed != at)
            qgemm_tile(c, tile, &t);
        placed = at;
        for (int64_t kb = 0; kb < k_blocks; kb++) {
            int64_t q0 = kb * kc4, q4 = min64(kc4, K4 - q0);
            if ((k_blocks > 1 || packed != at) && pointwise && t.np == DNNK_NR)
                qgemm_pack_pointwise(c, in, zp, flip, &t, n, g, 4 * q0, q4, panel);
            else if (k_blocks > 1 || packed != at)
                qgemm_pack_pixels(c, in, zp, flip, &t, n, g, 4 * q0, q4, panel);
            packed = k_blocks > 1 ? -1 : at;
            for (int64_t pn = first; pn < last; pn++) {
                const int8_t *A = w + ((g * panels + pn) * K4 + q0) * DNNK_MR * 4;
                vi acc[DNNK_MR][2];
                for (int r = 0; r < DNNK_MR; r++)
                    for (int v = 0; v < 2; v++)
                        acc[r][v] = kb == 0 ? splat_vi(0) : partial[pn - first][r][v];
                qgemm_micro_kernel(A, panel, q4, acc, dot);
                if (kb + 1 < k_blocks) {
                    copy_bytes(partial[pn - first], acc, sizeof acc);
                    continue;
                }
                for (int64_t row = 0; row < DNNK_MR && pn * DNNK_MR + row < Fg; row++) {
                    int64_t f = g * Fg + pn * DNNK_MR + row, at = (n * F + f) * P + t.p0;
                    qgemm_store(c->out.type, out + at, acc[row], table_at(table, f), table_at(table, F + f), y_zp,
                                t.np, res, at);
                }
            }
        }
    }
}

/* ---- an fc ------------------------------------------------------------------- */

/* Filters an fc's dot products run side by side, reading each vector of
 * the input once for them all. */
#define QGEMM_FC_ROWS 4

/* acc[r] += the products of one vector of the input, from x, with the same
 * part of every row. */
INLINE void qgemm_fc_step(vi acc[QGEMM_FC_ROWS], const int8_t *const rows[QGEMM_FC_ROWS], int64_t k,
                          const uint8_t *x, vi flip, QgemmDot dot)
{
    vi xv = load_vi(x) ^ flip;
    QGEMM_UNROLL_FILTERS
    for (int r = 0; r < QGEMM_FC_ROWS; r++) {
        vi wv = load_vi(rows[r] + k);
        dot(&acc[r], &xv, &wv);
    }
}

/* Units as dnnk_qgemm_units numbers them: DNNK_QGEMM_FC_FILTERS filters of
 * a group, for every image. Each output is a dot product along K of the
 * input (contiguous: the kernel covers it) with the filter's row of
 * packed weights, a vector of four-byte lanes at a time, its lanes added
 * up at the end. */
INLINE void qgemm_fc(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end, QgemmDot dot,
                     uint32_t to_pixels)
{
    const dnnk_qconv_desc *c = &d->conv;
    int64_t N = c->out.dims[0], G = c->groups, F = c->out.dims[1], Fg = F / G;
    int64_t K = c->in.dims[1] / G * c->in.dims[2] * c->in.dims[3];
    int64_t KP = dnnk_ceil_div(K, DNNK_QGEMM_FC_K) * DNNK_QGEMM_FC_K;
    int64_t blocks = dnnk_ceil_div(Fg, DNNK_QGEMM_FC_FILTERS);
    const uint8_t *in = ptrs[1];
    const int8_t *w = ptrs[2];
    const uint8_t *table = (const uint8_t *)ptrs[2] + dnnk_qgemm_weight_bytes(F, G, K, 1);
    uint8_t *out = ptrs[0];
    vi flip = splat_vi((int32_t)(to_pixels ^ (c->in.type == DNNK_I8 ? 0x80808080u : 0)));
    double y_zp = load_any(c->out.type, ptrs[8], 0);
    for (int64_t u = begin; u < end; u++) {
        int64_t g = u / blocks, f0 = g * Fg + u % blocks * DNNK_QGEMM_FC_FILTERS;
        int64_t f1 = min64(f0 + DNNK_QGEMM_FC_FILTERS, (g + 1) * Fg);
        for (int64_t n = 0; n < N; n++) {
            const uint8_t *x = in + (n * G + g) * K;
            for (int64_t f = f0; f < f1; f += QGEMM_FC_ROWS) {
                /* Rows past f1 repeat the last one, their sums unused. */
                const int8_t *rows[QGEMM_FC_ROWS];
                vi acc[QGEMM_FC_ROWS];
                for (int r = 0; r < QGEMM_FC_ROWS; r++) {
                    rows[r] = w + min64(f + r, f1 - 1) * KP;
                    acc[r] = splat_vi(0);
                }
                int64_t whole = K - K % (int64_t)sizeof(vi);
                for (int64_t k = 0; k < whole; k += (int64_t)sizeof(vi))
                    qgemm_fc_step(acc, rows, k, x + k, flip, dot);
                if (whole < K) {
                    /* The last vector passes K (and maybe the input's end):
                     * its bytes past K, which meet zero weights, are 0. */
                    uint8_t tail[sizeof(vi)] = {0};
                    for (int64_t i = 0; i < K - whole; i++)
                        tail[i] = x[whole + i];
                    qgemm_fc_step(acc, rows, whole, tail, flip, dot);
                }
                for (int64_t r = 0; r < QGEMM_FC_ROWS && f + r < f1; r++) {
                    int64_t sum = 0;
                    for (int l = 0; l < DNNK_LANES; l++)
                        sum += acc[r][l];
                    double offset = table_at(table, f + r), m = table_at(table, F + f + r);
                    out[n * F + f + r] = requantise(c->out.type, sum, offset, m, y_zp);
                }
            }
        }
    }
}

/* The kernel of every instruction set: the scalar loops for a layer the
 * packed form does not take, else an fc's dot products or a GEMM (a layer
 * with a residual operand is never an fc: pack_qgemm_fc). to_pixels turns
 * four u8 inputs into the four pixels dot takes: 0 for u8 pixels,
 * 0x80808080 for s8 ones (x - 128); an i8 input flips its sign bits too. */
INLINE void qgemm(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end, QgemmDot dot,
                  uint32_t to_pixels)
{
    void *rest[12];
    QconvResidual r;
    void *const *own = qconv_split_residual(&d->conv, ptrs, rest, &r);
    if (!d->blocked)
        dnnk_qconv(&d->conv, ptrs, begin, end);
    else if (d->fc)
        qgemm_fc(d, own, begin, end, dot, to_pixels);
    else
        qgemm_conv(d, own, &r, begin, end, dot, to_pixels);
}

#ifdef QGEMM_VNNI
KERNEL dnnk_qgemm_vnni(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qgemm(d, ptrs, begin, end, dot_vnni, 0);
}

KERNEL dnnk_qgemm_madd(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qgemm(d, ptrs, begin, end, dot_madd, 0);
}
#endif

#if defined(__aarch64__)
/* Bound only where the target has +dotprod (ISA_AARCH64_DOTPROD), with the
 * weights of pack_qgemm_sdot_weights. */
KERNEL dnnk_qgemm_sdot(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qgemm(d, ptrs, begin, end, dot_sdot, 0x80808080u);
}

/* Every other AArch64 core (ISA_AARCH64), with pack_qgemm_weights's u8
 * pixels. */
KERNEL dnnk_qgemm_neon(const dnnk_qgemm_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qgemm(d, ptrs, begin, end, dot_widen, 0);
}
#endif
