/* A Mapping as the IR records it (MappingAnn, printed as @mapping) and
 * back. The record holds the loop nest the model evaluates, bound for
 * bound, so evaluating a record read back from a dump gives the very cost
 * the search found; reading it back checks that it is a loop nest of the
 * layer at hand, since a hand-written or stale record may not be. */
#include <stdio.h>
#include <string.h>

#include "loopnest.h"
#include "map.h"

/* Both name the dimensions N M C P Q R S in that order. */
_Static_assert(MAPPING_DIMS == DIM_COUNT, "MappingAnn and Mapping disagree on the dimensions");

/* The record's levels, outermost first, as the mapper numbers them. */
static const LoopLevel level_of[MAPPING_LEVELS] = {LOOP_DRAM, LOOP_BUFFER, LOOP_ROW,
                                                   LOOP_COL,  LOOP_PE,     LOOP_RF};

static int record_level(LoopLevel lv)
{
    int k = 0;
    while (level_of[k] != lv)
        k++;
    return k;
}

const char *loop_level_name(LoopLevel lv) { return mapping_ann_level_name(record_level(lv)); }

static bool is_spatial(LoopLevel lv) { return lv == LOOP_ROW || lv == LOOP_COL; }

/* A level's order as @mapping's parser builds it: its loops as listed (on
 * the spatial levels, which have no order, in dimension order), then the
 * other dimensions in dimension order. Recording in this form makes a
 * record read back from its dump equal to the record. */
static void record_order(const Mapping *m, LoopLevel lv, uint8_t out[MAPPING_DIMS])
{
    int n = 0;
    for (int k = 0; k < DIM_COUNT; k++) {
        Dim d = is_spatial(lv) ? (Dim)k : m->order[lv][k];
        if (m->factor[lv][d] > 1)
            out[n++] = (uint8_t)d;
    }
    for (int d = 0; d < DIM_COUNT; d++)
        if (m->factor[lv][d] == 1)
            out[n++] = (uint8_t)d;
}

void mapping_to_ann(const MapLayer *l, const Mapping *m, MappingAnn *out)
{
    Mapping c = *m;
    mapping_canonicalize(l, &c);
    memset(out, 0, sizeof *out);
    out->present = true;
    for (int k = 0; k < MAPPING_LEVELS; k++) {
        LoopLevel lv = level_of[k];
        for (int d = 0; d < DIM_COUNT; d++)
            out->bound[k][d] = c.factor[lv][d];
        record_order(&c, lv, out->order[k]);
    }
}

static bool is_permutation(const uint8_t order[MAPPING_DIMS])
{
    unsigned seen = 0;
    for (int k = 0; k < MAPPING_DIMS; k++)
        if (order[k] < MAPPING_DIMS)
            seen |= DIM_BIT(order[k]);
    return seen == (1u << MAPPING_DIMS) - 1;
}

/* " (the batch)" after N: a mapping recorded for one batch and compiled
 * for another fails here, and the message should say so. */
static const char *dim_note(Dim d) { return d == DIM_N ? " (the batch)" : ""; }

/* The bounds of dimension d, innermost level first, must run the loop nest
 * over exactly the layer's extent: no level loops more often than what the
 * levels inside leave of the dimension needs (its last iteration would be
 * empty), and together they cover it. */
static bool covers(const MapLayer *l, const Mapping *m, Dim d, char *why, size_t whysz)
{
    int64_t e = 1, size = l->dim[d];
    for (int lv = 0; lv < LOOP_LEVELS; lv++) {
        int64_t f = m->factor[lv][d], need = (size + e - 1) / e;
        if (f < 1 || f > need) {
            snprintf(why, whysz, "level '%s' loops %lld times over %s, where %s = %lld%s needs at "
                     "most %lld", loop_level_name((LoopLevel)lv), (long long)f, dim_name(d),
                     dim_name(d), (long long)size, dim_note(d), (long long)need);
            return false;
        }
        e *= f;
    }
    if (e < size) {
        snprintf(why, whysz, "the loops over %s cover %lld of %s = %lld%s", dim_name(d),
                 (long long)e, dim_name(d), (long long)size, dim_note(d));
        return false;
    }
    return true;
}

bool mapping_from_ann(const MapLayer *l, Dataflow d, const MappingAnn *a, Mapping *out, char *why,
                      size_t whysz)
{
    if (d == DATAFLOW_AUTO) {
        snprintf(why, whysz, "a mapping without the @dataflow it was made for");
        return false;
    }
    mapping_init(out, d);
    for (int k = 0; k < MAPPING_LEVELS; k++) {
        LoopLevel lv = level_of[k];
        if (!is_permutation(a->order[k])) {
            snprintf(why, whysz, "the loop order of level '%s' is not an order of N M C P Q R S",
                     loop_level_name(lv));
            return false;
        }
        for (int i = 0; i < DIM_COUNT; i++) {
            out->factor[lv][i] = a->bound[k][i];
            out->order[lv][i] = (Dim)a->order[k][i];
        }
    }
    for (int i = 0; i < DIM_COUNT; i++)
        if (!covers(l, out, (Dim)i, why, whysz))
            return false;
    return true;
}
