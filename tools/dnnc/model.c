/* Loading a model for a command: the model options, reading .dnn or .onnx,
 * binding weights, and the one place every command runs the pass pipeline. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
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

const Option model_options[] = {
    {"weights", 0, "FILE", "bind weights from a safetensors file (names like conv1.weight)",
     OPTION_CALL(parse_weights)},
    {"random-weights", 0, "SEED", "deterministic He-style random weights", OPTION_CALL(parse_seed)},
    OPTIONS_END,
};

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
        m->graph = onnx_import(path, NULL, d);
        m->weights_bound = true;
        return m->graph != NULL;
    }
    if (!source_read(path, &m->src, d))
        return false;
    m->graph = frontend_parse(&m->src, d);
    if (!m->graph)
        return false;
    m->weights_bound = bind;
    if (o && o->random)
        weights_randomize(m->graph, o->seed);
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

bool model_optimize(Model *m, const PipelineArgs *p, bool runs, Diag *d)
{
    PassOptions po = {
        .opt_level = p->passes.opt_level,
        .target = p->target,
        .diag = d,
        .arch = p->arch,
        .map = p->map,
    };
    if (pipeline_run(m->graph, &po, &p->passes) && (!runs || target_check_graph(p->target, m->graph, d)))
        return true;
    model_free(m);
    return false;
}

bool model_prepare(const char *path, const ModelArgs *o, const PipelineArgs *p, bool runs, Model *m)
{
    Diag d;
    diag_init(&d, stderr);
    return model_load(path, o, &d, m) && model_optimize(m, p, runs, &d);
}

void model_free(Model *m)
{
    graph_free(m->graph);
    source_free(&m->src);
    memset(m, 0, sizeof *m);
}
