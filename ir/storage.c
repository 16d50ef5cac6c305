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

/* ---- element-wise layers in place ------------------------------------------ */

/* The ops whose every kernel computes output element i from element i of
 * each operand of the output's shape (and from weights), reading it before
 * writing it: the loops of codegen/kernels/eltwise.c, on either layout. */
static const OpKind elementwise_ops[] = {
    OP_RELU, OP_LEAKY_RELU, OP_PRELU, OP_ELU, OP_SIGMOID, OP_TANH, OP_HARD_SIGMOID, OP_SELU, OP_CLIP,
    OP_BATCHNORM, OP_SCALE_SHIFT, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN,
};

/* Whether operand k of layer n is the residual of a direct conv in float32
 * on blocked activations, dense: the kernel (dnnk_conv_blocked) adds
 * residual element i to output element i as it writes it, and keeps no
 * partial sums in an output that lies over its residual (a plain conv
 * kernel may: its residual is not written over). */
static bool residual_of_blocked_conv(const Graph *g, const Node *n, int k)
{
    return n->op == OP_CONV && k == 1 && n->ann.algo == ALGO_DIRECT && !n->ann.has_sparse &&
           g->tensors[n->output].type.kind == ELEM_F32 && graph_tensor_layout(g, n->output) == LAYOUT_NCHW16C;
}

/* Whether layer n computes its output element by element over operand k:
 * an element-wise op, or a blocked conv's residual, whose operand k has the
 * output's shape, element kind and layout, so the output's bytes are the
 * operand's, element for element. */
static bool elementwise_over(const Graph *g, const Node *n, int k)
{
    bool listed = residual_of_blocked_conv(g, n, k);
    for (size_t i = 0; i < sizeof elementwise_ops / sizeof elementwise_ops[0]; i++)
        listed |= elementwise_ops[i] == n->op;
    int in = n->inputs[k], out = n->output;
    return listed && g->tensors[in].type.kind == g->tensors[out].type.kind &&
           shape_equal(&g->tensors[in].shape, &g->tensors[out].shape) &&
           graph_tensor_layout(g, in) == graph_tensor_layout(g, out);
}

/* Whether layer i writes its output over operand k: element by element
 * (above), the operand's bytes in the workspace (a layer's output, or an
 * alias or slice of one; not a network input, output or weight) and read by
 * no layer after i, no other operand of i in those bytes (but the same
 * tensor again: add(x, x)), the output not a network output and sharing
 * no one's bytes yet. Its @offset is the operand's, or it has none and,
 * with place_free, will get it. */
static bool overwrites_operand(const Graph *g, bool place_free, const StorageMap *m, int i, int k)
{
    const Node *n = &g->nodes[i];
    int src = n->inputs[k], r = m->root[src], out = n->output;
    if (!elementwise_over(g, n, k) || graph_is_output(g, out) || m->root[out] != out)
        return false;
    if (g->tensors[r].producer < 0 || graph_is_output(g, r) || m->last[r] != i)
        return false;
    for (int j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] != src && m->root[n->inputs[j]] == r)
            return false;
    if (!n->ann.has_offset)
        return place_free;
    return storage_in_workspace(g, r) && offset_of(g, r) + m->within[src] == n->ann.offset;
}

/* Moves out, and every tensor in its bytes, into the bytes of src. */
static void put_over(const Graph *g, StorageMap *m, int out, int src)
{
    int r = m->root[src];
    uint64_t at = m->within[src];
    for (int t = 0; t < g->n_tensors; t++)
        if (m->root[t] == out) {
            m->root[t] = r;
            m->within[t] += at;
        }
    m->last[r] = m->last[out] > m->last[r] ? m->last[out] : m->last[r];
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
                      calloc((size_t)g->n_nodes + 1, sizeof *m->no_code),
                      calloc((size_t)g->n_nodes + 1, sizeof *m->in_place), malloc(nt * sizeof *m->first),
                      malloc(nt * sizeof *m->last)};
    if (!m->root || !m->within || !m->no_code || !m->in_place || !m->first || !m->last) {
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
    /* In layer order, each with the lifetimes the ones before it left: a
     * chain of element-wise layers takes one place. */
    lifetimes(g, m);
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (overwrites_operand(g, place_free, m, i, k)) {
                put_over(g, m, g->nodes[i].output, g->nodes[i].inputs[k]);
                m->in_place[i] = true;
                break;
            }
    lifetimes(g, m);
    return true;
}

void storage_map_free(StorageMap *m)
{
    free(m->root);
    free(m->within);
    free(m->no_code);
    free(m->in_place);
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
