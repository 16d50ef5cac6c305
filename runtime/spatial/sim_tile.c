/* Tiles in the global buffer: storage over a footprint's intervals. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "sim_state.h"

/* Cells a tile's storage needs; INT64_MAX when that does not fit. */
static int64_t span_words(const SimBox *b)
{
    int64_t words = 1;
    for (int i = 0; i < 4; i++)
        if (__builtin_mul_overflow(words, b->a[i].span > 0 ? b->a[i].span : 0, &words))
            return INT64_MAX;
    return words;
}

bool sim_tile_resize(SimTile *t, const SimBox *b, char *err, size_t errsz)
{
    int64_t need = span_words(b);
    if ((uint64_t)need > SIZE_MAX / sizeof *t->data) {
        snprintf(err, errsz, "a buffer tile of %lld words cannot be addressed", (long long)need);
        return false;
    }
    if (need > t->cap) {
        int64_t *p = realloc(t->data, (size_t)need * sizeof *p);
        if (!p) {
            snprintf(err, errsz, "out of memory for a buffer tile of %lld words", (long long)need);
            return false;
        }
        t->data = p;
        t->cap = need;
    }
    t->box = *b;
    t->valid = true;
    return true;
}

int64_t sim_tile_index(const SimTile *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
    const SimAxis *a = t->box.a;
    int64_t r0 = i0 - a[0].lo, r1 = i1 - a[1].lo, r2 = i2 - a[2].lo, r3 = i3 - a[3].lo;
    if (r0 < 0 || r0 >= a[0].span || r1 < 0 || r1 >= a[1].span || r2 < 0 || r2 >= a[2].span ||
        r3 < 0 || r3 >= a[3].span)
        return -1;
    return ((r0 * a[1].span + r1) * a[2].span + r2) * a[3].span + r3;
}

void sim_tile_free(SimTile *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

int64_t sim_buffer_words(const SimMachine *s)
{
    int64_t words = 0;
    for (int t = 0; t < SIM_TYPES; t++)
        if (s->glb[t].valid)
            words += sim_box_words(&s->glb[t].box);
    return words;
}
