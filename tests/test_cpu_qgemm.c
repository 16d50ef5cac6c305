/* The cpu target's int8 convolution kernels (codegen/kernels/qgemm.c)
 * against the reference executor, bit for bit: qlinear_conv layers run
 * through the JIT on 1 and 2 threads for every instruction set this machine
 * can run (AVX-512 VNNI, AVX-512BW without VNNI, AVX-VNNI, AVX2, and plain
 * x86-64, which takes the scalar loops), and once as object code.
 *
 * The layers: every conv and fc of the golden cases (tests/golden), their
 * inputs and weights quantised with fixed scales, and layers built here for
 * what those do not reach: per-tensor and per-channel weights, u8 and i8
 * inputs with nonzero zero points, u8 and i8 outputs, bias or none,
 * groups, depthwise, stride, padding, dilation, 1x1, a kernel as large as
 * its input (an fc), batch 2, odd channel counts, a K of several panel
 * blocks, VGG-16's fc6 (K = 25088), outputs saturated at both ends, inputs
 * at 255 with weights at -128 and 127 (which vpmaddubsw would saturate),
 * and layers the packed form cannot take (which must still be right).
 * Then the int8 fc from sparse weights (codegen/kernels/qsparse.c): pruned
 * fc layers encoded CSR, against the reference on the encoding and the
 * dense reference, and its packed weights damaged. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aarch64_run.h"
#include "bind.h"
#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "kernels_bc.h"
#include "npy.h"
#include "pack.h"
#include "reference.h"
#include "shared_object.h"
#include "sparse.h"
#include "sparse_rules.h"
#include "test_util.h"
#include "weights.h"

#define GOLDEN_DIR DNNC_SOURCE_DIR "/tests/golden"

/* ---- the machines ------------------------------------------------------------ */

/* A kernel library and CPU to compile for: the kernel a blocked layer must
 * be bound to there, and the host features it needs to run. */
typedef struct Variant {
    const char *name, *cpu, *features, *kernel;
} Variant;

#define AVX512 "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512cd,+avx2,+fma,+avx,+f16c"
#define AVX2 "+avx2,+fma,+avx,+f16c"

static const Variant variants[] = {
    {"AVX-512 VNNI", "x86-64-v4", AVX512 ",+avx512vnni", "dnnk_qgemm_vnni"},
    {"AVX-512BW", "x86-64-v4", AVX512, "dnnk_qgemm_madd"},
    {"AVX-VNNI", "x86-64-v3", AVX2 ",+avxvnni", "dnnk_qgemm_vnni"},
    {"AVX2", "x86-64-v3", AVX2, "dnnk_qgemm_madd"},
    {"x86-64", "x86-64", "", "dnnk_qconv"},
};
#define N_VARIANTS (int)(sizeof variants / sizeof *variants)

/* Under the sanitizers only dnnc's own code is instrumented, not what the
 * JIT compiles, and the first library the machine runs exercises all of
 * it: the others are left to the plain build (at a fifth of the time). */
#ifdef DNNC_SANITIZED
#define VARIANTS_TO_RUN 1
#else
#define VARIANTS_TO_RUN N_VARIANTS
#endif

/* Whether every "+feature" of list is among the host's. */
static bool host_has(const char *list)
{
    char *triple, *cpu, *host;
    codegen_host(&triple, &cpu, &host);
    bool all = true;
    char want[512], *rest;
    snprintf(want, sizeof want, "%s", list);
    for (char *f = strtok_r(want, ",", &rest); f && all; f = strtok_r(NULL, ",", &rest)) {
        size_t n = strlen(f);
        const char *at = host;
        bool found = false;
        while (!found && (at = strstr(at, f)) != NULL) {
            found = (at == host || at[-1] == ',') && (at[n] == ',' || at[n] == '\0');
            at += n;
        }
        all = found;
    }
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(host);
    return all;
}

/* The kernel node 0 of g is bound to when compiled for triple and
 * features (`what` names them in a failure). */
static const char *bound_kernel_for(const Graph *g, const char *triple, const char *features, const char *what)
{
    KernelLibrary lib;
    assert_true(kernels_bitcode(triple, features, &lib));
    char err[256];
    KernelBinding *b = bind_graph(g, lib.isa, err, sizeof err);
    if (!b)
        fail_msg("%s: %s", what, err);
    const char *kernel = b[0].row->kernel;
    free(b);
    return kernel;
}

/* The kernel node 0 of g is bound to when compiled for v on this machine. */
static const char *bound_kernel(const Graph *g, const Variant *v)
{
    char *triple, *cpu, *features;
    codegen_host(&triple, &cpu, &features);
    const char *kernel = bound_kernel_for(g, triple, v->features, v->name);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return kernel;
}

/* An AArch64 target: its features, the qemu CPU that runs it and the
 * kernel a layer is bound to there. */
typedef struct Aarch64Variant {
    const char *option, *features, *qemu_cpu, *kernel;
} Aarch64Variant;

/* With --aarch64 (ctest cpu_qgemm_aarch64) every layer is instead compiled
 * for AArch64 with the dot-product extension, bound to dnnk_qgemm_sdot,
 * and run under qemu-aarch64-static -cpu max (which has sdot); with
 * --aarch64-neon (cpu_qgemm_aarch64_neon) for AArch64 without it, bound to
 * dnnk_qgemm_neon, under -cpu cortex-a53 (which has no sdot: the library
 * must not use it). The outputs must be the reference's. The sparse fc and
 * the x86 rows are left to the plain run. */
static const Aarch64Variant aarch64_variants[] = {
    {"--aarch64", "+dotprod", "max", "dnnk_qgemm_sdot"},
    {"--aarch64-neon", "", "cortex-a53", "dnnk_qgemm_neon"},
};
static const Aarch64Variant *aarch64_only;

/* ---- layers ------------------------------------------------------------------- */

/* How a layer's data is drawn: uniformly over each type's range, or at its
 * ends (inputs 255, weights -128 and 127: pairs of products of 65 000 in
 * magnitude, twice int16's range). */
typedef enum { DATA_UNIFORM, DATA_EXTREMES } DataKind;

typedef struct QLayer {
    const char *name;
    int64_t n, c, h, w, filters, kh, kw, stride[2], pad[4], dilation[2], groups;
    ElemKind in_type, weight_type, out_type;
    bool per_channel, bias;
    int x_zero, w_zero, y_zero; /* w_zero: every filter's, or 0 */
    DataKind data;
    double spread; /* output steps per standard deviation of the sums (30 if 0): more saturates more */
    bool blocked;  /* whether the packed form takes the layer */
    /* A residual operand (the quantize pass's fused add): its type, zero
     * point, and scale in output steps (0: none). */
    ElemKind residual_type;
    int r_zero;
    double r_steps;
} QLayer;

static const char *type_name(ElemKind k) { return k == ELEM_I8 ? "i8" : "u8"; }

/* The output's height or width. */
static int64_t out_extent(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation)
{
    return (in + pad - dilation * (k - 1) - 1) / stride + 1;
}

static void layer_text(const QLayer *q, char *buf, size_t size)
{
    char residual[160] = "";
    if (q->r_steps > 0)
        snprintf(residual, sizeof residual, "input r: %s[%lld, %lld, %lld, %lld];\n", type_name(q->residual_type),
                 (long long)q->n, (long long)q->filters,
                 (long long)out_extent(q->h, q->kh, q->stride[0], q->pad[0] + q->pad[2], q->dilation[0]),
                 (long long)out_extent(q->w, q->kw, q->stride[1], q->pad[1] + q->pad[3], q->dilation[1]));
    snprintf(buf, size,
             "input x: %s[%lld, %lld, %lld, %lld];\n%s"
             "y = qlinear_conv(x%s, filters=%lld, kernel=[%lld, %lld], stride=[%lld, %lld], "
             "pad=[%lld, %lld, %lld, %lld], dilation=[%lld, %lld], groups=%lld, weight_type=%s, "
             "per_channel=%s, bias=%s, out_type=%s);\n"
             "output y;\n",
             type_name(q->in_type), (long long)q->n, (long long)q->c, (long long)q->h, (long long)q->w,
             residual, q->r_steps > 0 ? ", r" : "", (long long)q->filters, (long long)q->kh, (long long)q->kw,
             (long long)q->stride[0],
             (long long)q->stride[1], (long long)q->pad[0], (long long)q->pad[1], (long long)q->pad[2],
             (long long)q->pad[3], (long long)q->dilation[0], (long long)q->dilation[1], (long long)q->groups,
             type_name(q->weight_type), q->per_channel ? "true" : "false", q->bias ? "true" : "false",
             type_name(q->out_type));
}

/* The parameters of qlinear_conv, in the IR's order. */
enum { P_WEIGHT, P_X_SCALE, P_X_ZERO, P_W_SCALE, P_W_ZERO, P_Y_SCALE, P_Y_ZERO, P_BIAS };

static void *param(Graph *g, int k) { return g->tensors[g->nodes[0].params[k]].data; }

static int64_t param_count(const Graph *g, int k)
{
    return shape_elems(&g->tensors[g->nodes[0].params[k]].shape);
}

static void store_int(ElemKind k, void *p, int64_t i, int64_t v)
{
    if (k == ELEM_I8)
        ((int8_t *)p)[i] = (int8_t)v;
    else
        ((uint8_t *)p)[i] = (uint8_t)v;
}

static int64_t load_int(ElemKind k, const void *p, int64_t i)
{
    return k == ELEM_I8 ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

static int64_t draw(uint64_t *state, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(test_uniform01(state) * (double)(hi - lo + 1));
}

static int64_t type_lo(ElemKind k) { return k == ELEM_I8 ? -128 : 0; }
static int64_t type_hi(ElemKind k) { return k == ELEM_I8 ? 127 : 255; }

/* A parsed single-layer graph with every parameter allocated. */
static Graph *layer_graph(Parsed *p, const QLayer *q)
{
    char text[1024];
    layer_text(q, text, sizeof text);
    parse_text(p, q->name, text);
    if (!p->graph)
        fail_msg("%s does not compile:\n%s\n%s", q->name, text, p->messages);
    assert_true(weights_randomize(p->graph, 1));
    return p->graph;
}

/* Scales, zero points and bias: sigma, the sums' standard deviation, is
 * q->spread output steps, so that the outputs cover most of their type and,
 * for a large spread, saturate at both ends. */
static void fill_requantisation(Graph *g, const QLayer *q, double sigma, uint64_t *state)
{
    float *w_scale = param(g, P_W_SCALE);
    int64_t m = param_count(g, P_W_SCALE);
    *(float *)param(g, P_X_SCALE) = 0.0125f;
    for (int64_t f = 0; f < m; f++)
        w_scale[f] = (float)(0.009 + 0.002 * test_uniform01(state));
    double spread = q->spread > 0 ? q->spread : 30;
    *(float *)param(g, P_Y_SCALE) = (float)(0.0125 * 0.01 * (sigma > 0 ? sigma : 1) / spread);
    store_int(q->in_type, param(g, P_X_ZERO), 0, q->x_zero);
    store_int(q->out_type, param(g, P_Y_ZERO), 0, q->y_zero);
    for (int64_t f = 0; f < param_count(g, P_W_ZERO); f++)
        store_int(q->weight_type, param(g, P_W_ZERO), f, q->w_zero);
    if (q->bias)
        for (int64_t f = 0; f < q->filters; f++)
            ((int32_t *)param(g, P_BIAS))[f] = (int32_t)draw(state, -(int64_t)sigma, (int64_t)sigma);
    if (q->r_steps > 0) { /* the residual's scale and zero point come last */
        int last = g->nodes[0].n_params - 1;
        *(float *)param(g, last - 1) = (float)(*(float *)param(g, P_Y_SCALE) * q->r_steps);
        store_int(q->residual_type, param(g, last), 0, q->r_zero);
    }
}

/* Random (or extreme) weights and input for q; the input in *input
 * (malloc'd). */
static void fill_layer(Graph *g, const QLayer *q, uint64_t seed, void **input)
{
    uint64_t state = seed;
    int64_t wn = param_count(g, P_WEIGHT), xn = q->n * q->c * q->h * q->w;
    for (int64_t i = 0; i < wn; i++) {
        int64_t v = q->data == DATA_EXTREMES ? (i / 3 % 2 ? type_hi(q->weight_type) : type_lo(q->weight_type))
                                             : draw(&state, type_lo(q->weight_type), type_hi(q->weight_type));
        store_int(q->weight_type, param(g, P_WEIGHT), i, v);
    }
    *input = malloc((size_t)xn);
    assert_non_null(*input);
    double xx = 0, ww = 0;
    for (int64_t i = 0; i < xn; i++) {
        int64_t lo = type_lo(q->in_type), hi = type_hi(q->in_type);
        int64_t v = q->data == DATA_EXTREMES ? hi : draw(&state, lo, hi);
        store_int(q->in_type, *input, i, v);
        xx += (double)(v - q->x_zero) * (double)(v - q->x_zero);
    }
    for (int64_t i = 0; i < wn; i++) {
        double v = (double)(load_int(q->weight_type, param(g, P_WEIGHT), i) - q->w_zero);
        ww += v * v;
    }
    int64_t k = q->c / q->groups * q->kh * q->kw;
    fill_requantisation(g, q, sqrt((double)k * xx / (double)xn * ww / (double)wn), &state);
}

/* ---- running ------------------------------------------------------------------ */

static uint8_t *run_reference(const Graph *g, const void *const *inputs, int64_t count)
{
    uint8_t *out = malloc((size_t)count);
    assert_non_null(out);
    char err[1024];
    if (!reference_run_typed(g, inputs, (void *const[]){out}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

static void expect_equal(const char *layer, const char *what, const uint8_t *got, const uint8_t *want,
                         int64_t count, ElemKind type)
{
    for (int64_t i = 0; i < count; i++)
        if (got[i] != want[i])
            fail_msg("%s, %s: output %lld is %lld, the reference's %lld", layer, what, (long long)i,
                     (long long)load_int(type, got, i), (long long)load_int(type, want, i));
}

/* g through the JIT for v at -O`level`, on 1 and 2 threads. */
static void check_jit(const Graph *g, const QLayer *q, const Variant *v, int level, const void *const *inputs,
                      const uint8_t *want, int64_t count)
{
    char err[1024];
    CodegenOptions co = {.name = "q", .opt_level = level, .cpu = v->cpu, .features = v->features};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("%s, %s: %s", q->name, v->name, err);
    uint8_t *got = malloc((size_t)count);
    assert_non_null(got);
    for (int threads = 1; threads <= 2; threads++) {
        memset(got, 0xa5, (size_t)count);
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        assert_int_equal(jit_run(j, inputs, (void *const[]){got}, pool), 0);
        dnnrt_pool_destroy(pool);
        char what[128];
        snprintf(what, sizeof what, "%s -O%d, %d thread%s", v->name, level, threads, threads > 1 ? "s" : "");
        expect_equal(q->name, what, got, want, count, q->out_type);
    }
    free(got);
    jit_free(j);
}

static void check_object(const Graph *g, const QLayer *q, const void *const *inputs, const uint8_t *want,
                         int64_t count)
{
    char err[1024];
    CodegenOptions co = {.name = "q", .opt_level = 2};
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("%s, object code: %s", q->name, err);
    uint8_t *got = malloc((size_t)count);
    assert_non_null(got);
    assert_int_equal(shared_model_run(s, inputs, (void *const[]){got}), 0);
    expect_equal(q->name, "object code", got, want, count, q->out_type);
    free(got);
    shared_model_free(s);
}

/* g for the AArch64 variant a under qemu, on 1 thread and with every
 * parallel range one unit long. */
static void check_aarch64(const Graph *g, const QLayer *q, const Aarch64Variant *a, const void *const *inputs,
                          const uint8_t *want, int64_t count)
{
    assert_string_equal(bound_kernel_for(g, "aarch64-linux-gnu", a->features, a->option), a->kernel);
    size_t bytes[2] = {0, 0}; /* each input's, one byte an element */
    for (int i = 0; i < g->n_inputs; i++)
        bytes[i] = (size_t)shape_elems(&g->tensors[g->inputs[i]].shape);
    unsigned char *in = malloc(bytes[0] + bytes[1]);
    uint8_t *got = malloc((size_t)count);
    assert_true(in && got);
    for (int i = 0; i < g->n_inputs; i++)
        memcpy(in + (i ? bytes[0] : 0), inputs[i], bytes[i]);
    Aarch64Run r = {.features = a->features, .qemu_cpu = a->qemu_cpu, .split = true};
    aarch64_run(g, &r, in, bytes[0] + bytes[1], got, (size_t)count);
    char what[128];
    snprintf(what, sizeof what, "aarch64 %s under qemu -cpu %s", a->kernel, a->qemu_cpu);
    expect_equal(q->name, what, got, want, count, q->out_type);
    free(got);
    free(in);
}

/* Every variant the host runs: the layer bound to the variant's kernel (or
 * the scalar loops, for a layer the packed form does not take), and its
 * outputs the reference's; with --aarch64, AArch64's instead. */
static void check_layer_graph(const Graph *g, const QLayer *q, const void *const *inputs)
{
    assert_int_equal(pack_qgemm_fits(g, &g->nodes[0]), q->blocked);
    int64_t count = shape_elems(&g->tensors[g->outputs[0]].shape);
    uint8_t *want = run_reference(g, inputs, count);
    int64_t saturated = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t v = load_int(q->out_type, want, i);
        saturated += v == type_lo(q->out_type) || v == type_hi(q->out_type);
    }
    print_message("%-44s %7lld outputs, %5.1f%% saturated\n", q->name, (long long)count,
                  100.0 * (double)saturated / (double)count);
    if (aarch64_only) {
        check_aarch64(g, q, aarch64_only, inputs, want, count);
        free(want);
        return;
    }
    for (int i = 0, ran = 0; i < N_VARIANTS && ran < VARIANTS_TO_RUN; i++) {
        const Variant *v = &variants[i];
        if (!host_has(v->features))
            continue;
        assert_string_equal(bound_kernel(g, v), v->kernel);
        check_jit(g, q, v, 2, inputs, want, count);
        ran++;
    }
    check_object(g, q, inputs, want, count);
    free(want);
}

static void check_layer(const QLayer *q)
{
    Parsed p;
    Graph *g = layer_graph(&p, q);
    void *input, *residual = NULL;
    fill_layer(g, q, 17, &input);
    if (q->r_steps > 0) { /* every value of the residual's type */
        int64_t count = shape_elems(&g->tensors[g->outputs[0]].shape);
        residual = malloc((size_t)count);
        assert_non_null(residual);
        for (int64_t i = 0; i < count; i++)
            store_int(q->residual_type, residual, i, type_lo(q->residual_type) + i * 97 % 256);
    }
    check_layer_graph(g, q, (const void *const[]){input, residual});
    free(input);
    free(residual);
    parsed_free(&p);
}

/* ---- the golden cases ------------------------------------------------------- */

static int64_t quantise(double v, double scale, int64_t zero, int64_t lo, int64_t hi)
{
    double q = nearbyint(v / scale) + (double)zero;
    return q < lo ? lo : q > hi ? hi : (int64_t)q;
}

/* Conv or fc node n of a golden case, its float weights and the case's
 * input (when n reads it) quantised: u8 input (scale 1/32, zero point 128),
 * i8 weights per filter (scale max |w| / 127, zero point 0), i32 bias. */
static void check_golden_node(const char *name, const Graph *fg, const Node *n, const float *case_input)
{
    const Shape *is = &fg->tensors[n->inputs[0]].shape;
    bool conv = n->op == OP_CONV;
    const ConvAttrs *a = &n->attr.conv;
    QLayer q = {.name = name, .n = is->d[0], .c = is->d[1], .h = is->rank == 4 ? is->d[2] : 1,
                .w = is->rank == 4 ? is->d[3] : 1, .groups = 1, .in_type = ELEM_U8, .weight_type = ELEM_I8,
                .out_type = ELEM_U8, .per_channel = true, .x_zero = 128, .y_zero = 128, .blocked = true};
    q.stride[0] = q.stride[1] = q.dilation[0] = q.dilation[1] = 1;
    if (conv) {
        q.filters = a->filters, q.kh = a->kernel[0], q.kw = a->kernel[1];
        q.groups = a->groups, q.bias = a->bias;
        memcpy(q.stride, a->stride, sizeof q.stride);
        memcpy(q.dilation, a->dilation, sizeof q.dilation);
        memcpy(q.pad, a->pad, sizeof q.pad);
    } else {
        q.filters = n->attr.fc.units, q.kh = q.h, q.kw = q.w, q.bias = n->attr.fc.bias;
    }
    Parsed p;
    Graph *g = layer_graph(&p, &q);
    int64_t K = q.c / q.groups * q.kh * q.kw, xn = q.n * q.c * q.h * q.w;
    const float *w = fg->tensors[n->params[0]].data, *b = q.bias ? fg->tensors[n->params[1]].data : NULL;
    const double x_scale = 1.0 / 32;
    uint64_t state = 5;
    fill_requantisation(g, &q, 0, &state);
    *(float *)param(g, P_X_SCALE) = (float)x_scale;
    double sigma = 0;
    for (int64_t f = 0; f < q.filters; f++) {
        double most = 0;
        for (int64_t i = 0; i < K; i++)
            most = fmax(most, fabs(w[f * K + i]));
        double scale = most > 0 ? most / 127 : 1;
        ((float *)param(g, P_W_SCALE))[f] = (float)scale;
        for (int64_t i = 0; i < K; i++) {
            int64_t v = quantise(w[f * K + i], scale, 0, -127, 127);
            ((int8_t *)param(g, P_WEIGHT))[f * K + i] = (int8_t)v;
            sigma += fabs((double)v);
        }
        if (b)
            ((int32_t *)param(g, P_BIAS))[f] = (int32_t)nearbyint(b[f] / (x_scale * (float)scale));
    }
    uint8_t *input = malloc((size_t)xn);
    assert_non_null(input);
    for (int64_t i = 0; i < xn; i++)
        input[i] = (uint8_t)(case_input ? quantise(case_input[i], x_scale, 128, 0, 255)
                                        : draw(&state, 0, 255));
    /* The output's step: a 30th of the sums' typical size (inputs of about
     * 32 steps from their zero point). */
    sigma = sigma / (double)(q.filters * K) * 32 * sqrt((double)K);
    *(float *)param(g, P_Y_SCALE) = (float)(x_scale * ((float *)param(g, P_W_SCALE))[0] * sigma / 30);
    check_layer_graph(g, &q, (const void *const[]){input});
    free(input);
    parsed_free(&p);
}

static void check_golden_case(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/model.dnn", GOLDEN_DIR, name);
    Parsed p;
    parse_file(&p, path);
    if (!p.graph)
        fail_msg("%s does not compile:\n%s", path, p.messages);
    Graph *g = p.graph;
    snprintf(path, sizeof path, "%s/%s/weights.safetensors", GOLDEN_DIR, name);
    Diag d;
    diag_init(&d, stderr);
    assert_true(weights_load(g, path, &d));
    snprintf(path, sizeof path, "%s/%s/input.npy", GOLDEN_DIR, name);
    Array in = {0};
    char err[1024];
    if (!npy_read(path, &in, err, sizeof err))
        fail_msg("%s", err);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_CONV && n->op != OP_FC)
            continue;
        char layer[300];
        snprintf(layer, sizeof layer, "golden %s, %s", name, n->name);
        check_golden_node(layer, g, n, n->inputs[0] == g->inputs[0] ? in.data : NULL);
    }
    array_free(&in);
    parsed_free(&p);
}

static void test_golden_cases(void **state)
{
    (void)state;
    for (int i = 0; i < N_VARIANTS; i++)
        print_message("%s (%s): %s\n", variants[i].name, variants[i].kernel,
                      host_has(variants[i].features) ? "runs here" : "not on this machine");
    size_t len;
    char *manifest = read_file_or_fail(GOLDEN_DIR "/MANIFEST", &len);
    int cases = 0;
    char *rest;
    for (char *line = strtok_r(manifest, "\n", &rest); line; line = strtok_r(NULL, "\n", &rest))
        if (strncmp(line, "conv_", 5) == 0 || strncmp(line, "fc_", 3) == 0) {
            check_golden_case(line);
            cases++;
        }
    free(manifest);
    assert_true(cases >= 15); /* 12 conv and 3 fc cases: none went missing */
}

/* ---- layers of their own ---------------------------------------------------- */

static void no_padding(QLayer *q) { q->pad[0] = q->pad[1] = q->pad[2] = q->pad[3] = 0; }

/* A 3x3 layer, stride 1, pad 1, u8 in and out, per-channel i8 weights with
 * bias: what the quantiser makes of a conv; each test changes some of it. */
static QLayer base(const char *name)
{
    return (QLayer){.name = name, .n = 1, .c = 8, .h = 9, .w = 10, .filters = 12, .kh = 3, .kw = 3,
                    .stride = {1, 1}, .pad = {1, 1, 1, 1}, .dilation = {1, 1}, .groups = 1,
                    .in_type = ELEM_U8, .weight_type = ELEM_I8, .out_type = ELEM_U8, .per_channel = true,
                    .bias = true, .x_zero = 0, .y_zero = 128, .blocked = true};
}

static void test_quantiser_layers(void **state)
{
    (void)state;
    QLayer q = base("3x3, per channel, zero points 0 (a fused relu)");
    q.y_zero = 0;
    check_layer(&q);
    q = base("3x3, per channel, y zero point 128");
    check_layer(&q);
    q = base("3x3, per tensor, x zero point 3, no bias");
    q.per_channel = false, q.x_zero = 3, q.bias = false;
    check_layer(&q);
    q = base("u8 in, i8 out, y zero point -5");
    q.x_zero = 131, q.out_type = ELEM_I8, q.y_zero = -5;
    check_layer(&q);
    q = base("i8 in (zero point -7), u8 out (zero point 9)");
    q.in_type = ELEM_I8, q.x_zero = -7, q.y_zero = 9;
    check_layer(&q);
    q = base("i8 in and out, per tensor");
    q.in_type = ELEM_I8, q.x_zero = 4, q.out_type = ELEM_I8, q.y_zero = 0, q.per_channel = false;
    check_layer(&q);
    q = base("u8 weights, zero point 128");
    q.weight_type = ELEM_U8, q.w_zero = 128, q.x_zero = 17;
    check_layer(&q);
}

static void test_geometry(void **state)
{
    (void)state;
    QLayer q = base("odd channels 7 -> 13, batch 2");
    q.c = 7, q.filters = 13, q.n = 2;
    check_layer(&q);
    q = base("stride 2, asymmetric pad");
    q.stride[0] = q.stride[1] = 2, q.pad[0] = 0, q.pad[1] = 2, q.pad[2] = 1, q.pad[3] = 0, q.x_zero = 40;
    check_layer(&q);
    q = base("dilation 2x3, kernel 3x2");
    q.kw = 2, q.dilation[0] = 2, q.dilation[1] = 3, q.pad[0] = q.pad[2] = 2, q.x_zero = 200;
    check_layer(&q);
    q = base("groups 3");
    q.c = 9, q.filters = 15, q.groups = 3, q.x_zero = 5;
    check_layer(&q);
    q = base("depthwise, stride 2");
    q.c = q.filters = q.groups = 11, q.stride[0] = q.stride[1] = 2, q.bias = false, q.x_zero = 60;
    check_layer(&q);
    q = base("1x1, 35 channels, 70 pixels");
    q.kh = q.kw = 1, q.c = 35, q.filters = 21, q.h = 7, no_padding(&q);
    check_layer(&q);
    /* Pointwise layers read whole tiles straight from their planes
     * (qgemm_pack_pointwise): with groups, i8 pixels, a channel count
     * that is not a multiple of 4, and K in two blocks. */
    q = base("1x1 pointwise, groups 3 of 5 channels, i8 in, batch 2");
    q.kh = q.kw = 1, q.c = 15, q.filters = 6, q.groups = 3, q.h = q.w = 8, q.n = 2, no_padding(&q);
    q.in_type = ELEM_I8, q.x_zero = -7;
    check_layer(&q);
    q = base("1x1 pointwise on 4701 channels (K in two blocks)");
    q.kh = q.kw = 1, q.c = 4701, q.filters = 7, q.h = q.w = 8, no_padding(&q);
    check_layer(&q);
    q = base("1x1, stride 2, batch 2");
    q.kh = q.kw = 1, q.stride[0] = q.stride[1] = 2, q.n = 2, no_padding(&q);
    check_layer(&q);
    q = base("7x7 stride 2 pad 3, 3 channels (K = 147)");
    q.c = 3, q.filters = 16, q.h = q.w = 23, q.kh = q.kw = 7, q.stride[0] = q.stride[1] = 2;
    q.pad[0] = q.pad[1] = q.pad[2] = q.pad[3] = 3, q.x_zero = 128;
    check_layer(&q);
    q = base("many pixels (3 x 2 tiles), 2 images");
    q.n = 2, q.h = 17, q.w = 19, q.c = 5, q.filters = 70;
    check_layer(&q);
    /* Receptive fields spanning 123 rows of 140: more than the window
     * holds, so the pixels are read from the input with bounds checks. */
    q = base("dilation 60 on 140x140 (beyond the window)");
    q.c = 2, q.h = q.w = 140, q.filters = 3, q.dilation[0] = q.dilation[1] = 60, q.x_zero = 9;
    no_padding(&q);
    check_layer(&q);
}

static void test_fc_form(void **state)
{
    (void)state;
    QLayer q = base("fc: kernel = input 5x4, batch 2, 30 units");
    q.n = 2, q.c = 6, q.h = 5, q.w = 4, q.kh = 5, q.kw = 4, q.filters = 30;
    no_padding(&q);
    check_layer(&q);
    q = base("fc on [N, K]: 1x1 on [3, 77, 1, 1], i8 out");
    q.n = 3, q.c = 77, q.h = q.w = 1, q.kh = q.kw = 1, q.filters = 9, q.out_type = ELEM_I8, q.y_zero = 3;
    no_padding(&q);
    check_layer(&q);
    /* VGG-16's fc6 shape (K = 25088: several panel blocks), fewer units. */
    q = base("fc6: kernel 7x7 on 512 channels, 40 units");
    q.c = 512, q.h = q.w = q.kh = q.kw = 7, q.filters = 40, q.x_zero = 0;
    no_padding(&q);
    check_layer(&q);
}

static void test_large_k(void **state)
{
    (void)state;
    /* K = 4680: two panel blocks, the sums of each filter panel waiting on
     * the stack in between, with 100 filters (17 panels: two blocks of
     * them). */
    QLayer q = base("3x3 on 520 channels (K = 4680), 100 filters");
    q.c = 520, q.h = 6, q.w = 7, q.filters = 100, q.x_zero = 77;
    check_layer(&q);
    /* K = 25088 in six blocks on a GEMM of 9 pixels, 20 filters. */
    q = base("7x7 on 9x9, 512 channels (K = 25088), 20 filters");
    q.c = 512, q.h = q.w = 9, q.kh = q.kw = 7, q.filters = 20, q.x_zero = 3;
    no_padding(&q);
    check_layer(&q);
    /* The extremes everywhere and K = 25088: sums of 255 * 127 products,
     * 8.1e8, far from int32's end but beyond int16's at every pair. */
    q = base("fc6 shape at the extremes");
    q.c = 512, q.h = q.w = q.kh = q.kw = 7, q.filters = 8;
    no_padding(&q);
    q.data = DATA_EXTREMES, q.spread = 4000;
    check_layer(&q);
}

static void test_saturation(void **state)
{
    (void)state;
    QLayer q = base("u8 out saturated at both ends");
    q.spread = 400, q.y_zero = 128, q.x_zero = 100;
    check_layer(&q);
    q = base("i8 out saturated at both ends");
    q.spread = 400, q.out_type = ELEM_I8, q.y_zero = 0, q.in_type = ELEM_I8;
    check_layer(&q);
    q = base("inputs 255, weights -128 and 127");
    q.data = DATA_EXTREMES, q.spread = 200;
    check_layer(&q);
    q = base("i8 inputs at 127 (zero point -128), weights -128 and 127");
    q.data = DATA_EXTREMES, q.in_type = ELEM_I8, q.x_zero = -128, q.spread = 200;
    check_layer(&q);
}

/* Layers the packed form does not take run the scalar loops inside the
 * same kernel, as the reference computes them. */
static void test_unpacked_layers(void **state)
{
    (void)state;
    QLayer q = base("u8 weights, zero point 0 (beyond s8)");
    q.weight_type = ELEM_U8, q.w_zero = 0;
    q.blocked = false;
    check_layer(&q);
    q = base("i8 weights, zero point 5 (beyond s8)");
    q.w_zero = 5, q.blocked = false;
    check_layer(&q);
    /* y_scale 0: every multiplier infinite; outputs saturate, and 0 * inf
     * is NaN, which stores as 0, as in the reference. */
    q = base("y_scale 0");
    q.blocked = false;
    Parsed p;
    Graph *g = layer_graph(&p, &q);
    void *input;
    fill_layer(g, &q, 23, &input);
    *(float *)param(g, P_Y_SCALE) = 0;
    check_layer_graph(g, &q, (const void *const[]){input});
    free(input);
    parsed_free(&p);
}

/* ---- sparse weights: dnnk_qsparse_fc ------------------------------------------ */

static const Variant sparse_variants[] = {
    {"AVX-512 VBMI", "x86-64-v4", AVX512 ",+avx512vnni,+avx512vbmi", "dnnk_qsparse_fc_vbmi"},
    {"AVX-512 VNNI without VBMI", "x86-64-v4", AVX512 ",+avx512vnni", "dnnk_qsparse_fc"},
    {"x86-64", "x86-64", "", "dnnk_qsparse_fc"},
};

/* Which weights of the fc [U][K] are zeroed: 90% at random, and also
 * every third row, or every third column, or all. */
typedef enum { PRUNE_RANDOM, PRUNE_ROWS, PRUNE_COLUMNS, PRUNE_ALL } PrunePattern;

static void prune_fc(Graph *g, PrunePattern z, uint64_t seed)
{
    const Tensor *w = &g->tensors[g->nodes[0].params[P_WEIGHT]];
    int8_t *v = param(g, P_WEIGHT);
    int64_t rows, cols;
    sparse_matrix_dims(&w->shape, &rows, &cols);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            if (z == PRUNE_ALL || (z == PRUNE_ROWS && r % 3 == 1) || (z == PRUNE_COLUMNS && c % 3 == 1) ||
                test_uniform01(&seed) < 0.9)
                v[r * cols + c] = 0;
}

/* An fc layer q (no padding, kernel = input), pruned by z and encoded CSR
 * as select-sparsity would: the reference on the encoding gives the dense
 * reference's bytes, and every variant the host runs gives them too. */
static void check_sparse_fc(const QLayer *q, PrunePattern z)
{
    Parsed p;
    Graph *g = layer_graph(&p, q);
    void *input;
    fill_layer(g, q, 31, &input);
    prune_fc(g, z, 37);
    int64_t count = shape_elems(&g->tensors[g->outputs[0]].shape);
    const void *const inputs[] = {input};
    uint8_t *dense = run_reference(g, inputs, count);
    Node *n = &g->nodes[0];
    Tensor *w = &g->tensors[n->params[P_WEIGHT]];
    n->ann.has_sparse = true, n->ann.sparse = SPARSE_CSR;
    w->sparse = sparse_encode_tensor(&g->arena, SPARSE_CSR, w);
    if (z == PRUNE_ALL)
        assert_int_equal(w->sparse->nnz, 0);
    uint8_t *want = run_reference(g, inputs, count);
    char what[300];
    snprintf(what, sizeof what, "%s, pruned %d", q->name, (int)z);
    expect_equal(what, "the reference on the encoding", want, dense, count, q->out_type);
    QLayer named = *q;
    named.name = what;
    /* Every pruning on the first kernel the host runs; the others, and the
     * object code, on the random pruning only (CI time: the kernels'
     * loops do not depend on where the zeros are). */
    for (size_t i = 0, ran = 0; i < sizeof sparse_variants / sizeof *sparse_variants && ran < VARIANTS_TO_RUN; i++) {
        const Variant *v = &sparse_variants[i];
        if (!host_has(v->features) || (ran > 0 && z != PRUNE_RANDOM))
            continue;
        assert_string_equal(bound_kernel(g, v), v->kernel);
        check_jit(g, &named, v, 2, inputs, dense, count);
        ran++;
    }
    if (z == PRUNE_RANDOM)
        check_object(g, &named, inputs, dense, count);
    free(dense), free(want), free(input);
    parsed_free(&p);
}

/* An fc of `units` outputs on c x h x w inputs, spread for pruned sums. */
static QLayer sparse_fc(const char *name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t units)
{
    QLayer q = base(name);
    q.n = n, q.c = c, q.h = q.kh = h, q.w = q.kw = w, q.filters = units, q.spread = 10, q.y_zero = 0;
    no_padding(&q);
    return q;
}

static void test_sparse_fc(void **state)
{
    (void)state;
    static const PrunePattern patterns[] = {PRUNE_RANDOM, PRUNE_ROWS, PRUNE_COLUMNS, PRUNE_ALL};
    /* K = 120: one partial block of 128; 300 units: 18 groups and 12 rows. */
    QLayer layers[6];
    layers[0] = sparse_fc("sparse fc, K 120, 300 units", 1, 6, 5, 4, 300);
    /* K = 2304: 18 whole blocks; 1100 units; relu'd outputs (zero point 0). */
    layers[1] = sparse_fc("sparse fc, K 2304, 1100 units", 1, 256, 3, 3, 1100);
    /* K = 129: a whole block and one input; i8 in and out; per tensor. */
    layers[2] = sparse_fc("sparse fc, K 129, i8 in and out, per tensor", 1, 129, 1, 1, 40);
    layers[2].in_type = ELEM_I8, layers[2].x_zero = -7, layers[2].out_type = ELEM_I8, layers[2].y_zero = 3;
    layers[2].per_channel = false;
    /* Batch 3, no bias, x zero point 17, outputs saturated at both ends. */
    layers[3] = sparse_fc("sparse fc, K 256, batch 3, no bias, saturated", 3, 16, 4, 4, 33);
    layers[3].bias = false, layers[3].x_zero = 17, layers[3].y_zero = 128, layers[3].spread = 200;
    /* Inputs 255 and weights at -128 and 127, K = 1024. */
    layers[4] = sparse_fc("sparse fc at the extremes, K 1024", 1, 64, 4, 4, 20);
    layers[4].data = DATA_EXTREMES, layers[4].spread = 400;
    /* i8 inputs at 127 with zero point -128: shifted by 128 in the kernel. */
    layers[5] = sparse_fc("sparse fc, i8 inputs at 127", 1, 300, 1, 1, 17);
    layers[5].data = DATA_EXTREMES, layers[5].in_type = ELEM_I8, layers[5].x_zero = -128, layers[5].spread = 400;
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        for (size_t z = 0; z < sizeof patterns / sizeof *patterns; z++)
            check_sparse_fc(&layers[i], patterns[z]);
}

/* The weights file of an encoded fc damaged after compiling: offsets out
 * of order, or past the steps, and the code refuses to run (status 2),
 * writing nothing. (A column byte names a place in its block whatever it
 * holds: there is nothing to check in it.) */
static void check_sparse_damage(void (*damage)(unsigned char *w, const Graph *g))
{
    QLayer q = sparse_fc("damaged sparse fc", 1, 10, 3, 3, 40);
    Parsed p;
    Graph *g = layer_graph(&p, &q);
    void *input;
    fill_layer(g, &q, 41, &input);
    Tensor *w = &g->tensors[g->nodes[0].params[P_WEIGHT]];
    g->nodes[0].ann.has_sparse = true, g->nodes[0].ann.sparse = SPARSE_CSR;
    w->sparse = sparse_encode_tensor(&g->arena, SPARSE_CSR, w);
    char err[1024];
    CodegenOptions co = {.name = "damaged", .opt_level = 2};
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    uint8_t out[40];
    assert_int_equal(shared_model_run(s, (const void *const[]){input}, (void *const[]){out}), 0);
    size_t size;
    unsigned char *weights = shared_model_weights(s, &size);
    assert_true(size > 0);
    damage(weights, g);
    memset(out, 0x5a, sizeof out);
    assert_int_equal(shared_model_run(s, (const void *const[]){input}, (void *const[]){out}), 2);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0x5a);
    shared_model_free(s);
    free(input);
    parsed_free(&p);
}

static void offsets_descending(unsigned char *w, const Graph *g)
{
    (void)g;
    int32_t *offsets = (int32_t *)(void *)w; /* 3 groups x 1 block: offsets 0, a, b, c */
    offsets[1] = offsets[2] + 1;
}

static void offset_past_the_steps(unsigned char *w, const Graph *g)
{
    (void)g;
    int32_t *offsets = (int32_t *)(void *)w;
    offsets[3] += 1; /* the end, past the steps there are */
}

static void test_sparse_damaged_weights(void **state)
{
    (void)state;
    check_sparse_damage(offsets_descending);
    check_sparse_damage(offset_past_the_steps);
}

/* A residual operand (the quantize pass's fused residual add,
 * docs/quantization.md): its term joins the requantisation in the
 * epilogue, in the reference's rounding steps, on every path: the GEMM
 * (tails of a tile, K in two blocks, groups, an fc-shaped layer, which
 * takes the GEMM), and the scalar loops for the layers it does not take. */
static void test_residual(void **state)
{
    (void)state;
    QLayer q = base("residual u8, output u8 zero point 0 (add and relu)");
    q.y_zero = 0, q.residual_type = ELEM_U8, q.r_zero = 0, q.r_steps = 0.7;
    check_layer(&q);
    q = base("residual i8 zero point -3, i8 out, per tensor");
    q.residual_type = ELEM_I8, q.r_zero = -3, q.r_steps = 1.37, q.out_type = ELEM_I8, q.y_zero = 2;
    q.per_channel = false, q.bias = false;
    check_layer(&q);
    q = base("residual saturating at both ends, 2 images of 3 x 2 tiles");
    q.n = 2, q.h = 17, q.w = 19, q.c = 5, q.filters = 70;
    q.residual_type = ELEM_U8, q.r_zero = 128, q.r_steps = 13.3;
    check_layer(&q);
    q = base("residual, 1x1 stride 2, groups 3");
    q.kh = q.kw = 1, q.stride[0] = q.stride[1] = 2, q.c = 9, q.filters = 15, q.groups = 3, no_padding(&q);
    q.residual_type = ELEM_I8, q.r_zero = 0, q.r_steps = 0.5;
    check_layer(&q);
    q = base("residual, K = 4680 in two blocks");
    q.c = 520, q.h = 6, q.w = 7, q.filters = 100, q.x_zero = 77;
    q.residual_type = ELEM_U8, q.r_zero = 9, q.r_steps = 2.25;
    check_layer(&q);
    q = base("residual, fc shape (kernel = input 5x4)");
    q.n = 2, q.c = 6, q.h = 5, q.w = 4, q.kh = 5, q.kw = 4, q.filters = 30, no_padding(&q);
    q.residual_type = ELEM_U8, q.r_zero = 1, q.r_steps = 3.1;
    check_layer(&q);
    q = base("residual, u8 weights zero point 0 (the scalar loops)");
    q.weight_type = ELEM_U8, q.w_zero = 0, q.blocked = false;
    q.residual_type = ELEM_U8, q.r_zero = 5, q.r_steps = 0.9;
    check_layer(&q);
}

/* At -O0 nothing deletes unused functions: a target without VNNI must still
 * compile, the VNNI kernel of its library dropped before code generation. */
static void test_unoptimised(void **state)
{
    (void)state;
    QLayer q = base("3x3 at -O0");
    Parsed p;
    Graph *g = layer_graph(&p, &q);
    void *input;
    fill_layer(g, &q, 29, &input);
    int64_t count = shape_elems(&g->tensors[g->outputs[0]].shape);
    uint8_t *want = run_reference(g, (const void *const[]){input}, count);
    for (int i = 0; i < N_VARIANTS; i++)
        if (host_has(variants[i].features))
            check_jit(g, &q, &variants[i], 0, (const void *const[]){input}, want, count);
    free(want);
    free(input);
    parsed_free(&p);
}

/* The library and row the features of a target select (only the
 * features list is read), and the chain of instruction sets behind them. */
static void test_isa_rows(void **state)
{
    (void)state;
#define X86 "x86_64-unknown-linux-gnu"
    static const struct {
        const char *triple, *features;
        KernelIsa isa;
        int lanes;
        const char *kernel;
    } cases[] = {
        {X86, "+avx512f,+avx512bw,+avx512vnni,+avx512vbmi", ISA_X86_64_AVX512_VBMI, 16, "dnnk_qgemm_vnni"},
        {X86, "+avx512f,+avx512bw,+avx512vnni", ISA_X86_64_AVX512_VNNI, 16, "dnnk_qgemm_vnni"},
        {X86, "+avx512f,+avx512bw,+avx512vbmi", ISA_X86_64_AVX512_BW, 16, "dnnk_qgemm_madd"},
        {X86, "+avx512f,+avx512bw,-avx512vnni", ISA_X86_64_AVX512_BW, 16, "dnnk_qgemm_madd"},
        {X86, "+avx512f,+avx512vnni", ISA_X86_64_AVX512, 16, "dnnk_qconv"},
        {X86, "+avx2,+avxvnni", ISA_X86_64_AVX_VNNI, 8, "dnnk_qgemm_vnni"},
        {X86, "+avx2", ISA_X86_64_AVX2, 8, "dnnk_qgemm_madd"},
        {X86, "", ISA_X86_64, 8, "dnnk_qconv"},
        {"aarch64-unknown-linux-gnu", "+neon", ISA_AARCH64, 8, "dnnk_qgemm_neon"},
        {"aarch64-unknown-linux-gnu", "+neon,+dotprod", ISA_AARCH64_DOTPROD, 8, "dnnk_qgemm_sdot"},
        {"aarch64-linux-gnu", "+dotprod", ISA_AARCH64_DOTPROD, 8, "dnnk_qgemm_sdot"},
        {"aarch64-linux-gnu", "+i8mm", ISA_AARCH64, 8, "dnnk_qgemm_neon"},
    };
#undef X86
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        KernelLibrary lib;
        assert_true(kernels_bitcode(cases[i].triple, cases[i].features, &lib));
        assert_int_equal(lib.isa, cases[i].isa);
        assert_int_equal(lib.lanes, cases[i].lanes);
        const KernelRow *q = cpu_kernel_find(OP_QLINEAR_CONV, ALGO_AUTO, ELEM_U8, lib.isa);
        assert_non_null(q);
        assert_string_equal(q->kernel, cases[i].kernel);
        assert_ptr_equal(cpu_kernel_find(OP_QLINEAR_CONV, ALGO_AUTO, ELEM_I8, lib.isa), q);
        /* The portable rows serve every library. */
        const KernelRow *conv = cpu_kernel_find(OP_CONV, ALGO_IM2COL, ELEM_F32, lib.isa);
        assert_non_null(conv);
        assert_string_equal(conv->kernel, "dnnk_conv");
    }
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX512_VBMI), ISA_X86_64_AVX512_VNNI);
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX512_VNNI), ISA_X86_64_AVX512_BW);
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX512_BW), ISA_X86_64_AVX512);
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX512), ISA_X86_64);
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX_VNNI), ISA_X86_64_AVX2);
    assert_int_equal(kernel_isa_parent(ISA_X86_64_AVX2), ISA_X86_64);
    assert_int_equal(kernel_isa_parent(ISA_X86_64), ISA_ANY);
    assert_int_equal(kernel_isa_parent(ISA_AARCH64_DOTPROD), ISA_AARCH64);
    assert_int_equal(kernel_isa_parent(ISA_AARCH64), ISA_ANY);
    assert_int_equal(kernel_isa_parent(ISA_ANY), ISA_ANY);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_rows),
        cmocka_unit_test(test_golden_cases),    cmocka_unit_test(test_quantiser_layers),
        cmocka_unit_test(test_geometry),        cmocka_unit_test(test_fc_form),
        cmocka_unit_test(test_large_k),         cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_unpacked_layers), cmocka_unit_test(test_unoptimised),
        cmocka_unit_test(test_sparse_fc),       cmocka_unit_test(test_sparse_damaged_weights),
        cmocka_unit_test(test_residual),
    };
    const struct CMUnitTest aarch64_tests[] = {
        cmocka_unit_test(test_golden_cases),    cmocka_unit_test(test_quantiser_layers),
        cmocka_unit_test(test_geometry),        cmocka_unit_test(test_fc_form),
        cmocka_unit_test(test_large_k),         cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_unpacked_layers), cmocka_unit_test(test_residual),
    };
    for (size_t i = 0; i < sizeof aarch64_variants / sizeof *aarch64_variants; i++)
        if (argc == 2 && strcmp(argv[1], aarch64_variants[i].option) == 0)
            aarch64_only = &aarch64_variants[i];
    if (argc > 1 && !aarch64_only) {
        fprintf(stderr, "usage: test_cpu_qgemm [--aarch64 | --aarch64-neon]\n");
        return 2;
    }
    return aarch64_only ? cmocka_run_group_tests(aarch64_tests, NULL, NULL)
                        : cmocka_run_group_tests(tests, NULL, NULL);
}
