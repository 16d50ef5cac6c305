/* dnnc import: an ONNX model to network-language source plus a safetensors
 * file with its weights, so that it can be read, edited and compiled like
 * any network written by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

typedef struct ImportArgs {
    const char *model, *out;
    PipelineArgs pipeline;
} ImportArgs;

static const Option import_options[] = {
    {NULL, 'o', "OUT.dnn", "the network source to write; the weights go to OUT.safetensors\n"
                           "(default: MODEL with .dnn in place of .onnx)",
     OPTION_STRING(ImportArgs, out)},
    OPTIONS_END,
};

const CommandSpec cmd_import_spec = {
    .name = "import",
    .summary = "convert an ONNX model to network source and safetensors weights",
    .usage = "dnnc import MODEL.onnx [-o OUT.dnn] [options]",
    .description =
        "Imports an ONNX model (opsets 1 to 17; docs/onnx.md lists the operators)\n"
        "and writes OUT.dnn, the network as source, and OUT.safetensors beside it\n"
        "with every weight. Both files are written whole or not at all. By default\n"
        "no optimisation runs (-O0): the network is the model as written; with -O1\n"
        "and above the files hold the optimised graph and its rewritten weights.",
    .operand = "model file",
    .operand_offset = offsetof(ImportArgs, model),
    .sections = {
        {"options:", import_options, 0},
        PIPELINE_OPTION_SECTIONS(
            ImportArgs, "pipeline options (default: --target reference -O0, the model as written):"),
    },
};

int cmd_import(int argc, char **argv)
{
    ImportArgs a = {0};
    int rc = model_command_parse(&cmd_import_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_AS_WRITTEN);
    if (rc != OPTIONS_PARSED)
        return rc;
    if (!model_is_onnx(a.model))
        return usage_error("import", "'%s' is not an .onnx model (dnnc dump -o rewrites network source)",
                           a.model);
    Model m;
    if (!model_prepare(a.model, NULL, &a.pipeline, false, &m))
        return EXIT_INPUT_ERROR;
    char *source = a.out ? strdup(a.out) : path_with_extension(a.model, ".onnx", ".dnn");
    char *weights = source ? path_with_extension(source, ".dnn", ".safetensors") : NULL;
    bool ok = weights && model_save(m.graph, graph_print, source, weights, "import");
    if (!weights)
        fprintf(stderr, "dnnc import: error: out of memory\n");
    if (ok)
        printf("wrote %s (%d layers) and %s\n", source, m.graph->n_nodes, weights);
    free(source);
    free(weights);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
