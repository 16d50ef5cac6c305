#include "loopnest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static bool is_spatial(LoopLevel l) { return l == LOOP_ROW || l == LOOP_COL; }

bool dim_indexes(DataType t, Dim d)
{
    static const unsigned relevant[DATA_COUNT] = {
        [DATA_IFMAP] = DIM_BIT(DIM_N) | DIM_BIT(DIM_C) | DIM_BIT(DIM_P) | DIM_BIT(DIM_Q) |
                       DIM_BIT(DIM_R) | DIM_BIT(DIM_S),
        [DATA_FILTER] = DIM_BIT(DIM_M) | DIM_BIT(DIM_C) | DIM_BIT(DIM_R) | DIM_BIT(DIM_S),
        [DATA_PSUM] = DIM_BIT(DIM_N) | DIM_BIT(DIM_M) | DIM_BIT(DIM_P) | DIM_BIT(DIM_Q),
    };
    return relevant[t] & DIM_BIT(d);
}

/* Levels innermost first, as the mapping nests them. */
static const LoopLevel mapped_levels[LOOP_LEVELS] = {LOOP_RF, LOOP_PE, LOOP_COL,
                                                     LOOP_ROW, LOOP_BUFFER, LOOP_DRAM};

static void build(LoopNest *n, const MapLayer *l, const Mapping *m, const LoopLevel *levels)
{
    n->layer = l;
    Loop per_level[LOOP_LEVELS][DIM_COUNT];
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t e = 1, size = l->dim[d];
        for (int k = 0; k < LOOP_LEVELS; k++) {
            LoopLevel lv = levels[k];
            int64_t f = m->factor[lv][d] > 0 ? m->factor[lv][d] : 1;
            /* The DRAM level covers whatever the levels inside leave. */
            int64_t outer = lv == LOOP_DRAM ? size : (f >= ceil_div(size, e) ? size : e * f);
            per_level[lv][d] = (Loop){(Dim)d, lv, ceil_div(outer, e), e, outer};
            n->ext[lv][d] = outer;
            e = outer;
        }
    }
    n->n = 0;
    for (int k = LOOP_LEVELS - 1; k >= 0; k--) {
        LoopLevel lv = levels[k];
        n->begin[lv] = n->n;
        for (int j = 0; j < DIM_COUNT; j++) {
            /* Spatial levels have no order; temporal ones follow the mapping's. */
            Dim d = is_spatial(lv) ? (Dim)j : m->order[lv][j];
            if (per_level[lv][d].bound > 1)
                n->loop[n->n++] = per_level[lv][d];
        }
    }
}

void nest_build(LoopNest *n, const MapLayer *l, const Mapping *m) { build(n, l, m, mapped_levels); }

void mapping_canonicalize(const MapLayer *l, Mapping *m)
{
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t e = 1, size = l->dim[d];
        /* LoopLevel numbers the levels innermost first, as build() nests them. */
        for (int lv = 0; lv < LOOP_LEVELS; lv++) {
            int64_t need = ceil_div(size, e), f = m->factor[lv][d];
            f = lv == LOOP_DRAM || f > need ? need : f < 1 ? 1 : f;
            m->factor[lv][d] = f;
            e = e * f < size ? e * f : size;
        }
    }
}

int64_t input_span(const MapLayer *l, int axis, int64_t e_out, int64_t e_tap)
{
    return (e_out - 1) * l->stride[axis] + (e_tap - 1) * l->dilation[axis] + 1;
}

/* The input rows (axis 0) or columns (axis 1) that outputs [o0, o0 + no)
 * and filter taps [t0, t0 + nt) read, padding excluded: the distinct values
 * of o U + t D - pad inside the stored input (U stride, D dilation). They
 * form one interval when the taps cover a stride (or the outputs a
 * dilation); otherwise disjoint blocks, or, with both stride and dilation
 * above 1, a general set counted one by one. With `boxes`, the rows moved
 * as one box: every row from the first read to the last. */
static int64_t rows_read(const MapLayer *l, int axis, int64_t o0, int64_t no, int64_t t0, int64_t nt, bool boxes)
{
    int64_t u = l->stride[axis], d = l->dilation[axis];
    int64_t in = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    int64_t base = o0 * u + t0 * d - pad;
    bool dense_out = no == 1 || u == 1 || (d == 1 && nt >= u);
    bool dense_tap = nt == 1 || d == 1 || (u == 1 && no >= d);
    if (boxes || (dense_out && dense_tap)) {
        int64_t lo = base, hi = base + (no - 1) * u + (nt - 1) * d;
        lo = lo < 0 ? 0 : lo;
        hi = hi > in - 1 ? in - 1 : hi;
        return hi >= lo ? hi - lo + 1 : 0;
    }
    if (d == 1 || u == 1) {
        /* Blocks of `width` rows, `step` apart (width < step). */
        int64_t blocks = d == 1 ? no : nt, width = d == 1 ? nt : no, step = d == 1 ? u : d;
        int64_t count = 0;
        for (int64_t k = 0; k < blocks; k++) {
            int64_t lo = base + k * step, hi = lo + width - 1;
            lo = lo < 0 ? 0 : lo;
            hi = hi > in - 1 ? in - 1 : hi;
            count += hi >= lo ? hi - lo + 1 : 0;
        }
        return count;
    }
    /* Stride and dilation both above 1: mark the rows read. */
    int64_t lo = base < 0 ? 0 : base, hi = base + (no - 1) * u + (nt - 1) * d;
    hi = hi > in - 1 ? in - 1 : hi;
    if (hi < lo)
        return 0;
    unsigned char *seen = calloc((size_t)(hi - lo + 1), 1);
    if (!seen) /* cannot count exactly: the span, never less than the truth */
        return hi - lo + 1;
    int64_t count = 0;
    for (int64_t o = 0; o < no; o++)
        for (int64_t t = 0; t < nt; t++) {
            int64_t r = base + o * u + t * d;
            if (r >= lo && r <= hi && !seen[r - lo]) {
                seen[r - lo] = 1;
                count++;
            }
        }
    free(seen);
    return count;
}

/* Sum of rows_read over the n_full output tiles [i T, (i + 1) T) with the
 * same taps: when they are intervals, n_full times the unclipped span less
 * what the tiles at either edge lose to padding (only those are clipped). */
static double full_tiles_rows(const MapLayer *l, int axis, int64_t t_out, int64_t n_full,
                              int64_t t0, int64_t nt, bool boxes)
{
    int64_t u = l->stride[axis], d = l->dilation[axis];
    int64_t in = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    bool dense = boxes || ((t_out == 1 || u == 1 || (d == 1 && nt >= u)) &&
                           (nt == 1 || d == 1 || (u == 1 && t_out >= d)));
    double sum = 0;
    if (!dense) {
        for (int64_t i = 0; i < n_full; i++)
            sum += (double)rows_read(l, axis, i * t_out, t_out, t0, nt, boxes);
        return sum;
    }
    int64_t span = (t_out - 1) * u + (nt - 1) * d + 1;
    sum = (double)n_full * (double)span;
    int64_t i = 0;
    for (; i < n_full && i * t_out * u + t0 * d - pad < 0; i++)
        sum -= (double)(span - rows_read(l, axis, i * t_out, t_out, t0, nt, boxes));
    for (int64_t k = n_full - 1; k >= i && k * t_out * u + t0 * d - pad + span - 1 > in - 1; k--)
        sum -= (double)(span - rows_read(l, axis, k * t_out, t_out, t0, nt, boxes));
    return sum;
}

/* Input rows (or columns) read over a grid of output tiles of t_out and
 * tap tiles of t_tap (the last of each partial), summed over the tiles. */
static double grid_rows(const MapLayer *l, int axis, int64_t t_out, int64_t t_tap, bool boxes)
{
    int64_t out = l->dim[axis ? DIM_Q : DIM_P], tap = l->dim[axis ? DIM_S : DIM_R];
    int64_t n_full = out / t_out, rest = out % t_out;
    double sum = 0;
    for (int64_t t0 = 0; t0 < tap; t0 += t_tap) {
        int64_t nt = t_tap < tap - t0 ? t_tap : tap - t0;
        sum += full_tiles_rows(l, axis, t_out, n_full, t0, nt, boxes);
        if (rest)
            sum += (double)rows_read(l, axis, n_full * t_out, rest, t0, nt, boxes);
    }
    return sum;
}

/* Input rows (axis 0) or columns (axis 1) fetched over all tiles, each
 * tile counting the rows it reads (padding is never stored or moved). When
 * the innermost counting loop walks the output (or the taps) along this
 * axis, a tile keeps what it shares with the next and only the new rows are
 * fetched (a sliding window): the loop's whole sweep then reads the union
 * of its tiles, a tile as large as the sweep. That holds when every row the
 * sweep reads is read by consecutive tiles, which is so for the outputs
 * unless the filter is dilated (and tiled), and for the taps unless the
 * layer is strided (and more than one output is in the tile); otherwise
 * each tile counts in full. */
static bool slides(const MapLayer *l, int axis, const int64_t tile[DIM_COUNT], const Loop *first, bool boxes)
{
    Dim out = axis ? DIM_Q : DIM_P, tap = axis ? DIM_S : DIM_R;
    int64_t u = l->stride[axis], d = l->dilation[axis];
    /* Boxes: consecutive tiles' boxes must also touch, or the rows between
     * them are in the sweep's box but in no tile's. */
    bool touch_out = !boxes || u <= (tile[tap] - 1) * d + 1;
    bool touch_tap = !boxes || d <= (tile[out] - 1) * u + 1;
    return first && ((first->dim == out && (d == 1 || tile[tap] == 1) && touch_out) ||
                     (first->dim == tap && (u == 1 || tile[out] == 1) && touch_tap));
}

static double input_axis(const LoopNest *n, int axis, const int64_t tile[DIM_COUNT], const Loop *first,
                         bool boxes)
{
    const MapLayer *l = n->layer;
    Dim out = axis ? DIM_Q : DIM_P, tap = axis ? DIM_S : DIM_R;
    int64_t t_out = tile[out], t_tap = tile[tap];
    if (slides(l, axis, tile, first, boxes) && first->dim == out)
        t_out = first->outer;
    else if (slides(l, axis, tile, first, boxes))
        t_tap = first->outer;
    return grid_rows(l, axis, t_out, t_tap, boxes);
}

/* How often tiles are refetched because loops over a dimension d that does
 * not index the data type iterate above the cut: the distinct index tuples
 * of its counting loops that occur. When the counting loops are the
 * outermost ones, that is the tiles of the innermost of them (partial tiles
 * exact). Otherwise an uncounted loop lies between counting ones: a tuple
 * occurs with every uncounted index at 0 if it occurs at all, so the tuples
 * are the tiles of the innermost loop over d whose uncounted indices are 0,
 * counted one by one; this is exact where a counting loop runs fewer
 * iterations in the last, partial tile of a loop outside it (a spatial loop
 * whose PEs idle there, for instance). */
static double repeats(const LoopNest *n, Dim d, int cut, const bool *counted)
{
    int64_t innermost = 0, innermost_counted = 0;
    bool gap = false, seen_skipped = false;
    for (int i = 0; i < cut; i++) {
        const Loop *lp = &n->loop[i];
        if (lp->dim != d)
            continue;
        innermost = lp->inner;
        if (counted[i]) {
            innermost_counted = lp->inner;
            gap |= seen_skipped;
        } else {
            seen_skipped = true;
        }
    }
    if (!innermost_counted)
        return 1;
    int64_t size = n->layer->dim[d];
    if (!gap)
        return (double)ceil_div(size, innermost_counted);
    double tuples = 0;
    for (int64_t c = 0; c < size; c += innermost) {
        bool first = true;
        for (int i = 0; i < cut && first; i++) {
            const Loop *lp = &n->loop[i];
            first = lp->dim != d || counted[i] || (c % lp->outer) / lp->inner == 0;
        }
        tuples += first;
    }
    return tuples;
}

/* Words of type t over the coordinates `size` of each dimension (the
 * whole layer, or a region of it), the ifmap's rows and columns as counted
 * by the caller: what every fill count multiplies. */
static double type_words(const int64_t *d, DataType t, double rows, double cols)
{
    switch (t) {
    case DATA_IFMAP:
        return (double)d[DIM_N] * (double)d[DIM_C] * rows * cols;
    case DATA_FILTER:
        return (double)d[DIM_M] * (double)d[DIM_C] * (double)d[DIM_R] * (double)d[DIM_S];
    case DATA_PSUM:
    case DATA_COUNT:
        break;
    }
    return (double)d[DIM_N] * (double)d[DIM_M] * (double)d[DIM_P] * (double)d[DIM_Q];
}

/* Which loops above the cut count (see nest_fills), loops marked `gone`
 * left out as if they did not exist. Returns the index of the loop that
 * ends the scan, the innermost temporal one that indexes t (-1 if none),
 * and in *first the loop along which tiles slide (NULL if none). */
static int scan(const LoopNest *n, DataType t, int cut, int floor, const bool *gone,
                bool *counted, const Loop **first)
{
    for (int i = 0; i < cut; i++)
        counted[i] = !gone[i];
    *first = NULL;
    for (int i = cut - 1; i >= floor && i >= 0; i--) {
        const Loop *lp = &n->loop[i];
        if (gone[i] || is_spatial(lp->level))
            continue; /* every PE has its own copy: spatial loops always count */
        if (dim_indexes(t, lp->dim)) {
            *first = lp;
            /* Below a spatial loop over the same dimension a PE's
             * consecutive tiles are not neighbours: no sliding window. */
            for (int j = i + 1; j < cut; j++)
                if (is_spatial(n->loop[j].level) && n->loop[j].dim == lp->dim)
                    *first = NULL;
            return i;
        }
        counted[i] = false; /* the tile stays while this loop iterates */
    }
    return -1;
}

/* Whether d is an axis of t's tile on its own (the ifmap's rows and
 * columns depend on outputs and taps together). */
static bool plain_axis(DataType t, Dim d)
{
    return t != DATA_IFMAP || d == DIM_N || d == DIM_C;
}

/* The fills over the region of the layer whose coordinates `size` gives,
 * loops `gone` not running in it. When the loop that ends the scan walks a
 * plain axis X whose last enclosing tile is too short for it to iterate,
 * the region splits: over the full tiles as counted; over the last tile
 * that loop stands still, so the scan goes on past it to the next loop that
 * indexes the type (the loop over X outside it, which still wraps when the
 * loops outside it move): a tile may stay there where elsewhere it is
 * fetched again (the last, partial tile of a DRAM loop, for instance). */
static double region_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT],
                           int floor, const bool *gone, const int64_t size[DIM_COUNT], bool boxes)
{
    const MapLayer *l = n->layer;
    bool counted[MAX_LOOPS];
    const Loop *first;
    int stop = scan(n, t, cut, floor, gone, counted, &first);
    if (stop >= 0) {
        const Loop *lp = &n->loop[stop];
        Dim x = lp->dim;
        int64_t rem = l->dim[x] % lp->outer;
        if (plain_axis(t, x) && size[x] == l->dim[x] && rem > 0 && rem <= lp->inner) {
            int64_t full[DIM_COUNT], last[DIM_COUNT];
            bool still[MAX_LOOPS];
            for (int d = 0; d < DIM_COUNT; d++)
                full[d] = last[d] = size[d];
            full[x] = l->dim[x] - rem;
            last[x] = rem;
            for (int i = 0; i < cut; i++)
                still[i] = gone[i] || i == stop;
            return region_fills(n, t, cut, tile, floor, gone, full, boxes) +
                   region_fills(n, t, cut, tile, floor, still, last, boxes);
        }
    }
    double words = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        if (!dim_indexes(t, (Dim)d))
            words *= repeats(n, (Dim)d, cut, counted);
    if (t != DATA_IFMAP)
        return words * type_words(size, t, 0, 0);
    return words * type_words(size, t, input_axis(n, 0, tile, first, boxes), input_axis(n, 1, tile, first, boxes));
}

/* ---- Words kept when a sliding window starts over ---- */

/* The input rows (or columns) an ifmap tile reads along one axis, as the
 * interval [lo, hi] of the stored input; false when the tile skips rows
 * inside it (a strided or dilated window). */
static bool dense_rows(const MapLayer *l, int axis, int64_t o, int64_t no, int64_t t, int64_t nt,
                       int64_t *lo, int64_t *hi)
{
    int64_t in = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    *lo = o * l->stride[axis] + t * l->dilation[axis] - pad;
    *hi = *lo + (no - 1) * l->stride[axis] + (nt - 1) * l->dilation[axis];
    *lo = *lo < 0 ? 0 : *lo;
    *hi = *hi > in - 1 ? in - 1 : *hi;
    return *hi < *lo || rows_read(l, axis, o, no, t, nt, false) == *hi - *lo + 1;
}

static int64_t overlap(int64_t lo1, int64_t hi1, int64_t lo2, int64_t hi2)
{
    int64_t lo = lo1 > lo2 ? lo1 : lo2, hi = hi1 < hi2 ? hi1 : hi2;
    return hi >= lo ? hi - lo + 1 : 0;
}

/* The ifmap words two tiles (origins o, extents e) share: what storage
 * holding the first need not fetch for the second. A tile that skips rows
 * is fetched whole (the simulator's rule, sim_box_new_words). */
static double shared_ifmap(const MapLayer *l, const int64_t o1[DIM_COUNT],
                           const int64_t e1[DIM_COUNT], const int64_t o2[DIM_COUNT],
                           const int64_t e2[DIM_COUNT])
{
    static const Dim plain[] = {DIM_N, DIM_C}; /* images and channels */
    double words = 1;
    for (int k = 0; k < 2; k++) {
        Dim d = plain[k];
        words *= (double)overlap(o1[d], o1[d] + e1[d] - 1, o2[d], o2[d] + e2[d] - 1);
    }
    for (int axis = 0; axis < 2 && words > 0; axis++) {
        Dim out = axis ? DIM_Q : DIM_P, tap = axis ? DIM_S : DIM_R;
        int64_t lo1, hi1, lo2, hi2;
        if (!dense_rows(l, axis, o1[out], e1[out], o1[tap], e1[tap], &lo1, &hi1) ||
            !dense_rows(l, axis, o2[out], e2[out], o2[tap], e2[tap], &lo2, &hi2))
            return 0;
        words *= (double)overlap(lo1, hi1, lo2, hi2);
    }
    return words;
}

/* Whether the first and the last tile of a sweep of `first` (over a whole
 * outer tile or the partial last one) can read a common input row: only
 * then does a window that starts over keep anything. */
static bool sweep_ends_meet(const MapLayer *l, const Loop *first)
{
    int axis = first->dim == DIM_Q || first->dim == DIM_S;
    bool along_out = first->dim == DIM_P || first->dim == DIM_Q;
    int64_t step = along_out ? l->stride[axis] : l->dilation[axis];
    int64_t other = l->dim[along_out ? (axis ? DIM_S : DIM_R) : (axis ? DIM_Q : DIM_P)];
    int64_t reach = (other - 1) * (along_out ? l->dilation[axis] : l->stride[axis]);
    int64_t rest = l->dim[first->dim] % first->outer;
    int64_t sweeps[2] = {first->outer, rest ? rest : first->outer};
    for (int k = 0; k < 2; k++) {
        int64_t tiles = ceil_div(sweeps[k], first->inner);
        if ((tiles - 1) * first->inner * step <= (first->inner - 1) * step + reach)
            return true;
    }
    return false;
}

/* Where the loops outside loop i over its dimension put its tile. */
static int64_t origin_of(const LoopNest *n, int i, const int64_t *idx)
{
    int64_t at = 0;
    for (int j = 0; j < i; j++)
        at += n->loop[j].dim == n->loop[i].dim ? idx[j] * n->loop[j].inner : 0;
    return at;
}

/* Loop i's iterations with the loops outside it at idx (a partial tile
 * iterates less). */
static int64_t iterations(const LoopNest *n, int i, const int64_t *idx)
{
    const Loop *lp = &n->loop[i];
    int64_t left = n->layer->dim[lp->dim] - origin_of(n, i, idx);
    return ceil_div(lp->outer < left ? lp->outer : left, lp->inner);
}

/* The tile at the cut (origin o, extent e) where loops 0..last are at idx. */
static void tile_at(const LoopNest *n, int last, const int64_t *idx, const int64_t tile[DIM_COUNT],
                    int64_t o[DIM_COUNT], int64_t e[DIM_COUNT])
{
    for (int d = 0; d < DIM_COUNT; d++)
        o[d] = 0;
    for (int i = 0; i <= last; i++)
        o[n->loop[i].dim] += idx[i] * n->loop[i].inner;
    for (int d = 0; d < DIM_COUNT; d++)
        e[d] = tile[d] < n->layer->dim[d] - o[d] ? tile[d] : n->layer->dim[d] - o[d];
}

/* Walking more sweeps than this to credit their restarts costs the search
 * more than the credit is worth; the count then stays an upper bound. */
#define RESTART_SWEEP_LIMIT 256

/* When the tiles of the ifmap slide along the innermost counting loop
 * `first`, the model counts each sweep's union of rows; the storage still
 * holds the sweep's last tile when the next sweep starts with its first,
 * and need not fetch what the two share. They share rows when the sweep is
 * short (VGG-16's 56-column layers in two tiles of 28 columns under OS_A:
 * two columns) and the loop that moved on does not change the channels or
 * images. Counted by walking the sweeps (the loops outside `first`), for
 * temporal loops only (a PE's copy under spatial loops is another matter),
 * and only when a sweep's ends can meet. */
static double restart_credit(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT],
                             int floor, bool boxes)
{
    const MapLayer *l = n->layer;
    bool gone[MAX_LOOPS] = {false}, counted[MAX_LOOPS];
    const Loop *first;
    int stop = t == DATA_IFMAP ? scan(n, t, cut, floor, gone, counted, &first) : -1;
    if (stop < 0 || !first || plain_axis(t, first->dim) ||
        !slides(l, first->dim == DIM_Q || first->dim == DIM_S, tile, first, boxes) ||
        !sweep_ends_meet(l, first))
        return 0;
    double sweeps = 1;
    for (int i = 0; i < cut; i++) {
        if (is_spatial(n->loop[i].level))
            return 0;
        sweeps *= i < stop ? (double)n->loop[i].bound : 1;
    }
    if (sweeps > RESTART_SWEEP_LIMIT)
        return 0;
    int64_t idx[MAX_LOOPS] = {0}, o[DIM_COUNT], e[DIM_COUNT], last_o[DIM_COUNT], last_e[DIM_COUNT];
    double credit = 0;
    for (bool started = false;; started = true) {
        idx[stop] = 0;
        tile_at(n, stop, idx, tile, o, e);
        if (started)
            credit += shared_ifmap(l, last_o, last_e, o, e);
        idx[stop] = iterations(n, stop, idx) - 1;
        tile_at(n, stop, idx, tile, last_o, last_e);
        int i = stop - 1;
        for (; i >= 0; i--) {
            if (++idx[i] < iterations(n, i, idx))
                break;
            idx[i] = 0;
        }
        if (i < 0)
            return credit;
    }
}

static double fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor, bool boxes)
{
    bool gone[MAX_LOOPS] = {false};
    return region_fills(n, t, cut, tile, floor, gone, n->layer->dim, boxes) -
           restart_credit(n, t, cut, tile, floor, boxes);
}

double nest_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor)
{
    return fills(n, t, cut, tile, floor, false);
}

double nest_box_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor)
{
    return fills(n, t, cut, tile, floor, true);
}

double tile_words(const MapLayer *l, DataType t, const int64_t e[DIM_COUNT])
{
    switch (t) {
    case DATA_IFMAP:
        return (double)e[DIM_N] * (double)e[DIM_C] * (double)input_span(l, 0, e[DIM_P], e[DIM_R]) *
               (double)input_span(l, 1, e[DIM_Q], e[DIM_S]);
    case DATA_FILTER:
        return (double)e[DIM_M] * (double)e[DIM_C] * (double)e[DIM_R] * (double)e[DIM_S];
    case DATA_PSUM:
    case DATA_COUNT:
        break;
    }
    return (double)e[DIM_N] * (double)e[DIM_M] * (double)e[DIM_P] * (double)e[DIM_Q];
}

/* ---- Lock-step multicast (docs/accelerator.md, "Counting fills") ----
 *
 * The PEs step together through the loops of the PE and RF levels. Along
 * a dimension d, the array tiles start at multiples of E = ext[ROW][d]; a
 * PE's share starts at the tile's origin plus its row digit times
 * ext[COL][d] plus its column digit times ext[PE][d], and the step's
 * offset u runs over [0, ext[PE][d]). The positions (tile, u) with an
 * active PE are the steps along d, and the coordinates the PEs use at a
 * position are the spatial set of that position. */

typedef struct SpatialAxis {
    int64_t size, tile, row_step, rows, col_step, cols, share;
} SpatialAxis;

static SpatialAxis spatial_axis(const LoopNest *n, Dim d)
{
    SpatialAxis a;
    a.size = n->layer->dim[d];
    a.tile = n->ext[LOOP_ROW][d];
    a.row_step = n->ext[LOOP_COL][d];
    a.rows = ceil_div(a.tile, a.row_step);
    a.col_step = n->ext[LOOP_PE][d];
    a.cols = ceil_div(a.row_step, a.col_step);
    a.share = a.col_step;
    return a;
}

double nest_steps_along(const LoopNest *n, Dim d)
{
    SpatialAxis a = spatial_axis(n, d);
    double steps = 0;
    for (int64_t t = 0; t < a.size; t += a.tile) {
        int64_t end = t + a.tile < a.size ? t + a.tile : a.size;
        steps += (double)(a.share < end - t ? a.share : end - t);
    }
    return steps;
}

/* The coordinates the PEs use at position (t, u) along an axis, into out;
 * returns how many. */
static int64_t spatial_set(const SpatialAxis *a, int64_t t, int64_t u, int64_t *out)
{
    int64_t end = t + a->tile < a->size ? t + a->tile : a->size, k = 0;
    for (int64_t r = 0; r < a->rows; r++)
        for (int64_t c = 0; c < a->cols; c++) {
            int64_t v = t + r * a->row_step + c * a->col_step + u;
            if (c * a->col_step + u < a->row_step && v < end)
                out[k++] = v;
        }
    return k;
}

/* Sum over the steps of the distinct input rows (axis 0) or columns the
 * PEs read: outputs and taps each take their spatial sets. */
static double step_input_axis(const LoopNest *n, int axis)
{
    const MapLayer *l = n->layer;
    Dim out = axis ? DIM_Q : DIM_P, tap = axis ? DIM_S : DIM_R;
    SpatialAxis ao = spatial_axis(n, out), at = spatial_axis(n, tap);
    int64_t in = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    int64_t u = l->stride[axis], dl = l->dilation[axis];
    int64_t *so = malloc((size_t)(ao.rows * ao.cols) * sizeof *so);
    int64_t *st = malloc((size_t)(at.rows * at.cols) * sizeof *st);
    int64_t *stamp = calloc((size_t)in, sizeof *stamp);
    double sum = 0;
    int64_t mark = 0;
    if (!so || !st || !stamp)
        goto done; /* unreachable in practice: a few words per PE and input row */
    for (int64_t to = 0; to < ao.size; to += ao.tile)
        for (int64_t uo = 0; uo < ao.share; uo++) {
            int64_t no = spatial_set(&ao, to, uo, so);
            if (!no)
                continue;
            for (int64_t tt = 0; tt < at.size; tt += at.tile)
                for (int64_t ut = 0; ut < at.share; ut++) {
                    int64_t nt = spatial_set(&at, tt, ut, st);
                    mark++;
                    for (int64_t i = 0; i < no; i++)
                        for (int64_t j = 0; j < nt; j++) {
                            int64_t y = so[i] * u + st[j] * dl - pad;
                            if (y >= 0 && y < in && stamp[y] != mark) {
                                stamp[y] = mark;
                                sum += 1;
                            }
                        }
                }
        }
done:
    free(so);
    free(st);
    free(stamp);
    return sum;
}

double nest_step_fills(const LoopNest *n, DataType t)
{
    double words = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        if (!dim_indexes(t, (Dim)d))
            words *= nest_steps_along(n, (Dim)d);
    /* Each coordinate of a plain axis is used at exactly one position. */
    if (t != DATA_IFMAP)
        return words * type_words(n->layer->dim, t, 0, 0);
    return words * type_words(n->layer->dim, t, step_input_axis(n, 0), step_input_axis(n, 1));
}
