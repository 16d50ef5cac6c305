/* A model as every command takes it: read from network source or ONNX, its
 * weights bound as the model options say, then put through the target's
 * pass pipeline as the pipeline options say. Every command that takes a
 * model goes through model_prepare (or, when it must look at the graph
 * before the passes, model_load and model_optimize), so -O, --passes and
 * --print-after mean the same everywhere. */
#ifndef DNNC_MODEL_H
#define DNNC_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "frontend.h"
#include "graph.h"
#include "options.h"
#include "pipeline.h"
#include "prune.h"
#include "quantize.h"
#include "target.h"

struct ArchSet;
struct MapOptions;

/* ---- model options: --weights, --random-weights (model.c) ---- */

typedef struct ModelArgs {
    uint64_t max_memory; /* --max-memory; 0: the memory available now */
    const char *weights; /* safetensors file */
    bool random;         /* --random-weights SEED */
    uint64_t seed;
    /* Not an option: where a command that writes files keeps an ONNX
     * model's weights while it works (OnnxImportOptions.weights_dir); NULL:
     * in memory. */
    const char *weights_dir;
} ModelArgs;

extern const Option model_options[];

/* ---- pipeline options: --target, -O, --passes, ... (pipeline_args.c) ---- */

typedef struct PipelineArgs {
    const Target *target;    /* --target; the command's default after model_command_parse */
    bool opt_given;          /* -O given; else model_command_parse sets passes.opt_level */
    PipelineOptions passes;  /* -O, --passes, --disable-pass, --print-*, --verify-each, --pass-stats */
    /* The spatial target's machine and mapping options (dnnc map); NULL:
     * the defaults. */
    const struct ArchSet *arch;
    const struct MapOptions *map;
    double max_conv_error;   /* --max-conv-error; 0: the default */
    const char *autotune;    /* --autotune FILE */
    AlgoChoice conv_algo;    /* --conv-algo; ALGO_AUTO: not given */
    bool sparse_given;       /* --sparse other than auto: every conv and fc in `sparse` */
    SparseFormat sparse;
    bool sparse_any;         /* --sparse any */
    /* The threads the compiled code will run on, for --autotune's
     * measurements: run's and bench's --threads; 0: this machine's cores. */
    int threads;
    /* --quantize MODE and the options that shape it (the calibration data
     * itself is read when the model is: --calibrate FILE). */
    QuantOptions quant;
    const char *calibrate;     /* --calibrate FILE */
    int64_t calibrate_samples; /* --calibrate-samples N; 0: all */
    PruneOptions prune;        /* --prune DENSITY, --prune-per-layer */
} PipelineArgs;

/* --target NAME: a separate table because dnnc map, which always maps onto
 * the spatial target, does not offer it. */
extern const Option target_option[];
extern const Option pipeline_options[];
extern const Option quantize_options[];
extern const Option prune_options[];
/* MODE of --quantize (and dnnc quantize's --mode): a mode dnnc has, or an
 * option error naming the option as spelled. */
bool parse_quant_mode(const char *value, const OptionUse *u, QuantMode *out);
/* DENSITY of --prune (and dnnc prune's --density): a number in (0, 1]. */
bool parse_density(const char *value, const OptionUse *u, double *out);

typedef enum {
    LEVEL_OF_TARGET, /* -O defaults to the target's default_opt_level */
    LEVEL_AS_WRITTEN /* -O defaults to 0: the graph as written */
} DefaultLevel;

/* What every command that takes a model does first: options_parse, then,
 * for its pipeline arguments p (inside args), the default target (by name)
 * when --target was not given, the default -O level, and the plan checked
 * against the target's pipeline (a disabled lowering pass, --print-after of
 * a pass that does not run, ...), all before any model is read. Returns
 * OPTIONS_PARSED or the status to exit with, after printing why. */
int model_command_parse(const CommandSpec *spec, int argc, char **argv, void *args,
                        PipelineArgs *p, const char *default_target, DefaultLevel level);

/* The shared sections of a command's CommandSpec: its model options, and
 * its pipeline options under a heading that states the command's defaults.
 * The command's arguments hold them as fields `weights` and `pipeline`. */
#define MODEL_OPTION_SECTION(type) {"model options:", model_options, offsetof(type, weights)}
#define PIPELINE_OPTION_SECTIONS(type, heading)                \
    {heading, target_option, offsetof(type, pipeline)},       \
    {NULL, pipeline_options, offsetof(type, pipeline)},       \
    {"quantisation options (docs/quantization.md):", quantize_options, offsetof(type, pipeline)}, \
    {"pruning options (docs/pruning.md):", prune_options, offsetof(type, pipeline)}

/* ---- loading and the pipeline (model.c) ---- */

/* A loaded model: the source text stays alive for diagnostics. */
typedef struct Model {
    Source src;
    Graph *graph;
    bool weights_bound; /* --weights, --random-weights or an ONNX model */
} Model;

bool model_is_onnx(const char *path);

/* Loads a network file and binds its weights as `o` says (NULL: none),
 * reporting errors through d; false (and m freed) on any error. */
bool model_load(const char *path, const ModelArgs *o, Diag *d, Model *m);
/* Runs the pipeline p asks for on m's graph and, when the graph is to be
 * compiled or run (`runs`), checks that the target supports every layer
 * and that what it will allocate fits the memory o allows (o may be NULL:
 * the memory available now). False (and m freed) after reporting an error
 * through d. */
bool model_optimize(Model *m, const ModelArgs *o, const PipelineArgs *p, bool runs, Diag *d);
/* model_load, then model_optimize, with diagnostics on stderr. */
bool model_prepare(const char *path, const ModelArgs *o, const PipelineArgs *p, bool runs, Model *m);
void model_free(Model *m);

/* ---- writing a model back (model_save.c) ---- */

/* "dir/model.onnx" with from ".onnx" and to ".dnn" -> "dir/model.dnn"
 * (malloc'd; NULL when out of memory). */
char *path_with_extension(const char *path, const char *from, const char *to);

/* "dir/net.dnn" or "net.onnx" with suffix "-int8" -> "dir/net-int8.dnn"
 * (malloc'd; NULL when out of memory). */
char *path_with_suffix(const char *model, const char *suffix);

/* graph_print (network source) or dump_dot (Graphviz). */
typedef void (*GraphPrinter)(const Graph *g, FILE *out);

/* Writes g with `print` to `path` and, unless `weights` is NULL, its bound
 * parameters as safetensors to `weights`: each file whole, and neither when
 * either fails. Reports errors as "dnnc CMD: error: ...". */
bool model_save(const Graph *g, GraphPrinter print, const char *path, const char *weights,
                const char *cmd);
/* model_save of g as network source to `source` (may be NULL: out of
 * memory, reported) and its weights beside it, SOURCE.safetensors, whose
 * path goes to *weights (malloc'd, or NULL): what dnnc quantize and dnnc
 * prune write. */
bool model_save_pair(const Graph *g, char *source, const char *cmd, char **weights);

#endif
