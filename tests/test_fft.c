/* The reference executor's FFT (runtime/reference/fft.c) against FFTW and
 * against the exact DFT, and its FFT convolution (fft_conv.c) against the
 * direct sums of conv_core.
 *
 * Error bounds (docs/fast-convolution.md derives them). u = 2^-24.
 *   Twiddles are computed in double and rounded once to float, so each is
 *   within mu = u (1 + 2^-20) of the exact root of unity (the 2^-20 covers
 *   the error of cos and sin in double).
 *   A radix-2 transform of n = 2^t points (Higham, Accuracy and Stability of
 *   Numerical Algorithms, 2nd ed., Theorem 24.2):
 *       ||y^ - y||_2 / ||y||_2 <= beta(t) = t eta / (1 - t eta),
 *       eta = mu + gamma_4 (sqrt 2 + mu),  gamma_k = k u / (1 - k u),
 *   about 6.7 u log2 n: the relative RMS error is O(u log2 n).
 *   A 2-D transform is two 1-D passes: (1 + beta(t))^2 - 1.
 *   The real 2-D transforms keep half the spectrum and mirror the rest: the
 *   mirrored half at most doubles the squared error, so sqrt 2 times that.
 * FFTW's own error is also below beta(t) (checked here where the exact DFT is
 * affordable), so ours and FFTW's differ by at most about 2 beta(t). */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fft.h"
#include "kernels.h"
#include "test_util.h"

/* fft_conv_with_work with its working memory allocated here; a test that
 * cannot have it fails rather than quietly comparing the direct sums. */
static void fft_conv_core(const ConvAttrs *at, const Shape *is, const Shape *os, const float *in,
                          const float *w, int fft_size, double *acc_out)
{
    size_t bytes = fft_conv_work_bytes(at, fft_size, is, os);
    assert_true(bytes < SIZE_MAX);
    void *work = bytes ? malloc(bytes) : NULL;
    assert_true(bytes == 0 || work != NULL);
    fft_conv_with_work(at, fft_size, is, os, in, w, acc_out, work);
    free(work);
}

static const double u = 0x1p-24;
static const double two_pi = 6.28318530717958647692528676655900577;

/* ---- random numbers ------------------------------------------------------- */

static uint64_t rng_state;

/* Uniform in [0, 1), from the shared generator of test_util. */
static double uniform(void) { return test_uniform01(&rng_state); }

static double uniform_in(double lo, double hi) { return lo + (hi - lo) * uniform(); }

/* ---- error bounds ------------------------------------------------------------ */

static double gamma_k(double k) { return k * u / (1 - k * u); }
static double twiddle_error(void) { return u * (1 + 0x1p-20); }

/* Relative 2-norm error of a 1-D radix-2 transform of 2^t points. */
static double beta(int t)
{
    double mu = twiddle_error(), eta = mu + gamma_k(4) * (sqrt(2.0) + mu);
    return t * eta / (1 - t * eta);
}

static double beta_2d(int t) { return (1 + beta(t)) * (1 + beta(t)) - 1; }

static int log2i(int n)
{
    int t = 0;
    while ((1 << t) < n)
        t++;
    return t;
}

/* ---- exact transforms and comparisons ----------------------------------------- */

/* The DFT by its definition, in double: exact to about n 2^-53, nothing
 * next to float32 errors. x and out have n elements, stride apart. */
static void exact_dft(const double complex *x, double complex *out, int n, ptrdiff_t stride,
                      FftDirection dir)
{
    double *c = malloc((size_t)n * sizeof *c), *s = malloc((size_t)n * sizeof *s);
    assert_true(c && s);
    for (int m = 0; m < n; m++) { /* exp(dir 2 pi i m / n) */
        c[m] = cos(two_pi * m / n);
        s[m] = dir * sin(two_pi * m / n);
    }
    for (int k = 0; k < n; k++) {
        double re = 0, im = 0;
        for (int j = 0; j < n; j++) {
            int m = (int)((int64_t)j * k % n);
            double xr = creal(x[j * stride]), xi = cimag(x[j * stride]);
            re += xr * c[m] - xi * s[m];
            im += xr * s[m] + xi * c[m];
        }
        /* re + im i, built by parts: glibc's CMPLX needs a builtin clang lacks. */
        ((double *)&out[k * stride])[0] = re;
        ((double *)&out[k * stride])[1] = im;
    }
    free(c);
    free(s);
}

/* In place on an n x n array: rows, then columns. */
static void exact_dft_2d(double complex *x, int n, FftDirection dir)
{
    double complex *tmp = malloc((size_t)n * n * sizeof *tmp);
    assert_non_null(tmp);
    for (int r = 0; r < n; r++)
        exact_dft(x + r * n, tmp + r * n, n, 1, dir);
    for (int c = 0; c < n; c++)
        exact_dft(tmp + c, x + c, n, n, dir);
    free(tmp);
}

/* ||a - b||_2 / ||b||_2 over count elements. */
static double relative_error(const float complex *a, const double complex *b, int64_t count)
{
    double err = 0, norm = 0;
    for (int64_t i = 0; i < count; i++) {
        err += pow(cabs(a[i] - b[i]), 2);
        norm += pow(cabs(b[i]), 2);
    }
    return norm > 0 ? sqrt(err / norm) : sqrt(err);
}

static double complex *widen(const float complex *x, int64_t count)
{
    double complex *y = malloc((size_t)count * sizeof *y);
    assert_non_null(y);
    for (int64_t i = 0; i < count; i++)
        y[i] = x[i];
    return y;
}

static float complex *random_complex(int64_t count)
{
    float complex *x = fftwf_malloc((size_t)count * sizeof *x);
    assert_non_null(x);
    for (int64_t i = 0; i < count; i++)
        x[i] = fft_complex((float)uniform_in(-1, 1), (float)uniform_in(-1, 1));
    return x;
}

static float complex *copy_complex(const float complex *x, int64_t count)
{
    float complex *y = fftwf_malloc((size_t)count * sizeof *y);
    assert_non_null(y);
    for (int64_t i = 0; i < count; i++)
        y[i] = x[i];
    return y;
}

/* Checks ours against FFTW (within 2 beta) and, when given, against the
 * exact result (within beta); returns our error over u log2(points). */
static double check_transform(const char *what, int points, const float complex *ours,
                              const float complex *fftw, const double complex *exact, int64_t count,
                              double bound)
{
    double complex *wide = widen(fftw, count);
    double vs_fftw = relative_error(ours, wide, count);
    free(wide);
    if (vs_fftw > 2 * bound / (1 - bound))
        fail_msg("%s of %d points: %.3g from FFTW, more than twice the bound %.3g", what, points,
                 vs_fftw, bound);
    if (!exact)
        return vs_fftw / (u * log2i(points));
    double mine = relative_error(ours, exact, count), theirs = relative_error(fftw, exact, count);
    if (mine > bound)
        fail_msg("%s of %d points: relative error %.3g, more than the bound %.3g", what, points, mine,
                 bound);
    if (theirs > bound)
        fail_msg("%s of %d points: FFTW's relative error %.3g is above the bound %.3g that the "
                 "comparison with it assumes", what, points, theirs, bound);
    return mine / (u * log2i(points));
}

/* ---- the transforms ------------------------------------------------------------ */

/* A plan in memory of its own, which free(plan.twiddle) releases. */
static FftPlan make_plan(int n)
{
    FftPlan p;
    float complex *memory = malloc(fft_plan_size(n) * sizeof *memory);
    assert_non_null(memory);
    assert_true(fft_plan_init(&p, n, memory));
    assert_ptr_equal(p.twiddle, memory);
    return p;
}

static int fftw_sign(FftDirection dir) { return dir == FFT_FORWARD ? FFTW_FORWARD : FFTW_BACKWARD; }

/* Every power of two from 2 to 4096, where the exact DFT is affordable,
 * then larger ones against FFTW only. */
static const int sizes_1d[] = {2,   4,   8,    16,   32,   64,      128,     256,
                               512, 1024, 2048, 4096, 1 << 14, 1 << 17, 1 << 20};
enum { EXACT_1D_MAX = 4096, EXACT_2D_MAX = 64 };

static void test_fft_1d(void **state)
{
    (void)state;
    rng_state = 1;
    double worst[2] = {0, 0};
    for (size_t i = 0; i < sizeof sizes_1d / sizeof *sizes_1d; i++) {
        int n = sizes_1d[i];
        FftPlan plan = make_plan(n);
        for (int d = 0; d < 2; d++) {
            FftDirection dir = d == 0 ? FFT_FORWARD : FFT_INVERSE;
            float complex *x = random_complex(n), *ref = copy_complex(x, n);
            fftwf_plan p = fftwf_plan_dft_1d(n, ref, ref, fftw_sign(dir), FFTW_ESTIMATE);
            double complex *exact = NULL;
            if (n <= EXACT_1D_MAX) {
                double complex *wide = widen(x, n);
                exact = malloc((size_t)n * sizeof *exact);
                assert_non_null(exact);
                exact_dft(wide, exact, n, 1, dir);
                free(wide);
            }
            fftwf_execute(p);
            fft_1d(&plan, x, 1, dir);
            const char *what = d == 0 ? "1-D forward" : "1-D inverse";
            worst[d] = fmax(worst[d], check_transform(what, n, x, ref, exact, n, beta(log2i(n))));
            fftwf_destroy_plan(p);
            fftwf_free(x);
            fftwf_free(ref);
            free(exact);
        }
        free(plan.twiddle);
    }
    print_message("1-D: largest relative RMS error %.3f u log2 n forward, %.3f inverse (bound %.2f)\n",
                  worst[0], worst[1], beta(20) / (20 * u));
}

/* A strided 1-D transform is the same transform: a column of an array. */
static void test_fft_1d_strided(void **state)
{
    (void)state;
    rng_state = 2;
    enum { N = 32, STRIDE = 5 };
    FftPlan plan = make_plan(N);
    float complex *x = random_complex(N * STRIDE), *packed = fftwf_malloc(N * sizeof *packed);
    assert_non_null(packed);
    for (int i = 0; i < N; i++)
        packed[i] = x[i * STRIDE + 3];
    fft_1d(&plan, x + 3, STRIDE, FFT_FORWARD);
    fft_1d(&plan, packed, 1, FFT_FORWARD);
    for (int i = 0; i < N; i++)
        assert_true(x[i * STRIDE + 3] == packed[i]);
    fftwf_free(x);
    fftwf_free(packed);
    free(plan.twiddle);
}

static const int sizes_2d[] = {2, 4, 8, 16, 32, 64, 128, 256};

static void test_fft_2d(void **state)
{
    (void)state;
    rng_state = 3;
    double worst = 0;
    for (size_t i = 0; i < sizeof sizes_2d / sizeof *sizes_2d; i++) {
        int n = sizes_2d[i];
        FftPlan plan = make_plan(n);
        for (int d = 0; d < 2; d++) {
            FftDirection dir = d == 0 ? FFT_FORWARD : FFT_INVERSE;
            float complex *x = random_complex((int64_t)n * n), *ref = copy_complex(x, (int64_t)n * n);
            fftwf_plan p = fftwf_plan_dft_2d(n, n, ref, ref, fftw_sign(dir), FFTW_ESTIMATE);
            double complex *exact = NULL;
            if (n <= EXACT_2D_MAX) {
                exact = widen(x, (int64_t)n * n);
                exact_dft_2d(exact, n, dir);
            }
            fftwf_execute(p);
            fft_2d(&plan, x, dir);
            double e = check_transform(d == 0 ? "2-D forward" : "2-D inverse", n * n, x, ref, exact,
                                       (int64_t)n * n, beta_2d(log2i(n)));
            worst = fmax(worst, e);
            fftwf_destroy_plan(p);
            fftwf_free(x);
            fftwf_free(ref);
            free(exact);
        }
        free(plan.twiddle);
    }
    print_message("2-D: largest relative RMS error %.3f u log2(n^2)\n", worst);
}

/* The real transforms against FFTW's r2c and c2r, which keep the same
 * n x (n/2 + 1) half spectrum. */
static void test_fft_real_2d(void **state)
{
    (void)state;
    rng_state = 4;
    double worst = 0;
    for (size_t i = 0; i < sizeof sizes_2d / sizeof *sizes_2d; i++) {
        int n = sizes_2d[i], h = n / 2 + 1;
        int64_t count = (int64_t)n * n, half = (int64_t)n * h;
        double bound = sqrt(2.0) * beta_2d(log2i(n));
        FftPlan plan = make_plan(n);
        float *real = fftwf_malloc((size_t)count * sizeof *real);
        float *back = fftwf_malloc((size_t)count * sizeof *back);
        float complex *spec = fftwf_malloc((size_t)half * sizeof *spec);
        float complex *ref = fftwf_malloc((size_t)half * sizeof *ref);
        assert_true(real && back && spec && ref);
        for (int64_t k = 0; k < count; k++)
            real[k] = (float)uniform_in(-1, 1);

        /* Forward: the exact result is the half of the complex transform. */
        fftwf_plan p = fftwf_plan_dft_r2c_2d(n, n, real, ref, FFTW_ESTIMATE);
        fftwf_execute(p);
        fftwf_destroy_plan(p);
        fft_real_2d_forward(&plan, real, spec);
        double complex *exact = NULL;
        if (n <= EXACT_2D_MAX) {
            double complex *full = malloc((size_t)count * sizeof *full);
            assert_non_null(full);
            for (int64_t k = 0; k < count; k++)
                full[k] = real[k];
            exact_dft_2d(full, n, FFT_FORWARD);
            exact = malloc((size_t)half * sizeof *exact);
            assert_non_null(exact);
            for (int64_t k = 0; k < half; k++)
                exact[k] = full[k / h * n + k % h];
            free(full);
        }
        worst = fmax(worst, check_transform("real 2-D forward", n * n, spec, ref, exact, half, bound));
        free(exact);

        /* Inverse of FFTW's spectrum (a Hermitian one, as c2r assumes). */
        float complex *mine = copy_complex(ref, half);
        p = fftwf_plan_dft_c2r_2d(n, n, ref, back, FFTW_ESTIMATE); /* destroys ref */
        for (int64_t k = 0; k < half; k++)
            spec[k] = mine[k];
        fftwf_execute(p);
        fftwf_destroy_plan(p);
        fft_real_2d_inverse(&plan, spec, real);
        float complex *ours = fftwf_malloc((size_t)count * sizeof *ours);
        float complex *theirs = fftwf_malloc((size_t)count * sizeof *theirs);
        assert_true(ours && theirs);
        for (int64_t k = 0; k < count; k++) {
            ours[k] = real[k];
            theirs[k] = back[k];
        }
        exact = NULL;
        if (n <= EXACT_2D_MAX) {
            exact = malloc((size_t)count * sizeof *exact);
            assert_non_null(exact);
            for (int64_t k = 0; k < count; k++) /* the Hermitian extension */
                exact[k] = k % n < h ? mine[k / n * h + k % n]
                                     : conj(mine[(n - k / n) % n * h + (n - k % n)]);
            exact_dft_2d(exact, n, FFT_INVERSE);
        }
        double e = check_transform("real 2-D inverse", n * n, ours, theirs, exact, count, bound);
        worst = fmax(worst, e);
        free(exact);
        fftwf_free(ours);
        fftwf_free(theirs);
        fftwf_free(mine);
        fftwf_free(real);
        fftwf_free(back);
        fftwf_free(spec);
        fftwf_free(ref);
        free(plan.twiddle);
    }
    print_message("real 2-D: largest relative RMS error %.3f u log2(n^2)\n", worst);
}

static void test_fft_plan_sizes(void **state)
{
    (void)state;
    FftPlan p = make_plan(1);
    float complex one = fft_complex(3, -2);
    fft_1d(&p, &one, 1, FFT_FORWARD); /* the transform of one point is itself */
    assert_true(one == fft_complex(3, -2));
    free(p.twiddle);
    float complex memory[8];
    assert_false(fft_plan_init(&p, 0, memory));
    assert_false(fft_plan_init(&p, 12, memory));
    assert_false(fft_plan_init(&p, -8, memory));
    assert_true(fft_size_valid(1 << 30));
    assert_false(fft_size_valid(INT32_MAX));
}

/* ---- FFT convolution ----------------------------------------------------------- *
 *
 * Bound. For the output tile of one output channel, with x_c the T x T
 * input tile of channel c, w_c the filter plane, Cg channels in the group,
 * each output element's error is at most
 *     2 (eps (1 + D) + D) sum_c ||x_c||_2 ||w_c||_1
 *   <= 2 (eps (1 + D) + D) T max|x| sum_c ||w_c||_1,
 *     eps = beta_2d(log2 T)   (normwise error of a 2-D transform)
 *     g   = (1 + eta')^(2 log2 T) - 1,  eta' = (1 + mu)(1 + sqrt2 gamma_2)(1 + u) - 1
 *           (componentwise: every coefficient of a computed transform is
 *           within g ||w||_1 of the exact one: each passes 2 log2 T butterflies)
 *     phi = (1 + sqrt2 gamma_2)(1 + u)^(Cg - 1) - 1  (a product, then the sum over channels)
 *     D   = eps (1 + g) + g + phi (1 + eps)(1 + g),
 * the factor 2 for the mirrored half spectrum. To first order that is
 * 2 (2 eps + g + phi) T max|x| sum_c ||w_c||_1 ~ (73 log2 T + 2 Cg) u T
 * max|x| sum_c ||w_c||_1 (eps ~ 13.3 u log2 T, g ~ 9.7 u log2 T,
 * phi ~ (Cg + 2) u); with inputs in [0, 1], where an output's sum |x||w| is
 * about sum_c ||w_c||_1 / 2, that is about
 *     (150 log2 T + 4 Cg) T u sum |x||w|:
 * the error of FFT convolution scales with the sum of |x| |w| times
 * u log T, and with T because a tile's T^2 inputs all pass through every
 * coefficient. It is a worst case (every rounding error aligned, all of the
 * tile's error in one output). The measured errors, printed for every layer
 * and tabled in docs/fast-convolution.md, are 0.3 to 3 u sum |x||w| on
 * realistic layers (12 u where the window is mostly padding and sum |x||w|
 * small): a few roundings of the result's size, and four to five orders of
 * magnitude below the bound. */

typedef struct ConvCase {
    const char *what;
    int64_t n, c, f, h, w, kh, kw, groups;
    int64_t pad[4]; /* top, left, bottom, right */
    int fft_size;
} ConvCase;

static double conv_bound_factor(int T, int64_t Cg)
{
    int t = log2i(T);
    double mu = twiddle_error(), eps = beta_2d(t);
    double eta1 = (1 + mu) * (1 + sqrt(2.0) * gamma_k(2)) * (1 + u) - 1;
    double g = pow(1 + eta1, 2 * t) - 1;
    double phi = (1 + sqrt(2.0) * gamma_k(2)) * pow(1 + u, (double)(Cg - 1)) - 1;
    double D = eps * (1 + g) + g + phi * (1 + eps) * (1 + g);
    return 2 * (eps * (1 + D) + D) * T;
}

typedef struct ConvLayer {
    ConvAttrs at;
    Shape is, os;
    float *in, *w, *abs_w;
    int64_t in_count, w_count, out_count;
} ConvLayer;

/* Inputs uniform in [0, 1] (post-ReLU activations), weights uniform with
 * variance 1 / fan_in (He-like). */
static ConvLayer make_layer(const ConvCase *k)
{
    ConvLayer l = {.at = {.filters = k->f, .kernel = {k->kh, k->kw}, .stride = {1, 1},
                          .dilation = {1, 1}, .groups = k->groups,
                          .pad = {k->pad[0], k->pad[1], k->pad[2], k->pad[3]}}};
    int64_t oh = k->h + k->pad[0] + k->pad[2] - k->kh + 1, ow = k->w + k->pad[1] + k->pad[3] - k->kw + 1;
    l.is = (Shape){4, {k->n, k->c, k->h, k->w}};
    l.os = (Shape){4, {k->n, k->f, oh, ow}};
    int64_t fan_in = k->c / k->groups * k->kh * k->kw;
    l.in_count = k->n * k->c * k->h * k->w;
    l.w_count = k->f * fan_in;
    l.out_count = k->n * k->f * oh * ow;
    l.in = malloc((size_t)l.in_count * sizeof *l.in);
    l.w = malloc((size_t)l.w_count * sizeof *l.w);
    l.abs_w = malloc((size_t)l.w_count * sizeof *l.abs_w);
    assert_true(l.in && l.w && l.abs_w);
    for (int64_t i = 0; i < l.in_count; i++)
        l.in[i] = (float)uniform();
    double a = sqrt(3.0 / fan_in);
    for (int64_t i = 0; i < l.w_count; i++) {
        l.w[i] = (float)uniform_in(-a, a);
        l.abs_w[i] = fabsf(l.w[i]);
    }
    return l;
}

static void free_layer(ConvLayer *l)
{
    free(l->in);
    free(l->w);
    free(l->abs_w);
}

static double *alloc_acc(int64_t count)
{
    double *p = malloc((size_t)count * sizeof *p);
    assert_non_null(p);
    return p;
}

/* fft_conv_core against conv_core on one layer, every output within the
 * bound; prints the largest error over sum |x||w| and over the bound. */
static void check_conv(const ConvCase *k)
{
    ConvLayer l = make_layer(k);
    double *direct = alloc_acc(l.out_count), *fft = alloc_acc(l.out_count);
    double *magnitude = alloc_acc(l.out_count);
    conv_core(&l.at, &l.is, &l.os, l.in, l.w, direct);
    conv_core(&l.at, &l.is, &l.os, l.in, l.abs_w, magnitude); /* sum |x||w|: inputs are >= 0 */
    fft_conv_core(&l.at, &l.is, &l.os, l.in, l.w, k->fft_size, fft);
    /* The same arithmetic in working memory given by the caller. */
    size_t bytes = fft_conv_work_bytes(&l.at, k->fft_size, &l.is, &l.os);
    void *work = malloc(bytes);
    double *with_work = alloc_acc(l.out_count);
    assert_non_null(work);
    fft_conv_with_work(&l.at, k->fft_size, &l.is, &l.os, l.in, l.w, with_work, work);
    for (int64_t i = 0; i < l.out_count; i++)
        assert_true(with_work[i] == fft[i]);
    free(work);
    free(with_work);

    int64_t Cg = k->c / k->groups, taps = k->kh * k->kw, plane = l.os.d[2] * l.os.d[3];
    double max_x = 0;
    for (int64_t i = 0; i < l.in_count; i++)
        max_x = fmax(max_x, l.in[i]);
    double factor = conv_bound_factor(k->fft_size, Cg);
    double *w1 = alloc_acc(k->f); /* sum_c ||w_fc||_1 per filter */
    for (int64_t f = 0; f < k->f; f++) {
        w1[f] = 0;
        for (int64_t j = 0; j < Cg * taps; j++)
            w1[f] += l.abs_w[f * Cg * taps + j];
    }
    double worst_err = 0, worst_rel = 0, worst_of_bound = 0, tightest_bound = INFINITY;
    for (int64_t i = 0; i < l.out_count; i++) {
        double bound = factor * max_x * w1[i / plane % k->f], err = fabs(fft[i] - direct[i]);
        if (!(err <= bound))
            fail_msg("%s, T = %d: output %lld is %.9g, direct %.9g: error %.3g above the bound %.3g",
                     k->what, k->fft_size, (long long)i, fft[i], direct[i], err, bound);
        worst_err = fmax(worst_err, err);
        worst_of_bound = fmax(worst_of_bound, err / bound);
        if (magnitude[i] > 0) {
            worst_rel = fmax(worst_rel, err / magnitude[i]);
            tightest_bound = fmin(tightest_bound, bound / magnitude[i]);
        }
    }
    print_message("%-40s T=%-3d Cg=%-4lld max err %8.2e = %6.2f u sum|x||w|  bound >= %8.0f u  "
                  "(%.1e of it)\n",
                  k->what, k->fft_size, (long long)Cg, worst_err, worst_rel / u, tightest_bound / u,
                  worst_of_bound);
    free(direct);
    free(fft);
    free(magnitude);
    free(w1);
    free_layer(&l);
}

/* Shapes that exercise the tiling: partial tiles at the bottom and right,
 * asymmetric and large padding, non-square kernels and images, batches,
 * groups, depthwise, a kernel as large as the transform (tiles of one
 * output), a transform larger than the image (one tile). */
static const ConvCase edge_cases[] = {
    {"3x3, tile 2, partial tiles", 1, 4, 5, 9, 7, 3, 3, 1, {1, 1, 1, 1}, 4},
    {"3x3, batch 2, asymmetric padding", 2, 8, 6, 13, 11, 3, 3, 1, {0, 2, 1, 0}, 8},
    {"3x3, padding beyond the kernel", 1, 2, 3, 6, 5, 3, 3, 1, {4, 3, 5, 4}, 8},
    {"3x5 kernel", 1, 6, 4, 12, 15, 3, 5, 1, {1, 2, 1, 2}, 8},
    {"8x8 kernel, transform 8 (tiles of 1)", 1, 3, 2, 10, 10, 8, 8, 1, {3, 3, 4, 4}, 8},
    {"1x1 kernel, transform 2", 1, 5, 3, 5, 6, 1, 1, 1, {0, 0, 0, 0}, 2},
    {"3x3, transform larger than the image", 1, 4, 4, 5, 5, 3, 3, 1, {1, 1, 1, 1}, 64},
    {"5x5 depthwise", 1, 16, 16, 17, 13, 5, 5, 16, {2, 1, 0, 3}, 8},
    {"7x7 groups 3, batch 2", 2, 12, 6, 19, 19, 7, 7, 3, {3, 3, 3, 3}, 16},
    {"11x11 no padding", 1, 3, 4, 30, 30, 11, 11, 1, {0, 0, 0, 0}, 16},
};

static void test_fft_conv_shapes(void **state)
{
    (void)state;
    rng_state = 5;
    for (size_t i = 0; i < sizeof edge_cases / sizeof *edge_cases; i++)
        check_conv(&edge_cases[i]);
}

/* Layers of the example networks (stride 1 versions of the 7x7 and 11x11
 * first layers, which are strided there; some with fewer filters, which does
 * not change the error of each output), realistic ranges, several sizes. */
static const ConvCase network_layers[] = {
    {"3x3 VGG-16 conv3-like, 64 channels", 1, 64, 32, 28, 28, 3, 3, 1, {1, 1, 1, 1}, 8},
    {"3x3 VGG-16 conv3-like, 64 channels", 1, 64, 32, 28, 28, 3, 3, 1, {1, 1, 1, 1}, 16},
    {"3x3 VGG-16 conv3-like, 64 channels", 1, 64, 32, 28, 28, 3, 3, 1, {1, 1, 1, 1}, 32},
    {"3x3 256 channels", 1, 256, 16, 14, 14, 3, 3, 1, {1, 1, 1, 1}, 8},
    {"3x3 256 channels", 1, 256, 16, 14, 14, 3, 3, 1, {1, 1, 1, 1}, 16},
    {"5x5 AlexNet conv2, 64 of 256 filters", 1, 96, 64, 27, 27, 5, 5, 2, {2, 2, 2, 2}, 8},
    {"5x5 AlexNet conv2, 64 of 256 filters", 1, 96, 64, 27, 27, 5, 5, 2, {2, 2, 2, 2}, 16},
    {"5x5 AlexNet conv2, 64 of 256 filters", 1, 96, 64, 27, 27, 5, 5, 2, {2, 2, 2, 2}, 32},
    {"5x5 GoogLeNet inception 3a", 1, 16, 32, 28, 28, 5, 5, 1, {2, 2, 2, 2}, 16},
    {"7x7 GoogLeNet conv1 at stride 1", 1, 3, 64, 56, 56, 7, 7, 1, {3, 3, 3, 3}, 16},
    {"7x7 GoogLeNet conv1 at stride 1", 1, 3, 64, 56, 56, 7, 7, 1, {3, 3, 3, 3}, 32},
    {"7x7 64 channels", 1, 64, 16, 28, 28, 7, 7, 1, {3, 3, 3, 3}, 16},
    {"11x11 AlexNet conv1 at stride 1, 32 of 96", 1, 3, 32, 55, 55, 11, 11, 1, {5, 5, 5, 5}, 16},
    {"11x11 AlexNet conv1 at stride 1, 32 of 96", 1, 3, 32, 55, 55, 11, 11, 1, {5, 5, 5, 5}, 32},
    {"11x11 AlexNet conv1 at stride 1, 32 of 96", 1, 3, 32, 55, 55, 11, 11, 1, {5, 5, 5, 5}, 64},
    {"11x11 48 channels", 1, 48, 8, 27, 27, 11, 11, 1, {5, 5, 5, 5}, 32},
};

static void test_fft_conv_network_layers(void **state)
{
    (void)state;
    rng_state = 6;
    for (size_t i = 0; i < sizeof network_layers / sizeof *network_layers; i++)
        check_conv(&network_layers[i]);
}

/* Layers the FFT does not apply to are computed by conv_core: the same
 * doubles, bit for bit. */
static void test_fft_conv_falls_back(void **state)
{
    (void)state;
    rng_state = 7;
    ConvCase k = {"3x3 stride 2", 1, 4, 3, 9, 9, 3, 3, 1, {1, 1, 1, 1}, 8};
    ConvLayer l = make_layer(&k);
    l.at.stride[0] = l.at.stride[1] = 2;
    l.os.d[2] = l.os.d[3] = 5;
    assert_false(fft_conv_applies(&l.at, 8));
    assert_int_equal(fft_conv_work_bytes(&l.at, 8, &l.is, &l.os), 0);
    l.at.stride[0] = l.at.stride[1] = 1;
    assert_true(fft_conv_applies(&l.at, 8));
    assert_false(fft_conv_applies(&l.at, 2));  /* kernel larger than the transform */
    assert_false(fft_conv_applies(&l.at, 12)); /* not a power of two */
    l.at.dilation[0] = 2;
    assert_false(fft_conv_applies(&l.at, 8));
    l.at.dilation[0] = 1;
    l.at.stride[0] = l.at.stride[1] = 2;
    l.out_count = 3 * 5 * 5;
    double *direct = alloc_acc(l.out_count), *fft = alloc_acc(l.out_count);
    conv_core(&l.at, &l.is, &l.os, l.in, l.w, direct);
    fft_conv_core(&l.at, &l.is, &l.os, l.in, l.w, 8, fft);
    for (int64_t i = 0; i < l.out_count; i++)
        assert_true(fft[i] == direct[i]);
    /* Working memory beyond any machine's is reported, not overflowed. */
    Shape huge_in = {4, {1 << 20, 1 << 20, 1 << 20, 1 << 20}}, huge_out = huge_in;
    l.at.stride[0] = l.at.stride[1] = 1;
    assert_int_equal(fft_conv_work_bytes(&l.at, 8, &huge_in, &huge_out), SIZE_MAX);
    free(direct);
    free(fft);
    free_layer(&l);
}

/* ---- the transforms are shared ---------------------------------------------------- *
 *
 * The test links with -Wl,--wrap for the two real 2-D transforms
 * (tests/CMakeLists.txt), so the calls fft_conv.c makes land here first and
 * are counted, with nothing in the runtime that exists for the test. */

void __real_fft_real_2d_forward(FftPlan *p, const float *in, float complex *out);
void __real_fft_real_2d_inverse(FftPlan *p, float complex *spec, float *out);
void __wrap_fft_real_2d_forward(FftPlan *p, const float *in, float complex *out);
void __wrap_fft_real_2d_inverse(FftPlan *p, float complex *spec, float *out);

static int64_t forward_calls, inverse_calls;

void __wrap_fft_real_2d_forward(FftPlan *p, const float *in, float complex *out)
{
    forward_calls++;
    __real_fft_real_2d_forward(p, in, out);
}

void __wrap_fft_real_2d_inverse(FftPlan *p, float complex *spec, float *out)
{
    inverse_calls++;
    __real_fft_real_2d_inverse(p, spec, out);
}

/* 2 samples, 6 channels and 8 filters in 2 groups (Cg = 3, Fg = 4), a 10x10
 * output in tiles of 6x6 (T = 8, 3x3 kernel): 4 tiles per plane.
 *   forward: one per (filter, channel): 8 x 3 = 24, plus one per input tile
 *            and channel: 2 samples x 2 groups x 4 tiles x 3 channels = 48;
 *            without sharing each of the 8 filters would transform its 3
 *            channels' tiles again: 2 x 8 x 4 x 3 = 192.
 *   inverse: one per (sample, filter, tile): 2 x 8 x 4 = 64. */
static void test_fft_conv_shares_transforms(void **state)
{
    (void)state;
    rng_state = 8;
    ConvCase k = {"count", 2, 6, 8, 10, 10, 3, 3, 2, {1, 1, 1, 1}, 8};
    ConvLayer l = make_layer(&k);
    double *acc = alloc_acc(l.out_count);
    forward_calls = inverse_calls = 0;
    fft_conv_core(&l.at, &l.is, &l.os, l.in, l.w, k.fft_size, acc);
    assert_int_equal(forward_calls, 24 + 48);
    assert_int_equal(inverse_calls, 64);
    free(acc);
    free_layer(&l);
}

static int teardown(void **state)
{
    (void)state;
    fftwf_cleanup(); /* FFTW's planner memory, for LeakSanitizer */
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fft_plan_sizes),
        cmocka_unit_test(test_fft_1d),
        cmocka_unit_test(test_fft_1d_strided),
        cmocka_unit_test(test_fft_2d),
        cmocka_unit_test(test_fft_real_2d),
        cmocka_unit_test(test_fft_conv_shapes),
        cmocka_unit_test(test_fft_conv_network_layers),
        cmocka_unit_test(test_fft_conv_falls_back),
        cmocka_unit_test(test_fft_conv_shares_transforms),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
