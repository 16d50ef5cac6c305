/* Ops, their typed attribute structs and the attribute schema that parses,
 * validates and prints them. See ops.def for the list of ops. */
#ifndef DNNC_OPS_H
#define DNNC_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

typedef enum {
#define OP(e, s, at, lo, hi, ty, inf, mac, ref) OP_##e,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

/* An activation fused into the layer that produces its operand (the
 * epilogue of conv and fc, set by the fuse_epilogue pass or written in
 * source): y = act(sum + bias + residual). */
typedef enum { ACT_NONE, ACT_RELU, ACT_LEAKY_RELU, ACT_CLIP } ActKind;

typedef struct Activation {
    int kind;        /* ActKind */
    double alpha;    /* leaky_relu: slope for x < 0 */
    double min, max; /* clip: bounds */
} Activation;

typedef struct ConvAttrs {
    int64_t filters;
    int64_t kernel[2], stride[2], dilation[2];
    int64_t pad[4]; /* top, left, bottom, right (ONNX order) */
    int64_t groups;
    bool bias;
    Activation act;
} ConvAttrs;

typedef struct FcAttrs {
    int64_t units;
    bool bias;
    Activation act;
} FcAttrs;

typedef struct PoolAttrs {
    int64_t kernel[2], stride[2], dilation[2];
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

/* A list of integers longer than a shape: pad amounts for every dimension. */
#define INT_LIST_MAX (2 * DNNC_MAX_RANK)
typedef struct IntList {
    int n;
    int64_t v[INT_LIST_MAX];
} IntList;

typedef struct PreluAttrs {
    Shape slope_shape; /* rank 0: one slope per channel, [C]; otherwise broadcast to the input */
} PreluAttrs;

typedef struct ClipAttrs {
    double min, max;
} ClipAttrs;

typedef struct HardSigmoidAttrs {
    double alpha, beta; /* max(0, min(1, alpha * x + beta)) */
} HardSigmoidAttrs;

typedef struct SeluAttrs {
    double alpha, gamma;
} SeluAttrs;

typedef struct TransposeAttrs {
    IntList perm; /* empty: reverse the dimensions */
} TransposeAttrs;

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } PadMode;

typedef struct PadAttrs {
    IntList pads; /* begin of every dimension, then end of every dimension */
    double value;
    int mode;     /* PadMode */
} PadAttrs;

typedef struct ConstantAttrs {
    Shape shape;
    int dtype; /* ElemKind */
} ConstantAttrs;

/* quantize / dequantize: real = scale * (q - zero_point), per tensor or
 * per index along axis. */
typedef struct QuantizeAttrs {
    int dtype;     /* ElemKind of the quantised side: u8 or i8 */
    int64_t axis;
    bool per_axis; /* scale and zero_point hold one value per index along axis */
} QuantizeAttrs;

/* conv_integer and qlinear_conv: a convolution on quantised operands. */
typedef struct QConvAttrs {
    ConvAttrs conv;
    int weight_type; /* ElemKind: u8 or i8 */
    int out_type;    /* qlinear_conv: ElemKind of the output */
    bool per_channel; /* weight scale / zero point per output channel */
} QConvAttrs;

/* coded_conv: a float convolution (activation fused as conv's) whose
 * weights are codes of weight_type: log2 or codebook of weight_bits bits,
 * binary or ternary (ir/weight_code.h). */
typedef struct CodedConvAttrs {
    ConvAttrs conv;
    int weight_type;     /* ElemKind: log2, codebook, binary or ternary */
    int64_t weight_bits; /* log2 and codebook: bits a code */
    bool per_channel;    /* one scale per filter (log2, binary, ternary) */
} CodedConvAttrs;

typedef struct QMatmulAttrs {
    int out_type;     /* qlinear_matmul: ElemKind of the output */
    bool per_column;  /* b's scale / zero point per output column */
} QMatmulAttrs;

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
    PreluAttrs prelu;
    ClipAttrs clip;
    HardSigmoidAttrs hard_sigmoid;
    SeluAttrs selu;
    TransposeAttrs transpose;
    PadAttrs pad;
    ConstantAttrs constant;
    QuantizeAttrs quantize;
    QConvAttrs qconv;
    CodedConvAttrs coded;
    QMatmulAttrs qmatmul;
} Attrs;

typedef enum {
    ATTR_INT,   /* int64_t */
    ATTR_FLOAT, /* double */
    ATTR_BOOL,  /* bool */
    ATTR_PAIR,  /* int64_t[2] (h, w); a scalar sets both */
    ATTR_PADS,  /* int64_t[4] (top, left, bottom, right); scalar or [h, w] accepted */
    ATTR_SHAPE, /* Shape: a list of up to DNNC_MAX_RANK integers */
    ATTR_INTS,  /* IntList: up to INT_LIST_MAX integers */
    ATTR_ENUM,  /* int: the index of a name in AttrSpec.choices */
    ATTR_TYPE,  /* int: an ElemKind, written f32, i8, u8, i32, ... */
} AttrKind;

typedef struct AttrSpec {
    const char *name;
    AttrKind kind;
    size_t offset; /* into Attrs */
    bool required;
    double def;    /* default for every element when not required */
    double min;    /* smallest accepted value (for every element) */
    const char *doc;
    const char *const *choices; /* ATTR_ENUM: the names, NULL-terminated */
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

/* Which element types an op's operands may have. */
typedef enum {
    TYPES_FLOAT, /* f32 only */
    TYPES_DATA,  /* f32, i8, u8, i16 or i32, every operand the same */
    TYPES_OWN,   /* checked by the op's shape rule */
} OperandTypes;

typedef struct OpInfo {
    const char *name;
    const AttrSpec *attrs; /* terminated by a NULL name; NULL for none */
    int min_inputs, max_inputs;
    OperandTypes types;
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
/* Checks every attribute of op against its minimum and the IR's size limit,
 * whoever set it (the parser checks as it reads; importers fill attributes
 * directly). */
bool attrs_validate(OpKind op, const Attrs *a, char *err, size_t errsz);
/* Appends "name=value" in canonical source form. */
void attr_format(const AttrSpec *spec, const Attrs *a, char *buf, size_t size);

/* Shortest decimal text that reads back as the same double. */
void format_double(double v, char *buf, size_t size);

#endif
