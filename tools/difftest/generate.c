/* The generator: a seed becomes the source text of a random valid network.
 *
 * It keeps a list of the values written so far (inputs and layer outputs)
 * with their element type and shape, and adds layers one at a time: an op
 * of the op table drawn by weight, an operand drawn from the values (mostly
 * the newest or an unread one, so that graphs are connected and deep), and
 * attributes drawn so that the shape rules of ir/shape.c accept them; or, a
 * quarter of the time, a pattern the optimiser rewrites (conv -> batchnorm
 * -> relu, conv -> add(shortcut) -> relu, a per-channel constant add, a
 * second reader of an intermediate, clip(0, 6), views of views, identities
 * that are outputs, layers of constants only, quantised chains). Every op
 * the reference and the cpu target both run on an element type is drawn on
 * that type. Sizes stay within DtLimits.
 *
 * Values stay finite and of moderate size: the weights (values.c) have
 * variance 1/fan_in, divisors are constants away from zero or clip(x, 0.5,
 * 2), and a rough estimate of each value's magnitude keeps products and
 * sums from growing past 1e3. A value is "exact" when no float rounding
 * happened on its way from the inputs and constants (selections, copies,
 * integer layers): only exact values are quantised (tolerance.c).
 *
 * Only integers are drawn; every number in the text is written from
 * integers, so the text is the same on every machine.
 *
 * This file holds the move table, the inputs and the assembly of the text,
 * and parses text back for the checks; the op generators and the patterns
 * are in gen_*.c (gen_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "gen_internal.h"

/* Tensors up to 10000 elements, so that element-wise kernels run more than
 * one chunk of DNNK_CHUNK = 4096 (and on both threads of the pool). */
const DtLimits dt_default_limits = {.max_layers = 14, .max_elems = 10000, .max_macs = 600000};

/* ---- the table ---------------------------------------------------------------------- */

typedef int (*OpGen)(Gen *g, int xi);

static const struct {
    OpGen fn;
    int weight;
} moves[] = {
    {gen_conv, 14},       {gen_fc, 5},         {gen_maxpool, 5},       {gen_avgpool, 4},
    {gen_global_pool, 2}, {gen_unary, 10},     {gen_clip, 3},          {gen_maxout, 2},
    {gen_softmax, 3},     {gen_batchnorm, 4},  {gen_lrn, 2},           {gen_binary, 10},
    {gen_concat, 4},      {gen_flatten, 2},    {gen_reshape, 3},       {gen_dropout, 1},
    {gen_slice, 3},       {gen_transpose, 3},  {gen_pad, 3},           {gen_matmul, 3},
    {gen_quantize, 3},    {gen_dequantize, 3}, {gen_qconv, 4},         {gen_qmatmul, 3},
    /* patterns */
    {gen_pat_conv_bn_act, 6},      {gen_pat_residual, 5},          {gen_pat_second_reader, 3},
    {gen_pat_channel_constant, 3}, {gen_pat_views, 3},             {gen_pat_identity_output, 2},
    {gen_pat_constant_fold, 2},    {gen_pat_quantised, 6},         {gen_pat_fc_block, 2},
};
#define N_MOVES (int)(sizeof moves / sizeof *moves)

static OpGen draw_move(Gen *g)
{
    int total = 0;
    for (int i = 0; i < N_MOVES; i++)
        total += moves[i].weight;
    int r = (int)gen_rnd(g, 0, total - 1);
    for (int i = 0; i < N_MOVES; i++) {
        if (r < moves[i].weight)
            return moves[i].fn;
        r -= moves[i].weight;
    }
    return moves[0].fn;
}

/* ---- inputs ----------------------------------------------------------------------- */

/* Mostly images (rank 4), sometimes a batch of vectors, a sequence, a vector
 * or a volume. */
static Shape draw_input_shape(Gen *g)
{
    Shape s;
    int r = (int)gen_rnd(g, 0, 99);
    if (r < 70) {
        s = (Shape){4, {gen_chance(g, 75) ? 1 : 2, gen_rnd(g, 1, 8), gen_rnd(g, 1, 12), gen_rnd(g, 1, 12)}};
        if (gen_chance(g, 70))
            s.d[2] = gen_rnd(g, 4, 12), s.d[3] = gen_rnd(g, 4, 12);
        if (gen_chance(g, 12)) /* more than one chunk of 4096 elements */
            s.d[1] = gen_rnd(g, 8, 20), s.d[2] = gen_rnd(g, 16, 24), s.d[3] = gen_rnd(g, 16, 24);
    } else if (r < 85) {
        s = (Shape){2, {gen_rnd(g, 1, 3), gen_rnd(g, 1, 48)}};
    } else if (r < 95) {
        s = (Shape){3, {gen_rnd(g, 1, 2), gen_rnd(g, 1, 8), gen_rnd(g, 1, 16)}};
    } else if (r < 98) {
        s = (Shape){1, {gen_rnd(g, 1, 32)}};
    } else {
        s = (Shape){5, {1, gen_rnd(g, 1, 3), gen_rnd(g, 1, 4), gen_rnd(g, 1, 4), gen_rnd(g, 1, 4)}};
    }
    return s;
}

static void draw_input(Gen *g, int index)
{
    static const char *const names[] = {"x", "y", "z", "w"};
    Val *v = &g->v[g->n];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", names[index]);
    int t = (int)gen_rnd(g, 0, 99);
    v->type = t < 84 ? ELEM_F32 : t < 91 ? ELEM_U8 : t < 98 ? ELEM_I8 : ELEM_I32;
    /* A second input often has the first's shape, for element-wise layers. */
    if (index > 0 && gen_chance(g, 40))
        v->shape = g->v[0].shape;
    else
        v->shape = draw_input_shape(g);
    v->exact = true;
    v->input = true;
    v->mag = v->type == ELEM_F32 ? 2 : 255;
    char dims[256];
    gen_fmt_dims(&v->shape, dims, sizeof dims);
    gen_text_printf(&g->inputs, "input %s: %s%s;\n", v->name, elem_kind_name(v->type), dims);
    g->n++;
}

/* ---- the network ------------------------------------------------------------------ */

static bool any_val(const Val *v) { (void)v; return true; }

/* Mostly up to max_layers; a fifth of the graphs twice as deep, which
 * gives the buffer planner long-lived values to work around. */
static void draw_layers(Gen *g)
{
    int target = (int)gen_rnd(g, 2, g->lim.max_layers);
    if (gen_chance(g, 20)) {
        g->lim.max_layers *= 2;
        target = (int)gen_rnd(g, g->lim.max_layers / 2, g->lim.max_layers);
    }
    for (int tries = 0; g->layers < target && tries < 400; tries++) {
        OpGen fn = draw_move(g);
        int xi = gen_pick_operand(g, any_val);
        if (xi >= 0)
            fn(g, xi);
    }
}

/* A layer on any input nothing reads yet, or the input as an output. */
static void read_unread_inputs(Gen *g, int n_inputs)
{
    for (int i = 0; i < n_inputs; i++)
        if (g->v[i].uses == 0 && !gen_chance(g, 30)) {
            int k = -1;
            for (int t = 0; t < 20 && k < 0; t++)
                k = draw_move(g)(g, i);
            if (k < 0)
                gen_force_output(g, i);
        }
}

/* Outputs: every value nothing reads (a layer that nobody reads is a
 * leaf, so every layer is live), the forced ones, and sometimes an
 * input. */
static void choose_outputs(Gen *g, bool listed[GEN_MAX_VALS])
{
    for (int k = 0; k < g->n_forced; k++)
        listed[g->forced[k]] = true;
    /* Leaves computed from constants only (fold-constants makes them
     * constants) are outputs half of the time; unread constant layers are
     * dead (eliminate-dead removes them). */
    for (int i = 0; i < g->n; i++)
        if (!g->v[i].input && g->v[i].uses == 0 &&
            (!g->v[i].constant || (strncmp(g->v[i].name, "k", 1) != 0 && gen_chance(g, 50))))
            listed[i] = true;
    if (gen_chance(g, 5))
        listed[0] = true;
}

/* "\noutput A, B;\n" */
static GenText output_line(Gen *g)
{
    GenText out = {0};
    int n_out = 0;
    gen_text_printf(&out, "\noutput ");
    bool listed[GEN_MAX_VALS] = {false};
    choose_outputs(g, listed);
    for (int i = 0; i < g->n; i++)
        if (listed[i])
            gen_text_printf(&out, "%s%s", n_out++ ? ", " : "", g->v[i].name);
    if (n_out == 0)
        gen_text_printf(&out, "%s", g->v[g->n - 1].name);
    gen_text_printf(&out, ";\n");
    return out;
}

/* The layers in another order: names may be used before the line that
 * defines them, and the front end sorts the layers. */
static void shuffle_layers(Gen *g)
{
    char *lines[2 * GEN_MAX_VALS + 64];
    int n = 0;
    for (char *save = NULL, *l = strtok_r(g->body.s, "\n", &save); l && n < 2 * GEN_MAX_VALS + 64;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)gen_rnd(g, 0, i);
        char *t = lines[i];
        lines[i] = lines[j];
        lines[j] = t;
    }
    GenText shuffled = {0};
    for (int i = 0; i < n; i++)
        gen_text_printf(&shuffled, "%s\n", lines[i]);
    free(g->body.s);
    g->body = shuffled;
}

char *dt_generate(uint64_t seed, const DtLimits *limits)
{
    Gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->rng = seed;
    g->lim = limits ? *limits : dt_default_limits;
    if (g->lim.max_layers < 2)
        g->lim.max_layers = 2;
    int n_inputs = gen_chance(g, 65) ? 1 : gen_chance(g, 70) ? 2 : 3;
    for (int i = 0; i < n_inputs; i++)
        draw_input(g, i);
    draw_layers(g);
    read_unread_inputs(g, n_inputs);
    GenText out = output_line(g);
    /* Sometimes the layers in another order. */
    if (g->body.s && gen_chance(g, 15))
        shuffle_layers(g);
    GenText all = {0};
    gen_text_printf(&all, "# dnnc-difftest seed %llu\n%s\n%s%s", (unsigned long long)seed, g->inputs.s,
                    g->body.s ? g->body.s : "", out.s);
    free(g->inputs.s);
    free(g->body.s);
    free(out.s);
    free(g);
    return all.s;
}

/* ---- parsing and the generator's types ------------------------------------------------ */

Graph *dt_parse(const char *name, const char *text, char **messages)
{
    char *msg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&msg, &len);
    if (!f)
        return NULL;
    Diag d;
    diag_init(&d, f);
    Source src;
    Graph *g = NULL;
    if (source_from_buffer(name, text, strlen(text), &src)) {
        g = frontend_parse(&src, &d);
        source_free(&src);
    }
    fclose(f);
    if (messages)
        *messages = msg;
    else
        free(msg);
    return g;
}

/* The name and the written type of a layer line "[@ann ]name = CALL;  # TYPE";
 * false for the other lines (comments, inputs, outputs). */
static bool typed_layer(const char *line, char *name, size_t size, const char **type)
{
    const char *hash = strstr(line, ";  # "), *eq = strstr(line, " = ");
    /* The name is the word before " = ", after any annotations. */
    const char *start = eq;
    while (start && start > line && start[-1] != ' ')
        start--;
    if (line[0] == '#' || strncmp(line, "input ", 6) == 0 || strncmp(line, "output ", 7) == 0 || !hash ||
        !eq || (size_t)(eq - start) >= size)
        return false;
    memcpy(name, start, (size_t)(eq - start));
    name[eq - start] = '\0';
    *type = hash + 5;
    return true;
}

/* One line of the text against the parsed graph. */
static bool check_line(const Graph *g, const char *line, char *why, size_t size)
{
    char name[256], got[300];
    const char *expected;
    if (!typed_layer(line, name, sizeof name, &expected))
        return true;
    int t = graph_find_tensor(g, name);
    if (t < 0) {
        snprintf(why, size, "layer '%s' is not in the parsed graph", name);
        return false;
    }
    tensor_type_format(&g->tensors[t], got, sizeof got);
    if (strcmp(got, expected) != 0) {
        snprintf(why, size, "layer '%s': the generator expected %s, the front end says %s", name, expected,
                 got);
        return false;
    }
    return true;
}

bool dt_check_types(const Graph *g, const char *text, char *why, size_t size)
{
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            if (!check_line(g, line, why, size))
                return false;
        }
        p = eol ? eol + 1 : NULL;
    }
    return true;
}

uint64_t dt_seed_of(const char *text, uint64_t fallback)
{
    static const char tag[] = "# dnnc-difftest seed ";
    const char *p = strstr(text, tag);
    unsigned long long v;
    if (p && (p == text || p[-1] == '\n') && sscanf(p + strlen(tag), "%llu", &v) == 1)
        return (uint64_t)v;
    return fallback;
}
