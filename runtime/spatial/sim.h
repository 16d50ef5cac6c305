/* The simulator of the spatial accelerator (docs/isa.md, "Execution"): runs
 * an instruction stream on the machine its program was compiled for, in
 * 16-bit dynamic fixed point with wide accumulators, and counts every
 * access per memory level and data type, the MACs, cycles and energy,
 * with the same conventions as the analytical model (docs/accelerator.md)
 * so that the two can be compared number for number.
 *
 * Memories are modelled, not trusted: the buffer and every scratchpad has
 * the capacity the machine gives it, and a stream that needs more is an
 * error, as is one that reads data it never loaded. */
#ifndef DNNC_SIM_H
#define DNNC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa_program.h"
#include "sim_layer.h"

/* Memory levels, outermost first, as the model's MemLevel. */
typedef enum { SIM_LEVEL_DRAM, SIM_LEVEL_BUFFER, SIM_LEVEL_ARRAY, SIM_LEVEL_RF,
               SIM_MEM_LEVELS } SimMemLevel;

/* What one layer (one cfg.layer ... up to the next) cost. */
typedef struct SimLayerCounts {
    int64_t layer;                              /* cfg.layer's id */
    double access[SIM_MEM_LEVELS][SIM_TYPES];   /* words, the model's conventions */
    double macs;                                /* every MAC of the layer's sums */
    double alu_ops;                             /* MACs performed (zero skipping gates some) */
    double bias_words;                          /* biases loaded (outside the model's types) */
    double steps;                               /* array steps: one MAC per active PE */
    double dram_words;                          /* DRAM words the layer's ld and st moved */
    double pool_words;                          /* DRAM words the pooling unit read and wrote */
    double cycles, energy, energy_level[SIM_MEM_LEVELS], energy_alu;
    int64_t passes;
    int64_t active_pes;                         /* the most PEs one step used */
} SimLayerCounts;

typedef struct SimResult {
    SimLayerCounts *layers; /* in stream order; several for a grouped layer's groups */
    int n_layers;
    int64_t instructions;
} SimResult;

typedef struct SimOptions {
    /* Count only: walk every loop and count, but do no arithmetic. */
    bool count_only;
    /* Count the words multicast at each step one by one, in a set of word
     * numbers, instead of one dimension at a time (sim_axes.h): slower,
     * and obviously right, the oracle the fast count is tested against. */
    bool word_by_word;
    /* Refuse a stream whose passes add up to more MACs than this (0: no
     * limit): what keeps an untrusted stream from running for ever. */
    double max_macs;
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} SimOptions;

/* Runs p on a DRAM of p->dram_words cells (the caller loads weights and
 * inputs into it, reads outputs after). On error writes "instruction K
 * (mnemonic): reason" to err and returns false; dram then holds whatever
 * the stream wrote before. */
bool sim_run(const IsaProgram *p, int64_t *dram, const SimOptions *o, SimResult *out, char *err,
             size_t errsz);
void sim_result_free(SimResult *r);

/* The entries of r for layer id summed (a grouped layer has one per
 * group): accesses, MACs, steps, cycles and energy. */
void sim_layer_total(const SimResult *r, int64_t id, SimLayerCounts *out);
/* Adds c's counts to into (its layer id unchanged; active_pes the larger). */
void sim_counts_add(SimLayerCounts *into, const SimLayerCounts *c);

#endif
