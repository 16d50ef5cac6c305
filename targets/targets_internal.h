/* The rows of the target table, one file each (targets.c lists them). */
#ifndef DNNC_TARGETS_INTERNAL_H
#define DNNC_TARGETS_INTERNAL_H

#include "target.h"

extern const Target target_reference;
extern const Target target_cpu;
extern const Target target_spatial;

#endif
