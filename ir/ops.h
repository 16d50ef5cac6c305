/* Ops, their typed attribute structs and the attribute schema that parses,
 * validates and prints them. See ops.def for the list of ops. */
#ifndef DNNC_OPS_H
#define DNNC_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

typedef enum {
#define OP(e, s, at, lo, hi, inf, mac, ref) OP_##e,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

typedef struct ConvAttrs {
    int64_t filters;
    int64_t kernel[2], stride[2], dilation[2];
    int64_t pad[4]; /* top, left, bottom, right (ONNX order) */
    int64_t groups;
    bool bias;
} ConvAttrs;

typedef struct FcAttrs {
    int64_t units;
    bool bias;
} FcAttrs;

typedef struct PoolAttrs {
    int64_t kernel[2], stride[2];
    int64_t pad[4];
    bool ceil;              /* ceil instead of floor for the output size */
    bool count_include_pad; /* avgpool: divide by the full window, pads included */
} PoolAttrs;

typedef struct AlphaAttrs {
    double alpha; /* leaky_relu: negative slope; elu: saturation value */
} AlphaAttrs;

typedef struct MaxoutAttrs {
    int64_t pieces; /* max over this many consecutive channels */
} MaxoutAttrs;

typedef struct AxisAttrs {
    int64_t axis;
} AxisAttrs;

typedef struct BatchnormAttrs {
    double eps;
} BatchnormAttrs;

typedef struct LrnAttrs {
    int64_t size;
    double alpha, beta, bias; /* bias is k in the AlexNet paper */
} LrnAttrs;

typedef struct ReshapeAttrs {
    Shape shape; /* 0 copies the input dimension, -1 is inferred */
} ReshapeAttrs;

typedef struct DropoutAttrs {
    double rate; /* kept for round-trips; inference is the identity */
} DropoutAttrs;

typedef struct SliceAttrs {
    int64_t axis, start, end; /* [start, end) along axis */
} SliceAttrs;

typedef union Attrs {
    ConvAttrs conv;
    FcAttrs fc;
    PoolAttrs pool;
    AlphaAttrs alpha;
    MaxoutAttrs maxout;
    AxisAttrs axis;
    BatchnormAttrs batchnorm;
    LrnAttrs lrn;
    ReshapeAttrs reshape;
    DropoutAttrs dropout;
    SliceAttrs slice;
} Attrs;

typedef enum {
    ATTR_INT,   /* int64_t */
    ATTR_FLOAT, /* double */
    ATTR_BOOL,  /* bool */
    ATTR_PAIR,  /* int64_t[2] (h, w); a scalar sets both */
    ATTR_PADS,  /* int64_t[4] (top, left, bottom, right); scalar or [h, w] accepted */
    ATTR_SHAPE, /* Shape: a list of up to DNNC_MAX_RANK integers */
} AttrKind;

typedef struct AttrSpec {
    const char *name;
    AttrKind kind;
    size_t offset; /* into Attrs */
    bool required;
    double def;    /* default for every element when not required */
    double min;    /* smallest accepted value (for every element) */
    const char *doc;
} AttrSpec;

/* A literal attribute value as written in source (the frontend builds these). */
typedef enum { VAL_INT, VAL_FLOAT, VAL_BOOL, VAL_LIST, VAL_SYMBOL } ValueKind;

typedef struct Value {
    ValueKind kind;
    int64_t i;
    double f;
    bool b;
    const char *sym;
    const struct Value *items;
    int n;
} Value;

typedef struct OpInfo {
    const char *name;
    const AttrSpec *attrs; /* terminated by a NULL name; NULL for none */
    int min_inputs, max_inputs;
} OpInfo;

const OpInfo *op_info(OpKind op);
bool op_from_name(const char *name, OpKind *out);
const char *op_name(OpKind op);

const AttrSpec *op_find_attr(OpKind op, const char *name);
/* Sets every attribute of op to its default (required ones to 0). */
void attrs_init_defaults(OpKind op, Attrs *a);
/* Stores v into attribute spec of a; on failure writes a message naming what
 * was expected and returns false. */
bool attr_set(const AttrSpec *spec, Attrs *a, const Value *v, char *err, size_t errsz);
bool attr_is_default(const AttrSpec *spec, const Attrs *a);
/* Appends "name=value" in canonical source form. */
void attr_format(const AttrSpec *spec, const Attrs *a, char *buf, size_t size);

/* Shortest decimal text that reads back as the same double. */
void format_double(double v, char *buf, size_t size);

#endif
