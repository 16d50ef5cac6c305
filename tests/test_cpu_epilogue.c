/* The fused epilogue of conv and fc on the cpu target: bias, a residual
 * operand and the activation (relu, leaky_relu, clip) that the IR records
 * on the layer, and scale_shift; each small network is JIT-compiled and run
 * on 1 and 2 threads against the reference executor. Also the kernel
 * registry's lookups, its error for a layer it has no kernel for, and the
 * workspace planner's promise that a layer's output never shares storage
 * with its residual operand.
 *
 * Tolerance. The reference sums in double and rounds once; the kernels sum
 * in float32 in their own order (blocked GEMM, vector lanes). For a K-term
 * dot product the float32 error is at most K * u * sum |w_i * x_i| with
 * u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 3.1),
 * in any order. The largest K here is 288 (3x3 over 32 channels, which the
 * conv kernel sums in two blocks, partial sums waiting in the output), and
 * for He-initialised weights and inputs in [-1, 1] sum |w * x| stays within
 * about 4 times the largest pre-activation (test_golden measures 1.9 to
 * 3.0), so the bound is 288 * 5.96e-8 * 4 ~ 6.9e-5 of the pre-activation
 * scale. Adding bias and residual costs one more rounding each (u
 * relative), and relu, leaky_relu (alpha <= 1) and clip are 1-Lipschitz:
 * they pass errors on without growth. Clip makes the outputs smaller than
 * the sums whose rounding they carry, so the scale is floored at 1, the
 * order of every pre-activation here (inputs, weights, biases and
 * residuals are all O(1)):
 *     |cpu - ref| <= 1e-4 * max(1, max |ref|) + 1e-5 * |ref|.
 * Any semantic slip (a missing bias or residual, a wrong alpha, clip bound
 * or activation) moves outputs by O(0.1), three orders of magnitude more.
 * The test prints each case's largest error as a fraction of the scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "dnnrt.h"
#include "jit.h"
#include "reference.h"
#include "registry.h"
#include "test_util.h"
#include "weights.h"

static const double ATOL_SCALE = 1e-4;
static const double RTOL = 1e-5;

/* Deterministic values in [lo, hi) (a 64-bit LCG). */
static void fill_uniform(float *v, int64_t n, uint64_t *state, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)(lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0);
    }
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* He-style weights, then biases, scales and shifts that are not the
 * identity (weights_randomize makes biases 0 and scale_shift 1, 0). */
static void bind_weights(Graph *g)
{
    weights_randomize(g, 7);
    uint64_t state = 11;
    for (int t = 0; t < g->n_tensors; t++) {
        Tensor *p = &g->tensors[t];
        int64_t n = shape_elems(&p->shape);
        if (p->kind != TENSOR_PARAM || !p->data)
            continue;
        if (has_suffix(p->name, ".bias") || has_suffix(p->name, ".shift"))
            fill_uniform(p->data, n, &state, -0.5, 0.5);
        else if (has_suffix(p->name, ".scale"))
            fill_uniform(p->data, n, &state, 0.5, 1.5);
    }
}

/* The largest error as a fraction of the scale; fails beyond the tolerance. */
static void compare(const char *what, const float *got, const float *want, int64_t n)
{
    double scale = 1, worst = 0, max_err = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double excess = err / (ATOL_SCALE * scale + RTOL * fabs((double)want[i]));
        if (excess > worst || isnan(err))
            worst = isnan(err) ? INFINITY : excess, at = i, max_err = err;
    }
    print_message("%-36s %6lld values, scale %-6.3g worst error %-9.3g (%.2g of the tolerance)\n", what,
                  (long long)n, scale, max_err, worst);
    if (!(worst <= 1.0))
        fail_msg("%s: at %lld cpu %.9g, reference %.9g", what, (long long)at, (double)got[at],
                 (double)want[at]);
}

typedef struct Buffers {
    int n_in, n_out;
    float *in[4], *ref[4], *cpu[4];
    int64_t out_count[4];
} Buffers;

static void buffers_make(const Graph *g, Buffers *b)
{
    memset(b, 0, sizeof *b);
    assert_true(g->n_inputs <= 4 && g->n_outputs <= 4);
    b->n_in = g->n_inputs, b->n_out = g->n_outputs;
    uint64_t state = 3;
    for (int i = 0; i < g->n_inputs; i++) {
        int64_t n = shape_elems(&g->tensors[g->inputs[i]].shape);
        b->in[i] = malloc((size_t)n * sizeof(float));
        assert_non_null(b->in[i]);
        fill_uniform(b->in[i], n, &state, -1, 1);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        b->out_count[i] = shape_elems(&g->tensors[g->outputs[i]].shape);
        b->ref[i] = malloc((size_t)b->out_count[i] * sizeof(float));
        b->cpu[i] = malloc((size_t)b->out_count[i] * sizeof(float));
        assert_true(b->ref[i] && b->cpu[i]);
    }
}

static void buffers_free(Buffers *b)
{
    for (int i = 0; i < 4; i++)
        free(b->in[i]), free(b->ref[i]), free(b->cpu[i]);
}

/* Parses `text`, binds weights and checks the JIT against the reference on
 * 1 and 2 threads. */
static void check_network(const char *name, const char *text)
{
    Parsed p;
    parse_text(&p, name, text);
    if (!p.graph)
        fail_msg("%s does not compile:\n%s", name, p.messages);
    Graph *g = p.graph;
    bind_weights(g);
    run_pipeline_or_fail(g, "cpu", 0); /* the lowering records every conv's algorithm */
    Buffers b;
    buffers_make(g, &b);
    char err[1024];
    if (!reference_run(g, (const float *const *)b.in, b.ref, err, sizeof err))
        fail_msg("%s: reference: %s", name, err);
    CodegenOptions co = {.name = "epilogue", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("%s: cpu: %s", name, err);
    for (int threads = 1; threads <= 2; threads++) {
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        for (int i = 0; i < b.n_out; i++)
            memset(b.cpu[i], 0, (size_t)b.out_count[i] * sizeof(float));
        assert_int_equal(jit_run(j, (const void *const *)b.in, (void *const *)b.cpu, pool), 0);
        for (int i = 0; i < b.n_out; i++) {
            char what[128];
            snprintf(what, sizeof what, "%s/%d, %d thread%s", name, i, threads, threads > 1 ? "s" : "");
            compare(what, b.cpu[i], b.ref[i], b.out_count[i]);
        }
        dnnrt_pool_destroy(pool);
    }
    jit_free(j);
    buffers_free(&b);
    parsed_free(&p);
}

/* ---- conv --------------------------------------------------------------- */

/* K = 32 * 3 * 3 = 288: two blocks of the reduction, so the residual is read
 * after partial sums have been written to the output. */
static void test_conv_activations(void **state)
{
    (void)state;
    check_network("conv_relu.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "y = conv(x, filters=16, kernel=3, pad=1, act=relu);\n"
                  "output y;\n");
    check_network("conv_leaky.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "y = conv(x, filters=16, kernel=3, pad=1, act=leaky_relu, alpha=0.2);\n"
                  "output y;\n");
    check_network("conv_clip.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "y = conv(x, filters=16, kernel=3, pad=1, act=clip, min=-0.5, max=0.75);\n"
                  "output y;\n");
    check_network("conv_nobias_relu.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "y = conv(x, filters=16, kernel=3, pad=1, bias=false, act=relu);\n"
                  "output y;\n");
}

static void test_conv_residual(void **state)
{
    (void)state;
    check_network("conv_residual.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "skip = conv(x, filters=16, kernel=1);\n"
                  "y = conv(x, skip, filters=16, kernel=3, pad=1, act=relu);\n"
                  "output y;\n");
    check_network("conv_residual_input.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "input s: f32[2, 16, 4, 4];\n"
                  "y = conv(x, s, filters=16, kernel=3, stride=2, pad=1, bias=false,\n"
                  "         act=leaky_relu, alpha=0.1);\n"
                  "output y;\n");
    /* 1x1, stride 1, no padding: the kernel reads the input as its GEMM
     * operand directly; here the input is also the residual. */
    check_network("conv_1x1_self.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "y = conv(x, x, filters=32, kernel=1, act=clip, min=-1, max=1);\n"
                  "output y;\n");
}

static void test_grouped_conv_residual(void **state)
{
    (void)state;
    check_network("depthwise_residual.dnn",
                  "input x: f32[2, 32, 16, 16];\n"
                  "y = conv(x, x, filters=32, kernel=3, pad=1, groups=32, act=relu);\n"
                  "output y;\n");
    check_network("grouped_residual.dnn",
                  "input x: f32[2, 32, 16, 16];\n"
                  "skip = conv(x, filters=24, kernel=1, bias=false);\n"
                  "y = conv(x, skip, filters=24, kernel=3, pad=1, groups=4, act=leaky_relu, alpha=0.3);\n"
                  "output y;\n");
}

/* ---- fc ------------------------------------------------------------------- */

static void test_fc(void **state)
{
    (void)state;
    check_network("fc_relu.dnn",
                  "input x: f32[2, 16, 4, 4];\n"
                  "y = fc(x, units=200, act=relu);\n"
                  "output y;\n");
    check_network("fc_leaky_nobias.dnn",
                  "input x: f32[2, 256];\n"
                  "y = fc(x, units=300, bias=false, act=leaky_relu, alpha=0.05);\n"
                  "output y;\n");
    check_network("fc_clip_residual.dnn",
                  "input x: f32[2, 256];\n"
                  "skip = fc(x, units=300);\n"
                  "y = fc(x, skip, units=300, act=clip, min=-0.25, max=0.5);\n"
                  "output y;\n");
    check_network("fc_residual_nobias.dnn",
                  "input x: f32[2, 16, 4, 4];\n"
                  "input s: f32[2, 64];\n"
                  "y = fc(x, s, units=64, bias=false);\n"
                  "output y;\n");
}

/* ---- scale_shift ---------------------------------------------------------- */

static void test_scale_shift(void **state)
{
    (void)state;
    check_network("scale_shift_4d.dnn",
                  "input x: f32[2, 8, 5, 7];\n"
                  "y = scale_shift(x);\n"
                  "output y;\n");
    check_network("scale_shift_2d.dnn",
                  "input x: f32[3, 10];\n"
                  "y = scale_shift(x);\n"
                  "output y;\n");
    check_network("conv_scale_shift.dnn",
                  "input x: f32[2, 32, 8, 8];\n"
                  "c = conv(x, filters=16, kernel=3, pad=1, bias=false);\n"
                  "y = scale_shift(c);\n"
                  "z = relu(y);\n"
                  "output z;\n");
}

/* ---- liveness ------------------------------------------------------------- */

/* a is read as the residual of b and again of c: b's output must not take
 * a's storage while a is live, and neither may c's. */
static const char chain[] = "input x: f32[2, 32, 8, 8];\n"
                            "a = conv(x, filters=32, kernel=3, pad=1, act=relu);\n"
                            "b = conv(a, a, filters=32, kernel=3, pad=1, act=relu);\n"
                            "c = conv(b, a, filters=32, kernel=3, pad=1, act=leaky_relu, alpha=0.1);\n"
                            "d = conv(c, c, filters=32, kernel=1, act=relu);\n"
                            "output d;\n";

static bool overlap(const Graph *g, const Plan *p, int s, int t)
{
    const Location *a = &p->loc[s], *b = &p->loc[t];
    if (a->kind != b->kind)
        return false;
    if (a->kind != LOC_WORKSPACE)
        return a->index == b->index;
    size_t sa = (size_t)shape_elems(&g->tensors[s].shape) * sizeof(float);
    size_t sb = (size_t)shape_elems(&g->tensors[t].shape) * sizeof(float);
    return a->offset < b->offset + sb && b->offset < a->offset + sa;
}

static void test_residual_liveness(void **state)
{
    (void)state;
    check_network("residual_chain.dnn", chain);
    Parsed p;
    parse_text(&p, "residual_chain.dnn", chain);
    assert_non_null(p.graph);
    Graph *g = p.graph;
    bind_weights(g);
    run_pipeline_or_fail(g, "cpu", 0);
    CodegenOptions co = {.name = "chain", .opt_level = 0};
    CompiledModel m;
    char err[1024];
    if (!codegen_build(g, &co, NULL, &m, err, sizeof err))
        fail_msg("%s", err);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            if (overlap(g, &m.plan, n->output, n->inputs[k]))
                fail_msg("layer '%s' writes over its operand %d ('%s')", n->name, k,
                         g->tensors[n->inputs[k]].name);
    }
    codegen_free(&m);
    parsed_free(&p);
}

/* ---- the registry --------------------------------------------------------- */

static void test_registry(void **state)
{
    (void)state;
    const KernelRow *conv = cpu_kernel_find(OP_CONV, ALGO_IM2COL, ELEM_F32, ISA_X86_64_AVX512);
    assert_non_null(conv);
    assert_string_equal(conv->kernel, "dnnk_conv");
    assert_int_equal(conv->isa, ISA_ANY);
    assert_null(cpu_kernel_find(OP_CONV, ALGO_AUTO, ELEM_F32, ISA_X86_64));
    const KernelRow *direct = cpu_kernel_find(OP_CONV, ALGO_DIRECT, ELEM_F32, ISA_X86_64);
    assert_non_null(direct);
    assert_string_equal(direct->kernel, "dnnk_conv_direct");
    /* Winograd runs F(2x2, 3x3), F(4x4, 3x3) and F(6x6, 3x3), listed; a row
     * that listed only 2 and 4 would refuse 6. */
    const KernelRow *wino = cpu_kernel_find(OP_CONV, ALGO_WINOGRAD, ELEM_F32, ISA_X86_64);
    assert_non_null(wino);
    assert_string_equal(wino->kernel, "dnnk_conv_winograd");
    assert_true(kernel_row_has_tile(wino, 2) && kernel_row_has_tile(wino, 4) && kernel_row_has_tile(wino, 6));
    assert_true(kernel_row_has_tile(conv, 0));
    char tiles[32];
    kernel_row_tiles_text(wino, tiles, sizeof tiles);
    assert_string_equal(tiles, "2, 4 or 6");
    KernelRow partial = *wino;
    partial.tiles[2] = 0;
    assert_false(kernel_row_has_tile(&partial, 6));
    kernel_row_tiles_text(&partial, tiles, sizeof tiles);
    assert_string_equal(tiles, "2 or 4");
    /* The FFT runs transform sizes 8, 16 and 32, not 4 or 64. */
    const KernelRow *fft = cpu_kernel_find(OP_CONV, ALGO_FFT, ELEM_F32, ISA_X86_64_AVX512);
    assert_non_null(fft);
    assert_string_equal(fft->kernel, "dnnk_conv_fft");
    assert_true(kernel_row_has_tile(fft, 8) && kernel_row_has_tile(fft, 16) && kernel_row_has_tile(fft, 32));
    assert_false(kernel_row_has_tile(fft, 4) || kernel_row_has_tile(fft, 64));
    kernel_row_tiles_text(fft, tiles, sizeof tiles);
    assert_string_equal(tiles, "8, 16 or 32");
    assert_null(cpu_kernel_find(OP_CONV, ALGO_IM2COL, ELEM_I8, ISA_X86_64));
    const KernelRow *ss = cpu_kernel_find(OP_SCALE_SHIFT, ALGO_AUTO, ELEM_F32, ISA_AARCH64);
    assert_non_null(ss);
    assert_string_equal(ss->kernel, "dnnk_scale_shift");
    /* Every op of the IR has a row: the cpu target runs them all. */
    int count;
    const KernelRow *rows = cpu_kernel_rows(&count);
    for (int op = 0; op < OP_COUNT; op++) {
        bool found = false;
        for (int r = 0; r < count; r++)
            found |= rows[r].op == (OpKind)op;
        if (!found)
            fail_msg("the cpu registry has no row for %s", op_name((OpKind)op));
    }
}

/* Code generation of `text` (no pipeline run) fails with `message`. */
static void expect_codegen_error(const char *name, const char *text, const char *message)
{
    Parsed p;
    parse_text(&p, name, text);
    assert_non_null(p.graph);
    bind_weights(p.graph);
    CodegenOptions co = {.name = "m", .opt_level = 0};
    char err[1024] = "";
    JitModel *j = jit_compile(p.graph, &co, err, sizeof err);
    assert_null(j);
    assert_string_equal(err, message);
    parsed_free(&p);
}

/* A conv forced to an algorithm, or a tile, the cpu target has no kernel
 * for (select-algo says so first; code generation checks it too). */
static void test_missing_kernel(void **state)
{
    (void)state;
    expect_codegen_error("fft64.dnn",
                         "input x: f32[1, 4, 8, 8];\n"
                         "@algo(fft, tile=64) c = conv(x, filters=4, kernel=3);\n"
                         "output c;\n",
                         "layer 'c': the cpu target has no kernel for conv (fft, tile 64) on f32");
    /* Nor does it run an algorithm where it cannot apply, though no pass
     * checked the graph. */
    expect_codegen_error("fft8.dnn",
                         "input x: f32[1, 4, 12, 12];\n"
                         "@algo(fft, tile=8) c = conv(x, filters=4, kernel=9);\n"
                         "output c;\n",
                         "layer 'c': fft cannot compute it: an FFT of size 8 needs a kernel smaller "
                         "than 8x8, not 9x9");
}

/* Code generation makes no choice of its own: a conv without a recorded
 * algorithm (its pipeline did not run) is an error, not a default. */
static void test_unbound_conv(void **state)
{
    (void)state;
    expect_codegen_error("unbound.dnn",
                         "input x: f32[1, 4, 8, 8];\n"
                         "c = conv(x, filters=4, kernel=3);\n"
                         "output c;\n",
                         "layer 'c': no algorithm is recorded for conv (run the cpu target's "
                         "pass pipeline first)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_activations),
        cmocka_unit_test(test_conv_residual),
        cmocka_unit_test(test_grouped_conv_residual),
        cmocka_unit_test(test_fc),
        cmocka_unit_test(test_scale_shift),
        cmocka_unit_test(test_residual_liveness),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_missing_kernel),
        cmocka_unit_test(test_unbound_conv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
