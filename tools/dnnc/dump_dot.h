/* The layer graph as Graphviz source (dnnc dump --format=dot). */
#ifndef DNNC_DUMP_DOT_H
#define DNNC_DUMP_DOT_H

#include <stdio.h>

#include "graph.h"

void dump_dot(const Graph *g, FILE *out);

#endif
