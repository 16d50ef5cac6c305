/* Evicting memory from every level of the CPU's caches, so that the next
 * read of it comes from memory: --autotune times each candidate with its
 * weights there, as a network whose weights outgrow the last-level cache
 * runs its layers (docs/fast-convolution.md, "--autotune"). */
#ifndef DNNC_CACHE_EVICT_H
#define DNNC_CACHE_EVICT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether this machine's build can evict (x86-64 and AArch64 can). */
bool cache_evict_supported(void);
/* Writes back and evicts the cache lines of [p, p + bytes) from every
 * cache level of every core, and waits until they are gone. */
void cache_evict(const void *p, size_t bytes);

#endif
