/* Walking the protobuf wire format of ModelProto, GraphProto and
 * TensorProto (onnx.proto field numbers) far enough to lift the weights out
 * without decoding them. Every length is checked against what is left of
 * its enclosing message before it is used. */
#include "onnx_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW_DATA = 9 };
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

typedef struct WireField {
    uint64_t number;
    int type;
    size_t start; /* the key */
    size_t value; /* WIRE_LEN: the payload after its length */
    size_t end;
} WireField;

static bool read_varint(const unsigned char *b, size_t end, size_t *at, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *at < end; shift += 7) {
        unsigned char c = b[(*at)++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* The field at *at, which must end by `end`; false if it is malformed or a
 * group (deprecated; ONNX never writes them). */
static bool next_field(const unsigned char *b, size_t end, size_t *at, WireField *f)
{
    uint64_t key, n;
    f->start = *at;
    if (!read_varint(b, end, at, &key) || key >> 3 == 0)
        return false;
    f->number = key >> 3;
    f->type = (int)(key & 7);
    switch (f->type) {
    case WIRE_VARINT:
        if (!read_varint(b, end, at, &n))
            return false;
        break;
    case WIRE_I64:
    case WIRE_I32: {
        size_t width = f->type == WIRE_I64 ? 8 : 4;
        if (end - *at < width)
            return false;
        *at += width;
        break;
    }
    case WIRE_LEN:
        if (!read_varint(b, end, at, &n) || n > end - *at)
            return false;
        f->value = *at;
        *at += (size_t)n;
        break;
    default:
        return false;
    }
    f->end = *at;
    return true;
}

static bool put(WireBytes *w, const void *p, size_t n)
{
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap *= 2;
        unsigned char *grown = realloc(w->data, cap);
        if (!grown)
            return false;
        w->data = grown;
        w->cap = cap;
    }
    if (n)
        memcpy(w->data + w->len, p, n);
    w->len += n;
    return true;
}

static bool put_varint(WireBytes *w, uint64_t v)
{
    unsigned char buf[10];
    size_t n = 0;
    do {
        buf[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return put(w, buf, n);
}

/* The fields of the message in b[begin, end) other than `number` copied to
 * `rest`; where each `number` field's payload lies goes to *found (grown as
 * needed, *n_found of them). */
static bool split_fields(const unsigned char *b, size_t begin, size_t end, uint64_t number, WireBytes *rest,
                         WireSlice **found, size_t *n_found)
{
    size_t cap = 0;
    *n_found = 0;
    for (size_t at = begin; at < end;) {
        WireField f;
        if (!next_field(b, end, &at, &f))
            return false;
        if (f.number != number || f.type != WIRE_LEN) {
            if (!put(rest, b + f.start, f.end - f.start))
                return false;
            continue;
        }
        if (*n_found == cap) {
            cap = cap ? 2 * cap : 64;
            WireSlice *grown = realloc(*found, cap * sizeof *grown);
            if (!grown)
                return false;
            *found = grown;
        }
        (*found)[(*n_found)++] = (WireSlice){f.value, f.end - f.value};
    }
    return true;
}

/* Where the model's one graph field lies; false unless there is exactly one. */
static bool find_graph(const unsigned char *b, size_t len, WireField *graph)
{
    int graphs = 0;
    for (size_t at = 0; at < len;) {
        WireField f;
        if (!next_field(b, len, &at, &f))
            return false;
        if (f.number == MODEL_GRAPH && f.type == WIRE_LEN) {
            *graph = f;
            graphs++;
        }
    }
    return graphs == 1;
}

bool wire_split_model(const unsigned char *b, size_t len, WireModel *out)
{
    memset(out, 0, sizeof *out);
    WireField graph = {0};
    if (!find_graph(b, len, &graph))
        return false;
    WireBytes graph_rest = {0};
    bool ok = split_fields(b, graph.value, graph.end, GRAPH_INITIALIZER, &graph_rest, &out->initializers,
                           &out->n_initializers) &&
              put(&out->rest, b, graph.start) && put_varint(&out->rest, (uint64_t)MODEL_GRAPH << 3 | WIRE_LEN) &&
              put_varint(&out->rest, graph_rest.len) && put(&out->rest, graph_rest.data, graph_rest.len) &&
              put(&out->rest, b + graph.end, len - graph.end);
    free(graph_rest.data);
    if (!ok)
        wire_model_free(out);
    return ok;
}

void wire_model_free(WireModel *m)
{
    free(m->rest.data);
    free(m->initializers);
    memset(m, 0, sizeof *m);
}

bool wire_split_tensor(const unsigned char *b, size_t len, WireBytes *rest, WireSlice *raw)
{
    memset(rest, 0, sizeof *rest);
    WireSlice *found = NULL;
    size_t n = 0;
    bool ok = split_fields(b, 0, len, TENSOR_RAW_DATA, rest, &found, &n) && n == 1;
    if (ok)
        *raw = found[0];
    free(found);
    if (!ok) {
        free(rest->data);
        memset(rest, 0, sizeof *rest);
    }
    return ok;
}
