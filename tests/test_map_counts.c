/* The energy model's access counts on layers small enough to count by
 * hand, one per dataflow, with the mapping given explicitly. Each comment
 * derives the numbers the way docs/accelerator.md explains them; the counts
 * are words, per level and data type (ifmap, filter, psum). */
#include <string.h>

#include "map.h"
#include "test_util.h"

/* A machine whose energies make every count visible: the default
 * Eyeriss v1 description with compression and zero skipping off. */
static SpatialArch plain_machine(void)
{
    static const char text[] = "name = plain\npe_rows = 16\npe_cols = 16\nrlc = off\nzero_skip = off\n";
    ArchSet s;
    assert_true(arch_parse("plain.arch", text, strlen(text), &s, stderr));
    return s.base;
}

/* One group, stride 1, no padding: input (P+R-1) x (Q+S-1). */
static MapLayer layer(int64_t n, int64_t m, int64_t c, int64_t p, int64_t q, int64_t r, int64_t s)
{
    MapLayer l = {.name = "small", .op = OP_CONV, .groups = 1,
                  .dim = {n, m, c, p, q, r, s}, .stride = {1, 1}, .dilation = {1, 1},
                  .in_h = p + r - 1, .in_w = q + s - 1};
    return l;
}

typedef struct Expect {
    double dram, buffer, array, rf;
} Expect;

static void check(const LayerCost *c, DataType t, Expect e)
{
    const double got[4] = {c->access[LEVEL_DRAM][t], c->access[LEVEL_BUFFER][t],
                           c->access[LEVEL_ARRAY][t], c->access[LEVEL_RF][t]};
    const double want[4] = {e.dram, e.buffer, e.array, e.rf};
    for (int lv = 0; lv < 4; lv++)
        if (got[lv] != want[lv])
            fail_msg("%s at %s: %.0f accesses, expected %.0f", data_type_name(t),
                     mem_level_name((MemLevel)lv), got[lv], want[lv]);
}

static LayerCost evaluate(const SpatialArch *a, const MapLayer *l, const Mapping *m)
{
    LayerCost c;
    char why[256] = "";
    if (!map_evaluate(a, l, m, &c, why, sizeof why))
        fail_msg("the mapping does not fit: %s", why);
    return c;
}

/* OS_A on a 2x2 output of one channel, 2x2 filter, 3x3 input; PE (p, q)
 * keeps output (p, q) in its RF and runs the 4 taps.
 *   ifmap: DRAM 9 (the input); buffer 9 (each value sent once, then passed
 *          between neighbours); array 16 (one delivery per MAC); RF 16.
 *   filter: each step broadcasts one weight to 4 PEs: buffer 4, array 16.
 *   psum: stays in the RF: RF 2 x (16 MACs - 4 outputs) = 24; 4 written out. */
static void test_os_a(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 2, 2, 2);
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_ROW][DIM_P] = 2;
    m.factor[LOOP_COL][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_R] = 2;
    m.factor[LOOP_RF][DIM_S] = 2;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.macs == 16);
    check(&c, DATA_IFMAP, (Expect){9, 9, 16, 16});
    check(&c, DATA_FILTER, (Expect){4, 4, 16, 16});
    check(&c, DATA_PSUM, (Expect){4, 0, 0, 24});
    assert_int_equal(c.active_pes, 4);
    /* 4 steps on 4 of 256 PEs. */
    assert_true(c.compute_cycles == 4);
    /* Energy: ALU 16 + DRAM (9+4+4)x200 + buffer 13x6 + array 32x2 +
     * RF (16+16+24)x1. */
    assert_true(c.energy_total == 16 + 17 * 200 + 13 * 6 + 32 * 2 + 56);
}

/* WS: 2 filters of 2x2 on a 3x3 input. The rows hold the 4 taps, the
 * columns the 2 filters: 8 PEs, each keeping one weight while the 4 output
 * positions stream past.
 *   filter: DRAM 8, buffer 8, array 8 (each PE gets its weight once), RF 32.
 *   ifmap: each step multicasts the 2x2 window to both filters: buffer
 *          4 x 4 = 16; every MAC gets its operand: array 32, RF 32.
 *   psum: each step reduces 4 taps across the rows: 8 outputs x 3
 *         transfers = 24 in the array; no RF. */
static void test_ws(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 2, 1, 2, 2, 2, 2);
    Mapping m;
    mapping_init(&m, DATAFLOW_WS);
    m.factor[LOOP_ROW][DIM_R] = 2;
    m.factor[LOOP_ROW][DIM_S] = 2;
    m.factor[LOOP_COL][DIM_M] = 2;
    m.factor[LOOP_PE][DIM_P] = 2;
    m.factor[LOOP_PE][DIM_Q] = 2;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.macs == 32);
    check(&c, DATA_FILTER, (Expect){8, 8, 8, 32});
    check(&c, DATA_IFMAP, (Expect){9, 16, 32, 32});
    check(&c, DATA_PSUM, (Expect){8, 0, 24, 0});
}

/* NLR on the same layer and array as WS: no RF, so nothing stays. Weights
 * are single-cast every step: buffer 8 x 4 steps = 32 (WS: 8). */
static void test_nlr(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 2, 1, 2, 2, 2, 2);
    Mapping m;
    mapping_init(&m, DATAFLOW_NLR);
    m.factor[LOOP_ROW][DIM_R] = 2;
    m.factor[LOOP_ROW][DIM_S] = 2;
    m.factor[LOOP_COL][DIM_M] = 2;
    m.factor[LOOP_BUFFER][DIM_P] = 2;
    m.factor[LOOP_BUFFER][DIM_Q] = 2;
    LayerCost c = evaluate(&a, &l, &m);
    check(&c, DATA_FILTER, (Expect){8, 32, 32, 0});
    check(&c, DATA_IFMAP, (Expect){9, 16, 32, 0});
    check(&c, DATA_PSUM, (Expect){8, 0, 24, 0});
}

/* OS_C on an FC layer: 2 images, 3 inputs, 4 outputs. Rows take the 4
 * outputs, columns the 2 images; each PE accumulates its output over the
 * 3 inputs in its RF.
 *   filter: each weight is read once and multicast to both images: 12.
 *   ifmap: 6 values, each sent once and shared along the rows.
 *   psum: RF 2 x (24 - 8) = 32. */
static void test_os_c(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(2, 4, 3, 1, 1, 1, 1);
    l.op = OP_FC;
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_C);
    m.factor[LOOP_ROW][DIM_M] = 4;
    m.factor[LOOP_COL][DIM_N] = 2;
    m.factor[LOOP_RF][DIM_C] = 3;
    LayerCost c = evaluate(&a, &l, &m);
    check(&c, DATA_FILTER, (Expect){12, 12, 24, 24});
    check(&c, DATA_IFMAP, (Expect){6, 6, 24, 24});
    check(&c, DATA_PSUM, (Expect){8, 0, 0, 32});
}

/* OS_B: 2 output channels on the rows, 2 pixels of a 1x2 output on the
 * columns, 1x1 filters over 3 channels accumulated in the RF.
 *   ifmap: 3 channels x 2 pixels = 6 values, each shared by both filters.
 *   filter: one weight per filter per step, shared by both pixels: 6. */
static void test_os_b(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 2, 3, 1, 2, 1, 1);
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_B);
    m.factor[LOOP_ROW][DIM_M] = 2;
    m.factor[LOOP_COL][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_C] = 3;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.macs == 12);
    check(&c, DATA_IFMAP, (Expect){6, 6, 12, 12});
    check(&c, DATA_FILTER, (Expect){6, 6, 12, 12});
    check(&c, DATA_PSUM, (Expect){4, 0, 0, 2 * (12 - 4)});
}

/* RS (Figs. 27-28): a 3x3 filter over a 4x4 input, 2x2 output. A PE set of
 * 3 rows (filter rows) x 2 columns (output rows); each PE slides its filter
 * row along an input row.
 *   filter: 9 weights; each of the 6 PEs receives its row of 3: array 18.
 *   ifmap: 16 values, each read once from the buffer and multicast along a
 *          diagonal; each PE receives a whole input row of 4: array 24.
 *   psum: each PE holds 2 psums (12 in all) for 3 MACs each: RF 2 x
 *         (36 - 12) = 48; up each column 2 transfers per output: array 8. */
static void test_rs(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 2, 3, 3);
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_ROW][DIM_R] = 3;
    m.factor[LOOP_COL][DIM_P] = 2;
    m.factor[LOOP_PE][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_S] = 3;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.macs == 36);
    check(&c, DATA_FILTER, (Expect){9, 9, 18, 36});
    check(&c, DATA_IFMAP, (Expect){16, 16, 24, 36});
    check(&c, DATA_PSUM, (Expect){4, 0, 8, 48});
}

/* Tile sizes need not divide the layer: 5 output rows on 2 PE rows take 3
 * steps (2, 2 and a partial 1); the weight is broadcast once a step. */
static void test_partial_tile(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 5, 1, 1, 1);
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_ROW][DIM_P] = 2;
    LayerCost c = evaluate(&a, &l, &m);
    check(&c, DATA_FILTER, (Expect){1, 3, 5, 5});
    check(&c, DATA_IFMAP, (Expect){5, 5, 5, 5});
    assert_true(c.compute_cycles == 3);
}

/* Padding zeros are neither stored nor moved: a 3x3 input padded by 1 for
 * a 3x3 output of a 3x3 filter is read as its 9 real values. */
static void test_padding_not_moved(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 3, 3, 3, 3);
    l.in_h = l.in_w = 3;
    l.pad_top = l.pad_left = 1;
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_RF][DIM_R] = 3;
    m.factor[LOOP_RF][DIM_S] = 3;
    m.factor[LOOP_ROW][DIM_P] = 3;
    m.factor[LOOP_COL][DIM_Q] = 3;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 9);
}

/* A mapping that does not fit is rejected with the reason. */
static void test_misfits(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 2, 11, 11);
    l.in_h = l.in_w = 12;
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_ROW][DIM_R] = 11;
    m.factor[LOOP_RF][DIM_S] = 11;
    m.factor[LOOP_RF][DIM_C] = 1;
    LayerCost c;
    char why[256] = "";
    a.rf_words[DATA_IFMAP] = 8; /* a window of 11 does not fit */
    assert_false(map_evaluate(&a, &l, &m, &c, why, sizeof why));
    assert_contains(why, "rf.ifmap");
    a.rf_words[DATA_IFMAP] = 12;
    m.factor[LOOP_COL][DIM_P] = 20;
    assert_false(map_evaluate(&a, &l, &m, &c, why, sizeof why));
    assert_contains(why, "PEs");
    m.factor[LOOP_COL][DIM_P] = 1;
    m.factor[LOOP_ROW][DIM_R] = 5; /* RS needs a filter's rows whole on the array */
    assert_false(map_evaluate(&a, &l, &m, &c, why, sizeof why));
    assert_contains(why, "filter rows");
    m.factor[LOOP_ROW][DIM_R] = 11;
    a.buffer_bytes = 64;
    assert_false(map_evaluate(&a, &l, &m, &c, why, sizeof why));
    assert_contains(why, "buffer");
}

/* The search finds a mapping no worse than a hand-made one, and respects
 * the dataflow: WS keeps no ifmap in the RF. */
static void test_search_beats_hand_mapping(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 2, 3, 3);
    MapChoice best;
    char why[256];
    assert_true(map_search(&a, &l, DATAFLOW_RS, &best, why, sizeof why));
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_ROW][DIM_R] = 3;
    m.factor[LOOP_COL][DIM_P] = 2;
    m.factor[LOOP_PE][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_S] = 3;
    LayerCost hand = evaluate(&a, &l, &m);
    assert_true(best.cost.energy_total <= hand.energy_total);
    assert_true(map_search(&a, &l, DATAFLOW_WS, &best, why, sizeof why));
    assert_true(best.cost.access[LEVEL_ARRAY][DATA_IFMAP] == best.cost.macs);
}

/* RLC: three (5-bit run, 16-bit value) pairs per 64-bit word; half zeros
 * cost (1 - 0.5) x 64/3 = 10.67 bits a value; dense data stays raw. */
static void test_rlc_model(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    a.rlc = true;
    double half = rlc_bits_model(&a, 0.5);
    assert_true(half > 10.66 && half < 10.67);
    assert_true(rlc_bits_model(&a, 0) == 16);
    a.rlc = false;
    assert_true(rlc_bits_model(&a, 0.9) == 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_os_a),
        cmocka_unit_test(test_ws),
        cmocka_unit_test(test_nlr),
        cmocka_unit_test(test_os_c),
        cmocka_unit_test(test_os_b),
        cmocka_unit_test(test_rs),
        cmocka_unit_test(test_partial_tile),
        cmocka_unit_test(test_padding_not_moved),
        cmocka_unit_test(test_misfits),
        cmocka_unit_test(test_search_beats_hand_mapping),
        cmocka_unit_test(test_rlc_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
