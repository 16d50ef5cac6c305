/* IDX files, the format of MNIST and Fashion-MNIST, gzip-compressed or not. */
#ifndef DNNC_IDX_H
#define DNNC_IDX_H

#include "array.h"

/* Reads an IDX file (unsigned byte, signed byte, int32 or float32 data;
 * int16 and float64 are converted to int32 and float32). */
bool idx_read(const char *path, Array *out, char *err, size_t errsz);
/* Parses an uncompressed IDX image held in memory. */
bool idx_parse(const unsigned char *bytes, size_t len, Array *out, char *err, size_t errsz);

/* IDX images, the arrays the two functions below take: uint8 [N, H, W]. */
bool idx_are_images(const Array *a);
/* Their shape as network input: [N, 1, H, W], one channel. */
Shape idx_images_shape(const Shape *images);
/* IDX images as float32 network input: [N, 1, H, W] scaled to [0, 1] (as
 * torchvision's ToTensor does). */
bool idx_images_to_input(const Array *images, Array *out, char *err, size_t errsz);

#endif
