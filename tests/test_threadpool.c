/* libdnnrt's thread pool (runtime/threadpool.c): dnnrt_parallel_for runs
 * every unit of a loop exactly once, on any number of threads, and hands
 * out ranges that never cross a thread's share (units n*i/T to
 * n*(i+1)/T), which is what keeps a thread on the same part of every layer
 * from one layer to the next (docs/bundle.md). Also loops too large for
 * n * i to fit in 64 bits, loops of fewer units than threads, and a pool
 * reused for many loops. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "dnnrt.h"
#include "test_util.h"

/* Counts how often each unit ran and checks each range against the shares. */
typedef struct Loop {
    int64_t n;
    int threads;
    atomic_int *runs; /* per unit, for loops small enough to count */
    atomic_int_fast64_t covered, ranges, crossings;
} Loop;

/* The share a unit is in: the i with n*i/T <= u < n*(i+1)/T, found by
 * testing each (the pool's own formula is not reused, so that a wrong one
 * there fails here). */
static int share_of(const Loop *l, int64_t u)
{
    __int128 n = l->n;
    for (int i = 0; i < l->threads; i++)
        if (u < (int64_t)(n * (i + 1) / l->threads))
            return i;
    return -1;
}

static void count_range(void *ctx, int64_t begin, int64_t end)
{
    Loop *l = ctx;
    atomic_fetch_add(&l->covered, end - begin);
    atomic_fetch_add(&l->ranges, 1);
    if (begin >= end || begin < 0 || end > l->n || share_of(l, begin) != share_of(l, end - 1))
        atomic_fetch_add(&l->crossings, 1);
    if (l->runs)
        for (int64_t u = begin; u < end; u++)
            atomic_fetch_add(&l->runs[u], 1);
}

static void check_loop(dnnrt_pool *pool, int threads, int64_t n, bool count_units)
{
    Loop l = {.n = n, .threads = threads};
    if (count_units)
        l.runs = calloc((size_t)(n > 0 ? n : 1), sizeof *l.runs);
    dnnrt_parallel_for(pool, n, count_range, &l);
    if (l.runs) {
        for (int64_t u = 0; u < n; u++)
            if (atomic_load(&l.runs[u]) != 1)
                fail_msg("%d threads, %lld units: unit %lld ran %d times", threads, (long long)n, (long long)u,
                         atomic_load(&l.runs[u]));
    }
    assert_int_equal(atomic_load(&l.covered), n > 0 ? n : 0);
    if (atomic_load(&l.crossings) != 0)
        fail_msg("%d threads, %lld units: %lld ranges outside [0, n) or across two threads' shares", threads,
                 (long long)n, (long long)atomic_load(&l.crossings));
    free(l.runs);
}

static void test_every_unit_once(void **state)
{
    (void)state;
    static const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 8, 12, 100, 1001, 4097};
    for (int threads = 1; threads <= 5; threads++) {
        dnnrt_pool *pool = dnnrt_pool_create(threads);
        assert_non_null(pool);
        assert_int_equal(dnnrt_pool_threads(pool), threads);
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            check_loop(pool, threads, sizes[i], true);
        dnnrt_pool_destroy(pool);
    }
}

/* n * i overflows 64 bits for these n; the shares and ranges must not. */
static void test_huge_loops(void **state)
{
    (void)state;
    for (int threads = 2; threads <= 3; threads++) {
        dnnrt_pool *pool = dnnrt_pool_create(threads);
        check_loop(pool, threads, INT64_MAX / 2, false);
        check_loop(pool, threads, INT64_MAX - 7, false);
        dnnrt_pool_destroy(pool);
    }
}

/* One pool, many loops back to back (the way a network runs its layers),
 * of sizes that change every time. */
static void test_loops_back_to_back(void **state)
{
    (void)state;
    dnnrt_pool *pool = dnnrt_pool_create(2);
    for (int64_t k = 0; k < 3000; k++)
        check_loop(pool, 2, k % 37, true);
    dnnrt_pool_destroy(pool);
}

/* Without a pool, or with one thread, the caller runs the whole loop as
 * one range. */
static void test_serial(void **state)
{
    (void)state;
    Loop l = {.n = 10, .threads = 1};
    dnnrt_parallel_for(NULL, 10, count_range, &l);
    assert_int_equal(atomic_load(&l.ranges), 1);
    assert_int_equal(atomic_load(&l.covered), 10);
    assert_null(dnnrt_pool_create(0));
    assert_int_equal(dnnrt_pool_threads(NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_unit_once),
        cmocka_unit_test(test_huge_loops),
        cmocka_unit_test(test_loops_back_to_back),
        cmocka_unit_test(test_serial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
