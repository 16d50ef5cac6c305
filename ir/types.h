/* Element types, shapes, layouts, quantisation parameters and sparse
 * encodings of IR tensors. Everything DESIGN.md lists exists here from the
 * start, so later passes (quantisation, pruning, mapping) only fill it in. */
#ifndef DNNC_TYPES_H
#define DNNC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNNC_MAX_RANK 8

/* X(enum, spelling, default bits) */
#define DNNC_ELEM_KINDS(X)                                                          \
    X(ELEM_F32, "f32", 32)                                                          \
    X(ELEM_F16, "f16", 16)                                                          \
    X(ELEM_BF16, "bf16", 16)                                                        \
    X(ELEM_I8, "i8", 8)                                                             \
    X(ELEM_U8, "u8", 8)                                                             \
    X(ELEM_I16, "i16", 16)                                                          \
    X(ELEM_I32, "i32", 32) /* also the accumulator type of integer layers */        \
    X(ELEM_FIXED, "fixed", 16) /* dynamic fixed point: fixed<bits,frac>  (VII-A) */ \
    X(ELEM_LOG2, "log2", 4)    /* power-of-two codes: log2<bits>          (VII-A) */ \
    X(ELEM_CODEBOOK, "codebook", 4) /* weight-sharing indices: codebook<bits>   */   \
    X(ELEM_BINARY, "binary", 1)     /* BWN: {-a, +a} */                              \
    X(ELEM_TERNARY, "ternary", 2)   /* TWN: {-a, 0, +a} */

typedef enum {
#define X(e, s, b) e,
    DNNC_ELEM_KINDS(X)
#undef X
    ELEM_KIND_COUNT
} ElemKind;

typedef struct ElemType {
    ElemKind kind;
    uint8_t bits; /* storage bits; meaningful for fixed, log2 and codebook */
    int8_t frac;  /* fractional bits of fixed<bits,frac> when per tensor */
} ElemType;

ElemType elem_type_default(ElemKind k);
const char *elem_kind_name(ElemKind k);
bool elem_kind_from_name(const char *s, ElemKind *out);
/* Writes the source spelling (f32, fixed<16,8>, log2<4>, ...) into buf. */
void elem_type_format(ElemType t, char *buf, size_t size);
bool elem_type_equal(ElemType a, ElemType b);
/* Bytes per element of the types tensors can hold data in (f32, i8, u8, i16,
 * i32, and the weight codes below, one code a byte in memory); 0 for the
 * others, which passes only annotate. */
size_t elem_kind_size(ElemKind k);
/* The weight codes of coded_conv (log2, codebook, binary, ternary): each
 * element is a code that its layer's scale or codebook decodes
 * (ir/weight_code.h). Only weights hold them. */
bool elem_is_code(ElemKind k);
/* Element i of typed data is not zero. */
bool elem_nonzero(ElemKind k, const void *data, int64_t i);
/* Storage size in bits of one element. */
int elem_type_bits(ElemType t);

typedef struct Shape {
    int rank;
    int64_t d[DNNC_MAX_RANK];
} Shape;

bool shape_equal(const Shape *a, const Shape *b);
/* Element count; false if it overflows DNNC_MAX_ELEMS. */
bool shape_count(const Shape *s, int64_t *out);
/* Element count of a shape already validated by the IR. */
int64_t shape_elems(const Shape *s);
/* NumPy broadcasting: shapes align on the right, each dimension equal or 1.
 * False if a and b do not broadcast. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
/* "[1, 3, 224, 224]" */
void shape_format(const Shape *s, char *buf, size_t size);

/* How an activation's elements lie in memory (@layout; docs/layouts.md).
 * The values are the same in every layout: a layout is where code
 * generation puts them. LAYOUT_NCHW16C is channels blocked by 16,
 * [N][ceil(C / 16)][H][W][16] for a logical [N, C, H, W]: where C is not a
 * multiple of 16 the last block is padded, its lanes past C holding values
 * no kernel reads as channels. Weights have no layout in the IR: each
 * kernel's packing lays them out at compile time. */
typedef enum {
    LAYOUT_NCHW,    /* plain row-major: every tensor unless a layer says otherwise */
    LAYOUT_NCHW16C,
} Layout;

/* Channels per block of LAYOUT_NCHW16C. */
#define LAYOUT_BLOCK 16

const char *layout_name(Layout l);
bool layout_from_name(const char *s, Layout *out);
/* Whether a tensor of shape s can be held in layout l (rank 4 for a
 * blocked one); if not, why in `why`. */
bool layout_fits_shape(Layout l, const Shape *s, char *why, size_t whysz);
/* The channels a tensor of c channels stores in layout l: c, or c rounded
 * up to whole blocks. */
int64_t layout_stored_channels(Layout l, int64_t c);
/* The elements a tensor of shape s (which fits l) takes in memory. */
int64_t layout_stored_elems(Layout l, const Shape *s);

/* Quantisation parameters (survey VII-A). axis < 0: one value for the tensor;
 * otherwise one value per index along `axis` (per-channel). */
typedef struct QuantParams {
    int axis;
    int count;
    float *scale;        /* uniform (int8/uint8): real = scale * (q - zero_point) */
    int32_t *zero_point;
    int8_t *frac_bits;   /* dynamic fixed point: real = q * 2^-frac */
    float *codebook;     /* weight sharing: real = codebook[q] */
    int codebook_size;
} QuantParams;

typedef enum {
    SPARSE_NONE,
    SPARSE_CSR, /* compressed sparse row (VII-B3) */
    SPARSE_CSC, /* compressed sparse column, as EIE stores FC weights */
    SPARSE_RLC, /* run-length coding of zeros, as Eyeriss compresses activations */
} SparseFormat;

const char *sparse_format_name(SparseFormat f);
bool sparse_format_from_name(const char *s, SparseFormat *out);

/* A constant tensor's sparse encoding, viewed as a rows x cols matrix
 * (rows = first dimension, cols = product of the rest). */
typedef struct SparseData {
    SparseFormat format;
    int64_t rows, cols, nnz;
    int64_t *ptr;   /* CSR: rows+1 row starts; CSC: cols+1 column starts */
    int32_t *index; /* CSR: column of each value; CSC: row of each value */
    float *values;
    /* RLC: pairs (zero run, value) with runs of at most rlc_max_run */
    uint16_t *runs;
    int rlc_run_bits;
} SparseData;

#endif
