/* Each target's pipeline, top to bottom. The -O level picks the
 * optimisation passes whose minimum level (passes.def) it reaches; the
 * level-0 passes at the end are the target's lowering and run at every
 * level. --passes replaces the optimisation passes, --disable-pass removes
 * one (manager.c). */
#include "pipeline_table.h"

#define P(fn) PASS_ID_##fn

/* The oracle runs the optimised graph too: that is how every rewrite is
 * checked against the graph as written. */
static const PassId reference[] = {
    P(prune),              /* every level: on the weights as written */
    P(fold_constants),     /* -O1 */
    P(eliminate_identity), /* -O1 */
    P(fold_batchnorm),     /* -O1 */
    P(fuse_qdq),           /* -O2: before fuse-epilogue takes a relu the quantize absorbs */
    P(quantize),           /* every level: calibrates on the float graph, batch norms folded */
    P(fuse_epilogue),      /* -O2 */
    P(eliminate_dead),     /* -O1 */
    P(select_precision),   /* every level */
    P(select_sparsity),    /* every level */
    P(select_algo),        /* every level */
    P(plan_memory),        /* every level: checks a given @offset */
};

static const PassId cpu[] = {
    P(prune),              /* every level */
    P(fold_constants),     /* -O1 */
    P(eliminate_identity), /* -O1 */
    P(fold_batchnorm),     /* -O1 */
    P(fuse_qdq),           /* -O2 */
    P(quantize),           /* every level */
    P(fuse_epilogue),      /* -O2 */
    P(eliminate_dead),     /* -O1 */
    P(select_precision),   /* every level */
    P(select_sparsity),    /* every level */
    P(select_layout),      /* every level: blocked layouts from -O2, @layout always */
    P(select_algo),        /* every level: code generation needs every conv's kernel */
    P(plan_memory),        /* every level: code generation reads every output's place */
};

static const PassId spatial[] = {
    P(prune),              /* every level */
    P(fold_constants),     /* -O1 */
    P(eliminate_identity), /* -O1 */
    P(fold_batchnorm),     /* -O1 */
    P(quantize),           /* every level: the array computes in fixed16 (--quantize fixed16) */
    P(fuse_epilogue),      /* -O2: the PE array applies ReLU before writing back */
    P(eliminate_dead),     /* -O1 */
    P(select_precision),   /* every level */
    P(select_sparsity),    /* every level */
    P(select_algo),        /* every level */
    P(map_dataflow),       /* every level */
    P(plan_memory),        /* every level: checks a given @offset */
};

#define PIPELINE(target, list) {target, list, (int)(sizeof list / sizeof *list)}

const TargetPipeline target_pipelines[] = {
    PIPELINE("reference", reference),
    PIPELINE("cpu", cpu),
    PIPELINE("spatial", spatial),
};
const int n_target_pipelines = (int)(sizeof target_pipelines / sizeof *target_pipelines);
