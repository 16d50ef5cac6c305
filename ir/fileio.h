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

/* A file mapped read-only, and its descriptor for reading parts of it
 * without touching the mapping (mapped_file_read). */
typedef struct MappedFile {
    const unsigned char *bytes; /* NULL for an empty file */
    size_t len;
    int fd;
} MappedFile;

/* Maps all of path (at most max bytes). */
bool mapped_file_open(MappedFile *f, const char *path, size_t max, char *err, size_t errsz);
/* Copies len bytes from offset into dst through the descriptor: the page
 * cache copies them, and the mapping's pages stay untouched (they would
 * count in the process's memory as well as dst). */
bool mapped_file_read(const MappedFile *f, size_t offset, void *dst, size_t len);
void mapped_file_close(MappedFile *f);

#endif
