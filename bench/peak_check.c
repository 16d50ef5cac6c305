/* A second opinion on this machine's float32 peak, for bench/run.sh and
 * docs/performance.md: N threads each run 12 independent chains of fused
 * multiply-adds on the widest vectors the CPU has (AVX-512, else AVX2+FMA),
 * written out one statement per chain so that the accumulators stay in
 * registers (at -O1 and above; bench/run.sh builds it with -O2). Prints
 * the best of 5 repetitions.
 *
 *     cc -O2 -pthread bench/peak_check.c -o /tmp/peak_check
 *     /tmp/peak_check [THREADS] [--json]
 *
 * (dnnc bench --peak ran the same computation before commit 83d2908, but as a loop over an array
 * of accumulators that gcc -O2 does not unroll: every multiply-add then
 * goes through memory and the figure comes out about half of this one;
 * see docs/performance.md.) x86-64 only. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ITERATIONS (1L << 24)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS 12
#define STEP(F, a) a = F(a, m, c)
#define STEPS(F)                                                                              \
    STEP(F, a0), STEP(F, a1), STEP(F, a2), STEP(F, a3), STEP(F, a4), STEP(F, a5);             \
    STEP(F, a6), STEP(F, a7), STEP(F, a8), STEP(F, a9), STEP(F, a10), STEP(F, a11)

__attribute__((target("avx512f"), noinline)) static float chains_avx512(void)
{
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2),
           a3 = _mm512_set1_ps(3), a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
           a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7), a8 = _mm512_set1_ps(8),
           a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long i = 0; i < ITERATIONS; i++) {
        STEPS(_mm512_fmadd_ps);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma"), noinline)) static float chains_avx2(void)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2),
           a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
           a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8),
           a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long i = 0; i < ITERATIONS; i++) {
        STEPS(_mm256_fmadd_ps);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

static float (*chains)(void);
static volatile float sink;

static void *worker(void *arg)
{
    (void)arg;
    sink = chains();
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if ((threads = atoi(argv[i])) < 1 || threads > 256) {
            fprintf(stderr, "usage: peak_check [THREADS] [--json]\n");
            return 2;
        }
    }
    __builtin_cpu_init();
    int lanes;
    const char *isa;
    if (__builtin_cpu_supports("avx512f"))
        chains = chains_avx512, lanes = 16, isa = "avx512f";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        chains = chains_avx2, lanes = 8, isa = "avx2+fma";
    else {
        fprintf(stderr, "peak_check: needs AVX2 and FMA\n");
        return 1;
    }
    sink = chains(); /* warm up clocks */
    double best = 1e300;
    pthread_t tid[256];
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int t = 0; t < threads; t++)
            pthread_create(&tid[t], NULL, worker, NULL);
        for (int t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    double gflops = 2.0 * lanes * CHAINS * (double)ITERATIONS * threads / best / 1e9;
    if (json)
        printf("{\"threads\": %d, \"peak_gflops\": %.3f, \"isa\": \"%s\"}\n", threads, gflops, isa);
    else
        printf("peak_check: %.1f GFLOPS float32 on %d thread%s (%s fused multiply-adds)\n", gflops,
               threads, threads == 1 ? "" : "s", isa);
    return 0;
}
