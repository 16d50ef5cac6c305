/* The option layer (options.h): getopt_long driven by the commands' option
 * tables, usage errors in one wording, and --help generated from the same
 * tables. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define OPTIONS_MAX 64
/* getopt_long's value of the option at flat index i (past every char). */
#define LONG_VAL(i) (256 + (i))
/* Help text starts in this column; longer option names put it on the next line. */
#define HELP_COLUMN 25

static void vusage(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "dnnc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'dnnc %s --help' for usage.\n", cmd);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vusage(cmd, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

bool option_error(const OptionUse *use, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vusage(use->command, fmt, ap);
    va_end(ap);
    return false;
}

void options_join(const char *const *items, const char *last_sep, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; items[i] && used < size; i++) {
        const char *sep = i == 0 ? "" : items[i + 1] ? ", " : last_sep;
        int w = snprintf(buf + used, size - used, "%s%s", sep, items[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* ---- the tables, flattened ---- */

/* Every option of a command with the struct its field lives in. */
typedef struct Flat {
    const Option *opt[OPTIONS_MAX];
    void *base[OPTIONS_MAX];
    int n;
} Flat;

static void flatten(const CommandSpec *spec, void *args, Flat *f)
{
    f->n = 0;
    for (const OptionSection *s = spec->sections; s < spec->sections + OPTIONS_MAX_SECTIONS && s->options; s++)
        for (const Option *o = s->options; o->help && f->n < OPTIONS_MAX; o++) {
            f->opt[f->n] = o;
            f->base[f->n++] = (char *)args + s->offset;
        }
}

static bool takes_value(const Option *o) { return o->metavar || o->kind == OPT_CHOICE; }

static void spell(const Option *o, char *buf, size_t size)
{
    if (o->name)
        snprintf(buf, size, "--%s", o->name);
    else
        snprintf(buf, size, "-%c", o->short_name);
}

/* getopt_long's tables. The optstring starts with '-' so that operands come
 * back in order wherever they stand (whatever POSIXLY_CORRECT says), and
 * with ':' so that a missing value is told apart from an unknown option. */
typedef struct GetoptTables {
    struct option longs[OPTIONS_MAX + 2];
    char shorts[2 * OPTIONS_MAX + 8];
} GetoptTables;

static void build_getopt(const Flat *f, GetoptTables *t)
{
    int nl = 0;
    size_t ns = 0;
    t->shorts[ns++] = '-';
    t->shorts[ns++] = ':';
    for (int i = 0; i < f->n; i++) {
        const Option *o = f->opt[i];
        if (o->name)
            t->longs[nl++] = (struct option){o->name, takes_value(o) ? required_argument : no_argument,
                                             NULL, LONG_VAL(i)};
        if (o->short_name) {
            t->shorts[ns++] = o->short_name;
            if (takes_value(o))
                t->shorts[ns++] = ':';
        }
    }
    t->longs[nl++] = (struct option){"help", no_argument, NULL, 'h'};
    t->longs[nl] = (struct option){0};
    t->shorts[ns++] = 'h';
    t->shorts[ns] = '\0';
}

/* ---- values ---- */

static bool set_int(const Option *o, int *field, const char *v, const OptionUse *u)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v && !*end && !errno && n >= o->min && n <= o->max) {
        *field = (int)n;
        return true;
    }
    if (o->max == INT_MAX && (o->min == 0 || o->min == 1))
        return option_error(u, "%s needs a %s integer, got '%s'", u->spelled,
                            o->min ? "positive" : "non-negative", v);
    return option_error(u, "%s needs an integer from %d to %d, got '%s'", u->spelled, o->min, o->max,
                        v);
}

static bool set_choice(const Option *o, int *field, const char *v, const OptionUse *u)
{
    for (int i = 0; o->choices[i]; i++)
        if (strcmp(o->choices[i], v) == 0) {
            *field = i;
            return true;
        }
    char list[256];
    options_join(o->choices, " or ", list, sizeof list);
    return option_error(u, "%s takes %s, not '%s'", u->spelled, list, v);
}

static bool apply(const Option *o, void *base, const char *value, const char *cmd)
{
    char spelled[64];
    spell(o, spelled, sizeof spelled);
    OptionUse u = {cmd, spelled};
    void *field = (char *)base + o->offset;
    switch (o->kind) {
    case OPT_FLAG:
        *(bool *)field = true;
        return true;
    case OPT_STRING:
        *(const char **)field = value;
        return true;
    case OPT_INT:
        return set_int(o, field, value, &u);
    case OPT_CHOICE:
        return set_choice(o, field, value, &u);
    case OPT_CUSTOM:
        return o->parse(base, value, &u);
    }
    return false;
}

/* ---- errors getopt found ---- */

static int find_short(const Flat *f, int c)
{
    for (int i = 0; i < f->n; i++)
        if (f->opt[i]->short_name == c)
            return i;
    return -1;
}

/* The flat index of a getopt value, -1 for --help and unknown letters. */
static int flat_index(const Flat *f, int c)
{
    return c >= LONG_VAL(0) ? c - LONG_VAL(0) : find_short(f, c);
}

/* "--p" matches --passes and --print-after alike: say so rather than
 * calling a prefix of real options unknown. */
static int unknown_long(const CommandSpec *spec, const Flat *f, const char *arg)
{
    size_t len = strcspn(arg + 2, "=");
    char matches[512] = "";
    int n = 0;
    for (int i = 0; i < f->n; i++)
        if (len && f->opt[i]->name && strncmp(f->opt[i]->name, arg + 2, len) == 0) {
            size_t used = strlen(matches);
            snprintf(matches + used, sizeof matches - used, "%s--%s", n++ ? ", " : "", f->opt[i]->name);
        }
    if (n > 1)
        return usage_error(spec->name, "ambiguous option '%.*s' (%s)", (int)len + 2, arg, matches);
    return usage_error(spec->name, "unknown option '%s'", arg);
}

static int getopt_error(const CommandSpec *spec, const Flat *f, int c, char **argv)
{
    char spelled[64];
    int i = flat_index(f, optopt);
    if (i >= 0)
        spell(f->opt[i], spelled, sizeof spelled);
    if (c == ':')
        return usage_error(spec->name, "%s needs a value", i >= 0 ? spelled : "an option");
    if (i >= 0 && optopt >= LONG_VAL(0))
        return usage_error(spec->name, "%s takes no value", spelled);
    if (optopt == 'h')
        return usage_error(spec->name, "--help takes no value");
    if (optopt)
        return usage_error(spec->name, "unknown option '-%c'", optopt);
    return unknown_long(spec, f, argv[optind - 1]);
}

/* ---- parsing ---- */

static const char **operand_slot(const CommandSpec *spec, void *args)
{
    return (const char **)((char *)args + spec->operand_offset);
}

static int take_operand(const CommandSpec *spec, void *args, const char *arg)
{
    if (!spec->operand)
        return usage_error(spec->name, "unexpected argument '%s'", arg);
    if (*operand_slot(spec, args))
        return usage_error(spec->name, "more than one %s", spec->operand);
    *operand_slot(spec, args) = arg;
    return OPTIONS_PARSED;
}

static int finish(const CommandSpec *spec, void *args)
{
    if (spec->operand && !spec->operand_optional && !*operand_slot(spec, args))
        return usage_error(spec->name, "no %s", spec->operand);
    return OPTIONS_PARSED;
}

int options_parse(const CommandSpec *spec, int argc, char **argv, void *args)
{
    Flat f;
    GetoptTables t;
    flatten(spec, args, &f);
    build_getopt(&f, &t);
    /* 0, not 1: glibc then starts afresh, re-reading the optstring's mode. */
    optind = 0;
    opterr = 0;
    int c, rc = OPTIONS_PARSED;
    while (rc == OPTIONS_PARSED && (c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
        if (c == 1) {
            rc = take_operand(spec, args, optarg);
        } else if (c == 'h') {
            options_help(spec, stdout);
            rc = EXIT_OK;
        } else if (c == ':' || c == '?') {
            rc = getopt_error(spec, &f, c, argv);
        } else {
            int i = flat_index(&f, c);
            rc = apply(f.opt[i], f.base[i], optarg, spec->name) ? OPTIONS_PARSED : EXIT_USAGE;
        }
    }
    /* What follows "--" is operands. */
    for (; rc == OPTIONS_PARSED && optind < argc; optind++)
        rc = take_operand(spec, args, argv[optind]);
    return rc == OPTIONS_PARSED ? finish(spec, args) : rc;
}

/* ---- --help ---- */

static void left_column(const Option *o, char *buf, size_t size)
{
    char value[128] = "";
    if (o->metavar)
        snprintf(value, sizeof value, " %s", o->metavar);
    else if (o->kind == OPT_CHOICE)
        for (int i = 0; o->choices[i]; i++)
            snprintf(value + strlen(value), sizeof value - strlen(value), "%c%s", i ? '|' : ' ',
                     o->choices[i]);
    if (o->name && o->short_name)
        snprintf(buf, size, "-%c, --%s%s", o->short_name, o->name, value);
    else if (o->name)
        snprintf(buf, size, "--%s%s", o->name, value);
    else
        snprintf(buf, size, "-%c%s", o->short_name, value);
}

static void print_entry(FILE *out, const char *left, const char *help)
{
    int w = fprintf(out, "  %s", left);
    if (w >= HELP_COLUMN - 1) {
        fputc('\n', out);
        w = 0;
    }
    fprintf(out, "%*s", HELP_COLUMN - w, "");
    for (const char *p = help; *p; p++) {
        fputc(*p, out);
        if (*p == '\n')
            fprintf(out, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', out);
}

void options_help(const CommandSpec *spec, FILE *out)
{
    fprintf(out, "usage: %s\n\n%s\n", spec->usage, spec->description);
    /* --help closes the command's own options, before the shared groups. */
    bool help_pending = true;
    for (const OptionSection *s = spec->sections; s < spec->sections + OPTIONS_MAX_SECTIONS && s->options; s++) {
        if (s->heading && s != spec->sections && help_pending) {
            print_entry(out, "-h, --help", "show this help");
            help_pending = false;
        }
        if (s->heading)
            fprintf(out, "\n%s\n", s->heading);
        for (const Option *o = s->options; o->help; o++) {
            char left[160];
            left_column(o, left, sizeof left);
            print_entry(out, left, o->help);
        }
    }
    if (!spec->sections[0].options)
        fputs("\noptions:\n", out);
    if (help_pending)
        print_entry(out, "-h, --help", "show this help");
    if (spec->epilogue)
        fprintf(out, "\n%s\n", spec->epilogue);
}
