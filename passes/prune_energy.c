/* Energy-aware pruning (survey VII-B1; Yang, Chen and Sze, "Designing
 * Energy-Efficient Convolutional Neural Networks using Energy-Aware
 * Pruning", CVPR 2017), without its fine-tuning, which is training.
 *
 * The number of weights is a poor proxy for energy: a conv weight serves
 * thousands of MACs, an fc weight one MAC but a DRAM read, and a zero saves
 * energy only where the machine gates its MAC or codes its run. So the
 * weights go where energy falls most for the accuracy they cost, both
 * measured, each layer pruned by magnitude:
 *
 *   - energy: each layer's energy on the spatial machine (dnnc map's model)
 *     at each density of a fixed grid, the layers pruned to it;
 *   - cost: the calibration samples whose top-1 class changes against the
 *     unpruned network's (the teacher; labels are not needed) when that one
 *     layer is pruned to each density, the others whole;
 *   - greedy: from every layer whole, the step (one layer to a lower grid
 *     density) of largest energy saved per sample changed (+1) is taken,
 *     then the next, until the weights left reach --density or, without
 *     one, while the whole network so pruned keeps the samples that change
 *     within max_drop per cent (a step that would break it is undone and
 *     ends its layer's pruning).
 * The steps are ranked on layers pruned alone, which is cheap (layers x
 * grid runs), and each accepted on the network as pruned, which is what
 * counts. With --density the last step stops at exactly the weights that
 * reach it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "pass.h"
#include "prune.h"
#include "reference.h"

/* The densities a layer may take: finer where few weights are left, as
 * the accuracy changes most there. */
static const double density_grid[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2,
                                      0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01};
#define GRID_POINTS (int)(sizeof density_grid / sizeof *density_grid)

typedef struct EnergyLayer {
    int node;                      /* its id */
    float *weights;                /* the graph's (fresh) storage */
    float *original;               /* a copy of the weights as they were */
    int64_t n, kept;               /* weights, and those kept now */
    double energy[GRID_POINTS];    /* on the machine, pruned to each grid density */
    int64_t changed[GRID_POINTS];  /* samples changed, pruned alone to each */
    int at;                        /* the grid density it is at */
    bool closed;                   /* a step further broke the allowance */
} EnergyLayer;

/* The runs of the network on the calibration data. */
typedef struct Trial {
    Graph *g;
    const PruneOptions *po;
    int32_t *teacher;        /* per sample */
    int64_t per_batch, classes, samples;
    void **outputs;          /* one buffer per graph output */
    int64_t *scratch;        /* PRUNE_SCRATCH counts */
    char err[256];
} Trial;

static int64_t llmax(int64_t a, int64_t b) { return a > b ? a : b; }

double *prune_layer_energies(const Graph *g, const ArchSet *arch)
{
    double *e = malloc(((size_t)g->n_nodes + 1) * sizeof *e);
    /* Pruning ranks the float network's layers as the 16-bit machine would
     * run them (docs/pruning.md's figures): at the machine's word, as
     * before per-layer precision (docs/accelerator.md, "Precision"). */
    MapOptions mo = {.dataflow = DATAFLOW_AUTO, .relu_zero = 0.5, .float_as_word = true};
    GraphMap gm;
    if (!e || !map_graph(g, arch, &mo, &gm)) {
        free(e);
        return NULL;
    }
    for (int i = 0; i < g->n_nodes; i++)
        e[i] = NAN;
    for (int k = 0; k < gm.n; k++)
        if (gm.layers[k].chosen != DATAFLOW_AUTO)
            e[gm.layers[k].node] = gm.layers[k].choice[gm.layers[k].chosen].cost.energy_total;
    graph_map_free(&gm);
    return e;
}

static int32_t top_class(const float *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (int32_t)best;
}

/* Runs the network on every batch and counts the samples whose top-1
 * class differs from the teacher's (or, with teach, records them as the
 * teacher's), stopping once more than `allowed` differ. -1 after a
 * failed run, the reason in t->err. */
static int64_t count_changed(Trial *t, int64_t allowed, bool teach)
{
    const float *out = t->outputs[0];
    int64_t changed = 0;
    for (int64_t b = 0; b < t->po->n_batches && changed <= allowed; b++) {
        const float *in = t->po->batches[b];
        if (!reference_run_typed(t->g, (const void *const *)&in, t->outputs, t->err, sizeof t->err))
            return -1;
        for (int64_t s = 0; s < t->per_batch; s++) {
            int32_t c = top_class(out + s * t->classes, t->classes);
            int64_t at = b * t->per_batch + s;
            if (teach)
                t->teacher[at] = c;
            changed += c != t->teacher[at];
        }
    }
    return changed;
}

static void free_layers(EnergyLayer *ls, int count)
{
    for (int i = 0; ls && i < count; i++)
        free(ls[i].original);
    free(ls);
}

/* Every prunable layer, with fresh storage and a copy of its weights. */
static EnergyLayer *collect_layers(Graph *g, const PruneOptions *po, int *count)
{
    EnergyLayer *ls = calloc((size_t)g->n_nodes + 1, sizeof *ls);
    *count = 0;
    for (int i = 0; ls && i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->removed || (n->op != OP_CONV && n->op != OP_FC))
            continue;
        const Tensor *w = &g->tensors[n->params[0]];
        if (w->type.kind != ELEM_F32 || !w->data || (po->layers && !prune_layer_listed(po->layers, n->name)))
            continue;
        int64_t elems = shape_elems(&w->shape);
        const float *old = w->data;
        EnergyLayer *l = &ls[(*count)++];
        *l = (EnergyLayer){.node = i, .weights = graph_new_data(g, n->params[0]),
                           .original = malloc((size_t)elems * sizeof(float)), .n = elems, .kept = elems};
        if (!l->original) {
            free_layers(ls, *count - 1);
            return NULL;
        }
        memcpy(l->original, old, (size_t)elems * sizeof(float));
        memcpy(l->weights, old, (size_t)elems * sizeof(float));
    }
    return ls;
}

/* Buffers for every graph output and the teacher's classes. */
static bool trial_start(Trial *t, Graph *g, const PruneOptions *po, Diag *diag)
{
    *t = (Trial){.g = g, .po = po};
    const Tensor *in = &g->tensors[g->inputs[0]], *out = &g->tensors[g->outputs[0]];
    t->per_batch = in->shape.rank ? in->shape.d[0] : 1;
    t->classes = shape_elems(&out->shape) / (t->per_batch ? t->per_batch : 1);
    if (out->type.kind != ELEM_F32 || t->per_batch < 1 || t->classes < 2 ||
        (out->shape.rank && out->shape.d[0] != t->per_batch)) {
        diag_error(diag, SRCLOC_NONE, "energy-aware pruning compares each sample's top-1 class, so the "
                                      "first output must be float32 scores of a batch; '%s' is not",
                   out->name);
        return false;
    }
    t->samples = po->n_batches * t->per_batch;
    t->teacher = malloc((size_t)t->samples * sizeof *t->teacher);
    t->outputs = calloc((size_t)g->n_outputs, sizeof *t->outputs);
    t->scratch = malloc(PRUNE_SCRATCH * sizeof *t->scratch);
    bool ok = t->teacher && t->outputs && t->scratch;
    for (int i = 0; ok && i < g->n_outputs; i++) {
        const Tensor *o = &g->tensors[g->outputs[i]];
        size_t size = elem_kind_size(o->type.kind);
        ok = size && (t->outputs[i] = malloc((size_t)shape_elems(&o->shape) * size)) != NULL;
    }
    if (!ok)
        diag_error(diag, SRCLOC_NONE, "energy-aware pruning: out of memory for the calibration runs");
    return ok;
}

static void trial_free(Trial *t)
{
    for (int i = 0; t->outputs && i < t->g->n_outputs; i++)
        free(t->outputs[i]);
    free(t->outputs);
    free(t->teacher);
    free(t->scratch);
}

/* Layer l at `keep` of its weights, the largest. */
static void set_kept(Trial *t, EnergyLayer *l, int64_t keep)
{
    memcpy(l->weights, l->original, (size_t)l->n * sizeof *l->weights);
    prune_keep_largest(t->g, l->weights, l->n, keep, t->scratch);
    l->kept = keep;
}

static int64_t grid_kept(const EnergyLayer *l, int at) { return llround(density_grid[at] * (double)l->n); }

/* energy[k][at] for every layer k at every grid density, the layers all
 * pruned to it at once (a layer's energy depends on its own weights
 * only); the layers are left whole. */
static bool measure_energies(Trial *t, EnergyLayer *ls, int count)
{
    for (int at = 0; at < GRID_POINTS; at++) {
        for (int k = 0; k < count; k++)
            set_kept(t, &ls[k], grid_kept(&ls[k], at));
        double *e = prune_layer_energies(t->g, t->po->arch);
        if (!e)
            return false;
        for (int k = 0; k < count; k++) {
            double v = e[ls[k].node];
            ls[k].energy[at] = isnan(v) ? 0.0 : v;
        }
        free(e);
    }
    for (int k = 0; k < count; k++)
        set_kept(t, &ls[k], ls[k].n);
    return true;
}

/* changed[k][at] for every layer k pruned alone to each grid density; past
 * `cap` changed samples the runs stop and the lower densities count as
 * out of reach (CHANGED_TOO_MANY). */
#define CHANGED_TOO_MANY INT64_MAX
static bool measure_sensitivity(Trial *t, EnergyLayer *ls, int count, int64_t cap)
{
    for (int k = 0; k < count; k++) {
        EnergyLayer *l = &ls[k];
        l->changed[0] = 0;
        for (int at = 1; at < GRID_POINTS; at++) {
            int64_t c = CHANGED_TOO_MANY;
            if (l->changed[at - 1] != CHANGED_TOO_MANY) {
                set_kept(t, l, grid_kept(l, at));
                c = count_changed(t, cap, false);
                if (c < 0)
                    return false;
                if (c > cap)
                    c = CHANGED_TOO_MANY;
            }
            l->changed[at] = c;
        }
        set_kept(t, l, l->n);
    }
    return true;
}

typedef struct Step {
    int layer, to;
    double ratio;
} Step;

/* The step of largest energy saved per sample changed (+1, so that steps
 * that change none still rank by energy) over every layer still open and
 * every lower density in its reach; layer -1 if none saves energy. */
static Step best_step(const EnergyLayer *ls, int count)
{
    Step best = {-1, 0, 0.0};
    for (int k = 0; k < count; k++) {
        const EnergyLayer *l = &ls[k];
        for (int to = l->at + 1; !l->closed && to < GRID_POINTS && l->changed[to] != CHANGED_TOO_MANY; to++) {
            double saved = l->energy[l->at] - l->energy[to];
            double ratio = saved / (double)(l->changed[to] - l->changed[l->at] + 1);
            if (saved > 0 && ratio > best.ratio)
                best = (Step){k, to, ratio};
        }
    }
    return best;
}

static int64_t weights_total(const EnergyLayer *ls, int count)
{
    int64_t n = 0;
    for (int i = 0; i < count; i++)
        n += ls[i].n;
    return n;
}

/* The weights left in all the layers. */
static int64_t kept_total(const EnergyLayer *ls, int count)
{
    int64_t k = 0;
    for (int i = 0; i < count; i++)
        k += ls[i].kept;
    return k;
}

/* Layer l one step lower, to grid density `to`, or to the `floor` weights
 * that reach the target if that is more. */
static void step_down(Trial *t, EnergyLayer *l, int to, int64_t floor)
{
    int64_t keep = grid_kept(l, to);
    set_kept(t, l, keep > floor ? keep : llmax(floor, 0));
}

/* Reopens the layers a step closed; false if none was. */
static bool reopen(EnergyLayer *ls, int count)
{
    bool any = false;
    for (int i = 0; i < count; i++)
        any |= ls[i].closed, ls[i].closed = false;
    return any;
}

/* Takes steps while the network as pruned keeps its changed samples
 * within *allowed, until the weights left reach the target (-1: none).
 * With `raise`, when no step is left within it, *allowed doubles and the
 * closed layers reopen. False after a failed run. */
static bool take_steps(Trial *t, EnergyLayer *ls, int count, int64_t target, int64_t *allowed, bool raise)
{
    for (;;) {
        Step s = best_step(ls, count);
        if (s.layer < 0) {
            if (!raise || *allowed >= t->samples || !reopen(ls, count))
                return true;
            *allowed = llmax(1, *allowed * 2 < t->samples ? *allowed * 2 : t->samples);
            continue;
        }
        EnergyLayer *l = &ls[s.layer];
        step_down(t, l, s.to, target < 0 ? -1 : target - (kept_total(ls, count) - l->kept));
        int64_t changed = count_changed(t, *allowed, false);
        if (changed < 0)
            return false;
        if (changed > *allowed) {
            set_kept(t, l, grid_kept(l, l->at));
            l->closed = true;
            continue;
        }
        l->at = s.to;
        if (target >= 0 && kept_total(ls, count) <= target)
            return true;
    }
}

/* Each layer's energy before and after and its density, and the samples
 * that changed, to the caller; the weights zeroed to the report. */
static void report_choices(Trial *t, const EnergyLayer *ls, int count, int64_t changed, PassReport *r)
{
    const PruneOptions *po = t->po;
    double *after = prune_layer_energies(t->g, po->arch), total[2] = {0, 0};
    for (int k = 0; k < count; k++) {
        const EnergyLayer *l = &ls[k];
        double e = after && !isnan(after[l->node]) ? after[l->node] : 0.0;
        pass_count(r, "weights pruned to zero", l->n - l->kept);
        total[0] += l->energy[0], total[1] += e;
        if (po->on_choice)
            po->on_choice(po->on_choice_ctx, t->g->nodes[l->node].name, l->energy[0], e,
                          (double)l->kept / (double)l->n, changed, t->samples);
    }
    if (po->on_choice)
        po->on_choice(po->on_choice_ctx, NULL, total[0], total[1],
                      (double)kept_total(ls, count) / (double)weights_total(ls, count), changed, t->samples);
    free(after);
}

/* Chooses the densities; false after reporting an error. Without a
 * target the allowance is max_drop; with one and no max_drop it starts at
 * the default and doubles whenever no step fits, until the target is
 * reached; with both, the target must be reached within max_drop. */
static bool choose_densities(Trial *t, EnergyLayer *ls, int count, Diag *diag, PassReport *r)
{
    const PruneOptions *po = t->po;
    double max_drop = po->max_drop > 0 ? po->max_drop : PRUNE_DEFAULT_MAX_DROP;
    int64_t weights = weights_total(ls, count), target = po->density > 0 ? llround(po->density * (double)weights) : -1;
    int64_t allowed = (int64_t)floor(max_drop / 100.0 * (double)t->samples);
    bool raise = target >= 0 && po->max_drop == 0;
    bool ok = measure_energies(t, ls, count) && measure_sensitivity(t, ls, count, raise ? t->samples : allowed) &&
              take_steps(t, ls, count, target, &allowed, raise);
    if (!ok) {
        diag_error(diag, SRCLOC_NONE, "energy-aware pruning: %s", t->err[0] ? t->err : "out of memory");
        return false;
    }
    int64_t left = kept_total(ls, count);
    if (target >= 0 && left > target) {
        diag_error(diag, SRCLOC_NONE, "energy-aware pruning: density %g is out of reach%s: with every layer as far "
                                      "as it saves energy%s, %.4g of the weights are left",
                   po->density, raise ? "" : " within --max-drop", raise ? "" : " and the allowance lets it",
                   (double)left / (double)weights);
        return false;
    }
    int64_t changed = count_changed(t, t->samples, false);
    if (changed < 0) {
        diag_error(diag, SRCLOC_NONE, "energy-aware pruning: %s", t->err);
        return false;
    }
    report_choices(t, ls, count, changed, r);
    return true;
}

bool prune_by_energy(Graph *g, const PassOptions *o, PassReport *r)
{
    const PruneOptions *po = o->prune;
    if (!po->arch || po->n_batches < 1) {
        diag_error(o->diag, SRCLOC_NONE, "energy-aware pruning needs a spatial machine whose energy ranks the "
                                         "layers (--arch) and calibration data (--calibrate)");
        return false;
    }
    int count = 0;
    EnergyLayer *ls = collect_layers(g, po, &count);
    Trial t;
    bool ok = ls && trial_start(&t, g, po, o->diag);
    if (!ls)
        diag_error(o->diag, SRCLOC_NONE, "energy-aware pruning: out of memory");
    if (ok && count == 0) {
        diag_error(o->diag, SRCLOC_NONE, "pruning needs conv or fc layers with bound float32 weights");
        ok = false;
    }
    if (ok) {
        int64_t none = count_changed(&t, INT64_MAX, true);
        if (none < 0)
            diag_error(o->diag, SRCLOC_NONE, "energy-aware pruning: running the network failed: %s", t.err);
        ok = none == 0 && choose_densities(&t, ls, count, o->diag, r);
    }
    if (ls)
        trial_free(&t);
    free_layers(ls, count);
    return ok;
}
