/* A whole fixed16 graph as a program for the spatial accelerator
 * (docs/accelerator.md, "Running on the simulator"). Every i16 activation
 * lives in DRAM; qlinear_conv (with a relu that is its only consumer
 * folded in) runs on the PE array, maxpool on i16 on the pooling unit, and
 * reshape, flatten and dropout on i16 are the same words under another
 * shape. Everything else is float and runs on the host, layer by layer, on
 * the reference executor: quantize writes an accelerator input into DRAM,
 * dequantize reads an accelerator output back, and float layers between
 * them (LeNet-5's tanh, average pooling, concat and slices, a softmax at
 * the end) run on host buffers.
 *
 * The program's stream is cut where the host has work: each segment of
 * accelerator layers ends with `finish`, and the steps say in which order
 * segments and host layers run. */
#ifndef DNNC_SPATIAL_GRAPH_H
#define DNNC_SPATIAL_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "graph.h"
#include "isa_dram.h"
#include "isa_program.h"
#include "sim.h"

/* Not in DRAM: a host tensor. */
#define SPATIAL_NO_DRAM UINT64_MAX

typedef enum { SPATIAL_STEP_SEGMENT, SPATIAL_STEP_HOST } SpatialStepKind;

typedef struct SpatialStep {
    SpatialStepKind kind;
    int node;            /* host: the layer the host runs */
    size_t begin, end;   /* segment: instructions [begin, end), the last a finish */
} SpatialStep;

typedef struct SpatialGraphCode {
    IsaProgram program;
    IsaDram image;       /* weights and biases */
    uint64_t *base;      /* per tensor id: DRAM word address or SPATIAL_NO_DRAM */
    SpatialStep *steps;
    int n_steps, cap_steps;
    int segments;
} SpatialGraphCode;

/* Whether layer n can be part of a spatial program, and if not why. */
bool spatial_graph_supports(const Graph *g, const Node *n, char *why, size_t whysz);

/* The DRAM words the program of g addresses (activations, weights, biases). */
uint64_t spatial_graph_dram_words(const Graph *g);

/* Builds the program of a mapped fixed16 graph on arch's machine. On
 * failure err names the layer and why; *out is then empty. */
bool spatial_emit_graph(const Graph *g, const SpatialArch *arch, SpatialGraphCode *out, char *err,
                        size_t errsz);
void spatial_graph_code_free(SpatialGraphCode *c);

/* Runs segment st of the program on dram (the host's steps are the
 * caller's) and adds each layer's counts to counts[layer id]. False, with
 * the simulator's reason in err, on failure. */
bool spatial_run_segment(const SpatialGraphCode *code, const SpatialStep *st, int64_t *dram,
                         const SimOptions *o, SimLayerCounts *counts, char *err, size_t errsz);

#endif
