/* The precision a mapped layer is costed at (docs/accelerator.md,
 * "Precision"): the bits of its ifmap, filter and psum values follow the
 * layer's element types, and a MAC's energy follows its operands.
 *
 * MAC energies come from the survey's Section VII-A1, which quotes [79]
 * (Horowitz, ISSCC 2014, 45 nm): an 8-bit fixed-point add takes 3.3x less
 * energy than a 32-bit one and 30x less than a 32-bit float add; an 8-bit
 * multiply 15.5x less than a 32-bit one and 18.5x less than a 32-bit float
 * multiply; adds scale about linearly with the bits, multiplies about
 * quadratically. The survey gives ratios; the 8-bit figures they are ratios
 * of, 0.03 pJ an add and 0.2 pJ a multiply, are [79]'s (0.1 / 0.03 = 3.3,
 * 0.9 / 0.03 = 30, 3.1 / 0.2 = 15.5, 3.7 / 0.2 = 18.5). The unit is the
 * machine's energy.mac, the 16-bit fixed MAC of Fig. 22: a 16 x 16 multiply
 * and a 32-bit add, 0.8 + 0.12 = 0.92 pJ by these rules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "map.h"
#include "weight_code.h"

#define ADD8_PJ 0.03                 /* [79] via the survey: 8-bit fixed add */
#define MULT8_PJ 0.2                 /* 8-bit fixed multiply */
#define F32_ADD_PJ (30 * ADD8_PJ)    /* "30x less energy than a 32-bit floating point add" */
#define F32_MULT_PJ (18.5 * MULT8_PJ) /* "18.5x less energy than a 32-bit floating point multiply" */
#define F32_EXPONENT_BITS 8

static double add_pj(int bits) { return ADD8_PJ * bits / 8.0; }                 /* linear */
static double mult_pj(int a, int b) { return MULT8_PJ * (double)a * b / 64.0; } /* quadratic */
static double unit_pj(void) { return mult_pj(16, 16) + add_pj(32); }

static int type_bits(ElemType t) { return elem_is_code(t.kind) ? weight_code_bits(t) : elem_type_bits(t); }

/* Fig. 39: an N x N product needs 2N bits and a sum of K of them
 * ceil(log2 K) more; quantization.md's fixed16 accumulator, 31 + ceil(log2
 * K) + 1 (a signed product of two 16-bit values and the bias). */
static int accumulator_bits(int operand_bits, const MapLayer *l)
{
    double k = (double)l->dim[DIM_C] * (double)l->dim[DIM_R] * (double)l->dim[DIM_S];
    return 2 * operand_bits + (int)ceil(log2(k > 1 ? k : 1));
}

static void set_float(MapPrecision *p)
{
    snprintf(p->name, sizeof p->name, "f32");
    p->bits[DATA_IFMAP] = p->bits[DATA_FILTER] = p->bits[DATA_PSUM] = p->output_bits = 32;
    p->operand_bits = PRECISION_F32;
    p->is_float = true;
    p->mac = (F32_MULT_PJ + F32_ADD_PJ) / unit_pj();
}

/* qlinear_conv: u8/i8 with the i32 accumulator the quantize pass sizes
 * (quantization.md), i16 with Fig. 39's width. */
static void set_integer(const Graph *g, const Node *n, const MapLayer *l, MapPrecision *p)
{
    int a = type_bits(g->tensors[n->inputs[0]].type);
    int w = type_bits(elem_type_default((ElemKind)n->attr.qconv.weight_type));
    int operand = a > w ? a : w;
    snprintf(p->name, sizeof p->name, "i%d", operand);
    p->bits[DATA_IFMAP] = a;
    p->bits[DATA_FILTER] = w;
    p->bits[DATA_PSUM] = operand <= 8 ? 32 : accumulator_bits(operand, l);
    p->output_bits = type_bits(elem_type_default((ElemKind)n->attr.qconv.out_type));
    p->operand_bits = operand;
    p->mac = (mult_pj(a, w) + add_pj(p->bits[DATA_PSUM])) / unit_pj();
}

/* coded_conv: float activations and sums, the weights' code bits. A
 * power-of-two weight turns the multiply into an add to the exponent, a
 * binary or ternary one into the sign of the add (survey VII-A2); a
 * codebook weight is decoded to a float32 centroid (Fig. 40's second read)
 * and multiplied: "weight sharing does not reduce the precision of the MAC
 * computation itself". */
static void set_coded(const Node *n, MapPrecision *p)
{
    ElemType w = elem_type_default((ElemKind)n->attr.coded.weight_type);
    if (w.kind == ELEM_LOG2 || w.kind == ELEM_CODEBOOK)
        w.bits = (uint8_t)n->attr.coded.weight_bits;
    set_float(p);
    elem_type_format(w, p->name, sizeof p->name);
    p->bits[DATA_FILTER] = type_bits(w);
    if (w.kind == ELEM_LOG2)
        p->mac = (add_pj(F32_EXPONENT_BITS) + F32_ADD_PJ) / unit_pj();
    else if (w.kind == ELEM_BINARY || w.kind == ELEM_TERNARY)
        p->mac = F32_ADD_PJ / unit_pj();
    else
        p->codebook_bits = 32;
}

void map_precision_of_node(const Graph *g, const Node *n, MapLayer *l)
{
    MapPrecision *p = &l->precision;
    memset(p, 0, sizeof *p);
    if (n->op == OP_QLINEAR_CONV)
        set_integer(g, n, l, p);
    else if (n->op == OP_CODED_CONV)
        set_coded(n, p);
    else
        set_float(p);
}

int map_value_bits(const SpatialArch *a, const MapLayer *l, DataType t)
{
    return l->precision.bits[t] ? l->precision.bits[t] : (int)a->word_bits;
}

int map_output_bits(const SpatialArch *a, const MapLayer *l)
{
    return l->precision.output_bits ? l->precision.output_bits : (int)a->word_bits;
}

double map_mac_energy(const SpatialArch *a, const MapLayer *l)
{
    return a->energy_mac * (l->precision.mac > 0 ? l->precision.mac : 1);
}

void map_precision_name(const SpatialArch *a, const MapLayer *l, char *buf, size_t size)
{
    if (l->precision.name[0])
        snprintf(buf, size, "%s", l->precision.name);
    else
        snprintf(buf, size, "word%lld", (long long)a->word_bits);
}

/* The arch `precisions` bit of what l's PEs multiply. */
static uint64_t needed(const SpatialArch *a, const MapLayer *l)
{
    if (l->precision.is_float)
        return ARCH_PRECISION_F32;
    int bits = l->precision.operand_bits ? l->precision.operand_bits : (int)a->word_bits;
    return arch_precision_int(bits);
}

bool map_precision_supported(const SpatialArch *a, const MapLayer *l, char *why, size_t whysz)
{
    if (!a->precisions || (a->precisions & needed(a, l)))
        return true;
    char have[128], name[32];
    arch_precisions_format(a->precisions, have, sizeof have);
    map_precision_name(a, l, name, sizeof name);
    snprintf(why, whysz, "its precision %s is not one %s computes (precisions = %s)", name, a->name,
             have);
    return false;
}
