/* The pipeline options every command that takes a model shares: --target,
 * -O and the pass manager's options (passes/pipeline.h), checked against
 * the target's pipeline before any model is read. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static bool parse_target(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    p->target = target_find(value);
    if (!p->target)
        return option_error(u, "unknown target '%s' (%s)", value, target_names());
    return true;
}

const Option target_option[] = {
    {"target", 0, "NAME", "the target: its pass pipeline, and what runs or compiles the\n"
                          "network (dnnc passes lists the targets)",
     OPTION_CALL(parse_target)},
    OPTIONS_END,
};

static bool parse_level(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    if (strlen(value) != 1 || value[0] < '0' || value[0] > '3')
        return option_error(u, "-O takes a level from 0 to 3 (-O2 or -O 2), not '%s'", value);
    p->passes.opt_level = value[0] - '0';
    p->opt_given = true;
    return true;
}

/* "a,b,c" into ids, or an error naming the option. */
static bool parse_names(const char *value, PassId *ids, int *n, const OptionUse *u)
{
    char err[256];
    if (!pipeline_parse_list(value, ids, n, PIPELINE_MAX, err, sizeof err))
        return option_error(u, "%s: %s", u->spelled, err);
    return true;
}

static bool parse_passes(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    p->passes.custom = true;
    return parse_names(value, p->passes.only, &p->passes.n_only, u);
}

/* --disable-pass, --print-before and --print-after mark passes in a table
 * of PipelineOptions; they take lists too, and add up when repeated. */
static bool mark_passes(bool *marks, const char *value, const OptionUse *u)
{
    PassId ids[PIPELINE_MAX];
    int n;
    if (!parse_names(value, ids, &n, u))
        return false;
    for (int i = 0; i < n; i++)
        marks[ids[i]] = true;
    return true;
}

static bool parse_disable(void *section, const char *value, const OptionUse *u)
{
    return mark_passes(((PipelineArgs *)section)->passes.disabled, value, u);
}

static bool parse_print_before(void *section, const char *value, const OptionUse *u)
{
    return mark_passes(((PipelineArgs *)section)->passes.print_before, value, u);
}

static bool parse_print_after(void *section, const char *value, const OptionUse *u)
{
    return mark_passes(((PipelineArgs *)section)->passes.print_after, value, u);
}

static bool parse_max_conv_error(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    char *end;
    errno = 0;
    double e = strtod(value, &end);
    if (!*value || *end || errno || !(e > 0) || !isfinite(e))
        return option_error(u, "--max-conv-error needs a positive number (an error relative to a "
                               "layer's largest output, such as 1e-4), got '%s'", value);
    p->max_conv_error = e;
    return true;
}

/* "winograd", "winograd/4", "im2col": an algorithm, with a tile or its
 * default. */
static bool parse_conv_algo(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    AlgoChoice c;
    if (!algo_choice_parse_option(value, &c))
        return option_error(u, "--conv-algo takes direct, im2col, winograd or fft, with a tile as "
                               "in winograd/4 or fft/16 (winograd: 2, 4 or 6; fft: 4 to 64), got '%s'",
                            value);
    p->conv_algo = c;
    return true;
}

/* "auto", "any", or an encoding: dense, csr, csc. */
static bool parse_sparse(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    p->sparse_given = strcmp(value, "auto") != 0;
    p->sparse_any = strcmp(value, "any") == 0;
    if (!p->sparse_given || p->sparse_any)
        return true;
    if (!sparse_format_from_name(value, &p->sparse) || p->sparse == SPARSE_RLC)
        return option_error(u, "--sparse takes auto, any, dense, csr or csc, got '%s'", value);
    return true;
}

static bool parse_autotune(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    if (!*value)
        return option_error(u, "--autotune needs a file name");
    p->autotune = value;
    return true;
}

bool parse_quant_mode(const char *value, const OptionUse *u, QuantMode *out)
{
    if (!quant_mode_from_name(value, out))
        return option_error(u, "%s takes %s, got '%s'", u->spelled, quant_mode_names(), value);
    if (!quant_mode_ready(*out))
        return option_error(u, "%s %s is not implemented yet (docs/quantization.md)", u->spelled, value);
    return true;
}

static bool parse_quantize(void *section, const char *value, const OptionUse *u)
{
    return parse_quant_mode(value, u, &((PipelineArgs *)section)->quant.mode);
}

static bool parse_calibration(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    if (!calib_method_from_name(value, &p->quant.method))
        return option_error(u, "--calibration takes minmax, percentile or entropy, got '%s'", value);
    return true;
}

static bool parse_percentile(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (!*value || *end || errno || !(v > 0 && v <= 100))
        return option_error(u, "--percentile needs a share of values in (0, 100], such as 99.99, "
                               "got '%s'", value);
    p->quant.percentile = v;
    return true;
}

static bool parse_calibrate(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    if (!*value)
        return option_error(u, "--calibrate needs a file name");
    p->calibrate = value;
    return true;
}

static bool parse_calibrate_samples(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (!*value || *end || errno || v < 1)
        return option_error(u, "--calibrate-samples needs a positive count, got '%s'", value);
    p->calibrate_samples = v;
    return true;
}

static bool parse_weight_bits(void *section, const char *value, const OptionUse *u)
{
    PipelineArgs *p = section;
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (!*value || *end || errno || v < 1 || v > 8)
        return option_error(u, "--weight-bits takes the bits of a log2 or kmeans code, 1 to 8 (log2: 2 to 8), "
                               "got '%s'", value);
    p->quant.weight_bits = (int)v;
    return true;
}

bool parse_density(const char *value, const OptionUse *u, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (!*value || *end || errno || !(v > 0 && v <= 1))
        return option_error(u, "%s needs a density in (0, 1], the share of conv and fc weights kept "
                               "(0.1 keeps 10%%), got '%s'", u->spelled, value);
    *out = v;
    return true;
}

static bool parse_prune(void *section, const char *value, const OptionUse *u)
{
    return parse_density(value, u, &((PipelineArgs *)section)->prune.density);
}

/* The quantisation options, which dnnc quantize offers and every other
 * command takes among its pipeline options (dnnc map to cost the quantised
 * network, docs/accelerator.md "Precision"). */
const Option quantize_options[] = {
    {"quantize", 0, "MODE", "quantise conv and fc layers: int8, fixed8 or fixed16 (integers; need\n"
                            "--calibrate), or log2, kmeans, binary or ternary (weight codes,\n"
                            "float activations); runs at -O1 at least (batch norms folded\n"
                            "first) unless -O is given",
     OPTION_CALL(parse_quantize)},
    {"weight-bits", 0, "B", "bits of a log2 or kmeans weight code (default 4; kmeans: 2^B centroids)",
     OPTION_CALL(parse_weight_bits)},
    {"calibrate", 0, "FILE", "calibration data for --quantize, @precision(i8, i16) layers and dnnc\n"
                             "prune --energy-aware: .npy or IDX, read like dnnc run's --input, in\n"
                             "batches of the input",
     OPTION_CALL(parse_calibrate)},
    {"calibrate-samples", 0, "N", "calibrate on the first N samples of the file (default: all)",
     OPTION_CALL(parse_calibrate_samples)},
    {"calibration", 0, "METHOD", "how a range is read off the data: minmax (default), percentile\n"
                                 "or entropy (KL divergence, as TensorRT)",
     OPTION_CALL(parse_calibration)},
    {"percentile", 0, "P", "--calibration percentile keeps P% of |x| (default 99.99)",
     OPTION_CALL(parse_percentile)},
    {"per-tensor", 0, NULL, "one weight scale per layer (default: one per filter)",
     OPTION_FLAG(PipelineArgs, quant.per_tensor)},
    {"symmetric", 0, NULL, "activations with zero point 0 (i8 where they can be negative;\n"
                           "default: u8 with a zero point)",
     OPTION_FLAG(PipelineArgs, quant.symmetric)},
    {"quantize-first-last", 0, NULL, "quantise the first and last conv/fc layers too (by default\n"
                                     "they stay float32, as the survey advises)",
     OPTION_FLAG(PipelineArgs, quant.first_last)},
    OPTIONS_END,
};

/* The pruning options, which dnnc prune offers and every other command
 * (dnnc map too) takes among its pipeline options. */
const Option prune_options[] = {
    {"prune", 0, "DENSITY", "magnitude pruning: keep this share of the conv and fc weights,\n"
                            "the largest in magnitude over all layers (docs/pruning.md)",
     OPTION_CALL(parse_prune)},
    {"prune-per-layer", 0, NULL, "--prune every layer to the density (default: one threshold)",
     OPTION_FLAG(PipelineArgs, prune.per_layer)},
    {"prune-structured", 0, NULL, "--prune whole filters: each layer keeps that share of its filters\n"
                                  "(smallest L1 norms go) and the network shrinks",
     OPTION_FLAG(PipelineArgs, prune.structured)},
    {"prune-layers", 0, "L1,L2,..", "--prune only these conv and fc layers", OPTION_STRING(PipelineArgs, prune.layers)},
    OPTIONS_END,
};

const Option pipeline_options[] = {
    {NULL, 'O', "LEVEL", "optimisation level 0 to 3, also written -O2", OPTION_CALL(parse_level)},
    {"passes", 0, "P1,P2,..", "run these optimisation passes, in this order, instead of -O's\n"
                              "(the target's lowering passes always run)",
     OPTION_CALL(parse_passes)},
    {"disable-pass", 0, "PASS", "do not run PASS (repeatable)", OPTION_CALL(parse_disable)},
    {"print-before", 0, "PASS", "print the IR to stderr before PASS runs (repeatable)",
     OPTION_CALL(parse_print_before)},
    {"print-after", 0, "PASS", "print the IR to stderr after PASS runs (repeatable)",
     OPTION_CALL(parse_print_after)},
    {"print-after-all", 0, NULL, "print the IR to stderr after every pass",
     OPTION_FLAG(PipelineArgs, passes.print_after_all)},
    {"verify-each", 0, NULL, "verify the IR after every pass",
     OPTION_FLAG(PipelineArgs, passes.verify_each)},
    {"pass-stats", 0, NULL, "print what every pass changed and its time, to stderr",
     OPTION_FLAG(PipelineArgs, passes.stats)},
    {"max-conv-error", 0, "E", "never choose a fast convolution (Winograd, FFT) whose error,\n"
                               "measured on the layer, exceeds E of its largest output\n"
                               "(default 1e-4); @algo on a layer is not held to it",
     OPTION_CALL(parse_max_conv_error)},
    {"conv-algo", 0, "ALGO", "run every conv without @algo by ALGO where it can (direct,\n"
                             "im2col, winograd, fft; a tile as in winograd/4), as if\n"
                             "@algo said so; elsewhere the choice is as usual",
     OPTION_CALL(parse_conv_algo)},
    {"sparse", 0, "ENC", "encode the weights of every conv and fc without @sparse as ENC\n"
                         "where a kernel computes the layer from it (dense, csr, csc;\n"
                         "any: whichever one it has), as if @sparse said so; auto\n"
                         "(default): by each layer's density and the target's\n"
                         "measured crossover",
     OPTION_CALL(parse_sparse)},
    {"autotune", 0, "FILE", "choose each conv's algorithm by timing every candidate on this\n"
                            "machine (target cpu), its weights read from memory as in a\n"
                            "network; the times are kept in FILE, and shapes already\n"
                            "there are not measured again",
     OPTION_CALL(parse_autotune)},
    OPTIONS_END,
};

/* Whether target t has a kernel that reads weights encoded as f. */
static bool target_has_sparse(const Target *t, SparseFormat f)
{
    int n = 0;
    const KernelRow *rows = t->registry ? t->registry(&n) : NULL;
    for (int k = 0; k < n; k++)
        if (rows[k].sparse == f)
            return true;
    return false;
}

/* Whether target t has a conv kernel for --conv-algo's algorithm and tile. */
static bool target_has_conv_algo(const Target *t, AlgoChoice c)
{
    int n = 0;
    const KernelRow *rows = t->registry ? t->registry(&n) : NULL;
    for (int k = 0; k < n; k++)
        if (rows[k].op == OP_CONV && rows[k].algo == c.algo && kernel_row_has_tile(&rows[k], c.tile))
            return true;
    return false;
}

static int finish(PipelineArgs *p, const char *cmd, const char *default_target, DefaultLevel level)
{
    if (!p->target)
        p->target = target_find(default_target);
    if (!p->opt_given)
        p->passes.opt_level = level == LEVEL_AS_WRITTEN ? 0 : p->target->default_opt_level;
    /* Quantising a conv before the batch norm after it is folded in would
     * scale the wrong values: --quantize runs at -O1 at least unless -O
     * says otherwise. */
    if (!p->opt_given && p->quant.mode != QUANT_NONE && p->passes.opt_level < 1)
        p->passes.opt_level = 1;
    char algo[32];
    algo_choice_text(p->conv_algo, algo, sizeof algo);
    if (p->conv_algo.algo != ALGO_AUTO && !target_has_conv_algo(p->target, p->conv_algo))
        return usage_error(cmd, "--conv-algo %s: target %s has no conv kernel for it", algo,
                           p->target->name);
    if (p->sparse_given && !p->sparse_any && p->sparse != SPARSE_NONE && !target_has_sparse(p->target, p->sparse))
        return usage_error(cmd, "--sparse %s: target %s has no kernel for %s weights",
                           sparse_format_name(p->sparse), p->target->name, sparse_format_name(p->sparse));
    if ((p->prune.per_layer || p->prune.structured || p->prune.layers) && p->prune.density == 0)
        return usage_error(cmd, "--prune-%s needs --prune DENSITY",
                           p->prune.per_layer ? "per-layer" : p->prune.structured ? "structured" : "layers");
    if (p->prune.per_layer && p->prune.structured)
        return usage_error(cmd, "structured pruning is per layer already (filter norms of different "
                                "layers do not compare): drop --per-layer");
    if (p->quant.percentile == 0)
        p->quant.percentile = 99.99;
    if (p->quant.mode != QUANT_NONE && !quant_mode_codes_weights(p->quant.mode) && !p->calibrate)
        return usage_error(cmd, "quantising to %s needs calibration data: --calibrate FILE",
                           quant_mode_name(p->quant.mode));
    if (p->quant.weight_bits && p->quant.mode != QUANT_LOG2 && p->quant.mode != QUANT_KMEANS)
        return usage_error(cmd, "--weight-bits applies to --quantize log2 and kmeans");
    if (p->autotune && p->target != target_find("cpu"))
        return usage_error(cmd, "--autotune times the cpu target's kernels on this machine; target "
                                "%s has none to time", p->target->name);
    /* Checked now, before the model is read: these are usage errors. */
    PassId plan[PIPELINE_MAX];
    int n;
    char err[512];
    if (!pipeline_plan(p->target->name, &p->passes, plan, &n, err, sizeof err))
        return usage_error(cmd, "%s", err);
    bool quantizes = false;
    for (int i = 0; i < n; i++)
        quantizes = quantizes || plan[i] == PASS_ID_quantize;
    if ((p->quant.mode != QUANT_NONE || p->calibrate) && !quantizes)
        return usage_error(cmd, "--%s: target %s does not run the quantize pass",
                           p->quant.mode != QUANT_NONE ? "quantize" : "calibrate", p->target->name);
    return OPTIONS_PARSED;
}

int model_command_parse(const CommandSpec *spec, int argc, char **argv, void *args,
                        PipelineArgs *p, const char *default_target, DefaultLevel level)
{
    int rc = options_parse(spec, argc, argv, args);
    return rc == OPTIONS_PARSED ? finish(p, spec->name, default_target, level) : rc;
}
