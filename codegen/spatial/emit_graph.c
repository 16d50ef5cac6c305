/* A whole fixed16 graph as one program for the spatial accelerator
 * (spatial_graph.h): DRAM placement, the weight image, and the stream,
 * segment by segment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopnest.h"
#include "map.h"
#include "spatial_codegen.h"
#include "spatial_graph.h"

/* ---- What runs where ---- */

static ElemKind type_of(const Graph *g, int t) { return (ElemKind)g->tensors[t].type.kind; }

static bool on_i16(const Graph *g, const Node *n)
{
    return n->n_inputs == 1 && type_of(g, n->inputs[0]) == ELEM_I16;
}

/* Layers that are the same DRAM words under another shape. */
static bool is_alias(const Graph *g, const Node *n)
{
    return (n->op == OP_RESHAPE || n->op == OP_FLATTEN || n->op == OP_DROPOUT) && on_i16(g, n);
}

/* The relu that a qlinear_conv's st applies: the conv's only consumer, or
 * that of reshapes of it (fc's matrix form) that are each their input's
 * only consumer. -1: none. */
static int folded_relu(const Graph *g, const Node *conv)
{
    const Tensor *t = &g->tensors[conv->output];
    while (t->n_users == 1 && is_alias(g, &g->nodes[t->users[0]]))
        t = &g->tensors[g->nodes[t->users[0]].output];
    if (t->n_users != 1 || g->nodes[t->users[0]].op != OP_RELU)
        return -1;
    return t->users[0];
}

static bool is_folded(const Graph *g, const Node *n)
{
    if (n->op != OP_RELU || !on_i16(g, n))
        return false;
    int p = g->tensors[n->inputs[0]].producer;
    while (p >= 0 && is_alias(g, &g->nodes[p]))
        p = g->tensors[g->nodes[p].inputs[0]].producer;
    return p >= 0 && g->nodes[p].op == OP_QLINEAR_CONV && folded_relu(g, &g->nodes[p]) == (int)(n - g->nodes);
}

/* Runs on the accelerator (as opposed to the host). */
static bool on_accelerator(const Graph *g, const Node *n)
{
    return n->op == OP_QLINEAR_CONV || is_alias(g, n) || is_folded(g, n) ||
           (n->op == OP_MAXPOOL && on_i16(g, n));
}

static bool all_float(const Graph *g, const Node *n)
{
    for (int i = 0; i < n->n_inputs; i++)
        if (type_of(g, n->inputs[i]) != ELEM_F32)
            return false;
    return type_of(g, n->output) == ELEM_F32;
}

bool spatial_graph_supports(const Graph *g, const Node *n, char *why, size_t whysz)
{
    if (n->op == OP_CONV || n->op == OP_FC) {
        snprintf(why, whysz, "the PE array computes in 16-bit fixed point: quantise the network with "
                             "--quantize fixed16 --calibrate DATA --quantize-first-last");
        return false;
    }
    if (n->op == OP_CODED_CONV) { /* float activations and weight codes: neither the array nor a word width */
        snprintf(why, whysz, "the PE array computes in 16-bit fixed point, not on weight codes (%s): "
                             "quantise the network with --quantize fixed16 --calibrate DATA --quantize-first-last",
                 elem_kind_name((ElemKind)n->attr.coded.weight_type));
        return false;
    }
    if (n->op == OP_QLINEAR_CONV && (type_of(g, n->inputs[0]) != ELEM_I16 ||
                                     type_of(g, n->output) != ELEM_I16)) {
        snprintf(why, whysz, "the PE array computes on 16-bit words (--quantize fixed16), not %s",
                 elem_kind_name(type_of(g, n->inputs[0])));
        return false;
    }
    if (on_accelerator(g, n))
        return true;
    if (n->op == OP_QUANTIZE && type_of(g, n->output) == ELEM_I16)
        return true;
    if (n->op == OP_DEQUANTIZE && on_i16(g, n))
        return true;
    if (n->op == OP_RELU && on_i16(g, n)) {
        snprintf(why, whysz, "a relu on 16-bit words runs only folded into the qlinear_conv it "
                             "follows (directly or through reshapes) as its only consumer");
        return false;
    }
    if (all_float(g, n))
        return true; /* on the host, between a dequantize and a quantize */
    snprintf(why, whysz, "neither the accelerator (qlinear_conv, relu, maxpool, reshape on i16) nor "
                         "the host (float layers) runs it");
    return false;
}

/* ---- DRAM ---- */

static uint64_t elems(const Graph *g, int t) { return (uint64_t)shape_elems(&g->tensors[t].shape); }

/* Bump allocation, activations first in layer order, then each layer's
 * filters and biases; aliases and folded relus share their input's words. */
static void place_activations(const Graph *g, uint64_t *base, uint64_t *next)
{
    for (int t = 0; t < g->n_tensors; t++)
        base[t] = SPATIAL_NO_DRAM;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        int out = n->output;
        if (type_of(g, out) != ELEM_I16 || g->tensors[out].kind == TENSOR_PARAM)
            continue;
        if (is_alias(g, n) || is_folded(g, n)) {
            base[out] = base[n->inputs[0]];
        } else {
            base[out] = *next;
            *next += elems(g, out);
        }
    }
}

static uint64_t weight_words(const Graph *g, const Node *n)
{
    uint64_t w = elems(g, n->params[0]);
    return n->attr.qconv.conv.bias ? w + (uint64_t)n->attr.qconv.conv.filters : w;
}

uint64_t spatial_graph_dram_words(const Graph *g)
{
    uint64_t *base = malloc(((size_t)g->n_tensors + 1) * sizeof *base), next = 0;
    if (!base)
        return UINT64_MAX;
    place_activations(g, base, &next);
    free(base);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_QLINEAR_CONV)
            next += weight_words(g, &g->nodes[i]);
    return next;
}

/* ---- Numbers ---- */

/* frac of a scale 2^-frac; false if it is no power of two. */
static bool frac_of(float scale, int *frac)
{
    int e;
    if (!(scale > 0) || frexp(scale, &e) != 0.5)
        return false;
    *frac = 1 - e;
    return *frac >= -128 && *frac <= 127;
}

static const float *fparam(const Graph *g, const Node *n, int k)
{
    return g->tensors[n->params[k]].data;
}

static bool zero_point_zero(const Graph *g, const Node *n, int k)
{
    const Tensor *t = &g->tensors[n->params[k]];
    for (uint64_t i = 0; i < elems(g, n->params[k]); i++)
        if (((const int16_t *)t->data)[i] != 0)
            return false;
    return true;
}

/* ---- Emission ---- */

typedef struct GraphEmit {
    const Graph *g;
    SpatialGraphCode *c;
    SpatialEmitter e;
    bool open;          /* a segment is being emitted */
    size_t begin;
    uint64_t next;      /* the bump allocator */
    char *err;
    size_t errsz;
} GraphEmit;

static bool fail(GraphEmit *w, const Node *n, const char *what)
{
    char why[512];
    snprintf(why, sizeof why, "%s", w->err);
    snprintf(w->err, w->errsz, "layer '%s': %s%s%s", n->name, what, why[0] ? ": " : "", why);
    return false;
}

static bool add_step(SpatialGraphCode *c, SpatialStep s)
{
    if (c->n_steps == c->cap_steps) {
        int cap = c->cap_steps ? 2 * c->cap_steps : 16;
        SpatialStep *p = realloc(c->steps, (size_t)cap * sizeof *p);
        if (!p)
            return false;
        c->steps = p;
        c->cap_steps = cap;
    }
    c->steps[c->n_steps++] = s;
    return true;
}

static void open_segment(GraphEmit *w)
{
    if (w->open)
        return;
    /* A segment is simulated on its own: no token crosses its start. */
    spatial_emitter_init(&w->e, &w->c->program);
    w->begin = w->c->program.n_instrs;
    w->open = true;
}

static bool close_segment(GraphEmit *w)
{
    if (!w->open)
        return true;
    w->open = false;
    w->c->segments++;
    return spatial_emit_finish(&w->e, w->err, w->errsz) &&
           add_step(w->c, (SpatialStep){SPATIAL_STEP_SEGMENT, -1, w->begin, w->c->program.n_instrs});
}

/* The layer's weights (i16) and biases (i32) into the image, as int32 words. */
static bool place_weights(GraphEmit *w, const Node *n, SpatialLayerCode *code)
{
    const Tensor *wt = &w->g->tensors[n->params[0]];
    uint64_t count = elems(w->g, n->params[0]);
    int32_t *v = malloc(count * sizeof *v);
    if (!v) {
        snprintf(w->err, w->errsz, "out of memory");
        return false;
    }
    for (uint64_t i = 0; i < count; i++)
        v[i] = ((const int16_t *)wt->data)[i];
    code->filter = w->next;
    bool ok = isa_dram_add(&w->c->image, w->next, v, count, w->err, w->errsz);
    free(v);
    w->next += count;
    code->has_bias = n->attr.qconv.conv.bias;
    if (ok && code->has_bias) {
        uint64_t f = (uint64_t)n->attr.qconv.conv.filters;
        code->bias = w->next;
        ok = isa_dram_add(&w->c->image, w->next, w->g->tensors[n->params[7]].data, f, w->err,
                          w->errsz);
        w->next += f;
    }
    return ok;
}

/* Q formats of a qlinear_conv: power-of-two scales, zero points 0. */
static bool conv_formats(GraphEmit *w, const Node *n, SpatialLayerCode *code)
{
    const QConvAttrs *a = &n->attr.qconv;
    if (a->per_channel || a->weight_type != ELEM_I16 || a->conv.act.kind != ACT_NONE)
        return fail(w, n, "not a fixed16 layer (per-tensor i16 weights, no fused activation)");
    if (!frac_of(fparam(w->g, n, 1)[0], &code->frac_in) ||
        !frac_of(fparam(w->g, n, 3)[0], &code->frac_w) ||
        !frac_of(fparam(w->g, n, 5)[0], &code->frac_out))
        return fail(w, n, "a scale is not a power of two (fixed16 scales are 2^-frac)");
    if (!zero_point_zero(w->g, n, 2) || !zero_point_zero(w->g, n, 4) || !zero_point_zero(w->g, n, 6))
        return fail(w, n, "a zero point is not 0 (fixed16's are)");
    return true;
}

static bool emit_conv(GraphEmit *w, const Node *n)
{
    w->err[0] = '\0';
    MapLayer ml;
    Mapping m;
    char why[256] = "";
    if (!map_layer_from_node(w->g, n, 0, &ml))
        return fail(w, n, "not a layer the PE array can map");
    if (!n->ann.mapping.present || n->ann.dataflow == DATAFLOW_AUTO)
        return fail(w, n, "no @dataflow and @mapping (the spatial pipeline's map-dataflow records them)");
    if (!mapping_from_ann(&ml, n->ann.dataflow, &n->ann.mapping, &m, why, sizeof why)) {
        snprintf(w->err, w->errsz, "%s", why);
        return fail(w, n, "its @mapping");
    }
    mapping_canonicalize(&ml, &m);
    int relu = folded_relu(w->g, n);
    SpatialLayerCode code = {.layer = &ml, .mapping = &m, .relu = relu >= 0,
                             .ifmap = w->c->base[n->inputs[0]],
                             .ofmap = w->c->base[relu >= 0 ? w->g->nodes[relu].output : n->output]};
    if (!conv_formats(w, n, &code))
        return false;
    code.layer_id = isa_program_add_layer(&w->c->program, n->name, w->err, w->errsz);
    open_segment(w);
    if (code.layer_id < 0 || !place_weights(w, n, &code) ||
        !spatial_emit_layer(&w->e, &code, w->err, w->errsz))
        return fail(w, n, "code generation");
    return true;
}

static bool emit_maxpool(GraphEmit *w, const Node *n)
{
    w->err[0] = '\0';
    const PoolAttrs *a = &n->attr.pool;
    const Shape *in = &w->g->tensors[n->inputs[0]].shape, *out = &w->g->tensors[n->output].shape;
    if (in->rank != 4 || a->dilation[0] != 1 || a->dilation[1] != 1)
        return fail(w, n, "the pooling unit pools NCHW tensors without dilation");
    IsaInstr p = {ISA_POOL, 0, {0}};
    int64_t f[] = {ISA_POOL_MAX, a->kernel[0], a->kernel[1], a->stride[0], a->stride[1],
                   a->pad[0],    a->pad[1],    in->d[0],     in->d[1],     in->d[2],
                   in->d[3],     out->d[2],    out->d[3],    (int64_t)w->c->base[n->inputs[0]],
                   (int64_t)w->c->base[n->output]};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        p.f[i] = f[i];
    open_segment(w);
    if (!spatial_emit_pool(&w->e, &p, w->err, w->errsz))
        return fail(w, n, "the pooling unit");
    return true;
}

/* An accelerator input (quantize) or output (dequantize): its words in
 * DRAM as n c h w, every axis after the second folded into c. */
static bool add_io(GraphEmit *w, const Node *n, int tensor, bool is_output)
{
    const Shape *s = &w->g->tensors[tensor].shape;
    IsaIo io = {.name = (char *)w->g->tensors[tensor].name, .is_output = is_output,
                .base = w->c->base[tensor], .shape = {s->d[0], 1, 1, 1}};
    if (s->rank == 4)
        memcpy(io.shape, s->d, sizeof io.shape);
    else
        for (int i = 1; i < s->rank; i++)
            io.shape[1] *= s->d[i];
    w->err[0] = '\0';
    if (!frac_of(fparam(w->g, n, 0)[0], &io.frac) || !zero_point_zero(w->g, n, 1))
        return fail(w, n, "not a fixed16 grid (a power-of-two scale, zero point 0)");
    if (!isa_program_add_io(&w->c->program, &io, w->err, w->errsz))
        return fail(w, n, "as a program input or output");
    return true;
}

static bool emit_node(GraphEmit *w, const Node *n)
{
    char why[256];
    if (!spatial_graph_supports(w->g, n, why, sizeof why)) {
        snprintf(w->err, w->errsz, "layer '%s': the spatial target cannot run %s: %s", n->name,
                 op_name(n->op), why);
        return false;
    }
    if (on_accelerator(w->g, n)) {
        if (w->c->base[n->inputs[0]] == SPATIAL_NO_DRAM) {
            snprintf(w->err, w->errsz, "layer '%s': its input '%s' is not in the accelerator's "
                     "DRAM (only a quantize layer puts a graph input there)", n->name,
                     w->g->tensors[n->inputs[0]].name);
            return false;
        }
        if (n->op == OP_QLINEAR_CONV)
            return emit_conv(w, n);
        if (n->op == OP_MAXPOOL)
            return emit_maxpool(w, n);
        return true; /* an alias or a folded relu: no instruction */
    }
    if (!close_segment(w))
        return false;
    if (n->op == OP_QUANTIZE && !add_io(w, n, n->output, false))
        return false;
    if (n->op == OP_DEQUANTIZE && !add_io(w, n, n->inputs[0], true))
        return false;
    if (!add_step(w->c, (SpatialStep){SPATIAL_STEP_HOST, (int)(n - w->g->nodes), 0, 0})) {
        snprintf(w->err, w->errsz, "out of memory");
        return false;
    }
    return true;
}

static bool emit_all(GraphEmit *w, const SpatialArch *arch)
{
    const Graph *g = w->g;
    spatial_machine_from_arch(arch, &w->c->program.machine);
    place_activations(g, w->c->base, &w->next);
    for (int i = 0; i < g->n_nodes; i++)
        if (!emit_node(w, &g->nodes[i]))
            return false;
    if (!close_segment(w))
        return false;
    for (int i = 0; i < g->n_outputs; i++)
        if (w->c->base[g->outputs[i]] != SPATIAL_NO_DRAM) {
            snprintf(w->err, w->errsz, "output '%s' is 16-bit words on the accelerator: the "
                     "spatial target returns dequantised outputs", g->tensors[g->outputs[i]].name);
            return false;
        }
    w->c->program.dram_words = w->next;
    return isa_program_check(&w->c->program, w->err, w->errsz) &&
           isa_dram_check(&w->c->image, w->next, w->err, w->errsz);
}

bool spatial_emit_graph(const Graph *g, const SpatialArch *arch, SpatialGraphCode *out, char *err,
                        size_t errsz)
{
    memset(out, 0, sizeof *out);
    isa_program_init(&out->program);
    isa_dram_init(&out->image);
    out->base = malloc(((size_t)g->n_tensors + 1) * sizeof *out->base);
    GraphEmit w = {.g = g, .c = out, .err = err, .errsz = errsz};
    err[0] = '\0';
    if (!out->base) {
        snprintf(err, errsz, "out of memory");
    } else if (emit_all(&w, arch)) {
        return true;
    }
    spatial_graph_code_free(out);
    return false;
}

void spatial_graph_code_free(SpatialGraphCode *c)
{
    isa_program_free(&c->program);
    isa_dram_free(&c->image);
    free(c->base);
    free(c->steps);
    memset(c, 0, sizeof *c);
}
