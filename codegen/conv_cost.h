/* The cost model of the cpu target's convolution kernels (the Target's
 * conv_cost): what select-algo ranks im2col, Winograd and FFT by when
 * --autotune has not measured a layer (docs/fast-convolution.md, "Choosing
 * the algorithm"). */
#ifndef DNNC_CONV_COST_H
#define DNNC_CONV_COST_H

#include <stdbool.h>

#include "conv_algo.h"
#include "graph.h"

/* What a conv kernel does, counted: the terms of the cost model, for the
 * thread that does the most (its share of the kernel's parallel units). */
typedef struct ConvWork {
    double fmas;        /* vector multiply-adds of the micro-kernels */
    double gathered;    /* input elements copied one by one (im2col panels, tile windows) */
    double transformed; /* vector ops of Winograd and FFT transforms */
    double written;     /* output elements through the epilogue */
    double accumulated; /* vectors of partial sums stored and reloaded between blocks */
    double streamed;    /* bytes of packed filters read from beyond L2 */
    double units;       /* the parallel units the thread runs (each has a fixed cost) */
    double copied;      /* input elements copied in runs into the direct kernel's planes */
    double chained;     /* vector multiply-adds of the direct kernel: a load each, chained per vector */
    bool blocked;       /* a kernel on blocked activations: its terms have their own costs */
} ConvWork;

/* The work of conv n of g by c on `threads` threads, as the kernel of
 * codegen/kernels built with `lanes` float lanes a vector (8, or 16 with
 * AVX-512) does it. */
ConvWork cpu_conv_work(const Graph *g, const Node *n, AlgoChoice c, int lanes, int threads);
/* The cycles that work takes: each term times its fitted cost. */
double cpu_conv_cycles(ConvWork w);

/* The estimated cycles of conv n of g run by c on `threads` threads of
 * this machine, as the kernel of codegen/kernels that runs c computes it:
 * its multiply-adds on the micro-kernel (lanes left empty by partial tiles
 * and panels included), the data it gathers and transforms element by
 * element, the outputs it writes, the partial sums it moves, the
 * transformed filters it streams from beyond the second-level cache, for
 * the thread with the most of the layer's parallel units. */
double cpu_conv_cost(const Graph *g, const Node *n, AlgoChoice c, int threads);

#endif
