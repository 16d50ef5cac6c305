/* Arena allocation: everything a Graph or an AST owns lives in one arena and
 * is freed at once, so passes never track individual lifetimes. */
#ifndef DNNC_ARENA_H
#define DNNC_ARENA_H

#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;

typedef struct Arena {
    ArenaChunk *head;
} Arena;

void arena_init(Arena *a);
/* The smallest chunk an arena asks malloc for (64 KiB). Fault-injection
 * tests make it tiny, so that every arena allocation is a malloc that can
 * fail. */
void arena_set_min_chunk(size_t bytes);
void arena_free(Arena *a);

/* Zeroed, 16-byte aligned memory. When the memory runs out, the failure is
 * thrown to the innermost recovery point (oom.h). */
void *arena_alloc(Arena *a, size_t size);
void *arena_array(Arena *a, size_t count, size_t elem_size);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growable arrays in an arena: old storage is simply abandoned to the arena. */
void *arena_grow(Arena *a, void *old, size_t count, size_t *cap, size_t elem_size);

#define VEC_PUSH(arena, arr, n, cap, item)                                            \
    do {                                                                              \
        if ((size_t)(n) == (cap))                                                     \
            (arr) = arena_grow((arena), (arr), (size_t)(n), &(cap), sizeof(*(arr)));  \
        (arr)[(n)++] = (item);                                                        \
    } while (0)

#endif
