#include "plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "bind.h"

#define ALIGN 64

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static size_t tensor_bytes(const Tensor *t)
{
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

/* Bytes weight k of layer n takes in the blob: packed for its kernel, or as
 * stored. */
static size_t param_bytes(const Graph *g, const KernelBinding *b, const Node *n, int k)
{
    size_t packed = b->pack ? b->pack(g, n, k, NULL) : 0;
    return packed ? packed : tensor_bytes(&g->tensors[n->params[k]]);
}

static size_t weights_total(const Graph *g, const KernelBinding *bind)
{
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            total += align_up(param_bytes(g, &bind[i], &g->nodes[i], k));
    return total;
}

size_t plan_weights_bytes(const Graph *g)
{
    char err[256];
    KernelBinding *bind = bind_graph(g, ISA_ANY, err, sizeof err);
    if (!bind)
        return 0;
    size_t total = weights_total(g, bind);
    free(bind);
    return total;
}

/* Places every weight in the blob, 64-byte aligned, in layer order; the
 * blob itself is made later (plan_pack_weights, plan_write_weights). */
static bool layout_weights(const Graph *g, const KernelBinding *bind, Plan *p, char *err, size_t errsz)
{
    size_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        for (int k = 0; k < n->n_params; k++) {
            if (!g->tensors[n->params[k]].data) {
                snprintf(err, errsz, "layer '%s' has no weights (give --weights or --random-weights)",
                         n->name);
                return false;
            }
            p->loc[n->params[k]] = (Location){LOC_WEIGHTS, at, 0};
            at += align_up(param_bytes(g, &bind[i], n, k));
        }
    }
    p->weights_size = at;
    return true;
}

/* Weight k of layer n as the blob holds it, written to dst (zeroed, as
 * many bytes as param_bytes says). */
static void pack_param(const Graph *g, const KernelBinding *b, const Node *n, int k, unsigned char *dst)
{
    const Tensor *w = &g->tensors[n->params[k]];
    if (!(b->pack && b->pack(g, n, k, dst)))
        memcpy(dst, w->data, tensor_bytes(w));
}

void plan_pack_weights(const Graph *g, const KernelBinding *bind, const Plan *p, unsigned char *blob)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            pack_param(g, &bind[i], &g->nodes[i], k, blob + p->loc[g->nodes[i].params[k]].offset);
}

/* Appends weight k of layer n to f as the blob holds it, padded to the
 * alignment: from the tensor itself when it is stored as it is, through
 * `scratch` (room for the largest packed weight) when its kernel packs it. */
static size_t write_param(const Graph *g, const KernelBinding *b, const Node *n, int k, unsigned char *scratch,
                          FILE *f)
{
    static const unsigned char zeros[ALIGN];
    size_t packed = b->pack ? b->pack(g, n, k, NULL) : 0;
    const Tensor *w = &g->tensors[n->params[k]];
    size_t bytes = packed ? packed : tensor_bytes(w);
    if (packed) {
        memset(scratch, 0, packed);
        pack_param(g, b, n, k, scratch);
    }
    fwrite(packed ? scratch : w->data, 1, bytes, f); /* the caller checks the stream */
    fwrite(zeros, 1, align_up(bytes) - bytes, f);
    return align_up(bytes);
}

bool plan_write_weights(const Graph *g, const KernelBinding *bind, const Plan *p, FILE *f, char *err,
                        size_t errsz)
{
    size_t largest = 1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++) {
            size_t packed = bind[i].pack ? bind[i].pack(g, &g->nodes[i], k, NULL) : 0;
            largest = packed > largest ? packed : largest;
        }
    unsigned char *scratch = big_malloc(largest);
    if (!scratch) {
        snprintf(err, errsz, "out of memory for %zu bytes of one layer's packed weights", largest);
        return false;
    }
    size_t at = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            at += write_param(g, &bind[i], &g->nodes[i], k, scratch, f);
    free(scratch);
    if (at != p->weights_size) { /* plan_build laid them out in the same order */
        snprintf(err, errsz, "internal error: %zu bytes of weights written, %zu planned", at, p->weights_size);
        return false;
    }
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

static int alias_source(const Node *n) { return n->op == OP_CONSTANT ? n->params[0] : n->inputs[0]; }

/* ---- concat in place --------------------------------------------------------
 * A concat whose operands lie end to end in its output's storage needs no
 * code: each operand is computed straight into its slice. That holds when
 * every dimension before the axis is 1 (a batch of one image, channels
 * joined), in either layout (a blocked concat's operands but the last fill
 * whole blocks, kernels.def), and each slice starts 64-byte aligned. Each
 * operand must be a layer's own output (not an input, constant or alias,
 * not another concat's output, not a network output) and in no other
 * concat's slice; otherwise the concat copies as usual. */

typedef struct Slices {
    int *root;       /* per tensor: the concat output it lives in, or -1 */
    size_t *offset;  /* per tensor: its byte offset there */
} Slices;

static bool operands_are_slices(const Graph *g, const Node *n)
{
    const Shape *s = &g->tensors[n->output].shape;
    int64_t axis = n->attr.axis.axis < 0 ? n->attr.axis.axis + s->rank : n->attr.axis.axis;
    for (int64_t d = 0; d < axis; d++)
        if (s->d[d] != 1)
            return false;
    return graph_tensor_layout(g, n->output) == LAYOUT_NCHW || axis == 1;
}

static bool may_live_in_slice(const Graph *g, const Slices *sl, const Node *concat, int k)
{
    int t = concat->inputs[k], producer = g->tensors[t].producer, index;
    if (producer < 0 || sl->root[t] >= 0 || is_graph_output(g, t, &index))
        return false;
    const Node *p = &g->nodes[producer];
    if (p->op == OP_CONCAT || can_alias(g, p))
        return false;
    for (int j = 0; j < k; j++)
        if (concat->inputs[j] == t)
            return false; /* the same tensor twice cannot be in two slices */
    return graph_tensor_layout(g, t) == graph_tensor_layout(g, concat->output);
}

/* Tensor t's bytes as stored in its layout. */
static size_t stored_bytes(const Graph *g, int t)
{
    return (size_t)graph_tensor_stored_elems(g, t) * elem_kind_size(g->tensors[t].type.kind);
}

/* Concat n's operands into its slices, all or none; true if all. */
static bool place_slices(const Graph *g, Slices *sl, const Node *n)
{
    int index;
    if (n->op != OP_CONCAT || is_graph_output(g, n->output, &index) || !operands_are_slices(g, n))
        return false;
    size_t at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (at % ALIGN != 0 || !may_live_in_slice(g, sl, n, k))
            return false;
        at += stored_bytes(g, t);
    }
    at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        sl->root[t] = n->output, sl->offset[t] = at;
        at += stored_bytes(g, t);
    }
    return true;
}

/* ---- the workspace ------------------------------------------------------
 * Each tensor that needs storage of its own (a root: not an alias, not in
 * a concat's slice) is live from the layer that first writes it (for a
 * concat in place, its first operand's) to its last reader. Roots are
 * placed largest first, each at the lowest offset where it overlaps no
 * placed root live at the same time: the "greedy by size" arena planning
 * of TensorFlow Lite, which packs the few large activations of a network
 * tighter than first fit in layer order does. A layer's operands are live
 * while it runs, so its output never overlaps them (a conv reads its
 * residual while it accumulates its output). */

typedef struct Root {
    int tensor, first, last;
    size_t size, offset;
} Root;

static int by_size(const void *a, const void *b)
{
    const Root *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->first - y->first;
}

static int by_offset(const void *a, const void *b)
{
    const Root *x = *(const Root *const *)a, *y = *(const Root *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The lowest offset for r among the placed roots (placed[0..n)) whose
 * lifetimes meet its own; overlap is scratch for n pointers. */
static size_t lowest_fit(const Root *r, Root *const *placed, int n, Root **overlap)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (placed[i]->first <= r->last && r->first <= placed[i]->last)
            overlap[k++] = placed[i];
    qsort(overlap, (size_t)k, sizeof *overlap, by_offset);
    size_t at = 0;
    for (int i = 0; i < k; i++) {
        if (overlap[i]->offset >= at + r->size)
            break;
        size_t end = overlap[i]->offset + overlap[i]->size;
        at = end > at ? end : at;
    }
    return at;
}

/* The roots of the workspace, in node order of their first write. */
static int collect_roots(const Graph *g, const Plan *p, const int *last_use, const Slices *sl, Root *roots,
                         int *root_index)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        int t = sl->root[node->output] >= 0 ? sl->root[node->output] : node->output;
        bool own = sl->root[node->output] >= 0 || !(p->aliases[i] && node->op != OP_CONCAT);
        if (!own || p->loc[t].kind != LOC_NONE || root_index[t] >= 0)
            continue;
        root_index[t] = n;
        roots[n++] = (Root){t, i, last_use[t], align_up(stored_bytes(g, t)), 0};
    }
    return n;
}

static bool plan_workspace(const Graph *g, Plan *p, const int *last_use, const Slices *sl)
{
    size_t nt = (size_t)g->n_tensors + 1;
    Root *roots = calloc(nt, sizeof *roots);
    Root **placed = calloc(nt, sizeof *placed), **overlap = calloc(nt, sizeof *overlap);
    int *root_index = malloc(nt * sizeof *root_index);
    bool ok = roots && placed && overlap && root_index;
    for (size_t t = 0; ok && t < nt; t++)
        root_index[t] = -1;
    int n = ok ? collect_roots(g, p, last_use, sl, roots, root_index) : 0;
    if (n > 0)
        qsort(roots, (size_t)n, sizeof *roots, by_size);
    for (int i = 0; i < n; i++) {
        roots[i].offset = lowest_fit(&roots[i], placed, i, overlap);
        placed[i] = &roots[i];
        p->loc[roots[i].tensor] = (Location){LOC_WORKSPACE, roots[i].offset, 0};
        if (roots[i].offset + roots[i].size > p->workspace_size)
            p->workspace_size = roots[i].offset + roots[i].size;
    }
    /* Slices and aliases, in node order (an alias's source is placed first). */
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        int t = node->output, concat = sl->root[t];
        if (concat >= 0)
            p->loc[t] = (Location){LOC_WORKSPACE, p->loc[concat].offset + sl->offset[t], 0};
        else if (p->aliases[i] && node->op != OP_CONCAT)
            p->loc[t] = p->loc[alias_source(node)];
    }
    free(roots);
    free(placed);
    free(overlap);
    free(root_index);
    return ok;
}

bool plan_build(const Graph *g, const KernelBinding *bind, Plan *p, char *err, size_t errsz)
{
    memset(p, 0, sizeof *p);
    err[0] = '\0';
    size_t nt = (size_t)g->n_tensors + 1;
    p->loc = calloc(nt, sizeof *p->loc);
    p->aliases = calloc((size_t)g->n_nodes + 1, sizeof *p->aliases);
    int *root = calloc(nt, sizeof *root), *last_use = calloc(nt, sizeof *last_use);
    Slices sl = {calloc(nt, sizeof *sl.root), calloc(nt, sizeof *sl.offset)};
    bool ok = p->loc && p->aliases && root && last_use && sl.root && sl.offset;
    ok = ok && layout_weights(g, bind, p, err, errsz);
    for (int t = 0; ok && t < g->n_tensors; t++) {
        root[t] = t;
        last_use[t] = -1;
        sl.root[t] = -1;
    }
    /* Concats in place: no code, their operands' storage theirs. */
    for (int i = 0; ok && i < g->n_nodes; i++)
        if (place_slices(g, &sl, &g->nodes[i])) {
            p->aliases[i] = true;
            for (int k = 0; k < g->nodes[i].n_inputs; k++)
                root[g->nodes[i].inputs[k]] = g->nodes[i].output;
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
    ok = ok && plan_workspace(g, p, last_use, &sl);
    if (!ok && !err[0])
        snprintf(err, errsz, "out of memory planning buffers");
    free(root);
    free(last_use);
    free(sl.root);
    free(sl.offset);
    if (!ok)
        plan_free(p);
    return ok;
}

void plan_free(Plan *p)
{
    free(p->loc);
    free(p->aliases);
    free(p->weights);
    memset(p, 0, sizeof *p);
}
