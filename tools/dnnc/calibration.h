/* --calibrate FILE: the data the quantize pass measures activation ranges
 * on (passes/quantize.h), read like dnnc run's --input and cut into
 * batches of the network's declared input shape. */
#ifndef DNNC_CALIBRATION_H
#define DNNC_CALIBRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "diag.h"
#include "graph.h"

typedef struct CalibrationData {
    Array data;
    const float **batches;
    int64_t n_batches;
} CalibrationData;

/* Reads path (.npy or IDX) as data for g's one float32 input and keeps its
 * first `samples` samples (0: all), whole batches of the declared batch
 * size. False after reporting through d. */
bool calibration_load(const char *path, int64_t samples, const Graph *g, CalibrationData *out, Diag *d);
void calibration_free(CalibrationData *c);

#endif
