/* dnnc map --plot: the energy breakdown as stacked bars, in the manner of
 * the survey's Figs. 33-35. Plain SVG, no dependencies. */
#include <stdio.h>
#include <string.h>

#include "dataflow.h"
#include "map_report.h"
#include "outfile.h"

const char *const energy_part_names[BAR_PARTS] = {"alu", "dram", "buffer", "array", "rf"};
static const char *const part_colors[BAR_PARTS] = {"#4e79a7", "#e15759", "#f28e2b", "#76b7b2",
                                                   "#59a14f"};

void energy_parts(const LayerCost *c, double parts[BAR_PARTS])
{
    parts[BAR_ALU] = c->energy_alu;
    parts[BAR_DRAM] = c->energy[LEVEL_DRAM];
    parts[BAR_BUFFER] = c->energy[LEVEL_BUFFER];
    parts[BAR_ARRAY] = c->energy[LEVEL_ARRAY];
    parts[BAR_RF] = c->energy[LEVEL_RF];
}

typedef struct Bar {
    char label[64];
    double parts[BAR_PARTS];
    bool valid;
} Bar;

typedef struct Panel {
    const char *title, *unit;
    Bar bars[64];
    int n;
} Panel;

#define PANEL_W 460
#define PANEL_H 300
#define MARGIN 60

static double bar_total(const Bar *b)
{
    double t = 0;
    for (int k = 0; k < BAR_PARTS; k++)
        t += b->parts[k];
    return t;
}

static void draw_panel(FILE *f, const Panel *p, double x0, double y0)
{
    double top = 0;
    for (int i = 0; i < p->n; i++)
        if (p->bars[i].valid && bar_total(&p->bars[i]) > top)
            top = bar_total(&p->bars[i]);
    if (top <= 0)
        top = 1;
    double plot_h = PANEL_H - 90, base = y0 + 30 + plot_h;
    double slot = (PANEL_W - MARGIN) / (p->n ? p->n : 1), bw = slot * 0.6;
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='14' font-weight='bold'>%s</text>\n", x0 + 10,
            y0 + 18, p->title);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='black'/>\n", x0 + MARGIN,
            base, x0 + PANEL_W, base);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='black'/>\n", x0 + MARGIN,
            base, x0 + MARGIN, base - plot_h);
    for (int t = 0; t <= 4; t++) {
        double v = top * t / 4, y = base - plot_h * t / 4;
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%.3g</text>\n",
                x0 + MARGIN - 4, y + 3, v);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' transform='rotate(-90 %.1f %.1f)'>%s</text>\n",
            x0 + 14, base - plot_h / 2, x0 + 14, base - plot_h / 2, p->unit);
    for (int i = 0; i < p->n; i++) {
        const Bar *b = &p->bars[i];
        double x = x0 + MARGIN + slot * i + (slot - bw) / 2, y = base;
        for (int k = 0; b->valid && k < BAR_PARTS; k++) {
            double h = plot_h * b->parts[k] / top;
            y -= h;
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'>"
                       "<title>%s %s: %.4g</title></rect>\n",
                    x, y, bw, h, part_colors[k], b->label, energy_part_names[k], b->parts[k]);
        }
        if (!b->valid)
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='9' text-anchor='middle'>n/a</text>\n",
                    x + bw / 2, base - 4);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end' "
                   "transform='rotate(-45 %.1f %.1f)'>%s</text>\n",
                x + bw / 2, base + 12, x + bw / 2, base + 12, b->label);
    }
}

/* Energy per MAC of the layers of one kind under each dataflow; a dataflow
 * that cannot map one of them gets no bar. */
static void dataflow_panel(const GraphMap *gm, OpKind op, Panel *p)
{
    p->n = 0;
    for (int k = 0; k < dataflow_count; k++) {
        Dataflow d = dataflow_list[k];
        Bar *b = &p->bars[p->n++];
        snprintf(b->label, sizeof b->label, "%s", dataflow_name(d));
        memset(b->parts, 0, sizeof b->parts);
        double macs = 0;
        b->valid = true;
        int layers = 0;
        for (int i = 0; i < gm->n; i++) {
            const LayerMap *lm = &gm->layers[i];
            if (lm->layer.op != op)
                continue;
            layers++;
            if (!lm->fits[d]) {
                b->valid = false;
                continue;
            }
            double parts[BAR_PARTS];
            energy_parts(&lm->choice[d].cost, parts);
            for (int j = 0; j < BAR_PARTS; j++)
                b->parts[j] += parts[j];
            macs += lm->choice[d].cost.macs;
        }
        b->valid = b->valid && layers > 0 && macs > 0;
        for (int j = 0; b->valid && j < BAR_PARTS; j++)
            b->parts[j] /= macs;
    }
}

/* Every layer has the mapping the IR records. */
static void layer_panel(const GraphMap *chosen, Panel *p)
{
    p->n = 0;
    for (int i = 0; i < chosen->n && p->n < 64; i++) {
        const LayerMap *lm = &chosen->layers[i];
        Bar *b = &p->bars[p->n++];
        snprintf(b->label, sizeof b->label, "%.40s", lm->layer.name);
        b->valid = true;
        energy_parts(&lm->choice[lm->chosen].cost, b->parts);
    }
}

/* Each layer twice: the model's energy, then the simulator's. */
static void simulation_panel(const GraphMap *chosen, const MapSimulation *sim, Panel *p)
{
    p->n = 0;
    for (int i = 0; i < sim->n && p->n + 2 <= 64; i++) {
        Bar *m = &p->bars[p->n++], *s = &p->bars[p->n++];
        snprintf(m->label, sizeof m->label, "%.32s", chosen->layers[i].layer.name);
        snprintf(s->label, sizeof s->label, "simulated");
        m->valid = s->valid = true;
        energy_parts(&sim->model[i], m->parts);
        const SimLayerCounts *c = &sim->sim[i];
        s->parts[BAR_ALU] = c->energy_alu;
        s->parts[BAR_DRAM] = c->energy_level[SIM_LEVEL_DRAM];
        s->parts[BAR_BUFFER] = c->energy_level[SIM_LEVEL_BUFFER];
        s->parts[BAR_ARRAY] = c->energy_level[SIM_LEVEL_ARRAY];
        s->parts[BAR_RF] = c->energy_level[SIM_LEVEL_RF];
    }
}

static void legend(FILE *f, double x, double y)
{
    for (int k = 0; k < BAR_PARTS; k++) {
        fprintf(f, "<rect x='%.1f' y='%.1f' width='12' height='12' fill='%s'/>\n", x + 80.0 * k, y,
                part_colors[k]);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11'>%s</text>\n", x + 80.0 * k + 16, y + 10,
                energy_part_names[k]);
    }
}

bool map_plot_svg(const char *path, const GraphMap *chosen, const GraphMap *compared,
                  const MapSimulation *sim, const char *title, char *err, size_t errsz)
{
    OutFile out;
    if (!outfile_open(&out, path, err, errsz))
        return false;
    FILE *f = out.f;
    static Panel conv, fc, layers, simulated;
    conv.title = "CONV layers: energy per MAC by dataflow (Fig. 33)";
    fc.title = "FC layers: energy per MAC by dataflow (Fig. 34)";
    layers.title = "Energy per layer, chosen dataflow (Fig. 35)";
    conv.unit = fc.unit = "energy / MAC (MAC = 1)";
    layers.unit = "energy (MAC = 1)";
    dataflow_panel(compared, OP_CONV, &conv);
    dataflow_panel(compared, OP_FC, &fc);
    layer_panel(chosen, &layers);
    simulated.title = "Energy per layer: model, then simulator (dense)";
    simulated.unit = "energy (MAC = 1)";
    if (sim)
        simulation_panel(chosen, sim, &simulated);
    int panels = sim ? 4 : 3;
    double width = panels * (PANEL_W + 10) + 10, height = PANEL_H + 80;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
               "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            width, height);
    fprintf(f, "<text x='10' y='20' font-size='16'>");
    for (const char *c = title; *c; c++) /* the title is a file name: escape it */
        fputs(*c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : (char[2]){*c, 0}, f);
    fprintf(f, "</text>\n");
    legend(f, 10, 34);
    draw_panel(f, &conv, 10, 60);
    draw_panel(f, &fc, 10 + PANEL_W + 10, 60);
    draw_panel(f, &layers, 10 + 2 * (PANEL_W + 10), 60);
    if (sim)
        draw_panel(f, &simulated, 10 + 3 * (PANEL_W + 10), 60);
    fprintf(f, "</svg>\n");
    /* Whole or not at all: a failed write leaves no partial SVG. */
    return outfile_commit(&out, err, errsz);
}
