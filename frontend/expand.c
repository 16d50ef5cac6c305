/* Block expansion: turns the statements of a Program into a flat list of
 * layers with full names, evaluated attributes and unresolved operand names.
 *
 * A block instance `b = blk(...)` names its layers `b.local`, except the one
 * the block returns, which takes the instance's own name `b`, so the rest of
 * the network refers to the instance as to any layer. */
#include "expand.h"

#include <stdio.h>
#include <string.h>

#include "checked.h"
#include "conv_algo.h"
#include "suggest.h"

#define MAX_BLOCK_DEPTH 64
#define MAX_EXPR_DEPTH 256

typedef struct Binding {
    const char *name;
    bool is_tensor;
    const char *tensor; /* full tensor name */
    SrcLoc loc;         /* where the argument was written */
    Value value;
} Binding;

typedef struct Scope {
    const BlockDef *block; /* NULL at top level */
    const char *prefix;    /* "" at top level, "inst." in an instance */
    const char *instance;
    const char *ret_local; /* the local name the block returns */
    Binding *bindings;
    int n_bindings;
    const Instantiation *inst;
    Annotations inherited;
    int depth;
} Scope;

typedef struct Expander {
    const Program *prog;
    Diag *d;
    Arena *arena;
    Expansion *out;
    bool symbols_ok; /* an unbound name evaluates to itself (enum and type attributes) */
} Expander;

/* Every error inside a block instance ends with the chain of instantiations. */
#define ERROR(x, scope, loc, ...)                           \
    do {                                                    \
        diag_error((x)->d, (loc), __VA_ARGS__);             \
        report_instantiation((x)->d, (scope)->inst);        \
    } while (0)

static const BlockDef *find_block(const Program *p, const char *name)
{
    for (int i = 0; i < p->n_blocks; i++)
        if (strcmp(p->blocks[i].name, name) == 0)
            return &p->blocks[i];
    return NULL;
}

static const Binding *find_binding(const Scope *s, const char *name)
{
    for (int i = 0; i < s->n_bindings; i++)
        if (strcmp(s->bindings[i].name, name) == 0)
            return &s->bindings[i];
    return NULL;
}

static bool is_local(const Scope *s, const char *name)
{
    for (int i = 0; s->block && i < s->block->n_stmts; i++)
        if (!s->block->stmts[i].is_return && strcmp(s->block->stmts[i].target, name) == 0)
            return true;
    return false;
}

static const char *full_name(Expander *x, const Scope *s, const char *local)
{
    if (!s->block)
        return local;
    if (s->ret_local && strcmp(local, s->ret_local) == 0)
        return s->instance;
    return arena_printf(x->arena, "%s%s", s->prefix, local);
}

/* ---- constant expressions ---------------------------------------------- */

static bool eval(Expander *x, const Scope *s, const Expr *e, Value *v, int depth);

static bool eval_arith(Expander *x, const Scope *s, const Expr *e, Value *v, int depth)
{
    Value a, b;
    if (!eval(x, s, e->lhs, &a, depth + 1) || !eval(x, s, e->rhs, &b, depth + 1))
        return false;
    bool ints = a.kind == VAL_INT && b.kind == VAL_INT;
    if ((a.kind != VAL_INT && a.kind != VAL_FLOAT) || (b.kind != VAL_INT && b.kind != VAL_FLOAT)) {
        ERROR(x, s, e->loc, "operator '%c' needs numbers", e->op);
        return false;
    }
    memset(v, 0, sizeof *v);
    if (ints) {
        bool ok = true;
        v->kind = VAL_INT;
        switch (e->op) {
        case '+': ok = checked_add(a.i, b.i, &v->i); break;
        case '-': ok = !__builtin_sub_overflow(a.i, b.i, &v->i); break;
        case '*': ok = checked_mul(a.i, b.i, &v->i); break;
        case '/':
            if (b.i == 0) {
                ERROR(x, s, e->loc, "division by zero");
                return false;
            }
            ok = !(a.i == INT64_MIN && b.i == -1);
            v->i = ok ? a.i / b.i : 0;
            break;
        }
        if (!ok)
            ERROR(x, s, e->loc, "integer overflow in '%c'", e->op);
        return ok;
    }
    double fa = a.kind == VAL_INT ? (double)a.i : a.f, fb = b.kind == VAL_INT ? (double)b.i : b.f;
    v->kind = VAL_FLOAT;
    switch (e->op) {
    case '+': v->f = fa + fb; break;
    case '-': v->f = fa - fb; break;
    case '*': v->f = fa * fb; break;
    case '/': v->f = fa / fb; break;
    }
    return true;
}

static bool eval(Expander *x, const Scope *s, const Expr *e, Value *v, int depth)
{
    if (depth > MAX_EXPR_DEPTH) {
        ERROR(x, s, e->loc, "expression nested more than %d deep", MAX_EXPR_DEPTH);
        return false;
    }
    memset(v, 0, sizeof *v);
    switch (e->kind) {
    case EX_INT: v->kind = VAL_INT, v->i = e->i; return true;
    case EX_FLOAT: v->kind = VAL_FLOAT, v->f = e->f; return true;
    case EX_BOOL: v->kind = VAL_BOOL, v->b = e->b; return true;
    case EX_LIST: {
        Value *items = arena_array(x->arena, (size_t)e->n, sizeof *items);
        for (int i = 0; i < e->n; i++)
            if (!eval(x, s, e->items[i], &items[i], depth + 1))
                return false;
        v->kind = VAL_LIST, v->items = items, v->n = e->n;
        return true;
    }
    case EX_NEG: {
        if (!eval(x, s, e->lhs, v, depth + 1))
            return false;
        if (v->kind == VAL_INT && v->i != INT64_MIN)
            return v->i = -v->i, true;
        if (v->kind == VAL_FLOAT)
            return v->f = -v->f, true;
        ERROR(x, s, e->loc, "'-' needs a number");
        return false;
    }
    case EX_BINARY: return eval_arith(x, s, e, v, depth);
    case EX_NAME: {
        const Binding *b = find_binding(s, e->name);
        if (b && !b->is_tensor) {
            *v = b->value;
            return true;
        }
        if (!b && x->symbols_ok) {
            v->kind = VAL_SYMBOL;
            v->sym = e->name;
            return true;
        }
        if (b || is_local(s, e->name))
            ERROR(x, s, e->loc, "'%s' is a tensor, but a constant is needed here", e->name);
        else
            ERROR(x, s, e->loc, "undefined constant '%s'", e->name);
        return false;
    }
    }
    return false;
}

/* ---- annotations ------------------------------------------------------- */

static const char *annot_symbol(Expander *x, const Scope *s, const Annot *a, int i)
{
    if (i >= a->n || a->args[i]->kind != EX_NAME) {
        ERROR(x, s, a->loc, "@%s expects a name as argument %d", a->key, i + 1);
        return NULL;
    }
    const Binding *b = find_binding(s, a->args[i]->name);
    if (b && !b->is_tensor && b->value.kind == VAL_SYMBOL)
        return b->value.sym;
    return a->args[i]->name;
}

static bool annot_int(Expander *x, const Scope *s, const Annot *a, int i, int64_t lo, int64_t hi,
                      int64_t *out)
{
    Value v;
    if (i >= a->n) {
        ERROR(x, s, a->loc, "@%s expects %d arguments", a->key, i + 1);
        return false;
    }
    if (!eval(x, s, a->args[i], &v, 0))
        return false;
    if (v.kind != VAL_INT || v.i < lo || v.i > hi) {
        ERROR(x, s, a->args[i]->loc, "@%s: argument %d must be an integer in [%lld, %lld]", a->key,
              i + 1, (long long)lo, (long long)hi);
        return false;
    }
    *out = v.i;
    return true;
}

bool elem_type_from_parts(const char *name, int n_args, const int64_t *args, ElemType *out,
                          char *err, size_t errsz)
{
    ElemKind k;
    if (!elem_kind_from_name(name, &k)) {
        snprintf(err, errsz, "unknown element type '%s'", name);
        return false;
    }
    *out = elem_type_default(k);
    int want = k == ELEM_FIXED ? 2 : (k == ELEM_LOG2 || k == ELEM_CODEBOOK) ? 1 : 0;
    if (n_args != want) {
        snprintf(err, errsz, "element type '%s' takes %d parameter%s, got %d", name, want,
                 want == 1 ? "" : "s", n_args);
        return false;
    }
    if (want >= 1) {
        if (args[0] < 1 || args[0] > 32) {
            snprintf(err, errsz, "'%s' needs 1 to 32 bits, got %lld", name, (long long)args[0]);
            return false;
        }
        out->bits = (uint8_t)args[0];
    }
    if (want == 2) {
        if (args[1] < -64 || args[1] > 64) {
            snprintf(err, errsz, "'%s' fractional bits must be in [-64, 64], got %lld", name,
                     (long long)args[1]);
            return false;
        }
        out->frac = (int8_t)args[1];
    }
    return true;
}

static bool apply_precision(Expander *x, const Scope *s, const Annot *a, Annotations *ann)
{
    const char *name = annot_symbol(x, s, a, 0);
    int64_t args[2] = {0, 0};
    if (!name)
        return false;
    for (int i = 1; i < a->n && i <= 2; i++)
        if (!annot_int(x, s, a, i, -64, 64, &args[i - 1]))
            return false;
    char err[200];
    if (a->n > 3 || !elem_type_from_parts(name, a->n - 1, args, &ann->precision, err, sizeof err)) {
        ERROR(x, s, a->loc, "@precision: %s", a->n > 3 ? "too many arguments" : err);
        return false;
    }
    ann->has_precision = true;
    return true;
}

/* ---- @mapping(dram, [M, 2], buf, [...], rows, [...], cols, [...], pe, [...], rf, [...]) ---- */

#define MAPPING_LEVEL_LIST "dram, buf, rows, cols, pe, rf"

/* What an argument is, for "expected X, got Y". */
static const char *expr_text(Expander *x, const Expr *e)
{
    switch (e->kind) {
    case EX_NAME: return arena_printf(x->arena, "'%s'", e->name);
    case EX_INT: return arena_printf(x->arena, "%lld", (long long)e->i);
    case EX_FLOAT: return "a number";
    case EX_BOOL: return e->b ? "true" : "false";
    case EX_LIST: return "a list";
    case EX_BINARY: case EX_NEG: break;
    }
    return "an expression";
}

/* The bound of one loop: a constant expression, a positive integer. */
static bool mapping_bound(Expander *x, const Scope *s, const char *level, const char *dim,
                          const Expr *e, int64_t *out)
{
    Value v;
    if (!eval(x, s, e, &v, 0))
        return false;
    if (v.kind != VAL_INT || v.i < 1) {
        const char *got = v.kind == VAL_INT ? arena_printf(x->arena, "%lld", (long long)v.i)
                                            : expr_text(x, e);
        ERROR(x, s, e->loc,
              "@mapping: level '%s': the bound of %s must be a positive integer, got %s", level,
              dim, got);
        return false;
    }
    *out = v.i;
    return true;
}

/* One level's loops, [DIM, bound, DIM, bound, ...] outer to inner; the
 * dimensions it does not list follow in the order N M C P Q R S with bound 1. */
static bool mapping_level(Expander *x, const Scope *s, int lv, const Expr *list, MappingAnn *m)
{
    const char *level = mapping_ann_level_name(lv);
    if (list->kind != EX_LIST) {
        ERROR(x, s, list->loc,
              "@mapping: level '%s' expects a list of loops such as [M, 4, S, 3], got %s", level,
              expr_text(x, list));
        return false;
    }
    bool listed[MAPPING_DIMS] = {false};
    int n = 0;
    for (int i = 0; i < list->n; i += 2) {
        const Expr *e = list->items[i];
        int d;
        if (e->kind != EX_NAME || !mapping_ann_dim_from_name(e->name, &d)) {
            ERROR(x, s, e->loc,
                  "@mapping: level '%s': expected a dimension (N, M, C, P, Q, R or S), got %s",
                  level, expr_text(x, e));
            return false;
        }
        if (listed[d]) {
            ERROR(x, s, e->loc, "@mapping: level '%s' has two loops over %s", level, e->name);
            return false;
        }
        if (i + 1 == list->n) {
            ERROR(x, s, e->loc, "@mapping: level '%s': the loop over %s needs a bound", level, e->name);
            return false;
        }
        if (!mapping_bound(x, s, level, e->name, list->items[i + 1], &m->bound[lv][d]))
            return false;
        listed[d] = true;
        m->order[lv][n++] = (uint8_t)d;
    }
    for (int d = 0; d < MAPPING_DIMS; d++)
        if (!listed[d]) {
            m->bound[lv][d] = 1;
            m->order[lv][n++] = (uint8_t)d;
        }
    return true;
}

/* Every level, outermost first, each name followed by its list. Whether the
 * loops fit the layer and the machine is for map-dataflow to say: only it
 * knows the layer's dimensions and the dataflow's rules. */
static bool apply_mapping(Expander *x, const Scope *s, const Annot *a, Annotations *ann)
{
    MappingAnn m = {.present = true};
    for (int lv = 0; lv < MAPPING_LEVELS; lv++) {
        const char *level = mapping_ann_level_name(lv);
        int k = 2 * lv;
        if (k >= a->n) {
            ERROR(x, s, a->loc, "@mapping: missing level '%s' (expected " MAPPING_LEVEL_LIST
                  ", each followed by a list of loops)", level);
            return false;
        }
        const Expr *name = a->args[k];
        if (name->kind != EX_NAME || strcmp(name->name, level) != 0) {
            ERROR(x, s, name->loc, "@mapping: expected level '%s' as argument %d, got %s (levels go "
                  "outermost first: " MAPPING_LEVEL_LIST ")", level, k + 1, expr_text(x, name));
            return false;
        }
        if (k + 1 >= a->n) {
            ERROR(x, s, name->loc, "@mapping: level '%s' needs a list of loops such as [M, 4, S, 3]",
                  level);
            return false;
        }
        if (!mapping_level(x, s, lv, a->args[k + 1], &m))
            return false;
    }
    if (a->n > 2 * MAPPING_LEVELS) {
        ERROR(x, s, a->args[2 * MAPPING_LEVELS]->loc,
              "@mapping: unexpected argument %d after the loops of level 'rf'", 2 * MAPPING_LEVELS + 1);
        return false;
    }
    ann->mapping = m;
    return true;
}

/* The last annotation of st called key, or NULL. */
static const Annot *find_annotation(const Stmt *st, const char *key)
{
    const Annot *found = NULL;
    for (int i = 0; i < st->n_annots; i++)
        if (strcmp(st->annots[i].key, key) == 0)
            found = &st->annots[i];
    return found;
}

/* A mapping is the loop nest of one conv or fc layer under one dataflow. */
static bool check_mapping(Expander *x, const Scope *s, const Stmt *st, OpKind op,
                          const Annotations *ann)
{
    if (!ann->mapping.present)
        return true;
    const Annot *a = find_annotation(st, "mapping"); /* never inherited: see expand_block */
    if (op != OP_CONV && op != OP_FC) {
        ERROR(x, s, a->loc, "@mapping applies to conv and fc layers, not %s", op_name(op));
        return false;
    }
    if (ann->dataflow == DATAFLOW_AUTO) {
        ERROR(x, s, a->loc, "@mapping needs a @dataflow: a mapping belongs to one dataflow");
        return false;
    }
    return true;
}

/* The value of @algo's tile=: one of the algorithm's tiles. */
static bool algo_tile(Expander *x, const Scope *s, const char *algo_name, ConvAlgo algo,
                      const Arg *arg, int *tile)
{
    if (!conv_algo_has_tile(algo)) {
        ERROR(x, s, arg->key_loc, "@algo(%s) takes no tile: only winograd and fft have one",
              algo_name);
        return false;
    }
    Value v;
    if (!eval(x, s, arg->value, &v, 0))
        return false;
    if (v.kind != VAL_INT || !conv_algo_tile_valid(algo, v.i)) {
        const char *got = v.kind == VAL_INT ? arena_printf(x->arena, "%lld", (long long)v.i)
                                            : expr_text(x, arg->value);
        ERROR(x, s, arg->value->loc, "@algo(%s): tile must be %s (%s), got %s", algo_name,
              conv_algo_tile_list(algo), conv_algo_tile_meaning(algo), got);
        return false;
    }
    *tile = (int)v.i;
    return true;
}

/* @algo(A) or @algo(A, tile=T). A later @algo replaces an earlier one
 * whole, tile included, so @algo(direct) in a block undoes an inherited
 * @algo(winograd, tile=2). */
static bool apply_algo(Expander *x, const Scope *s, const Annot *a, Annotations *ann)
{
    const char *sym = annot_symbol(x, s, a, 0);
    if (!sym)
        return false;
    if (a->n != 1) {
        ERROR(x, s, a->loc, "@algo takes one algorithm (and tile=N for winograd and fft)");
        return false;
    }
    ConvAlgo algo;
    if (!conv_algo_from_name(sym, &algo)) {
        ERROR(x, s, a->args[0]->loc, "@algo: unknown value '%s' (known: auto, direct, im2col, "
              "winograd, fft)", sym);
        return false;
    }
    int tile = 0;
    for (int i = 0; i < a->n_kwargs; i++) {
        const Arg *arg = &a->kwargs[i];
        if (strcmp(arg->key, "tile") != 0) {
            ERROR(x, s, arg->key_loc, "@algo has no argument '%s' (known: tile)", arg->key);
            return false;
        }
        if (i > 0) {
            ERROR(x, s, arg->key_loc, "@algo: argument 'tile' is given twice");
            return false;
        }
        if (!algo_tile(x, s, sym, algo, arg, &tile))
            return false;
    }
    ann->algo = algo;
    ann->algo_tile = tile;
    return true;
}

/* @offset(N): the byte of the workspace where the layer's output lives
 * (plan-memory writes it; ir/verify.c checks its alignment). */
static bool apply_offset(Expander *x, const Scope *s, const Annot *a, Annotations *ann)
{
    int64_t offset;
    if (a->n != 1) {
        ERROR(x, s, a->loc, "@offset takes one argument: the byte offset of the layer's output in the workspace");
        return false;
    }
    if (!annot_int(x, s, a, 0, 0, INT64_MAX, &offset))
        return false;
    ann->has_offset = true;
    ann->offset = (uint64_t)offset;
    return true;
}

static bool known_annotation(const char *key)
{
    static const char *const known[] = {"algo", "precision", "sparse", "dataflow", "mapping", "layout", "offset"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

static bool apply_annotation(Expander *x, const Scope *s, const Annot *a, Annotations *ann)
{
    const char *key = a->key;
    if (!known_annotation(key)) {
        ERROR(x, s, a->loc, "unknown annotation '@%s' (known: @algo, @precision, @sparse, @dataflow, "
              "@mapping, @layout, @offset)", key);
        return false;
    }
    if (a->misplaced) {
        ERROR(x, s, a->misplaced->loc, "@%s: positional argument after keyword arguments", key);
        return false;
    }
    if (strcmp(key, "algo") == 0)
        return apply_algo(x, s, a, ann);
    if (a->n_kwargs) {
        ERROR(x, s, a->kwargs[0].key_loc, "@%s takes no keyword arguments", key);
        return false;
    }
    if (strcmp(key, "precision") == 0)
        return apply_precision(x, s, a, ann);
    if (strcmp(key, "mapping") == 0)
        return apply_mapping(x, s, a, ann);
    if (strcmp(key, "offset") == 0)
        return apply_offset(x, s, a, ann);
    const char *sym = annot_symbol(x, s, a, 0);
    if (!sym)
        return false;
    if (a->n != 1) {
        ERROR(x, s, a->loc, "@%s takes one argument", key);
        return false;
    }
    bool ok;
    const char *known;
    if (strcmp(key, "sparse") == 0) {
        ok = sparse_format_from_name(sym, &ann->sparse);
        ann->has_sparse = ok;
        known = "dense, csr, csc, rlc";
    } else if (strcmp(key, "layout") == 0) {
        ok = layout_from_name(sym, &ann->layout);
        ann->has_layout = ok;
        known = "nchw, nchw16c";
    } else {
        char dashed[32];
        snprintf(dashed, sizeof dashed, "%s", sym);
        for (char *p = dashed; *p; p++)
            if (*p == '_')
                *p = '-';
        ok = dataflow_from_name(dashed, &ann->dataflow);
        known = "auto, ws, os_a, os_b, os_c, nlr, rs";
    }
    if (!ok)
        ERROR(x, s, a->args[0]->loc, "@%s: unknown value '%s' (known: %s)", key, sym, known);
    return ok;
}

static bool apply_annotations(Expander *x, const Scope *s, const Stmt *st, Annotations *ann)
{
    bool ok = true;
    for (int i = 0; i < st->n_annots; i++)
        ok &= apply_annotation(x, s, &st->annots[i], ann);
    return ok;
}

/* ---- layers ------------------------------------------------------------ */

/* Resolves an operand written in scope s to a full tensor name. */
static bool operand_name(Expander *x, const Scope *s, const Expr *e, const char **name, SrcLoc *loc)
{
    if (e->kind != EX_NAME) {
        ERROR(x, s, e->loc, "an operand must be the name of a tensor");
        return false;
    }
    *loc = e->loc;
    const Binding *b = find_binding(s, e->name);
    if (b) {
        if (!b->is_tensor) {
            ERROR(x, s, e->loc, "'%s' is a constant, but a tensor is needed here", e->name);
            return false;
        }
        *name = b->tensor;
        *loc = b->loc;
        return true;
    }
    if (s->block && !is_local(s, e->name)) {
        const BlockDef *blk = s->block;
        const char **names = arena_array(x->arena, (size_t)(blk->n_params + blk->n_stmts) + 1,
                                         sizeof *names);
        int n = 0;
        for (int i = 0; i < blk->n_params; i++)
            names[n++] = blk->params[i].name;
        for (int i = 0; i < blk->n_stmts; i++)
            if (!blk->stmts[i].is_return)
                names[n++] = blk->stmts[i].target;
        const char *hint = suggest(e->name, names, n);
        if (hint)
            ERROR(x, s, e->loc, "undefined name '%s' in block '%s'; did you mean '%s'?", e->name,
                  blk->name, hint);
        else
            ERROR(x, s, e->loc, "undefined name '%s' in block '%s'", e->name, blk->name);
        return false;
    }
    *name = full_name(x, s, e->name);
    return true;
}

static bool set_attribute(Expander *x, const Scope *s, OpKind op, const Arg *arg, Attrs *attrs)
{
    const AttrSpec *spec = op_find_attr(op, arg->key);
    if (!spec) {
        const char *names[32];
        int n = 0;
        for (const AttrSpec *a = op_info(op)->attrs; a && a->name && n < 32; a++)
            names[n++] = a->name;
        const char *hint = suggest(arg->key, names, n);
        if (hint)
            ERROR(x, s, arg->key_loc, "%s has no attribute '%s'; did you mean '%s'?", op_name(op),
                  arg->key, hint);
        else
            ERROR(x, s, arg->key_loc, "%s has no attribute '%s'", op_name(op), arg->key);
        return false;
    }
    Value v;
    char err[256];
    x->symbols_ok = spec->kind == ATTR_ENUM || spec->kind == ATTR_TYPE;
    bool ok = eval(x, s, arg->value, &v, 0);
    x->symbols_ok = false;
    if (!ok)
        return false;
    if (!attr_set(spec, attrs, &v, err, sizeof err)) {
        ERROR(x, s, arg->value->loc, "%s: %s", op_name(op), err);
        return false;
    }
    return true;
}

static bool push_layer(Expander *x, const Scope *s, Layer *l)
{
    if (x->out->n_layers >= DNNC_MAX_NODES) {
        if (x->out->n_layers == DNNC_MAX_NODES)
            ERROR(x, s, l->loc, "the network expands to more than %d layers", DNNC_MAX_NODES);
        x->out->n_layers++;
        return false;
    }
    VEC_PUSH(x->arena, x->out->layers, x->out->n_layers, x->out->cap_layers, *l);
    return true;
}

static bool expand_op(Expander *x, const Scope *s, const Stmt *st, OpKind op)
{
    Layer l = {0};
    l.name = full_name(x, s, st->target);
    l.loc = st->target_loc;
    l.op = op;
    l.inst = s->inst;
    l.stmt = st;
    l.ann = s->inherited;
    attrs_init_defaults(op, &l.attrs);
    /* An algorithm chosen for a whole block instance applies to its convolutions. */
    if (op != OP_CONV) {
        l.ann.algo = ALGO_AUTO;
        l.ann.algo_tile = 0;
    }
    bool ok = apply_annotations(x, s, st, &l.ann);
    if (l.ann.algo != ALGO_AUTO && op != OP_CONV) {
        ERROR(x, s, st->target_loc, "@algo applies to conv layers, not %s", op_name(op));
        ok = false;
    }
    ok = ok && check_mapping(x, s, st, op, &l.ann);
    l.operands = arena_array(x->arena, (size_t)st->n_args, sizeof *l.operands);
    l.operand_locs = arena_array(x->arena, (size_t)st->n_args, sizeof *l.operand_locs);
    bool seen_key = false;
    for (int i = 0; i < st->n_args; i++) {
        const Arg *arg = &st->args[i];
        if (!arg->key) {
            if (seen_key) {
                ERROR(x, s, arg->value->loc, "operand after keyword attributes");
                ok = false;
            } else if (operand_name(x, s, arg->value, &l.operands[l.n_operands],
                                    &l.operand_locs[l.n_operands])) {
                l.n_operands++;
            } else {
                ok = false;
            }
            continue;
        }
        seen_key = true;
        for (int k = 0; k < i; k++)
            if (st->args[k].key && strcmp(st->args[k].key, arg->key) == 0) {
                ERROR(x, s, arg->key_loc, "attribute '%s' is given twice", arg->key);
                ok = false;
            }
        ok = ok && set_attribute(x, s, op, arg, &l.attrs);
    }
    for (const AttrSpec *a = op_info(op)->attrs; ok && a && a->name; a++) {
        bool given = false;
        for (int i = 0; i < st->n_args; i++)
            given |= st->args[i].key && strcmp(st->args[i].key, a->name) == 0;
        if (a->required && !given) {
            ERROR(x, s, st->callee_loc, "%s requires the attribute '%s' (%s)", op_name(op), a->name,
                  a->doc);
            ok = false;
        }
    }
    if (!ok) {
        x->out->failed = true;
        return false;
    }
    return push_layer(x, s, &l);
}

static bool expand_stmts(Expander *x, const Scope *s, const Stmt *stmts, int n);

static bool bind_argument(Expander *x, const Scope *caller, const Expr *e, Binding *b)
{
    b->loc = e->loc;
    if (e->kind == EX_NAME) {
        const Binding *outer = find_binding(caller, e->name);
        if (outer) {
            const char *name = b->name;
            *b = *outer;
            b->name = name;
            return true;
        }
        b->is_tensor = true;
        SrcLoc loc;
        return operand_name(x, caller, e, &b->tensor, &loc);
    }
    return eval(x, caller, e, &b->value, 0);
}

static int param_index(const BlockDef *blk, const char *name)
{
    for (int i = 0; i < blk->n_params; i++)
        if (strcmp(blk->params[i].name, name) == 0)
            return i;
    return -1;
}

static bool bind_arguments(Expander *x, const Scope *caller, const Stmt *st, const BlockDef *blk,
                           Binding *binds)
{
    bool ok = true;
    int positional = 0;
    for (int i = 0; i < blk->n_params; i++)
        binds[i].name = blk->params[i].name;
    bool *given = arena_array(x->arena, (size_t)blk->n_params + 1, sizeof(bool));
    int n_positional = 0;
    for (int i = 0; i < st->n_args; i++)
        n_positional += st->args[i].key == NULL;
    for (int i = 0; i < st->n_args; i++) {
        const Arg *arg = &st->args[i];
        int p = arg->key ? param_index(blk, arg->key) : positional++;
        SrcLoc where = arg->key ? arg->key_loc : arg->value->loc;
        if (arg->key && p < 0) {
            ERROR(x, caller, where, "block '%s' has no parameter '%s'", blk->name, arg->key);
            ok = false;
            continue;
        }
        if (p >= blk->n_params) {
            if (p == blk->n_params) /* one error at the first argument too many */
                ERROR(x, caller, where, "block '%s' takes %d argument%s, got %d", blk->name,
                      blk->n_params, blk->n_params == 1 ? "" : "s", n_positional);
            ok = false;
            continue;
        }
        if (given[p]) {
            ERROR(x, caller, where, "parameter '%s' of block '%s' is given twice", blk->params[p].name,
                  blk->name);
            ok = false;
            continue;
        }
        given[p] = true;
        ok &= bind_argument(x, caller, arg->value, &binds[p]);
    }
    for (int i = 0; i < blk->n_params && ok; i++) {
        if (given[i])
            continue;
        if (!blk->params[i].def) {
            ERROR(x, caller, st->callee_loc, "block '%s' needs the argument '%s'", blk->name,
                  blk->params[i].name);
            ok = false;
            continue;
        }
        /* A default is a constant expression over the parameters before it
         * (and any given explicitly): block c(x, k, pad=k/2). */
        Binding *visible = arena_array(x->arena, (size_t)blk->n_params, sizeof *visible);
        int n_visible = 0;
        for (int k = 0; k < blk->n_params; k++)
            if (k < i || given[k])
                visible[n_visible++] = binds[k];
        Scope def_scope = {0};
        def_scope.inst = caller->inst;
        def_scope.bindings = visible;
        def_scope.n_bindings = n_visible;
        binds[i].loc = blk->params[i].loc;
        ok &= eval(x, &def_scope, blk->params[i].def, &binds[i].value, 0);
    }
    return ok;
}

static bool on_chain(const Instantiation *inst, const char *block)
{
    for (; inst; inst = inst->parent)
        if (strcmp(inst->block, block) == 0)
            return true;
    return false;
}

static bool expand_block(Expander *x, const Scope *caller, const Stmt *st, const BlockDef *blk)
{
    if (on_chain(caller->inst, blk->name) || caller->depth >= MAX_BLOCK_DEPTH) {
        ERROR(x, caller, st->callee_loc, "block '%s' instantiates itself", blk->name);
        x->out->failed = true;
        return false;
    }
    const Stmt *ret = NULL;
    for (int i = 0; i < blk->n_stmts; i++)
        if (blk->stmts[i].is_return)
            ret = &blk->stmts[i];
    if (!ret)
        return x->out->failed = true, false; /* reported when the block was checked */
    Binding *binds = arena_array(x->arena, (size_t)blk->n_params + 1, sizeof *binds);
    if (!bind_arguments(x, caller, st, blk, binds))
        return x->out->failed = true, false;
    Instantiation *inst = arena_alloc(x->arena, sizeof *inst);
    inst->block = blk->name;
    inst->loc = st->callee_loc;
    inst->parent = caller->inst;
    Scope s = {0};
    s.block = blk;
    s.instance = full_name(x, caller, st->target);
    s.prefix = arena_printf(x->arena, "%s.", s.instance);
    s.ret_local = ret->target;
    s.bindings = binds;
    s.n_bindings = blk->n_params;
    s.inst = inst;
    s.depth = caller->depth + 1;
    s.inherited = caller->inherited;
    if (!apply_annotations(x, caller, st, &s.inherited))
        return x->out->failed = true, false;
    if (s.inherited.mapping.present) {
        ERROR(x, caller, find_annotation(st, "mapping")->loc,
              "@mapping applies to one conv or fc layer, not to a block call");
        return x->out->failed = true, false;
    }
    if (s.inherited.has_offset) {
        ERROR(x, caller, find_annotation(st, "offset")->loc,
              "@offset places one layer's output, not a block call's");
        return x->out->failed = true, false;
    }
    return expand_stmts(x, &s, blk->stmts, blk->n_stmts);
}

static bool expand_stmt(Expander *x, const Scope *s, const Stmt *st)
{
    if (st->is_return)
        return true;
    OpKind op;
    if (op_from_name(st->callee, &op))
        return expand_op(x, s, st, op);
    const BlockDef *blk = find_block(x->prog, st->callee);
    if (blk)
        return expand_block(x, s, st, blk);
    const char *names[OP_COUNT + 64];
    int n = 0;
    for (int i = 0; i < OP_COUNT; i++)
        names[n++] = op_name((OpKind)i);
    for (int i = 0; i < x->prog->n_blocks && n < OP_COUNT + 64; i++)
        names[n++] = x->prog->blocks[i].name;
    const char *hint = suggest(st->callee, names, n);
    if (hint)
        ERROR(x, s, st->callee_loc, "unknown op or block '%s'; did you mean '%s'?", st->callee, hint);
    else
        ERROR(x, s, st->callee_loc, "unknown op or block '%s'", st->callee);
    x->out->failed = true;
    return false;
}

static bool expand_stmts(Expander *x, const Scope *s, const Stmt *stmts, int n)
{
    bool ok = true;
    for (int i = 0; i < n && !diag_too_many(x->d); i++) {
        ok &= expand_stmt(x, s, &stmts[i]);
        if (x->out->n_layers > DNNC_MAX_NODES)
            return false;
    }
    return ok;
}

/* Block definitions are checked once, whether or not they are used. */
static void check_blocks(Expander *x)
{
    const Program *p = x->prog;
    for (int b = 0; b < p->n_blocks; b++) {
        const BlockDef *blk = &p->blocks[b];
        for (int k = 0; k < b; k++)
            if (strcmp(p->blocks[k].name, blk->name) == 0) {
                diag_error(x->d, blk->loc, "redefinition of block '%s'", blk->name);
                diag_note(x->d, p->blocks[k].loc, "previous definition is here");
                x->out->failed = true;
            }
        OpKind op;
        if (op_from_name(blk->name, &op)) {
            diag_error(x->d, blk->loc, "block '%s' has the name of an op", blk->name);
            x->out->failed = true;
        }
        for (int i = 0; i < blk->n_params; i++)
            for (int k = 0; k < i; k++)
                if (strcmp(blk->params[i].name, blk->params[k].name) == 0) {
                    diag_error(x->d, blk->params[i].loc, "duplicate parameter '%s'",
                               blk->params[i].name);
                    x->out->failed = true;
                }
        int returns = 0;
        for (int i = 0; i < blk->n_stmts; i++) {
            const Stmt *st = &blk->stmts[i];
            if (st->is_return) {
                returns++;
                if (returns > 1 || i != blk->n_stmts - 1) {
                    diag_error(x->d, st->target_loc, "'return' must be the last statement of block '%s'",
                               blk->name);
                    x->out->failed = true;
                } else if (!is_local(&(Scope){.block = blk}, st->target)) {
                    diag_error(x->d, st->target_loc, "block '%s' returns '%s', which is not one of its layers",
                               blk->name, st->target);
                    x->out->failed = true;
                }
                continue;
            }
            if (param_index(blk, st->target) >= 0) {
                diag_error(x->d, st->target_loc, "layer '%s' has the name of a parameter of block '%s'",
                           st->target, blk->name);
                x->out->failed = true;
            }
            if (strchr(st->target, '.')) {
                diag_error(x->d, st->target_loc, "a layer inside a block cannot have a dotted name");
                x->out->failed = true;
            }
        }
        if (!returns) {
            diag_error(x->d, blk->loc, "block '%s' has no 'return' statement", blk->name);
            x->out->failed = true;
        }
    }
}

void expand_program(const Program *prog, Diag *d, Arena *arena, Expansion *out)
{
    memset(out, 0, sizeof *out);
    Expander x = {prog, d, arena, out, false};
    check_blocks(&x);
    Scope top = {0};
    top.prefix = "";
    expand_stmts(&x, &top, prog->stmts, prog->n_stmts);
    if (out->n_layers > DNNC_MAX_NODES) {
        out->n_layers = DNNC_MAX_NODES;
        out->failed = true;
    }
}

void report_instantiation(Diag *d, const Instantiation *inst)
{
    for (; inst; inst = inst->parent)
        diag_note(d, inst->loc, "in block '%s' instantiated here", inst->block);
}
