/* The pass interface. A pass is one file with one entry point,
 *   bool pass_NAME(Graph *g, const PassOptions *o, PassReport *r)
 * listed once in passes.def. It rewrites the graph in place through the
 * IR's rewriting functions (ir/graph.h), records every decision in the IR
 * (so that `dnnc dump` shows it and parses back), counts what it changed in
 * r, and returns false only after reporting an error through o->diag,
 * naming the layer and its source line. It leaves removed nodes for the
 * pass manager, which compacts and (when asked) verifies after every pass. */
#ifndef DNNC_PASS_H
#define DNNC_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "graph.h"

struct Target;
struct ArchSet;
struct MapOptions;
struct AlgoTuning;
struct QuantOptions;
struct PruneOptions;

typedef struct PassOptions {
    int opt_level;                 /* 0 to 3 */
    const struct Target *target;   /* whose kernels and capabilities passes consult */
    Diag *diag;                    /* where errors go */
    /* The spatial target's mapping (map-dataflow); NULL elsewhere. */
    const struct ArchSet *arch;
    const struct MapOptions *map;
    /* select-algo: the largest error a fast convolution algorithm may show
     * on a layer, relative to its largest output (--max-conv-error; 0: the
     * default, conv_error.h). */
    double max_conv_error;
    /* select-algo: measured choices (--autotune; algo_choices.h); NULL:
     * the target's cost model alone. */
    const struct AlgoTuning *tuning;
    /* select-algo: run every conv without @algo by this algorithm where
     * it can compute it, as if @algo said so (--conv-algo; tile 0: the
     * layer's default); ALGO_AUTO: choose. */
    ConvAlgo prefer_algo;
    int prefer_tile;
    /* select-sparsity: encode the weights of every conv and fc without
     * @sparse as `sparse` (SPARSE_NONE: dense) where a kernel of the target
     * computes the layer from that encoding, as if @sparse said so
     * (--sparse); false: by each layer's density and the crossovers of the
     * target's registry. */
    bool force_sparse;
    SparseFormat sparse;
    bool sparse_any; /* with force_sparse: whichever encoding a kernel reads */
    /* The threads the code will run on, for select-algo's cost model; 0: 1. */
    int threads;
    /* quantize: the mode and the calibration data (--quantize, --calibrate;
     * quantize.h); NULL: only layers with @precision(i8) are quantised. */
    const struct QuantOptions *quant;
    /* prune: the density to keep (--prune; prune.h); NULL: no pruning. */
    const struct PruneOptions *prune;
} PassOptions;

/* fold-constants keeps results up to this size: past it the stored values
 * cost more than the computation they save. */
#define FOLD_CONSTANTS_MAX_BYTES ((size_t)256 << 20)

#define PASS_MAX_COUNTERS 8

/* What a pass changed, as named counts: "batch norms folded into conv" 53. */
typedef struct PassReport {
    int n;
    struct {
        const char *what; /* a string literal */
        int64_t count;
    } counters[PASS_MAX_COUNTERS];
} PassReport;

/* Adds n to the counter called `what` (a string literal), creating it
 * unless n is 0. */
void pass_count(PassReport *r, const char *what, int64_t n);
/* The sum of all counters: 0 means the pass changed nothing. */
int64_t pass_changes(const PassReport *r);

/* Whether layer n can gain a weight with this suffix: its name "N.suffix"
 * must be free, and a layer of the network may be called so. A pass that
 * would give a layer a bias asks before it changes anything. */
bool pass_param_name_free(const Graph *g, const Node *n, const char *suffix);

/* A name for a layer a pass adds: "base_suffix", or "base_suffix_2", ...
 * whichever is free together with every parameter name a layer may take. */
const char *pass_fresh_name(Graph *g, const char *base, const char *suffix);

typedef enum {
#define PASS(fn, name, level, desc) PASS_ID_##fn,
#include "passes.def"
#undef PASS
    PASS_COUNT
} PassId;

typedef bool (*PassFn)(Graph *g, const PassOptions *o, PassReport *r);

typedef struct PassInfo {
    PassFn run;
    const char *name;
    int min_level;
    const char *description;
} PassInfo;

const PassInfo *pass_info(PassId id);
/* The pass called `name` (as passes.def spells it); false if none is. */
bool pass_from_name(const char *name, PassId *out);

#define PASS(fn, name, level, desc) bool pass_##fn(Graph *g, const PassOptions *o, PassReport *r);
#include "passes.def"
#undef PASS

#endif
