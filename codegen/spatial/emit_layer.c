/* One mapped layer as an instruction stream (spatial_codegen.h). */
#include <stdio.h>
#include <string.h>

#include "dataflow.h"
#include "isa_codec.h"
#include "loopnest.h"
#include "sim_layer.h"
#include "spatial_codegen.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void spatial_emitter_init(SpatialEmitter *e, IsaProgram *p)
{
    memset(e, 0, sizeof *e);
    e->program = p;
    e->last_pass = -1;
}

static bool emit(SpatialEmitter *e, IsaOpcode op, unsigned deps, const int64_t *f, int nf,
                 char *err, size_t errsz)
{
    IsaInstr in = {op, deps, {0}};
    for (int i = 0; i < nf; i++)
        in.f[i] = f[i];
    return isa_program_append(e->program, &in, err, errsz);
}

static int64_t last_index(const SpatialEmitter *e) { return (int64_t)e->program->n_instrs - 1; }

/* ---- Configuration ---- */

/* The levels below DRAM as the ISA numbers them (rf 0 .. buf 4) are the
 * mapper's LoopLevel values; the DRAM level is the stream itself. */
_Static_assert(LOOP_RF == 0 && LOOP_PE == 1 && LOOP_COL == 2 && LOOP_ROW == 3 && LOOP_BUFFER == 4,
               "cfg.loop levels are LoopLevel values");

static bool emit_loops(SpatialEmitter *e, const Mapping *m, char *err, size_t errsz)
{
    for (int lv = LOOP_RF; lv <= LOOP_BUFFER; lv++) {
        int64_t f[1 + DIM_COUNT] = {lv};
        for (int d = 0; d < DIM_COUNT; d++)
            f[1 + d] = m->factor[lv][d];
        if (!emit(e, ISA_CFG_LOOP, 0, f, 1 + DIM_COUNT, err, errsz))
            return false;
        bool spatial = lv == LOOP_ROW || lv == LOOP_COL;
        int64_t o[1 + DIM_COUNT] = {lv};
        for (int k = 0; k < DIM_COUNT; k++)
            o[1 + k] = spatial ? k : (int64_t)m->order[lv][k];
        if (!emit(e, ISA_CFG_ORDER, 0, o, 1 + DIM_COUNT, err, errsz))
            return false;
    }
    return true;
}

static unsigned spatial_mask(const Mapping *m, LoopLevel lv, DataType t)
{
    unsigned mask = 0;
    for (int d = 0; d < DIM_COUNT; d++)
        if (m->factor[lv][d] > 1 && dim_indexes(t, (Dim)d))
            mask |= 1u << d;
    return mask;
}

static bool emit_map(SpatialEmitter *e, const Mapping *m, char *err, size_t errsz)
{
    const DataflowSpec *s = dataflow_spec(m->dataflow);
    unsigned neighbour = 0;
    for (int t = 0; t < DATA_COUNT; t++)
        if (!(s->rf_holds & DATA_BIT(t)) && s->array_reuse[t] == ARRAY_NEIGHBOUR)
            neighbour |= 1u << t;
    int64_t f[] = {m->dataflow, s->rf_holds, neighbour};
    if (!emit(e, ISA_CFG_MAP, 0, f, 3, err, errsz))
        return false;
    for (int t = 0; t < DATA_COUNT; t++) {
        int64_t n[] = {t, spatial_mask(m, LOOP_ROW, (DataType)t),
                       spatial_mask(m, LOOP_COL, (DataType)t)};
        if (!emit(e, ISA_CFG_NOC, 0, n, 3, err, errsz))
            return false;
    }
    return true;
}

static bool emit_tensors(SpatialEmitter *e, const SpatialLayerCode *c, int64_t g, char *err,
                         size_t errsz)
{
    const MapLayer *l = c->layer;
    const int64_t *d = l->dim;
    int64_t in_plane = l->in_h * l->in_w, out_plane = d[DIM_P] * d[DIM_Q];
    int64_t filter_words = d[DIM_C] * d[DIM_R] * d[DIM_S];
    int64_t rows[4][4] = {
        {ISA_TENSOR_IFMAP, (int64_t)c->ifmap + g * d[DIM_C] * in_plane,
         l->groups * d[DIM_C] * in_plane, l->groups * d[DIM_C]},
        {ISA_TENSOR_FILTER, (int64_t)c->filter + g * d[DIM_M] * filter_words, filter_words,
         d[DIM_C]},
        {ISA_TENSOR_OFMAP, (int64_t)c->ofmap + g * d[DIM_M] * out_plane,
         l->groups * d[DIM_M] * out_plane, l->groups * d[DIM_M]},
        {ISA_TENSOR_BIAS, (int64_t)c->bias + g * d[DIM_M], d[DIM_M], l->groups * d[DIM_M]},
    };
    for (int i = 0; i < (c->has_bias ? 4 : 3); i++)
        if (!emit(e, ISA_CFG_TENSOR, 0, rows[i], 4, err, errsz))
            return false;
    return true;
}

static bool emit_config(SpatialEmitter *e, const SpatialLayerCode *c, int64_t g, char *err,
                        size_t errsz)
{
    const MapLayer *l = c->layer;
    int64_t layer[] = {c->layer_id, l->op == OP_FC ? ISA_LAYER_FC : ISA_LAYER_CONV, g, l->groups};
    int64_t shape[DIM_COUNT];
    for (int d = 0; d < DIM_COUNT; d++)
        shape[d] = l->dim[d];
    int64_t conv[] = {l->in_h,      l->in_w,      l->stride[0], l->stride[1],
                      l->dilation[0], l->dilation[1], l->pad_top,   l->pad_left};
    int64_t fixed[] = {c->frac_in, c->frac_w, c->frac_out, c->relu, c->has_bias};
    return emit(e, ISA_CFG_LAYER, 0, layer, 4, err, errsz) &&
           emit(e, ISA_CFG_SHAPE, 0, shape, DIM_COUNT, err, errsz) &&
           emit(e, ISA_CFG_CONV, 0, conv, 8, err, errsz) &&
           emit(e, ISA_CFG_FIXED, 0, fixed, 5, err, errsz) &&
           emit_loops(e, c->mapping, err, errsz) && emit_map(e, c->mapping, err, errsz) &&
           emit_tensors(e, c, g, err, errsz);
}

/* ---- Tokens ---- */

/* Sets flags on an instruction already in the stream. */
static void add_deps(SpatialEmitter *e, int64_t index, unsigned deps)
{
    e->program->instrs[index].deps |= deps;
}

/* An ld group: the first ld waits until EX has finished with the tiles it
 * replaces, the last tells EX its data are in. */
typedef struct LdGroup {
    int64_t first, last;
} LdGroup;

static bool emit_ld(SpatialEmitter *e, LdGroup *g, int64_t type, bool rlc, const SimBox *b,
                    char *err, size_t errsz)
{
    int64_t f[2 + 8] = {type, rlc};
    for (int i = 0; i < 4; i++) {
        f[2 + 2 * i] = b->a[i].lo;
        f[3 + 2 * i] = b->a[i].span;
    }
    unsigned deps = 0;
    if (g->first < 0 && e->sync_token) {
        deps |= ISA_POP_NEXT; /* the sync, after every earlier pass, pushed it */
        e->sync_token = e->pass_since_ld = false;
    } else if (g->first < 0 && e->pass_since_ld) {
        deps |= ISA_POP_NEXT;
        add_deps(e, e->last_pass, ISA_PUSH_PREV);
        e->pass_since_ld = false;
    }
    if (!emit(e, ISA_LD, deps, f, 10, err, errsz))
        return false;
    g->last = last_index(e);
    if (g->first < 0)
        g->first = g->last;
    return true;
}

/* A psum reload must not overwrite the tile st is still writing out: EX
 * relays st's token to LD with a sync. */
static bool relay_st_token(SpatialEmitter *e, char *err, size_t errsz)
{
    if (!e->st_token)
        return true;
    if (!emit(e, ISA_SYNC, ISA_POP_NEXT | ISA_PUSH_PREV, NULL, 0, err, errsz))
        return false;
    e->st_token = false;
    e->sync_token = true;
    return true;
}

static bool emit_st(SpatialEmitter *e, const SimBox *b, bool final, bool rlc, char *err,
                    size_t errsz)
{
    int64_t f[2 + 8] = {final, rlc};
    for (int i = 0; i < 4; i++) {
        f[2 + 2 * i] = b->a[i].lo;
        f[3 + 2 * i] = b->a[i].span;
    }
    add_deps(e, e->last_pass, ISA_PUSH_NEXT);
    if (!emit(e, ISA_ST, ISA_POP_PREV | ISA_PUSH_PREV, f, 10, err, errsz))
        return false;
    e->st_token = true;
    return true;
}

static bool emit_pass(SpatialEmitter *e, const LdGroup *g, const int64_t o[DIM_COUNT], char *err,
                      size_t errsz)
{
    unsigned deps = 0;
    if (g->last >= 0) {
        add_deps(e, g->last, ISA_PUSH_NEXT);
        deps |= ISA_POP_PREV;
    }
    if (e->st_token) {
        deps |= ISA_POP_NEXT;
        e->st_token = false;
    }
    if (!emit(e, ISA_PASS, deps, o, DIM_COUNT, err, errsz))
        return false;
    e->last_pass = last_index(e);
    e->pass_since_ld = true;
    return true;
}

/* ---- The DRAM loops ---- */

static void sim_view(const MapLayer *ml, SimLayer *sl)
{
    memset(sl, 0, sizeof *sl);
    for (int d = 0; d < DIM_COUNT; d++)
        sl->dim[d] = ml->dim[d];
    sl->in_h = ml->in_h, sl->in_w = ml->in_w;
    sl->stride[0] = ml->stride[0], sl->stride[1] = ml->stride[1];
    sl->dil[0] = ml->dilation[0], sl->dil[1] = ml->dilation[1];
    sl->pad[0] = ml->pad_top, sl->pad[1] = ml->pad_left;
}

typedef struct DramWalk {
    SpatialEmitter *e;
    const SpatialLayerCode *c;
    SimLayer view;
    int64_t ext[DIM_COUNT], n[DIM_COUNT], idx[DIM_COUNT];
    bool have[DATA_COUNT];
    SimBox box[DATA_COUNT];
    bool psum_final;   /* the psum tile in the buffer has its last visit */
    bool bias_pending; /* the group's biases are still to be loaded */
} DramWalk;

/* Whether the DRAM loops over the dimensions that psums do not depend on
 * (C, R, S) are all at their first (last) iteration: then no earlier
 * (later) iteration visits the same psum tile. */
static bool reduction_at(const DramWalk *w, bool last)
{
    static const Dim red[] = {DIM_C, DIM_R, DIM_S};
    for (int i = 0; i < 3; i++)
        if (w->idx[red[i]] != (last ? w->n[red[i]] - 1 : 0))
            return false;
    return true;
}

/* The group's biases join the first ld group (st reads them at the end). */
static bool emit_bias(SpatialEmitter *e, const SpatialLayerCode *c, LdGroup *g, char *err,
                      size_t errsz)
{
    SimBox b = {{{0, c->layer->dim[DIM_M], c->layer->dim[DIM_M]}, {0, 1, 1}, {0, 1, 1},
                 {0, 1, 1}}};
    return emit_ld(e, g, ISA_LD_BIAS, false, &b, err, errsz);
}

static bool iteration(DramWalk *w, char *err, size_t errsz)
{
    SpatialEmitter *e = w->e;
    int64_t o[DIM_COUNT], ext[DIM_COUNT];
    for (int d = 0; d < DIM_COUNT; d++) {
        o[d] = w->idx[d] * w->ext[d];
        ext[d] = min64(w->ext[d], w->c->layer->dim[d] - o[d]);
    }
    LdGroup g = {-1, -1};
    if (w->bias_pending && !emit_bias(e, w->c, &g, err, errsz))
        return false;
    w->bias_pending = false;
    SimBox b;
    sim_tile_box(&w->view, SIM_PSUM, o, ext, &b);
    if (!w->have[DATA_PSUM] || !sim_box_equal(&b, &w->box[DATA_PSUM])) {
        if (w->have[DATA_PSUM] &&
            !emit_st(e, &w->box[DATA_PSUM], w->psum_final, w->psum_final && e->program->machine.rlc, err,
                     errsz))
            return false;
        if (!reduction_at(w, false) && (!relay_st_token(e, err, errsz) ||
                                         !emit_ld(e, &g, ISA_LD_PSUM, false, &b, err, errsz)))
            return false;
        w->box[DATA_PSUM] = b;
        w->have[DATA_PSUM] = true;
    }
    static const DataType loaded[] = {DATA_IFMAP, DATA_FILTER};
    for (int i = 0; i < 2; i++) {
        DataType t = loaded[i];
        sim_tile_box(&w->view, (SimType)t, o, ext, &b);
        if (sim_box_words(&b) == 0 || (w->have[t] && sim_box_equal(&b, &w->box[t])))
            continue;
        bool rlc = (t == DATA_IFMAP || t == DATA_FILTER) && e->program->machine.rlc;
        if (!emit_ld(e, &g, t == DATA_IFMAP ? ISA_LD_IFMAP : ISA_LD_FILTER, rlc, &b, err, errsz))
            return false;
        w->box[t] = b;
        w->have[t] = true;
    }
    if (!emit_pass(e, &g, o, err, errsz))
        return false;
    w->psum_final = reduction_at(w, true);
    return true;
}

static bool next_index(DramWalk *w)
{
    const Mapping *m = w->c->mapping;
    for (int k = DIM_COUNT - 1; k >= 0; k--) {
        Dim d = m->order[LOOP_DRAM][k];
        if (++w->idx[d] < w->n[d])
            return true;
        w->idx[d] = 0;
    }
    return false;
}

static bool emit_group(SpatialEmitter *e, const SpatialLayerCode *c, int64_t group, char *err,
                       size_t errsz)
{
    if (!emit_config(e, c, group, err, errsz))
        return false;
    DramWalk w;
    memset(&w, 0, sizeof w);
    w.e = e;
    w.c = c;
    sim_view(c->layer, &w.view);
    LoopNest n;
    nest_build(&n, c->layer, c->mapping);
    for (int d = 0; d < DIM_COUNT; d++) {
        w.ext[d] = n.ext[LOOP_BUFFER][d];
        w.n[d] = ceil_div(c->layer->dim[d], w.ext[d]);
    }
    w.bias_pending = c->has_bias;
    do {
        if (!iteration(&w, err, errsz))
            return false;
    } while (next_index(&w));
    return emit_st(e, &w.box[DATA_PSUM], true, e->program->machine.rlc, err, errsz);
}

bool spatial_emit_layer(SpatialEmitter *e, const SpatialLayerCode *c, char *err, size_t errsz)
{
    /* The layer's first lds may read what the last layer's st wrote: LD
     * learns that st is done through a token EX relays. */
    if (!relay_st_token(e, err, errsz))
        return false;
    for (int64_t g = 0; g < c->layer->groups; g++)
        if (!emit_group(e, c, g, err, errsz))
            return false;
    return true;
}

/* The pool reads what st wrote: it waits for ST's last token (ST runs in
 * order, so that covers every earlier st; EX runs in order too, so a token
 * a pass already took covers what came before it). An ld after it may read
 * what it writes, so it stands where the last pass stood: the next ld group
 * waits for the token it then pushes (emit_ld). */
bool spatial_emit_pool(SpatialEmitter *e, const IsaInstr *pool, char *err, size_t errsz)
{
    IsaInstr in = *pool;
    if (e->st_token) {
        in.deps |= ISA_POP_NEXT;
        e->st_token = false;
    }
    if (!isa_program_append(e->program, &in, err, errsz))
        return false;
    e->last_pass = last_index(e);
    e->pass_since_ld = true;
    return true;
}

bool spatial_emit_finish(SpatialEmitter *e, char *err, size_t errsz)
{
    unsigned deps = e->st_token ? ISA_POP_NEXT : 0;
    e->st_token = false;
    return emit(e, ISA_FINISH, deps, NULL, 0, err, errsz);
}

void spatial_machine_from_arch(const SpatialArch *a, IsaMachine *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", a->name);
    out->pe_rows = a->pe_rows, out->pe_cols = a->pe_cols;
    for (int t = 0; t < DATA_COUNT; t++)
        out->rf_words[t] = a->rf_words[t];
    out->buffer_bytes = a->buffer_bytes;
    out->word_bits = a->word_bits;
    out->dram_bus_bits = a->dram_bus_bits;
    out->noc = a->noc == NOC_BROADCAST;
    out->rlc = a->rlc, out->zero_skip = a->zero_skip;
    out->rlc_run_bits = a->rlc_run_bits, out->rlc_word_bits = a->rlc_word_bits;
    for (int lv = 0; lv < LEVEL_COUNT; lv++)
        out->energy[lv] = a->energy[lv];
    out->energy_mac = a->energy_mac;
    out->clock_mhz = a->clock_mhz;
}
