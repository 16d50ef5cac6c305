/* The target table: the one place that knows which targets exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets_internal.h"

static const Target *const targets[] = {&target_reference, &target_cpu, &target_spatial};
#define N_TARGETS (int)(sizeof targets / sizeof *targets)

int target_count(void) { return N_TARGETS; }

const Target *target_at(int i) { return i >= 0 && i < N_TARGETS ? targets[i] : NULL; }

const Target *target_find(const char *name)
{
    for (int i = 0; i < N_TARGETS; i++)
        if (strcmp(targets[i]->name, name) == 0)
            return targets[i];
    return NULL;
}

const char *target_names(void)
{
    static char names[128];
    if (!names[0])
        for (int i = 0; i < N_TARGETS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i == 0 ? "" : i == N_TARGETS - 1 ? " or " : ", ", targets[i]->name);
    return names;
}

bool target_check_graph(const Target *t, const Graph *g, Diag *d)
{
    bool ok = true;
    for (int i = 0; i < g->n_nodes && !diag_too_many(d); i++) {
        const Node *n = &g->nodes[i];
        char why[256];
        if (!t->supports(g, n, why, sizeof why)) {
            diag_error(d, n->loc, "layer '%s': target %s cannot run %s: %s", n->name, t->name,
                       op_name(n->op), why);
            ok = false;
        }
    }
    return ok;
}

char *target_path_with(const char *base, const char *ext)
{
    char *path = malloc(strlen(base) + strlen(ext) + 1);
    if (path)
        strcat(strcpy(path, base), ext);
    return path;
}
