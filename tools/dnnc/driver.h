/* The dnnc driver: one subcommand per file, listed once in main.c. */
#ifndef DNNC_DRIVER_H
#define DNNC_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "frontend.h"
#include "graph.h"

/* Exit statuses of every subcommand. */
enum { EXIT_OK = 0, EXIT_INPUT_ERROR = 1, EXIT_USAGE = 2 };

typedef struct Command {
    const char *name;
    const char *summary;
    const char *usage; /* the full --help text */
    int (*run)(int argc, char **argv);
} Command;

/* A loaded model: the source text stays alive for diagnostics. */
typedef struct Model {
    Source src;
    Graph *graph;
} Model;

/* Where a model's weights come from. */
typedef struct ModelOptions {
    const char *weights; /* safetensors file */
    bool random;         /* --random-weights SEED */
    uint64_t seed;
} ModelOptions;

#define MODEL_OPTIONS_HELP \
    "  --weights FILE         bind weights from a safetensors file (names like conv1.weight)\n" \
    "  --random-weights SEED  deterministic He-style random weights\n"

/* Consumes --weights / --random-weights at argv[*i]: 1 if it did, 0 if the
 * argument is something else, -1 after a usage error. */
int parse_model_option(int argc, char **argv, int *i, ModelOptions *o, const char *cmd);

/* Loads a network file and binds its weights as the options say, reporting
 * errors through d; false on any error. */
bool model_load(const char *path, const ModelOptions *o, Diag *d, Model *m);
void model_free(Model *m);

/* True if argv[i] is --help or -h. */
bool is_help_flag(const char *arg);
/* Prints "dnnc CMD: message" and a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_dump(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_bench(int argc, char **argv);

extern const char cmd_dump_usage[];
extern const char cmd_stats_usage[];
extern const char cmd_run_usage[];
extern const char cmd_map_usage[];
extern const char cmd_import_usage[];
extern const char cmd_compile_usage[];
extern const char cmd_bench_usage[];

/* Prints the top-5 classes of the first `show` samples of a classifier's
 * output [N, classes], and top-1/top-5 accuracy when a labels file is given
 * (classify.c). Returns false after printing an error. */
typedef struct Array Array;
bool report_classes(const Array *out, int show, const char *labels_path);

#endif
