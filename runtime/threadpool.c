/* A small thread pool for the parallel loops of generated code: workers
 * wait for a job, take ranges of it from a shared counter (so uneven work
 * balances itself), and the caller works too until the job is done.
 *
 * Between jobs a worker spins for SPIN_NS before it sleeps, and so does the
 * caller waiting for the last worker: a network runs one job per layer,
 * back to back, and waking a sleeping thread costs tens of microseconds on
 * a virtual machine, a tenth of a small layer (as OpenMP runtimes and ONNX
 * Runtime's pool spin before blocking). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "dnnrt.h"

#define STACK_BYTES ((size_t)8 << 20)
/* How long a thread spins for the next event before it sleeps. */
#define SPIN_NS 200000

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spin of at most SPIN_NS: spin_on relaxes once and says whether to go
 * on (the clock is read every 64 turns). */
typedef struct Spin {
    int64_t end;
    int turns;
} Spin;

static Spin spin_start(void) { return (Spin){now_ns() + SPIN_NS, 0}; }

static bool spin_on(Spin *s)
{
    cpu_relax();
    return ++s->turns % 64 != 0 || now_ns() < s->end;
}

struct dnnrt_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t job_ready, job_done;
    /* The current job, published under lock with a new generation. */
    void (*task)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
    int64_t n, grain;
    atomic_int_fast64_t next;
    atomic_uint busy;       /* workers still inside the current job (changed under lock) */
    atomic_uint generation; /* changed under lock; read without it only to spin */
    int stopping;
};

/* Takes ranges of the job until none are left. */
static void work(dnnrt_pool *p, void (*task)(void *, int64_t, int64_t), void *ctx, int64_t n,
                 int64_t grain)
{
    for (;;) {
        int64_t begin = atomic_fetch_add(&p->next, grain);
        if (begin >= n)
            return;
        int64_t end = begin + grain < n ? begin + grain : n;
        task(ctx, begin, end);
    }
}

static void *worker_main(void *arg)
{
    dnnrt_pool *p = arg;
    unsigned seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->generation == seen && !p->stopping) {
            pthread_mutex_unlock(&p->lock);
            Spin spin = spin_start();
            while (atomic_load(&p->generation) == seen && spin_on(&spin))
                continue;
            pthread_mutex_lock(&p->lock);
        }
        while (p->generation == seen && !p->stopping)
            pthread_cond_wait(&p->job_ready, &p->lock);
        if (p->stopping)
            break;
        seen = p->generation;
        void (*task)(void *, int64_t, int64_t) = p->task;
        void *ctx = p->ctx;
        int64_t n = p->n, grain = p->grain;
        pthread_mutex_unlock(&p->lock);
        work(p, task, ctx, n, grain);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_signal(&p->job_done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

dnnrt_pool *dnnrt_pool_create(int threads)
{
    if (threads < 1)
        return NULL;
    dnnrt_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->job_ready, NULL);
    pthread_cond_init(&p->job_done, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    int started = 0;
    for (int i = 0; p->workers && i < threads - 1; i++, started++)
        if (pthread_create(&p->workers[i], &attr, worker_main, p) != 0)
            break;
    pthread_attr_destroy(&attr);
    p->threads = started + 1;
    if (!p->workers) {
        free(p);
        return NULL;
    }
    return p;
}

void dnnrt_pool_destroy(dnnrt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->job_ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->threads - 1; i++)
        pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->job_ready);
    pthread_cond_destroy(&p->job_done);
    free(p->workers);
    free(p);
}

int dnnrt_pool_threads(const dnnrt_pool *p) { return p ? p->threads : 1; }

void dnnrt_parallel_for(void *pool, int64_t n, void (*task)(void *ctx, int64_t begin, int64_t end),
                        void *ctx)
{
    dnnrt_pool *p = pool;
    if (n <= 0)
        return;
    if (!p || p->threads == 1 || n == 1) {
        task(ctx, 0, n);
        return;
    }
    /* About four ranges per thread: enough to balance, few enough to be cheap. */
    int64_t grain = n / (4 * (int64_t)p->threads);
    grain = grain < 1 ? 1 : grain;
    pthread_mutex_lock(&p->lock);
    p->task = task, p->ctx = ctx, p->n = n, p->grain = grain;
    atomic_store(&p->next, 0);
    p->busy = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->job_ready);
    pthread_mutex_unlock(&p->lock);
    work(p, task, ctx, n, grain);
    Spin spin = spin_start();
    while (atomic_load(&p->busy) > 0 && spin_on(&spin))
        continue;
    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->job_done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void *dnnrt_aligned_alloc(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 1) != 0)
        return NULL;
    return p;
}
