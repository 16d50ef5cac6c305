/* select-algo (survey V-A): owns @algo. Every conv is bound to one of the
 * algorithms its target's kernel registry has for its element type: the
 * one @algo forces or, on a target that binds kernels, the best of the
 * candidates (each row whose algorithm applies, with each tile the row
 * runs): the fastest --autotune measured for the layer's shape, else the
 * cheapest by the target's cost model (Target.conv_cost), never one whose
 * error measured on the layer exceeds --max-conv-error (conv_error.h).
 * What each algorithm can compute (Winograd: 3x3, stride 1, dilation 1;
 * FFT: stride 1, dilation 1, a kernel larger than 1x1, smaller than its
 * tile) is a rule of
 * the algorithm, in ir/conv_algo.c, not of the target; which tiles a
 * target's kernel runs is its registry row's. A forced algorithm the
 * target lacks, or lacks for the tile asked, or one that cannot compute
 * the layer, is an error naming the layer and why; a forced algorithm is
 * the user's choice and is not held to --max-conv-error. The choice is
 * recorded as @algo with its tile, so that `dnnc dump` shows what runs and
 * parses back to it (docs/fast-convolution.md, "Choosing the algorithm"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algo_choices.h"
#include "conv_algo.h"
#include "conv_error.h"
#include "pass.h"
#include "target.h"

/* Rows are looked up for the layout select-layout gave the layer. */
/* Whether row k computes n as select-layout laid it out: reading its
 * operand's layout and writing its own (a first conv reading the plain
 * image into blocks has its direct kernel only). */
static bool row_applies(const KernelRow *k, const Graph *g, const Node *n)
{
    Layout reads = kernel_row_layout(g, n);
    return kernel_row_applies(k, g, n, reads, NULL, 0) &&
           kernel_row_writes(k, n, reads) == graph_tensor_layout(g, n->output);
}

static bool algo_applies(ConvAlgo a, const Node *n)
{
    char why[8];
    return conv_algo_applies(a, &n->attr.conv, n->ann.algo_tile, why, sizeof why);
}

/* The tile algorithm a runs n with: the one written, else a's default. */
static int tile_of(ConvAlgo a, const Node *n)
{
    return conv_algo_tile(a, n->ann.algo_tile, &n->attr.conv);
}

/* "im2col, winograd with tile 2 or 4": the algorithms the target has for
 * n, with the tiles of those whose kernels run only some. */
static void list_algorithms(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                            char *buf, size_t size)
{
    buf[0] = '\0';
    for (int k = 0; k < n_rows; k++) {
        if (!row_applies(&rows[k], g, n) || strstr(buf, conv_algo_name(rows[k].algo)))
            continue;
        char tiles[64];
        kernel_row_tiles_text(&rows[k], tiles, sizeof tiles);
        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s%s%s", buf[0] ? ", " : "",
                 conv_algo_name(rows[k].algo), tiles[0] ? " with tile " : "", tiles);
    }
    if (!buf[0])
        snprintf(buf, size, "none");
}

/* The row of the forced algorithm with its tile, or with none forced the
 * first row whose algorithm can compute n with its default tile. */
static const KernelRow *find_row(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                                 ConvAlgo algo)
{
    for (int k = 0; k < n_rows; k++) {
        const KernelRow *r = &rows[k];
        if (!row_applies(r, g, n) || !kernel_row_has_tile(r, tile_of(r->algo, n)))
            continue;
        if (algo == ALGO_AUTO ? algo_applies(r->algo, n) : r->algo == algo)
            return r;
    }
    return NULL;
}

/* Whether the target has algo for n at all, whatever the tile. */
static bool has_algorithm(const KernelRow *rows, int n_rows, const Graph *g, const Node *n, ConvAlgo algo)
{
    for (int k = 0; k < n_rows; k++)
        if (row_applies(&rows[k], g, n) && rows[k].algo == algo)
            return true;
    return false;
}

/* "@algo(winograd)" or "@algo(fft, tile=8)", as the user wrote it. */
static void algo_text(const Annotations *a, char *buf, size_t size)
{
    if (a->algo_tile)
        snprintf(buf, size, "@algo(%s, tile=%d)", conv_algo_name(a->algo), a->algo_tile);
    else
        snprintf(buf, size, "@algo(%s)", conv_algo_name(a->algo));
}

static void report_no_row(const Target *t, const KernelRow *rows, int n_rows, const Graph *g,
                          const Node *n, Diag *d)
{
    char have[128], algo[64];
    list_algorithms(rows, n_rows, g, n, have, sizeof have);
    algo_text(&n->ann, algo, sizeof algo);
    if (n->ann.algo == ALGO_AUTO)
        diag_error(d, n->loc, "layer '%s': target %s has no kernel for conv", n->name, t->name);
    else if (has_algorithm(rows, n_rows, g, n, n->ann.algo))
        diag_error(d, n->loc,
                   "layer '%s': %s cannot be honoured: target %s has no %s kernel for conv with "
                   "tile %d (it has: %s)", n->name, algo, t->name, conv_algo_name(n->ann.algo),
                   tile_of(n->ann.algo, n), have);
    else
        diag_error(d, n->loc,
                   "layer '%s': %s cannot be honoured: target %s has no %s kernel for conv (it "
                   "has: %s)", n->name, algo, t->name, conv_algo_name(n->ann.algo), have);
}

/* ---- the candidates of a layer the user left to the compiler ---- */

typedef struct Candidate {
    AlgoChoice choice;
    double rank;       /* measured ms or modelled cycles: lower is better */
    bool error_known;  /* error measured */
    double error;
} Candidate;

#define MAX_CANDIDATES ALGO_CHOICES_MAX_TIMES

/* Every (algorithm, tile) the registry's rows can compute n with, in
 * registry order; a row without a tile list runs each of its algorithm's
 * tiles. */
static int list_candidates(const KernelRow *rows, int n_rows, const Graph *g, const Node *n,
                           Candidate *out)
{
    int count = 0;
    for (int k = 0; k < n_rows && count < MAX_CANDIDATES; k++) {
        const KernelRow *r = &rows[k];
        if (!row_applies(r, g, n))
            continue;
        const int *tiles;
        int n_tiles = conv_algo_tiles(r->algo, &tiles);
        for (int t = 0; t < (n_tiles ? n_tiles : 1) && count < MAX_CANDIDATES; t++) {
            AlgoChoice c = {r->algo, n_tiles ? tiles[t] : 0};
            char why[8];
            if (kernel_row_has_tile(r, c.tile) &&
                conv_algo_applies(c.algo, &n->attr.conv, c.tile, why, sizeof why))
                out[count++] = (Candidate){.choice = c};
        }
    }
    return count;
}

/* Ranks by the measured times of entry e (a candidate it lacks last). */
static void rank_by_measurement(const AlgoChoiceEntry *e, Candidate *c, int nc)
{
    for (int i = 0; i < nc; i++) {
        c[i].rank = INFINITY;
        for (int k = 0; k < e->n_times; k++)
            if (algo_choice_same(e->times[k].choice, c[i].choice))
                c[i].rank = e->times[k].ms;
        /* The file's choice comes first, so that an edited choice holds. */
        if (algo_choice_same(e->chosen, c[i].choice))
            c[i].rank = -1;
    }
}

static void rank_by_model(const PassOptions *o, const Graph *g, const Node *n, Candidate *c, int nc)
{
    const Target *t = o->target;
    for (int i = 0; i < nc; i++)
        c[i].rank = t->conv_cost ? t->conv_cost(g, n, c[i].choice, o->threads ? o->threads : 1)
                                 : (double)i;
}

/* The candidate of lowest rank whose measured error is within the bound;
 * the first with the direct sums' error (0) always qualifies. -1 when
 * memory runs out measuring. */
static int best_within(const Graph *g, const Node *n, Candidate *c, int nc, double bound)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < nc; i++)
            if (!(c[i].error_known && c[i].error > bound) && (best < 0 || c[i].rank < c[best].rank))
                best = i;
        if (best < 0 || c[best].error_known)
            return best;
        bool measured = conv_error_measure(g, n, c[best].choice, &c[best].error);
        graph_release_data(g, n->params[0]);
        if (!measured)
            return -1;
        c[best].error_known = true;
    }
}

/* Candidates the cost model finds this many times dearer than its
 * cheapest are not timed: an FFT on a 1x1 conv, say, which would only make
 * --autotune slow (and which the file then lists without a time). */
#define UNTIMED_FACTOR 4.0

/* Those of c worth timing, in *timed; their number. */
static int worth_timing(const PassOptions *o, const Graph *g, const Node *n, const Candidate *c, int nc,
                        AlgoChoice *timed)
{
    Candidate model[MAX_CANDIDATES];
    memcpy(model, c, (size_t)nc * sizeof *c);
    rank_by_model(o, g, n, model, nc);
    double cheapest = INFINITY;
    for (int i = 0; i < nc; i++)
        cheapest = fmin(cheapest, model[i].rank);
    int count = 0;
    for (int i = 0; i < nc; i++)
        if (model[i].rank <= UNTIMED_FACTOR * cheapest)
            timed[count++] = c[i].choice;
    return count;
}

/* The measured times of n's shape: from the file, or measured now and
 * added to it; NULL without --autotune or when only one candidate is
 * worth timing. */
static const AlgoChoiceEntry *measured_entry(const PassOptions *o, const Graph *g, const Node *n,
                                             const Candidate *c, int nc, bool *failed)
{
    const AlgoTuning *tu = o->tuning;
    *failed = false;
    if (!tu)
        return NULL;
    char key[512];
    conv_shape_key(g, n, tu->threads, tu->machine, key, sizeof key);
    const AlgoChoiceEntry *e = algo_choices_find(tu->choices, key);
    if (e || !tu->measure)
        return e;
    AlgoChoice timed[MAX_CANDIDATES];
    AlgoTiming times[MAX_CANDIDATES];
    double ms[MAX_CANDIDATES];
    int nt = worth_timing(o, g, n, c, nc, timed);
    if (nt < 2) /* nothing to choose between: nothing to time */
        return NULL;
    if (!tu->measure(tu->ctx, g, n, timed, nt, ms, o->diag)) {
        *failed = true;
        return NULL;
    }
    for (int i = 0; i < nt; i++)
        times[i] = (AlgoTiming){timed[i], ms[i]};
    if (!algo_choices_add(tu->choices, key, times, nt)) {
        diag_error(o->diag, n->loc, "layer '%s': out of memory recording its measured times", n->name);
        *failed = true;
        return NULL;
    }
    return algo_choices_find(tu->choices, key);
}

/* Counts whether the cost model would have picked what was measured
 * fastest (both within the error bound): the figure the cost model is
 * judged by. */
static void count_agreement(const PassOptions *o, const Graph *g, const Node *n, const Candidate *c,
                            int nc, int chosen, double bound, PassReport *r)
{
    Candidate model[MAX_CANDIDATES];
    memcpy(model, c, (size_t)nc * sizeof *c);
    rank_by_model(o, g, n, model, nc);
    int pick = best_within(g, n, model, nc, bound);
    if (pick < 0 || nc < 2)
        return;
    pass_count(r, "layers measured with a choice of algorithm", 1);
    pass_count(r, "of them where the cost model picks the fastest",
               algo_choice_same(model[pick].choice, c[chosen].choice));
}

static void record(Node *n, AlgoChoice c, PassReport *r)
{
    n->ann.algo = c.algo;
    n->ann.algo_tile = c.tile;
    pass_count(r, "convolutions bound to an algorithm", 1);
    if (c.algo == ALGO_WINOGRAD || c.algo == ALGO_FFT)
        pass_count(r, "of them to a fast algorithm", 1);
}

/* The candidate --conv-algo asks for, or -1 (none asked, or it cannot
 * compute n: then the layer is chosen for as usual). */
static int preferred_candidate(const PassOptions *o, const Node *n, const Candidate *c, int nc)
{
    if (o->prefer_algo == ALGO_AUTO)
        return -1;
    AlgoChoice want = {o->prefer_algo, conv_algo_tile(o->prefer_algo, o->prefer_tile, &n->attr.conv)};
    for (int i = 0; i < nc; i++)
        if (algo_choice_same(c[i].choice, want))
            return i;
    return -1;
}

/* A conv without @algo on a target that binds kernels. */
static bool choose_conv(const PassOptions *o, const KernelRow *rows, int n_rows, const Graph *g,
                        Node *n, PassReport *r)
{
    const Target *t = o->target;
    Candidate c[MAX_CANDIDATES];
    int nc = list_candidates(rows, n_rows, g, n, c);
    if (nc == 0) {
        report_no_row(t, rows, n_rows, g, n, o->diag);
        return false;
    }
    int preferred = preferred_candidate(o, n, c, nc);
    if (preferred >= 0) {
        record(n, c[preferred].choice, r);
        return true;
    }
    bool failed;
    const AlgoChoiceEntry *e = measured_entry(o, g, n, c, nc, &failed);
    if (failed)
        return false;
    if (e)
        rank_by_measurement(e, c, nc);
    else
        rank_by_model(o, g, n, c, nc);
    double bound = o->max_conv_error > 0 ? o->max_conv_error : CONV_ERROR_DEFAULT;
    int best = best_within(g, n, c, nc, bound);
    if (best < 0) {
        diag_error(o->diag, n->loc, "layer '%s': out of memory measuring its algorithms' error",
                   n->name);
        return false;
    }
    for (int i = 0; i < nc; i++) {
        if (!c[i].error_known || c[i].error <= bound)
            continue;
        if (isinf(c[i].error))
            pass_count(r, "fast algorithms refused as the layer is too large to measure their error", 1);
        else
            pass_count(r, "fast algorithms refused for their error", 1);
    }
    if (e)
        count_agreement(o, g, n, c, nc, best, bound, r);
    record(n, c[best].choice, r);
    return true;
}

/* A conv with @algo, or any conv on a target that does not bind kernels
 * (which checks a forced algorithm and leaves auto as it is). */
static bool check_forced(const Target *t, const KernelRow *rows, int n_rows, const Graph *g,
                         Node *n, Diag *d, PassReport *r)
{
    const KernelRow *row = find_row(rows, n_rows, g, n, n->ann.algo);
    if (!row) {
        report_no_row(t, rows, n_rows, g, n, d);
        return false;
    }
    char why[256], algo[64];
    if (!conv_algo_applies(row->algo, &n->attr.conv, n->ann.algo_tile, why, sizeof why)) {
        algo_text(&n->ann, algo, sizeof algo);
        diag_error(d, n->loc, "layer '%s': %s cannot apply: %s", n->name, algo, why);
        return false;
    }
    if (!n->ann.algo_tile && conv_algo_has_tile(n->ann.algo)) {
        n->ann.algo_tile = conv_algo_default_tile(n->ann.algo, &n->attr.conv);
        pass_count(r, "default tiles recorded", 1);
    }
    return true;
}

bool pass_select_algo(Graph *g, const PassOptions *o, PassReport *r)
{
    const Target *t = o->target;
    int n_rows = 0;
    const KernelRow *rows = t->registry ? t->registry(&n_rows) : NULL;
    bool ok = true;
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->op != OP_CONV)
            continue;
        if (n->ann.algo == ALGO_AUTO && t->binds_kernels)
            ok &= choose_conv(o, rows, n_rows, g, n, r);
        else
            ok &= check_forced(t, rows, n_rows, g, n, o->diag, r);
    }
    return ok;
}
