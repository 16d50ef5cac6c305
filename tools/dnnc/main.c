/* dnnc: the driver. Subcommands in the style of the LLVM tools. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "onnx_import.h"
#include "weights.h"

static const Command commands[] = {
    {"dump", "print the IR of a network as source text", cmd_dump_usage, cmd_dump},
    {"stats", "weights, MACs and activation sizes per layer", cmd_stats_usage, cmd_stats},
    {"run", "run a network on data with the reference executor", cmd_run_usage, cmd_run},
    {"map", "map CONV/FC layers onto the spatial accelerator: dataflow, energy", cmd_map_usage, cmd_map},
    {"compile", "compile a network to a linkable bundle (object, header, weights)", cmd_compile_usage,
     cmd_compile},
    {"bench", "time the compiled code: latency, GFLOPS, share of peak", cmd_bench_usage, cmd_bench},
    {"import", "convert an ONNX model to network source and safetensors weights", cmd_import_usage,
     cmd_import},
};
#define N_COMMANDS (int)(sizeof commands / sizeof *commands)

static void print_help(FILE *out)
{
    fputs("usage: dnnc <command> [options] FILE\n\n"
          "dnnc compiles deep neural networks written in the dnnc network language\n"
          "(docs/language.md).\n\ncommands:\n",
          out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("  help       show help for a command\n\n"
          "Run 'dnnc <command> --help' for a command's options.\n"
          "Every command that takes a network also takes an ONNX model (.onnx).\n"
          "See docs/roadmap.md for what is not there yet.\n",
          out);
}

bool is_help_flag(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dnnc %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'dnnc %s --help' for usage.\n", cmd);
    return EXIT_USAGE;
}

int parse_model_option(int argc, char **argv, int *i, ModelOptions *o, const char *cmd)
{
    const char *a = argv[*i];
    bool weights = strcmp(a, "--weights") == 0, random = strcmp(a, "--random-weights") == 0;
    if (!weights && !random)
        return 0;
    if (*i + 1 >= argc) {
        usage_error(cmd, "%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    if (weights) {
        o->weights = v;
    } else {
        char *end;
        errno = 0;
        o->seed = strtoull(v, &end, 0);
        if (!*v || *end || errno || v[0] == '-') {
            usage_error(cmd, "--random-weights needs a non-negative integer seed, got '%s'", v);
            return -1;
        }
        o->random = true;
    }
    if (o->weights && o->random) {
        usage_error(cmd, "--weights and --random-weights exclude each other");
        return -1;
    }
    return 1;
}

static bool is_onnx_path(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".onnx") == 0;
}

bool model_load(const char *path, const ModelOptions *o, Diag *d, Model *m)
{
    memset(m, 0, sizeof *m);
    if (is_onnx_path(path)) {
        if (o && (o->weights || o->random)) {
            diag_error(d, SRCLOC_NONE, "%s: an ONNX model carries its own weights; "
                                       "--weights and --random-weights do not apply", path);
            return false;
        }
        m->graph = onnx_import(path, NULL, d);
        return m->graph != NULL;
    }
    if (!source_read(path, &m->src, d))
        return false;
    m->graph = frontend_parse(&m->src, d);
    if (!m->graph)
        return false;
    if (o && o->random)
        weights_randomize(m->graph, o->seed);
    if (o && o->weights)
        return weights_load(m->graph, o->weights, d);
    return true;
}

void model_free(Model *m)
{
    graph_free(m->graph);
    source_free(&m->src);
}

static const Command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (is_help_flag(name)) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("dnnc %s\n", DNNC_VERSION);
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        const Command *c = argc > 2 ? find_command(argv[2]) : NULL;
        if (argc > 2 && !c) {
            fprintf(stderr, "dnnc: unknown command '%s'\n", argv[2]);
            return EXIT_USAGE;
        }
        if (c)
            fputs(c->usage, stdout);
        else
            print_help(stdout);
        return EXIT_OK;
    }
    const Command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "dnnc: unknown command '%s'\nRun 'dnnc --help' for the list of commands.\n",
                name);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
