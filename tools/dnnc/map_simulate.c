/* `dnnc map --simulate`: every mapped layer compiled to the accelerator's
 * instruction stream (codegen/spatial) and executed by the simulator
 * (runtime/spatial), its counted accesses, cycles and energy beside the
 * analytical model's for the same mapping (docs/accelerator.md, "The model
 * against the simulator").
 *
 * Without data, each layer runs alone on zeros with compression and zero
 * skipping off in both: the model would take zeros as a fraction, and only
 * dense counts are comparable number for number. With data (--input, on a
 * fixed16 network), the whole program runs on the reference executor's
 * activations with the machine's compression and zero skipping, and the
 * model is given what the program's transfers and MACs met in those data
 * (sim_data_stats): then every count compares too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_report.h"
#include "progress.h"
#include "sparsity.h"
#include "spatial_codegen.h"
#include "spatial_graph.h"

static SpatialArch dense(const SpatialArch *a)
{
    SpatialArch d = *a;
    d.rlc = false;
    d.zero_skip = false;
    return d;
}

/* The layer at the simulator's precision: it moves the machine's words
 * (16 bits on eyeriss) for every data type, psums included, and computes
 * fixed point of that width. A layer of that width (fixed16) or a float32
 * one, whose shape alone is compared, is modelled at the word; any other is
 * refused rather than compared at a width it does not have. */
static bool at_simulator_words(const SpatialArch *a, const MapLayer *l, MapLayer *out, char *err,
                               size_t errsz)
{
    const MapPrecision *p = &l->precision;
    bool float_layer = p->is_float && l->op != OP_CODED_CONV;
    bool word = map_value_bits(a, l, DATA_IFMAP) == a->word_bits &&
                map_value_bits(a, l, DATA_FILTER) == a->word_bits && !p->is_float;
    if (!float_layer && !word) {
        char name[32];
        map_precision_name(a, l, name, sizeof name);
        snprintf(err, errsz, "its precision is %s (%d-bit ifmap, %d-bit filter), and the simulator "
                 "computes the machine's %lld-bit words only: --simulate takes fixed16 (or float32, "
                 "compared as %lld-bit words) layers", name, map_value_bits(a, l, DATA_IFMAP),
                 map_value_bits(a, l, DATA_FILTER), (long long)a->word_bits, (long long)a->word_bits);
        return false;
    }
    *out = *l;
    memset(&out->precision, 0, sizeof out->precision);
    return true;
}

/* How many access counts of the simulation differ from the model's. */
static int differences(const SimLayerCounts *s, const LayerCost *c)
{
    int n = 0;
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        for (int t = 0; t < DATA_COUNT; t++)
            n += fabs(s->access[lv][t] - c->access[lv][t]) > 1e-9 * fmax(1, c->access[lv][t]);
    return n + (s->macs != c->macs) + (fabs(s->alu_ops - c->alu_ops) > 1e-9 * fmax(1, c->alu_ops)) +
           (fabs(s->cycles - c->cycles) > 1e-9 * fmax(1, c->cycles));
}

/* Runs one layer's program with zero data (counts only). */
static bool simulate(const SpatialArch *a, const LayerMap *lm, SimLayerCounts *out, char *err,
                     size_t errsz)
{
    IsaProgram p;
    SpatialLayerPlan plan;
    const Mapping *m = &lm->choice[lm->chosen].mapping;
    MapLayer l;
    bool ok = at_simulator_words(a, &lm->layer, &l, err, errsz) &&
              spatial_layer_program(a, &l, m, NULL, &p, &plan, err, errsz);
    int64_t *dram = ok ? calloc(plan.words, sizeof *dram) : NULL;
    if (ok && !dram) {
        snprintf(err, errsz, "out of memory for %llu DRAM words", (unsigned long long)plan.words);
        ok = false;
    }
    SimOptions so = {.count_only = true};
    SimResult r;
    if (ok && (ok = sim_run(&p, dram, &so, &r, err, errsz))) {
        sim_layer_total(&r, 0, out);
        sim_result_free(&r);
    }
    free(dram);
    isa_program_free(&p);
    return ok;
}

static void print_row(const LayerMap *lm, const LayerCost *c, const SimLayerCounts *s, int diff,
                      const double *estimated)
{
    bool measured = estimated != NULL;
    printf("%-20.20s %-5s %12.4g %12.4g %12.4g %12.4g  %-*s", lm->layer.name,
           dataflow_name(lm->chosen), c->energy_total, s->energy, c->cycles, s->cycles,
           measured ? 6 : 0, diff ? "differ" : "equal");
    /* The model's estimate from each tensor's zero fraction, against the
     * measured counts: how far the density-based figure is off. */
    if (measured)
        printf(" %12.4g %+7.1f%%", *estimated, 100 * (*estimated / s->energy - 1));
    printf("\n");
}

bool map_simulate(const GraphMap *gm, const ArchSet *arch, MapSimulation *out)
{
    out->n = gm->n;
    out->model = calloc((size_t)gm->n, sizeof *out->model);
    out->sim = calloc((size_t)gm->n, sizeof *out->sim);
    if (!out->model || !out->sim) {
        fprintf(stderr, "dnnc map: error: out of memory\n");
        map_simulation_free(out);
        return false;
    }
    Progress bar;
    progress_start(&bar, "simulating", gm->n);
    bool ok = true;
    for (int i = 0; i < gm->n && ok; i++) {
        const LayerMap *lm = &gm->layers[i];
        SpatialArch a = dense(arch_for(arch, lm->chosen));
        char err[512] = "";
        MapLayer l;
        ok = at_simulator_words(&a, &lm->layer, &l, err, sizeof err) &&
             map_evaluate(&a, &l, &lm->choice[lm->chosen].mapping, &out->model[i], err, sizeof err) &&
             simulate(&a, lm, &out->sim[i], err, sizeof err);
        if (!ok)
            fprintf(stderr, "dnnc map: error: layer '%s': %s\n", lm->layer.name, err);
        progress_step(&bar, i + 1);
    }
    progress_finish(&bar);
    if (!ok)
        map_simulation_free(out);
    return ok;
}

void map_simulation_print(const GraphMap *gm, const MapSimulation *s)
{
    if (s->measured)
        printf("\nsimulated (the fixed16 program on the simulator, on the reference's activations; "
               "the model given the statistics the program met in them):\n");
    else
        printf("\nsimulated (the instruction stream on the simulator; compression and zero "
               "skipping off in both; every layer at the machine's word, as the simulator moves it):\n");
    printf("%-20s %-5s %12s %12s %12s %12s  %-6s%s\n", "layer", "df", "energy model", "energy sim",
           "cycles model", "cycles sim", "counts",
           s->measured ? "   estimated      off" : "");
    int equal = 0;
    for (int i = 0; i < s->n; i++) {
        int diff = differences(&s->sim[i], &s->model[i]);
        equal += diff == 0;
        print_row(&gm->layers[i], &s->model[i], &s->sim[i], diff,
                  s->measured ? &s->estimated[i] : NULL);
    }
    printf("%d of %d layers: every access count, MACs performed and cycles equal to the model's\n",
           equal, s->n);
    if (!s->measured)
        return;
    printf("estimated: the model from each tensor's zero fraction (the figures above the table), "
           "off by that much\n");
    printf("outputs: %lld of the %lld DRAM words differ from the reference executor's after the "
           "run\n", (long long)s->words_differ, (long long)s->words_checked);
}

void map_simulation_free(MapSimulation *s)
{
    free(s->model);
    free(s->sim);
    free(s->estimated);
    s->model = NULL;
    s->sim = NULL;
    s->estimated = NULL;
    s->n = 0;
}

/* ---- On data ---- */

/* The DRAM image: the program's weights, and every activation the
 * accelerator addresses as the reference executor computed it. Written in
 * the graph's order, so that where a folded ReLU shares the words of its
 * conv, the words hold the ReLU's output, as the accelerator leaves them. */
static int64_t *reference_image(const Graph *g, const SpatialGraphCode *code, void *const *values,
                                char *err, size_t errsz)
{
    uint64_t words = code->program.dram_words;
    int64_t *dram = calloc(words ? words : 1, sizeof *dram);
    if (!dram) {
        snprintf(err, errsz, "out of memory for %llu DRAM words", (unsigned long long)words);
        return NULL;
    }
    if (!isa_dram_apply(&code->image, dram, words, err, errsz)) {
        free(dram);
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        int t = g->nodes[i].output;
        if (code->base[t] == SPATIAL_NO_DRAM || !values[t] || g->tensors[t].type.kind != ELEM_I16)
            continue;
        const int16_t *v = values[t];
        for (int64_t k = 0; k < shape_elems(&g->tensors[t].shape); k++)
            dram[code->base[t] + (uint64_t)k] = v[k];
    }
    return dram;
}

/* After the run: every DRAM word against the reference's image. */
static void check_outputs(const int64_t *want, const int64_t *dram, uint64_t words,
                          MapSimulation *out)
{
    for (uint64_t i = 0; i < words; i++)
        out->words_differ += dram[i] != want[i];
    out->words_checked = (int64_t)words;
}

static int64_t program_layer(const IsaProgram *p, const char *name)
{
    for (size_t i = 0; i < p->n_layers; i++)
        if (strcmp(p->layers[i], name) == 0)
            return (int64_t)i;
    return -1;
}

/* The model of every layer of gm, given what its program met in the data. */
static bool model_measured(const GraphMap *gm, const SpatialArch *a, const IsaProgram *p,
                           const SimDataStats *stats, const SimLayerCounts *counts,
                           MapSimulation *out)
{
    for (int i = 0; i < gm->n; i++) {
        const LayerMap *lm = &gm->layers[i];
        const Mapping *m = &lm->choice[lm->chosen].mapping;
        int64_t id = program_layer(p, lm->layer.name);
        char why[512] = "the program has no such layer";
        MapLayer l;
        LayerCost estimate; /* from the zero fractions, at the simulator's words */
        bool ok = at_simulator_words(a, &lm->layer, &l, why, sizeof why) &&
                  map_evaluate(a, &l, m, &estimate, why, sizeof why) && id >= 0;
        if (ok) {
            out->estimated[i] = estimate.energy_total;
            spatial_measured_layer(&l, &stats[id], a->word_bits);
            ok = map_evaluate(a, &l, m, &out->model[i], why, sizeof why);
        }
        if (!ok) {
            fprintf(stderr, "dnnc map: error: layer '%s': %s\n", lm->layer.name, why);
            return false;
        }
        out->sim[i] = counts[id];
    }
    return true;
}

static bool run_on(Graph *g, const GraphMap *gm, const SpatialArch *a, void *const *values,
                   const SpatialGraphCode *code, MapSimulation *out, char *err, size_t errsz)
{
    size_t layers = code->program.n_layers;
    SimDataStats *stats = calloc(layers + 1, sizeof *stats);
    SimLayerCounts *counts = calloc(layers + 1, sizeof *counts);
    uint64_t words = code->program.dram_words;
    int64_t *want = stats && counts ? reference_image(g, code, values, err, errsz) : NULL;
    int64_t *dram = want ? malloc((words ? words : 1) * sizeof *dram) : NULL;
    bool ok = dram && sim_data_stats(&code->program, want, stats, err, errsz);
    if (!stats || !counts || (want && !dram))
        snprintf(err, errsz, "out of memory");
    if (dram)
        memcpy(dram, want, words * sizeof *dram);
    Progress bar;
    progress_start(&bar, "simulating", code->n_steps);
    for (int i = 0; ok && i < code->n_steps; i++) {
        if (code->steps[i].kind == SPATIAL_STEP_SEGMENT)
            ok = spatial_run_segment(code, &code->steps[i], dram, &(SimOptions){0}, counts, err,
                                     errsz);
        progress_step(&bar, i + 1);
    }
    progress_finish(&bar);
    if (ok)
        check_outputs(want, dram, words, out);
    bool modelled = ok && model_measured(gm, a, &code->program, stats, counts, out);
    if (ok && !modelled)
        err[0] = '\0'; /* model_measured said why */
    ok = modelled;
    free(want);
    free(dram);
    free(counts);
    free(stats);
    return ok;
}

bool map_simulate_measured(Graph *g, const GraphMap *gm, const ArchSet *arch,
                           const float *const *inputs, MapSimulation *out)
{
    *out = (MapSimulation){.n = gm->n, .measured = true};
    out->model = calloc((size_t)gm->n + 1, sizeof *out->model);
    out->sim = calloc((size_t)gm->n + 1, sizeof *out->sim);
    out->estimated = calloc((size_t)gm->n + 1, sizeof *out->estimated);
    void **values = calloc((size_t)g->n_tensors + 1, sizeof *values);
    char err[512] = "out of memory";
    SpatialGraphCode code = {0};
    bool ok = out->model && out->sim && out->estimated && values &&
              sparsity_run_every_tensor(g, (const void *const *)inputs, values, err, sizeof err);
    if (ok && !spatial_emit_graph(g, &arch->base, &code, err, sizeof err)) {
        fprintf(stderr, "dnnc map: error: --simulate on data runs the fixed16 program "
                        "(dnnc quantize --mode fixed16 --quantize-first-last makes one): %s\n", err);
        err[0] = '\0';
        ok = false;
    } else if (ok) {
        err[0] = '\0';
        ok = run_on(g, gm, &arch->base, values, &code, out, err, sizeof err);
    }
    if (!ok && err[0])
        fprintf(stderr, "dnnc map: error: %s\n", err);
    spatial_graph_code_free(&code);
    for (int t = 0; values && t < g->n_tensors; t++)
        free(values[t]);
    free(values);
    if (!ok)
        map_simulation_free(out);
    return ok;
}
