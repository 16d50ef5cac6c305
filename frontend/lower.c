/* From source text to a Graph: parse, expand blocks, declare inputs, resolve
 * names (a layer may be used before the line that defines it), order the
 * layers topologically, detect cycles, and build each node with its shape
 * rule. Every stage reports all the errors it can before the run stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "expand.h"
#include "fileio.h"
#include "frontend.h"
#include "oom.h"
#include "parser.h"
#include "suggest.h"

typedef void *yyscan_t;
int dnnc_yylex_init_extra(ParseCtx *extra, yyscan_t *scanner);
int dnnc_yylex_destroy(yyscan_t scanner);
void *dnnc_yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

/* ---- source files ------------------------------------------------------ */

bool source_read(const char *path, Source *src, Diag *d)
{
    memset(src, 0, sizeof *src);
    unsigned char *bytes;
    size_t len;
    char err[512];
    if (!read_whole_file(path, DNNC_MAX_SOURCE_BYTES, &bytes, &len, err, sizeof err)) {
        diag_error(d, SRCLOC_NONE, "%s", err);
        return false;
    }
    src->path = strdup(path);
    src->text = (char *)bytes;
    src->len = len;
    if (!src->path) {
        source_free(src);
        diag_error(d, SRCLOC_NONE, "out of memory reading %s", path);
        return false;
    }
    return true;
}

bool source_from_buffer(const char *name, const char *text, size_t len, Source *src)
{
    src->path = strdup(name);
    src->text = malloc(len ? len : 1);
    if (!src->path || !src->text) {
        source_free(src);
        return false;
    }
    memcpy(src->text, text, len);
    src->len = len;
    return true;
}

void source_free(Source *src)
{
    free(src->path);
    free(src->text);
    memset(src, 0, sizeof *src);
}

/* ---- parsing ----------------------------------------------------------- */

/* What frontend_parse owns while it works, on the heap so that a throw
 * (oom.h) finds it as it was. The scanner and the parser allocate in the
 * program's arena. */
typedef struct ParseState {
    Program prog;
    Graph *graph; /* while it is built */
} ParseState;

static bool parse_program(ParseState *st, const Source *src, int file, Diag *d)
{
    if (src->len > DNNC_MAX_SOURCE_BYTES) {
        diag_error(d, SRCLOC_NONE, "'%s' is larger than %zu MiB", src->path,
                   DNNC_MAX_SOURCE_BYTES >> 20);
        return false;
    }
    ParseCtx ctx = {.prog = &st->prog, .diag = d, .file = file, .line = 1, .col = 1};
    st->prog.file = file;
    yyscan_t scanner;
    if (dnnc_yylex_init_extra(&ctx, &scanner) != 0) {
        diag_error(d, SRCLOC_NONE, "cannot start the scanner");
        return false;
    }
    dnnc_yy_scan_bytes(src->text, (int)src->len, scanner);
    int errors_before = d->errors;
    int rc = dnnc_yyparse(scanner, &ctx);
    dnnc_yylex_destroy(scanner);
    return rc == 0 && d->errors == errors_before;
}

/* ---- graph construction ------------------------------------------------- */

typedef enum { UNVISITED, ON_PATH, DONE } VisitState;

typedef struct Builder {
    const Program *prog;
    Diag *d;
    Graph *g;
    Arena *arena;   /* scratch for this build, freed at the end */
    Expansion *ex;
    NameTable layer_index; /* layer name -> index into ex->layers */
    int **deps;     /* per layer: for each operand, a layer index or -1 (a graph input) */
    int *order;     /* topological order of layer indices */
    int n_order;
    VisitState *state;
    bool *used;     /* per layer: read by another layer or an output */
    bool *failed;   /* per layer: not built; layers that read it are skipped */
    bool ok;
} Builder;

static bool declare_input(Builder *b, const InputDecl *in)
{
    ElemType type;
    char err[200];
    bool ok = elem_type_from_parts(in->type.name, in->type.n_args, in->type.args, &type, err,
                                   sizeof err);
    if (!ok)
        diag_error(b->d, in->type.loc, "%s", err);
    Shape shape = {0};
    if (in->dims->n > DNNC_MAX_RANK) {
        diag_error(b->d, in->dims->loc, "input '%s' has rank %d; dnnc supports up to %d", in->name,
                   in->dims->n, DNNC_MAX_RANK);
        return false;
    }
    for (int k = 0; k < in->dims->n; k++) {
        const Expr *e = in->dims->items[k];
        if (e->kind != EX_INT || e->i < 1) {
            diag_error(b->d, e->loc, "a dimension of input '%s' must be a positive integer",
                       in->name);
            return false;
        }
        shape.d[shape.rank++] = e->i;
    }
    int64_t count;
    if (!shape_count(&shape, &count)) {
        diag_error(b->d, in->dims->loc, "input '%s' has more than 2^48 elements", in->name);
        return false;
    }
    int prev = graph_find_tensor(b->g, in->name);
    if (prev >= 0) {
        diag_error(b->d, in->loc, "redefinition of '%s'", in->name);
        diag_note(b->d, b->g->tensors[prev].loc, "previous definition is here");
        return false;
    }
    return ok && graph_add_input(b->g, in->name, shape, type, in->loc) >= 0;
}

static void declare_layers(Builder *b)
{
    for (int i = 0; i < b->ex->n_layers; i++) {
        const Layer *l = &b->ex->layers[i];
        int prev_layer = nametab_get(&b->layer_index, l->name);
        int prev_input = graph_find_tensor(b->g, l->name);
        if (prev_layer < 0 && prev_input < 0) {
            nametab_put(b->arena, &b->layer_index, l->name, i);
            continue;
        }
        diag_error(b->d, l->loc, "redefinition of '%s'", l->name);
        report_instantiation(b->d, l->inst);
        diag_note(b->d, prev_layer >= 0 ? b->ex->layers[prev_layer].loc
                                        : b->g->tensors[prev_input].loc,
                  "previous definition is here");
        b->ok = false;
    }
}

static void report_undefined(Builder *b, const Layer *l, int k)
{
    const char *name = l->operands[k];
    /* Suggest among names visible at top level: inputs and layers. */
    const char **names = arena_array(b->arena, (size_t)b->ex->n_layers + (size_t)b->g->n_inputs,
                                     sizeof *names);
    int n = 0;
    for (int i = 0; i < b->g->n_inputs; i++)
        names[n++] = b->g->tensors[b->g->inputs[i]].name;
    for (int i = 0; i < b->ex->n_layers && n < 4096; i++)
        if (b->ex->layers[i].name != l->name) /* never suggest a cycle */
            names[n++] = b->ex->layers[i].name;
    const char *hint = suggest(name, names, n);
    if (hint)
        diag_error(b->d, l->operand_locs[k], "undefined name '%s'; did you mean '%s'?", name, hint);
    else
        diag_error(b->d, l->operand_locs[k], "undefined name '%s'", name);
    report_instantiation(b->d, l->inst);
}

static void resolve_operands(Builder *b)
{
    for (int i = 0; i < b->ex->n_layers; i++) {
        const Layer *l = &b->ex->layers[i];
        b->deps[i] = arena_array(b->arena, (size_t)l->n_operands, sizeof(int));
        for (int k = 0; k < l->n_operands; k++) {
            int dep = nametab_get(&b->layer_index, l->operands[k]);
            b->deps[i][k] = dep;
            if (dep >= 0) {
                b->used[dep] = true;
            } else if (graph_find_tensor(b->g, l->operands[k]) < 0) {
                report_undefined(b, l, k);
                b->ok = false;
            }
        }
    }
}

static void report_cycle(Builder *b, const int *stack, int top, int again)
{
    int start = top;
    while (start > 0 && stack[start] != again)
        start--;
    size_t len = 0;
    for (int i = start; i <= top; i++)
        len += strlen(b->ex->layers[stack[i]].name) + 4;
    len += strlen(b->ex->layers[again].name) + 1;
    char *path = arena_alloc(b->arena, len);
    for (int i = start; i <= top; i++) {
        strcat(path, b->ex->layers[stack[i]].name);
        strcat(path, " -> ");
    }
    strcat(path, b->ex->layers[again].name);
    const Layer *l = &b->ex->layers[again];
    diag_error(b->d, l->loc, "cycle: '%s' depends on itself (%s)", l->name, path);
    report_instantiation(b->d, l->inst);
    b->ok = false;
}

/* Depth-first post-order from each layer in source order: a topological
 * order that keeps the written order wherever the dependencies allow.
 * Iterative, so that a chain of any length cannot overflow the C stack. */
static void order_layers(Builder *b)
{
    int n = b->ex->n_layers;
    int *stack = arena_array(b->arena, (size_t)n + 1, sizeof(int));
    int *next_dep = arena_array(b->arena, (size_t)n + 1, sizeof(int));
    for (int root = 0; root < n; root++) {
        if (b->state[root] != UNVISITED)
            continue;
        int top = 0;
        stack[0] = root;
        b->state[root] = ON_PATH;
        next_dep[root] = 0;
        while (top >= 0) {
            int cur = stack[top];
            if (next_dep[cur] == b->ex->layers[cur].n_operands) {
                b->state[cur] = DONE;
                b->order[b->n_order++] = cur;
                top--;
                continue;
            }
            int dep = b->deps[cur][next_dep[cur]++];
            if (dep < 0 || b->state[dep] == DONE)
                continue;
            if (b->state[dep] == ON_PATH) {
                report_cycle(b, stack, top, dep);
                continue;
            }
            b->state[dep] = ON_PATH;
            next_dep[dep] = 0;
            stack[++top] = dep;
        }
    }
}

static int operand_tensor(Builder *b, int layer, int k)
{
    return graph_find_tensor(b->g, b->ex->layers[layer].operands[k]);
}

static void build_layer(Builder *b, int i)
{
    const Layer *l = &b->ex->layers[i];
    int *inputs = arena_array(b->arena, (size_t)l->n_operands + 1, sizeof(int));
    for (int k = 0; k < l->n_operands; k++) {
        int dep = b->deps[i][k];
        if (dep >= 0 && b->failed[dep]) {
            b->failed[i] = true; /* already reported at the failing layer */
            return;
        }
        inputs[k] = operand_tensor(b, i, k);
    }
    char err[1024];
    int node = graph_add_node(b->g, l->op, l->name, &l->attrs, inputs, l->n_operands, l->loc, err,
                              sizeof err);
    if (node < 0) {
        diag_error(b->d, l->loc, "%s", err);
        report_instantiation(b->d, l->inst);
        b->failed[i] = true;
        b->ok = false;
        return;
    }
    b->g->nodes[node].ann = l->ann;
}

static void declare_outputs(Builder *b)
{
    if (b->prog->n_outputs == 0) {
        diag_error(b->d, SRCLOC_FILE(b->prog->file), "the network declares no outputs (add 'output NAME;')");
        b->ok = false;
    }
    for (int i = 0; i < b->prog->n_outputs; i++) {
        const NameRef *r = &b->prog->outputs[i];
        int layer = nametab_get(&b->layer_index, r->name);
        int t = graph_find_tensor(b->g, r->name);
        if (layer >= 0)
            b->used[layer] = true;
        if (layer < 0 && t < 0) {
            diag_error(b->d, r->loc, "undefined output '%s'", r->name);
            b->ok = false;
        } else if (t >= 0 && b->g->tensors[t].kind == TENSOR_PARAM) {
            diag_error(b->d, r->loc, "'%s' is a weight, not a layer output", r->name);
            b->ok = false;
        } else if (t >= 0) {
            for (int k = 0; k < b->g->n_outputs; k++)
                if (b->g->outputs[k] == t) {
                    diag_error(b->d, r->loc, "'%s' is declared as an output twice", r->name);
                    b->ok = false;
                }
            graph_add_output(b->g, t);
        }
    }
}

/* A layer nothing reads is likely a mistake; inside a block it is reported
 * once for the statement, not once per instance. */
static void warn_unused(Builder *b)
{
    const Stmt **reported = arena_array(b->arena, (size_t)b->ex->n_layers + 1, sizeof *reported);
    int n_reported = 0;
    for (int i = 0; i < b->ex->n_layers; i++) {
        const Layer *l = &b->ex->layers[i];
        if (b->used[i] || b->failed[i])
            continue;
        bool seen = false;
        for (int k = 0; k < n_reported && !seen; k++)
            seen = reported[k] == l->stmt;
        if (seen)
            continue;
        reported[n_reported++] = l->stmt;
        diag_warning(b->d, l->loc, "the result of '%s' is never used", l->name);
        report_instantiation(b->d, l->inst);
    }
    for (int i = 0; i < b->g->n_inputs; i++) {
        int t = b->g->inputs[i];
        bool used = false;
        for (int k = 0; k < b->g->n_outputs; k++)
            used |= b->g->outputs[k] == t;
        for (int n = 0; n < b->g->n_nodes && !used; n++)
            for (int k = 0; k < b->g->nodes[n].n_inputs; k++)
                used |= b->g->nodes[n].inputs[k] == t;
        if (!used)
            diag_warning(b->d, b->g->tensors[t].loc, "input '%s' is never used",
                         b->g->tensors[t].name);
    }
}

static void build_graph(Builder *b)
{
    size_t n = (size_t)b->ex->n_layers + 1;
    b->deps = arena_array(b->arena, n, sizeof *b->deps);
    b->order = arena_array(b->arena, n, sizeof *b->order);
    b->state = arena_array(b->arena, n, sizeof *b->state);
    b->used = arena_array(b->arena, n, sizeof *b->used);
    b->failed = arena_array(b->arena, n, sizeof *b->failed);
    for (int i = 0; i < b->prog->n_inputs; i++)
        b->ok &= declare_input(b, &b->prog->inputs[i]);
    declare_layers(b);
    if (!b->ok)
        return;
    resolve_operands(b);
    if (!b->ok)
        return;
    order_layers(b);
    if (!b->ok)
        return;
    for (int i = 0; i < b->n_order && !diag_too_many(b->d); i++)
        build_layer(b, b->order[i]);
    declare_outputs(b);
    if (b->ok)
        warn_unused(b);
}

/* Parses, expands and builds; the graph stays in st->graph. */
static void parse_and_build(ParseState *st, const Source *src, int file, Diag *d)
{
    if (!parse_program(st, src, file, d))
        return;
    Expansion ex;
    expand_program(&st->prog, d, &st->prog.arena, &ex);
    if (ex.failed)
        return;
    st->graph = graph_new();
    Builder b = {&st->prog, d, st->graph, &st->prog.arena, &ex, {0}, 0, 0, 0, 0, 0, 0, true};
    build_graph(&b);
    if (!b.ok || !graph_verify(st->graph, d)) {
        graph_free(st->graph);
        st->graph = NULL;
    }
}

static void parse_state_free(ParseState *st)
{
    arena_free(&st->prog.arena);
    free(st);
}

Graph *frontend_parse(const Source *src, Diag *d)
{
    int file = diag_add_file(d, src->path, src->text, src->len);
    ParseState *st = calloc(1, sizeof *st);
    if (!st) {
        diag_error(d, SRCLOC_FILE(file), "out of memory");
        return NULL;
    }
    arena_init(&st->prog.arena);
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        graph_free(st->graph);
        parse_state_free(st);
        diag_error(d, SRCLOC_FILE(file), "out of memory reading the network (%zu bytes more were needed)",
                   oom_failed_bytes());
        return NULL;
    }
    parse_and_build(st, src, file, d);
    oom_pop(&oom);
    Graph *g = st->graph;
    parse_state_free(st);
    return g;
}
