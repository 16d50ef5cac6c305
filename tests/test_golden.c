/* Golden tests: the reference executor against PyTorch, and every backend
 * at every -O level against both.
 *
 * Every folder of tests/golden/ holds a case made by tools/golden/make_golden.py
 * (a dev-time script; CI only reads its output): model.dnn, weights.safetensors,
 * input.npy and expected.npy, PyTorch's float32 output in eval mode. This test
 * parses the model, binds the weights, runs reference_run() on the input and
 * compares with the expected output element by element; then the same for
 * the reference and the cpu JIT after their target's pipeline at -O0 to -O3
 * and object code at -O3, each also against the reference at -O0.
 *
 * Tolerance. The reference accumulates every sum in double and rounds once
 * per layer, so its own error is about one float32 rounding (2^-24 relative)
 * of each layer's output. PyTorch accumulates in float32 in an order of its
 * choosing (blocked GEMM, vectorised reductions), so the difference is
 * dominated by PyTorch's rounding. For a K-term dot product the classic bound
 * (Higham, Accuracy and Stability of Numerical Algorithms, 3.1) is
 *     |err| <= K * u * sum |w_i * x_i|,    u = 2^-24 ~ 5.96e-8,
 * valid for any summation order. The largest K here is 400 (net_lenet's first
 * fc; then 363 for net_alexnet's 11x11x3 conv and 288 for net_resnet's 3x3x32),
 * and for these He-initialised weights and O(1) inputs sum |w*x| is at most
 * about 3-4 times the largest output of the layer (measured: 3.0 for
 * conv_7x7_s2, 2.8 for fc_4d, 1.9 for conv_basic). The worst case is then
 * 400 * 5.96e-8 * 4 ~ 9.5e-5 times the output's magnitude, hence
 *     atol = ATOL_SCALE * max |expected|,  ATOL_SCALE = 1e-4.
 * It is absolute within a case because cancellation makes the error of a
 * small output as large as that of a big one (the error scales with the terms,
 * not with the result). In the small networks, errors of earlier layers pass
 * through later ones with gains of order 1 (He init, batch norm, ReLU) and
 * softmax only shrinks them, so the bound holds for their outputs as well.
 *     rtol = 1e-5
 * covers the element-wise ops whose result can be much larger than the rest
 * of the case's output would suggest (none here is, but the bound stays
 * meaningful if such a case is added): float32 exp, tanh, expm1 and pow in
 * PyTorch are accurate to a few ulp (< 1e-6 relative), 1e-5 leaves a factor
 * 10 for rounding propagated through the layers.
 * Measured: the largest error of any case is 6.7e-7 times its max |expected|
 * (net_resnet; single layers at most 3.3e-7, conv_7x7_s2), 150 times below
 * the bound. The bound still catches small semantic slips: using eps 1e-5
 * instead of batchnorm's 1e-3 exceeds it 4 times over, a 0.1% change of one
 * running variance deep in net_resnet 1.7 times, and a wrong tap, counted
 * padding or mixed-up axis by orders of magnitude. The test prints every
 * case's max error and its ratio to max |expected| so that drift is visible. */
#include <dirent.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"
#include "reference.h"
#include "jit.h"
#include "shared_object.h"
#include "test_util.h"
#include "weights.h"

#define GOLDEN_DIR DNNC_SOURCE_DIR "/tests/golden"
/* The number of cases make_golden.py writes: fewer folders means data went
 * missing, and the test must not pass by comparing nothing. */
#define GOLDEN_MIN_CASES 62

static const double ATOL_SCALE = 1e-4;
static const double RTOL = 1e-5;

typedef struct CaseResult {
    char name[256];
    bool ok;
    bool unforced;  /* with an algorithm forced: the case has no conv it computes */
    char why[1024]; /* when !ok */
} CaseResult;

__attribute__((format(printf, 2, 3))) static bool case_fail(CaseResult *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->ok = false;
    return false;
}

/* Reads a float32 .npy file whose shape must be `want`. */
static bool read_f32(CaseResult *r, const char *dir, const char *file, const Shape *want, Array *a)
{
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!npy_read(path, a, err, sizeof err))
        return case_fail(r, "%s", err);
    if (a->dtype != ELEM_F32)
        return case_fail(r, "%s: dtype %s, expected float32", file, elem_kind_name(a->dtype));
    if (!shape_equal(&a->shape, want)) {
        char got[300], exp[300];
        shape_format(&a->shape, got, sizeof got);
        shape_format(want, exp, sizeof exp);
        return case_fail(r, "%s: shape %s, but the network's is %s", file, got, exp);
    }
    return true;
}

static bool compare(CaseResult *r, const char *what, const Shape *s, const float *out, const float *exp)
{
    int64_t n = shape_elems(s);
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)exp[i]));
    double atol = ATOL_SCALE * scale;
    /* The largest error, and the element that exceeds its tolerance most. */
    double max_err = 0, worst_excess = 0;
    int64_t max_at = 0, bad_at = -1, n_bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)out[i] - (double)exp[i]);
        double tol = atol + RTOL * fabs((double)exp[i]);
        if (!(err <= tol)) { /* NaN fails too */
            n_bad++;
            double excess = isnan(err) ? INFINITY : err / tol;
            if (bad_at < 0 || excess > worst_excess)
                worst_excess = excess, bad_at = i;
        }
        if (err > max_err || isnan(err))
            max_err = err, max_at = i;
    }
    char at[200];
    array_format_index(s, max_at, at, sizeof at);
    print_message("golden %-24s %-16s %6lld values  max|expected| %-9.4g max error %-9.3g "
                  "(%.2g of max|expected|) at %s\n",
                  r->name, what, (long long)n, scale, max_err, scale > 0 ? max_err / scale : max_err, at);
    if (bad_at < 0)
        return true;
    array_format_index(s, bad_at, at, sizeof at);
    return case_fail(r,
                     "%s: %lld of %lld values outside the tolerance; worst at index %lld %s: "
                     "got %.9g, expected %.9g, |difference| %.3g > %.3g "
                     "(atol %.3g + rtol %g * |expected|)",
                     what, (long long)n_bad, (long long)n, (long long)bad_at, at, (double)out[bad_at],
                     (double)exp[bad_at], fabs((double)out[bad_at] - (double)exp[bad_at]),
                     atol + RTOL * fabs((double)exp[bad_at]), atol, RTOL);
}

/* The backends every case runs on, each after its target's pipeline. */
typedef enum { BACKEND_REFERENCE, BACKEND_JIT, BACKEND_OBJECT, N_BACKENDS } Backend;
static const char *const backend_names[] = {"reference", "cpu", "object"};

static bool run_backend(CaseResult *r, const Graph *g, Backend b, const float *in, float *out)
{
    char err[1024];
    const void *inputs[1] = {in};
    void *outputs[1] = {out};
    if (b == BACKEND_REFERENCE) {
        if (!reference_run_typed(g, inputs, outputs, err, sizeof err))
            return case_fail(r, "reference: %s", err);
        return true;
    }
    CodegenOptions co = {.name = "golden", .opt_level = 2};
    if (b == BACKEND_JIT) {
        JitModel *j = jit_compile(g, &co, err, sizeof err);
        bool ok = j && jit_run(j, inputs, outputs, NULL) == 0;
        jit_free(j);
        return ok || case_fail(r, "cpu target: %s", j ? "the compiled model returned an error" : err);
    }
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    bool ok = s && shared_model_run(s, inputs, outputs) == 0;
    shared_model_free(s);
    return ok || case_fail(r, "object code: %s", s ? "the model returned an error" : err);
}

/* Backend b at -O`level` against PyTorch and against the reference at -O0
 * (ref0). Native code sums in float32 in another order than PyTorch, and
 * the rewritten graph rounds in other places (tests/test_passes.c): the
 * same bound holds against both. */
static bool check_backend(CaseResult *r, const Graph *g, Backend b, int level, const float *in,
                          const float *expected, const float *ref0)
{
    Graph *copy = graph_clone(g);
    assert_non_null(copy);
    char *messages = NULL;
    const char *target = b == BACKEND_REFERENCE ? "reference" : "cpu";
    bool ok = run_pipeline(copy, target, level, NULL, &messages) ||
              case_fail(r, "%s pipeline at -O%d: %s", target, level, messages);
    const Shape *s = &g->tensors[g->outputs[0]].shape;
    float *out = calloc((size_t)shape_elems(s), sizeof *out);
    assert_non_null(out);
    char what[64];
    snprintf(what, sizeof what, "%s -O%d", backend_names[b], level);
    ok = ok && run_backend(r, copy, b, in, out) && compare(r, what, s, out, expected);
    snprintf(what, sizeof what, "%s -O%d vs -O0", backend_names[b], level);
    ok = ok && compare(r, what, s, out, ref0);
    free(out);
    free(messages);
    graph_free(copy);
    return ok;
}

/* -O0 to -O3 in the plain build. Under the sanitizers (CI time), -O0 and
 * -O3 only: -O1 runs a subset of -O3's graph passes and -O2 the same ones
 * (`dnnc passes`; they differ in LLVM's level), which the plain build
 * checks. With a forced algorithm, -O0 and -O3 in every build. */
static int level_step(bool forced)
{
#ifdef DNNC_SANITIZED
    (void)forced;
    return 3;
#else
    return forced ? 3 : 1;
#endif
}

/* Whether backend b runs at -O`level`. The object code differs from the
 * JIT's only in how the module is written and loaded (the same pipeline,
 * kernels and lowering), which one level exercises: it runs at -O3 alone
 * (a link by the system compiler per case and level was a third of this
 * test's time). */
static bool runs_backend(int b, int level, bool forced)
{
    if (forced)
        return b == BACKEND_JIT;
    return b != BACKEND_OBJECT || level == 3;
}

static bool run_case(CaseResult *r)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", GOLDEN_DIR, r->name);
    r->ok = true;

    snprintf(path, sizeof path, "%s/model.dnn", dir);
    Parsed p;
    parse_file(&p, path);
    if (!p.graph) {
        case_fail(r, "model.dnn does not compile:\n%s", p.messages);
        parsed_free(&p);
        return false;
    }
    Graph *g = p.graph;

    /* Weights, with the loader's messages captured. */
    char *msgs = NULL;
    size_t msgs_len = 0;
    FILE *out = open_memstream(&msgs, &msgs_len);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    bool ok = weights_load(g, path, &d);
    fclose(out);
    if (!ok)
        case_fail(r, "weights do not bind:\n%s", msgs);
    free(msgs);

    Array in = {0}, exp = {0};
    float *result = NULL;
    if (ok && (g->n_inputs != 1 || g->n_outputs != 1))
        ok = case_fail(r, "a golden network has one input and one output, this one %d and %d",
                       g->n_inputs, g->n_outputs);
    const Shape *in_shape = ok ? &g->tensors[g->inputs[0]].shape : NULL;
    const Shape *out_shape = ok ? &g->tensors[g->outputs[0]].shape : NULL;
    ok = ok && read_f32(r, dir, "input.npy", in_shape, &in);
    ok = ok && read_f32(r, dir, "expected.npy", out_shape, &exp);
    if (ok) {
        result = malloc((size_t)shape_elems(out_shape) * sizeof *result);
        assert_non_null(result);
        const float *inputs[1] = {in.data};
        float *outputs[1] = {result};
        char err[1024];
        if (!reference_run(g, inputs, outputs, err, sizeof err))
            ok = case_fail(r, "reference_run: %s", err);
    }
    ok = ok && compare(r, "reference -O0", out_shape, result, exp.data);
    /* With a fast algorithm forced (DNNC_TEST_CONV_ALGO, tests/CMakeLists.txt)
     * only the cpu's choice changes: its JIT at the lowest and highest level
     * (the object code runs the same kernels, the reference ignores it), and
     * only for the cases with a conv the algorithm computes (the others
     * would repeat the unforced run of test_golden exactly). */
    bool forced = getenv("DNNC_TEST_CONV_ALGO") != NULL;
    r->unforced = forced && !test_forced_algo_applies(g);
    for (int level = 0; ok && !r->unforced && level <= 3; level += level_step(forced))
        for (int b = 0; ok && b < N_BACKENDS; b++)
            if (runs_backend(b, level, forced))
                ok = check_backend(r, g, b, level, in.data, exp.data, result);
    free(result);
    array_free(&in);
    array_free(&exp);
    parsed_free(&p);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const CaseResult *)a)->name, ((const CaseResult *)b)->name);
}

/* The case folders, sorted by name. */
static CaseResult *find_cases(int *count)
{
    DIR *dir = opendir(GOLDEN_DIR);
    if (!dir)
        fail_msg("cannot open %s: the golden data is missing", GOLDEN_DIR);
    CaseResult *cases = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        char path[4400];
        struct stat st;
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof cases->name)
            continue;
        snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, e->d_name);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            cases = realloc(cases, (size_t)cap * sizeof *cases);
            assert_non_null(cases);
        }
        memset(&cases[n], 0, sizeof cases[n]);
        strcpy(cases[n++].name, e->d_name);
    }
    closedir(dir);
    if (n > 0)
        qsort(cases, (size_t)n, sizeof *cases, compare_names);
    *count = n;
    return cases;
}

/* Every case MANIFEST lists (the script writes it) must have its folder. */
static int check_manifest(const CaseResult *cases, int n)
{
    size_t len;
    char *text = read_file_or_fail(GOLDEN_DIR "/MANIFEST", &len);
    int missing = 0, listed = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!*line)
            continue;
        listed++;
        CaseResult key;
        snprintf(key.name, sizeof key.name, "%s", line);
        if (!bsearch(&key, cases, (size_t)n, sizeof *cases, compare_names)) {
            print_error("golden: case '%s' of MANIFEST has no folder in %s\n", line, GOLDEN_DIR);
            missing++;
        }
    }
    free(text);
    if (listed < GOLDEN_MIN_CASES) {
        print_error("golden: MANIFEST lists %d cases, expected at least %d\n", listed,
                    GOLDEN_MIN_CASES);
        missing++;
    }
    return missing;
}

static void test_golden_cases(void **state)
{
    (void)state;
    int n = 0;
    CaseResult *cases = find_cases(&n);
    print_message("golden: %d cases in %s (tolerance: |ref - torch| <= %g * max|expected| "
                  "+ %g * |expected|)\n", n, GOLDEN_DIR, ATOL_SCALE, RTOL);
    print_message("golden: levels -O0 to -O3 in steps of %d%s\n", level_step(getenv("DNNC_TEST_CONV_ALGO") != NULL),
                  level_step(false) == 3 ? " (under the sanitizers; the plain build runs every level)" : "");
    int missing = check_manifest(cases, n);

    int failed = 0;
    const char *first = NULL;
    for (int i = 0; i < n; i++)
        if (!run_case(&cases[i])) {
            print_error("golden case '%s' FAILED: %s\n", cases[i].name, cases[i].why);
            failed++;
            if (!first)
                first = cases[i].name;
        }
    print_message("golden: %d of %d cases passed\n", n - failed, n);
    AlgoChoice forced;
    const char *algo = test_forced_conv_algo(&forced);
    int unforced = 0;
    for (int i = 0; i < n; i++)
        unforced += cases[i].unforced;
    if (algo)
        print_message("golden: %s forced: %d cases have a conv it computes and ran on the cpu with it; %d have "
                      "none, so only their reference ran here (test_golden runs them on the cpu)\n",
                      algo, n - unforced, unforced);

    char first_name[256] = "", first_why[1024] = "";
    if (first)
        for (int i = 0; i < n; i++)
            if (strcmp(cases[i].name, first) == 0) {
                snprintf(first_name, sizeof first_name, "%s", cases[i].name);
                snprintf(first_why, sizeof first_why, "%s", cases[i].why);
            }
    free(cases);
    if (n < GOLDEN_MIN_CASES)
        fail_msg("found %d golden cases in %s, expected at least %d: the data is incomplete "
                 "(regenerate with tools/golden/make_golden.py)", n, GOLDEN_DIR, GOLDEN_MIN_CASES);
    if (missing)
        fail_msg("%d golden case(s) of MANIFEST are missing", missing);
    if (failed)
        fail_msg("%d golden case(s) failed; first '%s': %s", failed, first_name, first_why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
