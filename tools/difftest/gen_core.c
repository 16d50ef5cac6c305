/* What every part of the generator builds on (gen_internal.h): the random
 * numbers, the text, the table of values written so far, the choice of
 * operands and sliding windows.
 *
 * Only integers are drawn; every number in the text is written from
 * integers, so the text is the same on every machine. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

/* ---- randomness: splitmix64 and integers only ------------------------------ */

static uint64_t next_u64(Gen *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the modulo bias is irrelevant here). */
int64_t gen_rnd(Gen *g, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(next_u64(g) % (uint64_t)(hi - lo + 1));
}

bool gen_chance(Gen *g, int percent) { return gen_rnd(g, 0, 99) < percent; }

const char *gen_pick_str(Gen *g, const char *const *list, int n) { return list[gen_rnd(g, 0, n - 1)]; }

/* A random divisor of n. */
int64_t gen_divisor_of(Gen *g, int64_t n)
{
    int64_t divs[64];
    int k = 0;
    for (int64_t d = 1; d <= n && k < 64; d++)
        if (n % d == 0)
            divs[k++] = d;
    return divs[gen_rnd(g, 0, k - 1)];
}

/* ---- text ------------------------------------------------------------------ */

void gen_text_printf(GenText *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s)
            abort();
        t->s = s, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void gen_fmt_dims(const Shape *s, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* A pair attribute in one of its spellings: n, [n] or [h, w]. */
static void fmt_pair(Gen *g, int64_t h, int64_t w, char *buf, size_t size)
{
    if (h == w && !gen_chance(g, 10))
        snprintf(buf, size, "%lld", (long long)h);
    else if (h == w && gen_chance(g, 50))
        snprintf(buf, size, "[%lld]", (long long)h);
    else
        snprintf(buf, size, "[%lld, %lld]", (long long)h, (long long)w);
}

/* Pads in one of their spellings: p, [h, w] or [top, left, bottom, right]. */
static void fmt_pads(Gen *g, const int64_t p[4], char *buf, size_t size)
{
    bool sym = p[0] == p[2] && p[1] == p[3];
    if (sym && p[0] == p[1] && !gen_chance(g, 15))
        snprintf(buf, size, "%lld", (long long)p[0]);
    else if (sym && !gen_chance(g, 15))
        snprintf(buf, size, "[%lld, %lld]", (long long)p[0], (long long)p[1]);
    else
        snprintf(buf, size, "[%lld, %lld, %lld, %lld]", (long long)p[0], (long long)p[1],
                 (long long)p[2], (long long)p[3]);
}

/* Appends ", key=value" to an argument list. */
void gen_arg(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 2 >= size)
        return;
    strcat(buf, ", ");
    used += 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static void type_comment(const Val *v, char *buf, size_t size)
{
    char dims[256];
    gen_fmt_dims(&v->shape, dims, sizeof dims);
    snprintf(buf, size, "%s%s", elem_kind_name(v->type), dims);
}

/* ---- values ----------------------------------------------------------------- */

bool gen_fits(const Gen *g, const Shape *s)
{
    int64_t n = shape_elems(s);
    return n >= 1 && n <= g->lim.max_elems;
}

static bool name_taken(const Gen *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->v[i].name, name) == 0)
            return true;
    return false;
}

/* The suffix of a weight a pass could create for v's layer (below), or NULL. */
static const char *pass_weight_suffix(Gen *g, const Val *v)
{
    if (v->no_bias)
        return "bias";
    if (v->batchnorm)
        return gen_chance(g, 50) ? "scale" : "shift";
    if (v->constant || v->input)
        return NULL;
    return v->weighted || gen_chance(g, 50) ? "value" : "weight";
}

/* A new layer name; sometimes one that a pass would give to a weight it
 * creates: "L.bias" of a conv or fc without one (fold-batchnorm and
 * fuse-epilogue add a bias), "L.scale" or "L.shift" of a batch norm (it
 * may become scale_shift), "L.value" of any layer (fold-constants makes it
 * a constant), "L.weight" of a layer without weights (a conv fused into L,
 * an output, takes L's name and names its weights after it). The passes
 * must then leave those layers as they are. */
void gen_fresh_name(Gen *g, const char *prefix, char *buf, size_t size)
{
    snprintf(buf, size, "%s%d", prefix, g->next_name++);
    if (g->n == 0 || !gen_chance(g, 4))
        return;
    const Val *v = &g->v[gen_rnd(g, 0, g->n - 1)];
    const char *suffix = pass_weight_suffix(g, v);
    char name[64];
    if (!suffix || (size_t)snprintf(name, sizeof name, "%s.%s", v->name, suffix) >= sizeof name ||
        strlen(name) >= size || name_taken(g, name))
        return;
    snprintf(buf, size, "%s", name);
}

/* The weight names a pass may create for v's layer, which gen_fresh_name
 * hands out as layer names. */
static void note_weights(Val *v, const char *call)
{
    v->no_bias = (strncmp(call, "conv(", 5) == 0 || strncmp(call, "fc(", 3) == 0) &&
                 strstr(call, "bias=false");
    v->batchnorm = strncmp(call, "batchnorm(", 10) == 0;
    static const char *const weight_ops[] = {"conv(", "fc(", "batchnorm(", "prelu(", "conv_integer(",
                                             "qlinear_conv("};
    for (size_t k = 0; k < sizeof weight_ops / sizeof *weight_ops; k++)
        v->weighted |= strncmp(call, weight_ops[k], strlen(weight_ops[k])) == 0;
}

/* Annotations every target honours: the conv algorithm both have,
 * float32 arithmetic, dense weights. ann starts empty. */
static void draw_annotations(Gen *g, const char *call, char *ann, size_t size)
{
    bool weighted = strncmp(call, "conv(", 5) == 0 || strncmp(call, "fc(", 3) == 0;
    if (strncmp(call, "conv(", 5) == 0 && gen_chance(g, 20))
        snprintf(ann, size, "@algo(%s) ", gen_chance(g, 75) ? "im2col" : "auto");
    if (weighted && gen_chance(g, 5))
        strcat(ann, "@precision(f32) ");
    if (weighted && gen_chance(g, 5))
        strcat(ann, "@sparse(dense) ");
}

/* Writes `name = CALL;  # type` and records the value; returns its index. */
int gen_emit(Gen *g, const char *name, const char *call, ElemKind type, Shape shape, bool exact,
             bool constant, double mag)
{
    if (g->n >= GEN_MAX_VALS)
        return -1;
    Val *v = &g->v[g->n];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->type = type;
    v->shape = shape;
    v->exact = exact;
    v->constant = constant;
    v->mag = mag;
    note_weights(v, call);
    char ty[300], ann[64] = "";
    type_comment(v, ty, sizeof ty);
    draw_annotations(g, call, ann, sizeof ann);
    gen_text_printf(&g->body, "%s%s = %s;  # %s\n", ann, name, call, ty);
    g->layers++;
    return g->n++;
}

void gen_use(Gen *g, int i) { g->v[i].uses++; }

int gen_emit_from(Gen *g, int xi, const char *prefix, const char *call, ElemKind type, Shape shape,
                  bool exact, bool constant, double mag)
{
    char name[40];
    gen_fresh_name(g, prefix, name, sizeof name);
    int k = gen_emit(g, name, call, type, shape, exact, constant, mag);
    if (k >= 0)
        gen_use(g, xi);
    return k;
}

void gen_force_output(Gen *g, int i)
{
    for (int k = 0; k < g->n_forced; k++)
        if (g->forced[k] == i)
            return;
    if (g->n_forced < GEN_MAX_FORCED)
        g->forced[g->n_forced++] = i;
}

bool gen_room(const Gen *g, int layers)
{
    return g->layers + layers <= g->lim.max_layers && g->n + layers < GEN_MAX_VALS;
}

/* A constant layer of the given shape and type: f32 values are +-[0.5,
 * 1.5] (values.c), so a constant may be a divisor. */
int gen_constant(Gen *g, const Shape *s, ElemKind type)
{
    if (!gen_fits(g, s) || !gen_room(g, 1))
        return -1;
    char name[40], call[400] = "constant(", dims[256];
    gen_fresh_name(g, "k", name, sizeof name);
    bool first = true;
    if (s->rank > 0) {
        gen_fmt_dims(s, dims, sizeof dims);
        snprintf(call + strlen(call), sizeof call - strlen(call), "shape=%s", dims);
        first = false;
    }
    if (type != ELEM_F32)
        snprintf(call + strlen(call), sizeof call - strlen(call), "%sdtype=%s", first ? "" : ", ",
                 elem_kind_name(type));
    strcat(call, ")");
    double mag = type == ELEM_F32 ? 1.5 : 128;
    return gen_emit(g, name, call, type, *s, true, true, mag);
}

/* ---- operand choice ---------------------------------------------------------- */

bool gen_f32_rank4(const Val *v) { return v->type == ELEM_F32 && v->shape.rank == 4; }

/* Mostly the newest value or one nothing reads yet; sometimes any. */
int gen_pick_operand(Gen *g, GenValOk ok)
{
    int r = (int)gen_rnd(g, 0, 99);
    if (r < 45) {
        for (int i = g->n - 1; i >= 0; i--)
            if (ok(&g->v[i]) && !g->v[i].constant)
                return i;
    } else if (r < 80) {
        int start = (int)gen_rnd(g, 0, g->n - 1);
        for (int k = 0; k < g->n; k++) {
            int i = (start + k) % g->n;
            if (ok(&g->v[i]) && g->v[i].uses == 0 && !g->v[i].constant)
                return i;
        }
    }
    int start = (int)gen_rnd(g, 0, g->n - 1);
    for (int k = 0; k < g->n; k++) {
        int i = (start + k) % g->n;
        if (ok(&g->v[i]))
            return i;
    }
    return -1;
}

/* ---- sliding windows (ir/shape.c, window_out) ------------------------------- */

static int64_t window_out(int64_t in, int64_t lo, int64_t hi, int64_t k, int64_t stride, int64_t dil,
                          bool ceil_mode)
{
    int64_t span = dil * (k - 1) + 1, padded = in + lo + hi;
    if (padded < span)
        return -1;
    int64_t steps = padded - span;
    int64_t out = (ceil_mode ? (steps + stride - 1) / stride : steps / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + lo)
        out--;
    return out;
}

/* A random window over H x W; pool windows keep each pad below the kernel. */
bool gen_draw_window(Gen *g, int64_t H, int64_t W, bool pool, bool dilate, bool ceil_mode, GenWindow *w)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int64_t in[2] = {H, W};
        bool square = gen_chance(g, 60);
        for (int i = 0; i < 2; i++) {
            if (square && i == 1)
                w->k[i] = w->k[0];
            else
                w->k[i] = gen_rnd(g, 1, gen_min64(pool ? 4 : gen_chance(g, 15) ? 7 : 5, in[i] + 2));
            w->s[i] = square && i == 1 ? w->s[0] : gen_chance(g, 55) ? 1 : gen_rnd(g, 2, 3);
            w->d[i] = dilate && gen_chance(g, 20) ? gen_rnd(g, 2, 3) : 1;
        }
        if (square && dilate)
            w->d[1] = w->d[0];
        int style = (int)gen_rnd(g, 0, 9);
        for (int i = 0; i < 2; i++) {
            int64_t maxp = pool ? w->k[i] - 1 : gen_min64(w->d[i] * (w->k[i] - 1), 3);
            if (style < 4) { /* no padding */
                w->p[i] = w->p[i + 2] = 0;
            } else if (style < 8) { /* symmetric */
                w->p[i] = w->p[i + 2] = gen_rnd(g, 0, maxp);
            } else { /* asymmetric */
                w->p[i] = gen_rnd(g, 0, maxp);
                w->p[i + 2] = gen_rnd(g, 0, maxp);
            }
        }
        bool ok = true;
        for (int i = 0; i < 2 && ok; i++) {
            w->out[i] = window_out(in[i], w->p[i], w->p[i + 2], w->k[i], w->s[i], w->d[i], ceil_mode);
            ok = w->out[i] >= 1;
        }
        if (ok)
            return true;
    }
    return false;
}

/* The window's attributes in source form. */
void gen_window_args(Gen *g, const GenWindow *w, bool dilation, char *call, size_t size)
{
    char b[96];
    fmt_pair(g, w->k[0], w->k[1], b, sizeof b);
    gen_arg(call, size, "kernel=%s", b);
    if (w->s[0] != 1 || w->s[1] != 1 || gen_chance(g, 5)) {
        fmt_pair(g, w->s[0], w->s[1], b, sizeof b);
        gen_arg(call, size, "stride=%s", b);
    }
    if (w->p[0] || w->p[1] || w->p[2] || w->p[3] || gen_chance(g, 5)) {
        fmt_pads(g, w->p, b, sizeof b);
        gen_arg(call, size, "pad=%s", b);
    }
    if (dilation && (w->d[0] != 1 || w->d[1] != 1)) {
        fmt_pair(g, w->d[0], w->d[1], b, sizeof b);
        gen_arg(call, size, "dilation=%s", b);
    }
}
