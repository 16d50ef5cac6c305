#include "loopnest.h"

#include <math.h>

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

/* Levels innermost first: as the mapping nests them, or with the spatial
 * levels moved inside every temporal one (see nest_build_spatial_inner). */
static const LoopLevel mapped_levels[LOOP_LEVELS] = {LOOP_RF, LOOP_PE, LOOP_COL,
                                                     LOOP_ROW, LOOP_BUFFER, LOOP_DRAM};
static const LoopLevel spatial_inner_levels[LOOP_LEVELS] = {LOOP_COL, LOOP_ROW, LOOP_RF,
                                                            LOOP_PE, LOOP_BUFFER, LOOP_DRAM};

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

void nest_build_spatial_inner(LoopNest *n, const MapLayer *l, const Mapping *m)
{
    build(n, l, m, spatial_inner_levels);
}

int64_t input_span(const MapLayer *l, int axis, int64_t e_out, int64_t e_tap)
{
    return (e_out - 1) * l->stride[axis] + (e_tap - 1) * l->dilation[axis] + 1;
}

/* Sum over a grid of n_out x n_tap tiles of the input rows each touches:
 * sum_ij ((p_i - 1)U + (r_j - 1)D + 1), with sum_i p_i = P and sum_j r_j = R. */
static double span_sum(const MapLayer *l, int axis, int64_t n_out, int64_t n_tap)
{
    int64_t out = l->dim[axis ? DIM_Q : DIM_P], tap = l->dim[axis ? DIM_S : DIM_R];
    return (double)n_tap * (double)(out - n_out) * (double)l->stride[axis] +
           (double)n_out * (double)(tap - n_tap) * (double)l->dilation[axis] +
           (double)n_out * (double)n_tap;
}

/* Padding zeros are never stored or moved: the fraction of a padded input
 * row range that is real data. */
static double real_fraction(const MapLayer *l, int axis)
{
    int64_t padded = input_span(l, axis, l->dim[axis ? DIM_Q : DIM_P], l->dim[axis ? DIM_S : DIM_R]);
    int64_t stored = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    int64_t real = padded - pad < stored ? padded - pad : stored;
    return real <= 0 ? 0 : real >= padded ? 1 : (double)real / (double)padded;
}

/* Input rows (axis 0) or columns (axis 1) fetched over all tiles. When the
 * innermost counting loop walks the output along this axis, consecutive
 * windows overlap and only the new rows are fetched (a sliding window):
 * the whole sweep then counts as one tile. */
static double input_axis(const LoopNest *n, int axis, const int64_t tile[DIM_COUNT],
                         const Loop *first)
{
    const MapLayer *l = n->layer;
    Dim out = axis ? DIM_Q : DIM_P, tap = axis ? DIM_S : DIM_R;
    int64_t n_out = ceil_div(l->dim[out], tile[out]), n_tap = ceil_div(l->dim[tap], tile[tap]);
    double sum = span_sum(l, axis, n_out, n_tap);
    if (first && first->dim == out)
        sum = fmin(sum, span_sum(l, axis, ceil_div(l->dim[out], first->outer), n_tap));
    if (first && first->dim == tap)
        sum = fmin(sum, span_sum(l, axis, n_out, ceil_div(l->dim[tap], first->outer)));
    return sum * real_fraction(l, axis);
}

/* How often tiles are refetched because loops over a dimension that does
 * not index the data type iterate above the cut. */
static double repeats(const LoopNest *n, Dim d, int cut, const bool *counted)
{
    double product = 1;
    int64_t innermost_counted = 0;
    bool gap = false, seen_skipped = false;
    for (int i = 0; i < cut; i++) {
        const Loop *lp = &n->loop[i];
        if (lp->dim != d)
            continue;
        if (counted[i]) {
            product *= (double)lp->bound;
            innermost_counted = lp->inner;
            gap |= seen_skipped;
        } else {
            seen_skipped = true;
        }
    }
    if (!innermost_counted)
        return 1;
    /* The counted loops are the outermost ones: partial tiles are exact. */
    if (!gap)
        return (double)ceil_div(n->layer->dim[d], innermost_counted);
    return product;
}

double nest_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor)
{
    bool counted[MAX_LOOPS];
    for (int i = 0; i < cut; i++)
        counted[i] = true;
    const Loop *first = NULL;
    for (int i = cut - 1; i >= floor && i >= 0; i--) {
        const Loop *lp = &n->loop[i];
        if (is_spatial(lp->level))
            continue; /* every PE has its own copy: spatial loops always count */
        if (dim_indexes(t, lp->dim)) {
            first = lp;
            break;
        }
        counted[i] = false; /* the tile stays while this loop iterates */
    }
    const MapLayer *l = n->layer;
    double words = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        if (!dim_indexes(t, (Dim)d))
            words *= repeats(n, (Dim)d, cut, counted);
    switch (t) {
    case DATA_IFMAP:
        return words * (double)l->dim[DIM_N] * (double)l->dim[DIM_C] * input_axis(n, 0, tile, first) *
               input_axis(n, 1, tile, first);
    case DATA_FILTER:
        return words * (double)l->dim[DIM_M] * (double)l->dim[DIM_C] * (double)l->dim[DIM_R] *
               (double)l->dim[DIM_S];
    case DATA_PSUM:
    case DATA_COUNT:
        break;
    }
    return words * (double)l->dim[DIM_N] * (double)l->dim[DIM_M] * (double)l->dim[DIM_P] *
           (double)l->dim[DIM_Q];
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
