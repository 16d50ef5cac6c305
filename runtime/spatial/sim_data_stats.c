/* The data statistics of a program's transfers (sim_data_stats.h). Kept
 * apart from the simulator's units on purpose: it reads the stream's boxes
 * and the image's words, and shares with the simulator only the layer
 * registers, the address rule and the RLC coder. */
#include "sim_data_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_layer.h"
#include "sim_rlc.h"

typedef struct Walk {
    const IsaProgram *p;
    const int64_t *dram;
    SimLayer layer;
    SimDataStats *cur;
    bool counted;        /* the current group's MACs are counted */
    bool have_ifmap;     /* the buffer holds an ifmap tile of this group */
    SimBox ifmap;
    int64_t *values;     /* one box's words */
    int64_t cap;
    SimRlcPair *pairs;
    char *err;
    size_t errsz;
} Walk;

static bool fail(Walk *w, const char *msg)
{
    snprintf(w->err, w->errsz, "%s", msg);
    return false;
}

static bool reserve(Walk *w, int64_t n)
{
    if (n <= w->cap)
        return true;
    int64_t *v = realloc(w->values, (size_t)n * sizeof *v);
    if (v)
        w->values = v;
    SimRlcPair *q = v ? realloc(w->pairs, (size_t)n * sizeof *q) : NULL;
    if (q)
        w->pairs = q;
    if (!v || !q)
        return fail(w, "out of memory");
    w->cap = n;
    return true;
}

static bool inside(const SimBox *b, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    const int64_t i[4] = {i0, i1, i2, i3};
    for (int k = 0; k < 4; k++)
        if (i[k] < b->a[k].lo || i[k] >= b->a[k].lo + b->a[k].span)
            return false;
    return true;
}

/* The words of box b not in kept (if any), in the box's order. */
static bool gather(Walk *w, IsaLdType type, const SimBox *b, const SimBox *kept, int64_t *n)
{
    const SimAxis *a = b->a;
    if (!reserve(w, sim_box_words(b)))
        return false;
    *n = 0;
    for (int64_t i0 = a[0].lo; i0 < a[0].lo + a[0].span; i0++)
        for (int64_t i1 = a[1].lo; i1 < a[1].lo + a[1].span; i1++)
            for (int64_t i2 = a[2].lo; i2 < a[2].lo + a[2].span; i2++)
                for (int64_t i3 = a[3].lo; i3 < a[3].lo + a[3].span; i3++) {
                    if (kept && inside(kept, i0, i1, i2, i3))
                        continue;
                    int64_t at = sim_layer_dram_index(&w->layer, (int64_t)w->p->dram_words, type,
                                                      i0, i1, i2, i3);
                    if (at < 0)
                        return fail(w, "a box lies outside its tensor or the DRAM");
                    w->values[(*n)++] = w->dram[at];
                }
    return true;
}

/* The DRAM words n gathered values take, coded when rlc is set. */
static bool coded_words(Walk *w, int64_t n, bool rlc, double *words)
{
    int64_t pairs = 0;
    if (!rlc) {
        *words = (double)n;
        return true;
    }
    if (!sim_rlc_encode(&w->p->machine, w->values, n, w->pairs, &pairs, w->err, w->errsz))
        return false;
    *words = sim_rlc_words(&w->p->machine, pairs, n);
    return true;
}

static bool load(Walk *w, const IsaInstr *in)
{
    if (in->f[ISA_LD_TYPE] != ISA_LD_IFMAP)
        return true;
    SimBox b = sim_box_of_instr(in, ISA_LD_S0);
    int64_t n;
    double words;
    if (!gather(w, ISA_LD_IFMAP, &b, w->have_ifmap ? &w->ifmap : NULL, &n) ||
        !coded_words(w, n, in->f[ISA_LD_RLC], &words))
        return false;
    w->cur->ifmap_moved += (double)n;
    w->cur->ifmap_coded += words;
    w->ifmap = b;
    w->have_ifmap = true;
    return true;
}

static bool store(Walk *w, const IsaInstr *in)
{
    if (!in->f[ISA_ST_FINAL])
        return true;
    SimBox b = sim_box_of_instr(in, ISA_ST_S0);
    int64_t n;
    double words;
    if (!gather(w, ISA_LD_PSUM, &b, NULL, &n) || !coded_words(w, n, in->f[ISA_ST_RLC], &words))
        return false;
    w->cur->ofmap_final += (double)n;
    w->cur->ofmap_coded += words;
    return true;
}

/* For every filter tap (c, r, s), how many of the M filters hold a zero
 * there (a pruned weight); NULL (reported) on failure. */
static int64_t *zero_filters_per_tap(Walk *w)
{
    const SimLayer *l = &w->layer;
    const int64_t *d = l->dim;
    int64_t taps = d[SIM_C] * d[SIM_R] * d[SIM_S];
    int64_t *zeros = calloc((size_t)taps, sizeof *zeros);
    if (!zeros) {
        fail(w, "out of memory counting the filters' zeros");
        return NULL;
    }
    for (int64_t m = 0; m < d[SIM_M]; m++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t at = sim_layer_dram_index(l, (int64_t)w->p->dram_words, ISA_LD_FILTER, m,
                                              t / (d[SIM_R] * d[SIM_S]), t / d[SIM_S] % d[SIM_R], t % d[SIM_S]);
            if (at < 0) {
                free(zeros);
                fail(w, "the filters lie outside the DRAM");
                return NULL;
            }
            zeros[t] += w->dram[at] == 0;
        }
    return zeros;
}

/* The group's MACs, and those with a zero operand, which the gating
 * skips: every (n, c, p, q, r, s) meets one ifmap word, for each of the M
 * filters; all M MACs when the ifmap is padding or a zero in the image,
 * else those of the filters whose weight at (c, r, s) is zero. */
static bool count_macs(Walk *w)
{
    const SimLayer *l = &w->layer;
    const int64_t *d = l->dim;
    int64_t *zero_filters = zero_filters_per_tap(w);
    if (!zero_filters)
        return false;
    double zeros = 0;
    for (int64_t n = 0; n < d[SIM_N]; n++)
        for (int64_t c = 0; c < d[SIM_C]; c++)
            for (int64_t p = 0; p < d[SIM_P]; p++)
                for (int64_t q = 0; q < d[SIM_Q]; q++)
                    for (int64_t r = 0; r < d[SIM_R]; r++)
                        for (int64_t s = 0; s < d[SIM_S]; s++) {
                            int64_t y = p * l->stride[0] + r * l->dil[0] - l->pad[0];
                            int64_t x = q * l->stride[1] + s * l->dil[1] - l->pad[1];
                            if (y < 0 || y >= l->in_h || x < 0 || x >= l->in_w) {
                                zeros += (double)d[SIM_M];
                                continue;
                            }
                            int64_t at = sim_layer_dram_index(l, (int64_t)w->p->dram_words,
                                                              ISA_LD_IFMAP, n, c, y, x);
                            if (at < 0) {
                                free(zero_filters);
                                return fail(w, "the ifmap lies outside the DRAM");
                            }
                            zeros += w->dram[at] == 0 ? (double)d[SIM_M]
                                                      : (double)zero_filters[(c * d[SIM_R] + r) * d[SIM_S] + s];
                        }
    free(zero_filters);
    double macs = 1;
    for (int k = 0; k < SIM_DIMS; k++)
        macs *= (double)d[k];
    w->cur->macs += macs;
    w->cur->zero_macs += zeros;
    w->counted = true;
    return true;
}

static bool open_group(Walk *w, SimDataStats *out)
{
    if (w->layer.id < 0 || (size_t)w->layer.id >= w->p->n_layers)
        return fail(w, "cfg.layer names a layer the program does not list");
    w->cur = &out[w->layer.id];
    w->counted = w->have_ifmap = false;
    return true;
}

static bool step(Walk *w, const IsaInstr *in, SimDataStats *out)
{
    switch (in->op) {
    case ISA_LD:
        return !w->cur || load(w, in);
    case ISA_ST:
        return !w->cur || store(w, in);
    case ISA_PASS:
        return !w->cur || w->counted || count_macs(w);
    case ISA_POOL: case ISA_SYNC: case ISA_FINISH:
        return true;
    case ISA_CFG_LAYER:
        return sim_layer_config(&w->layer, in, w->err, w->errsz) && open_group(w, out);
    default:
        return sim_layer_config(&w->layer, in, w->err, w->errsz);
    }
}

bool sim_data_stats(const IsaProgram *p, const int64_t *dram, SimDataStats *out, char *err,
                    size_t errsz)
{
    memset(out, 0, p->n_layers * sizeof *out);
    Walk w = {.p = p, .dram = dram, .err = err, .errsz = errsz};
    bool ok = true;
    for (size_t i = 0; ok && i < p->n_instrs; i++)
        ok = step(&w, &p->instrs[i], out);
    free(w.values);
    free(w.pairs);
    return ok;
}
