/* The LD and ST units: tiles between DRAM and the global buffer.
 *
 * The buffer keeps one tile of each data type. `ld` names the tile wanted
 * next; the DMA engine moves only the words the tile held before does not
 * have (a sliding window along whichever axis the tiles overlap), so the
 * stream never repeats what the buffer already holds. `st` writes the psum
 * tile out: spilled as wide partial sums, or finished (requantised, ReLU,
 * optionally run-length coded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_state.h"

static bool fail(char *err, size_t errsz, const char *msg)
{
    snprintf(err, errsz, "%s", msg);
    return false;
}

static SimBox box_of(const IsaInstr *in, int first)
{
    SimBox b;
    for (int i = 0; i < 4; i++) {
        int64_t lo = in->f[first + 2 * i], len = in->f[first + 2 * i + 1];
        b.a[i] = (SimAxis){lo, len, len};
    }
    return b;
}

/* The DRAM word of index (i0, i1, i2, i3) of a tensor of the layer, or -1
 * outside the tensor or the DRAM. */
static int64_t dram_index(const SimMachine *s, IsaLdType type, int64_t i0, int64_t i1,
                          int64_t i2, int64_t i3)
{
    const SimLayer *l = &s->layer;
    const int64_t *dim = l->dim;
    int64_t addr;
    switch (type) {
    case ISA_LD_IFMAP:
        if (i0 >= dim[SIM_N] || i1 >= dim[SIM_C] || i2 >= l->in_h || i3 >= l->in_w)
            return -1;
        addr = l->base[ISA_TENSOR_IFMAP] + i0 * l->outer_stride[ISA_TENSOR_IFMAP] +
               (i1 * l->in_h + i2) * l->in_w + i3;
        break;
    case ISA_LD_FILTER:
        if (i0 >= dim[SIM_M] || i1 >= dim[SIM_C] || i2 >= dim[SIM_R] || i3 >= dim[SIM_S])
            return -1;
        addr = l->base[ISA_TENSOR_FILTER] + i0 * l->outer_stride[ISA_TENSOR_FILTER] +
               (i1 * dim[SIM_R] + i2) * dim[SIM_S] + i3;
        break;
    case ISA_LD_PSUM:
        if (i0 >= dim[SIM_N] || i1 >= dim[SIM_M] || i2 >= dim[SIM_P] || i3 >= dim[SIM_Q])
            return -1;
        addr = l->base[ISA_TENSOR_OFMAP] + i0 * l->outer_stride[ISA_TENSOR_OFMAP] +
               (i1 * dim[SIM_P] + i2) * dim[SIM_Q] + i3;
        break;
    case ISA_LD_BIAS:
        if (i0 >= dim[SIM_M] || i1 || i2 || i3)
            return -1;
        addr = l->base[ISA_TENSOR_BIAS] + i0;
        break;
    default:
        return -1;
    }
    return addr < s->dram_words ? addr : -1;
}

/* Run-length coding of a stream of words (survey VII-B1, Eyeriss): each
 * non-zero value closes a (zero run, value) pair; a run longer than the run
 * field can count, or zeros at the end, take a pair of their own. */
typedef struct Rlc {
    int64_t run, max_run, pairs;
} Rlc;

/* A coder with no pair yet, its run field counting up to 2^run_bits - 1. */
static Rlc rlc_start(const SimMachine *s)
{
    return (Rlc){0, ((int64_t)1 << s->m->rlc_run_bits) - 1, 0};
}

static void rlc_push(Rlc *r, int64_t v)
{
    if (v == 0 && r->run < r->max_run) {
        r->run++;
        return;
    }
    r->pairs++;
    r->run = 0;
}

/* DRAM words the coded stream takes, never more than the raw words. */
static double rlc_words(const SimMachine *s, Rlc *r, int64_t raw)
{
    if (r->run > 0)
        r->pairs++;
    const IsaMachine *m = s->m;
    int64_t per_word = m->rlc_word_bits / (m->rlc_run_bits + m->word_bits);
    if (per_word < 1) /* no pair fits a word: the encoder sends raw words */
        return (double)raw;
    double words = (double)r->pairs * (double)m->rlc_word_bits / (double)per_word /
                   (double)m->word_bits;
    return words < (double)raw ? words : (double)raw;
}

static const SimType ld_type_data[ISA_LDTYPE_COUNT] = {SIM_IFMAP, SIM_FILTER, SIM_PSUM, SIM_PSUM};

/* Fills tile t (whose box is already the new one) from the old tile where
 * they overlap and from DRAM elsewhere; returns the words read from DRAM,
 * run-length coded when asked. */
static bool fill(SimMachine *s, IsaLdType type, SimTile *t, const SimTile *old, bool rlc,
                 double *moved, char *err, size_t errsz)
{
    const SimAxis *a = t->box.a;
    Rlc r = rlc_start(s);
    int64_t raw = 0, k = 0;
    for (int64_t i0 = a[0].lo; i0 < a[0].lo + a[0].span; i0++)
        for (int64_t i1 = a[1].lo; i1 < a[1].lo + a[1].span; i1++)
            for (int64_t i2 = a[2].lo; i2 < a[2].lo + a[2].span; i2++)
                for (int64_t i3 = a[3].lo; i3 < a[3].lo + a[3].span; i3++, k++) {
                    int64_t j = old && old->valid ? sim_tile_index(old, i0, i1, i2, i3) : -1;
                    if (j >= 0) {
                        t->data[k] = old->data[j];
                        continue;
                    }
                    int64_t addr = dram_index(s, type, i0, i1, i2, i3);
                    if (addr < 0) {
                        snprintf(err, errsz, "reads (%lld, %lld, %lld, %lld), outside the "
                                 "tensor or the DRAM", (long long)i0, (long long)i1,
                                 (long long)i2, (long long)i3);
                        return false;
                    }
                    t->data[k] = s->dram[addr];
                    raw++;
                    if (rlc)
                        rlc_push(&r, t->data[k]);
                }
    *moved = rlc ? rlc_words(s, &r, raw) : (double)raw;
    return true;
}

static bool check_capacity(const SimMachine *s, const SimTile *replaced, const SimBox *b,
                           char *err, size_t errsz)
{
    int64_t words = sim_buffer_words(s) + sim_box_words(b);
    if (replaced->valid)
        words -= sim_box_words(&replaced->box);
    int64_t cap = s->m->buffer_bytes * 8 / s->m->word_bits;
    if (words > cap) {
        snprintf(err, errsz, "the global buffer would hold %lld words, it has room for %lld",
                 (long long)words, (long long)cap);
        return false;
    }
    return true;
}

bool sim_ld(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    IsaLdType type = (IsaLdType)in->f[ISA_LD_TYPE];
    bool rlc = in->f[ISA_LD_RLC];
    if (!s->layer.started)
        return fail(err, errsz, "ld before any cfg.layer");
    if (rlc && (type != ISA_LD_IFMAP || !s->m->rlc))
        return fail(err, errsz, "rlc applies to ifmaps on a machine with rlc = on");
    SimTile *t = type == ISA_LD_BIAS ? &s->bias : &s->glb[ld_type_data[type]];
    if (type == ISA_LD_PSUM && t->valid && t->dirty)
        return fail(err, errsz, "ld replaces a psum tile that was never stored");
    SimBox b = box_of(in, ISA_LD_S0);
    if (type != ISA_LD_BIAS && !check_capacity(s, t, &b, err, errsz))
        return false;
    SimTile old = *t;
    bool reuse = type == ISA_LD_IFMAP || type == ISA_LD_FILTER;
    SimTile fresh = {0};
    if (!sim_tile_resize(&fresh, &b, err, errsz))
        return false;
    double moved = 0;
    if (!fill(s, type, &fresh, reuse ? &old : NULL, rlc, &moved, err, errsz)) {
        sim_tile_free(&fresh);
        return false;
    }
    sim_tile_free(t);
    *t = fresh;
    SimLayerCounts *c = s->cur;
    if (type == ISA_LD_BIAS) {
        c->bias_words += moved;
    } else if (type == ISA_LD_PSUM) {
        s->dram_psum += moved;
        s->psum_visits[SIM_LEVEL_DRAM] += (double)sim_box_words(&b);
    } else {
        s->fills[SIM_LEVEL_DRAM][ld_type_data[type]] += moved;
    }
    if (type != ISA_LD_BIAS)
        c->dram_words += moved;
    return true;
}

/* y = saturate16(round_half_even(acc * 2^-shift)), then ReLU: the
 * requantisation of docs/isa.md, exact in integers. */
static int64_t requantise(int64_t acc, int shift, bool relu)
{
    int64_t y;
    if (shift <= 0) {
        int up = -shift;
        if (up >= 48)
            y = acc > 0 ? INT16_MAX : acc < 0 ? INT16_MIN : 0;
        else
            y = acc > (INT64_MAX >> up) ? INT64_MAX : acc < (INT64_MIN >> up) ? INT64_MIN
                                                                               : acc * ((int64_t)1 << up);
    } else if (shift >= 63) {
        y = 0;
    } else {
        int64_t q = acc >> shift; /* floor */
        int64_t rem = acc - q * ((int64_t)1 << shift);
        int64_t half = (int64_t)1 << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        y = q;
    }
    y = y > INT16_MAX ? INT16_MAX : y < INT16_MIN ? INT16_MIN : y;
    return relu && y < 0 ? 0 : y;
}

static bool store(SimMachine *s, SimTile *t, bool final, bool rlc, double *moved, char *err,
                  size_t errsz)
{
    const SimLayer *l = &s->layer;
    const SimAxis *a = t->box.a;
    int shift = l->frac_in + l->frac_w - l->frac_out;
    Rlc r = rlc_start(s);
    int64_t k = 0, raw = 0;
    for (int64_t n = a[0].lo; n < a[0].lo + a[0].span; n++)
        for (int64_t m = a[1].lo; m < a[1].lo + a[1].span; m++) {
            int64_t bias = 0;
            if (final && l->bias) {
                int64_t j = s->bias.valid ? sim_tile_index(&s->bias, m, 0, 0, 0) : -1;
                if (j < 0)
                    return fail(err, errsz, "st final needs the bias of its filters loaded");
                bias = s->bias.data[j];
            }
            for (int64_t p = a[2].lo; p < a[2].lo + a[2].span; p++)
                for (int64_t q = a[3].lo; q < a[3].lo + a[3].span; q++, k++) {
                    int64_t addr = dram_index(s, ISA_LD_PSUM, n, m, p, q);
                    if (addr < 0)
                        return fail(err, errsz, "writes outside the output tensor or the DRAM");
                    int64_t v = final ? requantise(t->data[k] + bias, shift, l->relu) : t->data[k];
                    s->dram[addr] = v;
                    raw++;
                    if (rlc)
                        rlc_push(&r, v);
                }
        }
    *moved = rlc ? rlc_words(s, &r, raw) : (double)raw;
    return true;
}

bool sim_st(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    bool final = in->f[ISA_ST_FINAL], rlc = in->f[ISA_ST_RLC];
    SimTile *t = &s->glb[SIM_PSUM];
    SimBox b = box_of(in, ISA_ST_S0);
    if (!t->valid || !sim_box_equal(&b, &t->box))
        return fail(err, errsz, "st names a psum tile the buffer does not hold");
    if (rlc && (!final || !s->m->rlc))
        return fail(err, errsz, "rlc applies to finished outputs on a machine with rlc = on");
    double moved = 0;
    if (!store(s, t, final, rlc, &moved, err, errsz))
        return false;
    t->dirty = false;
    s->dram_psum += moved;
    s->cur->dram_words += moved;
    return true;
}
