/* dnnc run: execute a network on real data and print what it predicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "idx.h"
#include "npy.h"
#include "progress.h"
#include "dnnrt.h"
#include "jit.h"
#include "reference.h"
#include "tensor_file.h"

const char cmd_run_usage[] =
    "usage: dnnc run MODEL (--weights W.safetensors | --random-weights SEED)\n"
    "                --input [NAME=]FILE ... [options]\n"
    "       dnnc run MODEL.onnx --input [NAME=]FILE ... [options]  (weights in the model)\n\n"
    "Runs the network with the reference executor (plain loops, the oracle of\n"
    "every other backend) and prints the top-5 classes of classifiers.\n\n"
    "Inputs are .npy files (float32, int8, uint8, int32; C order) or IDX files\n"
    "(MNIST format, gzip-compressed or not). IDX images [N, H, W] of unsigned\n"
    "bytes become float32 [N, 1, H, W] scaled to [0, 1]. An input may hold any\n"
    "multiple of the declared batch: the network then runs once per batch.\n\n"
    "options:\n"
    MODEL_OPTIONS_HELP
    "  --input [NAME=]FILE    input data; NAME= is needed when the network has several inputs\n"
    "  --output [NAME=]FILE   write an output to a .npy file\n"
    "  --labels FILE          class labels (IDX or .npy integers): print top-1 and top-5 accuracy\n"
    "  --show N               print the top-5 classes of the first N samples (default 10)\n"
    "  --target NAME          reference (default: plain loops, the oracle) or cpu\n"
    "                         (native code for this machine through LLVM's JIT)\n"
    "  --threads N            threads for --target cpu (default 1)\n"
    "  -h, --help             show this help\n";

#define MAX_BINDINGS 16

typedef struct Binding {
    const char *name; /* NULL: the only input/output; else points to name_buf */
    const char *path;
    char name_buf[256];
} Binding;

typedef struct RunOptions {
    ModelOptions model;
    Binding inputs[MAX_BINDINGS], outputs[MAX_BINDINGS];
    int n_inputs, n_outputs;
    const char *labels;
    int show;
    bool cpu;     /* --target cpu: JIT-compiled code instead of the reference */
    int threads;
} RunOptions;

/* "NAME=FILE" or "FILE"; the name is kept in the binding itself. */
static void parse_binding(const char *arg, Binding *b)
{
    const char *eq = strchr(arg, '=');
    b->name = NULL;
    b->path = arg;
    if (eq) {
        snprintf(b->name_buf, sizeof b->name_buf, "%.*s", (int)(eq - arg), arg);
        b->name = b->name_buf;
        b->path = eq + 1;
    }
}

static int parse_args(int argc, char **argv, RunOptions *o, const char **model)
{
    memset(o, 0, sizeof *o);
    o->show = 10;
    o->threads = 1;
    *model = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int used = parse_model_option(argc, argv, &i, &o->model, "run");
        if (used < 0)
            return EXIT_USAGE;
        if (used)
            continue;
        if (is_help_flag(a)) {
            fputs(cmd_run_usage, stdout);
            return -1;
        }
        bool has_value = i + 1 < argc;
        if ((strcmp(a, "--input") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--labels") == 0 ||
             strcmp(a, "--show") == 0 || strcmp(a, "--target") == 0 || strcmp(a, "--threads") == 0) &&
            !has_value)
            return usage_error("run", "%s needs a value", a);
        if (strcmp(a, "--input") == 0 || strcmp(a, "--output") == 0) {
            bool in = a[2] == 'i';
            int *n = in ? &o->n_inputs : &o->n_outputs;
            if (*n == MAX_BINDINGS)
                return usage_error("run", "more than %d %ss", MAX_BINDINGS, a + 2);
            parse_binding(argv[++i], &(in ? o->inputs : o->outputs)[(*n)++]);
        } else if (strcmp(a, "--labels") == 0) {
            o->labels = argv[++i];
        } else if (strcmp(a, "--show") == 0) {
            char *end;
            o->show = (int)strtol(argv[++i], &end, 10);
            if (*end || o->show < 0)
                return usage_error("run", "--show needs a non-negative integer");
        } else if (strcmp(a, "--target") == 0) {
            const char *t = argv[++i];
            if (strcmp(t, "reference") != 0 && strcmp(t, "cpu") != 0)
                return usage_error("run", "unknown target '%s' (reference or cpu)", t);
            o->cpu = strcmp(t, "cpu") == 0;
        } else if (strcmp(a, "--threads") == 0) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1024)
                return usage_error("run", "--threads needs an integer from 1 to 1024");
            o->threads = (int)n;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("run", "unknown option '%s'", a);
        } else if (*model) {
            return usage_error("run", "more than one model file");
        } else {
            *model = a;
        }
    }
    if (!*model)
        return usage_error("run", "no model file");
    if (!o->n_inputs)
        return usage_error("run", "no --input");
    size_t len = strlen(*model);
    bool onnx = len >= 5 && strcmp(*model + len - 5, ".onnx") == 0; /* carries its weights */
    if (!onnx && !o->model.weights && !o->model.random)
        return usage_error("run", "give --weights FILE or --random-weights SEED");
    return 0;
}

/* Always converted to float32; IDX images scaled to [0, 1]. */
static bool load_input(const char *path, Array *out, char *err, size_t errsz)
{
    Array raw;
    TensorFileFormat format;
    if (!tensor_file_read(path, &raw, &format, err, errsz))
        return false;
    bool ok;
    if (format == TENSOR_FILE_IDX && raw.dtype == ELEM_U8 && raw.shape.rank == 3)
        ok = idx_images_to_input(&raw, out, err, errsz);
    else
        ok = array_to_f32(&raw, out, err, errsz);
    array_free(&raw);
    return ok;
}

/* How many times the declared batch fits into the given array; 0 if the
 * shapes are incompatible. */
static int64_t batches_in(const Shape *declared, const Shape *given)
{
    if (shape_equal(declared, given))
        return 1;
    if (declared->rank != given->rank || declared->rank == 0 || given->d[0] % declared->d[0] != 0)
        return 0;
    for (int i = 1; i < given->rank; i++)
        if (given->d[i] != declared->d[i])
            return 0;
    return given->d[0] / declared->d[0];
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

static bool load_inputs(const Graph *g, const RunOptions *o, RunData *rd)
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
        int b = find_binding(o->inputs, o->n_inputs, t->name, i, g->n_inputs);
        if (b < 0) {
            fprintf(stderr, "dnnc run: error: no data for input '%s'\n", t->name);
            return false;
        }
        if (!load_input(o->inputs[b].path, &rd->inputs[i], err, sizeof err)) {
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
        int64_t n = batches_in(&t->shape, &rd->inputs[i].shape);
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

/* The network as native code (--target cpu), or NULL for the reference. */
typedef struct Executor {
    JitModel *jit;
    dnnrt_pool *pool;
} Executor;

static bool run_once(const Graph *g, Executor *ex, const float *const *in, float *const *out,
                     char *err, size_t errsz)
{
    if (!ex->jit)
        return reference_run(g, in, out, err, errsz);
    int rc = jit_run(ex->jit, (const void *const *)in, (void *const *)out, ex->pool);
    if (rc)
        snprintf(err, errsz, "the compiled model returned error %d", rc);
    return rc == 0;
}

static bool run_batches(const Graph *g, Executor *ex, RunData *rd)
{
    char err[1024];
    for (int i = 0; i < g->n_outputs; i++) {
        Shape s = g->tensors[g->outputs[i]].shape;
        s.d[0] *= rd->batches;
        if (!array_alloc(&rd->outputs[i], ELEM_F32, &s, err, sizeof err)) {
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
    }
    const float *in[g->n_inputs + 1];
    float *out[g->n_outputs + 1];
    Progress p;
    progress_start(&p, "running", rd->batches);
    for (int64_t b = 0; b < rd->batches; b++) {
        for (int i = 0; i < g->n_inputs; i++)
            in[i] = (const float *)rd->inputs[i].data + b * shape_elems(&g->tensors[g->inputs[i]].shape);
        for (int i = 0; i < g->n_outputs; i++)
            out[i] = (float *)rd->outputs[i].data + b * shape_elems(&g->tensors[g->outputs[i]].shape);
        if (!run_once(g, ex, in, out, err, sizeof err)) {
            progress_finish(&p);
            fprintf(stderr, "dnnc run: error: %s\n", err);
            return false;
        }
        progress_step(&p, b + 1);
    }
    progress_finish(&p);
    return true;
}

static bool write_outputs(const Graph *g, const RunOptions *o, RunData *rd)
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

int cmd_run(int argc, char **argv)
{
    RunOptions o;
    const char *path;
    int rc = parse_args(argc, argv, &o, &path);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    Diag d;
    diag_init(&d, stderr);
    Model m;
    if (!model_load(path, &o.model, &d, &m)) {
        model_free(&m);
        return EXIT_INPUT_ERROR;
    }
    const Graph *g = m.graph;
    RunData rd = {0};
    rd.inputs = calloc((size_t)g->n_inputs + 1, sizeof(Array));
    rd.outputs = calloc((size_t)g->n_outputs + 1, sizeof(Array));
    Executor ex = {0};
    char err[1024];
    bool ok = rd.inputs && rd.outputs && load_inputs(g, &o, &rd);
    if (ok && o.cpu) {
        CodegenOptions co = {.name = "model", .opt_level = 3};
        ex.jit = jit_compile(g, &co, err, sizeof err);
        ex.pool = o.threads > 1 ? dnnrt_pool_create(o.threads) : NULL;
        if (!ex.jit)
            fprintf(stderr, "dnnc run: error: %s\n", err);
        ok = ex.jit != NULL;
    }
    double t0 = now_seconds();
    ok = ok && run_batches(g, &ex, &rd);
    double seconds = now_seconds() - t0;
    jit_free(ex.jit);
    dnnrt_pool_destroy(ex.pool);
    if (ok) {
        int64_t samples = rd.batches * g->tensors[g->inputs[0]].shape.d[0];
        printf("ran %lld sample%s in %.2f s (%.1f samples/s, %s)\n", (long long)samples,
               samples == 1 ? "" : "s", seconds, (double)samples / seconds,
               o.cpu ? "native code" : "reference executor");
        ok = report_classes(&rd.outputs[0], o.show, o.labels) && write_outputs(g, &o, &rd);
    }
    for (int i = 0; rd.inputs && i < g->n_inputs; i++)
        array_free(&rd.inputs[i]);
    for (int i = 0; rd.outputs && i < g->n_outputs; i++)
        array_free(&rd.outputs[i]);
    free(rd.inputs);
    free(rd.outputs);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
