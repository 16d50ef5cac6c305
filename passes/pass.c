/* The table of passes (passes.def), the counters passes report with, and
 * what several passes ask of the graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pass.h"

static const PassInfo passes[] = {
#define PASS(fn, name, level, desc) {pass_##fn, name, level, desc},
#include "passes.def"
#undef PASS
};

const PassInfo *pass_info(PassId id) { return &passes[id]; }

bool pass_from_name(const char *name, PassId *out)
{
    for (int i = 0; i < PASS_COUNT; i++)
        if (strcmp(passes[i].name, name) == 0) {
            *out = (PassId)i;
            return true;
        }
    return false;
}

void pass_count(PassReport *r, const char *what, int64_t n)
{
    if (n == 0)
        return;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->counters[i].what, what) == 0) {
            r->counters[i].count += n;
            return;
        }
    if (r->n < PASS_MAX_COUNTERS) {
        r->counters[r->n].what = what;
        r->counters[r->n++].count = n;
    }
}

int64_t pass_changes(const PassReport *r)
{
    int64_t total = 0;
    for (int i = 0; i < r->n; i++)
        total += r->counters[i].count;
    return total;
}

bool pass_param_name_free(const Graph *g, const Node *n, const char *suffix)
{
    char small[512];
    size_t len = strlen(n->name) + 1 + strlen(suffix) + 1;
    char *name = len <= sizeof small ? small : malloc(len);
    if (!name)
        return false; /* out of memory: the layer keeps what it has */
    snprintf(name, len, "%s.%s", n->name, suffix);
    bool free_name = graph_find_tensor(g, name) < 0;
    if (name != small)
        free(name);
    return free_name;
}

/* Whether a new layer may be called name: the name and every parameter
 * name it may take are free. */
static bool layer_name_taken(const Graph *g, const char *name)
{
    static const char *const suffixes[] = {"", ".scale", ".zero_point", ".weight", ".x_scale",
                                           ".x_zero_point", ".w_scale", ".w_zero_point",
                                           ".y_scale", ".y_zero_point", ".bias"};
    char buf[512];
    for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes; k++) {
        snprintf(buf, sizeof buf, "%s%s", name, suffixes[k]);
        if (graph_find_tensor(g, buf) >= 0)
            return true;
    }
    return false;
}

const char *pass_fresh_name(Graph *g, const char *base, const char *suffix)
{
    const char *name = arena_printf(&g->arena, "%s_%s", base, suffix);
    for (int k = 2; layer_name_taken(g, name); k++)
        name = arena_printf(&g->arena, "%s_%s_%d", base, suffix, k);
    return name;
}
