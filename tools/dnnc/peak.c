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

/* Twelve named accumulators, one statement each: an array of them would
 * live in memory at -O2 and every multiply-add would wait for a store. */
#define STEP(F, a) a = F(a, m, c)
#define STEPS(F)                                                                          \
    STEP(F, a0), STEP(F, a1), STEP(F, a2), STEP(F, a3), STEP(F, a4), STEP(F, a5);         \
    STEP(F, a6), STEP(F, a7), STEP(F, a8), STEP(F, a9), STEP(F, a10), STEP(F, a11)
#define SUM(ADD) ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))), \
                     ADD(ADD(a8, a9), ADD(a10, a11)))

#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) static double loop_avx512(void)
{
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2),
           a3 = _mm512_set1_ps(3), a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
           a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7), a8 = _mm512_set1_ps(8),
           a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (int it = 0; it < ITERATIONS; it++) {
        STEPS(_mm512_fmadd_ps);
    }
    float out[16];
    _mm512_storeu_ps(out, SUM(_mm512_add_ps));
    return out[0];
}

__attribute__((target("avx2,fma"), noinline)) static double loop_avx2(void)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2),
           a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
           a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8),
           a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (int it = 0; it < ITERATIONS; it++) {
        STEPS(_mm256_fmadd_ps);
    }
    float out[8];
    _mm256_storeu_ps(out, SUM(_mm256_add_ps));
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
