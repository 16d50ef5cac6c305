/* The IR verifier: every invariant a pass may rely on, checked in one place. */
#include <stdio.h>
#include <string.h>

#include "graph.h"

static bool valid_tensor(const Graph *g, int id) { return id >= 0 && id < g->n_tensors; }

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
    return ok;
}

bool graph_verify(const Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->n_tensors; i++)
        if (graph_find_tensor(g, g->tensors[i].name) != i) {
            diag_error(d, g->tensors[i].loc, "verifier: tensor name '%s' is not unique",
                       g->tensors[i].name);
            ok = false;
        }
    for (int i = 0; i < g->n_nodes; i++)
        ok &= verify_node(g, i, d);
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
        }
    return ok;
}
