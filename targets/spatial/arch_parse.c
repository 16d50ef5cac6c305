/* The description-file syntax: `key = value` lines, `#` comments, and
 * `[dataflow NAME]` sections whose keys override the base machine for that
 * dataflow. Every error names its line: "file:line: error: message". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "arch_keys.h"
#include "suggest.h"

#define MAX_LINE 512
#define MAX_VALUE 128
#define MAX_ASSIGNMENTS 256
#define MAX_REPORTED 20
#define BASE_SECTION (-1)

typedef struct Assignment {
    int section; /* BASE_SECTION or a Dataflow */
    const ArchKey *key;
    char value[MAX_VALUE];
    int line;
} Assignment;

typedef struct Parser {
    const char *name;
    FILE *err;
    int errors;
    int section;
    int section_line[DATAFLOW_KINDS];
    Assignment *set;
    int n_set;
} Parser;

static void error_at(Parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void error_at(Parser *p, int line, const char *fmt, ...)
{
    if (++p->errors > MAX_REPORTED || !p->err)
        return;
    if (line > 0)
        fprintf(p->err, "%s:%d: error: ", p->name, line);
    else
        fprintf(p->err, "%s: error: ", p->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->err, fmt, ap);
    va_end(ap);
    fputc('\n', p->err);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Copies one physical line, rejecting bytes a text file should not hold. */
static bool take_line(Parser *p, int line, const char *start, size_t n, char *buf)
{
    if (n >= MAX_LINE) {
        error_at(p, line, "line is longer than %d characters", MAX_LINE - 1);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
            error_at(p, line, "unexpected control character 0x%02x", c);
            return false;
        }
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = '\0';
    return true;
}

static void parse_section(Parser *p, int line, char *text)
{
    size_t n = strlen(text);
    if (text[n - 1] != ']') {
        error_at(p, line, "expected ']' at the end of the section header");
        return;
    }
    text[n - 1] = '\0';
    char *body = trim(text + 1);
    if (strncmp(body, "dataflow", 8) != 0 || (body[8] != ' ' && body[8] != '\t')) {
        error_at(p, line, "unknown section '[%s]'; sections are [dataflow NAME]", body);
        return;
    }
    char *df = trim(body + 8);
    Dataflow d;
    if (!dataflow_from_name(df, &d) || d == DATAFLOW_AUTO) {
        error_at(p, line, "unknown dataflow '%s' (ws, os-a, os-b, os-c, nlr or rs)", df);
        p->section = BASE_SECTION - 1; /* ignore its keys rather than misapply them */
        return;
    }
    if (p->section_line[d]) {
        error_at(p, line, "a second [dataflow %s] section (the first is at line %d)", df,
                 p->section_line[d]);
        p->section = BASE_SECTION - 1;
        return;
    }
    p->section_line[d] = line;
    p->section = (int)d;
}

static void unknown_key(Parser *p, int line, const char *key)
{
    const char *names[64];
    int n = arch_n_keys < 64 ? arch_n_keys : 64;
    for (int i = 0; i < n; i++)
        names[i] = arch_keys[i].key;
    const char *guess = suggest(key, names, n);
    if (guess)
        error_at(p, line, "unknown key '%s'; did you mean '%s'?", key, guess);
    else
        error_at(p, line, "unknown key '%s' (docs/accelerator.md lists the keys)", key);
}

static void parse_assignment(Parser *p, int line, char *text)
{
    char *eq = strchr(text, '=');
    if (!eq) {
        error_at(p, line, "expected 'key = value' or '[dataflow NAME]'");
        return;
    }
    *eq = '\0';
    char *key = trim(text), *value = trim(eq + 1);
    if (!*key) {
        error_at(p, line, "missing key before '='");
        return;
    }
    const ArchKey *k = arch_key_find(key);
    if (!k) {
        unknown_key(p, line, key);
        return;
    }
    if (!*value) {
        error_at(p, line, "missing value for '%s'", key);
        return;
    }
    if (strlen(value) >= MAX_VALUE) {
        error_at(p, line, "the value of '%s' is longer than %d characters", key, MAX_VALUE - 1);
        return;
    }
    if (p->section < BASE_SECTION)
        return; /* inside a section already reported as bad */
    for (int i = 0; i < p->n_set; i++)
        if (p->set[i].section == p->section && p->set[i].key == k) {
            error_at(p, line, "'%s' is set twice (first at line %d)", key, p->set[i].line);
            return;
        }
    if (p->n_set == MAX_ASSIGNMENTS) {
        error_at(p, line, "more than %d assignments", MAX_ASSIGNMENTS);
        return;
    }
    Assignment *a = &p->set[p->n_set++];
    a->section = p->section;
    a->key = k;
    a->line = line;
    snprintf(a->value, sizeof a->value, "%s", value);
}

static void parse_lines(Parser *p, const char *text, size_t len)
{
    char buf[MAX_LINE];
    size_t pos = 0;
    for (int line = 1; pos < len; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (take_line(p, line, text + pos, n, buf)) {
            char *s = trim(buf);
            if (*s == '[')
                parse_section(p, line, s);
            else if (*s)
                parse_assignment(p, line, s);
        }
        pos += n + 1;
    }
}

/* Applies the assignments of one section onto m; false after an error. */
static void apply(Parser *p, int section, SpatialArch *m)
{
    for (int i = 0; i < p->n_set; i++) {
        const Assignment *a = &p->set[i];
        if (a->section != section)
            continue;
        char msg[256];
        if (!arch_key_set(a->key, m, a->value, msg, sizeof msg))
            error_at(p, a->line, "%s", msg);
    }
}

static int line_of(const Parser *p, int section, const char *key)
{
    for (int i = 0; i < p->n_set; i++)
        if (p->set[i].section == section && strcmp(p->set[i].key->key, key) == 0)
            return p->set[i].line;
    return section == BASE_SECTION ? 0 : p->section_line[section];
}

/* Constraints between keys, checked once a machine is complete. */
static void check_machine(Parser *p, int section, const SpatialArch *m)
{
    if (m->rlc_word_bits < m->rlc_run_bits + m->word_bits) {
        int line = line_of(p, section, "rlc.word_bits");
        error_at(p, line, "rlc.word_bits = %lld cannot hold one %lld-bit run and one %lld-bit word",
                 (long long)m->rlc_word_bits, (long long)m->rlc_run_bits, (long long)m->word_bits);
    }
}

static bool parse_onto(const char *name, const char *text, size_t len, const SpatialArch *start,
                       ArchSet *out, FILE *err)
{
    Parser p = {.name = name, .err = err, .section = BASE_SECTION};
    p.set = malloc(MAX_ASSIGNMENTS * sizeof *p.set);
    if (!p.set) {
        error_at(&p, 0, "out of memory");
        return false;
    }
    parse_lines(&p, text, len);
    memset(out, 0, sizeof *out);
    out->base = *start;
    apply(&p, BASE_SECTION, &out->base);
    if (!p.errors)
        check_machine(&p, BASE_SECTION, &out->base);
    for (int d = 0; d < DATAFLOW_KINDS; d++) {
        if (!p.section_line[d] || p.errors)
            continue;
        out->has_variant[d] = true;
        out->variant[d] = out->base;
        apply(&p, d, &out->variant[d]);
        check_machine(&p, d, &out->variant[d]);
    }
    if (p.errors > MAX_REPORTED && err)
        fprintf(err, "%s: error: %d more errors not shown\n", name, p.errors - MAX_REPORTED);
    free(p.set);
    return p.errors == 0;
}

/* The Eyeriss v1 description is the starting point of every file; it must
 * set every key itself (a test checks it does). */
static bool eyeriss_defaults(SpatialArch *out)
{
    static SpatialArch cached;
    static bool ready;
    if (!ready) {
        const char *text = arch_builtin_text("eyeriss");
        ArchSet s;
        SpatialArch zero = {0};
        if (!text || !parse_onto("eyeriss", text, strlen(text), &zero, &s, stderr))
            return false;
        cached = s.base;
        ready = true;
    }
    *out = cached;
    return true;
}

bool arch_parse(const char *name, const char *text, size_t len, ArchSet *out, FILE *err)
{
    SpatialArch start;
    if (!eyeriss_defaults(&start)) {
        if (err)
            fprintf(err, "%s: error: the built-in Eyeriss description does not parse\n", name);
        return false;
    }
    return parse_onto(name, text, len, &start, out, err);
}
