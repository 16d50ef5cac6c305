/* The PE array one dimension at a time (sim_axes.h). */
#include "sim_axes.h"

#include <stdlib.h>
#include <string.h>

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The dimensions a type's word numbers are made of, counted together
 * where one index comes from two dimensions: an input row from an output
 * row and a filter row (window 0), an input column likewise (window 1).
 * A dimension the type does not depend on only says whether any PE works. */
typedef struct Group {
    int dim, tap;  /* tap: the filter dimension of a window, else -1 */
    int window;    /* -1, or 0 for rows and 1 for columns */
    bool indexes;  /* the type's words depend on it */
} Group;

typedef struct TypeGroups {
    int n;
    Group g[SIM_DIMS];
} TypeGroups;

static const TypeGroups type_groups[SIM_TYPES] = {
    [SIM_IFMAP] = {5, {{SIM_N, -1, -1, true}, {SIM_M, -1, -1, false}, {SIM_C, -1, -1, true},
                       {SIM_P, SIM_R, 0, true}, {SIM_Q, SIM_S, 1, true}}},
    [SIM_FILTER] = {7, {{SIM_N, -1, -1, false}, {SIM_M, -1, -1, true}, {SIM_C, -1, -1, true},
                        {SIM_P, -1, -1, false}, {SIM_Q, -1, -1, false}, {SIM_R, -1, -1, true},
                        {SIM_S, -1, -1, true}}},
    [SIM_PSUM] = {7, {{SIM_N, -1, -1, true}, {SIM_M, -1, -1, true}, {SIM_C, -1, -1, false},
                      {SIM_P, -1, -1, true}, {SIM_Q, -1, -1, true}, {SIM_R, -1, -1, false},
                      {SIM_S, -1, -1, false}}},
};

bool sim_axes_init(SimPeAxes *ax, const SimLayer *l)
{
    memset(ax, 0, sizeof *ax);
    bool ok = true;
    ax->marks = max64(l->in_h, l->in_w);
    for (int d = 0; d < SIM_DIMS; d++) {
        int64_t n = l->bound[SIM_ROW][d] * l->bound[SIM_COL][d];
        ax->slots[d] = n;
        ax->marks = max64(ax->marks, l->dim[d]);
        ax->o[d] = malloc((size_t)n * sizeof *ax->o[d]);
        ax->e[d] = malloc((size_t)n * sizeof *ax->e[d]);
        ax->ro[d] = malloc((size_t)n * sizeof *ax->ro[d]);
        ax->re[d] = malloc((size_t)n * sizeof *ax->re[d]);
        ok = ok && ax->o[d] && ax->e[d] && ax->ro[d] && ax->re[d];
    }
    ax->mark = calloc((size_t)ax->marks, sizeof *ax->mark);
    return ok && ax->mark;
}

void sim_axes_free(SimPeAxes *ax)
{
    for (int d = 0; d < SIM_DIMS; d++) {
        free(ax->o[d]);
        free(ax->e[d]);
        free(ax->ro[d]);
        free(ax->re[d]);
    }
    free(ax->mark);
}

void sim_axes_place(SimPeAxes *ax, const SimLayer *l, const int64_t a[SIM_DIMS],
                    const int64_t ea[SIM_DIMS])
{
    for (int d = 0; d < SIM_DIMS; d++)
        for (int64_t j = 0; j < ax->slots[d]; j++) {
            int64_t rd = j / l->bound[SIM_COL][d], cd = j % l->bound[SIM_COL][d];
            ax->o[d][j] = a[d] + rd * l->ext[SIM_COL][d] + cd * l->ext[SIM_PE][d];
            ax->e[d][j] = min64(l->ext[SIM_PE][d], a[d] + ea[d] - ax->o[d][j]);
        }
}

void sim_axes_scratchpad(SimPeAxes *ax, const SimLayer *l, const int64_t idx[SIM_DIMS],
                         int64_t rmax[SIM_DIMS])
{
    bool any = true;
    for (int d = 0; d < SIM_DIMS; d++) {
        rmax[d] = 0;
        for (int64_t j = 0; j < ax->slots[d]; j++) {
            int64_t o = ax->o[d][j], e = ax->e[d][j];
            ax->ro[d][j] = o + idx[d] * l->ext[SIM_RF][d];
            /* A slot with no share (e <= 0) has none of the PE loop's either. */
            ax->re[d][j] = max64(0, min64(l->ext[SIM_RF][d], o + e - ax->ro[d][j]));
            rmax[d] = max64(rmax[d], ax->re[d][j]);
        }
        any = any && rmax[d] > 0;
    }
    if (!any) /* some dimension has no slot at work: no PE works */
        for (int d = 0; d < SIM_DIMS; d++)
            rmax[d] = 0;
}

void sim_axes_work(const SimPeAxes *ax, double *active, double *macs)
{
    *active = 1;
    *macs = 1;
    for (int d = 0; d < SIM_DIMS; d++) {
        double working = 0, steps = 0;
        for (int64_t j = 0; j < ax->slots[d]; j++) {
            working += ax->re[d][j] > 0;
            steps += (double)ax->re[d][j];
        }
        *active *= working;
        *macs *= steps;
    }
}

/* Empties the marks: a new count begins. */
static void next_count(SimPeAxes *ax)
{
    if (++ax->now == 0) { /* the generation wrapped: clear for real */
        memset(ax->mark, 0, (size_t)ax->marks * sizeof *ax->mark);
        ax->now = 1;
    }
}

/* One step's offsets r (along g's dimension) and rt (along its tap): how
 * many slot pairs at work read an index of the type (inside the stored
 * input, for a window), and how many distinct indices. */
static void count_offsets(SimPeAxes *ax, const SimLayer *l, const Group *g, int64_t r, int64_t rt,
                          int64_t *pairs, int64_t *indices)
{
    int64_t scale = 1, tap_scale = 0, shift = 0, limit = l->dim[g->dim];
    if (g->window >= 0) {
        scale = l->stride[g->window];
        tap_scale = l->dil[g->window];
        shift = l->pad[g->window];
        limit = g->window == 0 ? l->in_h : l->in_w;
    }
    int64_t taps = g->tap < 0 ? 1 : ax->slots[g->tap];
    *pairs = *indices = 0;
    next_count(ax);
    for (int64_t j = 0; j < ax->slots[g->dim]; j++) {
        if (r >= ax->re[g->dim][j])
            continue;
        int64_t base = (ax->ro[g->dim][j] + r) * scale - shift;
        for (int64_t k = 0; k < taps; k++) {
            if (g->tap >= 0 && rt >= ax->re[g->tap][k])
                continue;
            int64_t v = base + (g->tap < 0 ? 0 : (ax->ro[g->tap][k] + rt) * tap_scale);
            if (v < 0 || v >= limit) /* padding: never stored, never sent */
                continue;
            ++*pairs;
            if (ax->mark[v] != ax->now) {
                ax->mark[v] = ax->now;
                ++*indices;
            }
        }
    }
}

void sim_axes_step_words(SimPeAxes *ax, const SimLayer *l, SimType t, const int64_t rmax[SIM_DIMS],
                         double *deliveries, double *distinct)
{
    const TypeGroups *tg = &type_groups[t];
    *deliveries = *distinct = 1;
    for (int i = 0; i < tg->n; i++) {
        const Group *g = &tg->g[i];
        double pairs_sum = 0, indices_sum = 0;
        int64_t taps = g->tap < 0 ? 1 : rmax[g->tap];
        for (int64_t r = 0; r < rmax[g->dim]; r++)
            for (int64_t rt = 0; rt < taps; rt++) {
                int64_t pairs, indices;
                count_offsets(ax, l, g, r, rt, &pairs, &indices);
                pairs_sum += (double)pairs;
                indices_sum += g->indexes ? (double)indices : (double)(pairs > 0);
            }
        *deliveries *= pairs_sum;
        *distinct *= indices_sum;
    }
}
