/* Loading a bundle's .weights blob. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "dnnrt.h"

void *dnnrt_load_weights(const char *path, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *p = dnnrt_aligned_alloc(size);
    /* The file must hold exactly `size` bytes: one more read must hit EOF. */
    bool ok = p && fread(p, 1, size, f) == size && fgetc(f) == EOF;
    fclose(f);
    if (!ok) {
        free(p);
        return NULL;
    }
    return p;
}
