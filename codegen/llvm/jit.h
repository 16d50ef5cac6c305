/* Running a compiled model in this process through ORC LLJIT. */
#ifndef DNNC_JIT_H
#define DNNC_JIT_H

#include "codegen.h"

typedef struct JitModel JitModel;

typedef int (*RunFn)(const void *const *inputs, void *const *outputs, void *workspace,
                     const void *weights, const void *parallel);

/* Builds and JIT-compiles g for the host. */
JitModel *jit_compile(const Graph *g, const CodegenOptions *o, char *err, size_t errsz);
/* Runs once; pool may be NULL (single thread). */
int jit_run(JitModel *j, const void *const *inputs, void *const *outputs, void *pool);
size_t jit_workspace_size(const JitModel *j);

/* The layer (node index, or -1 for a final copy) of each kernel call, for
 * per-layer profiles (CodegenOptions.profile). */
int jit_call_count(const JitModel *j);
int jit_call_node(const JitModel *j, int k);
/* The weight blob the model runs with, its bytes in *bytes. */
const void *jit_weights(const JitModel *j, size_t *bytes);
void jit_free(JitModel *j);

#endif
