/* Differential testing of the whole compiler (docs/testing.md): random valid
 * networks written as network-language source, run through the reference
 * executor as written (the oracle) and through every other backend at
 * every -O level, and compared element by element with a tolerance that
 * float32 rounding justifies.
 *
 * The library has four parts, shared by the dnnc-difftest program
 * (main.c) and the regression test (tests/test_difftest_regressions.c):
 *   generate.c   a seed -> the source text of a random valid network (the
 *                op generators in gen_*.c, gen_internal.h);
 *   values.c     deterministic weights and inputs for any parsed network;
 *   tolerance.c  the tolerance of every output element (rounding bounds
 *                propagated through the graph by the reference itself);
 *   check.c      every backend at every level against the oracle.
 * Everything a seed determines is computed with integer arithmetic and
 * correctly rounded IEEE operations (+ - * / sqrt), so the same seed gives
 * the same graph, weights and inputs on every machine. */
#ifndef DNNC_DIFFTEST_H
#define DNNC_DIFFTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "array.h"
#include "graph.h"

/* ---- the generator (generate.c) ------------------------------------------ */

/* Size limits of a generated network, so that one runs in milliseconds. */
typedef struct DtLimits {
    int max_layers;    /* layers the generator writes (at least 2) */
    int64_t max_elems; /* elements of any tensor: activations, weights, constants */
    int64_t max_macs;  /* multiply-accumulates of the whole network */
} DtLimits;

extern const DtLimits dt_default_limits;

/* The source text of a random valid network for `seed` (malloc'd). Every
 * layer line ends with its output type as a comment ("# f32[1, 8, 4, 4]"),
 * as `dnnc dump` prints it, which dt_check_types compares with the front
 * end's shape rules. */
char *dt_generate(uint64_t seed, const DtLimits *limits);

/* Parses source text; NULL with the diagnostics in *messages (malloc'd,
 * may be NULL) when it does not compile. */
Graph *dt_parse(const char *name, const char *text, char **messages);

/* Every "name = ...;  # TYPE" line of text against the type the front end
 * gave the layer: false with a description in why when one differs (the
 * generator and the shape rules disagree). */
bool dt_check_types(const Graph *g, const char *text, char *why, size_t size);

/* ---- values (values.c) ---------------------------------------------------- */

/* Binds every parameter of g to deterministic values chosen by op and
 * parameter: uniform weights with variance 1/fan_in, non-zero biases,
 * batch norms far from the identity, constants away from zero (they may be
 * divisors), quantisation scales and zero points that keep the quantised
 * layers in range. Each tensor's values depend only on the seed and its
 * name. */
void dt_fill_weights(Graph *g, uint64_t seed);

/* Allocates and fills one array per graph input (inputs[0 .. n_inputs-1]),
 * in the input's type and shape: f32 uniform in [-2, 2], integers over a
 * range that keeps the quantised layers meaningful, and one element in 64
 * a special value (signed zeros, subnormals, the extremes of i32). */
bool dt_make_inputs(const Graph *g, uint64_t seed, Array *inputs, char *err, size_t errsz);
void dt_free_inputs(const Graph *g, Array *inputs);

/* ---- the tolerance (tolerance.c) ------------------------------------------ */

/* The tolerance of each element of each graph output: tol[i][k] for output
 * i, element k (absolute, in the output's unit; 0 means exactly equal).
 * `oracle` receives the reference's results for the graph as written. */
typedef struct DtTolerance {
    int n_outputs;
    double **tol;
    Array *oracle; /* the reference executor's outputs, in each output's type */
    double max_abs; /* the largest |value| of any tensor of the graph */
    bool finite;    /* every tensor of the graph is finite */
} DtTolerance;

/* False with a reason when the graph cannot be compared: an input of the
 * wrong shape, a quantize reading a value that carries rounding error (its
 * result could legitimately differ by a step, and every integer layer
 * after it by more: the generator never writes one). */
bool dt_tolerance(const Graph *g, const Array *inputs, DtTolerance *t, char *err, size_t errsz);
void dt_tolerance_free(DtTolerance *t);

/* ---- the comparison (check.c) --------------------------------------------- */

typedef struct DtCheckOptions {
    /* Levels at which object code is linked into a shared library and run,
     * a bit per -O level (bit 0: -O0); the JIT runs at every level. */
    unsigned object_levels;
    FILE *log;     /* --verbose: one line per backend and level; NULL: quiet */
} DtCheckOptions;

typedef enum {
    DT_PASS,      /* every backend at every level within the tolerance */
    DT_MISMATCH,  /* an output outside the tolerance */
    DT_ERROR,     /* a pipeline, compilation or run failed, or a dump did not parse back */
    DT_DISCARDED, /* not comparable: values beyond float range (counted, never silent) */
} DtStatus;

typedef struct DtOutcome {
    DtStatus status;
    int runs;            /* backend runs compared */
    char where[64];      /* the first failing backend: "cpu -O2", "dump of reference -O3", ... */
    char report[6144];   /* what failed, with the worst element */
    double worst_ratio;  /* the largest |difference| / tolerance of any compared element */
    double tolerance_scale; /* the largest tolerance / max|oracle| of the outputs */
} DtOutcome;

/* Runs g (as written, weights bound) and its inputs through every backend
 * at every level and compares with the reference as written. */
DtStatus dt_check(const Graph *g, const Array *inputs, const DtCheckOptions *o, DtOutcome *out);

/* The whole check of one source text with values from `seed`: parses it,
 * checks the generator's types, fills weights and inputs, and runs
 * dt_check. */
DtStatus dt_check_source(const char *name, const char *text, uint64_t seed, const DtCheckOptions *o,
                         DtOutcome *out);

/* A saved or hand-written case (a regression test): PATH (FILE.dnn) with
 * the values next to it, FILE.safetensors and FILE.INPUT.npy for each
 * input, when they exist; otherwise generated from the seed named by the
 * source's line "# dnnc-difftest seed N" (1 without one). */
DtStatus dt_check_file(const char *path, const DtCheckOptions *o, DtOutcome *out);

/* The N of a "# dnnc-difftest seed N" line of text, or `fallback`. */
uint64_t dt_seed_of(const char *text, uint64_t fallback);

/* Writes DIR/BASE.dnn, DIR/BASE.safetensors and DIR/BASE.INPUT.npy (one per
 * input) for text with values from `seed`; false with a reason. */
bool dt_save(const char *dir, const char *base, const char *text, uint64_t seed, char *err,
             size_t errsz);

#endif
