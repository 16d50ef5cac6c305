/* A plain fast Fourier transform for the reference executor's FFT
 * convolution: iterative radix-2 Cooley-Tukey in float32, written to be
 * read and checked rather than to be fast (tests/test_fft.c compares it
 * with FFTW). Transforms are unnormalised both ways, as FFTW's are:
 * inverse(forward(x)) = n x (n*n x in 2-D). */
#ifndef DNNC_REF_FFT_H
#define DNNC_REF_FFT_H

#include <complex.h>
#include <stdbool.h>
#include <stddef.h>

/* The sign of the exponent: forward X[k] = sum x[j] exp(-2 pi i jk/n). */
typedef enum FftDirection { FFT_FORWARD = -1, FFT_INVERSE = 1 } FftDirection;

/* What a transform of size n needs, computed once. A plan lives in memory
 * its user provides (the reference's kernels never allocate: the executor
 * gives them their working memory). */
typedef struct FftPlan {
    int n;                  /* a power of two */
    float complex *twiddle; /* twiddle[k] = exp(-2 pi i k / n), k < n/2 */
    float complex *row;     /* n elements of working memory (real 2-D transforms) */
} FftPlan;

/* Whether n is a size the transforms take: a power of two in [1, 2^30]. */
bool fft_size_valid(int n);
/* The elements of memory a plan of size n needs: twiddles and a row. */
size_t fft_plan_size(int n);
/* Sets up a plan of size n in `memory` (fft_plan_size(n) elements, kept
 * for as long as the plan is used); false if !fft_size_valid(n). */
bool fft_plan_init(FftPlan *p, int n, float complex *memory);

/* In place on x[0], x[stride], ..., x[(n-1) * stride]. */
void fft_1d(const FftPlan *p, float complex *x, ptrdiff_t stride, FftDirection dir);
/* In place on an n x n row-major array: every row, then every column. */
void fft_2d(const FftPlan *p, float complex *x, FftDirection dir);

/* The forward 2-D transform of a real n x n array. Its spectrum is Hermitian,
 * X[u][v] = conj(X[(n-u) % n][(n-v) % n]), so only the columns v <= n/2 are
 * kept: out is n x (n/2 + 1), row-major. */
void fft_real_2d_forward(FftPlan *p, const float *in, float complex *out);
/* The inverse of a Hermitian spectrum kept as above (overwritten), into a
 * real n x n array: the real part of the full complex inverse. */
void fft_real_2d_inverse(FftPlan *p, float complex *spec, float *out);

/* The complex number re + im i, exactly: C17 lays a float complex out as
 * float[2] (6.2.5), and glibc's CMPLXF needs a builtin that clang lacks. */
static inline float complex fft_complex(float re, float im)
{
    float complex z;
    ((float *)&z)[0] = re;
    ((float *)&z)[1] = im;
    return z;
}

/* The product a * b by the schoolbook formula in float: no wider
 * intermediate and no special cases for infinities, so the rounding is the
 * one the error bounds of docs/fast-convolution.md assume. */
static inline float complex fft_mul(float complex a, float complex b)
{
    float ar = crealf(a), ai = cimagf(a), br = crealf(b), bi = cimagf(b);
    return fft_complex(ar * br - ai * bi, ar * bi + ai * br);
}

#endif
