/* The analytical model: from a mapping's loop nest to accesses per level and
 * data type, then energy and cycles (docs/accelerator.md, "The model"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dataflow.h"
#include "loopnest.h"
#include "map.h"
#include "model.h"

const char *dim_name(Dim d)
{
    static const char *const names[DIM_COUNT] = {"N", "M", "C", "P", "Q", "R", "S"};
    return names[d];
}

void mapping_init(Mapping *m, Dataflow d)
{
    memset(m, 0, sizeof *m);
    m->dataflow = d;
    for (int lv = 0; lv < LOOP_LEVELS; lv++)
        for (int k = 0; k < DIM_COUNT; k++) {
            m->factor[lv][k] = 1;
            m->order[lv][k] = (Dim)k;
        }
}

static bool holds(const DataflowSpec *s, DataType t) { return s->rf_holds & DATA_BIT(t); }

/* The dataflow's shape rules: which dimensions may appear at which level. */
static bool check_shape(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                        const DataflowSpec *s, char *why, size_t whysz)
{
    unsigned allowed[LOOP_LEVELS] = {
        [LOOP_RF] = s->rf_dims, [LOOP_COL] = s->col_dims, [LOOP_ROW] = s->row_dims | s->fold_dims,
        [LOOP_BUFFER] = ~0u, [LOOP_DRAM] = ~0u,
    };
    for (int k = 0; k < s->n_pe; k++)
        allowed[LOOP_PE] |= DIM_BIT(s->pe_order[k]);
    for (int lv = 0; lv < LOOP_LEVELS; lv++)
        for (int d = 0; d < DIM_COUNT; d++)
            if (m->factor[lv][d] > 1 && !(allowed[lv] & DIM_BIT(d))) {
                snprintf(why, whysz, "%s has no loop over %s at level '%s'", dataflow_name(s->id),
                         dim_name((Dim)d), loop_level_name((LoopLevel)lv));
                return false;
            }
    for (int d = 0; d < DIM_COUNT; d++) {
        int64_t size = l->dim[d];
        if ((s->whole_in_rf & DIM_BIT(d)) && m->factor[LOOP_RF][d] < size) {
            snprintf(why, whysz, "%s keeps whole filter rows in the RF (%s = %lld)",
                     dataflow_name(s->id), dim_name((Dim)d), (long long)size);
            return false;
        }
        if ((s->whole_on_rows & DIM_BIT(d)) && size <= a->pe_rows && m->factor[LOOP_ROW][d] < size) {
            snprintf(why, whysz, "%s needs the %lld filter rows on %lld PE rows",
                     dataflow_name(s->id), (long long)size, (long long)a->pe_rows);
            return false;
        }
        if ((s->fold_dims & DIM_BIT(d)) && !(s->row_dims & DIM_BIT(d)) &&
            m->factor[LOOP_ROW][d] > 1 && m->factor[LOOP_COL][d] < a->pe_cols) {
            snprintf(why, whysz, "%s folds %s onto the rows only once the columns are full",
                     dataflow_name(s->id), dim_name((Dim)d));
            return false;
        }
    }
    return true;
}

static bool check_array(const SpatialArch *a, const Mapping *m, char *why, size_t whysz)
{
    int64_t rows = 1, cols = 1;
    for (int d = 0; d < DIM_COUNT; d++) {
        rows *= m->factor[LOOP_ROW][d];
        cols *= m->factor[LOOP_COL][d];
        if (rows > a->pe_rows || cols > a->pe_cols) {
            snprintf(why, whysz, "the spatial assignment needs more than the %lld x %lld PEs",
                     (long long)a->pe_rows, (long long)a->pe_cols);
            return false;
        }
    }
    return true;
}

/* Capacities are in bits (docs/accelerator.md, "Precision"): an RF or the
 * buffer holds twice as many 8-bit values as 16-bit ones. */
static bool check_capacity(const SpatialArch *a, const LoopNest *n, const DataflowSpec *s,
                           bool check_buffer, char *why, size_t whysz)
{
    for (int t = 0; t < DATA_COUNT; t++) {
        if (!holds(s, (DataType)t))
            continue;
        double words = tile_words(n->layer, (DataType)t, n->ext[LOOP_RF]);
        int bits = map_value_bits(a, n->layer, (DataType)t);
        if (map_rf_holds(a, n->layer, (DataType)t, words))
            continue;
        const char *type = data_type_name((DataType)t);
        if (bits == a->word_bits)
            snprintf(why, whysz, "%s keeps %s in the RF: %.0f words, rf.%s holds %lld",
                     dataflow_name(s->id), type, words, type, (long long)a->rf_words[t]);
        else
            snprintf(why, whysz, "%s keeps %s in the RF: %.0f values of %d bits, rf.%s holds %lld "
                     "words of %lld", dataflow_name(s->id), type, words, bits, type,
                     (long long)a->rf_words[t], (long long)a->word_bits);
        return false;
    }
    if (!check_buffer)
        return true;
    double bytes = map_tile_bytes(a, n->layer, n->ext[LOOP_BUFFER]);
    if (bytes > (double)a->buffer_bytes) {
        snprintf(why, whysz, "the buffer tile needs %.0f bytes, the buffer holds %lld", bytes,
                 (long long)a->buffer_bytes);
        return false;
    }
    return true;
}

bool map_rf_holds(const SpatialArch *a, const MapLayer *l, DataType t, double values)
{
    return values * map_value_bits(a, l, t) <= (double)a->rf_words[t] * (double)a->word_bits;
}

double map_tile_bytes(const SpatialArch *a, const MapLayer *l, const int64_t ext[DIM_COUNT])
{
    double bits = 0;
    for (int t = 0; t < DATA_COUNT; t++)
        bits += tile_words(l, (DataType)t, ext) * map_value_bits(a, l, (DataType)t);
    return bits / 8;
}

static double layer_macs(const MapLayer *l)
{
    double v = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        v *= (double)l->dim[d];
    return v;
}

double rlc_bits_model(const SpatialArch *a, double zero, int value_bits)
{
    double raw = value_bits;
    int64_t pairs_per_word = a->rlc_word_bits / (a->rlc_run_bits + value_bits);
    if (!a->rlc || pairs_per_word < 1)
        return raw;
    /* Every non-zero value closes a (run, value) pair; a run longer than the
     * run field can count needs an extra pair with a zero value. */
    double max_run = ldexp(1.0, (int)a->rlc_run_bits) - 1;
    double pairs = (1 - zero) + pow(zero, max_run + 1);
    double bits = pairs * (double)a->rlc_word_bits / (double)pairs_per_word;
    return bits < raw ? bits : raw; /* the encoder falls back to raw words */
}

/* Fraction of its raw bits a value costs in DRAM after compression; RLC
 * pairs a run with a value of the value's own width. */
static double rlc_ratio(const SpatialArch *a, int value_bits, double measured_bits, double zero)
{
    if (!a->rlc)
        return 1;
    double bits = measured_bits > 0 ? fmin(measured_bits, value_bits)
                                    : rlc_bits_model(a, zero, value_bits);
    return bits / value_bits;
}

/* The array itself stores nothing: a tile stays in it across buffer loops
 * only when each PE's RF holds its whole share of it, that is when the type
 * lives in the RF and no loop streamed through the PE walks over it. */
static bool array_keeps(const LoopNest *n, const DataflowSpec *s, DataType t)
{
    if (!holds(s, t))
        return false;
    for (int i = n->begin[LOOP_PE]; i < n->begin[LOOP_RF]; i++)
        if (dim_indexes(t, n->loop[i].dim))
            return false;
    return true;
}

/* Words the buffer sends to the array (or, for psums, receives back): a
 * type the RF keeps, or that neighbours pass on, goes as the tile of each
 * buffer-loop iteration; any other is multicast afresh at every step. */
static double array_fills(const LoopNest *n, const DataflowSpec *s, DataType t)
{
    int cut = n->begin[LOOP_ROW];
    if (holds(s, t) || s->array_reuse[t] == ARRAY_NEIGHBOUR)
        return nest_fills(n, t, cut, n->ext[LOOP_ROW], array_keeps(n, s, t) ? 0 : cut);
    return nest_step_fills(n, t);
}

/* The data types' accesses at each level, for one group. */
static void count_accesses(const SpatialArch *a, const LoopNest *n, const DataflowSpec *s,
                           LayerCost *c)
{
    const MapLayer *l = n->layer;
    static const int64_t point[DIM_COUNT] = {1, 1, 1, 1, 1, 1, 1};
    int cut_buffer = n->begin[LOOP_BUFFER];
    int cut_rf = n->begin[LOOP_RF], cut_mac = n->n;
    double macs = layer_macs(l);
    for (int t = 0; t < DATA_COUNT; t++) {
        DataType dt = (DataType)t;
        /* Fills of the buffer, of the array as a whole (one buffer read
         * multicast to every PE that needs it) and of each PE. */
        double v_buffer = nest_box_fills(n, dt, cut_buffer, n->ext[LOOP_BUFFER], 0); /* ld moves boxes */
        double v_array = array_fills(n, s, dt);
        double v_pe = holds(s, dt) ? nest_fills(n, dt, cut_rf, n->ext[LOOP_RF], 0)
                                   : nest_fills(n, dt, cut_mac, point, cut_mac);
        if (dt != DATA_PSUM) {
            c->access[LEVEL_DRAM][t] = v_buffer;
            c->access[LEVEL_BUFFER][t] = v_array;
            c->access[LEVEL_ARRAY][t] = v_pe;
            /* The ALU reads every operand from its PE's RF (Eyeriss ISCA'16's
             * a*b*c*d term), even one delivered for a single use; only a
             * PE without an RF (no local reuse) takes them from the NoC. */
            c->access[LEVEL_RF][t] = s->rf_holds ? macs : 0;
            if (a->noc == NOC_BROADCAST)
                c->access[LEVEL_ARRAY][t] = fmax(v_pe, v_array * (double)c->active_pes);
        } else {
            /* A psum is written up and read back each time it leaves a
             * level before its accumulation is complete (Eyeriss ISCA'16):
             * DRAM 2a-1, buffer 2a(b-1), array ab(c-1), RF 2abc(d-1). */
            double outputs = (double)l->dim[DIM_N] * (double)l->dim[DIM_M] *
                             (double)l->dim[DIM_P] * (double)l->dim[DIM_Q];
            double spills = v_buffer - outputs;
            c->dram_outputs =
                outputs * rlc_ratio(a, map_output_bits(a, l), l->ofmap_rlc_bits, l->ofmap_zero);
            c->access[LEVEL_DRAM][t] = 2 * spills + c->dram_outputs;
            c->access[LEVEL_BUFFER][t] = 2 * (v_array - v_buffer);
            c->access[LEVEL_ARRAY][t] = v_pe - v_array;
            c->access[LEVEL_RF][t] = holds(s, dt) ? 2 * (macs - v_pe) : 0;
        }
    }
    c->access[LEVEL_DRAM][DATA_IFMAP] *=
        rlc_ratio(a, map_value_bits(a, l, DATA_IFMAP), l->ifmap_rlc_bits, l->ifmap_zero);
    /* Filters are coded too: pruned weights move as runs of zeros (dense
     * ones gain nothing and fall back to raw words). */
    c->access[LEVEL_DRAM][DATA_FILTER] *=
        rlc_ratio(a, map_value_bits(a, l, DATA_FILTER), l->filter_rlc_bits, l->filter_zero);
    c->macs = macs;
    c->alu_ops = macs;
    /* Zero skipping (survey VII-B1): a zero operand, an ifmap or a pruned
     * weight, gates the filter read, the MAC and the psum update; the ifmap
     * itself is still read. Without measured data, the zeros of the ifmap
     * and of the weights are taken to meet independently: a MAC is kept
     * when neither operand is zero. */
    if (a->zero_skip) {
        double keep = l->skip_measured ? 1 - l->skipped_macs / (macs * (double)l->groups)
                                       : (1 - l->ifmap_zero) * (1 - l->filter_zero);
        c->alu_ops *= keep;
        c->access[LEVEL_RF][DATA_FILTER] *= keep;
        c->access[LEVEL_RF][DATA_PSUM] *= keep;
    }
}

static void scale_by_groups(LayerCost *c, double groups)
{
    c->dram_outputs *= groups;
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        for (int t = 0; t < DATA_COUNT; t++)
            c->access[lv][t] *= groups;
    c->macs *= groups;
    c->alu_ops *= groups;
}

/* An access moves one value: its energy is the level's energy per machine
 * word times the value's bits over the word's (the survey, VII-A1: "the
 * energy and area of the memory scale approximately linearly with number
 * of bits"). Accesses stay counts of values. */
static void add_energy(const SpatialArch *a, const MapLayer *l, LayerCost *c)
{
    c->energy_total = c->energy_alu = c->alu_ops * map_mac_energy(a, l);
    double bits[LEVEL_COUNT][DATA_COUNT]; /* moved at each level, per type */
    for (int t = 0; t < DATA_COUNT; t++)
        for (int lv = 0; lv < LEVEL_COUNT; lv++)
            bits[lv][t] = c->access[lv][t] * map_value_bits(a, l, (DataType)t);
    /* Final outputs leave at the output's width, spills at the psum's. */
    bits[LEVEL_DRAM][DATA_PSUM] += c->dram_outputs * (map_output_bits(a, l) -
                                                      map_value_bits(a, l, DATA_PSUM));
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        for (int t = 0; t < DATA_COUNT; t++) {
            double e = bits[lv][t] / (double)a->word_bits * a->energy[lv];
            c->energy[lv] += e;
            c->energy_type[t] += e;
            c->energy_total += e;
        }
    double dram_bits = 0;
    for (int t = 0; t < DATA_COUNT; t++)
        dram_bits += bits[LEVEL_DRAM][t];
    /* A codebook weight is decoded where it is used: each filter read from
     * the RF also reads a centroid (Fig. 40's second memory), an RF access
     * of the centroid's bits. */
    if (l->precision.codebook_bits) {
        double e = c->access[LEVEL_RF][DATA_FILTER] * a->energy[LEVEL_RF] *
                   (double)l->precision.codebook_bits / (double)a->word_bits;
        c->energy[LEVEL_RF] += e;
        c->energy_type[DATA_FILTER] += e;
        c->energy_total += e;
    }
    c->dram_bytes = dram_bits / 8;
}

/* A PE does one MAC a cycle and the PEs step together: the steps are
 * those of the lock-step view (nest_steps_along), in which a partial
 * array tile still takes as many steps as its first PE's share. The DRAM
 * bus may set a longer time (transfers overlap computation). */
static void count_cycles(const SpatialArch *a, const LoopNest *n, LayerCost *c)
{
    double steps = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        steps *= nest_steps_along(n, (Dim)d);
    c->compute_cycles = steps * (double)n->layer->groups;
    c->dram_cycles = c->dram_bytes * 8 / (double)a->dram_bus_bits;
    c->cycles = fmax(c->compute_cycles, c->dram_cycles);
    c->utilization = c->macs / (c->cycles * (double)arch_pes(a));
}

static int64_t pes_used(const Mapping *m)
{
    int64_t pes = 1;
    for (int d = 0; d < DIM_COUNT; d++)
        pes *= m->factor[LOOP_ROW][d] * m->factor[LOOP_COL][d];
    return pes;
}

bool model_evaluate(const SpatialArch *a, const MapLayer *l, const Mapping *m, bool check_buffer,
                    LayerCost *out, char *why, size_t whysz)
{
    const DataflowSpec *s = dataflow_spec(m->dataflow);
    if (!s) {
        snprintf(why, whysz, "no dataflow chosen");
        return false;
    }
    for (int t = 0; t < DATA_COUNT; t++)
        if (holds(s, (DataType)t) && a->rf_words[t] == 0) {
            snprintf(why, whysz, "%s keeps %s in the RF but rf.%s = 0 on %s", dataflow_name(s->id),
                     data_type_name((DataType)t), data_type_name((DataType)t), a->name);
            return false;
        }
    if (!map_precision_supported(a, l, why, whysz) || !check_shape(a, l, m, s, why, whysz) ||
        !check_array(a, m, why, whysz))
        return false;
    LoopNest n;
    nest_build(&n, l, m);
    if (!check_capacity(a, &n, s, check_buffer, why, whysz))
        return false;
    memset(out, 0, sizeof *out);
    out->active_pes = pes_used(m);
    count_accesses(a, &n, s, out);
    scale_by_groups(out, (double)l->groups);
    add_energy(a, l, out);
    count_cycles(a, &n, out);
    return true;
}

bool map_evaluate(const SpatialArch *a, const MapLayer *l, const Mapping *m, LayerCost *out,
                  char *why, size_t whysz)
{
    return model_evaluate(a, l, m, true, out, why, whysz);
}
