/* The cpu target's coded_conv kernel (codegen/kernels/coded_conv.c) against
 * the reference executor, bit for bit: every conv and fc golden case
 * (tests/golden) with every layer quantised to each weight code (log2<4>,
 * codebook<3>, binary, ternary), through the JIT at -O2 on 1 and 2 threads
 * and as object code (the networks below through the JIT only). Both decode each code to the same float and take
 * conv_core's sums in double in the same order, so any difference is a
 * bug, not rounding.
 *
 * The golden networks (net_*) run too, coded the same way, but their other
 * layers (LRN, softmax, average pooling) have float kernels that round
 * differently from the reference, so they are held to test_golden.c's
 * tolerance, 1e-4 of the largest |output| (its derivation is there). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_check.h"
#include "dnnk.h"
#include "pack.h"
#include "pipeline.h"
#include "quantize.h"
#include "target.h"
#include "weights.h"

#define GOLDEN_DIR DNNC_SOURCE_DIR "/tests/golden"

static int count_coded(const Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].removed && g->nodes[i].op == OP_CODED_CONV;
    return n;
}

/* Every output within 1e-4 of the largest |want| (test_golden.c). */
static void expect_close(const char *what, const float *got, const float *want, int64_t count)
{
    double top = 0;
    for (int64_t i = 0; i < count; i++)
        top = fmax(top, fabs(want[i]));
    for (int64_t i = 0; i < count; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-4 * top))
            fail_msg("%s: output %lld is %.9g, the reference's %.9g", what, (long long)i, got[i], want[i]);
}

static bool network_case(const char *name) { return strncmp(name, "net_", 4) == 0; }

static void check_case(const char *name, QuantMode m)
{
    char path[1024], weights[1024], what[256];
    snprintf(path, sizeof path, "%s/%s/model.dnn", GOLDEN_DIR, name);
    snprintf(weights, sizeof weights, "%s/%s/weights.safetensors", GOLDEN_DIR, name);
    snprintf(what, sizeof what, "%s %s", name, quant_mode_name(m));
    Parsed p;
    parse_file(&p, path);
    assert_non_null(p.graph);
    Diag d;
    diag_init(&d, stderr);
    assert_true(weights_load(p.graph, weights, &d));
    cpu_code_every_layer(p.graph, m, name);
    assert_true(count_coded(p.graph) > 0);
    CpuIo io;
    cpu_io_make(p.graph, 5, &io);
    float *want = cpu_run_reference(p.graph, &io), *jit[2];
    cpu_run_jit(p.graph, "coded", NULL, NULL, &io, jit);
    void (*expect)(const char *, const float *, const float *, int64_t) =
        network_case(name) ? expect_close : cpu_expect_same_bits;
    expect(what, jit[0], want, io.out_count[0]);
    expect(what, jit[1], want, io.out_count[0]);
    if (!network_case(name)) { /* object code differs from the JIT only in how it is loaded */
        float *object = cpu_run_object(p.graph, "coded", &io);
        expect(what, object, want, io.out_count[0]);
        free(object);
    }
    free(want), free(jit[0]), free(jit[1]);
    cpu_io_free(&io);
    parsed_free(&p);
}

static bool conv_or_fc_case(const char *name)
{
    return strncmp(name, "conv_", 5) == 0 || strncmp(name, "fc_", 3) == 0;
}

/* Under the sanitizers only dnnc's own code is instrumented, not what the
 * JIT compiles: there each case runs in one mode, the modes in turn, so
 * that every mode's compile path still runs, at a quarter of the time. */
#ifdef DNNC_SANITIZED
#define EVERY_MODE false
#else
#define EVERY_MODE true
#endif

static void test_every_golden_conv_and_fc_in_every_mode(void **state)
{
    (void)state;
    const QuantMode modes[] = {QUANT_LOG2, QUANT_KMEANS, QUANT_BINARY, QUANT_TERNARY};
    DIR *dir = opendir(GOLDEN_DIR);
    assert_non_null(dir);
    int cases = 0, networks = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (!conv_or_fc_case(e->d_name) && !network_case(e->d_name))
            continue;
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            if (EVERY_MODE || m == (size_t)(cases + networks) % (sizeof modes / sizeof *modes))
                check_case(e->d_name, modes[m]);
        cases += conv_or_fc_case(e->d_name);
        networks += network_case(e->d_name);
    }
    closedir(dir);
    print_message("%d golden conv/fc cases in %s: the reference's bits; %d networks within 1e-4\n", cases,
                  EVERY_MODE ? "4 modes" : "one mode each, in turn", networks);
    assert_int_equal(cases, 15);
    assert_int_equal(networks, 6);
}

/* The compiled weights hold the codes packed as the kernel reads them
 * (dnnk.h): conv_7x7_s2's 8 filters are one block, so each of its 147 k
 * has the 8 filters' 2-bit ternary codes in two bytes, filter r at bit
 * 2r: 294 bytes for 1,176 codes, and DNNK_CODED_SPARE zero bytes. */
static void test_compiled_codes_are_packed(void **state)
{
    (void)state;
    Parsed p;
    parse_file(&p, GOLDEN_DIR "/conv_7x7_s2/model.dnn");
    assert_non_null(p.graph);
    Diag d;
    diag_init(&d, stderr);
    assert_true(weights_load(p.graph, GOLDEN_DIR "/conv_7x7_s2/weights.safetensors", &d));
    cpu_code_every_layer(p.graph, QUANT_TERNARY, "conv_7x7_s2");
    const Node *n = NULL;
    for (int i = 0; i < p.graph->n_nodes; i++)
        n = p.graph->nodes[i].op == OP_CODED_CONV ? &p.graph->nodes[i] : n;
    assert_non_null(n);
    const Tensor *w = &p.graph->tensors[n->params[0]];
    assert_int_equal(shape_elems(&w->shape), 1176);
    assert_int_equal(pack_coded_codes(p.graph, n, 0, NULL), 294 + DNNK_CODED_SPARE);
    assert_int_equal(pack_coded_codes(p.graph, n, 1, NULL), 0); /* the scales as stored */
    uint8_t packed[294 + DNNK_CODED_SPARE], want[294 + DNNK_CODED_SPARE] = {0};
    pack_coded_codes(p.graph, n, 0, packed);
    const uint8_t *codes = w->data;
    for (int k = 0; k < 147; k++)
        for (int f = 0; f < 8; f++)
            want[2 * k + f / 4] |= (uint8_t)(codes[f * 147 + k] << (2 * (f % 4)));
    assert_memory_equal(packed, want, sizeof want);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_golden_conv_and_fc_in_every_mode),
        cmocka_unit_test(test_compiled_codes_are_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
