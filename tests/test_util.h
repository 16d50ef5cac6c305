/* Helpers shared by the cmocka tests: parse source held in a string and
 * capture every diagnostic as text, so tests can assert on messages and
 * positions exactly as a user sees them. */
#ifndef DNNC_TEST_UTIL_H
#define DNNC_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "frontend.h"
#include "graph.h"

typedef struct Parsed {
    Source src;
    Graph *graph;    /* NULL when errors were reported */
    char *messages;  /* everything written to the diagnostics stream */
    int errors, warnings;
} Parsed;

/* Parses `text` as if it were the file `name`. */
void parse_text(Parsed *p, const char *name, const char *text);
void parse_file(Parsed *p, const char *path);
void parsed_free(Parsed *p);

/* Prints the graph as source into a malloc'd string. */
char *graph_to_text(const Graph *g);

/* Reads a whole file; fails the test if it cannot. */
char *read_file_or_fail(const char *path, size_t *len);

/* Fails unless `haystack` contains `needle`, showing both. */
#define assert_contains(haystack, needle) assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);

#endif
