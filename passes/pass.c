/* The table of passes (passes.def) and the counters passes report with. */
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
