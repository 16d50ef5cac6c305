#include "uses.h"

void uses_add(Graph *g, int t, int node)
{
    Tensor *x = &g->tensors[t];
    VEC_PUSH(&g->arena, x->users, x->n_users, x->cap_users, node);
}

void uses_drop(Graph *g, int t, int node)
{
    Tensor *x = &g->tensors[t];
    for (int i = 0; i < x->n_users; i++)
        if (x->users[i] == node) {
            x->users[i] = x->users[--x->n_users];
            return;
        }
}

void uses_rebuild(Graph *g)
{
    for (int t = 0; t < g->n_tensors; t++)
        g->tensors[t].n_users = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            uses_add(g, g->nodes[i].inputs[k], i);
}
