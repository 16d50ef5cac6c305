/* The cpu target's FFT convolution kernel (codegen/kernels/fft_conv.c,
 * transform sizes 8, 16 and 32) against the reference executor and FFTW:
 *
 * - one-layer networks (kernels 3x3 to 11x11 and non-square ones, padding
 *   on every side or none, odd sizes that leave partial tiles, batches,
 *   groups, depthwise, more channels, filters and tiles than one unit
 *   holds, bias, relu, leaky_relu, residual), JIT-compiled and run on 1 and
 *   2 threads, against the direct sums and against the reference's own FFT
 *   convolution on the same graph, each output within a rigorous bound on
 *   the float32 rounding (below); three more on the kernel library of
 *   8-lane vectors, which an AVX-512 host does not otherwise pick;
 * - a network of several FFT layers at -O2 (the epilogues fused into them),
 *   through the JIT and as object code, against the reference running the
 *   same graph;
 * - the kernel's transforms themselves, compiled here for the host, against
 *   FFTW's real-to-complex and complex-to-real 2-D transforms;
 * - the packed filter spectra against the exact transform, and the weight
 *   blob's size.
 *
 * The bound. docs/fast-convolution.md ("Error bound", FFT section) bounds
 * the reference's FFT convolution: every output of a tile satisfies
 *     |y^ - y| <= 2 (eps (1 + D) + D) sum_c ||x_c||_2 ||w_c||_1,
 *     D = eps (1 + g) + g + phi (1 + eps) (1 + g),
 * x_c the T x T input window of the tile in channel c (zeros outside the
 * input), eps the normwise error of a 2-D transform (Higham's radix-2
 * bound, beta_2d), g the componentwise error of a filter spectrum relative
 * to ||w_c||_1 and phi that of the products summed over the Cg channels
 * relative to sum |X_c| |W_c|. The kernel computes the same transforms (the
 * reference's radix-2 decimation in time, twiddles within one rounding of
 * the exact roots, products by 1 and -i skipped, which are exact; fused
 * multiply-adds give a complex product the same componentwise bound), so
 * the same eps; its own g and phi are
 *   g = u (1 + 2^-16): the spectra are computed in double and rounded once
 *       (|W| <= ||w||_1; the double arithmetic errs by far less than 2^-40
 *       ||w||_1), and the scaling by 1 / T^2 folded into them is exact;
 *   phi = sqrt 2 gamma_(2 Cg): each part of the sum is one chain of 2 Cg
 *       fused multiply-adds (re += ur xr, re -= ui xi, ...), so a term is
 *       rounded at most 2 Cg times, and the two parts' bounds
 *       gamma (sum |ar br| + |ai bi|) and gamma (sum |ar bi| + |ai br|)
 *       give at most sqrt 2 gamma sum |a| |b| for the complex sum.
 * The epilogue rounds y^ + bias and then + residual; the reference's direct
 * path rounds its double sum once; relu and leaky_relu (alpha <= 1) do not
 * increase errors. With S = sum |x||w| + |bias| + |residual| >= |y|, the
 * kernel against the direct sums is within
 *     (1 + gamma_2) B_cpu + gamma_3 S,
 * B the bound above, and likewise the reference's FFT with its own g and
 * phi (test_fft.c's); the kernel against the reference's FFT within the
 * sum of the two. The bounds are worst cases, three to five orders of
 * magnitude above what either computes, so the test also requires the
 * kernel's largest error per S to stay within 4 times the reference's own
 * (or 16 u): the kernel must be about as accurate as the plain algorithm. */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu_check.h"
#include "cpu_fft_host.h"
#include "dnnk.h"
#include "kernels.h"
#include "reference.h"
#include "test_util.h"

static const double U_ROUND = 0x1p-24;
static const int fft_sizes[] = {8, 16, 32};

/* ---- error bounds ------------------------------------------------------- */

static double gamma_k(double k) { return k * U_ROUND / (1 - k * U_ROUND); }

static int log2_of(int n)
{
    int t = 0;
    while ((1 << t) < n)
        t++;
    return t;
}

/* Relative 2-norm error of a radix-2 transform of 2^t points, twiddles
 * within mu of the exact roots (Higham, Theorem 24.2), and of a 2-D one. */
static double beta(int t)
{
    double mu = U_ROUND * (1 + 0x1p-20), eta = mu + gamma_k(4) * (sqrt(2.0) + mu);
    return t * eta / (1 - t * eta);
}

static double beta_2d(int t) { return (1 + beta(t)) * (1 + beta(t)) - 1; }

/* 2 (eps (1 + D) + D): the bound per sum_c ||x_c||_2 ||w_c||_1. */
static double bound_factor(int T, double g, double phi)
{
    double eps = beta_2d(log2_of(T));
    double D = eps * (1 + g) + g + phi * (1 + eps) * (1 + g);
    return 2 * (eps * (1 + D) + D);
}

static double kernel_factor(int T, int64_t cg)
{
    return bound_factor(T, U_ROUND * (1 + 0x1p-16), sqrt(2.0) * gamma_k(2.0 * (double)cg));
}

/* The reference's: its filter spectra are float transforms, its products
 * schoolbook ones summed in order (test_fft.c). */
static double reference_factor(int T, int64_t cg)
{
    double mu = U_ROUND * (1 + 0x1p-20);
    double eta1 = (1 + mu) * (1 + sqrt(2.0) * gamma_k(2)) * (1 + U_ROUND) - 1;
    double g = pow(1 + eta1, 2 * log2_of(T)) - 1;
    double phi = (1 + sqrt(2.0) * gamma_k(2)) * pow(1 + U_ROUND, (double)(cg - 1)) - 1;
    return bound_factor(T, g, phi);
}

/* ---- one layer against the bound ---------------------------------------- */

typedef struct Layer {
    const char *name;
    int64_t n, c, h, w, f, groups, kh, kw;
    int64_t pad[4]; /* top, left, bottom, right */
    bool bias, residual;
    const char *act; /* the act= argument, or NULL */
} Layer;

static int64_t out_h(const Layer *L) { return L->h + L->pad[0] + L->pad[2] - L->kh + 1; }
static int64_t out_w(const Layer *L) { return L->w + L->pad[1] + L->pad[3] - L->kw + 1; }

static void layer_text(const Layer *L, int T, char *buf, size_t size)
{
    int len = snprintf(buf, size, "input x: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n,
                       (long long)L->c, (long long)L->h, (long long)L->w);
    if (L->residual)
        len += snprintf(buf + len, size - (size_t)len, "input s: f32[%lld, %lld, %lld, %lld];\n",
                        (long long)L->n, (long long)L->f, (long long)out_h(L), (long long)out_w(L));
    len += snprintf(buf + len, size - (size_t)len,
                    "@algo(fft, tile=%d) y = conv(x%s, filters=%lld, kernel=[%lld, %lld], "
                    "pad=[%lld, %lld, %lld, %lld], groups=%lld, bias=%s%s%s);\noutput y;\n",
                    T, L->residual ? ", s" : "", (long long)L->f, (long long)L->kh, (long long)L->kw,
                    (long long)L->pad[0], (long long)L->pad[1], (long long)L->pad[2], (long long)L->pad[3],
                    (long long)L->groups, L->bias ? "true" : "false", L->act ? ", act=" : "",
                    L->act ? L->act : "");
}

/* Per output: N = sum_c ||x_c||_2 ||w_c||_1 over its tile's windows and
 * S = sum |x||w| + |bias| + |residual|. */
typedef struct Scales {
    double *N, *S;
} Scales;

/* ||x_c||_2 of every (image, channel, tile) window: norms[(n C + c) tiles + t]. */
static double *window_norms(const Layer *L, int T, const float *x, int64_t across, int64_t tiles)
{
    int64_t th = T - L->kh + 1, tw = T - L->kw + 1;
    double *norms = malloc(sizeof(double) * (size_t)(L->n * L->c * tiles));
    assert_non_null(norms);
    for (int64_t p = 0; p < L->n * L->c; p++)
        for (int64_t t = 0; t < tiles; t++) {
            int64_t y0 = t / across * th - L->pad[0], x0 = t % across * tw - L->pad[1];
            double sum = 0;
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0; j < T; j++) {
                    int64_t y = y0 + i, xx = x0 + j;
                    if (y >= 0 && y < L->h && xx >= 0 && xx < L->w) {
                        double v = x[(p * L->h + y) * L->w + xx];
                        sum += v * v;
                    }
                }
            norms[p * tiles + t] = sqrt(sum);
        }
    return norms;
}

static Scales layer_scales(const Layer *L, int T, const Graph *g, const Node *n, const CpuIo *io)
{
    const Shape *os = &g->tensors[n->output].shape;
    const Tensor *wt = &g->tensors[n->params[0]];
    const float *w = wt->data;
    int64_t count = shape_elems(os), wcount = shape_elems(&wt->shape);
    int64_t OH = os->d[2], OW = os->d[3], cg = L->c / L->groups, fg = L->f / L->groups;
    int64_t taps = L->kh * L->kw, th = T - L->kh + 1, tw = T - L->kw + 1;
    int64_t across = (OW + tw - 1) / tw, tiles = across * ((OH + th - 1) / th);
    float *aw = cpu_check_floats(wcount);
    for (int64_t i = 0; i < wcount; i++)
        aw[i] = fabsf(w[i]);
    Scales s = {malloc(sizeof(double) * (size_t)count), cpu_check_abs_sums(g, n, io)};
    assert_true(s.N && s.S);
    double *norms = window_norms(L, T, io->in[0], across, tiles);
    for (int64_t i = 0; i < count; i++) {
        int64_t ox = i % OW, oy = i / OW % OH, f = i / (OW * OH) % L->f, img = i / (OW * OH * L->f);
        int64_t t = oy / th * across + ox / tw, c0 = f / fg * cg;
        double sum = 0;
        for (int64_t c = 0; c < cg; c++) {
            double w1 = 0;
            for (int64_t k = 0; k < taps; k++)
                w1 += aw[(f * cg + c) * taps + k];
            sum += norms[(img * L->c + c0 + c) * tiles + t] * w1;
        }
        s.N[i] = sum;
    }
    free(aw), free(norms);
    return s;
}

/* b[i] = (1 + gamma_2) factor N[i] + epilogues gamma_3 S[i]. */
static double *bounds(const Scales *s, double factor, int epilogues, int64_t count)
{
    double *b = malloc(sizeof(double) * (size_t)count);
    assert_non_null(b);
    for (int64_t i = 0; i < count; i++)
        b[i] = (1 + gamma_k(2)) * factor * s->N[i] + epilogues * gamma_k(3) * s->S[i];
    return b;
}

/* The layer on the kernel library for `features` (NULL: the host's). */
static void check_layer_for(const Layer *L, int T, const char *cpu, const char *features)
{
    char text[1024];
    layer_text(L, T, text, sizeof text);
    CpuLayer l;
    cpu_layer_open(&l, L->name, text, ALGO_FFT, T);
    l.cpu = cpu, l.features = features;
    Scales s = layer_scales(L, T, l.g, &l.g->nodes[l.conv], &l.io);
    int64_t cg = L->c / L->groups;
    double fk = kernel_factor(T, cg), fr = reference_factor(T, cg);
    double *kernel = bounds(&s, fk, 1, l.count), *ref = bounds(&s, fr, 1, l.count);
    double *both = bounds(&s, fk + fr, 2, l.count);

    print_message("%s, T = %d:\n", L->name, T);
    double ref_u = cpu_check_bound("reference FFT - direct", l.ref, l.direct, ref, s.S, l.count);
    cpu_check_kernel(&l, "FFT", kernel, both, s.S, ref_u);
    free(kernel), free(ref), free(both), free(s.N), free(s.S);
    cpu_layer_close(&l);
}

static void check_layer(const Layer *L, int T) { check_layer_for(L, T, NULL, NULL); }

/* Every size of the kernel larger than the layer's kernel. */
static void check_sizes(const Layer *L)
{
    for (size_t i = 0; i < sizeof fft_sizes / sizeof *fft_sizes; i++)
        if (L->kh < fft_sizes[i] && L->kw < fft_sizes[i])
            check_layer(L, fft_sizes[i]);
}

static void test_kernel_sizes_and_padding(void **state)
{
    (void)state;
    check_sizes(&(Layer){"3x3, pad 1, bias, relu", 1, 8, 12, 12, 16, 1, 3, 3, {1, 1, 1, 1}, true, false,
                         "relu"});
    check_sizes(&(Layer){"5x5, pad 0 1 2 1, residual, leaky_relu", 1, 6, 13, 14, 8, 1, 5, 5, {0, 1, 2, 1},
                         true, true, "leaky_relu, alpha=0.2"});
    check_sizes(&(Layer){"7x7, pad 3", 1, 4, 19, 16, 5, 1, 7, 7, {3, 3, 3, 3}, true, false, NULL});
    check_sizes(&(Layer){"11x11, pad 5, relu", 1, 3, 27, 25, 4, 1, 11, 11, {5, 5, 5, 5}, false, false,
                         "relu"});
    /* Windows that lie mostly, or for the first rows wholly, in padding. */
    check_sizes(&(Layer){"3x5, pad 4 0 0 6", 1, 2, 6, 9, 3, 1, 3, 5, {4, 0, 0, 6}, false, false, NULL});
}

/* Output sizes no tile divides, batches, a 1x1 output, a kernel one
 * smaller than the transform (tiles of 2x2 outputs). */
static void test_odd_sizes_and_batches(void **state)
{
    (void)state;
    check_sizes(&(Layer){"7x7, 20x17, no padding, batch 2", 2, 5, 20, 17, 7, 1, 7, 7, {0, 0, 0, 0}, false,
                         false, NULL});
    check_sizes(&(Layer){"5x5, 17x4, batch 2, residual", 2, 3, 17, 4, 5, 1, 5, 5, {2, 2, 2, 2}, true, true,
                         "relu"});
    check_sizes(&(Layer){"5x5, 1x1 output", 1, 2, 5, 5, 2, 1, 5, 5, {0, 0, 0, 0}, true, false, NULL});
    check_layer(&(Layer){"7x7, tiles of 2x2", 1, 3, 11, 10, 4, 1, 7, 7, {1, 1, 1, 1}, true, false, NULL}, 8);
}

static void test_groups_and_depthwise(void **state)
{
    (void)state;
    check_sizes(&(Layer){"5x5, 3 groups, batch 2, residual", 2, 12, 10, 9, 18, 3, 5, 5, {2, 2, 2, 2}, true,
                         true, "relu"});
    check_sizes(&(Layer){"3x3 depthwise", 1, 16, 15, 15, 16, 16, 3, 3, {1, 1, 1, 1}, true, false, "relu"});
    check_sizes(&(Layer){"5x5 depthwise, multiplier 2", 1, 4, 11, 6, 8, 4, 5, 5, {2, 2, 2, 2}, false, true,
                         NULL});
}

/* More channels than one block of spectra (16, 8 and 2 for T = 8, 16 and
 * 32), more filters than one unit's block (96, 36 and 12, and a last panel
 * of 4), more tiles than the 8 or 16 lanes of one vector: every loop of
 * the kernel runs more than once, and threads split the units. */
static void test_several_blocks(void **state)
{
    (void)state;
    check_sizes(&(Layer){"5x5, 40 channels, 100 filters", 1, 40, 22, 20, 100, 1, 5, 5, {2, 2, 2, 2}, true,
                         true, "relu"});
    check_sizes(&(Layer){"3x3, 2 groups of 19 channels, 2 x 26", 2, 38, 9, 14, 52, 2, 3, 3, {1, 0, 1, 0},
                         true, false, "leaky_relu, alpha=0.1"});
    check_layer(&(Layer){"3x3, 70x70, 25 tiles of 14x14", 1, 2, 70, 70, 3, 1, 3, 3, {1, 1, 1, 1}, true,
                         false, NULL}, 16);
    check_layer(&(Layer){"5x5, 130x120, 25 tiles of 28x28", 1, 1, 130, 120, 1, 1, 5, 5, {2, 2, 2, 2},
                         false, false, NULL}, 32);
    check_layer(&(Layer){"3x3, 60x50, 90 tiles of 6x6", 1, 3, 60, 50, 7, 1, 3, 3, {1, 1, 1, 1}, false,
                         true, NULL}, 8);
}

/* The library of 8-lane vectors, which an AVX-512 host does not pick
 * (AVX2 runs on it), on layers that fill several vectors of 8 tiles. */
static void test_eight_lanes(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const char *cpu = "x86-64-v3", *avx2 = "+avx2,+fma,+avx,+f16c";
    check_layer_for(&(Layer){"5x5, 30 channels, 40 filters, 8 lanes", 2, 30, 29, 31, 40, 1, 5, 5, {2, 1, 2, 0},
                             true, true, "relu"}, 8, cpu, avx2);
    check_layer_for(&(Layer){"3x3 depthwise, 8 lanes", 1, 8, 40, 33, 8, 8, 3, 3, {1, 1, 1, 1}, true, false,
                             NULL}, 16, cpu, avx2);
    check_layer_for(&(Layer){"7x7, 3 groups, 8 lanes", 1, 6, 60, 57, 15, 3, 7, 7, {3, 3, 3, 3}, false, false,
                             "leaky_relu, alpha=0.1"}, 32, cpu, avx2);
#else
    skip();
#endif
}

/* ---- networks ------------------------------------------------------------- */

/* relu and the residual add fuse into the FFT convs at -O2, so that their
 * epilogue runs in the kernel. The reference's FFT convolution errs by at
 * most about 1.1e-6 absolutely, 2e-6 of a layer's largest output
 * (docs/fast-convolution.md), the kernel likewise (the layers above), so
 * three layers stay within 1e-5 of the largest output with room to spare;
 * a wrong index or a missing term moves outputs by their own size. */
static const char network[] =
    "input x: f32[1, 4, 23, 19];\n"
    "@algo(fft) a = conv(x, filters=12, kernel=7, pad=3);\n"
    "h = relu(a);\n"
    "@algo(fft, tile=8) b = conv(h, filters=12, kernel=[3, 5], pad=[1, 2, 1, 2], groups=3);\n"
    "sum = add(h, b);\n"
    "@algo(fft, tile=32) c = conv(sum, filters=24, kernel=5, pad=2, groups=12);\n"
    "y = relu(c);\n"
    "output y;\n";

static void test_network(void **state)
{
    (void)state;
    cpu_check_network(network, ALGO_FFT, 3, 2, 1e-5);
}

/* ---- the kernel's transforms against FFTW ---------------------------------- */

/* Relative 2-norm difference of n floats from FFTW's. */
static double relative_difference(const float *ours, const float *theirs, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t k = 0; k < n; k++) {
        double d = (double)ours[k] - theirs[k];
        diff += d * d, norm += (double)theirs[k] * theirs[k];
    }
    return sqrt(diff / norm);
}

static void check_lane(const char *what, int T, int l, double e, double bound)
{
    if (!(e <= 2 * bound))
        fail_msg("%s transform of size %d, window %d: %.3g from FFTW, above twice the bound %.3g", what, T, l,
                 e, bound);
}

/* The forward transforms of one vector of random real T x T windows, as
 * the kernel runs them, against FFTW's r2c; then the inverse of FFTW's
 * spectra against its c2r. Ours and FFTW's are both within
 * sqrt 2 beta_2d of the exact transform (test_fft.c checks FFTW's), so they
 * differ by at most twice that. Returns the largest difference. */
static double check_transforms(int T, uint64_t *seed)
{
    int lanes = cpu_fft_host_lanes();
    int64_t plane = (int64_t)T * T, bins = dnnk_fft_bins(T);
    double bound = sqrt(2.0) * beta_2d(log2_of(T)), worst = 0;
    float *real = fftwf_malloc(sizeof(float) * (size_t)(plane * lanes));
    float *back = fftwf_malloc(sizeof(float) * (size_t)(plane * lanes));
    float *spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(bins * lanes));
    float *ours = malloc(sizeof(float) * (size_t)(2 * bins * lanes + plane * lanes));
    assert_true(real && back && spec && ours);
    cpu_check_fill(real, plane * lanes, seed, -1, 1);
    cpu_fft_host_forward(T, real, ours);
    for (int l = 0; l < lanes; l++) {
        fftwf_complex *s = (fftwf_complex *)spec + l * bins;
        fftwf_plan p = fftwf_plan_dft_r2c_2d(T, T, real + l * plane, s, FFTW_ESTIMATE);
        fftwf_execute(p);
        fftwf_destroy_plan(p);
        double e = relative_difference(ours + 2 * l * bins, (const float *)s, 2 * bins);
        check_lane("forward", T, l, e, bound);
        worst = fmax(worst, e);
    }
    float *inverse = ours + 2 * bins * lanes;
    cpu_fft_host_inverse(T, spec, inverse);
    for (int l = 0; l < lanes; l++) {
        fftwf_complex *s = (fftwf_complex *)spec + l * bins;
        fftwf_plan p = fftwf_plan_dft_c2r_2d(T, T, s, back + l * plane, FFTW_ESTIMATE); /* destroys s */
        fftwf_execute(p);
        fftwf_destroy_plan(p);
        double e = relative_difference(inverse + l * plane, back + l * plane, plane);
        check_lane("inverse", T, l, e, bound);
        worst = fmax(worst, e);
    }
    fftwf_free(real), fftwf_free(back), fftwf_free(spec);
    free(ours);
    return worst;
}

static void test_transforms_against_fftw(void **state)
{
    (void)state;
    uint64_t seed = 11;
    for (size_t i = 0; i < sizeof fft_sizes / sizeof *fft_sizes; i++) {
        int T = fft_sizes[i];
        double worst = 0;
        for (int rep = 0; rep < 4; rep++)
            worst = fmax(worst, check_transforms(T, &seed));
        print_message("transforms of size %2d: largest relative RMS difference from FFTW %.3f u log2(T^2)\n",
                      T, worst / (U_ROUND * log2_of(T * T)));
    }
}

/* ---- the packed filters --------------------------------------------------- */

/* conj(W[u][v]) / T^2 of one filter plane by the definition, in long double. */
static void exact_spectrum(int T, int kh, int kw, const float *w, int64_t bin, long double out[2])
{
    static const long double two_pi = 6.28318530717958647692528676655900577L;
    int64_t u = bin / (T / 2 + 1), v = bin % (T / 2 + 1);
    long double re = 0, im = 0;
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++) {
            long double angle = two_pi * (long double)((u * y + v * x) % T) / T;
            re += w[y * kw + x] * cosl(angle);
            im -= w[y * kw + x] * sinl(angle);
        }
    out[0] = re / ((long double)T * T);
    out[1] = -im / ((long double)T * T);
}

/* The spectra rounded once: within u of each value, and the double
 * arithmetic adds far less than 2^-40 of ||w||_1 / T^2. */
static void check_packed_value(float got, long double want, double w1, int T, const char *what)
{
    double diff = fabs((double)((long double)got - want));
    double tol = U_ROUND * fabs((double)want) + 0x1p-40 * w1 / ((double)T * T);
    if (!(diff <= tol))
        fail_msg("%s: %.9g, expected %.12Lg", what, got, want);
}

/* The real and imaginary parts of filter f (of 7 per group: zeros past
 * them, in the last panel) at `at` and at + MR. */
static void check_packed_filter(int T, const float *w, int grp, int f, int c, int64_t bin, const float *at)
{
    if (f >= 7) {
        assert_true(at[0] == 0.0f && at[DNNK_MR] == 0.0f);
        return;
    }
    const float *plane = w + ((grp * 7 + f) * 4 + c) * 15;
    double w1 = 0;
    for (int k = 0; k < 15; k++)
        w1 += fabsf(plane[k]);
    long double want[2];
    exact_spectrum(T, 3, 5, plane, bin, want);
    char what[96];
    snprintf(what, sizeof what, "T = %d, filter %d, channel %d, bin %lld", T, grp * 7 + f, c, (long long)bin);
    check_packed_value(at[0], want[0], w1, T, what);
    check_packed_value(at[DNNK_MR], want[1], w1, T, what);
}

static void check_packed_filters(int T)
{
    char text[256];
    snprintf(text, sizeof text,
             "input x: f32[1, 8, 9, 9];\n"
             "@algo(fft, tile=%d) y = conv(x, filters=14, kernel=[3, 5], pad=1, groups=2);\n"
             "output y;\n", T);
    CpuPacked k;
    cpu_packed_open(&k, text);
    const float *w = k.filters, *U = k.packed;
    /* Per group (2), per block of channels (of Cg = 4), [T (T/2 + 1)][panels
     * ceil(7 / 6) = 2][cb][re, im][MR]; then the bias. */
    int64_t bins = dnnk_fft_bins(T);
    size_t filters = (size_t)2 * 2 * bins * 4 * 2 * DNNK_MR * sizeof(float);
    assert_int_equal(dnnk_packed_fft_weights(14, 2, 4, T) * (int64_t)sizeof(float), (int64_t)filters);
    assert_int_equal(k.cm.plan.weights_size, (filters + 63) / 64 * 64 + 64); /* 14 biases: one 64-byte block */
    int64_t panel = 2 * DNNK_MR; /* floats of one channel of a panel */
    for (int grp = 0; grp < 2; grp++)
        for (int c = 0; c < 4; c++) {
            int64_t c0 = c - c % DNNK_FFT_CHANNELS(T);
            int64_t cb = 4 - c0 < DNNK_FFT_CHANNELS(T) ? 4 - c0 : DNNK_FFT_CHANNELS(T);
            const float *block = U + (grp * 4 + c0) * bins * 2 * panel;
            for (int64_t bin = 0; bin < bins; bin++)
                for (int f = 0; f < 2 * DNNK_MR; f++) {
                    const float *at = block + ((bin * 2 + f / DNNK_MR) * cb + c - c0) * panel + f % DNNK_MR;
                    check_packed_filter(T, w, grp, f, c, bin, at);
                }
        }
    cpu_packed_close(&k);
}

static void test_packed_filters(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fft_sizes / sizeof *fft_sizes; i++)
        check_packed_filters(fft_sizes[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_sizes_and_padding),
        cmocka_unit_test(test_odd_sizes_and_batches),
        cmocka_unit_test(test_groups_and_depthwise),
        cmocka_unit_test(test_several_blocks),
        cmocka_unit_test(test_eight_lanes),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_transforms_against_fftw),
        cmocka_unit_test(test_packed_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
