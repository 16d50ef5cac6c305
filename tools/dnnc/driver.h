/* The dnnc driver: one subcommand per file, listed once in main.c. Each
 * declares its options in tables (options.h) and takes its model through
 * model_prepare (model.h). */
#ifndef DNNC_DRIVER_H
#define DNNC_DRIVER_H

#include <stdbool.h>

#include "model.h"
#include "options.h"

typedef struct Command {
    const CommandSpec *spec;
    int (*run)(int argc, char **argv);
} Command;

int cmd_dump(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_passes(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_prune(int argc, char **argv);

extern const CommandSpec cmd_dump_spec;
extern const CommandSpec cmd_stats_spec;
extern const CommandSpec cmd_run_spec;
extern const CommandSpec cmd_map_spec;
extern const CommandSpec cmd_import_spec;
extern const CommandSpec cmd_compile_spec;
extern const CommandSpec cmd_bench_spec;
extern const CommandSpec cmd_passes_spec;
extern const CommandSpec cmd_quantize_spec;
extern const CommandSpec cmd_prune_spec;

/* Exit status 1 with "dnnc CMD: error: target T cannot ACT: it has no
 * WHAT" when t lacks the function a command needs (a NULL entry of the
 * target table), naming the targets that have it. `has` says whether a
 * target has it. */
int target_cannot(const char *cmd, const Target *t, const char *act, const char *what,
                  bool (*has)(const Target *));

/* Prints the top-5 classes of the first `show` samples of a classifier's
 * output [N, classes] of any element type, and top-1/top-5 accuracy when a
 * labels file is given (classify.c). Returns false after printing an error. */
typedef struct Array Array;
bool report_classes(const Array *out, int show, const char *labels_path);

#endif
