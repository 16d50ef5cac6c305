#include "isa_asm_lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_char(char c) { return is_alpha(c) || is_digit(c) || c == '.' || c == '-'; }

static Tok make(Lexer *lx, TokKind kind, size_t start)
{
    return (Tok){kind, lx->line + start, lx->pos - start, (int)start + 1};
}

/* An error at byte `at` (the message is in lx->why); the rest of the line
 * is not read. */
static Tok lex_fail(Lexer *lx, size_t at)
{
    lx->pos = lx->len;
    return (Tok){TK_ERROR, lx->line + at, 1, (int)at + 1};
}

/* A number runs over letters, digits and dots, and over the sign of a
 * decimal exponent (1e+20), but not over the '+' of a box's 0+3. */
static Tok lex_number(Lexer *lx, size_t start)
{
    const char *s = lx->line;
    size_t digits = start + (s[start] == '-');
    bool hex = lx->len - digits >= 2 && s[digits] == '0' &&
               (s[digits + 1] == 'x' || s[digits + 1] == 'X');
    lx->pos = digits;
    while (lx->pos < lx->len) {
        char c = s[lx->pos];
        if (is_alpha(c) || is_digit(c) || c == '.')
            lx->pos++;
        else if ((c == '+' || c == '-') && !hex && (s[lx->pos - 1] == 'e' || s[lx->pos - 1] == 'E'))
            lx->pos++;
        else
            break;
    }
    return make(lx, TK_NUM, start);
}

static Tok lex_string(Lexer *lx, size_t start)
{
    lx->pos = start + 1;
    while (lx->pos < lx->len && lx->line[lx->pos] != '"') {
        unsigned char c = (unsigned char)lx->line[lx->pos];
        if (c < 0x20 || c == 0x7f) {
            snprintf(lx->why, sizeof lx->why, "control character 0x%02x in a string", c);
            return lex_fail(lx, lx->pos);
        }
        lx->pos += lx->line[lx->pos] == '\\' && lx->pos + 1 < lx->len ? 2 : 1;
    }
    if (lx->pos >= lx->len) {
        snprintf(lx->why, sizeof lx->why, "unterminated string");
        return lex_fail(lx, start);
    }
    lx->pos++;
    return make(lx, TK_STR, start);
}

Tok isa_lex_next(Lexer *lx)
{
    const char *s = lx->line;
    while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\r'))
        lx->pos++;
    size_t start = lx->pos;
    if (lx->pos >= lx->len || s[start] == ';' || s[start] == '#') {
        lx->pos = lx->len;
        return (Tok){TK_END, s + lx->len, 0, (int)start + 1};
    }
    char c = s[start];
    if (is_alpha(c) || c == '.') {
        while (lx->pos < lx->len && is_name_char(s[lx->pos]))
            lx->pos++;
        return make(lx, TK_NAME, start);
    }
    if (is_digit(c) || (c == '-' && start + 1 < lx->len && is_digit(s[start + 1])))
        return lex_number(lx, start);
    if (c == '"')
        return lex_string(lx, start);
    if (strchr("=[],+|", c) && c) {
        lx->pos++;
        return make(lx, TK_PUNCT, start);
    }
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(lx->why, sizeof lx->why, "unexpected character '%c'", u);
    else
        snprintf(lx->why, sizeof lx->why, "unexpected byte 0x%02x", u);
    return lex_fail(lx, start);
}

bool isa_tok_is(const Tok *t, char c) { return t->kind == TK_PUNCT && t->s[0] == c; }

bool isa_tok_name_is(const Tok *t, const char *s)
{
    return t->kind == TK_NAME && strlen(s) == t->len && memcmp(t->s, s, t->len) == 0;
}

static int digit_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

bool isa_tok_int(const Tok *t, int64_t *out, char *why, size_t whysz)
{
    size_t i = 0;
    bool neg = t->kind == TK_NUM && t->len > 1 && t->s[0] == '-';
    i += neg;
    int base = 10;
    if (t->len - i > 2 && t->s[i] == '0' && (t->s[i + 1] == 'x' || t->s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    /* Accumulated negative, so that INT64_MIN fits. */
    int64_t v = 0;
    bool ok = t->kind == TK_NUM && i < t->len;
    for (; ok && i < t->len; i++) {
        int d = digit_value(t->s[i]);
        ok = d < base && !__builtin_mul_overflow(v, base, &v) && !__builtin_sub_overflow(v, d, &v);
    }
    if (ok && !neg)
        ok = !__builtin_mul_overflow(v, -1, &v);
    if (!ok) {
        snprintf(why, whysz, "'%.*s' is not an integer (or does not fit 64 bits)",
                 (int)(t->len > 40 ? 40 : t->len), t->s);
        return false;
    }
    *out = v;
    return true;
}

bool isa_tok_real(const Tok *t, double *out, char *why, size_t whysz)
{
    char buf[64];
    char *end = buf;
    bool ok = t->kind == TK_NUM && t->len < sizeof buf;
    if (ok) {
        memcpy(buf, t->s, t->len);
        buf[t->len] = '\0';
        /* strtod would also read hex floats, inf and nan: only decimals. */
        ok = !strpbrk(buf, "xXnN");
        *out = ok ? strtod(buf, &end) : 0;
        ok = ok && *end == '\0' && isfinite(*out);
    }
    if (!ok)
        snprintf(why, whysz, "'%.*s' is not a finite decimal number",
                 (int)(t->len > 40 ? 40 : t->len), t->s);
    return ok;
}

bool isa_tok_string(const Tok *t, char *buf, size_t size, char *why, size_t whysz)
{
    size_t n = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        char c = t->s[i];
        if (c == '\\') {
            c = t->s[++i];
            if (c != '"' && c != '\\') {
                buf[n] = '\0';
                snprintf(why, whysz, "unknown escape '\\%c' (only \\\" and \\\\)", c);
                return false;
            }
        }
        if (n + 1 >= size) {
            buf[n] = '\0';
            snprintf(why, whysz, "string is longer than %zu bytes", size - 1);
            return false;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    return true;
}
