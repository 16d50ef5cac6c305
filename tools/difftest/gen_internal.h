/* Shared by the files of the generator (dt_generate, difftest.h):
 *   generate.c     the move table, the inputs, dt_generate, and parsing the
 *                  text back (dt_parse, dt_check_types, dt_seed_of);
 *   gen_core.c     randomness, text, recording values, operand choice and
 *                  sliding windows: what every generator below builds on;
 *   gen_ops.c      the arithmetic ops (conv, fc, pooling, activations,
 *                  normalisations, element-wise ops, matmul);
 *   gen_layout.c   the ops that only move elements (concat, flatten,
 *                  reshape, dropout, slice, transpose, pad);
 *   gen_quant.c    the quantised ops;
 *   gen_patterns.c the patterns the optimiser rewrites.
 *
 * Every op generator and pattern has the shape int f(Gen *g, int xi): it
 * writes one or more layers reading value xi and returns the index of the
 * last value it recorded, or -1 when nothing it drew fits (the shape rules,
 * the size limits, the element type). A generator that gives up may already
 * have drawn random numbers and written layers (a constant, a transpose):
 * they stay, and the caller draws another move. */
#ifndef DNNC_DIFFTEST_GEN_INTERNAL_H
#define DNNC_DIFFTEST_GEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "difftest.h"

#define GEN_MAX_VALS 192
#define GEN_MAX_FORCED 16
#define GEN_MAG_LIMIT 1e3

/* A growing string (the text is built in pieces, then joined). */
typedef struct GenText {
    char *s;
    size_t len, cap;
} GenText;

/* A value written so far: an input or a layer's output. */
typedef struct Val {
    char name[40];
    ElemKind type;
    Shape shape;
    bool exact;    /* no float rounding on the way here: may be quantised */
    bool constant; /* computed from constants only */
    double mag;    /* a rough bound of |value| */
    int uses;
    bool input;
    bool no_bias;   /* a conv or fc without a bias: "NAME.bias" is free */
    bool batchnorm; /* "NAME.scale" and "NAME.shift" are free */
    bool weighted;  /* has a weight called NAME.weight */
} Val;

/* The generator's state: the random stream, the limits, the text so far
 * (the input lines and the layer lines) and the values. */
typedef struct Gen {
    uint64_t rng;
    DtLimits lim;
    GenText inputs, body;
    Val v[GEN_MAX_VALS];
    int n;
    int layers;
    int64_t macs;
    int forced[GEN_MAX_FORCED]; /* values that must be outputs */
    int n_forced;
    int next_name, next_block;
} Gen;

/* ---- randomness: splitmix64 and integers only (gen_core.c) ------------------ */

/* Uniform in [lo, hi]. */
int64_t gen_rnd(Gen *g, int64_t lo, int64_t hi);
bool gen_chance(Gen *g, int percent);
/* One of list[0 .. n-1]; GEN_PICK(g, "0.1", "0.2") counts the list itself. */
const char *gen_pick_str(Gen *g, const char *const *list, int n);
#define GEN_PICK(g, ...)                                      \
    gen_pick_str((g), (const char *const[]){__VA_ARGS__},     \
                 (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
/* A random divisor of n. */
int64_t gen_divisor_of(Gen *g, int64_t n);

static inline int64_t gen_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t gen_max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- text (gen_core.c) -------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) void gen_text_printf(GenText *t, const char *fmt, ...);
/* "[d0, d1, ...]" */
void gen_fmt_dims(const Shape *s, char *buf, size_t size);
/* Appends ", key=value" to an argument list. */
__attribute__((format(printf, 3, 4))) void gen_arg(char *buf, size_t size, const char *fmt, ...);

/* ---- values (gen_core.c) ------------------------------------------------------ */

static inline bool gen_is_int(ElemKind k) { return k == ELEM_I8 || k == ELEM_U8 || k == ELEM_I32; }
static inline bool gen_is_quant(ElemKind k) { return k == ELEM_I8 || k == ELEM_U8; }

/* s has between 1 and max_elems elements. */
bool gen_fits(const Gen *g, const Shape *s);
/* `layers` more layers stay within max_layers and the table of values. */
bool gen_room(const Gen *g, int layers);
/* A new layer name starting with prefix (or a name a pass might want). */
void gen_fresh_name(Gen *g, const char *prefix, char *buf, size_t size);
/* Writes `name = CALL;  # type` and records the value; returns its index. */
int gen_emit(Gen *g, const char *name, const char *call, ElemKind type, Shape shape, bool exact,
             bool constant, double mag);
/* Value i is read by the layer just written. */
void gen_use(Gen *g, int i);
/* The layer of one operand, the usual case: gen_emit under a fresh name
 * (gen_fresh_name), then gen_use of xi. */
int gen_emit_from(Gen *g, int xi, const char *prefix, const char *call, ElemKind type, Shape shape,
                  bool exact, bool constant, double mag);
/* Value i must be a graph output. */
void gen_force_output(Gen *g, int i);
/* A constant layer of the given shape and type; -1 when it does not fit. */
int gen_constant(Gen *g, const Shape *s, ElemKind type);

/* ---- operand choice (gen_core.c) ----------------------------------------------- */

typedef bool (*GenValOk)(const Val *v);

bool gen_f32_rank4(const Val *v);
/* Mostly the newest value or one nothing reads yet; sometimes any; -1 for none. */
int gen_pick_operand(Gen *g, GenValOk ok);

/* ---- sliding windows (gen_core.c) ---------------------------------------------- */

typedef struct GenWindow {
    int64_t k[2], s[2], d[2], p[4];
    int64_t out[2];
} GenWindow;

/* A random window over H x W; pool windows keep each pad below the kernel. */
bool gen_draw_window(Gen *g, int64_t H, int64_t W, bool pool, bool dilate, bool ceil_mode, GenWindow *w);
/* Appends the window's attributes in source form. */
void gen_window_args(Gen *g, const GenWindow *w, bool dilation, char *call, size_t size);

/* ---- the arithmetic ops (gen_ops.c) --------------------------------------------- */

typedef struct GenConvOpts {
    bool same;       /* output shape = input shape (a residual block) */
    bool epilogue;   /* may write act= and a residual operand */
    bool no_bias;    /* bias=false */
    const char *name;
} GenConvOpts;

/* The element-wise ops by index, as gen_binary_op takes them. */
extern const char *const gen_binary_ops[6];

int gen_conv_ex(Gen *g, int xi, const GenConvOpts *o);
int gen_conv(Gen *g, int xi);
/* name_in: the layer's name (NULL: a fresh one); epilogue: may write act=. */
int gen_fc_ex(Gen *g, int xi, const char *name_in, bool epilogue);
int gen_fc(Gen *g, int xi);
int gen_maxpool(Gen *g, int xi);
int gen_avgpool(Gen *g, int xi);
int gen_global_pool(Gen *g, int xi);
int gen_unary(Gen *g, int xi);
int gen_clip(Gen *g, int xi);
int gen_maxout(Gen *g, int xi);
int gen_softmax(Gen *g, int xi);
/* name_in: the layer's name (NULL: a fresh one, and maybe scale_shift). */
int gen_batchnorm_ex(Gen *g, int xi, const char *name_in);
int gen_batchnorm(Gen *g, int xi);
int gen_lrn(Gen *g, int xi);
/* A shape that broadcasts with s. */
Shape gen_broadcast_shape(Gen *g, const Shape *s);
/* op: an index of gen_binary_ops. */
int gen_binary_op(Gen *g, int xi, int op);
int gen_binary(Gen *g, int xi);
int gen_matmul(Gen *g, int xi);

/* ---- the ops that move elements (gen_layout.c) ---------------------------------- */

int gen_concat(Gen *g, int xi);
int gen_flatten(Gen *g, int xi);
/* same: reshape to the same shape (an identity). */
int gen_reshape_ex(Gen *g, int xi, bool same);
int gen_reshape(Gen *g, int xi);
int gen_dropout(Gen *g, int xi);
/* full: the whole range (an identity). */
int gen_slice_ex(Gen *g, int xi, bool full);
int gen_slice(Gen *g, int xi);
/* perm_in: this permutation (NULL: a random one, or the reverse with `reverse`). */
int gen_transpose_ex(Gen *g, int xi, const int *perm_in, bool reverse);
int gen_transpose(Gen *g, int xi);
/* zero: pads of 0 (an identity). */
int gen_pad_ex(Gen *g, int xi, bool zero);
int gen_pad(Gen *g, int xi);

/* ---- the quantised ops (gen_quant.c) --------------------------------------------- */

int gen_quantize(Gen *g, int xi);
int gen_dequantize(Gen *g, int xi);
int gen_qconv(Gen *g, int xi);
int gen_qmatmul(Gen *g, int xi);

/* ---- patterns the optimiser rewrites (gen_patterns.c) ----------------------------- */

int gen_pat_conv_bn_act(Gen *g, int xi);
int gen_pat_residual(Gen *g, int xi);
int gen_pat_second_reader(Gen *g, int xi);
int gen_pat_channel_constant(Gen *g, int xi);
int gen_pat_views(Gen *g, int xi);
int gen_pat_identity_output(Gen *g, int xi);
int gen_pat_constant_fold(Gen *g, int xi);
int gen_pat_quantised(Gen *g, int xi);
int gen_pat_fc_block(Gen *g, int xi);

#endif
