/* The IR verifier: every invariant a pass may rely on, checked in one place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"
#include "graph.h"
#include "sparse.h"
#include "storage.h"

static bool valid_tensor(const Graph *g, int id) { return id >= 0 && id < g->n_tensors; }

/* @offset: a 64-byte aligned place (the kernels' vector loads need it) for
 * an output that the caller's buffers do not hold; whether it collides
 * with another is plan-memory's check (ir/storage.h). */
static bool verify_offset(const Graph *g, const Node *n, Diag *d)
{
    if (graph_is_output(g, n->output)) {
        diag_error(d, n->loc, "layer '%s': @offset: a network output lives in the caller's buffer, "
                   "not in the workspace", n->name);
        return false;
    }
    if (n->ann.offset % STORAGE_ALIGN != 0) {
        diag_error(d, n->loc, "layer '%s': @offset(%llu) is not a multiple of %d bytes", n->name,
                   (unsigned long long)n->ann.offset, STORAGE_ALIGN);
        return false;
    }
    uint64_t bytes = storage_bytes(g, n->output);
    if (bytes > STORAGE_MAX_BYTES || n->ann.offset > STORAGE_MAX_BYTES - bytes) {
        diag_error(d, n->loc, "layer '%s': @offset(%llu) puts its output past the largest workspace "
                   "(%llu bytes)", n->name, (unsigned long long)n->ann.offset,
                   (unsigned long long)STORAGE_MAX_BYTES);
        return false;
    }
    return true;
}

static bool verify_node(const Graph *g, int idx, Diag *d)
{
    const Node *n = &g->nodes[idx];
    bool ok = true;
    if (!valid_tensor(g, n->output) || g->tensors[n->output].producer != idx) {
        diag_error(d, n->loc, "verifier: node '%s' does not own its output tensor", n->name);
        return false;
    }
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        if (!valid_tensor(g, t)) {
            diag_error(d, n->loc, "verifier: node '%s' operand %d is not a tensor", n->name, i);
            return false;
        }
        const Tensor *in = &g->tensors[t];
        if (in->kind == TENSOR_ACTIVATION && in->producer >= idx) {
            diag_error(d, n->loc, "verifier: node '%s' uses '%s' before it is computed", n->name,
                       in->name);
            ok = false;
        }
        if (in->kind == TENSOR_PARAM) {
            diag_error(d, n->loc, "verifier: node '%s' takes parameter '%s' as an activation",
                       n->name, in->name);
            ok = false;
        }
    }
    for (int i = 0; i < n->n_params; i++)
        if (!valid_tensor(g, n->params[i]) || g->tensors[n->params[i]].kind != TENSOR_PARAM) {
            diag_error(d, n->loc, "verifier: node '%s' parameter %d is not a constant", n->name, i);
            return false;
        }
    InferResult r;
    char err[512];
    if (!infer_node(g, n, &r, err, sizeof err)) {
        diag_error(d, n->loc, "verifier: node '%s': %s", n->name, err);
        return false;
    }
    if (!shape_equal(&r.out, &g->tensors[n->output].shape)) {
        diag_error(d, n->loc, "verifier: node '%s' output shape disagrees with its shape rule",
                   n->name);
        ok = false;
    }
    if (r.n_params != n->n_params) {
        diag_error(d, n->loc, "verifier: node '%s' has %d parameters, its op needs %d", n->name,
                   n->n_params, r.n_params);
        return false;
    }
    for (int i = 0; i < n->n_params; i++)
        if (!shape_equal(&r.params[i].shape, &g->tensors[n->params[i]].shape)) {
            diag_error(d, n->loc, "verifier: parameter '%s' has the wrong shape",
                       g->tensors[n->params[i]].name);
            ok = false;
        }
    char why[160];
    if (n->ann.has_layout && !layout_fits_shape(n->ann.layout, &g->tensors[n->output].shape, why, sizeof why)) {
        diag_error(d, n->loc, "layer '%s': @layout(%s): %s", n->name, layout_name(n->ann.layout), why);
        ok = false;
    }
    if (n->ann.has_offset && !verify_offset(g, n, d))
        ok = false;
    if (n->ann.algo_tile && !conv_algo_tile_valid(n->ann.algo, n->ann.algo_tile)) {
        diag_error(d, n->loc, "verifier: node '%s' has @algo(%s) with tile %d", n->name,
                   conv_algo_name(n->ann.algo), n->ann.algo_tile);
        ok = false;
    }
    return ok;
}

/* Each tensor's use list holds exactly the operand slots that read it. */
static bool uses_match(const Graph *g, int t, int slots)
{
    const Tensor *x = &g->tensors[t];
    if (x->n_users != slots)
        return false;
    for (int u = 0; u < x->n_users; u++) {
        int node = x->users[u], reads = 0, listed = 0;
        if (node < 0 || node >= g->n_nodes)
            return false;
        for (int k = 0; k < g->nodes[node].n_inputs; k++)
            reads += g->nodes[node].inputs[k] == t;
        for (int v = 0; v < x->n_users; v++)
            listed += x->users[v] == node;
        if (reads != listed)
            return false;
    }
    return true;
}

static bool verify_uses(const Graph *g, Diag *d)
{
    int *slots = calloc((size_t)g->n_tensors + 1, sizeof *slots);
    if (!slots)
        return true; /* nothing to check with; the other checks still ran */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            slots[g->nodes[i].inputs[k]]++;
    bool ok = true;
    for (int t = 0; t < g->n_tensors; t++)
        if (!uses_match(g, t, slots[t])) {
            diag_error(d, g->tensors[t].loc, "verifier: the use list of '%s' does not match its readers",
                       g->tensors[t].name);
            ok = false;
        }
    free(slots);
    return ok;
}

/* A parameter belongs to one layer. */
static bool verify_param_owners(const Graph *g, Diag *d)
{
    int *owner = calloc((size_t)g->n_tensors + 1, sizeof *owner);
    if (!owner)
        return true; /* nothing to report it with; the other checks still ran */
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++) {
            int p = g->nodes[i].params[k];
            if (p >= 0 && p < g->n_tensors && owner[p]++) {
                diag_error(d, g->nodes[i].loc, "verifier: parameter '%s' belongs to two layers",
                           g->tensors[p].name);
                ok = false;
            }
        }
    free(owner);
    return ok;
}

/* Whether every layer whose weights are tensor t reads a stored 0 as a 0. */
static bool zeros_are_zeros(const Graph *g, int t)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!n->removed && n->n_params > 0 && n->params[0] == t && !sparse_zero_is_zero(g, n))
            return false;
    }
    return true;
}

/* A weight's encoding (select-sparsity's) is well formed and holds
 * exactly its non-zero values: the kernels and the reference compute from
 * it instead of the data. */
static bool verify_encodings(const Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->n_tensors; i++) {
        const Tensor *t = &g->tensors[i];
        if (!t->sparse)
            continue;
        int64_t rows, cols;
        sparse_matrix_dims(&t->shape, &rows, &cols);
        char why[160];
        if (!sparse_encodable(t->type.kind) || !t->data) {
            snprintf(why, sizeof why, "the encoded tensor is not bound f32 or i8");
            ok = false;
        } else if (!sparse_check(t->sparse, rows, cols, why, sizeof why)) {
            ok = false;
        } else if (!zeros_are_zeros(g, i)) {
            snprintf(why, sizeof why, "a layer reads it with a weight zero point other than 0");
            ok = false;
        } else if (!sparse_matches(t->sparse, t->type.kind, t->data)) {
            snprintf(why, sizeof why, "the encoding does not hold the tensor's non-zero values");
            ok = false;
        } else {
            continue;
        }
        diag_error(d, t->loc, "verifier: the encoding of '%s': %s", t->name, why);
    }
    return ok;
}

bool graph_verify(const Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].removed) {
            diag_error(d, g->nodes[i].loc, "verifier: layer '%s' was removed but not compacted away",
                       g->nodes[i].name);
            return false;
        }
    for (int i = 0; i < g->n_tensors; i++)
        if (graph_find_tensor(g, g->tensors[i].name) != i) {
            diag_error(d, g->tensors[i].loc, "verifier: tensor name '%s' is not unique",
                       g->tensors[i].name);
            ok = false;
        }
    for (int i = 0; i < g->n_nodes; i++)
        ok &= verify_node(g, i, d);
    if (ok) /* the ids are valid: the cross-checks can index by them */
        ok = verify_uses(g, d) && verify_param_owners(g, d);
    ok &= verify_encodings(g, d);
    for (int i = 0; i < g->n_inputs; i++)
        if (!valid_tensor(g, g->inputs[i]) || g->tensors[g->inputs[i]].kind != TENSOR_INPUT) {
            diag_error(d, SRCLOC_NONE, "verifier: graph input %d is not an input tensor", i);
            ok = false;
        }
    if (g->n_outputs == 0) {
        diag_error(d, SRCLOC_NONE, "verifier: the graph has no outputs");
        ok = false;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (!valid_tensor(g, g->outputs[i]) || g->tensors[g->outputs[i]].kind == TENSOR_PARAM) {
            diag_error(d, SRCLOC_NONE, "verifier: graph output %d is not a computed tensor", i);
            ok = false;
        } else if (graph_tensor_layout(g, g->outputs[i]) != LAYOUT_NCHW) {
            /* The caller of a compiled network reads its outputs plain. */
            const Node *n = &g->nodes[g->tensors[g->outputs[i]].producer];
            diag_error(d, n->loc, "layer '%s': @layout(%s): a network output is always nchw", n->name,
                       layout_name(n->ann.layout));
            ok = false;
        }
    return ok;
}
