/* The grammar of the network language; docs/language.md is its prose form. */
%define api.pure full
%define api.prefix {dnnc_yy}
%define parse.error detailed
%locations
%param {void *scanner}
%parse-param {ParseCtx *ctx}

%code requires {
#include "parse_ctx.h"
}

%code provides {
int dnnc_yylex(DNNC_YYSTYPE *lval, DNNC_YYLTYPE *lloc, void *scanner);
void dnnc_yyerror(DNNC_YYLTYPE *lloc, void *scanner, ParseCtx *ctx, const char *msg);
}

%code {
#include <string.h>

#define AR (&ctx->prog->arena)

/* The parser's stack grows in the program's arena too: out of memory is
 * then thrown (oom.h) with nothing of the parser's to leak. Bison's own
 * limit (YYMAXDEPTH, "memory exhausted") still applies. */
#define YYMALLOC(size) arena_alloc(AR, (size))
#define YYFREE(ptr) ((void)(ptr))

static SrcLoc L(const ParseCtx *ctx, DNNC_YYLTYPE l)
{
    return (SrcLoc){ctx->file, l.first_line, l.first_column, l.last_line, l.last_column};
}

static Expr *new_expr(ParseCtx *ctx, ExprKind kind, DNNC_YYLTYPE l)
{
    Expr *e = arena_alloc(AR, sizeof *e);
    e->kind = kind;
    e->loc = L(ctx, l);
    return e;
}

/* Adds one argument to an annotation; a positional one after a keyword one
 * is kept aside for the expander to report, as for calls. */
static void annot_add(ParseCtx *ctx, Annot *a, Arg arg)
{
    if (arg.key)
        VEC_PUSH(AR, a->kwargs, a->n_kwargs, a->cap_kwargs, arg);
    else if (a->n_kwargs && !a->misplaced)
        a->misplaced = arg.value;
    else if (!a->n_kwargs)
        VEC_PUSH(AR, a->args, a->n, a->cap, arg.value);
}

static Expr *binary(ParseCtx *ctx, char op, Expr *lhs, Expr *rhs, DNNC_YYLTYPE l)
{
    Expr *e = new_expr(ctx, EX_BINARY, l);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    return e;
}

/* Statements go to the block being parsed, or to the program. */
static void add_stmt(ParseCtx *ctx, Stmt s)
{
    if (ctx->block)
        VEC_PUSH(AR, ctx->block->stmts, ctx->block->n_stmts, ctx->block->cap_stmts, s);
    else
        VEC_PUSH(AR, ctx->prog->stmts, ctx->prog->n_stmts, ctx->prog->cap_stmts, s);
}

#define STOP_IF_TOO_MANY() do { if (diag_too_many(ctx->diag)) YYABORT; } while (0)
}

%union {
    int64_t i;
    double f;
    const char *str;
    Expr *expr;
    Stmt stmt;
    Arg arg;
    Annot annot;
    Param param;
    TypeRef type;
}

%token KW_INPUT "'input'" KW_OUTPUT "'output'" KW_BLOCK "'block'" KW_RETURN "'return'"
%token KW_TRUE "'true'" KW_FALSE "'false'"
%token <str> IDENT "identifier"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token LEX_ERROR "invalid character"

%type <expr> expr expr_list
%type <stmt> call annots
%type <arg> arg
%type <annot> annot annot_args
%type <param> param
%type <type> elem_type

%left '+' '-'
%left '*' '/'
%precedence NEG

%%

program
    : %empty
    | program item                 { STOP_IF_TOO_MANY(); }
    ;

item
    : input_decl
    | output_decl
    | block_def
    | statement
    | error ';'                    { yyerrok; ctx->block = NULL; }
    | error '}'                    { yyerrok; ctx->block = NULL; }
    ;

input_decl
    : KW_INPUT IDENT ':' elem_type '[' expr_list ']' ';'
        {
            $6->loc = srcloc_span(L(ctx, @5), L(ctx, @7));
            InputDecl d = {$2, L(ctx, @2), $4, $6};
            VEC_PUSH(AR, ctx->prog->inputs, ctx->prog->n_inputs, ctx->prog->cap_inputs, d);
        }
    ;

elem_type
    : IDENT                        { $$ = (TypeRef){$1, L(ctx, @1), 0, {0, 0}}; }
    | IDENT '<' INT '>'            { $$ = (TypeRef){$1, L(ctx, @1), 1, {$3, 0}}; }
    | IDENT '<' INT ',' INT '>'    { $$ = (TypeRef){$1, L(ctx, @1), 2, {$3, $5}}; }
    ;

output_decl
    : KW_OUTPUT output_names ';'
    ;

output_names
    : IDENT
        {
            NameRef r = {$1, L(ctx, @1)};
            VEC_PUSH(AR, ctx->prog->outputs, ctx->prog->n_outputs, ctx->prog->cap_outputs, r);
        }
    | output_names ',' IDENT
        {
            NameRef r = {$3, L(ctx, @3)};
            VEC_PUSH(AR, ctx->prog->outputs, ctx->prog->n_outputs, ctx->prog->cap_outputs, r);
        }
    ;

block_def
    : KW_BLOCK IDENT
        {
            BlockDef b = {0};
            b.name = $2;
            b.loc = L(ctx, @2);
            VEC_PUSH(AR, ctx->prog->blocks, ctx->prog->n_blocks, ctx->prog->cap_blocks, b);
            ctx->block = &ctx->prog->blocks[ctx->prog->n_blocks - 1];
        }
      '(' params_opt ')' '{' block_body '}'
        { ctx->block = NULL; }
    ;

params_opt
    : %empty
    | params
    ;

params
    : param                        { VEC_PUSH(AR, ctx->block->params, ctx->block->n_params, ctx->block->cap_params, $1); }
    | params ',' param             { VEC_PUSH(AR, ctx->block->params, ctx->block->n_params, ctx->block->cap_params, $3); }
    ;

param
    : IDENT                        { $$ = (Param){$1, L(ctx, @1), NULL}; }
    | IDENT '=' expr               { $$ = (Param){$1, L(ctx, @1), $3}; }
    ;

block_body
    : %empty
    | block_body statement         { STOP_IF_TOO_MANY(); }
    | block_body KW_RETURN IDENT ';'
        {
            Stmt s = {0};
            s.is_return = true;
            s.target = $3;
            s.target_loc = L(ctx, @3);
            add_stmt(ctx, s);
        }
    | block_body error ';'         { yyerrok; STOP_IF_TOO_MANY(); }
    ;

statement
    : annots IDENT '=' call ';'
        {
            Stmt s = $4;
            s.annots = $1.annots;
            s.n_annots = $1.n_annots;
            s.cap_annots = $1.cap_annots;
            s.target = $2;
            s.target_loc = L(ctx, @2);
            add_stmt(ctx, s);
        }
    ;

annots
    : %empty                       { memset(&$$, 0, sizeof $$); }
    | annots annot                 { $$ = $1; VEC_PUSH(AR, $$.annots, $$.n_annots, $$.cap_annots, $2); }
    ;

annot
    : '@' IDENT '(' ')'            { $$ = (Annot){0}; $$.key = $2; $$.loc = L(ctx, @2); }
    | '@' IDENT '(' annot_args ')' { $$ = $4; $$.key = $2; $$.loc = L(ctx, @2); }
    ;

annot_args
    : arg                          { $$ = (Annot){0}; annot_add(ctx, &$$, $1); }
    | annot_args ',' arg           { $$ = $1; annot_add(ctx, &$$, $3); }
    ;

call
    : IDENT '(' ')'                { memset(&$$, 0, sizeof $$); $$.callee = $1; $$.callee_loc = L(ctx, @1); }
    | IDENT '(' args ')'           { $$ = $<stmt>3; $$.callee = $1; $$.callee_loc = L(ctx, @1); }
    ;

args
    : arg                          { Stmt s = {0}; VEC_PUSH(AR, s.args, s.n_args, s.cap_args, $1); $<stmt>$ = s; }
    | args ',' arg                 { $<stmt>$ = $<stmt>1; VEC_PUSH(AR, $<stmt>$.args, $<stmt>$.n_args, $<stmt>$.cap_args, $3); }
    ;

arg
    : expr                         { $$ = (Arg){NULL, SRCLOC_NONE, $1}; }
    | IDENT '=' expr               { $$ = (Arg){$1, L(ctx, @1), $3}; }
    ;

expr_list
    : expr                         { $$ = new_expr(ctx, EX_LIST, @1); VEC_PUSH(AR, $$->items, $$->n, $$->cap, $1); }
    | expr_list ',' expr           { $$ = $1; VEC_PUSH(AR, $$->items, $$->n, $$->cap, $3); }
    ;

expr
    : INT                          { $$ = new_expr(ctx, EX_INT, @1); $$->i = $1; }
    | FLOAT                        { $$ = new_expr(ctx, EX_FLOAT, @1); $$->f = $1; }
    | KW_TRUE                      { $$ = new_expr(ctx, EX_BOOL, @1); $$->b = true; }
    | KW_FALSE                     { $$ = new_expr(ctx, EX_BOOL, @1); $$->b = false; }
    | IDENT                        { $$ = new_expr(ctx, EX_NAME, @1); $$->name = $1; }
    | '[' ']'                      { $$ = new_expr(ctx, EX_LIST, @$); }
    | '[' expr_list ']'            { $$ = $2; $$->loc = L(ctx, @$); }
    | '(' expr ')'                 { $$ = $2; }
    | '-' expr %prec NEG           { $$ = new_expr(ctx, EX_NEG, @$); $$->lhs = $2; }
    | expr '+' expr                { $$ = binary(ctx, '+', $1, $3, @$); }
    | expr '-' expr                { $$ = binary(ctx, '-', $1, $3, @$); }
    | expr '*' expr                { $$ = binary(ctx, '*', $1, $3, @$); }
    | expr '/' expr                { $$ = binary(ctx, '/', $1, $3, @$); }
    ;

%%

void dnnc_yyerror(DNNC_YYLTYPE *lloc, void *scanner, ParseCtx *ctx, const char *msg)
{
    (void)scanner;
    /* The scanner already reported the bad character; one error is enough. */
    if (ctx->lex_error)
        return;
    if (strcmp(msg, "memory exhausted") == 0) {
        diag_error(ctx->diag, L(ctx, *lloc), "expressions are nested too deeply");
        return;
    }
    SrcLoc at = L(ctx, *lloc);
    /* A token missing at the end of a line (typically ';') belongs right after
     * the previous token, not at the start of the next line. */
    if (ctx->prev_end.line > 0 && at.line > ctx->prev_end.line && strstr(msg, "expecting")) {
        at = ctx->prev_end;
        at.col = at.end_col = ctx->prev_end.col + 1;
    }
    diag_error(ctx->diag, at, "%s", msg);
}
