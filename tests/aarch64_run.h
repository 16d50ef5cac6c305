/* A graph compiled for AArch64 and run under qemu: the check of
 * cpu_examples (float networks) and test_cpu_qgemm (int8 layers). The
 * -O3 code, weights embedded, is linked statically with
 * tests/aarch64_driver.c by Debian's aarch64-linux-gnu-gcc and run by
 * qemu-aarch64-static; missing tools fail the test (tools/bootstrap.sh
 * installs them). */
#ifndef DNNC_TESTS_AARCH64_RUN_H
#define DNNC_TESTS_AARCH64_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

typedef struct Aarch64Run {
    const char *features; /* the target's, as --features ("" for plain AArch64) */
    const char *qemu_cpu; /* qemu's -cpu (NULL: its default) */
    bool split;           /* also run every parallel range one unit long: same bits */
} Aarch64Run;

/* Compiles g (its pipeline already run) for aarch64-linux-gnu with r's
 * features, runs it on `input` (its inputs' bytes one after the other) and
 * writes output 0's out_bytes bytes to `output`; fails the test if any step
 * fails. */
void aarch64_run(const Graph *g, const Aarch64Run *r, const void *input, size_t in_bytes, void *output,
                 size_t out_bytes);

#endif
