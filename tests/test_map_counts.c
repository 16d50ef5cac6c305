/* The energy model's access counts on layers small enough to count by
 * hand, one per dataflow, with the mapping given explicitly. Each comment
 * derives the numbers the way docs/accelerator.md explains them; the counts
 * are words, per level and data type (ifmap, filter, psum). The last tests
 * cost such a layer at the precisions of the IR's types: bits per value,
 * energy in proportion to the bits, MAC energies from the survey, capacities
 * in bits, the machine's `precisions`. */
#include <math.h>
#include <string.h>

#include "map.h"
#include "sparsity.h"
#include "test_util.h"

/* A machine whose energies make every count visible: the default
 * Eyeriss v1 description with compression and zero skipping off. */
static SpatialArch plain_machine_with(const char *extra)
{
    char text[512];
    snprintf(text, sizeof text, "name = plain\npe_rows = 16\npe_cols = 16\nrlc = off\nzero_skip = off\n%s",
             extra);
    ArchSet s;
    assert_true(arch_parse("plain.arch", text, strlen(text), &s, stderr));
    return s.base;
}

static SpatialArch plain_machine(void) { return plain_machine_with(""); }

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
static Mapping os_a_mapping(void)
{
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_ROW][DIM_P] = 2;
    m.factor[LOOP_COL][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_R] = 2;
    m.factor[LOOP_RF][DIM_S] = 2;
    return m;
}

static void test_os_a(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 2, 2, 2);
    Mapping m = os_a_mapping();
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
    /* Each PE holds one output and runs the 9 taps; a tap on padding gets
     * no operand. Along each axis output 0 reads 2 real rows (taps 1, 2),
     * output 1 reads 3, output 2 reads 2: 7 of 9, so 7 x 7 = 49 of the 81
     * MACs get an ifmap over the array (each PE's edge tiles clipped on
     * their own, not the whole layer's padding spread over every tile). */
    assert_true(c.access[LEVEL_ARRAY][DATA_IFMAP] == 49);
    assert_true(c.access[LEVEL_RF][DATA_IFMAP] == 81);
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

/* The loop orders of the buffer and DRAM levels, outer to inner (the other
 * dimensions, bound 1 there, follow). */
static void set_order(Mapping *m, LoopLevel lv, const Dim *dims, int n)
{
    int k = 0;
    unsigned used = 0;
    for (int i = 0; i < n; i++) {
        m->order[lv][k++] = dims[i];
        used |= DIM_BIT(dims[i]);
    }
    for (int d = 0; d < DIM_COUNT; d++)
        if (!(used & DIM_BIT(d)))
            m->order[lv][k++] = (Dim)d;
}

/* DRAM-level tiling under RS: the buffer holds half the filters and half
 * the output rows, so the DRAM loops walk 2 filter tiles (M) x 2 row tiles
 * (P), and whichever of ifmap and filters is not stationary at the DRAM
 * level is fetched again for every tile of the other.
 *
 * Layer: 4 filters of 2 channels x 3 x 3 on a 6 x 6 input, 4 x 4 output;
 * ifmap 2 x 6 x 6 = 72 words, filters 4 x 2 x 9 = 72, outputs 4 x 16 = 64,
 * MACs 4 x 16 x 18 = 1,152.
 * Mapping: rf S3 (a filter row), pe Q4 (the row streamed), cols P2 (two
 * output rows), rows R3 (the PE set of Figs. 27-28); buffer M2 C2, outer to
 * inner (each step one filter and one channel); DRAM the rest, M2 P2.
 * Buffer tile: 2 filters, 2 channels, 2 output rows = 4 input rows.
 *
 * DRAM, order M then P (M outer):
 *   filter  the P loop inside does not index filters: each filter tile is
 *           fetched once, 72
 *   ifmap   re-fetched for each of the 2 filter tiles; within a sweep over
 *           P the tiles (input rows 0-3, then 2-5) share rows 2-3, which
 *           stay: 6 rows x 6 x 2 channels = 72 a sweep; when the second
 *           sweep starts, the buffer still holds rows 2-5, and rows 2-3
 *           of its first tile stay too (2 x 6 x 2 = 24): 144 - 24 = 120
 *   psum    every output complete in its tile (C, R, S inside): 64 written
 * DRAM, order P then M (P outer): the other way round: the ifmap tile stays
 *   while M walks inside (72, with the same sliding window), the filters
 *   are fetched again for each of the 2 row tiles (144).
 * Buffer (reads to the array), 4 DRAM tiles x 4 steps = 16 steps:
 *   filter  9 weights a step (3 rows multicast along the PE rows): 144
 *   ifmap   4 input rows of 6 of one channel a step, multicast along the
 *           diagonals: 24 a step, 384 (no RF keeps them across steps)
 *   psum    the C loop spills each output once after channel 0 and reads
 *           it back: 2 x 64 = 128
 * Array (words delivered into PEs), per step:
 *   filter  6 PEs x a row of 3 = 18, 288
 *   ifmap   6 PEs x an input row of 6 (a window of 3 sliding over it) =
 *           36, 576
 *   psum    each of the 2 columns passes 4 psums up twice: 16, 256
 * RF: ifmap and filter 1,152 reads (one per MAC), psum 2 x (1,152 - 384)
 *   = 1,536, a PE's 4 psums filled 16 times (x 6 PEs) = 384. */
static Mapping rs_dram_tiled(void)
{
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_RF][DIM_S] = 3;
    m.factor[LOOP_PE][DIM_Q] = 4;
    m.factor[LOOP_COL][DIM_P] = 2;
    m.factor[LOOP_ROW][DIM_R] = 3;
    m.factor[LOOP_BUFFER][DIM_M] = 2;
    m.factor[LOOP_BUFFER][DIM_C] = 2;
    m.factor[LOOP_DRAM][DIM_M] = 2;
    m.factor[LOOP_DRAM][DIM_P] = 2;
    set_order(&m, LOOP_BUFFER, (const Dim[]){DIM_M, DIM_C}, 2);
    return m;
}

static void test_dram_tiles_refetch(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 4, 2, 4, 4, 3, 3);
    Mapping m = rs_dram_tiled();
    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_M, DIM_P}, 2);
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.macs == 1152);
    check(&c, DATA_IFMAP, (Expect){120, 384, 576, 1152});
    check(&c, DATA_FILTER, (Expect){72, 144, 288, 1152});
    check(&c, DATA_PSUM, (Expect){64, 128, 256, 1536});

    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_P, DIM_M}, 2);
    c = evaluate(&a, &l, &m);
    check(&c, DATA_IFMAP, (Expect){72, 384, 576, 1152});
    check(&c, DATA_FILTER, (Expect){144, 144, 288, 1152});
    check(&c, DATA_PSUM, (Expect){64, 128, 256, 1536});
}

/* The sliding window needs consecutive tiles: with 2 images and the DRAM
 * loops M, P, N (N innermost), the tile after rows 0-3 of image 0 is rows
 * 0-3 of image 1, and rows 2-3 of image 0 are gone by the time rows 2-5
 * are needed. ifmap: 2 filter tiles x 2 images x 2 channels x (4 + 4 rows)
 * x 6 = 384; in the order N, M, P each sweep keeps them: 2 x 2 x 2 x 6 x 6
 * = 288, less rows 2-3 kept when the sweep starts over for the second
 * filter tile of an image (2 x 2 x 6 x 2 = 48): 240. The filter tile stays
 * while P and N walk: 72 either way. */
static void test_dram_halo_refetch(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(2, 4, 2, 4, 4, 3, 3);
    Mapping m = rs_dram_tiled();
    m.factor[LOOP_DRAM][DIM_N] = 2;
    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_M, DIM_P, DIM_N}, 3);
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 384);
    assert_true(c.access[LEVEL_DRAM][DATA_FILTER] == 72);
    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_N, DIM_M, DIM_P}, 3);
    c = evaluate(&a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 240);
    assert_true(c.access[LEVEL_DRAM][DATA_FILTER] == 144);
}

/* A strided layer's taps do not slide: one output column, 2 output rows
 * at stride 2 with 3 filter rows, read a 5-row input. With the buffer
 * holding both outputs and one filter row at a time, the three DRAM tiles
 * read rows {0, 2}, {1, 3} and {2, 4}: consecutive tiles share nothing.
 * `ld` moves each as a box of rows, 0-2, 1-3 and 2-4: 9 rows in all, not
 * the 5 of the input (nor the 6 read). */
static void test_strided_taps_no_window(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 1, 1, 2, 1, 3, 1);
    l.stride[0] = 2;
    l.in_h = 5;
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_ROW][DIM_P] = 2;
    m.factor[LOOP_DRAM][DIM_R] = 3;
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 9);
    /* Without the stride the tiles {0, 1}, {1, 2}, {2, 3} do slide: 4. */
    l.stride[0] = 1;
    l.in_h = 4;
    c = evaluate(&a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 4);
}

/* RLC and zero skipping (survey VII-B1) on a layer whose zeros are known:
 * 2 filters of 2 channels x 1 x 1 on a 2 x 2 input, 16 MACs, under OS_A
 * (rows P2, cols Q2: a PE per output pixel; rf C2: the channels accumulate
 * in the PE; buffer M2: one filter after the other).
 * Uncompressed: ifmap DRAM 8, buffer 16 (the 8 values sent once per filter:
 * the PEs keep only psums), array and RF 16 (one per MAC); filter DRAM 4,
 * buffer 4 (each weight broadcast once to the 4 PEs), array and RF 16;
 * psum: 8 outputs written, RF 2 x (16 MACs - 8 outputs) = 16.
 *
 * ifmap, channel by channel, row by row: 0 0 0 0 | 0 0 0 9, 7 zeros of 8.
 *   RLC: one (run 7, value 9) pair, in one 64-bit word: 64 bits for the 8
 *   values, 8 bits a value: DRAM 8 x 8 / 16 = 4 words (raw: 8).
 * output after ReLU: only pixel (1, 1) is non-zero in each map:
 *   0 0 0 a | 0 0 0 b: 2 pairs, one word: DRAM 4 words (raw: 8).
 * filters and psum spills are not compressed: filters 4.
 * Zero skipping: a zero ifmap gates the MAC, the filter read and the psum
 *   update; 7/8 of the ifmaps are zero (each read by both filters, once):
 *   ALU 16 -> 2, filter RF reads 16 -> 2, psum RF 2 x (16 - 8) = 16 -> 2.
 *   The ifmap itself is still read: RF 16. Nothing else changes. */
static void test_rlc_and_zero_skip(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = layer(1, 2, 2, 2, 2, 1, 1);
    Mapping m;
    mapping_init(&m, DATAFLOW_OS_A);
    m.factor[LOOP_ROW][DIM_P] = 2;
    m.factor[LOOP_COL][DIM_Q] = 2;
    m.factor[LOOP_RF][DIM_C] = 2;
    m.factor[LOOP_BUFFER][DIM_M] = 2;
    LayerCost raw = evaluate(&a, &l, &m);
    check(&raw, DATA_IFMAP, (Expect){8, 16, 16, 16});
    check(&raw, DATA_FILTER, (Expect){4, 4, 16, 16});
    check(&raw, DATA_PSUM, (Expect){8, 0, 0, 16});
    assert_true(raw.alu_ops == 16);

    a.rlc = a.zero_skip = true;
    const float in[8] = {0, 0, 0, 0, 0, 0, 0, 9};
    const float out[8] = {0, 0, 0, 3, 0, 0, 0, 5};
    l.ifmap_zero = 7.0 / 8;
    l.ofmap_zero = 6.0 / 8;
    l.ifmap_rlc_bits = rlc_bits_measured(in, 8, &a, 16);
    l.ofmap_rlc_bits = rlc_bits_measured(out, 8, &a, 16);
    assert_true(l.ifmap_rlc_bits == 8 && l.ofmap_rlc_bits == 8);
    LayerCost c = evaluate(&a, &l, &m);
    check(&c, DATA_IFMAP, (Expect){4, 16, 16, 16});
    check(&c, DATA_FILTER, (Expect){4, 4, 16, 2});
    check(&c, DATA_PSUM, (Expect){4, 0, 0, 2});
    assert_true(c.alu_ops == 2 && c.macs == 16);
    /* DRAM bytes: (4 + 4 + 4) words x 2 (raw 20 words); energy falls by 8
     * DRAM words, 14 MACs and 28 RF accesses. */
    assert_true(raw.dram_bytes == 40 && c.dram_bytes == 24);
    assert_true(raw.energy_total - c.energy_total == 8 * 200 + 14 + 28);

    /* Without measured data the RLC size is modelled from the zero
     * fraction, assuming independent zeros: ((1 - z) + z^32) x 64 / 3 bits
     * a value, 2.97 here; the 8 ifmaps cost 8 x 2.97 / 16 = 1.48 words, not
     * the 4 of a whole RLC word. */
    l.ifmap_rlc_bits = 0;
    c = evaluate(&a, &l, &m);
    double bits = (1.0 / 8 + pow(7.0 / 8, 32)) * 64 / 3;
    assert_true(fabs(c.access[LEVEL_DRAM][DATA_IFMAP] - 8 * bits / 16) < 1e-9);
}

/* AlexNet's conv1 (96 filters of 3 x 11 x 11, stride 4, 227 x 227 input,
 * 55 x 55 output) under RS at batch 16 on eyeriss256, with the mapping the
 * search picks (docs/accelerator.md derives it: "AlexNet's conv1 by hand").
 * rf M20 S11, cols M5 P3, rows R11; buffer C3 then Q55; DRAM N16 then P19.
 * Buffer tile: 1 image, 96 filters, 3 channels, 3 output rows (19 input
 * rows), 55 columns: ifmap 3 x 19 x 227 = 12,939 words, filters 34,848,
 * psums 96 x 3 x 55 = 15,840; 127,254 bytes of the 131,072.
 *   filters 34,848: the whole layer's filters are the tile; the N and P
 *           loops do not index them; fetched once
 *   ifmap   2,473,392 = 16 x 3 x 227 x 227: the P loop is innermost, each
 *           row tile (3 output rows, input rows 12p .. 12p + 18) keeps the
 *           7 rows it shares with the next: every input row once
 *   outputs 4,646,400 = 16 x 96 x 55 x 55, each complete in its tile
 * 7,154,640 words x 200 = 1,430,928,000, the least any mapping can move:
 * every input, weight and output crosses once. With the DRAM loops the
 * other way round (N innermost) the shared rows are fetched again: 19 row
 * tiles of 19 rows (the last of 11) = 353 rows an image, ifmap 16 x 3 x
 * 353 x 227 = 3,846,288. The buffer re-reads the filters into the array
 * for each of the 16 x 19 tiles: 34,848 x 304 = 10,593,792 (a model that
 * took these from DRAM, not keeping filters in the buffer, would count
 * 17.7M DRAM words, 2.5x). */
static void test_alexnet_conv1_rs_batch16(void **state)
{
    (void)state;
    ArchSet set;
    assert_true(arch_load("eyeriss256", &set, stderr));
    const SpatialArch *a = arch_for(&set, DATAFLOW_RS);
    MapLayer l = {.name = "conv1", .op = OP_CONV, .groups = 1, .dim = {16, 96, 3, 55, 55, 11, 11},
                  .stride = {4, 4}, .dilation = {1, 1}, .in_h = 227, .in_w = 227};
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_RF][DIM_M] = 20;
    m.factor[LOOP_RF][DIM_S] = 11;
    m.factor[LOOP_COL][DIM_M] = 5;
    m.factor[LOOP_COL][DIM_P] = 3;
    m.factor[LOOP_ROW][DIM_R] = 11;
    m.factor[LOOP_BUFFER][DIM_C] = 3;
    m.factor[LOOP_BUFFER][DIM_Q] = 55;
    m.factor[LOOP_DRAM][DIM_N] = 16;
    m.factor[LOOP_DRAM][DIM_P] = 19;
    set_order(&m, LOOP_BUFFER, (const Dim[]){DIM_C, DIM_Q}, 2);
    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_N, DIM_P}, 2);
    LayerCost c = evaluate(a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 2473392);
    assert_true(c.access[LEVEL_DRAM][DATA_FILTER] == 34848);
    assert_true(c.access[LEVEL_DRAM][DATA_PSUM] == 4646400);
    assert_true(c.energy[LEVEL_DRAM] == 1430928000.0);
    assert_true(c.access[LEVEL_BUFFER][DATA_FILTER] == 10593792);

    /* The search finds this figure: no mapping can move less. */
    MapChoice best;
    char why[256];
    assert_true(map_search(a, &l, DATAFLOW_RS, &best, why, sizeof why));
    assert_true(best.cost.energy[LEVEL_DRAM] == 1430928000.0);

    set_order(&m, LOOP_DRAM, (const Dim[]){DIM_P, DIM_N}, 2);
    c = evaluate(a, &l, &m);
    assert_true(c.access[LEVEL_DRAM][DATA_IFMAP] == 3846288);
    assert_true(c.access[LEVEL_DRAM][DATA_FILTER] == 34848);
}

/* ---- DRAM counts against brute force ----
 *
 * An independent count of the DRAM traffic of a mapping: walk the DRAM
 * loops in their order, build each buffer tile as the set of words it
 * holds (an ifmap tile as the box `ld` moves), and fetch what the previous
 * tile does not hold (the buffer keeps
 * the overlap, the most any buffer of the tile's size can keep). Psums
 * are written back when they leave and read again when they return:
 * 2 x (tiles' psum fills) - outputs. The model must never count less; it
 * may count more where consecutive tiles share words it does not credit (a
 * window across a loop that does not index the data, the partial overlaps
 * of strided or dilated tiles), savings it does not claim, and that `ld`
 * does not make either. Boxes of strided tiles overlap where the rows they
 * read do not, so most of the difference is there: equality is required
 * on most mappings of stride and dilation 1 only. */

typedef struct Range {
    int64_t lo, hi; /* [lo, hi) */
} Range;

static int64_t overlap(Range a, Range b)
{
    int64_t lo = a.lo > b.lo ? a.lo : b.lo, hi = a.hi < b.hi ? a.hi : b.hi;
    return hi > lo ? hi - lo : 0;
}

/* Input rows (axis 0) or columns read by outputs o and taps t, as a bit set. */
static uint64_t rows_of(const MapLayer *l, int axis, Range o, Range t)
{
    int64_t in = axis ? l->in_w : l->in_h, pad = axis ? l->pad_left : l->pad_top;
    uint64_t set = 0;
    for (int64_t p = o.lo; p < o.hi; p++)
        for (int64_t r = t.lo; r < t.hi; r++) {
            int64_t h = p * l->stride[axis] + r * l->dilation[axis] - pad;
            if (h >= 0 && h < in)
                set |= (uint64_t)1 << h;
        }
    return set;
}

/* The rows of `set` as the accelerator's `ld` moves them: one box, every
 * row from the first to the last (docs/isa.md). */
static uint64_t as_box(uint64_t set)
{
    if (!set)
        return 0;
    int lo = __builtin_ctzll(set), hi = 63 - __builtin_clzll(set);
    return (hi == 63 ? ~(uint64_t)0 : ((uint64_t)1 << (hi + 1)) - 1) & ~(((uint64_t)1 << lo) - 1);
}

static void brute_dram(const MapLayer *l, const Mapping *m, double out[DATA_COUNT])
{
    int64_t ext[DIM_COUNT], bound[DIM_COUNT], idx[DIM_COUNT] = {0};
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t e = 1;
        for (int lv = LOOP_RF; lv <= LOOP_BUFFER; lv++)
            e = e * m->factor[lv][d] < l->dim[d] ? e * m->factor[lv][d] : l->dim[d];
        ext[d] = e;
        bound[d] = (l->dim[d] + e - 1) / e;
    }
    double fills[DATA_COUNT] = {0};
    Range prev[DIM_COUNT] = {{0, 0}};
    uint64_t prev_rows = 0, prev_cols = 0;
    for (bool first = true, done = false; !done; first = false) {
        Range r[DIM_COUNT];
        for (int d = 0; d < DIM_COUNT; d++) {
            r[d].lo = idx[d] * ext[d];
            r[d].hi = r[d].lo + ext[d] < l->dim[d] ? r[d].lo + ext[d] : l->dim[d];
        }
        uint64_t rows = as_box(rows_of(l, 0, r[DIM_P], r[DIM_R]));
        uint64_t cols = as_box(rows_of(l, 1, r[DIM_Q], r[DIM_S]));
#define LEN(d) (r[d].hi - r[d].lo)
#define OV(d) (first ? 0 : overlap(r[d], prev[d]))
        fills[DATA_IFMAP] += (double)(LEN(DIM_N) * LEN(DIM_C) * __builtin_popcountll(rows) *
                                      __builtin_popcountll(cols)) -
                             (double)(OV(DIM_N) * OV(DIM_C) * __builtin_popcountll(rows & prev_rows) *
                                      __builtin_popcountll(cols & prev_cols));
        fills[DATA_FILTER] += (double)(LEN(DIM_M) * LEN(DIM_C) * LEN(DIM_R) * LEN(DIM_S)) -
                              (double)(OV(DIM_M) * OV(DIM_C) * OV(DIM_R) * OV(DIM_S));
        fills[DATA_PSUM] += (double)(LEN(DIM_N) * LEN(DIM_M) * LEN(DIM_P) * LEN(DIM_Q)) -
                            (double)(OV(DIM_N) * OV(DIM_M) * OV(DIM_P) * OV(DIM_Q));
#undef LEN
#undef OV
        memcpy(prev, r, sizeof prev);
        prev_rows = rows, prev_cols = cols;
        /* The next DRAM iteration: the innermost loop of the order first. */
        done = true;
        for (int k = DIM_COUNT - 1; k >= 0; k--) {
            Dim d = m->order[LOOP_DRAM][k];
            if (++idx[d] < bound[d]) {
                done = false;
                break;
            }
            idx[d] = 0;
        }
    }
    double outputs = (double)(l->dim[DIM_N] * l->dim[DIM_M] * l->dim[DIM_P] * l->dim[DIM_Q]);
    out[DATA_IFMAP] = fills[DATA_IFMAP];
    out[DATA_FILTER] = fills[DATA_FILTER];
    out[DATA_PSUM] = 2 * fills[DATA_PSUM] - outputs;
}

static uint64_t rng_state = 12345;

static int64_t rnd(int64_t lo, int64_t hi) /* uniform in [lo, hi] */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (int64_t)((rng_state >> 33) % (uint64_t)(hi - lo + 1));
}

static void shuffle(Dim *order)
{
    for (int i = DIM_COUNT - 1; i > 0; i--) {
        int j = (int)rnd(0, i);
        Dim t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static void test_dram_against_brute_force(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    a.buffer_bytes = (int64_t)1 << 40;
    a.rf_words[DATA_PSUM] = 1 << 20;
    int trials = 0, exact = 0, unit = 0, unit_exact = 0;
    while (trials < 3000) {
        int64_t u = rnd(1, 4), dil = rnd(1, 4) == 4 ? 2 : 1, pad = rnd(0, 2);
        MapLayer l = layer(rnd(1, 3), rnd(1, 5), rnd(1, 3), rnd(1, 8), rnd(1, 4), rnd(1, 5), rnd(1, 3));
        l.stride[0] = l.stride[1] = u;
        l.dilation[0] = dil;
        l.pad_top = l.pad_left = pad;
        l.in_h = (l.dim[DIM_P] - 1) * u + (l.dim[DIM_R] - 1) * dil + 1 - 2 * pad;
        l.in_w = (l.dim[DIM_Q] - 1) * u + l.dim[DIM_S] - 2 * pad;
        if (l.in_h < 1 || l.in_w < 1 || l.in_h > 64 || l.in_w > 64)
            continue;
        /* OS_A: any tile of C, R, S in the RF; every level above free. */
        Mapping m;
        mapping_init(&m, DATAFLOW_OS_A);
        m.factor[LOOP_RF][DIM_C] = rnd(1, l.dim[DIM_C]);
        m.factor[LOOP_RF][DIM_R] = rnd(1, l.dim[DIM_R]);
        m.factor[LOOP_RF][DIM_S] = rnd(1, l.dim[DIM_S]);
        for (int d = 0; d < DIM_COUNT; d++)
            m.factor[LOOP_BUFFER][d] = rnd(1, l.dim[d]);
        shuffle(m.order[LOOP_BUFFER]);
        shuffle(m.order[LOOP_DRAM]);
        LayerCost c = evaluate(&a, &l, &m);
        double want[DATA_COUNT];
        brute_dram(&l, &m, want);
        bool same = true;
        for (int t = 0; t < DATA_COUNT; t++) {
            double got = c.access[LEVEL_DRAM][t];
            if (got < want[t] - 1e-9)
                fail_msg("trial %d: %s DRAM %.0f, brute force %.0f (N M C P Q R S = %lld %lld %lld "
                         "%lld %lld %lld %lld, stride %lld, dilation %lld, pad %lld)",
                         trials, data_type_name((DataType)t), got, want[t],
                         (long long)l.dim[0], (long long)l.dim[1], (long long)l.dim[2],
                         (long long)l.dim[3], (long long)l.dim[4], (long long)l.dim[5],
                         (long long)l.dim[6], (long long)u, (long long)dil, (long long)pad);
            same &= got == want[t];
        }
        exact += same;
        unit += u == 1 && dil == 1;
        unit_exact += same && u == 1 && dil == 1;
        trials++;
    }
    print_message("DRAM counts of %d random mappings: never below brute force, equal on %d (on %d of the "
                  "%d with stride and dilation 1)\n", trials, exact, unit_exact, unit);
    assert_true(unit_exact >= unit * 3 / 4);
}

/* RLC: three (5-bit run, 16-bit value) pairs per 64-bit word; half zeros
 * cost (1 - 0.5) x 64/3 = 10.67 bits a value; dense data stays raw. */
static void test_rlc_model(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    a.rlc = true;
    double half = rlc_bits_model(&a, 0.5, 16);
    assert_true(half > 10.66 && half < 10.67);
    assert_true(rlc_bits_model(&a, 0, 16) == 16);
    a.rlc = false;
    assert_true(rlc_bits_model(&a, 0.9, 16) == 16);
}

/* ---- precision (docs/accelerator.md, "Precision") ---- */

/* The one mapped layer of a network written as text. */
static MapLayer only_layer(Parsed *p, const char *name, const char *text)
{
    parse_text(p, name, text);
    if (!p->graph)
        fail_msg("%s", p->messages);
    for (int i = 0; i < p->graph->n_nodes; i++) {
        MapLayer l;
        if (map_layer_from_node(p->graph, &p->graph->nodes[i], 0, &l))
            return l;
    }
    fail_msg("%s has no mapped layer", name);
    return (MapLayer){0};
}

/* One 2x2 filter over a 3x3 input (one channel): test_map_counts's OS_A
 * layer, whose accesses are counted by hand there:
 *   ifmap  DRAM 9, buffer 9, array 16, RF 16
 *   filter DRAM 4, buffer 4, array 16, RF 16
 *   psum   DRAM 4 (the outputs, written once), RF 24. */
#define INPUT_3X3 "[1, 1, 3, 3];\n"
static const char int8_net[] = "input x: u8" INPUT_3X3
                               "c = qlinear_conv(x, filters=1, kernel=2, weight_type=i8);\noutput c;\n";
static const char fixed16_net[] = "input x: i16" INPUT_3X3
                                  "c = qlinear_conv(x, filters=1, kernel=2, weight_type=i16, out_type=i16);\n"
                                  "output c;\n";
static const char float_net[] = "input x: f32" INPUT_3X3 "c = conv(x, filters=1, kernel=2);\noutput c;\n";
static const char log2_net[] = "input x: f32" INPUT_3X3
                               "c = coded_conv(x, filters=1, kernel=2, weight_type=log2, weight_bits=4);\n"
                               "output c;\n";

/* The survey's MAC energies (VII-A1, after [79]): an 8-bit add 0.03 pJ and
 * multiply 0.2 pJ, adds linear and multiplies quadratic in the bits; a
 * float32 add 30 and a float32 multiply 18.5 times the 8-bit ones. The unit
 * is a 16 x 16 multiply with a 32-bit add. Written out here, not taken from
 * the code. */
static double survey_mac(double mult_pj, double add_pj) { return (mult_pj + add_pj) / (0.8 + 0.12); }

/* The OS_A layer's energy with every access at the given bits, the
 * machine's word being 16: (accesses x energy per word) x bits / 16. */
static double hand_energy(double mac, int ifmap, int filter, int psum, int output)
{
    double alu = 16 * mac;
    double dram = 200 * (9 * ifmap + 4 * filter + 4 * output) / 16.0;
    double buffer = 6 * (9 * ifmap + 4 * filter) / 16.0;
    double array = 2 * (16 * ifmap + 16 * filter) / 16.0;
    double rf = 1 * (16 * ifmap + 16 * filter + 24 * psum) / 16.0;
    return alu + dram + buffer + array + rf;
}

static void assert_close(double got, double want)
{
    /* The model sums the same terms in another order: a few ulps apart. */
    if (fabs(got - want) > 1e-12 * want)
        fail_msg("%.17g, expected %.17g", got, want);
}

static void test_bits_follow_the_types(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    Parsed p[4];
    const MapLayer l8 = only_layer(&p[0], "i8.dnn", int8_net), l16 = only_layer(&p[1], "i16.dnn", fixed16_net),
                   l32 = only_layer(&p[2], "f32.dnn", float_net), lc = only_layer(&p[3], "log2.dnn", log2_net);
    /* ifmap, filter, psum, output: u8 x i8 into the i32 accumulator. */
    const int want[4][4] = {{8, 8, 32, 8},
                            /* Fig. 39: 2 x 16 + ceil(log2(C R S = 4)) */
                            {16, 16, 34, 16},
                            {32, 32, 32, 32},
                            /* f32 activations, 4-bit codes */
                            {32, 4, 32, 32}};
    const MapLayer *ls[4] = {&l8, &l16, &l32, &lc};
    for (int k = 0; k < 4; k++) {
        for (int t = 0; t < DATA_COUNT; t++)
            assert_int_equal(map_value_bits(&a, ls[k], (DataType)t), want[k][t]);
        assert_int_equal(map_output_bits(&a, ls[k]), want[k][3]);
    }
    char name[32];
    map_precision_name(&a, &l32, name, sizeof name);
    assert_string_equal(name, "f32");
    map_precision_name(&a, &lc, name, sizeof name);
    assert_string_equal(name, "log2<4>");
    for (int k = 0; k < 4; k++)
        parsed_free(&p[k]);
}

/* Energy of the same layer and mapping at 8 and at 16 bits, each against
 * the rule computed by hand. */
static void test_energy_at_8_against_16_bits(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    Mapping m = os_a_mapping();
    Parsed p8, p16, p32;
    MapLayer l8 = only_layer(&p8, "i8.dnn", int8_net), l16 = only_layer(&p16, "i16.dnn", fixed16_net),
             l32 = only_layer(&p32, "f32.dnn", float_net);
    LayerCost c8 = evaluate(&a, &l8, &m), c16 = evaluate(&a, &l16, &m), c32 = evaluate(&a, &l32, &m);
    /* Accesses are counts of values: the same at every width. */
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        for (int t = 0; t < DATA_COUNT; t++)
            assert_true(c8.access[lv][t] == c16.access[lv][t]);
    double mac8 = survey_mac(0.2, 0.03 * 32 / 8), mac16 = survey_mac(0.2 * 4, 0.03 * 34 / 8);
    assert_close(c8.energy_total, hand_energy(mac8, 8, 8, 32, 8));
    assert_close(c16.energy_total, hand_energy(mac16, 16, 16, 34, 16));
    assert_close(c32.energy_total, hand_energy(survey_mac(18.5 * 0.2, 30 * 0.03), 32, 32, 32, 32));
    /* DRAM bytes from the bits: 9 + 4 + 4 values of one byte. */
    assert_true(c8.dram_bytes == 17);
    assert_true(c16.dram_bytes == 34);
    /* 8-bit data movement is half of 16-bit's (RF psums apart: 32 and 34 bits). */
    assert_close(c8.energy[LEVEL_DRAM] * 2, c16.energy[LEVEL_DRAM]);
    assert_close(c8.energy[LEVEL_BUFFER] * 2, c16.energy[LEVEL_BUFFER]);
    parsed_free(&p8);
    parsed_free(&p16);
    parsed_free(&p32);
}

/* A hand-built layer (no IR) is costed at the machine's word: every
 * figure above stays what it was. */
static void test_word_precision_unchanged(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = {.name = "small", .op = OP_CONV, .groups = 1, .dim = {1, 1, 1, 2, 2, 2, 2},
                  .stride = {1, 1}, .dilation = {1, 1}, .in_h = 3, .in_w = 3};
    Mapping m = os_a_mapping();
    LayerCost c = evaluate(&a, &l, &m);
    assert_true(c.energy_total == hand_energy(1, 16, 16, 16, 16));
}

/* Capacities are in bits: an RF of 224 16-bit words holds 224 16-bit
 * filter values or 448 8-bit ones, and a mapping whose RF tile needs 432
 * filter values fits at 8 bits and not at 16. */
static void test_capacity_doubles_at_half_width(void **state)
{
    (void)state;
    SpatialArch a = plain_machine();
    MapLayer l = {.name = "c", .op = OP_CONV, .groups = 1, .dim = {1, 16, 3, 6, 6, 3, 3},
                  .stride = {1, 1}, .dilation = {1, 1}, .in_h = 8, .in_w = 8};
    MapLayer l8 = l, l16 = l;
    l8.precision = (MapPrecision){.name = "i8", .bits = {8, 8, 32}, .operand_bits = 8, .output_bits = 8};
    l16.precision = (MapPrecision){.name = "i16", .bits = {16, 16, 34}, .operand_bits = 16, .output_bits = 16};
    assert_true(map_rf_holds(&a, &l16, DATA_FILTER, 224));
    assert_false(map_rf_holds(&a, &l16, DATA_FILTER, 225));
    assert_true(map_rf_holds(&a, &l8, DATA_FILTER, 448));
    assert_false(map_rf_holds(&a, &l8, DATA_FILTER, 449));
    /* Every filter in each PE's RF: 16 x 3 x 3 x 3 = 432 values. */
    Mapping m;
    mapping_init(&m, DATAFLOW_WS);
    m.factor[LOOP_PE][DIM_P] = 6;
    m.factor[LOOP_PE][DIM_Q] = 6;
    m.factor[LOOP_RF][DIM_M] = 16;
    m.factor[LOOP_RF][DIM_C] = 3;
    m.factor[LOOP_RF][DIM_R] = 3;
    m.factor[LOOP_RF][DIM_S] = 3;
    LayerCost c;
    char why[256] = "";
    assert_false(map_evaluate(&a, &l16, &m, &c, why, sizeof why));
    assert_string_equal(why, "ws keeps filter in the RF: 432 words, rf.filter holds 224");
    evaluate(&a, &l8, &m);
    /* The buffer likewise: the whole layer's tile is 3 x 8 x 8 = 192 ifmap,
     * 432 filter and 16 x 6 x 6 = 576 psum values; 192 + 432 + 4 x 576 =
     * 2928 bytes at 8 bits (psums of 32), 384 + 864 + 576 x 34 / 8 = 3696
     * at 16. */
    int64_t whole[DIM_COUNT] = {1, 16, 3, 6, 6, 3, 3};
    assert_true(map_tile_bytes(&a, &l8, whole) == 2928);
    assert_true(map_tile_bytes(&a, &l16, whole) == 3696);
}

/* A machine declares what its PEs multiply; a layer it cannot compute is
 * refused with its precision named, never costed at another width. */
static void test_unsupported_precision(void **state)
{
    (void)state;
    SpatialArch a = plain_machine_with("precisions = 8, 16\n");
    Mapping m = os_a_mapping();
    Parsed p8, p32, pc;
    MapLayer l8 = only_layer(&p8, "i8.dnn", int8_net), l32 = only_layer(&p32, "f32.dnn", float_net),
             lc = only_layer(&pc, "log2.dnn", log2_net);
    evaluate(&a, &l8, &m);
    LayerCost c;
    char why[256] = "";
    assert_false(map_evaluate(&a, &l32, &m, &c, why, sizeof why));
    assert_string_equal(why, "its precision f32 is not one plain computes (precisions = 8, 16)");
    assert_false(map_evaluate(&a, &lc, &m, &c, why, sizeof why));
    assert_contains(why, "log2<4> is not one plain computes");
    MapChoice best;
    assert_false(map_search(&a, &l32, DATAFLOW_RS, &best, why, sizeof why));
    assert_contains(why, "f32 is not one plain computes");
    /* And the key parses back as it prints. */
    char text[64];
    arch_precisions_format(a.precisions, text, sizeof text);
    assert_string_equal(text, "8, 16");
    ArchSet bad;
    FILE *err = tmpfile();
    assert_false(arch_parse("bad.arch", "precisions = 8, 33\n", 19, &bad, err));
    fclose(err);
    parsed_free(&p8);
    parsed_free(&p32);
    parsed_free(&pc);
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
        cmocka_unit_test(test_dram_tiles_refetch),
        cmocka_unit_test(test_dram_halo_refetch),
        cmocka_unit_test(test_strided_taps_no_window),
        cmocka_unit_test(test_rlc_and_zero_skip),
        cmocka_unit_test(test_alexnet_conv1_rs_batch16),
        cmocka_unit_test(test_dram_against_brute_force),
        cmocka_unit_test(test_bits_follow_the_types),
        cmocka_unit_test(test_energy_at_8_against_16_bits),
        cmocka_unit_test(test_word_precision_unchanged),
        cmocka_unit_test(test_capacity_doubles_at_half_width),
        cmocka_unit_test(test_unsupported_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
