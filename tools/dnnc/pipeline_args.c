/* The pipeline options every command that takes a model shares: --target,
 * -O and the pass manager's options (passes/pipeline.h), checked against
 * the target's pipeline before any model is read. */
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
    OPTIONS_END,
};

static int finish(PipelineArgs *p, const char *cmd, const char *default_target, DefaultLevel level)
{
    if (!p->target)
        p->target = target_find(default_target);
    if (!p->opt_given)
        p->passes.opt_level = level == LEVEL_AS_WRITTEN ? 0 : p->target->default_opt_level;
    /* Checked now, before the model is read: these are usage errors. */
    PassId plan[PIPELINE_MAX];
    int n;
    char err[512];
    if (!pipeline_plan(p->target->name, &p->passes, plan, &n, err, sizeof err))
        return usage_error(cmd, "%s", err);
    return OPTIONS_PARSED;
}

int model_command_parse(const CommandSpec *spec, int argc, char **argv, void *args,
                        PipelineArgs *p, const char *default_target, DefaultLevel level)
{
    int rc = options_parse(spec, argc, argv, args);
    return rc == OPTIONS_PARSED ? finish(p, spec->name, default_target, level) : rc;
}
