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
/* Where tensor (an id of the compiled graph) lies in the weight blob, its
 * region's bytes in *bytes (to the next region: its packed form, padding
 * included); NULL for a tensor that is not a weight. */
const void *jit_tensor_weights(const JitModel *j, int tensor, size_t *bytes);
void jit_free(JitModel *j);

#endif
