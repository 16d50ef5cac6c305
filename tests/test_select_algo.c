/* select-algo's choice among a conv's candidate algorithms (issue 12,
 * item 3): the cpu cost model, --max-conv-error, the measured times of
 * --autotune's file and that file's parser. The CLI side (--autotune
 * timing, writing and reusing the file) is in test_fast_conv_cli.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo_choices.h"
#include "conv_error.h"
#include "pass.h"
#include "target.h"
#include "test_util.h"

/* A one-conv network: x of `in` channels and side `side`, the conv as
 * written in `conv` (its operand x). */
static void parse_conv(Parsed *p, int in, int side, const char *conv)
{
    char text[512];
    snprintf(text, sizeof text, "input x: f32[1, %d, %d, %d];\ny = %s;\noutput y;\n", in, side, side,
             conv);
    parse_text(p, "net.dnn", text);
    assert_int_equal(p->errors, 0);
    randomize_weights_for_test(p->graph, 7);
}

/* Runs select-algo for the cpu on p's graph with these options; the
 * report's counters and diagnostics for checks. */
static bool run_select(Parsed *p, double max_error, const AlgoTuning *tuning, PassReport *r,
                   char **messages)
{
    size_t size = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    PassOptions o = {.opt_level = 3, .target = target_find("cpu"), .diag = &d,
                     .max_conv_error = max_error, .tuning = tuning};
    memset(r, 0, sizeof *r);
    bool ok = pass_select_algo(p->graph, &o, r);
    fclose(out);
    *messages = text;
    return ok;
}

static int64_t counter(const PassReport *r, const char *what)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->counters[i].what, what) == 0)
            return r->counters[i].count;
    return 0;
}

static const Node *the_conv(const Parsed *p)
{
    for (int i = 0; i < p->graph->n_nodes; i++)
        if (p->graph->nodes[i].op == OP_CONV)
            return &p->graph->nodes[i];
    fail_msg("no conv");
    return NULL;
}

/* ---- the cost model ---- */

/* Parses the one-conv network, runs select-algo with max_error and tuning
 * and checks the conv's algorithm and tile; the report in *r. */
static void expect_choice(int in, int side, const char *conv, double max_error,
                          const AlgoTuning *tuning, ConvAlgo algo, int tile, PassReport *r)
{
    Parsed p;
    parse_conv(&p, in, side, conv);
    char *msg;
    assert_true(run_select(&p, max_error, tuning, r, &msg));
    assert_int_equal(the_conv(&p)->ann.algo, algo);
    if (tile >= 0)
        assert_int_equal(the_conv(&p)->ann.algo_tile, tile);
    else
        assert_true(the_conv(&p)->ann.algo_tile > 0);
    free(msg);
    parsed_free(&p);
}

/* A 3x3 conv of 64 channels on 56x56 costs 2.25 to 5 times fewer
 * multiplications by Winograd: the model takes it (some tile); a strided
 * conv has im2col only. */
static void test_model_takes_winograd_where_it_pays(void **state)
{
    (void)state;
    PassReport r;
    expect_choice(64, 56, "conv(x, filters=64, kernel=3, pad=1)", 0, NULL, ALGO_WINOGRAD, -1, &r);
    assert_int_equal(counter(&r, "of them to a fast algorithm"), 1);
    expect_choice(64, 56, "conv(x, filters=64, kernel=3, stride=2, pad=1)", 0, NULL, ALGO_IM2COL, 0,
                  &r);
}

/* Every fast algorithm errs by more than 1e-12 of the largest output:
 * with that bound the model's pick is refused and im2col runs. */
static void test_max_conv_error_refuses_fast_algorithms(void **state)
{
    (void)state;
    PassReport r;
    expect_choice(64, 56, "conv(x, filters=64, kernel=3, pad=1)", 1e-12, NULL, ALGO_IM2COL, 0, &r);
    assert_true(counter(&r, "fast algorithms refused for their error") >= 1);
}

/* The measured error: 0 for im2col; for F(2x2) a few units of float32
 * rounding relative to the largest output (docs/fast-convolution.md
 * measures at most 8.5e-7 on the examples' 3x3 layers), F(6x6) more. */
static void test_error_measure(void **state)
{
    (void)state;
    Parsed p;
    parse_conv(&p, 32, 24, "conv(x, filters=16, kernel=3, pad=1)");
    const Node *n = the_conv(&p);
    double e_im2col, e2, e6, e_fft;
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_IM2COL, 0}, &e_im2col));
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_WINOGRAD, 2}, &e2));
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_WINOGRAD, 6}, &e6));
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_FFT, 16}, &e_fft));
    assert_true(e_im2col == 0);
    assert_true(e2 > 0 && e2 < 1e-5);
    assert_true(e6 > e2 && e6 < 1e-4);
    assert_true(e_fft > 0 && e_fft < 1e-5);
    parsed_free(&p);
}

/* A layer of many channels is measured on a smaller window (fewer
 * filters, then a smaller side) but with every channel, down to one whole
 * output tile: 4096 channels keep an F(6x6) tile, so the error is a
 * measured one, F(6x6)'s size (under 1e-4, above F(2x2)'s). */
static void test_error_measure_many_channels(void **state)
{
    (void)state;
    Parsed p;
    parse_conv(&p, 4096, 20, "conv(x, filters=8, kernel=3, pad=1)");
    const Node *n = the_conv(&p);
    double e2, e6;
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_WINOGRAD, 2}, &e2));
    assert_true(conv_error_measure(p.graph, n, (AlgoChoice){ALGO_WINOGRAD, 6}, &e6));
    assert_true(e2 > 0 && e2 < 1e-5);
    assert_true(e6 > e2 && e6 < 1e-4);
    parsed_free(&p);
}

/* A layer whose smallest window still exceeds CONV_ERROR_MAX_MACS has an
 * unmeasured error, INFINITY: select-algo refuses its fast algorithms,
 * says why in the report, and the conv runs with the direct sums. (Before
 * the bound, `dnnc dump` took 292 s on such a layer.) Weights unbound: the
 * measurement draws its own, and these would be 35 MB. */
static void test_layer_too_large_to_measure(void **state)
{
    (void)state;
    Parsed p;
    parse_text(&p, "net.dnn",
               "input x: f32[1, 120000, 20, 20];\n"
               "y = conv(x, filters=8, kernel=3, pad=1);\noutput y;\n");
    assert_int_equal(p.errors, 0);
    double e;
    assert_true(conv_error_measure(p.graph, the_conv(&p), (AlgoChoice){ALGO_WINOGRAD, 2}, &e));
    assert_true(isinf(e));
    PassReport r;
    char *msg;
    assert_true(run_select(&p, 0, NULL, &r, &msg));
    ConvAlgo chosen = the_conv(&p)->ann.algo;
    assert_true(chosen == ALGO_IM2COL || chosen == ALGO_DIRECT);
    assert_true(counter(&r, "fast algorithms refused as the layer is too large to measure their "
                            "error") >= 1);
    assert_int_equal(counter(&r, "fast algorithms refused for their error"), 0);
    free(msg);
    parsed_free(&p);
}

/* ---- the measured times ---- */

static void tuning_with(AlgoChoices *c, AlgoTuning *t, const Parsed *p, const char *line_tail)
{
    char key[512], text[1024];
    conv_shape_key(p->graph, the_conv(p), 2, "test-machine", key, sizeof key);
    snprintf(text, sizeof text, "# measured\n%s: %s\n", key, line_tail);
    Diag d;
    diag_init(&d, stderr);
    memset(c, 0, sizeof *c);
    assert_true(algo_choices_parse(text, strlen(text), "test.choices", c, &d));
    *t = (AlgoTuning){c, 2, "test-machine", NULL, NULL};
}

/* tuning_with for a 64-channel 56x56 conv, then expect_choice. */
static void expect_measured(const char *line_tail, double max_error, ConvAlgo algo, int tile,
                            PassReport *r)
{
    Parsed p;
    parse_conv(&p, 64, 56, "conv(x, filters=64, kernel=3, pad=1)");
    AlgoChoices c;
    AlgoTuning t;
    tuning_with(&c, &t, &p, line_tail);
    parsed_free(&p);
    expect_choice(64, 56, "conv(x, filters=64, kernel=3, pad=1)", max_error, &t, algo, tile, r);
    algo_choices_free(&c);
}

/* A shape in the file takes the file's choice, whatever the model says;
 * when that errs beyond the bound, the fastest that does not (with 1e-12,
 * im2col). */
static void test_measured_choice_wins(void **state)
{
    (void)state;
    PassReport r;
    expect_measured("winograd/2 | im2col=9 winograd/2=5 winograd/4=1", 0, ALGO_WINOGRAD, 2, &r);
    assert_int_equal(counter(&r, "layers measured with a choice of algorithm"), 1);
    expect_measured("winograd/4 | im2col=9 winograd/4=1", 1e-12, ALGO_IM2COL, 0, &r);
}

/* A shape missing from the file with no way to measure: the model. */
static void test_unmeasured_shape_uses_the_model(void **state)
{
    (void)state;
    AlgoChoices c = {0};
    AlgoTuning t = {&c, 2, "test-machine", NULL, NULL};
    PassReport r;
    expect_choice(64, 56, "conv(x, filters=64, kernel=3, pad=1)", 0, &t, ALGO_WINOGRAD, -1, &r);
    assert_int_equal(c.n, 0);
}

/* ---- the file ---- */

/* text (len bytes) must not parse, with message among the diagnostics. */
static void expect_parse_error_n(const char *text, size_t len, const char *message)
{
    size_t size = 0;
    char *out_text = NULL;
    FILE *out = open_memstream(&out_text, &size);
    Diag d;
    diag_init(&d, out);
    AlgoChoices c = {0};
    bool ok = algo_choices_parse(text, len, "bad.choices", &c, &d);
    fclose(out);
    algo_choices_free(&c);
    if (ok)
        fail_msg("'%s' parsed", text);
    assert_contains(out_text, message);
    free(out_text);
}

static void expect_parse_error(const char *text, const char *message)
{
    expect_parse_error_n(text, strlen(text), message);
}

static void test_file_errors(void **state)
{
    (void)state;
    expect_parse_error("pool f32[1]: im2col | im2col=1\n", "bad.choices:1:1: error: not a conv shape");
    expect_parse_error("conv f32[1] im2col | im2col=1\n", "bad.choices:1:");
    expect_parse_error("conv a: bogus | im2col=1\n", "bad.choices:1:9: error: not an algorithm");
    expect_parse_error("conv a: winograd/3 | im2col=1\n", "not an algorithm");
    expect_parse_error("conv a: winograd | im2col=1\n", "not an algorithm");
    expect_parse_error("conv a: im2col/4 | im2col=1\n", "not an algorithm");
    expect_parse_error("conv a: winograd/04 | im2col=1\n", "not an algorithm");
    expect_parse_error("conv a: im2col im2col=1\n", "bad.choices:1:16: error: missing '|'");
    expect_parse_error("conv a: im2col |\n", "no times");
    expect_parse_error("conv a: im2col | im2col\n", "expected ALGORITHM=MILLISECONDS");
    expect_parse_error("conv a: im2col | im2col=-1\n", "non-negative number");
    expect_parse_error("conv a: im2col | im2col=nan\n", "non-negative number");
    expect_parse_error("conv a: im2col | im2col=1x\n", "non-negative number");
    expect_parse_error("conv a: im2col | im2col=1 im2col=2\n", "given twice");
    expect_parse_error("conv a: im2col | im2col=1\nconv a: im2col | im2col=2\n",
                       "bad.choices:2:1: error: repeated shape");
    expect_parse_error("# fine\n\nconv a: im2col | fft/7=1\n", "bad.choices:3:");
    const char with_nul[] = "conv a: im2col | im2col=1\0\n";
    expect_parse_error_n(with_nul, sizeof with_nul - 1, "NUL byte");
}

/* What algo_choices_print writes parses back to the same table. */
static void test_file_round_trip(void **state)
{
    (void)state;
    const char *text = "# a comment\n"
                       "conv f32[1,8,8,8] filters=8 kernel=3x3: winograd/4 | im2col=2.5 "
                       "winograd/2=1.25 winograd/4=1   # trailing\r\n"
                       "conv other: fft/16 | fft/16=0.5 direct=7\n";
    Diag d;
    diag_init(&d, stderr);
    AlgoChoices c = {0};
    assert_true(algo_choices_parse(text, strlen(text), "t.choices", &c, &d));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.entries[0].n_times, 3);
    assert_true(c.entries[0].times[1].ms == 1.25);
    assert_int_equal(c.entries[1].chosen.algo, ALGO_FFT);
    assert_int_equal(c.entries[1].chosen.tile, 16);
    char *printed = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&printed, &len);
    algo_choices_print(&c, f);
    fclose(f);
    AlgoChoices back = {0};
    assert_true(algo_choices_parse(printed, len, "printed.choices", &back, &d));
    assert_int_equal(back.n, 2);
    assert_string_equal(back.entries[0].shape, c.entries[0].shape);
    assert_true(back.entries[0].times[0].ms == 2.5);
    assert_int_equal(back.entries[1].times[1].choice.algo, ALGO_DIRECT);
    free(printed);
    algo_choices_free(&back);
    algo_choices_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_takes_winograd_where_it_pays),
        cmocka_unit_test(test_max_conv_error_refuses_fast_algorithms),
        cmocka_unit_test(test_error_measure),
        cmocka_unit_test(test_error_measure_many_channels),
        cmocka_unit_test(test_layer_too_large_to_measure),
        cmocka_unit_test(test_measured_choice_wins),
        cmocka_unit_test(test_unmeasured_shape_uses_the_model),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
