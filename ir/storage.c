#include "storage.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensor t's bytes in its layout, as they lie in a slice. */
static uint64_t exact_bytes(const Graph *g, int t)
{
    return (uint64_t)graph_tensor_stored_elems(g, t) * elem_kind_size(g->tensors[t].type.kind);
}

uint64_t storage_bytes(const Graph *g, int t)
{
    return (exact_bytes(g, t) + STORAGE_ALIGN - 1) / STORAGE_ALIGN * STORAGE_ALIGN;
}

bool storage_may_alias(const Graph *g, const Node *n)
{
    if (graph_is_output(g, n->output))
        return false;
    return n->op == OP_FLATTEN || n->op == OP_RESHAPE || n->op == OP_DROPOUT || n->op == OP_CONSTANT;
}

int storage_alias_source(const Node *n) { return n->op == OP_CONSTANT ? n->params[0] : n->inputs[0]; }

bool storage_in_workspace(const Graph *g, int t)
{
    int p = g->tensors[t].producer;
    return p >= 0 && g->nodes[p].ann.has_offset;
}

static uint64_t offset_of(const Graph *g, int t) { return g->nodes[g->tensors[t].producer].ann.offset; }

/* ---- concats in place ---------------------------------------------------- */

/* Whether concat n's operands can lie end to end in its output: every
 * dimension before the axis is 1 (a batch of one image, channels joined),
 * in either layout (a blocked concat's operands but the last fill whole
 * blocks, kernels.def); not a network output (the caller's buffer). */
static bool concat_may_slice(const Graph *g, const Node *n)
{
    if (n->op != OP_CONCAT || graph_is_output(g, n->output))
        return false;
    const Shape *s = &g->tensors[n->output].shape;
    int64_t axis = n->attr.axis.axis < 0 ? n->attr.axis.axis + s->rank : n->attr.axis.axis;
    for (int64_t d = 0; d < axis; d++)
        if (s->d[d] != 1)
            return false;
    return graph_tensor_layout(g, n->output) == LAYOUT_NCHW || axis == 1;
}

/* Whether operand k of concat n may be computed in its slice: a layer's
 * own output (not an input, constant or alias, not another concat's output,
 * not a network output), in no other concat's slice, not an operand
 * twice, in the concat's layout. */
static bool operand_may_slice(const Graph *g, const StorageMap *m, const Node *n, int k)
{
    int t = n->inputs[k], producer = g->tensors[t].producer;
    if (producer < 0 || m->root[t] != t || graph_is_output(g, t))
        return false;
    const Node *p = &g->nodes[producer];
    if (p->op == OP_CONCAT || storage_may_alias(g, p))
        return false;
    for (int j = 0; j < k; j++)
        if (n->inputs[j] == t)
            return false;
    return graph_tensor_layout(g, t) == graph_tensor_layout(g, n->output);
}

/* Whether concat n has its operands in its slices: as their @offsets say,
 * or, with place_free, because none of them has one yet. */
static bool concat_in_place(const Graph *g, bool place_free, const StorageMap *m, const Node *n)
{
    bool placed = n->ann.has_offset;
    if (!concat_may_slice(g, n) || !(placed || place_free))
        return false;
    uint64_t at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (at % STORAGE_ALIGN != 0 || !operand_may_slice(g, m, n, k))
            return false;
        bool has = storage_in_workspace(g, t);
        if (placed ? !(has && offset_of(g, t) == n->ann.offset + at) : has)
            return false;
        at += exact_bytes(g, t);
    }
    return true;
}

static void put_in_slices(const Graph *g, StorageMap *m, const Node *n)
{
    uint64_t at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        m->root[t] = n->output;
        m->within[t] = at;
        at += exact_bytes(g, t);
    }
}

/* ---- aliases --------------------------------------------------------------- */

/* Whether layer n reinterprets its operand's bytes: its @offset is the
 * operand's, or it has none and the operand is not in the workspace (with
 * place_free: it has none, and will get the operand's). */
static bool alias_in_place(const Graph *g, bool place_free, const Node *n)
{
    if (!storage_may_alias(g, n))
        return false;
    int src = storage_alias_source(n);
    if (!n->ann.has_offset)
        return place_free || !storage_in_workspace(g, src);
    return storage_in_workspace(g, src) && offset_of(g, src) == n->ann.offset;
}

/* ---- the map ---------------------------------------------------------------- */

static void lifetimes(const Graph *g, StorageMap *m)
{
    for (int t = 0; t < g->n_tensors; t++)
        m->first[t] = INT_MAX, m->last[t] = -1;
    for (int i = 0; i < g->n_inputs; i++)
        m->first[m->root[g->inputs[i]]] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        int r = m->root[n->output];
        m->first[r] = i < m->first[r] ? i : m->first[r];
        m->last[r] = i > m->last[r] ? i : m->last[r]; /* written here, at least */
        for (int k = 0; k < n->n_inputs; k++) {
            r = m->root[n->inputs[k]];
            m->last[r] = i > m->last[r] ? i : m->last[r];
        }
    }
}

bool storage_map_build(const Graph *g, bool place_free, StorageMap *m)
{
    size_t nt = (size_t)g->n_tensors + 1;
    *m = (StorageMap){malloc(nt * sizeof *m->root), calloc(nt, sizeof *m->within),
                      calloc((size_t)g->n_nodes + 1, sizeof *m->no_code), malloc(nt * sizeof *m->first),
                      malloc(nt * sizeof *m->last)};
    if (!m->root || !m->within || !m->no_code || !m->first || !m->last) {
        storage_map_free(m);
        return false;
    }
    for (int t = 0; t < g->n_tensors; t++)
        m->root[t] = t;
    /* Concats first: an alias of an operand lives in the concat's bytes too. */
    for (int i = 0; i < g->n_nodes; i++)
        if (concat_in_place(g, place_free, m, &g->nodes[i])) {
            put_in_slices(g, m, &g->nodes[i]);
            m->no_code[i] = true;
        }
    /* In layer order: an alias's operand has its root already. */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!alias_in_place(g, place_free, n))
            continue;
        int src = storage_alias_source(n);
        m->root[n->output] = m->root[src];
        m->within[n->output] = m->within[src];
        m->no_code[i] = true;
    }
    lifetimes(g, m);
    return true;
}

void storage_map_free(StorageMap *m)
{
    free(m->root);
    free(m->within);
    free(m->no_code);
    free(m->first);
    free(m->last);
    memset(m, 0, sizeof *m);
}

/* ---- the check -------------------------------------------------------------- */

static bool live_together(const StorageMap *m, int a, int b)
{
    return m->first[a] <= m->last[b] && m->first[b] <= m->last[a];
}

static bool bytes_meet(const Graph *g, int a, int b)
{
    uint64_t oa = offset_of(g, a), ob = offset_of(g, b);
    return oa < ob + storage_bytes(g, b) && ob < oa + storage_bytes(g, a);
}

static void describe_overlap(const Graph *g, const StorageMap *m, int a, int b, char *err, size_t errsz)
{
    int later = m->first[a] > m->first[b] ? a : b, earlier = later == a ? b : a;
    snprintf(err, errsz,
             "layer '%s' @offset(%llu) (%llu bytes) overlaps layer '%s' @offset(%llu) (%llu bytes) "
             "while both are live, at layer '%s'",
             g->tensors[later].name, (unsigned long long)offset_of(g, later),
             (unsigned long long)storage_bytes(g, later), g->tensors[earlier].name,
             (unsigned long long)offset_of(g, earlier), (unsigned long long)storage_bytes(g, earlier),
             g->nodes[m->first[later]].name);
}

bool storage_check(const Graph *g, const StorageMap *m, const Node **culprit, char *err, size_t errsz)
{
    int *roots = malloc(((size_t)g->n_tensors + 1) * sizeof *roots), n = 0;
    if (!roots) {
        snprintf(err, errsz, "out of memory checking the workspace's placement");
        *culprit = NULL;
        return false;
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (m->root[t] == t && storage_in_workspace(g, t))
            roots[n++] = t;
    bool ok = true;
    for (int i = 0; ok && i < n; i++)
        for (int j = i + 1; ok && j < n; j++)
            if (live_together(m, roots[i], roots[j]) && bytes_meet(g, roots[i], roots[j])) {
                describe_overlap(g, m, roots[i], roots[j], err, errsz);
                int later = m->first[roots[i]] > m->first[roots[j]] ? roots[i] : roots[j];
                *culprit = &g->nodes[g->tensors[later].producer];
                ok = false;
            }
    free(roots);
    return ok;
}
