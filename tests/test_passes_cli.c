/* The pass pipeline as the driver offers it: `dnnc passes`, the pipeline
 * options on the commands that take a model (--print-after, --pass-stats,
 * --verify-each, --passes, --disable-pass, --target), what a target cannot
 * do yet, `dump --format=dot`, and `dump -O2 -o`, whose source and weights
 * must run like the model they came from. Runs the built binary
 * (DNNC_BINARY) in a temporary directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "npy.h"
#include "pass.h"
#include "target.h"
#include "weights.h"

static char tmp_dir[256];

/* Batch norms after convolutions, a residual add and ReLUs: what -O1
 * folds and -O2 fuses. */
static const char bn_net[] = "input x: f32[1, 3, 8, 8];\n"
                             "c1 = conv(x, filters=4, kernel=3, pad=1);\n"
                             "b1 = batchnorm(c1);\n"
                             "r1 = relu(b1);\n"
                             "c2 = conv(r1, filters=4, kernel=3, pad=1);\n"
                             "b2 = batchnorm(c2);\n"
                             "s = add(b2, r1);\n"
                             "r2 = relu(s);\n"
                             "f = fc(r2, units=5);\n"
                             "output f;\n";

#define LENET DNNC_SOURCE_DIR "/examples/lenet5.dnn"
#define LENET_WEIGHTS DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors"

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* A fixed sequence in [0, 1). */
static float sequence01(int64_t i, uint32_t seed)
{
    (void)seed;
    return (float)((i * 2654435761u) % 1000) / 1000.0f;
}

static void write_input(const char *name, Shape shape) { write_f32_npy(path_in(name), shape, sequence01, 0); }

/* The batch-norm network, and weights for it whose batch norms are far from
 * the identity, so that folding them changes the convolutions' weights. */
static void write_bn_net(void)
{
    FILE *f = fopen(path_in("bn.dnn"), "w");
    assert_non_null(f);
    fputs(bn_net, f);
    assert_int_equal(fclose(f), 0);
    Parsed p;
    parse_text(&p, "bn.dnn", bn_net);
    if (!p.graph)
        fail_msg("bn.dnn does not parse:\n%s", p.messages);
    randomize_weights_for_test(p.graph, 11);
    char err[1024];
    bool ok = weights_save(p.graph, path_in("bn.safetensors"), err, sizeof err);
    parsed_free(&p);
    if (!ok)
        fail_msg("%s", err);
}

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-passes-cli"))
        return -1;
    write_bn_net();
    write_input("x.npy", (Shape){4, {1, 3, 8, 8}});
    write_input("digit.npy", (Shape){4, {1, 1, 28, 28}});
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

/* ---- dnnc passes ---- */

static void test_passes_lists_every_pass_and_every_pipeline(void **state)
{
    (void)state;
    Run r = run_dnnc("passes");
    for (int id = 0; id < PASS_COUNT; id++) {
        char line[128];
        snprintf(line, sizeof line, "\n  %s ", pass_info((PassId)id)->name);
        assert_contains(r.out, line);
    }
    for (int t = 0; t < target_count(); t++) {
        char heading[128];
        snprintf(heading, sizeof heading, "\n  %s (default -O%d)\n    -O0 ", target_at(t)->name,
                 target_at(t)->default_opt_level);
        assert_contains(r.out, heading);
        const char *section = strstr(r.out, heading);
        for (int level = 1; level <= 3; level++) {
            char want[16];
            snprintf(want, sizeof want, "\n    -O%d ", level);
            assert_contains(section, want);
        }
    }
    /* fuse-epilogue is an -O2 pass: in the -O2 list, not the -O1 one. */
    const char *cpu = strstr(r.out, "\n  cpu ");
    assert_non_null(cpu);
    const char *o1 = strstr(cpu, "-O1 "), *o2 = strstr(cpu, "-O2 ");
    const char *fuse = strstr(cpu, "fuse-epilogue");
    assert_true(o1 && o2 && fuse && fuse > o2);
    assert_run(&r, 0, "pipelines", NULL);
    r = run_dnnc("passes", "--help");
    assert_run(&r, 0, "usage: dnnc passes", NULL);
}

/* ---- pipeline options ---- */

static void test_print_after_fold_batchnorm_shows_no_batchnorm(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("bn.dnn"), "-O1", "--print-after=fold-batchnorm");
    const char *after = strstr(r.err, "# *** IR after fold-batchnorm ***\n");
    bool folded = after && strstr(after, "c2 = conv(") && !strstr(after, "batchnorm(");
    if (!folded)
        print_error("the IR printed after fold-batchnorm:\n%s", r.err);
    assert_run(&r, 0, "output f;", "# *** IR after fold-batchnorm ***");
    assert_true(folded);
    r = run_dnnc("dump", path_in("bn.dnn"), "--print-before", "fold-batchnorm", "-O", "1");
    assert_run(&r, 0, "output f;", "# *** IR before fold-batchnorm ***\ninput x");
}

static void test_print_after_a_pass_that_does_not_run_is_an_error(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("bn.dnn"), "--print-after=fold-batchnorm");
    assert_run(&r, 2, NULL, "--print-after=fold-batchnorm: the pass does not run on target reference at -O0");
    r = run_dnnc("stats", path_in("bn.dnn"), "--target=cpu", "--print-after=map-dataflow");
    assert_run(&r, 2, NULL, "the pass does not run on target cpu");
}

static void test_pass_lists_that_cannot_be(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("bn.dnn"), "--disable-pass=select-algo");
    assert_run(&r, 2, NULL, "--disable-pass: pass 'select-algo' always runs on target reference");
    r = run_dnnc("dump", path_in("bn.dnn"), "--passes=fold-batchnorm,frobnicate");
    assert_run(&r, 2, NULL, "dnnc dump: --passes: unknown pass 'frobnicate' (dnnc passes lists them)");
    r = run_dnnc("dump", path_in("bn.dnn"), "--disable-pass", "frobnicate");
    assert_run(&r, 2, NULL, "--disable-pass: unknown pass 'frobnicate'");
}

static void test_passes_and_disable_pass_choose_what_runs(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", path_in("bn.dnn"), "--passes=fold-batchnorm");
    bool folded = !strstr(r.out, "batchnorm(") && strstr(r.out, "r1 = relu(c1)");
    assert_run(&r, 0, "output f;", NULL);
    assert_true(folded);
    r = run_dnnc("dump", path_in("bn.dnn"), "-O2", "--disable-pass=fold-batchnorm");
    assert_run(&r, 0, "b1 = batchnorm(c1);", NULL);
}

static void test_pass_stats_and_verify_each(void **state)
{
    (void)state;
    Run r = run_dnnc("stats", path_in("bn.dnn"), "-O2", "--pass-stats", "--verify-each");
    bool counted = strstr(r.err, "pass-stats: fuse-epilogue") != NULL;
    assert_run(&r, 0, "total", "pass-stats: fold-batchnorm");
    assert_true(counted);
    r = run_dnnc("dump", LENET, "-O3", "--verify-each", "--target", "cpu");
    assert_run(&r, 0, "output ", NULL);
}

static void test_an_unknown_target_names_the_targets(void **state)
{
    (void)state;
    char want[256];
    snprintf(want, sizeof want, "dnnc run: unknown target 'tpu' (%s)", target_names());
    Run r = run_dnnc("run", path_in("bn.dnn"), "--target", "tpu", "--random-weights", "1",
                     "--input", path_in("x.npy"));
    assert_run(&r, 2, NULL, want);
}

/* ---- what a target cannot do ---- */

static void test_targets_that_cannot_say_so(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("bn.dnn"), "--target=spatial", "--random-weights", "1",
                     "--input", path_in("x.npy"));
    /* The spatial target runs fixed16 graphs only (test_spatial_run). */
    assert_run(&r, 1, NULL, "target spatial cannot run conv: the PE array computes in 16-bit fixed "
                            "point");
    r = run_dnnc("compile", path_in("bn.dnn"), "--target", "reference", "--random-weights", "1",
                 "-o", path_in("ref"));
    assert_run(&r, 1, NULL, "dnnc compile: error: target reference cannot write compiled code");
    r = run_dnnc("bench", path_in("bn.dnn"), "--target=reference");
    assert_run(&r, 1, NULL, "only target cpu");
    r = run_dnnc("run", path_in("bn.dnn"), "--threads=2", "--random-weights", "1", "--input",
                 path_in("x.npy"));
    assert_run(&r, 2, NULL, "dnnc run: --threads: target reference runs on one thread");
    char *left = dir_find_prefix(tmp_dir, "ref");
    if (left)
        fail_msg("a failed compile left %s behind", left);
}

/* ---- dump --format=dot ---- */

static void check_dot_names_every_layer(const char *level)
{
    Run r = run_dnnc("dump", path_in("bn.dnn"), "--format=dot", level, "--random-weights=1");
    Parsed p;
    parse_text(&p, "bn.dnn", bn_net);
    assert_non_null(p.graph);
    if (strcmp(level, "-O0") != 0)
        run_pipeline_or_fail(p.graph, "reference", level[2] - '0');
    bool all = strncmp(r.out, "digraph", 7) == 0;
    for (int i = 0; i < p.graph->n_nodes; i++) {
        char label[128];
        snprintf(label, sizeof label, "label=\"%s\\n%s\\n", p.graph->nodes[i].name,
                 op_name(p.graph->nodes[i].op));
        if (!strstr(r.out, label)) {
            print_error("no %s in\n%s", label, r.out);
            all = false;
        }
    }
    parsed_free(&p);
    assert_run(&r, 0, "\n}\n", NULL);
    assert_true(all);
}

static void test_dot_starts_with_digraph_and_names_every_layer(void **state)
{
    (void)state;
    check_dot_names_every_layer("-O0");
    check_dot_names_every_layer("-O2");
    /* What the passes decided shows: the fused ReLU and the residual. */
    Run r = run_dnnc("dump", path_in("bn.dnn"), "--format", "dot", "-O2");
    bool residual = strstr(r.out, "+ residual c1") && strstr(r.out, "style=dashed");
    assert_run(&r, 0, "act=relu", NULL);
    assert_true(residual);
}

/* ---- dump -O2 -o: source and weights that run like the model ---- */

static Array read_npy_or_fail(const char *path)
{
    Array a;
    char err[1024];
    if (!npy_read(path, &a, err, sizeof err))
        fail_msg("%s", err);
    return a;
}

/* |a - b| <= 1e-4 (1 + |b|) element by element: folding rounds differently. */
static void assert_outputs_close(const char *got_path, const char *want_path)
{
    Array got = read_npy_or_fail(got_path), want = read_npy_or_fail(want_path);
    bool same_shape = got.dtype == ELEM_F32 && want.dtype == ELEM_F32 &&
                      shape_equal(&got.shape, &want.shape);
    int64_t bad = -1;
    for (int64_t i = 0; same_shape && bad < 0 && i < array_count(&want); i++) {
        double g = ((float *)got.data)[i], w = ((float *)want.data)[i];
        if (!(fabs(g - w) <= 1e-4 * (1 + fabs(w))))
            bad = i;
    }
    if (bad >= 0)
        print_error("element %lld: %.9g from the dump, %.9g from the model\n", (long long)bad,
                    (double)((float *)got.data)[bad], (double)((float *)want.data)[bad]);
    array_free(&got);
    array_free(&want);
    assert_true(same_shape);
    assert_true(bad < 0);
}

/* dump -O2 MODEL WEIGHTS -o OUT.dnn, then run the model and OUT.dnn with
 * OUT.safetensors on the same input: the outputs agree. */
static void check_round_trip(const char *model, const char *weights, const char *input,
                             const char *out)
{
    char source[64], written[64], want[64], got[64];
    snprintf(source, sizeof source, "%s.dnn", out);
    snprintf(written, sizeof written, "%s.safetensors", out);
    snprintf(want, sizeof want, "%s-want.npy", out);
    snprintf(got, sizeof got, "%s-got.npy", out);
    char *src = strdup(path_in(source)), *w = strdup(path_in(written));
    Run r = run_dnnc("dump", "-O2", model, "--weights", weights, "-o", src);
    assert_run(&r, 0, NULL, NULL);
    r = run_dnnc("run", model, "--weights", weights, "--input", input, "--output", path_in(want));
    assert_run(&r, 0, "ran 1 sample", NULL);
    r = run_dnnc("run", src, "--weights", w, "--input", input, "--output", path_in(got));
    assert_run(&r, 0, "ran 1 sample", NULL);
    free(src);
    free(w);
    assert_outputs_close(path_in(got), path_in(want));
}

static void test_dump_O2_of_lenet_runs_like_lenet(void **state)
{
    (void)state;
    check_round_trip(LENET, LENET_WEIGHTS, path_in("digit.npy"), "lenet-o2");
}

static void test_dump_O2_folds_batch_norms_into_weights_that_run_alike(void **state)
{
    (void)state;
    check_round_trip(path_in("bn.dnn"), path_in("bn.safetensors"), path_in("x.npy"), "bn-o2");
    char *text = read_file_or_fail(path_in("bn-o2.dnn"), NULL);
    bool folded = !strstr(text, "batchnorm(") && strstr(text, "act=relu");
    if (!folded)
        print_error("dump -O2 wrote\n%s", text);
    free(text);
    assert_true(folded);
}

static void test_dump_o_without_weights_writes_only_the_source(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", "-O2", path_in("bn.dnn"), "-o", path_in("bare.dnn"));
    assert_run(&r, 0, NULL, "dnnc dump: note: wrote no weights");
    char *left = dir_find_prefix(tmp_dir, "bare.safetensors");
    free(read_file_or_fail(path_in("bare.dnn"), NULL));
    if (left)
        fail_msg("dump without weights wrote %s", left);
}

static void test_dump_o_that_fails_leaves_no_file(void **state)
{
    (void)state;
    Run r = run_dnnc("dump", "-O2", path_in("bn.dnn"), "--weights", path_in("bn.safetensors"), "-o",
                     path_in("missing-dir/out.dnn"));
    assert_run(&r, 1, NULL, "cannot write");
    r = run_dnnc("dump", "-O2", path_in("bn.dnn"), "--weights", path_in("x.npy"), "-o",
                 path_in("broken.dnn"));
    assert_int_equal(r.status, 1);
    run_free(&r);
    char *left = dir_find_prefix(tmp_dir, "broken");
    if (left)
        fail_msg("a failed dump left %s behind", left);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes_lists_every_pass_and_every_pipeline),
        cmocka_unit_test(test_print_after_fold_batchnorm_shows_no_batchnorm),
        cmocka_unit_test(test_print_after_a_pass_that_does_not_run_is_an_error),
        cmocka_unit_test(test_pass_lists_that_cannot_be),
        cmocka_unit_test(test_passes_and_disable_pass_choose_what_runs),
        cmocka_unit_test(test_pass_stats_and_verify_each),
        cmocka_unit_test(test_an_unknown_target_names_the_targets),
        cmocka_unit_test(test_targets_that_cannot_say_so),
        cmocka_unit_test(test_dot_starts_with_digraph_and_names_every_layer),
        cmocka_unit_test(test_dump_O2_of_lenet_runs_like_lenet),
        cmocka_unit_test(test_dump_O2_folds_batch_norms_into_weights_that_run_alike),
        cmocka_unit_test(test_dump_o_without_weights_writes_only_the_source),
        cmocka_unit_test(test_dump_o_that_fails_leaves_no_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
