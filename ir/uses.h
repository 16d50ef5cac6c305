/* Use lists of the IR's tensors (Tensor.users): the bookkeeping behind
 * graph_add_node and the rewriting functions, private to ir/. */
#ifndef DNNC_USES_H
#define DNNC_USES_H

#include "graph.h"

/* Records one operand slot of node reading tensor t. */
void uses_add(Graph *g, int t, int node);
/* Forgets one operand slot of node reading t (there must be one). */
void uses_drop(Graph *g, int t, int node);
/* Rebuilds every use list from the nodes' operands (after renumbering). */
void uses_rebuild(Graph *g);

#endif
