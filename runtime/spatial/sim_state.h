/* The simulated machine's state, shared by the simulator's units
 * (sim.c dispatches, sim_dma.c moves tiles, sim_pass.c runs the array). */
#ifndef DNNC_SIM_STATE_H
#define DNNC_SIM_STATE_H

#include "sim.h"

/* A tile held in the global buffer: its footprint and its words, stored
 * densely over the footprint's intervals (skipped rows included, so that
 * an index is computed, never searched). */
typedef struct SimTile {
    bool valid;
    bool dirty; /* psums a pass updated that no st has written out */
    SimBox box;
    int64_t *data;
    int64_t cap;
} SimTile;

/* The dependency queues between neighbouring units, as token counts. */
typedef enum { SIM_Q_LD_EX, SIM_Q_EX_LD, SIM_Q_EX_ST, SIM_Q_ST_EX, SIM_QUEUES } SimQueue;

typedef struct SimMachine {
    const IsaMachine *m;
    int64_t *dram;
    int64_t dram_words;
    bool count_only;
    bool word_by_word; /* SimOptions.word_by_word */
    double max_macs, macs_done; /* the work budget (SimOptions.max_macs) */
    SimLayer layer;
    SimTile glb[SIM_TYPES];
    SimTile bias;
    /* The array's tile of each type (the model's array level) and each
     * PE's scratchpad tile, kept across passes while the data stays. */
    bool array_valid[SIM_TYPES];
    SimBox array_box[SIM_TYPES];
    bool *pe_valid[SIM_TYPES];
    SimBox *pe_box[SIM_TYPES];
    int64_t n_pes;
    int64_t tokens[SIM_QUEUES];
    /* Visits of psum words at the buffer, array and PE levels (the model's
     * v_buffer, v_array and v_pe for psums), and fills of the other types. */
    double psum_visits[SIM_MEM_LEVELS];
    double fills[SIM_MEM_LEVELS][SIM_TYPES];
    double dram_psum; /* psum words read and written in DRAM */
    SimLayerCounts *cur;
    SimResult *result;
    int64_t layers_cap;
} SimMachine;

/* sim_tile.c */
bool sim_tile_resize(SimTile *t, const SimBox *b, char *err, size_t errsz);
/* Index of (i0, i1, i2, i3) in t's data, or -1 outside its intervals. */
int64_t sim_tile_index(const SimTile *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);
void sim_tile_free(SimTile *t);
/* Words the buffer holds now, over every tile. */
int64_t sim_buffer_words(const SimMachine *s);

/* sim_dma.c: ld and st. sim_dram_index is sim_layer_dram_index on the
 * current layer and the machine's DRAM. */
int64_t sim_dram_index(const SimMachine *s, IsaLdType type, int64_t i0, int64_t i1, int64_t i2,
                       int64_t i3);
bool sim_ld(SimMachine *s, const IsaInstr *in, char *err, size_t errsz);
bool sim_st(SimMachine *s, const IsaInstr *in, char *err, size_t errsz);

/* sim_pass.c: one buffer tile on the array. */
bool sim_pass(SimMachine *s, const IsaInstr *in, char *err, size_t errsz);

/* sim_pool.c: the pooling unit. */
bool sim_pool(SimMachine *s, const IsaInstr *in, char *err, size_t errsz);

#endif
