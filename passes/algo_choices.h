/* The file of --autotune: for each conv shape measured on a machine, the
 * time of every algorithm the target could run it with, and the choice.
 * select-algo reads it (a layer whose shape is listed takes the listed
 * choice, or the fastest measured algorithm within --max-conv-error); the
 * driver measures the shapes it lacks and writes it back, so later compiles
 * reuse the measurements (docs/fast-convolution.md, "Choosing the
 * algorithm").
 *
 * One shape a line, the shape first, then the choice, then the times in
 * milliseconds:
 *
 *   conv f32[1,64,56,56] filters=64 kernel=3x3 stride=1x1 dilation=1x1 \
 *        pad=1,1,1,1 groups=1 threads=2 machine=x86_64+avx512f: winograd/4 | \
 *        im2col=1.914 winograd/2=1.377 winograd/4=1.192
 *
 * (on one line). '#' starts a comment. The shape is compared as text, so a
 * shape measured with other threads or on another machine is measured again. */
#ifndef DNNC_ALGO_CHOICES_H
#define DNNC_ALGO_CHOICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conv_algo.h"
#include "diag.h"
#include "graph.h"

/* The candidates of one layer: more than every (algorithm, tile) pair. */
#define ALGO_CHOICES_MAX_TIMES 16
/* Longer lines than this are not a choices file. */
#define ALGO_CHOICES_MAX_LINE 1024
/* The largest file read: far more shapes than any network has. */
#define ALGO_CHOICES_MAX_FILE ((size_t)16 << 20)

typedef struct AlgoTiming {
    AlgoChoice choice;
    double ms;
} AlgoTiming;

typedef struct AlgoChoiceEntry {
    char *shape;       /* conv_shape_key's text */
    AlgoChoice chosen; /* the fastest when measured; a user may edit it */
    AlgoTiming times[ALGO_CHOICES_MAX_TIMES];
    int n_times;
} AlgoChoiceEntry;

typedef struct AlgoChoices {
    AlgoChoiceEntry *entries;
    int n, cap;
    bool changed; /* entries added since loading: the file needs writing */
    char *text;   /* the file as read: its diagnostics point into it */
} AlgoChoices;

/* Times each of the nc algorithms c on conv n of g, in ms[i], on this
 * machine; false after reporting why through d. */
typedef bool (*AlgoMeasureFn)(void *ctx, const Graph *g, const Node *n, const AlgoChoice *c,
                              int nc, double *ms, Diag *d);

/* What --autotune gives select-algo: the table, which it extends with the
 * shapes it has measured, and how to measure. */
typedef struct AlgoTuning {
    AlgoChoices *choices;
    int threads;         /* the shapes' key: threads the code will run on */
    const char *machine; /* and the machine ("x86_64+avx512f") */
    AlgoMeasureFn measure;
    void *ctx;
} AlgoTuning;

/* The key of conv n of g measured with `threads` threads on `machine`. */
void conv_shape_key(const Graph *g, const Node *n, int threads, const char *machine, char *buf,
                    size_t size);

/* Reads path into c (empty when path does not exist: nothing measured
 * yet). Errors go to d as path:line:col; false on any. */
bool algo_choices_load(const char *path, AlgoChoices *c, Diag *d);
/* The same for text already in memory (name for messages; the fuzzer). */
bool algo_choices_parse(const char *text, size_t len, const char *name, AlgoChoices *c, Diag *d);
/* Writes c whole or not at all; false with a message in err. */
bool algo_choices_save(const AlgoChoices *c, const char *path, char *err, size_t errsz);
void algo_choices_print(const AlgoChoices *c, FILE *out);

/* The entry for shape, or NULL. */
const AlgoChoiceEntry *algo_choices_find(const AlgoChoices *c, const char *shape);
/* Adds shape with its n measured times (n >= 1); the choice is the fastest.
 * False when out of memory. */
bool algo_choices_add(AlgoChoices *c, const char *shape, const AlgoTiming *times, int n);
void algo_choices_free(AlgoChoices *c);

#endif
