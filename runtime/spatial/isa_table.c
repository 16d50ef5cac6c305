/* The instruction table: for every opcode its mnemonic, unit and operand
 * fields (name, bits, kind) in encoding order. Encoder, decoder, assembler
 * and disassembler all read it, so a field is added or widened here only.
 * The field order is the order of the IsaField enums in isa.h. */
#include <string.h>

#include "isa.h"

#define U(name, bits) {name, bits, ISA_KIND_UINT}
#define S(name, bits) {name, bits, ISA_KIND_SINT}
#define B(name) {name, 1, ISA_KIND_BOOL}
#define COUNT(a) ((int)(sizeof a / sizeof *a))

/* The seven dimensions as 16-bit numbers, in Dim order. */
#define DIMS16 U("n", 16), U("m", 16), U("c", 16), U("p", 16), U("q", 16), U("r", 16), U("s", 16)
/* A box: start and length of four axes. */
#define BOX U("s0", 16), U("l0", 16), U("s1", 16), U("l1", 16), U("s2", 16), U("l2", 16), \
            U("s3", 16), U("l3", 16)

static const IsaFieldInfo f_layer[] = {
    U("id", 16), {"kind", 1, ISA_KIND_LAYERKIND}, U("group", 16), U("groups", 16)};
static const IsaFieldInfo f_shape[] = {DIMS16};
static const IsaFieldInfo f_conv[] = {U("in_h", 16),    U("in_w", 16),  U("stride_h", 8),
                                      U("stride_w", 8), U("dil_h", 8),  U("dil_w", 8),
                                      U("pad_t", 8),    U("pad_l", 8)};
static const IsaFieldInfo f_fixed[] = {S("frac_in", 8), S("frac_w", 8), S("frac_out", 8),
                                       B("relu"), B("bias")};
static const IsaFieldInfo f_loop[] = {{"level", 3, ISA_KIND_LEVEL}, DIMS16};
static const IsaFieldInfo f_order[] = {
    {"level", 3, ISA_KIND_LEVEL}, {"d0", 3, ISA_KIND_DIM}, {"d1", 3, ISA_KIND_DIM},
    {"d2", 3, ISA_KIND_DIM},      {"d3", 3, ISA_KIND_DIM}, {"d4", 3, ISA_KIND_DIM},
    {"d5", 3, ISA_KIND_DIM},      {"d6", 3, ISA_KIND_DIM}};
static const IsaFieldInfo f_map[] = {{"dataflow", 3, ISA_KIND_DATAFLOW}, U("hold", 3),
                                     U("neighbour", 3)};
static const IsaFieldInfo f_noc[] = {{"data", 2, ISA_KIND_DATA},
                                     {"row_tag", 7, ISA_KIND_DIMS},
                                     {"col_tag", 7, ISA_KIND_DIMS}};
static const IsaFieldInfo f_tensor[] = {{"which", 2, ISA_KIND_TENSOR}, U("base", 40),
                                        U("outer_stride", 40), U("channels", 16)};
static const IsaFieldInfo f_ld[] = {{"type", 2, ISA_KIND_LDTYPE}, B("rlc"), BOX};
static const IsaFieldInfo f_pass[] = {DIMS16};
static const IsaFieldInfo f_st[] = {B("final"), B("rlc"), BOX};
static const IsaFieldInfo f_pool[] = {
    {"kind", 1, ISA_KIND_POOLKIND}, U("win_h", 8), U("win_w", 8), U("stride_h", 8),
    U("stride_w", 8), U("pad_t", 8), U("pad_l", 8), U("n", 16), U("c", 16), U("in_h", 16),
    U("in_w", 16), U("out_h", 16), U("out_w", 16), U("src", 40), U("dst", 40)};

#define ROW(op, mn, unit, f) [op] = {mn, unit, COUNT(f), f, ISA_GROUP_NONE, 0, 0}
#define ROW_GROUP(op, mn, unit, f, g, first, n) [op] = {mn, unit, COUNT(f), f, g, first, n}

static const IsaOpInfo ops[ISA_OPCODE_COUNT] = {
    ROW(ISA_CFG_LAYER, "cfg.layer", ISA_UNIT_EX, f_layer),
    ROW(ISA_CFG_SHAPE, "cfg.shape", ISA_UNIT_EX, f_shape),
    ROW(ISA_CFG_CONV, "cfg.conv", ISA_UNIT_EX, f_conv),
    ROW(ISA_CFG_FIXED, "cfg.fixed", ISA_UNIT_EX, f_fixed),
    ROW(ISA_CFG_LOOP, "cfg.loop", ISA_UNIT_EX, f_loop),
    ROW_GROUP(ISA_CFG_ORDER, "cfg.order", ISA_UNIT_EX, f_order, ISA_GROUP_ORDER, ISA_ORDER_D0,
              ISA_DIMS),
    ROW(ISA_CFG_MAP, "cfg.map", ISA_UNIT_EX, f_map),
    ROW(ISA_CFG_NOC, "cfg.noc", ISA_UNIT_EX, f_noc),
    ROW(ISA_CFG_TENSOR, "cfg.tensor", ISA_UNIT_EX, f_tensor),
    ROW_GROUP(ISA_LD, "ld", ISA_UNIT_LD, f_ld, ISA_GROUP_BOX, ISA_LD_S0, 2 * ISA_BOX_AXES),
    ROW(ISA_PASS, "pass", ISA_UNIT_EX, f_pass),
    ROW_GROUP(ISA_ST, "st", ISA_UNIT_ST, f_st, ISA_GROUP_BOX, ISA_ST_S0, 2 * ISA_BOX_AXES),
    ROW(ISA_POOL, "pool", ISA_UNIT_EX, f_pool),
    [ISA_FINISH] = {"finish", ISA_UNIT_EX, 0, NULL, ISA_GROUP_NONE, 0, 0},
    [ISA_SYNC] = {"sync", ISA_UNIT_EX, 0, NULL, ISA_GROUP_NONE, 0, 0},
};

/* The widest operand lists fit the 240 bits after the header; test_isa
 * checks every opcode from the table, and that the table agrees with the
 * X-macro list of isa.h mnemonic for mnemonic and unit for unit. */
_Static_assert(16 + 3 + 16 * 7 <= 8 * ISA_INSTR_BYTES, "cfg.loop");
_Static_assert(16 + 2 + 1 + 16 * 8 <= 8 * ISA_INSTR_BYTES, "ld");
_Static_assert(16 + 1 + 8 * 6 + 16 * 6 + 40 * 2 <= 8 * ISA_INSTR_BYTES, "pool");

const IsaOpInfo *isa_op_info(IsaOpcode op)
{
    if ((int)op <= ISA_INVALID || op >= ISA_OPCODE_COUNT)
        return NULL;
    return &ops[op];
}

const char *isa_unit_name(IsaUnit u)
{
    static const char *const names[ISA_UNIT_COUNT] = {"LD", "EX", "ST"};
    return (unsigned)u < ISA_UNIT_COUNT ? names[u] : "?";
}

IsaOpcode isa_op_from_mnemonic(const char *s, size_t len)
{
    for (int op = ISA_INVALID + 1; op < ISA_OPCODE_COUNT; op++)
        if (strlen(ops[op].mnemonic) == len && memcmp(ops[op].mnemonic, s, len) == 0)
            return (IsaOpcode)op;
    return ISA_INVALID;
}

int isa_op_bits(IsaOpcode op)
{
    const IsaOpInfo *info = isa_op_info(op);
    int bits = 0;
    for (int i = 0; info && i < info->n_fields; i++)
        bits += info->fields[i].bits;
    return bits;
}

const char *const isa_dep_names[4] = {"pop_prev", "pop_next", "push_prev", "push_next"};

/* ---- the enumerated kinds ------------------------------------------------ */

typedef struct KindNames {
    const char *const *names; /* NULL entries are not values (dataflow 0) */
    int count;
    const char *description;
} KindNames;

static const char *const level_names[] = {"rf", "pe", "cols", "rows", "buf"};
static const char *const dim_names[] = {"N", "M", "C", "P", "Q", "R", "S"};
/* Dataflow's numbering in ir/graph.h; 0 (auto) is a choice the mapper has
 * made before codegen, never an instruction's operand. */
static const char *const dataflow_names[] = {NULL, "ws", "os-a", "os-b", "os-c", "nlr", "rs"};
static const char *const data_names[] = {"ifmap", "filter", "psum"};
static const char *const tensor_names[] = {"ifmap", "filter", "ofmap", "bias"};
static const char *const ldtype_names[] = {"ifmap", "filter", "psum", "bias"};
static const char *const layerkind_names[] = {"conv", "fc"};
static const char *const poolkind_names[] = {"max", "avg"};

#define KIND(t, d) {t, COUNT(t), d}

static const KindNames *kind_names(IsaFieldKind k)
{
    static const KindNames level = KIND(level_names, "a level (rf, pe, cols, rows, buf)");
    static const KindNames dim = KIND(dim_names, "a dimension (N, M, C, P, Q, R, S)");
    static const KindNames dataflow =
        KIND(dataflow_names, "a dataflow (ws, os-a, os-b, os-c, nlr, rs)");
    static const KindNames data = KIND(data_names, "a data type (ifmap, filter, psum)");
    static const KindNames tensor = KIND(tensor_names, "a tensor (ifmap, filter, ofmap, bias)");
    static const KindNames ldtype = KIND(ldtype_names, "a load type (ifmap, filter, psum, bias)");
    static const KindNames layerkind = KIND(layerkind_names, "a layer kind (conv, fc)");
    static const KindNames poolkind = KIND(poolkind_names, "a pooling kind (max, avg)");
    switch (k) {
    case ISA_KIND_LEVEL: return &level;
    case ISA_KIND_DIM: return &dim;
    case ISA_KIND_DATAFLOW: return &dataflow;
    case ISA_KIND_DATA: return &data;
    case ISA_KIND_TENSOR: return &tensor;
    case ISA_KIND_LDTYPE: return &ldtype;
    case ISA_KIND_LAYERKIND: return &layerkind;
    case ISA_KIND_POOLKIND: return &poolkind;
    case ISA_KIND_UINT:
    case ISA_KIND_SINT:
    case ISA_KIND_BOOL:
    case ISA_KIND_DIMS: break;
    }
    return NULL;
}

const char *isa_kind_value_name(IsaFieldKind k, int64_t v)
{
    const KindNames *t = kind_names(k);
    if (!t || v < 0 || v >= t->count)
        return NULL;
    return t->names[v];
}

bool isa_kind_value_from_name(IsaFieldKind k, const char *s, size_t len, int64_t *out)
{
    const KindNames *t = kind_names(k);
    for (int i = 0; t && i < t->count; i++)
        if (t->names[i] && strlen(t->names[i]) == len && memcmp(t->names[i], s, len) == 0) {
            *out = i;
            return true;
        }
    return false;
}

const char *isa_kind_description(IsaFieldKind k)
{
    const KindNames *t = kind_names(k);
    if (t)
        return t->description;
    switch (k) {
    case ISA_KIND_SINT: return "a signed number";
    case ISA_KIND_BOOL: return "0 or 1";
    case ISA_KIND_DIMS: return "a set of dimensions (such as C|R, or none)";
    default: return "a number";
    }
}
