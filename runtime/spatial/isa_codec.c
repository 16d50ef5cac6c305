#include "isa_codec.h"

#include <stdio.h>
#include <string.h>

#define HEADER_BITS 16
#define OPCODE_BITS 6
#define DEPS_SHIFT 6
#define INSTR_BITS (8 * ISA_INSTR_BYTES)

/* ---- the rules ----------------------------------------------------------- */

void isa_field_range(const IsaFieldInfo *f, int64_t *lo, int64_t *hi)
{
    if (f->kind == ISA_KIND_SINT) {
        *lo = -((int64_t)1 << (f->bits - 1));
        *hi = ((int64_t)1 << (f->bits - 1)) - 1;
    } else {
        *lo = 0;
        *hi = ((int64_t)1 << f->bits) - 1;
    }
}

static bool is_enumerated(IsaFieldKind k)
{
    return k != ISA_KIND_UINT && k != ISA_KIND_SINT && k != ISA_KIND_BOOL && k != ISA_KIND_DIMS;
}

static bool check_field(const IsaOpInfo *info, int i, int64_t v, char *err, size_t errsz)
{
    const IsaFieldInfo *f = &info->fields[i];
    int64_t lo, hi;
    isa_field_range(f, &lo, &hi);
    if (is_enumerated(f->kind)) {
        if (!isa_kind_value_name(f->kind, v)) {
            snprintf(err, errsz, "%s: %s = %lld is not %s", info->mnemonic, f->name, (long long)v,
                     isa_kind_description(f->kind));
            return false;
        }
    } else if (v < lo || v > hi) {
        snprintf(err, errsz, "%s: %s = %lld does not fit %d %sbits (%lld..%lld)", info->mnemonic,
                 f->name, (long long)v, f->bits, f->kind == ISA_KIND_SINT ? "signed " : "",
                 (long long)lo, (long long)hi);
        return false;
    }
    return true;
}

/* LD has no previous unit and ST no next one (the queues are LD <-> EX <-> ST). */
static bool check_deps(const IsaOpInfo *info, unsigned deps, char *err, size_t errsz)
{
    if (deps > 15) {
        snprintf(err, errsz, "%s: dependency flags 0x%x are more than pop_prev|pop_next|"
                 "push_prev|push_next", info->mnemonic, deps);
        return false;
    }
    unsigned bad = 0;
    const char *missing = NULL;
    if (info->unit == ISA_UNIT_LD) {
        bad = deps & (ISA_POP_PREV | ISA_PUSH_PREV);
        missing = "previous";
    } else if (info->unit == ISA_UNIT_ST) {
        bad = deps & (ISA_POP_NEXT | ISA_PUSH_NEXT);
        missing = "next";
    }
    if (bad) {
        int bit = __builtin_ctz(bad);
        snprintf(err, errsz, "%s: flag %s: the %s unit has no %s unit", info->mnemonic,
                 isa_dep_names[bit], isa_unit_name(info->unit), missing);
        return false;
    }
    return true;
}

/* cfg.order's seven dimensions, outer to inner, each exactly once. */
static bool check_order(const IsaInstr *in, char *err, size_t errsz)
{
    unsigned seen = 0;
    for (int i = 0; i < ISA_DIMS; i++) {
        unsigned bit = 1u << in->f[ISA_ORDER_D0 + i];
        if (seen & bit) {
            snprintf(err, errsz, "cfg.order: dimension %s appears twice (the order is a "
                     "permutation of N M C P Q R S)",
                     isa_kind_value_name(ISA_KIND_DIM, in->f[ISA_ORDER_D0 + i]));
            return false;
        }
        seen |= bit;
    }
    return true;
}

/* ld and st move a box: every length is at least 1. */
static bool check_box(const IsaOpInfo *info, const IsaInstr *in, char *err, size_t errsz)
{
    for (int a = 0; a < ISA_BOX_AXES; a++) {
        int l = info->group_first + 2 * a + 1;
        if (in->f[l] == 0) {
            snprintf(err, errsz, "%s: %s = 0: a box's lengths are at least 1", info->mnemonic,
                     info->fields[l].name);
            return false;
        }
    }
    return true;
}

bool isa_check(const IsaInstr *in, char *err, size_t errsz)
{
    const IsaOpInfo *info = isa_op_info(in->op);
    if (!info) {
        if (in->op == ISA_INVALID)
            snprintf(err, errsz, "opcode 0 is no instruction (zeroed memory is no program)");
        else
            snprintf(err, errsz, "unknown opcode %d", (int)in->op);
        return false;
    }
    if (!check_deps(info, in->deps, err, errsz))
        return false;
    for (int i = 0; i < info->n_fields; i++)
        if (!check_field(info, i, in->f[i], err, errsz))
            return false;
    for (int i = info->n_fields; i < ISA_MAX_FIELDS; i++)
        if (in->f[i] != 0) {
            snprintf(err, errsz, "%s: operand %d is %lld, but %s has %d operand%s", info->mnemonic,
                     i, (long long)in->f[i], info->mnemonic, info->n_fields,
                     info->n_fields == 1 ? "" : "s");
            return false;
        }
    if (info->group == ISA_GROUP_ORDER && !check_order(in, err, errsz))
        return false;
    if (info->group == ISA_GROUP_BOX && !check_box(info, in, err, errsz))
        return false;
    return true;
}

/* ---- bits ---------------------------------------------------------------- */

static void put_bits(uint8_t *buf, int pos, int bits, uint64_t v)
{
    for (int i = 0; i < bits; i++, pos++)
        if ((v >> i) & 1)
            buf[pos / 8] |= (uint8_t)(1u << (pos % 8));
}

static uint64_t get_bits(const uint8_t *buf, int pos, int bits)
{
    uint64_t v = 0;
    for (int i = 0; i < bits; i++, pos++)
        v |= (uint64_t)((buf[pos / 8] >> (pos % 8)) & 1) << i;
    return v;
}

bool isa_encode(const IsaInstr *in, uint8_t out[ISA_INSTR_BYTES], char *err, size_t errsz)
{
    if (!isa_check(in, err, errsz))
        return false;
    const IsaOpInfo *info = isa_op_info(in->op);
    uint8_t buf[ISA_INSTR_BYTES] = {0};
    put_bits(buf, 0, OPCODE_BITS, (uint64_t)in->op);
    put_bits(buf, DEPS_SHIFT, 4, in->deps);
    int pos = HEADER_BITS;
    for (int i = 0; i < info->n_fields; i++) {
        const IsaFieldInfo *f = &info->fields[i];
        /* A signed value's two's complement, cut to its width. */
        put_bits(buf, pos, f->bits, (uint64_t)in->f[i]);
        pos += f->bits;
    }
    memcpy(out, buf, ISA_INSTR_BYTES);
    return true;
}

static int64_t sign_extend(uint64_t v, int bits)
{
    uint64_t sign = (uint64_t)1 << (bits - 1);
    return (int64_t)(v ^ sign) - (int64_t)sign;
}

bool isa_decode(const uint8_t in[ISA_INSTR_BYTES], IsaInstr *out, char *err, size_t errsz)
{
    IsaInstr d;
    memset(&d, 0, sizeof d);
    d.op = (IsaOpcode)get_bits(in, 0, OPCODE_BITS);
    d.deps = (unsigned)get_bits(in, DEPS_SHIFT, 4);
    const IsaOpInfo *info = isa_op_info(d.op);
    if (!info)
        return isa_check(&d, err, errsz); /* names the bad opcode */
    uint64_t reserved = get_bits(in, 10, 6);
    if (reserved) {
        snprintf(err, errsz, "%s: reserved bits 10-15 are not zero (0x%llx)", info->mnemonic,
                 (unsigned long long)reserved);
        return false;
    }
    int pos = HEADER_BITS;
    for (int i = 0; i < info->n_fields; i++) {
        const IsaFieldInfo *f = &info->fields[i];
        uint64_t v = get_bits(in, pos, f->bits);
        d.f[i] = f->kind == ISA_KIND_SINT ? sign_extend(v, f->bits) : (int64_t)v;
        pos += f->bits;
    }
    for (int b = pos; b < INSTR_BITS; b++)
        if (get_bits(in, b, 1)) {
            if (pos == HEADER_BITS)
                snprintf(err, errsz, "%s: bit %d is set, but %s has no operands", info->mnemonic,
                         b, info->mnemonic);
            else
                snprintf(err, errsz, "%s: bit %d is set, past its operands (bits 16-%d)",
                         info->mnemonic, b, pos - 1);
            return false;
        }
    if (!isa_check(&d, err, errsz))
        return false;
    *out = d;
    return true;
}
