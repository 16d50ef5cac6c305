/* The golden cases (tests/golden, made with PyTorch; test_golden.c says
 * how) on the spatial accelerator's simulator, as a user runs them:
 *     dnnc run model.dnn --weights weights.safetensors --quantize fixed16
 *         --calibrate input.npy --quantize-first-last --target spatial
 *         --input input.npy --output OUT.npy
 * calibrated on the case's own input. For every case:
 *   - the output is byte-identical to --target reference with the same
 *     options: the same fixed-point arithmetic (docs/accelerator.md,
 *     "Bit-exact");
 *   - it is within the tolerance below of PyTorch's float32 output;
 *   - a case the target cannot run is refused with the named error
 *     ("target spatial cannot run ...") and listed as skipped with it;
 *     any other failure fails the test.
 * The test says how many cases put layers on the PE array and how many run
 * wholly on the host (no conv or fc: the quantize pass leaves every other
 * op in float, which the host runs on the reference executor).
 *
 * Tolerance against float32. The cases' conv and fc layers become L fixed16
 * layers (every one, with --quantize-first-last). In each, three values are
 * rounded to 16-bit words whose Q format is the largest that holds the
 * calibrated maximum (docs/quantization.md): the input, the weights and
 * the output, each by at most half a step, and a step is at most 2^-14 of
 * the tensor's maximum, so each rounding is at most 2^-15 of it. The output
 * rounding costs 2^-15 of the output's range; the input's and the weights'
 * pass through the dot product, whose sum of |w x| test_golden.c measures
 * at most about 4 times the layer's largest output, so each costs at most
 * 4 x 2^-15 of it. A layer thus adds at most 9 x 2^-15 ~ 2.7e-4 of its
 * output's range; L layers in sequence with gains of order 1 (He init,
 * batch norm folded, ReLU; pooling and softmax only shrink errors) at most
 * L times that. Host layers add test_golden's float32 tolerance (1e-4 of
 * max |expected|, 1e-5 relative). So:
 *     |spatial - torch| <= (1e-4 + L x 9 x 2^-15) x max|expected| + 1e-5 |expected|.
 * Measured (the test prints every case): 62 cases, 24 with layers on the PE
 * array, 38 wholly on the host, none refused; the largest error is 0.21 of
 * its bound (conv_stride_rect, L = 1: 7.8e-5 of max|expected|), the largest
 * share of max|expected| 4.2e-4 (net_mobilenet, L = 8, 0.18 of its bound).
 * The bound is loose by design (worst-case roundings that all line up). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"
#include "test_util.h"

#define GOLDEN_DIR DNNC_SOURCE_DIR "/tests/golden"
#define GOLDEN_MIN_CASES 62 /* as test_golden.c: fewer means data went missing */

static const double HOST_ATOL_SCALE = 1e-4, RTOL = 1e-5;
static const double LAYER_ATOL_SCALE = 9.0 / 32768; /* 9 x 2^-15 */

static char tmp_dir[256];

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

typedef struct Tally {
    int cases, on_array, on_host, refused;
    double worst;      /* the largest error as a share of its case's bound */
    char worst_case[128];
} Tally;

/* The conv and fc layers of the case's network: its fixed16 layers. */
static int fixed16_layers(const char *model)
{
    Parsed p;
    parse_file(&p, model);
    if (!p.graph)
        fail_msg("%s:\n%s", model, p.messages);
    int layers = 0;
    for (int i = 0; i < p.graph->n_nodes; i++)
        layers += p.graph->nodes[i].op == OP_CONV || p.graph->nodes[i].op == OP_FC;
    parsed_free(&p);
    return layers;
}

/* Runs the case on target, the output to out; the run for the caller to
 * check and free. */
static Run run_case(const char *dir, const char *target, const char *out)
{
    char model[512], weights[512], input[512];
    snprintf(model, sizeof model, "%s/model.dnn", dir);
    snprintf(weights, sizeof weights, "%s/weights.safetensors", dir);
    snprintf(input, sizeof input, "%s/input.npy", dir);
    return run_dnnc("run", model, "--weights", weights, "--quantize", "fixed16", "--calibrate", input,
                    "--quantize-first-last", "--target", target, "--input", input, "--output", out,
                    "--show", "0");
}

static void expect_same_bytes(const char *name, const char *a, const char *b)
{
    size_t a_len, b_len;
    char *x = read_file_or_fail(a, &a_len), *y = read_file_or_fail(b, &b_len);
    if (a_len != b_len || memcmp(x, y, a_len) != 0)
        fail_msg("golden %s: the spatial output is not byte-identical to the reference's", name);
    free(x);
    free(y);
}

static void read_f32(const char *path, Array *a)
{
    char err[512];
    if (!npy_read(path, a, err, sizeof err))
        fail_msg("%s: %s", path, err);
    if (a->dtype != ELEM_F32)
        fail_msg("%s: not float32", path);
}

/* The spatial output against PyTorch's within the bound for L layers;
 * returns the largest error's share of the bound. */
static double against_torch(const char *name, const char *dir, const char *out, int layers)
{
    char path[512];
    snprintf(path, sizeof path, "%s/expected.npy", dir);
    Array want, got;
    read_f32(path, &want);
    read_f32(out, &got);
    int64_t n = shape_elems(&want.shape);
    if (!shape_equal(&want.shape, &got.shape))
        fail_msg("golden %s: the output's shape is not the expected one", name);
    const float *w = want.data, *g = got.data;
    double max_abs = 0, worst = 0, worst_err = 0;
    for (int64_t i = 0; i < n; i++)
        max_abs = fmax(max_abs, fabs(w[i]));
    double atol = (HOST_ATOL_SCALE + layers * LAYER_ATOL_SCALE) * max_abs;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)g[i] - w[i]), bound = atol + RTOL * fabs(w[i]);
        if (!(err <= bound))
            fail_msg("golden %s: element %lld is %.9g, PyTorch's %.9g: |difference| %.3g > %.3g "
                     "(%d fixed16 layers)", name, (long long)i, g[i], w[i], err, bound, layers);
        worst = fmax(worst, err / bound);
        worst_err = fmax(worst_err, err);
    }
    print_message("golden %-24s %2d fixed16 layers  max error %-9.3g (%.2g of max|expected|, %.2f "
                  "of the bound)\n", name, layers, worst_err, max_abs > 0 ? worst_err / max_abs : 0,
                  worst);
    array_free(&want);
    array_free(&got);
    return worst;
}

static void one_case(const char *name, Tally *t)
{
    char dir[512], model[600], spatial[512], reference[512];
    snprintf(dir, sizeof dir, "%s/%s", GOLDEN_DIR, name);
    snprintf(model, sizeof model, "%s/model.dnn", dir);
    snprintf(spatial, sizeof spatial, "%s", temp_path(tmp_dir, "spatial.npy"));
    snprintf(reference, sizeof reference, "%s", temp_path(tmp_dir, "reference.npy"));
    t->cases++;
    Run r = run_case(dir, "spatial", spatial);
    if (r.status == 1 && strstr(r.err, "target spatial cannot run")) {
        print_message("golden %-24s SKIPPED, refused: %s", name, r.err);
        t->refused++;
        run_free(&r);
        return;
    }
    assert_run(&r, 0, "ran ", NULL);
    r = run_case(dir, "reference", reference);
    assert_run(&r, 0, "ran ", NULL);
    expect_same_bytes(name, spatial, reference);
    int layers = fixed16_layers(model);
    if (layers > 0)
        t->on_array++;
    else
        t->on_host++;
    double share = against_torch(name, dir, spatial, layers);
    if (share >= t->worst) {
        t->worst = share;
        snprintf(t->worst_case, sizeof t->worst_case, "%s", name);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden_on_spatial(void **state)
{
    (void)state;
    DIR *d = opendir(GOLDEN_DIR);
    assert_non_null(d);
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/model.dnn", GOLDEN_DIR, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    Tally t = {0};
    for (int i = 0; i < n; i++) {
        one_case(names[i], &t);
        free(names[i]);
    }
    print_message("golden on spatial: %d cases; %d with layers on the PE array and %d wholly on the "
                  "host (no conv or fc), each byte-identical to the reference in fixed16; %d "
                  "refused; the largest error %.2f of its bound (%s)\n", t.cases, t.on_array,
                  t.on_host, t.refused, t.worst, t.worst_case);
    assert_true(t.cases >= GOLDEN_MIN_CASES);
    assert_int_equal(t.on_array + t.on_host + t.refused, t.cases);
}

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-golden-spatial") ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_on_spatial),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
