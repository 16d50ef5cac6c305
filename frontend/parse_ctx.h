/* State shared by the flex scanner and the bison parser of one file. */
#ifndef DNNC_PARSE_CTX_H
#define DNNC_PARSE_CTX_H

#include "ast.h"

typedef struct ParseCtx {
    Program *prog;
    Diag *diag;
    int file;
    int line, col;          /* scanner position of the next character */
    BlockDef *block;        /* the block being parsed, or NULL at top level */
    SrcLoc last_end;        /* end of the last token returned (the lookahead) */
    SrcLoc prev_end;        /* end of the token before it */
    bool lex_error;         /* the lookahead is a character the scanner rejected */
} ParseCtx;

#endif
