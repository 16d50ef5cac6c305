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

/* Maps all of path (at most max bytes) privately and writably: the pages
 * come from the file as they are read, and writes stay in this process
 * (copy on write). An empty file gives *bytes NULL and *len 0. Release with
 * unmap_whole_file. */
bool map_whole_file(const char *path, size_t max, unsigned char **bytes, size_t *len, char *err, size_t errsz);
void unmap_whole_file(unsigned char *bytes, size_t len);

#endif
