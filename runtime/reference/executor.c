/* Runs a graph node by node in its (topological) order, one buffer per
 * tensor: no reuse, no fusion, nothing clever. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "reference.h"

static const RefKernel kernels[] = {
#define OP(e, s, at, lo, hi, inf, mac, ref) ref,
#include "ops.def"
#undef OP
};

static bool check_ready(const Graph *g, char *err, size_t errsz)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        if (t->type.kind != ELEM_F32) {
            char ty[64];
            elem_type_format(t->type, ty, sizeof ty);
            snprintf(err, errsz,
                     "input '%s' is %s; the reference executor runs float32 networks only", t->name, ty);
            return false;
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!node_weights_bound(g, &g->nodes[i])) {
            snprintf(err, errsz, "layer '%s' has no weights (give --weights or --random-weights)",
                     g->nodes[i].name);
            return false;
        }
    return true;
}

static void run_node(const Graph *g, const Node *n, float **buf)
{
    const float *in[n->n_inputs + 1];
    const Shape *in_shape[n->n_inputs + 1];
    const float *param[NODE_MAX_PARAMS];
    for (int i = 0; i < n->n_inputs; i++) {
        in[i] = buf[n->inputs[i]];
        in_shape[i] = &g->tensors[n->inputs[i]].shape;
    }
    for (int i = 0; i < n->n_params; i++)
        param[i] = g->tensors[n->params[i]].data;
    KernelArgs a = {n, in, in_shape, n->n_inputs, param, buf[n->output], &g->tensors[n->output].shape};
    kernels[n->op](&a);
}

bool reference_run(const Graph *g, const float *const *inputs, float *const *outputs, char *err,
                   size_t errsz)
{
    if (!check_ready(g, err, errsz))
        return false;
    float **buf = calloc((size_t)g->n_tensors + 1, sizeof *buf);
    bool ok = buf != NULL;
    for (int i = 0; i < g->n_inputs && ok; i++)
        buf[g->inputs[i]] = (float *)inputs[i];
    for (int i = 0; i < g->n_nodes && ok; i++) {
        int t = g->nodes[i].output;
        buf[t] = malloc((size_t)shape_elems(&g->tensors[t].shape) * sizeof(float));
        ok = buf[t] != NULL;
    }
    if (!ok)
        snprintf(err, errsz, "out of memory for activations");
    for (int i = 0; i < g->n_nodes && ok; i++)
        run_node(g, &g->nodes[i], buf);
    for (int i = 0; i < g->n_outputs && ok; i++) {
        int t = g->outputs[i];
        memcpy(outputs[i], buf[t], (size_t)shape_elems(&g->tensors[t].shape) * sizeof(float));
    }
    for (int i = 0; buf && i < g->n_nodes; i++)
        free(buf[g->nodes[i].output]);
    free(buf);
    return ok;
}
