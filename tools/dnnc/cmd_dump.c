/* dnnc dump: the IR as network-language source (or Graphviz), after the
 * passes the options ask for. */
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"
#include "dump_dot.h"

static const char *const formats[] = {"text", "dot", NULL};
enum { FORMAT_TEXT, FORMAT_DOT };

typedef struct DumpArgs {
    const char *model, *out;
    int format;
    ModelArgs weights;
    PipelineArgs pipeline;
} DumpArgs;

static const Option dump_options[] = {
    {NULL, 'o', "OUT", "write to OUT instead of standard output; in text format, with\n"
                       "weights bound (--weights, --random-weights, an .onnx model), also\n"
                       "write them, as the passes left them, to OUT.safetensors (a .dnn\n"
                       "suffix of OUT dropped first)",
     OPTION_STRING(DumpArgs, out)},
    {"format", 0, NULL, "text: network source (default); dot: Graphviz (dot -Tsvg)",
     OPTION_CHOICE(DumpArgs, format, formats)},
    OPTIONS_END,
};

const CommandSpec cmd_dump_spec = {
    .name = "dump",
    .summary = "print the IR of a network as source text, after the passes asked for",
    .usage = "dnnc dump [options] FILE",
    .description =
        "Parses FILE (network source or an .onnx model), runs the pass pipeline the\n"
        "options ask for, and prints the resulting layer graph as network-language\n"
        "source: one line per layer, every attribute that differs from its default,\n"
        "annotations for choices made by the user or by passes, and each layer's\n"
        "output type as a comment. The output parses back to the same graph. By\n"
        "default no optimisation runs (-O0): the dump is the graph as written.",
    .operand = "input file",
    .operand_offset = offsetof(DumpArgs, model),
    .sections = {
        {"options:", dump_options, 0},
        MODEL_OPTION_SECTION(DumpArgs),
        PIPELINE_OPTION_SECTIONS(
            DumpArgs, "pipeline options (default: --target reference -O0, the graph as written):"),
    },
};

static bool has_parameters(const Graph *g)
{
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].kind == TENSOR_PARAM)
            return true;
    return false;
}

/* Source to OUT, and the weights beside it when they are bound: the pair
 * `dnnc run OUT --weights OUT.safetensors` reads back. */
static bool write_source(const Model *m, const char *out)
{
    bool with_weights = m->weights_bound && has_parameters(m->graph);
    if (!m->weights_bound && has_parameters(m->graph))
        fprintf(stderr, "dnnc dump: note: wrote no weights: the model has none bound "
                        "(give --weights FILE or --random-weights SEED to write them too)\n");
    char *weights = with_weights ? path_with_extension(out, ".dnn", ".safetensors") : NULL;
    if (with_weights && !weights) {
        fprintf(stderr, "dnnc dump: error: out of memory\n");
        return false;
    }
    bool ok = model_save(m->graph, graph_print, out, weights, "dump");
    free(weights);
    return ok;
}

int cmd_dump(int argc, char **argv)
{
    DumpArgs a = {0};
    int rc = model_command_parse(&cmd_dump_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_AS_WRITTEN);
    if (rc != OPTIONS_PARSED)
        return rc;
    Model m;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, false, &m))
        return EXIT_INPUT_ERROR;
    GraphPrinter print = a.format == FORMAT_DOT ? dump_dot : graph_print;
    bool ok = true;
    if (!a.out)
        print(m.graph, stdout);
    else if (a.format == FORMAT_DOT)
        ok = model_save(m.graph, dump_dot, a.out, NULL, "dump");
    else
        ok = write_source(&m, a.out);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
