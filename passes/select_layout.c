/* select-layout: owns @layout, the layout each layer writes its output in
 * (docs/layouts.md). A layer reads its activation operands in one layout
 * and writes the one its kernel writes for it: a row of the target's
 * kernel registry (kernels.def's KERNEL_ROW_LAYOUT rows) says which. The
 * pass chooses, layer by layer in topological order:
 *   - a layer with @layout keeps it: the layout it reads is one for which
 *     the target has a kernel that writes that layout (its operand's own
 *     if it can, so that no reorder is needed), else an error;
 *   - from -O2, a conv reads blocked (nchw16c) where the target has a
 *     kernel for it that can run its algorithm (@algo, --conv-algo);
 *   - any other layer reads the layout that leaves the fewest operand
 *     bytes to reorder (at -O0 and -O1 only its operands' own layout, so
 *     that a blocked graph, a dump, is not reordered back), so that
 *     reorders stay at the edges of blocked regions;
 *   - plain nchw where no kernel reads blocked, and network outputs are
 *     always plain.
 * Where a layer reads another layout than an operand is in, a reorder
 * layer is inserted (one per tensor and layout, shared by its readers);
 * reorders that change nothing are removed. The reference executor reads
 * every layout as the same values, so the rewritten graph is checked
 * against the graph as written like any other pass's output. */
#include <stdlib.h>
#include <string.h>

#include "conv_algo.h"
#include "pass.h"
#include "target.h"

typedef struct LayoutChooser {
    Graph *g;
    const PassOptions *o;
    PassReport *r;
    const KernelRow *rows;
    int n_rows;
    int n_tensors;     /* before the pass added any */
    int *reordered[2]; /* per Layout: tensor id -> its reorder's output, or -1 */
} LayoutChooser;

/* Whether row k can run layer n's algorithm: the one @algo forces, else
 * the one --conv-algo prefers where it can compute the layer. */
static bool row_runs_algorithm(const PassOptions *o, const KernelRow *k, const Node *n)
{
    if (n->op != OP_CONV)
        return true;
    if (n->ann.algo != ALGO_AUTO)
        return k->algo == n->ann.algo;
    char why[8];
    if (o->prefer_algo != ALGO_AUTO &&
        conv_algo_applies(o->prefer_algo, &n->attr.conv, o->prefer_tile, why, sizeof why))
        return k->algo == o->prefer_algo;
    return true;
}

/* row_reading's `writes` for a row that writes any layout. */
#define WRITES_ANY (-1)

/* Appends a row's reason for refusing a layer to why ("; " between
 * reasons), once. */
static void add_reason(char *why, size_t whysz, const char *reason)
{
    size_t len = strlen(why);
    if (!strstr(why, reason) && len < whysz)
        snprintf(why + len, whysz - len, "%s%s", len ? "; " : "", reason);
}

/* The first row that computes layer n reading `reads` and writing
 * `writes` (a Layout or WRITES_ANY); NULL if none, with every candidate
 * row's reason in why. */
static const KernelRow *row_reading(const LayoutChooser *c, const Node *n, Layout reads, int writes, char *why,
                                    size_t whysz)
{
    why[0] = '\0';
    for (int k = 0; k < c->n_rows; k++) {
        char reason[160];
        const KernelRow *r = &c->rows[k];
        if (r->op != n->op)
            continue;
        /* Rows of other layouts are not candidates: only the reasons of
         * those that are explain a refusal. */
        if (!(r->reads & LAYOUT_BIT(reads)) ||
            (writes != WRITES_ANY && kernel_row_writes(r, n, reads) != (Layout)writes))
            continue;
        if (!kernel_row_applies(r, c->g, n, reads, reason, sizeof reason)) {
            add_reason(why, whysz, reason);
            continue;
        }
        if (row_runs_algorithm(c->o, r, n))
            return r;
        snprintf(reason, sizeof reason, "its %s kernel on %s is not %s", op_name(n->op), layout_name(reads),
                 conv_algo_name(n->ann.algo != ALGO_AUTO ? n->ann.algo : c->o->prefer_algo));
        add_reason(why, whysz, reason);
    }
    if (!why[0])
        snprintf(why, whysz, "it has no %s kernel", op_name(n->op));
    return NULL;
}

/* The layouts layer n may read, best first: its operands' own first, so
 * that a reorder is needed only where nothing else computes it. */
static int layouts_to_try(const Graph *g, const Node *n, Layout out[2])
{
    Layout own = kernel_row_layout(g, n);
    out[0] = own;
    out[1] = own == LAYOUT_NCHW ? LAYOUT_NCHW16C : LAYOUT_NCHW;
    return 2;
}

/* A layer with @layout: the layout it reads, or false after an error. */
static bool honour_layout(const LayoutChooser *c, const Node *n, Layout *reads)
{
    Layout tries[2];
    char why[400] = "";
    int count = layouts_to_try(c->g, n, tries);
    for (int i = 0; i < count; i++)
        if (row_reading(c, n, tries[i], n->ann.layout, why, sizeof why)) {
            *reads = tries[i];
            return true;
        }
    diag_error(c->o->diag, n->loc,
               "layer '%s': @layout(%s) cannot be honoured: target %s has no kernel for %s on %s that "
               "writes %s (%s)", n->name, layout_name(n->ann.layout), c->o->target->name, op_name(n->op),
               elem_kind_name(kernel_row_type(c->g, n)), layout_name(n->ann.layout), why);
    return false;
}

/* Bytes of n's operands that are not in layout l, and for which no
 * reorder into l exists yet. */
static int64_t bytes_to_reorder(const LayoutChooser *c, const Node *n, Layout l)
{
    int64_t bytes = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        const Tensor *x = &c->g->tensors[t];
        if (graph_tensor_layout(c->g, t) != l && !(t < c->n_tensors && c->reordered[l][t] >= 0))
            bytes += shape_elems(&x->shape) * elem_type_bits(x->type) / 8;
    }
    return bytes;
}

/* Whether a conv's output fills its blocks well enough to be blocked: a
 * padded block's lanes past the filters cost multiply-adds that compute
 * nothing, so at least 3/4 of the lanes must be filters (24 filters in 2
 * blocks, 1000 in 63; not 6 in 1). */
static bool fills_blocks(const Graph *g, const Node *n)
{
    int64_t filters = g->tensors[n->output].shape.d[1];
    return 4 * filters >= 3 * layout_stored_channels(LAYOUT_NCHW16C, filters);
}

/* Whether a free layer should rather read blocked than plain: a conv
 * whenever a kernel can and its output fills its blocks (from -O2),
 * anything else where fewer of its operand bytes are plain than blocked or
 * as few (from -O2), or where none are plain. */
static bool worth_blocking(const LayoutChooser *c, const Node *n)
{
    if (n->op == OP_REORDER || n->n_inputs == 0)
        return false;
    int64_t plain = bytes_to_reorder(c, n, LAYOUT_NCHW16C), blocked = bytes_to_reorder(c, n, LAYOUT_NCHW);
    if (c->o->opt_level < 2)
        return plain == 0;
    /* Operands there in both layouts: blocked, where the convs are. */
    return (n->op == OP_CONV && fills_blocks(c->g, n)) || plain < blocked || plain == 0;
}

/* A row that reads layer n's plain operands as they are and writes
 * blocked (the first conv, reading the image), where reading them blocked
 * would take new reorders; NULL if there is none. */
static const KernelRow *row_plain_to_blocked(const LayoutChooser *c, const Node *n, char *why, size_t whysz)
{
    if (bytes_to_reorder(c, n, LAYOUT_NCHW16C) == 0 || bytes_to_reorder(c, n, LAYOUT_NCHW) > 0 ||
        graph_is_output(c->g, n->output))
        return NULL;
    return row_reading(c, n, LAYOUT_NCHW, LAYOUT_NCHW16C, why, whysz);
}

/* For a layer worth blocking: the row above, else one reading blocked
 * (but not writing a blocked network output); NULL if neither. *reads:
 * what it reads. */
static const KernelRow *blocked_row(const LayoutChooser *c, const Node *n, Layout *reads, char *why, size_t whysz)
{
    const KernelRow *r = row_plain_to_blocked(c, n, why, whysz);
    if (r) {
        *reads = LAYOUT_NCHW;
        return r;
    }
    r = row_reading(c, n, LAYOUT_NCHW16C, WRITES_ANY, why, whysz);
    if (!r || (kernel_row_writes(r, n, LAYOUT_NCHW16C) != LAYOUT_NCHW && graph_is_output(c->g, n->output)))
        return NULL;
    *reads = LAYOUT_NCHW16C;
    return r;
}

/* A layer without @layout: the layout it reads; its output's is then its
 * kernel's, recorded as @layout when not plain. */
static Layout choose_layout(const LayoutChooser *c, Node *n)
{
    char why[400];
    Layout reads = LAYOUT_NCHW;
    const KernelRow *r = worth_blocking(c, n) ? blocked_row(c, n, &reads, why, sizeof why) : NULL;
    if (!r) {
        reads = LAYOUT_NCHW;
        r = row_reading(c, n, LAYOUT_NCHW, LAYOUT_NCHW, why, sizeof why);
    }
    /* No row at all: the layer stays plain and code generation names what
     * is missing (the target's own check refuses most such layers first). */
    Layout writes = r ? kernel_row_writes(r, n, reads) : LAYOUT_NCHW;
    if (writes != LAYOUT_NCHW) {
        if (!n->ann.has_layout || n->ann.layout != writes)
            n->ann.has_offset = false; /* its bytes change: plan-memory places it again */
        n->ann.has_layout = true;
        n->ann.layout = writes;
        pass_count(c->r, "layers writing nchw16c", 1);
    }
    return reads;
}

/* The tensor holding t's values in layout l: t itself, or a reorder of it
 * (added once, shared by every reader). -1 if the reorder cannot be added. */
static int in_layout(LayoutChooser *c, int t, Layout l)
{
    if (graph_tensor_layout(c->g, t) == l)
        return t;
    if (t < c->n_tensors && c->reordered[l][t] >= 0)
        return c->reordered[l][t];
    const char *name = pass_fresh_name(c->g, c->g->tensors[t].name, layout_name(l));
    SrcLoc loc = c->g->tensors[t].loc;
    Attrs none = {0};
    char err[256];
    int id = graph_add_node(c->g, OP_REORDER, name, &none, &t, 1, loc, err, sizeof err);
    if (id < 0) {
        diag_error(c->o->diag, loc, "select-layout: cannot add layer '%s': %s", name, err);
        return -1;
    }
    c->g->nodes[id].ann.has_layout = true;
    c->g->nodes[id].ann.layout = l;
    pass_count(c->r, "reorders inserted", 1);
    int out = c->g->nodes[id].output;
    if (t < c->n_tensors)
        c->reordered[l][t] = out;
    return out;
}

/* Node i reads every activation operand in layout `reads`. */
static bool feed(LayoutChooser *c, int i, Layout reads)
{
    for (int s = 0; s < c->g->nodes[i].n_inputs; s++) {
        int t = c->g->nodes[i].inputs[s];
        int u = in_layout(c, t, reads);
        if (u < 0)
            return false;
        if (u != t)
            graph_set_operand(c->g, i, s, u);
    }
    return true;
}

/* A reorder into the layout its operand is already in computes nothing. */
static void drop_identity_reorders(LayoutChooser *c)
{
    for (int i = 0; i < c->g->n_nodes; i++) {
        Node *n = &c->g->nodes[i];
        if (n->removed || n->op != OP_REORDER)
            continue;
        Layout to = n->ann.has_layout ? n->ann.layout : LAYOUT_NCHW;
        if (graph_tensor_layout(c->g, n->inputs[0]) == to && graph_forward(c->g, i, n->inputs[0]))
            pass_count(c->r, "reorders removed", 1);
    }
}

bool pass_select_layout(Graph *g, const PassOptions *o, PassReport *r)
{
    const Target *t = o->target;
    if (!t->registry || !t->binds_kernels)
        return true; /* layouts are where a target that binds kernels puts values */
    LayoutChooser c = {.g = g, .o = o, .r = r, .n_tensors = g->n_tensors};
    c.rows = t->registry(&c.n_rows);
    for (int l = 0; l < 2; l++) {
        c.reordered[l] = malloc((size_t)g->n_tensors * sizeof *c.reordered[l] + 1);
        if (!c.reordered[l]) {
            free(c.reordered[0]);
            diag_error(o->diag, SRCLOC_NONE, "select-layout: out of memory");
            return false;
        }
        for (int k = 0; k < g->n_tensors; k++)
            c.reordered[l][k] = -1;
    }
    bool ok = true;
    int n_nodes = g->n_nodes; /* the reorders added go after these */
    for (int i = 0; i < n_nodes && ok; i++) {
        Node *n = &g->nodes[i];
        if (n->op == OP_REORDER)
            continue;
        Layout reads = LAYOUT_NCHW;
        if (n->ann.has_layout)
            ok = honour_layout(&c, n, &reads);
        else
            reads = choose_layout(&c, n);
        ok = ok && feed(&c, i, reads);
    }
    if (ok)
        drop_identity_reorders(&c);
    free(c.reordered[0]);
    free(c.reordered[1]);
    return ok;
}
