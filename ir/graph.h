/* The layer graph: tensors and nodes in topological order, referenced by
 * integer ids (never raw pointers across passes), all in one arena. */
#ifndef DNNC_GRAPH_H
#define DNNC_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "nametab.h"
#include "ops.h"
#include "types.h"

typedef enum {
    TENSOR_INPUT,      /* a declared network input */
    TENSOR_ACTIVATION, /* produced by a node */
    TENSOR_PARAM,      /* a constant: weights, biases, statistics */
} TensorKind;

typedef struct Tensor {
    const char *name;
    TensorKind kind;
    Shape shape;
    ElemType type;
    Layout layout;
    int layout_block;    /* channels per block for blocked layouts */
    QuantParams *quant;  /* NULL: not quantised */
    void *data;          /* PARAM: bound values in the tensor's element type, NULL until bound */
    SparseData *sparse;  /* NULL: dense */
    int producer;        /* node id for activations, -1 otherwise */
    SrcLoc loc;
} Tensor;

typedef enum { ALGO_AUTO, ALGO_DIRECT, ALGO_IM2COL, ALGO_WINOGRAD, ALGO_FFT } ConvAlgo;
typedef enum { DATAFLOW_AUTO, DATAFLOW_WS, DATAFLOW_OS_A, DATAFLOW_OS_B, DATAFLOW_OS_C,
               DATAFLOW_NLR, DATAFLOW_RS } Dataflow;

/* Per-layer choices forced by the user (@algo, @precision, @sparse, @dataflow)
 * or recorded by passes; printed back as annotations. */
typedef struct Annotations {
    ConvAlgo algo;
    bool has_precision;
    ElemType precision;
    bool has_sparse;
    SparseFormat sparse;
    Dataflow dataflow;
} Annotations;

#define NODE_MAX_PARAMS 8

typedef struct Node {
    OpKind op;
    const char *name;
    Attrs attr;
    int *inputs; /* activation operands (tensor ids) */
    int n_inputs;
    int params[NODE_MAX_PARAMS]; /* constant operands: weight, bias, ... */
    int n_params;
    int output;  /* tensor id; its name is the node's name */
    Annotations ann;
    SrcLoc loc;
} Node;

typedef struct Graph {
    Arena arena;
    Tensor *tensors;
    int n_tensors;
    size_t cap_tensors;
    Node *nodes;
    int n_nodes;
    size_t cap_nodes;
    int *inputs, *outputs; /* tensor ids */
    int n_inputs, n_outputs;
    size_t cap_inputs, cap_outputs;
    NameTable names; /* tensor name -> id */
} Graph;

Graph *graph_new(void);
void graph_free(Graph *g);

/* Returns the tensor id, or -1 if the name is taken. */
int graph_add_tensor(Graph *g, const char *name, TensorKind kind, Shape shape, ElemType type);
int graph_find_tensor(const Graph *g, const char *name);

/* Appends a node whose operands are already in the graph, runs its shape rule
 * and creates its output and parameter tensors. On a shape error writes the
 * message to err and returns -1 (the graph is unchanged). */
int graph_add_node(Graph *g, OpKind op, const char *name, const Attrs *attr,
                   const int *inputs, int n_inputs, SrcLoc loc, char *err, size_t errsz);

/* Declares a network input; -1 if the name is taken. */
int graph_add_input(Graph *g, const char *name, Shape shape, ElemType type, SrcLoc loc);
void graph_add_output(Graph *g, int tensor);

/* Writes the graph as network-language source that parses back to the same
 * graph (print.c). */
void graph_print(const Graph *g, FILE *out);
const char *conv_algo_name(ConvAlgo a);
const char *dataflow_name(Dataflow d);
bool conv_algo_from_name(const char *s, ConvAlgo *out);
bool dataflow_from_name(const char *s, Dataflow *out);

static inline Tensor *graph_tensor(Graph *g, int id) { return &g->tensors[id]; }
static inline const Node *graph_producer(const Graph *g, int tensor)
{
    int p = g->tensors[tensor].producer;
    return p >= 0 ? &g->nodes[p] : NULL;
}

/* "f32[1, 3, 224, 224]" */
void tensor_type_format(const Tensor *t, char *buf, size_t size);

/* Checks every invariant of the IR; reports through d; true if it holds. */
bool graph_verify(const Graph *g, Diag *d);

/* Shape rules (shape.c). */
typedef struct ParamSpec {
    const char *suffix; /* weight, bias, running_mean, ... */
    Shape shape;
    ElemType type;
} ParamSpec;

typedef struct InferResult {
    Shape out;
    ElemType out_type;
    int n_params;
    ParamSpec params[NODE_MAX_PARAMS];
} InferResult;

bool infer_node(const Graph *g, const Node *n, InferResult *r, char *err, size_t errsz);

/* Cost (cost.c): multiply-accumulates of one node, dense and with zero
 * weights skipped (needs bound weights). */
int64_t node_macs(const Graph *g, const Node *n);
int64_t node_nz_macs(const Graph *g, const Node *n);
int64_t node_weights(const Graph *g, const Node *n);
bool node_weights_bound(const Graph *g, const Node *n);
int64_t node_nz_weights(const Graph *g, const Node *n);

#endif
