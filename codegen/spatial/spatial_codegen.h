/* Code generation for the spatial accelerator (docs/isa.md): a mapped CONV
 * or FC layer becomes its configuration and the stream of ld, pass and st
 * instructions that walks its DRAM-level loops. What moves when follows
 * from the mapping alone: a tile is loaded when the DRAM loops move to one
 * the buffer does not hold, a psum tile is spilled when it leaves the
 * buffer before its sums are complete and reloaded when it returns. On a
 * machine with rlc = on, every ifmap ld and every final st is run-length
 * coded (ld/st rlc=1); psum spills and filters never are. */
#ifndef DNNC_SPATIAL_CODEGEN_H
#define DNNC_SPATIAL_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa_program.h"
#include "map.h"
#include "sim_data_stats.h"

/* Where a layer's tensors live in DRAM (word addresses of the whole
 * tensors; the code generator offsets each group) and its arithmetic. */
typedef struct SpatialLayerCode {
    const MapLayer *layer;
    const Mapping *mapping;
    int64_t layer_id;            /* from isa_program_add_layer */
    uint64_t ifmap, filter, ofmap, bias; /* bases */
    bool has_bias;
    int frac_in, frac_w, frac_out;
    bool relu;
} SpatialLayerCode;

/* The dependency tokens outstanding between layers: the emitter links each
 * instruction to the ones it must wait for (docs/isa.md, "Tokens"). */
typedef struct SpatialEmitter {
    IsaProgram *program;
    int64_t last_pass;     /* index of the last pass, -1 before the first */
    bool pass_since_ld;    /* a pass ran since the last ld group */
    bool st_token;         /* a st pushed a token EX has not popped yet */
    bool sync_token;       /* a sync pushed a token LD has not popped yet */
} SpatialEmitter;

void spatial_emitter_init(SpatialEmitter *e, IsaProgram *p);

/* Appends the layer's instructions, group after group. */
bool spatial_emit_layer(SpatialEmitter *e, const SpatialLayerCode *c, char *err, size_t errsz);

/* Appends a max-pooling step (the pooling unit) from src to dst. */
bool spatial_emit_pool(SpatialEmitter *e, const IsaInstr *pool, char *err, size_t errsz);

/* Ends the stream with finish, popping what is outstanding. */
bool spatial_emit_finish(SpatialEmitter *e, char *err, size_t errsz);

/* Where spatial_layer_program puts a layer's tensors: one after another. */
typedef struct SpatialLayerPlan {
    uint64_t ifmap, filter, bias, ofmap, words;
} SpatialLayerPlan;

/* A whole program for layer l alone under mapping m on machine a: its
 * tensors laid out by plan, its arithmetic (Q formats, ReLU, bias) from
 * numbers (NULL: all zero, no bias), then finish. The caller frees out
 * with isa_program_free, also on failure. */
bool spatial_layer_program(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                           const SpatialLayerCode *numbers, IsaProgram *out,
                           SpatialLayerPlan *plan, char *err, size_t errsz);

/* Gives the model of layer l the statistics its program met in data
 * (sim_data_stats): the RLC bits per word its ifmap loads and final
 * stores took, and the MACs zero skipping gates. With them the model's
 * counts are the simulator's on that data, number for number. */
void spatial_measured_layer(MapLayer *l, const SimDataStats *s, int64_t word_bits);

/* The machine fields of a description, for the program header. */
void spatial_machine_from_arch(const SpatialArch *a, IsaMachine *out);

#endif
