/* Binding every layer to its kernel through the cpu registry
 * (codegen/kernels.def): the row for the layer's op, recorded algorithm
 * and element type in the kernel library in use, with the row's describe
 * function (behind one function type) and weight packing. */
#ifndef DNNC_BIND_H
#define DNNC_BIND_H

#include "calls.h"
#include "pack.h"
#include "registry.h"

/* Fills the row's descriptor into c->desc for call s->part of the layer;
 * returns the layer's number of calls, 0 if the kernel cannot take it. */
typedef int (*DescribeFn)(const CallSite *s, KernelCall *c);

typedef struct KernelBinding {
    const KernelRow *row;
    DescribeFn describe;
    PackFn pack; /* NULL: the weights are used as stored */
} KernelBinding;

/* The binding of each node of g (malloc'd, one per node) for the library
 * built for isa; NULL with a message naming the first layer the cpu target
 * has no kernel for. */
KernelBinding *bind_graph(const Graph *g, KernelIsa isa, char *err, size_t errsz);

#endif
