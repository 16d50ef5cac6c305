/* The layer graph: tensors and nodes in topological order, referenced by
 * integer ids (never raw pointers across passes), all in one arena. */
#ifndef DNNC_GRAPH_H
#define DNNC_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
    QuantParams *quant;  /* NULL: not quantised */
    void *data;          /* PARAM: bound values in the tensor's element type, NULL until bound */
    /* data is this graph's own (its arena, or a block it adopted) and no
     * other tensor reads it: a pass may overwrite it in place
     * (graph_writable_data). False for data lent by a caller. */
    bool data_owned;
    SparseData *sparse;  /* NULL: dense */
    int producer;        /* node id for activations, -1 otherwise */
    SrcLoc loc;
    /* The use list: one node id per operand slot that reads this tensor
     * (a node reading it twice appears twice). Kept up to date by every
     * function that changes operands (graph.c, rewrite.c). */
    int *users;
    int n_users;
    size_t cap_users;
} Tensor;

typedef enum { ALGO_AUTO, ALGO_DIRECT, ALGO_IM2COL, ALGO_WINOGRAD, ALGO_FFT } ConvAlgo;
typedef enum { DATAFLOW_AUTO, DATAFLOW_WS, DATAFLOW_OS_A, DATAFLOW_OS_B, DATAFLOW_OS_C,
               DATAFLOW_NLR, DATAFLOW_RS } Dataflow;

/* A conv or fc layer's mapping onto the spatial target (survey V-B) as
 * plain numbers, recorded by map-dataflow and written @mapping: a loop nest
 * over the seven dimensions N M C P Q R S of survey Fig. 9 (batch, filters,
 * channels, output rows and columns, filter rows and columns) at six levels,
 * outermost first: dram, buf (over the global buffer's tile), rows and cols
 * (spatial, across the PE array), pe (streamed through a PE) and rf (over
 * operands resident in its scratchpad). passes/map converts it to and from
 * its own Mapping; the IR holds only the numbers, so that a dump shows them
 * and parses back to them. */
#define MAPPING_LEVELS 6
#define MAPPING_DIMS 7
typedef struct MappingAnn {
    bool present;
    int64_t bound[MAPPING_LEVELS][MAPPING_DIMS]; /* iterations of each loop; 1: no loop */
    uint8_t order[MAPPING_LEVELS][MAPPING_DIMS]; /* each level's dimensions, outer to inner */
} MappingAnn;

/* Per-layer choices forced by the user (@algo, @precision, @sparse,
 * @dataflow, @mapping) or recorded by passes; printed back as annotations. */
typedef struct Annotations {
    ConvAlgo algo;
    /* The algorithm's parameter (conv_algo.h): Winograd's output tile m,
     * the FFT size; 0 = not chosen (select-algo records the default). */
    int algo_tile;
    bool has_precision;
    ElemType precision;
    bool has_sparse;
    SparseFormat sparse;
    Dataflow dataflow;
    MappingAnn mapping; /* meaningful with a dataflow other than auto */
    /* The layout of the layer's output (@layout, owned by select-layout):
     * set by the user or by the pass; unset means plain NCHW, free for the
     * pass to change. */
    bool has_layout;
    Layout layout;
    /* Where the layer's output lives when compiled code runs: byte `offset`
     * of the workspace (@offset, owned by plan-memory; ir/storage.h says
     * which layers may share bytes). Unset: not placed yet, or not in the
     * workspace (a network output, an alias of an input or a weight). */
    bool has_offset;
    uint64_t offset;
} Annotations;

/* qlinear_conv's: weight, three scales and zero points, bias, a residual's
 * scale and zero point. */
#define NODE_MAX_PARAMS 10

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
    bool removed; /* by graph_remove_node; gone after graph_compact */
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
    void **adopted;  /* malloc'd blocks freed with the graph (graph_adopt) */
    size_t n_adopted, cap_adopted;
    /* Files holding bound data, closed with the graph (graph_adopt_weight_file). */
    struct WeightFile **weight_files;
    size_t n_weight_files, cap_weight_files;
} Graph;

/* A new empty graph; out of memory is thrown (oom.h) like its arena's. */
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

/* ---- Rewriting (rewrite.c, compact.c, clone.c) ----------------------------
 *
 * Passes change the graph in place through these functions, which keep the
 * use lists right. Within a pass node and tensor ids stay stable: removed
 * nodes are only marked, and nodes added by graph_add_node go at the end.
 * graph_compact then drops what was removed or is no longer referenced,
 * restores the topological order and renumbers the ids; the pass manager
 * calls it after every pass. */

/* Graph output i is tensor t for some i. */
bool graph_is_output(const Graph *g, int t);
/* The one node that reads t (in one or more operand slots), or -1 when no
 * node or several read it, or t is also a graph output. */
int graph_sole_reader(const Graph *g, int t);
/* Operand `slot` of node now reads tensor t. */
void graph_set_operand(Graph *g, int node, int slot, int t);
/* Replaces the whole operand list of node (e.g. to add a fused operand).
 * The caller re-runs the shape rule with graph_update_node. */
void graph_set_operands(Graph *g, int node, const int *tensors, int n);
/* Every operand slot and graph output that reads `from` reads `to` instead. */
void graph_replace_all_uses(Graph *g, int from, int to);
/* Marks node removed, drops its operand uses and frees the names of its
 * output and parameters for reuse. Readers of its output must have been
 * redirected (graph_replace_all_uses) before the next graph_compact. */
void graph_remove_node(Graph *g, int node);
/* Removes node, whose value equals tensor `to` (an identity, or a layer
 * that another one absorbed): its readers and graph outputs read `to`
 * instead. A graph output keeps its name: the layer computing `to` takes
 * it (and its parameters are renamed to match). False, changing nothing,
 * when that cannot be done: `to` is a graph input or another output. */
bool graph_forward(Graph *g, int node, int to);
/* Whether graph_forward(g, node, to) would succeed: a pass that must change
 * other layers first asks before it changes anything. */
bool graph_can_forward(const Graph *g, int node, int to);
/* Re-runs node's shape rule after a pass changed its attributes or
 * operands. The output type and shape must not change (a pass that changes
 * them replaces the node instead). Parameters are reconciled by their
 * suffix: kept if the rule still declares them with the same shape, created
 * unbound (data NULL) if new, dropped if gone. False with a message in err
 * if the rule rejects the node. */
bool graph_update_node(Graph *g, int node, char *err, size_t errsz);
/* graph_update_node for a pass that changes the shape of a chain of layers
 * together (structured pruning removes channels): node's output takes the
 * shape its rule now gives. The caller resizes every reader after it, in
 * topological order, before the graph is used again. */
bool graph_resize_node(Graph *g, int node, char *err, size_t errsz);
/* Renames node's output tensor to `name` and its parameters to
 * "name.suffix"; false if one of those names is taken. */
bool graph_rename_node(Graph *g, int node, const char *name);
/* Fresh zeroed storage for constant tensor t, in t's type and shape, owned
 * by the graph: the way a pass gives a parameter new values. */
void *graph_new_data(Graph *g, int t);
/* Tensor t's bound values, to be rewritten in place: its own storage when
 * the graph owns it alone (Tensor.data_owned), else a copy that t takes
 * (copy on write: data lent by a caller is never written). */
void *graph_writable_data(Graph *g, int t);
/* The graph frees `block` (from malloc) when it is freed: a front end hands
 * over storage that tensors' data point into instead of copying it. */
void graph_adopt(Graph *g, void *block);
/* The same for a file that tensors' data point into (weight_file.h). */
void graph_adopt_weight_file(Graph *g, struct WeightFile *f);
/* Tensor t's values are not needed again soon: where they lie in a weight
 * file, their pages leave the process's memory (they stay in the file and
 * come back when read). Nothing for data in memory. */
void graph_release_data(const Graph *g, int t);
/* graph_release_data for every tensor, and for the len bytes at p (a part
 * of a tensor's data: a pass that reads a large tensor through releases it
 * slice by slice). */
void graph_release_weights(const Graph *g);
void graph_release_range(const Graph *g, const void *p, size_t len);
/* Marks every bound tensor whose data pointer no other tensor shares as
 * owned (Tensor.data_owned). Only for a graph whose bound data all lives in
 * its own storage, as a front end builds it. */
void graph_own_unshared_data(Graph *g);
/* Drops removed nodes and tensors nothing refers to, puts the nodes back in
 * topological order (stable: a node moves only to follow an operand that a
 * pass made it read) and renumbers ids. False if the operands form a cycle,
 * which only a faulty pass can cause (the graph is then unchanged and err
 * says which layer). */
bool graph_compact(Graph *g, char *err, size_t errsz);
/* A deep copy: tensors, nodes, names and bound data; NULL when out of
 * memory. */
Graph *graph_clone(const Graph *g);

/* Writes the graph as network-language source that parses back to the same
 * graph (print.c). */
void graph_print(const Graph *g, FILE *out);
/* A node's annotations as the printer writes them before the layer
 * ("@algo(im2col) @dataflow(rs) "), nothing when there are none. */
void annotations_print(const Annotations *a, FILE *out);
const char *conv_algo_name(ConvAlgo a);
const char *dataflow_name(Dataflow d);
bool conv_algo_from_name(const char *s, ConvAlgo *out);
bool dataflow_from_name(const char *s, Dataflow *out);
/* @mapping's spelling of levels ("dram" ... "rf", outermost first) and
 * dimensions ("N" ... "S"), by index into MappingAnn's arrays. */
const char *mapping_ann_level_name(int level);
const char *mapping_ann_dim_name(int dim);
bool mapping_ann_dim_from_name(const char *s, int *out);

static inline Tensor *graph_tensor(Graph *g, int id) { return &g->tensors[id]; }

/* The layout tensor t is held in: its producer's @layout, plain NCHW for
 * inputs, constants and layers without one. */
static inline Layout graph_tensor_layout(const Graph *g, int t)
{
    int p = g->tensors[t].producer;
    return p >= 0 && g->nodes[p].ann.has_layout ? g->nodes[p].ann.layout : LAYOUT_NCHW;
}
/* The elements tensor t takes in memory in its layout. */
static inline int64_t graph_tensor_stored_elems(const Graph *g, int t)
{
    return layout_stored_elems(graph_tensor_layout(g, t), &g->tensors[t].shape);
}

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
