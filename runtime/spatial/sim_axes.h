/* The PE array one dimension at a time. PE (row, column) takes, in each
 * dimension d, the share of the array tile that its row's digit and its
 * column's digit of d select (the mixed-radix digits of sim_pass.c's
 * place_pes), and every combination of digits is one PE. So the PEs'
 * tiles are the product, over the seven dimensions, of a list of
 * intervals per dimension, one per pair of digits (a "slot"), and so is
 * the set of PEs that work in a step. What the active PEs need in a step
 * is then counted per dimension: the distinct words of a type are the
 * product of the distinct indices along each dimension the type depends
 * on (input rows and columns come from pairs of an output and a filter
 * position: those two dimensions are counted together). Summed over the
 * steps of a scratchpad tile, whose offsets are a product too, the counts
 * factor into one sum per dimension. sim_pass.c's word-by-word count (a
 * set of word numbers per step) is the oracle this is tested against. */
#ifndef DNNC_SIM_AXES_H
#define DNNC_SIM_AXES_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_layer.h"

typedef struct SimPeAxes {
    int64_t slots[SIM_DIMS];     /* row digits x column digits of d */
    int64_t *o[SIM_DIMS], *e[SIM_DIMS];   /* a slot's share of the array tile */
    int64_t *ro[SIM_DIMS], *re[SIM_DIMS]; /* its scratchpad tile now; re 0: none */
    /* Marks for counting distinct indices: index v was seen in this count
     * when mark[v] == now. */
    uint32_t *mark;
    uint32_t now;
    int64_t marks;
} SimPeAxes;

/* Sizes the axes for layer l's mapping; false when memory runs out. */
bool sim_axes_init(SimPeAxes *ax, const SimLayer *l);
void sim_axes_free(SimPeAxes *ax);
/* Lays the slots over the array tile at origin a with extents ea. */
void sim_axes_place(SimPeAxes *ax, const SimLayer *l, const int64_t a[SIM_DIMS],
                    const int64_t ea[SIM_DIMS]);
/* The slots' scratchpad tiles at iteration idx of the PE loops, and the
 * steps they take along each dimension (all 0 when no PE works). */
void sim_axes_scratchpad(SimPeAxes *ax, const SimLayer *l, const int64_t idx[SIM_DIMS],
                         int64_t rmax[SIM_DIMS]);
/* The PEs that work on their scratchpad tiles now, and their MACs. */
void sim_axes_work(const SimPeAxes *ax, double *active, double *macs);
/* Over the rmax steps, the sum of how many active PEs need a word of type
 * t (padding excluded) and of how many distinct words they need. */
void sim_axes_step_words(SimPeAxes *ax, const SimLayer *l, SimType t, const int64_t rmax[SIM_DIMS],
                         double *deliveries, double *distinct);

#endif
