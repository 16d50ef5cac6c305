#include "cpu_fft_host.h"

#include <stdlib.h>

#include "test_util.h"

/* Passing generic vectors by value changes the ABI without AVX, which does
 * not matter inside one translation unit. */
#pragma GCC diagnostic ignored "-Wpsabi"
#include "common.h"
#undef KERNEL
#define KERNEL static __attribute__((unused)) void
#include "fft_conv.c"

int cpu_fft_host_lanes(void) { return DNNK_LANES; }

static fftk_vc *host_spectrum(int64_t T)
{
    fftk_vc *s = malloc(sizeof(fftk_vc) * (size_t)dnnk_fft_bins(T));
    assert_non_null(s);
    return s;
}

void cpu_fft_host_forward(int64_t T, const float *windows, float *spec)
{
    int64_t half = T / 2 + 1, bins = dnnk_fft_bins(T);
    fftk_vc *R = host_spectrum(T), *X = host_spectrum(T);
    for (int64_t y = 0; y < T; y++) {
        float g[DNNK_FFT_MAX * DNNK_LANES];
        for (int64_t x = 0; x < T; x++)
            for (int64_t l = 0; l < DNNK_LANES; l++)
                g[x * DNNK_LANES + l] = windows[(l * T + y) * T + x];
        fftk_row_forward(T, g, R + y * half);
    }
    fftk_columns_forward(T, R, X, 1);
    for (int64_t l = 0; l < DNNK_LANES; l++)
        for (int64_t k = 0; k < bins; k++) {
            spec[(l * bins + k) * 2] = X[k].re[l];
            spec[(l * bins + k) * 2 + 1] = X[k].im[l];
        }
    free(R), free(X);
}

void cpu_fft_host_inverse(int64_t T, const float *spec, float *out)
{
    int64_t half = T / 2 + 1, bins = dnnk_fft_bins(T);
    fftk_vc *M = host_spectrum(T), *R = host_spectrum(T);
    for (int64_t k = 0; k < bins; k++)
        for (int64_t l = 0; l < DNNK_LANES; l++) {
            M[k].re[l] = spec[(l * bins + k) * 2];
            M[k].im[l] = spec[(l * bins + k) * 2 + 1];
        }
    fftk_columns_inverse(T, T, M, 1, R);
    for (int64_t y = 0; y < T; y++) {
        vf row[DNNK_FFT_MAX];
        fftk_row_inverse(T, R + y * half, T, row);
        for (int64_t x = 0; x < T; x++)
            for (int64_t l = 0; l < DNNK_LANES; l++)
                out[(l * T + y) * T + x] = row[x][l];
    }
    free(M), free(R);
}
