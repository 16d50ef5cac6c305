#include "peak.h"

#include <stdint.h>

#include "dnnrt.h"
#include "progress.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CHAINS 12 /* more independent chains than FMA latency x units */
#define ITERATIONS (1 << 22)

typedef struct PeakTask {
    double (*loop)(void);
    volatile double sink;
} PeakTask;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static double loop_avx512(void)
{
    __m512 acc[CHAINS], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (int it = 0; it < ITERATIONS; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], m, c);
    float out[16];
    for (int i = 1; i < CHAINS; i++)
        acc[0] = _mm512_add_ps(acc[0], acc[i]);
    _mm512_storeu_ps(out, acc[0]);
    return out[0];
}

__attribute__((target("avx2,fma"))) static double loop_avx2(void)
{
    __m256 acc[CHAINS], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (int it = 0; it < ITERATIONS; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], m, c);
    float out[8];
    for (int i = 1; i < CHAINS; i++)
        acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(out, acc[0]);
    return out[0];
}
#endif

static double loop_scalar(void)
{
    float acc[CHAINS];
    for (int i = 0; i < CHAINS; i++)
        acc[i] = (float)i;
    for (int it = 0; it < ITERATIONS; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += acc[i];
    return s;
}

static void run_task(void *ctx, int64_t begin, int64_t end)
{
    PeakTask *t = ctx;
    for (int64_t i = begin; i < end; i++)
        t->sink += t->loop();
}

Peak measure_peak(int threads)
{
    Peak p = {0, threads, "scalar"};
    double (*loop)(void) = loop_scalar;
    int lanes = 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        loop = loop_avx512, lanes = 16, p.isa = "avx512f";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        loop = loop_avx2, lanes = 8, p.isa = "avx2+fma";
#endif
    dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
    PeakTask task = {loop, 0};
    run_task(&task, 0, 1); /* warm up clocks and caches */
    double best = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_seconds();
        dnnrt_parallel_for(pool, threads, run_task, &task);
        double dt = now_seconds() - t0;
        best = dt < best ? dt : best;
    }
    dnnrt_pool_destroy(pool);
    double flops = 2.0 * lanes * CHAINS * (double)ITERATIONS * threads;
    p.gflops = flops / best / 1e9;
    return p;
}
