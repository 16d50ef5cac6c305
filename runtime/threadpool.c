/* A small thread pool for the parallel loops of generated code. A loop of
 * n units is cut into one contiguous share per thread (thread i: units
 * n*i/T to n*(i+1)/T, the caller being thread 0); each thread takes ranges
 * of its own share from the share's counter, then ranges of the others'
 * shares from theirs, so uneven work still balances itself.
 *
 * Why shares: every layer's units are numbered in the same spatial order
 * (rows of the output, or tiles of pixels, slowest), so a thread that keeps
 * the same share from layer to layer mostly reads what it wrote itself, from
 * its own caches. With one shared counter the ranges went to whichever
 * thread came first, and about half of each layer's input had been written
 * by the other core: a chain of 1x1 convs on 56x56 maps ran in 2.2 ms on two
 * threads with one counter and 1.8 ms with shares (3.0-3.5 ms on one).
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

/* One thread's share of the current job: the next unit to take and the
 * share's end; a cache line each, so that threads taking ranges of their own
 * shares do not contend. */
typedef struct Share {
    _Alignas(64) atomic_int_fast64_t next;
    int64_t end;
} Share;

/* What a worker thread needs to know: its pool and its share's index. */
typedef struct Worker {
    struct dnnrt_pool *pool;
    int index;
} Worker;

struct dnnrt_pool {
    int threads;
    pthread_t *workers;
    Worker *worker_args;
    Share *shares; /* one per thread, threads of them */
    pthread_mutex_t lock;
    pthread_cond_t job_ready, job_done;
    /* The current job, published under lock with a new generation. */
    void (*task)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
    int64_t grain;
    atomic_uint busy;       /* workers still inside the current job (changed under lock) */
    atomic_uint generation; /* changed under lock; read without it only to spin */
    int stopping;
};

/* Takes the next range of share s, of at most grain units, into [*begin,
 * *end); false when the share is done. A compare-and-swap rather than a
 * fetch-and-add, so that the counter never passes the share's end (and
 * never overflows, however large the loop). */
static bool take_range(Share *s, int64_t grain, int64_t *begin, int64_t *end)
{
    int64_t b = atomic_load(&s->next);
    do {
        if (b >= s->end)
            return false;
        *end = s->end - b > grain ? b + grain : s->end;
    } while (!atomic_compare_exchange_weak(&s->next, &b, *end));
    *begin = b;
    return true;
}

/* Takes ranges of share s until none are left. */
static void work_share(Share *s, void (*task)(void *, int64_t, int64_t), void *ctx, int64_t grain)
{
    int64_t begin, end;
    while (take_range(s, grain, &begin, &end))
        task(ctx, begin, end);
}

/* The first unit of thread i's share of n units among `threads`: n * i /
 * threads without the product (which could overflow). */
static int64_t share_start(int64_t n, int64_t i, int64_t threads)
{
    return n / threads * i + n % threads * i / threads;
}

/* Thread `self` works through its own share, then helps with the others'. */
static void work(dnnrt_pool *p, int self, void (*task)(void *, int64_t, int64_t), void *ctx, int64_t grain)
{
    for (int k = 0; k < p->threads; k++)
        work_share(&p->shares[(self + k) % p->threads], task, ctx, grain);
}

static void *worker_main(void *arg)
{
    const Worker *me = arg;
    dnnrt_pool *p = me->pool;
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
        int64_t grain = p->grain;
        pthread_mutex_unlock(&p->lock);
        work(p, me->index, task, ctx, grain);
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
    p->worker_args = calloc((size_t)threads, sizeof *p->worker_args);
    p->shares = aligned_alloc(_Alignof(Share), (size_t)threads * sizeof *p->shares);
    if (!p->workers || !p->worker_args || !p->shares) {
        free(p->workers), free(p->worker_args), free(p->shares), free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->job_ready, NULL);
    pthread_cond_init(&p->job_done, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_BYTES);
    int started = 0;
    for (int i = 0; i < threads - 1; i++, started++) {
        p->worker_args[i] = (Worker){p, i + 1};
        if (pthread_create(&p->workers[i], &attr, worker_main, &p->worker_args[i]) != 0)
            break;
    }
    pthread_attr_destroy(&attr);
    p->threads = started + 1;
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
    free(p->worker_args);
    free(p->shares);
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
    /* About four ranges per share: enough to balance, few enough to be cheap. */
    int64_t threads = p->threads, grain = n / (4 * threads);
    grain = grain < 1 ? 1 : grain;
    pthread_mutex_lock(&p->lock);
    p->task = task, p->ctx = ctx, p->grain = grain;
    for (int64_t i = 0; i < threads; i++) {
        atomic_store(&p->shares[i].next, share_start(n, i, threads));
        p->shares[i].end = share_start(n, i + 1, threads);
    }
    p->busy = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->job_ready);
    pthread_mutex_unlock(&p->lock);
    work(p, 0, task, ctx, grain);
    Spin spin = spin_start();
    while (atomic_load(&p->busy) > 0 && spin_on(&spin))
        continue;
    pthread_mutex_lock(&p->lock);
    while (p->busy > 0)
        pthread_cond_wait(&p->job_done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
