/* dnnc dump: the IR as network-language source. */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "outfile.h"

const char cmd_dump_usage[] =
    "usage: dnnc dump [options] FILE\n\n"
    "Parses FILE, expands its blocks and prints the resulting layer graph as\n"
    "network-language source: one line per layer, every attribute that differs\n"
    "from its default, annotations for choices made by the user or by passes,\n"
    "and each layer's output type as a comment. The output parses back to the\n"
    "same graph.\n\n"
    "options:\n"
    "  -o FILE     write to FILE instead of standard output\n"
    "  -h, --help  show this help\n";

int cmd_dump(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help_flag(argv[i])) {
            fputs(cmd_dump_usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "-o") == 0) {
            if (++i == argc)
                return usage_error("dump", "-o needs a file name");
            out_path = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("dump", "unknown option '%s'", argv[i]);
        } else if (path) {
            return usage_error("dump", "more than one input file");
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage_error("dump", "no input file");
    Diag d;
    diag_init(&d, stderr);
    Model m;
    if (!model_load(path, NULL, &d, &m)) {
        model_free(&m);
        return EXIT_INPUT_ERROR;
    }
    int rc = EXIT_OK;
    if (out_path) {
        OutFile o;
        char err[1024];
        if (!outfile_open(&o, out_path, err, sizeof err)) {
            fprintf(stderr, "dnnc dump: error: %s\n", err);
            rc = EXIT_INPUT_ERROR;
        } else {
            graph_print(m.graph, o.f);
            if (!outfile_commit(&o, err, sizeof err)) {
                fprintf(stderr, "dnnc dump: error: %s\n", err);
                rc = EXIT_INPUT_ERROR;
            }
        }
    } else {
        graph_print(m.graph, stdout);
    }
    model_free(&m);
    return rc;
}
