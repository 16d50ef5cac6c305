/* What the generated code calls for each layer: a kernel of the library,
 * its constant descriptor, the number of parallel units, and where each
 * pointer argument lives. One layer may need several calls (a concat copies
 * each operand); aliasing layers need none. */
#ifndef DNNC_CALLS_H
#define DNNC_CALLS_H

#include "dnnk.h"
#include "graph.h"
#include "plan.h"

#define CALL_MAX_PTRS 16

typedef struct KernelCall {
    const char *kernel;
    dnnk_desc desc;
    int64_t units;
    int64_t work; /* multiply-accumulates, or elements moved: decides serial or parallel */
    Location ptrs[CALL_MAX_PTRS];
    int n_ptrs;
    int node; /* for names and messages; -1 for the final copies */
} KernelCall;

typedef struct CallList {
    KernelCall *calls;
    int count;
    size_t cap;
} CallList;

/* Appends the calls of every layer, then copies for outputs that are inputs.
 * nr is the convolution pixel tile of the kernel library in use. */
bool calls_build(const Graph *g, const Plan *p, int nr, CallList *out, char *err, size_t errsz);
void calls_free(CallList *c);

#endif
