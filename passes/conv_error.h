/* How far a fast convolution algorithm strays from the direct sums on one
 * layer, measured (survey V-A; docs/fast-convolution.md, "Choosing the
 * algorithm"). select-algo never picks an algorithm whose measured error
 * exceeds --max-conv-error. */
#ifndef DNNC_CONV_ERROR_H
#define DNNC_CONV_ERROR_H

#include <stdbool.h>

#include "conv_algo.h"
#include "graph.h"

/* The default --max-conv-error: 1e-4 of a layer's largest output. */
#define CONV_ERROR_DEFAULT 1e-4

/* The measured window: at most this many output channels (whole groups
 * when groups have fewer) and input rows and columns. */
#define CONV_ERROR_FILTERS 8
#define CONV_ERROR_SIDE 20

/* The most multiply-adds the window's direct sums may take: 8 filters of
 * 128 channels with 3x3 taps over 20x20 outputs, a few milliseconds of the
 * reference's plain loops. Without a bound the measurement grew with the
 * channels: `dnnc dump --target cpu` took 292 s and 2.2 GB on one 3x3
 * conv of 300,000 channels, and select-algo 330 ms of VGG-16's compile. */
#define CONV_ERROR_MAX_MACS (8.0 * 128 * 3 * 3 * 20 * 20)

/* The largest |y - direct| over the outputs of conv n of g computed by c
 * in float32 (the reference executor's plain implementation of c, which
 * the cpu kernels are tested to stay near), divided by the largest |direct|,
 * in *error. Measured on a window of the layer: the first
 * CONV_ERROR_FILTERS filters (or whole groups), the top-left
 * CONV_ERROR_SIDE x CONV_ERROR_SIDE of one image with the layer's padding,
 * the layer's own weights when bound (else uniform with variance 1/fan_in),
 * inputs uniform in [0, 1) like activations after ReLU, from a fixed
 * seed. A window over CONV_ERROR_MAX_MACS keeps fewer filters, down to
 * one, then a smaller side, down to one whole output tile of c; every
 * channel of the group stays, since the error grows with the length of
 * the sum (docs/fast-convolution.md, "The error bound"). A layer too large
 * even then has error INFINITY: an error that cannot be measured is not
 * taken to be small. 0 for direct and im2col, whose sums are the direct
 * ones. False when memory runs out. */
bool conv_error_measure(const Graph *g, const Node *n, AlgoChoice c, double *error);

#endif
