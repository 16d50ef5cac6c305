/* onnx.TensorProto to a constant: raw or typed storage, or external data
 * that must stay inside the model's folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "fileio.h"
#include "onnx_internal.h"
#include "oom.h"

enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_INT32 = 6, ONNX_INT64 = 7,
};

bool onnx_elem_kind(int32_t onnx_type, ElemKind *kind, bool *is_i64)
{
    *is_i64 = false;
    switch (onnx_type) {
    case ONNX_FLOAT: *kind = ELEM_F32; return true;
    case ONNX_UINT8: *kind = ELEM_U8; return true;
    case ONNX_INT8: *kind = ELEM_I8; return true;
    case ONNX_INT32: *kind = ELEM_I32; return true;
    case ONNX_INT64: *kind = ELEM_I32, *is_i64 = true; return true;
    default: return false;
    }
}

static const char *onnx_type_name(int32_t t)
{
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16",
                                        "int32", "int64", "string", "bool", "float16", "double",
                                        "uint32", "uint64", "complex64", "complex128", "bfloat16"};
    return t >= 0 && t < (int32_t)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

int64_t onnx_const_count(const OnnxConst *c) { return shape_elems(&c->shape); }

double onnx_const_get(const OnnxConst *c, int64_t i)
{
    if (c->is_i64)
        return (double)c->i64[i];
    switch (c->kind) {
    case ELEM_F32: return ((const float *)c->data)[i];
    case ELEM_I8: return ((const int8_t *)c->data)[i];
    case ELEM_U8: return ((const uint8_t *)c->data)[i];
    case ELEM_I32: return ((const int32_t *)c->data)[i];
    default: return 0;
    }
}

int onnx_const_ints(Importer *im, const OnnxConst *c, const char *what, int64_t *out, int max)
{
    if (!c->is_i64 && c->kind != ELEM_I32) {
        onnx_error(im, "%s must be an integer tensor (int64), not %s", what, elem_kind_name(c->kind));
        return -1;
    }
    int64_t n = onnx_const_count(c);
    for (int64_t i = 0; i < n && i < max; i++)
        out[i] = c->is_i64 ? c->i64[i] : ((const int32_t *)c->data)[i];
    return n > max ? max + 1 : (int)n;
}

static size_t const_elem_size(const OnnxConst *c) { return c->is_i64 ? 8 : elem_kind_size(c->kind); }

/* An initializer's values go to the graph's arena when there is a graph:
 * the parameters that take them then share them (onnx_bind_param) instead
 * of holding a second copy of every weight. */
static void *const_storage(Importer *im, OnnxConst *c, int64_t count)
{
    c->in_graph = im->g != NULL;
    void *p = arena_array(c->in_graph ? &im->g->arena : &im->arena, (size_t)(count ? count : 1),
                          const_elem_size(c));
    if (c->is_i64)
        c->i64 = p;
    else
        c->data = p;
    return p;
}

/* An initializer's values stay where they were read (the importer's
 * weights block, or protobuf-c's block), which the graph adopts instead of
 * holding a copy: a model's weights are then in memory once. The message
 * is the importer's own; its raw_data is left empty, so freeing the message
 * does not free the block. */
static void adopt_raw_data(Importer *im, Onnx__TensorProto *t, OnnxConst *c)
{
    if (onnx_in_weights(im, t->raw_data.data))
        im->weights_used = true; /* the graph adopts the whole block (importer_free) */
    else
        graph_adopt(im->g, t->raw_data.data);
    c->in_graph = true;
    if (c->is_i64)
        c->i64 = (int64_t *)t->raw_data.data; /* 16-byte aligned at least: any type */
    else
        c->data = t->raw_data.data;
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
}

/* ONNX keeps int8, uint8 and int16 values in int32_data, one per entry. */
static bool from_typed_fields(const Onnx__TensorProto *t, OnnxConst *c, int64_t count, char *err,
                              size_t errsz)
{
    size_t have = c->is_i64 ? t->n_int64_data : c->kind == ELEM_F32 ? t->n_float_data : t->n_int32_data;
    if (have != (size_t)count) {
        snprintf(err, errsz, "tensor '%s' holds %zu values but its dims need %lld", t->name, have,
                 (long long)count);
        return false;
    }
    for (int64_t i = 0; i < count; i++) {
        if (c->is_i64)
            c->i64[i] = t->int64_data[i];
        else if (c->kind == ELEM_F32)
            ((float *)c->data)[i] = t->float_data[i];
        else if (c->kind == ELEM_I32)
            ((int32_t *)c->data)[i] = t->int32_data[i];
        else if (c->kind == ELEM_I8)
            ((int8_t *)c->data)[i] = (int8_t)t->int32_data[i];
        else
            ((uint8_t *)c->data)[i] = (uint8_t)t->int32_data[i];
    }
    return true;
}

static const char *external_field(const Onnx__TensorProto *t, const char *key)
{
    for (size_t i = 0; i < t->n_external_data; i++)
        if (t->external_data[i]->key && strcmp(t->external_data[i]->key, key) == 0)
            return t->external_data[i]->value;
    return NULL;
}

/* External data must be a relative path that stays inside the model's
 * folder: no leading '/', no '..' component. */
static bool safe_relative_path(const char *p)
{
    if (!p || !*p || p[0] == '/')
        return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += len + (e ? 1 : 0);
    }
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s)
        return false;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    *out = v;
    return *s && !*end && s[0] != '-';
}

static bool from_external(Importer *im, const Onnx__TensorProto *t, void *dst, size_t need,
                          char *err, size_t errsz)
{
    const char *location = external_field(t, "location");
    if (!safe_relative_path(location)) {
        snprintf(err, errsz, "tensor '%s': external data path '%s' leaves the model's folder",
                 t->name, location ? location : "");
        return false;
    }
    uint64_t offset = 0, length = need;
    const char *off_s = external_field(t, "offset"), *len_s = external_field(t, "length");
    if ((off_s && !parse_u64(off_s, &offset)) || (len_s && !parse_u64(len_s, &length)) ||
        length != need) {
        snprintf(err, errsz, "tensor '%s': external data offset/length do not describe %zu bytes",
                 t->name, need);
        return false;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", im->base_dir, location);
    unsigned char *bytes;
    size_t len;
    if (!read_whole_file(path, ONNX_MAX_FILE, &bytes, &len, err, errsz))
        return false;
    bool ok = offset <= len && need <= len - offset;
    if (ok)
        memcpy(dst, bytes + offset, need);
    else
        snprintf(err, errsz, "tensor '%s': %s has %zu bytes, fewer than offset %llu + %zu", t->name,
                 location, len, (unsigned long long)offset, need);
    free(bytes);
    return ok;
}

bool onnx_tensor_to_const(Importer *im, const Onnx__TensorProto *t, OnnxConst *c, char *err,
                          size_t errsz)
{
    memset(c, 0, sizeof *c);
    if (!onnx_elem_kind(t->data_type, &c->kind, &c->is_i64)) {
        snprintf(err, errsz, "tensor '%s' has element type %s, which dnnc does not support",
                 t->name ? t->name : "", onnx_type_name(t->data_type));
        return false;
    }
    if (t->n_dims > DNNC_MAX_RANK) {
        snprintf(err, errsz, "tensor '%s' has rank %zu; dnnc supports up to %d", t->name, t->n_dims,
                 DNNC_MAX_RANK);
        return false;
    }
    c->shape.rank = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++)
        c->shape.d[i] = t->dims[i];
    int64_t count;
    if (!shape_count(&c->shape, &count)) {
        snprintf(err, errsz, "tensor '%s' has negative dims or more than 2^48 elements", t->name);
        return false;
    }
    size_t need = (size_t)count * const_elem_size(c);
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* The declared dims are untrusted: the data must be there before any
     * memory is set aside for it. */
    if (!external && t->has_raw_data && t->raw_data.len != need) {
        snprintf(err, errsz, "tensor '%s' has %zu raw bytes but its dims and type need %zu", t->name,
                 t->raw_data.len, need);
        return false;
    }
    if (!external && !t->has_raw_data) {
        size_t have = c->is_i64 ? t->n_int64_data : c->kind == ELEM_F32 ? t->n_float_data : t->n_int32_data;
        if (have != (size_t)count) {
            snprintf(err, errsz, "tensor '%s' holds %zu values but its dims need %lld", t->name, have,
                     (long long)count);
            return false;
        }
    }
    if (external && need > ONNX_MAX_FILE) {
        snprintf(err, errsz, "tensor '%s' is larger than the %zu-byte limit", t->name, ONNX_MAX_FILE);
        return false;
    }
    if (!external && t->has_raw_data && need > 0 && im->g && !im->folding) {
        adopt_raw_data(im, (Onnx__TensorProto *)t, c);
        return true;
    }
    void *dst = const_storage(im, c, count);
    if (external)
        return from_external(im, t, dst, need, err, errsz);
    if (t->has_raw_data) {
        memcpy(dst, t->raw_data.data, need); /* little-endian, as the host */
        return true;
    }
    return from_typed_fields(t, c, count, err, errsz);
}

bool onnx_read_tensor_file(const char *path, Array *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!read_whole_file(path, ONNX_MAX_FILE, &bytes, &len, err, errsz))
        return false;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (!t) {
        snprintf(err, errsz, "%s: not a serialised onnx.TensorProto", path);
        return false;
    }
    /* On the heap: a throw (oom.h) must find the arena as it was. */
    Importer *im = calloc(1, sizeof *im);
    if (!im) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        snprintf(err, errsz, "%s: out of memory", path);
        return false;
    }
    arena_init(&im->arena);
    im->base_dir = ".";
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        arena_free(&im->arena);
        free(im);
        onnx__tensor_proto__free_unpacked(t, NULL);
        snprintf(err, errsz, "%s: out of memory", path);
        return false;
    }
    OnnxConst c;
    char why[512];
    bool ok = onnx_tensor_to_const(im, t, &c, why, sizeof why);
    oom_pop(&oom);
    if (ok && c.is_i64) {
        snprintf(why, sizeof why, "int64 tensors are not supported as data");
        ok = false;
    }
    if (ok && (ok = array_alloc(out, c.kind, &c.shape, why, sizeof why)))
        memcpy(out->data, c.data, out->nbytes);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    arena_free(&im->arena);
    free(im);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return ok;
}
