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
    /* Energy-aware pruning (prune_energy.c): weights go where the energy
     * saved on `arch` per calibration sample lost is largest; density, when
     * not 0, is the overall share of weights to reach, else as many go as
     * keep the samples that change class within max_drop. */
    bool energy_aware;
    double max_drop;                /* per cent of the samples that may change class (0: 1) */
    const struct ArchSet *arch;     /* the spatial machine whose energy model ranks layers */
    const float *const *batches;    /* calibration data: batches of graph input 0 */
    int64_t n_batches;
    /* Called once the densities are chosen: for each layer, its energy
     * before and after and the density it keeps (layer NULL at the end:
     * the totals, and the samples whose class changed of those run). */
    void (*on_choice)(void *ctx, const char *layer, double energy, double after, double density,
                      int64_t changed, int64_t samples);
    void *on_choice_ctx;
} PruneOptions;

#define PRUNE_DEFAULT_MAX_DROP 1.0

/* Whether `name` is one of the comma-separated names in `list`. */
bool prune_layer_listed(const char *list, const char *name);

struct Graph;
struct PassOptions;
struct PassReport;
struct ArchSet;

/* Each node's energy on the machine, as dnnc map estimates it (any
 * dataflow, the lowest), by node id: NaN for nodes that are not conv or fc
 * and layers that fit nowhere. NULL when memory runs out; free() it. */
double *prune_layer_energies(const struct Graph *g, const struct ArchSet *arch);

/* Zeroes all but the `keep` largest magnitudes of w[0, n) (ties at the
 * threshold kept in order); returns the weights zeroed. scratch holds
 * PRUNE_SCRATCH counts. */
int64_t prune_keep_largest(struct Graph *g, float *w, int64_t n, int64_t keep, int64_t *scratch);

/* The energy-aware half of the prune pass (prune_energy.c). */
bool prune_by_energy(struct Graph *g, const struct PassOptions *o, struct PassReport *r);
/* The structured half of the prune pass: removes the filters of smallest
 * L1 norm and the channels they computed from the graph. */
bool prune_filters(struct Graph *g, const struct PassOptions *o, struct PassReport *r);

/* The k-th largest magnitude |v[p][i]| over `parts` arrays of n[p] values
 * (1 <= k <= their total), exactly, without a copy: a radix selection in
 * two 16-bit digits on the bits of the float magnitudes, which order like
 * the magnitudes. scratch holds PRUNE_SCRATCH counts. Exposed for tests. */
#define PRUNE_SCRATCH 65536
float prune_kth_largest(const float *const *v, const int64_t *n, int parts, int64_t k, int64_t *scratch);

#endif
