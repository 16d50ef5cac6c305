/* The front end: network-language source to a verified Graph. */
#ifndef DNNC_FRONTEND_H
#define DNNC_FRONTEND_H

#include <stddef.h>

#include "diag.h"
#include "graph.h"

/* Source text kept alive for as long as diagnostics may quote it. */
typedef struct Source {
    char *path;
    char *text;
    size_t len;
} Source;

/* The largest source file dnnc reads. */
#define DNNC_MAX_SOURCE_BYTES ((size_t)64 << 20)

bool source_read(const char *path, Source *src, Diag *d);
/* False (and src empty) when out of memory. */
bool source_from_buffer(const char *name, const char *text, size_t len, Source *src);
void source_free(Source *src);

/* Parses, expands blocks, resolves names, orders and shape-checks the
 * layers. Returns NULL after reporting every error it found to d. */
Graph *frontend_parse(const Source *src, Diag *d);

#endif
