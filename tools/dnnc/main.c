/* dnnc: the driver. Subcommands in the style of the LLVM tools. */
#include <stdio.h>
#include <string.h>

#include "driver.h"

static const Command commands[] = {
    {&cmd_dump_spec, cmd_dump},       {&cmd_stats_spec, cmd_stats},
    {&cmd_run_spec, cmd_run},         {&cmd_map_spec, cmd_map},
    {&cmd_compile_spec, cmd_compile}, {&cmd_bench_spec, cmd_bench},
    {&cmd_import_spec, cmd_import},   {&cmd_passes_spec, cmd_passes},
    {&cmd_quantize_spec, cmd_quantize}, {&cmd_prune_spec, cmd_prune},
};
#define N_COMMANDS (int)(sizeof commands / sizeof *commands)

static void print_help(FILE *out)
{
    fputs("usage: dnnc <command> [options] FILE\n\n"
          "dnnc compiles deep neural networks written in the dnnc network language\n"
          "(docs/language.md).\n\ncommands:\n",
          out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].spec->name, commands[i].spec->summary);
    fputs("  help       show help for a command: dnnc help COMMAND\n\n"
          "options:\n"
          "  -h, --help  show this help\n"
          "  --version   print dnnc's version\n\n"
          "Run 'dnnc <command> --help' for a command's options.\n"
          "Every command that takes a network also takes an ONNX model (.onnx).\n"
          "See docs/roadmap.md for what is not there yet.\n",
          out);
}

int target_cannot(const char *cmd, const Target *t, const char *act, const char *what,
                  bool (*has)(const Target *))
{
    char able[128] = "";
    for (int i = 0; i < target_count(); i++)
        if (has(target_at(i)))
            snprintf(able + strlen(able), sizeof able - strlen(able), "%s%s", able[0] ? ", " : "",
                     target_at(i)->name);
    fprintf(stderr, "dnnc %s: error: target %s cannot %s: it has no %s (%s%s; see docs/roadmap.md)\n",
            cmd, t->name, act, what, able[0] ? "targets that can: " : "no target can yet", able);
    return EXIT_INPUT_ERROR;
}

static const Command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].spec->name, name) == 0)
            return &commands[i];
    return NULL;
}

static bool is_help_option(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* dnnc help [COMMAND]; `dnnc help --help` is the general help, as for
 * every other command's --help. */
static int help_command(int argc, char **argv)
{
    bool about_command = argc > 2 && !is_help_option(argv[2]);
    const Command *c = about_command ? find_command(argv[2]) : NULL;
    if (about_command && !c) {
        fprintf(stderr, "dnnc: unknown command '%s'\n", argv[2]);
        return EXIT_USAGE;
    }
    if (c)
        options_help(c->spec, stdout);
    else
        print_help(stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (is_help_option(name)) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("dnnc %s\n", DNNC_VERSION);
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0)
        return help_command(argc, argv);
    const Command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "dnnc: unknown command '%s'\nRun 'dnnc --help' for the list of commands.\n",
                name);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
