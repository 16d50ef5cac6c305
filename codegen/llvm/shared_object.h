/* A compiled model as an application gets it: the object file that
 * `dnnc compile` writes, linked by the system C compiler into a shared
 * library and loaded. Tests and the conformance runner use this to check the
 * object-code path end to end. */
#ifndef DNNC_SHARED_OBJECT_H
#define DNNC_SHARED_OBJECT_H

#include "codegen.h"

typedef struct SharedModel SharedModel;

SharedModel *shared_model_build(const Graph *g, const CodegenOptions *o, char *err, size_t errsz);
/* Runs once on the calling thread; 0 on success. */
int shared_model_run(SharedModel *s, const void *const *inputs, void *const *outputs);
void shared_model_free(SharedModel *s);
/* The packed weights the library runs from, as an application holds what
 * it read from NAME.weights (tests damage them); their bytes in *size. */
unsigned char *shared_model_weights(SharedModel *s, size_t *size);

#endif
