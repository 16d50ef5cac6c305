/* The pass manager: turns a target's pipeline and the options into a plan,
 * runs it, and after every pass compacts the graph, verifies it when asked,
 * and prints or counts what the options ask for. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oom.h"
#include "pipeline.h"
#include "pipeline_table.h"
#include "target.h"

static const TargetPipeline *find_pipeline(const char *target)
{
    for (int i = 0; i < n_target_pipelines; i++)
        if (strcmp(target_pipelines[i].target, target) == 0)
            return &target_pipelines[i];
    return NULL;
}

static bool in_list(const PassId *list, int n, PassId id)
{
    for (int i = 0; i < n; i++)
        if (list[i] == id)
            return true;
    return false;
}

static bool is_lowering(PassId id) { return pass_info(id)->min_level == 0; }

/* --passes and --disable-pass may only name optimisation passes of this
 * target: its lowering always runs. */
static bool check_named(const TargetPipeline *tp, PassId id, const char *option, char *err,
                        size_t errsz)
{
    const char *name = pass_info(id)->name;
    if (!in_list(tp->passes, tp->n_passes, id)) {
        snprintf(err, errsz, "%s: pass '%s' does not run on target %s", option, name, tp->target);
        return false;
    }
    if (is_lowering(id)) {
        snprintf(err, errsz, "%s: pass '%s' always runs on target %s (it honours annotations and "
                             "records what code generation needs)", option, name, tp->target);
        return false;
    }
    return true;
}

/* A pass named by --print-before/after must be in the plan: printing
 * nothing would leave the user wondering. */
static bool check_printed(const PipelineOptions *p, const TargetPipeline *tp, const PassId *plan,
                          int n, char *err, size_t errsz)
{
    for (int id = 0; id < PASS_COUNT; id++)
        if ((p->print_before[id] || p->print_after[id]) && !in_list(plan, n, (PassId)id)) {
            snprintf(err, errsz, "--print-%s=%s: the pass does not run on target %s at -O%d%s",
                     p->print_before[id] ? "before" : "after", pass_info((PassId)id)->name,
                     tp->target, p->opt_level, p->custom ? " with these --passes" : "");
            return false;
        }
    return true;
}

bool pipeline_plan(const char *target, const PipelineOptions *p, PassId *out, int *n, char *err,
                   size_t errsz)
{
    const TargetPipeline *tp = find_pipeline(target);
    *n = 0;
    if (!tp) {
        snprintf(err, errsz, "target %s has no pass pipeline", target);
        return false;
    }
    for (int id = 0; id < PASS_COUNT; id++)
        if (p->disabled[id] && !check_named(tp, (PassId)id, "--disable-pass", err, errsz))
            return false;
    for (int i = 0; p->custom && i < p->n_only; i++) {
        if (!check_named(tp, p->only[i], "--passes", err, errsz))
            return false;
        if (!p->disabled[p->only[i]])
            out[(*n)++] = p->only[i];
    }
    for (int i = 0; i < tp->n_passes; i++) {
        PassId id = tp->passes[i];
        bool chosen = is_lowering(id) ||
                      (!p->custom && !p->disabled[id] && pass_info(id)->min_level <= p->opt_level);
        if (chosen && *n < PIPELINE_MAX)
            out[(*n)++] = id;
    }
    return check_printed(p, tp, out, *n, err, errsz);
}

static void print_graph(const PipelineOptions *p, const Graph *g, const char *when, PassId id)
{
    FILE *log = p->log ? p->log : stderr;
    fprintf(log, "# *** IR %s %s ***\n", when, pass_info(id)->name);
    graph_print(g, log);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_stats(const PipelineOptions *p, PassId id, const PassReport *r, double seconds)
{
    FILE *log = p->log ? p->log : stderr;
    fprintf(log, "pass-stats: %-20s %8.2f ms", pass_info(id)->name, seconds * 1e3);
    if (r->n == 0)
        fputs("  no change", log);
    for (int i = 0; i < r->n; i++)
        fprintf(log, "%s %lld %s", i ? "," : " ", (long long)r->counters[i].count, r->counters[i].what);
    fputc('\n', log);
}

/* Debug builds and builds with the test suite (DNNC_VERIFY_PASSES, set by
 * CMake) verify after every pass whatever the options say. */
#if !defined(NDEBUG) || defined(DNNC_VERIFY_PASSES)
#define VERIFY_ALWAYS true
#else
#define VERIFY_ALWAYS false
#endif

static bool run_one(Graph *g, const PassOptions *o, const PipelineOptions *p, PassId id)
{
    if (p->print_before[id])
        print_graph(p, g, "before", id);
    PassReport r = {0};
    double t0 = seconds_now();
    if (!pass_info(id)->run(g, o, &r))
        return false;
    char err[512];
    if (!graph_compact(g, err, sizeof err)) {
        diag_error(o->diag, SRCLOC_NONE, "after pass %s: %s", pass_info(id)->name, err);
        return false;
    }
    double seconds = seconds_now() - t0;
    graph_release_weights(g); /* the next pass reads what it needs again */
    if ((p->verify_each || VERIFY_ALWAYS) && !graph_verify(g, o->diag)) {
        diag_error(o->diag, SRCLOC_NONE, "internal error: the graph does not verify after pass %s",
                   pass_info(id)->name);
        return false;
    }
    if (p->print_after[id] || p->print_after_all)
        print_graph(p, g, "after", id);
    if (p->stats)
        print_stats(p, id, &r, seconds);
    return true;
}

static bool has_algo(const Annotations *a) { return a->algo != ALGO_AUTO; }
static bool has_precision(const Annotations *a) { return a->has_precision; }
static bool has_sparse(const Annotations *a) { return a->has_sparse; }
static bool has_dataflow(const Annotations *a) { return a->dataflow != DATAFLOW_AUTO; }
static bool has_mapping(const Annotations *a) { return a->mapping.present; }
static bool has_offset(const Annotations *a) { return a->has_offset; }

/* The pass that reads each annotation: only it can honour it. */
static const struct {
    const char *spelling;
    bool (*present)(const Annotations *a);
    PassId owner;
} annotation_owners[] = {
    {"@algo", has_algo, PASS_ID_select_algo},
    {"@precision", has_precision, PASS_ID_select_precision},
    {"@sparse", has_sparse, PASS_ID_select_sparsity},
    {"@dataflow", has_dataflow, PASS_ID_map_dataflow},
    {"@mapping", has_mapping, PASS_ID_map_dataflow},
    {"@offset", has_offset, PASS_ID_plan_memory},
};

/* An annotation whose pass is not in the plan would be ignored: that is an
 * error naming the layer, never silence. */
static bool check_annotations(const Graph *g, const PassOptions *o, const PassId *plan, int n)
{
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < sizeof annotation_owners / sizeof *annotation_owners; k++) {
            const Node *node = &g->nodes[i];
            PassId owner = annotation_owners[k].owner;
            if (!annotation_owners[k].present(&node->ann) || in_list(plan, n, owner))
                continue;
            diag_error(o->diag, node->loc, "layer '%s': %s cannot be honoured on target %s: its "
                                           "pipeline has no %s pass", node->name,
                       annotation_owners[k].spelling, o->target->name, pass_info(owner)->name);
            ok = false;
        }
    return ok;
}

bool pipeline_run(Graph *g, const PassOptions *o, const PipelineOptions *p)
{
    PassId plan[PIPELINE_MAX];
    int n;
    char err[512];
    if (!pipeline_plan(o->target->name, p, plan, &n, err, sizeof err)) {
        diag_error(o->diag, SRCLOC_NONE, "%s", err);
        return false;
    }
    if (!check_annotations(g, o, plan, n))
        return false;
    /* Passes grow the graph's arena, which throws when memory runs out
     * (oom.h); the graph is then half rewritten and the caller drops it. */
    volatile int running = 0;
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        diag_error(o->diag, SRCLOC_NONE, "out of memory in pass %s (%zu bytes more were needed)",
                   pass_info(plan[running])->name, oom_failed_bytes());
        return false;
    }
    for (; running < n; running++)
        if (!run_one(g, o, p, plan[running])) {
            oom_pop(&oom);
            return false;
        }
    oom_pop(&oom);
    return true;
}

bool pipeline_parse_list(const char *csv, PassId *out, int *n, int max, char *err, size_t errsz)
{
    *n = 0;
    const char *s = csv;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char name[64];
        if (len == 0 || len >= sizeof name) {
            snprintf(err, errsz, "'%s' is not a comma-separated list of passes", csv);
            return false;
        }
        memcpy(name, s, len);
        name[len] = '\0';
        PassId id;
        if (!pass_from_name(name, &id)) {
            snprintf(err, errsz, "unknown pass '%s' (dnnc passes lists them)", name);
            return false;
        }
        if (*n == max) {
            snprintf(err, errsz, "more than %d passes", max);
            return false;
        }
        out[(*n)++] = id;
        s += len + (comma ? 1 : 0);
        if (comma && !*s) {
            snprintf(err, errsz, "'%s' ends with a comma", csv);
            return false;
        }
    }
    return true;
}

void pipeline_describe(FILE *out)
{
    for (int id = 0; id < PASS_COUNT; id++) {
        const PassInfo *info = pass_info((PassId)id);
        char targets[128] = "";
        for (int t = 0; t < n_target_pipelines; t++)
            if (in_list(target_pipelines[t].passes, target_pipelines[t].n_passes, (PassId)id))
                snprintf(targets + strlen(targets), sizeof targets - strlen(targets), "%s%s",
                         targets[0] ? "," : "", target_pipelines[t].target);
        char level[16];
        if (info->min_level == 0)
            snprintf(level, sizeof level, "always");
        else
            snprintf(level, sizeof level, "-O%d", info->min_level);
        fprintf(out, "  %-19s %-7s %-22s %s\n", info->name, level, targets, info->description);
    }
}
