/* The keys of an architecture description file: one table row per field of
 * SpatialArch, with its kind, range and documentation. The parser, the
 * printer and docs/accelerator.md all follow this table. */
#ifndef DNNC_SPATIAL_ARCH_KEYS_H
#define DNNC_SPATIAL_ARCH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "arch.h"

typedef enum {
    KEY_NAME,  /* identifier: letters, digits, '_', '-', '.' */
    KEY_INT,   /* decimal integer */
    KEY_BYTES, /* integer with an optional unit: B, KB/KiB (1024), MB/MiB */
    KEY_REAL,  /* decimal number */
    KEY_BOOL,  /* on/off, true/false, yes/no */
    KEY_NOC,   /* multicast | broadcast */
    KEY_PRECISIONS, /* any, or a list of integer bits and f32: "8, 16, f32" */
} ArchKeyKind;

typedef struct ArchKey {
    const char *key;
    ArchKeyKind kind;
    size_t offset; /* into SpatialArch */
    double min, max;
    const char *doc;
} ArchKey;

extern const ArchKey arch_keys[];
extern const int arch_n_keys;

const ArchKey *arch_key_find(const char *key);

/* Parses `text` as the key's value and stores it into a; on failure writes
 * the reason to err and leaves a unchanged. */
bool arch_key_set(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz);
/* Writes the key's value in a form arch_key_set reads back. */
void arch_key_format(const ArchKey *k, const SpatialArch *a, char *buf, size_t size);

#endif
