/* dnnc prune: magnitude pruning of a network's conv and fc weights, written
 * as network source and weights that every other command takes like any
 * model. The work is the prune pass's (passes/prune.c); this command runs
 * the reference pipeline with --prune DENSITY, reports what is left layer
 * by layer and writes the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

typedef struct PruneArgs {
    const char *model, *out;
    ModelArgs weights;
    PipelineArgs pipeline;
    bool density_given, structured, energy_aware;
} PruneArgs;

static bool parse_density_option(void *section, const char *value, const OptionUse *u)
{
    PruneArgs *a = section;
    a->density_given = parse_density(value, u, &a->pipeline.prune.density);
    return a->density_given;
}

static const Option prune_command_options[] = {
    {"density", 0, "D", "keep this share of the conv and fc weights, in (0, 1]",
     OPTION_CALL(parse_density_option)},
    {"per-layer", 0, NULL, "every layer to the density (default: one magnitude threshold over\n"
                           "all layers, as PyTorch's global pruning)",
     OPTION_FLAG(PruneArgs, pipeline.prune.per_layer)},
    {"structured", 0, NULL, "prune whole filters (not implemented yet)", OPTION_FLAG(PruneArgs, structured)},
    {"energy-aware", 0, NULL, "prune where the spatial target's energy falls most (not\n"
                              "implemented yet)",
     OPTION_FLAG(PruneArgs, energy_aware)},
    {NULL, 'o', "OUT.dnn", "the network source to write; the weights go to OUT.safetensors\n"
                           "(default: MODEL-pD.dnn beside MODEL, D the density in percent)",
     OPTION_STRING(PruneArgs, out)},
    OPTIONS_END,
};

const CommandSpec cmd_prune_spec = {
    .name = "prune",
    .summary = "prune a network's conv and fc weights by magnitude",
    .usage = "dnnc prune MODEL --density D [--per-layer] [-o OUT.dnn] [options]",
    .description =
        "Sets the conv and fc weights of smallest magnitude to zero so that the share\n"
        "D of them is left: the largest over all layers together, or layer by layer\n"
        "with --per-layer (biases are kept). Prints each pruned layer's weights,\n"
        "non-zero weights, density and the MACs left with a non-zero weight, and\n"
        "writes OUT.dnn and OUT.safetensors, whole or not at all; every command takes\n"
        "them. No fine-tuning: that is a training job (tools/fashion/prune_finetune.py).\n"
        "docs/pruning.md gives the rules.",
    .operand = "model file",
    .operand_offset = offsetof(PruneArgs, model),
    .sections = {
        {"options:", prune_command_options, 0},
        MODEL_OPTION_SECTION(PruneArgs),
        PIPELINE_OPTION_SECTIONS(
            PruneArgs, "pipeline options (default: --target reference -O0, the graph as written):"),
    },
};

static void print_report(const Graph *g)
{
    printf("%-28s %-6s %12s %12s %8s %14s %14s\n", "layer", "op", "weights", "non-zero", "density",
           "MACs", "non-zero MACs");
    int64_t w = 0, nz = 0, macs = 0, nz_macs = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_CONV && n->op != OP_FC)
            continue;
        const Tensor *t = &g->tensors[n->params[0]];
        int64_t lw = shape_elems(&t->shape), lnz = 0;
        for (int64_t k = 0; t->data && k < lw; k++)
            lnz += elem_nonzero(t->type.kind, t->data, k);
        int64_t lm = node_macs(g, n), lnm = node_nz_macs(g, n);
        printf("%-28s %-6s %12lld %12lld %7.1f%% %14lld %14lld\n", n->name, op_name(n->op),
               (long long)lw, (long long)lnz, 100.0 * (double)lnz / (double)lw, (long long)lm,
               (long long)lnm);
        w += lw, nz += lnz, macs += lm, nz_macs += lnm;
    }
    printf("%-28s %-6s %12lld %12lld %7.1f%% %14lld %14lld\n", "total", "", (long long)w,
           (long long)nz, w ? 100.0 * (double)nz / (double)w : 0.0, (long long)macs, (long long)nz_macs);
}

int cmd_prune(int argc, char **argv)
{
    PruneArgs a = {0};
    int rc = model_command_parse(&cmd_prune_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_AS_WRITTEN);
    if (rc != OPTIONS_PARSED)
        return rc;
    if (!a.density_given)
        return usage_error("prune", "give --density D, the share of weights to keep");
    if (a.structured || a.energy_aware)
        return usage_error("prune", "--%s is not implemented yet: dnnc prunes single weights by "
                                    "magnitude so far (docs/pruning.md)",
                           a.structured ? "structured" : "energy-aware");
    if (!model_is_onnx(a.model) && !a.weights.weights && !a.weights.random)
        return usage_error("prune", "give --weights FILE (or --random-weights SEED)");
    Model m;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, false, &m))
        return EXIT_INPUT_ERROR;
    char suffix[32], *weights;
    snprintf(suffix, sizeof suffix, "-p%g", a.pipeline.prune.density * 100);
    char *source = a.out ? strdup(a.out) : path_with_suffix(a.model, suffix);
    bool ok = model_save_pair(m.graph, source, "prune", &weights);
    if (ok) {
        print_report(m.graph);
        printf("wrote %s and %s\n", source, weights);
    }
    free(source);
    free(weights);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
