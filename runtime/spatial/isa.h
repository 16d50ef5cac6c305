/* The instruction set of the spatial accelerator (docs/isa.md): what
 * codegen/spatial writes and the simulator (runtime/spatial) executes.
 *
 * Three units run decoupled, as in TVM's VTA: LD moves tiles from DRAM to
 * the global buffer, EX configures the PE array and runs processing passes
 * on the buffered tiles, ST moves psums and finished outputs back to DRAM.
 * Each instruction may pop and push dependency tokens on the queues between
 * neighbouring units (LD <-> EX <-> ST), so that a stream says explicitly
 * when a tile is ready and when its space may be reused.
 *
 * An instruction is 256 bits: a 6-bit opcode, 4 dependency flags, 6
 * reserved bits, then its operands packed least significant bit first in
 * the order of its field table (isa_table.c). Unused bits are zero.
 *
 * Decoded, an instruction is an IsaInstr: the opcode, the flags and the
 * operands as int64_t, named per opcode by the IsaField enums below. */
#ifndef DNNC_SPATIAL_ISA_H
#define DNNC_SPATIAL_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISA_INSTR_BYTES 32
#define ISA_MAX_FIELDS 16

/* The unit that executes an instruction. */
typedef enum { ISA_UNIT_LD, ISA_UNIT_EX, ISA_UNIT_ST, ISA_UNIT_COUNT } IsaUnit;

/* Dependency flags (VTA's): pop a token the previous / next unit pushed
 * before running, push one to the previous / next unit after. LD has no
 * previous unit and ST no next one. */
enum {
    ISA_POP_PREV = 1,
    ISA_POP_NEXT = 2,
    ISA_PUSH_PREV = 4,
    ISA_PUSH_NEXT = 8,
};

/* opcode, mnemonic, unit. Opcode 0 is invalid (zeroed memory is no program). */
#define DNNC_ISA_OPS(X)                                                     \
    X(ISA_CFG_LAYER, "cfg.layer", ISA_UNIT_EX)  /* start a layer */         \
    X(ISA_CFG_SHAPE, "cfg.shape", ISA_UNIT_EX)  /* N M C P Q R S */         \
    X(ISA_CFG_CONV, "cfg.conv", ISA_UNIT_EX)    /* input, stride, pad... */ \
    X(ISA_CFG_FIXED, "cfg.fixed", ISA_UNIT_EX)  /* Q formats, ReLU */       \
    X(ISA_CFG_LOOP, "cfg.loop", ISA_UNIT_EX)    /* one level's bounds */    \
    X(ISA_CFG_ORDER, "cfg.order", ISA_UNIT_EX)  /* one level's order */     \
    X(ISA_CFG_MAP, "cfg.map", ISA_UNIT_EX)      /* the dataflow */          \
    X(ISA_CFG_NOC, "cfg.noc", ISA_UNIT_EX)      /* multicast tags */        \
    X(ISA_CFG_TENSOR, "cfg.tensor", ISA_UNIT_EX)/* a tensor in DRAM */      \
    X(ISA_LD, "ld", ISA_UNIT_LD)                /* DRAM -> buffer */        \
    X(ISA_PASS, "pass", ISA_UNIT_EX)            /* one buffer tile */       \
    X(ISA_ST, "st", ISA_UNIT_ST)                /* buffer -> DRAM */        \
    X(ISA_POOL, "pool", ISA_UNIT_EX)            /* the pooling unit */      \
    X(ISA_FINISH, "finish", ISA_UNIT_EX)        /* end of the program */  \
    X(ISA_SYNC, "sync", ISA_UNIT_EX)            /* tokens only */

typedef enum {
    ISA_INVALID,
#define X(e, s, u) e,
    DNNC_ISA_OPS(X)
#undef X
    ISA_OPCODE_COUNT
} IsaOpcode;

/* How a field is written in assembly (isa_asm.c) and checked on decode. */
typedef enum {
    ISA_KIND_UINT,     /* a number */
    ISA_KIND_SINT,     /* a signed number (two's complement in its bits) */
    ISA_KIND_BOOL,     /* 0 or 1 */
    ISA_KIND_LEVEL,    /* rf, pe, cols, rows, buf (the loop levels below DRAM) */
    ISA_KIND_DIMS,     /* a set of N M C P Q R S, as a bit mask (bit = Dim) */
    ISA_KIND_DIM,      /* one of N M C P Q R S */
    ISA_KIND_DATAFLOW, /* ws, os-a, os-b, os-c, nlr, rs */
    ISA_KIND_DATA,     /* ifmap, filter, psum (the model's data types) */
    ISA_KIND_TENSOR,   /* ifmap, filter, ofmap, bias */
    ISA_KIND_LDTYPE,   /* ifmap, filter, psum, bias */
    ISA_KIND_LAYERKIND,/* conv, fc */
    ISA_KIND_POOLKIND, /* max, avg */
} IsaFieldKind;

/* Field indices per opcode: IsaInstr.f[...]. The table in isa_table.c
 * gives each field's name, bits and kind in this order. */
enum { ISA_LAYER_ID, ISA_LAYER_KIND, ISA_LAYER_GROUP, ISA_LAYER_GROUPS };
enum { ISA_SHAPE_N, ISA_SHAPE_M, ISA_SHAPE_C, ISA_SHAPE_P, ISA_SHAPE_Q, ISA_SHAPE_R,
       ISA_SHAPE_S };
enum { ISA_CONV_IN_H, ISA_CONV_IN_W, ISA_CONV_STRIDE_H, ISA_CONV_STRIDE_W, ISA_CONV_DIL_H,
       ISA_CONV_DIL_W, ISA_CONV_PAD_T, ISA_CONV_PAD_L };
enum { ISA_FIXED_FRAC_IN, ISA_FIXED_FRAC_W, ISA_FIXED_FRAC_OUT, ISA_FIXED_RELU,
       ISA_FIXED_BIAS };
/* cfg.loop: the level, then the bound of each dimension in Dim order. */
enum { ISA_LOOP_LEVEL, ISA_LOOP_N, ISA_LOOP_M, ISA_LOOP_C, ISA_LOOP_P, ISA_LOOP_Q,
       ISA_LOOP_R, ISA_LOOP_S };
/* cfg.order: the level, then its dimensions outer to inner (a permutation). */
enum { ISA_ORDER_LEVEL, ISA_ORDER_D0 /* .. ISA_ORDER_D0 + 6 */ };
/* cfg.map: the dataflow, and the PE configuration it implies: which data
 * types the scratchpads keep (hold, a DATA mask) and which pass between
 * neighbouring PEs instead of being multicast again (neighbour). */
enum { ISA_MAP_DATAFLOW, ISA_MAP_HOLD, ISA_MAP_NEIGHBOUR };
/* cfg.noc: the dimensions of the row and column loops whose indices tag a
 * data type's multicast: a value goes to every PE whose tag equals its own. */
enum { ISA_NOC_DATA, ISA_NOC_ROW_TAG, ISA_NOC_COL_TAG };
/* cfg.tensor: where a tensor of this layer (this group) starts in DRAM and
 * the words between consecutive images (filters for the filter tensor);
 * rows, columns and channels are dense inside. */
enum { ISA_TENSOR_WHICH, ISA_TENSOR_BASE, ISA_TENSOR_OUTER_STRIDE, ISA_TENSOR_CHANNELS };
/* ld: a box of the type's index space (ifmap n c y x, filter m c r s, psum
 * n m p q, bias m), start and size per axis; rlc: compressed in DRAM. */
enum { ISA_LD_TYPE, ISA_LD_RLC, ISA_LD_S0, ISA_LD_L0, ISA_LD_S1, ISA_LD_L1, ISA_LD_S2,
       ISA_LD_L2, ISA_LD_S3, ISA_LD_L3 };
/* pass: the origin of the buffer tile (its extent is the buffer level's). */
enum { ISA_PASS_N, ISA_PASS_M, ISA_PASS_C, ISA_PASS_P, ISA_PASS_Q, ISA_PASS_R, ISA_PASS_S };
/* st: a psum box (n m p q); final: requantise, ReLU, RLC-compress and write
 * the output; otherwise spill the wide psums. */
enum { ISA_ST_FINAL, ISA_ST_RLC, ISA_ST_S0, ISA_ST_L0, ISA_ST_S1, ISA_ST_L1, ISA_ST_S2,
       ISA_ST_L2, ISA_ST_S3, ISA_ST_L3 };
/* pool: a window over a DRAM tensor into another, image by image. */
enum { ISA_POOL_KIND, ISA_POOL_WIN_H, ISA_POOL_WIN_W, ISA_POOL_STRIDE_H, ISA_POOL_STRIDE_W,
       ISA_POOL_PAD_T, ISA_POOL_PAD_L, ISA_POOL_N, ISA_POOL_C, ISA_POOL_IN_H, ISA_POOL_IN_W,
       ISA_POOL_OUT_H, ISA_POOL_OUT_W, ISA_POOL_SRC, ISA_POOL_DST };

typedef enum { ISA_TENSOR_IFMAP, ISA_TENSOR_FILTER, ISA_TENSOR_OFMAP, ISA_TENSOR_BIAS,
               ISA_TENSOR_COUNT } IsaTensor;
typedef enum { ISA_LD_IFMAP, ISA_LD_FILTER, ISA_LD_PSUM, ISA_LD_BIAS, ISA_LDTYPE_COUNT } IsaLdType;
typedef enum { ISA_LAYER_CONV, ISA_LAYER_FC } IsaLayerKind;
typedef enum { ISA_POOL_MAX, ISA_POOL_AVG } IsaPoolKind;

typedef struct IsaInstr {
    IsaOpcode op;
    unsigned deps; /* ISA_POP_PREV | ... */
    int64_t f[ISA_MAX_FIELDS];
} IsaInstr;

typedef struct IsaFieldInfo {
    const char *name;
    int bits;
    IsaFieldKind kind;
} IsaFieldInfo;

/* The assembly writes some runs of fields as one operand (isa_asm.c):
 * cfg.order's seven dimensions as order=N,M,C,P,Q,R,S and the start/length
 * pairs of ld and st as box=[s0+l0,s1+l1,s2+l2,s3+l3]. */
typedef enum { ISA_GROUP_NONE, ISA_GROUP_ORDER, ISA_GROUP_BOX } IsaGroup;

typedef struct IsaOpInfo {
    const char *mnemonic;
    IsaUnit unit;
    int n_fields;
    const IsaFieldInfo *fields;
    IsaGroup group;  /* how fields[group_first ..] are written, if at all */
    int group_first;
    int group_count; /* fields in the group */
} IsaOpInfo;

/* The loop levels of cfg.loop / cfg.order, numbered as LoopLevel in
 * passes/map/map.h (DRAM has no configuration: it is what codegen's stream
 * of ld / pass / st walks). */
enum { ISA_LEVEL_RF, ISA_LEVEL_PE, ISA_LEVEL_COLS, ISA_LEVEL_ROWS, ISA_LEVEL_BUF,
       ISA_LEVEL_COUNT };
/* Dimensions N M C P Q R S, numbered as Dim in passes/map/map.h. */
#define ISA_DIMS 7
/* The number of s/l pairs of a box (ld, st). */
#define ISA_BOX_AXES 4

/* The opcode's table row, or NULL for an invalid opcode. */
const IsaOpInfo *isa_op_info(IsaOpcode op);
const char *isa_unit_name(IsaUnit u);
/* The opcode whose mnemonic is the len bytes at s, or ISA_INVALID. */
IsaOpcode isa_op_from_mnemonic(const char *s, size_t len);
/* The operand bits an opcode uses (after the 16 header bits). */
int isa_op_bits(IsaOpcode op);

/* Names of the values of an enumerated kind (LEVEL, DIM, DATAFLOW, DATA,
 * TENSOR, LDTYPE, LAYERKIND, POOLKIND): the name of v, or NULL when v is
 * not a value of the kind (or the kind is not enumerated). */
const char *isa_kind_value_name(IsaFieldKind k, int64_t v);
/* The value named by the len bytes at s; false if there is none. */
bool isa_kind_value_from_name(IsaFieldKind k, const char *s, size_t len, int64_t *out);
/* What a kind's values are, for messages ("a dataflow (ws, os-a, ...)"). */
const char *isa_kind_description(IsaFieldKind k);

/* The names of the dependency flags: pop_prev, pop_next, push_prev,
 * push_next (bit i of IsaInstr.deps is isa_dep_names[i]). */
extern const char *const isa_dep_names[4];

#endif
