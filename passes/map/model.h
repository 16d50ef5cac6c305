/* The model's entry point for the search: map_evaluate with the buffer
 * capacity check optional, so the search can first rank the inner levels of
 * a mapping as if the buffer were unbounded. */
#ifndef DNNC_MAP_MODEL_H
#define DNNC_MAP_MODEL_H

#include "map.h"

bool model_evaluate(const SpatialArch *a, const MapLayer *l, const Mapping *m, bool check_buffer,
                    LayerCost *out, char *why, size_t whysz);

#endif
