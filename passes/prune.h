/* Magnitude pruning (survey VII-B1): what `dnnc prune` and --prune ask of
 * the prune pass. docs/pruning.md gives the rules. */
#ifndef DNNC_PRUNE_H
#define DNNC_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct PruneOptions {
    double density;  /* share of conv and fc weights kept, in (0, 1]; 0: no pruning */
    bool per_layer;  /* every layer to the density (default: one threshold for all) */
    /* Whole filters instead of single weights: density is the share of
     * each layer's filters kept (prune_filters.c). */
    bool structured;
    /* Comma-separated names of the conv and fc layers to prune; NULL: all. */
    const char *layers;
    /* Energy-aware: the machine whose energy model says where a pruned
     * weight saves most (prune_energy.c); NULL: by magnitude alone. */
    const struct ArchSet *energy_arch;
} PruneOptions;

/* Whether `name` is one of the comma-separated names in `list`. */
bool prune_layer_listed(const char *list, const char *name);

struct Graph;
struct PassOptions;
struct PassReport;
/* The structured half of the prune pass: removes the filters of smallest
 * L1 norm and the channels they computed from the graph. */
bool prune_filters(struct Graph *g, const struct PassOptions *o, struct PassReport *r);
/* The energy each MAC a zero weight gates saves in each conv and fc layer
 * of g, by node id (NaN for other nodes), from the energy model of
 * o->prune->energy_arch; false (reported) when the machine cannot say. */
bool prune_energy_per_mac(const struct Graph *g, const struct PassOptions *o, double *per_node);

/* The k-th largest magnitude |v[p][i]| over `parts` arrays of n[p] values
 * (1 <= k <= their total), exactly, without a copy: a radix selection in
 * two 16-bit digits on the bits of the float magnitudes, which order like
 * the magnitudes. scratch holds PRUNE_SCRATCH counts. Exposed for tests. */
#define PRUNE_SCRATCH 65536
float prune_kth_largest(const float *const *v, const int64_t *n, int parts, int64_t k, int64_t *scratch);

#endif
