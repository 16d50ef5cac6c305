/* Accuracy of the reference's Winograd and FFT convolutions on the example
 * networks (issue 12, item 5; docs/fast-convolution.md, "Accuracy on the
 * example networks"): every 3x3, 5x5, 7x7 and 11x11 conv layer of the
 * .dnn files in examples/, with its shape from parsing the example, runs
 * through F(2x2), F(4x4) and F(6x6) (3x3 layers) and the FFT of every size
 * from 8 to 64 that applies, against the direct sums of conv_core (in
 * double).
 * Weights are uniform with variance 1/fan_in, inputs uniform in [0, 1]
 * (activations after ReLU, or an image), as in test_winograd.c and
 * test_fft.c.
 *
 * What is asserted: every output within the rigorous bound of its
 * algorithm (test_winograd.c's gamma_K T, test_fft.c's expression), and
 * Winograd's largest error per Sum |x||w| within test_winograd.c's
 * tolerances (8, 128 and 256 u for m = 2, 4 and 6), four times those on
 * layers with one channel per group (DEPTHWISE_FACTOR).
 *
 * What runs, to keep the test within seconds: layers of one network with
 * the same shape are measured once; at most MAX_FILTERS output channels of
 * a layer (whole groups: an output's error depends only on its group's
 * channels, all of which are kept); at most MAX_SIDE x MAX_SIDE of its
 * input (the top-left corner, padding on every side kept, so border and
 * inner outputs are both measured); FFT sizes up to the first power of
 * two that holds the measured input with its padding (a larger one
 * computes the same single tile with more zeros). Winograd and the FFT
 * apply at stride 1 only: strided layers are listed as not applicable.
 *
 * It prints the table of docs/fast-convolution.md (markdown rows). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"
#include "kernels.h"
#include "test_util.h"
#include "winograd.h"

#define MAX_FILTERS 8 /* output channels measured per layer */
#define MAX_SIDE 40   /* input rows and columns measured: FFT 64 runs on larger layers */
#define MAX_LAYERS 128

static const double u = 0x1p-24;

static const char *const networks[] = {"alexnet",  "googlenet",  "lenet5", "mobilenet",
                                       "resnet50", "squeezenet", "vgg16"};

/* The table's columns. */
typedef struct Algorithm {
    ConvAlgo algo;
    int tile;
    const char *name;
    double tolerance_u; /* Winograd's on error / Sum |x||w| (test_winograd.c); 0: the bound only */
} Algorithm;

/* Layers with one channel per group (depthwise) are held to DEPTHWISE_FACTOR
 * times the tolerance. test_winograd.c's were measured on layers of 64 and
 * 256 channels, whose independent rounding errors partly cancel in the sum
 * over channels while Sum |x||w| grows with every channel; with one
 * channel nothing cancels, and MobileNet's depthwise layers reach 1.2 times
 * them (docs/fast-convolution.md). */
#define DEPTHWISE_FACTOR 4

static const Algorithm algorithms[] = {
    {ALGO_WINOGRAD, 2, "F(2x2)", 8},  {ALGO_WINOGRAD, 4, "F(4x4)", 128},
    {ALGO_WINOGRAD, 6, "F(6x6)", 256}, {ALGO_FFT, 8, "FFT 8", 0},
    {ALGO_FFT, 16, "FFT 16", 0},       {ALGO_FFT, 32, "FFT 32", 0},
    {ALGO_FFT, 64, "FFT 64", 0},
};
#define N_ALGORITHMS ((int)(sizeof algorithms / sizeof *algorithms))

/* ---- random numbers ------------------------------------------------------ */

static uint64_t rng_state;

/* Uniform in [0, 1), from the shared generator of test_util. */
static double uniform(void) { return test_uniform01(&rng_state); }

/* ---- the layers of the examples ------------------------------------------ */

/* Layers of one network with the same shape, measured once. */
typedef struct ExampleLayer {
    const char *name; /* the first of them */
    int count;
    ConvAttrs at;
    Shape is;
} ExampleLayer;

static bool is_table_kernel(const ConvAttrs *at)
{
    int64_t k = at->kernel[0];
    return k == at->kernel[1] && (k == 3 || k == 5 || k == 7 || k == 11);
}

static bool same_layer(const ExampleLayer *l, const ConvAttrs *at, const Shape *is)
{
    const ConvAttrs *a = &l->at;
    return shape_equal(&l->is, is) && a->filters == at->filters && a->groups == at->groups &&
           memcmp(a->kernel, at->kernel, sizeof a->kernel) == 0 &&
           memcmp(a->stride, at->stride, sizeof a->stride) == 0 &&
           memcmp(a->dilation, at->dilation, sizeof a->dilation) == 0 &&
           memcmp(a->pad, at->pad, sizeof a->pad) == 0;
}

/* The distinct 3x3, 5x5, 7x7 and 11x11 conv layers of g, in order. */
static int collect_layers(const Graph *g, ExampleLayer *out)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        if (node->op != OP_CONV || !is_table_kernel(&node->attr.conv))
            continue;
        const Shape *is = &g->tensors[node->inputs[0]].shape;
        int k = 0;
        while (k < n && !same_layer(&out[k], &node->attr.conv, is))
            k++;
        if (k == n) {
            assert_true(n < MAX_LAYERS);
            out[n++] = (ExampleLayer){node->name, 0, node->attr.conv, *is};
        }
        out[k].count++;
    }
    return n;
}

/* ---- one measured layer -------------------------------------------------- */

/* The part of a layer that is measured, its data and its direct sums. */
typedef struct Sample {
    ConvAttrs at;
    Shape is, os;
    int64_t cg, n_in, n_w, n_out;
    float *in, *w, *abs_w;
    double *direct;  /* conv_core */
    double *dot_abs; /* Sum |x||w| per output (inputs are >= 0) */
    double largest;  /* max |direct| */
} Sample;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static void *alloc_or_fail(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

/* Whole groups up to MAX_FILTERS output channels (at least one group, at
 * most MAX_FILTERS of its filters), the top-left MAX_SIDE x MAX_SIDE of
 * the input, batch 1. */
static Sample make_sample(const ExampleLayer *l)
{
    Sample s = {.at = l->at};
    int64_t groups = l->at.groups, cg = l->is.d[1] / groups, fg = l->at.filters / groups;
    int64_t kept_fg = min64(fg, MAX_FILTERS);
    int64_t kept_groups = min64(groups, MAX_FILTERS / kept_fg > 0 ? MAX_FILTERS / kept_fg : 1);
    s.at.groups = kept_groups;
    s.at.filters = kept_groups * kept_fg;
    s.cg = cg;
    int64_t h = min64(l->is.d[2], MAX_SIDE), w = min64(l->is.d[3], MAX_SIDE);
    int64_t kh = s.at.kernel[0], kw = s.at.kernel[1];
    s.is = (Shape){4, {1, kept_groups * cg, h, w}};
    s.os = (Shape){4, {1, s.at.filters, h + s.at.pad[0] + s.at.pad[2] - kh + 1,
                       w + s.at.pad[1] + s.at.pad[3] - kw + 1}};
    s.n_in = shape_elems(&s.is);
    s.n_w = s.at.filters * cg * kh * kw;
    s.n_out = shape_elems(&s.os);
    s.in = alloc_or_fail(sizeof(float) * (size_t)s.n_in);
    s.w = alloc_or_fail(sizeof(float) * (size_t)s.n_w);
    s.abs_w = alloc_or_fail(sizeof(float) * (size_t)s.n_w);
    s.direct = alloc_or_fail(sizeof(double) * (size_t)s.n_out);
    s.dot_abs = alloc_or_fail(sizeof(double) * (size_t)s.n_out);
    for (int64_t i = 0; i < s.n_in; i++)
        s.in[i] = (float)uniform();
    double a = sqrt(3.0 / (double)(cg * kh * kw)); /* uniform in [-a, a]: variance a^2 / 3 */
    for (int64_t i = 0; i < s.n_w; i++) {
        s.w[i] = (float)(a * (2 * uniform() - 1));
        s.abs_w[i] = fabsf(s.w[i]);
    }
    conv_core(&s.at, &s.is, &s.os, s.in, s.w, s.direct);
    conv_core(&s.at, &s.is, &s.os, s.in, s.abs_w, s.dot_abs);
    s.largest = 0;
    for (int64_t i = 0; i < s.n_out; i++)
        s.largest = fmax(s.largest, fabs(s.direct[i]));
    return s;
}

static void free_sample(Sample *s)
{
    free(s->in);
    free(s->w);
    free(s->abs_w);
    free(s->direct);
    free(s->dot_abs);
}

/* The largest errors of one algorithm on one layer. */
typedef struct Measured {
    bool run;
    double per_dot_u;  /* max over outputs of |error| / Sum |x||w|, in u */
    double per_output; /* max |error| / max |output| */
} Measured;

/* Checks every output of y against the direct sums and its bound, and
 * returns the largest errors. */
static Measured compare(const Sample *s, const double *y, const double *bound, const char *what)
{
    Measured m = {.run = true};
    double worst = 0;
    for (int64_t i = 0; i < s->n_out; i++) {
        double e = fabs(y[i] - s->direct[i]);
        if (!(e <= bound[i]))
            fail_msg("%s: output %lld is %.9g, direct %.9g: error %.3g above the bound %.3g", what,
                     (long long)i, y[i], s->direct[i], e, bound[i]);
        worst = fmax(worst, e);
        if (s->dot_abs[i] > 0)
            m.per_dot_u = fmax(m.per_dot_u, e / s->dot_abs[i] / u);
    }
    m.per_output = s->largest > 0 ? worst / s->largest : 0;
    return m;
}

/* F(m x m, 3 x 3); the bound is test_winograd.c's: gamma_K times the same
 * computation on absolute values, K = 4 alpha + Cg + 12, with 1% for the
 * rounding of that computation. */
static Measured measure_winograd(const Sample *s, int m, const char *what)
{
    void *work = alloc_or_fail(winograd_work_bytes(&s->at, m, &s->is, &s->os));
    double *y = alloc_or_fail(sizeof(double) * (size_t)s->n_out);
    double *bound = alloc_or_fail(sizeof(double) * (size_t)s->n_out);
    winograd_conv_core(&s->at, m, &s->is, &s->os, s->in, s->w, y, work);
    WinogradMatrices t;
    assert_true(winograd_matrices(m, &t));
    t = winograd_matrices_absolute(t);
    winograd_conv_with(&t, &s->at, &s->is, &s->os, s->in, s->abs_w, bound, work);
    double K = 4.0 * (m + 2) + (double)s->cg + 12, gamma = K * u / (1 - K * u) * 1.01;
    for (int64_t i = 0; i < s->n_out; i++)
        bound[i] *= gamma;
    Measured r = compare(s, y, bound, what);
    free(work);
    free(y);
    free(bound);
    return r;
}

/* ---- the FFT's bound (test_fft.c, docs/fast-convolution.md) ---- */

static double gamma_k(double k) { return k * u / (1 - k * u); }

static int log2i(int n)
{
    int t = 0;
    while ((1 << t) < n)
        t++;
    return t;
}

/* Every output's error is at most this factor times max|x| times the sum
 * of |w| over its filter. */
static double fft_bound_factor(int T, int64_t cg)
{
    int t = log2i(T);
    double mu = u * (1 + 0x1p-20), eta = mu + gamma_k(4) * (sqrt(2.0) + mu);
    double beta = t * eta / (1 - t * eta), eps = (1 + beta) * (1 + beta) - 1;
    double eta1 = (1 + mu) * (1 + sqrt(2.0) * gamma_k(2)) * (1 + u) - 1;
    double g = pow(1 + eta1, 2 * t) - 1;
    double phi = (1 + sqrt(2.0) * gamma_k(2)) * pow(1 + u, (double)(cg - 1)) - 1;
    double D = eps * (1 + g) + g + phi * (1 + eps) * (1 + g);
    return 2 * (eps * (1 + D) + D) * T;
}

static Measured measure_fft(const Sample *s, int T, const char *what)
{
    void *work = alloc_or_fail(fft_conv_work_bytes(&s->at, T, &s->is, &s->os));
    double *y = alloc_or_fail(sizeof(double) * (size_t)s->n_out);
    double *bound = alloc_or_fail(sizeof(double) * (size_t)s->n_out);
    fft_conv_with_work(&s->at, T, &s->is, &s->os, s->in, s->w, y, work);
    double max_x = 0, factor = fft_bound_factor(T, s->cg);
    for (int64_t i = 0; i < s->n_in; i++)
        max_x = fmax(max_x, s->in[i]);
    int64_t taps = s->cg * s->at.kernel[0] * s->at.kernel[1], plane = s->os.d[2] * s->os.d[3];
    double *w1 = alloc_or_fail(sizeof(double) * (size_t)s->at.filters); /* Sum_c ||w_fc||_1 */
    for (int64_t f = 0; f < s->at.filters; f++) {
        w1[f] = 0;
        for (int64_t j = 0; j < taps; j++)
            w1[f] += s->abs_w[f * taps + j];
    }
    for (int64_t i = 0; i < s->n_out; i++)
        bound[i] = factor * max_x * w1[i / plane % s->at.filters];
    Measured r = compare(s, y, bound, what);
    free(w1);
    free(work);
    free(y);
    free(bound);
    return r;
}

/* ---- the table ----------------------------------------------------------- */

/* Whether algorithm a runs on the measured layer: it applies (stride 1,
 * Winograd 3x3, an FFT larger than the kernel), and an FFT is no larger
 * than the first power of two that holds the padded input. */
static bool runs_on(const Algorithm *a, const Sample *s)
{
    char why[8];
    if (!conv_algo_applies(a->algo, &s->at, a->tile, why, sizeof why))
        return false;
    if (a->algo != ALGO_FFT)
        return true;
    int64_t h = s->is.d[2] + s->at.pad[0] + s->at.pad[2], w = s->is.d[3] + s->at.pad[1] + s->at.pad[3];
    int64_t side = h > w ? h : w, holds = 1;
    while (holds < side)
        holds *= 2;
    return a->tile <= holds;
}

/* The largest of each algorithm over the layers of one kernel size. */
typedef struct Summary {
    int layers, strided;
    Measured worst[N_ALGORITHMS];
} Summary;

/* By kernel (3x3, 5x5, 7x7, 11x11) and by whether the layer sums over
 * channels or has one channel per group (depthwise, or one input channel),
 * whose errors are larger (see DEPTHWISE_FACTOR). */
static Summary summaries[4][2];

#define MAX_VIOLATIONS 16
static char violations[MAX_VIOLATIONS][256]; /* the first errors above a tolerance */
static int n_violations;

static Summary *summary_of(const ExampleLayer *l)
{
    int64_t k = l->at.kernel[0];
    bool one_channel = l->is.d[1] == l->at.groups;
    return &summaries[k == 3 ? 0 : k == 5 ? 1 : k == 7 ? 2 : 3][one_channel];
}

static void print_header(void)
{
    print_message("| network | layer | kernel | input | filters | measured: filters, input |");
    for (int a = 0; a < N_ALGORITHMS; a++)
        print_message(" %s |", algorithms[a].name);
    print_message("\n|---|---|---|---|---|---|");
    for (int a = 0; a < N_ALGORITHMS; a++)
        print_message("---|");
    print_message("\n");
}

/* "conv3_2 (x2)", "64@56x56", "128 (2 groups)". */
static void print_layer_columns(const char *net, const ExampleLayer *l)
{
    char name[96], filters[48];
    if (l->count > 1)
        snprintf(name, sizeof name, "%s (x%d)", l->name, l->count);
    else
        snprintf(name, sizeof name, "%s", l->name);
    if (l->at.groups > 1)
        snprintf(filters, sizeof filters, "%lld (%lld groups)", (long long)l->at.filters,
                 (long long)l->at.groups);
    else
        snprintf(filters, sizeof filters, "%lld", (long long)l->at.filters);
    print_message("| %s | %s | %lldx%lld | %lld@%lldx%lld | %s |", net, name,
                  (long long)l->at.kernel[0], (long long)l->at.kernel[1], (long long)l->is.d[1],
                  (long long)l->is.d[2], (long long)l->is.d[3], filters);
}

static void print_strided(const char *net, const ExampleLayer *l)
{
    print_layer_columns(net, l);
    print_message(" stride %lld: none applies |", (long long)l->at.stride[0]);
    for (int a = 0; a < N_ALGORITHMS; a++)
        print_message(" n/a |");
    print_message("\n");
}

/* "1.8 u, 3.9e-7": the largest error per Sum |x||w| and per largest output. */
static void print_cell(const Measured *m)
{
    if (m->run && m->per_dot_u >= 10)
        print_message(" %.0f u, %.1e |", m->per_dot_u, m->per_output);
    else if (m->run)
        print_message(" %.2g u, %.1e |", m->per_dot_u, m->per_output);
    else
        print_message(" - |");
}

static void measure_layer(const char *net, const ExampleLayer *l)
{
    Summary *sum = summary_of(l);
    if (l->at.stride[0] != 1 || l->at.stride[1] != 1 || l->at.dilation[0] != 1 ||
        l->at.dilation[1] != 1) {
        sum->strided += l->count;
        print_strided(net, l);
        return;
    }
    sum->layers += l->count;
    Sample s = make_sample(l);
    print_layer_columns(net, l);
    print_message(" %lld, %lldx%lld |", (long long)s.at.filters, (long long)s.is.d[2],
                  (long long)s.is.d[3]);
    for (int a = 0; a < N_ALGORITHMS; a++) {
        const Algorithm *alg = &algorithms[a];
        Measured m = {0};
        char what[160];
        snprintf(what, sizeof what, "%s %s, %s", net, l->name, alg->name);
        if (runs_on(alg, &s))
            m = alg->algo == ALGO_WINOGRAD ? measure_winograd(&s, alg->tile, what)
                                           : measure_fft(&s, alg->tile, what);
        print_cell(&m);
        /* Reported after the table, which is worth seeing whole. */
        double tolerance = alg->tolerance_u * (s.cg == 1 ? DEPTHWISE_FACTOR : 1);
        if (m.run && tolerance > 0 && m.per_dot_u > tolerance) {
            snprintf(violations[n_violations % MAX_VIOLATIONS], sizeof violations[0],
                     "%s: error %.3g u of Sum |x||w|, above the tolerance %g u", what, m.per_dot_u,
                     tolerance);
            n_violations++;
        }
        Measured *w = &sum->worst[a];
        w->run |= m.run;
        w->per_dot_u = fmax(w->per_dot_u, m.per_dot_u);
        w->per_output = fmax(w->per_output, m.per_output);
    }
    print_message("\n");
    free_sample(&s);
}

/* Network i of the list draws from its own seed, so that its numbers do
 * not depend on the others' (and two networks' layers of the same
 * measured shape get different data). */
static void measure_network(const char *net, uint64_t seed)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s.dnn", DNNC_SOURCE_DIR, net);
    Parsed p;
    parse_file(&p, path);
    if (!p.graph)
        fail_msg("%s:\n%s", path, p.messages);
    static ExampleLayer layers[MAX_LAYERS];
    int n = collect_layers(p.graph, layers);
    rng_state = seed;
    for (int i = 0; i < n; i++)
        measure_layer(net, &layers[i]);
    parsed_free(&p);
}

static void print_summary(void)
{
    static const char *const kernels[] = {"3x3", "5x5", "7x7", "11x11"};
    print_message("\n| kernel | layers at stride 1 | strided (none applies) |");
    for (int a = 0; a < N_ALGORITHMS; a++)
        print_message(" %s |", algorithms[a].name);
    print_message("\n|---|---|---|");
    for (int a = 0; a < N_ALGORITHMS; a++)
        print_message("---|");
    print_message("\n");
    for (int k = 0; k < 4; k++) {
        for (int one = 0; one < 2; one++) {
            const Summary *sum = &summaries[k][one];
            if (one && sum->layers + sum->strided == 0)
                continue;
            print_message("| %s%s | %d | %d |", kernels[k], one ? ", one channel per group" : "",
                          sum->layers, sum->strided);
            for (int a = 0; a < N_ALGORITHMS; a++)
                print_cell(&sum->worst[a]);
            print_message("\n");
        }
    }
}

static void test_example_layers(void **state)
{
    (void)state;
    print_header();
    for (size_t i = 0; i < sizeof networks / sizeof *networks; i++)
        measure_network(networks[i], 12 + i);
    print_summary();
    for (int i = 0; i < n_violations && i < MAX_VIOLATIONS; i++)
        print_error("%s\n", violations[i]);
    assert_int_equal(n_violations, 0);
    /* Every kernel size of the issue is in the examples. */
    for (int k = 0; k < 4; k++)
        assert_true(summaries[k][0].layers + summaries[k][0].strided + summaries[k][1].layers +
                        summaries[k][1].strided > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
