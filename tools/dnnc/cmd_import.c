/* dnnc import: an ONNX model to network-language source plus a safetensors
 * file with its weights, so that it can be read, edited and compiled like
 * any network written by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "onnx_import.h"
#include "outfile.h"
#include "weights.h"

const char cmd_import_usage[] =
    "usage: dnnc import MODEL.onnx [-o OUT.dnn]\n\n"
    "Imports an ONNX model (opsets 1 to 17; docs/onnx.md lists the operators)\n"
    "and writes OUT.dnn, the network as source, and OUT.safetensors beside it\n"
    "with every weight. Without -o, OUT is MODEL with .dnn in place of .onnx.\n"
    "Both files are written whole or not at all.\n\n"
    "options:\n"
    "  -o FILE     the network source to write; the weights go to FILE's stem + .safetensors\n"
    "  -h, --help  show this help\n";

/* "dir/model.onnx" -> "dir/model" + ext */
static char *with_extension(const char *path, const char *from, const char *to)
{
    size_t n = strlen(path), k = strlen(from);
    if (n >= k && strcmp(path + n - k, from) == 0)
        n -= k;
    char *out = malloc(n + strlen(to) + 1);
    if (out) {
        memcpy(out, path, n);
        strcpy(out + n, to);
    }
    return out;
}

static bool write_source(const Graph *g, const char *path)
{
    OutFile o;
    char err[1024];
    if (!outfile_open(&o, path, err, sizeof err)) {
        fprintf(stderr, "dnnc import: error: %s\n", err);
        return false;
    }
    graph_print(g, o.f);
    if (!outfile_commit(&o, err, sizeof err)) {
        fprintf(stderr, "dnnc import: error: %s\n", err);
        return false;
    }
    return true;
}

int cmd_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help_flag(argv[i])) {
            fputs(cmd_import_usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "-o") == 0) {
            if (++i == argc)
                return usage_error("import", "-o needs a file name");
            out = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("import", "unknown option '%s'", argv[i]);
        } else if (in) {
            return usage_error("import", "more than one model");
        } else {
            in = argv[i];
        }
    }
    if (!in)
        return usage_error("import", "no model file");
    Diag d;
    diag_init(&d, stderr);
    Graph *g = onnx_import(in, NULL, &d);
    if (!g)
        return EXIT_INPUT_ERROR;
    char *source = out ? strdup(out) : with_extension(in, ".onnx", ".dnn");
    char *weights = source ? with_extension(source, ".dnn", ".safetensors") : NULL;
    char err[1024];
    bool ok = source && weights;
    /* Weights first: a source file without its weights would be useless. */
    if (ok && !weights_save(g, weights, err, sizeof err)) {
        fprintf(stderr, "dnnc import: error: %s\n", err);
        ok = false;
    }
    if (ok && !write_source(g, source)) {
        remove(weights);
        ok = false;
    }
    if (ok)
        printf("wrote %s (%d layers) and %s\n", source, g->n_nodes, weights);
    free(source);
    free(weights);
    graph_free(g);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
