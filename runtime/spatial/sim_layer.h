/* The simulator's layer registers: what the cfg.* instructions of the
 * current layer set, and the tiles of each data type that a loop nest
 * position covers (the words a storage level must hold for it). */
#ifndef DNNC_SIM_LAYER_H
#define DNNC_SIM_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "isa.h"

/* The seven dimensions of one group of a CONV layer, in the ISA's order
 * (survey Fig. 9): batch N, filters M, channels C, output rows P and
 * columns Q, filter rows R and columns S. */
typedef enum { SIM_N, SIM_M, SIM_C, SIM_P, SIM_Q, SIM_R, SIM_S, SIM_DIMS } SimDim;

/* Loop levels below DRAM, innermost first (cfg.loop's level field). */
typedef enum { SIM_RF, SIM_PE, SIM_COL, SIM_ROW, SIM_BUF, SIM_LEVELS } SimLevel;

/* The model's three data types. */
typedef enum { SIM_IFMAP, SIM_FILTER, SIM_PSUM, SIM_TYPES } SimType;

typedef struct SimLayer {
    bool started;            /* a cfg.layer was seen */
    int64_t id, kind, group, groups;
    int64_t dim[SIM_DIMS];
    int64_t in_h, in_w, stride[2], dil[2], pad[2];
    int frac_in, frac_w, frac_out;
    bool relu, bias;
    int64_t bound[SIM_LEVELS][SIM_DIMS];  /* iterations of each loop */
    int order[SIM_LEVELS][SIM_DIMS];      /* outer to inner */
    int dataflow;
    unsigned hold, neighbour;             /* bit per SimType */
    unsigned noc_row[SIM_TYPES], noc_col[SIM_TYPES];
    bool noc_set[SIM_TYPES];
    int64_t base[ISA_TENSOR_COUNT], outer_stride[ISA_TENSOR_COUNT], channels[ISA_TENSOR_COUNT];
    bool tensor_set[ISA_TENSOR_COUNT];
    /* Derived when the first pass runs: the extent of each dimension that
     * one iteration of a level's storage covers (a tile), innermost level
     * first; ext[SIM_BUF] is the buffer tile. */
    int64_t ext[SIM_LEVELS][SIM_DIMS];
} SimLayer;

/* One axis of a tile's footprint in a type's index space: the interval
 * [lo, lo + span) and how many of its indices are really touched (fewer
 * than span when a strided or dilated window skips input rows). */
typedef struct SimAxis {
    int64_t lo, span, used;
} SimAxis;

/* A tile's footprint: ifmap (n, c, y, x) with y and x in the stored input
 * (padding never stored), filter (m, c, r, s), psum (n, m, p, q). */
typedef struct SimBox {
    SimAxis a[4];
} SimBox;

/* The footprint of type t for the tile at origin o with extents e (both
 * indexed by SimDim, e already clipped to the layer). */
void sim_tile_box(const SimLayer *l, SimType t, const int64_t o[SIM_DIMS],
                  const int64_t e[SIM_DIMS], SimBox *out);
/* How many rows of [lo, hi] the pairs (output o + j, tap t + k), j < no,
 * k < nt, read: (o + j) u + (t + k) d - pad (u stride, d dilation). */
int64_t sim_rows_hit(int64_t o, int64_t no, int64_t t, int64_t nt, int64_t u, int64_t d,
                     int64_t pad, int64_t lo, int64_t hi);

/* The box an ld or st names: four (start, length) fields from `first`
 * (ISA_LD_S0, ISA_ST_S0). */
SimBox sim_box_of_instr(const IsaInstr *in, int first);
/* Words in the box (saturating at INT64_MAX: boxes come from streams). */
int64_t sim_box_words(const SimBox *b);
/* Words of b that are not in kept: the words a fill of b must move when
 * the storage held kept. Reuse is exact for boxes without skipped indices;
 * a box with holes is refetched whole. */
int64_t sim_box_new_words(const SimBox *b, const SimBox *kept);
bool sim_box_equal(const SimBox *a, const SimBox *b);
/* Whether every index of inner lies inside outer's intervals. */
bool sim_box_inside(const SimBox *inner, const SimBox *outer);

/* The DRAM word of index (i0, i1, i2, i3) of the layer's tensor that an
 * ld of this type reads (ifmap (n, c, y, x), filter (m, c, r, s), psum and
 * ofmap (n, m, p, q), bias (m, 0, 0, 0)), or -1 outside the tensor or a
 * DRAM of dram_words words. */
int64_t sim_layer_dram_index(const SimLayer *l, int64_t dram_words, IsaLdType type, int64_t i0,
                             int64_t i1, int64_t i2, int64_t i3);

/* Applies a decoded cfg.* instruction to the registers. False with the
 * reason in err on a value the layer cannot take. */
bool sim_layer_config(SimLayer *l, const IsaInstr *in, char *err, size_t errsz);
/* Checks the registers are complete and consistent and derives ext[]. */
bool sim_layer_ready(SimLayer *l, char *err, size_t errsz);

#endif
