/* Diagnostics in the style of a modern compiler:
 *   file:line:col: error: message
 *     source line
 *     ^~~~
 * Every stage reports through one Diag so that a run can show several errors
 * and the driver can decide the exit status from the counts. */
#ifndef DNNC_DIAG_H
#define DNNC_DIAG_H

#include <stdbool.h>
#include <stdio.h>

typedef struct SrcLoc {
    int file;          /* index into Diag.files; -1 for "no location" */
    int line, col;     /* 1-based */
    int end_line, end_col; /* inclusive end of the range, for the ~~~ underline */
} SrcLoc;

#define SRCLOC_NONE ((SrcLoc){-1, 0, 0, 0, 0})
/* A whole file, for errors that belong to no line ("file: error: ..."). */
#define SRCLOC_FILE(f) ((SrcLoc){(f), 0, 0, 0, 0})

typedef struct SourceFile {
    const char *name;
    const char *text; /* not owned */
    size_t len;
} SourceFile;

#define DIAG_MAX_FILES 16

typedef struct Diag {
    FILE *out;
    int errors, warnings;
    int max_errors;   /* stop reporting (and tell the caller to stop) past this */
    bool color;
    int n_files;
    SourceFile files[DIAG_MAX_FILES];
} Diag;

void diag_init(Diag *d, FILE *out);
int diag_add_file(Diag *d, const char *name, const char *text, size_t len);

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True once max_errors have been reported: callers stop instead of piling up noise. */
bool diag_too_many(const Diag *d);

SrcLoc srcloc_span(SrcLoc first, SrcLoc last);

#endif
