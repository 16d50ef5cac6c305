/* CPU code generation through the LLVM-C API: a verified Graph becomes an
 * LLVM module with one function per layer, specialised to its static shapes
 * by inlining the kernel library (codegen/kernels) with constant
 * descriptors, optimised with the new pass manager for the target CPU, and
 * then JIT-compiled or written as an object file, assembly or LLVM IR.
 * docs/bundle.md describes the generated API. */
#ifndef DNNC_CODEGEN_H
#define DNNC_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "graph.h"
#include "plan.h"

typedef struct CodegenOptions {
    const char *name;     /* symbol prefix: NAME_run, NAME_WORKSPACE_SIZE, ... */
    const char *triple;   /* NULL: the host */
    const char *cpu;      /* NULL: the host CPU (or "generic" when cross-compiling) */
    const char *features; /* NULL: the host's (or none when cross-compiling) */
    int opt_level;        /* 0 to 3 */
    bool pic;             /* position-independent code, for shared libraries */
    bool embed_weights;   /* weights in the object's read-only data */
    bool for_jit;         /* the module is for ORC LLJIT in this process */
    bool profile;         /* JIT only: call dnnc_profile_mark(k) after kernel call k */
} CodegenOptions;

typedef struct CompiledModel {
    LLVMContextRef ctx;   /* owned unless the JIT took it */
    LLVMModuleRef module;
    LLVMTargetMachineRef tm;
    Plan plan;
    struct KernelBinding *bind; /* per node: its kernel and weight packing */
    int *call_nodes; /* the layer of each kernel call (node index, -1 for a final copy) */
    int n_calls;
    char *name;
    bool owns_ctx;
} CompiledModel;

/* Lowers and optimises g. ctx may be NULL (a new context is created). */
bool codegen_build(const Graph *g, const CodegenOptions *o, LLVMContextRef ctx, CompiledModel *m,
                   char *err, size_t errsz);
void codegen_free(CompiledModel *m);
/* Frees the module, its context and the target machine, once the code is
 * written: the plan and the bindings stay, for the header and the weights. */
void codegen_drop_code(CompiledModel *m);

typedef enum { EMIT_OBJ, EMIT_ASM, EMIT_LLVM } EmitKind;

/* Writes the module; atomically, no partial file on failure. */
bool codegen_emit(CompiledModel *m, EmitKind kind, const char *path, char *err, size_t errsz);
/* NAME.h: the bundle API with compile-time sizes and shapes. */
bool codegen_write_header(const Graph *g, const CompiledModel *m, const CodegenOptions *o,
                          const char *path, char *err, size_t errsz);
/* NAME.weights: the packed weight blob the run function reads, packed from
 * g's weights layer by layer as it is written (or m->plan.weights if made). */
bool codegen_write_weights(const Graph *g, const CompiledModel *m, const char *path, char *err, size_t errsz);
/* Makes the blob in memory (m->plan.weights), for code run in this process. */
bool codegen_pack_weights(const Graph *g, CompiledModel *m, char *err, size_t errsz);

/* The host's target triple, CPU name and features (callers free them with
 * LLVMDisposeMessage). */
void codegen_host(char **triple, char **cpu, char **features);

#endif
