/* graph_clone: an independent deep copy, so that one loaded model can be
 * compiled at several -O levels and compared with itself. */
#include <string.h>

#include "graph.h"
#include "oom.h"
#include "uses.h"

static void *duplicate(Arena *a, const void *src, size_t count, size_t size)
{
    if (!src)
        return NULL;
    void *dst = arena_array(a, count ? count : 1, size);
    memcpy(dst, src, count * size);
    return dst;
}

static QuantParams *copy_quant(Arena *a, const QuantParams *q)
{
    if (!q)
        return NULL;
    QuantParams *c = arena_alloc(a, sizeof *c);
    *c = *q;
    size_t n = (size_t)q->count;
    c->scale = duplicate(a, q->scale, n, sizeof *q->scale);
    c->zero_point = duplicate(a, q->zero_point, n, sizeof *q->zero_point);
    c->frac_bits = duplicate(a, q->frac_bits, n, sizeof *q->frac_bits);
    c->codebook = duplicate(a, q->codebook, (size_t)q->codebook_size, sizeof *q->codebook);
    return c;
}

static SparseData *copy_sparse(Arena *a, const SparseData *s)
{
    if (!s)
        return NULL;
    SparseData *c = arena_alloc(a, sizeof *c);
    *c = *s;
    size_t ptrs = (size_t)(s->format == SPARSE_CSC ? s->cols : s->rows) + 1;
    c->ptr = duplicate(a, s->ptr, ptrs, sizeof *s->ptr);
    c->index = duplicate(a, s->index, (size_t)s->nnz, sizeof *s->index);
    c->values = duplicate(a, s->values, (size_t)s->nnz, sizeof *s->values);
    c->runs = duplicate(a, s->runs, (size_t)s->nnz, sizeof *s->runs);
    return c;
}

static void copy_tensor(Graph *c, const Tensor *t, Tensor *out)
{
    *out = *t;
    out->name = arena_strdup(&c->arena, t->name);
    out->quant = copy_quant(&c->arena, t->quant);
    out->sparse = copy_sparse(&c->arena, t->sparse);
    out->data = duplicate(&c->arena, t->data, (size_t)shape_elems(&t->shape),
                           elem_kind_size(t->type.kind));
    out->data_owned = out->data != NULL;
    out->users = NULL;
    out->n_users = 0;
    out->cap_users = 0;
}

static void copy_graph(Graph *c, const Graph *g)
{
    c->tensors = arena_array(&c->arena, (size_t)g->n_tensors + 1, sizeof *c->tensors);
    c->n_tensors = g->n_tensors;
    c->cap_tensors = (size_t)g->n_tensors + 1;
    for (int t = 0; t < g->n_tensors; t++) {
        copy_tensor(c, &g->tensors[t], &c->tensors[t]);
        if (graph_find_tensor(g, g->tensors[t].name) == t)
            nametab_put(&c->arena, &c->names, c->tensors[t].name, t);
    }
    c->nodes = duplicate(&c->arena, g->nodes, (size_t)g->n_nodes, sizeof *g->nodes);
    c->n_nodes = g->n_nodes;
    c->cap_nodes = (size_t)g->n_nodes;
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &c->nodes[i];
        n->inputs = duplicate(&c->arena, n->inputs, (size_t)n->n_inputs, sizeof(int));
        n->name = c->tensors[n->output].name;
    }
    c->inputs = duplicate(&c->arena, g->inputs, (size_t)g->n_inputs, sizeof(int));
    c->n_inputs = g->n_inputs;
    c->cap_inputs = (size_t)g->n_inputs;
    c->outputs = duplicate(&c->arena, g->outputs, (size_t)g->n_outputs, sizeof(int));
    c->n_outputs = g->n_outputs;
    c->cap_outputs = (size_t)g->n_outputs;
    uses_rebuild(c);
}

Graph *graph_clone(const Graph *g)
{
    Graph *volatile c = NULL;
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        graph_free(c);
        return NULL;
    }
    c = graph_new();
    copy_graph(c, g);
    oom_pop(&oom);
    return c;
}
