/* Dataflow mapping for the spatial accelerator (survey Section V-B): for
 * every CONV and FC layer, mappings under each dataflow (WS, OS_A, OS_B,
 * OS_C, NLR, RS), an analytical model of their accesses, cycles and energy,
 * and a search for the lowest-energy mapping that fits.
 *
 * A mapping is a loop nest over the seven dimensions of a CONV layer, split
 * into levels from DRAM down to the RF; docs/accelerator.md derives every
 * count the model gives. */
#ifndef DNNC_MAP_H
#define DNNC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "graph.h"

/* The dimensions of one group of a CONV layer (survey Fig. 9, Eyeriss
 * names in brackets): batch N, filters M, channels C, output rows P (E) and
 * columns Q (F), filter rows R and columns S. An FC layer is a CONV whose
 * filter covers its whole input. */
typedef enum { DIM_N, DIM_M, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S, DIM_COUNT } Dim;
#define DIM_BIT(d) (1u << (d))

/* Loop levels, innermost first: loops in the RF (operands resident), loops
 * streamed through a PE, the spatial columns and rows of the array, loops
 * over the global buffer's tile and loops over DRAM. */
typedef enum {
    LOOP_RF, LOOP_PE, LOOP_COL, LOOP_ROW, LOOP_BUFFER, LOOP_DRAM, LOOP_LEVELS
} LoopLevel;

/* The precision a layer is costed at (docs/accelerator.md, "Precision";
 * passes/map/precision.c): the bits of an ifmap, a filter and a psum value,
 * and the energy of one MAC. A zero-initialised precision is the machine's
 * word for every data type and its energy.mac: what a hand-built MapLayer
 * and `--float-as word` cost (the survey's 16-bit Eyeriss figures). */
#define PRECISION_F32 0 /* operand_bits of a float32 multiply */
typedef struct MapPrecision {
    char name[24];           /* "f32", "fixed16", "int8", "log2<4>", ...; "" the machine's word */
    int bits[DATA_COUNT];    /* per value; 0: the machine's word_bits */
    int output_bits;         /* a final output as written (after requantisation); 0: the word */
    int operand_bits;        /* what the PE multiplies: integer bits, or PRECISION_F32 */
    bool is_float;           /* float32 arithmetic (f32 layers, the weight codes' f32 activations) */
    double mac;              /* one MAC in units of the 16-bit fixed MAC (energy.mac); 0: 1 */
    int codebook_bits;       /* kmeans: a centroid of this many bits read per weight used */
} MapPrecision;

typedef struct MapLayer {
    const char *name;
    OpKind op;
    MapPrecision precision;
    int64_t dim[DIM_COUNT];   /* of one group */
    int64_t groups;           /* groups run one after another */
    int64_t stride[2], dilation[2];
    int64_t in_h, in_w;       /* the stored input, padding excluded */
    int64_t pad_top, pad_left;
    double ifmap_zero;        /* fraction of zero input activations */
    double filter_zero;       /* fraction of zero weights (pruned ones), from bound weights */
    double ofmap_zero;        /* fraction of zeros in the output as written (after ReLU) */
    double ifmap_rlc_bits;    /* measured RLC bits per input value; 0: model it from ifmap_zero */
    double ofmap_rlc_bits;
    double filter_rlc_bits;   /* measured RLC bits per filter word moved; 0: model it from filter_zero */
    /* Zero skipping measured on data: the MACs (of every group) with a
     * zero operand (ifmap zero or padding, or weight zero), which the
     * gating skips, in place of the estimate MACs x (1 - (1 - ifmap_zero) x
     * (1 - filter_zero)) (docs/accelerator.md, "Sparse counts against the
     * simulator"). */
    bool skip_measured;
    double skipped_macs;
} MapLayer;

/* A mapping: the loop bound of every dimension at every level (the DRAM
 * level takes whatever is left, so bounds need not divide a dimension: the
 * last tile is partial) and the loop order of the temporal levels. */
typedef struct Mapping {
    Dataflow dataflow;
    int64_t factor[LOOP_LEVELS][DIM_COUNT];
    Dim order[LOOP_LEVELS][DIM_COUNT]; /* outer to inner; spatial levels ignore it */
} Mapping;

typedef struct LayerCost {
    double access[LEVEL_COUNT][DATA_COUNT]; /* value accesses; DRAM after compression */
    double dram_outputs;    /* of access[DRAM][PSUM], the final outputs written (output_bits) */
    double macs;            /* every group and image */
    double alu_ops;         /* MACs performed: fewer with zero skipping */
    double energy[LEVEL_COUNT];
    double energy_alu;
    double energy_type[DATA_COUNT]; /* the same energy by data type (ALU apart) */
    double energy_total;
    double dram_bytes;
    double compute_cycles, dram_cycles, cycles;
    int64_t active_pes;     /* PEs the spatial assignment uses */
    double utilization;     /* MACs / (cycles x all PEs) */
} LayerCost;

/* A mapping of dataflow d with every loop bound 1 (the DRAM level then
 * covers the whole layer) and the loop order N M C P Q R S everywhere. */
void mapping_init(Mapping *m, Dataflow d);

/* Dimension names: "N", "M", ... */
const char *dim_name(Dim d);

/* Whether n is a layer the mapper maps: conv, fc, qlinear_conv. */
bool map_is_layer(const Node *n);

/* The layer shape of a CONV, FC or QLINEAR_CONV node; false for other ops. The batch is
 * taken from the graph unless batch > 0. Sparsity fields are zero. */
bool map_layer_from_node(const Graph *g, const Node *n, int64_t batch, MapLayer *out);

/* Checks that m fits the machine (array, RF and buffer capacities, the
 * dataflow's constraints) and evaluates it. On a misfit writes the reason to
 * why and returns false. */
bool map_evaluate(const SpatialArch *a, const MapLayer *l, const Mapping *m, LayerCost *out,
                  char *why, size_t whysz);

/* Whether a PE's RF of type t holds `values` values of l (capacities in
 * bits: rf.X words of word_bits). */
bool map_rf_holds(const SpatialArch *a, const MapLayer *l, DataType t, double values);
/* The bytes of a tile of l of extent ext, each type at its own bits. */
double map_tile_bytes(const SpatialArch *a, const MapLayer *l, const int64_t ext[DIM_COUNT]);

/* Bits per value of an activation tensor of value_bits-bit values under
 * the machine's RLC, from its zero fraction (independent zeros assumed). */
double rlc_bits_model(const SpatialArch *a, double zero_fraction, int value_bits);

/* ---- Precision (precision.c) ---- */

/* Sets l->precision from node n's element types (l's dimensions already
 * set): f32 32-bit values and the f32 MAC; qlinear_conv its operands' bits
 * and its accumulator (i32 at 8 bits; at 16 bits Fig. 39's 2N + ceil(log2
 * K)); coded_conv f32 activations and psums, its code bits for filters. */
void map_precision_of_node(const Graph *g, const Node *n, MapLayer *l);
/* The bits of one value of type t of layer l on machine a. */
int map_value_bits(const SpatialArch *a, const MapLayer *l, DataType t);
/* The bits of a final output of l as written to DRAM. */
int map_output_bits(const SpatialArch *a, const MapLayer *l);
/* The energy of one MAC of l on a. */
double map_mac_energy(const SpatialArch *a, const MapLayer *l);
/* Whether a's PEs compute l's operands (arch `precisions`); if not, the
 * reason in why. */
bool map_precision_supported(const SpatialArch *a, const MapLayer *l, char *why, size_t whysz);
/* "f32", "fixed16", ...: l's precision name, "word16" for the machine's word. */
void map_precision_name(const SpatialArch *a, const MapLayer *l, char *buf, size_t size);

typedef struct MapChoice {
    Mapping mapping;
    LayerCost cost;
    int64_t evaluated; /* mappings the search evaluated */
} MapChoice;

/* The lowest-energy mapping of l under dataflow d on a. False, with the
 * reason in why, if no mapping fits. */
bool map_search(const SpatialArch *a, const MapLayer *l, Dataflow d, MapChoice *best, char *why,
                size_t whysz);

/* A one-line description of a mapping's tiles, outermost level first, DRAM
 * (the rest) left out: "buf M2C8 | rows C4R3 | cols P13 | pe Q13 | rf M4S3 " */
void mapping_format(const Mapping *m, char *buf, size_t size);

/* A level's name as reports and @mapping spell it: "rf", "pe", "cols",
 * "rows", "buf", "dram". */
const char *loop_level_name(LoopLevel lv);

/* ---- The mapping as the IR records it (record.c) ---- */

/* The record of mapping m of layer l (@mapping): the iterations each loop
 * really runs, every level's order. */
void mapping_to_ann(const MapLayer *l, const Mapping *m, MappingAnn *out);
/* The mapping a record gives, for dataflow d on layer l. False, with the
 * reason in why, unless the record is a loop nest of exactly this layer:
 * every dimension covered, no loop with an empty last iteration. Whether it
 * fits the machine and the dataflow is map_evaluate's to say. */
bool mapping_from_ann(const MapLayer *l, Dataflow d, const MappingAnn *a, Mapping *out, char *why,
                      size_t whysz);


/* ---- Whole networks (map_graph.c) ---- */

typedef struct ActStats ActStats; /* sparsity.h */

typedef struct MapOptions {
    int64_t batch;            /* 0: the batch the graph declares */
    Dataflow dataflow;        /* DATAFLOW_AUTO: try every dataflow, keep the best */
    double relu_zero;         /* zeros assumed in a ReLU's output when not measured */
    const ActStats *measured; /* per tensor id, from measure_activations; NULL: assume */
    bool float_as_word;       /* cost float32 layers at the machine's word (--float-as word) */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} MapOptions;

#define MAP_WHY 200

typedef struct LayerMap {
    int node;
    MapLayer layer;
    bool recorded; /* the node's own @mapping was evaluated; nothing was searched */
    bool tried[DATAFLOW_KINDS];
    bool fits[DATAFLOW_KINDS];
    MapChoice choice[DATAFLOW_KINDS];
    char why[DATAFLOW_KINDS][MAP_WHY];
    Dataflow chosen; /* lowest energy that fits; DATAFLOW_AUTO if none does */
} LayerMap;

typedef struct GraphMap {
    LayerMap *layers;
    int n;
} GraphMap;

/* Maps every CONV and FC layer of g under the options' dataflow or, when
 * they ask for the best, under the layer's @dataflow(X) if it has one, else
 * under each dataflow, keeping the lowest energy. A layer mapped under the
 * dataflow of its @mapping is evaluated with exactly that mapping
 * (recorded), never searched. Returns false only when memory runs out;
 * layers that fit nowhere have chosen == DATAFLOW_AUTO and their reasons in
 * why. */
bool map_graph(const Graph *g, const ArchSet *arch, const MapOptions *o, GraphMap *out);
void graph_map_free(GraphMap *m);

#endif
