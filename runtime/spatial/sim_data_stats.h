/* What the data a program moves hold, read from a DRAM image without
 * running the program: per layer, the ifmap words its ld instructions
 * bring from DRAM (the words the buffer's ifmap tile does not already
 * hold, as the simulator's DMA moves them) and their run-length coded size,
 * the outputs its final st instructions write and their coded size, and its
 * MACs whose ifmap operand is zero or padding (those zero skipping gates).
 * These are the measured statistics the analytical model takes in place of
 * a zero fraction (docs/accelerator.md, "Sparse counts against the
 * simulator"). The image must hold every layer's input and its output as
 * the layer writes it: the reference executor's activations. */
#ifndef DNNC_SIM_DATA_STATS_H
#define DNNC_SIM_DATA_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa_program.h"

typedef struct SimDataStats {
    double ifmap_moved, ifmap_coded; /* DRAM words; coded = moved where ld has rlc=0 */
    double ofmap_final, ofmap_coded; /* likewise for st final */
    double macs;                     /* N M C P Q R S of every group */
    double zero_macs;                /* of those, MACs with a zero operand: ifmap zero or padding, or weight zero */
} SimDataStats;

/* Fills out[id] for every layer id of p (p->n_layers entries, zeroed
 * here) from the image dram of p->dram_words words. False with the reason
 * in err on a program the simulator would refuse (a box outside its
 * tensor, a value that does not fit the RLC value field). */
bool sim_data_stats(const IsaProgram *p, const int64_t *dram, SimDataStats *out, char *err,
                    size_t errsz);

#endif
