/* The spatial target: the Eyeriss-like accelerator of targets/spatial. Its
 * pipeline quantises to fixed16 and maps every layer (passes/pipeline.c);
 * compile makes the program (codegen/spatial/emit_graph.c), run executes
 * it on the simulator (runtime/spatial) with the float layers between its
 * segments on the reference executor, and emit writes NAME.isa, NAME.dram
 * and, with --emit=asm, NAME.s (docs/accelerator.md, "Running on the
 * simulator"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa_asm.h"
#include "outfile.h"
#include "reference.h"
#include "sim.h"
#include "spatial_graph.h"
#include "targets_internal.h"

/* The PE array computes conv and fc layers by the direct sums its
 * dataflows schedule (fixed16's qlinear_conv is one). */
static const KernelRow rows[] = {
    {OP_CONV, ALGO_DIRECT, ELEMS_FLOAT, ISA_ANY, "pe_array", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
    {OP_FC, ALGO_AUTO, ELEMS_FLOAT, ISA_ANY, "pe_array", {0}, LAYOUTS_ALL, LAYOUT_ANNOTATED,
     NULL, SPARSE_NONE, 0, NULL},
};

static const KernelRow *spatial_registry(int *count)
{
    *count = (int)(sizeof rows / sizeof *rows);
    return rows;
}

/* The DRAM, one int64 cell a word, and a host buffer per float tensor. */
static MemoryNeed spatial_memory(const Graph *g)
{
    MemoryNeed host = memory_activations(g);
    uint64_t words = spatial_graph_dram_words(g);
    uint64_t dram = words > UINT64_MAX / 8 ? UINT64_MAX : words * 8;
    MemoryNeed m = {dram > UINT64_MAX - host.bytes ? UINT64_MAX : dram + host.bytes, host.largest,
                    host.layer};
    if (dram > m.largest)
        m.largest = dram, m.layer = "the accelerator's DRAM";
    return m;
}

typedef struct SpatialState {
    SpatialGraphCode code;
    int64_t *dram;     /* allocated at the first run, the image applied */
    /* Per layer id of the program: the simulator's counts summed over every
     * run (allocated with the DRAM). */
    SimLayerCounts *counts;
    void **host;       /* per tensor id: a float tensor's host buffer */
    TargetEmitKind emit;
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} SpatialState;

static void spatial_release(TargetProgram *p)
{
    if (!p)
        return;
    SpatialState *s = p->state;
    if (s) {
        for (int t = 0; s->host && t < p->graph->n_tensors; t++)
            free(s->host[t]);
        free(s->host);
        free(s->dram);
        free(s->counts);
        spatial_graph_code_free(&s->code);
        free(s);
    }
    free(p);
}

/* Host buffers for the activations the host layers write. */
static bool alloc_host(const Graph *g, SpatialState *s)
{
    s->host = calloc((size_t)g->n_tensors + 1, sizeof *s->host);
    if (!s->host)
        return false;
    for (int i = 0; i < s->code.n_steps; i++) {
        const SpatialStep *st = &s->code.steps[i];
        if (st->kind != SPATIAL_STEP_HOST)
            continue;
        const Tensor *t = &g->tensors[g->nodes[st->node].output];
        size_t bytes = (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
        int id = g->nodes[st->node].output;
        if (!s->host[id] && !(s->host[id] = malloc(bytes ? bytes : 1)))
            return false;
    }
    return true;
}

static const SpatialArch *machine(const TargetOptions *o, ArchSet *fallback, char *err,
                                  size_t errsz)
{
    if (o->arch)
        return &o->arch->base;
    if (!arch_load("eyeriss", fallback, NULL)) {
        snprintf(err, errsz, "the built-in eyeriss description does not load");
        return NULL;
    }
    return &fallback->base;
}

static TargetProgram *spatial_compile(const Graph *g, const TargetOptions *o, char *err,
                                      size_t errsz)
{
    TargetProgram *p = calloc(1, sizeof *p);
    SpatialState *s = calloc(1, sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    *p = (TargetProgram){&target_spatial, g, s};
    if (o->for_emit && o->emit == TARGET_EMIT_LLVM) {
        snprintf(err, errsz, "--emit=llvm: the spatial target writes an instruction stream "
                             "(--emit=obj or asm)");
        spatial_release(p);
        return NULL;
    }
    s->emit = o->emit;
    s->progress = o->progress;
    s->progress_ctx = o->progress_ctx;
    ArchSet fallback;
    const SpatialArch *arch = machine(o, &fallback, err, errsz);
    if (!arch || !spatial_emit_graph(g, arch, &s->code, err, errsz)) {
        spatial_release(p);
        return NULL;
    }
    if (!o->for_emit && !alloc_host(g, s)) {
        snprintf(err, errsz, "out of memory");
        spatial_release(p);
        return NULL;
    }
    return p;
}

/* ---- run ---- */

typedef struct RunCtx {
    TargetProgram *p;
    SpatialState *s;
    const void *const *inputs;
    void *const *outputs;
    char *err;
    size_t errsz;
} RunCtx;

/* Where tensor t's values are on the host: a graph input or output the
 * caller holds, or the target's own buffer. */
static void *host_buffer(const RunCtx *r, int t)
{
    const Graph *g = r->p->graph;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == t)
            return (void *)r->inputs[i];
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t)
            return r->outputs[i];
    return r->s->host[t];
}

/* A host layer: its i16 operand (dequantize's) comes from DRAM, its i16
 * result (quantize's) goes to DRAM, both through an i16 buffer, so that the
 * reference's own kernel does the rounding and saturation. */
static bool host_step(RunCtx *r, const Node *n)
{
    const Graph *g = r->p->graph;
    const uint64_t *base = r->s->code.base;
    int in_t = n->n_inputs ? n->inputs[0] : -1, out_t = n->output;
    bool from_dram = in_t >= 0 && base[in_t] != SPATIAL_NO_DRAM, to_dram = base[out_t] != SPATIAL_NO_DRAM;
    uint64_t count = (uint64_t)shape_elems(&g->tensors[from_dram ? in_t : out_t].shape);
    int16_t *words = from_dram || to_dram ? malloc(count * sizeof *words + 1) : NULL;
    if ((from_dram || to_dram) && !words) {
        snprintf(r->err, r->errsz, "out of memory");
        return false;
    }
    for (uint64_t i = 0; from_dram && i < count; i++)
        words[i] = (int16_t)r->s->dram[base[in_t] + i];
    const void **ins = calloc((size_t)n->n_inputs + 1, sizeof *ins);
    for (int i = 0; ins && i < n->n_inputs; i++)
        ins[i] = from_dram && i == 0 ? words : host_buffer(r, n->inputs[i]);
    char why[512] = "out of memory";
    bool ok = ins && reference_run_node(g, n, ins, to_dram ? (void *)words : host_buffer(r, out_t),
                                        why, sizeof why);
    free(ins);
    for (uint64_t i = 0; ok && to_dram && i < count; i++)
        r->s->dram[base[out_t] + i] = words[i];
    free(words);
    if (!ok)
        snprintf(r->err, r->errsz, "layer '%s' on the host: %s", n->name, why);
    return ok;
}

static bool segment_step(RunCtx *r, const SpatialStep *st)
{
    SimOptions o = {.progress = r->s->progress, .progress_ctx = r->s->progress_ctx};
    return spatial_run_segment(&r->s->code, st, r->s->dram, &o, r->s->counts, r->err, r->errsz);
}

/* The DRAM once, with the weights; every run overwrites the activations. */
static bool prepare_dram(SpatialState *s, char *err, size_t errsz)
{
    if (s->dram)
        return true;
    uint64_t words = s->code.program.dram_words;
    size_t layers = s->code.program.n_layers;
    s->dram = calloc(words ? words : 1, sizeof *s->dram);
    s->counts = calloc(layers ? layers : 1, sizeof *s->counts);
    if (!s->dram || !s->counts) {
        snprintf(err, errsz, "out of memory for the accelerator's DRAM (%llu words)",
                 (unsigned long long)words);
        return false;
    }
    return isa_dram_apply(&s->code.image, s->dram, words, err, errsz);
}

static bool spatial_run(TargetProgram *p, const void *const *inputs, void *const *outputs,
                        char *err, size_t errsz)
{
    SpatialState *s = p->state;
    if (!s->host) {
        snprintf(err, errsz, "the program was compiled for emit, not to run");
        return false;
    }
    if (!prepare_dram(s, err, errsz))
        return false;
    RunCtx r = {p, s, inputs, outputs, err, errsz};
    for (int i = 0; i < s->code.n_steps; i++) {
        const SpatialStep *st = &s->code.steps[i];
        bool ok = st->kind == SPATIAL_STEP_HOST ? host_step(&r, &p->graph->nodes[st->node])
                                                : segment_step(&r, st);
        if (!ok)
            return false;
    }
    return true;
}

/* The layers the host runs between the accelerator's parts. */
static int host_layers(const SpatialGraphCode *code)
{
    int host = 0;
    for (int i = 0; i < code->n_steps; i++)
        host += code->steps[i].kind == SPATIAL_STEP_HOST;
    return host;
}

/* ---- emit ---- */

static bool write_asm(const IsaProgram *prog, const char *path, char *err, size_t errsz)
{
    OutFile f;
    if (!outfile_open(&f, path, err, errsz))
        return false;
    isa_disasm(prog, f.f);
    return outfile_commit(&f, err, errsz);
}

static bool spatial_emit(TargetProgram *p, const char *base, char *err, size_t errsz)
{
    SpatialState *s = p->state;
    char *isa = target_path_with(base, ".isa"), *dram = target_path_with(base, ".dram"), *text = target_path_with(base, ".s");
    bool ok = isa && dram && text;
    if (!ok)
        snprintf(err, errsz, "out of memory");
    ok = ok && isa_program_save(&s->code.program, isa, err, errsz) &&
         isa_dram_save(&s->code.image, dram, err, errsz);
    if (ok && s->emit == TARGET_EMIT_ASM)
        ok = write_asm(&s->code.program, text, err, errsz);
    int host = host_layers(&s->code);
    if (ok)
        printf("wrote %s and %s%s%s (%zu instructions in %d segment%s, %llu DRAM words; %d host "
               "layer%s)\n", isa, dram, s->emit == TARGET_EMIT_ASM ? " and " : "",
               s->emit == TARGET_EMIT_ASM ? text : "", s->code.program.n_instrs, s->code.segments,
               s->code.segments == 1 ? "" : "s", (unsigned long long)s->code.program.dram_words,
               host, host == 1 ? "" : "s");
    free(isa);
    free(dram);
    free(text);
    return ok;
}

/* ---- report ---- */

static double level_words(const SimLayerCounts *c, int level)
{
    double words = 0;
    for (int t = 0; t < SIM_TYPES; t++)
        words += c->access[level][t];
    return words;
}

static void report_row(FILE *out, const char *name, const SimLayerCounts *c, double per)
{
    fprintf(out, "%-28.28s %12.4g %12.4g %12.4g %12.4g %12.4g %12.4g %12.4g\n", name, c->macs / per,
            level_words(c, SIM_LEVEL_DRAM) / per, level_words(c, SIM_LEVEL_BUFFER) / per,
            level_words(c, SIM_LEVEL_ARRAY) / per, level_words(c, SIM_LEVEL_RF) / per, c->cycles / per,
            c->energy / per);
}

/* The simulator's counts per accelerator layer, per sample: what the
 * instruction streams did on the machine (docs/accelerator.md's
 * conventions: words per memory level, energy in units of one MAC). */
static void spatial_report(const TargetProgram *p, int64_t samples, FILE *out)
{
    const SpatialState *s = p->state;
    const IsaProgram *prog = &s->code.program;
    double per = samples > 0 ? (double)samples : 1;
    fprintf(out, "\nsimulated on the accelerator, per sample (%lld sample%s):\n", (long long)samples,
            samples == 1 ? "" : "s");
    fprintf(out, "%-28s %12s %12s %12s %12s %12s %12s %12s\n", "layer", "MACs", "DRAM words",
            "buffer words", "array words", "RF words", "cycles", "energy");
    SimLayerCounts total = {0};
    for (size_t i = 0; s->counts && i < prog->n_layers; i++) {
        report_row(out, prog->layers[i], &s->counts[i], per);
        sim_counts_add(&total, &s->counts[i]);
    }
    report_row(out, "total", &total, per);
    int host = host_layers(&s->code);
    fprintf(out, "energy in units of one MAC's; the %d layer%s the host ran not counted\n", host,
            host == 1 ? "" : "s");
}

const Target target_spatial = {
    .name = "spatial",
    .summary = "the Eyeriss-like accelerator (fixed16): mapping and energy (dnnc map), instruction "
               "streams, the simulator",
    .default_opt_level = 2,
    .registry = spatial_registry,
    .binds_kernels = false,
    .plans_workspace = false,
    .threads = false,
    .supports = spatial_graph_supports,
    .memory = spatial_memory,
    .compile = spatial_compile,
    .run = spatial_run,
    .emit = spatial_emit,
    .report = spatial_report,
    .release = spatial_release,
};
