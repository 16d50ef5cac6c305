/* Layers -> kernel calls, each through the layer's registry binding
 * (bind.h), plus the copies of graph outputs that have no layer of their
 * own to write them. */
#include "calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "describe.h"

static bool push(CallList *l, const KernelCall *c)
{
    if ((size_t)l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        KernelCall *grown = realloc(l->calls, cap * sizeof *grown);
        if (!grown)
            return false;
        l->calls = grown;
        l->cap = cap;
    }
    l->calls[l->count++] = *c;
    return true;
}

/* Counts every pointer, stores those that fit. */
static void add_ptr(KernelCall *c, Location at)
{
    if (c->n_ptrs < CALL_MAX_PTRS)
        c->ptrs[c->n_ptrs] = at;
    c->n_ptrs++;
}

/* A call of the layer's kernel with its output, operands and weights as
 * pointers; its work is the layer's multiply-accumulates, or the elements
 * it writes. */
static void start_call(const CallSite *s, const KernelBinding *b, int idx, KernelCall *c)
{
    const Node *n = s->n;
    memset(c, 0, sizeof *c);
    c->kernel = b->row->kernel;
    c->check = b->row->check;
    c->node = idx;
    int64_t macs = node_macs(s->g, n);
    c->work = macs ? macs : shape_elems(&s->g->tensors[n->output].shape);
    add_ptr(c, s->loc[n->output]);
    for (int i = 0; i < n->n_inputs; i++)
        add_ptr(c, s->loc[n->inputs[i]]);
    for (int i = 0; i < n->n_params; i++)
        add_ptr(c, s->loc[n->params[i]]);
}

static bool layer_calls(const Graph *g, const Plan *p, const KernelBinding *b, int idx, int nr, CallList *out,
                        char *err, size_t errsz)
{
    CallSite s = {.g = g, .n = &g->nodes[idx], .loc = p->loc, .nr = nr};
    int calls = 1;
    for (s.part = 0; s.part < calls; s.part++) {
        KernelCall c;
        start_call(&s, b, idx, &c);
        calls = b->describe(&s, &c);
        if (calls == 0 || c.n_ptrs > CALL_MAX_PTRS) {
            snprintf(err, errsz, "layer '%s': the cpu target takes at most %d operands", s.n->name,
                     DNNK_MAX_IN);
            return false;
        }
        if (!push(out, &c)) {
            snprintf(err, errsz, "out of memory");
            return false;
        }
    }
    return true;
}

/* Graph outputs that are graph inputs (or share an input's storage) are
 * copied at the end. */
static bool output_copies(const Graph *g, const Plan *p, CallList *out)
{
    for (int i = 0; i < g->n_outputs; i++) {
        if (p->loc[g->outputs[i]].kind == LOC_OUTPUT && p->loc[g->outputs[i]].index == i)
            continue;
        dnnk_plain_desc d = {.out = describe_tensor(&g->tensors[g->outputs[i]])};
        KernelCall c;
        memset(&c, 0, sizeof c);
        c.kernel = "dnnk_copy";
        memcpy(c.desc, &d, sizeof d);
        c.desc_size = sizeof d;
        c.node = -1;
        c.units = dnnk_chunks(&d.out);
        c.work = dnnk_count(&d.out);
        c.ptrs[0] = (Location){LOC_OUTPUT, 0, i};
        c.ptrs[1] = p->loc[g->outputs[i]];
        c.n_ptrs = 2;
        if (!push(out, &c))
            return false;
    }
    return true;
}

bool calls_build(const Graph *g, const Plan *p, const KernelBinding *bind, int nr, CallList *out, char *err,
                 size_t errsz)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < g->n_nodes; i++)
        if (!p->aliases[i] && !layer_calls(g, p, &bind[i], i, nr, out, err, errsz)) {
            calls_free(out);
            return false;
        }
    if (output_copies(g, p, out))
        return true;
    snprintf(err, errsz, "out of memory");
    calls_free(out);
    return false;
}

void calls_free(CallList *c)
{
    free(c->calls);
    memset(c, 0, sizeof *c);
}
