#include "jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "dnnrt.h"

struct JitModel {
    LLVMOrcLLJITRef jit;
    int *call_nodes;
    int n_calls;
    RunFn run;
    Plan plan;       /* weights blob and workspace size */
    void *workspace;
    void *weights;   /* 64-byte aligned copy of the blob */
};

typedef struct Parallel {
    void (*parallel_for)(void *, int64_t, void (*)(void *, int64_t, int64_t), void *);
    void *pool;
} Parallel;

static bool jit_error(LLVMErrorRef e, const char *what, char *err, size_t errsz)
{
    if (!e)
        return false;
    char *m = LLVMGetErrorMessage(e);
    snprintf(err, errsz, "%s: %s", what, m);
    LLVMDisposeErrorMessage(m);
    return true;
}

JitModel *jit_compile(const Graph *g, const CodegenOptions *o, char *err, size_t errsz)
{
    JitModel *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errsz, "out of memory allocating %zu bytes for the JIT", sizeof *j);
        return NULL;
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    CompiledModel m;
    CodegenOptions jo = *o;
    jo.for_jit = true;
    jo.embed_weights = false;
    if (!codegen_build(g, &jo, LLVMOrcThreadSafeContextGetContext(tsc), &m, err, errsz)) {
        LLVMOrcDisposeThreadSafeContext(tsc);
        free(j);
        return NULL;
    }
    /* The JIT model keeps the blob and the layer of each call. */
    j->plan = m.plan;
    memset(&m.plan, 0, sizeof m.plan);
    j->call_nodes = m.call_nodes, j->n_calls = m.n_calls;
    m.call_nodes = NULL;
    bool ok = !jit_error(LLVMOrcCreateLLJIT(&j->jit, NULL), "creating the JIT", err, errsz);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m.module, tsc);
    m.module = NULL; /* owned by tsm now */
    LLVMOrcDisposeThreadSafeContext(tsc);
    LLVMOrcJITDylibRef dylib = ok ? LLVMOrcLLJITGetMainJITDylib(j->jit) : NULL;
    /* libm and libc come from this process. */
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    ok = ok && !jit_error(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                              &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL),
                          "resolving library symbols", err, errsz);
    if (ok)
        LLVMOrcJITDylibAddGenerator(dylib, gen);
    ok = ok && !jit_error(LLVMOrcLLJITAddLLVMIRModule(j->jit, dylib, tsm), "adding the module", err, errsz);
    if (!ok)
        LLVMOrcDisposeThreadSafeModule(tsm);
    char sym[300];
    snprintf(sym, sizeof sym, "%s_run", m.name);
    LLVMOrcExecutorAddress addr = 0;
    ok = ok && !jit_error(LLVMOrcLLJITLookup(j->jit, &addr, sym), "compiling", err, errsz);
    if (ok) {
        j->run = (RunFn)(uintptr_t)addr;
        j->workspace = dnnrt_aligned_alloc(j->plan.workspace_size);
        j->weights = dnnrt_aligned_alloc(j->plan.weights_size);
        ok = j->workspace && j->weights;
        if (!ok) {
            snprintf(err, errsz, "out of memory allocating %zu bytes for the %s",
                     j->workspace ? j->plan.weights_size : j->plan.workspace_size,
                     j->workspace ? "weights" : "workspace (the activations)");
        } else { /* packed straight into the run's own blob */
            memset(j->weights, 0, j->plan.weights_size);
            plan_pack_weights(g, m.bind, &j->plan, j->weights);
        }
    }
    codegen_free(&m);
    if (!ok) {
        jit_free(j);
        return NULL;
    }
    return j;
}

int jit_run(JitModel *j, const void *const *inputs, void *const *outputs, void *pool)
{
    Parallel par = {dnnrt_parallel_for, pool};
    return j->run(inputs, outputs, j->workspace, j->weights, pool ? &par : NULL);
}

size_t jit_workspace_size(const JitModel *j) { return j->plan.workspace_size; }
int jit_call_count(const JitModel *j) { return j->n_calls; }
int jit_call_node(const JitModel *j, int k) { return j->call_nodes ? j->call_nodes[k] : -1; }

const void *jit_weights(const JitModel *j, size_t *bytes)
{
    *bytes = j->plan.weights_size;
    return j->weights;
}

void jit_free(JitModel *j)
{
    if (!j)
        return;
    if (j->jit)
        LLVMOrcDisposeLLJIT(j->jit);
    plan_free(&j->plan);
    free(j->call_nodes);
    free(j->workspace);
    free(j->weights);
    free(j);
}
