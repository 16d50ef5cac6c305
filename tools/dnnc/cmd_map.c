/* dnnc map: map every CONV and FC layer of a network onto the spatial
 * accelerator and report accesses, energy, utilisation and cycles
 * (survey Sections V-B and VIII). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "dataflow.h"
#include "driver.h"
#include "json.h"
#include "map.h"
#include "map_report.h"
#include "npy.h"
#include "progress.h"
#include "sparsity.h"

typedef struct MapArgs {
    const char *model, *arch, *plot, *input;
    Dataflow dataflow;
    int batch;
    double sparsity;
    int rlc, zero_skip; /* -1: the machine's */
    bool json, verbose, simulate;
    int float_as; /* FLOAT_AS_F32 or FLOAT_AS_WORD */
    ModelArgs weights;
    PipelineArgs pipeline;
} MapArgs;

static const char *const switches[] = {"off", "on", NULL}; /* index = the value */
enum { FLOAT_AS_F32, FLOAT_AS_WORD };
static const char *const float_as_names[] = {"f32", "word", NULL};

static bool parse_dataflow(void *section, const char *v, const OptionUse *u)
{
    MapArgs *o = section;
    if (strcmp(v, "best") == 0)
        o->dataflow = DATAFLOW_AUTO;
    else if (!dataflow_from_name(v, &o->dataflow) || o->dataflow == DATAFLOW_AUTO)
        return option_error(u, "unknown dataflow '%s' (ws, os-a, os-b, os-c, nlr, rs or best)", v);
    return true;
}

static bool parse_sparsity(void *section, const char *v, const OptionUse *u)
{
    MapArgs *o = section;
    char *end;
    o->sparsity = strtod(v, &end);
    if (!*v || *end || !(o->sparsity >= 0 && o->sparsity <= 1))
        return option_error(u, "--sparsity needs a fraction from 0 to 1, got '%s'", v);
    return true;
}

static const Option map_options[] = {
    {"arch", 0, "NAME|FILE", "the machine: a built-in name or a description file\n"
                             "(default eyeriss). Built in: eyeriss (Eyeriss v1,\n"
                             "12x14 PEs, 108 KB buffer) and eyeriss256 (the survey's\n"
                             "256-PE equal-area comparison, one variant per dataflow)",
     OPTION_STRING(MapArgs, arch)},
    {"dataflow", 0, "DF", "ws, os-a, os-b, os-c, nlr, rs, or best (default): best\n"
                          "maps every layer under each dataflow and keeps the\n"
                          "lowest energy; a layer annotated @dataflow(DF) keeps DF,\n"
                          "and one annotated @mapping is reported with exactly\n"
                          "that mapping",
     OPTION_CALL(parse_dataflow)},
    {"batch", 0, "N", "images per batch (default: the model's input batch)",
     OPTION_INT(MapArgs, batch, 1, 1 << 20)},
    {"json", 0, NULL, "print one JSON object: {\"layers\": [...], \"total\": {...},\n"
                      "\"dataflows\": {...}}; energies in units of one MAC",
     OPTION_FLAG(MapArgs, json)},
    {"plot", 0, "FILE.svg", "draw the energy breakdown as stacked bars: per dataflow\n"
                            "for the CONV and the FC layers, and per layer",
     OPTION_STRING(MapArgs, plot)},
    {"sparsity", 0, "F", "zeros assumed in ReLU outputs when not measured\n(default 0.5)",
     OPTION_CALL(parse_sparsity)},
    {"input", 0, "FILE.npy", "with weights: run the network on this input and use the\n"
                             "measured activation sparsity for RLC and zero skipping",
     OPTION_STRING(MapArgs, input)},
    {"rlc", 0, NULL, "override the machine's run-length compression",
     OPTION_CHOICE(MapArgs, rlc, switches)},
    {"zero-skip", 0, NULL, "override the machine's zero skipping",
     OPTION_CHOICE(MapArgs, zero_skip, switches)},
    {"float-as", 0, NULL, "the precision float32 layers are costed at: f32 (default:\n"
                          "32-bit values, the float32 MAC) or word (the machine's\n"
                          "word for every data type and its energy.mac, as the\n"
                          "survey's 16-bit Eyeriss figures; the values are not\n"
                          "quantised: --quantize does that)",
     OPTION_CHOICE(MapArgs, float_as, float_as_names)},
    {"verbose", 0, NULL, "also print accesses per level and data type",
     OPTION_FLAG(MapArgs, verbose)},
    {"simulate", 0, NULL, "also compile every layer to the accelerator's instruction\n"
                          "stream, run it on the simulator and print its energy\n"
                          "and cycles beside the model's: without --input, each\n"
                          "layer alone, compression and zero skipping off in both;\n"
                          "with --input (a fixed16 network), the whole program on\n"
                          "the reference's activations with the machine's RLC and\n"
                          "zero skipping, the model given the statistics the\n"
                          "program met in them (docs/accelerator.md)",
     OPTION_FLAG(MapArgs, simulate)},
    OPTIONS_END,
};

const CommandSpec cmd_map_spec = {
    .name = "map",
    .summary = "map CONV/FC layers onto the spatial accelerator: dataflow, energy",
    .usage = "dnnc map MODEL [--arch NAME|FILE] [--dataflow DF] [--batch N] [options]",
    .description =
        "Runs the spatial target's pipeline, which maps every CONV and FC layer onto\n"
        "the accelerator, and reports, per layer, the mapping it records (dataflow,\n"
        "spatial assignment, tile sizes per level), accesses and energy by level\n"
        "(DRAM, global buffer, array, RF) and by data type (ifmap, filter, psum), PE\n"
        "utilisation and cycles. Energies are in units of one MAC (survey Fig. 22);\n"
        "docs/accelerator.md gives the model.",
    .operand = "model file",
    .operand_offset = offsetof(MapArgs, model),
    .sections = {
        {"options:", map_options, 0},
        MODEL_OPTION_SECTION(MapArgs),
        {"pipeline options (always target spatial, at its default level unless -O):",
         pipeline_options, offsetof(MapArgs, pipeline)},
        {"quantisation options (docs/quantization.md; the map costs each layer at its precision):",
         quantize_options, offsetof(MapArgs, pipeline)},
        {"pruning options (docs/pruning.md):", prune_options, offsetof(MapArgs, pipeline)},
    },
    .epilogue = "Exit status: 0 on success, 1 when an input is bad or a layer fits no\n"
                "mapping, 2 on a usage error.",
};

/* ---- measured sparsity ---- */

/* The --input file as float32 in the shape of the network's one input. */
static bool read_input(const Graph *g, const MapArgs *o, Array *f32)
{
    if (g->n_inputs != 1) {
        fprintf(stderr, "dnnc map: error: --input needs a network with one input (it has %d)\n",
                g->n_inputs);
        return false;
    }
    char err[512];
    Array raw = {0};
    if (!npy_read(o->input, &raw, err, sizeof err) || !array_to_f32(&raw, f32, err, sizeof err)) {
        fprintf(stderr, "dnnc map: error: %s\n", err);
        array_free(&raw);
        return false;
    }
    array_free(&raw);
    const Tensor *t = &g->tensors[g->inputs[0]];
    if (!shape_equal(&f32->shape, &t->shape)) {
        char want[128], got[128];
        shape_format(&t->shape, want, sizeof want);
        shape_format(&f32->shape, got, sizeof got);
        fprintf(stderr, "dnnc map: error: %s holds %s, the network's input is %s\n", o->input, got,
                want);
        array_free(f32);
        return false;
    }
    return true;
}

static bool measure(Model *m, const MapArgs *o, const SpatialArch *a, ActStats **out)
{
    Graph *g = m->graph;
    Array f32 = {0};
    if (!read_input(g, o, &f32))
        return false;
    char err[512];
    *out = calloc((size_t)g->n_tensors, sizeof **out);
    const float *inputs[1] = {f32.data};
    bool ok = *out && measure_activations(g, inputs, a, *out, err, sizeof err);
    if (!ok)
        fprintf(stderr, "dnnc map: error: measuring activations: %s\n", *out ? err : "out of memory");
    array_free(&f32);
    return ok;
}

/* --simulate: on the input's data when there is one (its activations
 * then measured by the program's own transfers), else each layer alone. */
static bool simulate(Model *m, const MapArgs *o, const GraphMap *chosen, const ArchSet *arch,
                     MapSimulation *sim)
{
    if (!o->input)
        return map_simulate(chosen, arch, sim);
    Array f32 = {0};
    if (!read_input(m->graph, o, &f32))
        return false;
    const float *inputs[1] = {f32.data};
    bool ok = map_simulate_measured(m->graph, chosen, arch, inputs, sim);
    array_free(&f32);
    return ok;
}

/* ---- the report ---- */

typedef struct Totals {
    double macs, energy, dram_bytes, cycles;
    double parts[BAR_PARTS];
    bool complete; /* every layer fits */
} Totals;

static void add_cost(Totals *t, const LayerCost *c)
{
    double parts[BAR_PARTS];
    energy_parts(c, parts);
    t->macs += c->macs;
    t->energy += c->energy_total;
    t->dram_bytes += c->dram_bytes;
    t->cycles += c->cycles;
    for (int k = 0; k < BAR_PARTS; k++)
        t->parts[k] += parts[k];
}

/* Totals of the mappings the IR records: every layer has one. */
static Totals chosen_totals(const GraphMap *gm)
{
    Totals t = {.complete = true};
    for (int i = 0; i < gm->n; i++)
        add_cost(&t, &gm->layers[i].choice[gm->layers[i].chosen].cost);
    return t;
}

/* Totals of one dataflow over the layers of one op (OP_COUNT: all). */
static Totals dataflow_totals(const GraphMap *gm, Dataflow d, int op)
{
    Totals t = {.complete = true};
    for (int i = 0; i < gm->n; i++) {
        const LayerMap *lm = &gm->layers[i];
        if (op != OP_COUNT && (int)lm->layer.op != op)
            continue;
        if (!lm->fits[d])
            t.complete = false;
        else
            add_cost(&t, &lm->choice[d].cost);
    }
    return t;
}

static void human(double v, char *buf, size_t size)
{
    if (v >= 1e9)
        snprintf(buf, size, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else
        snprintf(buf, size, "%.0f", v);
}

/* "16/16/41": the bits of an ifmap, a filter and a psum value. */
static void format_bits(const SpatialArch *a, const MapLayer *l, char *buf, size_t size)
{
    snprintf(buf, size, "%d/%d/%d", map_value_bits(a, l, DATA_IFMAP), map_value_bits(a, l, DATA_FILTER),
             map_value_bits(a, l, DATA_PSUM));
}

static void print_layer(const LayerMap *lm, const SpatialArch *a, bool verbose)
{
    const MapChoice *mc = &lm->choice[lm->chosen];
    const LayerCost *c = &mc->cost;
    double parts[BAR_PARTS];
    energy_parts(c, parts);
    char macs[32], e[32], cyc[32], prec[32], bits[32];
    human(c->macs, macs, sizeof macs);
    human(c->energy_total, e, sizeof e);
    human(c->cycles, cyc, sizeof cyc);
    map_precision_name(a, &lm->layer, prec, sizeof prec);
    format_bits(a, &lm->layer, bits, sizeof bits);
    printf("%-12s %-4s %-5s %-11s %-8s %8s %9s %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f %9.1f %5.1f%% %8s\n",
           lm->layer.name, op_name(lm->layer.op), dataflow_name(lm->chosen), prec, bits, macs, e,
           c->energy_total / c->macs, parts[BAR_ALU] / c->macs, parts[BAR_DRAM] / c->macs,
           parts[BAR_BUFFER] / c->macs, parts[BAR_ARRAY] / c->macs, parts[BAR_RF] / c->macs,
           c->dram_bytes / 1024, 100 * c->utilization, cyc);
    char map[512];
    mapping_format(&mc->mapping, map, sizeof map);
    printf("    %s\n", map);
    if (!verbose)
        return;
    printf("    %-8s %14s %14s %14s   energy by type: ifmap %.3g filter %.3g psum %.3g\n",
           "accesses", "ifmap", "filter", "psum", c->energy_type[DATA_IFMAP],
           c->energy_type[DATA_FILTER], c->energy_type[DATA_PSUM]);
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        printf("    %-8s %14.0f %14.0f %14.0f\n", mem_level_name((MemLevel)lv),
               c->access[lv][DATA_IFMAP], c->access[lv][DATA_FILTER], c->access[lv][DATA_PSUM]);
}

static void print_dataflow_table(const GraphMap *gm)
{
    printf("\nenergy / MAC by dataflow    %10s %10s %10s\n", "CONV", "FC", "all");
    for (int k = 0; k < dataflow_count; k++) {
        Dataflow d = dataflow_list[k];
        printf("  %-26s", dataflow_name(d));
        int ops[3] = {OP_CONV, OP_FC, OP_COUNT};
        for (int j = 0; j < 3; j++) {
            Totals t = dataflow_totals(gm, d, ops[j]);
            if (!t.complete)
                printf(" %10s", "-");
            else if (t.macs == 0)
                printf(" %10s", "");
            else
                printf(" %10.3f", t.energy / t.macs);
        }
        printf("\n");
    }
}

/* ---- energy per precision ---- */

typedef struct PrecisionGroup {
    char name[32], bits[32];
    int layers;
    Totals t;
} PrecisionGroup;

/* The chosen mappings' totals per precision, in the order the precisions
 * first appear; returns how many there are. */
static int precision_groups(const GraphMap *gm, const SpatialArch *a, PrecisionGroup *g, int max)
{
    int n = 0;
    for (int i = 0; i < gm->n; i++) {
        const LayerMap *lm = &gm->layers[i];
        char name[32];
        map_precision_name(a, &lm->layer, name, sizeof name);
        int k = 0;
        while (k < n && strcmp(g[k].name, name) != 0)
            k++;
        if (k == n) {
            if (n == max)
                continue; /* more precisions than a network of conv layers has kinds */
            g[n] = (PrecisionGroup){.t = {.complete = true}};
            snprintf(g[n].name, sizeof g[n].name, "%s", name);
            format_bits(a, &lm->layer, g[n].bits, sizeof g[n].bits);
            n++;
        }
        g[k].layers++;
        add_cost(&g[k].t, &lm->choice[lm->chosen].cost);
    }
    return n;
}

#define MAX_PRECISIONS 16

static void print_precision_table(const GraphMap *gm, const SpatialArch *a)
{
    PrecisionGroup g[MAX_PRECISIONS];
    int n = precision_groups(gm, a, g, MAX_PRECISIONS);
    Totals all = chosen_totals(gm);
    printf("\nenergy by precision   layers %8s %9s %6s %6s %9s  (bits: ifmap/filter/psum of the first)\n",
           "MACs", "energy", "E/MAC", "share", "DRAM KB");
    for (int k = 0; k < n; k++) {
        char macs[32], e[32];
        human(g[k].t.macs, macs, sizeof macs);
        human(g[k].t.energy, e, sizeof e);
        printf("  %-11s %-8s %6d %8s %9s %6.2f %5.1f%% %9.1f\n", g[k].name, g[k].bits, g[k].layers,
               macs, e, g[k].t.energy / g[k].t.macs, 100 * g[k].t.energy / all.energy,
               g[k].t.dram_bytes / 1024);
    }
}

/* What the float32 layers were costed at, when there are any. */
static void print_float_rule(const GraphMap *gm, const SpatialArch *a, const MapArgs *o)
{
    for (int i = 0; i < gm->n; i++) {
        const MapLayer *l = &gm->layers[i].layer;
        if (l->op == OP_CODED_CONV || !(l->precision.is_float || !l->precision.name[0]))
            continue;
        if (o->float_as == FLOAT_AS_WORD)
            printf("precision: float32 layers costed at the machine's %lld-bit word for every data "
                   "type and its energy.mac (--float-as word); their values are not quantised\n",
                   (long long)a->word_bits);
        else
            printf("precision: float32 layers costed as f32: 32-bit ifmap, filter and psum values, "
                   "a MAC %.2f times the 16-bit one's (--float-as word costs them at the machine's "
                   "word; --quantize quantises them)\n", l->precision.mac);
        return;
    }
}

/* chosen: the IR's mappings; compared: the free layers under every
 * dataflow, needed only for --dataflow best. */
/* chosen: the mappings the IR records; compared: every dataflow on the
 * layers left free (read only with --dataflow best). */
static void print_table(const GraphMap *chosen, const GraphMap *compared, const SpatialArch *base,
                        const MapArgs *o)
{
    int64_t batch = chosen->layers[0].layer.dim[DIM_N];
    printf("arch %s (%lldx%lld PEs, %lld KB buffer), batch %lld\n", base->name,
           (long long)base->pe_rows, (long long)base->pe_cols, (long long)(base->buffer_bytes / 1024),
           (long long)batch);
    print_float_rule(chosen, base, o);
    printf("%-12s %-4s %-5s %-11s %-8s %8s %9s %6s %6s %6s %6s %6s %6s %9s %6s %8s\n", "layer", "op",
           "flow", "precision", "bits", "MACs", "energy", "E/MAC", "alu", "dram", "buffer", "array",
           "rf", "DRAM KB", "util", "cycles");
    for (int i = 0; i < chosen->n; i++)
        print_layer(&chosen->layers[i], base, o->verbose);
    Totals t = chosen_totals(chosen);
    char macs[32], e[32], cyc[32];
    human(t.macs, macs, sizeof macs);
    human(t.energy, e, sizeof e);
    human(t.cycles, cyc, sizeof cyc);
    printf("%-12s %-4s %-5s %-11s %-8s %8s %9s %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f %9.1f %6s %8s\n",
           "total", "", "", "", "", macs, e, t.energy / t.macs, t.parts[BAR_ALU] / t.macs,
           t.parts[BAR_DRAM] / t.macs, t.parts[BAR_BUFFER] / t.macs, t.parts[BAR_ARRAY] / t.macs,
           t.parts[BAR_RF] / t.macs, t.dram_bytes / 1024, "", cyc);
    printf("\nDRAM traffic %.2f MB per image; %.1f ms per batch at %.0f MHz\n",
           t.dram_bytes / (double)batch / 1e6, t.cycles / (base->clock_mhz * 1e3), base->clock_mhz);
    print_precision_table(chosen, base);
    if (o->dataflow == DATAFLOW_AUTO)
        print_dataflow_table(compared);
}

static void json_parts(JsonWriter *w, const double parts[BAR_PARTS])
{
    json_begin_object(w);
    for (int k = 0; k < BAR_PARTS; k++) {
        json_key(w, energy_part_names[k]);
        json_double(w, parts[k]);
    }
    json_end_object(w);
}

static void json_cost(JsonWriter *w, const LayerCost *c)
{
    double parts[BAR_PARTS];
    energy_parts(c, parts);
    json_key(w, "macs"), json_double(w, c->macs);
    json_key(w, "energy"), json_double(w, c->energy_total);
    json_key(w, "energy_by_level"), json_parts(w, parts);
    json_key(w, "energy_by_type");
    json_begin_object(w);
    for (int t = 0; t < DATA_COUNT; t++) {
        json_key(w, data_type_name((DataType)t));
        json_double(w, c->energy_type[t]);
    }
    json_end_object(w);
    json_key(w, "accesses");
    json_begin_object(w);
    for (int lv = 0; lv < LEVEL_COUNT; lv++) {
        json_key(w, mem_level_name((MemLevel)lv));
        json_begin_object(w);
        for (int t = 0; t < DATA_COUNT; t++) {
            json_key(w, data_type_name((DataType)t));
            json_double(w, c->access[lv][t]);
        }
        json_end_object(w);
    }
    json_end_object(w);
    json_key(w, "dram_bytes"), json_double(w, c->dram_bytes);
    json_key(w, "cycles"), json_double(w, c->cycles);
    json_key(w, "utilization"), json_double(w, c->utilization);
    json_key(w, "active_pes"), json_int(w, c->active_pes);
}

static void json_mapping(JsonWriter *w, const Mapping *m)
{
    /* "buffer", not @mapping's "buf": the key predates @mapping. */
    static const char *const levels[LOOP_LEVELS] = {"rf", "pe", "cols", "rows", "buffer", "dram"};
    char text[512];
    mapping_format(m, text, sizeof text);
    json_begin_object(w);
    json_key(w, "text"), json_string(w, text);
    for (int lv = 0; lv < LOOP_LEVELS; lv++) {
        json_key(w, levels[lv]);
        json_begin_object(w);
        for (int d = 0; d < DIM_COUNT; d++) {
            json_key(w, dim_name((Dim)d));
            json_int(w, m->factor[lv][d]);
        }
        json_end_object(w);
    }
    json_end_object(w);
}

static void json_totals(JsonWriter *w, const Totals *t)
{
    json_begin_object(w);
    json_key(w, "macs"), json_double(w, t->macs);
    json_key(w, "energy"), json_double(w, t->energy);
    json_key(w, "dram_bytes"), json_double(w, t->dram_bytes);
    json_key(w, "cycles"), json_double(w, t->cycles);
    json_key(w, "energy_by_level"), json_parts(w, t->parts);
    json_key(w, "complete"), json_bool(w, t->complete);
    json_end_object(w);
}

/* The alternatives of one layer: every dataflow the comparison tried. */
static void json_alternatives(JsonWriter *w, const LayerMap *lm)
{
    json_begin_object(w);
    for (int k = 0; k < dataflow_count; k++) {
        Dataflow d = dataflow_list[k];
        if (!lm->tried[d])
            continue;
        json_key(w, dataflow_name(d));
        json_begin_object(w);
        if (lm->fits[d]) {
            json_key(w, "mappings_evaluated"), json_int(w, lm->choice[d].evaluated);
            json_cost(w, &lm->choice[d].cost);
            json_key(w, "mapping"), json_mapping(w, &lm->choice[d].mapping);
        } else {
            json_key(w, "error"), json_string(w, lm->why[d]);
        }
        json_end_object(w);
    }
    json_end_object(w);
}

/* "precision": "i8", "bits": {...}, "mac_energy": ... of one layer. */
static void json_precision(JsonWriter *w, const SpatialArch *a, const MapLayer *l)
{
    char name[32];
    map_precision_name(a, l, name, sizeof name);
    json_key(w, "precision"), json_string(w, name);
    json_key(w, "bits");
    json_begin_object(w);
    for (int t = 0; t < DATA_COUNT; t++) {
        json_key(w, data_type_name((DataType)t));
        json_int(w, map_value_bits(a, l, (DataType)t));
    }
    json_key(w, "output"), json_int(w, map_output_bits(a, l));
    json_end_object(w);
    json_key(w, "mac_energy"), json_double(w, map_mac_energy(a, l));
}

/* chosen: the layer as the IR maps it; compared: the same layer in the
 * comparison. */
static void json_layer(JsonWriter *w, const SpatialArch *a, const LayerMap *chosen,
                       const LayerMap *compared)
{
    const MapChoice *mc = &chosen->choice[chosen->chosen];
    json_begin_object(w);
    json_key(w, "name"), json_string(w, chosen->layer.name);
    json_key(w, "op"), json_string(w, op_name(chosen->layer.op));
    json_key(w, "shape");
    json_begin_object(w);
    for (int d = 0; d < DIM_COUNT; d++) {
        json_key(w, dim_name((Dim)d));
        json_int(w, chosen->layer.dim[d]);
    }
    json_key(w, "G"), json_int(w, chosen->layer.groups);
    json_end_object(w);
    json_key(w, "dataflow"), json_string(w, dataflow_name(chosen->chosen));
    json_precision(w, a, &chosen->layer);
    json_cost(w, &mc->cost);
    json_key(w, "mapping"), json_mapping(w, &mc->mapping);
    json_key(w, "dataflows"), json_alternatives(w, compared);
    json_end_object(w);
}

static void print_json(const GraphMap *chosen, const GraphMap *compared, const SpatialArch *base,
                       const MapArgs *o)
{
    JsonWriter w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model"), json_string(&w, o->model);
    json_key(&w, "arch"), json_string(&w, base->name);
    json_key(&w, "batch"), json_int(&w, chosen->layers[0].layer.dim[DIM_N]);
    json_key(&w, "dataflow");
    json_string(&w, o->dataflow == DATAFLOW_AUTO ? "best" : dataflow_name(o->dataflow));
    json_key(&w, "layers");
    json_begin_array(&w);
    for (int i = 0; i < chosen->n; i++)
        json_layer(&w, base, &chosen->layers[i], &compared->layers[i]);
    json_end_array(&w);
    Totals t = chosen_totals(chosen);
    json_key(&w, "total"), json_totals(&w, &t);
    json_key(&w, "float_as"), json_string(&w, float_as_names[o->float_as]);
    PrecisionGroup g[MAX_PRECISIONS];
    int n = precision_groups(chosen, base, g, MAX_PRECISIONS);
    json_key(&w, "precisions");
    json_begin_object(&w);
    for (int k = 0; k < n; k++) {
        json_key(&w, g[k].name);
        json_totals(&w, &g[k].t);
    }
    json_end_object(&w);
    json_key(&w, "dataflows");
    json_begin_object(&w);
    for (int k = 0; k < dataflow_count; k++) {
        Dataflow d = dataflow_list[k];
        if (o->dataflow != DATAFLOW_AUTO && d != o->dataflow)
            continue;
        json_key(&w, dataflow_name(d));
        json_begin_object(&w);
        static const char *const keys[3] = {"conv", "fc", "all"};
        int ops[3] = {OP_CONV, OP_FC, OP_COUNT};
        for (int j = 0; j < 3; j++) {
            Totals dt = dataflow_totals(compared, d, ops[j]);
            json_key(&w, keys[j]), json_totals(&w, &dt);
        }
        json_end_object(&w);
    }
    json_end_object(&w);
    json_end_object(&w);
    json_finish(&w);
}

/* ---- the pipeline ---- */

static void on_progress(void *ctx, int64_t done, int64_t total)
{
    Progress *p = ctx;
    p->total = total;
    progress_step(p, done);
}

static bool out_of_memory(void)
{
    fprintf(stderr, "dnnc map: error: out of memory\n");
    return false;
}

/* The CONV and FC layers whose mapping the user left to the pass (no
 * @mapping), with the @dataflow the user gave them, if any. The pass
 * records its choice on them like on every layer; reopening them undoes
 * that, so that the pass can decide again (under measured sparsity) and
 * the comparison can try every dataflow on them. */
typedef struct FreeLayers {
    char **names;
    Dataflow *dataflow;
    int n;
} FreeLayers;

static bool note_free_layers(const Graph *g, FreeLayers *f)
{
    f->n = 0;
    f->names = calloc((size_t)g->n_nodes + 1, sizeof *f->names);
    f->dataflow = calloc((size_t)g->n_nodes + 1, sizeof *f->dataflow);
    if (!f->names || !f->dataflow)
        return false;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if ((n->op != OP_CONV && n->op != OP_FC) || n->ann.mapping.present)
            continue;
        f->dataflow[f->n] = n->ann.dataflow;
        if (!(f->names[f->n++] = strdup(n->name)))
            return false;
    }
    return true;
}

static void reopen_free_layers(Graph *g, const FreeLayers *f)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < f->n; k++)
            if (strcmp(g->nodes[i].name, f->names[k]) == 0) {
                g->nodes[i].ann.dataflow = f->dataflow[k];
                g->nodes[i].ann.mapping = (MappingAnn){0};
            }
}

static void free_layers_release(FreeLayers *f)
{
    for (int k = 0; f->names && k < f->n; k++)
        free(f->names[k]);
    free(f->names);
    free(f->dataflow);
}

/* The pipeline with a progress bar (the one its mapping options report
 * to): map-dataflow's search is what takes time. */
static bool lower(Model *m, const PipelineArgs *pipeline, Diag *d, Progress *bar)
{
    progress_start(bar, "map-dataflow", 1);
    bool ok = model_optimize(m, NULL, pipeline, false, d);
    progress_finish(bar);
    return ok;
}

/* Only the target's lowering passes (--passes with an empty list): they
 * decide again what the annotations leave open and change nothing else, so
 * the graph keeps its tensor ids. */
static PipelineOptions lowering_only(const PipelineOptions *p)
{
    return (PipelineOptions){.opt_level = p->opt_level, .custom = true,
                             .verify_each = p->verify_each, .log = p->log};
}

/* Loads the model and runs the spatial pipeline on it with the machine and
 * the mapping options the command line gives: map-dataflow records the
 * mapping of every layer, --dataflow being a default for the layers without
 * @dataflow. With --input, the sparsity is measured on the graph the
 * pipeline produced (the statistics are indexed by its tensor ids) and the
 * pass decides again on the free layers under it. The caller frees m, f and
 * *measured. */
static bool prepare(const MapArgs *o, const ArchSet *arch, Model *m, FreeLayers *f,
                    ActStats **measured)
{
    Progress bar;
    MapOptions mo = {.batch = o->batch, .dataflow = o->dataflow, .relu_zero = o->sparsity,
                     .float_as_word = o->float_as == FLOAT_AS_WORD, .progress = on_progress,
                     .progress_ctx = &bar};
    PipelineArgs pipeline = o->pipeline;
    pipeline.arch = arch;
    pipeline.map = &mo;
    Diag d;
    diag_init(&d, stderr);
    if (!model_load(o->model, &o->weights, &d, m))
        return false;
    if (!note_free_layers(m->graph, f))
        return out_of_memory();
    if (!lower(m, &pipeline, &d, &bar))
        return false;
    if (!o->input)
        return true;
    if (!measure(m, o, &arch->base, measured))
        return false;
    mo.measured = *measured;
    reopen_free_layers(m->graph, f);
    pipeline.passes = lowering_only(&o->pipeline.passes);
    return lower(m, &pipeline, &d, &bar);
}

/* ---- the mappings reported ---- */

/* The mapping the IR records on every layer, evaluated with the options
 * the pass had (recorded, nothing searched). The pass evaluated the same
 * mapping with the same options, so each holds. */
static bool map_recorded(const Graph *g, const ArchSet *arch, const MapOptions *mo, GraphMap *out)
{
    if (!map_graph(g, arch, mo, out)) {
        graph_map_free(out);
        return out_of_memory();
    }
    for (int i = 0; i < out->n; i++) {
        const LayerMap *lm = &out->layers[i];
        if (!lm->recorded || lm->chosen == DATAFLOW_AUTO) {
            fprintf(stderr, "dnnc map: internal error: layer '%s' has no recorded mapping that "
                            "holds\n", lm->layer.name);
            graph_map_free(out);
            return false;
        }
    }
    return true;
}

/* The comparison between dataflows: a copy of the graph with the free
 * layers reopened, mapped under --dataflow (every dataflow for best).
 * The layer names of map point into graph. */
typedef struct Comparison {
    Graph *graph;
    GraphMap map;
} Comparison;

static bool compare_dataflows(const Graph *g, const ArchSet *arch, const FreeLayers *f,
                              const MapOptions *mo, Comparison *out)
{
    out->graph = graph_clone(g);
    if (!out->graph)
        return out_of_memory();
    reopen_free_layers(out->graph, f);
    Progress bar;
    MapOptions with_bar = *mo;
    with_bar.progress = on_progress;
    with_bar.progress_ctx = &bar;
    progress_start(&bar, "comparing dataflows", 1);
    bool ok = map_graph(out->graph, arch, &with_bar, &out->map);
    progress_finish(&bar);
    if (!ok)
        return out_of_memory();
    return true;
}

static void comparison_free(Comparison *c)
{
    graph_map_free(&c->map);
    graph_free(c->graph);
}

/* The text table reads the comparison only for --dataflow best. */
static bool needs_comparison(const MapArgs *o)
{
    return o->json || o->plot || o->dataflow == DATAFLOW_AUTO;
}

/* ---- the command ---- */

/* The plot first: a plot that cannot be written is an error with nothing
 * printed before it. */
static int report(const GraphMap *chosen, const GraphMap *compared, const MapSimulation *sim,
                  const ArchSet *arch, const MapArgs *o)
{
    char err[512];
    if (o->plot && !map_plot_svg(o->plot, chosen, compared, sim, o->model, err, sizeof err)) {
        fprintf(stderr, "dnnc map: error: %s\n", err);
        return EXIT_INPUT_ERROR;
    }
    if (o->json)
        print_json(chosen, compared, &arch->base, o);
    else
        print_table(chosen, compared, &arch->base, o);
    if (sim)
        map_simulation_print(chosen, sim);
    return EXIT_OK;
}

static int run_map(Model *m, const ArchSet *arch, const MapArgs *o, const FreeLayers *f,
                   const ActStats *measured)
{
    MapOptions mo = {.batch = o->batch, .dataflow = DATAFLOW_AUTO, .relu_zero = o->sparsity,
                     .measured = measured, .float_as_word = o->float_as == FLOAT_AS_WORD};
    GraphMap chosen;
    if (!map_recorded(m->graph, arch, &mo, &chosen))
        return EXIT_INPUT_ERROR;
    mo.dataflow = o->dataflow;
    Comparison compared = {0};
    MapSimulation sim = {0};
    int rc = EXIT_INPUT_ERROR;
    if (chosen.n == 0)
        fprintf(stderr, "dnnc map: error: %s has no CONV or FC layer to map\n", o->model);
    else if (o->simulate && !simulate(m, o, &chosen, arch, &sim))
        rc = EXIT_INPUT_ERROR;
    else if (!needs_comparison(o))
        rc = report(&chosen, NULL, o->simulate ? &sim : NULL, arch, o);
    else if (compare_dataflows(m->graph, arch, f, &mo, &compared))
        rc = report(&chosen, &compared.map, o->simulate ? &sim : NULL, arch, o);
    map_simulation_free(&sim);
    comparison_free(&compared);
    graph_map_free(&chosen);
    return rc;
}

static void apply_overrides(ArchSet *s, const MapArgs *o)
{
    for (int d = 0; d < DATAFLOW_KINDS; d++) {
        SpatialArch *a = d == 0 ? &s->base : &s->variant[d];
        if (o->rlc >= 0)
            a->rlc = o->rlc;
        if (o->zero_skip >= 0)
            a->zero_skip = o->zero_skip;
    }
}

int cmd_map(int argc, char **argv)
{
    MapArgs o = {.arch = "eyeriss", .dataflow = DATAFLOW_AUTO, .sparsity = 0.5, .rlc = -1,
                 .zero_skip = -1};
    int rc = model_command_parse(&cmd_map_spec, argc, argv, &o, &o.pipeline, "spatial",
                                 LEVEL_OF_TARGET);
    if (rc != OPTIONS_PARSED)
        return rc;
    if (o.input && !o.weights.weights && !o.weights.random)
        return usage_error("map", "--input needs --weights or --random-weights to run the network");
    if (o.simulate && o.json)
        return usage_error("map", "--simulate prints a table; it does not combine with --json yet");
    if (o.simulate && o.input && o.batch)
        return usage_error("map", "--simulate with --input runs the network's own batch; "
                                  "--batch does not combine with them");
    ArchSet *arch = malloc(sizeof *arch);
    if (!arch)
        return EXIT_INPUT_ERROR;
    if (!arch_load(o.arch, arch, stderr)) {
        bool builtin_name = !strchr(o.arch, '/') && !strchr(o.arch, '.');
        free(arch);
        return builtin_name ? EXIT_USAGE : EXIT_INPUT_ERROR;
    }
    apply_overrides(arch, &o);
    Model m;
    FreeLayers free_layers = {0};
    ActStats *measured = NULL;
    rc = prepare(&o, arch, &m, &free_layers, &measured)
             ? run_map(&m, arch, &o, &free_layers, measured)
             : EXIT_INPUT_ERROR;
    free(measured);
    free_layers_release(&free_layers);
    model_free(&m);
    free(arch);
    return rc;
}
