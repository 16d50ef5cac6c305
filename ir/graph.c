#include "graph.h"
#include "weight_file.h"
#include "oom.h"
#include "uses.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Graph *graph_new(void)
{
    Graph *g = calloc(1, sizeof *g);
    if (!g) /* like the arena it owns (oom.h) */
        oom_throw(sizeof *g);
    arena_init(&g->arena);
    return g;
}

void graph_free(Graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_adopted; i++)
        free(g->adopted[i]);
    for (size_t i = 0; i < g->n_weight_files; i++)
        weight_file_free(g->weight_files[i]);
    arena_free(&g->arena);
    free(g);
}

int graph_find_tensor(const Graph *g, const char *name) { return nametab_get(&g->names, name); }

int graph_add_tensor(Graph *g, const char *name, TensorKind kind, Shape shape, ElemType type)
{
    if (graph_find_tensor(g, name) >= 0)
        return -1;
    Tensor t = {0};
    t.name = arena_strdup(&g->arena, name);
    t.kind = kind;
    t.shape = shape;
    t.type = type;
    t.producer = -1;
    t.loc = SRCLOC_NONE;
    int id = g->n_tensors;
    VEC_PUSH(&g->arena, g->tensors, g->n_tensors, g->cap_tensors, t);
    nametab_put(&g->arena, &g->names, t.name, id);
    return id;
}

int graph_add_node(Graph *g, OpKind op, const char *name, const Attrs *attr,
                   const int *inputs, int n_inputs, SrcLoc loc, char *err, size_t errsz)
{
    Node n = {0};
    n.op = op;
    n.attr = *attr;
    n.inputs = (int *)inputs;
    n.n_inputs = n_inputs;
    n.loc = loc;
    n.name = name;
    InferResult r;
    if (!infer_node(g, &n, &r, err, errsz))
        return -1;
    if (graph_find_tensor(g, name) >= 0) {
        snprintf(err, errsz, "'%s' is already defined", name);
        return -1;
    }
    const char *pnames[NODE_MAX_PARAMS];
    for (int i = 0; i < r.n_params; i++) {
        const char *pname = pnames[i] = arena_printf(&g->arena, "%s.%s", name, r.params[i].suffix);
        if (graph_find_tensor(g, pname) >= 0) {
            snprintf(err, errsz, "the %s of layer '%s' would be named '%s', which is already defined",
                     r.params[i].suffix, name, pname);
            return -1;
        }
    }
    int id = g->n_nodes;
    n.inputs = arena_array(&g->arena, (size_t)n_inputs, sizeof(int));
    if (n_inputs) /* constant layers have no operands (and inputs may be NULL) */
        memcpy(n.inputs, inputs, sizeof(int) * (size_t)n_inputs);
    n.output = graph_add_tensor(g, name, TENSOR_ACTIVATION, r.out, r.out_type);
    g->tensors[n.output].producer = id;
    g->tensors[n.output].loc = loc;
    n.name = g->tensors[n.output].name;
    for (int i = 0; i < n_inputs; i++)
        uses_add(g, n.inputs[i], id);
    for (int i = 0; i < r.n_params; i++) {
        int p = graph_add_tensor(g, pnames[i], TENSOR_PARAM, r.params[i].shape, r.params[i].type);
        g->tensors[p].loc = loc;
        n.params[n.n_params++] = p;
    }
    VEC_PUSH(&g->arena, g->nodes, g->n_nodes, g->cap_nodes, n);
    return id;
}

void graph_add_output(Graph *g, int tensor)
{
    VEC_PUSH(&g->arena, g->outputs, g->n_outputs, g->cap_outputs, tensor);
}

void tensor_type_format(const Tensor *t, char *buf, size_t size)
{
    char et[32], sh[256];
    elem_type_format(t->type, et, sizeof et);
    shape_format(&t->shape, sh, sizeof sh);
    snprintf(buf, size, "%s%s", et, sh);
}

int graph_add_input(Graph *g, const char *name, Shape shape, ElemType type, SrcLoc loc)
{
    int id = graph_add_tensor(g, name, TENSOR_INPUT, shape, type);
    if (id < 0)
        return -1;
    g->tensors[id].loc = loc;
    VEC_PUSH(&g->arena, g->inputs, g->n_inputs, g->cap_inputs, id);
    return id;
}
