/* The tolerance of every output element (difftest.h).
 *
 * Two correct implementations of a network differ only by rounding: the
 * reference sums in double and rounds each layer once; compiled code sums
 * in float32 in its own order (blocked, vectorised, with fused
 * multiply-adds); the optimised graph rounds in other places (a batch norm
 * folded into the weights, an add fused into the epilogue, a constant
 * layer folded by the reference). The tolerance is built in two steps.
 *
 * 1. A local bound per layer and element: what float32 rounding may change
 *    in that layer's own result, for any order of its operations. With
 *    u = 2^-24 and gamma(k) = k u / (1 - k u), a sum of K products differs
 *    from the exact one by at most gamma(K) * sum |w_i x_i| (Higham,
 *    Accuracy and Stability of Numerical Algorithms, 2nd ed., 3.1; it holds
 *    for every summation order and with fused multiply-adds). So:
 *      conv, fc      gamma(K + 4) * A,  K = C/groups * kh * kw (conv) or the
 *                    row length (fc); A = the layer run on |x| with |w|, |bias|
 *                    and |residual| (the +4 covers the bias, the residual, a
 *                    batch norm folded into the weights and the final
 *                    rounding); times max(1, |alpha|) under a leaky epilogue
 *      matmul        gamma(K + 2) * (|a| |b|)
 *      avgpool       gamma(window + 2) * avg |x|; global_avgpool likewise
 *      batchnorm     8u * ((|x| + |mean|) |scale| + |shift|): the scale
 *                    and shift computed in float32, then one multiply-add
 *      scale_shift   3u * (|x| |scale| + |shift|)
 *      add, sub      (n + 1) u * sum |operands| (n operands, folded)
 *      mul, div      (n + 1) u |y| and 2u |y|: correctly rounded operations
 *      leaky_relu, prelu      2u |y|
 *      sigmoid, tanh, elu     4u |y|: float32 expf, tanhf, expm1f are within
 *                             2 ulp, then a division or multiplication
 *      selu          6u |y|;  hard_sigmoid  3u (|alpha x| + |beta|)
 *      softmax       |y| (2u max|x| + (K + 6) u): x - max rounded
 *                    (an absolute error of u max|x| in the exponent), a sum
 *                    of K terms, then the division
 *      log_softmax   2u (|x| + max|x| + ln K + 1) + (K + 6) u + u |y|
 *      lrn           (|beta| (size + 3) + 6) u |y|
 *    plus 1e-37 for results that underflow differently. Selections and
 *    copies (relu, clip, max, min, maxpool, maxout, concat, slice, pad,
 *    transpose, the views, constants) round nothing, and so do the integer
 *    layers: their sums are exact in int64 and in double (|sum| < 2^53),
 *    and every backend requantises with the same double expression, so
 *    their bound is 0.
 *
 * 2. The propagation of those local differences to the outputs. The
 *    rigorous first-order bound (|W| times the error, layer after layer)
 *    grows like sqrt(K) per layer more than real rounding does, because
 *    rounding errors do not line up with the signs of the weights. So the
 *    propagation is measured instead: the reference runs the graph TRIALS
 *    more times, each layer's result displaced by its local bound with a
 *    random sign per element, and the deviation D of each output element
 *    from the undisturbed run is what rounding of that size does to it
 *    downstream (through every op, continuous or not, with the reference's
 *    own kernels). The tolerance of output element k is
 *        tol_k = FACTOR * (max over trials D_k + e_k + 0.25 rms(D))
 *    The local bounds themselves are worst cases (a K-term sum typically
 *    errs by about sqrt(K) u |terms|, not K u sum |terms|), FACTOR = 4
 *    covers rounding that correlates more than random signs do, and the
 *    output layer's own local bound e_k and the rms term cover an element
 *    whose displacements happened to cancel in every trial. A value no rounding reaches (integer layers, selections
 *    of the inputs) has D = 0 and must be equal, bit for bit as a number.
 *    Measured over the long run (docs/testing.md): the largest error of
 *    any element is a few percent of its tolerance, while a wrong tap,
 *    bias, padding value or broadcast is off by the size of the values.
 *
 * Quantisation is discontinuous: a float that carries rounding error may
 * round to the next step, and every integer layer after it amplifies that.
 * So dt_tolerance refuses a graph where quantize reads a value that any
 * rounding reaches; the generator only quantises exact values (inputs,
 * constants, and selections and copies of them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "reference.h"

#define U 5.9604644775390625e-08 /* 2^-24 */
#define TRIALS 4
#define FACTOR 4.0
#define FLOOR 1e-37

static double gamma_k(double k) { return k * U / (1 - k * U); }

static size_t tensor_bytes(const Tensor *t)
{
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

/* One buffer per tensor id: inputs and activations (parameters live in the graph). */
typedef struct Buffers {
    void **buf;
    int n;
} Buffers;

static bool buffers_alloc(const Graph *g, const Array *inputs, Buffers *b)
{
    b->n = g->n_tensors;
    b->buf = calloc((size_t)g->n_tensors + 1, sizeof *b->buf);
    if (!b->buf)
        return false;
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        b->buf[g->inputs[i]] = malloc(tensor_bytes(t) + 1);
        if (!b->buf[g->inputs[i]])
            return false;
        memcpy(b->buf[g->inputs[i]], inputs[i].data, tensor_bytes(t));
    }
    for (int i = 0; i < g->n_nodes; i++) {
        int t = g->nodes[i].output;
        b->buf[t] = calloc(1, tensor_bytes(&g->tensors[t]) + 1);
        if (!b->buf[t])
            return false;
    }
    return true;
}

static void buffers_free(Buffers *b)
{
    for (int i = 0; b->buf && i < b->n; i++)
        free(b->buf[i]);
    free(b->buf);
    b->buf = NULL;
}

static bool run_node(const Graph *g, const Node *n, void **buf, void *out, char *err, size_t errsz)
{
    const void *ins[64];
    if (n->n_inputs > 64) {
        snprintf(err, errsz, "layer '%s' has more than 64 operands", n->name);
        return false;
    }
    for (int i = 0; i < n->n_inputs; i++)
        ins[i] = buf[n->inputs[i]];
    return reference_run_node(g, n, ins, out, err, errsz);
}

static bool is_float(const Graph *g, int t) { return g->tensors[t].type.kind == ELEM_F32; }

/* The graph whose layers compute A, the sums of magnitudes: every
 * parameter of the layers that need one replaced by its magnitude (a batch
 * norm's mean by minus its magnitude, so that x - mean adds up), and fused
 * activations removed. */
static Graph *magnitude_graph(const Graph *g)
{
    Graph *m = graph_clone(g);
    if (!m)
        return NULL;
    for (int i = 0; i < m->n_nodes; i++) {
        Node *n = &m->nodes[i];
        if (n->op == OP_CONV)
            n->attr.conv.act.kind = ACT_NONE;
        if (n->op == OP_FC)
            n->attr.fc.act.kind = ACT_NONE;
        if (n->op != OP_CONV && n->op != OP_FC && n->op != OP_BATCHNORM && n->op != OP_SCALE_SHIFT)
            continue;
        for (int k = 0; k < n->n_params; k++) {
            int t = n->params[k];
            if (!is_float(m, t) || !m->tensors[t].data)
                continue;
            const float *old = m->tensors[t].data;
            int64_t count = shape_elems(&m->tensors[t].shape);
            float *v = graph_new_data(m, t);
            bool negate = n->op == OP_BATCHNORM && k == 2; /* running_mean */
            for (int64_t e = 0; e < count; e++)
                v[e] = negate ? -fabsf(old[e]) : fabsf(old[e]);
        }
    }
    return m;
}

static int64_t axis_length(const Shape *s, int64_t axis)
{
    return s->d[axis < 0 ? axis + s->rank : axis];
}

/* The magnitudes A of node i: the magnitude graph's layer run on |operands|
 * (the subtrahend of sub negated). */
static bool magnitudes(const Graph *m, int i, void **val, float *A, char *err, size_t errsz)
{
    const Node *n = &m->nodes[i];
    float *abs_in[64];
    bool ok = n->n_inputs <= 64;
    for (int k = 0; ok && k < n->n_inputs; k++) {
        const Tensor *t = &m->tensors[n->inputs[k]];
        int64_t count = shape_elems(&t->shape);
        abs_in[k] = malloc((size_t)count * sizeof(float) + 1);
        ok = abs_in[k] != NULL;
        for (int64_t e = 0; ok && e < count; e++) {
            float v = fabsf(((const float *)val[n->inputs[k]])[e]);
            abs_in[k][e] = n->op == OP_SUB && k == 1 ? -v : v;
        }
        if (!ok)
            snprintf(err, errsz, "out of memory");
    }
    const void *ins[64];
    for (int k = 0; ok && k < n->n_inputs; k++)
        ins[k] = abs_in[k];
    ok = ok && reference_run_node(m, n, ins, A, err, errsz);
    for (int k = 0; k < n->n_inputs && k < 64; k++)
        free(abs_in[k]);
    return ok;
}

/* The local bound e of node i of g (see the top of the file); false with a
 * reason on failure. `exact` is set when the bound is 0 everywhere. */
static bool local_bound(const Graph *g, const Graph *m, int i, void **val, double *e, bool *exact,
                        char *err, size_t errsz)
{
    const Node *n = &g->nodes[i];
    const Tensor *out = &g->tensors[n->output];
    int64_t count = shape_elems(&out->shape);
    for (int64_t k = 0; k < count; k++)
        e[k] = 0;
    *exact = true;
    if (out->type.kind != ELEM_F32)
        return true; /* integer layers are exact */
    const float *y = val[n->output];
    const float *x = n->n_inputs ? val[n->inputs[0]] : NULL;
    bool float_in = n->n_inputs && is_float(g, n->inputs[0]);
    double sum_terms = -1, rel = -1; /* e = gamma(sum_terms) * A, or rel * |y| */
    switch (n->op) {
    case OP_CONV: {
        const Tensor *w = &g->tensors[n->params[0]];
        sum_terms = (double)(shape_elems(&w->shape) / w->shape.d[0]) + 4;
        break;
    }
    case OP_FC:
        sum_terms = (double)(shape_elems(&g->tensors[n->inputs[0]].shape) / g->tensors[n->inputs[0]].shape.d[0]) + 4;
        break;
    case OP_MATMUL: {
        const Shape *s = &g->tensors[n->inputs[0]].shape;
        sum_terms = (double)s->d[s->rank - 1] + 2;
        break;
    }
    case OP_AVGPOOL:
        sum_terms = (double)(n->attr.pool.kernel[0] * n->attr.pool.kernel[1]) + 2;
        break;
    case OP_GLOBAL_AVGPOOL: {
        const Shape *s = &g->tensors[n->inputs[0]].shape;
        sum_terms = (double)(shape_elems(s) / (s->d[0] * s->d[1])) + 2;
        break;
    }
    case OP_BATCHNORM:
    case OP_SCALE_SHIFT:
    case OP_ADD:
    case OP_SUB:
        if (!float_in)
            return true;
        sum_terms = 0; /* set below */
        break;
    case OP_MUL:
        if (!float_in)
            return true;
        rel = (n->n_inputs + 1) * U;
        break;
    case OP_DIV:
        if (!float_in)
            return true;
        rel = 2 * U;
        break;
    case OP_LEAKY_RELU:
    case OP_PRELU:
        rel = 2 * U;
        break;
    case OP_SIGMOID:
    case OP_TANH:
    case OP_ELU:
        rel = 4 * U;
        break;
    case OP_SELU:
        rel = 6 * U;
        break;
    case OP_LRN:
        rel = (fabs(n->attr.lrn.beta) * ((double)n->attr.lrn.size + 3) + 6) * U;
        break;
    case OP_HARD_SIGMOID:
        for (int64_t k = 0; k < count; k++)
            e[k] = 3 * U * (fabs(n->attr.hard_sigmoid.alpha * x[k]) + fabs(n->attr.hard_sigmoid.beta)) + FLOOR;
        *exact = false;
        return true;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: {
        const Shape *s = &out->shape;
        double K = (double)axis_length(s, n->attr.axis.axis), mx = 0;
        for (int64_t k = 0; k < count; k++)
            mx = fmax(mx, fabs((double)x[k]));
        for (int64_t k = 0; k < count; k++)
            e[k] = n->op == OP_SOFTMAX
                       ? fabs((double)y[k]) * (2 * U * mx + (K + 6) * U) + FLOOR
                       : 2 * U * (fabs((double)x[k]) + mx + log(K) + 1) + (K + 6) * U + U * fabs((double)y[k]);
        *exact = false;
        return true;
    }
    default:
        return true; /* selections, copies, constants, dequantize: exact */
    }
    *exact = false;
    if (rel >= 0) {
        for (int64_t k = 0; k < count; k++)
            e[k] = rel * fabs((double)y[k]) + FLOOR;
        return true;
    }
    float *A = malloc((size_t)count * sizeof(float) + 1);
    if (!A) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    if (!magnitudes(m, i, val, A, err, errsz)) {
        free(A);
        return false;
    }
    double lip = 1;
    if (n->op == OP_CONV && n->attr.conv.act.kind == ACT_LEAKY_RELU)
        lip = fmax(1, fabs(n->attr.conv.act.alpha));
    if (n->op == OP_FC && n->attr.fc.act.kind == ACT_LEAKY_RELU)
        lip = fmax(1, fabs(n->attr.fc.act.alpha));
    double scale = gamma_k(sum_terms);
    if (n->op == OP_BATCHNORM)
        scale = 8 * U;
    else if (n->op == OP_SCALE_SHIFT)
        scale = 3 * U;
    else if (n->op == OP_ADD || n->op == OP_SUB)
        scale = (n->n_inputs + 1) * U;
    for (int64_t k = 0; k < count; k++)
        e[k] = lip * scale * fabs((double)A[k]) + U * fabs((double)y[k]) + FLOOR;
    free(A);
    return true;
}

void dt_tolerance_free(DtTolerance *t)
{
    for (int i = 0; i < t->n_outputs; i++) {
        if (t->tol)
            free(t->tol[i]);
        if (t->oracle)
            array_free(&t->oracle[i]);
    }
    free(t->tol);
    free(t->oracle);
    memset(t, 0, sizeof *t);
}

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

bool dt_tolerance(const Graph *g, const Array *inputs, DtTolerance *t, char *err, size_t errsz)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *x = &g->tensors[g->inputs[i]];
        if (inputs[i].dtype != x->type.kind || !shape_equal(&inputs[i].shape, &x->shape)) {
            snprintf(err, errsz, "input '%s' does not have the declared type and shape", x->name);
            return false;
        }
    }
    Buffers val = {0}, pert[TRIALS] = {{0}};
    double **bound = calloc((size_t)g->n_nodes + 1, sizeof *bound);
    bool *exact = calloc((size_t)g->n_tensors + 1, sizeof *exact);
    Graph *m = magnitude_graph(g);
    bool ok = bound && exact && m && buffers_alloc(g, inputs, &val);
    for (int k = 0; ok && k < TRIALS; k++)
        ok = buffers_alloc(g, inputs, &pert[k]);
    if (!ok)
        snprintf(err, errsz, "out of memory");

    /* The undisturbed run (the oracle), the local bounds and which values
     * rounding reaches. */
    for (int i = 0; i < g->n_inputs; i++)
        exact[g->inputs[i]] = true;
    t->finite = true;
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        ok = run_node(g, n, val.buf, val.buf[n->output], err, errsz);
        const Tensor *o = &g->tensors[n->output];
        int64_t count = shape_elems(&o->shape);
        bound[i] = ok ? malloc((size_t)count * sizeof(double) + 1) : NULL;
        ok = ok && bound[i];
        bool local_exact = true;
        ok = ok && local_bound(g, m, i, val.buf, bound[i], &local_exact, err, errsz);
        bool in_exact = true;
        for (int k = 0; k < n->n_inputs; k++)
            in_exact = in_exact && exact[n->inputs[k]];
        exact[n->output] = local_exact && in_exact;
        if (ok && n->op == OP_QUANTIZE && !in_exact) {
            snprintf(err, errsz,
                     "layer '%s' quantizes a value that carries rounding error: its steps may "
                     "legitimately differ, so the graph cannot be compared exactly", n->name);
            ok = false;
        }
        if (ok && o->type.kind == ELEM_F32)
            for (int64_t k = 0; k < count; k++) {
                double v = ((const float *)val.buf[n->output])[k];
                if (!isfinite(v))
                    t->finite = false;
                else
                    t->max_abs = fmax(t->max_abs, fabs(v));
            }
    }
    for (int i = 0; ok && i < g->n_inputs; i++)
        if (inputs[i].dtype == ELEM_F32)
            for (int64_t k = 0; k < array_count(&inputs[i]); k++)
                t->max_abs = fmax(t->max_abs, fabs((double)((const float *)inputs[i].data)[k]));

    /* The disturbed runs. */
    uint64_t signs = 0x5eed5eedu;
    for (int trial = 0; ok && trial < TRIALS; trial++)
        for (int i = 0; ok && i < g->n_nodes; i++) {
            const Node *n = &g->nodes[i];
            ok = run_node(g, n, pert[trial].buf, pert[trial].buf[n->output], err, errsz);
            if (!ok || !is_float(g, n->output))
                continue;
            float *y = pert[trial].buf[n->output];
            int64_t count = shape_elems(&g->tensors[n->output].shape);
            for (int64_t k = 0; k < count; k++)
                if (bound[i][k] > 0)
                    y[k] = (float)((double)y[k] + (next_u64(&signs) & 1 ? bound[i][k] : -bound[i][k]));
        }

    /* The tolerances of the outputs: the largest deviation, plus the output
     * layer's own bound (which the other layers' displacements may have
     * cancelled in every trial), plus a quarter of the deviations' rms. */
    t->n_outputs = g->n_outputs;
    t->tol = ok ? calloc((size_t)g->n_outputs + 1, sizeof *t->tol) : NULL;
    t->oracle = ok ? calloc((size_t)g->n_outputs + 1, sizeof *t->oracle) : NULL;
    if (ok && (!t->tol || !t->oracle)) {
        snprintf(err, errsz, "out of memory");
        ok = false;
    }
    for (int o = 0; ok && o < g->n_outputs; o++) {
        int id = g->outputs[o];
        const Tensor *ot = &g->tensors[id];
        int64_t count = shape_elems(&ot->shape);
        ok = array_alloc(&t->oracle[o], ot->type.kind, &ot->shape, err, errsz);
        t->tol[o] = calloc((size_t)count + 1, sizeof(double));
        if (ok && !t->tol[o]) {
            snprintf(err, errsz, "out of memory");
            ok = false;
        }
        if (!ok)
            break;
        memcpy(t->oracle[o].data, val.buf[id], tensor_bytes(ot));
        if (ot->type.kind != ELEM_F32)
            continue; /* integers: equal */
        double sum_sq = 0;
        const float *ref = val.buf[id];
        for (int64_t k = 0; k < count; k++) {
            double d = 0;
            for (int trial = 0; trial < TRIALS; trial++)
                d = fmax(d, fabs((double)((const float *)pert[trial].buf[id])[k] - (double)ref[k]));
            t->tol[o][k] = d;
            sum_sq += d * d;
        }
        double rms = sqrt(sum_sq / (double)count);
        int p = ot->producer;
        for (int64_t k = 0; k < count; k++)
            t->tol[o][k] = FACTOR * (t->tol[o][k] + (p >= 0 ? bound[p][k] : 0) + 0.25 * rms);
    }

    for (int i = 0; bound && i < g->n_nodes; i++)
        free(bound[i]);
    free(bound);
    free(exact);
    graph_free(m);
    buffers_free(&val);
    for (int k = 0; k < TRIALS; k++)
        buffers_free(&pert[k]);
    if (!ok)
        dt_tolerance_free(t);
    return ok;
}
