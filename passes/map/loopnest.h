/* A mapping unrolled into one loop nest, and the reuse analysis over it:
 * how many words of each data type cross the boundary above a storage
 * level (docs/accelerator.md, "Counting fills"). */
#ifndef DNNC_MAP_LOOPNEST_H
#define DNNC_MAP_LOOPNEST_H

#include "map.h"

typedef struct Loop {
    Dim dim;
    LoopLevel level;
    int64_t bound;        /* iterations (the last one may cover a partial tile) */
    int64_t inner, outer; /* extent of the dimension inside / including this loop */
} Loop;

#define MAX_LOOPS (LOOP_LEVELS * DIM_COUNT)

typedef struct LoopNest {
    const MapLayer *layer;
    Loop loop[MAX_LOOPS]; /* outermost (DRAM) first; loops of bound 1 left out */
    int n;
    int begin[LOOP_LEVELS]; /* index of the first loop of each level */
    /* Extent of each dimension covered by the loops of a level and all
     * levels inside it: the tile that level's storage holds. */
    int64_t ext[LOOP_LEVELS][DIM_COUNT];
} LoopNest;

void nest_build(LoopNest *n, const MapLayer *l, const Mapping *m);
/* Rewrites m's bounds to the iterations its loops really run on layer l:
 * each clipped to what the levels inside leave of the dimension, the DRAM
 * level set to the rest. The loop nest is unchanged; the bounds then say
 * what it does, for @mapping and for the counts that read bounds directly
 * (active PEs, the records of @mapping). */
void mapping_canonicalize(const MapLayer *l, Mapping *m);

/* The lock-step view of the array (the PEs step together through the PE
 * and RF loops): the steps along dimension d at which some PE is active,
 * and the words of type t the array fetches when every step multicasts
 * the distinct words its active PEs need and nothing is kept. */
double nest_steps_along(const LoopNest *n, Dim d);
double nest_step_fills(const LoopNest *n, DataType t);

/* Which dimensions index a data type (ifmap rows and columns depend on both
 * the output position and the filter tap). */
bool dim_indexes(DataType t, Dim d);

/* Words of type t that cross the boundary at loop index `cut` (loops
 * [0, cut) are above it), when the storage below holds tiles of extent
 * `tile`. A tile stays put while only loops that do not index t iterate
 * (stationarity), except for loops above index `floor`, which always count
 * (a type that bypasses a storage level has no place to stay). */
double nest_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor);
/* The same when each ifmap tile moves as one box of rows and columns, from
 * its first row (column) read to its last, as the accelerator's `ld` moves
 * it (docs/isa.md): a tile of a layer whose stride exceeds its filter's
 * extent (a 1x1 conv of stride 2), or a dilated one, moves the rows it skips. */
double nest_box_fills(const LoopNest *n, DataType t, int cut, const int64_t tile[DIM_COUNT], int floor);

/* Words a tile of the given extents occupies. */
double tile_words(const MapLayer *l, DataType t, const int64_t tile[DIM_COUNT]);

/* Rows (or columns) of input a tile of e_out outputs and e_tap filter taps
 * touches, along axis 0 (rows) or 1 (columns). */
int64_t input_span(const MapLayer *l, int axis, int64_t e_out, int64_t e_tap);

#endif
