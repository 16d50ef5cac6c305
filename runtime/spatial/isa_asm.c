/* The assembler: text (docs/isa.md, "Assembly") to an IsaProgram. A line
 * is a directive, an instruction, or empty; an error abandons its line and
 * the assembler goes on with the next, so one run reports every bad line
 * (up to MAX_ERRORS). Operands are checked where they are written, so a
 * message points at the value at fault; the whole instruction is then
 * checked by isa_check, the rule the encoder and decoder share. */
#include "isa_asm.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "isa_asm_lex.h"
#include "isa_codec.h"

#define MAX_ERRORS 20
#define MAX_LINE ((size_t)1 << 20)
#define MAX_MACHINE_KEYS 64

/* Where a line or token is, to point at it later. */
typedef struct Where {
    const char *line;
    size_t len;
    int lineno, col;
} Where;

typedef struct Asm {
    const char *name;
    FILE *err;
    int errors;
    Where at; /* the current line; at.col unused */
    Lexer lx;
    Tok tok; /* the next token */
    IsaProgram p;
    int machine_set[MAX_MACHINE_KEYS]; /* line that set each key, 0: none */
    int dram_words_set;
    Where *io_at; /* where each input or output was declared */
} Asm;

/* ---- messages ------------------------------------------------------------ */

static void report(Asm *a, const Where *w, const char *fmt, va_list ap)
{
    a->errors++;
    if (!a->err || a->errors > MAX_ERRORS)
        return;
    fprintf(a->err, "%s:%d:%d: error: ", a->name, w->lineno, w->col);
    vfprintf(a->err, fmt, ap);
    fprintf(a->err, "\n%.*s\n", (int)w->len, w->line);
    for (int i = 1; i < w->col && (size_t)i <= w->len; i++)
        fputc(w->line[i - 1] == '\t' ? '\t' : ' ', a->err);
    fputs("^\n", a->err);
}

static bool error_at(Asm *a, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool error_at(Asm *a, int col, const char *fmt, ...)
{
    Where w = a->at;
    w.col = col;
    va_list ap;
    va_start(ap, fmt);
    report(a, &w, fmt, ap);
    va_end(ap);
    return false;
}

static bool error_where(Asm *a, const Where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool error_where(Asm *a, const Where *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(a, w, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- tokens -------------------------------------------------------------- */

/* Advances; a bad token is reported here, and parsing of the line stops. */
static bool next(Asm *a)
{
    a->tok = isa_lex_next(&a->lx);
    if (a->tok.kind == TK_ERROR)
        return error_at(a, a->tok.col, "%s", a->lx.why);
    return true;
}

/* The current token, quoted, for messages. */
static const char *shown(const Tok *t, char *buf, size_t size)
{
    if (t->kind == TK_END)
        return "the end of the line";
    snprintf(buf, size, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
    return buf;
}

static bool expect(Asm *a, char c, const char *after)
{
    if (isa_tok_is(&a->tok, c))
        return next(a);
    char buf[64];
    return error_at(a, a->tok.col, "expected '%c' %s, found %s", c, after,
                    shown(&a->tok, buf, sizeof buf));
}

/* `key=`: the key's token in *key. */
static bool key_eq(Asm *a, Tok *key)
{
    char buf[64];
    if (a->tok.kind != TK_NAME)
        return error_at(a, a->tok.col, "expected an operand (name=value), found %s",
                        shown(&a->tok, buf, sizeof buf));
    *key = a->tok;
    if (!next(a))
        return false;
    snprintf(buf, sizeof buf, "after '%.*s'", (int)(key->len > 40 ? 40 : key->len), key->s);
    return expect(a, '=', buf);
}

static bool integer(Asm *a, int64_t *v)
{
    char why[128];
    if (a->tok.kind != TK_NUM || !isa_tok_int(&a->tok, v, why, sizeof why)) {
        char buf[64];
        if (a->tok.kind != TK_NUM)
            snprintf(why, sizeof why, "expected a number, found %s",
                     shown(&a->tok, buf, sizeof buf));
        return error_at(a, a->tok.col, "%s", why);
    }
    return next(a);
}

/* An integer in [lo, hi]; `what` names it in the message. */
static bool integer_in(Asm *a, int64_t lo, int64_t hi, const char *what, int64_t *v)
{
    int col = a->tok.col;
    if (!integer(a, v))
        return false;
    if (*v < lo || *v > hi)
        return error_at(a, col, "%s = %lld is out of range (%lld..%lld)", what, (long long)*v,
                        (long long)lo, (long long)hi);
    return true;
}

static bool string(Asm *a, char *buf, size_t size)
{
    char why[128], shownbuf[64];
    if (a->tok.kind != TK_STR)
        return error_at(a, a->tok.col, "expected a string in double quotes, found %s",
                        shown(&a->tok, shownbuf, sizeof shownbuf));
    if (!isa_tok_string(&a->tok, buf, size, why, sizeof why))
        return error_at(a, a->tok.col, "%s", why);
    return next(a);
}

static bool at_end(Asm *a)
{
    if (a->tok.kind == TK_END)
        return true;
    char buf[64];
    return error_at(a, a->tok.col, "unexpected %s", shown(&a->tok, buf, sizeof buf));
}

/* ---- operand values ------------------------------------------------------ */

static bool enum_value(Asm *a, IsaFieldKind kind, const char *what, int64_t *v)
{
    if (a->tok.kind != TK_NAME || !isa_kind_value_from_name(kind, a->tok.s, a->tok.len, v)) {
        char buf[64];
        return error_at(a, a->tok.col, "%s: %s is not %s", what, shown(&a->tok, buf, sizeof buf),
                        isa_kind_description(kind));
    }
    return next(a);
}

/* none, or dimensions joined by '|' (C|R). */
static bool dims_value(Asm *a, const char *what, int64_t *mask)
{
    *mask = 0;
    if (isa_tok_name_is(&a->tok, "none"))
        return next(a);
    for (;;) {
        int col = a->tok.col;
        int64_t d;
        if (!enum_value(a, ISA_KIND_DIM, what, &d))
            return false;
        if (*mask & (1 << d))
            return error_at(a, col, "%s: dimension %s is given twice", what,
                            isa_kind_value_name(ISA_KIND_DIM, d));
        *mask |= 1 << d;
        if (!isa_tok_is(&a->tok, '|'))
            return true;
        if (!next(a))
            return false;
    }
}

/* A number that fits the field. */
static bool number_value(Asm *a, const IsaFieldInfo *f, int64_t *v)
{
    int64_t lo, hi;
    isa_field_range(f, &lo, &hi);
    int col = a->tok.col;
    if (!integer(a, v))
        return false;
    if (f->kind == ISA_KIND_BOOL && (*v < lo || *v > hi))
        return error_at(a, col, "%s = %lld is not 0 or 1", f->name, (long long)*v);
    if (*v < lo || *v > hi)
        return error_at(a, col, "%s = %lld does not fit %d %sbits (%lld..%lld)", f->name,
                        (long long)*v, f->bits, f->kind == ISA_KIND_SINT ? "signed " : "",
                        (long long)lo, (long long)hi);
    return true;
}

static bool field_value(Asm *a, const IsaFieldInfo *f, int64_t *v)
{
    switch (f->kind) {
    case ISA_KIND_UINT:
    case ISA_KIND_SINT:
    case ISA_KIND_BOOL: return number_value(a, f, v);
    case ISA_KIND_DIMS: return dims_value(a, f->name, v);
    default: return enum_value(a, f->kind, f->name, v);
    }
}

/* deps=pop_prev|push_next (or none). */
static bool deps_value(Asm *a, unsigned *deps)
{
    *deps = 0;
    if (isa_tok_name_is(&a->tok, "none"))
        return next(a);
    for (;;) {
        int b = 0;
        while (b < 4 && !isa_tok_name_is(&a->tok, isa_dep_names[b]))
            b++;
        char buf[64];
        if (b == 4)
            return error_at(a, a->tok.col, "%s is not a dependency flag (pop_prev, pop_next, "
                            "push_prev, push_next)", shown(&a->tok, buf, sizeof buf));
        if (*deps & (1u << b))
            return error_at(a, a->tok.col, "flag %s is given twice", isa_dep_names[b]);
        *deps |= 1u << b;
        if (!next(a))
            return false;
        if (!isa_tok_is(&a->tok, '|'))
            return true;
        if (!next(a))
            return false;
    }
}

/* ---- instructions -------------------------------------------------------- */

typedef struct Operands {
    IsaInstr in;
    bool set[ISA_MAX_FIELDS];
    bool deps_set;
} Operands;

static bool mark_set(Asm *a, Operands *o, int i, const IsaOpInfo *info, int col)
{
    if (o->set[i])
        return error_at(a, col, "operand '%s' is given twice", info->fields[i].name);
    o->set[i] = true;
    return true;
}

/* order=N,M,C,P,Q,R,S */
static bool order_group(Asm *a, const IsaOpInfo *info, Operands *o)
{
    for (int i = 0; i < info->group_count; i++) {
        int f = info->group_first + i;
        if (i && !expect(a, ',', "between the dimensions of an order"))
            return false;
        if (!mark_set(a, o, f, info, a->tok.col) ||
            !enum_value(a, ISA_KIND_DIM, "order", &o->in.f[f]))
            return false;
    }
    return true;
}

/* box=[s0+l0,s1+l1,s2+l2,s3+l3] */
static bool box_group(Asm *a, const IsaOpInfo *info, Operands *o)
{
    if (!expect(a, '[', "to start a box"))
        return false;
    for (int i = 0; i < info->group_count; i += 2) {
        int f = info->group_first + i;
        if (i && !expect(a, ',', "between the axes of a box"))
            return false;
        if (!mark_set(a, o, f, info, a->tok.col) ||
            !number_value(a, &info->fields[f], &o->in.f[f]) ||
            !expect(a, '+', "between an axis' start and length") ||
            !mark_set(a, o, f + 1, info, a->tok.col) ||
            !number_value(a, &info->fields[f + 1], &o->in.f[f + 1]))
            return false;
    }
    return expect(a, ']', "to end a box");
}

static const char *group_name(IsaGroup g)
{
    return g == ISA_GROUP_ORDER ? "order" : g == ISA_GROUP_BOX ? "box" : NULL;
}

static bool operand(Asm *a, const IsaOpInfo *info, Operands *o)
{
    Tok key;
    if (!key_eq(a, &key))
        return false;
    if (isa_tok_name_is(&key, "deps")) {
        if (o->deps_set)
            return error_at(a, key.col, "operand 'deps' is given twice");
        o->deps_set = true;
        return deps_value(a, &o->in.deps);
    }
    const char *g = group_name(info->group);
    if (g && isa_tok_name_is(&key, g))
        return info->group == ISA_GROUP_ORDER ? order_group(a, info, o) : box_group(a, info, o);
    for (int i = 0; i < info->n_fields; i++)
        if (isa_tok_name_is(&key, info->fields[i].name))
            return mark_set(a, o, i, info, key.col) &&
                   field_value(a, &info->fields[i], &o->in.f[i]);
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; i < info->n_fields && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "",
                                 info->fields[i].name);
    return error_at(a, key.col, "%s has no operand '%.*s' (it has: %s%sdeps)", info->mnemonic,
                    (int)(key.len > 40 ? 40 : key.len), key.s, list, info->n_fields ? " " : "");
}

static bool all_set(Asm *a, const IsaOpInfo *info, const Operands *o)
{
    char list[256] = "";
    size_t used = 0;
    int missing = 0;
    for (int i = 0; i < info->n_fields && used < sizeof list; i++)
        if (!o->set[i])
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", missing++ ? ", " : "",
                                     info->fields[i].name);
    if (missing)
        return error_at(a, a->tok.col, "%s: missing operand%s %s", info->mnemonic,
                        missing > 1 ? "s" : "", list);
    return true;
}

static bool instruction(Asm *a)
{
    Tok mn = a->tok;
    IsaOpcode op = isa_op_from_mnemonic(mn.s, mn.len);
    if (op == ISA_INVALID)
        return error_at(a, mn.col, "unknown instruction '%.*s'", (int)(mn.len > 40 ? 40 : mn.len),
                        mn.s);
    const IsaOpInfo *info = isa_op_info(op);
    Operands o;
    memset(&o, 0, sizeof o);
    o.in.op = op;
    if (!next(a))
        return false;
    while (a->tok.kind != TK_END)
        if (!operand(a, info, &o))
            return false;
    if (!all_set(a, info, &o))
        return false;
    char why[256];
    if (!isa_check(&o.in, why, sizeof why))
        return error_at(a, mn.col, "%s", why);
    if (op == ISA_CFG_LAYER && (uint64_t)o.in.f[ISA_LAYER_ID] >= a->p.n_layers)
        return error_at(a, mn.col, "cfg.layer: layer %lld is not declared (.layer %lld \"name\" "
                        "comes first)", (long long)o.in.f[ISA_LAYER_ID],
                        (long long)o.in.f[ISA_LAYER_ID]);
    if (!isa_program_append(&a->p, &o.in, why, sizeof why))
        return error_at(a, mn.col, "%s", why);
    return true;
}

/* ---- directives ---------------------------------------------------------- */

static bool machine_value(Asm *a, const IsaMachineKey *k)
{
    char why[200];
    char *p = (char *)&a->p.machine + k->offset;
    int col = a->tok.col;
    int64_t v;
    double d;
    switch (k->kind) {
    case ISA_MKEY_NAME: return string(a, p, ISA_MACHINE_NAME_MAX) &&
                               (isa_name_check(p, strlen(p), "the machine name", why, sizeof why) ||
                                error_at(a, col, "%s", why));
    case ISA_MKEY_INT:
        if (!integer(a, &v))
            return false;
        *(int64_t *)p = v;
        return isa_machine_key_check_int(k, v, why, sizeof why) || error_at(a, col, "%s", why);
    case ISA_MKEY_BOOL:
        if (!integer_in(a, 0, 1, k->key, &v))
            return false;
        *(bool *)p = v != 0;
        return true;
    case ISA_MKEY_NOC:
        if (isa_tok_name_is(&a->tok, "multicast") || isa_tok_name_is(&a->tok, "broadcast")) {
            *(int *)p = isa_tok_name_is(&a->tok, "broadcast");
            return next(a);
        }
        return error_at(a, col, "noc is multicast or broadcast");
    case ISA_MKEY_REAL:
        if (a->tok.kind != TK_NUM || !isa_tok_real(&a->tok, &d, why, sizeof why))
            return error_at(a, col, "%s", a->tok.kind == TK_NUM ? why : "expected a number");
        *(double *)p = d;
        return (isa_machine_key_check_real(k, d, why, sizeof why) || error_at(a, col, "%s", why)) &&
               next(a);
    }
    return false;
}

/* .machine key=value ...: each key once in the file. */
static bool dir_machine(Asm *a)
{
    do {
        Tok key;
        if (!key_eq(a, &key))
            return false;
        int k = 0;
        while (k < isa_machine_n_keys &&
               !isa_tok_name_is(&key, isa_machine_keys[k].key))
            k++;
        if (k == isa_machine_n_keys || k >= MAX_MACHINE_KEYS)
            return error_at(a, key.col, "unknown machine key '%.*s'",
                            (int)(key.len > 40 ? 40 : key.len), key.s);
        if (a->machine_set[k])
            return error_at(a, key.col, "machine key '%s' is set twice (first on line %d)",
                            isa_machine_keys[k].key, a->machine_set[k]);
        a->machine_set[k] = a->at.lineno;
        if (!machine_value(a, &isa_machine_keys[k]))
            return false;
    } while (a->tok.kind != TK_END);
    return true;
}

/* .layer ID "name": ids 0, 1, 2... in order. */
static bool dir_layer(Asm *a)
{
    int col = a->tok.col;
    int64_t id;
    char name[ISA_NAME_MAX + 1], why[200];
    if (!integer(a, &id))
        return false;
    if (id != (int64_t)a->p.n_layers)
        return error_at(a, col, "layer %lld, expected %zu (layers are numbered from 0 in order)",
                        (long long)id, a->p.n_layers);
    col = a->tok.col;
    if (!string(a, name, sizeof name) || !at_end(a))
        return false;
    if (isa_program_add_layer(&a->p, name, why, sizeof why) < 0)
        return error_at(a, col, "%s", why);
    return true;
}

/* shape=[n,c,h,w] */
static bool shape_value(Asm *a, int64_t shape[4])
{
    if (!expect(a, '[', "to start a shape"))
        return false;
    for (int i = 0; i < 4; i++)
        if ((i && !expect(a, ',', "between a shape's sizes")) ||
            !integer_in(a, 1, INT32_MAX, "a shape's size", &shape[i]))
            return false;
    return expect(a, ']', "to end a shape");
}

/* .input "name" base=N shape=[n,c,h,w] frac=F, and .output. */
static bool dir_io(Asm *a, bool is_output)
{
    Where w = a->at;
    w.col = a->tok.col;
    char name[ISA_NAME_MAX + 1], why[300];
    IsaIo io = {.name = name, .is_output = is_output};
    if (!string(a, name, sizeof name))
        return false;
    bool set[3] = {false, false, false};
    static const char *const keys[3] = {"base", "shape", "frac"};
    while (a->tok.kind != TK_END) {
        Tok key;
        int64_t v = 0;
        if (!key_eq(a, &key))
            return false;
        int k = 0;
        while (k < 3 && !isa_tok_name_is(&key, keys[k]))
            k++;
        if (k == 3)
            return error_at(a, key.col, "unknown key '%.*s' (an input or output has base, shape, "
                            "frac)", (int)(key.len > 40 ? 40 : key.len), key.s);
        if (set[k])
            return error_at(a, key.col, "'%s' is given twice", keys[k]);
        set[k] = true;
        bool ok = k == 0   ? integer_in(a, 0, (int64_t)ISA_DRAM_WORDS_MAX, "base", &v)
                  : k == 1 ? shape_value(a, io.shape)
                           : integer_in(a, -128, 127, "frac", &v);
        if (!ok)
            return false;
        if (k == 0)
            io.base = (uint64_t)v;
        else if (k == 2)
            io.frac = (int)v;
    }
    for (int k = 0; k < 3; k++)
        if (!set[k])
            return error_at(a, a->tok.col, "missing '%s'", keys[k]);
    if (!isa_program_add_io(&a->p, &io, why, sizeof why))
        return error_at(a, w.col, "%s", why);
    Where *at = realloc(a->io_at, a->p.n_io * sizeof *at);
    if (!at)
        return error_at(a, w.col, "out of memory");
    a->io_at = at;
    a->io_at[a->p.n_io - 1] = w;
    return true;
}

static bool dir_dram_words(Asm *a)
{
    int64_t v;
    if (a->dram_words_set)
        return error_at(a, a->tok.col, ".dram_words is set twice (first on line %d)",
                        a->dram_words_set);
    a->dram_words_set = a->at.lineno;
    if (!integer_in(a, 0, (int64_t)ISA_DRAM_WORDS_MAX, ".dram_words", &v) || !at_end(a))
        return false;
    a->p.dram_words = (uint64_t)v;
    return true;
}

static bool directive(Asm *a)
{
    Tok d = a->tok;
    if (!next(a))
        return false;
    if (isa_tok_name_is(&d, ".machine"))
        return dir_machine(a);
    if (isa_tok_name_is(&d, ".layer"))
        return dir_layer(a);
    if (isa_tok_name_is(&d, ".input") || isa_tok_name_is(&d, ".output"))
        return dir_io(a, isa_tok_name_is(&d, ".output"));
    if (isa_tok_name_is(&d, ".dram_words"))
        return dir_dram_words(a);
    return error_at(a, d.col, "unknown directive '%.*s' (.machine, .dram_words, .layer, .input, "
                    ".output)", (int)(d.len > 40 ? 40 : d.len), d.s);
}

/* ---- the file ------------------------------------------------------------ */

static void line(Asm *a)
{
    a->lx = (Lexer){.line = a->at.line, .len = a->at.len};
    if (a->at.len > MAX_LINE) {
        error_at(a, 1, "line is longer than %zu bytes", MAX_LINE);
        return;
    }
    if (!next(a) || a->tok.kind == TK_END)
        return;
    char buf[64];
    if (a->tok.kind != TK_NAME)
        error_at(a, a->tok.col, "expected an instruction or a directive, found %s",
                 shown(&a->tok, buf, sizeof buf));
    else if (a->tok.s[0] == '.')
        directive(a);
    else
        instruction(a);
}

/* Inputs and outputs lie inside DRAM, whatever order the directives came in. */
static void check_io(Asm *a)
{
    char why[300];
    for (size_t i = 0; i < a->p.n_io; i++)
        if (!isa_io_inside(&a->p.io[i], a->p.dram_words, why, sizeof why))
            error_where(a, &a->io_at[i], "%s", why);
}

bool isa_asm_parse(const char *name, const char *text, size_t len, IsaProgram *out, FILE *err)
{
    Asm a = {.name = name, .err = err};
    isa_program_init(&a.p);
    isa_program_init(out);
    size_t pos = 0;
    for (int lineno = 1; pos < len && a.errors < MAX_ERRORS; lineno++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        a.at = (Where){text + pos, end - pos, lineno, 1};
        line(&a);
        pos = end + 1;
    }
    if (a.errors >= MAX_ERRORS && pos < len && err)
        fprintf(err, "%s: too many errors, stopping\n", name);
    if (!a.errors)
        check_io(&a);
    char why[300];
    if (!a.errors && !isa_program_check(&a.p, why, sizeof why)) {
        a.errors++;
        if (err)
            fprintf(err, "%s: error: %s\n", name, why);
    }
    free(a.io_at);
    if (a.errors) {
        isa_program_free(&a.p);
        return false;
    }
    *out = a.p;
    return true;
}

bool isa_asm_parse_file(const char *path, IsaProgram *out, FILE *err)
{
    unsigned char *bytes;
    size_t len;
    char why[300];
    isa_program_init(out);
    if (!read_whole_file(path, ISA_PROGRAM_FILE_MAX, &bytes, &len, why, sizeof why)) {
        if (err)
            fprintf(err, "error: %s\n", why);
        return false;
    }
    bool ok = isa_asm_parse(path, (const char *)bytes, len, out, err);
    free(bytes);
    return ok;
}
