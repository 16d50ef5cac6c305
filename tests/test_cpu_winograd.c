/* The cpu target's Winograd kernel (codegen/kernels/winograd.c, F(2x2, 3x3)
 * and F(4x4, 3x3)) against the reference executor:
 *
 * - one-layer networks (padding on every side or none, odd sizes that
 *   leave partial tiles, batches, groups, depthwise, more channels, filters
 *   and tiles than one unit holds, bias, relu, leaky_relu, residual),
 *   JIT-compiled and run on 1 and 2 threads, against the direct sums and
 *   against the reference's own plain Winograd on the same graph, each
 *   output within a rigorous bound on the float32 rounding (below);
 * - networks of several Winograd layers at -O2 (the epilogue fused into
 *   them), through the JIT and as object code, against the reference
 *   running the same graph;
 * - the packed filters: U = G g G^T laid out as dnnk.h says, compared with
 *   the reference's transform, and the weight blob's size.
 *
 * The bound. test_winograd.c derives it for the reference: with
 * K = 4 alpha + Cg + 12 roundings along any one term (G and B^T and A^T
 * rounded, the products of each transform, the sum over the channels),
 * |Y - y| <= gamma_K T, T the same computation on absolute values. The
 * kernel rounds no more often along any term: its U is computed in double
 * and rounded once, its B^T and A^T are integers written out as sums of at
 * most alpha terms, and it sums over channels once per term (with fused
 * multiply-adds, which round less). The epilogue adds two roundings (bias,
 * residual) where the reference's direct path rounds once, and relu and
 * leaky_relu (alpha <= 1) pass errors on without growth; with
 * E = |bias| + |residual|, every output satisfies
 *     |cpu - direct| <= gamma_(K+4) (T + E),
 * and, the reference's Winograd obeying the same bound,
 *     |cpu - reference Winograd| <= 2 gamma_(K+4) (T + E).
 * T is computed in float32 on positive terms (relative error gamma_K,
 * about 1e-5), which a 1% margin covers. The test also prints the largest
 * error per S = sum |x||w| + E, the scale of a dot product's rounding, for
 * the kernel and the reference, and requires the kernel to be about as
 * accurate as the reference (a factor 4, or 16 u, whichever is larger):
 * the bound is two orders of magnitude looser than what either achieves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "dnnk.h"
#include "dnnrt.h"
#include "jit.h"
#include "kernels.h"
#include "reference.h"
#include "shared_object.h"
#include "test_util.h"
#include "winograd.h"

static const double U_ROUND = 0x1p-24;

/* Deterministic values in [lo, hi) (a 64-bit LCG). */
static void fill_uniform(float *v, int64_t n, uint64_t *state, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)(lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0);
    }
}

static float *alloc_floats(int64_t n)
{
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    assert_non_null(p);
    return p;
}

/* ---- running a graph ------------------------------------------------------ */

/* Inputs and outputs of a graph: random inputs in [-1, 1), an output
 * buffer per graph output. */
typedef struct Io {
    int n_in, n_out;
    float *in[2], *out[2];
    int64_t in_count[2], out_count[2];
} Io;

static void io_make(const Graph *g, uint64_t seed, Io *io)
{
    memset(io, 0, sizeof *io);
    assert_true(g->n_inputs <= 2 && g->n_outputs <= 2);
    io->n_in = g->n_inputs, io->n_out = g->n_outputs;
    for (int i = 0; i < g->n_inputs; i++) {
        io->in_count[i] = shape_elems(&g->tensors[g->inputs[i]].shape);
        io->in[i] = alloc_floats(io->in_count[i]);
        fill_uniform(io->in[i], io->in_count[i], &seed, -1, 1);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        io->out_count[i] = shape_elems(&g->tensors[g->outputs[i]].shape);
        io->out[i] = alloc_floats(io->out_count[i]);
    }
}

static void io_free(Io *io)
{
    for (int i = 0; i < 2; i++)
        free(io->in[i]), free(io->out[i]);
}

/* Output 0 of g on the reference executor. */
static float *run_reference(const Graph *g, const Io *io)
{
    float *out = alloc_floats(io->out_count[0]);
    char err[1024];
    if (!reference_run(g, (const float *const *)io->in, (float *const[]){out, NULL}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

/* Output 0 of g through the JIT, on 1 thread into out[0] and on 2 into
 * out[1]. */
static void run_jit(const Graph *g, const Io *io, float *out[2])
{
    char err[1024];
    CodegenOptions co = {.name = "wino", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu: %s", err);
    for (int threads = 1; threads <= 2; threads++) {
        out[threads - 1] = alloc_floats(io->out_count[0]);
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        void *outs[2] = {out[threads - 1], NULL};
        assert_int_equal(jit_run(j, (const void *const *)io->in, outs, pool), 0);
        dnnrt_pool_destroy(pool);
    }
    jit_free(j);
}

/* Output 0 of g as object code linked into a shared library. */
static float *run_object(const Graph *g, const Io *io)
{
    char err[1024];
    CodegenOptions co = {.name = "wino", .opt_level = 2};
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("object code: %s", err);
    float *out = alloc_floats(io->out_count[0]);
    assert_int_equal(shared_model_run(s, (const void *const *)io->in, (void *const[]){out, NULL}), 0);
    shared_model_free(s);
    return out;
}

/* ---- one layer against the bound ----------------------------------------- */

typedef struct Layer {
    const char *name;
    int64_t n, c, h, w, f, groups;
    int64_t pad[4]; /* top, left, bottom, right */
    bool bias, residual;
    const char *act; /* the act= argument, or NULL */
} Layer;

static void layer_text(const Layer *L, int m, char *buf, size_t size)
{
    int64_t oh = L->h + L->pad[0] + L->pad[2] - 2, ow = L->w + L->pad[1] + L->pad[3] - 2;
    int len = snprintf(buf, size, "input x: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n,
                       (long long)L->c, (long long)L->h, (long long)L->w);
    if (L->residual)
        len += snprintf(buf + len, size - (size_t)len, "input s: f32[%lld, %lld, %lld, %lld];\n",
                        (long long)L->n, (long long)L->f, (long long)oh, (long long)ow);
    len += snprintf(buf + len, size - (size_t)len,
                    "@algo(winograd, tile=%d) y = conv(x%s, filters=%lld, kernel=3, "
                    "pad=[%lld, %lld, %lld, %lld], groups=%lld, bias=%s%s%s);\noutput y;\n",
                    m, L->residual ? ", s" : "", (long long)L->f, (long long)L->pad[0],
                    (long long)L->pad[1], (long long)L->pad[2], (long long)L->pad[3],
                    (long long)L->groups, L->bias ? "true" : "false", L->act ? ", act=" : "",
                    L->act ? L->act : "");
}

static WinogradMatrices absolute_matrices(int m)
{
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    return winograd_matrices_absolute(t);
}

static float *absolute_copy(const float *v, int64_t n)
{
    float *a = alloc_floats(n);
    for (int64_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

/* Per output: T (the Winograd computation on absolute values) and S (the
 * direct sums of |x||w|), each plus E = |bias| + |residual|. */
typedef struct Scales {
    double *T, *S;
} Scales;

static Scales layer_scales(const Graph *g, const Node *n, int m, const Io *io)
{
    const ConvAttrs *at = &n->attr.conv;
    const Shape *is = &g->tensors[n->inputs[0]].shape, *os = &g->tensors[n->output].shape;
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t count = shape_elems(os), plane = os->d[2] * os->d[3];
    float *ax = absolute_copy(io->in[0], io->in_count[0]), *aw = absolute_copy(w->data, shape_elems(&w->shape));
    Scales s = {malloc(sizeof(double) * (size_t)count), malloc(sizeof(double) * (size_t)count)};
    void *work = malloc(winograd_work_bytes(at, m, is, os));
    assert_true(s.T && s.S && work);
    WinogradMatrices t = absolute_matrices(m);
    winograd_conv_with(&t, at, is, os, ax, aw, s.T, work);
    conv_core(at, is, os, ax, aw, s.S);
    const float *bias = at->bias ? g->tensors[n->params[1]].data : NULL;
    for (int64_t i = 0; i < count; i++) {
        double e = (bias ? fabs(bias[(i / plane) % os->d[1]]) : 0) + (io->n_in == 2 ? fabs(io->in[1][i]) : 0);
        s.T[i] += e, s.S[i] += e;
    }
    free(ax), free(aw), free(work);
    return s;
}

/* The largest error per S, in units of u, after checking every output
 * against `bound_factor` gamma_(K+4) T. */
static double check_bound(const char *what, const float *got, const float *want, const Scales *s,
                          int64_t count, double gamma, double bound_factor)
{
    double worst_u = 0, worst_of_bound = 0;
    for (int64_t i = 0; i < count; i++) {
        double e = fabs((double)got[i] - want[i]), b = bound_factor * gamma * s->T[i];
        if (!(e <= b))
            fail_msg("%s: output %lld: %.9g against %.9g, error %.3g above the bound %.3g", what,
                     (long long)i, got[i], want[i], e, b);
        if (s->S[i] > 0)
            worst_u = fmax(worst_u, e / s->S[i] / U_ROUND);
        if (b > 0)
            worst_of_bound = fmax(worst_of_bound, e / b);
    }
    print_message("  %-34s largest error %6.3g u of S, %.2g of the bound\n", what, worst_u, worst_of_bound);
    return worst_u;
}

/* Random biases in [-0.5, 0.5) (weights_randomize makes them 0). */
static void random_biases(Graph *g, uint64_t seed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->op != OP_CONV || !n->attr.conv.bias)
            continue;
        Tensor *b = &g->tensors[n->params[1]];
        fill_uniform(b->data, shape_elems(&b->shape), &seed, -0.5, 0.5);
    }
}

static Graph *parse_or_fail(Parsed *p, const char *name, const char *text)
{
    parse_text(p, name, text);
    if (!p->graph)
        fail_msg("%s does not compile:\n%s", name, p->messages);
    randomize_weights_for_test(p->graph, 7);
    random_biases(p->graph, 9);
    return p->graph;
}

static void check_layer(const Layer *L, int m)
{
    char text[1024];
    layer_text(L, m, text, sizeof text);
    Parsed p;
    Graph *g = parse_or_fail(&p, L->name, text);
    run_pipeline_or_fail(g, "cpu", 0);
    const Node *n = &g->nodes[0];
    assert_int_equal(n->ann.algo, ALGO_WINOGRAD);
    assert_int_equal(n->ann.algo_tile, m);
    Io io;
    io_make(g, 3, &io);
    int64_t count = io.out_count[0];

    Graph *direct_graph = graph_clone(g);
    assert_non_null(direct_graph);
    direct_graph->nodes[0].ann.algo = ALGO_DIRECT;
    direct_graph->nodes[0].ann.algo_tile = 0;
    float *direct = run_reference(direct_graph, &io), *wino = run_reference(g, &io);
    Scales s = layer_scales(g, n, m, &io);
    int64_t cg = L->c / L->groups;
    double K = 4.0 * (m + 2) + (double)cg + 12 + 4, gamma = K * U_ROUND / (1 - K * U_ROUND) * 1.01;

    print_message("%s, F(%dx%d, 3x3):\n", L->name, m, m);
    double ref_u = check_bound("reference Winograd - direct", wino, direct, &s, count, gamma, 1);
    bool differs = false;
    float *outs[2];
    run_jit(g, &io, outs);
    for (int threads = 1; threads <= 2; threads++) {
        float *cpu = outs[threads - 1];
        char what[64];
        snprintf(what, sizeof what, "cpu (%d thread%s) - direct", threads, threads > 1 ? "s" : "");
        double cpu_u = check_bound(what, cpu, direct, &s, count, gamma, 1);
        snprintf(what, sizeof what, "cpu (%d thread%s) - ref. Winograd", threads, threads > 1 ? "s" : "");
        check_bound(what, cpu, wino, &s, count, gamma, 2);
        if (!(cpu_u <= fmax(4 * ref_u, 16)))
            fail_msg("%s: the kernel's error, %.3g u of S, is far above the reference's %.3g u", L->name,
                     cpu_u, ref_u);
        for (int64_t i = 0; i < count; i++)
            differs |= cpu[i] != direct[i];
        free(cpu);
    }
    /* The transform ran, not the direct sums (a handful of outputs may
     * round the same either way). */
    assert_true(differs || count < 64);
    free(direct), free(wino), free(s.T), free(s.S);
    io_free(&io);
    graph_free(direct_graph);
    parsed_free(&p);
}

static void check_both_tiles(const Layer *L)
{
    check_layer(L, 2);
    check_layer(L, 4);
}

static void test_padding(void **state)
{
    (void)state;
    check_both_tiles(&(Layer){"pad 1, bias, relu", 1, 8, 12, 12, 16, 1, {1, 1, 1, 1}, true, false, "relu"});
    check_both_tiles(&(Layer){"pad 0 1 2 1, residual, leaky_relu", 1, 6, 9, 10, 8, 1, {0, 1, 2, 1}, true,
                              true, "leaky_relu, alpha=0.2"});
    /* Windows that lie mostly, or for the first rows wholly, in padding. */
    check_both_tiles(&(Layer){"pad 3 0 0 2", 1, 2, 5, 7, 3, 1, {3, 0, 0, 2}, false, false, NULL});
}

/* Output sizes that neither m divides, batches, a 1x1 output. */
static void test_odd_sizes_and_batches(void **state)
{
    (void)state;
    check_both_tiles(&(Layer){"13x11, no padding, batch 2", 2, 5, 13, 11, 7, 1, {0, 0, 0, 0}, false, false,
                              NULL});
    check_both_tiles(&(Layer){"17x4, batch 2, residual", 2, 3, 17, 4, 5, 1, {1, 1, 1, 1}, true, true, "relu"});
    check_both_tiles(&(Layer){"1x1 output", 1, 2, 1, 1, 2, 1, {1, 1, 1, 1}, true, false, NULL});
}

static void test_groups_and_depthwise(void **state)
{
    (void)state;
    check_both_tiles(&(Layer){"3 groups, batch 2, residual", 2, 12, 10, 9, 18, 3, {1, 1, 1, 1}, true, true,
                              "relu"});
    check_both_tiles(&(Layer){"depthwise", 1, 16, 15, 15, 16, 16, {1, 1, 1, 1}, true, false, "relu"});
    check_both_tiles(&(Layer){"depthwise, multiplier 2", 1, 4, 11, 6, 8, 4, {1, 1, 1, 1}, false, true, NULL});
}

/* More channels than one block of transformed inputs (16), more filters
 * than one unit's block (48, and a last panel of 4), more tiles than one
 * vector pair: every loop of the kernel runs more than once, and threads
 * split the units. */
static void test_several_blocks(void **state)
{
    (void)state;
    check_both_tiles(&(Layer){"40 channels, 100 filters, 20x20", 1, 40, 20, 20, 100, 1, {1, 1, 1, 1}, true,
                              true, "relu"});
    check_both_tiles(&(Layer){"2 groups of 33 channels, 50 filters", 2, 66, 9, 14, 100, 2, {1, 0, 1, 0},
                              true, false, "leaky_relu, alpha=0.1"});
}

/* ---- networks ------------------------------------------------------------- */

/* Several layers from one bound each: the reference's Winograd errs by at
 * most about 1.2e-5 of a layer's largest output (docs/fast-convolution.md,
 * 256 channels), the kernel likewise, so three layers stay within 1e-4 of
 * the largest output with room to spare; any wrong index or missing term
 * moves outputs by their own size. */
static void compare_network(const char *what, const float *got, const float *want, int64_t n)
{
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    print_message("  %-28s largest error %.3g of the largest output %.4g\n", what, worst / scale, scale);
    assert_true(scale > 0);
    assert_true(worst <= 1e-4 * scale);
}

/* relu and the residual add fuse into the Winograd convs at -O2, so that
 * their epilogue runs in the kernel. */
static const char network[] =
    "input x: f32[2, 3, 17, 15];\n"
    "@algo(winograd) a = conv(x, filters=16, kernel=3, pad=1);\n"
    "r = relu(a);\n"
    "@algo(winograd, tile=2) b = conv(r, filters=16, kernel=3, pad=1, groups=4);\n"
    "s = add(b, r);\n"
    "t = relu(s);\n"
    "@algo(winograd) c = conv(t, filters=16, kernel=3, pad=[0, 1, 2, 1], groups=16);\n"
    "d = conv(c, filters=8, kernel=1);\n"
    "output d;\n";

static void test_network(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = parse_or_fail(&p, "network.dnn", network);
    run_pipeline_or_fail(g, "cpu", 2);
    int winograd = 0, fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        winograd += g->nodes[i].ann.algo == ALGO_WINOGRAD;
        fused += g->nodes[i].op == OP_CONV && g->nodes[i].attr.conv.act.kind == ACT_RELU;
    }
    assert_int_equal(winograd, 3);
    assert_int_equal(fused, 2);
    Io io;
    io_make(g, 5, &io);
    float *ref = run_reference(g, &io);
    print_message("three Winograd layers at -O2:\n");
    float *outs[2];
    run_jit(g, &io, outs);
    compare_network("JIT, 1 thread", outs[0], ref, io.out_count[0]);
    compare_network("JIT, 2 threads", outs[1], ref, io.out_count[0]);
    free(outs[0]), free(outs[1]);
    float *obj = run_object(g, &io);
    compare_network("object code", obj, ref, io.out_count[0]);
    free(obj), free(ref);
    io_free(&io);
    parsed_free(&p);
}

/* ---- the packed filters --------------------------------------------------- */

/* U = G g G^T of filter f, channel c, element xi, in double from the
 * reference's matrices (for F(2x2) they differ from Lavin & Gray's in the
 * sign of rows that cancel, so only |U| is the same there). */
static double reference_u(const WinogradMatrices *t, const float *g9, int xi)
{
    int i = xi / t->alpha, j = xi % t->alpha;
    double sum = 0;
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < 3; l++)
            sum += t->G[i][k] * g9[k * 3 + l] * t->G[j][l];
    return sum;
}

static void check_packed_filters(int m)
{
    char text[256];
    snprintf(text, sizeof text,
             "input x: f32[1, 8, 6, 6];\n"
             "@algo(winograd, tile=%d) y = conv(x, filters=14, kernel=3, pad=1, groups=2);\n"
             "output y;\n", m);
    Parsed p;
    Graph *g = parse_or_fail(&p, "packed.dnn", text);
    run_pipeline_or_fail(g, "cpu", 0);
    CodegenOptions co = {.name = "packed", .opt_level = 0};
    CompiledModel cm;
    char err[1024];
    if (!codegen_build(g, &co, NULL, &cm, err, sizeof err))
        fail_msg("%s", err);
    const Node *n = &g->nodes[0];
    const float *w = g->tensors[n->params[0]].data;
    const float *U = (const float *)(cm.plan.weights + cm.plan.loc[n->params[0]].offset);
    /* [groups 2][panels ceil(7 / 6) = 2][alpha^2][Cg 4][MR], then the bias. */
    int a2 = (m + 2) * (m + 2);
    size_t filters = (size_t)2 * 2 * a2 * 4 * DNNK_MR * sizeof(float);
    assert_int_equal(dnnk_packed_winograd_weights(14, 2, 4, m) * (int64_t)sizeof(float), (int64_t)filters);
    size_t aligned = (filters + 63) / 64 * 64;
    assert_int_equal(cm.plan.weights_size, aligned + 64); /* 14 biases in one 64-byte block */
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    for (int grp = 0; grp < 2; grp++)
        for (int f = 0; f < 7; f++)
            for (int c = 0; c < 4; c++)
                for (int xi = 0; xi < a2; xi++) {
                    int panel = grp * 2 + f / DNNK_MR;
                    float got = U[((panel * a2 + xi) * 4 + c) * DNNK_MR + f % DNNK_MR];
                    double want = reference_u(&t, w + ((grp * 7 + f) * 4 + c) * 9, xi);
                    double diff = m == 2 ? fabs(fabs(got) - fabs(want)) : fabs(got - want);
                    if (!(diff <= 4 * U_ROUND * fmax(fabs(want), 1e-30) + 1e-12))
                        fail_msg("F(%dx%d): U of filter %d channel %d element %d: %.9g, expected %.9g", m,
                                 m, grp * 7 + f, c, xi, got, want);
                }
    /* The missing filters of each group's last panel are zero. */
    for (int grp = 0; grp < 2; grp++)
        for (int xi = 0; xi < a2; xi++)
            for (int c = 0; c < 4; c++)
                for (int r = 7 - DNNK_MR; r < DNNK_MR; r++)
                    assert_true(U[(((grp * 2 + 1) * a2 + xi) * 4 + c) * DNNK_MR + r] == 0.0f);
    codegen_free(&cm);
    parsed_free(&p);
}

static void test_packed_filters(void **state)
{
    (void)state;
    check_packed_filters(2);
    check_packed_filters(4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_odd_sizes_and_batches),
        cmocka_unit_test(test_groups_and_depthwise),
        cmocka_unit_test(test_several_blocks),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_packed_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
