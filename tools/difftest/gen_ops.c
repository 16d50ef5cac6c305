/* The arithmetic ops (gen_internal.h): conv, fc, pooling, every float
 * activation, clip, maxout, softmax, the normalisations, the element-wise
 * ops with broadcasting, and matmul. Each draws its attributes so that the
 * shape rules of ir/shape.c accept them and records a rough bound of its
 * value's magnitude (Val.mag); the element-wise ops and matmul give up
 * rather than pass GEN_MAG_LIMIT, so that values stay finite. */
#include <stdio.h>
#include <string.h>

#include "gen_internal.h"

/* ---- epilogues written in source ---------------------------------------------- */

static const char *const act_names[] = {"relu", "leaky_relu", "clip"};

/* An activation fused into a conv or fc (act=, with its attributes); clip
 * bounds the magnitude. */
static void epilogue_act(Gen *g, char *call, size_t size, double *mag)
{
    int a = (int)gen_rnd(g, 0, 2);
    gen_arg(call, size, "act=%s", act_names[a]);
    if (a == 1 && gen_chance(g, 70))
        gen_arg(call, size, "alpha=%s", GEN_PICK(g, "0.1", "0.2", "0.01", "-0.5"));
    if (a == 2) {
        if (gen_chance(g, 50)) {
            gen_arg(call, size, "min=0");
            gen_arg(call, size, "max=6");
        } else {
            gen_arg(call, size, "min=%s", GEN_PICK(g, "-1.0", "-0.5", "0.0"));
            if (gen_chance(g, 70))
                gen_arg(call, size, "max=%s", GEN_PICK(g, "1.0", "0.5", "2.5"));
        }
        *mag = *mag < 6 ? *mag : 6;
    }
}

/* ---- the ops ------------------------------------------------------------------- */

/* name: `given`, or a fresh one starting with prefix. */
static void layer_name(Gen *g, const char *given, const char *prefix, char *name, size_t size)
{
    if (given)
        snprintf(name, size, "%s", given);
    else
        gen_fresh_name(g, prefix, name, size);
}

/* Another value of type `type` and exactly shape s, or -1. */
static int find_same(Gen *g, ElemKind type, const Shape *s, int avoid)
{
    int start = (int)gen_rnd(g, 0, g->n - 1);
    for (int k = 0; k < g->n; k++) {
        int i = (start + k) % g->n;
        if (i != avoid && g->v[i].type == type && shape_equal(&g->v[i].shape, s))
            return i;
    }
    return -1;
}

/* Half of the time when epi, a value of the output's shape as the
 * epilogue's residual operand: appended to call, its magnitude added to
 * *mag. Its index, or -1. */
static int residual_operand(Gen *g, bool epi, const Shape *out, char *call, size_t size, double *mag)
{
    int res = -1;
    if (epi && gen_chance(g, 50) && (res = find_same(g, ELEM_F32, out, -1)) >= 0) {
        snprintf(call + strlen(call), size - strlen(call), ", %s", g->v[res].name);
        *mag += g->v[res].mag;
    }
    return res;
}

/* Writes a conv or fc reading xi and the residual res (-1: none), and
 * counts its multiply-accumulates against max_macs. */
static int emit_weighted(Gen *g, int xi, int res, const char *name, const char *call, Shape out, double mag,
                         int64_t macs)
{
    int k = gen_emit(g, name, call, ELEM_F32, out, false, false, mag);
    if (k >= 0) {
        gen_use(g, xi);
        if (res >= 0)
            gen_use(g, res);
        g->macs += macs;
    }
    return k;
}

/* The filters of a conv over C channels and their groups: depthwise,
 * grouped, wide or plain. same: as many filters as channels. */
static int64_t draw_filters(Gen *g, int64_t C, bool same, int64_t *groups)
{
    *groups = 1;
    int r = (int)gen_rnd(g, 0, 9);
    if (r < 2 && C > 1) { /* depthwise */
        *groups = C;
        return same ? C : C * gen_rnd(g, 1, 2);
    }
    if (r < 4) {
        *groups = gen_divisor_of(g, C);
        return same ? C : *groups * gen_rnd(g, 1, gen_max64(1, 12 / *groups));
    }
    if (r < 6) {
        /* Wide: with K = C/groups * kh * kw past 256 the conv kernel sums in
         * blocks (KC in codegen/kernels/conv.c). */
        return same ? C : gen_rnd(g, 13, 40);
    }
    return same ? C : gen_rnd(g, 1, 12);
}

/* A window that keeps H x W: odd kernels, maybe dilated, stride 1, padded
 * on both sides by half the span. */
static void same_window(Gen *g, int64_t H, int64_t W, GenWindow *w)
{
    for (int i = 0; i < 2; i++) {
        w->k[i] = 2 * gen_rnd(g, 0, 2) + 1;
        w->d[i] = gen_chance(g, 20) ? 2 : 1;
        w->s[i] = 1;
        w->p[i] = w->p[i + 2] = w->d[i] * (w->k[i] - 1) / 2;
    }
    w->out[0] = H, w->out[1] = W;
}

int gen_conv_ex(Gen *g, int xi, const GenConvOpts *o)
{
    const Val *x = &g->v[xi];
    if (!gen_f32_rank4(x) || !gen_room(g, 1))
        return -1;
    int64_t N = x->shape.d[0], C = x->shape.d[1], H = x->shape.d[2], W = x->shape.d[3];
    int64_t groups, F = draw_filters(g, C, o->same, &groups);
    GenWindow w;
    if (o->same)
        same_window(g, H, W, &w);
    else if (!gen_draw_window(g, H, W, false, true, false, &w))
        return -1;
    Shape out = {4, {N, F, w.out[0], w.out[1]}};
    int64_t wsize = F * (C / groups) * w.k[0] * w.k[1];
    int64_t macs = wsize * N * w.out[0] * w.out[1];
    if (!gen_fits(g, &out) || wsize > 4 * g->lim.max_elems || g->macs + macs > g->lim.max_macs)
        return -1;
    char call[768], name[40];
    snprintf(call, sizeof call, "conv(%s", x->name);
    double mag = x->mag * 1.5 + 0.5;
    bool epi = o->epilogue && gen_chance(g, o->name ? 70 : 20);
    int res = residual_operand(g, epi, &out, call, sizeof call, &mag);
    gen_arg(call, sizeof call, "filters=%lld", (long long)F);
    gen_window_args(g, &w, true, call, sizeof call);
    if (groups != 1)
        gen_arg(call, sizeof call, "groups=%lld", (long long)groups);
    if (o->no_bias || gen_chance(g, 25))
        gen_arg(call, sizeof call, "bias=false");
    if (epi && gen_chance(g, 70))
        epilogue_act(g, call, sizeof call, &mag);
    strcat(call, ")");
    layer_name(g, o->name, "conv", name, sizeof name);
    return emit_weighted(g, xi, res, name, call, out, mag, macs);
}

int gen_conv(Gen *g, int xi)
{
    GenConvOpts o = {.epilogue = true};
    return gen_conv_ex(g, xi, &o);
}

int gen_fc_ex(Gen *g, int xi, const char *name_in, bool epilogue)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank < 2 || !gen_room(g, 1))
        return -1;
    int64_t N = x->shape.d[0], K = shape_elems(&x->shape) / N, U = gen_rnd(g, 1, 24);
    Shape out = {2, {N, U}};
    if (U * K > 4 * g->lim.max_elems || g->macs + N * U * K > g->lim.max_macs)
        return -1;
    char call[512], name[40];
    snprintf(call, sizeof call, "fc(%s", x->name);
    double mag = x->mag * 1.5 + 0.5;
    bool epi = epilogue && gen_chance(g, 20);
    int res = residual_operand(g, epi, &out, call, sizeof call, &mag);
    gen_arg(call, sizeof call, "units=%lld", (long long)U);
    if (gen_chance(g, 25))
        gen_arg(call, sizeof call, "bias=false");
    if (epi && gen_chance(g, 70))
        epilogue_act(g, call, sizeof call, &mag);
    strcat(call, ")");
    layer_name(g, name_in, "fc", name, sizeof name);
    return emit_weighted(g, xi, res, name, call, out, mag, N * U * K);
}

int gen_fc(Gen *g, int xi) { return gen_fc_ex(g, xi, NULL, true); }

static int pool_layer(Gen *g, int xi, bool avg)
{
    const Val *x = &g->v[xi];
    if (x->shape.rank != 4 || (avg && x->type != ELEM_F32) || !gen_room(g, 1))
        return -1;
    bool ceil_mode = gen_chance(g, 30);
    GenWindow w;
    if (!gen_draw_window(g, x->shape.d[2], x->shape.d[3], true, !avg, ceil_mode, &w))
        return -1;
    /* A dilated window can fall between the input's elements and see only
     * padding: its maximum is -inf (0 for integers), which the comparison
     * would have to discard. */
    for (int i = 0; i < 2; i++)
        for (int64_t o = 0; o < w.out[i]; o++) {
            bool sees = false;
            for (int64_t k = 0; k < w.k[i] && !sees; k++) {
                int64_t at = o * w.s[i] - w.p[i] + k * w.d[i];
                sees = at >= 0 && at < x->shape.d[2 + i];
            }
            if (!sees)
                return -1;
        }
    Shape out = {4, {x->shape.d[0], x->shape.d[1], w.out[0], w.out[1]}};
    char call[512];
    snprintf(call, sizeof call, "%s(%s", avg ? "avgpool" : "maxpool", x->name);
    gen_window_args(g, &w, !avg, call, sizeof call);
    if (ceil_mode)
        gen_arg(call, sizeof call, "ceil=true");
    if (avg && gen_chance(g, 40))
        gen_arg(call, sizeof call, "count_include_pad=true");
    strcat(call, ")");
    return gen_emit_from(g, xi, avg ? "avg" : "maxp", call, x->type, out, x->exact && !avg, x->constant,
                         x->mag);
}

int gen_maxpool(Gen *g, int xi) { return pool_layer(g, xi, false); }
int gen_avgpool(Gen *g, int xi) { return pool_layer(g, xi, true); }

int gen_global_pool(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    bool avg = gen_chance(g, 50);
    if (x->shape.rank < 3 || (avg && x->type != ELEM_F32) || !gen_room(g, 1))
        return -1;
    Shape out = x->shape;
    for (int i = 2; i < out.rank; i++)
        out.d[i] = 1;
    char call[256];
    snprintf(call, sizeof call, "%s(%s)", avg ? "global_avgpool" : "global_maxpool", x->name);
    return gen_emit_from(g, xi, "gp", call, x->type, out, x->exact && !avg, x->constant, x->mag);
}

/* prelu: one slope per channel, or slopes that broadcast (slope_shape=);
 * false for a scalar, which neither fits. */
static bool prelu_slopes(Gen *g, const Shape *s, char *call, size_t size)
{
    if (s->rank == 0)
        return false;
    if (s->rank >= 2 && !gen_chance(g, 40))
        return true; /* one per channel: no attribute */
    Shape sl = {0, {0}};
    int kind = (int)gen_rnd(g, 0, 2);
    if (kind == 0 || s->rank < 2) { /* the last dimension */
        sl.rank = 1, sl.d[0] = s->d[s->rank - 1];
    } else if (kind == 1) { /* [1] */
        sl.rank = 1, sl.d[0] = 1;
    } else { /* [C, 1, ...] aligned right */
        sl.rank = s->rank - 1;
        for (int i = 0; i < sl.rank; i++)
            sl.d[i] = i == 0 ? s->d[1] : 1;
    }
    char dims[256];
    gen_fmt_dims(&sl, dims, sizeof dims);
    gen_arg(call, size, "slope_shape=%s", dims);
    return true;
}

/* Every float activation, with its attributes. */
int gen_unary(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || !gen_room(g, 1))
        return -1;
    static const char *const fns[] = {"relu", "leaky_relu", "elu", "sigmoid", "tanh", "hard_sigmoid",
                                      "selu", "prelu"};
    const char *fn = fns[gen_rnd(g, 0, 7)];
    char call[512];
    snprintf(call, sizeof call, "%s(%s", fn, x->name);
    double mag = x->mag;
    bool exact = false;
    if (strcmp(fn, "relu") == 0) {
        exact = x->exact;
    } else if (strcmp(fn, "leaky_relu") == 0) {
        if (gen_chance(g, 60))
            gen_arg(call, sizeof call, "alpha=%s", GEN_PICK(g, "0.1", "0.2", "0.3", "-0.25", "1.5"));
        mag *= 1.5;
    } else if (strcmp(fn, "elu") == 0) {
        if (gen_chance(g, 50))
            gen_arg(call, sizeof call, "alpha=%s", GEN_PICK(g, "0.5", "1.5", "2.0"));
        mag += 2;
    } else if (strcmp(fn, "sigmoid") == 0 || strcmp(fn, "tanh") == 0) {
        mag = 1;
    } else if (strcmp(fn, "hard_sigmoid") == 0) {
        if (gen_chance(g, 50))
            gen_arg(call, sizeof call, "alpha=%s", GEN_PICK(g, "0.1", "0.25", "0.5"));
        if (gen_chance(g, 50))
            gen_arg(call, sizeof call, "beta=%s", GEN_PICK(g, "0.4", "0.6", "0.5"));
        mag = 1;
    } else if (strcmp(fn, "selu") == 0) {
        if (gen_chance(g, 30)) {
            gen_arg(call, sizeof call, "alpha=%s", GEN_PICK(g, "1.5", "1.0"));
            gen_arg(call, sizeof call, "gamma=%s", GEN_PICK(g, "1.1", "0.9"));
        }
        mag = mag * 1.1 + 2;
    } else if (!prelu_slopes(g, &x->shape, call, sizeof call)) {
        return -1;
    }
    strcat(call, ")");
    return gen_emit_from(g, xi, "act", call, ELEM_F32, x->shape, exact, x->constant, mag);
}

int gen_clip(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 1))
        return -1;
    char call[256];
    snprintf(call, sizeof call, "clip(%s", x->name);
    double mag = x->mag;
    if (x->type == ELEM_F32) {
        int c = (int)gen_rnd(g, 0, 3);
        if (c == 0) {
            gen_arg(call, sizeof call, "min=0");
            gen_arg(call, sizeof call, "max=6");
            mag = 6;
        } else if (c == 1) {
            gen_arg(call, sizeof call, "min=-1.5");
            gen_arg(call, sizeof call, "max=0.75");
            mag = 1.5;
        } else if (c == 2) {
            gen_arg(call, sizeof call, "min=-0.5");
        } else {
            gen_arg(call, sizeof call, "max=1.25");
        }
    } else {
        int64_t lo = x->type == ELEM_U8 ? gen_rnd(g, 0, 100) : gen_rnd(g, -40, 0);
        int64_t hi = lo + gen_rnd(g, 0, 120);
        /* Bounds are numbers: a fraction (stored back truncated) or past the type's range. */
        const char *frac = gen_chance(g, 20) ? ".5" : "";
        if (gen_chance(g, 10))
            lo = x->type == ELEM_U8 ? -20 : -300;
        if (gen_chance(g, 10))
            hi = 400;
        if (gen_chance(g, 80))
            gen_arg(call, sizeof call, "min=%lld%s", (long long)lo, frac);
        if (gen_chance(g, 80))
            gen_arg(call, sizeof call, "max=%lld%s", (long long)hi, frac);
    }
    strcat(call, ")");
    return gen_emit_from(g, xi, "clip", call, x->type, x->shape, x->exact, x->constant, mag);
}

int gen_maxout(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank < 2 || !gen_room(g, 1))
        return -1;
    int64_t p = gen_divisor_of(g, x->shape.d[1]);
    Shape out = x->shape;
    out.d[1] /= p;
    char call[256];
    snprintf(call, sizeof call, "maxout(%s, pieces=%lld)", x->name, (long long)p);
    return gen_emit_from(g, xi, "mo", call, ELEM_F32, out, x->exact, x->constant, x->mag);
}

int gen_softmax(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank == 0 || !gen_room(g, 1))
        return -1;
    bool log = gen_chance(g, 40);
    int r = x->shape.rank;
    int64_t axis = gen_rnd(g, -r, r - 1);
    char call[256];
    snprintf(call, sizeof call, "%s(%s", log ? "log_softmax" : "softmax", x->name);
    if (axis != 1 || gen_chance(g, 10))
        gen_arg(call, sizeof call, "axis=%lld", (long long)axis);
    strcat(call, ")");
    return gen_emit_from(g, xi, log ? "lsm" : "sm", call, ELEM_F32, x->shape, false, x->constant,
                         log ? 2 * x->mag + 8 : 1);
}

int gen_batchnorm_ex(Gen *g, int xi, const char *name_in)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank < 2 || !gen_room(g, 1))
        return -1;
    bool ss = !name_in && gen_chance(g, 25);
    char call[256], name[40];
    snprintf(call, sizeof call, "%s(%s", ss ? "scale_shift" : "batchnorm", x->name);
    if (!ss && gen_chance(g, 40))
        gen_arg(call, sizeof call, "eps=%s", GEN_PICK(g, "0.001", "0.01", "0.1"));
    strcat(call, ")");
    layer_name(g, name_in, ss ? "ss" : "bn", name, sizeof name);
    int k = gen_emit(g, name, call, ELEM_F32, x->shape, false, x->constant, x->mag * 2.5 + 1);
    if (k >= 0)
        gen_use(g, xi);
    return k;
}

int gen_batchnorm(Gen *g, int xi) { return gen_batchnorm_ex(g, xi, NULL); }

int gen_lrn(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank < 3 || !gen_room(g, 1))
        return -1;
    char call[256];
    snprintf(call, sizeof call, "lrn(%s", x->name);
    if (gen_chance(g, 70))
        gen_arg(call, sizeof call, "size=%lld", (long long)gen_rnd(g, 1, 7));
    if (gen_chance(g, 60))
        gen_arg(call, sizeof call, "alpha=%s", GEN_PICK(g, "0.001", "0.01", "0.1", "0.5"));
    if (gen_chance(g, 50))
        gen_arg(call, sizeof call, "beta=%s", GEN_PICK(g, "0.5", "1.0", "0.25"));
    if (gen_chance(g, 50))
        gen_arg(call, sizeof call, "bias=%s", GEN_PICK(g, "2.0", "1.5", "1"));
    strcat(call, ")");
    return gen_emit_from(g, xi, "lrn", call, ELEM_F32, x->shape, false, x->constant, x->mag);
}

/* A shape that broadcasts with s: a scalar, [1], one value per channel
 * ([1, C, 1, 1] or [C, 1, 1]), the last dimension, s itself, s with some
 * dimensions 1, or one that also makes s's 1s larger. */
Shape gen_broadcast_shape(Gen *g, const Shape *s)
{
    Shape b = {0, {0}};
    int r = s->rank, kind = (int)gen_rnd(g, 0, 7);
    if (kind == 7) { /* broadcasting both ways: s's 1s grow, its other dimensions become 1 */
        b = *s;
        for (int i = 0; i < r; i++)
            b.d[i] = s->d[i] == 1 ? gen_rnd(g, 1, 3) : gen_chance(g, 50) ? 1 : s->d[i];
        return b;
    }
    if (kind == 0) {
        return b;
    } else if (kind == 1) {
        b.rank = 1, b.d[0] = 1;
    } else if (kind == 2 && r >= 2) {
        bool full = gen_chance(g, 50);
        b.rank = full ? r : r - 1;
        for (int i = 0; i < b.rank; i++)
            b.d[i] = 1;
        b.d[full ? 1 : 0] = s->d[1];
    } else if (kind == 3) {
        b.rank = 1, b.d[0] = s->d[r - 1];
    } else if (kind == 4) {
        b = *s;
    } else {
        b = *s;
        for (int i = 0; i < r; i++)
            if (gen_chance(g, 50))
                b.d[i] = 1;
        if (gen_chance(g, 30) && b.rank > 1) { /* drop leading dimensions */
            int drop = (int)gen_rnd(g, 1, b.rank - 1);
            memmove(b.d, b.d + drop, sizeof(int64_t) * (size_t)(b.rank - drop));
            b.rank -= drop;
        }
    }
    return b;
}

/* An operand for an element-wise op with x (shape s): another value whose
 * shape broadcasts with s to a result of allowed size, x itself, or a new
 * constant of a broadcasting shape. */
static int second_operand(Gen *g, int xi, const Shape *s, bool allow_self)
{
    const Val *x = &g->v[xi];
    int r = (int)gen_rnd(g, 0, 99);
    if (r < 35) {
        int start = (int)gen_rnd(g, 0, g->n - 1);
        for (int k = 0; k < g->n; k++) {
            int i = (start + k) % g->n;
            Shape b;
            if (i != xi && g->v[i].type == x->type && shape_broadcast(s, &g->v[i].shape, &b) &&
                gen_fits(g, &b) && shape_elems(&b) <= 4 * shape_elems(s))
                return i;
        }
    } else if (r < 45 && allow_self) {
        return xi;
    }
    Shape c = gen_broadcast_shape(g, s);
    return gen_constant(g, &c, x->type);
}

/* A float divisor away from zero for x (shape s): a constant (+-[0.5, 1.5])
 * or clip(v, 0.5, 2). */
static int divisor_operand(Gen *g, int xi, const Shape *s)
{
    if (gen_chance(g, 50)) {
        Shape c = gen_broadcast_shape(g, s);
        return gen_constant(g, &c, ELEM_F32);
    }
    int v = second_operand(g, xi, s, false);
    if (v < 0 || g->v[v].constant || !gen_room(g, 1))
        return -1;
    char call[256];
    snprintf(call, sizeof call, "clip(%s, min=0.5, max=2)", g->v[v].name);
    return gen_emit_from(g, v, "den", call, ELEM_F32, g->v[v].shape, g->v[v].exact, false, 2);
}

const char *const gen_binary_ops[] = {"add", "sub", "mul", "div", "max", "min"};

/* A bound of |a OP b| from bounds of |a| and |b|; a float divisor is at
 * least 0.5 away from zero (divisor_operand). */
static double binary_mag(int op, ElemKind type, double mag, double m)
{
    if (op == 0 || op == 1)
        return mag + m;
    if (op == 2)
        return mag * m;
    if (op == 3)
        return type == ELEM_F32 ? mag * 2 : mag;
    return mag > m ? mag : m;
}

int gen_binary_op(Gen *g, int xi, int op)
{
    const Val *x = &g->v[xi];
    if (!gen_room(g, 3))
        return -1;
    int n = op == 0 ? (int)gen_rnd(g, 2, 3) : op >= 4 ? (int)gen_rnd(g, 1, 3) : 2;
    /* add, max and min take any number of operands; past DNNK_MAX_IN = 8
     * the cpu target needs several calls. */
    if ((op == 0 || op >= 4) && gen_chance(g, 20))
        n = (int)gen_rnd(g, 6, 12);
    int ops[12] = {xi};
    Shape out = x->shape;
    bool exact = x->exact, constant = x->constant;
    double mag = x->mag;
    for (int k = 1; k < n; k++) {
        int o = op == 3 && x->type == ELEM_F32 ? divisor_operand(g, xi, &out)
                                               : second_operand(g, xi, &out, true);
        if (o < 0)
            return -1;
        Shape b;
        if (!shape_broadcast(&out, &g->v[o].shape, &b) || !gen_fits(g, &b))
            return -1;
        out = b;
        ops[k] = o;
        exact = exact && g->v[o].exact;
        constant = constant && g->v[o].constant;
        mag = binary_mag(op, x->type, mag, g->v[o].mag);
    }
    if (x->type == ELEM_F32 && mag > GEN_MAG_LIMIT)
        return -1;
    /* Commutative ops take their operands in any order; sub and div keep x first. */
    if ((op == 0 || op == 2 || op >= 4) && n > 1 && gen_chance(g, 50)) {
        int t = ops[0];
        ops[0] = ops[n - 1];
        ops[n - 1] = t;
    }
    char call[512], name[40];
    snprintf(call, sizeof call, "%s(", gen_binary_ops[op]);
    for (int k = 0; k < n; k++)
        snprintf(call + strlen(call), sizeof call - strlen(call), "%s%s", k ? ", " : "", g->v[ops[k]].name);
    strcat(call, ")");
    /* Exact: selections of exact values, or integers. */
    bool keeps_exact = gen_is_int(x->type) || op >= 4;
    gen_fresh_name(g, gen_binary_ops[op], name, sizeof name);
    int k = gen_emit(g, name, call, x->type, out, exact && keeps_exact, constant,
                     gen_is_int(x->type) ? 128 : mag);
    if (k >= 0)
        for (int j = 0; j < n; j++)
            gen_use(g, ops[j]);
    return k;
}

int gen_binary(Gen *g, int xi) { return gen_binary_op(g, xi, (int)gen_rnd(g, 0, 5)); }

/* The right operand of a matmul of x [..., M, K]: another value [..., K, N]
 * whose batch dimensions broadcast with x's, x's own transpose, or a
 * constant [K, N] or [B, K, N]; -1 when none fits. */
static int matmul_operand(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    int r = x->shape.rank;
    int64_t K = x->shape.d[r - 1];
    int b = -1, c = (int)gen_rnd(g, 0, 99);
    if (c < 25) {
        int start = (int)gen_rnd(g, 0, g->n - 1);
        for (int j = 0; j < g->n && b < 0; j++) {
            int i = (start + j) % g->n;
            const Val *v = &g->v[i];
            if (v->type == ELEM_F32 && v->shape.rank >= 2 && v->shape.rank <= r &&
                v->shape.d[v->shape.rank - 2] == K && !v->constant) {
                Shape bx = x->shape, bv = v->shape, o;
                bx.rank -= 2, bv.rank -= 2;
                if (shape_broadcast(&bx, &bv, &o))
                    b = i;
            }
        }
    } else if (c < 40) {
        int perm[DNNC_MAX_RANK];
        for (int i = 0; i < r; i++)
            perm[i] = i;
        perm[r - 2] = r - 1, perm[r - 1] = r - 2;
        b = gen_transpose_ex(g, xi, perm, false);
    }
    if (b < 0) {
        Shape s = {2, {K, gen_rnd(g, 1, 12)}};
        if (r == 2 && gen_chance(g, 30)) {
            s = (Shape){3, {gen_rnd(g, 2, 3), K, s.d[1]}};
        }
        b = gen_constant(g, &s, ELEM_F32);
    }
    return b;
}

/* matmul: x [..., M, K] times a constant [K, N] or [B, K, N], another value
 * of a matching shape, or x's own transpose. */
int gen_matmul(Gen *g, int xi)
{
    const Val *x = &g->v[xi];
    if (x->type != ELEM_F32 || x->shape.rank < 2 || !gen_room(g, 2))
        return -1;
    int r = x->shape.rank;
    int64_t M = x->shape.d[r - 2], K = x->shape.d[r - 1];
    int b = matmul_operand(g, xi);
    if (b < 0)
        return -1;
    const Val *bv = &g->v[b];
    Shape bx = x->shape, bb = bv->shape, out;
    bx.rank -= 2, bb.rank -= 2;
    if (!shape_broadcast(&bx, &bb, &out))
        return -1;
    out.d[out.rank++] = M;
    out.d[out.rank++] = bv->shape.d[bv->shape.rank - 1];
    double mag = x->mag * bv->mag * (double)K / 2;
    int64_t macs = shape_elems(&out) * K;
    if (!gen_fits(g, &out) || mag > GEN_MAG_LIMIT || g->macs + macs > g->lim.max_macs)
        return -1;
    char call[256], name[40];
    snprintf(call, sizeof call, "matmul(%s, %s)", x->name, bv->name);
    gen_fresh_name(g, "mm", name, sizeof name);
    int k = gen_emit(g, name, call, ELEM_F32, out, false, x->constant && bv->constant, mag);
    if (k >= 0) {
        gen_use(g, xi);
        gen_use(g, b);
        g->macs += macs;
    }
    return k;
}
