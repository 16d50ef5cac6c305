/* The pipelines of pipeline.c, for the pass manager (manager.c). */
#ifndef DNNC_PIPELINE_TABLE_H
#define DNNC_PIPELINE_TABLE_H

#include "pass.h"

typedef struct TargetPipeline {
    const char *target; /* the name in the target table (targets/targets.c) */
    const PassId *passes;
    int n_passes;
} TargetPipeline;

extern const TargetPipeline target_pipelines[];
extern const int n_target_pipelines;

#endif
