#include "plan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnk.h"

#define ALIGN 64

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static size_t tensor_bytes(const Tensor *t)
{
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

/* [F][Cg][kh][kw] -> [groups][ceil(Fg / MR)][K][MR] (dnnk.h). */
static void pack_conv_weights(const Node *n, const Tensor *w, float *out)
{
    int64_t F = w->shape.d[0], G = n->attr.conv.groups, Fg = F / G;
    int64_t K = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
    int64_t panels = dnnk_ceil_div(Fg, DNNK_MR);
    const float *src = w->data;
    for (int64_t g = 0; g < G; g++)
        for (int64_t b = 0; b < panels; b++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t r = 0; r < DNNK_MR; r++) {
                    int64_t f = b * DNNK_MR + r;
                    *out++ = f < Fg ? src[(g * Fg + f) * K + k] : 0.0f;
                }
}

static bool is_packed_conv_weight(const Node *n, int k) { return n->op == OP_CONV && k == 0; }

static size_t param_bytes(const Graph *g, const Node *n, int k)
{
    const Tensor *w = &g->tensors[n->params[k]];
    if (!is_packed_conv_weight(n, k))
        return tensor_bytes(w);
    int64_t K = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
    return (size_t)dnnk_packed_conv_weights(w->shape.d[0], n->attr.conv.groups, K) * sizeof(float);
}

/* The batch norm folded into a convolution's epilogue: y = x * s + t with
 * s = weight / sqrt(var + eps) and t = bias - mean * s (survey III-A3). */
static void fold_batchnorm(const Graph *g, const Node *bn, float *scale, float *shift)
{
    const float *w = g->tensors[bn->params[0]].data, *b = g->tensors[bn->params[1]].data;
    const float *mean = g->tensors[bn->params[2]].data, *var = g->tensors[bn->params[3]].data;
    int64_t C = g->tensors[bn->params[0]].shape.d[0];
    for (int64_t c = 0; c < C; c++) {
        double s = w[c] / sqrt((double)var[c] + bn->attr.batchnorm.eps);
        scale[c] = (float)s;
        shift[c] = (float)(b[c] - mean[c] * s);
    }
}

static size_t epilogue_bytes(const Graph *g, const Plan *p, int i)
{
    if (p->epilogue[i].batchnorm < 0)
        return 0;
    return 2 * align_up((size_t)g->tensors[g->nodes[i].output].shape.d[1] * sizeof(float));
}

static bool build_weights(const Graph *g, Plan *p, char *err, size_t errsz)
{
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        total += epilogue_bytes(g, p, i);
        for (int k = 0; k < g->nodes[i].n_params; k++)
            total += align_up(param_bytes(g, &g->nodes[i], k));
    }
    p->weights = calloc(total ? total : 1, 1);
    if (!p->weights) {
        snprintf(err, errsz, "out of memory for %zu bytes of weights", total);
        return false;
    }
    size_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        for (int k = 0; k < n->n_params; k++) {
            const Tensor *w = &g->tensors[n->params[k]];
            if (!w->data) {
                snprintf(err, errsz, "layer '%s' has no weights (give --weights or --random-weights)",
                         n->name);
                return false;
            }
            if (is_packed_conv_weight(n, k))
                pack_conv_weights(n, w, (float *)(p->weights + at));
            else
                memcpy(p->weights + at, w->data, tensor_bytes(w));
            p->loc[n->params[k]] = (Location){LOC_WEIGHTS, at, 0};
            at += align_up(param_bytes(g, n, k));
        }
        if (epilogue_bytes(g, p, i)) {
            int64_t F = g->tensors[n->output].shape.d[1];
            p->epilogue[i].scale_offset = at;
            fold_batchnorm(g, &g->nodes[p->epilogue[i].batchnorm], (float *)(p->weights + at),
                           (float *)(p->weights + at + align_up((size_t)F * sizeof(float))));
            at += epilogue_bytes(g, p, i);
        }
    }
    p->weights_size = total;
    return true;
}

static bool is_graph_output(const Graph *g, int t, int *index)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t) {
            *index = i;
            return true;
        }
    return false;
}

/* Layers whose output can be their operand's (or weight's) storage. */
static bool can_alias(const Graph *g, const Node *n)
{
    int index;
    if (is_graph_output(g, n->output, &index))
        return false;
    return n->op == OP_FLATTEN || n->op == OP_RESHAPE || n->op == OP_DROPOUT || n->op == OP_CONSTANT;
}

/* The one layer that reads tensor t, or -1 (none, several, or an output). */
static int only_reader(const Graph *g, int t)
{
    int reader = -1, index;
    if (is_graph_output(g, t, &index))
        return -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == t) {
                if (reader >= 0 && reader != i)
                    return -1;
                reader = i;
            }
    return reader;
}

/* conv -> [batchnorm] -> [relu], each the only reader of the one before. */
static void find_epilogues(const Graph *g, Plan *p)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Epilogue *e = &p->epilogue[i];
        e->batchnorm = e->relu = e->absorbed_by = -1;
        e->last = i;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != OP_CONV)
            continue;
        Epilogue *e = &p->epilogue[i];
        int next = only_reader(g, g->nodes[i].output);
        if (next >= 0 && g->nodes[next].op == OP_BATCHNORM && g->nodes[next].n_inputs == 1) {
            e->batchnorm = e->last = next;
            next = only_reader(g, g->nodes[next].output);
        }
        if (next >= 0 && g->nodes[next].op == OP_RELU)
            e->relu = e->last = next;
        if (e->batchnorm >= 0)
            p->aliases[e->batchnorm] = true, p->epilogue[e->batchnorm].absorbed_by = i;
        if (e->relu >= 0)
            p->aliases[e->relu] = true, p->epilogue[e->relu].absorbed_by = i;
    }
}

static int alias_source(const Node *n) { return n->op == OP_CONSTANT ? n->params[0] : n->inputs[0]; }

typedef struct Block {
    size_t offset, size;
    int root;
} Block;

/* First fit among the live blocks, which are kept sorted by offset. */
static size_t place(Block *live, int n_live, size_t size)
{
    size_t at = 0;
    for (int i = 0; i < n_live; i++) {
        if (live[i].offset >= at + size)
            return at;
        size_t end = live[i].offset + live[i].size;
        at = end > at ? end : at;
    }
    return at;
}

/* Reserves storage for tensor t (first fit) and records it live. */
static void allocate(const Graph *g, Plan *p, Block *live, int *n_live, int t)
{
    size_t size = align_up(tensor_bytes(&g->tensors[t]));
    size_t at = place(live, *n_live, size);
    p->loc[t] = (Location){LOC_WORKSPACE, at, 0};
    int pos = (*n_live)++;
    while (pos > 0 && live[pos - 1].offset > at) {
        live[pos] = live[pos - 1];
        pos--;
    }
    live[pos] = (Block){at, size, t};
    if (at + size > p->workspace_size)
        p->workspace_size = at + size;
}

static bool plan_workspace(const Graph *g, Plan *p, const int *last_use)
{
    Block *live = calloc((size_t)g->n_tensors + 1, sizeof *live);
    if (!live)
        return false;
    int n_live = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        /* Storage whose last reader ran before this layer is free again. */
        int keep = 0;
        for (int b = 0; b < n_live; b++)
            if (last_use[live[b].root] >= i)
                live[keep++] = live[b];
        n_live = keep;
        const Node *n = &g->nodes[i];
        const Epilogue *e = &p->epilogue[i];
        if (e->absorbed_by >= 0)
            continue; /* placed with its convolution */
        if (p->aliases[i]) {
            p->loc[n->output] = p->loc[alias_source(n)];
            continue;
        }
        /* A convolution writes where the last layer of its epilogue would;
         * the tensors in between are never stored. */
        int last = g->nodes[e->last].output;
        if (p->loc[last].kind == LOC_NONE)
            allocate(g, p, live, &n_live, last);
        if (e->batchnorm >= 0)
            p->loc[g->nodes[e->batchnorm].output] = p->loc[last];
        p->loc[n->output] = p->loc[last];
    }
    free(live);
    return true;
}

bool plan_build(const Graph *g, Plan *p, char *err, size_t errsz)
{
    memset(p, 0, sizeof *p);
    err[0] = '\0';
    size_t nt = (size_t)g->n_tensors + 1;
    p->loc = calloc(nt, sizeof *p->loc);
    p->aliases = calloc((size_t)g->n_nodes + 1, sizeof *p->aliases);
    p->epilogue = calloc((size_t)g->n_nodes + 1, sizeof *p->epilogue);
    int *root = calloc(nt, sizeof *root), *last_use = calloc(nt, sizeof *last_use);
    bool ok = p->loc && p->aliases && p->epilogue && root && last_use;
    if (ok)
        find_epilogues(g, p);
    ok = ok && build_weights(g, p, err, errsz);
    for (int t = 0; ok && t < g->n_tensors; t++) {
        root[t] = t;
        last_use[t] = -1;
    }
    for (int i = 0; ok && i < g->n_inputs; i++)
        p->loc[g->inputs[i]] = (Location){LOC_INPUT, 0, i};
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        int index;
        for (int k = 0; k < n->n_inputs; k++) {
            int r = root[n->inputs[k]];
            last_use[r] = i > last_use[r] ? i : last_use[r];
        }
        last_use[root[n->output]] = i; /* written here, at least */
        if (can_alias(g, n)) {
            p->aliases[i] = true;
            root[n->output] = root[alias_source(n)];
        } else if (is_graph_output(g, n->output, &index)) {
            p->loc[n->output] = (Location){LOC_OUTPUT, 0, index};
        }
    }
    /* An alias keeps its root alive as long as the alias is read. */
    for (int i = 0; ok && i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int r = root[g->nodes[i].inputs[k]];
            last_use[r] = i > last_use[r] ? i : last_use[r];
        }
    ok = ok && plan_workspace(g, p, last_use);
    if (!ok && !err[0])
        snprintf(err, errsz, "out of memory planning buffers");
    free(root);
    free(last_use);
    if (!ok)
        plan_free(p);
    return ok;
}

void plan_free(Plan *p)
{
    free(p->loc);
    free(p->aliases);
    free(p->epilogue);
    free(p->weights);
    memset(p, 0, sizeof *p);
}
