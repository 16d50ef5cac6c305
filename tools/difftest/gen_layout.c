/* The ops that only move elements (gen_internal.h): concat, flatten,
 * reshape, dropout, slice, transpose and pad. No arithmetic happens, so
 * exact operands give an exact result (it may then be quantised). The _ex
 * forms can also write the op's identity, for gen_pat_identity_output. */
#include <stdio.h>
#include <string.h>

#include "gen_internal.h"

/* Another operand to concatenate to x along axis a: a value that differs
 * from x only there, x itself, or a new constant; -1 when none fits. */
static int concat_operand(Gen *g, int xi, int64_t a)
{
    const Val *x = &g->v[xi];
    int r = x->shape.rank;
    int o = -1, c = (int)gen_rnd(g, 0, 99);
    if (c < 40) {
        int start = (int)gen_rnd(g, 0, g->n - 1);
        for (int j = 0; j < g->n && o < 0; j++) {
            int i = (start + j) % g->n;
            const Val *v = &g->v[i];
            bool ok = i != xi && v->type == x->type && v->shape.rank == r;
            for (int d = 0; ok && d < r; d++)
                ok = d == a || v->shape.d[d] == x->shape.d[d];
            if (ok)
                o = i;
        }
    } else if (c < 60) {
        o = xi;
    }
    if (o < 0) {
        Shape s = x->shape;
        s.d[a] = gen_rnd(g, 1, 3);
        o = gen_constant(g, &s, x->type);
    }
    return o;
}

int gen_concat(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->shape.rank == 0 || !gen_room(g, 4))
        return -1;
    int r = x->shape.rank;
    int64_t axis = gen_rnd(g, -r, r - 1), a = axis < 0 ? axis + r : axis;
    int n = gen_chance(g, 10) ? (int)gen_rnd(g, 5, 10) : (int)gen_rnd(g, 1, 4), ops[10] = {xi};
    Shape out = x->shape;
    bool exact = x->exact, constant = x->constant;
    double mag = x->mag;
    for (int k = 1; k < n; k++) {
        int o = concat_operand(g, xi, a);
        if (o < 0)
            return -1;
        out.d[a] += g->v[o].shape.d[a];
        ops[k] = o;
        exact = exact && g->v[o].exact;
        constant = constant && g->v[o].constant;
        mag = mag > g->v[o].mag ? mag : g->v[o].mag;
    }
    if (!gen_fits(g, &out))
        return -1;
    char call[512], name[40];
    snprintf(call, sizeof call, "concat(");
    for (int k = 0; k < n; k++)
        snprintf(call + strlen(call), sizeof call - strlen(call), "%s%s", k ? ", " : "", g->v[ops[k]].name);
    if (axis != 1 || gen_chance(g, 10))
        gen_arg(call, sizeof call, "axis=%lld", (long long)axis);
    strcat(call, ")");
    gen_fresh_name(g, "cat", name, sizeof name);
    int k = gen_emit(g, name, call, x->type, out, exact, constant, mag);
    if (k >= 0)
        for (int j = 0; j < n; j++)
            gen_use(g, ops[j]);
    return k;
}

int gen_flatten(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 1))
        return -1;
    int r = x->shape.rank;
    int64_t axis = gen_rnd(g, -r, r), a = axis < 0 ? axis + r : axis;
    Shape out = {2, {1, 1}};
    for (int i = 0; i < r; i++)
        out.d[i < a ? 0 : 1] *= x->shape.d[i];
    char call[256];
    snprintf(call, sizeof call, "flatten(%s", x->name);
    if (axis != 1)
        gen_arg(call, sizeof call, "axis=%lld", (long long)axis);
    strcat(call, ")");
    return gen_emit_from(g, xi, "flat", call, x->type, out, x->exact, x->constant, x->mag);
}

/* reshape to a random factorisation of the element count, with 0 (copy a
 * dimension) and -1 (infer one) sometimes. same: the same shape. */
int gen_reshape_ex(Gen *g, int xi, bool same)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 1))
        return -1;
    int64_t total = shape_elems(&x->shape);
    Shape out = {0, {0}};
    if (same && x->shape.rank == 0)
        return -1; /* a target shape has at least one dimension */
    if (same) {
        out = x->shape;
    } else {
        int r = (int)gen_rnd(g, 1, 5);
        int64_t rest = total;
        for (int i = 0; i < r - 1; i++) {
            out.d[i] = gen_divisor_of(g, rest);
            rest /= out.d[i];
        }
        out.d[r - 1] = rest;
        out.rank = r;
    }
    int64_t written[DNNC_MAX_RANK];
    int infer = gen_chance(g, 35) ? (int)gen_rnd(g, 0, out.rank - 1) : -1;
    for (int i = 0; i < out.rank; i++) {
        written[i] = out.d[i];
        if (i == infer)
            written[i] = -1;
        else if (i < x->shape.rank && out.d[i] == x->shape.d[i] && gen_chance(g, same ? 60 : 30))
            written[i] = 0;
    }
    char call[256], dims[256];
    Shape w = {out.rank, {0}};
    memcpy(w.d, written, sizeof(int64_t) * (size_t)out.rank);
    gen_fmt_dims(&w, dims, sizeof dims);
    snprintf(call, sizeof call, "reshape(%s, shape=%s)", x->name, dims);
    return gen_emit_from(g, xi, "rs", call, x->type, out, x->exact, x->constant, x->mag);
}

int gen_reshape(Gen *g, int xi) { return gen_reshape_ex(g, xi, gen_chance(g, 10)); }

int gen_dropout(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 1))
        return -1;
    char call[256];
    snprintf(call, sizeof call, "dropout(%s", x->name);
    if (gen_chance(g, 50))
        gen_arg(call, sizeof call, "rate=%s", GEN_PICK(g, "0.1", "0.25", "0.0"));
    strcat(call, ")");
    return gen_emit_from(g, xi, "drop", call, x->type, x->shape, x->exact, x->constant, x->mag);
}

/* full: the whole range (an identity). */
int gen_slice_ex(Gen *g, int xi, bool full)
{
    const Val *x = &g->v[xi];
    if (x->shape.rank == 0 || !gen_room(g, 1))
        return -1;
    int r = x->shape.rank;
    int64_t axis = gen_rnd(g, -r, r - 1), a = axis < 0 ? axis + r : axis, d = x->shape.d[a];
    int64_t start = full ? 0 : gen_rnd(g, 0, d - 1), end = full ? d : gen_rnd(g, start + 1, d);
    Shape out = x->shape;
    out.d[a] = end - start;
    char call[256];
    snprintf(call, sizeof call, "slice(%s", x->name);
    if (axis != 1 || gen_chance(g, 10))
        gen_arg(call, sizeof call, "axis=%lld", (long long)axis);
    gen_arg(call, sizeof call, "start=%lld", (long long)start);
    gen_arg(call, sizeof call, "end=%lld", (long long)end);
    strcat(call, ")");
    return gen_emit_from(g, xi, "sl", call, x->type, out, x->exact, x->constant, x->mag);
}

int gen_slice(Gen *g, int xi) { return gen_slice_ex(g, xi, gen_chance(g, 10)); }

/* perm: NULL for a random one; otherwise this permutation. */
int gen_transpose_ex(Gen *g, int xi, const int *perm_in, bool reverse)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 1))
        return -1;
    int r = x->shape.rank, perm[DNNC_MAX_RANK];
    for (int i = 0; i < r; i++)
        perm[i] = perm_in ? perm_in[i] : reverse ? r - 1 - i : i;
    if (!perm_in && !reverse)
        for (int i = r - 1; i > 0; i--) {
            int j = (int)gen_rnd(g, 0, i), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    Shape out = {r, {0}};
    for (int i = 0; i < r; i++)
        out.d[i] = x->shape.d[perm[i]];
    char call[256] = "";
    snprintf(call, sizeof call, "transpose(%s", x->name);
    if (!reverse || gen_chance(g, 30)) {
        strcat(call, ", perm=[");
        for (int i = 0; i < r; i++)
            snprintf(call + strlen(call), sizeof call - strlen(call), "%s%d", i ? ", " : "", perm[i]);
        strcat(call, "]");
    }
    strcat(call, ")");
    return gen_emit_from(g, xi, "tr", call, x->type, out, x->exact, x->constant, x->mag);
}

int gen_transpose(Gen *g, int xi) { return gen_transpose_ex(g, xi, NULL, gen_chance(g, 20)); }

/* zero: pads of 0 (an identity). */
int gen_pad_ex(Gen *g, int xi, bool zero)
{
    const Val *x = &g->v[xi];
    if (x->shape.rank == 0 || !gen_room(g, 1))
        return -1;
    int r = x->shape.rank;
    int mode = (int)gen_rnd(g, 0, 2); /* constant, reflect, edge */
    int64_t p[2 * DNNC_MAX_RANK];
    Shape out = x->shape;
    for (int i = 0; i < r; i++)
        for (int side = 0; side < 2; side++) {
            int64_t v = zero || gen_chance(g, 60) ? 0 : gen_rnd(g, 1, 2);
            if (mode == 1)
                v = gen_min64(v, x->shape.d[i] - 1);
            p[side * r + i] = v;
            out.d[i] += v;
        }
    if (!gen_fits(g, &out))
        return -1;
    char call[512];
    snprintf(call, sizeof call, "pad(%s, pads=[", x->name);
    for (int i = 0; i < 2 * r; i++)
        snprintf(call + strlen(call), sizeof call - strlen(call), "%s%lld", i ? ", " : "", (long long)p[i]);
    strcat(call, "]");
    double mag = x->mag;
    if (mode == 0 && gen_chance(g, 50)) {
        const char *v = x->type == ELEM_F32 ? GEN_PICK(g, "1.5", "-2.0", "0.25")
                                            : GEN_PICK(g, "3", "7", "1");
        gen_arg(call, sizeof call, "value=%s", v);
        mag = mag > 2 ? mag : 2;
    }
    if (mode == 1)
        gen_arg(call, sizeof call, "mode=reflect");
    else if (mode == 2)
        gen_arg(call, sizeof call, "mode=edge");
    strcat(call, ")");
    return gen_emit_from(g, xi, "pad", call, x->type, out, x->exact, x->constant, mag);
}

int gen_pad(Gen *g, int xi) { return gen_pad_ex(g, xi, false); }
