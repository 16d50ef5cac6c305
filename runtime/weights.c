#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code_pack.h"
#include "oom.h"
#include "weight_code.h"

/* The layer a parameter belongs to, for messages. */
static const char *owner_name(const Graph *g, int tensor)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            if (g->nodes[i].params[k] == tensor)
                return g->nodes[i].name;
    return "?";
}

/* Weight codes are stored packed (code_pack.h): a U8 vector of the packed
 * bytes, unpacked here and every code checked. */
static bool bind_codes(Graph *g, int t, const NamedArray *a, const char *file, Diag *d)
{
    Tensor *p = &g->tensors[t];
    int64_t count = shape_elems(&p->shape), bytes = code_pack_bytes(p->type, count), bad;
    char ty[32];
    elem_type_format(p->type, ty, sizeof ty);
    if (a->array.dtype != ELEM_U8 || a->array.shape.rank != 1 || a->array.shape.d[0] != bytes) {
        diag_error(d, p->loc, "layer '%s': '%s' in %s must be U8 [%lld]: %lld %s codes of %d bits, packed",
                   owner_name(g, t), p->name, file, (long long)bytes, (long long)count, ty,
                   weight_code_bits(p->type));
        return false;
    }
    if (!code_unpack(p->type, a->array.data, count, graph_new_data(g, t), &bad)) {
        if (bad == count)
            diag_error(d, p->loc, "layer '%s': '%s' in %s: the padding bits after the last code are not 0",
                       owner_name(g, t), p->name, file);
        else
            diag_error(d, p->loc, "layer '%s': '%s' in %s: element %lld is not a %s code",
                       owner_name(g, t), p->name, file, (long long)bad, ty);
        return false;
    }
    return true;
}

static bool bind_one(Graph *g, int t, const NamedArray *a, const char *file, Diag *d)
{
    Tensor *p = &g->tensors[t];
    if (elem_is_code(p->type.kind))
        return bind_codes(g, t, a, file, d);
    char want[300], got[300];
    shape_format(&p->shape, want, sizeof want);
    shape_format(&a->array.shape, got, sizeof got);
    if (!shape_equal(&p->shape, &a->array.shape)) {
        diag_error(d, p->loc, "layer '%s': '%s' in %s has shape %s, expected %s", owner_name(g, t),
                   p->name, file, got, want);
        return false;
    }
    if (a->array.dtype != p->type.kind) {
        diag_error(d, p->loc, "layer '%s': '%s' in %s has dtype %s, expected %s", owner_name(g, t),
                   p->name, file, elem_kind_name(a->array.dtype), elem_kind_name(p->type.kind));
        return false;
    }
    memcpy(graph_new_data(g, t), a->array.data, a->array.nbytes);
    return true;
}

static bool bind_all(Graph *g, const SafeTensors *st, const char *file, Diag *d)
{
    bool ok = true;
    for (int t = 0; t < g->n_tensors; t++) {
        Tensor *p = &g->tensors[t];
        if (p->kind != TENSOR_PARAM)
            continue;
        const NamedArray *a = safetensors_find(st, p->name);
        if (!a) {
            char want[300];
            shape_format(&p->shape, want, sizeof want);
            diag_error(d, p->loc, "layer '%s': weight '%s' (%s%s) is missing from %s",
                       owner_name(g, t), p->name, elem_kind_name(p->type.kind), want, file);
            ok = false;
            continue;
        }
        ok &= bind_one(g, t, a, file, d);
    }
    for (int i = 0; i < st->count; i++) {
        int t = graph_find_tensor(g, st->items[i].name);
        if (t < 0 || g->tensors[t].kind != TENSOR_PARAM) {
            diag_error(d, SRCLOC_NONE, "%s: tensor '%s' is not a weight of this network", file,
                       st->items[i].name);
            ok = false;
        }
    }
    return ok;
}

bool weights_bind(Graph *g, const SafeTensors *st, const char *file, Diag *d)
{
    /* Parameter data lives in the graph's arena, which throws (oom.h). */
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        diag_error(d, SRCLOC_NONE, "%s: out of memory binding the weights (%zu bytes)", file,
                   oom_failed_bytes());
        return false;
    }
    bool ok = bind_all(g, st, file, d);
    oom_pop(&oom);
    return ok;
}

bool weights_load(Graph *g, const char *path, Diag *d)
{
    SafeTensors st;
    char err[1024];
    if (!safetensors_read(path, &st, err, sizeof err)) {
        diag_error(d, SRCLOC_NONE, "%s", err);
        return false;
    }
    bool ok = weights_bind(g, &st, path, d);
    safetensors_free(&st);
    return ok;
}

/* splitmix64: tiny, fast, and the same sequence everywhere. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double next_unit(uint64_t *s) { return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0; }

/* Box-Muller; one normal per call keeps the stream simple to reproduce. */
static double next_normal(uint64_t *s)
{
    double u = next_unit(s), v = next_unit(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Each tensor's stream depends only on the seed and its name, so adding a
 * layer does not change the weights of the others. */
static uint64_t tensor_seed(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603u;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211u;
    return seed ^ h;
}

static const char *param_suffix(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* Integer parameters (quantised weights, zero points) get small values
 * (weight codes: any valid code)
 * that keep every quantised computation in range: weights uniform in
 * [-8, 8] (i8, i16) or [0, 16] (u8), zero points 0 (i8, i16) or 8 (u8). */
static void fill_integer(Tensor *p, int64_t count, uint64_t seed)
{
    uint64_t s = tensor_seed(seed, p->name);
    bool zero_point = strstr(param_suffix(p->name), "zero_point") != NULL;
    if (elem_is_code(p->type.kind)) { /* codes drawn among the valid ones */
        for (int64_t i = 0; i < count; i++)
            do
                ((uint8_t *)p->data)[i] = (uint8_t)(next_u64(&s) % (1u << weight_code_bits(p->type)));
            while (!weight_code_valid(p->type, ((uint8_t *)p->data)[i]));
        return;
    }
    for (int64_t i = 0; i < count; i++) {
        int v = zero_point ? 0 : (int)(next_u64(&s) % 17) - 8;
        if (p->type.kind == ELEM_U8)
            ((uint8_t *)p->data)[i] = (uint8_t)(v + 8);
        else if (p->type.kind == ELEM_I8)
            ((int8_t *)p->data)[i] = (int8_t)v;
        else if (p->type.kind == ELEM_I16)
            ((int16_t *)p->data)[i] = (int16_t)v;
        else
            ((int32_t *)p->data)[i] = v;
    }
}

/* The value every element of a float parameter starts with, or NAN for
 * parameters drawn at random. */
static float constant_init(const Node *n, const char *suffix)
{
    if (n->op == OP_BATCHNORM)
        return strcmp(suffix, "weight") == 0 || strcmp(suffix, "running_var") == 0 ? 1.0f : 0.0f;
    if (n->op == OP_SCALE_SHIFT)
        return strcmp(suffix, "scale") == 0 ? 1.0f : 0.0f;
    if (n->op == OP_PRELU)
        return 0.25f;
    if (strcmp(suffix, "bias") == 0)
        return 0.0f;
    if (strstr(suffix, "scale"))
        return 1.0f / 64; /* quantisation steps */
    return NAN;
}

static void fill_param(Graph *g, const Node *n, int k, uint64_t seed)
{
    Tensor *p = &g->tensors[n->params[k]];
    int64_t count = shape_elems(&p->shape);
    graph_new_data(g, n->params[k]);
    if (p->type.kind != ELEM_F32) {
        fill_integer(p, count, seed);
        return;
    }
    float *data = p->data;
    float constant = constant_init(n, param_suffix(p->name));
    if (!isnan(constant)) {
        for (int64_t i = 0; i < count; i++)
            data[i] = constant;
        return;
    }
    uint64_t s = tensor_seed(seed, p->name);
    double fan_in = (double)count / (double)(p->shape.rank ? p->shape.d[0] : 1);
    double std = sqrt(2.0 / fan_in);
    for (int64_t i = 0; i < count; i++)
        data[i] = (float)(std * next_normal(&s));
}

bool weights_randomize(Graph *g, uint64_t seed)
{
    /* Parameter data lives in the graph's arena, which throws (oom.h). */
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env))
        return false;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            fill_param(g, &g->nodes[i], k, seed);
    oom_pop(&oom);
    return true;
}

/* The packed bytes of a tensor of weight codes, as a U8 vector; false when
 * out of memory. */
static bool packed_array(const Tensor *p, Array *out)
{
    int64_t count = shape_elems(&p->shape), bytes = code_pack_bytes(p->type, count);
    out->dtype = ELEM_U8;
    out->shape = (Shape){1, {bytes}};
    out->nbytes = (size_t)bytes;
    out->data = malloc(bytes ? (size_t)bytes : 1);
    if (out->data)
        code_pack(p->type, p->data, count, out->data);
    return out->data != NULL;
}

static void free_packed(const Graph *g, NamedArray *items, int n)
{
    for (int i = 0; i < n; i++)
        if (elem_is_code(g->tensors[graph_find_tensor(g, items[i].name)].type.kind))
            free(items[i].array.data);
    free(items);
}

bool weights_save(const Graph *g, const char *path, char *err, size_t errsz)
{
    NamedArray *items = calloc((size_t)g->n_tensors + 1, sizeof *items);
    if (!items) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const Tensor *p = &g->tensors[t];
        if (p->kind != TENSOR_PARAM || !p->data)
            continue;
        /* The arrays borrow the graph's data, except the packed codes. */
        items[n].name = (char *)p->name;
        if (elem_is_code(p->type.kind)) {
            if (!packed_array(p, &items[n++].array)) {
                snprintf(err, errsz, "out of memory packing '%s'", p->name);
                free_packed(g, items, n - 1);
                return false;
            }
            continue;
        }
        items[n].array.dtype = p->type.kind;
        items[n].array.shape = p->shape;
        items[n].array.data = p->data;
        items[n].array.nbytes = (size_t)shape_elems(&p->shape) * elem_kind_size(p->type.kind);
        n++;
    }
    bool ok = safetensors_write(path, items, n, err, errsz);
    free_packed(g, items, n);
    return ok;
}
