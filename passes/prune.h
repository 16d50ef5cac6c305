/* Magnitude pruning (survey VII-B1): what `dnnc prune` and --prune ask of
 * the prune pass. docs/pruning.md gives the rules. */
#ifndef DNNC_PRUNE_H
#define DNNC_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct PruneOptions {
    double density;  /* share of conv and fc weights kept, in (0, 1]; 0: no pruning */
    bool per_layer;  /* every layer to the density (default: one threshold for all) */
} PruneOptions;

/* The k-th largest magnitude |v[p][i]| over `parts` arrays of n[p] values
 * (1 <= k <= their total), exactly, without a copy: a radix selection in
 * two 16-bit digits on the bits of the float magnitudes, which order like
 * the magnitudes. scratch holds PRUNE_SCRATCH counts. Exposed for tests. */
#define PRUNE_SCRATCH 65536
float prune_kth_largest(const float *const *v, const int64_t *n, int parts, int64_t k, int64_t *scratch);

#endif
