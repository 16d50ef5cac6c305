/* The cpu target: native code through LLVM (codegen/llvm), run in this
 * process by ORC's JIT or written as a bundle (NAME.o/.s/.ll, NAME.h,
 * NAME.weights; docs/bundle.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

#include "codegen.h"
#include "conv_cost.h"
#include "dnnrt.h"
#include "jit.h"
#include "targets_internal.h"

typedef struct CpuState {
    JitModel *jit;        /* compiled for run */
    dnnrt_pool *pool;     /* threads > 1 */
    CompiledModel module; /* compiled for emit */
    CodegenOptions cg;
    TargetEmitKind emit;
    char *name;
} CpuState;

static CodegenOptions codegen_options(const TargetOptions *o)
{
    CodegenOptions cg = {0};
    cg.name = o->name ? o->name : "model";
    cg.triple = o->triple;
    cg.cpu = o->cpu;
    cg.features = o->features;
    cg.opt_level = o->opt_level;
    cg.pic = o->pic;
    cg.embed_weights = o->embed_weights;
    cg.profile = o->profile;
    return cg;
}

/* A layer runs here if the kernel registry has a row for its op and its
 * first operand's element type (constants have no operand). */
static bool cpu_supports(const Graph *g, const Node *n, char *why, size_t whysz)
{
    ElemKind type = n->n_inputs ? g->tensors[n->inputs[0]].type.kind : g->tensors[n->output].type.kind;
    int count;
    const KernelRow *rows = cpu_kernel_rows(&count);
    for (int k = 0; k < count; k++)
        if (rows[k].op == n->op && (rows[k].types & ELEM_BIT(type)))
            return true;
    snprintf(why, whysz, "its kernel library has no %s kernel for %s", op_name(n->op),
             elem_kind_name(type));
    return false;
}

/* The packed weights (sized by the kernels' pack functions: within a few
 * percent of the weights, filters padded to whole micro-kernel panels, but
 * alpha^2 / 9 times them for Winograd's transformed filters and
 * 2 T (T/2 + 1) / (kh kw) times them for the FFT's spectra), the JIT's
 * aligned copy of them, and a workspace no larger than all activations
 * together. */
static MemoryNeed cpu_memory(const Graph *g)
{
    MemoryNeed w = memory_weights(g), a = memory_activations(g);
    uint64_t packed = plan_weights_bytes(g);
    if (!packed) /* a layer without a kernel: binding will say which */
        packed = w.bytes + w.bytes / 8;
    MemoryNeed m = {2 * packed + a.bytes, a.largest, a.layer};
    if (2 * w.largest > a.largest) /* name the layer that asks the most */
        m.largest = 2 * w.largest, m.layer = w.layer;
    return m;
}

static void cpu_release(TargetProgram *p)
{
    if (!p)
        return;
    CpuState *s = p->state;
    if (s) {
        jit_free(s->jit);
        dnnrt_pool_destroy(s->pool);
        codegen_free(&s->module);
        free(s->name);
        free(s);
    }
    free(p);
}

static TargetProgram *cpu_compile(const Graph *g, const TargetOptions *o, char *err, size_t errsz)
{
    TargetProgram *p = calloc(1, sizeof *p);
    CpuState *s = calloc(1, sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    *p = (TargetProgram){&target_cpu, g, s};
    s->name = strdup(o->name ? o->name : "model");
    s->cg = codegen_options(o);
    s->cg.name = s->name;
    s->emit = o->emit;
    bool ok = s->name != NULL;
    if (!ok)
        snprintf(err, errsz, "out of memory");
    if (ok && o->for_emit) {
        ok = codegen_build(g, &s->cg, NULL, &s->module, err, errsz);
    } else if (ok) {
        s->jit = jit_compile(g, &s->cg, err, errsz);
        s->pool = o->threads > 1 ? dnnrt_pool_create(o->threads) : NULL;
        ok = s->jit && (o->threads <= 1 || s->pool);
        if (s->jit && !ok)
            snprintf(err, errsz, "out of memory starting %d threads", o->threads);
    }
    if (!ok) {
        cpu_release(p);
        return NULL;
    }
    return p;
}

static bool cpu_run(TargetProgram *p, const void *const *inputs, void *const *outputs, char *err,
                    size_t errsz)
{
    CpuState *s = p->state;
    if (!s->jit) {
        snprintf(err, errsz, "the program was compiled for emit, not to run");
        return false;
    }
    int rc = jit_run(s->jit, inputs, outputs, s->pool);
    if (rc == 2)
        snprintf(err, errsz, "the weights of a sparse layer are damaged (offsets out of order or indices out "
                             "of range)");
    else if (rc)
        snprintf(err, errsz, "the compiled model returned error %d", rc);
    return rc == 0;
}

static bool cpu_emit(TargetProgram *p, const char *base, char *err, size_t errsz)
{
    CpuState *s = p->state;
    static const char *const code_ext[] = {".o", ".s", ".ll"};
    static const EmitKind kinds[] = {EMIT_OBJ, EMIT_ASM, EMIT_LLVM};
    if (!s->module.module) {
        snprintf(err, errsz, "the program was compiled to run, not for emit");
        return false;
    }
    int k = (int)s->emit;
    char *code = target_path_with(base, code_ext[k]), *header = target_path_with(base, ".h"),
         *weights = target_path_with(base, ".weights");
    bool ok = code && header && weights;
    if (!ok)
        snprintf(err, errsz, "out of memory");
    ok = ok && codegen_emit(&s->module, kinds[k], code, err, errsz);
    /* The code is written: LLVM's module and context (a quarter of the
     * compile's memory for ResNet-50) go back to the system before the
     * weights are packed, which needs room for the largest layer. */
    codegen_drop_code(&s->module);
    malloc_trim(0);
    ok = ok && codegen_write_header(p->graph, &s->module, &s->cg, header, err, errsz);
    if (ok && !s->cg.embed_weights)
        ok = codegen_write_weights(p->graph, &s->module, weights, err, errsz);
    if (ok)
        printf("wrote %s, %s%s%s (workspace %zu bytes, weights %zu bytes%s)\n", code, header,
               s->cg.embed_weights ? "" : " and ", s->cg.embed_weights ? "" : weights,
               s->module.plan.workspace_size, s->module.plan.weights_size,
               s->cg.embed_weights ? ", embedded" : "");
    free(code);
    free(header);
    free(weights);
    return ok;
}

const Target target_cpu = {
    .name = "cpu",
    .summary = "native code for this machine (or --triple) through LLVM: JIT for run, bundles for compile",
    .default_opt_level = 3,
    .registry = cpu_kernel_rows,
    .conv_cost = cpu_conv_cost,
    .binds_kernels = true,
    .plans_workspace = true,
    .threads = true,
    .supports = cpu_supports,
    .memory = cpu_memory,
    .compile = cpu_compile,
    .run = cpu_run,
    .emit = cpu_emit,
    .release = cpu_release,
};
