/* The per-step word set (sim_keyset.h). */
#include "sim_keyset.h"

#include <stdlib.h>
#include <string.h>

bool keyset_init(KeySet *k, int64_t n)
{
    uint64_t size = 64;
    while (size < 4 * (uint64_t)n)
        size *= 2;
    k->key = malloc(size * sizeof *k->key);
    k->gen = calloc(size, sizeof *k->gen);
    k->now = 0;
    k->mask = size - 1;
    return k->key && k->gen;
}

void keyset_free(KeySet *k)
{
    free(k->key);
    free(k->gen);
}

void keyset_clear(KeySet *k)
{
    if (++k->now == 0) { /* the generation wrapped: clear for real */
        memset(k->gen, 0, (k->mask + 1) * sizeof *k->gen);
        k->now = 1;
    }
}

bool keyset_add(KeySet *k, int64_t key)
{
    uint64_t h = ((uint64_t)key * 0x9e3779b97f4a7c15u) >> 20 & k->mask;
    while (k->gen[h] == k->now) {
        if (k->key[h] == key)
            return false;
        h = (h + 1) & k->mask;
    }
    k->gen[h] = k->now;
    k->key[h] = key;
    return true;
}

