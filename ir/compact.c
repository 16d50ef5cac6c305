/* graph_compact: after a pass, drop removed nodes and orphaned tensors,
 * restore the topological order and renumber ids densely. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "uses.h"

enum { UNSEEN, ON_STACK, PLACED };

/* The live node that computes tensor t, or -1 (an input or a parameter). */
static int producer_of(const Graph *g, int t) { return g->tensors[t].producer; }

/* Depth-first from `start`: a node is placed once every operand's producer
 * is. Iterative, so that a chain of any length cannot overflow the stack. */
static bool place_from(const Graph *g, int start, int *state, int *stack, int *order, int *n_order,
                       char *err, size_t errsz)
{
    int top = 0;
    stack[top++] = start;
    state[start] = ON_STACK;
    while (top > 0) {
        const Node *n = &g->nodes[stack[top - 1]];
        int next = -1;
        for (int k = 0; k < n->n_inputs && next < 0; k++) {
            int p = producer_of(g, n->inputs[k]);
            if (p < 0 || state[p] == PLACED)
                continue;
            if (g->nodes[p].removed) {
                snprintf(err, errsz, "internal error: layer '%s' reads '%s', whose layer was removed",
                         n->name, g->tensors[n->inputs[k]].name);
                return false;
            }
            if (state[p] == ON_STACK) {
                snprintf(err, errsz, "internal error: layer '%s' depends on its own output", n->name);
                return false;
            }
            next = p;
        }
        if (next >= 0) {
            state[next] = ON_STACK;
            stack[top++] = next;
        } else {
            state[stack[top - 1]] = PLACED;
            order[(*n_order)++] = stack[--top];
        }
    }
    return true;
}

static bool topological_order(const Graph *g, int *order, int *n_order, char *err, size_t errsz)
{
    int *state = calloc((size_t)g->n_nodes + 1, sizeof *state);
    int *stack = calloc((size_t)g->n_nodes + 1, sizeof *stack);
    bool ok = state && stack;
    if (!ok)
        snprintf(err, errsz, "out of memory ordering %d layers", g->n_nodes);
    *n_order = 0;
    for (int i = 0; ok && i < g->n_nodes; i++)
        if (!g->nodes[i].removed && state[i] == UNSEEN)
            ok = place_from(g, i, state, stack, order, n_order, err, errsz);
    for (int i = 0; ok && i < g->n_outputs; i++) {
        int p = producer_of(g, g->outputs[i]);
        if (p >= 0 && g->nodes[p].removed) {
            snprintf(err, errsz, "internal error: output '%s' was removed",
                     g->tensors[g->outputs[i]].name);
            ok = false;
        }
    }
    free(state);
    free(stack);
    return ok;
}

/* Tensors that survive: inputs, and the outputs and parameters of live
 * nodes. new_id[t] is the tensor's id after compaction, or -1. */
static int number_tensors(const Graph *g, const int *order, int n_order, int *new_id)
{
    bool *keep = calloc((size_t)g->n_tensors + 1, sizeof *keep);
    if (!keep)
        return -1;
    for (int i = 0; i < g->n_inputs; i++)
        keep[g->inputs[i]] = true;
    for (int i = 0; i < n_order; i++) {
        const Node *n = &g->nodes[order[i]];
        keep[n->output] = true;
        for (int k = 0; k < n->n_params; k++)
            keep[n->params[k]] = true;
    }
    int count = 0;
    for (int t = 0; t < g->n_tensors; t++)
        new_id[t] = keep[t] ? count++ : -1;
    free(keep);
    return count;
}

static void renumber(Graph *g, const int *order, int n_order, const int *new_id, int n_tensors)
{
    int *node_id = arena_array(&g->arena, (size_t)g->n_nodes + 1, sizeof *node_id);
    for (int i = 0; i < n_order; i++)
        node_id[order[i]] = i;
    Tensor *tensors = arena_array(&g->arena, (size_t)n_tensors + 1, sizeof *tensors);
    for (int t = 0; t < g->n_tensors; t++)
        if (new_id[t] >= 0) {
            Tensor *x = &tensors[new_id[t]];
            *x = g->tensors[t];
            x->producer = x->producer >= 0 ? node_id[x->producer] : -1;
            x->users = NULL;
            x->n_users = 0;
            x->cap_users = 0;
        }
    Node *nodes = arena_array(&g->arena, (size_t)n_order + 1, sizeof *nodes);
    for (int i = 0; i < n_order; i++) {
        Node *n = &nodes[i];
        *n = g->nodes[order[i]];
        for (int k = 0; k < n->n_inputs; k++)
            n->inputs[k] = new_id[n->inputs[k]];
        for (int k = 0; k < n->n_params; k++)
            n->params[k] = new_id[n->params[k]];
        n->output = new_id[n->output];
    }
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = new_id[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = new_id[g->outputs[i]];
    g->tensors = tensors;
    g->n_tensors = n_tensors;
    g->cap_tensors = (size_t)n_tensors + 1;
    g->nodes = nodes;
    g->n_nodes = n_order;
    g->cap_nodes = (size_t)n_order + 1;
    memset(&g->names, 0, sizeof g->names);
    for (int t = 0; t < n_tensors; t++)
        nametab_put(&g->arena, &g->names, tensors[t].name, t);
    uses_rebuild(g);
}

bool graph_compact(Graph *g, char *err, size_t errsz)
{
    /* In the arena: renumber allocates there too, and a failure throws
     * (oom.h) past this function. */
    int *order = arena_array(&g->arena, (size_t)g->n_nodes + 1, sizeof *order);
    int *new_id = arena_array(&g->arena, (size_t)g->n_tensors + 1, sizeof *new_id);
    int n_order = 0, n_tensors = -1;
    if (!topological_order(g, order, &n_order, err, errsz))
        return false;
    if ((n_tensors = number_tensors(g, order, n_order, new_id)) < 0) {
        snprintf(err, errsz, "out of memory compacting the graph");
        return false;
    }
    renumber(g, order, n_order, new_id, n_tensors);
    return true;
}
