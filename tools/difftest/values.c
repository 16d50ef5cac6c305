/* Deterministic weights and inputs for any parsed network (difftest.h).
 *
 * Each tensor draws from its own splitmix64 stream, seeded by the seed and
 * the tensor's name, so values do not depend on the order of layers and a
 * saved .dnn gets the same values back. Only integer arithmetic, + - * /
 * and sqrt are used: the values are the same on every machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "weight_code.h"

typedef struct Stream {
    uint64_t s;
} Stream;

static uint64_t next_u64(Stream *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static double uniform(Stream *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next_u64(r) >> 11) / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static int64_t uniform_int(Stream *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

/* +-[lo, hi): a magnitude away from zero with a random sign. */
static double signed_away(Stream *r, double lo, double hi)
{
    double v = uniform(r, lo, hi);
    return next_u64(r) & 1 ? v : -v;
}

static Stream stream_for(uint64_t seed, const char *tag, const char *name)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = tag; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    Stream r = {seed ^ h};
    next_u64(&r);
    return r;
}

static const char *suffix_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* Stores v (already in range) as element i of an integer tensor of kind k
 * (u8, i8, i16 or i32: the generator makes no other). */
static void store_int(ElemKind k, void *data, int64_t i, int64_t v)
{
    if (k == ELEM_I8)
        ((int8_t *)data)[i] = (int8_t)v;
    else if (k == ELEM_U8)
        ((uint8_t *)data)[i] = (uint8_t)v;
    else if (k == ELEM_I16)
        ((int16_t *)data)[i] = (int16_t)v;
    else
        ((int32_t *)data)[i] = (int32_t)v;
}

/* An integer range for a parameter of kind k: zero points near the middle
 * of the type's range, weights and constants small. */
static void int_range(ElemKind k, const char *suffix, int64_t *lo, int64_t *hi)
{
    bool zp = strstr(suffix, "zero_point") != NULL;
    if (k == ELEM_U8) {
        *lo = zp ? 118 : 0, *hi = zp ? 138 : 16;
        if (zp && (is(suffix, "w_zero_point") || is(suffix, "b_zero_point")))
            *lo = 6, *hi = 10; /* the weights' side: values in [0, 16] */
    } else if (k == ELEM_I8) {
        *lo = zp ? -6 : -8, *hi = zp ? 6 : 8;
    } else {
        *lo = zp ? -100 : -100, *hi = zp ? 100 : 100;
    }
}

/* The number of terms of each sum of a quantised layer. */
static int64_t quant_terms(const Graph *g, const Node *n)
{
    if (n->op == OP_CONV_INTEGER || n->op == OP_QLINEAR_CONV) {
        const Tensor *w = &g->tensors[n->params[0]];
        return shape_elems(&w->shape) / w->shape.d[0];
    }
    const Shape *a = &g->tensors[n->inputs[0]].shape;
    return a->d[a->rank - 1];
}

static float *param_f32(const Graph *g, const Node *n, const char *suffix)
{
    for (int k = 0; k < n->n_params; k++) {
        const Tensor *p = &g->tensors[n->params[k]];
        if (is(suffix_of(p->name), suffix))
            return p->data;
    }
    return NULL;
}

static void fill_param(Graph *g, const Node *n, int k, uint64_t seed)
{
    Tensor *p = &g->tensors[n->params[k]];
    int64_t count = shape_elems(&p->shape);
    p->data = arena_array(&g->arena, (size_t)(count ? count : 1), elem_kind_size(p->type.kind));
    const char *suffix = suffix_of(p->name);
    Stream r = stream_for(seed, "param:", p->name);
    if (elem_is_code(p->type.kind)) { /* coded_conv's weights: any valid code, one a byte */
        for (int64_t i = 0; i < count; i++)
            do
                ((uint8_t *)p->data)[i] = (uint8_t)uniform_int(&r, 0, (1 << weight_code_bits(p->type)) - 1);
            while (!weight_code_valid(p->type, ((uint8_t *)p->data)[i]));
        return;
    }
    if (p->type.kind != ELEM_F32) {
        int64_t lo, hi;
        int_range(p->type.kind, suffix, &lo, &hi);
        if (is(suffix, "bias")) /* qlinear_conv's i32 bias */
            lo = -1000, hi = 1000;
        if (n->op == OP_CONSTANT && p->type.kind == ELEM_U8)
            lo = 0, hi = 40;
        for (int64_t i = 0; i < count; i++)
            store_int(p->type.kind, p->data, i, uniform_int(&r, lo, hi));
        return;
    }
    float *v = p->data;
    double fan_in = (double)count / (double)(p->shape.rank ? p->shape.d[0] : 1);
    for (int64_t i = 0; i < count; i++) {
        double x;
        switch (n->op) {
        case OP_CONV:
        case OP_FC:
            /* Variance 1/fan_in keeps activations of the same size layer
             * after layer; biases are not zero, so that their handling
             * shows. */
            x = is(suffix, "weight") ? uniform(&r, -1, 1) * sqrt(3.0 / fan_in) : uniform(&r, -0.5, 0.5);
            break;
        case OP_BATCHNORM: /* far from the identity */
            x = is(suffix, "weight")         ? signed_away(&r, 0.5, 1.5)
                : is(suffix, "running_var") ? uniform(&r, 0.5, 1.5)
                                            : uniform(&r, -0.5, 0.5);
            break;
        case OP_SCALE_SHIFT:
            x = is(suffix, "scale") ? signed_away(&r, 0.5, 1.5) : uniform(&r, -0.5, 0.5);
            break;
        case OP_PRELU:
            x = uniform(&r, -0.5, 0.5);
            break;
        case OP_CONSTANT: /* may be a divisor */
            x = signed_away(&r, 0.5, 1.5);
            break;
        case OP_QUANTIZE:
            x = uniform(&r, 0.01, 0.04);
            break;
        case OP_DEQUANTIZE:
            x = g->tensors[n->inputs[0]].type.kind == ELEM_I32 ? uniform(&r, 2e-4, 1e-3)
                                                               : uniform(&r, 0.002, 0.02);
            break;
        case OP_QLINEAR_CONV:
        case OP_QLINEAR_MATMUL:
            if (is(suffix, "y_scale")) {
                /* The output's step: about a 40th of the accumulator's
                 * spread (centred operands of about 60 and 5, sqrt(K) terms). */
                const float *xs = param_f32(g, n, n->op == OP_QLINEAR_CONV ? "x_scale" : "a_scale");
                const float *ws = param_f32(g, n, n->op == OP_QLINEAR_CONV ? "w_scale" : "b_scale");
                double base = xs && ws ? (double)xs[0] * ws[0] : 1e-3;
                x = base * 7.5 * sqrt((double)quant_terms(g, n)) * uniform(&r, 0.7, 1.3);
            } else {
                x = uniform(&r, 0.01, 0.04);
            }
            break;
        default:
            x = uniform(&r, -0.5, 0.5);
            break;
        }
        v[i] = (float)x;
    }
}

void dt_fill_weights(Graph *g, uint64_t seed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        /* y_scale reads the other scales: fill it last. */
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < n->n_params; k++) {
                bool last = is(suffix_of(g->tensors[n->params[k]].name), "y_scale");
                if (last == (pass == 1))
                    fill_param(g, n, k, seed);
            }
    }
}

bool dt_make_inputs(const Graph *g, uint64_t seed, Array *inputs, char *err, size_t errsz)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        if (!array_alloc(&inputs[i], t->type.kind, &t->shape, err, errsz)) {
            for (int k = 0; k < i; k++)
                array_free(&inputs[k]);
            return false;
        }
        Stream r = stream_for(seed, "input:", t->name);
        int64_t n = shape_elems(&t->shape);
        /* A few special values: signed zeros and subnormals among the floats
         * (which selections must pass on unchanged), the extremes of i32
         * (which integer layers wrap, and INT32_MIN / -1). */
        static const float special_f32[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 1.0f, -2.0f};
        static const int64_t special_i32[] = {INT32_MIN, INT32_MAX, -1, 0, 1, INT32_MIN + 1};
        for (int64_t k = 0; k < n; k++) {
            bool special = next_u64(&r) % 64 == 0;
            uint64_t pick = next_u64(&r) % 6;
            switch (t->type.kind) {
            case ELEM_F32:
                ((float *)inputs[i].data)[k] = special ? special_f32[pick] : (float)uniform(&r, -2, 2);
                break;
            case ELEM_U8: store_int(ELEM_U8, inputs[i].data, k, uniform_int(&r, 0, 255)); break;
            case ELEM_I8: store_int(ELEM_I8, inputs[i].data, k, uniform_int(&r, -128, 127)); break;
            case ELEM_I16: store_int(ELEM_I16, inputs[i].data, k, uniform_int(&r, -1000, 1000)); break;
            default:
                store_int(ELEM_I32, inputs[i].data, k, special ? special_i32[pick] : uniform_int(&r, -1000, 1000));
                break;
            }
        }
    }
    return true;
}

void dt_free_inputs(const Graph *g, Array *inputs)
{
    for (int i = 0; g && i < g->n_inputs; i++)
        array_free(&inputs[i]);
}
