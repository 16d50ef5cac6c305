/* dnnc prune: magnitude pruning of a network's conv and fc weights, written
 * as network source and weights that every other command takes like any
 * model. The work is the prune pass's (passes/prune.c); this command runs
 * the reference pipeline with --prune DENSITY, reports what is left layer
 * by layer and writes the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "driver.h"
#include "map.h"
#include "prune.h"

typedef struct PruneArgs {
    const char *model, *out, *arch;
    ModelArgs weights;
    PipelineArgs pipeline;
    bool density_given;
} PruneArgs;

static bool parse_max_drop_option(void *section, const char *value, const OptionUse *u)
{
    PruneArgs *a = section;
    char *end;
    double v = strtod(value, &end);
    if (end == value || *end || !(v > 0 && v <= 100))
        return option_error(u, "--max-drop takes points of agreement in (0, 100], got '%s'", value);
    a->pipeline.prune.max_drop = v;
    return true;
}

static bool parse_density_option(void *section, const char *value, const OptionUse *u)
{
    PruneArgs *a = section;
    a->density_given = parse_density(value, u, &a->pipeline.prune.density);
    return a->density_given;
}

static const Option prune_command_options[] = {
    {"density", 0, "D", "keep this share of the conv and fc weights (of each layer's\n"
                        "filters with --structured), in (0, 1]",
     OPTION_CALL(parse_density_option)},
    {"per-layer", 0, NULL, "every layer to the density (default: one magnitude threshold over\n"
                           "all layers, as PyTorch's global pruning)",
     OPTION_FLAG(PruneArgs, pipeline.prune.per_layer)},
    {"structured", 0, NULL, "remove whole filters (those of smallest L1 norm) and the channels\n"
                            "they compute: the network shrinks",
     OPTION_FLAG(PruneArgs, pipeline.prune.structured)},
    {"layers", 0, "L1,L2,..", "prune only these conv and fc layers (by default every one; with\n"
                              "--structured, every one whose channels can be followed)",
     OPTION_STRING(PruneArgs, pipeline.prune.layers)},
    {"energy-aware", 0, NULL, "prune where the energy saved on --arch per --calibrate sample that\n"
                              "changes class is largest, as far as --max-drop allows or to\n"
                              "--density (both: the density within the drop)",
     OPTION_FLAG(PruneArgs, pipeline.prune.energy_aware)},
    {"max-drop", 0, "P", "--energy-aware: at most P% of the calibration samples may change\n"
                         "their top-1 class against the unpruned network (default 1)",
     OPTION_CALL(parse_max_drop_option)},
    {"arch", 0, "NAME|FILE", "the report adds each layer's energy before and after on this\n"
                             "spatial machine, as dnnc map estimates it (eyeriss, ...)",
     OPTION_STRING(PruneArgs, arch)},
    {NULL, 'o', "OUT.dnn", "the network source to write; the weights go to OUT.safetensors\n"
                           "(default: MODEL-pD.dnn beside MODEL, D the density in percent)",
     OPTION_STRING(PruneArgs, out)},
    OPTIONS_END,
};

const CommandSpec cmd_prune_spec = {
    .name = "prune",
    .summary = "prune a network's conv and fc weights by magnitude",
    .usage = "dnnc prune MODEL --density D [--per-layer | --structured] [--layers L1,..] [--arch A]\n"
             "       [-o OUT.dnn] [options]\n"
             "       dnnc prune MODEL --energy-aware --arch A --calibrate DATA [--max-drop P] [--density D]",
    .description =
        "Sets the conv and fc weights of smallest magnitude to zero so that the share\n"
        "D of them is left: the largest over all layers together, or layer by layer\n"
        "with --per-layer (biases are kept). --structured removes whole filters\n"
        "instead, the share D of each layer's kept, and every layer that reads their\n"
        "channels loses them: the network shrinks. Prints each conv and fc layer's\n"
        "filters kept, its weights and the non-zero ones left, its density and its\n"
        "MACs before and after, and writes OUT.dnn and OUT.safetensors, whole or not\n"
        "at all. --energy-aware instead prunes each layer by magnitude as far as it\n"
        "pays: steps of most energy saved on the spatial machine --arch per\n"
        "--calibrate sample whose top-1 class changes, each checked on the pruned\n"
        "network; it prints the outcome on the data. Both write files\n"
        "that every command takes. No fine-tuning: that is a training job\n"
        "(tools/fashion/prune_finetune.py).\n"
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

/* A conv or fc layer as it was before pruning. */
typedef struct LayerBefore {
    char *name;
    int64_t filters, weights, macs;
    double energy; /* on the --arch machine; NaN when not asked */
} LayerBefore;

static bool has_weights(const Node *n) { return n->op == OP_CONV || n->op == OP_FC; }

static LayerBefore *record_layers(const Graph *g, int *count)
{
    LayerBefore *b = calloc((size_t)g->n_nodes + 1, sizeof *b);
    *count = 0;
    for (int i = 0; b && i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!has_weights(n))
            continue;
        const Tensor *w = &g->tensors[n->params[0]];
        b[(*count)++] = (LayerBefore){strdup(n->name), w->shape.d[0], shape_elems(&w->shape), node_macs(g, n), NAN};
    }
    return b;
}

static void record_energies(const Graph *g, const ArchSet *arch, LayerBefore *b, int count)
{
    double *e = prune_layer_energies(g, arch);
    for (int i = 0, k = 0; e && i < g->n_nodes && k < count; i++)
        if (has_weights(&g->nodes[i]))
            b[k++].energy = e[i];
    free(e);
}

static void free_layers(LayerBefore *b, int count)
{
    for (int i = 0; b && i < count; i++)
        free(b[i].name);
    free(b);
}

static const LayerBefore *layer_before(const LayerBefore *b, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (b[i].name && strcmp(b[i].name, name) == 0)
            return &b[i];
    return NULL;
}

static void print_row(const char *name, const char *op, const char *filters, int64_t w, int64_t nz,
                      int64_t macs, int64_t nz_macs, const double *energy)
{
    printf("%-28s %-6s %11s %12lld %12lld %7.1f%% %14lld %14lld", name, op, filters, (long long)w,
           (long long)nz, w ? 100.0 * (double)nz / (double)w : 0.0, (long long)macs, (long long)nz_macs);
    if (energy)
        printf(" %12.4g %12.4g %7.1f%%", energy[0], energy[1], 100.0 * (energy[1] - energy[0]) / energy[0]);
    printf("\n");
}

/* Each layer's filters kept of those it had, its weights before and the
 * non-zero ones left (the density is their ratio), and its MACs before and
 * those left with a non-zero weight. */
static void print_report(const Graph *g, const LayerBefore *b, int count, const double *after)
{
    printf("%-28s %-6s %11s %12s %12s %8s %14s %14s", "layer", "op", "filters", "weights", "non-zero",
           "density", "MACs", "non-zero MACs");
    printf(after ? " %12s %12s %8s\n" : "\n", "energy", "after", "change");
    int64_t f = 0, f_before = 0, w = 0, nz = 0, macs = 0, nz_macs = 0;
    double total[2] = {0, 0};
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        const LayerBefore *was = has_weights(n) ? layer_before(b, count, n->name) : NULL;
        if (!was)
            continue;
        const Tensor *t = &g->tensors[n->params[0]];
        int64_t lnz = 0;
        for (int64_t k = 0; t->data && k < shape_elems(&t->shape); k++)
            lnz += elem_nonzero(t->type.kind, t->data, k);
        char kept[48];
        snprintf(kept, sizeof kept, "%lld/%lld", (long long)t->shape.d[0], (long long)was->filters);
        double e[2] = {was->energy, after ? after[i] : NAN};
        print_row(n->name, op_name(n->op), kept, was->weights, lnz, was->macs, node_nz_macs(g, n),
                  after ? e : NULL);
        total[0] += e[0], total[1] += e[1];
        f += t->shape.d[0], f_before += was->filters;
        w += was->weights, nz += lnz, macs += was->macs, nz_macs += node_nz_macs(g, n);
    }
    char kept[48];
    snprintf(kept, sizeof kept, "%lld/%lld", (long long)f, (long long)f_before);
    print_row("total", "", kept, w, nz, macs, nz_macs, after ? total : NULL);
}

/* --energy-aware's needs and conflicts, as usage errors. */
static int check_energy_aware(const PruneArgs *a)
{
    const PruneOptions *po = &a->pipeline.prune;
    if (!po->energy_aware)
        return po->max_drop > 0 ? usage_error("prune", "--max-drop applies to --energy-aware") : EXIT_OK;
    if (po->structured || po->per_layer)
        return usage_error("prune", "--energy-aware chooses each layer's density itself: drop --%s",
                           po->structured ? "structured" : "per-layer");
    if (!a->arch)
        return usage_error("prune", "--energy-aware ranks layers by their energy on a spatial machine: "
                                    "give --arch NAME|FILE (eyeriss, ...)");
    if (!a->pipeline.calibrate)
        return usage_error("prune", "--energy-aware measures each layer's pruning on data: give --calibrate "
                                    "FILE (.npy or IDX, the network's input)");
    return EXIT_OK;
}

/* --energy-aware's outcome on the data; the layers' densities and energy
 * are in the report that follows. */
static void print_energy_outcome(void *ctx, const char *layer, double energy, double after, double density,
                                 int64_t changed, int64_t samples)
{
    (void)ctx;
    if (layer)
        return;
    printf("energy-aware: density %.1f%%, energy %.4g -> %.4g (%+.1f%%); %lld of %lld calibration samples "
           "changed their top-1 class (%.2f%%)\n",
           100.0 * density, energy, after, 100.0 * (after - energy) / energy, (long long)changed,
           (long long)samples, 100.0 * (double)changed / (double)samples);
}

int cmd_prune(int argc, char **argv)
{
    PruneArgs a = {0};
    int rc = model_command_parse(&cmd_prune_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_AS_WRITTEN);
    if (rc != OPTIONS_PARSED)
        return rc;
    if (!a.density_given && !a.pipeline.prune.energy_aware)
        return usage_error("prune", "give --density D, the share of weights to keep");
    rc = check_energy_aware(&a);
    if (rc != EXIT_OK)
        return rc;
    if (!model_is_onnx(a.model) && !a.weights.weights && !a.weights.random)
        return usage_error("prune", "give --weights FILE (or --random-weights SEED)");
    ArchSet *arch = NULL;
    if (a.arch) {
        arch = malloc(sizeof *arch);
        if (!arch || !arch_load(a.arch, arch, stderr)) {
            free(arch);
            return !strchr(a.arch, '/') && !strchr(a.arch, '.') ? EXIT_USAGE : EXIT_INPUT_ERROR;
        }
        a.pipeline.prune.arch = arch;
        a.pipeline.prune.on_choice = print_energy_outcome;
    }
    Model m;
    Diag d;
    diag_init(&d, stderr);
    if (!model_load(a.model, &a.weights, &d, &m)) {
        free(arch);
        return EXIT_INPUT_ERROR;
    }
    int count = 0;
    LayerBefore *before = record_layers(m.graph, &count);
    if (before && arch)
        record_energies(m.graph, arch, before, count);
    bool ok = before && model_optimize(&m, &a.weights, &a.pipeline, false, &d);
    if (!before)
        fprintf(stderr, "dnnc prune: out of memory\n");
    char suffix[32], *weights = NULL;
    if (a.density_given)
        snprintf(suffix, sizeof suffix, "-p%g", a.pipeline.prune.density * 100);
    else
        snprintf(suffix, sizeof suffix, "-energy");
    char *source = a.out ? strdup(a.out) : path_with_suffix(a.model, suffix);
    ok = ok && model_save_pair(m.graph, source, "prune", &weights);
    if (ok) {
        double *after = arch ? prune_layer_energies(m.graph, arch) : NULL;
        print_report(m.graph, before, count, after);
        free(after);
        printf("wrote %s and %s\n", source, weights);
    }
    free(arch);
    free_layers(before, count);
    free(source);
    free(weights);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
