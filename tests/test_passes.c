/* Before/after tests of every pass, in the style of a compiler's FileCheck
 * tests. Each file tests/passes/NAME.dnn is a network followed by what the
 * pass must make of it:
 *
 *   # passes: fold-batchnorm          (as --passes; or "# level: 2" for -O2)
 *   # target: cpu                     (optional; default reference)
 *   input x: f32[1, 3, 8, 8];
 *   ...
 *   # expect:
 *   <the exact dump after the passes>
 *
 * or, instead of "# expect:", "# expect-error: TEXT" when the pipeline must
 * fail with a message containing TEXT. The network gets deterministic
 * random weights (batch norms far from the identity) and, when a dump is
 * expected, the rewritten graph must also compute what the original does:
 * the reference executor runs both on the same input.
 *
 * Tolerance of that comparison. A rewrite changes where values are rounded
 * to float32, not what is computed: a folded weight w * s is rounded once
 * (relative error u = 2^-24), a fused epilogue rounds conv + bias + residual
 * once instead of twice, a folded batch norm skips the rounding of the
 * conv's output. Each output of these networks is a sum of at most 288
 * products (3x3x32) of He-initialised weights and inputs in [-1, 1]; their
 * absolute sum is a few times the largest output, so the differences stay
 * within 288 * u * 4 ~ 7e-5 of the largest output in the worst case and
 * around sqrt(288) * u * 4 ~ 4e-6 typically. 1e-4 of the largest output
 * covers the worst case; a real mistake (a wrong channel's scale, a missing
 * shift or bias, an activation applied twice or not at all) moves outputs
 * by amounts of the order of the outputs themselves. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "test_util.h"

#define CASES_DIR DNNC_SOURCE_DIR "/tests/passes"
/* Fewer case files means some went missing: the test must not pass by
 * checking nothing. */
#define MIN_CASES 40

static const double ATOL_SCALE = 1e-4;

typedef struct Case {
    char name[256];
    char *text;          /* the whole file */
    char passes[256];    /* "# passes:" or "" */
    int level;           /* "# level:" or -1 */
    char target[32];
    const char *expect;  /* after "# expect:\n", or NULL */
    char error[512];     /* "# expect-error:" or "" */
} Case;

/* The value of header line "# KEY: value" in text, or NULL. */
static bool header(const char *text, const char *key, char *out, size_t size)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "# %s:", key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, prefix, strlen(prefix)) != 0)
            continue;
        const char *v = line + strlen(prefix);
        while (*v == ' ')
            v++;
        size_t n = strcspn(v, "\n");
        snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
        return true;
    }
    return false;
}

static void load_case(Case *c, const char *name)
{
    char path[600], buf[32];
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(path, sizeof path, "%s/%s", CASES_DIR, name);
    c->text = read_file_or_fail(path, NULL);
    header(c->text, "passes", c->passes, sizeof c->passes);
    c->level = header(c->text, "level", buf, sizeof buf) ? atoi(buf) : -1;
    if (!header(c->text, "target", c->target, sizeof c->target))
        snprintf(c->target, sizeof c->target, "reference");
    header(c->text, "expect-error", c->error, sizeof c->error);
    char *expect = strstr(c->text, "\n# expect:\n");
    if (expect) {
        expect[1] = '\0'; /* the source ends here */
        c->expect = expect + strlen("\n# expect:\n");
    }
    if (!c->expect == !c->error[0])
        fail_msg("%s: needs exactly one of '# expect:' and '# expect-error:'", name);
    if (!c->passes[0] == (c->level < 0))
        fail_msg("%s: needs exactly one of '# passes:' and '# level:'", name);
}

static float *run_reference(const Graph *g, const float *input)
{
    const Tensor *y = &g->tensors[g->outputs[0]];
    float *out = calloc((size_t)shape_elems(&y->shape), sizeof *out);
    assert_non_null(out);
    char err[512];
    const void *ins[1] = {input};
    void *outs[1] = {out};
    if (!reference_run_typed(g, ins, outs, err, sizeof err))
        fail_msg("reference: %s", err);
    return out;
}

/* The rewritten graph against the original on one input; *ratio is the
 * largest difference over the largest output. */
static bool same_outputs(const Case *c, const Graph *before, const Graph *after, double *ratio)
{
    if (before->n_inputs != 1 || before->n_outputs != 1)
        return true; /* only single-input, single-output cases compute here */
    const Tensor *x = &before->tensors[before->inputs[0]];
    if (x->type.kind != ELEM_F32)
        return true;
    int64_t n = shape_elems(&x->shape), m = shape_elems(&before->tensors[before->outputs[0]].shape);
    float *input = malloc((size_t)n * sizeof *input);
    assert_non_null(input);
    for (int64_t i = 0; i < n; i++)
        input[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    float *want = run_reference(before, input), *got = run_reference(after, input);
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < m; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int64_t i = 0; i < m; i++) {
        double err = fabs((double)got[i] - want[i]);
        worst = isnan(err) ? INFINITY : fmax(worst, err);
    }
    bool ok = worst <= ATOL_SCALE * scale;
    *ratio = scale > 0 ? worst / scale : worst;
    if (!ok)
        print_error("%s: the rewritten graph computes something else: max |difference| %.3g, "
                    "max |output| %.3g\n", c->name, worst, scale);
    free(input), free(want), free(got);
    return ok;
}

/* DNNC_UPDATE_PASS_CASES=1 writes what a pass now makes of a case into its
 * file, as `# expect:`, for a change that alters many dumps on purpose (the
 * run still fails; review the files' diff, then run again). */
static void update_expectation(const Case *c, const char *dump)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", CASES_DIR, c->name);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s# expect:\n%s", c->text, dump) < 0 || fclose(f) != 0)
        fail_msg("%s: cannot rewrite it", path);
    print_message("%s: rewritten with the dump above\n", c->name);
}

static bool run_case(const Case *c, double *ratio)
{
    Parsed p;
    parse_text(&p, c->name, c->text);
    if (!p.graph) {
        print_error("%s: the input does not parse:\n%s", c->name, p.messages);
        parsed_free(&p);
        return false;
    }
    randomize_weights_for_test(p.graph, 7);
    Graph *before = graph_clone(p.graph);
    assert_non_null(before);
    char *messages = NULL;
    bool ran = run_pipeline_on(p.graph, &p.src, c->target, c->level < 0 ? 0 : c->level,
                            c->passes[0] ? c->passes : NULL, &messages);
    bool ok;
    if (c->error[0]) {
        ok = !ran && strstr(messages, c->error);
        if (!ok)
            print_error("%s: expected an error containing\n  %s\ngot%s:\n%s", c->name, c->error,
                        ran ? " success" : "", messages);
    } else if (!ran) {
        print_error("%s: the pipeline failed:\n%s", c->name, messages);
        ok = false;
    } else {
        char *dump = graph_to_text(p.graph);
        ok = strcmp(dump, c->expect) == 0;
        if (!ok)
            print_error("%s: the dump differs.\n--- expected\n%s--- got\n%s", c->name, c->expect, dump);
        if (!ok && getenv("DNNC_UPDATE_PASS_CASES"))
            update_expectation(c, dump);
        free(dump);
        ok = ok && same_outputs(c, before, p.graph, ratio);
    }
    free(messages);
    graph_free(before);
    parsed_free(&p);
    return ok;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_pass_cases(void **state)
{
    (void)state;
    DIR *dir = opendir(CASES_DIR);
    if (!dir)
        fail_msg("cannot open %s", CASES_DIR);
    char *names[512];
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) && n < 512;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".dnn") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof *names, by_name);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        Case c = {0};
        load_case(&c, names[i]);
        double ratio = 0;
        bool ok = run_case(&c, &ratio);
        print_message("%-44s %-6s max |difference| / max |output| %.2g\n", names[i],
                      ok ? "ok" : "FAILED", ratio);
        failed += !ok;
        free(c.text);
        free(names[i]);
    }
    if (n < MIN_CASES)
        fail_msg("found %d cases in %s, expected at least %d", n, CASES_DIR, MIN_CASES);
    if (failed)
        fail_msg("%d of %d pass cases failed", failed, n);
}

/* ---- where fold-batchnorm writes ------------------------------------------ */

static const char conv_bn[] = "input x: f32[1, 3, 8, 8];\n"
                              "c = conv(x, filters=4, kernel=3, pad=1);\n"
                              "y = batchnorm(c);\n"
                              "output y;\n";

/* Folds the batch norm of conv_bn into conv weights bound as `lend` says:
 * the graph's own (randomize_weights_for_test) or a caller's array. */
static void fold_conv_bn(bool lend)
{
    Parsed p;
    parse_text(&p, "conv_bn.dnn", conv_bn);
    assert_non_null(p.graph);
    randomize_weights_for_test(p.graph, 3);
    int weight = graph_find_tensor(p.graph, "c.weight");
    assert_true(weight >= 0);
    Tensor *w = &p.graph->tensors[weight];
    int64_t count = shape_elems(&w->shape);
    float lent[4 * 3 * 3 * 3], before[4 * 3 * 3 * 3];
    assert_int_equal(count, 4 * 3 * 3 * 3);
    memcpy(before, w->data, sizeof before);
    if (lend) {
        memcpy(lent, w->data, sizeof lent);
        w->data = lent;
        w->data_owned = false;
    }
    const float *bound = w->data;
    run_pipeline_or_fail(p.graph, "reference", 1);
    /* The conv now computes the output y: its weights are y.weight. */
    int folded = graph_find_tensor(p.graph, "y.weight");
    assert_true(folded >= 0);
    w = &p.graph->tensors[folded];
    /* Owned weights are scaled where they are; lent ones are left as they
     * were and the graph scales a copy. */
    assert_true(lend ? w->data != bound : w->data == bound);
    if (lend)
        assert_memory_equal(lent, before, sizeof before);
    assert_memory_not_equal(w->data, before, sizeof before);
    parsed_free(&p);
}

static void test_fold_batchnorm_scales_owned_weights_in_place(void **state)
{
    (void)state;
    fold_conv_bn(false);
}

static void test_fold_batchnorm_never_writes_lent_weights(void **state)
{
    (void)state;
    fold_conv_bn(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pass_cases),
                                       cmocka_unit_test(test_fold_batchnorm_scales_owned_weights_in_place),
                                       cmocka_unit_test(test_fold_batchnorm_never_writes_lent_weights)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
