/* Iterative radix-2 FFT (decimation in time): reorder the input by
 * bit-reversed index, then log2(n) passes of butterflies, each combining
 * pairs of transforms of length len/2 into transforms of length len. */
#include "fft.h"

#include <math.h>

static const double two_pi = 6.28318530717958647692528676655900577;

bool fft_size_valid(int n)
{
    return n >= 1 && n <= (1 << 30) && (n & (n - 1)) == 0;
}

size_t fft_plan_size(int n)
{
    return (size_t)n / 2 + (size_t)n;
}

bool fft_plan_init(FftPlan *p, int n, float complex *memory)
{
    if (!fft_size_valid(n))
        return false;
    *p = (FftPlan){.n = n, .twiddle = memory, .row = memory + n / 2};
    /* In double, then rounded once: each twiddle is within one float
     * rounding (u = 2^-24) of the exact root of unity. */
    for (int k = 0; k < n / 2; k++) {
        double angle = two_pi * k / n;
        p->twiddle[k] = fft_complex((float)cos(angle), (float)-sin(angle));
    }
    return true;
}

/* Swaps x[j] and x[rev(j)], rev reversing the log2(n) bits of j. */
static void bit_reverse(float complex *x, int n, ptrdiff_t stride)
{
    for (int i = 0, j = 0; i < n; i++) {
        if (i < j) {
            float complex t = x[i * stride];
            x[i * stride] = x[j * stride];
            x[j * stride] = t;
        }
        /* j + 1 in bit-reversed order: clear the leading ones, set the next bit. */
        int bit = n >> 1;
        for (; bit > 0 && (j & bit); bit >>= 1)
            j ^= bit;
        j |= bit;
    }
}

void fft_1d(const FftPlan *p, float complex *x, ptrdiff_t stride, FftDirection dir)
{
    int n = p->n;
    bit_reverse(x, n, stride);
    for (int len = 2; len <= n; len *= 2) {
        int half = len / 2, step = n / len; /* exp(-2 pi i k/len) = twiddle[k * step] */
        for (int start = 0; start < n; start += len)
            for (int k = 0; k < half; k++) {
                float complex w = p->twiddle[k * step];
                if (dir == FFT_INVERSE)
                    w = conjf(w);
                float complex *a = &x[(start + k) * stride], *b = &x[(start + k + half) * stride];
                float complex t = fft_mul(w, *b);
                *b = *a - t;
                *a = *a + t;
            }
    }
}

void fft_2d(const FftPlan *p, float complex *x, FftDirection dir)
{
    int n = p->n;
    for (int r = 0; r < n; r++)
        fft_1d(p, x + (ptrdiff_t)r * n, 1, dir);
    for (int c = 0; c < n; c++)
        fft_1d(p, x + c, n, dir);
}

/* Rows as complex transforms of real data, of which the columns v <= n/2
 * are kept (the others are their mirror images); then those columns. */
void fft_real_2d_forward(FftPlan *p, const float *in, float complex *out)
{
    int n = p->n, h = n / 2 + 1;
    for (int r = 0; r < n; r++) {
        for (int x = 0; x < n; x++)
            p->row[x] = in[(ptrdiff_t)r * n + x];
        fft_1d(p, p->row, 1, FFT_FORWARD);
        for (int v = 0; v < h; v++)
            out[(ptrdiff_t)r * h + v] = p->row[v];
    }
    for (int v = 0; v < h; v++)
        fft_1d(p, out + v, h, FFT_FORWARD);
}

/* The forward steps undone in reverse order. After the column transforms,
 * row r holds the 1-D spectrum of the real row r of the result, which is
 * Hermitian: its columns v > n/2 are conj(column n - v). */
void fft_real_2d_inverse(FftPlan *p, float complex *spec, float *out)
{
    int n = p->n, h = n / 2 + 1;
    for (int v = 0; v < h; v++)
        fft_1d(p, spec + v, h, FFT_INVERSE);
    for (int r = 0; r < n; r++) {
        const float complex *s = spec + (ptrdiff_t)r * h;
        for (int v = 0; v < n; v++)
            p->row[v] = v < h ? s[v] : conjf(s[n - v]);
        fft_1d(p, p->row, 1, FFT_INVERSE);
        for (int x = 0; x < n; x++)
            out[(ptrdiff_t)r * n + x] = crealf(p->row[x]);
    }
}
