/* dnnc dump --format=dot: the layer graph as Graphviz source, to see at a
 * glance what the passes made of a network. One box per layer with its name,
 * op, output type and what the passes decided (fused activation, residual
 * operand, algorithm, dataflow, precision, sparse encoding); graph inputs and
 * outputs as distinct shapes; edges labelled with the shape they carry. */
#include "dump_dot.h"

#include <stdlib.h>
#include <string.h>

/* Text inside a quoted Graphviz string: quotes and backslashes escaped
 * (a backslash would otherwise start an escape such as \n), control bytes
 * replaced so that a hostile name cannot break the file. */
static void dot_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fputc('\\', out);
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
}

/* A quoted Graphviz string. */
static void dot_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    dot_text(out, s);
    fputc('"', out);
}

/* The fused activation: the `act` attribute and those after it (alpha, min,
 * max), as the IR printer writes them, where they differ from the default. */
static void print_epilogue(FILE *out, const Node *n)
{
    const AttrSpec *s = op_info(n->op)->attrs;
    while (s && s->name && strcmp(s->name, "act") != 0)
        s++;
    bool any = false;
    for (; s && s->name; s++) {
        if (attr_is_default(s, &n->attr))
            continue;
        char buf[128];
        attr_format(s, &n->attr, buf, sizeof buf);
        fputs(any ? ", " : "\\n", out);
        dot_text(out, buf);
        any = true;
    }
}

/* The annotations passes record (or the user forced), on a line of their
 * own, as the IR printer writes them. */
static void print_annotations(FILE *out, const Annotations *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return;
    annotations_print(a, mem);
    fclose(mem);
    while (len > 0 && text[len - 1] == ' ')
        text[--len] = '\0';
    if (len > 0) {
        fputs("\\n", out);
        dot_text(out, text);
    }
    free(text);
}

static int input_index(const Graph *g, int t)
{
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == t)
            return i;
    return -1;
}

/* The Graphviz node a tensor comes from: its layer, a graph input, or a
 * constant operand (declared on the spot; a repeated declaration is
 * harmless). */
static void source_node(FILE *out, const Graph *g, int t, char *id, size_t size)
{
    const Tensor *x = &g->tensors[t];
    if (x->producer >= 0) {
        snprintf(id, size, "n%d", x->producer);
    } else if (x->kind == TENSOR_INPUT) {
        snprintf(id, size, "in%d", input_index(g, t));
    } else {
        snprintf(id, size, "t%d", t);
        fprintf(out, "  %s [shape=ellipse, label=", id);
        dot_quoted(out, x->name);
        fputs("];\n", out);
    }
}

/* A conv or fc with a fused residual add reads the residual as its second operand. */
static bool has_residual(const Node *n)
{
    return (n->op == OP_CONV || n->op == OP_FC) && n->n_inputs == 2;
}

static void print_edges(FILE *out, const Graph *g, int node)
{
    const Node *n = &g->nodes[node];
    bool residual = has_residual(n);
    for (int k = 0; k < n->n_inputs; k++) {
        char from[32], shape[256];
        source_node(out, g, n->inputs[k], from, sizeof from);
        shape_format(&g->tensors[n->inputs[k]].shape, shape, sizeof shape);
        const char *role = residual && k == 1 ? "residual " : "";
        fprintf(out, "  %s -> n%d [label=\"%s%s\"%s];\n", from, node, role, shape,
                *role ? ", style=dashed" : "");
    }
}

static void print_layer(FILE *out, const Graph *g, int node)
{
    const Node *n = &g->nodes[node];
    char type[300];
    tensor_type_format(&g->tensors[n->output], type, sizeof type);
    fprintf(out, "  n%d [label=\"", node);
    dot_text(out, n->name);
    fprintf(out, "\\n%s\\n%s", op_name(n->op), type);
    print_epilogue(out, n);
    if (has_residual(n)) {
        fputs("\\n+ residual ", out);
        dot_text(out, g->tensors[n->inputs[1]].name);
    }
    print_annotations(out, &n->ann);
    fputs("\"];\n", out);
    print_edges(out, g, node);
}

void dump_dot(const Graph *g, FILE *out)
{
    fputs("digraph dnnc {\n"
          "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
          "  edge [fontname=\"Helvetica\", fontsize=10];\n",
          out);
    char type[300];
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        tensor_type_format(t, type, sizeof type);
        fprintf(out, "  in%d [shape=invhouse, style=filled, fillcolor=\"#dbe9f6\", label=\"input ", i);
        dot_text(out, t->name);
        fprintf(out, "\\n%s\"];\n", type);
    }
    for (int i = 0; i < g->n_nodes; i++)
        print_layer(out, g, i);
    for (int i = 0; i < g->n_outputs; i++) {
        char from[32];
        fprintf(out, "  out%d [shape=house, style=filled, fillcolor=\"#e2f0d9\", label=\"output ", i);
        dot_text(out, g->tensors[g->outputs[i]].name);
        fputs("\"];\n", out);
        source_node(out, g, g->outputs[i], from, sizeof from);
        fprintf(out, "  %s -> out%d;\n", from, i);
    }
    fputs("}\n", out);
}
