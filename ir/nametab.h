/* A string -> int map in an arena: open addressing, kept at most half full. */
#ifndef DNNC_NAMETAB_H
#define DNNC_NAMETAB_H

#include <stddef.h>

#include "arena.h"

typedef struct NameTable {
    const char **keys;
    int *values;
    size_t cap, count;
} NameTable;

/* The value stored for key, or -1. */
int nametab_get(const NameTable *t, const char *key);
/* Stores key -> value (the key is not copied); replaces an existing value. */
void nametab_put(Arena *a, NameTable *t, const char *key, int value);

#endif
