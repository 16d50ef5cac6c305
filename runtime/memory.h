/* How much memory dnnc may use, and what a graph needs: weights are
 * checked before they are bound, a target's buffers before it compiles or
 * runs, so that a network too large for the machine is an error naming the
 * layer and the bytes instead of a failed allocation deep inside. */
#ifndef DNNC_MEMORY_H
#define DNNC_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* The memory the system can give now (MemAvailable of /proc/meminfo, or
 * the free physical pages), in bytes; SIZE_MAX if it cannot tell. */
size_t memory_available(void);

/* "123 bytes", "4.0 KiB", "37.3 GiB", for messages. */
void memory_format(uint64_t bytes, char *buf, size_t size);

/* "4G", "512M", "64K" or a number of bytes; false if it is none of those. */
bool memory_parse(const char *text, uint64_t *out);

/* What a graph asks for, and the layer that asks the most. */
typedef struct MemoryNeed {
    uint64_t bytes;
    uint64_t largest;    /* bytes of the largest contributor */
    const char *layer;   /* its name (the graph's storage) */
} MemoryNeed;

/* The bytes of every parameter of g, bound or not. */
MemoryNeed memory_weights(const Graph *g);
/* The bytes of every activation of g: what the reference executor holds at
 * once, and a bound on any planned workspace. */
MemoryNeed memory_activations(const Graph *g);

#endif
