/* The rows of the target table, one file each (targets.c lists them). */
#ifndef DNNC_TARGETS_INTERNAL_H
#define DNNC_TARGETS_INTERNAL_H

#include "target.h"

extern const Target target_reference;
extern const Target target_cpu;
extern const Target target_spatial;

/* base followed by ext (malloc'd; NULL when memory runs out): the files
 * emit writes beside its base path. */
char *target_path_with(const char *base, const char *ext);

#endif
