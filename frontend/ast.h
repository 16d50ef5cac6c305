/* The syntax tree of a network file, as the parser builds it. Blocks are
 * still unexpanded and names unresolved; lower.c turns this into a Graph. */
#ifndef DNNC_AST_H
#define DNNC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

typedef enum { EX_INT, EX_FLOAT, EX_BOOL, EX_NAME, EX_LIST, EX_BINARY, EX_NEG } ExprKind;

typedef struct Expr {
    ExprKind kind;
    SrcLoc loc;
    int64_t i;
    double f;
    bool b;
    const char *name;
    struct Expr **items; /* EX_LIST */
    int n;
    size_t cap;
    char op;             /* EX_BINARY: + - * / */
    struct Expr *lhs, *rhs;
} Expr;

typedef struct Arg {
    const char *key; /* NULL for a positional operand */
    SrcLoc key_loc;
    Expr *value;
} Arg;

/* @key(arg, ..., name=value, ...): positional arguments first, then
 * keyword ones (@algo(winograd, tile=4)). */
typedef struct Annot {
    const char *key;
    SrcLoc loc;
    Expr **args;         /* the positional arguments */
    int n;
    size_t cap;
    Arg *kwargs;         /* the name=value arguments */
    int n_kwargs;
    size_t cap_kwargs;
    const Expr *misplaced; /* the first positional argument after a keyword one, or NULL */
} Annot;

typedef struct Stmt {
    const char *target;
    SrcLoc target_loc;
    const char *callee;
    SrcLoc callee_loc;
    Arg *args;
    int n_args;
    size_t cap_args;
    Annot *annots;
    int n_annots;
    size_t cap_annots;
    bool is_return;      /* `return NAME;` inside a block: target holds NAME */
} Stmt;

typedef struct Param {
    const char *name;
    SrcLoc loc;
    Expr *def; /* NULL: required */
} Param;

typedef struct BlockDef {
    const char *name;
    SrcLoc loc;
    Param *params;
    int n_params;
    size_t cap_params;
    Stmt *stmts;
    int n_stmts;
    size_t cap_stmts;
} BlockDef;

typedef struct TypeRef {
    const char *name;  /* f32, fixed, ... */
    SrcLoc loc;
    int n_args;        /* fixed<16,8>: 2 arguments */
    int64_t args[2];
} TypeRef;

typedef struct InputDecl {
    const char *name;
    SrcLoc loc;
    TypeRef type;
    Expr *dims; /* EX_LIST */
} InputDecl;

typedef struct NameRef {
    const char *name;
    SrcLoc loc;
} NameRef;

typedef struct Program {
    Arena arena;
    int file;
    BlockDef *blocks;
    int n_blocks;
    size_t cap_blocks;
    Stmt *stmts;
    int n_stmts;
    size_t cap_stmts;
    InputDecl *inputs;
    int n_inputs;
    size_t cap_inputs;
    NameRef *outputs;
    int n_outputs;
    size_t cap_outputs;
} Program;

#endif
