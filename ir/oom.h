/* Running out of memory inside an arena.
 *
 * Growing a graph or a syntax tree allocates in many small steps, deep in
 * code (the parser's actions, shape rules, name tables) that has no error
 * path of its own, and whose partial work is useless once one step fails.
 * So an arena that cannot get memory throws, as Lua does: it longjmps to
 * the innermost recovery point. Each entry point that builds or rewrites an
 * arena-backed structure (frontend_parse, onnx_import_bytes, pipeline_run,
 * the weight binders, graph_clone) opens one, frees what it owns when the
 * throw lands there, and returns an ordinary error. Code between a recovery
 * point and a throw keeps its temporaries in the arena, or opens a point of
 * its own that frees them and rethrows.
 *
 *   OomPoint oom;
 *   oom_push(&oom);
 *   if (setjmp(oom.env)) {        // landed: oom is already popped
 *       free what this function owns;
 *       report "out of memory" (oom_failed_bytes()) and return an error;
 *   }
 *   ... work ...
 *   oom_pop(&oom);
 *
 * Locals changed after setjmp and read after a throw lands must be
 * volatile (C17 7.13.2.1). */
#ifndef DNNC_OOM_H
#define DNNC_OOM_H

#include <setjmp.h>
#include <stddef.h>

typedef struct OomPoint {
    jmp_buf env;
    struct OomPoint *prev;
} OomPoint;

void oom_push(OomPoint *p);
void oom_pop(OomPoint *p);
/* The size of the allocation whose failure was last thrown. */
size_t oom_failed_bytes(void);
/* Throws to the innermost point; without one, prints a fatal error and
 * aborts (an entry point without a recovery point is a bug). */
_Noreturn void oom_throw(size_t bytes);
/* Throws the failure that just landed on to the next point out, after a
 * point that only frees what it holds. */
_Noreturn void oom_rethrow(void);

#endif
