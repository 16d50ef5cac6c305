/* Model metrics of the survey (Section VIII, Tables II and IV) per layer and
 * in total: the numbers `dnnc stats` reports. */
#ifndef DNNC_STATS_H
#define DNNC_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

typedef struct LayerStats {
    int64_t weights;  /* every learned parameter element */
    int64_t macs;     /* CONV and FC multiply-accumulates */
    int64_t in_act;   /* elements read from activation operands */
    int64_t out_act;  /* elements written */
    bool bound;       /* all weights have values, so the nz_ counts are known */
    int64_t nz_weights, nz_macs;
} LayerStats;

LayerStats layer_stats(const Graph *g, const Node *n);
/* Sums over all layers; sums stay exact because the IR bounds each layer. */
LayerStats graph_stats(const Graph *g);
void stats_accumulate(LayerStats *total, const LayerStats *s);

#endif
