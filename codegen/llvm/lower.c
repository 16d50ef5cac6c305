/* Graph -> LLVM module: the kernel library is linked in, each kernel call
 * becomes a task function `void(ctx, begin, end)` that builds the pointer
 * arguments and calls its kernel with a constant descriptor, and NAME_run
 * hands each task to the caller's parallel_for (or runs it serially). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "bind.h"
#include "calls.h"
#include "codegen.h"
#include "kernels_bc.h"

/* Below this many multiply-accumulates (or elements moved) a layer runs on
 * the calling thread: handing it to other threads costs more. */
#define SERIAL_WORK 100000

typedef struct Lowering {
    const Graph *g;
    const Plan *plan;
    const CodegenOptions *o;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef ptr, i64, i32, i8, void_t, task_t, kernel_t, instance_t, ctx_t, par_t;
    LLVMAttributeRef noinline;
    LLVMValueRef weights; /* embedded blob, or NULL */
    const char *name;
} Lowering;

/* ---- target ------------------------------------------------------------------ */

void codegen_host(char **triple, char **cpu, char **features)
{
    *triple = LLVMGetDefaultTargetTriple();
    *cpu = LLVMGetHostCPUName();
    *features = LLVMGetHostCPUFeatures();
}

static void init_llvm(void)
{
    static bool done;
    if (done)
        return;
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
    done = true;
}

static LLVMTargetMachineRef make_target_machine(const CodegenOptions *o, char **triple, char **cpu,
                                                char **features, char *err, size_t errsz)
{
    char *host_triple, *host_cpu, *host_features;
    codegen_host(&host_triple, &host_cpu, &host_features);
    bool cross = o->triple && strcmp(o->triple, host_triple) != 0;
    *triple = strdup(o->triple ? o->triple : host_triple);
    *cpu = strdup(o->cpu ? o->cpu : cross ? "generic" : host_cpu);
    *features = strdup(o->features ? o->features : cross ? "" : host_features);
    LLVMDisposeMessage(host_triple);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_features);
    if (!*triple || !*cpu || !*features) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(*triple, &target, &msg)) {
        snprintf(err, errsz, "unknown target triple '%s': %s", *triple, msg);
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMCodeGenOptLevel level = o->opt_level <= 0 ? LLVMCodeGenLevelNone
                                : o->opt_level == 1 ? LLVMCodeGenLevelLess
                                : o->opt_level == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
    return LLVMCreateTargetMachine(target, *triple, *cpu, *features, level,
                                   o->pic ? LLVMRelocPIC : LLVMRelocDefault, LLVMCodeModelDefault);
}

/* ---- the kernel library ---------------------------------------------------------- */

/* The kernel library for lib, loaded lazily (its functions are parsed
 * when the linker copies them), its definitions linkonce_odr, which the
 * linker copies only where they are referenced. NULL with err set. */
static LLVMModuleRef load_library(Lowering *l, const KernelLibrary *lib, char *err, size_t errsz)
{
    LLVMMemoryBufferRef buf =
        LLVMCreateMemoryBufferWithMemoryRange((const char *)lib->bitcode, lib->size, "dnnk", 0);
    LLVMModuleRef kmod;
    if (LLVMGetBitcodeModuleInContext2(l->ctx, buf, &kmod)) { /* on success kmod owns buf */
        LLVMDisposeMemoryBuffer(buf);
        snprintf(err, errsz, "the embedded kernel library does not load");
        return NULL;
    }
    LLVMSetTarget(kmod, LLVMGetTarget(l->mod));
    LLVMSetDataLayout(kmod, LLVMGetDataLayoutStr(l->mod));
    for (LLVMValueRef f = LLVMGetFirstFunction(kmod); f; f = LLVMGetNextFunction(f)) {
        /* The library was compiled for a baseline CPU; the functions it inlines
         * into take the target's CPU and features instead. */
        LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-cpu", 10);
        LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-features", 15);
        LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "tune-cpu", 8);
        if (!LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMExternalLinkage)
            LLVMSetLinkage(f, LLVMLinkOnceODRLinkage);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(kmod); g; g = LLVMGetNextGlobal(g))
        if (!LLVMIsDeclaration(g) && LLVMGetLinkage(g) == LLVMExternalLinkage)
            LLVMSetLinkage(g, LLVMLinkOnceODRLinkage);
    return kmod;
}

/* Links in what the module references of kmod (which it consumes), with
 * what that calls, and nothing else. */
static bool link_library(Lowering *l, LLVMModuleRef kmod, char *err, size_t errsz)
{
    if (LLVMLinkModules2(l->mod, kmod)) {
        snprintf(err, errsz, "linking the kernel library failed");
        return false;
    }
    /* What came from the library is the module's own (lowering makes
     * nothing linkonce_odr). */
    for (LLVMValueRef f = LLVMGetFirstFunction(l->mod); f; f = LLVMGetNextFunction(f))
        if (LLVMGetLinkage(f) == LLVMLinkOnceODRLinkage)
            LLVMSetLinkage(f, LLVMInternalLinkage);
    for (LLVMValueRef g = LLVMGetFirstGlobal(l->mod); g; g = LLVMGetNextGlobal(g))
        if (LLVMGetLinkage(g) == LLVMLinkOnceODRLinkage)
            LLVMSetLinkage(g, LLVMInternalLinkage);
    return true;
}

/* Links in the kernels the module declares (its instances' calls). Parsing
 * and upgrading the whole library for every module took most of the time
 * of compiling a small network. */
static bool link_kernels(Lowering *l, const KernelLibrary *lib, char *err, size_t errsz)
{
    LLVMModuleRef kmod = load_library(l, lib, err, errsz);
    return kmod && link_library(l, kmod, err, errsz);
}

#define DEFERRED_PREFIX "dnnk_deferred_"

/* Links in the deferred instances (DNNK_DEFERRED, kernels/common.h) that
 * the module still calls once its layers' constant descriptors have pruned
 * the others: each declaration `name` whose definition the library has as
 * dnnk_deferred_name is renamed to that, then linked like the kernels. */
static bool link_deferred(Lowering *l, const KernelLibrary *lib, char *err, size_t errsz)
{
    LLVMModuleRef kmod = load_library(l, lib, err, errsz);
    if (!kmod)
        return false;
    int wanted = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(l->mod); f; f = LLVMGetNextFunction(f)) {
        size_t len;
        const char *name = LLVMGetValueName2(f, &len);
        char deferred[256];
        if (!LLVMIsDeclaration(f) || len + sizeof DEFERRED_PREFIX > sizeof deferred)
            continue;
        snprintf(deferred, sizeof deferred, DEFERRED_PREFIX "%s", name);
        LLVMValueRef def = LLVMGetNamedFunction(kmod, deferred);
        if (def && !LLVMIsDeclaration(def)) {
            LLVMSetValueName2(f, deferred, strlen(deferred));
            wanted++;
        }
    }
    if (wanted)
        return link_library(l, kmod, err, errsz);
    LLVMDisposeModule(kmod);
    return true;
}

/* ---- code ------------------------------------------------------------------------ */

static LLVMValueRef const_i64(Lowering *l, int64_t v) { return LLVMConstInt(l->i64, (unsigned long long)v, 1); }

static LLVMValueRef private_bytes(Lowering *l, const char *name, const void *bytes, size_t len,
                                  unsigned align)
{
    LLVMValueRef g = LLVMAddGlobal(l->mod, LLVMArrayType2(l->i8, len), name);
    LLVMSetInitializer(g, LLVMConstStringInContext2(l->ctx, bytes, len, 1));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(g, align);
    return g;
}

/* Field k of the task context {workspace, weights, inputs, outputs}. */
static LLVMValueRef ctx_field(Lowering *l, LLVMValueRef ctx, unsigned k)
{
    LLVMValueRef p = LLVMBuildStructGEP2(l->b, l->ctx_t, ctx, k, "");
    return LLVMBuildLoad2(l->b, l->ptr, p, "");
}

static LLVMValueRef location(Lowering *l, LLVMValueRef ctx, Location loc)
{
    switch (loc.kind) {
    case LOC_WORKSPACE:
    case LOC_WEIGHTS: {
        LLVMValueRef base = loc.kind == LOC_WEIGHTS && l->weights ? l->weights
                                                                   : ctx_field(l, ctx, loc.kind == LOC_WEIGHTS);
        LLVMValueRef off = const_i64(l, (int64_t)loc.offset);
        return LLVMBuildInBoundsGEP2(l->b, l->i8, base, &off, 1, "");
    }
    case LOC_INPUT:
    case LOC_OUTPUT: {
        LLVMValueRef list = ctx_field(l, ctx, loc.kind == LOC_INPUT ? 2 : 3);
        LLVMValueRef idx = const_i64(l, loc.index);
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(l->b, l->ptr, list, &idx, 1, "");
        return LLVMBuildLoad2(l->b, l->ptr, slot, "");
    }
    default:
        return LLVMConstNull(l->ptr);
    }
}

/* Functions of the module nothing calls are deleted before the target's
 * attributes are set: a kernel for instructions the target lacks (the
 * library's VNNI kernel compiled for a CPU without VNNI) must never reach
 * instruction selection, even at -O0, where no pass would delete it. */
static void drop_unused_functions(LLVMModuleRef mod)
{
    for (bool dropped = true; dropped;) {
        dropped = false;
        for (LLVMValueRef f = LLVMGetFirstFunction(mod), next; f; f = next) {
            next = LLVMGetNextFunction(f);
            bool internal = !LLVMIsDeclaration(f) && LLVMGetLinkage(f) == LLVMInternalLinkage;
            if (internal && !LLVMGetFirstUse(f)) {
                LLVMDeleteFunction(f);
                dropped = true;
            }
        }
    }
}

static void set_cpu_attributes(Lowering *l, LLVMValueRef f, const char *cpu, const char *features)
{
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(l->ctx, "target-cpu", 10, cpu, (unsigned)strlen(cpu)));
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(l->ctx, "target-features", 15, features,
                                                      (unsigned)strlen(features)));
}

/* void instance(ptrs, begin, end): the call's kernel on its constant
 * descriptor, which the always-inline kernel is specialised to. Calls with
 * the same kernel and descriptor (ResNet-50's repeated blocks) share one
 * instance, kept out of line so that LLVM optimises it once. */
static LLVMValueRef kernel_instance(Lowering *l, const CallList *calls, int k, LLVMValueRef *instances)
{
    const KernelCall *c = &calls->calls[k];
    for (int j = 0; j < k; j++) {
        const KernelCall *d = &calls->calls[j];
        if (instances[j] && strcmp(c->kernel, d->kernel) == 0 && c->desc_size == d->desc_size &&
            memcmp(c->desc, d->desc, c->desc_size) == 0) {
            LLVMAddAttributeAtIndex(instances[j], LLVMAttributeFunctionIndex, l->noinline);
            return instances[j];
        }
    }
    char fname[300];
    snprintf(fname, sizeof fname, "%s_kernel%d", l->name, k);
    LLVMValueRef f = LLVMAddFunction(l->mod, fname, l->instance_t);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(l->b, LLVMAppendBasicBlockInContext(l->ctx, f, "entry"));
    char dname[320];
    snprintf(dname, sizeof dname, "%s.desc", fname);
    LLVMValueRef desc = private_bytes(l, dname, c->desc, c->desc_size, 8);
    LLVMValueRef kernel = LLVMGetNamedFunction(l->mod, c->kernel); /* declared, linked in later */
    if (!kernel)
        kernel = LLVMAddFunction(l->mod, c->kernel, l->kernel_t);
    LLVMValueRef args[4] = {desc, LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2)};
    LLVMBuildCall2(l->b, l->kernel_t, kernel, args, 4, "");
    LLVMBuildRetVoid(l->b);
    return f;
}

/* The array of call c's pointers, from the task context ctx. */
static LLVMValueRef call_pointers(Lowering *l, LLVMValueRef ctx, const KernelCall *c)
{
    LLVMTypeRef ptrs_t = LLVMArrayType2(l->ptr, (uint64_t)c->n_ptrs);
    LLVMValueRef ptrs = LLVMBuildAlloca(l->b, ptrs_t, "ptrs");
    for (int i = 0; i < c->n_ptrs; i++) {
        LLVMValueRef idx[2] = {const_i64(l, 0), const_i64(l, i)};
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(l->b, ptrs_t, ptrs, idx, 2, "");
        LLVMBuildStore(l->b, location(l, ctx, c->ptrs[i]), slot);
    }
    return ptrs;
}

/* void task(ctx, begin, end): pointers, then the kernel instance. */
static LLVMValueRef build_task(Lowering *l, const KernelCall *c, int k, LLVMValueRef instance)
{
    char fname[512];
    const char *layer = c->node >= 0 ? l->g->nodes[c->node].name : "output_copy";
    snprintf(fname, sizeof fname, "%s_task%d_%s", l->name, k, layer);
    LLVMValueRef f = LLVMAddFunction(l->mod, fname, l->task_t);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(l->b, LLVMAppendBasicBlockInContext(l->ctx, f, "entry"));
    LLVMValueRef ptrs = call_pointers(l, LLVMGetParam(f, 0), c);
    LLVMValueRef args[3] = {ptrs, LLVMGetParam(f, 1), LLVMGetParam(f, 2)};
    LLVMBuildCall2(l->b, l->instance_t, instance, args, 3, "");
    LLVMBuildRetVoid(l->b);
    return f;
}

/* dispatch(parallel, n, task, ctx): the caller's parallel_for, or serial. */
static LLVMValueRef build_dispatch(Lowering *l)
{
    LLVMTypeRef params[4] = {l->ptr, l->i64, l->ptr, l->ptr};
    LLVMTypeRef type = LLVMFunctionType(l->void_t, params, 4, 0);
    char fname[300];
    snprintf(fname, sizeof fname, "%s_dispatch", l->name);
    LLVMValueRef f = LLVMAddFunction(l->mod, fname, type);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(l->ctx, f, "entry");
    LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(l->ctx, f, "check");
    LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(l->ctx, f, "parallel");
    LLVMBasicBlockRef serial = LLVMAppendBasicBlockInContext(l->ctx, f, "serial");
    LLVMValueRef p = LLVMGetParam(f, 0), n = LLVMGetParam(f, 1), task = LLVMGetParam(f, 2),
                 ctx = LLVMGetParam(f, 3);
    LLVMPositionBuilderAtEnd(l->b, entry);
    LLVMBuildCondBr(l->b, LLVMBuildIsNull(l->b, p, ""), serial, check);
    LLVMPositionBuilderAtEnd(l->b, check);
    LLVMValueRef fn = LLVMBuildLoad2(l->b, l->ptr, LLVMBuildStructGEP2(l->b, l->par_t, p, 0, ""), "");
    LLVMBuildCondBr(l->b, LLVMBuildIsNull(l->b, fn, ""), serial, par);
    LLVMPositionBuilderAtEnd(l->b, par);
    LLVMValueRef pool = LLVMBuildLoad2(l->b, l->ptr, LLVMBuildStructGEP2(l->b, l->par_t, p, 1, ""), "");
    LLVMTypeRef pf_params[4] = {l->ptr, l->i64, l->ptr, l->ptr};
    LLVMValueRef pf_args[4] = {pool, n, task, ctx};
    LLVMBuildCall2(l->b, LLVMFunctionType(l->void_t, pf_params, 4, 0), fn, pf_args, 4, "");
    LLVMBuildRetVoid(l->b);
    LLVMPositionBuilderAtEnd(l->b, serial);
    LLVMValueRef args[3] = {ctx, const_i64(l, 0), n};
    LLVMBuildCall2(l->b, l->task_t, task, args, 3, "");
    LLVMBuildRetVoid(l->b);
    return f;
}

/* Before any layer runs: each call whose row has a check of its packed
 * weights calls it (on the call's descriptor and pointers), and a failed
 * check returns 2, NAME_ERROR_BAD_WEIGHTS. */
static void build_weight_checks(Lowering *l, LLVMValueRef f, LLVMValueRef ctx, const CallList *calls)
{
    LLVMTypeRef params[2] = {l->ptr, l->ptr};
    LLVMTypeRef check_t = LLVMFunctionType(l->i64, params, 2, 0);
    LLVMBasicBlockRef bad = NULL;
    for (int k = 0; k < calls->count; k++) {
        const KernelCall *c = &calls->calls[k];
        if (!c->check || c->units <= 0)
            continue;
        if (!bad) {
            LLVMBasicBlockRef here = LLVMGetInsertBlock(l->b);
            bad = LLVMAppendBasicBlockInContext(l->ctx, f, "bad_weights");
            LLVMPositionBuilderAtEnd(l->b, bad);
            LLVMBuildRet(l->b, LLVMConstInt(l->i32, 2, 0));
            LLVMPositionBuilderAtEnd(l->b, here);
        }
        char dname[320];
        snprintf(dname, sizeof dname, "%s_check%d.desc", l->name, k);
        LLVMValueRef check = LLVMGetNamedFunction(l->mod, c->check); /* declared, linked in later */
        if (!check)
            check = LLVMAddFunction(l->mod, c->check, check_t);
        LLVMValueRef args[2] = {private_bytes(l, dname, c->desc, c->desc_size, 8), call_pointers(l, ctx, c)};
        LLVMValueRef failed = LLVMBuildICmp(l->b, LLVMIntNE, LLVMBuildCall2(l->b, check_t, check, args, 2, ""),
                                            const_i64(l, 0), "");
        LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(l->ctx, f, "checked");
        LLVMBuildCondBr(l->b, failed, bad, next);
        LLVMPositionBuilderAtEnd(l->b, next);
    }
}

/* int NAME_run(inputs, outputs, workspace, weights, parallel) */
static void build_run(Lowering *l, const CallList *calls, LLVMValueRef *tasks, LLVMValueRef dispatch)
{
    LLVMTypeRef params[5] = {l->ptr, l->ptr, l->ptr, l->ptr, l->ptr};
    char fname[300];
    snprintf(fname, sizeof fname, "%s_run", l->name);
    LLVMValueRef f = LLVMAddFunction(l->mod, fname, LLVMFunctionType(l->i32, params, 5, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(l->ctx, f, "entry");
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(l->ctx, f, "bad_argument");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(l->ctx, f, "body");
    LLVMPositionBuilderAtEnd(l->b, entry);
    /* Missing buffers are the only run-time error: every size is static. */
    LLVMValueRef missing = LLVMConstInt(LLVMInt1TypeInContext(l->ctx), 0, 0);
    bool needed[4] = {l->g->n_inputs > 0, l->g->n_outputs > 0, l->plan->workspace_size > 0,
                      !l->weights && l->plan->weights_size > 0};
    for (unsigned i = 0; i < 4; i++)
        if (needed[i])
            missing = LLVMBuildOr(l->b, missing, LLVMBuildIsNull(l->b, LLVMGetParam(f, i), ""), "");
    LLVMBuildCondBr(l->b, missing, bad, body);
    LLVMPositionBuilderAtEnd(l->b, bad);
    LLVMBuildRet(l->b, LLVMConstInt(l->i32, 1, 0));
    LLVMPositionBuilderAtEnd(l->b, body);
    LLVMValueRef ctx = LLVMBuildAlloca(l->b, l->ctx_t, "ctx");
    unsigned order[4] = {2, 3, 0, 1}; /* workspace, weights, inputs, outputs */
    for (unsigned k = 0; k < 4; k++)
        LLVMBuildStore(l->b, LLVMGetParam(f, order[k]), LLVMBuildStructGEP2(l->b, l->ctx_t, ctx, k, ""));
    build_weight_checks(l, f, ctx, calls);
    LLVMTypeRef dparams[4] = {l->ptr, l->i64, l->ptr, l->ptr};
    LLVMTypeRef mark_t = LLVMFunctionType(l->void_t, &l->i32, 1, 0);
    LLVMValueRef mark = l->o->profile ? LLVMAddFunction(l->mod, "dnnc_profile_mark", mark_t) : NULL;
    for (int k = 0; k < calls->count; k++) {
        if (calls->calls[k].units <= 0)
            continue;
        const KernelCall *c = &calls->calls[k];
        if (c->work < SERIAL_WORK || c->units == 1) {
            /* Waking other threads costs more than this work. */
            LLVMValueRef targs[3] = {ctx, const_i64(l, 0), const_i64(l, c->units)};
            LLVMBuildCall2(l->b, l->task_t, tasks[k], targs, 3, "");
        } else {
            LLVMValueRef args[4] = {LLVMGetParam(f, 4), const_i64(l, c->units), tasks[k], ctx};
            LLVMBuildCall2(l->b, LLVMFunctionType(l->void_t, dparams, 4, 0), dispatch, args, 4, "");
        }
        if (mark) {
            LLVMValueRef id = LLVMConstInt(l->i32, (unsigned long long)k, 0);
            LLVMBuildCall2(l->b, mark_t, mark, &id, 1, "");
        }
    }
    LLVMBuildRet(l->b, LLVMConstInt(l->i32, 0, 0));
}

static void init_types(Lowering *l)
{
    l->ptr = LLVMPointerTypeInContext(l->ctx, 0);
    l->i64 = LLVMInt64TypeInContext(l->ctx);
    l->i32 = LLVMInt32TypeInContext(l->ctx);
    l->i8 = LLVMInt8TypeInContext(l->ctx);
    l->void_t = LLVMVoidTypeInContext(l->ctx);
    LLVMTypeRef task_params[3] = {l->ptr, l->i64, l->i64};
    l->task_t = LLVMFunctionType(l->void_t, task_params, 3, 0);
    LLVMTypeRef kernel_params[4] = {l->ptr, l->ptr, l->i64, l->i64};
    l->kernel_t = LLVMFunctionType(l->void_t, kernel_params, 4, 0);
    l->instance_t = LLVMFunctionType(l->void_t, &kernel_params[1], 3, 0);
    l->noinline = LLVMCreateEnumAttribute(l->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0);
    LLVMTypeRef fields[4] = {l->ptr, l->ptr, l->ptr, l->ptr};
    l->ctx_t = LLVMStructTypeInContext(l->ctx, fields, 4, 0);
    LLVMTypeRef par_fields[2] = {l->ptr, l->ptr};
    l->par_t = LLVMStructTypeInContext(l->ctx, par_fields, 2, 0);
}

static bool verify(Lowering *l, char *err, size_t errsz)
{
    char *msg = NULL;
    bool broken = LLVMVerifyModule(l->mod, LLVMReturnStatusAction, &msg);
    if (broken)
        snprintf(err, errsz, "internal error: the generated module does not verify: %.300s", msg);
    LLVMDisposeMessage(msg);
    return !broken;
}

static bool run_passes(Lowering *l, LLVMTargetMachineRef tm, const char *pipeline, char *err, size_t errsz)
{
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(l->mod, pipeline, tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        char *m = LLVMGetErrorMessage(e);
        snprintf(err, errsz, "optimisation failed: %s", m);
        LLVMDisposeErrorMessage(m);
        return false;
    }
    return true;
}

static int opt_level(const Lowering *l) { return l->o->opt_level < 0 ? 0 : l->o->opt_level > 3 ? 3 : l->o->opt_level; }

/* Before the deferred instances are linked, the kernels are inlined into
 * each layer's instance and its constant descriptor propagated, and what
 * no instance calls is dropped (the tile shapes a layer never uses): the
 * default pipeline then optimises only what the module runs. At -O0 every
 * instance a kernel names is linked. */
static bool prune(Lowering *l, LLVMTargetMachineRef tm, char *err, size_t errsz)
{
    return opt_level(l) == 0 || (verify(l, err, errsz) && run_passes(l, tm, "always-inline,ipsccp,globaldce", err, errsz));
}

static bool optimise(Lowering *l, LLVMTargetMachineRef tm, char *err, size_t errsz)
{
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", opt_level(l));
    return verify(l, err, errsz) && run_passes(l, tm, pipeline, err, errsz);
}

static bool lower(Lowering *l, const KernelLibrary *lib, const CallList *calls, const char *triple,
                  const char *cpu, const char *features, LLVMTargetMachineRef tm, char *err, size_t errsz)
{
    LLVMSetTarget(l->mod, triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(l->mod, dl);
    LLVMDisposeTargetData(dl);
    init_types(l);
    if (l->o->embed_weights) {
        char gname[300];
        snprintf(gname, sizeof gname, "%s_weights", l->name);
        l->weights = private_bytes(l, gname, l->plan->weights, l->plan->weights_size, 64);
    }
    LLVMValueRef *tasks = calloc((size_t)calls->count + 1, sizeof *tasks);
    LLVMValueRef *instances = calloc((size_t)calls->count + 1, sizeof *instances);
    bool ok = tasks && instances;
    if (!ok)
        snprintf(err, errsz, "out of memory");
    for (int k = 0; ok && k < calls->count; k++) {
        instances[k] = kernel_instance(l, calls, k, instances);
        tasks[k] = build_task(l, &calls->calls[k], k, instances[k]);
    }
    if (ok)
        build_run(l, calls, tasks, build_dispatch(l));
    ok = ok && link_kernels(l, lib, err, errsz) && prune(l, tm, err, errsz) && link_deferred(l, lib, err, errsz);
    if (ok)
        drop_unused_functions(l->mod);
    for (LLVMValueRef f = LLVMGetFirstFunction(l->mod); ok && f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f))
            set_cpu_attributes(l, f, cpu, features);
    ok = ok && optimise(l, tm, err, errsz);
    free(tasks);
    free(instances);
    return ok;
}

/* Which layer each call runs, for per-layer profiles. */
static bool keep_call_nodes(CompiledModel *m, const CallList *calls)
{
    m->call_nodes = calloc((size_t)calls->count + 1, sizeof *m->call_nodes);
    if (!m->call_nodes)
        return false;
    for (int k = 0; k < calls->count; k++)
        m->call_nodes[k] = calls->calls[k].node;
    m->n_calls = calls->count;
    return true;
}

/* Binds every layer to its kernel in lib, plans storage and weights, and
 * lists the kernel calls. */
static bool plan_calls(const Graph *g, const KernelLibrary *lib, CompiledModel *m, CallList *calls, char *err,
                       size_t errsz)
{
    KernelBinding *bind = m->bind = bind_graph(g, lib->isa, err, errsz);
    bool ok = bind && plan_build(g, bind, &m->plan, err, errsz) &&
              calls_build(g, &m->plan, bind, 2 * lib->lanes, calls, err, errsz);
    if (ok && !keep_call_nodes(m, calls)) {
        snprintf(err, errsz, "out of memory");
        ok = false;
    }
    return ok;
}

static bool find_library(const char *triple, const char *features, KernelLibrary *lib, char *err,
                         size_t errsz)
{
    if (kernels_bitcode(triple, features, lib))
        return true;
    snprintf(err, errsz, "no kernel library for target '%s' (dnnc has x86_64 and aarch64)", triple);
    return false;
}

bool codegen_build(const Graph *g, const CodegenOptions *o, LLVMContextRef ctx, CompiledModel *m,
                   char *err, size_t errsz)
{
    memset(m, 0, sizeof *m);
    init_llvm();
    char *triple = NULL, *cpu = NULL, *features = NULL;
    m->tm = make_target_machine(o, &triple, &cpu, &features, err, errsz);
    m->name = strdup(o->name ? o->name : "model");
    if (m->tm && !m->name)
        snprintf(err, errsz, "out of memory");
    KernelLibrary lib;
    CallList calls = {0};
    bool ok = m->tm && m->name && find_library(triple, features, &lib, err, errsz) &&
              plan_calls(g, &lib, m, &calls, err, errsz) &&
              (!o->embed_weights || codegen_pack_weights(g, m, err, errsz));
    if (ok) {
        m->owns_ctx = ctx == NULL;
        m->ctx = ctx ? ctx : LLVMContextCreate();
        m->module = LLVMModuleCreateWithNameInContext(m->name, m->ctx);
        Lowering l = {.g = g, .plan = &m->plan, .o = o, .ctx = m->ctx, .mod = m->module,
                      .b = LLVMCreateBuilderInContext(m->ctx)};
        l.name = m->name;
        ok = lower(&l, &lib, &calls, triple, cpu, features, m->tm, err, errsz);
        LLVMDisposeBuilder(l.b);
    }
    calls_free(&calls);
    free(triple);
    free(cpu);
    free(features);
    if (!ok)
        codegen_free(m);
    return ok;
}

void codegen_drop_code(CompiledModel *m)
{
    if (m->module)
        LLVMDisposeModule(m->module);
    if (m->owns_ctx && m->ctx)
        LLVMContextDispose(m->ctx);
    if (m->tm)
        LLVMDisposeTargetMachine(m->tm);
    m->module = NULL;
    m->ctx = NULL;
    m->tm = NULL;
}

void codegen_free(CompiledModel *m)
{
    codegen_drop_code(m);
    plan_free(&m->plan);
    free(m->bind);
    free(m->call_nodes);
    free(m->name);
    memset(m, 0, sizeof *m);
}
