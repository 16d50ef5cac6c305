/* Reading a tensor from whichever file format holds it. */
#ifndef DNNC_TENSOR_FILE_H
#define DNNC_TENSOR_FILE_H

#include "array.h"

typedef enum { TENSOR_FILE_NPY, TENSOR_FILE_IDX } TensorFileFormat;

/* A .npy file by its name or its magic; an IDX file (gzip-compressed or
 * not) otherwise. *format says which it was. */
bool tensor_file_read(const char *path, Array *out, TensorFileFormat *format, char *err,
                      size_t errsz);

#endif
