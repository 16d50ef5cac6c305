/* libFuzzer target: every network the front end accepts must go through the
 * pass pipeline of each target at -O3 without a crash, leak or sanitizer
 * report, satisfy the verifier after every pass, and print as source that
 * parses back to a graph that prints the same (a dump is a compiler input).
 * Weights are not bound: the passes rewrite structure alone, and random
 * weights for a fuzzed network could ask for any amount of memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "pipeline.h"
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print_to_string(const Graph *g, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    graph_print(g, f);
    fclose(f);
    return text;
}

/* The optimised graph's dump parses back and prints the same. */
static void check_round_trip(const Graph *g)
{
    size_t len;
    char *text = print_to_string(g, &len);
    Source src;
    if (!source_from_buffer("dump.dnn", text, len, &src))
        abort();
    Diag d;
    diag_init(&d, NULL);
    Graph *again = frontend_parse(&src, &d);
    if (!again)
        abort(); /* a dump that does not parse back */
    size_t len2;
    char *text2 = print_to_string(again, &len2);
    if (len != len2 || memcmp(text, text2, len) != 0)
        abort(); /* a dump that parses to another graph */
    free(text2);
    graph_free(again);
    source_free(&src);
    free(text);
}

static void compile_for(const Graph *g, const char *target)
{
    Graph *copy = graph_clone(g);
    if (!copy)
        return;
    Diag d;
    diag_init(&d, NULL);
    PipelineOptions po = {.opt_level = 3, .verify_each = true};
    PassOptions o = {.opt_level = 3, .target = target_find(target), .diag = &d};
    /* Errors (an annotation a target cannot honour, a layer that fits no
     * mapping) are fine; a graph that passed must print and parse back. */
    if (pipeline_run(copy, &o, &po))
        check_round_trip(copy);
    graph_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Source src;
    if (!source_from_buffer("fuzz.dnn", (const char *)data, size, &src))
        return 0;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = frontend_parse(&src, &d);
    if (g) {
        compile_for(g, "reference");
        compile_for(g, "cpu");
    }
    graph_free(g);
    source_free(&src);
    return 0;
}
