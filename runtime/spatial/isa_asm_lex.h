/* The tokens of one line of assembly (isa_asm.c): names (mnemonics,
 * directives, keys, enumerated values: letters, digits, '_', '.', '-'),
 * numbers, quoted strings and the punctuation = [ ] , + |. A ';' or '#'
 * starts a comment that runs to the end of the line. Internal to the
 * assembler. */
#ifndef DNNC_SPATIAL_ISA_ASM_LEX_H
#define DNNC_SPATIAL_ISA_ASM_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { TK_END, TK_NAME, TK_NUM, TK_STR, TK_PUNCT, TK_ERROR } TokKind;

typedef struct Tok {
    TokKind kind;
    const char *s; /* its text in the line (a string with its quotes) */
    size_t len;
    int col; /* 1-based */
} Tok;

typedef struct Lexer {
    const char *line;
    size_t len, pos;
    char why[96]; /* a TK_ERROR's message */
} Lexer;

Tok isa_lex_next(Lexer *lx);
/* Whether t is the punctuation c. */
bool isa_tok_is(const Tok *t, char c);
/* Whether t is the name s. */
bool isa_tok_name_is(const Tok *t, const char *s);

/* A number token as an integer: decimal or 0x hex, optionally negative;
 * false (with why) if it is not one or does not fit int64. */
bool isa_tok_int(const Tok *t, int64_t *out, char *why, size_t whysz);
/* A number token as a finite double. */
bool isa_tok_real(const Tok *t, double *out, char *why, size_t whysz);
/* A string token's bytes without quotes and escapes (\" and \\) into buf
 * (at most size - 1 bytes, NUL-terminated). */
bool isa_tok_string(const Tok *t, char *buf, size_t size, char *why, size_t whysz);

#endif
