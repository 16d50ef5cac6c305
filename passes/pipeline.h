/* The pass manager: each target's pipeline (pipeline.c), the options that
 * change it (-O, --passes, --disable-pass) and the instruments around it
 * (--print-before/after, --verify-each, --pass-stats). */
#ifndef DNNC_PIPELINE_H
#define DNNC_PIPELINE_H

#include <stdbool.h>
#include <stdio.h>

#include "pass.h"

#define PIPELINE_MAX 64

typedef struct PipelineOptions {
    int opt_level;                      /* -O0 .. -O3 */
    bool custom;                        /* --passes given: run `only` instead of the -O passes */
    PassId only[PIPELINE_MAX];
    int n_only;
    bool disabled[PASS_COUNT];          /* --disable-pass */
    bool print_before[PASS_COUNT];      /* --print-before */
    bool print_after[PASS_COUNT];       /* --print-after */
    bool print_after_all;               /* --print-after-all */
    bool verify_each;                   /* --verify-each (always on in debug builds) */
    bool stats;                         /* --pass-stats */
    FILE *log;                          /* where prints and statistics go; NULL: stderr */
} PipelineOptions;

/* The passes target `target` runs at opt_level, in order, with --passes
 * and --disable-pass applied. False with a message in err when the options
 * contradict the target's pipeline (a required pass disabled or listed, a
 * target without a pipeline). */
bool pipeline_plan(const char *target, const PipelineOptions *p, PassId *out, int *n, char *err,
                   size_t errsz);

/* Runs the plan on g: compacts after every pass, verifies when asked, prints
 * and counts as asked. False after reporting an error through o->diag; the
 * graph may then be half rewritten (out of memory in a pass), and the
 * caller discards it. */
bool pipeline_run(Graph *g, const PassOptions *o, const PipelineOptions *p);

/* "a,b,c" -> pass ids; false with a message naming the unknown pass. */
bool pipeline_parse_list(const char *csv, PassId *out, int *n, int max, char *err, size_t errsz);

/* Every pass with its level and description, for `dnnc passes`; with the
 * targets that run it. */
void pipeline_describe(FILE *out);

#endif
