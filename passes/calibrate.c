/* Calibration: the range of every float activation of a network over real
 * data, as quantisation needs it (survey VII-A; docs/quantization.md,
 * "Calibration"). The reference executor runs the float graph on each
 * batch, every activation kept; min-max takes the extremes seen, the
 * percentile and entropy methods a second pass that builds a histogram of
 * |x| per tensor and clip it where the method says. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"
#include "quantize.h"
#include "reference.h"

#define HIST_BINS 2048

static const char *const mode_names[] = {
#define X(e, s, r) s,
    DNNC_QUANT_MODES(X)
#undef X
};
static const bool mode_ready[] = {
#define X(e, s, r) r,
    DNNC_QUANT_MODES(X)
#undef X
};

const char *quant_mode_name(QuantMode m) { return m < QUANT_MODE_COUNT ? mode_names[m] : "?"; }
bool quant_mode_ready(QuantMode m) { return m < QUANT_MODE_COUNT && mode_ready[m]; }
bool quant_mode_codes_weights(QuantMode m) { return m >= QUANT_LOG2 && m < QUANT_MODE_COUNT; }

bool quant_mode_from_name(const char *s, QuantMode *out)
{
    for (int m = QUANT_INT8; m < QUANT_MODE_COUNT; m++)
        if (strcmp(s, mode_names[m]) == 0) {
            *out = (QuantMode)m;
            return true;
        }
    return false;
}

/* Built from the table, so that a new mode is listed without a second edit. */
const char *quant_mode_names(void)
{
    static char names[128];
    if (!names[0])
        for (int m = QUANT_INT8; m < QUANT_MODE_COUNT; m++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     m == QUANT_INT8 ? "" : m == QUANT_MODE_COUNT - 1 ? " or " : ", ", mode_names[m]);
    return names;
}

static const char *const method_names[] = {"minmax", "percentile", "entropy"};
#define CALIB_METHODS (int)(sizeof method_names / sizeof *method_names)

const char *calib_method_name(CalibMethod m) { return method_names[m]; }

bool calib_method_from_name(const char *s, CalibMethod *out)
{
    for (int m = 0; m < CALIB_METHODS; m++)
        if (strcmp(s, method_names[m]) == 0) {
            *out = (CalibMethod)m;
            return true;
        }
    return false;
}

/* ---- choosing the threshold from a histogram ---- */

static double percentile_threshold(const double *hist, int bins, double top, double percentile)
{
    double total = 0, seen = 0;
    for (int i = 0; i < bins; i++)
        total += hist[i];
    double want = total * percentile / 100;
    for (int i = 0; i < bins; i++) {
        seen += hist[i];
        if (seen >= want)
            return top * (i + 1) / bins;
    }
    return top;
}

/* KL(P || Q) of two histograms of the same length, each normalised here;
 * bins where P is empty add nothing, and Q is never empty where P is not
 * (quantised_copy spreads each level over its non-empty bins). */
static double kl_divergence(const double *p, const double *q, int n)
{
    double sp = 0, sq = 0, kl = 0;
    for (int i = 0; i < n; i++)
        sp += p[i], sq += q[i];
    for (int i = 0; i < n; i++)
        if (p[i] > 0)
            kl += p[i] / sp * log((p[i] / sp) / (q[i] / sq));
    return kl;
}

/* Q: the first n bins of P merged into `levels` equal groups, each group's
 * mass spread evenly over its bins that were not empty in P (a value the
 * grid rounds to a level lands somewhere in that level's interval). */
static void quantised_copy(const double *p, int n, int levels, double *q)
{
    for (int j = 0; j < levels; j++) {
        int begin = (int)((int64_t)j * n / levels), end = (int)((int64_t)(j + 1) * n / levels);
        double mass = 0;
        int used = 0;
        for (int i = begin; i < end; i++)
            mass += p[i], used += p[i] > 0;
        for (int i = begin; i < end; i++)
            q[i] = p[i] > 0 ? mass / used : 0;
    }
}

/* TensorRT's entropy calibration: for each candidate threshold (a bin edge
 * at or past `levels` bins), P is the histogram up to it with everything
 * beyond added to its last bin (clipped values saturate there), Q is P on
 * the quantised grid; the threshold of least KL(P || Q) wins. */
static double entropy_threshold(const double *hist, int bins, double top, int levels)
{
    double *p = malloc((size_t)bins * sizeof *p), *q = malloc((size_t)bins * sizeof *q);
    if (!p || !q) {
        free(p), free(q);
        return top; /* min-max: the safe answer */
    }
    double best = INFINITY;
    int best_n = bins;
    for (int n = levels < bins ? levels : bins; n <= bins; n++) {
        double beyond = 0;
        for (int i = n; i < bins; i++)
            beyond += hist[i];
        memcpy(p, hist, (size_t)n * sizeof *p);
        p[n - 1] += beyond;
        quantised_copy(hist, n, levels < n ? levels : n, q);
        q[n - 1] += beyond > 0 && hist[n - 1] == 0 ? beyond : 0; /* keep Q > 0 where P > 0 */
        double kl = kl_divergence(p, q, n);
        if (kl < best) {
            best = kl;
            best_n = n;
        }
    }
    free(p), free(q);
    return top * best_n / bins;
}

double calib_threshold(const double *hist, int bins, double top, int levels, CalibMethod m,
                       double percentile)
{
    if (top <= 0)
        return 0;
    if (m == CALIB_PERCENTILE)
        return percentile_threshold(hist, bins, top, percentile);
    if (m == CALIB_ENTROPY)
        return entropy_threshold(hist, bins, top, levels);
    return top;
}

/* ---- running the network ---- */

typedef struct Calibration {
    Graph *g;
    const QuantOptions *q;
    int saved_outputs;
    void **outs;       /* one per graph output, the float activations after saved_outputs */
    double **hist;     /* per output: HIST_BINS bins of |x| over [0, top] */
    int64_t done, total;
} Calibration;

static int64_t elems_of(const Graph *g, int t) { return shape_elems(&g->tensors[t].shape); }

/* Every float activation becomes a graph output for the runs; the list
 * grows in the graph's arena, which throws (oom.h). */
static bool keep_activations(Calibration *c, char *err, size_t errsz)
{
    Graph *g = c->g;
    c->saved_outputs = g->n_outputs;
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        g->n_outputs = c->saved_outputs;
        snprintf(err, errsz, "out of memory for the activations");
        return false;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].removed && g->tensors[g->nodes[i].output].type.kind == ELEM_F32)
            graph_add_output(g, g->nodes[i].output);
    oom_pop(&oom);
    c->outs = calloc((size_t)g->n_outputs, sizeof *c->outs);
    c->hist = calloc((size_t)g->n_outputs, sizeof *c->hist);
    bool ok = c->outs && c->hist;
    for (int i = 0; ok && i < g->n_outputs; i++) {
        const Tensor *t = &g->tensors[g->outputs[i]];
        size_t size = elem_kind_size(t->type.kind);
        ok = size && (c->outs[i] = malloc((size_t)elems_of(g, g->outputs[i]) * size)) != NULL;
    }
    if (!ok)
        snprintf(err, errsz, "out of memory for the activations (or an output of a type the "
                             "reference cannot hold)");
    return ok;
}

static void release(Calibration *c)
{
    for (int i = 0; c->outs && i < c->g->n_outputs; i++)
        free(c->outs[i]);
    for (int i = 0; c->hist && i < c->g->n_outputs; i++)
        free(c->hist[i]);
    free(c->outs);
    free(c->hist);
    c->g->n_outputs = c->saved_outputs;
}

static bool run_batch(Calibration *c, int64_t b, char *err, size_t errsz)
{
    const void *in[1] = {c->q->batches[b]};
    char why[512];
    if (!reference_run_typed(c->g, in, c->outs, why, sizeof why)) {
        snprintf(err, errsz, "calibration batch %lld: %s", (long long)b, why);
        return false;
    }
    if (c->q->progress)
        c->q->progress(c->q->progress_ctx, ++c->done, c->total);
    return true;
}

static void widen(TensorRange *r, const float *v, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        if (!r->seen) {
            *r = (TensorRange){true, v[k], v[k]};
            continue;
        }
        r->lo = v[k] < r->lo ? v[k] : r->lo;
        r->hi = v[k] > r->hi ? v[k] : r->hi;
    }
}

/* The input batch b and every activation of its run. */
static void note_extremes(Calibration *c, int64_t b, TensorRange *ranges)
{
    int in = c->g->inputs[0];
    widen(&ranges[in], c->q->batches[b], elems_of(c->g, in));
    for (int i = c->saved_outputs; i < c->g->n_outputs; i++)
        widen(&ranges[c->g->outputs[i]], c->outs[i], elems_of(c->g, c->g->outputs[i]));
}

static double top_of(const TensorRange *r) { return fmax(fabs(r->lo), fabs(r->hi)); }

static bool add_to_histograms(Calibration *c, const TensorRange *ranges)
{
    for (int i = c->saved_outputs; i < c->g->n_outputs; i++) {
        int t = c->g->outputs[i];
        double top = top_of(&ranges[t]);
        if (!c->hist[i] && !(c->hist[i] = calloc(HIST_BINS, sizeof(double))))
            return false;
        const float *v = c->outs[i];
        for (int64_t k = 0, n = elems_of(c->g, t); top > 0 && k < n; k++) {
            int bin = (int)(fabs(v[k]) / top * HIST_BINS);
            c->hist[i][bin < HIST_BINS ? bin : HIST_BINS - 1] += 1;
        }
    }
    return true;
}

/* Levels of the grid above zero: a tensor that is never negative gets all
 * 255 steps of u8 unless activations are symmetric, else 127. */
static int grid_levels(const TensorRange *r, const QuantOptions *q)
{
    return r->lo >= 0 && !q->symmetric ? 255 : 127;
}

static void clip_ranges(Calibration *c, TensorRange *ranges)
{
    for (int i = c->saved_outputs; i < c->g->n_outputs; i++) {
        TensorRange *r = &ranges[c->g->outputs[i]];
        double t = calib_threshold(c->hist[i], HIST_BINS, top_of(r), grid_levels(r, c->q),
                                   c->q->method, c->q->percentile);
        r->lo = fmax(r->lo, -t);
        r->hi = fmin(r->hi, t);
    }
}

static bool check_input(const Graph *g, char *err, size_t errsz)
{
    if (g->n_inputs != 1 || g->tensors[g->inputs[0]].type.kind != ELEM_F32) {
        snprintf(err, errsz, "calibration feeds one float32 input; the network has %d input%s%s",
                 g->n_inputs, g->n_inputs == 1 ? "" : "s",
                 g->n_inputs == 1 ? " of another type" : "");
        return false;
    }
    return true;
}

bool calibrate_ranges(Graph *g, const QuantOptions *q, TensorRange *ranges, char *err, size_t errsz)
{
    memset(ranges, 0, (size_t)g->n_tensors * sizeof *ranges);
    if (!check_input(g, err, errsz))
        return false;
    bool histograms = q->method != CALIB_MINMAX;
    Calibration c = {.g = g, .q = q, .total = q->n_batches * (histograms ? 2 : 1)};
    bool ok = keep_activations(&c, err, errsz);
    for (int64_t b = 0; ok && b < q->n_batches; b++)
        if ((ok = run_batch(&c, b, err, errsz)))
            note_extremes(&c, b, ranges);
    for (int64_t b = 0; ok && histograms && b < q->n_batches; b++)
        if ((ok = run_batch(&c, b, err, errsz)) && !(ok = add_to_histograms(&c, ranges)))
            snprintf(err, errsz, "out of memory for the calibration histograms");
    if (ok && histograms)
        clip_ranges(&c, ranges);
    release(&c);
    return ok;
}
