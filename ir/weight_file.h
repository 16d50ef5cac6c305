/* A graph's weights kept in a file on disk rather than in anonymous
 * memory, so that compiling a model needs memory for the weights it is
 * working on, not for all of them at once (issue 11: compile-time memory).
 *
 * The file has no name (O_TMPFILE: nothing is left behind, whatever ends
 * the process) and is mapped shared: tensors point into the mapping and are
 * read and written as any memory. Its pages are the page cache's, which the
 * kernel can write back and drop under pressure; weight_file_release drops
 * them from the process at once when the compiler is done with a tensor.
 * That is always safe: the bytes stay in the file and come back on the next
 * read. */
#ifndef DNNC_WEIGHT_FILE_H
#define DNNC_WEIGHT_FILE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct WeightFile WeightFile;

/* An unnamed file of len bytes in dir, its disk blocks allocated (so that
 * no write through the mapping can fail later for want of room), mapped
 * for reading and writing. NULL, with the reason in err, when dir is on a
 * memory file system (tmpfs, ramfs: a file there is memory, and keeping
 * the weights in it would only hide them from the process's size), cannot
 * hold an unnamed file, or has no room for len bytes. */
WeightFile *weight_file_create(const char *dir, size_t len, char *err, size_t errsz);

/* The mapping's first byte (len bytes; 64-byte and page aligned). */
unsigned char *weight_file_bytes(const WeightFile *f);

/* Whether p points into the mapping. */
bool weight_file_holds(const WeightFile *f, const void *p);

/* Copies len bytes at offset of the open file fd to byte `at` of f, and
 * len bytes of src to byte `at`, through the page cache: the mapping's
 * pages are not touched, so the copy costs the process no memory. False
 * when the bytes do not fit in f, or fd cannot be read there (a file
 * shorter than offset + len) or f cannot be written: some of the bytes may
 * then have been copied. */
bool weight_file_copy_in(WeightFile *f, size_t at, int fd, size_t offset, size_t len);
bool weight_file_write(WeightFile *f, size_t at, const void *src, size_t len);

/* Takes the pages holding [p, p + len) (clipped to the mapping) out of the
 * process's memory; the next read of them brings the bytes back. */
void weight_file_release(const WeightFile *f, const void *p, size_t len);

/* Maps the pages of [p, p + len) for writing in one call, before a caller
 * rewrites them in place: a fault per page is dear on a virtual machine
 * (fold-batchnorm on ResNet-50's 92 MB: 366 ms that way, 125 ms with this;
 * 10 ms in anonymous memory on huge pages). */
void weight_file_prepare_write(const WeightFile *f, void *p, size_t len);

void weight_file_free(WeightFile *f);

#endif
