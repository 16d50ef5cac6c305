/* Reading whole files whose size is bounded before anything is allocated. */
#ifndef DNNC_FILEIO_H
#define DNNC_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/* The largest tensor or weights file dnnc reads: 16 GiB. */
#define DNNC_MAX_TENSOR_FILE ((size_t)16 << 30)

/* Reads all of path (at most max bytes) into a malloc'd buffer. */
bool read_whole_file(const char *path, size_t max, unsigned char **bytes, size_t *len, char *err,
                     size_t errsz);

#endif
