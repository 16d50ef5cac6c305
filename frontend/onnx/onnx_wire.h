/* Splitting a serialised ONNX model at the protobuf wire level, so that its
 * weights are never copied: the model without its graph's initializers
 * (a small copy for protobuf-c), each initializer's place in the file, and
 * in each initializer the place of its raw bytes, which the graph then uses
 * where they lie. The wire format: https://protobuf.dev/programming-guides/encoding/ */
#ifndef DNNC_ONNX_WIRE_H
#define DNNC_ONNX_WIRE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct WireSlice {
    size_t offset, len;
} WireSlice;

typedef struct WireBytes {
    unsigned char *data; /* malloc'd */
    size_t len, cap;
} WireBytes;

/* The model in b[0, len) split: `rest` is the ModelProto with every
 * GraphProto.initializer removed, `initializers` where each of those lay
 * (in order). False, with nothing allocated, when the bytes are malformed,
 * use groups, hold more or fewer than one graph, or memory runs out: the
 * caller then unpacks the whole model as it is, which reports what is wrong. */
typedef struct WireModel {
    WireBytes rest;
    WireSlice *initializers;
    size_t n_initializers;
} WireModel;

bool wire_split_model(const unsigned char *b, size_t len, WireModel *out);
void wire_model_free(WireModel *m);

/* The TensorProto in b[0, len) split: `rest` is it without its raw_data
 * field, `raw` where the raw bytes lie (relative to b). False when raw_data
 * does not occur exactly once, or as for wire_split_model. */
bool wire_split_tensor(const unsigned char *b, size_t len, WireBytes *rest, WireSlice *raw);

#endif
