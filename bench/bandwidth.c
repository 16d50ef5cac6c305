/* This machine's read bandwidth from memory, for bench/run.sh and
 * docs/performance.md: the floor under a layer that streams its weights
 * once (a fully connected layer at batch 1 reads each weight once and does
 * one multiply-add with it). N threads each sum their own share of a
 * buffer far larger than the caches (1 GiB in all by default, each float
 * read once), with AVX2 loads into 8 independent sums so that the loads,
 * not the additions, set the pace. Prints the best of 5 passes in GB/s
 * (10^9 bytes a second).
 *
 *     cc -O2 -pthread bench/bandwidth.c -o /tmp/bandwidth
 *     /tmp/bandwidth [THREADS] [--mib N] [--json]
 *
 * x86-64 with AVX2 only, as bench/peak_check.c. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct Share {
    const float *data;
    size_t count; /* floats, a multiple of 64 */
    float sum;
} Share;

/* The sum of a share, 64 floats (8 vectors, 8 independent sums) a step. */
__attribute__((target("avx2"), noinline)) static float sum_share(const float *p, size_t count)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (size_t i = 0; i < count; i += 64) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
        s4 = _mm256_add_ps(s4, _mm256_load_ps(p + i + 32));
        s5 = _mm256_add_ps(s5, _mm256_load_ps(p + i + 40));
        s6 = _mm256_add_ps(s6, _mm256_load_ps(p + i + 48));
        s7 = _mm256_add_ps(s7, _mm256_load_ps(p + i + 56));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                             _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

static void *worker(void *arg)
{
    Share *s = arg;
    s->sum = sum_share(s->data, s->count);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: bandwidth [THREADS] [--mib N] [--json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int threads = 1, json = 0;
    long mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc) {
            mib = atol(argv[++i]);
            if (mib < 1 || mib > (1L << 20))
                return usage();
        } else if ((threads = atoi(argv[i])) < 1 || threads > 256)
            return usage();
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) {
        fprintf(stderr, "bandwidth: needs AVX2\n");
        return 1;
    }
    size_t per_thread = (size_t)mib * (1u << 20) / sizeof(float) / (size_t)threads / 64 * 64;
    if (per_thread == 0)
        return usage();
    float *data = aligned_alloc(64, per_thread * (size_t)threads * sizeof(float));
    if (!data) {
        fprintf(stderr, "bandwidth: cannot allocate %ld MiB\n", mib);
        return 1;
    }
    /* Every page written first, so that the passes read memory, not the
     * kernel's zero page. */
    for (size_t i = 0; i < per_thread * (size_t)threads; i++)
        data[i] = (float)(i & 1023) * 1e-3f;
    Share shares[256];
    pthread_t tid[256];
    double best = 1e300;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = now();
        for (int t = 0; t < threads; t++) {
            shares[t] = (Share){data + (size_t)t * per_thread, per_thread, 0};
            pthread_create(&tid[t], NULL, worker, &shares[t]);
        }
        for (int t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    double bytes = (double)per_thread * threads * sizeof(float), gbs = bytes / best / 1e9;
    volatile float sink = shares[0].sum;
    (void)sink;
    if (json)
        printf("{\"threads\": %d, \"read_gb_per_s\": %.3f, \"bytes\": %.0f}\n", threads, gbs, bytes);
    else
        printf("%d thread%s: %.1f GB/s read (%.0f MiB, best of 5)\n", threads, threads > 1 ? "s" : "", gbs,
               bytes / (1 << 20));
    free(data);
    return 0;
}
