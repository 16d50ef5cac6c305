/* Block expansion (expand.c) and the flat layer list it produces. */
#ifndef DNNC_EXPAND_H
#define DNNC_EXPAND_H

#include "ast.h"
#include "graph.h"

/* The chain of block instantiations a layer came from, for error notes. */
typedef struct Instantiation {
    const char *block;
    SrcLoc loc;
    const struct Instantiation *parent;
} Instantiation;

typedef struct Layer {
    const char *name; /* full name: instance prefixes joined by '.' */
    SrcLoc loc;
    OpKind op;
    Attrs attrs;
    Annotations ann;
    const char **operands; /* full names, resolved later */
    SrcLoc *operand_locs;
    int n_operands;
    const Instantiation *inst;
    const Stmt *stmt; /* the statement written in source */
} Layer;

typedef struct Expansion {
    Layer *layers;
    int n_layers;
    size_t cap_layers;
    bool failed;
} Expansion;

void expand_program(const Program *prog, Diag *d, Arena *arena, Expansion *out);
void report_instantiation(Diag *d, const Instantiation *inst);

/* Element type from its spelling and parameters: f32, fixed<16,8>, log2<4>. */
bool elem_type_from_parts(const char *name, int n_args, const int64_t *args, ElemType *out,
                          char *err, size_t errsz);

#endif
