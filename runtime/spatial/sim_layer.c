/* The layer registers (cfg.* instructions) and the footprints of tiles. */
#include "sim_layer.h"

#include <stdio.h>
#include <string.h>

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- Footprints ---- */

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* x with (a x) mod m = 1, for a and m coprime (extended Euclid). */
static int64_t inverse_mod(int64_t a, int64_t m)
{
    int64_t r0 = m, r1 = a % m, s0 = 0, s1 = 1;
    while (r1) {
        int64_t q = r0 / r1, r = r0 - q * r1, s = s0 - q * s1;
        r0 = r1, r1 = r, s0 = s1, s1 = s;
    }
    return ((s0 % m) + m) % m;
}

/* The rows of [lo, hi] that some pair (output j < no, tap k < nt) reads:
 * row = (o + j) u + (t + k) d - pad. For each row the taps that reach it
 * form a residue class modulo u / g (g = gcd(u, d)) within an interval, so
 * each row is decided in constant time, whatever the window's size. */
int64_t sim_rows_hit(int64_t o, int64_t no, int64_t t, int64_t nt, int64_t u, int64_t d,
                     int64_t pad, int64_t lo, int64_t hi)
{
    int64_t g = gcd64(u, d), m = u / g, inv = m > 1 ? inverse_mod((d / g) % m, m) : 0;
    int64_t base = o * u + t * d - pad, used = 0;
    for (int64_t r = lo; r <= hi; r++) {
        int64_t x = r - base; /* = j u + k d */
        if (((x % g) + g) % g)
            continue;
        /* k d = x (mod u): k = k0 (mod m). */
        int64_t k0 = m > 1 ? ((((x / g) % m + m) % m) * inv) % m : 0;
        /* j = (x - k d) / u in [0, no): k in [ceil((x - (no-1) u) / d), floor(x / d)]. */
        int64_t kmax = x >= 0 ? x / d : -((-x + d - 1) / d);
        int64_t y = x - (no - 1) * u;
        int64_t kmin = y >= 0 ? (y + d - 1) / d : -((-y) / d);
        kmin = kmin < 0 ? 0 : kmin;
        kmax = kmax > nt - 1 ? nt - 1 : kmax;
        if (kmin > kmax)
            continue;
        /* The first k >= kmin with k = k0 (mod m). */
        int64_t k = kmin + ((k0 - kmin % m) % m + m) % m;
        used += k <= kmax;
    }
    return used;
}

/* The input rows (or columns) that outputs [o, o + no) and taps
 * [t, t + nt) read, as an interval of the stored input and the count of
 * its rows really read: o U + t D - pad for each pair (U stride, D
 * dilation), padding excluded. */
static SimAxis input_axis(int64_t o, int64_t no, int64_t t, int64_t nt, int64_t u, int64_t d,
                          int64_t pad, int64_t size)
{
    int64_t first = o * u + t * d - pad, last = (o + no - 1) * u + (t + nt - 1) * d - pad;
    int64_t lo = max64(first, 0), hi = min64(last, size - 1);
    SimAxis a = {lo, hi >= lo ? hi - lo + 1 : 0, 0};
    if (a.span == 0)
        return a;
    /* Dense unless one side skips rows the other does not fill. */
    bool dense_out = no == 1 || u == 1 || (d == 1 && nt >= u);
    bool dense_tap = nt == 1 || d == 1 || (u == 1 && no >= d);
    if (dense_out && dense_tap) {
        a.used = a.span;
        return a;
    }
    a.used = sim_rows_hit(o, no, t, nt, u, d, pad, lo, hi);
    return a;
}

static SimAxis plain_axis(int64_t o, int64_t e) { return (SimAxis){o, e, e}; }

void sim_tile_box(const SimLayer *l, SimType t, const int64_t o[SIM_DIMS],
                  const int64_t e[SIM_DIMS], SimBox *out)
{
    switch (t) {
    case SIM_IFMAP:
        out->a[0] = plain_axis(o[SIM_N], e[SIM_N]);
        out->a[1] = plain_axis(o[SIM_C], e[SIM_C]);
        out->a[2] = input_axis(o[SIM_P], e[SIM_P], o[SIM_R], e[SIM_R], l->stride[0], l->dil[0],
                               l->pad[0], l->in_h);
        out->a[3] = input_axis(o[SIM_Q], e[SIM_Q], o[SIM_S], e[SIM_S], l->stride[1], l->dil[1],
                               l->pad[1], l->in_w);
        break;
    case SIM_FILTER:
        out->a[0] = plain_axis(o[SIM_M], e[SIM_M]);
        out->a[1] = plain_axis(o[SIM_C], e[SIM_C]);
        out->a[2] = plain_axis(o[SIM_R], e[SIM_R]);
        out->a[3] = plain_axis(o[SIM_S], e[SIM_S]);
        break;
    case SIM_PSUM:
    case SIM_TYPES:
        out->a[0] = plain_axis(o[SIM_N], e[SIM_N]);
        out->a[1] = plain_axis(o[SIM_M], e[SIM_M]);
        out->a[2] = plain_axis(o[SIM_P], e[SIM_P]);
        out->a[3] = plain_axis(o[SIM_Q], e[SIM_Q]);
        break;
    }
}

SimBox sim_box_of_instr(const IsaInstr *in, int first)
{
    SimBox b;
    for (int i = 0; i < 4; i++) {
        int64_t lo = in->f[first + 2 * i], len = in->f[first + 2 * i + 1];
        b.a[i] = (SimAxis){lo, len, len};
    }
    return b;
}

int64_t sim_box_words(const SimBox *b)
{
    int64_t words = 1;
    for (int i = 0; i < 4; i++) {
        if (b->a[i].used <= 0)
            return 0;
        if (__builtin_mul_overflow(words, b->a[i].used, &words))
            return INT64_MAX;
    }
    return words;
}

static bool dense(const SimBox *b)
{
    for (int i = 0; i < 4; i++)
        if (b->a[i].used != b->a[i].span)
            return false;
    return true;
}

int64_t sim_box_new_words(const SimBox *b, const SimBox *kept)
{
    int64_t total = sim_box_words(b);
    if (!dense(b) || !dense(kept))
        return total;
    int64_t common = 1;
    for (int i = 0; i < 4; i++) {
        int64_t lo = max64(b->a[i].lo, kept->a[i].lo);
        int64_t hi = min64(b->a[i].lo + b->a[i].span, kept->a[i].lo + kept->a[i].span);
        common *= hi > lo ? hi - lo : 0;
    }
    return total - common;
}

bool sim_box_equal(const SimBox *a, const SimBox *b)
{
    for (int i = 0; i < 4; i++)
        if (a->a[i].lo != b->a[i].lo || a->a[i].span != b->a[i].span ||
            a->a[i].used != b->a[i].used)
            return false;
    return true;
}

bool sim_box_inside(const SimBox *inner, const SimBox *outer)
{
    for (int i = 0; i < 4; i++) {
        const SimAxis *x = &inner->a[i], *y = &outer->a[i];
        if (x->span == 0)
            continue;
        if (x->lo < y->lo || x->lo + x->span > y->lo + y->span)
            return false;
    }
    return true;
}

/* ---- Registers ---- */

static bool fail(char *err, size_t errsz, const char *msg)
{
    snprintf(err, errsz, "%s", msg);
    return false;
}

static void start_layer(SimLayer *l, const IsaInstr *in)
{
    memset(l, 0, sizeof *l);
    l->started = true;
    l->id = in->f[ISA_LAYER_ID];
    l->kind = in->f[ISA_LAYER_KIND];
    l->group = in->f[ISA_LAYER_GROUP];
    l->groups = in->f[ISA_LAYER_GROUPS];
    for (int lv = 0; lv < SIM_LEVELS; lv++)
        for (int d = 0; d < SIM_DIMS; d++) {
            l->bound[lv][d] = 1;
            l->order[lv][d] = d;
        }
    l->stride[0] = l->stride[1] = l->dil[0] = l->dil[1] = 1;
}

static void set_noc(SimLayer *l, const IsaInstr *in)
{
    int t = (int)in->f[ISA_NOC_DATA];
    l->noc_row[t] = (unsigned)in->f[ISA_NOC_ROW_TAG];
    l->noc_col[t] = (unsigned)in->f[ISA_NOC_COL_TAG];
    l->noc_set[t] = true;
}

static void set_tensor(SimLayer *l, const IsaInstr *in)
{
    int w = (int)in->f[ISA_TENSOR_WHICH];
    l->base[w] = in->f[ISA_TENSOR_BASE];
    l->outer_stride[w] = in->f[ISA_TENSOR_OUTER_STRIDE];
    l->channels[w] = in->f[ISA_TENSOR_CHANNELS];
    l->tensor_set[w] = true;
}

bool sim_layer_config(SimLayer *l, const IsaInstr *in, char *err, size_t errsz)
{
    if (in->op == ISA_CFG_LAYER) {
        start_layer(l, in);
        if (l->groups < 1 || l->group >= l->groups)
            return fail(err, errsz, "cfg.layer: group out of range of groups");
        return true;
    }
    if (!l->started)
        return fail(err, errsz, "configuration before any cfg.layer");
    switch (in->op) {
    case ISA_CFG_SHAPE:
        for (int d = 0; d < SIM_DIMS; d++)
            if ((l->dim[d] = in->f[ISA_SHAPE_N + d]) < 1)
                return fail(err, errsz, "cfg.shape: every dimension must be at least 1");
        return true;
    case ISA_CFG_CONV:
        l->in_h = in->f[ISA_CONV_IN_H], l->in_w = in->f[ISA_CONV_IN_W];
        l->stride[0] = in->f[ISA_CONV_STRIDE_H], l->stride[1] = in->f[ISA_CONV_STRIDE_W];
        l->dil[0] = in->f[ISA_CONV_DIL_H], l->dil[1] = in->f[ISA_CONV_DIL_W];
        l->pad[0] = in->f[ISA_CONV_PAD_T], l->pad[1] = in->f[ISA_CONV_PAD_L];
        if (l->stride[0] < 1 || l->stride[1] < 1 || l->dil[0] < 1 || l->dil[1] < 1)
            return fail(err, errsz, "cfg.conv: strides and dilations must be at least 1");
        return true;
    case ISA_CFG_FIXED:
        l->frac_in = (int)in->f[ISA_FIXED_FRAC_IN], l->frac_w = (int)in->f[ISA_FIXED_FRAC_W];
        l->frac_out = (int)in->f[ISA_FIXED_FRAC_OUT];
        l->relu = in->f[ISA_FIXED_RELU], l->bias = in->f[ISA_FIXED_BIAS];
        return true;
    case ISA_CFG_LOOP:
        for (int d = 0; d < SIM_DIMS; d++)
            if ((l->bound[in->f[ISA_LOOP_LEVEL]][d] = in->f[ISA_LOOP_N + d]) < 1)
                return fail(err, errsz, "cfg.loop: every bound must be at least 1");
        return true;
    case ISA_CFG_ORDER:
        for (int d = 0; d < SIM_DIMS; d++)
            l->order[in->f[ISA_ORDER_LEVEL]][d] = (int)in->f[ISA_ORDER_D0 + d];
        return true;
    case ISA_CFG_MAP:
        l->dataflow = (int)in->f[ISA_MAP_DATAFLOW];
        l->hold = (unsigned)in->f[ISA_MAP_HOLD];
        l->neighbour = (unsigned)in->f[ISA_MAP_NEIGHBOUR];
        if (l->hold & l->neighbour)
            return fail(err, errsz, "cfg.map: a data type kept in the scratchpads cannot also "
                                    "pass between neighbours");
        return true;
    case ISA_CFG_NOC:
        set_noc(l, in);
        return true;
    case ISA_CFG_TENSOR:
        set_tensor(l, in);
        return true;
    default:
        return fail(err, errsz, "not a configuration instruction");
    }
}

/* The tag of a data type's multicast must be the spatial dimensions that
 * index it: a PE row (column) that differs only in a dimension the type
 * does not depend on receives the same values. */
static unsigned indexing_dims(SimType t)
{
    static const unsigned dims[SIM_TYPES] = {
        [SIM_IFMAP] = 1u << SIM_N | 1u << SIM_C | 1u << SIM_P | 1u << SIM_Q | 1u << SIM_R |
                      1u << SIM_S,
        [SIM_FILTER] = 1u << SIM_M | 1u << SIM_C | 1u << SIM_R | 1u << SIM_S,
        [SIM_PSUM] = 1u << SIM_N | 1u << SIM_M | 1u << SIM_P | 1u << SIM_Q,
    };
    return dims[t];
}

static unsigned spatial_dims(const SimLayer *l, SimLevel lv)
{
    unsigned m = 0;
    for (int d = 0; d < SIM_DIMS; d++)
        if (l->bound[lv][d] > 1)
            m |= 1u << d;
    return m;
}

static bool check_noc(const SimLayer *l, char *err, size_t errsz)
{
    static const char *const names[SIM_TYPES] = {"ifmap", "filter", "psum"};
    for (int t = 0; t < SIM_TYPES; t++) {
        unsigned want_row = spatial_dims(l, SIM_ROW) & indexing_dims((SimType)t);
        unsigned want_col = spatial_dims(l, SIM_COL) & indexing_dims((SimType)t);
        if (!l->noc_set[t] || l->noc_row[t] != want_row || l->noc_col[t] != want_col) {
            snprintf(err, errsz,
                     "cfg.noc for %s must tag rows 0x%x and columns 0x%x under this mapping "
                     "(the spatial dimensions that index it)",
                     names[t], want_row, want_col);
            return false;
        }
    }
    return true;
}

bool sim_layer_ready(SimLayer *l, char *err, size_t errsz)
{
    if (!l->started || l->dim[SIM_N] < 1)
        return fail(err, errsz, "pass before cfg.layer and cfg.shape");
    if (l->dataflow == 0)
        return fail(err, errsz, "pass before cfg.map");
    for (int w = 0; w < ISA_TENSOR_COUNT; w++)
        if (!l->tensor_set[w] && (w != ISA_TENSOR_BIAS || l->bias))
            return fail(err, errsz, "pass before cfg.tensor for every tensor of the layer");
    if (!check_noc(l, err, errsz))
        return false;
    for (int lv = 0; lv < SIM_LEVELS; lv++) {
        unsigned seen = 0;
        for (int k = 0; k < SIM_DIMS; k++)
            seen |= 1u << l->order[lv][k];
        if (seen != (1u << SIM_DIMS) - 1)
            return fail(err, errsz, "cfg.order: not a permutation of the seven dimensions");
    }
    for (int d = 0; d < SIM_DIMS; d++) {
        int64_t e = 1;
        for (int lv = 0; lv < SIM_LEVELS; lv++) {
            e = min64(e * l->bound[lv][d], l->dim[d]);
            l->ext[lv][d] = e;
        }
    }
    return true;
}

int64_t sim_layer_dram_index(const SimLayer *l, int64_t dram_words, IsaLdType type, int64_t i0,
                             int64_t i1, int64_t i2, int64_t i3)
{
    const int64_t *dim = l->dim;
    int64_t addr;
    switch (type) {
    case ISA_LD_IFMAP:
        if (i0 >= dim[SIM_N] || i1 >= dim[SIM_C] || i2 >= l->in_h || i3 >= l->in_w)
            return -1;
        addr = l->base[ISA_TENSOR_IFMAP] + i0 * l->outer_stride[ISA_TENSOR_IFMAP] +
               (i1 * l->in_h + i2) * l->in_w + i3;
        break;
    case ISA_LD_FILTER:
        if (i0 >= dim[SIM_M] || i1 >= dim[SIM_C] || i2 >= dim[SIM_R] || i3 >= dim[SIM_S])
            return -1;
        addr = l->base[ISA_TENSOR_FILTER] + i0 * l->outer_stride[ISA_TENSOR_FILTER] +
               (i1 * dim[SIM_R] + i2) * dim[SIM_S] + i3;
        break;
    case ISA_LD_PSUM:
        if (i0 >= dim[SIM_N] || i1 >= dim[SIM_M] || i2 >= dim[SIM_P] || i3 >= dim[SIM_Q])
            return -1;
        addr = l->base[ISA_TENSOR_OFMAP] + i0 * l->outer_stride[ISA_TENSOR_OFMAP] +
               (i1 * dim[SIM_P] + i2) * dim[SIM_Q] + i3;
        break;
    case ISA_LD_BIAS:
        if (i0 >= dim[SIM_M] || i1 || i2 || i3)
            return -1;
        addr = l->base[ISA_TENSOR_BIAS] + i0;
        break;
    default:
        return -1;
    }
    return addr < dram_words ? addr : -1;
}
