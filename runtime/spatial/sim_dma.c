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

#include "sim_rlc.h"
#include "sim_state.h"

static bool fail(char *err, size_t errsz, const char *msg)
{
    snprintf(err, errsz, "%s", msg);
    return false;
}

int64_t sim_dram_index(const SimMachine *s, IsaLdType type, int64_t i0, int64_t i1, int64_t i2,
                       int64_t i3)
{
    return sim_layer_dram_index(&s->layer, s->dram_words, type, i0, i1, i2, i3);
}

static const SimType ld_type_data[ISA_LDTYPE_COUNT] = {SIM_IFMAP, SIM_FILTER, SIM_PSUM, SIM_PSUM};

/* Fills tile t (whose box is already the new one) from the old tile where
 * they overlap and from DRAM elsewhere; returns the words read from DRAM.
 * Run-length coded words go through the coder and back (sim_rlc.h), so
 * that the values the buffer receives are the decoder's. */
static bool fill(SimMachine *s, IsaLdType type, SimTile *t, const SimTile *old, bool rlc,
                 double *moved, char *err, size_t errsz)
{
    const SimAxis *a = t->box.a;
    int64_t words = sim_box_words(&t->box);
    int64_t *from_dram = malloc((size_t)(words > 0 ? words : 1) * sizeof *from_dram);
    int64_t *values = malloc((size_t)(words > 0 ? words : 1) * sizeof *values);
    if (!from_dram || !values) {
        free(from_dram);
        free(values);
        return fail(err, errsz, "out of memory");
    }
    int64_t raw = 0, k = 0;
    bool ok = true;
    for (int64_t i0 = a[0].lo; ok && i0 < a[0].lo + a[0].span; i0++)
        for (int64_t i1 = a[1].lo; ok && i1 < a[1].lo + a[1].span; i1++)
            for (int64_t i2 = a[2].lo; ok && i2 < a[2].lo + a[2].span; i2++)
                for (int64_t i3 = a[3].lo; ok && i3 < a[3].lo + a[3].span; i3++, k++) {
                    int64_t j = old && old->valid ? sim_tile_index(old, i0, i1, i2, i3) : -1;
                    if (j >= 0) {
                        t->data[k] = old->data[j];
                        continue;
                    }
                    int64_t addr = sim_dram_index(s, type, i0, i1, i2, i3);
                    if (addr < 0) {
                        snprintf(err, errsz, "reads (%lld, %lld, %lld, %lld), outside the "
                                 "tensor or the DRAM", (long long)i0, (long long)i1,
                                 (long long)i2, (long long)i3);
                        ok = false;
                        break;
                    }
                    from_dram[raw] = k;
                    values[raw++] = s->dram[addr];
                }
    *moved = (double)raw;
    if (ok && rlc)
        ok = sim_rlc_through(s->m, values, raw, moved, err, errsz);
    for (int64_t i = 0; ok && i < raw; i++)
        t->data[from_dram[i]] = values[i];
    free(from_dram);
    free(values);
    return ok;
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
    if (rlc && ((type != ISA_LD_IFMAP && type != ISA_LD_FILTER) || !s->m->rlc))
        return fail(err, errsz, "rlc applies to ifmaps and filters on a machine with rlc = on");
    SimTile *t = type == ISA_LD_BIAS ? &s->bias : &s->glb[ld_type_data[type]];
    if (type == ISA_LD_PSUM && t->valid && t->dirty)
        return fail(err, errsz, "ld replaces a psum tile that was never stored");
    SimBox b = sim_box_of_instr(in, ISA_LD_S0);
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

/* The psum tile's words as st writes them: wide sums for a spill, or
 * requantised (bias added, ReLU) for a finished tile. */
static bool store_values(SimMachine *s, const SimTile *t, bool final, int64_t *values,
                         int64_t *addrs, char *err, size_t errsz)
{
    const SimLayer *l = &s->layer;
    const SimAxis *a = t->box.a;
    int shift = l->frac_in + l->frac_w - l->frac_out;
    int64_t k = 0;
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
                    addrs[k] = sim_dram_index(s, ISA_LD_PSUM, n, m, p, q);
                    if (addrs[k] < 0)
                        return fail(err, errsz, "writes outside the output tensor or the DRAM");
                    values[k] = final ? requantise(t->data[k] + bias, shift, l->relu) : t->data[k];
                }
        }
    return true;
}

/* Writes the tile out; run-length coded words go through the coder and
 * back, so that DRAM receives the decoder's values. */
static bool store(SimMachine *s, SimTile *t, bool final, bool rlc, double *moved, char *err,
                  size_t errsz)
{
    int64_t raw = sim_box_words(&t->box);
    int64_t *values = malloc((size_t)(raw > 0 ? raw : 1) * sizeof *values);
    int64_t *addrs = malloc((size_t)(raw > 0 ? raw : 1) * sizeof *addrs);
    bool ok = values && addrs;
    if (!ok)
        fail(err, errsz, "out of memory");
    ok = ok && store_values(s, t, final, values, addrs, err, errsz);
    *moved = (double)raw;
    if (ok && rlc)
        ok = sim_rlc_through(s->m, values, raw, moved, err, errsz);
    for (int64_t k = 0; ok && k < raw; k++)
        s->dram[addrs[k]] = values[k];
    free(values);
    free(addrs);
    return ok;
}

bool sim_st(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    bool final = in->f[ISA_ST_FINAL], rlc = in->f[ISA_ST_RLC];
    SimTile *t = &s->glb[SIM_PSUM];
    SimBox b = sim_box_of_instr(in, ISA_ST_S0);
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
