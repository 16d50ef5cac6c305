/* --autotune FILE: select-algo's measurements (passes/algo_choices.h),
 * made here by running each candidate algorithm of a conv shape through the
 * cpu target's JIT on this machine. */
#ifndef DNNC_AUTOTUNE_H
#define DNNC_AUTOTUNE_H

#include <stdbool.h>

#include "algo_choices.h"

/* What autotune_measure needs: the threads to time with. */
typedef struct AutotuneContext {
    int threads;
} AutotuneContext;

/* "x86_64+avx512f", "x86_64" or "aarch64": which kernel library the JIT
 * runs here, part of every measured shape's key. */
const char *autotune_machine(void);

/* An AlgoMeasureFn: one graph with a conv of n's shape per candidate,
 * random weights, JIT-compiled and run with per-call marks, each
 * candidate's weights evicted from the caches before its call (as a
 * network reads them); ms[i] is the least time of candidate i over the
 * timed runs of three such modules built apart (docs/fast-convolution.md,
 * "--autotune"). */
bool autotune_measure(void *ctx, const Graph *g, const Node *n, const AlgoChoice *c, int nc,
                      double *ms, Diag *d);

#endif
