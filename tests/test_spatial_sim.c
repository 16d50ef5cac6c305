/* The spatial simulator (runtime/spatial) running streams that
 * codegen/spatial makes from mapped layers:
 *   - its outputs are the exact fixed-point sums, requantised as docs/isa.md
 *     says, computed here independently with plain loops;
 *   - its access counts per memory level and data type equal the analytical
 *     model's (passes/map/model.c) for the same mapping, on small layers of
 *     every dataflow and on AlexNet's layers under the mapper's choices.
 * Compression and zero skipping are off in these, except in
 * test_sparse_small_layers: their counts depend on the data, so there the
 * model is given the statistics the program met in the data
 * (sim_data_stats), and then every count compares too. */
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataflow.h"
#include "isa_asm.h"
#include "isa_codec.h"
#include "loopnest.h"
#include "sim.h"
#include "sim_axes.h"
#include "sim_rlc.h"
#include "spatial_codegen.h"
#include "test_util.h"

/* A machine from the Eyeriss values and extra keys; dense (compression
 * and zero skipping off) unless sparse. */
static SpatialArch machine_with(const char *extra, bool sparse)
{
    char text[512];
    snprintf(text, sizeof text, "name = plain\nrlc = %s\nzero_skip = %s\n%s",
             sparse ? "on" : "off", sparse ? "on" : "off", extra);
    ArchSet s;
    assert_true(arch_parse("plain.arch", text, strlen(text), &s, stderr));
    return s.base;
}

static SpatialArch plain_machine(const char *extra) { return machine_with(extra, false); }

static uint64_t rng = 0x9e3779b97f4a7c15u;

static int64_t random_value(int64_t range, double zeros)
{
    if (test_uniform01(&rng) < zeros)
        return 0;
    return (int64_t)floor(test_uniform01(&rng) * (double)(2 * range + 1)) - range;
}

static void fill_random(int64_t *dram, const SpatialLayerPlan *o)
{
    for (uint64_t i = o->ifmap; i < o->filter; i++)
        dram[i] = random_value(3000, 0.3);
    for (uint64_t i = o->filter; i < o->bias; i++)
        dram[i] = random_value(300, 0.6); /* pruned: runs of zeros the coder shortens */
    for (uint64_t i = o->bias; i < o->ofmap; i++)
        dram[i] = random_value(1 << 20, 0);
}

/* The expected output, plainly: y = sat16(rne(acc * 2^-shift)), ReLU. */
static int64_t expected_output(const MapLayer *l, const int64_t *dram, const SpatialLayerPlan *o,
                               int64_t g, int64_t n, int64_t m, int64_t p, int64_t q, int shift,
                               bool relu)
{
    const int64_t *d = l->dim;
    int64_t C = d[DIM_C], R = d[DIM_R], S = d[DIM_S], M = d[DIM_M];
    int64_t acc = dram[o->bias + (uint64_t)(g * M + m)];
    for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t s = 0; s < S; s++) {
                int64_t y = p * l->stride[0] + r * l->dilation[0] - l->pad_top;
                int64_t x = q * l->stride[1] + s * l->dilation[1] - l->pad_left;
                if (y < 0 || y >= l->in_h || x < 0 || x >= l->in_w)
                    continue;
                int64_t in = dram[o->ifmap + (uint64_t)(((n * l->groups + g) * C + c) * l->in_h *
                                                            l->in_w + y * l->in_w + x)];
                int64_t w = dram[o->filter + (uint64_t)((((g * M + m) * C + c) * R + r) * S + s)];
                acc += in * w;
            }
    double v = nearbyint((double)acc * ldexp(1.0, -shift)); /* ties to even */
    v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    return relu && v < 0 ? 0 : (int64_t)v;
}

static void check_outputs(const MapLayer *l, const int64_t *before, const int64_t *after,
                          const SpatialLayerPlan *o, int shift, bool relu)
{
    const int64_t *d = l->dim;
    int64_t k = 0;
    for (int64_t n = 0; n < d[DIM_N]; n++)
        for (int64_t g = 0; g < l->groups; g++)
            for (int64_t m = 0; m < d[DIM_M]; m++)
                for (int64_t p = 0; p < d[DIM_P]; p++)
                    for (int64_t q = 0; q < d[DIM_Q]; q++, k++) {
                        int64_t want = expected_output(l, before, o, g, n, m, p, q, shift, relu);
                        int64_t got = after[o->ofmap + (uint64_t)k];
                        if (got != want)
                            fail_msg("%s: output (%lld, %lld, %lld, %lld) of group %lld is %lld, "
                                     "expected %lld", l->name, (long long)n, (long long)m,
                                     (long long)p, (long long)q, (long long)g, (long long)got,
                                     (long long)want);
                    }
}

/* The layer's counts summed over its groups; word_by_word counts the
 * per-step multicast in a set of word numbers (SimOptions); with stats,
 * also what its transfers and MACs met in the data (read from the DRAM
 * after the run, which holds the input and the outputs as written). */
static SimLayerCounts simulate_with(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                                    bool arithmetic, bool word_by_word, SimDataStats *stats)
{
    IsaProgram p;
    SpatialLayerPlan o;
    char err[512] = "";
    SpatialLayerCode numbers = {.has_bias = true, .frac_in = 8, .frac_w = 10, .frac_out = 7,
                                .relu = true};
    if (!spatial_layer_program(a, l, m, &numbers, &p, &o, err, sizeof err))
        fail_msg("%s: codegen: %s", l->name, err);
    int64_t *dram = calloc(o.words, sizeof *dram), *before = NULL;
    assert_non_null(dram);
    if (arithmetic) {
        fill_random(dram, &o);
        before = malloc(o.words * sizeof *before);
        assert_non_null(before);
        memcpy(before, dram, o.words * sizeof *before);
    }
    SimOptions so = {.count_only = !arithmetic, .word_by_word = word_by_word};
    SimResult r;
    if (!sim_run(&p, dram, &so, &r, err, sizeof err))
        fail_msg("%s under %s: %s", l->name, dataflow_name(m->dataflow), err);
    if (arithmetic)
        check_outputs(l, before, dram, &o, 8 + 10 - 7, true);
    if (stats && !sim_data_stats(&p, dram, stats, err, sizeof err))
        fail_msg("%s: data statistics: %s", l->name, err);
    SimLayerCounts sum;
    sim_layer_total(&r, 0, &sum);
    sim_result_free(&r);
    free(before);
    free(dram);
    isa_program_free(&p);
    return sum;
}

static SimLayerCounts simulate(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                               bool arithmetic)
{
    return simulate_with(a, l, m, arithmetic, false, NULL);
}

static const char *const type_names[] = {"ifmap", "filter", "psum"};

static const char *const level_names[] = {"DRAM", "buffer", "array", "RF"};

/* Every count of the simulation equals the model's; prints every
 * difference before failing, so that one run shows them all. */
static int compare(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                   const SimLayerCounts *s)
{
    LayerCost c;
    char why[256] = "";
    if (!map_evaluate(a, l, m, &c, why, sizeof why))
        fail_msg("%s: the mapping does not fit: %s", l->name, why);
    int bad = 0;
    for (int lv = 0; lv < SIM_MEM_LEVELS; lv++)
        for (int t = 0; t < SIM_TYPES; t++)
            if (fabs(s->access[lv][t] - c.access[lv][t]) > 1e-9 * fmax(1, c.access[lv][t])) {
                print_message("%s %s: %s at %s: simulated %.0f, model %.0f\n", l->name,
                              dataflow_name(m->dataflow), type_names[t], level_names[lv],
                              s->access[lv][t], c.access[lv][t]);
                bad++;
            }
    if (bad) {
        char text[256];
        mapping_format(m, text, sizeof text);
        print_message("  mapping: %s| order dram %s%s%s%s%s%s%s\n", text,
                      dim_name(m->order[LOOP_DRAM][0]), dim_name(m->order[LOOP_DRAM][1]),
                      dim_name(m->order[LOOP_DRAM][2]), dim_name(m->order[LOOP_DRAM][3]),
                      dim_name(m->order[LOOP_DRAM][4]), dim_name(m->order[LOOP_DRAM][5]),
                      dim_name(m->order[LOOP_DRAM][6]));
    }
    if (s->macs != c.macs) {
        print_message("%s: %.0f MACs simulated, model %.0f\n", l->name, s->macs, c.macs);
        bad++;
    }
    if (fabs(s->cycles - c.cycles) > 1e-9 * fmax(1, c.cycles)) {
        print_message("%s %s: %.2f cycles simulated, model %.2f\n", l->name,
                      dataflow_name(m->dataflow), s->cycles, c.cycles);
        bad++;
    }
    if (fabs(s->alu_ops - c.alu_ops) > 1e-9 * fmax(1, c.alu_ops)) {
        print_message("%s %s: %.0f MACs performed, model %.3f\n", l->name,
                      dataflow_name(m->dataflow), s->alu_ops, c.alu_ops);
        bad++;
    }
    return bad;
}

static MapLayer small_layer(int64_t n, int64_t m, int64_t c, int64_t p, int64_t q, int64_t r,
                            int64_t s)
{
    MapLayer l = {.name = "small", .op = OP_CONV, .groups = 1, .dim = {n, m, c, p, q, r, s},
                  .stride = {1, 1}, .dilation = {1, 1}, .in_h = p + r - 1, .in_w = q + s - 1};
    return l;
}

/* The small layers both comparisons run: plain, padded, strided, grouped
 * and an fc layer. */
enum { LAYER_SET = 8 };
static int layer_set(MapLayer out[LAYER_SET])
{
    MapLayer padded = small_layer(1, 6, 5, 7, 6, 3, 2);
    padded.pad_top = padded.pad_left = 1;
    padded.in_h = 7, padded.in_w = 6;
    MapLayer strided = small_layer(1, 4, 3, 4, 4, 3, 3);
    strided.stride[0] = strided.stride[1] = 2;
    strided.in_h = strided.in_w = 11;
    strided.pad_top = strided.pad_left = 1;
    MapLayer grouped = small_layer(1, 2, 2, 4, 4, 3, 3);
    grouped.groups = 2;
    grouped.pad_top = grouped.pad_left = 1;
    grouped.in_h = grouped.in_w = 4;
    /* A stride above the filter's extent (ResNet's 1x1 stride-2 convs): the
     * rows a tile reads have gaps, and `ld` moves the box around them. */
    MapLayer skipping = small_layer(1, 4, 3, 4, 4, 1, 1);
    skipping.stride[0] = skipping.stride[1] = 2;
    skipping.in_h = skipping.in_w = 7;
    MapLayer fc = {.name = "fc", .op = OP_FC, .groups = 1, .dim = {2, 10, 4, 1, 1, 3, 3},
                   .stride = {1, 1}, .dilation = {1, 1}, .in_h = 3, .in_w = 3};
    MapLayer all[LAYER_SET] = {small_layer(1, 1, 1, 2, 2, 2, 2), small_layer(2, 4, 3, 5, 5, 3, 3),
                               small_layer(1, 6, 5, 7, 6, 3, 2), padded, strided, skipping, grouped, fc};
    memcpy(out, all, sizeof all);
    return LAYER_SET;
}

/* The lowest-energy mapping of each dataflow asked for on a layer (all if
 * only is DATAFLOW_AUTO); the simulator must agree with the model on every
 * one and, with arithmetic, compute exact outputs. */
static int dataflows(const SpatialArch *a, const MapLayer *l, Dataflow only, bool arithmetic)
{
    int bad = 0;
    for (int i = 0; i < dataflow_count; i++) {
        if (only != DATAFLOW_AUTO && dataflow_list[i] != only)
            continue;
        MapChoice best;
        char why[256];
        if (!map_search(a, l, dataflow_list[i], &best, why, sizeof why))
            continue;
        SimLayerCounts s = simulate(a, l, &best.mapping, arithmetic);
        bad += compare(a, l, &best.mapping, &s);
    }
    return bad;
}

static void test_small_layers(void **state)
{
    (void)state;
    SpatialArch a = plain_machine("pe_rows = 4\npe_cols = 4\nbuffer = 2 KB\n");
    MapLayer layers[LAYER_SET];
    int bad = 0;
    for (int i = 0; i < layer_set(layers); i++)
        bad += dataflows(&a, &layers[i], DATAFLOW_AUTO, true);
    assert_int_equal(bad, 0);
}

/* With RLC and zero skipping on, the lowest-energy mapping of every
 * dataflow on l, run on random data with zeros (30% of the ifmap, 60% of
 * the weights, and the ReLU's in the output): outputs exact, and every
 * count equal to the model's once the model has the statistics the program
 * met in the data. Returns the differences; *skipped and coded[] say the
 * data did exercise both (MACs gated, ifmap and filter words saved by the
 * coder). */
static int sparse_dataflows(const SpatialArch *a, const MapLayer *layer, double *skipped,
                            double *coded)
{
    int bad = 0;
    for (int i = 0; i < dataflow_count; i++) {
        MapLayer l = *layer;
        MapChoice best;
        char why[256];
        if (!map_search(a, &l, dataflow_list[i], &best, why, sizeof why))
            continue;
        SimDataStats stats; /* the program has one layer */
        SimLayerCounts s = simulate_with(a, &l, &best.mapping, true, false, &stats);
        spatial_measured_layer(&l, &stats, a->word_bits);
        *skipped += s.macs - s.alu_ops;
        coded[0] += stats.ifmap_moved - stats.ifmap_coded;
        coded[1] += stats.filter_moved - stats.filter_coded;
        bad += compare(a, &l, &best.mapping, &s);
    }
    return bad;
}

static void test_sparse_small_layers(void **state)
{
    (void)state;
    SpatialArch a = machine_with("pe_rows = 4\npe_cols = 4\nbuffer = 2 KB\n", true);
    MapLayer layers[LAYER_SET];
    int bad = 0;
    double skipped = 0, coded[2] = {0, 0};
    for (int i = 0; i < layer_set(layers); i++)
        bad += sparse_dataflows(&a, &layers[i], &skipped, coded);
    assert_int_equal(bad, 0);
    assert_true(skipped > 0 && coded[0] > 0 && coded[1] > 0);
}

/* The coder alone: values of both signs, a run longer than the run field
 * counts, zeros at the end, a stream of zeros, the empty stream; pairs as
 * the format says; a value wider than the word is refused. */
static void test_rlc_round_trip(void **state)
{
    (void)state;
    IsaMachine m;
    isa_machine_default(&m);
    int64_t v[64] = {5, 0, 0, -32768, 32767, 0};
    int64_t n = 49; /* 5, 2 zeros, -32768, 32767, 41 zeros (runs of 31 + 1 and 9), -1, 2 zeros */
    v[46] = -1;
    int64_t pairs_want = 4 /* 5, -32768, 32767, then 0 after 31 zeros */ + 1 /* -1 */ + 1;
    SimRlcPair pairs[64];
    int64_t np = -1, back[64];
    char err[256];
    assert_true(sim_rlc_encode(&m, v, n, pairs, &np, err, sizeof err));
    assert_int_equal(np, pairs_want);
    assert_int_equal(pairs[3].run, 31);
    assert_true(sim_rlc_decode(&m, pairs, np, back, n, err, sizeof err));
    assert_memory_equal(back, v, (size_t)n * sizeof *v);
    assert_false(sim_rlc_decode(&m, pairs, np, back, n - 1, err, sizeof err));
    /* 3 pairs a 64-bit word: 6 pairs are 2 words of 64 bits, 8 of 16 bits. */
    assert_true(sim_rlc_words(&m, np, n) == 8);
    int64_t zeros[3] = {0, 0, 0};
    assert_true(sim_rlc_encode(&m, zeros, 3, pairs, &np, err, sizeof err));
    assert_int_equal(np, 1);
    assert_true(sim_rlc_decode(&m, pairs, np, back, 3, err, sizeof err));
    assert_true(back[0] == 0 && back[1] == 0 && back[2] == 0);
    assert_true(sim_rlc_encode(&m, zeros, 0, pairs, &np, err, sizeof err) && np == 0);
    assert_true(sim_rlc_words(&m, 3, 2) == 2); /* never more than the raw words */
    int64_t wide = 40000;
    assert_false(sim_rlc_encode(&m, &wide, 1, pairs, &np, err, sizeof err));
    assert_string_equal(err, "the value 40000 does not fit the RLC value field of 16 bits");
}

/* Whether some level's tile of some dimension leaves a partial last tile
 * (extents nest as docs/accelerator.md says). */
static bool has_partial_tile(const MapLayer *l, const Mapping *m)
{
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t ext = 1;
        for (int lv = LOOP_RF; lv < LOOP_DRAM; lv++) {
            ext = ext * m->factor[lv][d] < l->dim[d] ? ext * m->factor[lv][d] : l->dim[d];
            if (l->dim[d] % ext)
                return true;
        }
    }
    return false;
}

/* Two runs' counts, every field, exactly: the per-dimension count is the
 * same arithmetic on the same integers, so no tolerance. */
static int counts_differ(const MapLayer *l, const Mapping *m, const char *what,
                         const SimLayerCounts *x, const SimLayerCounts *y)
{
    int bad = 0;
    for (int lv = 0; lv < SIM_MEM_LEVELS; lv++)
        for (int t = 0; t < SIM_TYPES; t++)
            if (x->access[lv][t] != y->access[lv][t]) {
                print_message("%s %s %s: %s at %s: %.0f against %.0f word by word\n", l->name,
                              dataflow_name(m->dataflow), what, type_names[t], level_names[lv],
                              x->access[lv][t], y->access[lv][t]);
                bad++;
            }
    if (x->macs != y->macs || x->alu_ops != y->alu_ops || x->steps != y->steps ||
        x->cycles != y->cycles || x->energy != y->energy || x->active_pes != y->active_pes ||
        x->passes != y->passes) {
        print_message("%s %s %s: MACs, steps, cycles, energy or PEs differ\n", l->name,
                      dataflow_name(m->dataflow), what);
        bad++;
    }
    return bad;
}

/* A random small layer: strides, dilation, padding, groups; NULL name when
 * the input it implies is empty. */
static MapLayer random_layer(uint64_t *state)
{
#define PICK(lo, hi) ((lo) + (int64_t)(test_uniform01(state) * (double)((hi) - (lo) + 1)))
    MapLayer l = small_layer(PICK(1, 2), PICK(1, 7), PICK(1, 5), PICK(1, 7), PICK(1, 6), PICK(1, 4),
                             PICK(1, 3));
    l.stride[0] = PICK(1, 3);
    l.stride[1] = PICK(1, 2);
    l.dilation[0] = PICK(1, 4) == 4 ? 2 : 1;
    l.pad_top = PICK(0, 2);
    l.pad_left = PICK(0, 1);
    l.groups = PICK(1, 3) == 3 ? 2 : 1;
#undef PICK
    l.in_h = (l.dim[DIM_P] - 1) * l.stride[0] + (l.dim[DIM_R] - 1) * l.dilation[0] + 1 - 2 * l.pad_top;
    l.in_w = (l.dim[DIM_Q] - 1) * l.stride[1] + l.dim[DIM_S] - 2 * l.pad_left;
    if (l.in_h < 1 || l.in_w < 1)
        l.name = NULL;
    return l;
}

/* The per-dimension count of the per-step multicast (sim_axes.c) against
 * the word-by-word count, on random small layers under every dataflow on
 * small arrays: counting only (no PE's own tile is built for a dataflow
 * whose scratchpads keep nothing) and with the arithmetic (every PE's
 * tile, outputs checked) must give the oracle's counts exactly. */
static void test_axes_against_word_by_word(void **state)
{
    (void)state;
    static const char *const machines[] = {
        "pe_rows = 4\npe_cols = 4\nbuffer = 2 KB\n",
        "pe_rows = 3\npe_cols = 5\nbuffer = 1 KB\n",
        "pe_rows = 6\npe_cols = 2\nbuffer = 4 KB\n",
    };
    uint64_t seed = 7;
    int runs = 0, partial = 0, strided = 0, padded = 0, grouped = 0, bad = 0;
    for (int i = 0; i < 60; i++) {
        SpatialArch a = plain_machine(machines[i % 3]);
        MapLayer l = random_layer(&seed);
        if (!l.name)
            continue;
        for (int k = 0; k < dataflow_count; k++) {
            MapChoice best;
            char why[256];
            if (!map_search(&a, &l, dataflow_list[k], &best, why, sizeof why))
                continue;
            const Mapping *m = &best.mapping;
            SimLayerCounts words = simulate_with(&a, &l, m, false, true, NULL);
            SimLayerCounts axes = simulate_with(&a, &l, m, false, false, NULL);
            SimLayerCounts arithmetic = simulate_with(&a, &l, m, true, false, NULL);
            bad += counts_differ(&l, m, "counting only", &axes, &words);
            bad += counts_differ(&l, m, "with arithmetic", &arithmetic, &words);
            runs++;
            partial += has_partial_tile(&l, m);
            strided += l.stride[0] > 1 || l.stride[1] > 1;
            padded += l.pad_top > 0 || l.pad_left > 0;
            grouped += l.groups > 1;
        }
    }
    print_message("%d mappings (%d with partial tiles, %d strided, %d padded, %d grouped): "
                  "%d counts differ\n", runs, partial, strided, padded, grouped, bad);
    assert_int_equal(bad, 0);
    assert_true(runs >= 150 && partial >= 30 && strided >= 30 && padded >= 30 && grouped >= 20);
}

/* A random layer's registers as the simulator derives them: every
 * dimension split over the RF, PE, column, row and buffer loops (at most
 * 64 PEs), any stride, dilation and padding. */
static SimLayer random_registers(uint64_t *state)
{
#define PICK(lo, hi) ((lo) + (int64_t)(test_uniform01(state) * (double)((hi) - (lo) + 1)))
    SimLayer l = {0};
    static const int64_t most[SIM_DIMS] = {2, 4, 3, 6, 5, 4, 3};
    for (int d = 0; d < SIM_DIMS; d++) {
        l.dim[d] = PICK(1, most[d]);
        for (int lv = 0; lv < SIM_LEVELS; lv++)
            l.bound[lv][d] = 1;
    }
    int64_t pes = 1;
    for (int k = 0; k < 4; k++) { /* a few dimensions spread over the array */
        int d = (int)PICK(0, SIM_DIMS - 1), lv = (int)PICK(SIM_COL, SIM_ROW);
        int64_t b = PICK(2, 4);
        if (pes / l.bound[lv][d] * b <= 64) {
            pes = pes / l.bound[lv][d] * b;
            l.bound[lv][d] = b;
        }
    }
    for (int d = 0; d < SIM_DIMS; d++) {
        l.bound[SIM_RF][d] = PICK(1, 2);
        l.bound[SIM_PE][d] = PICK(1, 2);
        int64_t e = 1;
        for (int lv = 0; lv < SIM_LEVELS; lv++) {
            e = e * l.bound[lv][d] < l.dim[d] ? e * l.bound[lv][d] : l.dim[d];
            l.ext[lv][d] = e;
        }
    }
    for (int axis = 0; axis < 2; axis++) {
        l.stride[axis] = PICK(1, 3);
        l.dil[axis] = PICK(1, 2);
        l.pad[axis] = PICK(0, 2);
    }
#undef PICK
    l.in_h = (l.dim[SIM_P] - 1) * l.stride[0] + (l.dim[SIM_R] - 1) * l.dil[0] + 1 - 2 * l.pad[0];
    l.in_w = (l.dim[SIM_Q] - 1) * l.stride[1] + (l.dim[SIM_S] - 1) * l.dil[1] + 1 - 2 * l.pad[1];
    l.in_h = l.in_h < 1 ? 1 : l.in_h;
    l.in_w = l.in_w < 1 ? 1 : l.in_w;
    return l;
}

/* The word of type t at point v, -1 in the padding (a brute-force copy of
 * what a PE reads: no reuse of the simulator's own numbering). */
static int64_t point_word(const SimLayer *l, int t, const int64_t *v)
{
    if (t == SIM_FILTER)
        return ((v[SIM_M] * l->dim[SIM_C] + v[SIM_C]) * l->dim[SIM_R] + v[SIM_R]) * l->dim[SIM_S] +
               v[SIM_S];
    if (t == SIM_PSUM)
        return ((v[SIM_N] * l->dim[SIM_M] + v[SIM_M]) * l->dim[SIM_P] + v[SIM_P]) * l->dim[SIM_Q] +
               v[SIM_Q];
    int64_t y = v[SIM_P] * l->stride[0] + v[SIM_R] * l->dil[0] - l->pad[0];
    int64_t x = v[SIM_Q] * l->stride[1] + v[SIM_S] * l->dil[1] - l->pad[1];
    if (y < 0 || y >= l->in_h || x < 0 || x >= l->in_w)
        return -1;
    return ((v[SIM_N] * l->dim[SIM_C] + v[SIM_C]) * l->in_h + y) * l->in_w + x;
}

/* One array tile and PE-loop iteration enumerated PE by PE and step by
 * step: the deliveries and distinct words of each type, the PEs at work
 * and their MACs. */
static void brute_steps(const SimLayer *l, const int64_t a[SIM_DIMS], const int64_t ea[SIM_DIMS],
                        const int64_t idx[SIM_DIMS], double deliveries[SIM_TYPES],
                        double distinct[SIM_TYPES], double *active, double *macs)
{
    int64_t rows = 1, cols = 1, ro[64][SIM_DIMS], re[64][SIM_DIMS], rmax[SIM_DIMS] = {0};
    for (int d = 0; d < SIM_DIMS; d++) {
        rows *= l->bound[SIM_ROW][d];
        cols *= l->bound[SIM_COL][d];
    }
    assert_true(rows * cols <= 64);
    *active = *macs = 0;
    for (int64_t p = 0; p < rows * cols; p++) {
        int64_t row = p / cols, col = p % cols, m = 1;
        for (int d = SIM_DIMS - 1; d >= 0; d--) {
            int64_t o = a[d] + row % l->bound[SIM_ROW][d] * l->ext[SIM_COL][d] +
                        col % l->bound[SIM_COL][d] * l->ext[SIM_PE][d];
            row /= l->bound[SIM_ROW][d];
            col /= l->bound[SIM_COL][d];
            int64_t e = l->ext[SIM_PE][d] < a[d] + ea[d] - o ? l->ext[SIM_PE][d] : a[d] + ea[d] - o;
            ro[p][d] = o + idx[d] * l->ext[SIM_RF][d];
            re[p][d] = l->ext[SIM_RF][d] < o + e - ro[p][d] ? l->ext[SIM_RF][d] : o + e - ro[p][d];
            re[p][d] = e <= 0 || re[p][d] < 0 ? 0 : re[p][d];
            m *= re[p][d];
        }
        for (int d = 0; d < SIM_DIMS && m; d++)
            rmax[d] = re[p][d] > rmax[d] ? re[p][d] : rmax[d];
        *active += m > 0;
        *macs += (double)m;
    }
    for (int t = 0; t < SIM_TYPES; t++)
        deliveries[t] = distinct[t] = 0;
    int64_t rel[SIM_DIMS] = {0}, words[64];
    for (bool more = rmax[0] > 0; more;) {
        for (int t = 0; t < SIM_TYPES; t++) {
            int n = 0;
            for (int64_t p = 0; p < rows * cols; p++) {
                int64_t v[SIM_DIMS];
                bool in = true;
                for (int d = 0; d < SIM_DIMS; d++) {
                    in = in && rel[d] < re[p][d];
                    v[d] = ro[p][d] + rel[d];
                }
                int64_t w = in ? point_word(l, t, v) : -1;
                bool seen = w < 0;
                for (int k = 0; k < n && !seen; k++)
                    seen = words[k] == w;
                deliveries[t] += w >= 0;
                if (!seen)
                    words[n++] = w;
            }
            distinct[t] += n;
        }
        more = false;
        for (int d = SIM_DIMS - 1; d >= 0 && !more; d--) {
            more = ++rel[d] < rmax[d];
            if (!more)
                rel[d] = 0;
        }
    }
}

/* sim_axes against the PEs and steps enumerated one by one, on random
 * registers, array tiles (partial ones at the layer's edges) and PE-loop
 * iterations: every count exactly. */
static void test_axes_against_enumeration(void **state)
{
    (void)state;
    uint64_t seed = 11;
    int checked = 0, shared = 0;
    for (int trial = 0; trial < 3000; trial++) {
        SimLayer l = random_registers(&seed);
        int64_t a[SIM_DIMS], ea[SIM_DIMS], idx[SIM_DIMS];
        for (int d = 0; d < SIM_DIMS; d++) {
            int64_t tiles = (l.dim[d] + l.ext[SIM_ROW][d] - 1) / l.ext[SIM_ROW][d];
            a[d] = (int64_t)(test_uniform01(&seed) * (double)tiles) * l.ext[SIM_ROW][d];
            ea[d] = l.ext[SIM_ROW][d] < l.dim[d] - a[d] ? l.ext[SIM_ROW][d] : l.dim[d] - a[d];
            int64_t within = l.ext[SIM_PE][d] < ea[d] ? l.ext[SIM_PE][d] : ea[d];
            idx[d] = (int64_t)(test_uniform01(&seed) *
                               (double)((within + l.ext[SIM_RF][d] - 1) / l.ext[SIM_RF][d]));
        }
        double want_k[SIM_TYPES], want_u[SIM_TYPES], want_active, want_macs;
        brute_steps(&l, a, ea, idx, want_k, want_u, &want_active, &want_macs);
        SimPeAxes ax;
        assert_true(sim_axes_init(&ax, &l));
        int64_t rmax[SIM_DIMS];
        sim_axes_place(&ax, &l, a, ea);
        sim_axes_scratchpad(&ax, &l, idx, rmax);
        double active, macs;
        sim_axes_work(&ax, &active, &macs);
        assert_true(active == want_active && macs == want_macs);
        for (int t = 0; t < SIM_TYPES; t++) {
            double k, u;
            sim_axes_step_words(&ax, &l, (SimType)t, rmax, &k, &u);
            if (k != want_k[t] || u != want_u[t])
                fail_msg("trial %d, %s: %.0f deliveries and %.0f words, enumerated %.0f and %.0f",
                         trial, type_names[t], k, u, want_k[t], want_u[t]);
            shared += u < k;
        }
        sim_axes_free(&ax);
        checked++;
    }
    print_message("%d array tiles: every count equal, %d with words shared by PEs\n", checked,
                  shared);
    assert_true(shared > 1000);
}

/* m filters of c channels, 3 x 3, on a size x size input padded to give
 * a size x size output. */
static MapLayer same_padded_layer(int64_t m, int64_t c, int64_t size)
{
    MapLayer l = small_layer(1, m, c, size, size, 3, 3);
    l.pad_top = l.pad_left = 1;
    l.in_h = l.in_w = size;
    return l;
}

/* A window that starts over keeps what its last tile shares with the next
 * sweep's first (VGG-16's conv3_1 and conv4_1 under OS_A, where the model
 * had counted 0.45% more DRAM ifmap words than the simulator moved). A
 * padded 4 x 4 input, 3 x 3 filters, 2 filters, under OS_A with 2 x 2 PEs
 * a tile of output pixels; DRAM walks P, then Q, then M innermost (the
 * ifmap stays while M walks). Tiles (input rows x columns): (0-2, 0-2) 9
 * words; (0-2, 1-3) 3 new; the sweep over Q starts over at (1-3, 0-2),
 * whose rows 1-2 x columns 1-2 the buffer still holds: 5 new; (1-3, 1-3)
 * 3 new. 20 words, where each sweep's union counted alone makes 24. */
static void test_window_restart(void **state)
{
    (void)state;
    SpatialArch a = plain_machine("pe_rows = 4\npe_cols = 4\nbuffer = 2 KB\n");
    MapLayer l = same_padded_layer(2, 1, 4);
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_RF][DIM_R] = m.factor[LOOP_RF][DIM_S] = 3;
    m.factor[LOOP_ROW][DIM_P] = m.factor[LOOP_COL][DIM_Q] = 2;
    m.factor[LOOP_DRAM][DIM_M] = m.factor[LOOP_DRAM][DIM_P] = m.factor[LOOP_DRAM][DIM_Q] = 2;
    static const Dim order[DIM_COUNT] = {DIM_N, DIM_C, DIM_P, DIM_Q, DIM_R, DIM_S, DIM_M};
    memcpy(m.order[LOOP_DRAM], order, sizeof order);
    SimLayerCounts s = simulate(&a, &l, &m, true);
    assert_true(s.access[SIM_LEVEL_DRAM][SIM_IFMAP] == 20);
    assert_int_equal(compare(&a, &l, &m, &s), 0);
}

/* The committed seed of the simulator's fuzz target: a small padded conv
 * with bias and ReLU under RS, as the code generator writes it. The text in
 * the tree must be what the generator writes today (DNNC_SIM_WRITE_SEEDS=1
 * rewrites it), and it must assemble, run and give the model's counts. */
static void test_seed_program(void **state)
{
    (void)state;
    SpatialArch a = plain_machine("pe_rows = 4\npe_cols = 4\nbuffer = 2 KB\n");
    MapLayer l = same_padded_layer(4, 3, 6);
    MapChoice best;
    char why[256];
    assert_true(map_search(&a, &l, DATAFLOW_RS, &best, why, sizeof why));
    IsaProgram p;
    SpatialLayerPlan plan;
    SpatialLayerCode numbers = {.has_bias = true, .frac_in = 8, .frac_w = 10, .frac_out = 7,
                                .relu = true};
    assert_true(spatial_layer_program(&a, &l, &best.mapping, &numbers, &p, &plan, why, sizeof why));
    char *text = isa_program_text(&p);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/isa/sim_layer.s", DNNC_SOURCE_DIR);
    if (getenv("DNNC_SIM_WRITE_SEEDS"))
        write_text_file(path, text);
    size_t committed_len;
    char *committed = read_file_or_fail(path, &committed_len);
    assert_string_equal(committed, text);
    IsaProgram q;
    assert_true(isa_asm_parse(path, committed, committed_len, &q, stderr));
    int64_t *dram = calloc(q.dram_words, sizeof *dram);
    assert_non_null(dram);
    SimResult r;
    char err[512];
    if (!sim_run(&q, dram, &(SimOptions){.count_only = true}, &r, err, sizeof err))
        fail_msg("the seed does not run: %s", err);
    SimLayerCounts sum;
    sim_layer_total(&r, 0, &sum);
    assert_int_equal(compare(&a, &l, &best.mapping, &sum), 0);
    sim_result_free(&r);
    free(dram);
    free(text);
    free(committed);
    isa_program_free(&p);
    isa_program_free(&q);
}

/* sim_rows_hit against the pairs enumerated: every stride, dilation,
 * padding and window up to a few rows. */
static void test_rows_hit(void **state)
{
    (void)state;
    for (int64_t u = 1; u <= 4; u++)
        for (int64_t d = 1; d <= 4; d++)
            for (int64_t no = 1; no <= 4; no++)
                for (int64_t nt = 1; nt <= 4; nt++)
                    for (int64_t o = 0; o <= 2; o++)
                        for (int64_t pad = 0; pad <= 2; pad++) {
                            int64_t t = 1, lo = 0, hi = 20;
                            bool hit[64] = {false};
                            int64_t want = 0;
                            for (int64_t j = 0; j < no; j++)
                                for (int64_t k = 0; k < nt; k++) {
                                    int64_t r = (o + j) * u + (t + k) * d - pad;
                                    if (r >= lo && r <= hi && !hit[r]) {
                                        hit[r] = true;
                                        want++;
                                    }
                                }
                            assert_int_equal(sim_rows_hit(o, no, t, nt, u, d, pad, lo, hi), want);
                        }
}

/* Every conv and fc layer of an example network at a batch size, under
 * the lowest-energy mapping of the dataflow asked for (every one for
 * DATAFLOW_AUTO) on Eyeriss v1 with compression and zero skipping off:
 * counts only. */
static void network_counts(const char *file, int64_t batch, Dataflow only)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, file);
    Parsed parsed;
    parse_file(&parsed, path);
    if (!parsed.graph)
        fail_msg("%s:\n%s", file, parsed.messages);
    SpatialArch a = plain_machine("");
    int bad = 0, layers = 0;
    for (int i = 0; i < parsed.graph->n_nodes; i++) {
        MapLayer l;
        if (!map_layer_from_node(parsed.graph, &parsed.graph->nodes[i], batch, &l))
            continue;
        /* The simulator moves the machine's 16-bit words: the float layers'
         * shapes are compared at that precision (--float-as word). */
        memset(&l.precision, 0, sizeof l.precision);
        bad += dataflows(&a, &l, only, false);
        layers++;
    }
    print_message("%s, batch %lld, %s: %d layers, %d counts differ\n", file, (long long)batch,
                  only == DATAFLOW_AUTO ? "every dataflow" : dataflow_name(only), layers, bad);
    parsed_free(&parsed);
    assert_int_equal(bad, 0);
}

/* Row stationary, the dataflow the mapper picks for most layers, on every
 * AlexNet layer at batch 1 and at the survey's batch of 4 (Table V). */
static void test_alexnet_rs(void **state)
{
    (void)state;
    network_counts("alexnet.dnn", 1, DATAFLOW_RS);
    network_counts("alexnet.dnn", 4, DATAFLOW_RS);
}

/* The wider comparison (the sweep test: minutes, so a separate ctest
 * label; tools/run-tests.sh says it does not run it): every dataflow on
 * every AlexNet layer at batch 1 and 4 and on every VGG-16 layer at batch
 * 1, and VGG-16 at the survey's batch of 3 (Table V) under row stationary.
 * docs/accelerator.md gives the times. */
static void test_sweep(void **state)
{
    (void)state;
    network_counts("alexnet.dnn", 1, DATAFLOW_AUTO);
    network_counts("alexnet.dnn", 4, DATAFLOW_AUTO);
    network_counts("vgg16.dnn", 1, DATAFLOW_AUTO);
    network_counts("vgg16.dnn", 3, DATAFLOW_RS);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_layers),
        cmocka_unit_test(test_sparse_small_layers),
        cmocka_unit_test(test_rlc_round_trip),
        cmocka_unit_test(test_axes_against_word_by_word),
        cmocka_unit_test(test_axes_against_enumeration),
        cmocka_unit_test(test_window_restart),
        cmocka_unit_test(test_rows_hit),
        cmocka_unit_test(test_seed_program),
        cmocka_unit_test(test_alexnet_rs),
    };
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_sweep),
    };
    if (argc > 1 && strcmp(argv[1], "--sweep") == 0)
        return cmocka_run_group_tests(sweep, NULL, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
