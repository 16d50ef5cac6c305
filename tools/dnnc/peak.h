/* This machine's peak float32 rate, measured: every thread runs chains of
 * independent fused multiply-adds on the widest vectors the CPU has. */
#ifndef DNNC_PEAK_H
#define DNNC_PEAK_H

typedef struct Peak {
    double gflops;
    int threads;
    const char *isa; /* "avx512f", "avx2+fma", "sse" or "scalar" */
} Peak;

Peak measure_peak(int threads);

#endif
