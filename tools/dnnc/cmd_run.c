/* dnnc run: execute a network on real data and print what it predicts. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "input_data.h"
#include "idx.h"
#include "npy.h"
#include "progress.h"
#include "tensor_file.h"

#define MAX_BINDINGS 16

typedef struct Binding {
    const char *name; /* NULL: the only input/output; else points to name_buf */
    const char *path;
    char name_buf[256];
} Binding;

typedef struct RunArgs {
    const char *model;
    ModelArgs weights;
    PipelineArgs pipeline;
    Binding inputs[MAX_BINDINGS], outputs[MAX_BINDINGS];
    int n_inputs, n_outputs;
    const char *labels;
    int show;
    int threads; /* 0: not given */
    bool counts; /* --counts */
} RunArgs;

/* "NAME=FILE" or "FILE"; the name is kept in the binding itself. */
static bool add_binding(Binding *list, int *n, const char *arg, const OptionUse *u)
{
    if (*n == MAX_BINDINGS)
        return option_error(u, "more than %d %s options", MAX_BINDINGS, u->spelled);
    Binding *b = &list[(*n)++];
    const char *eq = strchr(arg, '=');
    b->name = NULL;
    b->path = arg;
    if (eq) {
        snprintf(b->name_buf, sizeof b->name_buf, "%.*s", (int)(eq - arg), arg);
        b->name = b->name_buf;
        b->path = eq + 1;
    }
    return true;
}

static bool parse_input(void *section, const char *value, const OptionUse *u)
{
    RunArgs *a = section;
    return add_binding(a->inputs, &a->n_inputs, value, u);
}

static bool parse_output(void *section, const char *value, const OptionUse *u)
{
    RunArgs *a = section;
    return add_binding(a->outputs, &a->n_outputs, value, u);
}

static const Option run_options[] = {
    {"input", 0, "[NAME=]FILE", "input data, .npy or IDX; NAME= is needed when the network has\n"
                                "several inputs (then one --input for each)",
     OPTION_CALL(parse_input)},
    {"output", 0, "[NAME=]FILE", "write output NAME to a .npy file (without NAME=: the first\n"
                                 "output); a network may have several outputs: give one\n"
                                 "--output NAME=FILE for each you want written",
     OPTION_CALL(parse_output)},
    {"labels", 0, "FILE", "class labels (IDX or .npy integers): print top-1 and top-5 accuracy",
     OPTION_STRING(RunArgs, labels)},
    {"show", 0, "N", "print the top-5 classes of the first N samples (default 10)",
     OPTION_INT(RunArgs, show, 0, INT_MAX)},
    {"threads", 0, "N", "threads, for a target that has them (cpu; default 1)\n" THREADS_HELP,
     OPTION_THREADS(RunArgs, threads)},
    {"counts", 0, NULL, "after the runs, print what the target measured per layer and\n"
                        "sample: the spatial simulator's MACs, words moved at each\n"
                        "memory level, cycles and energy (spatial only)",
     OPTION_FLAG(RunArgs, counts)},
    OPTIONS_END,
};

const CommandSpec cmd_run_spec = {
    .name = "run",
    .summary = "run a network on data: reference executor, native code or the accelerator simulator",
    .usage = "dnnc run MODEL (--weights W.safetensors | --random-weights SEED)\n"
             "                --input [NAME=]FILE ... [options]\n"
             "       dnnc run MODEL.onnx --input [NAME=]FILE ... [options]  (weights in the model)",
    .description =
        "Runs the network on the target --target names and prints the top-5 classes\n"
        "of classifiers. The default target, reference, is the reference executor\n"
        "(plain loops, the oracle of every other target); cpu runs native code for\n"
        "this machine through LLVM's JIT; spatial runs a fixed16 network (--quantize\n"
        "fixed16 --calibrate DATA --quantize-first-last) on the accelerator's\n"
        "simulator, float layers between its parts on the host (docs/accelerator.md).\n"
        "The pipeline runs at the target's default -O level unless -O says otherwise.\n\n"
        "Inputs are .npy files (float32, int8, uint8, int32; C order) or IDX files\n"
        "(MNIST format, gzip-compressed or not; unsigned and signed bytes, int16 and\n"
        "int32 read as int32, float32, float64 rounded to float32). Each reaches the\n"
        "network in its input's type (f32, i8, u8 or i32):\n"
        "  * data of that type as it is;\n"
        "  * IDX images [N, H, W] of unsigned bytes as [N, 1, H, W]; an f32 input gets\n"
        "    them scaled to [0, 1] (as the networks trained on them expect);\n"
        "  * other data only if every value is exactly representable in the input's\n"
        "    type (any integer up to 2^24 in magnitude fits f32; a float fits an integer\n"
        "    type when it is integral and in range); otherwise the error names the input,\n"
        "    the file, both types and the first value that is not.\n"
        "An input may hold any multiple of the declared batch: the network then\n"
        "runs once per batch. --output writes each output in its own type.",
    .operand = "model file",
    .operand_offset = offsetof(RunArgs, model),
    .sections = {
        {"options:", run_options, 0},
        MODEL_OPTION_SECTION(RunArgs),
        PIPELINE_OPTION_SECTIONS(
            RunArgs, "pipeline options (default: --target reference at its default level):"),
    },
};

static bool has_run(const Target *t) { return t->compile && t->run; }

/* Checks after the options are parsed; OPTIONS_PARSED or the exit status. */
static int check_args(const RunArgs *a)
{
    if (!a->n_inputs)
        return usage_error("run", "no --input");
    if (!model_is_onnx(a->model) && !a->weights.weights && !a->weights.random)
        return usage_error("run", "give --weights FILE or --random-weights SEED");
    const Target *t = a->pipeline.target;
    if (!has_run(t))
        return target_cannot("run", t, "run networks yet", "code generator or simulator", has_run);
    if (a->threads && !t->threads)
        return usage_error("run", "--threads: target %s runs on one thread", t->name);
    if (a->counts && !t->report)
        return usage_error("run", "--counts: target %s measures nothing to print (the spatial "
                                  "target's simulator does)", t->name);
    return OPTIONS_PARSED;
}

static int find_binding(const Binding *b, int n, const char *name, int index, int count)
{
    for (int i = 0; i < n; i++)
        if (b[i].name ? strcmp(b[i].name, name) == 0 : (count == 1 && index == 0))
            return i;
    return -1;
}

typedef struct RunData {
    Array *inputs, *outputs;
    int64_t batches;
} RunData;

static bool load_inputs(const Graph *g, const RunArgs *o, RunData *rd)
{
    char err[1024];
    rd->batches = -1;
    for (int k = 0; k < o->n_inputs; k++) {
        const char *name = o->inputs[k].name;
        if (name ? graph_find_tensor(g, name) < 0 || g->tensors[graph_find_tensor(g, name)].kind != TENSOR_INPUT
                 : g->n_inputs != 1) {
            if (name)
                fprintf(stderr, "dnnc run: error: the network has no input '%s'\n", name);
            else
                fprintf(stderr, "dnnc run: error: the network has %d inputs; write --input NAME=FILE\n",
                        g->n_inputs);
            return false;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        if (!array_elem_size(t->type.kind)) {
            fprintf(stderr, "dnnc run: error: input '%s' is %s: dnnc run reads f32, i8, u8 and i32 "
                            "data only\n", t->name, elem_kind_name(t->type.kind));
            return false;
        }
        int b = find_binding(o->inputs, o->n_inputs, t->name, i, g->n_inputs);
        if (b < 0) {
            fprintf(stderr, "dnnc run: error: no data for input '%s'\n", t->name);
            return false;
        }
        if (!input_data_load(o->inputs[b].path, t, &rd->inputs[i], err, sizeof err)) {
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
        int64_t n = input_data_batches(&t->shape, &rd->inputs[i].shape);
        if (n == 0 || (rd->batches >= 0 && n != rd->batches)) {
            char want[300], got[300];
            shape_format(&t->shape, want, sizeof want);
            shape_format(&rd->inputs[i].shape, got, sizeof got);
            fprintf(stderr,
                    "dnnc run: error: %s: input '%s' is declared %s but the file holds %s%s\n",
                    o->inputs[b].path, t->name, want, got,
                    n ? " (a different number of batches than the other inputs)" : "");
            return false;
        }
        rd->batches = n;
    }
    return true;
}

/* Each output in its tensor's element type, room for every batch. */
static bool alloc_outputs(const Graph *g, RunData *rd)
{
    char err[1024];
    for (int i = 0; i < g->n_outputs; i++) {
        const Tensor *t = &g->tensors[g->outputs[i]];
        Shape s = t->shape;
        s.d[0] *= rd->batches;
        if (!array_alloc(&rd->outputs[i], t->type.kind, &s, err, sizeof err)) {
            fprintf(stderr, "dnnc run: error: output '%s': %s\n", t->name, err);
            return false;
        }
    }
    return true;
}

/* Batch b of a buffer that holds every batch of tensor t. */
static void *batch_of(const Array *a, const Tensor *t, int64_t b)
{
    return (char *)a->data + b * shape_elems(&t->shape) * (int64_t)elem_kind_size(t->type.kind);
}

static bool run_batches(const Graph *g, const Target *t, TargetProgram *prog, RunData *rd)
{
    if (!alloc_outputs(g, rd))
        return false;
    const void *in[g->n_inputs + 1];
    void *out[g->n_outputs + 1];
    char err[1024];
    Progress p;
    progress_start(&p, "running", rd->batches);
    p.enabled = p.enabled && rd->batches > 1; /* one batch: only the target's own bar */
    for (int64_t b = 0; b < rd->batches; b++) {
        for (int i = 0; i < g->n_inputs; i++)
            in[i] = batch_of(&rd->inputs[i], &g->tensors[g->inputs[i]], b);
        for (int i = 0; i < g->n_outputs; i++)
            out[i] = batch_of(&rd->outputs[i], &g->tensors[g->outputs[i]], b);
        if (!t->run(prog, in, out, err, sizeof err)) {
            progress_finish(&p);
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
        progress_step(&p, b + 1);
    }
    progress_finish(&p);
    return true;
}

static bool write_outputs(const Graph *g, const RunArgs *o, RunData *rd)
{
    char err[1024];
    for (int k = 0; k < o->n_outputs; k++) {
        int idx = -1;
        for (int i = 0; i < g->n_outputs; i++)
            if (o->outputs[k].name ? strcmp(o->outputs[k].name, g->tensors[g->outputs[i]].name) == 0
                                   : i == 0)
                idx = i;
        if (idx < 0) {
            fprintf(stderr, "dnnc run: error: the network has no output '%s'\n", o->outputs[k].name);
            return false;
        }
        if (!npy_write(o->outputs[k].path, &rd->outputs[idx], err, sizeof err)) {
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
    }
    return true;
}

/* The target's progress inside one run (the simulator's instructions). */
static void inner_progress(void *ctx, int64_t done, int64_t total)
{
    Progress *p = ctx;
    p->total = total > 0 ? total : 1;
    progress_step(p, done);
}

/* Compiles the graph for the target (run, not emit), runs every batch and
 * says how long the runs took. A single batch gets the target's own
 * progress bar; several get one bar counting batches (run_batches). */
static bool run_on_target(const Graph *g, const RunArgs *a, RunData *rd)
{
    const Target *t = a->pipeline.target;
    Progress inner;
    progress_start(&inner, "simulating", 1);
    TargetOptions to = {.opt_level = a->pipeline.passes.opt_level,
                        .threads = a->threads ? a->threads : 1,
                        .arch = a->pipeline.arch,
                        .progress = rd->batches == 1 ? inner_progress : NULL,
                        .progress_ctx = &inner};
    char err[1024];
    TargetProgram *prog = t->compile(g, &to, err, sizeof err);
    if (!prog) {
        fprintf(stderr, "dnnc run: error: %s\n", err);
        return false;
    }
    double t0 = now_seconds();
    bool ok = run_batches(g, t, prog, rd);
    progress_finish(&inner);
    double seconds = now_seconds() - t0;
    if (ok) {
        int64_t samples = rd->batches * g->tensors[g->inputs[0]].shape.d[0];
        printf("ran %lld sample%s in %.2f s (%.1f samples/s, target %s)\n", (long long)samples,
               samples == 1 ? "" : "s", seconds, (double)samples / seconds, t->name);
        if (a->counts)
            t->report(prog, samples, stdout);
    }
    t->release(prog);
    return ok;
}

int cmd_run(int argc, char **argv)
{
    RunArgs a = {.show = 10};
    int rc = model_command_parse(&cmd_run_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_OF_TARGET);
    if (rc == OPTIONS_PARSED)
        rc = check_args(&a);
    if (rc != OPTIONS_PARSED)
        return rc;
    Model m;
    a.pipeline.threads = a.threads ? a.threads : 1; /* run's default */
    if (!model_prepare(a.model, &a.weights, &a.pipeline, true, &m))
        return EXIT_INPUT_ERROR;
    const Graph *g = m.graph;
    RunData rd = {0};
    rd.inputs = calloc((size_t)g->n_inputs + 1, sizeof(Array));
    rd.outputs = calloc((size_t)g->n_outputs + 1, sizeof(Array));
    bool ok = rd.inputs && rd.outputs && load_inputs(g, &a, &rd) && run_on_target(g, &a, &rd) &&
              report_classes(&rd.outputs[0], a.show, a.labels) && write_outputs(g, &a, &rd);
    for (int i = 0; rd.inputs && i < g->n_inputs; i++)
        array_free(&rd.inputs[i]);
    for (int i = 0; rd.outputs && i < g->n_outputs; i++)
        array_free(&rd.outputs[i]);
    free(rd.inputs);
    free(rd.outputs);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
