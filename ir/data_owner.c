/* Who owns a tensor's bound data, so that a pass can rewrite weights in
 * place when nothing else reads them: a front end's graph owns its weights
 * (and may adopt the blocks it read them into), while a caller that lends
 * its own arrays to a graph (difftest, the conformance runner) keeps them
 * unchanged: writes to lent data go to a copy. Data in a weight file
 * (weight_file.h) is the graph's too; releasing it only takes its pages
 * out of the process's memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "weight_file.h"

static size_t data_bytes(const Tensor *x) { return (size_t)shape_elems(&x->shape) * elem_kind_size(x->type.kind); }

/* The weight file p lies in, or NULL. */
static WeightFile *file_holding(const Graph *g, const void *p)
{
    for (size_t i = 0; p && i < g->n_weight_files; i++)
        if (weight_file_holds(g->weight_files[i], p))
            return g->weight_files[i];
    return NULL;
}

void *graph_writable_data(Graph *g, int t)
{
    Tensor *x = &g->tensors[t];
    WeightFile *f = x->data_owned ? file_holding(g, x->data) : NULL;
    if (f) /* rewritten in place, in the file */
        weight_file_prepare_write(f, x->data, data_bytes(x));
    if (x->data_owned)
        return x->data;
    const void *lent = x->data;
    void *copy = graph_new_data(g, t);
    if (lent)
        memcpy(copy, lent, data_bytes(x));
    return copy;
}

void graph_adopt(Graph *g, void *block)
{
    VEC_PUSH(&g->arena, g->adopted, g->n_adopted, g->cap_adopted, block);
}

void graph_adopt_weight_file(Graph *g, WeightFile *f)
{
    VEC_PUSH(&g->arena, g->weight_files, g->n_weight_files, g->cap_weight_files, f);
}

void graph_release_weights(const Graph *g)
{
    for (size_t i = 0; i < g->n_weight_files; i++)
        weight_file_release(g->weight_files[i], weight_file_bytes(g->weight_files[i]), SIZE_MAX);
}

void graph_release_range(const Graph *g, const void *p, size_t len)
{
    WeightFile *f = file_holding(g, p);
    if (f)
        weight_file_release(f, p, len);
}

void graph_release_data(const Graph *g, int t)
{
    graph_release_range(g, g->tensors[t].data, data_bytes(&g->tensors[t]));
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
