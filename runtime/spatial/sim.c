/* The simulator's dispatcher: runs the stream in program order (a valid
 * order for the decoupled units, since every unit's instructions keep
 * theirs), checks the dependency tokens a decoupled machine would wait on,
 * and turns each layer's fills and visits into accesses, cycles and energy
 * by the model's conventions (docs/accelerator.md, "Accesses per level"). */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_state.h"

/* The queue an instruction of unit u pops from (or pushes to) on the side
 * of flag f, or -1 where the unit has no neighbour on that side. */
static int queue_of(IsaUnit u, unsigned flag)
{
    switch (u) {
    case ISA_UNIT_LD:
        return flag == ISA_POP_NEXT ? SIM_Q_EX_LD : flag == ISA_PUSH_NEXT ? SIM_Q_LD_EX : -1;
    case ISA_UNIT_EX:
        switch (flag) {
        case ISA_POP_PREV: return SIM_Q_LD_EX;
        case ISA_PUSH_PREV: return SIM_Q_EX_LD;
        case ISA_POP_NEXT: return SIM_Q_ST_EX;
        case ISA_PUSH_NEXT: return SIM_Q_EX_ST;
        }
        return -1;
    case ISA_UNIT_ST:
        return flag == ISA_POP_PREV ? SIM_Q_EX_ST : flag == ISA_PUSH_PREV ? SIM_Q_ST_EX : -1;
    default:
        return -1;
    }
}

static bool pop_tokens(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    IsaUnit u = isa_op_info(in->op)->unit;
    static const unsigned pops[] = {ISA_POP_PREV, ISA_POP_NEXT};
    for (int i = 0; i < 2; i++) {
        if (!(in->deps & pops[i]))
            continue;
        int q = queue_of(u, pops[i]);
        if (q < 0 || s->tokens[q] == 0) {
            snprintf(err, errsz, "waits for a token no earlier instruction pushed: the %s unit "
                     "would wait forever", isa_unit_name(u));
            return false;
        }
        s->tokens[q]--;
    }
    return true;
}

static void push_tokens(SimMachine *s, const IsaInstr *in)
{
    IsaUnit u = isa_op_info(in->op)->unit;
    static const unsigned pushes[] = {ISA_PUSH_PREV, ISA_PUSH_NEXT};
    for (int i = 0; i < 2; i++) {
        int q = queue_of(u, pushes[i]);
        if ((in->deps & pushes[i]) && q >= 0)
            s->tokens[q]++;
    }
}

/* ---- Layers ---- */

static void reset_layer_state(SimMachine *s)
{
    for (int t = 0; t < SIM_TYPES; t++) {
        sim_tile_free(&s->glb[t]);
        s->array_valid[t] = false;
        memset(s->pe_valid[t], 0, (size_t)s->n_pes * sizeof *s->pe_valid[t]);
    }
    sim_tile_free(&s->bias);
    memset(s->psum_visits, 0, sizeof s->psum_visits);
    memset(s->fills, 0, sizeof s->fills);
    s->dram_psum = 0;
}

/* The layer's accesses from its fills and psum visits (the model's
 * count_accesses), then energy and cycles. */
static void close_layer(SimMachine *s)
{
    SimLayerCounts *c = s->cur;
    if (!c)
        return;
    const IsaMachine *m = s->m;
    const SimLayer *l = &s->layer;
    for (int t = SIM_IFMAP; t <= SIM_FILTER; t++) {
        c->access[SIM_LEVEL_DRAM][t] = s->fills[SIM_LEVEL_DRAM][t];
        c->access[SIM_LEVEL_BUFFER][t] = s->fills[SIM_LEVEL_BUFFER][t];
        c->access[SIM_LEVEL_ARRAY][t] = s->fills[SIM_LEVEL_ARRAY][t];
        c->access[SIM_LEVEL_RF][t] = l->hold ? c->macs : 0;
    }
    const double *v = s->psum_visits;
    c->access[SIM_LEVEL_DRAM][SIM_PSUM] = s->dram_psum;
    c->access[SIM_LEVEL_BUFFER][SIM_PSUM] = 2 * (v[SIM_LEVEL_BUFFER] - v[SIM_LEVEL_DRAM]);
    c->access[SIM_LEVEL_ARRAY][SIM_PSUM] = v[SIM_LEVEL_ARRAY] - v[SIM_LEVEL_BUFFER];
    c->access[SIM_LEVEL_RF][SIM_PSUM] =
        l->hold & (1u << SIM_PSUM) ? 2 * (c->macs - v[SIM_LEVEL_ARRAY]) : 0;
    if (m->zero_skip && c->macs > 0) {
        /* A zero operand (ifmap or weight) gates the filter read, the MAC
         * and the psum update. */
        double keep = c->alu_ops / c->macs;
        c->access[SIM_LEVEL_RF][SIM_FILTER] *= keep;
        c->access[SIM_LEVEL_RF][SIM_PSUM] *= keep;
    }
    if (m->noc == 1) /* broadcast: every active PE receives every word sent */
        for (int t = 0; t < SIM_TYPES; t++)
            c->access[SIM_LEVEL_ARRAY][t] =
                fmax(c->access[SIM_LEVEL_ARRAY][t],
                     c->access[SIM_LEVEL_BUFFER][t] * (double)c->active_pes);
    c->energy_alu = c->alu_ops * m->energy_mac;
    c->energy = c->energy_alu;
    for (int lv = 0; lv < SIM_MEM_LEVELS; lv++)
        for (int t = 0; t < SIM_TYPES; t++) {
            double e = c->access[lv][t] * m->energy[lv];
            c->energy_level[lv] += e;
            c->energy += e;
        }
    double dram_cycles = c->dram_words * (double)m->word_bits / (double)m->dram_bus_bits;
    c->cycles = fmax(c->steps, dram_cycles);
    s->cur = NULL;
}

static bool open_layer(SimMachine *s, char *err, size_t errsz)
{
    if (s->glb[SIM_PSUM].valid && s->glb[SIM_PSUM].dirty) {
        snprintf(err, errsz, "a new layer starts while psums of the last were never stored");
        return false;
    }
    close_layer(s);
    SimResult *r = s->result;
    if (r->n_layers == s->layers_cap) {
        int64_t cap = s->layers_cap ? 2 * s->layers_cap : 16;
        SimLayerCounts *p = realloc(r->layers, (size_t)cap * sizeof *p);
        if (!p) {
            snprintf(err, errsz, "out of memory");
            return false;
        }
        r->layers = p;
        s->layers_cap = cap;
    }
    s->cur = &r->layers[r->n_layers++];
    memset(s->cur, 0, sizeof *s->cur);
    reset_layer_state(s);
    return true;
}

/* ---- Dispatch ---- */

static bool execute(SimMachine *s, const IsaInstr *in, bool *ready, char *err, size_t errsz)
{
    switch (in->op) {
    case ISA_LD:
        return s->cur ? sim_ld(s, in, err, errsz)
                      : (snprintf(err, errsz, "ld before any cfg.layer"), false);
    case ISA_ST:
        return s->cur ? sim_st(s, in, err, errsz)
                      : (snprintf(err, errsz, "st before any cfg.layer"), false);
    case ISA_PASS:
        if (!*ready && !sim_layer_ready(&s->layer, err, errsz))
            return false;
        *ready = true;
        return sim_pass(s, in, err, errsz);
    case ISA_POOL:
        return sim_pool(s, in, err, errsz);
    case ISA_FINISH:
    case ISA_SYNC:
        return true;
    case ISA_CFG_LAYER:
        /* The counts of the layer before are closed under its registers. */
        *ready = false;
        return open_layer(s, err, errsz) && sim_layer_config(&s->layer, in, err, errsz) &&
               (s->cur->layer = s->layer.id, true);
    default:
        *ready = false;
        return sim_layer_config(&s->layer, in, err, errsz);
    }
}

static bool setup(SimMachine *s, const IsaProgram *p, int64_t *dram, const SimOptions *o,
                  SimResult *out, char *err, size_t errsz)
{
    memset(s, 0, sizeof *s);
    memset(out, 0, sizeof *out);
    s->m = &p->machine;
    s->dram = dram;
    s->dram_words = (int64_t)p->dram_words;
    s->count_only = o && o->count_only;
    s->word_by_word = o && o->word_by_word;
    s->max_macs = o ? o->max_macs : 0;
    s->result = out;
    s->n_pes = p->machine.pe_rows * p->machine.pe_cols;
    for (int t = 0; t < SIM_TYPES; t++) {
        s->pe_valid[t] = calloc((size_t)s->n_pes, sizeof *s->pe_valid[t]);
        s->pe_box[t] = calloc((size_t)s->n_pes, sizeof *s->pe_box[t]);
        if (!s->pe_valid[t] || !s->pe_box[t]) {
            snprintf(err, errsz, "out of memory");
            return false;
        }
    }
    return true;
}

static void teardown(SimMachine *s)
{
    for (int t = 0; t < SIM_TYPES; t++) {
        sim_tile_free(&s->glb[t]);
        free(s->pe_valid[t]);
        free(s->pe_box[t]);
    }
    sim_tile_free(&s->bias);
}

static bool run(SimMachine *s, const IsaProgram *p, const SimOptions *o, char *err, size_t errsz)
{
    bool ready = false, finished = false;
    for (size_t i = 0; i < p->n_instrs; i++) {
        const IsaInstr *in = &p->instrs[i];
        char why[256] = "";
        if (finished)
            snprintf(why, sizeof why, "instructions after finish");
        else if (pop_tokens(s, in, why, sizeof why) && execute(s, in, &ready, why, sizeof why))
            push_tokens(s, in);
        if (why[0]) {
            snprintf(err, errsz, "instruction %zu (%s): %s", i, isa_op_info(in->op)->mnemonic,
                     why);
            return false;
        }
        finished = in->op == ISA_FINISH;
        s->result->instructions++;
        if (o && o->progress && (i % 256 == 0 || i + 1 == p->n_instrs))
            o->progress(o->progress_ctx, (int64_t)i + 1, (int64_t)p->n_instrs);
    }
    if (!finished) {
        snprintf(err, errsz, "the stream ends without finish");
        return false;
    }
    for (int q = 0; q < SIM_QUEUES; q++)
        if (s->tokens[q]) {
            snprintf(err, errsz, "finish leaves %lld token(s) no instruction popped",
                     (long long)s->tokens[q]);
            return false;
        }
    if (s->glb[SIM_PSUM].valid && s->glb[SIM_PSUM].dirty) {
        snprintf(err, errsz, "the stream ends with psums that were never stored");
        return false;
    }
    close_layer(s);
    return true;
}

bool sim_run(const IsaProgram *p, int64_t *dram, const SimOptions *o, SimResult *out, char *err,
             size_t errsz)
{
    SimMachine s;
    bool ok = setup(&s, p, dram, o, out, err, errsz) && run(&s, p, o, err, errsz);
    teardown(&s);
    if (!ok)
        sim_result_free(out);
    return ok;
}

void sim_result_free(SimResult *r)
{
    free(r->layers);
    memset(r, 0, sizeof *r);
}

void sim_counts_add(SimLayerCounts *into, const SimLayerCounts *c)
{
    for (int lv = 0; lv < SIM_MEM_LEVELS; lv++) {
        for (int t = 0; t < SIM_TYPES; t++)
            into->access[lv][t] += c->access[lv][t];
        into->energy_level[lv] += c->energy_level[lv];
    }
    into->macs += c->macs;
    into->alu_ops += c->alu_ops;
    into->bias_words += c->bias_words;
    into->steps += c->steps;
    into->dram_words += c->dram_words;
    into->pool_words += c->pool_words;
    into->cycles += c->cycles;
    into->energy += c->energy;
    into->energy_alu += c->energy_alu;
    into->passes += c->passes;
    into->active_pes = c->active_pes > into->active_pes ? c->active_pes : into->active_pes;
}

void sim_layer_total(const SimResult *r, int64_t id, SimLayerCounts *out)
{
    memset(out, 0, sizeof *out);
    out->layer = id;
    for (int i = 0; i < r->n_layers; i++)
        if (r->layers[i].layer == id)
            sim_counts_add(out, &r->layers[i]);
}
