/* libdnnrt: what an application that links a dnnc bundle may use.
 *  - a thread pool whose dnnrt_parallel_for plugs into a bundle's
 *    dnnc_parallel argument, so the application decides how many threads a
 *    model uses (and may share one pool between models);
 *  - loading a bundle's .weights file into suitably aligned memory.
 * Nothing here is required: a bundle runs single-threaded with a NULL
 * dnnc_parallel, and weights may come from anywhere. */
#ifndef DNNRT_H
#define DNNRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dnnrt_pool dnnrt_pool;

/* A pool that runs parallel loops on `threads` threads in total (the
 * calling thread included); NULL when threads < 1 or on failure. Worker
 * threads get stacks of at least 8 MiB (the convolution kernels keep their
 * pixel panels on the stack). */
dnnrt_pool *dnnrt_pool_create(int threads);
void dnnrt_pool_destroy(dnnrt_pool *pool);
int dnnrt_pool_threads(const dnnrt_pool *pool);

/* Runs task(ctx, begin, end) over [0, n) split into ranges on the pool's
 * threads and returns when all are done. `pool` is a dnnrt_pool *; the
 * signature is the one a bundle's dnnc_parallel expects. One parallel loop
 * at a time per pool. */
void dnnrt_parallel_for(void *pool, int64_t n, void (*task)(void *ctx, int64_t begin, int64_t end),
                        void *ctx);

/* Reads a .weights file of exactly `size` bytes into 64-byte aligned memory
 * (free it with free()); NULL on failure. */
void *dnnrt_load_weights(const char *path, size_t size);

/* Allocates `size` bytes aligned to 64, or from 4 MiB on to 2 MiB and on
 * transparent huge pages where the system gives them (free with free()). */
void *dnnrt_aligned_alloc(size_t size);

#ifdef __cplusplus
}
#endif

#endif
