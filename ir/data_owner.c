/* Who owns a tensor's bound data, so that a pass can rewrite weights in
 * place when nothing else reads them: a front end's graph owns its weights
 * (and may adopt the blocks it read them into), while a caller that lends
 * its own arrays to a graph (difftest, the conformance runner) keeps them
 * unchanged: writes to lent data go to a copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

void *graph_writable_data(Graph *g, int t)
{
    Tensor *x = &g->tensors[t];
    if (x->data_owned)
        return x->data;
    const void *lent = x->data;
    void *copy = graph_new_data(g, t);
    if (lent)
        memcpy(copy, lent, (size_t)shape_elems(&x->shape) * elem_kind_size(x->type.kind));
    return copy;
}

void graph_adopt(Graph *g, void *block)
{
    VEC_PUSH(&g->arena, g->adopted, g->n_adopted, g->cap_adopted, block);
}

typedef struct DataRef {
    uintptr_t data;
    int tensor;
} DataRef;

static int by_data(const void *a, const void *b)
{
    const DataRef *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

void graph_own_unshared_data(Graph *g)
{
    DataRef *refs = arena_array(&g->arena, (size_t)g->n_tensors + 1, sizeof *refs);
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].data)
            refs[n++] = (DataRef){(uintptr_t)g->tensors[t].data, t};
    qsort(refs, (size_t)n, sizeof *refs, by_data);
    for (int i = 0; i < n; i++) {
        bool shared = (i > 0 && refs[i - 1].data == refs[i].data) ||
                      (i + 1 < n && refs[i + 1].data == refs[i].data);
        g->tensors[refs[i].tensor].data_owned = !shared;
    }
}
