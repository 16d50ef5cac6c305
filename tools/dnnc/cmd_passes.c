/* dnnc passes: every pass, and the pipeline each target runs at each -O
 * level, as --passes, --disable-pass and --print-after name them. */
#include <stdio.h>
#include <string.h>

#include "driver.h"

typedef struct PassesArgs {
    bool unused; /* the command has no options but --help */
} PassesArgs;

const CommandSpec cmd_passes_spec = {
    .name = "passes",
    .summary = "list the passes and each target's pipeline at -O0 to -O3",
    .usage = "dnnc passes",
    .description =
        "Lists every pass with the lowest -O level that runs it ('always' for a\n"
        "target's lowering passes, which cannot be disabled), the targets whose\n"
        "pipeline has it and what it does; then, for each target, the passes its\n"
        "pipeline runs at -O0, -O1, -O2 and -O3, in order. These are the names\n"
        "--passes, --disable-pass, --print-before and --print-after take.",
};

#define WRAP_COLUMN 78

/* "  -O2  a, b, c" wrapped under the first pass name. */
static void print_plan(int level, const PassId *plan, int n)
{
    int col = printf("    -O%d ", level);
    const int indent = col;
    for (int i = 0; i < n; i++) {
        const char *name = pass_info(plan[i])->name;
        int len = (int)strlen(name) + (i + 1 < n ? 1 : 0);
        if (i > 0 && col + 1 + len > WRAP_COLUMN)
            col = printf("\n%*s", indent, "") - 1;
        col += printf(" %s%s", name, i + 1 < n ? "," : "");
    }
    if (n == 0)
        printf(" (none)");
    printf("\n");
}

static bool print_pipelines(void)
{
    for (int t = 0; t < target_count(); t++) {
        const Target *target = target_at(t);
        printf("  %s (default -O%d)\n", target->name, target->default_opt_level);
        for (int level = 0; level <= 3; level++) {
            PipelineOptions p = {.opt_level = level};
            PassId plan[PIPELINE_MAX];
            int n;
            char err[512];
            if (!pipeline_plan(target->name, &p, plan, &n, err, sizeof err)) {
                fprintf(stderr, "dnnc passes: error: %s\n", err);
                return false;
            }
            print_plan(level, plan, n);
        }
    }
    return true;
}

int cmd_passes(int argc, char **argv)
{
    PassesArgs a = {0};
    int rc = options_parse(&cmd_passes_spec, argc, argv, &a);
    if (rc != OPTIONS_PARSED)
        return rc;
    printf("passes (name, lowest -O level, targets, what it does):\n");
    pipeline_describe(stdout);
    printf("\npipelines (the passes each target runs at each level, in order):\n");
    return print_pipelines() ? EXIT_OK : EXIT_INPUT_ERROR;
}
