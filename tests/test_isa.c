/* The spatial accelerator's instruction set (runtime/spatial, docs/isa.md):
 * the table against the X-macro list, encode/decode of every opcode at its
 * field limits, every rule the decoder enforces (each with its message),
 * the program and DRAM image files (round trips, truncation at every byte,
 * malformed fields), the assembler's errors (file:line:col) and the exact
 * round trips binary -> text -> binary and text -> binary -> text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "isa_asm.h"
#include "isa_codec.h"
#include "isa_dram.h"
#include "isa_program.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x1234abcd;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The flags an instruction of op's unit may carry. */
static unsigned unit_deps(IsaOpcode op)
{
    IsaUnit u = isa_op_info(op)->unit;
    return u == ISA_UNIT_LD ? ISA_POP_NEXT | ISA_PUSH_NEXT
           : u == ISA_UNIT_ST ? ISA_POP_PREV | ISA_PUSH_PREV
                              : 15u;
}

/* The smallest, largest or a random valid value of a field. */
typedef enum { PICK_MIN, PICK_MAX, PICK_RANDOM } Pick;

static int64_t enum_count(IsaFieldKind k)
{
    int64_t n = 0;
    while (n < 64 && (isa_kind_value_name(k, n) || n == 0))
        n++;
    return n;
}

static int64_t pick_value(const IsaFieldInfo *f, Pick pick)
{
    int64_t lo, hi;
    isa_field_range(f, &lo, &hi);
    if (f->kind != ISA_KIND_UINT && f->kind != ISA_KIND_SINT && f->kind != ISA_KIND_BOOL &&
        f->kind != ISA_KIND_DIMS) {
        lo = isa_kind_value_name(f->kind, 0) ? 0 : 1; /* dataflow 0 is no value */
        hi = enum_count(f->kind) - 1;
    }
    if (pick == PICK_MIN)
        return lo;
    if (pick == PICK_MAX)
        return hi;
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static IsaInstr make_instr(IsaOpcode op, Pick pick)
{
    const IsaOpInfo *info = isa_op_info(op);
    IsaInstr in;
    memset(&in, 0, sizeof in);
    in.op = op;
    in.deps = pick == PICK_MIN ? 0 : pick == PICK_MAX ? unit_deps(op) : (unsigned)rng() & unit_deps(op);
    for (int i = 0; i < info->n_fields; i++)
        in.f[i] = pick_value(&info->fields[i], pick);
    if (info->group == ISA_GROUP_ORDER) /* a permutation: identity, reversed, shuffled */
        for (int i = 0; i < ISA_DIMS; i++) {
            in.f[ISA_ORDER_D0 + i] = pick == PICK_MAX ? ISA_DIMS - 1 - i : i;
            if (pick == PICK_RANDOM && i) {
                int j = (int)(rng() % (uint64_t)(i + 1));
                int64_t t = in.f[ISA_ORDER_D0 + i];
                in.f[ISA_ORDER_D0 + i] = in.f[ISA_ORDER_D0 + j];
                in.f[ISA_ORDER_D0 + j] = t;
            }
        }
    if (info->group == ISA_GROUP_BOX) /* lengths are at least 1 */
        for (int a = 0; a < ISA_BOX_AXES; a++)
            if (in.f[info->group_first + 2 * a + 1] == 0)
                in.f[info->group_first + 2 * a + 1] = 1;
    return in;
}

/* The bit at which field i of op starts. */
static int field_pos(IsaOpcode op, int i)
{
    int pos = 16;
    for (int k = 0; k < i; k++)
        pos += isa_op_info(op)->fields[k].bits;
    return pos;
}

static void set_bit(uint8_t *b, int pos) { b[pos / 8] |= (uint8_t)(1u << (pos % 8)); }

/* Writes v into a field's bits of an encoded instruction. */
static void put_field(uint8_t *b, IsaOpcode op, int i, uint64_t v)
{
    int pos = field_pos(op, i), bits = isa_op_info(op)->fields[i].bits;
    for (int k = 0; k < bits; k++, pos++) {
        b[pos / 8] &= (uint8_t) ~(1u << (pos % 8));
        if ((v >> k) & 1)
            set_bit(b, pos);
    }
}

static void encode_or_fail(const IsaInstr *in, uint8_t *out)
{
    char err[256];
    if (!isa_encode(in, out, err, sizeof err))
        fail_msg("encode: %s", err);
}

static void expect_encode_error(const IsaInstr *in, const char *message)
{
    char err[256] = "";
    uint8_t out[ISA_INSTR_BYTES];
    if (isa_encode(in, out, err, sizeof err))
        fail_msg("encoded an instruction that should fail with: %s", message);
    assert_contains(err, message);
}

static void expect_decode_error(const uint8_t *b, const char *message)
{
    char err[256] = "";
    IsaInstr in;
    if (isa_decode(b, &in, err, sizeof err))
        fail_msg("decoded bytes that should fail with: %s", message);
    assert_contains(err, message);
}

/* ---- the table ----------------------------------------------------------- */

static void test_table(void **state)
{
    (void)state;
    struct { IsaOpcode op; const char *mn; IsaUnit unit; } xs[] = {
#define X(e, s, u) {e, s, u},
        DNNC_ISA_OPS(X)
#undef X
    };
    assert_int_equal(sizeof xs / sizeof *xs, ISA_OPCODE_COUNT - 1);
    assert_null(isa_op_info(ISA_INVALID));
    assert_null(isa_op_info(ISA_OPCODE_COUNT));
    assert_true(ISA_OPCODE_COUNT <= 64); /* 6 opcode bits */
    for (size_t k = 0; k < sizeof xs / sizeof *xs; k++) {
        const IsaOpInfo *info = isa_op_info(xs[k].op);
        assert_non_null(info);
        assert_string_equal(info->mnemonic, xs[k].mn);
        assert_int_equal(info->unit, xs[k].unit);
        assert_int_equal(isa_op_from_mnemonic(xs[k].mn, strlen(xs[k].mn)), xs[k].op);
        /* Every opcode's operands fit the 240 bits after the header. */
        assert_true(16 + isa_op_bits(xs[k].op) <= 8 * ISA_INSTR_BYTES);
        assert_true(info->n_fields <= ISA_MAX_FIELDS);
        for (int i = 0; i < info->n_fields; i++) {
            assert_true(info->fields[i].bits >= 1 && info->fields[i].bits <= 40);
            for (int j = 0; j < i; j++)
                assert_string_not_equal(info->fields[i].name, info->fields[j].name);
        }
    }
    assert_int_equal(isa_op_from_mnemonic("cfg", 3), ISA_INVALID);
    /* The numbering the header promises: Dataflow, LoopLevel, Dim. */
    int64_t v;
    assert_true(isa_kind_value_from_name(ISA_KIND_DATAFLOW, "rs", 2, &v) && v == 6);
    assert_false(isa_kind_value_from_name(ISA_KIND_DATAFLOW, "auto", 4, &v));
    assert_true(isa_kind_value_from_name(ISA_KIND_LEVEL, "buf", 3, &v) && v == ISA_LEVEL_BUF);
    assert_true(isa_kind_value_from_name(ISA_KIND_DIM, "S", 1, &v) && v == 6);
    assert_null(isa_kind_value_name(ISA_KIND_DATAFLOW, 0));
    assert_null(isa_kind_value_name(ISA_KIND_LEVEL, 5));
    assert_string_equal(isa_unit_name(ISA_UNIT_LD), "LD");
}

/* ---- encode and decode --------------------------------------------------- */

static void round_trip(const IsaInstr *in)
{
    uint8_t b[ISA_INSTR_BYTES], b2[ISA_INSTR_BYTES];
    char err[256];
    IsaInstr back;
    encode_or_fail(in, b);
    if (!isa_decode(b, &back, err, sizeof err))
        fail_msg("%s: decode: %s", isa_op_info(in->op)->mnemonic, err);
    assert_memory_equal(&back, in, sizeof back);
    encode_or_fail(&back, b2);
    assert_memory_equal(b, b2, sizeof b);
}

static void test_round_trip_limits(void **state)
{
    (void)state;
    for (int op = ISA_INVALID + 1; op < ISA_OPCODE_COUNT; op++) {
        IsaInstr lo = make_instr((IsaOpcode)op, PICK_MIN), hi = make_instr((IsaOpcode)op, PICK_MAX);
        round_trip(&lo);
        round_trip(&hi);
        for (int k = 0; k < 500; k++) {
            IsaInstr r = make_instr((IsaOpcode)op, PICK_RANDOM);
            round_trip(&r);
        }
    }
    /* The layout of docs/isa.md: opcode in bits 0-5, flags 6-9, operands from 16. */
    IsaInstr in = make_instr(ISA_CFG_MAP, PICK_MIN);
    in.deps = ISA_PUSH_NEXT;
    in.f[ISA_MAP_DATAFLOW] = 6;
    uint8_t b[ISA_INSTR_BYTES];
    encode_or_fail(&in, b);
    assert_int_equal(b[0], ISA_CFG_MAP | (ISA_PUSH_NEXT & 3) << 6);
    assert_int_equal(b[1], ISA_PUSH_NEXT >> 2);
    assert_int_equal(b[2], 6);
    for (int i = 3; i < ISA_INSTR_BYTES; i++)
        assert_int_equal(b[i], 0);
    /* A signed field in two's complement: frac_in = -1 is 8 ones. */
    in = make_instr(ISA_CFG_FIXED, PICK_MIN);
    in.f[ISA_FIXED_FRAC_IN] = -1;
    encode_or_fail(&in, b);
    assert_int_equal(b[2], 0xff);
}

static void test_encode_rejections(void **state)
{
    (void)state;
    IsaInstr in = make_instr(ISA_CFG_SHAPE, PICK_MIN);
    in.f[ISA_SHAPE_N] = 70000;
    expect_encode_error(&in, "cfg.shape: n = 70000 does not fit 16 bits (0..65535)");
    in.f[ISA_SHAPE_N] = -1;
    expect_encode_error(&in, "n = -1 does not fit 16 bits");
    in = make_instr(ISA_CFG_FIXED, PICK_MIN);
    in.f[ISA_FIXED_FRAC_W] = 128;
    expect_encode_error(&in, "cfg.fixed: frac_w = 128 does not fit 8 signed bits (-128..127)");
    in.f[ISA_FIXED_FRAC_W] = 0;
    in.f[ISA_FIXED_RELU] = 2;
    expect_encode_error(&in, "relu = 2 does not fit 1 bits");
    in = make_instr(ISA_CFG_MAP, PICK_MIN);
    in.f[ISA_MAP_DATAFLOW] = 0;
    expect_encode_error(&in, "cfg.map: dataflow = 0 is not a dataflow (ws, os-a, os-b, os-c, nlr, rs)");
    in.f[ISA_MAP_DATAFLOW] = 1;
    in.f[ISA_MAX_FIELDS - 1] = 5;
    expect_encode_error(&in, "cfg.map: operand 15 is 5, but cfg.map has");
    in = make_instr(ISA_CFG_TENSOR, PICK_MIN);
    in.f[ISA_TENSOR_BASE] = (int64_t)1 << 40;
    expect_encode_error(&in, "base = 1099511627776 does not fit 40 bits");
    in = make_instr(ISA_CFG_NOC, PICK_MIN);
    in.f[ISA_NOC_ROW_TAG] = 0x80;
    expect_encode_error(&in, "row_tag = 128 does not fit 7 bits");
    in = make_instr(ISA_LD, PICK_MIN);
    in.deps = ISA_POP_PREV;
    expect_encode_error(&in, "ld: flag pop_prev: the LD unit has no previous unit");
    in.deps = ISA_PUSH_PREV;
    expect_encode_error(&in, "ld: flag push_prev: the LD unit has no previous unit");
    in = make_instr(ISA_ST, PICK_MIN);
    in.deps = ISA_PUSH_NEXT;
    expect_encode_error(&in, "st: flag push_next: the ST unit has no next unit");
    in = make_instr(ISA_PASS, PICK_MIN);
    in.deps = 16;
    expect_encode_error(&in, "pass: dependency flags 0x10 are more than");
    in = make_instr(ISA_CFG_ORDER, PICK_MIN);
    in.f[ISA_ORDER_D0 + 3] = 0;
    expect_encode_error(&in, "cfg.order: dimension N appears twice");
    in = make_instr(ISA_ST, PICK_MIN);
    in.f[ISA_ST_L2] = 0;
    expect_encode_error(&in, "st: l2 = 0: a box's lengths are at least 1");
    in.op = ISA_INVALID;
    expect_encode_error(&in, "opcode 0 is no instruction");
    in.op = ISA_OPCODE_COUNT;
    char msg[64];
    snprintf(msg, sizeof msg, "unknown opcode %d", ISA_OPCODE_COUNT);
    expect_encode_error(&in, msg);
}

static void test_decode_rejections(void **state)
{
    (void)state;
    uint8_t zero[ISA_INSTR_BYTES] = {0}, b[ISA_INSTR_BYTES];
    expect_decode_error(zero, "opcode 0 is no instruction");
    memset(b, 0, sizeof b);
    b[0] = 63;
    expect_decode_error(b, "unknown opcode 63");
    b[0] = ISA_OPCODE_COUNT;
    char msg[64];
    snprintf(msg, sizeof msg, "unknown opcode %d", ISA_OPCODE_COUNT);
    expect_decode_error(b, msg);

    IsaInstr in = make_instr(ISA_CFG_SHAPE, PICK_MAX);
    encode_or_fail(&in, b);
    set_bit(b, 12);
    expect_decode_error(b, "cfg.shape: reserved bits 10-15 are not zero (0x4)");
    encode_or_fail(&in, b);
    set_bit(b, 16 + 7 * 16);
    expect_decode_error(b, "cfg.shape: bit 128 is set, past its operands (bits 16-127)");
    in = make_instr(ISA_FINISH, PICK_MIN);
    encode_or_fail(&in, b);
    set_bit(b, 255);
    expect_decode_error(b, "finish: bit 255 is set, but finish has no operands");

    in = make_instr(ISA_CFG_LOOP, PICK_MIN);
    encode_or_fail(&in, b);
    put_field(b, ISA_CFG_LOOP, ISA_LOOP_LEVEL, 5);
    expect_decode_error(b, "cfg.loop: level = 5 is not a level (rf, pe, cols, rows, buf)");
    in = make_instr(ISA_CFG_MAP, PICK_MIN);
    encode_or_fail(&in, b);
    put_field(b, ISA_CFG_MAP, ISA_MAP_DATAFLOW, 7);
    expect_decode_error(b, "cfg.map: dataflow = 7 is not a dataflow");
    put_field(b, ISA_CFG_MAP, ISA_MAP_DATAFLOW, 0);
    expect_decode_error(b, "cfg.map: dataflow = 0 is not a dataflow");
    in = make_instr(ISA_CFG_NOC, PICK_MIN);
    encode_or_fail(&in, b);
    put_field(b, ISA_CFG_NOC, ISA_NOC_DATA, 3);
    expect_decode_error(b, "cfg.noc: data = 3 is not a data type (ifmap, filter, psum)");
    in = make_instr(ISA_CFG_ORDER, PICK_MIN);
    encode_or_fail(&in, b);
    put_field(b, ISA_CFG_ORDER, ISA_ORDER_D0 + 2, 7);
    expect_decode_error(b, "cfg.order: d2 = 7 is not a dimension (N, M, C, P, Q, R, S)");
    put_field(b, ISA_CFG_ORDER, ISA_ORDER_D0 + 2, 6);
    expect_decode_error(b, "cfg.order: dimension S appears twice (the order is a permutation");
    in = make_instr(ISA_LD, PICK_MIN);
    encode_or_fail(&in, b);
    put_field(b, ISA_LD, ISA_LD_L3, 0);
    expect_decode_error(b, "ld: l3 = 0: a box's lengths are at least 1");
    encode_or_fail(&in, b);
    set_bit(b, 6); /* pop_prev */
    expect_decode_error(b, "ld: flag pop_prev: the LD unit has no previous unit");
    in = make_instr(ISA_ST, PICK_MIN);
    encode_or_fail(&in, b);
    set_bit(b, 7); /* pop_next */
    expect_decode_error(b, "st: flag pop_next: the ST unit has no next unit");
    in = make_instr(ISA_POOL, PICK_MIN);
    encode_or_fail(&in, b);
    /* The kinds whose width holds only values (pool kind, bools) cannot be
     * wrong; the last field's top bit is still a field bit, not unused. */
    put_field(b, ISA_POOL, ISA_POOL_DST, ((uint64_t)1 << 40) - 1);
    IsaInstr back;
    char err[256];
    assert_true(isa_decode(b, &back, err, sizeof err));
    assert_int_equal(back.f[ISA_POOL_DST], ((int64_t)1 << 40) - 1);
}

/* ---- programs ------------------------------------------------------------ */

/* A program with every opcode at both limits and a random one, a machine
 * unlike the default and awkward names. */
static void build_program(IsaProgram *p)
{
    char err[256];
    isa_program_init(p);
    IsaMachine *m = &p->machine;
    snprintf(m->name, sizeof m->name, "odd \"machine\" \\ %s", "x");
    m->pe_rows = 1024;
    m->pe_cols = 1;
    m->rf_words[1] = 0;
    m->buffer_bytes = (int64_t)1 << 40;
    m->noc = 1;
    m->rlc = false;
    m->energy[0] = 0.1;
    m->energy[2] = 1e-300;
    m->energy_mac = 1.0 / 3.0;
    m->clock_mhz = 1e6;
    assert_int_equal(isa_program_add_layer(p, "conv1", err, sizeof err), 0);
    assert_int_equal(isa_program_add_layer(p, "a \"quoted\" \\ name; # not a comment", err, sizeof err), 1);
    p->dram_words = ISA_DRAM_WORDS_MAX;
    IsaIo in = {.name = "data", .base = 0, .shape = {1, 3, 227, 227}, .frac = -128};
    IsaIo out = {.name = "prob", .is_output = true, .base = ISA_DRAM_WORDS_MAX - 1000,
                 .shape = {1, 1000, 1, 1}, .frac = 127};
    assert_true(isa_program_add_io(p, &in, err, sizeof err));
    assert_true(isa_program_add_io(p, &out, err, sizeof err));
    for (int op = ISA_INVALID + 1; op < ISA_OPCODE_COUNT; op++)
        for (int pick = PICK_MIN; pick <= PICK_RANDOM; pick++) {
            IsaInstr i = make_instr((IsaOpcode)op, (Pick)pick);
            if (op == ISA_CFG_LAYER)
                i.f[ISA_LAYER_ID] = pick == PICK_MIN ? 0 : 1;
            if (!isa_program_append(p, &i, err, sizeof err))
                fail_msg("append: %s", err);
        }
}

static uint8_t *serialize_or_fail(const IsaProgram *p, size_t *len)
{
    uint8_t *buf;
    char err[300];
    if (!isa_program_serialize(p, &buf, len, err, sizeof err))
        fail_msg("serialize: %s", err);
    return buf;
}


static void test_program_file_round_trip(void **state)
{
    (void)state;
    IsaProgram p, back;
    build_program(&p);
    size_t len, len2;
    uint8_t *buf = serialize_or_fail(&p, &len);
    char err[300];
    if (!isa_program_load(buf, len, &back, err, sizeof err))
        fail_msg("load: %s", err);
    uint8_t *buf2 = serialize_or_fail(&back, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    assert_memory_equal(&back.machine, &p.machine, sizeof p.machine);
    assert_int_equal(back.n_instrs, p.n_instrs);
    assert_memory_equal(back.instrs, p.instrs, p.n_instrs * sizeof *p.instrs);
    assert_string_equal(back.layers[1], p.layers[1]);
    assert_string_equal(back.io[1].name, "prob");
    assert_true(back.io[1].is_output && back.io[1].frac == 127 && back.io[1].shape[1] == 1000);

    /* Through a file; a failed save leaves nothing behind. */
    char dir[256];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-isa"));
    const char *path = temp_path(dir, "prog.isa");
    if (!isa_program_save(&p, path, err, sizeof err))
        fail_msg("save: %s", err);
    IsaProgram loaded;
    if (!isa_program_load_file(path, &loaded, err, sizeof err))
        fail_msg("load_file: %s", err);
    assert_int_equal(loaded.n_instrs, p.n_instrs);
    isa_program_free(&loaded);
    back.dram_words = ISA_DRAM_WORDS_MAX - 1; /* its output no longer fits */
    assert_false(isa_program_save(&back, temp_path(dir, "bad.isa"), err, sizeof err));
    assert_contains(err, "output 'prob' at 1099511626776 (1 x 1000 x 1 x 1 words) does not lie "
                         "inside the 1099511627775 DRAM words");
    assert_null(dir_find_prefix(dir, "bad"));
    assert_false(isa_program_load_file(temp_path(dir, "missing.isa"), &loaded, err, sizeof err));
    assert_contains(err, "cannot open");
    assert_int_equal(temp_dir_remove(dir), 0);

    free(buf);
    free(buf2);
    isa_program_free(&p);
    isa_program_free(&back);
}

/* A small program file: cut anywhere, it is refused with the byte at
 * fault; with any one byte inverted it loads canonically or is refused. */
static void test_program_file_truncation(void **state)
{
    (void)state;
    IsaProgram p, q;
    build_program(&p);
    p.n_instrs = 3;
    size_t len;
    uint8_t *buf = serialize_or_fail(&p, &len);
    char err[300];
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1); /* exactly cut bytes, for ASan */
        memcpy(part, buf, cut);
        if (isa_program_load(part, cut, &q, err, sizeof err))
            fail_msg("a file cut to %zu of %zu bytes loads", cut, len);
        assert_contains(err, "byte ");
        assert_int_equal(q.n_instrs, 0);
        free(part);
    }
    for (size_t at = 0; at < len; at++) {
        buf[at] ^= 0xff;
        if (isa_program_load(buf, len, &q, err, sizeof err)) {
            size_t len2;
            uint8_t *again = serialize_or_fail(&q, &len2);
            assert_int_equal(len2, len);
            assert_memory_equal(again, buf, len);
            free(again);
            isa_program_free(&q);
        }
        buf[at] ^= 0xff;
    }
    free(buf);
    isa_program_free(&p);
}

/* The byte offset of a machine key in the file. */
static size_t machine_offset(const char *key)
{
    size_t at = 16;
    for (int i = 0; strcmp(isa_machine_keys[i].key, key) != 0; i++) {
        IsaMachineKeyKind k = isa_machine_keys[i].kind;
        at += k == ISA_MKEY_NAME ? ISA_MACHINE_NAME_MAX : k == ISA_MKEY_BOOL || k == ISA_MKEY_NOC ? 1 : 8;
    }
    return at;
}

static void put_le(uint8_t *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void expect_load_error(const uint8_t *buf, size_t len, const char *message)
{
    IsaProgram q;
    char err[400] = "";
    if (isa_program_load(buf, len, &q, err, sizeof err))
        fail_msg("loaded a file that should fail with: %s", message);
    assert_contains(err, message);
}

static void test_program_file_errors(void **state)
{
    (void)state;
    IsaProgram p;
    build_program(&p);
    p.n_instrs = 2; /* cfg.layer (id 0), cfg.layer (id 1) */
    size_t len;
    uint8_t *good = serialize_or_fail(&p, &len);
    uint8_t *b = malloc(len + 1);
#define FRESH() memcpy(b, good, len)
    FRESH();
    b[0] = 'X';
    expect_load_error(b, len, "byte 0: not a dnnc ISA program (no DNNCISA1 magic)");
    FRESH();
    b[8] = 2;
    expect_load_error(b, len, "byte 8: version 2 is not supported (this reader knows version 1)");
    FRESH();
    b[12] = 1;
    expect_load_error(b, len, "byte 12: the reserved field is 1, not 0");
    FRESH();
    memset(b + 16, 'a', ISA_MACHINE_NAME_MAX);
    expect_load_error(b, len, "byte 16: the machine name has no NUL in its 64 bytes");
    FRESH();
    b[16 + ISA_MACHINE_NAME_MAX - 1] = 'a';
    expect_load_error(b, len, "byte 79: the machine name's padding is not zero");
    FRESH();
    b[16] = '\n';
    expect_load_error(b, len, "byte 16: the machine name has a control character (0x0a)");
    FRESH();
    put_le(b + machine_offset("pe_rows"), 0, 8);
    expect_load_error(b, len, "byte 80: machine pe_rows = 0 is out of range (1..1024)");
    FRESH();
    b[machine_offset("noc")] = 2;
    expect_load_error(b, len, "machine noc = 2 is out of range (0..1)");
    FRESH();
    b[machine_offset("rlc")] = 7;
    expect_load_error(b, len, "machine rlc = 7 is out of range (0..1)");
    FRESH();
    put_le(b + machine_offset("energy.rf"), 0x7ff8000000000000ull, 8); /* NaN */
    expect_load_error(b, len, "machine energy.rf = nan is out of range");
    size_t dram_at = machine_offset("energy.mac") + 8;
    FRESH();
    put_le(b + dram_at, ISA_DRAM_WORDS_MAX + 1, 8);
    expect_load_error(b, len, "dram_words = 1099511627777 is more than 2^40");
    FRESH();
    put_le(b + dram_at, 1000, 8);
    expect_load_error(b, len, "input 'data' at 0 (1 x 3 x 227 x 227 words) does not lie inside "
                      "the 1000 DRAM words");
    size_t layers_at = dram_at + 8;
    FRESH();
    put_le(b + layers_at, 100000, 4);
    expect_load_error(b, len, "100000 layer names, more than the 65536 allowed");
    FRESH();
    put_le(b + layers_at, 60000, 4);
    char msg[200];
    snprintf(msg, sizeof msg, "byte %zu: truncated: 60000 layer names need at least 120000 bytes",
             layers_at);
    expect_load_error(b, len, msg);
    FRESH();
    put_le(b + layers_at + 4, 2000, 2);
    expect_load_error(b, len, "a layer name is 2000 bytes long, more than 1024");
    size_t instrs_at = len - 2 * ISA_INSTR_BYTES - 8;
    FRESH();
    put_le(b + instrs_at, 3, 8);
    expect_load_error(b, len, "truncated: 3 instructions need at least 96 bytes, 64 are left");
    FRESH();
    b[len - ISA_INSTR_BYTES + 1] |= 0x10; /* a reserved bit of instruction 1 */
    snprintf(msg, sizeof msg, "byte %zu: instruction 1: cfg.layer: reserved bits 10-15 are not "
             "zero", len - ISA_INSTR_BYTES);
    expect_load_error(b, len, msg);
    FRESH();
    IsaInstr bad = p.instrs[1];
    bad.f[ISA_LAYER_ID] = 2;
    encode_or_fail(&bad, b + len - ISA_INSTR_BYTES);
    expect_load_error(b, len, "instruction 1: cfg.layer id = 2, but the program names 2 layers");
    FRESH();
    b[len] = 0;
    snprintf(msg, sizeof msg, "byte %zu: 1 byte after the last instruction", len);
    expect_load_error(b, len + 1, msg);
    expect_load_error(b, 5, "byte 0: truncated: the magic needs 8 bytes, 5 are left");
#undef FRESH
    free(b);
    free(good);
    isa_program_free(&p);
}

/* ---- the DRAM image ------------------------------------------------------ */

static void test_dram_image(void **state)
{
    (void)state;
    IsaDram d, back;
    char err[300];
    isa_dram_init(&d);
    int32_t w1[3] = {1, -2, INT32_MAX}, w2[2] = {INT32_MIN, 0};
    assert_true(isa_dram_add(&d, 10, w1, 3, err, sizeof err));
    assert_true(isa_dram_add(&d, 0, w2, 2, err, sizeof err));
    assert_false(isa_dram_add(&d, 5, w1, 0, err, sizeof err));
    assert_contains(err, "an empty segment at 5");
    assert_false(isa_dram_add(&d, ISA_DRAM_WORDS_MAX - 1, w1, 2, err, sizeof err));
    assert_contains(err, "ends past 2^40 words");
    uint8_t *buf, *buf2;
    size_t len, len2;
    assert_true(isa_dram_serialize(&d, &buf, &len, err, sizeof err));
    assert_true(isa_dram_load(buf, len, &back, err, sizeof err));
    assert_true(isa_dram_serialize(&back, &buf2, &len2, err, sizeof err));
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);

    int64_t cells[16];
    for (int i = 0; i < 16; i++)
        cells[i] = -7;
    assert_true(isa_dram_apply(&back, cells, 16, err, sizeof err));
    assert_true(cells[0] == INT32_MIN && cells[1] == 0 && cells[2] == -7 && cells[10] == 1 &&
                cells[11] == -2 && cells[12] == INT32_MAX && cells[13] == -7);
    assert_false(isa_dram_apply(&back, cells, 12, err, sizeof err));
    assert_contains(err, "segment 0 (3 words at 10) does not lie inside the 12 DRAM words");
    assert_true(isa_dram_add(&back, 1, w2, 2, err, sizeof err));
    assert_false(isa_dram_apply(&back, cells, 16, err, sizeof err));
    assert_contains(err, "segments 1 and 2 overlap at word 1");

    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        IsaDram q;
        if (isa_dram_load(part, cut, &q, err, sizeof err))
            fail_msg("a DRAM image cut to %zu of %zu bytes loads", cut, len);
        assert_contains(err, "byte ");
        free(part);
    }
    buf[24] = 0xff; /* the first segment's base: past 2^40 */
    buf[30] = 0xff;
    IsaDram q;
    assert_false(isa_dram_load(buf, len, &q, err, sizeof err));
    assert_contains(err, "byte 24: segment 0: a segment of 3 words at");
    memcpy(buf, "DNNCISA1", 8);
    assert_false(isa_dram_load(buf, len, &q, err, sizeof err));
    assert_contains(err, "byte 0: not a dnnc DRAM image (no DNNCDRM1 magic)");
    free(buf);
    free(buf2);
    isa_dram_free(&d);
    isa_dram_free(&back);
}

/* ---- assembly ------------------------------------------------------------ */

static char *asm_errors(const char *text, IsaProgram *out, bool *ok)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    assert_non_null(err);
    *ok = isa_asm_parse("t.s", text, strlen(text), out, err);
    fclose(err);
    return buf;
}

static void assemble_or_fail(const char *text, IsaProgram *out)
{
    bool ok;
    char *errors = asm_errors(text, out, &ok);
    if (!ok)
        fail_msg("does not assemble:\n%s\n%s", errors, text);
    free(errors);
}

/* binary -> text -> binary is byte-identical, text -> binary -> text the same text. */
static void test_asm_round_trip(void **state)
{
    (void)state;
    IsaProgram p, back, again;
    build_program(&p);
    char *text = isa_program_text(&p);
    assemble_or_fail(text, &back);
    size_t len, len2;
    uint8_t *a = serialize_or_fail(&p, &len), *b = serialize_or_fail(&back, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(a, b, len);
    char *text2 = isa_program_text(&back);
    assert_string_equal(text, text2);
    assemble_or_fail(text2, &again);
    char *text3 = isa_program_text(&again);
    assert_string_equal(text2, text3);
    /* A few lines as the reader sees them. */
    assert_contains(text, ".machine name=\"odd \\\"machine\\\" \\\\ x\" pe_rows=1024 pe_cols=1 "
                          "noc=broadcast clock_mhz=1000000\n");
    assert_contains(text, " energy.dram=0.1 energy.buffer=6 energy.array=1e-300 energy.rf=1 "
                          "energy.mac=0.3333333333333333\n");
    assert_contains(text, "\ncfg.order level=buf order=S,R,Q,P,C,M,N deps=pop_prev|pop_next|"
                          "push_prev|push_next\n");
    assert_contains(text, "\nld type=ifmap rlc=0 box=[0+1,0+1,0+1,0+1]\n");
    assert_contains(text, "\nst final=1 rlc=1 box=[65535+65535,65535+65535,65535+65535,"
                          "65535+65535] deps=pop_prev|push_prev\n");
    assert_contains(text, "\ncfg.noc data=ifmap row_tag=none col_tag=none\n");
    assert_contains(text, "\ncfg.noc data=psum row_tag=N|M|C|P|Q|R|S col_tag=N|M|C|P|Q|R|S deps=");
    assert_contains(text, "\ncfg.fixed frac_in=-128 frac_w=-128 frac_out=-128 relu=0 bias=0\n");
    assert_contains(text, "\ncfg.layer id=1 kind=fc group=65535 groups=65535 deps=pop_prev|"
                          "pop_next|push_prev|push_next ; a \"quoted\" \\ name; # not a comment\n");
    free(a);
    free(b);
    free(text);
    free(text2);
    free(text3);
    isa_program_free(&p);
    isa_program_free(&back);
    isa_program_free(&again);
}

/* Spellings the assembler accepts beside the canonical one. */
static void test_asm_optional_spellings(void **state)
{
    (void)state;
    const char *loose =
        "# a comment\n"
        ".dram_words 0x100 ; hex\n"
        "  ld deps=push_next box=[1+2,3+4,5+6,7+8] rlc=1 type=filter\r\n"
        "ld type=filter rlc=1 s0=1 l0=2 s1=3 l1=4 s2=5 l2=6 s3=7 l3=8 deps=push_next\n"
        "cfg.order level=rf d0=S d1=R d2=Q d3=P d4=M d5=C d6=N\n"
        "cfg.noc data=psum row_tag=R|C col_tag=none deps=none\n"
        "\tcfg.fixed frac_in=-0x10 frac_w=0 frac_out=007 relu=1 bias=0\n"
        ".machine energy.mac=1.5e+0 clock_mhz=2E2\n";
    const char *canonical_body =
        "ld type=filter rlc=1 box=[1+2,3+4,5+6,7+8] deps=push_next\n"
        "ld type=filter rlc=1 box=[1+2,3+4,5+6,7+8] deps=push_next\n"
        "cfg.order level=rf order=S,R,Q,P,M,C,N\n"
        "cfg.noc data=psum row_tag=C|R col_tag=none\n"
        "cfg.fixed frac_in=-16 frac_w=0 frac_out=7 relu=1 bias=0\n";
    IsaProgram p;
    assemble_or_fail(loose, &p);
    char *text = isa_program_text(&p);
    assert_contains(text, canonical_body);
    assert_contains(text, ".dram_words 256\n");
    assert_contains(text, "energy.mac=1.5\n");
    assert_contains(text, "clock_mhz=200\n");
    free(text);
    isa_program_free(&p);
}

static void test_asm_errors(void **state)
{
    (void)state;
    const char *text =
        "cfg.map dataflow=auto\n"                                  /* 1 */
        "cfg.shape n=70000 m=1 c=1 p=1 q=1 r=1 s=1\n"              /* 2 */
        "foo\n"                                                    /* 3 */
        "cfg.order level=buf order=N,N,C,P,Q,R,S\n"                /* 4 */
        "ld type=ifmap rlc=0 box=[0+1,0+0,0+1,0+1]\n"              /* 5 */
        "ld type=ifmap rlc=0 box=[0+1,0+1,0+1,0+1] deps=pop_prev\n" /* 6 */
        "cfg.map\n"                                                /* 7 */
        "cfg.map dataflow=ws dataflow=rs\n"                        /* 8 */
        "cfg.map bogus=1\n"                                        /* 9 */
        ".layer 1 \"x\"\n"                                         /* 10 */
        "cfg.layer id=0 kind=conv group=0 groups=1\n"              /* 11 */
        ".machine pe_rows=0\n"                                     /* 12 */
        ".input \"x\" base=0 shape=[1,1,1,1]\n"                    /* 13 */
        "cfg.map dataflow=ws @\n"                                  /* 14 */
        ".layer 0 \"abc\n"                                         /* 15 */
        ".bogus\n"                                                 /* 16 */
        "cfg.fixed frac_in=-129 frac_w=0 frac_out=0 relu=0 bias=0\n" /* 17 */
        ".machine energy.dram=1e999\n"                             /* 18 */
        "cfg.noc data=ifmap row_tag=C|C col_tag=none\n"            /* 19 */
        ".machine word_bits=12 word_bits=13\n";                    /* 20 */
    IsaProgram p;
    bool ok;
    char *errors = asm_errors(text, &p, &ok);
    assert_false(ok);
    assert_int_equal(p.n_instrs, 0);
    assert_contains(errors, "t.s:1:18: error: dataflow: 'auto' is not a dataflow (ws, os-a, os-b, "
                            "os-c, nlr, rs)\ncfg.map dataflow=auto\n                 ^\n");
    assert_contains(errors, "t.s:2:13: error: n = 70000 does not fit 16 bits (0..65535)");
    assert_contains(errors, "t.s:3:1: error: unknown instruction 'foo'");
    assert_contains(errors, "t.s:4:1: error: cfg.order: dimension N appears twice");
    assert_contains(errors, "t.s:5:1: error: ld: l1 = 0: a box's lengths are at least 1");
    assert_contains(errors, "t.s:6:1: error: ld: flag pop_prev: the LD unit has no previous unit");
    assert_contains(errors, "t.s:7:8: error: cfg.map: missing operands dataflow, ");
    assert_contains(errors, "t.s:8:21: error: operand 'dataflow' is given twice");
    assert_contains(errors, "t.s:9:9: error: cfg.map has no operand 'bogus' (it has: dataflow ");
    assert_contains(errors, "t.s:10:8: error: layer 1, expected 0 (layers are numbered from 0 in order)");
    assert_contains(errors, "t.s:11:1: error: cfg.layer: layer 0 is not declared");
    assert_contains(errors, "t.s:12:18: error: machine pe_rows = 0 is out of range (1..1024)");
    assert_contains(errors, "t.s:13:34: error: missing 'frac'");
    assert_contains(errors, "t.s:14:21: error: unexpected character '@'");
    assert_contains(errors, "t.s:15:10: error: unterminated string");
    assert_contains(errors, "t.s:16:1: error: unknown directive '.bogus'");
    assert_contains(errors, "t.s:17:19: error: frac_in = -129 does not fit 8 signed bits (-128..127)");
    assert_contains(errors, "t.s:18:22: error: '1e999' is not a finite decimal number");
    assert_contains(errors, "t.s:19:30: error: row_tag: dimension C is given twice");
    assert_contains(errors, "t.s:20:23: error: machine key 'word_bits' is set twice (first on line 20)");
    free(errors);

    /* After the last line: inputs and outputs inside DRAM. */
    errors = asm_errors(".input \"d\" base=10 shape=[1,1,2,2] frac=0\n.dram_words 12\n", &p, &ok);
    assert_false(ok);
    assert_contains(errors, "t.s:1:8: error: input 'd' at 10 (1 x 1 x 2 x 2 words) does not lie "
                            "inside the 12 DRAM words");
    free(errors);

    /* At most 20 errors are shown. */
    char many[2000] = "";
    for (int i = 0; i < 30; i++)
        strcat(many, "nope\n");
    errors = asm_errors(many, &p, &ok);
    assert_false(ok);
    assert_contains(errors, "t.s:20:1: error");
    assert_null(strstr(errors, "t.s:21:1"));
    assert_contains(errors, "t.s: too many errors, stopping");
    free(errors);
}

/* ---- the committed seeds ------------------------------------------------- */

/* tests/data/isa/: conv_pool.s is canonical text; conv_pool.isa is what it
 * assembles to and conv_pool.dram a DRAM image for it (the fuzzers' seeds).
 * DNNC_ISA_WRITE_SEEDS=1 writes the binary files again. */
static void test_seed_files(void **state)
{
    (void)state;
    char path[512], err[300];
    snprintf(path, sizeof path, "%s/tests/data/isa/conv_pool.s", DNNC_SOURCE_DIR);
    size_t len;
    char *text = read_file_or_fail(path, &len);
    IsaProgram p;
    assemble_or_fail(text, &p);
    char *again = isa_program_text(&p);
    assert_string_equal(again, text);

    IsaDram d;
    isa_dram_init(&d);
    int32_t ifmap[64], filter[18], bias[2] = {3, -5};
    for (int i = 0; i < 64; i++)
        ifmap[i] = (i * 37) % 256 - 128;
    for (int i = 0; i < 18; i++)
        filter[i] = (i * 11) % 64 - 32;
    assert_true(isa_dram_add(&d, 0, ifmap, 64, err, sizeof err));
    assert_true(isa_dram_add(&d, 64, filter, 18, err, sizeof err));
    assert_true(isa_dram_add(&d, 82, bias, 2, err, sizeof err));
    char isa_path[512], dram_path[512];
    snprintf(isa_path, sizeof isa_path, "%s/tests/data/isa/conv_pool.isa", DNNC_SOURCE_DIR);
    snprintf(dram_path, sizeof dram_path, "%s/tests/data/isa/conv_pool.dram", DNNC_SOURCE_DIR);
    const char *write = getenv("DNNC_ISA_WRITE_SEEDS");
    if (write && strcmp(write, "1") == 0) {
        assert_true(isa_program_save(&p, isa_path, err, sizeof err));
        assert_true(isa_dram_save(&d, dram_path, err, sizeof err));
    }
    uint8_t *want, *dwant;
    size_t want_len, dwant_len, got_len, dgot_len;
    uint8_t *got = serialize_or_fail(&p, &got_len);
    assert_true(isa_dram_serialize(&d, &dwant, &dwant_len, err, sizeof err));
    want = (uint8_t *)read_file_or_fail(isa_path, &want_len);
    uint8_t *dgot = (uint8_t *)read_file_or_fail(dram_path, &dgot_len);
    assert_int_equal(want_len, got_len);
    assert_memory_equal(want, got, got_len);
    assert_int_equal(dwant_len, dgot_len);
    assert_memory_equal(dwant, dgot, dgot_len);
    IsaProgram loaded;
    assert_true(isa_program_load_file(isa_path, &loaded, err, sizeof err));
    int64_t *cells = calloc(loaded.dram_words, sizeof *cells);
    assert_true(isa_dram_apply(&d, cells, loaded.dram_words, err, sizeof err));
    assert_int_equal(cells[83], -5);
    free(cells);
    free(want);
    free(got);
    free(dwant);
    free(dgot);
    free(text);
    free(again);
    isa_program_free(&p);
    isa_program_free(&loaded);
    isa_dram_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_round_trip_limits),
        cmocka_unit_test(test_encode_rejections),
        cmocka_unit_test(test_decode_rejections),
        cmocka_unit_test(test_program_file_round_trip),
        cmocka_unit_test(test_program_file_truncation),
        cmocka_unit_test(test_program_file_errors),
        cmocka_unit_test(test_dram_image),
        cmocka_unit_test(test_asm_round_trip),
        cmocka_unit_test(test_asm_optional_spellings),
        cmocka_unit_test(test_asm_errors),
        cmocka_unit_test(test_seed_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
