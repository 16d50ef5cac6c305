/* The dnnc driver: one subcommand per file, listed once in main.c. */
#ifndef DNNC_DRIVER_H
#define DNNC_DRIVER_H

#include <stdbool.h>

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

/* Loads a network file, reporting errors to stderr; false on any error. */
bool model_load(const char *path, Diag *d, Model *m);
void model_free(Model *m);

/* True if argv[i] is --help or -h. */
bool is_help_flag(const char *arg);
/* Prints "dnnc CMD: message" and a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_dump(int argc, char **argv);
int cmd_stats(int argc, char **argv);

extern const char cmd_dump_usage[];
extern const char cmd_stats_usage[];

#endif
