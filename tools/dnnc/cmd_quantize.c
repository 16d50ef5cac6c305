/* dnnc quantize: a float network to a quantised one, written as network
 * source and weights that every other command takes like any model. The
 * work is the quantize pass's (passes/quantize.c); this command runs the
 * reference pipeline with --quantize MODE and writes the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

typedef struct QuantizeArgs {
    const char *model, *out;
    ModelArgs weights;
    PipelineArgs pipeline;
    bool mode_given;
} QuantizeArgs;

static bool parse_mode(void *section, const char *value, const OptionUse *u)
{
    QuantizeArgs *a = section;
    a->mode_given = parse_quant_mode(value, u, &a->pipeline.quant.mode);
    return a->mode_given;
}

static const Option quantize_command_options[] = {
    {"mode", 0, "MODE", "int8 (scale and zero point), fixed8 or fixed16 (dynamic fixed point\n"
                        "at 8 or 16 bits); log2 (power-of-two weights), kmeans (a codebook),\n"
                        "binary or ternary weights, float activations (--weight-bits B\n"
                        "for log2 and kmeans, default 4)",
     OPTION_CALL(parse_mode)},
    {NULL, 'o', "OUT.dnn", "the network source to write; the weights go to OUT.safetensors\n"
                           "(default: MODEL-MODE.dnn beside MODEL)",
     OPTION_STRING(QuantizeArgs, out)},
    OPTIONS_END,
};

const CommandSpec cmd_quantize_spec = {
    .name = "quantize",
    .summary = "quantise a network's conv and fc layers, calibrated on real data",
    .usage = "dnnc quantize MODEL --mode MODE [--calibrate DATA] [-o OUT.dnn] [options]",
    .description =
        "Runs the reference pipeline with --quantize MODE: batch norms are folded,\n"
        "the network runs on the calibration data (.npy or IDX, read like dnnc run's\n"
        "--input) to measure every activation's range, and each conv and fc layer\n"
        "becomes a qlinear_conv on 8-bit integers with i8 weights (one scale per\n"
        "filter unless --per-tensor), an i32 bias and u8 activations (fixed8: power-\n"
        "of-two scales; fixed16: i16 weights and activations), except the first and\n"
        "last conv/fc layers unless --quantize-first-last. log2, kmeans, binary and\n"
        "ternary code the weights only (a coded_conv, float activations, no\n"
        "calibration). Writes OUT.dnn\n"
        "and OUT.safetensors, whole or not at all; dnnc run, compile, bench, dump and\n"
        "stats take them like any model. docs/quantization.md gives every rule.",
    .operand = "model file",
    .operand_offset = offsetof(QuantizeArgs, model),
    .sections = {
        {"options:", quantize_command_options, 0},
        MODEL_OPTION_SECTION(QuantizeArgs),
        PIPELINE_OPTION_SECTIONS(
            QuantizeArgs, "pipeline options (default: --target reference at its default level):"),
    },
};

static void count_layers(const Graph *g, int *quantised, int *float_layers)
{
    *quantised = *float_layers = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        *quantised += g->nodes[i].op == OP_QLINEAR_CONV || g->nodes[i].op == OP_CODED_CONV;
        *float_layers += g->nodes[i].op == OP_CONV || g->nodes[i].op == OP_FC;
    }
}

int cmd_quantize(int argc, char **argv)
{
    QuantizeArgs a = {0};
    int rc = model_command_parse(&cmd_quantize_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_OF_TARGET);
    if (rc != OPTIONS_PARSED)
        return rc;
    if (!a.mode_given)
        return usage_error("quantize", "give --mode (%s)", quant_mode_names());
    if (!a.pipeline.calibrate && !quant_mode_codes_weights(a.pipeline.quant.mode))
        return usage_error("quantize", "give --calibrate DATA: the ranges of the activations are "
                                       "measured on it");
    if (!model_is_onnx(a.model) && !a.weights.weights && !a.weights.random)
        return usage_error("quantize", "give --weights FILE (or --random-weights SEED)");
    Model m;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, false, &m))
        return EXIT_INPUT_ERROR;
    char suffix[32], *weights;
    snprintf(suffix, sizeof suffix, "-%s", quant_mode_name(a.pipeline.quant.mode));
    char *source = a.out ? strdup(a.out) : path_with_suffix(a.model, suffix);
    bool ok = model_save_pair(m.graph, source, "quantize", &weights);
    if (ok) {
        int quantised, float_layers;
        count_layers(m.graph, &quantised, &float_layers);
        printf("wrote %s (%d layers quantised to %s, %d conv/fc kept in float32) and %s\n", source,
               quantised, quant_mode_name(a.pipeline.quant.mode), float_layers, weights);
    }
    free(source);
    free(weights);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
