/* Large buffers (model files, weights) on transparent huge pages. */
#ifndef DNNC_BIG_ALLOC_H
#define DNNC_BIG_ALLOC_H

#include <stddef.h>

/* Buffers from this size on are advised onto huge pages. */
#define BIG_ALLOC_MIN ((size_t)4 << 20)

/* malloc and calloc, and for BIG_ALLOC_MIN bytes or more the advice to
 * back the buffer with transparent huge pages; freed with free(). */
void *big_malloc(size_t size);
void *big_calloc(size_t count, size_t size);

#endif
