/* The quantised ops (gen_internal.h): quantize, dequantize, the integer
 * convolutions (conv_integer, qlinear_conv) and matrix products
 * (matmul_integer, qlinear_matmul). quantize reads only exact values: a
 * value carrying rounding error could legitimately land a step away on
 * another backend, and every integer layer after it further (tolerance.c). */
#include <stdio.h>
#include <string.h>

#include "gen_internal.h"

static bool quant_rank4(const Val *v) { return gen_is_quant(v->type) && v->shape.rank == 4; }

/* A quarter of the time, per-axis scales and zero points on a random axis. */
static void quant_axis(Gen *g, const Val *x, char *call, size_t size)
{
    if (x->shape.rank == 0 || !gen_chance(g, 25))
        return;
    int r = x->shape.rank;
    int64_t axis = gen_rnd(g, -r, r - 1);
    gen_arg(call, size, "per_axis=true");
    if (axis != 1)
        gen_arg(call, size, "axis=%lld", (long long)axis);
}

int gen_quantize(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || !x->exact || !gen_room(g, 1))
        return -1;
    ElemKind t = gen_chance(g, 50) ? ELEM_U8 : ELEM_I8;
    char call[256];
    snprintf(call, sizeof call, "quantize(%s", x->name);
    if (t != ELEM_U8 || gen_chance(g, 10))
        gen_arg(call, sizeof call, "dtype=%s", elem_kind_name(t));
    quant_axis(g, x, call, sizeof call);
    strcat(call, ")");
    return gen_emit_from(g, xi, "q", call, t, x->shape, true, x->constant, 128);
}

int gen_dequantize(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_is_int(x->type) || !gen_room(g, 1))
        return -1;
    char call[256];
    snprintf(call, sizeof call, "dequantize(%s", x->name);
    quant_axis(g, x, call, sizeof call);
    strcat(call, ")");
    return gen_emit_from(g, xi, "dq", call, ELEM_F32, x->shape, true, x->constant, 8);
}

int gen_qconv(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!quant_rank4(x) || !gen_room(g, 1))
        return -1;
    bool linear = gen_chance(g, 60);
    int64_t N = x->shape.d[0], C = x->shape.d[1];
    int64_t groups = gen_chance(g, 30) ? gen_divisor_of(g, C) : 1;
    int64_t F = groups * gen_rnd(g, 1, gen_max64(1, 8 / groups));
    GenWindow w;
    if (!gen_draw_window(g, x->shape.d[2], x->shape.d[3], false, true, false, &w))
        return -1;
    Shape out = {4, {N, F, w.out[0], w.out[1]}};
    int64_t wsize = F * (C / groups) * w.k[0] * w.k[1], macs = wsize * N * w.out[0] * w.out[1];
    if (!gen_fits(g, &out) || wsize > 4 * g->lim.max_elems || g->macs + macs > g->lim.max_macs)
        return -1;
    char call[768], name[40];
    snprintf(call, sizeof call, "%s(%s, filters=%lld", linear ? "qlinear_conv" : "conv_integer", x->name,
             (long long)F);
    gen_window_args(g, &w, true, call, sizeof call);
    if (groups != 1)
        gen_arg(call, sizeof call, "groups=%lld", (long long)groups);
    if (gen_chance(g, 50))
        gen_arg(call, sizeof call, "weight_type=i8");
    if (gen_chance(g, 30))
        gen_arg(call, sizeof call, "per_channel=true");
    ElemKind t = ELEM_I32;
    if (linear) {
        if (gen_chance(g, 50))
            gen_arg(call, sizeof call, "bias=true");
        t = gen_chance(g, 50) ? ELEM_U8 : ELEM_I8;
        if (t == ELEM_I8)
            gen_arg(call, sizeof call, "out_type=i8");
    }
    strcat(call, ")");
    gen_fresh_name(g, linear ? "qconv" : "iconv", name, sizeof name);
    int k = gen_emit(g, name, call, t, out, true, x->constant, 128);
    if (k >= 0) {
        gen_use(g, xi);
        g->macs += macs;
    }
    return k;
}

int gen_qmatmul(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_is_quant(x->type) || x->shape.rank < 2 || !gen_room(g, 2))
        return -1;
    bool linear = gen_chance(g, 50);
    int r = x->shape.rank;
    int64_t K = x->shape.d[r - 1];
    int b = -1;
    if (gen_chance(g, 30)) {
        int start = (int)gen_rnd(g, 0, g->n - 1);
        for (int j = 0; j < g->n && b < 0; j++) {
            int i = (start + j) % g->n;
            const Val *v = &g->v[i];
            if (gen_is_quant(v->type) && v->shape.rank == 2 && v->shape.d[0] == K)
                b = i;
        }
    }
    if (b < 0) {
        Shape s = {2, {K, gen_rnd(g, 1, 10)}};
        b = gen_constant(g, &s, gen_chance(g, 50) ? ELEM_U8 : ELEM_I8);
    }
    if (b < 0)
        return -1;
    const Val *bv = &g->v[b];
    Shape out = x->shape;
    out.d[r - 1] = bv->shape.d[1];
    int64_t macs = shape_elems(&out) * K;
    if (!gen_fits(g, &out) || g->macs + macs > g->lim.max_macs)
        return -1;
    char call[256], name[40];
    snprintf(call, sizeof call, "%s(%s, %s", linear ? "qlinear_matmul" : "matmul_integer", x->name, bv->name);
    if (gen_chance(g, 30))
        gen_arg(call, sizeof call, "per_column=true");
    ElemKind t = ELEM_I32;
    if (linear) {
        t = gen_chance(g, 50) ? ELEM_U8 : ELEM_I8;
        if (t == ELEM_I8)
            gen_arg(call, sizeof call, "out_type=i8");
    }
    strcat(call, ")");
    gen_fresh_name(g, linear ? "qmm" : "imm", name, sizeof name);
    int k = gen_emit(g, name, call, t, out, true, x->constant && bv->constant, 128);
    if (k >= 0) {
        gen_use(g, xi);
        gen_use(g, b);
        g->macs += macs;
    }
    return k;
}
