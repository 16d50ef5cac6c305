/* Runs a graph node by node in its (topological) order, one buffer per
 * tensor: no reuse, no fusion, nothing clever. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "reference.h"

static const RefKernel kernels[] = {
#define OP(e, s, at, lo, hi, ty, inf, mac, ref) ref,
#include "ops.def"
#undef OP
};

static size_t tensor_bytes(const Tensor *t)
{
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

/* a + b, or SIZE_MAX when that overflows (a work size that does not fit
 * is SIZE_MAX already), so that no allocation is ever made too small. */
static size_t add_bytes(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

size_t scratch_bytes(const Graph *g, const Node *n)
{
    size_t bytes = (size_t)shape_elems(&g->tensors[n->output].shape) * sizeof(double);
    for (int i = 0; i < n->n_inputs && i < 2; i++)
        bytes += (size_t)shape_elems(&g->tensors[n->inputs[i]].shape) * sizeof(float);
    if (n->n_params)
        bytes += (size_t)shape_elems(&g->tensors[n->params[0]].shape) * sizeof(float);
    if (n->op == OP_CONV)
        bytes = add_bytes(bytes, conv_work_bytes(g, n));
    return bytes;
}

static bool check_ready(const Graph *g, char *err, size_t errsz)
{
    for (int i = 0; i < g->n_tensors; i++) {
        const Tensor *t = &g->tensors[i];
        /* Weight codes are data only as a coded_conv's weights. */
        if (!elem_kind_size(t->type.kind) || (elem_is_code(t->type.kind) && t->kind != TENSOR_PARAM)) {
            char ty[64];
            elem_type_format(t->type, ty, sizeof ty);
            snprintf(err, errsz,
                     "'%s' is %s; the reference executor computes on f32, i8, u8 and i32 only",
                     t->name, ty);
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

#define MAX_OPERANDS_ON_STACK 64

static bool run_node(const Graph *g, const Node *n, void **buf, char *scratch)
{
    const void *in_small[MAX_OPERANDS_ON_STACK];
    const Shape *shape_small[MAX_OPERANDS_ON_STACK];
    ElemKind type_small[MAX_OPERANDS_ON_STACK];
    bool small = n->n_inputs <= MAX_OPERANDS_ON_STACK;
    /* Concatenations of very many operands take their arrays from the heap. */
    const void **in = small ? in_small : malloc(sizeof(void *) * (size_t)n->n_inputs);
    const Shape **in_shape = small ? shape_small : malloc(sizeof(Shape *) * (size_t)n->n_inputs);
    ElemKind *in_type = small ? type_small : malloc(sizeof(ElemKind) * (size_t)n->n_inputs);
    const void *param[NODE_MAX_PARAMS];
    ElemKind param_type[NODE_MAX_PARAMS];
    bool ok = in && in_shape && in_type;
    if (ok) {
        for (int i = 0; i < n->n_inputs; i++) {
            const Tensor *t = &g->tensors[n->inputs[i]];
            in[i] = buf[n->inputs[i]];
            in_shape[i] = &t->shape;
            in_type[i] = t->type.kind;
        }
        for (int i = 0; i < n->n_params; i++) {
            param[i] = g->tensors[n->params[i]].data;
            param_type[i] = g->tensors[n->params[i]].type.kind;
        }
        const Tensor *o = &g->tensors[n->output];
        KernelArgs a = {n, in, in_shape, in_type, n->n_inputs, param, param_type,
                        buf[n->output], &o->shape, o->type.kind, scratch,
                        n->n_params ? g->tensors[n->params[0]].sparse : NULL};
        kernels[n->op](&a);
    }
    if (!small) {
        free(in);
        free(in_shape);
        free(in_type);
    }
    return ok;
}

bool reference_run_node(const Graph *g, const Node *n, const void *const *inputs, void *output,
                        char *err, size_t errsz)
{
    if (!node_weights_bound(g, n)) {
        snprintf(err, errsz, "layer '%s' has no weights", n->name);
        return false;
    }
    void **buf = calloc((size_t)g->n_tensors + 1, sizeof *buf);
    size_t scratch_size = scratch_bytes(g, n);
    char *scratch = scratch_size < SIZE_MAX ? malloc(scratch_size + 1) : NULL;
    bool ok = buf && scratch;
    for (int i = 0; ok && i < n->n_inputs; i++)
        buf[n->inputs[i]] = (void *)inputs[i];
    if (ok)
        buf[n->output] = output;
    ok = ok && run_node(g, n, buf, scratch);
    if (!ok)
        snprintf(err, errsz, "out of memory running layer '%s'", n->name);
    free(buf);
    free(scratch);
    return ok;
}

size_t reference_scratch_bytes(const Graph *g, const char **layer)
{
    size_t largest = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        size_t s = scratch_bytes(g, &g->nodes[i]);
        if (s > largest) {
            largest = s;
            if (layer)
                *layer = g->nodes[i].name;
        }
    }
    return largest;
}

bool reference_run_typed(const Graph *g, const void *const *inputs, void *const *outputs, char *err,
                         size_t errsz)
{
    if (!check_ready(g, err, errsz))
        return false;
    void **buf = calloc((size_t)g->n_tensors + 1, sizeof *buf);
    char *scratch = malloc(reference_scratch_bytes(g, NULL));
    bool ok = buf && scratch;
    for (int i = 0; i < g->n_inputs && ok; i++)
        buf[g->inputs[i]] = (void *)inputs[i];
    for (int i = 0; i < g->n_nodes && ok; i++) {
        int t = g->nodes[i].output;
        buf[t] = malloc(tensor_bytes(&g->tensors[t]) + 1);
        ok = buf[t] != NULL;
    }
    for (int i = 0; i < g->n_nodes && ok; i++)
        ok = run_node(g, &g->nodes[i], buf, scratch);
    if (!ok)
        snprintf(err, errsz, "out of memory for activations");
    for (int i = 0; i < g->n_outputs && ok; i++) {
        int t = g->outputs[i];
        memcpy(outputs[i], buf[t], tensor_bytes(&g->tensors[t]));
    }
    for (int i = 0; buf && i < g->n_nodes; i++)
        free(buf[g->nodes[i].output]);
    free(buf);
    free(scratch);
    return ok;
}

bool reference_run(const Graph *g, const float *const *inputs, float *const *outputs, char *err,
                   size_t errsz)
{
    return reference_run_typed(g, (const void *const *)inputs, (void *const *)outputs, err, errsz);
}
