/* Changing a graph in place: operands, uses, removal, renaming and the
 * re-checking of a node whose attributes a pass changed. Every function
 * keeps the use lists right; graph_compact (compact.c) tidies up after. */
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "uses.h"

/* "conv1.weight" -> "weight": parameter names are "<layer>.<suffix>" and
 * suffixes have no dots (layer names may). */
static const char *param_suffix(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

bool graph_is_output(const Graph *g, int t)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return true;
    return false;
}

int graph_sole_reader(const Graph *g, int t)
{
    const Tensor *x = &g->tensors[t];
    if (x->n_users == 0 || graph_is_output(g, t))
        return -1;
    for (int i = 1; i < x->n_users; i++)
        if (x->users[i] != x->users[0])
            return -1;
    return x->users[0];
}

/* Tensor t is read by another layer, or has become a network output: the
 * place plan-memory gave it (@offset) was chosen for a shorter life, so it
 * is dropped, and the pass places it again. */
static void forget_place(Graph *g, int t)
{
    int p = g->tensors[t].producer;
    if (p >= 0)
        g->nodes[p].ann.has_offset = false;
}

static bool reads(const Node *n, int t)
{
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] == t)
            return true;
    return false;
}

void graph_set_operand(Graph *g, int node, int slot, int t)
{
    Node *n = &g->nodes[node];
    if (!reads(n, t))
        forget_place(g, t);
    uses_drop(g, n->inputs[slot], node);
    n->inputs[slot] = t;
    uses_add(g, t, node);
}

void graph_set_operands(Graph *g, int node, const int *tensors, int count)
{
    Node *n = &g->nodes[node];
    for (int i = 0; i < count; i++)
        if (!reads(n, tensors[i]))
            forget_place(g, tensors[i]);
    for (int i = 0; i < n->n_inputs; i++)
        uses_drop(g, n->inputs[i], node);
    n->inputs = arena_array(&g->arena, (size_t)count, sizeof(int));
    n->n_inputs = count;
    for (int i = 0; i < count; i++) {
        n->inputs[i] = tensors[i];
        uses_add(g, tensors[i], node);
    }
}

void graph_replace_all_uses(Graph *g, int from, int to)
{
    if (from == to)
        return;
    /* Each step moves one use off the list it walks. */
    Tensor *x = &g->tensors[from];
    while (x->n_users > 0) {
        int node = x->users[0];
        Node *n = &g->nodes[node];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) {
                graph_set_operand(g, node, k, to);
                break;
            }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from) {
            g->outputs[i] = to;
            forget_place(g, to);
        }
}

static void free_name(Graph *g, int t)
{
    if (graph_find_tensor(g, g->tensors[t].name) == t)
        nametab_put(&g->arena, &g->names, g->tensors[t].name, -1);
}

void graph_remove_node(Graph *g, int node)
{
    Node *n = &g->nodes[node];
    if (n->removed)
        return;
    for (int i = 0; i < n->n_inputs; i++)
        uses_drop(g, n->inputs[i], node);
    n->n_inputs = 0;
    n->removed = true;
    free_name(g, n->output);
    for (int i = 0; i < n->n_params; i++)
        free_name(g, n->params[i]);
}

/* The name `name` is free once node's own names are released. */
static bool free_after_removal(const Graph *g, const Node *n, const char *name)
{
    int t = graph_find_tensor(g, name);
    if (t < 0 || t == n->output)
        return true;
    for (int i = 0; i < n->n_params; i++)
        if (t == n->params[i])
            return true;
    return false;
}

/* Whether layer p can take the name of node n once n is gone. */
static bool can_inherit_name(const Graph *g, const Node *n, const Node *p)
{
    if (!free_after_removal(g, n, n->name))
        return false;
    for (int i = 0; i < p->n_params; i++) {
        char name[600];
        snprintf(name, sizeof name, "%s.%s", n->name, param_suffix(g->tensors[p->params[i]].name));
        if (!free_after_removal(g, n, name))
            return false;
    }
    return true;
}

bool graph_can_forward(const Graph *g, int node, int to)
{
    const Node *n = &g->nodes[node];
    int p = g->tensors[to].producer;
    if (!graph_is_output(g, n->output))
        return true;
    return p >= 0 && !graph_is_output(g, to) && can_inherit_name(g, n, &g->nodes[p]);
}

bool graph_forward(Graph *g, int node, int to)
{
    if (!graph_can_forward(g, node, to))
        return false;
    const Node *n = &g->nodes[node];
    int out = n->output, p = g->tensors[to].producer;
    bool named = graph_is_output(g, out);
    const char *name = n->name;
    graph_remove_node(g, node);
    graph_replace_all_uses(g, out, to);
    if (named)
        graph_rename_node(g, p, name);
    return true;
}

static int find_param(const Graph *g, const Node *n, const char *suffix)
{
    for (int i = 0; i < n->n_params; i++)
        if (strcmp(param_suffix(g->tensors[n->params[i]].name), suffix) == 0)
            return n->params[i];
    return -1;
}

/* Re-runs node's shape rule; its output may take a new shape only when
 * `resize` says so (its type never changes). */
static bool update_node(Graph *g, int node, bool resize, char *err, size_t errsz)
{
    InferResult r;
    Node *n = &g->nodes[node];
    if (!infer_node(g, n, &r, err, errsz))
        return false;
    Tensor *out = &g->tensors[n->output];
    if ((!resize && !shape_equal(&r.out, &out->shape)) || !elem_type_equal(r.out_type, out->type)) {
        snprintf(err, errsz, "internal error: rewriting layer '%s' changed its output type", n->name);
        return false;
    }
    out->shape = r.out;
    int params[NODE_MAX_PARAMS];
    for (int i = 0; i < r.n_params; i++) {
        int p = find_param(g, n, r.params[i].suffix);
        if (p >= 0 && (!shape_equal(&g->tensors[p].shape, &r.params[i].shape) ||
                       !elem_type_equal(g->tensors[p].type, r.params[i].type))) {
            free_name(g, p);
            p = -1;
        }
        if (p < 0) {
            const char *name = arena_printf(&g->arena, "%s.%s", n->name, r.params[i].suffix);
            p = graph_add_tensor(g, name, TENSOR_PARAM, r.params[i].shape, r.params[i].type);
            if (p < 0) {
                snprintf(err, errsz, "the %s of layer '%s' would be named '%s', which is taken",
                         r.params[i].suffix, n->name, name);
                return false;
            }
            n = &g->nodes[node];
            g->tensors[p].loc = n->loc;
        }
        params[i] = p;
    }
    for (int i = 0; i < n->n_params; i++) {
        bool kept = false;
        for (int k = 0; k < r.n_params; k++)
            kept |= params[k] == n->params[i];
        if (!kept)
            free_name(g, n->params[i]);
    }
    memcpy(n->params, params, sizeof(int) * (size_t)r.n_params);
    n->n_params = r.n_params;
    return true;
}

bool graph_update_node(Graph *g, int node, char *err, size_t errsz)
{
    return update_node(g, node, false, err, errsz);
}

bool graph_resize_node(Graph *g, int node, char *err, size_t errsz)
{
    return update_node(g, node, true, err, errsz);
}

bool graph_rename_node(Graph *g, int node, const char *name)
{
    Node *n = &g->nodes[node];
    if (graph_find_tensor(g, name) >= 0)
        return false;
    const char *pnames[NODE_MAX_PARAMS];
    for (int i = 0; i < n->n_params; i++) {
        pnames[i] = arena_printf(&g->arena, "%s.%s", name,
                                 param_suffix(g->tensors[n->params[i]].name));
        if (graph_find_tensor(g, pnames[i]) >= 0)
            return false;
    }
    free_name(g, n->output);
    Tensor *out = &g->tensors[n->output];
    out->name = arena_strdup(&g->arena, name);
    nametab_put(&g->arena, &g->names, out->name, n->output);
    n->name = out->name;
    for (int i = 0; i < n->n_params; i++) {
        free_name(g, n->params[i]);
        g->tensors[n->params[i]].name = pnames[i];
        nametab_put(&g->arena, &g->names, pnames[i], n->params[i]);
    }
    return true;
}

void *graph_new_data(Graph *g, int t)
{
    Tensor *x = &g->tensors[t];
    int64_t count = shape_elems(&x->shape);
    x->data = arena_array(&g->arena, (size_t)(count ? count : 1), elem_kind_size(x->type.kind));
    x->data_owned = true;
    return x->data;
}
