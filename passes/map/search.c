/* The mapping search: the lowest-energy mapping of a layer under one
 * dataflow that fits the machine (docs/accelerator.md, "The search").
 *
 * The space is the product of tile sizes at six levels and two loop orders,
 * too large to enumerate, so the search goes inside out:
 *   1. every spatial assignment of the dataflow that leaves no row or column
 *      idle that could be used, times every RF tile that fills the RF, each
 *      ranked with the buffer as large as the layer; the best few survive;
 *   2. for each survivor, a buffer tile grown one dimension at a time while
 *      energy falls (tile sizes need not divide the layer), under each pair
 *      of buffer and DRAM loop orders;
 *   3. a descent that moves one tile size at a time while energy falls. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dataflow.h"
#include "loopnest.h"
#include "map.h"
#include "model.h"

#define BEAM 24        /* inner choices that reach stage 2 */
#define COARSE_BEAM 8  /* of which the best also get the coarse buffer sweep */
#define MAX_CANDS 40
#define MAX_SPREAD_DIMS 2 /* dimensions one array axis may spread besides forced ones */
#define MAX_AXIS_CHOICES 256
#define MAX_RF_CHOICES 256

typedef struct Ranked {
    Mapping m;
    double energy;
} Ranked;

typedef struct Search {
    const SpatialArch *a;
    const MapLayer *l;
    const DataflowSpec *s;
    int64_t evaluated;
    bool found;
    MapChoice best;
    char why[256];
    int why_stage; /* the stage that wrote why; 0: none yet */
    Ranked beam[BEAM];
    int n_beam;
} Search;

/* Loop orders for the buffer and DRAM levels, outer to inner: each keeps
 * one data type stationary by putting the loops that do not index it
 * innermost. */
static const Dim orders[3][DIM_COUNT] = {
    {DIM_N, DIM_M, DIM_P, DIM_Q, DIM_C, DIM_R, DIM_S}, /* psums stay */
    {DIM_M, DIM_C, DIM_R, DIM_S, DIM_N, DIM_P, DIM_Q}, /* filters stay */
    {DIM_N, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S, DIM_M}, /* ifmaps stay */
};

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Tile sizes worth trying for a dimension of `size` with at most `limit`:
 * the sizes ceil(size/k) that split it into k nearly equal tiles (the last
 * partial), thinned to a geometric ladder when there are many. Ascending. */
static int candidates(int64_t size, int64_t limit, int64_t *out)
{
    int64_t all[4096];
    int n = 0;
    if (size > (1 << 20)) {
        /* Too many distinct splits to list: a geometric ladder instead. */
        for (int64_t v = size; v >= 1 && n < 4096; v = v > 8 ? v * 4 / 5 : v - 1)
            if (v <= limit)
                all[n++] = v;
    } else {
        for (int64_t k = 1; n < 4096;) {
            int64_t v = ceil_div(size, k);
            if (v <= limit)
                all[n++] = v;
            if (v == 1)
                break;
            k = ceil_div(size, v - 1);
        }
    }
    int m = 0;
    for (int i = n - 1; i >= 0; i--) {
        bool last = i == 0;
        if (m == 0 || last || all[i] >= out[m - 1] * 5 / 4 + 1 || all[i] <= 8)
            if (m < MAX_CANDS)
                out[m++] = all[i];
    }
    if (m == MAX_CANDS && out[m - 1] != all[0])
        out[m - 1] = all[0];
    return m;
}

static bool better(const LayerCost *c, const LayerCost *than)
{
    if (c->energy_total != than->energy_total)
        return c->energy_total < than->energy_total;
    return c->cycles < than->cycles;
}

/* Why no mapping fits, as the first misfit of the deepest stage that met
 * one: once spatial assignments and RF tiles fit, what rules out every
 * buffer tile is what the user needs to hear. */
static void note_why(Search *S, int stage, const char *why)
{
    if (stage <= S->why_stage)
        return;
    snprintf(S->why, sizeof S->why, "%s", why);
    S->why_stage = stage;
}

/* Evaluates m as the loop nest it denotes (mapping_canonicalize): the
 * stages build bounds from tile sizes that may overshoot what is left of a
 * dimension, and the mapping kept must be the one @mapping records. */
static double attempt(Search *S, const Mapping *raw, bool check_buffer)
{
    LayerCost c;
    char why[256];
    Mapping canonical = *raw, *m = &canonical;
    mapping_canonicalize(S->l, m);
    S->evaluated++;
    if (!model_evaluate(S->a, S->l, m, check_buffer, &c, why, sizeof why)) {
        note_why(S, check_buffer ? 2 : 1, why);
        return INFINITY;
    }
    if (check_buffer && (!S->found || better(&c, &S->best.cost))) {
        S->found = true;
        S->best.mapping = *m;
        S->best.cost = c;
    }
    return c.energy_total;
}

static void beam_offer(Search *S, const Mapping *m, double energy)
{
    if (!isfinite(energy))
        return;
    if (S->n_beam == BEAM && energy >= S->beam[BEAM - 1].energy)
        return;
    int i = S->n_beam < BEAM ? S->n_beam++ : BEAM - 1;
    while (i > 0 && S->beam[i - 1].energy > energy) {
        S->beam[i] = S->beam[i - 1];
        i--;
    }
    S->beam[i] = (Ranked){*m, energy};
}

/* ---- Stage 1: spatial assignments and RF tiles ---- */

typedef struct Choice {
    int64_t f[DIM_COUNT];
} Choice;

typedef struct AxisCtx {
    unsigned dims, forced;
    int64_t budget;
    int64_t remaining[DIM_COUNT];
    Choice cur;
    Choice *out;
    int n, max;
} AxisCtx;

/* No dimension on the axis could take its next tile size without the axis
 * overflowing: an assignment with idle PEs that could be used is skipped. */
static bool axis_maximal(const AxisCtx *c, int64_t used, int spread)
{
    for (int d = 0; d < DIM_COUNT; d++) {
        if (!(c->dims & DIM_BIT(d)) || (c->forced & DIM_BIT(d)))
            continue;
        if (c->cur.f[d] == 1 && spread >= MAX_SPREAD_DIMS)
            continue;
        int64_t cand[MAX_CANDS];
        int n = candidates(c->remaining[d], c->budget, cand);
        for (int i = 0; i < n; i++)
            if (cand[i] > c->cur.f[d] && used / c->cur.f[d] * cand[i] <= c->budget)
                return false;
    }
    return true;
}

static void axis_walk(AxisCtx *c, int d, int64_t used, int spread)
{
    if (c->n == c->max)
        return;
    if (d == DIM_COUNT) {
        if (axis_maximal(c, used, spread))
            c->out[c->n++] = c->cur;
        return;
    }
    if (!(c->dims & DIM_BIT(d))) {
        c->cur.f[d] = 1;
        axis_walk(c, d + 1, used, spread);
        return;
    }
    if (c->forced & DIM_BIT(d)) {
        c->cur.f[d] = c->remaining[d];
        axis_walk(c, d + 1, used * c->remaining[d], spread);
        c->cur.f[d] = 1;
        return;
    }
    int64_t cand[MAX_CANDS];
    int n = candidates(c->remaining[d], c->budget / used, cand);
    for (int i = 0; i < n; i++) {
        if (cand[i] > 1 && spread >= MAX_SPREAD_DIMS)
            break;
        c->cur.f[d] = cand[i];
        axis_walk(c, d + 1, used * cand[i], spread + (cand[i] > 1));
    }
    c->cur.f[d] = 1;
}

static int axis_choices(unsigned dims, unsigned forced, int64_t budget,
                        const int64_t remaining[DIM_COUNT], Choice *out)
{
    AxisCtx c = {.dims = dims, .budget = budget, .out = out, .max = MAX_AXIS_CHOICES};
    for (int d = 0; d < DIM_COUNT; d++) {
        c.remaining[d] = remaining[d];
        c.cur.f[d] = 1;
        if ((forced & DIM_BIT(d)) && remaining[d] <= budget)
            c.forced |= DIM_BIT(d);
    }
    axis_walk(&c, 0, 1, 0);
    return c.n;
}

typedef struct RfCtx {
    const Search *S;
    int64_t remaining[DIM_COUNT];
    Choice cur;
    Choice out[MAX_RF_CHOICES];
    int n;
} RfCtx;

static bool rf_fits(const RfCtx *c, const int64_t f[DIM_COUNT])
{
    for (int t = 0; t < DATA_COUNT; t++)
        if ((c->S->s->rf_holds & DATA_BIT(t)) &&
            !map_rf_holds(c->S->a, c->S->l, (DataType)t, tile_words(c->S->l, (DataType)t, f)))
            return false;
    return true;
}

/* The RF tile cannot grow in any dimension and still fit. */
static bool rf_maximal(RfCtx *c)
{
    for (int d = 0; d < DIM_COUNT; d++) {
        if (!(c->S->s->rf_dims & DIM_BIT(d)) || c->cur.f[d] >= c->remaining[d])
            continue;
        int64_t cand[MAX_CANDS], saved = c->cur.f[d];
        int n = candidates(c->remaining[d], c->remaining[d], cand);
        for (int i = 0; i < n; i++)
            if (cand[i] > saved) {
                c->cur.f[d] = cand[i];
                bool fits = rf_fits(c, c->cur.f);
                c->cur.f[d] = saved;
                if (fits)
                    return false;
                break;
            }
    }
    return true;
}

static void rf_walk(RfCtx *c, int d)
{
    if (c->n == MAX_RF_CHOICES)
        return;
    if (d == DIM_COUNT) {
        if (rf_maximal(c))
            c->out[c->n++] = c->cur;
        return;
    }
    const DataflowSpec *s = c->S->s;
    if (!(s->rf_dims & DIM_BIT(d))) {
        c->cur.f[d] = 1;
        rf_walk(c, d + 1);
        return;
    }
    if (s->whole_in_rf & DIM_BIT(d)) {
        c->cur.f[d] = c->remaining[d];
        if (rf_fits(c, c->cur.f))
            rf_walk(c, d + 1);
        c->cur.f[d] = 1;
        return;
    }
    int64_t cand[MAX_CANDS];
    int n = candidates(c->remaining[d], c->remaining[d], cand);
    for (int i = 0; i < n; i++) {
        c->cur.f[d] = cand[i];
        if (!rf_fits(c, c->cur.f))
            break; /* tiles only grow along the list */
        rf_walk(c, d + 1);
    }
    c->cur.f[d] = 1;
}

static void set_orders(Mapping *m, const DataflowSpec *s, int buffer_order, int dram_order)
{
    static const Dim plain[DIM_COUNT] = {DIM_N, DIM_M, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S};
    memcpy(m->order[LOOP_RF], plain, sizeof plain);
    /* The PE's streamed loops in the dataflow's order, the others (bound 1) after. */
    int k = 0;
    unsigned used = 0;
    for (int i = 0; i < s->n_pe; i++, k++) {
        m->order[LOOP_PE][k] = s->pe_order[i];
        used |= DIM_BIT(s->pe_order[i]);
    }
    for (int d = 0; d < DIM_COUNT; d++)
        if (!(used & DIM_BIT(d)))
            m->order[LOOP_PE][k++] = (Dim)d;
    memcpy(m->order[LOOP_COL], plain, sizeof plain);
    memcpy(m->order[LOOP_ROW], plain, sizeof plain);
    memcpy(m->order[LOOP_BUFFER], orders[buffer_order], sizeof plain);
    memcpy(m->order[LOOP_DRAM], orders[dram_order], sizeof plain);
}

static bool pe_dim(const DataflowSpec *s, int d)
{
    for (int i = 0; i < s->n_pe; i++)
        if ((int)s->pe_order[i] == d)
            return true;
    return false;
}

/* Ranks one inner choice as if the buffer held the whole layer: the PE
 * streams everything it can, the buffer takes the rest. */
static void rank_inner(Search *S, const Choice *col, const Choice *row, const Choice *rf)
{
    Mapping m = {.dataflow = S->s->id};
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t size = S->l->dim[d];
        m.factor[LOOP_RF][d] = rf->f[d];
        m.factor[LOOP_COL][d] = col->f[d];
        m.factor[LOOP_ROW][d] = row->f[d];
        int64_t inner = rf->f[d] * col->f[d] * row->f[d];
        int64_t rest = ceil_div(size, inner);
        m.factor[LOOP_PE][d] = pe_dim(S->s, d) ? rest : 1;
        m.factor[LOOP_BUFFER][d] = pe_dim(S->s, d) ? 1 : rest;
        m.factor[LOOP_DRAM][d] = 1;
    }
    double best = INFINITY;
    Mapping keep = m;
    for (int o = 0; o < 3; o++) {
        set_orders(&m, S->s, o, o);
        double e = attempt(S, &m, false);
        if (e < best) {
            best = e;
            keep = m;
        }
    }
    beam_offer(S, &keep, best);
}

static void stage_inner(Search *S)
{
    Choice cols[MAX_AXIS_CHOICES], rows[MAX_AXIS_CHOICES];
    const SpatialArch *a = S->a;
    const DataflowSpec *s = S->s;
    int n_cols = axis_choices(s->col_dims, 0, a->pe_cols, S->l->dim, cols);
    for (int ci = 0; ci < n_cols; ci++) {
        int64_t rem[DIM_COUNT];
        unsigned row_dims = s->row_dims;
        for (int d = 0; d < DIM_COUNT; d++) {
            rem[d] = ceil_div(S->l->dim[d], cols[ci].f[d]);
            /* Folding: a dimension too large for the columns continues on the rows. */
            if ((s->fold_dims & DIM_BIT(d)) && cols[ci].f[d] == a->pe_cols && rem[d] > 1)
                row_dims |= DIM_BIT(d);
        }
        int n_rows = axis_choices(row_dims, s->whole_on_rows, a->pe_rows, rem, rows);
        for (int ri = 0; ri < n_rows; ri++) {
            RfCtx *rc = &(RfCtx){.S = S};
            for (int d = 0; d < DIM_COUNT; d++) {
                rc->remaining[d] = ceil_div(rem[d], rows[ri].f[d]);
                rc->cur.f[d] = 1;
            }
            rf_walk(rc, 0);
            for (int k = 0; k < rc->n; k++)
                rank_inner(S, &cols[ci], &rows[ri], &rc->out[k]);
        }
    }
}

/* ---- Stage 2: buffer tiles and loop orders ---- */

typedef struct OuterCtx {
    Search *S;
    Mapping m;            /* inner levels fixed; PE and buffer factors being chosen */
    int64_t inner[DIM_COUNT]; /* extent below the buffer level without PE loops */
    int64_t ext[DIM_COUNT];   /* buffer tile being built */
    unsigned free_rf;         /* RF loops sized with the buffer tile */
} OuterCtx;

static double buffer_bytes(const OuterCtx *c) { return map_tile_bytes(c->S->a, c->S->l, c->ext); }

/* The energy of one buffer tile: its loops either streamed in the PE (when
 * the dataflow streams that dimension) or run at the buffer level, under
 * the given pairs of buffer and DRAM loop orders. The best is kept in *out. */
static double try_outer(OuterCtx *c, bool all_orders, Mapping *out)
{
    const DataflowSpec *s = c->S->s;
    double best = INFINITY;
    for (int streamed = 0; streamed < (s->n_pe ? 2 : 1); streamed++) {
        Mapping m = c->m;
        for (int d = 0; d < DIM_COUNT; d++) {
            int64_t f = ceil_div(c->ext[d], c->inner[d]);
            bool in_pe = streamed && pe_dim(s, d);
            m.factor[LOOP_PE][d] = in_pe ? f : 1;
            m.factor[LOOP_BUFFER][d] = in_pe ? 1 : f;
            if (c->free_rf & DIM_BIT(d)) { /* accumulates in the PE: an RF loop */
                m.factor[LOOP_RF][d] = f;
                m.factor[LOOP_BUFFER][d] = 1;
            }
            m.factor[LOOP_DRAM][d] = 1; /* the rest, implied */
        }
        for (int bo = 0; bo < 3; bo++)
            for (int dord = 0; dord < 3; dord++) {
                if (!all_orders && bo != dord)
                    continue;
                set_orders(&m, s, bo, dord);
                double e = attempt(c->S, &m, true);
                if (e < best) {
                    best = e;
                    *out = m;
                }
            }
    }
    return best;
}

/* Grows the buffer tile one dimension at a time, taking at each step the
 * growth that lowers energy most, until none does or nothing more fits. */
static void grow_buffer_tile(OuterCtx *c)
{
    Mapping m;
    double current = try_outer(c, true, &m);
    for (int step = 0; step < 64; step++) {
        int best_d = -1;
        int64_t best_ext = 0;
        double best = current;
        for (int d = 0; d < DIM_COUNT; d++) {
            int64_t size = c->S->l->dim[d], saved = c->ext[d];
            if (saved >= size)
                continue;
            int64_t rest = ceil_div(size, c->inner[d]), cand[MAX_CANDS];
            int n = candidates(rest, rest, cand);
            for (int i = 0; i < n; i++) {
                int64_t e = cand[i] * c->inner[d] < size ? cand[i] * c->inner[d] : size;
                if (e <= saved)
                    continue;
                c->ext[d] = e;
                if (buffer_bytes(c) > (double)c->S->a->buffer_bytes)
                    break; /* larger tiles only need more */
                double v = try_outer(c, true, &m);
                if (v < best) {
                    best = v;
                    best_d = d;
                    best_ext = e;
                }
            }
            c->ext[d] = saved;
        }
        if (best_d < 0)
            break;
        c->ext[best_d] = best_ext;
        current = try_outer(c, true, &m);
    }
}

/* A coarse ladder of buffer extents for one dimension: the inner extent,
 * the whole dimension, and doublings in between. */
static int coarse_extents(const OuterCtx *c, int d, int64_t *out)
{
    int64_t size = c->S->l->dim[d], inner = c->inner[d];
    int n = 0;
    for (int64_t f = 1; f * inner < size && n < 5; f *= 2)
        out[n++] = f * inner;
    out[n++] = size;
    return n;
}

/* Every coarse buffer tile that fits, under the matched orders; the best
 * becomes the start of grow_buffer_tile. */
static void coarse_walk(OuterCtx *c, int d, double *best, int64_t best_ext[DIM_COUNT])
{
    if (d == DIM_COUNT) {
        Mapping m;
        double e = try_outer(c, false, &m);
        if (e < *best) {
            *best = e;
            memcpy(best_ext, c->ext, sizeof c->ext);
        }
        return;
    }
    int64_t cand[8];
    int n = coarse_extents(c, d, cand);
    int64_t saved = c->ext[d];
    for (int i = 0; i < n; i++) {
        c->ext[d] = cand[i];
        if (buffer_bytes(c) > (double)c->S->a->buffer_bytes)
            break;
        coarse_walk(c, d + 1, best, best_ext);
    }
    c->ext[d] = saved;
}

static void stage_outer(Search *S, const Mapping *inner, bool coarse)
{
    OuterCtx c = {.S = S, .m = *inner};
    for (int d = 0; d < DIM_COUNT; d++) {
        /* RF loops over dimensions that no RF-held type is indexed by cost
         * no RF space: they are sized here, with the buffer tile. */
        bool free = (S->s->rf_dims & DIM_BIT(d)) && !(S->s->whole_in_rf & DIM_BIT(d));
        for (int t = 0; t < DATA_COUNT; t++)
            if ((S->s->rf_holds & DATA_BIT(t)) && dim_indexes((DataType)t, (Dim)d))
                free = false;
        if (free) {
            c.free_rf |= DIM_BIT(d);
            c.m.factor[LOOP_RF][d] = 1;
        }
        int64_t e = c.m.factor[LOOP_RF][d] * inner->factor[LOOP_COL][d] *
                    inner->factor[LOOP_ROW][d];
        c.inner[d] = e < S->l->dim[d] ? e : S->l->dim[d];
        c.ext[d] = c.inner[d];
    }
    if (buffer_bytes(&c) > (double)S->a->buffer_bytes) {
        char why[256];
        snprintf(why, sizeof why, "the smallest buffer tile needs %.0f bytes, the buffer holds %lld",
                 buffer_bytes(&c), (long long)S->a->buffer_bytes);
        note_why(S, 2, why);
        return;
    }
    double best = INFINITY;
    int64_t best_ext[DIM_COUNT];
    if (coarse)
        coarse_walk(&c, 0, &best, best_ext);
    if (isfinite(best))
        memcpy(c.ext, best_ext, sizeof best_ext);
    grow_buffer_tile(&c);
}

/* ---- Stage 3: descent ---- */

static void descend(Search *S)
{
    for (int round = 0; round < 32; round++) {
        Mapping start = S->best.mapping;
        double e0 = S->best.cost.energy_total;
        for (int lv = 0; lv < LOOP_DRAM; lv++)
            for (int d = 0; d < DIM_COUNT; d++) {
                int64_t cand[MAX_CANDS];
                int n = candidates(S->l->dim[d], S->l->dim[d], cand);
                for (int i = 0; i < n; i++) {
                    if (cand[i] == start.factor[lv][d])
                        continue;
                    Mapping m = start;
                    m.factor[lv][d] = cand[i];
                    attempt(S, &m, true);
                }
            }
        if (!(S->best.cost.energy_total < e0))
            break;
    }
}

bool map_search(const SpatialArch *a, const MapLayer *l, Dataflow d, MapChoice *best, char *why,
                size_t whysz)
{
    Search S = {.a = a, .l = l, .s = dataflow_spec(d)};
    if (!S.s) {
        snprintf(why, whysz, "'%s' is not a dataflow the mapper knows", dataflow_name(d));
        return false;
    }
    if (!map_precision_supported(a, l, why, whysz))
        return false;
    stage_inner(&S);
    for (int i = 0; i < S.n_beam; i++)
        stage_outer(&S, &S.beam[i].m, i < COARSE_BEAM);
    if (S.found)
        descend(&S);
    if (!S.found) {
        snprintf(why, whysz, "%s", S.why_stage ? S.why : "no spatial assignment fits the array");
        return false;
    }
    *best = S.best;
    best->evaluated = S.evaluated;
    return true;
}
