#include "nametab.h"

#include <string.h>

/* FNV-1a: names are short and this is not exposed to adversarial timing. */
static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static size_t find_slot(const NameTable *t, const char *key)
{
    size_t mask = t->cap - 1;
    size_t i = hash_name(key) & mask;
    while (t->keys[i] && strcmp(t->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

int nametab_get(const NameTable *t, const char *key)
{
    if (!t->cap)
        return -1;
    size_t i = find_slot(t, key);
    return t->keys[i] ? t->values[i] : -1;
}

static void grow(Arena *a, NameTable *t)
{
    NameTable old = *t;
    t->cap = old.cap ? old.cap * 2 : 64;
    t->keys = arena_array(a, t->cap, sizeof *t->keys);
    t->values = arena_array(a, t->cap, sizeof *t->values);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) {
            size_t s = find_slot(t, old.keys[i]);
            t->keys[s] = old.keys[i];
            t->values[s] = old.values[i];
        }
}

void nametab_put(Arena *a, NameTable *t, const char *key, int value)
{
    if ((t->count + 1) * 2 > t->cap)
        grow(a, t);
    size_t s = find_slot(t, key);
    if (!t->keys[s]) {
        t->keys[s] = key;
        t->count++;
    }
    t->values[s] = value;
}
