/* Loading a model for a command: the model options, reading .dnn or .onnx,
 * binding weights, and the one place every command runs the pass pipeline. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autotune.h"
#include "calibration.h"
#include "memory.h"
#include "onnx_import.h"
#include "progress.h"
#include "oom.h"
#include "weights.h"

/* ---- --weights / --random-weights ---- */

static bool exclusive(const ModelArgs *m, const OptionUse *u)
{
    if (m->weights && m->random)
        return option_error(u, "--weights and --random-weights exclude each other");
    return true;
}

static bool parse_weights(void *section, const char *value, const OptionUse *u)
{
    ModelArgs *m = section;
    m->weights = value;
    return exclusive(m, u);
}

static bool parse_seed(void *section, const char *value, const OptionUse *u)
{
    ModelArgs *m = section;
    char *end;
    errno = 0;
    m->seed = strtoull(value, &end, 0);
    /* strtoull accepts "-1" as a huge number: a seed is written as given. */
    if (!*value || *end || errno || value[0] == '-')
        return option_error(u, "--random-weights needs a non-negative integer seed, got '%s'", value);
    m->random = true;
    return exclusive(m, u);
}

static bool parse_max_memory(void *section, const char *value, const OptionUse *u)
{
    ModelArgs *m = section;
    if (!memory_parse(value, &m->max_memory))
        return option_error(u, "--max-memory needs a size such as 512M, 4G or a number of bytes, "
                               "got '%s'", value);
    return true;
}

const Option model_options[] = {
    {"weights", 0, "FILE", "bind weights from a safetensors file (names like conv1.weight)",
     OPTION_CALL(parse_weights)},
    {"random-weights", 0, "SEED", "deterministic He-style random weights", OPTION_CALL(parse_seed)},
    {"max-memory", 0, "SIZE", "the memory dnnc may use for weights and buffers (512M, 4G, bytes;\n"
                              "default: what the system has available now); a network that\n"
                              "needs more is an error naming its largest layer",
     OPTION_CALL(parse_max_memory)},
    OPTIONS_END,
};

/* ---- memory ---- */

static uint64_t memory_limit(const ModelArgs *o)
{
    return o && o->max_memory ? o->max_memory : (uint64_t)memory_available();
}

/* need (what `what` asks for, on top of `already` bytes held) must fit the
 * limit; otherwise an error naming the bytes and the largest layer. */
static bool fits(const MemoryNeed *need, uint64_t already, const char *what, const ModelArgs *o,
                 Diag *d)
{
    uint64_t limit = memory_limit(o);
    if (already <= limit && need->bytes <= limit - already)
        return true;
    char total[32], largest[32], held[32], allowed[32];
    memory_format(need->bytes, total, sizeof total);
    memory_format(need->largest, largest, sizeof largest);
    memory_format(already, held, sizeof held);
    memory_format(limit, allowed, sizeof allowed);
    char on_top[64] = "";
    if (already)
        snprintf(on_top, sizeof on_top, " on top of the %s of weights", held);
    diag_error(d, SRCLOC_NONE, "%s need %s (%llu bytes; layer '%s' the largest, %s)%s: more than the "
                               "%s dnnc may use (%s)", what, total, (unsigned long long)need->bytes,
               need->layer ? need->layer : "?", largest, on_top, allowed,
               o && o->max_memory ? "--max-memory" : "the memory available now; see --max-memory");
    return false;
}

/* ---- loading ---- */

bool model_is_onnx(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".onnx") == 0;
}

static bool load_graph(const char *path, const ModelArgs *o, Diag *d, Model *m)
{
    bool bind = o && (o->weights || o->random);
    if (model_is_onnx(path)) {
        if (bind) {
            diag_error(d, SRCLOC_NONE, "%s: an ONNX model carries its own weights; "
                                       "--weights and --random-weights do not apply", path);
            return false;
        }
        OnnxImportOptions import = {.weights_dir = o ? o->weights_dir : NULL};
        m->graph = onnx_import(path, &import, d);
        m->weights_bound = true;
        return m->graph != NULL;
    }
    if (!source_read(path, &m->src, d))
        return false;
    m->graph = frontend_parse(&m->src, d);
    if (!m->graph)
        return false;
    m->weights_bound = bind;
    MemoryNeed weights = memory_weights(m->graph);
    if (bind && !fits(&weights, 0, "the network's weights", o, d))
        return false;
    if (o && o->random && !weights_randomize(m->graph, o->seed)) {
        diag_error(d, SRCLOC_NONE, "%s: out of memory binding random weights (%zu bytes)", path,
                   oom_failed_bytes());
        return false;
    }
    return !(o && o->weights) || weights_load(m->graph, o->weights, d);
}

bool model_load(const char *path, const ModelArgs *o, Diag *d, Model *m)
{
    memset(m, 0, sizeof *m);
    if (load_graph(path, o, d, m))
        return true;
    model_free(m);
    return false;
}

/* The graph's weights are allocated already; the target's buffers come on top. */
static bool target_fits(const Graph *g, const Target *t, const ModelArgs *o, Diag *d)
{
    MemoryNeed need = t->memory(g);
    char what[128];
    snprintf(what, sizeof what, "compiling and running on target %s: its buffers and copies of the "
                                "weights", t->name);
    return fits(&need, memory_weights(g).bytes, what, o, d);
}

/* --autotune: the measurements select-algo reads and extends. */
typedef struct Tuning {
    AlgoChoices choices;
    AutotuneContext context;
    AlgoTuning pass;
    int known; /* shapes in the file before the pipeline */
} Tuning;

/* The threads the code will run on: run's and bench's --threads, else
 * (compile, dump, stats) this machine's cores. */
static int run_threads(const PipelineArgs *p)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return p->threads ? p->threads : cores > 0 ? (int)cores : 1;
}

static bool tuning_start(const PipelineArgs *p, Tuning *t, Diag *d)
{
    if (!algo_choices_load(p->autotune, &t->choices, d))
        return false;
    t->context.threads = run_threads(p);
    t->pass = (AlgoTuning){&t->choices, t->context.threads, autotune_machine(), autotune_measure,
                           &t->context};
    t->known = t->choices.n;
    return true;
}

/* Writes the file back when shapes were measured, and says so. */
static bool tuning_finish(const PipelineArgs *p, Tuning *t, bool ok, Diag *d)
{
    if (ok && t->choices.changed) {
        char err[512];
        if (!algo_choices_save(&t->choices, p->autotune, err, sizeof err)) {
            diag_error(d, SRCLOC_NONE, "--autotune: %s", err);
            ok = false;
        } else {
            fprintf(stderr, "dnnc: --autotune: timed %d new conv shape%s on %d thread%s, kept in %s\n",
                    t->choices.n - t->known, t->choices.n - t->known == 1 ? "" : "s",
                    t->context.threads, t->context.threads == 1 ? "" : "s", p->autotune);
        }
    }
    algo_choices_free(&t->choices);
    return ok;
}

static void on_calibration(void *ctx, int64_t done, int64_t total)
{
    Progress *bar = ctx;
    bar->total = total;
    progress_step(bar, done);
}

/* --calibrate: the batches quantize measures ranges on, with a progress
 * bar while it runs them. */
static bool calibration_start(const PipelineArgs *p, const Graph *g, CalibrationData *data,
                              QuantOptions *q, Progress *bar, Diag *d)
{
    *q = p->quant;
    if (!p->calibrate)
        return true;
    if (!calibration_load(p->calibrate, p->calibrate_samples, g, data, d))
        return false;
    q->batches = data->batches;
    q->n_batches = data->n_batches;
    q->progress = on_calibration;
    q->progress_ctx = bar;
    progress_start(bar, "calibrating", data->n_batches);
    return true;
}

bool model_optimize(Model *m, const ModelArgs *o, const PipelineArgs *p, bool runs, Diag *d)
{
    PassOptions po = {
        .opt_level = p->passes.opt_level,
        .target = p->target,
        .diag = d,
        .arch = p->arch,
        .map = p->map,
        .max_conv_error = p->max_conv_error,
        .prefer_algo = p->conv_algo.algo,
        .prefer_tile = p->conv_algo.tile,
        .force_sparse = p->sparse_given,
        .sparse = p->sparse,
        .sparse_any = p->sparse_any,
        .threads = run_threads(p),
    };
    CalibrationData calibration = {0};
    QuantOptions quant;
    Progress bar = {0};
    if (!calibration_start(p, m->graph, &calibration, &quant, &bar, d)) {
        model_free(m);
        return false;
    }
    po.quant = &quant;
    PruneOptions prune = p->prune; /* energy-aware pruning runs on the calibration data too */
    prune.batches = quant.batches;
    prune.n_batches = quant.n_batches;
    po.prune = &prune;
    Tuning tuning;
    bool ok = !p->autotune || tuning_start(p, &tuning, d);
    if (ok && p->autotune)
        po.tuning = &tuning.pass;
    ok = ok && pipeline_run(m->graph, &po, &p->passes);
    if (p->autotune)
        ok = tuning_finish(p, &tuning, ok, d) && ok;
    if (p->calibrate)
        progress_finish(&bar);
    calibration_free(&calibration);
    if (ok && (!runs || (target_check_graph(p->target, m->graph, d) &&
                         target_fits(m->graph, p->target, o, d))))
        return true;
    model_free(m);
    return false;
}

bool model_prepare(const char *path, const ModelArgs *o, const PipelineArgs *p, bool runs, Model *m)
{
    Diag d;
    diag_init(&d, stderr);
    return model_load(path, o, &d, m) && model_optimize(m, o, p, runs, &d);
}

void model_free(Model *m)
{
    graph_free(m->graph);
    source_free(&m->src);
    memset(m, 0, sizeof *m);
}
