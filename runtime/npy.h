/* NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, with dtypes
 * float32, int8, uint8 and int32, little-endian. */
#ifndef DNNC_NPY_H
#define DNNC_NPY_H

#include "array.h"

bool npy_read(const char *path, Array *out, char *err, size_t errsz);
/* Parses an in-memory .npy image (the fuzz target and tests use this). */
bool npy_parse(const unsigned char *bytes, size_t len, Array *out, char *err, size_t errsz);
/* Writes atomically: no partial file on failure. */
bool npy_write(const char *path, const Array *a, char *err, size_t errsz);

#endif
