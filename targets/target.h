/* A target is a row of one table (targets.c): its name, which layers it can
 * run, its kernel registry, and the functions that compile a graph for it,
 * run the result and write it out. The pass pipeline of each target is in
 * passes/pipeline.c under the target's name. `--target` is looked up here
 * once; nothing else in dnnc asks which target it is compiling for. */
#ifndef DNNC_TARGET_H
#define DNNC_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conv_algo.h"
#include "diag.h"
#include "graph.h"
#include "memory.h"
#include "registry.h"

typedef enum { TARGET_EMIT_OBJ, TARGET_EMIT_ASM, TARGET_EMIT_LLVM } TargetEmitKind;

/* What compile, run and emit take from the command line. */
typedef struct TargetOptions {
    const char *name;     /* emit: symbol prefix (a C identifier) */
    const char *triple;   /* NULL: this machine */
    const char *cpu;      /* NULL: this machine's (or generic when cross-compiling) */
    const char *features; /* NULL: this machine's (or none when cross-compiling) */
    int opt_level;        /* 0 to 3 */
    bool pic;             /* position-independent code */
    bool embed_weights;   /* weights inside the object */
    bool for_emit;        /* compile for emit (object code) rather than for run (JIT) */
    TargetEmitKind emit;
    int threads;          /* run: threads, 1 = the calling thread only */
    bool profile;         /* run: record per-layer times (target_profile) */
    const struct ArchSet *arch; /* spatial: the machine (NULL: the built-in eyeriss) */
    /* run: called now and then while a long run goes on (done of total
     * units of the target's choosing), e.g. to draw a progress bar; NULL: none. */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} TargetOptions;

/* A graph compiled for a target: the graph (which must outlive it) and
 * what the target made of it. */
typedef struct TargetProgram {
    const struct Target *target;
    const Graph *graph;
    void *state; /* the target's own */
} TargetProgram;

typedef struct Target {
    const char *name;
    const char *summary;          /* one line for --help */
    int default_opt_level;        /* -O when none is given */
    /* The kernel registry: which (op, algorithm, element types, ISA)
     * the target has code for; select-algo chooses among these rows. */
    const KernelRow *(*registry)(int *count);
    /* The cost model of the target's convolution kernels: the estimated
     * time of conv n of g run by c on `threads` threads (in the target's
     * own unit: cycles for the cpu), by which select-algo ranks the
     * algorithms its registry has for the layer. NULL: the registry's
     * first row that applies. */
    double (*conv_cost)(const Graph *g, const Node *n, AlgoChoice c, int threads);
    /* Code generation needs each conv's algorithm recorded in the IR (the
     * reference computes every algorithm as the same plain loops and only
     * checks that a forced one is among its rows). */
    bool binds_kernels;
    /* Its code keeps activations in one workspace, at the places the IR
     * records (@offset): plan-memory places them. The others keep every
     * tensor apart, and the pass only checks a placement given to them. */
    bool plans_workspace;
    bool threads;                 /* run can spread layers over worker threads */
    /* Whether layer n can run here; if not, why (a short phrase). */
    bool (*supports)(const Graph *g, const Node *n, char *why, size_t whysz);
    /* What compile and run allocate beyond the graph's own weights (an
     * upper bound), checked against the memory dnnc may use first. */
    MemoryNeed (*memory)(const Graph *g);
    /* NULL where the target cannot do that (yet): the driver says so. */
    TargetProgram *(*compile)(const Graph *g, const TargetOptions *o, char *err, size_t errsz);
    bool (*run)(TargetProgram *p, const void *const *inputs, void *const *outputs, char *err,
                size_t errsz);
    /* Writes the program next to `base` (base.o, base.h, base.weights, ...)
     * and prints what it wrote. */
    bool (*emit)(TargetProgram *p, const char *base, char *err, size_t errsz);
    /* Prints what the runs of p measured, per sample over `samples`
     * (dnnc run --counts: the spatial simulator's counts per layer); NULL
     * where a target measures nothing. */
    void (*report)(const TargetProgram *p, int64_t samples, FILE *out);
    void (*release)(TargetProgram *p);
} Target;

/* The targets, in the order --help lists them: target_at(0) up to
 * target_at(target_count() - 1). */
int target_count(void);
const Target *target_at(int i);
/* The target called name, or NULL. */
const Target *target_find(const char *name);
/* "reference, cpu or spatial", for messages. */
const char *target_names(void);

/* Reports every layer of g that t cannot run, naming the layer, its source
 * line and its op; true if there is none. */
bool target_check_graph(const Target *t, const Graph *g, Diag *d);

#endif
