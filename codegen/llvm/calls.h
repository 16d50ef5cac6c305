/* What the generated code calls for each layer: a kernel of the library,
 * its constant descriptor, the number of parallel units, and where each
 * pointer argument lives. One layer may need several calls (a concat copies
 * each operand); aliasing layers need none. Which kernel and descriptor a
 * layer gets is its registry row's (bind.h). */
#ifndef DNNC_CALLS_H
#define DNNC_CALLS_H

#include "dnnk.h"
#include "graph.h"
#include "plan.h"

#define CALL_MAX_PTRS 16
/* Bytes of the largest descriptor struct (dnnk_binary_desc) and then some;
 * bind.c checks that every row's fits. */
#define CALL_DESC_MAX 1024

typedef struct KernelCall {
    const char *kernel;
    const char *check; /* its row's check of the packed weights, or NULL */
    _Alignas(8) unsigned char desc[CALL_DESC_MAX]; /* the kernel's descriptor struct */
    size_t desc_size;
    int64_t units;
    int64_t work; /* multiply-accumulates, or elements moved: decides serial or parallel */
    Location ptrs[CALL_MAX_PTRS];
    int n_ptrs;   /* may count past CALL_MAX_PTRS: then the call is rejected */
    int node;     /* for names and messages; -1 for the final copies */
} KernelCall;

/* What a row's describe function knows about the call it fills. */
typedef struct CallSite {
    const Graph *g;
    const Node *n;
    const Location *loc; /* where every tensor lives (the plan) */
    int part;            /* which of the layer's calls */
    int nr;              /* the convolution pixel tile of the kernel library in use */
} CallSite;

typedef struct CallList {
    KernelCall *calls;
    int count;
    size_t cap;
} CallList;

struct KernelBinding;

/* Appends the calls of every layer, each through its binding (bind[node]),
 * then copies for outputs that are inputs. */
bool calls_build(const Graph *g, const Plan *p, const struct KernelBinding *bind, int nr, CallList *out,
                 char *err, size_t errsz);
void calls_free(CallList *c);

#endif
