/* Shared by the files of the ONNX importer. */
#ifndef DNNC_ONNX_INTERNAL_H
#define DNNC_ONNX_INTERNAL_H

#include <stdint.h>

#include "arena.h"
#include "fileio.h"
#include "graph.h"
#include "nametab.h"
#include "onnx.pb-c.h"
#include "onnx_import.h"

/* A value known at import time: an initializer, a Constant, or a folded
 * subgraph. INT64 tensors (shapes, axes, pads) keep their own storage since
 * the IR computes on f32, i8, u8 and i32 only. */
typedef struct OnnxConst {
    ElemKind kind; /* element type when !is_i64 */
    bool is_i64;
    Shape shape;
    void *data;    /* !is_i64 */
    int64_t *i64;  /* is_i64 */
    /* data lives in the graph's arena (an initializer's): a parameter of
     * the same type may take it as its own instead of a copy. */
    bool in_graph;
    /* A folded DequantizeLinear of integer weights: the grid they were on
     * (axis, per-axis scales and zero points in the importer's arena), so
     * that a layer's float weight parameter keeps it (Tensor.quant) and the
     * fuse-qdq pass can take the integers back. NULL otherwise. */
    const QuantParams *grid;
} OnnxConst;

/* What an ONNX value name stands for during import. */
typedef struct OnnxValue {
    int tensor;           /* IR tensor, or -1 */
    OnnxConst *constant;  /* known value, or NULL */
} OnnxValue;

typedef struct Importer {
    Graph *g;              /* the graph being built (a scratch graph while folding) */
    Graph *real;           /* while folding: the graph being built */
    Diag *d;
    int file;              /* diagnostics file index of the model */
    const char *base_dir;  /* for external data */
    int opset;
    Arena arena;           /* constants and names; freed after import */
    NameTable names;       /* ONNX value name -> index into values */
    OnnxValue *values;
    int n_values;
    size_t cap_values;
    const Onnx__NodeProto *node; /* the node being imported, for messages */
    int node_index;
    bool folding;          /* handlers run against a scratch graph */
    /* The model's bytes: the mapped file's (map.fd >= 0) or the caller's.
     * Initializers' raw bytes are read from them into `weights`. */
    const unsigned char *model;
    size_t model_len;
    MappedFile map;
    /* The initializers' raw bytes, read into one block (unpack_model): in
     * memory, or the mapping of weight_file when weights_dir holds one. */
    unsigned char *weights;
    size_t weights_len;
    const char *weights_dir;
    struct WeightFile *weight_file;
    bool weights_used; /* a tensor's data lies in it: the graph adopts it */
} Importer;

/* Whether p points into the importer's weights block. */
bool onnx_in_weights(const Importer *im, const void *p);


/* Errors name the node, its op type and the opset. */
void onnx_error(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* TensorProto -> constant (onnx_tensor.c). */
bool onnx_tensor_to_const(Importer *im, const Onnx__TensorProto *t, OnnxConst *out, char *err,
                          size_t errsz);
bool onnx_elem_kind(int32_t onnx_type, ElemKind *kind, bool *is_i64);
int64_t onnx_const_count(const OnnxConst *c);
/* Element i as double (any type, int64 included). */
double onnx_const_get(const OnnxConst *c, int64_t i);
/* Copies up to max elements of an integer constant (int64 or int32) into
 * out; the count, or -1 after reporting that `what` is not an integer
 * tensor. A count above max means there were too many. */
int onnx_const_ints(Importer *im, const OnnxConst *c, const char *what, int64_t *out, int max);

/* Values. */
OnnxValue *onnx_value(Importer *im, const char *name);
void onnx_bind_tensor(Importer *im, const char *name, int tensor);
void onnx_bind_const(Importer *im, const char *name, OnnxConst *c);
/* A valid, unused IR name derived from an ONNX name. */
const char *onnx_ir_name(Importer *im, const char *onnx_name, const char *suffix);

/* A `constant` layer holding c, named after onnx_name; -1 on error. */
int onnx_const_tensor(Importer *im, const char *onnx_name, const OnnxConst *c);

/* Node operands: input i of the current node. */
bool onnx_has_input(const Onnx__NodeProto *n, size_t i);
const OnnxConst *onnx_input_const(Importer *im, const Onnx__NodeProto *n, size_t i);
int onnx_input_tensor(Importer *im, const Onnx__NodeProto *n, size_t i);
const Shape *onnx_input_shape(Importer *im, const Onnx__NodeProto *n, size_t i);
ElemKind onnx_input_kind(Importer *im, const Onnx__NodeProto *n, size_t i);

/* Attributes of the current node. */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
double onnx_attr_float(const Onnx__NodeProto *n, const char *name, double def);
/* Copies up to max ints; returns the count, or -1 if absent. */
int onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max);
/* The string attribute, or def. */
const char *onnx_attr_string(Importer *im, const Onnx__NodeProto *n, const char *name,
                             const char *def);

/* Emits an IR node named after ONNX output `out_name` (+ suffix); -1 after
 * reporting an error. Returns the output tensor id. */
int onnx_emit(Importer *im, OpKind op, const Attrs *a, const int *inputs, int n_inputs,
              const char *out_name, const char *suffix);
/* Binds constant c (converted to the parameter's type) to parameter k of
 * the node that produced `tensor`; zero-fills when c is NULL. */
bool onnx_bind_param(Importer *im, int tensor, int k, const OnnxConst *c, const char *what);

/* Op handlers (onnx_ops.c). */
typedef bool (*OnnxHandler)(Importer *im, const Onnx__NodeProto *n);
OnnxHandler onnx_find_handler(const char *op_type);

#endif
