#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void diag_init(Diag *d, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->out = out;
    d->max_errors = 20;
    d->color = out && isatty(fileno(out)) && !getenv("NO_COLOR");
}

int diag_add_file(Diag *d, const char *name, const char *text, size_t len)
{
    if (d->n_files == DIAG_MAX_FILES)
        return -1;
    d->files[d->n_files] = (SourceFile){name, text, len};
    return d->n_files++;
}

bool diag_too_many(const Diag *d) { return d->errors >= d->max_errors; }

SrcLoc srcloc_span(SrcLoc first, SrcLoc last)
{
    SrcLoc s = first;
    if (last.file == first.file) {
        s.end_line = last.end_line;
        s.end_col = last.end_col;
    }
    return s;
}

/* Finds the text of line `line` (1-based) in the file; returns its length. */
static size_t find_line(const SourceFile *f, int line, const char **start)
{
    const char *p = f->text, *end = f->text + f->len;
    for (int l = 1; l < line && p < end; p++)
        if (*p == '\n')
            l++;
    const char *q = p;
    while (q < end && *q != '\n')
        q++;
    if (q > p && q[-1] == '\r') /* CRLF line ends */
        q--;
    *start = p;
    return (size_t)(q - p);
}

static void print_source_line(Diag *d, SrcLoc loc)
{
    if (loc.file < 0 || loc.file >= d->n_files || loc.line <= 0)
        return;
    const char *text;
    size_t len = find_line(&d->files[loc.file], loc.line, &text);
    fputs("  ", d->out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        /* Non-printable bytes would garble the terminal and the caret column. */
        fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', d->out);
    }
    fputs("\n  ", d->out);
    int col = loc.col > 0 ? loc.col : 1;
    for (int i = 1; i < col; i++)
        fputc(i - 1 < (int)len && text[i - 1] == '\t' ? '\t' : ' ', d->out);
    if (d->color)
        fputs("\033[1;32m", d->out);
    fputc('^', d->out);
    int last = (loc.end_line == loc.line && loc.end_col > col) ? loc.end_col : col;
    if (last > (int)len)
        last = (int)len;
    for (int i = col + 1; i <= last; i++)
        fputc('~', d->out);
    if (d->color)
        fputs("\033[0m", d->out);
    fputc('\n', d->out);
}

static void report(Diag *d, SrcLoc loc, const char *kind, const char *color,
                   const char *fmt, va_list ap)
{
    if (!d->out)
        return;
    if (d->color)
        fputs("\033[1m", d->out);
    if (loc.file >= 0 && loc.file < d->n_files && loc.line > 0)
        fprintf(d->out, "%s:%d:%d: ", d->files[loc.file].name, loc.line, loc.col);
    else if (loc.file >= 0 && loc.file < d->n_files)
        fprintf(d->out, "%s: ", d->files[loc.file].name);
    else
        fputs("dnnc: ", d->out);
    if (d->color)
        fprintf(d->out, "%s%s:\033[0m\033[1m ", color, kind);
    else
        fprintf(d->out, "%s: ", kind);
    vfprintf(d->out, fmt, ap);
    if (d->color)
        fputs("\033[0m", d->out);
    fputc('\n', d->out);
    print_source_line(d, loc);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    if (diag_too_many(d)) {
        d->errors++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "error", "\033[1;31m", fmt, ap);
    va_end(ap);
    if (++d->errors == d->max_errors && d->out)
        fprintf(d->out, "dnnc: fatal: too many errors (%d), stopping\n", d->max_errors);
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    d->warnings++;
    if (diag_too_many(d))
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "warning", "\033[1;35m", fmt, ap);
    va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    if (diag_too_many(d))
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "note", "\033[1;36m", fmt, ap);
    va_end(ap);
}
