#include "sparsity.h"

#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "oom.h"
#include "reference.h"
#include "types.h"

double rlc_bits_measured(const float *data, int64_t count, const SpatialArch *a, int value_bits)
{
    int64_t max_run = ((int64_t)1 << a->rlc_run_bits) - 1;
    int64_t pairs_per_word = a->rlc_word_bits / (a->rlc_run_bits + value_bits);
    if (count <= 0 || pairs_per_word < 1)
        return value_bits;
    /* Each pair is a run of up to max_run zeros and the value after it. */
    int64_t pairs = 0, run = 0;
    for (int64_t i = 0; i < count; i++) {
        if (data[i] == 0 && run < max_run) {
            run++;
        } else {
            pairs++;
            run = 0;
        }
    }
    if (run)
        pairs++;
    int64_t words = (pairs + pairs_per_word - 1) / pairs_per_word;
    return (double)words * (double)a->rlc_word_bits / (double)count;
}

/* Zero fraction and RLC bits of a tensor's values in its own type, read
 * as floats (any integer type's zeros are exact there). */
static bool stats_of(const Tensor *t, const void *data, const SpatialArch *a, ActStats *out)
{
    int64_t n = shape_elems(&t->shape);
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v)
        return false;
    int64_t zeros = 0;
    for (int64_t i = 0; i < n; i++) {
        v[i] = (float)load_elem(t->type.kind, data, i);
        zeros += v[i] == 0;
    }
    *out = (ActStats){n ? (double)zeros / (double)n : 0, rlc_bits_measured(v, n, a, elem_type_bits(t->type))};
    free(v);
    return true;
}

bool sparsity_run_every_tensor(Graph *g, const void *const *inputs, void **values, char *err,
                               size_t errsz)
{
    /* Ask the executor for every node's output, then restore the graph's
     * own outputs: the run leaves the graph as it found it. The output list
     * grows in the graph's arena, which throws (oom.h). */
    int saved = g->n_outputs;
    for (int t = 0; t < g->n_tensors; t++)
        values[t] = NULL;
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        g->n_outputs = saved;
        snprintf(err, errsz, "out of memory for the activations");
        return false;
    }
    for (int i = 0; i < g->n_nodes; i++)
        graph_add_output(g, g->nodes[i].output);
    oom_pop(&oom);
    void **outs = calloc((size_t)g->n_outputs, sizeof *outs);
    bool ok = outs != NULL;
    for (int i = 0; ok && i < g->n_outputs; i++) {
        const Tensor *t = &g->tensors[g->outputs[i]];
        size_t bytes = (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
        outs[i] = malloc(bytes ? bytes : 1);
        ok = outs[i] != NULL;
    }
    if (!ok)
        snprintf(err, errsz, "out of memory for the activations");
    else
        ok = reference_run_typed(g, inputs, (void *const *)outs, err, errsz);
    /* A tensor that is an output twice (a graph output is also a node's)
     * keeps one buffer; the others are freed. */
    for (int i = 0; outs && i < g->n_outputs; i++) {
        int t = g->outputs[i];
        if (ok && !values[t])
            values[t] = outs[i];
        else
            free(outs[i]);
    }
    free(outs);
    g->n_outputs = saved;
    return ok;
}

bool measure_activations(Graph *g, const float *const *inputs, const SpatialArch *a,
                         ActStats *stats, char *err, size_t errsz)
{
    void **values = calloc((size_t)g->n_tensors + 1, sizeof *values);
    bool ok = values && sparsity_run_every_tensor(g, (const void *const *)inputs, values, err,
                                                  errsz);
    if (!values)
        snprintf(err, errsz, "out of memory for the activations");
    for (int t = 0; ok && t < g->n_tensors; t++)
        if (values[t] && !stats_of(&g->tensors[t], values[t], a, &stats[t])) {
            snprintf(err, errsz, "out of memory for the activations");
            ok = false;
        }
    for (int i = 0; ok && i < g->n_inputs; i++)
        if (!stats_of(&g->tensors[g->inputs[i]], inputs[i], a, &stats[g->inputs[i]])) {
            snprintf(err, errsz, "out of memory for the activations");
            ok = false;
        }
    for (int t = 0; values && t < g->n_tensors; t++)
        free(values[t]);
    free(values);
    return ok;
}

/* Ops whose output is zero wherever (or, for pooling, mostly where) their
 * input is: zeros from a ReLU survive them. Quantize and dequantize map 0
 * to the zero point, which is 0 in the fixed-point formats (fixed16 and
 * fixed8) that the accelerator runs. */
static bool keeps_zeros(OpKind op)
{
    switch (op) {
    case OP_MAXPOOL: case OP_AVGPOOL: case OP_LRN: case OP_DROPOUT: case OP_FLATTEN:
    case OP_RESHAPE: case OP_CONCAT: case OP_SLICE: case OP_GLOBAL_MAXPOOL:
    case OP_QUANTIZE: case OP_DEQUANTIZE:
        return true;
    default:
        return false;
    }
}

/* Clipping at 0 zeroes the negatives as a ReLU does; clipping above 0
 * leaves no zero at all, below 0 only exact zeros. */
static bool rectifying(int act_kind, double min)
{
    return act_kind == ACT_RELU || (act_kind == ACT_CLIP && min == 0);
}

/* A qlinear_conv that absorbed its ReLU (the quantize pass): a u8 output
 * of zero point 0, whose saturation at 0 is the ReLU. */
static bool absorbed_relu(const Graph *g, const Node *n)
{
    enum { Y_ZERO_POINT = 6 }; /* ir/shape.c's qlinear_conv params: w, x, w, y scale/zero point */
    if (n->attr.qconv.out_type != ELEM_U8 || n->n_params <= Y_ZERO_POINT)
        return false;
    const Tensor *zp = &g->tensors[n->params[Y_ZERO_POINT]];
    return zp->data && zp->type.kind == ELEM_U8 && ((const uint8_t *)zp->data)[0] == 0;
}

bool sparsity_rectifies(const Graph *g, const Node *n)
{
    switch (n->op) {
    case OP_QLINEAR_CONV: return absorbed_relu(g, n);
    case OP_RELU: return true;
    case OP_CLIP: return rectifying(ACT_CLIP, n->attr.clip.min);
    case OP_CONV: return rectifying(n->attr.conv.act.kind, n->attr.conv.act.min);
    case OP_FC: return rectifying(n->attr.fc.act.kind, n->attr.fc.act.min);
    case OP_CODED_CONV: return rectifying(n->attr.coded.conv.act.kind, n->attr.coded.conv.act.min);
    default: return false;
    }
}

void assume_activations(const Graph *g, double relu_zero, ActStats *stats)
{
    for (int t = 0; t < g->n_tensors; t++)
        stats[t] = (ActStats){0, 0};
    /* Nodes are in topological order, so producers come first. */
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        double z = 0;
        if (sparsity_rectifies(g, n))
            z = relu_zero;
        else if (keeps_zeros(n->op) && n->n_inputs > 0)
            z = stats[n->inputs[0]].zero;
        stats[n->output].zero = z;
    }
}
