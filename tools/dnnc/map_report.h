/* Shared by cmd_map.c and map_plot.c: per-layer energy of a network mapping
 * summed by level, and the SVG plot of it (survey Figs. 33-35). */
#ifndef DNNC_MAP_REPORT_H
#define DNNC_MAP_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "map.h"
#include "sim.h"

/* Energy split the way the survey draws it: ALU and the four levels. */
enum { BAR_ALU, BAR_DRAM, BAR_BUFFER, BAR_ARRAY, BAR_RF, BAR_PARTS };

void energy_parts(const LayerCost *c, double parts[BAR_PARTS]);
extern const char *const energy_part_names[BAR_PARTS]; /* alu, dram, buffer, array, rf */



/* Every layer of a mapping compiled to the accelerator's instruction stream
 * under its chosen mapping and run on the simulator, beside the model's
 * evaluation of the same mapping; both without compression and zero
 * skipping (map_simulate.c). */
typedef struct MapSimulation {
    LayerCost *model;
    SimLayerCounts *sim;
    double *estimated; /* on data: the model's energy from the zero fractions, at the same words */
    int n;
    /* On data (map_simulate_measured): the activation words of the
     * accelerator's layers checked against the reference's, and how many
     * differ. */
    bool measured;
    int64_t words_checked, words_differ;
} MapSimulation;

/* False, after an error message, if a layer cannot be compiled or run. */
bool map_simulate(const GraphMap *gm, const ArchSet *arch, MapSimulation *out);

/* The whole program of g (a mapped fixed16 graph) on the simulator, with
 * the machine's compression and zero skipping, on the activations the
 * reference executor computes from inputs (one float32 array per graph
 * input); the model of each layer of gm given the statistics its program
 * met in them (spatial_measured_layer). False, after an error message, if
 * the graph is not one the accelerator runs or the run fails. */
bool map_simulate_measured(Graph *g, const GraphMap *gm, const ArchSet *arch,
                           const float *const *inputs, MapSimulation *out);
void map_simulation_print(const GraphMap *gm, const MapSimulation *s);
void map_simulation_free(MapSimulation *s);

/* Writes the stacked-bar plot: energy per MAC of the CONV and of the FC
 * layers under each dataflow of the comparison `compared` (Figs. 33, 34),
 * energy per layer under the mappings the IR records, `chosen` (Fig. 35),
 * and with a simulation (else NULL) each layer's energy by the model and by
 * the simulator side by side. False, with the reason in err, if the file
 * cannot be written. */
bool map_plot_svg(const char *path, const GraphMap *chosen, const GraphMap *compared,
                  const MapSimulation *sim, const char *title, char *err, size_t errsz);

#endif
