/* Activation layouts (types.h): their names in the language and which
 * shapes each can hold. */
#include <stdio.h>
#include <string.h>

#include "types.h"

static const char *const layout_names[] = {
    [LAYOUT_NCHW] = "nchw",
    [LAYOUT_NCHW16C] = "nchw16c",
};

const char *layout_name(Layout l) { return layout_names[l]; }

bool layout_from_name(const char *s, Layout *out)
{
    for (size_t i = 0; i < sizeof layout_names / sizeof *layout_names; i++)
        if (strcmp(s, layout_names[i]) == 0) {
            *out = (Layout)i;
            return true;
        }
    return false;
}

bool layout_fits_shape(Layout l, const Shape *s, char *why, size_t whysz)
{
    if (l == LAYOUT_NCHW)
        return true;
    if (s->rank != 4) {
        snprintf(why, whysz, "%s holds only 4-d tensors (this one has %d dimensions)", layout_name(l),
                 s->rank);
        return false;
    }
    if (s->d[1] % LAYOUT_BLOCK != 0) {
        snprintf(why, whysz, "%s needs channels in whole blocks of %d (this tensor has %lld)",
                 layout_name(l), LAYOUT_BLOCK, (long long)s->d[1]);
        return false;
    }
    return true;
}
