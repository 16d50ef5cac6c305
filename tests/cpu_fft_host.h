/* The cpu kernel library's FFT (codegen/kernels/fft_conv.c) compiled for
 * the host, for test_cpu_fft.c to compare with FFTW: the transforms of a
 * vector of windows, as the kernel runs them. Kept out of the test's own
 * translation unit, whose reference-executor headers share names with the
 * kernel library's helpers. */
#ifndef DNNC_CPU_FFT_HOST_H
#define DNNC_CPU_FFT_HOST_H

#include <stdint.h>

/* The windows one vector holds (the lanes of the host build: 8). */
int cpu_fft_host_lanes(void);

/* The forward transforms of lanes() real T x T windows (windows[l][y][x])
 * into spec[l][u][v][re, im], v <= T/2: the kernel's row and column
 * transforms. */
void cpu_fft_host_forward(int64_t T, const float *windows, float *spec);

/* The real parts of the inverse transforms of lanes() Hermitian spectra
 * laid out as above (spec[l][u][v][re, im]) into out[l][y][x]: the kernel's
 * column transforms, then its row transforms keeping every value. */
void cpu_fft_host_inverse(int64_t T, const float *spec, float *out);

#endif
