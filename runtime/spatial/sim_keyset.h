/* A set of word numbers for counting the distinct words of one step: open
 * addressing, slots emptied by bumping a generation rather than clearing,
 * so that a step costs what its PEs need, not what the set holds. */
#ifndef DNNC_SIM_KEYSET_H
#define DNNC_SIM_KEYSET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct KeySet {
    int64_t *key;
    uint32_t *gen;
    uint32_t now;
    uint64_t mask;
} KeySet;

/* Room for n keys per step; false when memory runs out. */
bool keyset_init(KeySet *k, int64_t n);
void keyset_free(KeySet *k);
/* Empties the set. */
void keyset_clear(KeySet *k);
/* Adds key; true if it was not there. */
bool keyset_add(KeySet *k, int64_t key);

#endif
