/* The codes and scales of weights quantised to log2, codebook (k-means),
 * binary or ternary codes (survey VII-A3 to VII-A5; docs/quantization.md,
 * "Weight codes"). What each code stands for is ir/weight_code.h's. */
#ifndef DNNC_WEIGHT_CODES_H
#define DNNC_WEIGHT_CODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* A layer's float weights w, `filters` rows of per_filter, as codes of t
 * (one a byte) and, in `decoder`, the scales (one per filter when
 * per_channel, else one) or, for codebook, the 2^bits centroids:
 *   log2     scale = 2^round(log2 max|w|) (its largest level), each w at the
 *            level nearest in log2 (round(log2 |w| / scale)), below the
 *            smallest level 0 or that level, whichever is nearer
 *   codebook k-means (Lloyd) over the whole layer, centroids started
 *            linearly over [min w, max w] (as Deep Compression found best),
 *            until no weight changes centroid (at most 100 rounds)
 *   binary   scale = mean |w|, the code the sign (BWN, XNOR-Net)
 *   ternary  threshold 0.7 mean |w|, scale = mean of the |w| above it (TWN)
 * Everything in double, rounded to float once; the same weights give the
 * same codes on every machine. */
void weight_codes_choose(ElemType t, bool per_channel, const float *w, int64_t filters, int64_t per_filter,
                         uint8_t *codes, float *decoder);

#endif
