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
    return true;
}

int64_t layout_stored_channels(Layout l, int64_t c)
{
    return l == LAYOUT_NCHW ? c : (c + LAYOUT_BLOCK - 1) / LAYOUT_BLOCK * LAYOUT_BLOCK;
}

/* elems / C * stored C: exact (C divides elems). A padded tensor holds
 * at most 16 times its shape's elements, and shapes hold at most
 * DNNC_MAX_ELEMS = 2^48 (checked.h), so this stays below 2^52. */
int64_t layout_stored_elems(Layout l, const Shape *s)
{
    int64_t elems = shape_elems(s);
    if (l == LAYOUT_NCHW || s->d[1] == 0)
        return elems;
    return elems / s->d[1] * layout_stored_channels(l, s->d[1]);
}
