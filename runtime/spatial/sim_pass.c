/* `pass`: the array processes one buffer tile under the layer's mapping
 * (docs/isa.md, "pass"). The array controller walks the loops below the
 * buffer as cfg.loop and cfg.order give them: the buffer level's loops in
 * time, the rows and columns of PEs in space, each PE's streamed loops and
 * the loops over its scratchpad. At each boundary it moves what the level
 * below does not hold yet and counts it, with the conventions of the
 * analytical model (docs/accelerator.md), which this execution checks:
 *
 *   - a data type the scratchpads keep (cfg.map hold) is delivered to the
 *     array as the tile of one buffer-loop iteration, multicast once per
 *     word; if no streamed loop of a PE walks over it, the array keeps it
 *     across iterations and passes, and only new words move; each PE's
 *     scratchpad is refilled with the words its next tile needs;
 *   - a type passed between neighbours is sent by the buffer once per
 *     buffer-loop iteration, then reaches each PE for every MAC;
 *   - any other type is multicast at every step: one buffer read per
 *     distinct word the active PEs need in that step. They are counted
 *     one dimension at a time (sim_axes.c), or word by word when the
 *     options ask (the oracle the tests compare that with); each PE's
 *     tile is assembled only when a scratchpad keeps a type, the
 *     arithmetic runs, or the words are counted one by one.
 *
 * Psums go the other way: "visits" of a psum word at each level, and the
 * accesses follow from them (Eyeriss ISCA'16's 2a-1 / 2a(b-1) / ab(c-1) /
 * 2abc(d-1) counts). The arithmetic is exact: 16-bit values, products
 * summed in 64 bits into the buffer's psum tile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_axes.h"
#include "sim_keyset.h"
#include "sim_state.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static const unsigned type_dims[SIM_TYPES] = {
    [SIM_IFMAP] = 1u << SIM_N | 1u << SIM_C | 1u << SIM_P | 1u << SIM_Q | 1u << SIM_R | 1u << SIM_S,
    [SIM_FILTER] = 1u << SIM_M | 1u << SIM_C | 1u << SIM_R | 1u << SIM_S,
    [SIM_PSUM] = 1u << SIM_N | 1u << SIM_M | 1u << SIM_P | 1u << SIM_Q,
};

typedef enum { ROUTE_HOLD, ROUTE_NEIGHBOUR, ROUTE_STEP } Route;

/* One PE's tile at the current point of the walk. */
typedef struct PeTile {
    int64_t index;            /* row * columns + column */
    int64_t o[SIM_DIMS], e[SIM_DIMS]; /* the PE's share of the array tile */
    int64_t ro[SIM_DIMS], re[SIM_DIMS]; /* its scratchpad tile now */
    bool active;
} PeTile;

typedef struct Walk {
    SimMachine *s;
    const SimLayer *l;
    Route route[SIM_TYPES];
    bool array_keeps[SIM_TYPES];
    PeTile *pes;
    int64_t n_pes, row_pes, col_pes;
    bool per_pe; /* the walk needs each PE's tile, not only the axes' */
    KeySet seen; /* per-step multicast word by word: the distinct words the PEs need */
    SimPeAxes axes;
    int64_t in_words_c, filter_words_c; /* strides in the buffer tiles */
} Walk;

/* ---- Loop iteration over one level ---- */

/* An odometer over a level's loops in its order: idx[d] counts iterations
 * of dimension d, n[d] how many there are. */
typedef struct Odometer {
    const int *order;
    int64_t idx[SIM_DIMS], n[SIM_DIMS];
} Odometer;

static void odo_start(Odometer *od, const int *order, const int64_t n[SIM_DIMS])
{
    od->order = order;
    for (int d = 0; d < SIM_DIMS; d++) {
        od->idx[d] = 0;
        od->n[d] = n[d];
    }
}

/* Advances the innermost loop first; false after the last iteration. */
static bool odo_next(Odometer *od)
{
    for (int k = SIM_DIMS - 1; k >= 0; k--) {
        int d = od->order[k];
        if (++od->idx[d] < od->n[d])
            return true;
        od->idx[d] = 0;
    }
    return false;
}

/* ---- Counting fills ---- */

/* A tile of a kept type moved into storage that held `kept`: the words
 * not already there. */
static double refill(const SimLayer *l, SimType t, const int64_t o[SIM_DIMS],
                     const int64_t e[SIM_DIMS], bool *valid, SimBox *kept, bool keeps)
{
    SimBox b;
    sim_tile_box(l, t, o, e, &b);
    double words;
    if (!keeps || !*valid)
        words = (double)sim_box_words(&b);
    else if (sim_box_equal(&b, kept))
        words = 0;
    else
        words = (double)sim_box_new_words(&b, kept);
    *kept = b;
    *valid = true;
    return words;
}

static void count_fill(Walk *w, SimMemLevel lv, SimType t, double words)
{
    if (t == SIM_PSUM)
        w->s->psum_visits[lv] += words;
    else
        w->s->fills[lv][t] += words;
}

/* ---- The array tile: spatial assignment of PEs ---- */

/* Lays the PEs over the array tile at origin a with extents ea: PE (row,
 * column) takes the share its row and column indices select. */
static void place_pes(Walk *w, const int64_t a[SIM_DIMS], const int64_t ea[SIM_DIMS])
{
    const SimLayer *l = w->l;
    for (int64_t p = 0; p < w->n_pes; p++) {
        PeTile *pe = &w->pes[p];
        int64_t row = p / w->col_pes, col = p % w->col_pes;
        pe->active = true;
        /* Mixed-radix digits, dimension N fastest-varying last. */
        for (int d = SIM_DIMS - 1; d >= 0; d--) {
            int64_t rd = row % l->bound[SIM_ROW][d], cd = col % l->bound[SIM_COL][d];
            row /= l->bound[SIM_ROW][d];
            col /= l->bound[SIM_COL][d];
            pe->o[d] = a[d] + rd * l->ext[SIM_COL][d] + cd * l->ext[SIM_PE][d];
            pe->e[d] = min64(l->ext[SIM_PE][d], a[d] + ea[d] - pe->o[d]);
            if (pe->e[d] <= 0)
                pe->active = false;
        }
    }
}

/* ---- The MACs of one scratchpad tile ---- */

static bool macs(Walk *w, const PeTile *pe, double *gated, char *err, size_t errsz)
{
    const SimLayer *l = w->l;
    SimMachine *s = w->s;
    const SimTile *in = &s->glb[SIM_IFMAP], *flt = &s->glb[SIM_FILTER];
    SimTile *ps = &s->glb[SIM_PSUM];
    const int64_t *o = pe->ro, *e = pe->re;
    for (int64_t n = o[SIM_N]; n < o[SIM_N] + e[SIM_N]; n++)
        for (int64_t m = o[SIM_M]; m < o[SIM_M] + e[SIM_M]; m++)
            for (int64_t p = o[SIM_P]; p < o[SIM_P] + e[SIM_P]; p++)
                for (int64_t q = o[SIM_Q]; q < o[SIM_Q] + e[SIM_Q]; q++) {
                    int64_t pi = sim_tile_index(ps, n, m, p, q);
                    if (pi < 0) {
                        snprintf(err, errsz, "psum (%lld, %lld, %lld, %lld) is not in the buffer's"
                                 " psum tile", (long long)n, (long long)m, (long long)p,
                                 (long long)q);
                        return false;
                    }
                    int64_t acc = 0;
                    for (int64_t c = o[SIM_C]; c < o[SIM_C] + e[SIM_C]; c++)
                        for (int64_t r = o[SIM_R]; r < o[SIM_R] + e[SIM_R]; r++) {
                            int64_t y = p * l->stride[0] + r * l->dil[0] - l->pad[0];
                            for (int64_t sx = o[SIM_S]; sx < o[SIM_S] + e[SIM_S]; sx++) {
                                int64_t x = q * l->stride[1] + sx * l->dil[1] - l->pad[1];
                                int64_t fi = sim_tile_index(flt, m, c, r, sx);
                                if (fi < 0) {
                                    snprintf(err, errsz, "filter weight (%lld, %lld, %lld, %lld)"
                                             " is not in the buffer", (long long)m, (long long)c,
                                             (long long)r, (long long)sx);
                                    return false;
                                }
                                if (y < 0 || y >= l->in_h || x < 0 || x >= l->in_w) {
                                    *gated += 1; /* padding: a zero operand */
                                    continue;
                                }
                                int64_t ii = sim_tile_index(in, n, c, y, x);
                                if (ii < 0) {
                                    snprintf(err, errsz, "ifmap (%lld, %lld, %lld, %lld) is not in"
                                             " the buffer", (long long)n, (long long)c,
                                             (long long)y, (long long)x);
                                    return false;
                                }
                                int64_t v = in->data[ii];
                                if (v == 0 || flt->data[fi] == 0)
                                    *gated += 1; /* a zero operand (a pruned weight too) */
                                else
                                    acc += v * flt->data[fi];
                            }
                        }
                    ps->data[pi] += acc;
                }
    return true;
}

/* ---- Per-step multicast of the types no PE keeps ---- */

/* The word of type t a PE needs at point (n .. s), as a number; -1 for an
 * ifmap in the padding. */
static int64_t word_key(const SimLayer *l, SimType t, const int64_t *v)
{
    switch (t) {
    case SIM_IFMAP: {
        int64_t y = v[SIM_P] * l->stride[0] + v[SIM_R] * l->dil[0] - l->pad[0];
        int64_t x = v[SIM_Q] * l->stride[1] + v[SIM_S] * l->dil[1] - l->pad[1];
        if (y < 0 || y >= l->in_h || x < 0 || x >= l->in_w)
            return -1;
        return ((v[SIM_N] * l->dim[SIM_C] + v[SIM_C]) * l->in_h + y) * l->in_w + x;
    }
    case SIM_FILTER:
        return ((v[SIM_M] * l->dim[SIM_C] + v[SIM_C]) * l->dim[SIM_R] + v[SIM_R]) * l->dim[SIM_S] +
               v[SIM_S];
    default:
        return ((v[SIM_N] * l->dim[SIM_M] + v[SIM_M]) * l->dim[SIM_P] + v[SIM_P]) * l->dim[SIM_Q] +
               v[SIM_Q];
    }
}

/* Every step of the scratchpad loops (all PEs in lock step): one buffer
 * read per distinct word of each multicast type, one delivery per PE and
 * word of each type no PE keeps. */
static void count_steps(Walk *w, const int64_t rmax[SIM_DIMS])
{
    const SimLayer *l = w->l;
    int64_t rel[SIM_DIMS] = {0};
    static const int natural[SIM_DIMS] = {0, 1, 2, 3, 4, 5, 6};
    Odometer od;
    odo_start(&od, natural, rmax);
    do {
        for (int t = 0; t < SIM_TYPES; t++) {
            if (w->route[t] == ROUTE_HOLD)
                continue;
            int64_t k = 0, distinct = 0;
            keyset_clear(&w->seen);
            for (int64_t p = 0; p < w->n_pes; p++) {
                const PeTile *pe = &w->pes[p];
                if (!pe->active)
                    continue;
                int64_t v[SIM_DIMS];
                bool in = true;
                for (int d = 0; d < SIM_DIMS && in; d++) {
                    rel[d] = od.idx[d];
                    in = rel[d] < pe->re[d];
                    v[d] = pe->ro[d] + rel[d];
                }
                if (!in)
                    continue;
                int64_t key = word_key(l, (SimType)t, v);
                if (key < 0)
                    continue;
                k++;
                if (w->route[t] == ROUTE_STEP)
                    distinct += keyset_add(&w->seen, key);
            }
            count_fill(w, SIM_LEVEL_ARRAY, (SimType)t, (double)k);
            if (w->route[t] == ROUTE_STEP)
                count_fill(w, SIM_LEVEL_BUFFER, (SimType)t, (double)distinct);
        }
    } while (odo_next(&od));
}

/* ---- The walk ---- */

/* A PE with no share of a tile is idle this time. What it holds stays
 * while the tile it would have held is the same one (a loop over a
 * dimension the type does not depend on moved on); once that tile is
 * another, the contents are stale and count as gone (the loop nest's view:
 * a PE's tile is the nest's tile, whether or not the layer fills it). */
static void idle(Walk *w, const PeTile *pe, const Odometer *pe_loop)
{
    const SimLayer *l = w->l;
    int64_t o[SIM_DIMS], e[SIM_DIMS];
    for (int d = 0; d < SIM_DIMS; d++) {
        o[d] = pe->o[d] + pe_loop->idx[d] * l->ext[SIM_RF][d];
        e[d] = min64(l->ext[SIM_RF][d], l->dim[d] - o[d]); /* the layer clips it, as when busy */
    }
    for (int t = 0; t < SIM_TYPES; t++) {
        SimBox would;
        sim_tile_box(l, (SimType)t, o, e, &would);
        if (!sim_box_equal(&would, &w->s->pe_box[t][pe->index]))
            w->s->pe_valid[t][pe->index] = false;
    }
}

static bool scratchpad_tiles(Walk *w, const Odometer *pe_loop, int64_t rmax[SIM_DIMS], char *err,
                             size_t errsz)
{
    const SimLayer *l = w->l;
    SimMachine *s = w->s;
    for (int d = 0; d < SIM_DIMS; d++)
        rmax[d] = 0;
    for (int64_t p = 0; p < w->n_pes; p++) {
        PeTile *pe = &w->pes[p];
        if (!pe->active) {
            idle(w, pe, pe_loop);
            continue;
        }
        bool on = true;
        for (int d = 0; d < SIM_DIMS; d++) {
            pe->ro[d] = pe->o[d] + pe_loop->idx[d] * l->ext[SIM_RF][d];
            pe->re[d] = min64(l->ext[SIM_RF][d], pe->o[d] + pe->e[d] - pe->ro[d]);
            on = on && pe->re[d] > 0;
        }
        if (!on) {
            for (int d = 0; d < SIM_DIMS; d++)
                pe->re[d] = 0;
            idle(w, pe, pe_loop);
            continue;
        }
        for (int d = 0; d < SIM_DIMS; d++)
            rmax[d] = pe->re[d] > rmax[d] ? pe->re[d] : rmax[d];
        for (int t = 0; t < SIM_TYPES; t++) {
            if (w->route[t] != ROUTE_HOLD)
                continue;
            SimBox *kept = &s->pe_box[t][pe->index];
            double words = refill(l, (SimType)t, pe->ro, pe->re, &s->pe_valid[t][pe->index],
                                  kept, true);
            if (sim_box_words(kept) > s->m->rf_words[t]) {
                static const char *const names[SIM_TYPES] = {"ifmap", "filter", "psum"};
                snprintf(err, errsz, "PE %lld's %s scratchpad would hold %lld words, it has %lld",
                         (long long)pe->index, names[t], (long long)sim_box_words(kept),
                         (long long)s->m->rf_words[t]);
                return false;
            }
            count_fill(w, SIM_LEVEL_ARRAY, (SimType)t, words);
        }
    }
    return true;
}

/* The work of the PEs on their scratchpad tiles now, PE by PE: the MACs,
 * the arithmetic unless counting only, and how many PEs work. */
static bool pe_work(Walk *w, double *active, char *err, size_t errsz)
{
    SimMachine *s = w->s;
    *active = 0;
    for (int64_t p = 0; p < w->n_pes; p++) {
        const PeTile *pe = &w->pes[p];
        if (!pe->active || pe->re[0] == 0)
            continue;
        ++*active;
        double m = 1;
        for (int d = 0; d < SIM_DIMS; d++)
            m *= (double)pe->re[d];
        s->cur->macs += m;
        double gated = 0;
        if (!s->count_only && !macs(w, pe, &gated, err, errsz))
            return false;
        s->cur->alu_ops += m - (s->m->zero_skip ? gated : 0);
    }
    return true;
}

/* The same from the axes, when no PE's own tile is needed: counting only,
 * so no operand is gated. */
static void axes_work(Walk *w, double *active)
{
    double m;
    sim_axes_work(&w->axes, active, &m);
    w->s->cur->macs += m;
    w->s->cur->alu_ops += m;
}

/* The steps' multicast counted one dimension at a time (sim_axes.h). */
static void count_steps_by_axes(Walk *w, const int64_t rmax[SIM_DIMS])
{
    for (int t = 0; t < SIM_TYPES; t++) {
        if (w->route[t] == ROUTE_HOLD)
            continue;
        double deliveries, distinct;
        sim_axes_step_words(&w->axes, w->l, (SimType)t, rmax, &deliveries, &distinct);
        count_fill(w, SIM_LEVEL_ARRAY, (SimType)t, deliveries);
        if (w->route[t] == ROUTE_STEP)
            count_fill(w, SIM_LEVEL_BUFFER, (SimType)t, distinct);
    }
}

static bool array_tile(Walk *w, const int64_t a[SIM_DIMS], const int64_t ea[SIM_DIMS], char *err,
                       size_t errsz)
{
    const SimLayer *l = w->l;
    SimMachine *s = w->s;
    for (int t = 0; t < SIM_TYPES; t++)
        if (w->route[t] != ROUTE_STEP)
            count_fill(w, SIM_LEVEL_BUFFER, (SimType)t,
                       refill(l, (SimType)t, a, ea, &s->array_valid[t], &s->array_box[t],
                              w->array_keeps[t]));
    if (w->per_pe)
        place_pes(w, a, ea);
    if (!s->word_by_word)
        sim_axes_place(&w->axes, l, a, ea);
    int64_t n_pe[SIM_DIMS];
    for (int d = 0; d < SIM_DIMS; d++)
        n_pe[d] = ceil_div(min64(l->ext[SIM_PE][d], ea[d]), l->ext[SIM_RF][d]);
    bool streamed = false;
    for (int t = 0; t < SIM_TYPES; t++)
        streamed |= w->route[t] != ROUTE_HOLD;
    Odometer pe_loop;
    odo_start(&pe_loop, l->order[SIM_PE], n_pe);
    do {
        int64_t rmax[SIM_DIMS];
        if (w->per_pe && !scratchpad_tiles(w, &pe_loop, rmax, err, errsz))
            return false;
        if (!s->word_by_word) /* the same steps, from the axes */
            sim_axes_scratchpad(&w->axes, l, pe_loop.idx, rmax);
        double steps = 1, active;
        for (int d = 0; d < SIM_DIMS; d++)
            steps *= (double)rmax[d];
        if (steps == 0)
            continue;
        s->cur->steps += steps;
        if (!w->per_pe)
            axes_work(w, &active);
        else if (!pe_work(w, &active, err, errsz))
            return false;
        if ((int64_t)active > s->cur->active_pes)
            s->cur->active_pes = (int64_t)active;
        if (streamed && s->word_by_word)
            count_steps(w, rmax);
        else if (streamed)
            count_steps_by_axes(w, rmax);
    } while (odo_next(&pe_loop));
    return true;
}

/* Which way each type goes through the array, and whether the array keeps
 * it between buffer-loop iterations: a kept type no streamed loop walks. */
static void plan_routes(Walk *w)
{
    const SimLayer *l = w->l;
    for (int t = 0; t < SIM_TYPES; t++) {
        w->route[t] = l->hold & (1u << t)        ? ROUTE_HOLD
                      : l->neighbour & (1u << t) ? ROUTE_NEIGHBOUR
                                                 : ROUTE_STEP;
        bool walked = false;
        for (int d = 0; d < SIM_DIMS; d++)
            walked |= l->bound[SIM_PE][d] > 1 && (type_dims[t] & (1u << d));
        w->array_keeps[t] = w->route[t] == ROUTE_HOLD && !walked;
    }
}

static bool setup(Walk *w, SimMachine *s, char *err, size_t errsz)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->l = &s->layer;
    plan_routes(w);
    w->row_pes = w->col_pes = 1;
    for (int d = 0; d < SIM_DIMS; d++) {
        w->row_pes *= w->l->bound[SIM_ROW][d];
        w->col_pes *= w->l->bound[SIM_COL][d];
    }
    if (w->row_pes > s->m->pe_rows || w->col_pes > s->m->pe_cols) {
        snprintf(err, errsz, "the mapping needs %lld x %lld PEs, the array has %lld x %lld",
                 (long long)w->row_pes, (long long)w->col_pes, (long long)s->m->pe_rows,
                 (long long)s->m->pe_cols);
        return false;
    }
    w->n_pes = w->row_pes * w->col_pes;
    w->per_pe = s->word_by_word || !s->count_only;
    for (int t = 0; t < SIM_TYPES; t++)
        w->per_pe |= w->route[t] == ROUTE_HOLD;
    w->pes = calloc((size_t)w->n_pes, sizeof *w->pes);
    bool sets = s->word_by_word ? keyset_init(&w->seen, w->n_pes) : sim_axes_init(&w->axes, w->l);
    if (!w->pes || !sets) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    for (int64_t p = 0; p < w->n_pes; p++)
        w->pes[p].index = (p / w->col_pes) * s->m->pe_cols + p % w->col_pes;
    return true;
}

/* The pass's psum tile: the one the buffer holds, or a fresh one of zeros
 * if that was stored (or there was none). */
static bool psum_tile(SimMachine *s, const int64_t o[SIM_DIMS], const int64_t e[SIM_DIMS],
                      char *err, size_t errsz)
{
    SimBox b;
    sim_tile_box(&s->layer, SIM_PSUM, o, e, &b);
    SimTile *t = &s->glb[SIM_PSUM];
    if (t->valid && sim_box_equal(&t->box, &b))
        return true;
    if (t->valid && t->dirty) {
        snprintf(err, errsz, "the pass needs a new psum tile but the buffer's was never stored");
        return false;
    }
    int64_t cap = s->m->buffer_bytes * 8 / s->m->word_bits;
    int64_t words = sim_buffer_words(s) - (t->valid ? sim_box_words(&t->box) : 0) +
                    sim_box_words(&b);
    if (words > cap) {
        snprintf(err, errsz, "the global buffer would hold %lld words, it has room for %lld",
                 (long long)words, (long long)cap);
        return false;
    }
    if (!sim_tile_resize(t, &b, err, errsz))
        return false;
    if (t->data) /* an empty tile has no storage */
        memset(t->data, 0, (size_t)sim_box_words(&b) * sizeof *t->data);
    s->psum_visits[SIM_LEVEL_DRAM] += (double)sim_box_words(&b);
    return true;
}

/* The tiles of the pass must be in the buffer: a stream that computes on
 * data it never loaded is wrong, whatever the counts say. */
static bool check_resident(SimMachine *s, const int64_t o[SIM_DIMS], const int64_t e[SIM_DIMS],
                           char *err, size_t errsz)
{
    static const char *const names[] = {"ifmap", "filter"};
    for (int t = SIM_IFMAP; t <= SIM_FILTER; t++) {
        SimBox b;
        sim_tile_box(&s->layer, (SimType)t, o, e, &b);
        if (sim_box_words(&b) && (!s->glb[t].valid || !sim_box_inside(&b, &s->glb[t].box))) {
            snprintf(err, errsz, "the pass reads %s words the buffer does not hold (no ld "
                     "brought them)", names[t]);
            return false;
        }
    }
    return true;
}

bool sim_pass(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    const SimLayer *l = &s->layer;
    int64_t o[SIM_DIMS], e[SIM_DIMS];
    for (int d = 0; d < SIM_DIMS; d++) {
        o[d] = in->f[ISA_PASS_N + d];
        if (o[d] >= l->dim[d] || o[d] % l->ext[SIM_BUF][d]) {
            snprintf(err, errsz, "pass: origin %lld of dimension %d is not a buffer tile's",
                     (long long)o[d], d);
            return false;
        }
        e[d] = min64(l->ext[SIM_BUF][d], l->dim[d] - o[d]);
    }
    double work = 1;
    for (int d = 0; d < SIM_DIMS; d++)
        work *= (double)e[d];
    s->macs_done += work;
    if (s->max_macs > 0 && s->macs_done > s->max_macs) {
        snprintf(err, errsz, "the stream's passes exceed the limit of %.0f MACs", s->max_macs);
        return false;
    }
    if (!check_resident(s, o, e, err, errsz) || !psum_tile(s, o, e, err, errsz))
        return false;
    Walk w;
    bool ok = setup(&w, s, err, errsz);
    int64_t n_buf[SIM_DIMS];
    for (int d = 0; d < SIM_DIMS; d++)
        n_buf[d] = ceil_div(e[d], l->ext[SIM_ROW][d]);
    Odometer buf;
    odo_start(&buf, l->order[SIM_BUF], n_buf);
    while (ok) {
        int64_t a[SIM_DIMS], ea[SIM_DIMS];
        for (int d = 0; d < SIM_DIMS; d++) {
            a[d] = o[d] + buf.idx[d] * l->ext[SIM_ROW][d];
            ea[d] = min64(l->ext[SIM_ROW][d], o[d] + e[d] - a[d]);
        }
        ok = array_tile(&w, a, ea, err, errsz);
        if (!odo_next(&buf))
            break;
    }
    s->glb[SIM_PSUM].dirty = true;
    s->cur->passes++;
    free(w.pes);
    keyset_free(&w.seen);
    sim_axes_free(&w.axes);
    return ok;
}
