/* Energy-aware pruning (passes/prune_energy.c, dnnc prune --energy-aware):
 * the allowance of changed samples is kept, checked by running the pruned
 * and the whole network apart; a target density is met exactly; each layer
 * keeps its largest weights; the energy reported is the model's; the
 * errors of the pass and of the command. test_prune_energy_fashion
 * compares it with magnitude pruning on a trained network. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "arch.h"
#include "pipeline.h"
#include "prune.h"
#include "reference.h"
#include "target.h"

static const char net[] = "input x: f32[1, 3, 8, 8];\n"
                          "c1 = conv(x, filters=8, kernel=3, pad=1);\n"
                          "r1 = relu(c1);\n"
                          "c2 = conv(r1, filters=16, kernel=3, pad=1);\n"
                          "r2 = relu(c2);\n"
                          "f = fc(r2, units=10);\n"
                          "output f;\n";

enum { SAMPLES = 64, SAMPLE = 3 * 8 * 8, CLASSES = 10 };

/* What on_choice reported. */
typedef struct Outcome {
    double energy, after, density;
    int64_t changed, samples, layers;
    double layer_after_sum;
} Outcome;

static void record_outcome(void *ctx, const char *layer, double energy, double after, double density,
                           int64_t changed, int64_t samples)
{
    Outcome *o = ctx;
    if (layer) {
        o->layers++;
        o->layer_after_sum += after;
        return;
    }
    *o = (Outcome){energy, after, density, changed, samples, o->layers, o->layer_after_sum};
}

typedef struct Fixture {
    ArchSet arch;
    float *data;
    const float *batches[SAMPLES];
} Fixture;

static Fixture fixture;

static int setup(void **state)
{
    (void)state;
    if (!arch_load("eyeriss", &fixture.arch, stderr))
        return -1;
    fixture.data = malloc(SAMPLES * SAMPLE * sizeof *fixture.data);
    if (!fixture.data)
        return -1;
    uint64_t seed = 11;
    for (int i = 0; i < SAMPLES * SAMPLE; i++)
        fixture.data[i] = (float)(test_uniform01(&seed) * 2 - 1);
    for (int s = 0; s < SAMPLES; s++)
        fixture.batches[s] = fixture.data + s * SAMPLE;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fixture.data);
    return 0;
}

static PruneOptions energy_options(Outcome *o)
{
    return (PruneOptions){.energy_aware = true, .arch = &fixture.arch, .batches = fixture.batches,
                          .n_batches = SAMPLES, .on_choice = record_outcome, .on_choice_ctx = o};
}

static bool prune_with(Graph *g, const PruneOptions *po, char **messages)
{
    PassOptions o = {.target = target_find("reference"), .prune = po};
    return run_pipeline_with(g, &o, messages);
}

/* The network twice with the same random weights, the second pruned as
 * po says. */
static void prune_a_copy(uint64_t seed, const PruneOptions *po, Parsed *whole, Parsed *pruned)
{
    parse_with_random_weights(whole, "net.dnn", net, seed);
    Graph *p = parse_with_random_weights(pruned, "net.dnn", net, seed);
    char *messages = NULL;
    bool ok = prune_with(p, po, &messages);
    if (!ok)
        fail_msg("%s", messages);
    free(messages);
}

static int top_of(const Graph *g, const float *input)
{
    float out[CLASSES];
    char err[256];
    if (!reference_run(g, (const float *const[]){input}, (float *const[]){out}, err, sizeof err))
        fail_msg("reference: %s", err);
    int best = 0;
    for (int i = 1; i < CLASSES; i++)
        if (out[i] > out[best])
            best = i;
    return best;
}

/* The samples whose class differs between the two graphs, by plain runs. */
static int64_t changed_between(const Graph *a, const Graph *b)
{
    int64_t changed = 0;
    for (int s = 0; s < SAMPLES; s++)
        changed += top_of(a, fixture.batches[s]) != top_of(b, fixture.batches[s]);
    return changed;
}

static const Tensor *weights_of(const Graph *g, const char *layer)
{
    const Node *n = &g->nodes[g->tensors[graph_find_tensor(g, layer)].producer];
    return &g->tensors[n->params[0]];
}

static const char *const layers[] = {"c1", "c2", "f"};
#define LAYERS (int)(sizeof layers / sizeof *layers)

/* Every layer kept its largest weights: none zeroed is larger than one
 * kept. Returns the non-zero weights left in all of them. */
static int64_t assert_largest_kept(const Graph *whole, const Graph *pruned)
{
    int64_t nonzero = 0;
    for (int k = 0; k < LAYERS; k++) {
        const Tensor *w = weights_of(whole, layers[k]), *p = weights_of(pruned, layers[k]);
        const float *a = w->data, *b = p->data;
        float smallest_kept = INFINITY, largest_cut = 0;
        for (int64_t i = 0; i < shape_elems(&w->shape); i++) {
            if (b[i] != 0) {
                assert_true(b[i] == a[i]);
                smallest_kept = fminf(smallest_kept, fabsf(a[i]));
                nonzero++;
            } else {
                largest_cut = fmaxf(largest_cut, fabsf(a[i]));
            }
        }
        assert_true(largest_cut <= smallest_kept);
    }
    return nonzero;
}

static double energy_sum(const Graph *g)
{
    double *e = prune_layer_energies(g, &fixture.arch), sum = 0;
    assert_non_null(e);
    for (int i = 0; i < g->n_nodes; i++)
        if (!isnan(e[i]))
            sum += e[i];
    free(e);
    return sum;
}

/* At most 10% of the 64 samples (6) may change class: the pruned network,
 * run apart from the pass, changes exactly as many as reported and no
 * more, some weights went, and the energy reported is the model's. Four
 * weight seeds: on most of them some step breaks the allowance on the
 * network as pruned and must be undone. */
static void test_max_drop_is_kept(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {1, 2, 3, 5};
    for (size_t k = 0; k < sizeof seeds / sizeof *seeds; k++) {
        Parsed whole, pruned;
        Outcome o = {0};
        PruneOptions po = energy_options(&o);
        po.max_drop = 10;
        prune_a_copy(seeds[k], &po, &whole, &pruned);
        const Graph *w = whole.graph, *p = pruned.graph;
        assert_int_equal(o.samples, SAMPLES);
        assert_int_equal(o.layers, LAYERS);
        assert_true(o.changed <= 6);
        assert_int_equal(changed_between(w, p), o.changed);
        int64_t left = assert_largest_kept(w, p);
        int64_t all = 8 * 3 * 9 + 16 * 8 * 9 + 10 * 16 * 64;
        assert_true(left < all);
        assert_true(fabs(o.density - (double)left / (double)all) < 1e-12);
        assert_true(fabs(o.energy - energy_sum(w)) <= 1e-9 * o.energy);
        assert_true(fabs(o.after - energy_sum(p)) <= 1e-9 * o.energy);
        assert_true(fabs(o.after - o.layer_after_sum) <= 1e-9 * o.energy);
        assert_true(o.after < o.energy);
        parsed_free(&whole);
        parsed_free(&pruned);
    }
}

/* With a density, the weights left are exactly that share, whatever the
 * samples that change. */
static void test_density_is_met_exactly(void **state)
{
    (void)state;
    Parsed whole, pruned;
    Outcome o = {0};
    PruneOptions po = energy_options(&o);
    po.density = 0.3;
    prune_a_copy(4, &po, &whole, &pruned);
    const Graph *w = whole.graph, *p = pruned.graph;
    int64_t all = 8 * 3 * 9 + 16 * 8 * 9 + 10 * 16 * 64;
    assert_int_equal(assert_largest_kept(w, p), llround(0.3 * (double)all));
    assert_int_equal(changed_between(w, p), o.changed);
    assert_true(o.after < o.energy);
    parsed_free(&whole);
    parsed_free(&pruned);
}

static void assert_prune_fails(const PruneOptions *po, const char *want)
{
    Parsed pg;
    Graph *g = parse_with_random_weights(&pg, "net.dnn", net, 5);
    char *messages = NULL;
    assert_false(prune_with(g, po, &messages));
    assert_non_null(messages);
    assert_contains(messages, want);
    free(messages);
    parsed_free(&pg);
}

/* A density below every layer's lowest is out of reach; the machine and
 * the data are needed. */
static void test_errors(void **state)
{
    (void)state;
    Outcome o = {0};
    PruneOptions po = energy_options(&o);
    po.density = 0.001;
    assert_prune_fails(&po, "energy-aware pruning: density 0.001 is out of reach");
    po = energy_options(&o);
    po.arch = NULL;
    assert_prune_fails(&po, "energy-aware pruning needs a spatial machine");
    po = energy_options(&o);
    po.n_batches = 0;
    assert_prune_fails(&po, "and calibration data (--calibrate)");
}

static char tmp_dir[256];
static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }
#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

static float sample_value(int64_t i, uint32_t seed)
{
    (void)seed;
    return (float)((i * 7919) % 23) / 11.0f - 1.0f;
}

static void test_command(void **state)
{
    (void)state;
    assert_true(temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-prune-energy"));
    write_text_file(path_in("net.dnn"), net);
    write_f32_npy(path_in("x.npy"), (Shape){4, {16, 3, 8, 8}}, sample_value, 0);
    const char *model = path_in("net.dnn"), *x = path_in("x.npy");
    Run r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--calibrate", x);
    assert_run(&r, 2, NULL, "--energy-aware ranks layers by their energy on a spatial machine: give --arch");
    r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--arch", "eyeriss");
    assert_run(&r, 2, NULL, "--energy-aware measures each layer's pruning on data: give --calibrate FILE");
    r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--structured", "--density", "0.5");
    assert_run(&r, 2, NULL, "--energy-aware chooses each layer's density itself: drop --structured");
    r = run_dnnc("prune", model, "--random-weights", "1", "--density", "0.5", "--max-drop", "2");
    assert_run(&r, 2, NULL, "--max-drop applies to --energy-aware");
    static const char *const bad[] = {"0", "101", "abc", "-1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[120];
        snprintf(want, sizeof want, "--max-drop takes points of agreement in (0, 100], got '%s'", bad[i]);
        r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--max-drop", bad[i]);
        assert_run(&r, 2, NULL, want);
    }
    r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--arch", "eyeriss", "--calibrate", x,
                 "--max-drop", "25");
    assert_non_null(strstr(r.out, "calibration samples changed their top-1 class"));
    assert_run(&r, 0, "net-energy.safetensors", NULL);
    r = run_dnnc("run", path_in("net-energy.dnn"), "--weights", path_in("net-energy.safetensors"), "--input", x);
    assert_run(&r, 0, "ran 16 samples", NULL);
    r = run_dnnc("prune", model, "--random-weights", "1", "--energy-aware", "--arch", "eyeriss", "--calibrate", x,
                 "--density", "0.0001", "-o", path_in("gone.dnn"));
    assert_run(&r, 1, NULL, "density 0.0001 is out of reach");
    assert_null(dir_find_prefix(tmp_dir, "gone"));
    temp_dir_remove(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_drop_is_kept),
        cmocka_unit_test(test_density_is_met_exactly),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
