#include "cpu_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "conv_algo.h"
#include "dnnk.h"
#include "dnnrt.h"
#include "jit.h"
#include "kernels.h"
#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "shared_object.h"
#include "target.h"

void cpu_check_fill(float *v, int64_t n, uint64_t *state, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)(lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0);
    }
}

float *cpu_check_floats(int64_t n)
{
    float *p = calloc((size_t)(n ? n : 1), sizeof(float));
    assert_non_null(p);
    return p;
}

void cpu_io_make(const Graph *g, uint64_t seed, CpuIo *io)
{
    memset(io, 0, sizeof *io);
    assert_true(g->n_inputs <= 2 && g->n_outputs <= 2);
    io->n_in = g->n_inputs, io->n_out = g->n_outputs;
    for (int i = 0; i < g->n_inputs; i++) {
        io->in_count[i] = shape_elems(&g->tensors[g->inputs[i]].shape);
        io->in[i] = cpu_check_floats(io->in_count[i]);
        cpu_check_fill(io->in[i], io->in_count[i], &seed, -1, 1);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        io->out_count[i] = shape_elems(&g->tensors[g->outputs[i]].shape);
        io->out[i] = cpu_check_floats(io->out_count[i]);
    }
}

void cpu_io_free(CpuIo *io)
{
    for (int i = 0; i < 2; i++)
        free(io->in[i]), free(io->out[i]);
}

float *cpu_run_reference(const Graph *g, const CpuIo *io)
{
    float *out = cpu_check_floats(io->out_count[0]);
    char err[1024];
    if (!reference_run(g, (const float *const *)io->in, (float *const[]){out, NULL}, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

void cpu_run_jit(const Graph *g, const char *name, const char *cpu, const char *features, const CpuIo *io,
                 float *out[2])
{
    char err[1024];
    CodegenOptions co = {.name = name, .opt_level = 2, .cpu = cpu, .features = features};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu: %s", err);
    for (int threads = 1; threads <= 2; threads++) {
        out[threads - 1] = cpu_check_floats(io->out_count[0]);
        dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
        void *outs[2] = {out[threads - 1], NULL};
        assert_int_equal(jit_run(j, (const void *const *)io->in, outs, pool), 0);
        dnnrt_pool_destroy(pool);
    }
    jit_free(j);
}

float *cpu_run_object(const Graph *g, const char *name, const CpuIo *io)
{
    char err[1024];
    CodegenOptions co = {.name = name, .opt_level = 2};
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("object code: %s", err);
    float *out = cpu_check_floats(io->out_count[0]);
    assert_int_equal(shared_model_run(s, (const void *const *)io->in, (void *const[]){out, NULL}), 0);
    shared_model_free(s);
    return out;
}

void cpu_random_biases(Graph *g, uint64_t seed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->op != OP_CONV || !n->attr.conv.bias)
            continue;
        Tensor *b = &g->tensors[n->params[1]];
        cpu_check_fill(b->data, shape_elems(&b->shape), &seed, -0.5, 0.5);
    }
}

Graph *cpu_parse_or_fail(Parsed *p, const char *name, const char *text)
{
    parse_text(p, name, text);
    if (!p->graph)
        fail_msg("%s does not compile:\n%s", name, p->messages);
    randomize_weights_for_test(p->graph, 7);
    cpu_random_biases(p->graph, 9);
    return p->graph;
}

int cpu_find_op(const Graph *g, OpKind op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == op)
            return i;
    fail_msg("no %s layer", op_name(op));
    return -1;
}

void cpu_packed_open(CpuPacked *k, const char *text)
{
    memset(k, 0, sizeof *k);
    k->g = cpu_parse_or_fail(&k->p, "packed.dnn", text);
    run_pipeline_or_fail(k->g, "cpu", 0);
    CodegenOptions co = {.name = "packed", .opt_level = 0};
    char err[1024];
    if (!codegen_build(k->g, &co, NULL, &k->cm, err, sizeof err) ||
        !codegen_pack_weights(k->g, &k->cm, err, sizeof err))
        fail_msg("%s", err);
    k->conv = &k->g->nodes[cpu_find_op(k->g, OP_CONV)];
    k->filters = k->g->tensors[k->conv->params[0]].data;
    k->packed = (const float *)(k->cm.plan.weights + k->cm.plan.loc[k->conv->params[0]].offset);
}

void cpu_packed_close(CpuPacked *k)
{
    codegen_free(&k->cm);
    parsed_free(&k->p);
}

void cpu_nan_run_open(CpuNanRun *r, const char *text)
{
    memset(r, 0, sizeof *r);
    r->g = cpu_parse_or_fail(&r->p, "nan padding", text);
    run_pipeline_or_fail(r->g, "cpu", 0);
    r->conv = &r->g->nodes[cpu_find_op(r->g, OP_CONV)];
    cpu_io_make(r->g, 17, &r->io);
    for (int64_t i = 0; i < r->io.in_count[0]; i++)
        r->io.in[0][i] = r->io.in[0][i] == 0 ? 0.5f : r->io.in[0][i];
    r->want = cpu_run_reference(r->g, &r->io);
    cpu_run_jit(r->g, "nan padding", NULL, NULL, &r->io, r->outs);
}

void cpu_nan_run_close(CpuNanRun *r)
{
    free(r->outs[0]), free(r->outs[1]), free(r->want);
    cpu_io_free(&r->io);
    parsed_free(&r->p);
}

void cpu_layer_open(CpuLayer *l, const char *name, const char *text, ConvAlgo algo, int tile)
{
    memset(l, 0, sizeof *l);
    l->g = cpu_parse_or_fail(&l->p, name, text);
    run_pipeline_or_fail(l->g, "cpu", 0);
    l->conv = cpu_find_op(l->g, OP_CONV);
    assert_int_equal(l->g->nodes[l->conv].ann.algo, algo);
    assert_int_equal(l->g->nodes[l->conv].ann.algo_tile, tile);
    cpu_io_make(l->g, 3, &l->io);
    l->count = l->io.out_count[0];
    Graph *direct = graph_clone(l->g);
    assert_non_null(direct);
    direct->nodes[l->conv].ann.algo = ALGO_DIRECT;
    direct->nodes[l->conv].ann.algo_tile = 0;
    l->direct = cpu_run_reference(direct, &l->io);
    l->ref = cpu_run_reference(l->g, &l->io);
    graph_free(direct);
}

void cpu_layer_close(CpuLayer *l)
{
    free(l->direct), free(l->ref);
    cpu_io_free(&l->io);
    parsed_free(&l->p);
}

double cpu_check_epilogue_abs(const Graph *g, const Node *n, const CpuIo *io, int64_t i)
{
    const Shape *os = &g->tensors[n->output].shape;
    const float *bias = n->attr.conv.bias ? g->tensors[n->params[1]].data : NULL;
    int64_t f = i / (os->d[2] * os->d[3]) % os->d[1];
    return (bias ? fabs(bias[f]) : 0) + (io->n_in == 2 ? fabs(io->in[1][i]) : 0);
}

double *cpu_check_abs_sums(const Graph *g, const Node *n, const CpuIo *io)
{
    const Tensor *wt = &g->tensors[n->params[0]];
    const Shape *os = &g->tensors[n->output].shape;
    int64_t count = shape_elems(os), wcount = shape_elems(&wt->shape), incount = io->in_count[0];
    float *ax = cpu_check_floats(incount), *aw = cpu_check_floats(wcount);
    for (int64_t i = 0; i < incount; i++)
        ax[i] = fabsf(io->in[0][i]);
    for (int64_t i = 0; i < wcount; i++)
        aw[i] = fabsf(((const float *)wt->data)[i]);
    double *S = malloc(sizeof(double) * (size_t)count);
    assert_non_null(S);
    conv_core(&n->attr.conv, &g->tensors[n->inputs[0]].shape, os, ax, aw, S);
    for (int64_t i = 0; i < count; i++)
        S[i] += cpu_check_epilogue_abs(g, n, io, i);
    free(ax), free(aw);
    return S;
}

double cpu_check_bound(const char *what, const float *got, const float *want, const double *bound,
                       const double *S, int64_t count)
{
    double worst_u = 0, worst_of_bound = 0;
    for (int64_t i = 0; i < count; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= bound[i]))
            fail_msg("%s: output %lld: %.9g against %.9g, error %.3g above the bound %.3g", what,
                     (long long)i, got[i], want[i], e, bound[i]);
        if (S[i] > 0)
            worst_u = fmax(worst_u, e / S[i] / 0x1p-24);
        if (bound[i] > 0)
            worst_of_bound = fmax(worst_of_bound, e / bound[i]);
    }
    print_message("  %-34s largest error %6.3g u of S, %.2g of the bound\n", what, worst_u, worst_of_bound);
    return worst_u;
}

void cpu_check_kernel(const CpuLayer *l, const char *algo_name, const double *bound_direct,
                      const double *bound_ref, const double *S, double ref_u)
{
    bool differs = false;
    float *outs[2];
    cpu_run_jit(l->g, "layer", l->cpu, l->features, &l->io, outs);
    for (int threads = 1; threads <= 2; threads++) {
        float *cpu = outs[threads - 1];
        char what[64];
        snprintf(what, sizeof what, "cpu (%d thread%s) - direct", threads, threads > 1 ? "s" : "");
        double cpu_u = cpu_check_bound(what, cpu, l->direct, bound_direct, S, l->count);
        snprintf(what, sizeof what, "cpu (%d thread%s) - ref. %s", threads, threads > 1 ? "s" : "", algo_name);
        cpu_check_bound(what, cpu, l->ref, bound_ref, S, l->count);
        if (!(cpu_u <= fmax(4 * ref_u, 16)))
            fail_msg("%s: the kernel's error, %.3g u of S, is far above the reference's %.3g u", l->p.src.path,
                     cpu_u, ref_u);
        for (int64_t i = 0; i < l->count; i++)
            differs |= cpu[i] != l->direct[i];
        free(cpu);
    }
    /* A handful of outputs may round the same either way. */
    assert_true(differs || l->count < 64);
}

/* Fails unless every |got - want| <= tolerance times the largest |want|
 * (which must not be 0); prints the largest error in that unit. */
static void compare_outputs(const char *what, const float *got, const float *want, int64_t n, double tolerance)
{
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    print_message("  %-28s largest error %.3g of the largest output %.4g\n", what, worst / scale, scale);
    assert_true(scale > 0);
    assert_true(worst <= tolerance * scale);
}

void cpu_check_network(const char *text, ConvAlgo algo, int count, int fused, double tolerance)
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "network.dnn", text);
    run_pipeline_or_fail(g, "cpu", 2);
    int ran = 0, relu = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ran += g->nodes[i].ann.algo == algo;
        relu += g->nodes[i].op == OP_CONV && g->nodes[i].attr.conv.act.kind == ACT_RELU;
    }
    assert_int_equal(ran, count);
    assert_int_equal(relu, fused);
    CpuIo io;
    cpu_io_make(g, 5, &io);
    float *ref = cpu_run_reference(g, &io);
    print_message("%d %s layers at -O2:\n", count, conv_algo_name(algo));
    float *outs[2];
    cpu_run_jit(g, "network", NULL, NULL, &io, outs);
    compare_outputs("JIT, 1 thread", outs[0], ref, io.out_count[0], tolerance);
    compare_outputs("JIT, 2 threads", outs[1], ref, io.out_count[0], tolerance);
    free(outs[0]), free(outs[1]);
    float *obj = cpu_run_object(g, "network", &io);
    compare_outputs("object code", obj, ref, io.out_count[0], tolerance);
    free(obj), free(ref);
    cpu_io_free(&io);
    parsed_free(&p);
}

void cpu_check_tiling(const int64_t kernel[2], const int64_t stride[2], const int64_t dilation[2], int64_t out_h,
                      int64_t out_w, CpuTiling want)
{
    dnnk_window w;
    memset(&w, 0, sizeof w);
    for (int i = 0; i < 2; i++)
        w.kernel[i] = kernel[i], w.stride[i] = stride[i], w.dilation[i] = dilation[i];
    int64_t rows, cols;
    dnnk_plane_tile(&w, out_h, out_w, &rows, &cols);
    print_message("  tile %lld x %lld of %lld x %lld outputs\n", (long long)rows, (long long)cols,
                  (long long)out_h, (long long)out_w);
    switch (want) {
    case TILE_ONE: assert_true(rows == out_h && cols == out_w); break;
    case TILE_ROWS: assert_true(rows > 0 && rows < out_h && cols == out_w); break;
    case TILE_COLUMNS: assert_true(rows > 0 && cols < out_w); break;
    case TILE_NONE: assert_true(rows == 0 && cols == 0); break;
    }
}

static int64_t conv_out_size(int64_t in, int64_t lo, int64_t hi, int64_t k, int64_t s, int64_t d)
{
    return (in + lo + hi - (k - 1) * d - 1) / s + 1;
}

int64_t cpu_conv_out_h(const CpuConv *L) { return conv_out_size(L->h, L->pad[0], L->pad[2], L->kh, L->sh, L->dh); }
int64_t cpu_conv_out_w(const CpuConv *L) { return conv_out_size(L->w, L->pad[1], L->pad[3], L->kw, L->sw, L->dw); }

void cpu_conv_text(const CpuConv *L, const char *annotations, const char *rest, char *buf, size_t size)
{
    int len = snprintf(buf, size, "input x: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n, (long long)L->c,
                       (long long)L->h, (long long)L->w);
    if (L->residual)
        len += snprintf(buf + len, size - (size_t)len, "input s: f32[%lld, %lld, %lld, %lld];\n", (long long)L->n,
                        (long long)L->f, (long long)cpu_conv_out_h(L), (long long)cpu_conv_out_w(L));
    snprintf(buf + len, size - (size_t)len,
             "%s y = conv(x%s, filters=%lld, kernel=[%lld, %lld], stride=[%lld, %lld], dilation=[%lld, %lld], "
             "pad=[%lld, %lld, %lld, %lld], groups=%lld, bias=%s%s%s);\n%s",
             annotations, L->residual ? ", s" : "", (long long)L->f, (long long)L->kh, (long long)L->kw,
             (long long)L->sh, (long long)L->sw, (long long)L->dh, (long long)L->dw, (long long)L->pad[0],
             (long long)L->pad[1], (long long)L->pad[2], (long long)L->pad[3], (long long)L->groups,
             L->bias ? "true" : "false", L->act ? ", act=" : "", L->act ? L->act : "", rest);
}

double cpu_check_gamma(double k)
{
    const double u = 0x1p-24;
    return k * u / (1 - k * u);
}

void cpu_code_every_layer(Graph *g, int mode, const char *name)
{
    Diag d;
    diag_init(&d, stderr);
    QuantOptions q = {.mode = (QuantMode)mode, .first_last = true, .weight_bits = mode == QUANT_KMEANS ? 3 : 0};
    PipelineOptions po = {.opt_level = 1, .verify_each = true};
    PassOptions o = {.opt_level = 1, .target = target_find("cpu"), .diag = &d, .quant = &q};
    if (!pipeline_run(g, &o, &po))
        fail_msg("%s: quantising to %s failed", name, quant_mode_name((QuantMode)mode));
}

void cpu_expect_same_bits(const char *what, const float *got, const float *want, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (memcmp(&got[i], &want[i], sizeof *got) != 0)
            fail_msg("%s: output %lld is %.9g, the reference's %.9g", what, (long long)i, got[i], want[i]);
}
