/* Data for a network input from a file (.npy or IDX), as dnnc run and
 * calibration (--calibrate) read it: the rule dnnc run --help states. */
#ifndef DNNC_INPUT_DATA_H
#define DNNC_INPUT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "array.h"
#include "graph.h"

/* Reads path as data for input tensor t: data of t's type as it is; IDX
 * images with their channel axis, scaled to [0, 1] for float32 inputs;
 * other data only when every value is exactly representable in t's type.
 * False with the reason in err. */
bool input_data_load(const char *path, const Tensor *t, Array *out, char *err, size_t errsz);
/* How many times the declared batch fits into the given array; 0 if the
 * shapes are incompatible. */
int64_t input_data_batches(const Shape *declared, const Shape *given);

#endif
