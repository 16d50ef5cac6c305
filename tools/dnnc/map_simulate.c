/* `dnnc map --simulate`: every mapped layer compiled to the accelerator's
 * instruction stream (codegen/spatial) and executed by the simulator
 * (runtime/spatial), its counted accesses, cycles and energy beside the
 * analytical model's for the same mapping (docs/accelerator.md, "The model
 * against the simulator"). Both run with compression and zero skipping off:
 * the simulator counts what its data hold, the model takes zeros as a
 * fraction, and only dense counts are comparable number for number. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "map_report.h"
#include "progress.h"
#include "spatial_codegen.h"

static SpatialArch dense(const SpatialArch *a)
{
    SpatialArch d = *a;
    d.rlc = false;
    d.zero_skip = false;
    return d;
}

/* How many access counts of the simulation differ from the model's. */
static int differences(const SimLayerCounts *s, const LayerCost *c)
{
    int n = 0;
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        for (int t = 0; t < DATA_COUNT; t++)
            n += fabs(s->access[lv][t] - c->access[lv][t]) > 1e-9 * fmax(1, c->access[lv][t]);
    return n + (s->macs != c->macs);
}

/* Runs one layer's program with zero data (counts only). */
static bool simulate(const SpatialArch *a, const LayerMap *lm, SimLayerCounts *out, char *err,
                     size_t errsz)
{
    IsaProgram p;
    SpatialLayerPlan plan;
    const Mapping *m = &lm->choice[lm->chosen].mapping;
    bool ok = spatial_layer_program(a, &lm->layer, m, NULL, &p, &plan, err, errsz);
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

static void print_row(const LayerMap *lm, const LayerCost *c, const SimLayerCounts *s, int diff)
{
    printf("%-20.20s %-5s %12.4g %12.4g %12.4g %12.4g  %s\n", lm->layer.name,
           dataflow_name(lm->chosen), c->energy_total, s->energy, c->cycles, s->cycles,
           diff ? "differ" : "equal");
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
        ok = map_evaluate(&a, &lm->layer, &lm->choice[lm->chosen].mapping, &out->model[i], err,
                          sizeof err) &&
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
    printf("\nsimulated (the instruction stream on the simulator; compression and zero "
           "skipping off in both):\n");
    printf("%-20s %-5s %12s %12s %12s %12s  %s\n", "layer", "df", "energy model", "energy sim",
           "cycles model", "cycles sim", "accesses");
    int equal = 0;
    for (int i = 0; i < s->n; i++) {
        int diff = differences(&s->sim[i], &s->model[i]);
        equal += diff == 0;
        print_row(&gm->layers[i], &s->model[i], &s->sim[i], diff);
    }
    printf("%d of %d layers: every access count equal to the model's\n", equal, s->n);
}

void map_simulation_free(MapSimulation *s)
{
    free(s->model);
    free(s->sim);
    s->model = NULL;
    s->sim = NULL;
    s->n = 0;
}
