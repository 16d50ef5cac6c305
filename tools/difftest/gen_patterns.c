/* Patterns the optimiser rewrites (gen_internal.h), written a quarter of
 * the time instead of a single op: conv -> batchnorm -> relu, residual
 * blocks, a per-channel constant add, a second reader of an intermediate,
 * clip(0, 6), views of views, identities that are outputs, layers of
 * constants only, quantised chains and fc blocks. Some are written so that
 * a rewrite must not apply (an epilogue the batch norm may not fold
 * through, a value read twice): the passes must leave those alone. */
#include <stdio.h>
#include <string.h>

#include "gen_internal.h"

/* The name of one layer of the current block: "bN.PART". */
static void block_name(Gen *g, char *buf, size_t size, const char *part)
{
    snprintf(buf, size, "b%d.%s", g->next_block, part);
}

/* A pattern's last layer, `call` an activation of a alone: its index, or
 * a when it does not fit (the pattern is whole without it). */
static int end_with_activation(Gen *g, int a, const char *name, const char *call)
{
    int r = gen_emit(g, name, call, ELEM_F32, g->v[a].shape, false, false, g->v[a].mag);
    if (r >= 0)
        gen_use(g, a);
    return r >= 0 ? r : a;
}

/* "add(a, b)" or "add(b, a)": a rewrite must find its operand either way. */
static void add_in_any_order(Gen *g, const char *a, const char *b, char *call, size_t size)
{
    if (gen_chance(g, 50))
        snprintf(call, size, "add(%s, %s)", a, b);
    else
        snprintf(call, size, "add(%s, %s)", b, a);
}

/* conv -> batchnorm -> relu (or clip(0, 6), leaky_relu, nothing). */
int gen_pat_conv_bn_act(Gen *g, int xi)
{
    if (!gen_f32_rank4(&g->v[xi]) || !gen_room(g, 3))
        return -1;
    g->next_block++;
    char n1[40], n2[40];
    block_name(g, n1, sizeof n1, "conv");
    block_name(g, n2, sizeof n2, "bn");
    /* Sometimes the conv already has an epilogue written in source (an
     * activation or a residual): the batch norm must not fold through it. */
    GenConvOpts o = {.epilogue = gen_chance(g, 30), .no_bias = gen_chance(g, 50), .name = n1};
    int c = gen_conv_ex(g, xi, &o);
    if (c < 0)
        return -1;
    int b = gen_batchnorm_ex(g, c, n2);
    if (b < 0)
        return c;
    int kind = (int)gen_rnd(g, 0, 3);
    if (kind == 3)
        return b;
    char call[256], name[40];
    block_name(g, name, sizeof name, "act");
    if (kind == 0)
        snprintf(call, sizeof call, "relu(%s)", g->v[b].name);
    else if (kind == 1)
        snprintf(call, sizeof call, "clip(%s, min=0, max=6)", g->v[b].name);
    else
        snprintf(call, sizeof call, "leaky_relu(%s, alpha=0.1)", g->v[b].name);
    return end_with_activation(g, b, name, call);
}

/* conv (same shape) [-> batchnorm] [-> add per-channel constant] -> add(x)
 * -> relu: a residual block. */
int gen_pat_residual(Gen *g, int xi)
{
    if (!gen_f32_rank4(&g->v[xi]) || !gen_room(g, 6))
        return -1;
    g->next_block++;
    char n1[40];
    block_name(g, n1, sizeof n1, "conv");
    GenConvOpts o = {.same = true, .no_bias = gen_chance(g, 40), .name = n1};
    int c = gen_conv_ex(g, xi, &o);
    if (c < 0)
        return -1;
    if (gen_chance(g, 50)) {
        char n2[40];
        block_name(g, n2, sizeof n2, "bn");
        int b = gen_batchnorm_ex(g, c, n2);
        c = b >= 0 ? b : c;
    }
    if (gen_chance(g, 30)) {
        Shape s = {4, {1, g->v[c].shape.d[1], 1, 1}};
        if (gen_chance(g, 50))
            s = (Shape){3, {g->v[c].shape.d[1], 1, 1}};
        int k = gen_constant(g, &s, ELEM_F32);
        if (k >= 0) {
            char call[256], name[40];
            block_name(g, name, sizeof name, "shift");
            snprintf(call, sizeof call, "add(%s, %s)", g->v[c].name, g->v[k].name);
            int a = gen_emit(g, name, call, ELEM_F32, g->v[c].shape, false, false, g->v[c].mag + 1.5);
            if (a >= 0) {
                gen_use(g, c);
                gen_use(g, k);
                c = a;
            }
        }
    }
    char call[256], name[40];
    block_name(g, name, sizeof name, "sum");
    add_in_any_order(g, g->v[c].name, g->v[xi].name, call, sizeof call);
    int s = gen_emit(g, name, call, ELEM_F32, g->v[c].shape, false, false, g->v[c].mag + g->v[xi].mag);
    if (s < 0)
        return c;
    gen_use(g, c);
    gen_use(g, xi);
    if (gen_chance(g, 30))
        return s;
    snprintf(name, sizeof name, "b%d", g->next_block);
    snprintf(call, sizeof call, gen_chance(g, 75) ? "relu(%s)" : "clip(%s, min=0, max=6)", g->v[s].name);
    return end_with_activation(g, s, name, call);
}

/* conv or fc -> activation, with the conv's result read again: by a second
 * layer, or as a graph output. Nothing may fuse through it. */
int gen_pat_second_reader(Gen *g, int xi)
{
    if (!gen_room(g, 3))
        return -1;
    int c = gen_f32_rank4(&g->v[xi]) && gen_chance(g, 70) ? gen_conv(g, xi) : gen_fc(g, xi);
    if (c < 0)
        return -1;
    char call[256], name[40];
    gen_fresh_name(g, "act", name, sizeof name);
    snprintf(call, sizeof call, gen_chance(g, 60) ? "relu(%s)" : "clip(%s, min=0, max=6)", g->v[c].name);
    int r = gen_emit(g, name, call, ELEM_F32, g->v[c].shape, false, false, g->v[c].mag);
    if (r < 0)
        return c;
    gen_use(g, c);
    if (gen_chance(g, 50)) {
        gen_force_output(g, c);
        return r;
    }
    gen_fresh_name(g, "mix", name, sizeof name);
    snprintf(call, sizeof call, gen_chance(g, 50) ? "add(%s, %s)" : "sub(%s, %s)", g->v[r].name,
             g->v[c].name);
    int s = gen_emit(g, name, call, ELEM_F32, g->v[c].shape, false, false, 2 * g->v[c].mag);
    if (s >= 0) {
        gen_use(g, r);
        gen_use(g, c);
    }
    return s >= 0 ? s : r;
}

/* conv or fc + a per-channel constant (a bias in disguise), maybe an activation. */
int gen_pat_channel_constant(Gen *g, int xi)
{
    if (!gen_room(g, 4))
        return -1;
    bool conv = gen_f32_rank4(&g->v[xi]) && gen_chance(g, 70);
    int c = conv ? gen_conv(g, xi) : gen_fc(g, xi);
    if (c < 0)
        return -1;
    const Shape *o = &g->v[c].shape;
    Shape s;
    if (conv)
        s = gen_chance(g, 50) ? (Shape){4, {1, o->d[1], 1, 1}} : (Shape){3, {o->d[1], 1, 1}};
    else
        s = gen_chance(g, 50) ? (Shape){1, {o->d[1]}} : (Shape){2, {1, o->d[1]}};
    int k = gen_constant(g, &s, ELEM_F32);
    if (k < 0)
        return c;
    char call[256], name[40];
    gen_fresh_name(g, "biased", name, sizeof name);
    add_in_any_order(g, g->v[c].name, g->v[k].name, call, sizeof call);
    int a = gen_emit(g, name, call, ELEM_F32, *o, false, false, g->v[c].mag + 1.5);
    if (a < 0)
        return c;
    gen_use(g, c);
    gen_use(g, k);
    if (gen_chance(g, 50))
        return a;
    gen_fresh_name(g, "act", name, sizeof name);
    snprintf(call, sizeof call, "%s(%s)", gen_chance(g, 50) ? "relu" : "leaky_relu", g->v[a].name);
    return end_with_activation(g, a, name, call);
}

/* Views of views: reshape, flatten, slice and transpose chains, including a
 * transpose undone by its inverse. */
int gen_pat_views(Gen *g, int xi)
{
    if (!gen_room(g, 3))
        return -1;
    int v = xi, steps = (int)gen_rnd(g, 2, 3);
    for (int s = 0; s < steps; s++) {
        int k;
        int c = (int)gen_rnd(g, 0, 4);
        if (c == 0)
            k = gen_reshape(g, v);
        else if (c == 1)
            k = gen_flatten(g, v);
        else if (c == 2)
            k = gen_slice(g, v);
        else if (c == 3 && g->v[v].shape.rank >= 2) {
            int r = g->v[v].shape.rank, perm[DNNC_MAX_RANK], inv[DNNC_MAX_RANK];
            for (int i = 0; i < r; i++)
                perm[i] = i;
            for (int i = r - 1; i > 0; i--) {
                int j = (int)gen_rnd(g, 0, i), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (int i = 0; i < r; i++)
                inv[perm[i]] = i;
            k = gen_transpose_ex(g, v, perm, false);
            if (k >= 0 && gen_room(g, 1))
                k = gen_transpose_ex(g, k, inv, false);
        } else {
            k = gen_reshape_ex(g, v, true);
        }
        if (k < 0)
            break;
        v = k;
    }
    return v == xi ? -1 : v;
}

/* An identity that is a graph output: dropout, reshape to the same shape,
 * a full slice, zero padding, the identity permutation, one-operand
 * concat, max or min. */
int gen_pat_identity_output(Gen *g, int xi)
{
    if (!gen_room(g, 1))
        return -1;
    const Val *x = &g->v[xi];
    int k, c = (int)gen_rnd(g, 0, 6);
    if (c == 0) {
        k = gen_dropout(g, xi);
    } else if (c == 1) {
        k = gen_reshape_ex(g, xi, true);
    } else if (c == 2) {
        k = gen_slice_ex(g, xi, true);
    } else if (c == 3) {
        k = gen_pad_ex(g, xi, true);
    } else if (c == 4) {
        int perm[DNNC_MAX_RANK];
        for (int i = 0; i < x->shape.rank; i++)
            perm[i] = i;
        k = gen_transpose_ex(g, xi, perm, false);
    } else {
        char call[256];
        static const char *const one[] = {"concat", "max", "min"};
        const char *op = one[c - 5 + (int)gen_rnd(g, 0, 1)];
        if (strcmp(op, "concat") == 0 && x->shape.rank < 2)
            op = x->shape.rank == 0 ? "max" : "concat(%s, axis=0)";
        if (strchr(op, '%'))
            snprintf(call, sizeof call, op, x->name);
        else
            snprintf(call, sizeof call, "%s(%s)", op, x->name);
        k = gen_emit_from(g, xi, "id", call, x->type, x->shape, x->exact, x->constant, x->mag);
    }
    if (k < 0)
        return -1;
    gen_force_output(g, k);
    if (gen_chance(g, 30))
        gen_force_output(g, xi);
    /* Two identities of one value, both outputs: at most one of them can
     * take over the value's layer. */
    if (gen_chance(g, 20) && gen_room(g, 1)) {
        int k2 = gen_dropout(g, xi);
        if (k2 >= 0)
            gen_force_output(g, k2);
    }
    return k;
}

/* Layers computed from constants only (fold-constants evaluates them),
 * then combined with x. */
int gen_pat_constant_fold(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 5))
        return -1;
    Shape s = gen_broadcast_shape(g, &x->shape);
    int k = gen_constant(g, &s, x->type);
    if (k < 0)
        return -1;
    int c = (int)gen_rnd(g, 0, 2), f;
    if (c == 0 && x->type == ELEM_F32)
        f = gen_unary(g, k);
    else if (c == 1)
        f = gen_binary_op(g, k, gen_chance(g, 50) ? 0 : 2);
    else
        f = gen_clip(g, k);
    if (f < 0)
        f = k;
    int op = x->type == ELEM_F32 ? (int)gen_rnd(g, 0, 2) : 0;
    Shape out;
    if (!shape_broadcast(&x->shape, &g->v[f].shape, &out) || !gen_fits(g, &out) ||
        (op == 2 && x->mag * g->v[f].mag > GEN_MAG_LIMIT) || !gen_room(g, 1))
        return -1;
    char call[256], name[40];
    gen_fresh_name(g, gen_binary_ops[op], name, sizeof name);
    snprintf(call, sizeof call, "%s(%s, %s)", gen_binary_ops[op], x->name, g->v[f].name);
    int r = gen_emit(g, name, call, x->type, out, gen_is_int(x->type) && x->exact, false,
                     op == 2 ? x->mag * g->v[f].mag : x->mag + g->v[f].mag);
    if (r >= 0) {
        gen_use(g, xi);
        gen_use(g, f);
    }
    return r;
}

/* quantize -> integer layers -> dequantize, back to float. */
static bool quantisable(const Val *v)
{
    return (v->type == ELEM_F32 && v->exact && v->shape.rank >= 1) || gen_is_quant(v->type);
}

int gen_pat_quantised(Gen *g, int xi)
{
    if (!gen_room(g, 4))
        return -1;
    if (!quantisable(&g->v[xi]) || (g->v[xi].shape.rank != 4 && gen_chance(g, 70)))
        xi = gen_pick_operand(g, quantisable);
    if (xi < 0)
        return -1;
    int q = gen_is_quant(g->v[xi].type) ? xi : gen_quantize(g, xi);
    if (q < 0)
        return -1;
    int c = (int)gen_rnd(g, 0, 3), k = -1;
    if (c == 0)
        k = gen_qconv(g, q);
    else if (c == 1)
        k = gen_qmatmul(g, q);
    else if (c == 2)
        k = gen_maxpool(g, q);
    if (k < 0)
        k = q;
    return gen_dequantize(g, k);
}

/* fc blocks: flatten -> fc -> batchnorm -> relu -> fc. */
int gen_pat_fc_block(Gen *g, int xi)
{
    if (g->v[xi].type != ELEM_F32 || !gen_room(g, 5))
        return -1;
    int v = g->v[xi].shape.rank > 2 ? gen_flatten(g, xi) : xi;
    if (v < 0 || g->v[v].shape.rank != 2)
        return -1;
    int f = gen_fc_ex(g, v, NULL, false);
    if (f < 0)
        return -1;
    int b = gen_chance(g, 60) ? gen_batchnorm_ex(g, f, NULL) : f;
    if (b < 0)
        b = f;
    char call[256], name[40];
    gen_fresh_name(g, "act", name, sizeof name);
    snprintf(call, sizeof call, "relu(%s)", g->v[b].name);
    int r = gen_emit(g, name, call, ELEM_F32, g->v[b].shape, false, false, g->v[b].mag);
    if (r < 0)
        return b;
    gen_use(g, b);
    int f2 = gen_fc_ex(g, r, NULL, true);
    return f2 >= 0 ? f2 : r;
}
