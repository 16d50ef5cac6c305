/* dnnc: the driver. Subcommands in the style of the LLVM tools. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

static const Command commands[] = {
    {"dump", "print the IR of a network as source text", cmd_dump_usage, cmd_dump},
    {"stats", "weights, MACs and activation sizes per layer", cmd_stats_usage, cmd_stats},
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
          "Not yet available: run, compile, bench, map, import (see docs/roadmap.md).\n",
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

bool model_load(const char *path, Diag *d, Model *m)
{
    memset(m, 0, sizeof *m);
    if (!source_read(path, &m->src, d))
        return false;
    m->graph = frontend_parse(&m->src, d);
    return m->graph != NULL;
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
