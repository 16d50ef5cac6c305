#include "arena.h"
#include "big_alloc.h"
#include "oom.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An arena's first chunk, and the chunks of one that fault-injection tests
 * set with arena_set_min_chunk (which then do not grow). */
#define ARENA_FIRST_CHUNK ((size_t)64 * 1024)
static size_t chunk_min = ARENA_FIRST_CHUNK;
static bool chunks_grow = true;
/* Each new chunk is twice the last, up to this: a graph's weights then
 * share a few large chunks (on huge pages, big_alloc.h) instead of each
 * tensor taking pages of its own. */
#define ARENA_MAX_CHUNK ((size_t)32 << 20)
#define ARENA_ALIGN 16

struct ArenaChunk {
    ArenaChunk *next;
    size_t used, size;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(Arena *a) { a->head = NULL; }

void arena_set_min_chunk(size_t bytes)
{
    chunk_min = bytes ? bytes : 1;
    chunks_grow = chunk_min >= ARENA_FIRST_CHUNK;
}

/* The size of a new chunk for an allocation of `need` bytes: the next in
 * the arena's doubling sequence, or need itself if that is larger. */
static size_t next_chunk_size(const ArenaChunk *head, size_t need)
{
    size_t size = chunk_min;
    if (chunks_grow && head)
        size = head->size >= ARENA_MAX_CHUNK / 2 ? ARENA_MAX_CHUNK : head->size * 2;
    return need > size ? need : size;
}

void arena_free(Arena *a)
{
    ArenaChunk *c = a->head;
    while (c) {
        ArenaChunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* The innermost recovery point of this thread, and what last failed. */
static _Thread_local OomPoint *current;
static _Thread_local size_t failed_bytes;

void oom_push(OomPoint *p)
{
    p->prev = current;
    current = p;
}

size_t oom_failed_bytes(void) { return failed_bytes; }

_Noreturn void oom_rethrow(void) { oom_throw(failed_bytes); }

void oom_pop(OomPoint *p) { current = p->prev; }

_Noreturn void oom_throw(size_t bytes)
{
    OomPoint *p = current;
    if (!p) {
        fprintf(stderr, "dnnc: fatal: out of memory allocating %zu bytes outside any recovery point\n",
                bytes);
        abort();
    }
    current = p->prev;
    failed_bytes = bytes;
    longjmp(p->env, 1);
}

void *arena_alloc(Arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        oom_throw(size);
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    ArenaChunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t chunk = next_chunk_size(c, need);
        /* Zeroed here once (calloc): the arena never hands out memory twice. */
        c = big_calloc(1, sizeof(ArenaChunk) + chunk);
        if (!c)
            oom_throw(size);
        c->used = 0;
        c->size = chunk;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

void *arena_array(Arena *a, size_t count, size_t elem_size)
{
    if (elem_size && count > SIZE_MAX / 2 / elem_size)
        oom_throw(SIZE_MAX);
    return arena_alloc(a, count * elem_size);
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *arena_grow(Arena *a, void *old, size_t count, size_t *cap, size_t elem_size)
{
    size_t new_cap = *cap ? *cap * 2 : 8;
    void *p = arena_array(a, new_cap, elem_size);
    if (old && count)
        memcpy(p, old, count * elem_size);
    *cap = new_cap;
    return p;
}
