/* Model metrics of the survey (Section VIII, Tables II and IV) per layer and
 * in total: the numbers `dnnc stats` reports. */
#ifndef DNNC_STATS_H
#define DNNC_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

typedef struct LayerStats {
    int64_t weights;  /* every learned parameter element */
    int64_t weight_bits; /* their storage: elements x bits of their type (i8 8, f32 32, ...) */
    int64_t macs;     /* CONV and FC multiply-accumulates */
    int64_t in_act;   /* elements read from activation operands */
    int64_t out_act;  /* elements written */
    bool bound;       /* all weights have values, so the nz_ counts are known */
    int64_t nz_weights, nz_macs;
    /* The multiplications under the layer's algorithm (conv_algo.h): for a
     * conv, by the algorithm select-algo recorded (auto counts as direct,
     * which is what the targets that leave it run) with its tile; for other
     * layers their MACs. Transforms' multiplications are apart. */
    ConvAlgo algo; /* conv only: the algorithm counted; ALGO_AUTO elsewhere */
    int tile;      /* its tile (Winograd's m, the FFT size); 0 without one */
    int64_t mults, transform_mults;
} LayerStats;

LayerStats layer_stats(const Graph *g, const Node *n);
/* Sums over all layers; sums stay exact because the IR bounds each layer. */
LayerStats graph_stats(const Graph *g);
void stats_accumulate(LayerStats *total, const LayerStats *s);
/* How many times fewer multiplications than the direct sums (MACs over
 * mults, the survey's 2.25 for F(2x2, 3x3)); 0 when s has none. Transforms
 * are not in it. */
double stats_saving(const LayerStats *s);

#endif
