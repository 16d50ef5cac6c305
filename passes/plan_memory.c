/* plan-memory: owns @offset, where each layer's output lives in the
 * workspace of compiled code (ir/storage.h has the rules, docs/bundle.md#where-tensors-live
 * the whole story). On a target whose code runs in one workspace (the
 * cpu's plans_workspace), the pass places every output that needs a place
 * and has none:
 *   - aliases (flatten, reshape, dropout, constant) take their operand's
 *     place, or none when the operand is an input, an output or a weight;
 *   - a concat whose operands may lie end to end in its output has them
 *     computed in their slices;
 *   - an element-wise layer (relu, add, batchnorm, ...) writes its output
 *     over an operand of the same shape that no later layer reads, and a
 *     direct conv on blocked activations over its residual so;
 *   - every other output (a root) is live from the layer that first writes
 *     it to its last reader, and roots are placed largest first, each at
 *     the lowest offset where it meets no placed root live at the same time:
 *     the "greedy by size" arena planning of TensorFlow Lite, which packs
 *     the few large activations of a network tighter than first fit in
 *     layer order does.
 * Places already written (by the user, or a dump parsed back) are kept
 * and the others are placed around them. On every target the pass then
 * checks the whole placement, so one that would make two live tensors
 * share bytes is an error naming both layers: the reference and the
 * spatial simulator keep every tensor apart, but accept only placements
 * the cpu could run. */
#include <stdlib.h>

#include "pass.h"
#include "storage.h"
#include "target.h"

typedef struct Root {
    int tensor;
    int first, last;
    uint64_t size, offset;
} Root;

static int by_size(const void *a, const void *b)
{
    const Root *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->first - y->first;
}

static int by_offset(const void *a, const void *b)
{
    const Root *x = *(const Root *const *)a, *y = *(const Root *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The lowest offset for r among the placed roots (placed[0..n)) whose
 * lifetimes meet its own; overlap is scratch for n pointers. */
static uint64_t lowest_fit(const Root *r, Root *const *placed, int n, Root **overlap)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (placed[i]->first <= r->last && r->first <= placed[i]->last)
            overlap[k++] = placed[i];
    qsort(overlap, (size_t)k, sizeof *overlap, by_offset);
    uint64_t at = 0;
    for (int i = 0; i < k; i++) {
        if (overlap[i]->offset >= at + r->size)
            break;
        uint64_t end = overlap[i]->offset + overlap[i]->size;
        at = end > at ? end : at;
    }
    return at;
}

/* The roots that need a place of their own: placed ones first (their
 * count in *n_placed), then the free ones. */
static int collect_roots(const Graph *g, const StorageMap *m, Root *roots, int *n_placed)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            *n_placed = n;
        for (int i = 0; i < g->n_nodes; i++) {
            int t = g->nodes[i].output;
            if (m->root[t] != t || graph_is_output(g, t))
                continue;
            if (g->nodes[i].ann.has_offset != (pass == 0))
                continue;
            roots[n++] = (Root){t, m->first[t], m->last[t], storage_bytes(g, t), g->nodes[i].ann.offset};
        }
    }
    return n;
}

/* Writes @offset on every layer that has a place: roots as planned,
 * members at their root's offset plus theirs within it. In layer order, so
 * an alias's operand has its place first. */
static void record_offsets(Graph *g, const StorageMap *m, const Root *roots, int n, PassReport *r)
{
    for (int i = 0; i < n; i++) {
        Node *node = &g->nodes[g->tensors[roots[i].tensor].producer];
        pass_count(r, "outputs placed in the workspace", !node->ann.has_offset);
        node->ann.has_offset = true;
        node->ann.offset = roots[i].offset;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        Node *node = &g->nodes[i];
        int t = node->output, root = m->root[t];
        if (root == t || node->ann.has_offset || !storage_in_workspace(g, root))
            continue;
        node->ann.has_offset = true;
        node->ann.offset = g->nodes[g->tensors[root].producer].ann.offset + m->within[t];
        pass_count(r,
                   m->no_code[i]    ? "aliases placed on their operand"
                   : m->in_place[i] ? "outputs placed over an operand that dies there (element-wise, residual)"
                                    : "operands placed in their concat's slice",
                   1);
    }
}

/* Places the free roots around the placed ones; false after an error. */
static bool place(Graph *g, const StorageMap *m, const PassOptions *o, PassReport *r)
{
    size_t nt = (size_t)g->n_tensors + 1;
    Root *roots = calloc(nt, sizeof *roots);
    Root **placed = calloc(nt, sizeof *placed), **overlap = calloc(nt, sizeof *overlap);
    bool ok = roots && placed && overlap;
    if (!ok)
        diag_error(o->diag, SRCLOC_NONE, "out of memory placing the workspace");
    int n_placed = 0, n = ok ? collect_roots(g, m, roots, &n_placed) : 0;
    if (n > n_placed)
        qsort(roots + n_placed, (size_t)(n - n_placed), sizeof *roots, by_size);
    for (int i = 0; ok && i < n; i++) {
        if (i >= n_placed)
            roots[i].offset = lowest_fit(&roots[i], placed, i, overlap);
        placed[i] = &roots[i];
        if (roots[i].offset > STORAGE_MAX_BYTES - roots[i].size) { /* only past a given place near the end */
            const Node *node = &g->nodes[g->tensors[roots[i].tensor].producer];
            diag_error(o->diag, node->loc, "layer '%s': no place left for its output below %llu bytes",
                       node->name, (unsigned long long)STORAGE_MAX_BYTES);
            ok = false;
        }
    }
    if (ok)
        record_offsets(g, m, roots, n, r);
    free(roots);
    free(placed);
    free(overlap);
    return ok;
}

static bool check(const Graph *g, const PassOptions *o)
{
    StorageMap m;
    if (!storage_map_build(g, false, &m)) {
        diag_error(o->diag, SRCLOC_NONE, "out of memory checking the workspace's placement");
        return false;
    }
    const Node *culprit;
    char err[1024];
    bool ok = storage_check(g, &m, &culprit, err, sizeof err);
    if (!ok)
        diag_error(o->diag, culprit ? culprit->loc : SRCLOC_NONE, "%s", err);
    storage_map_free(&m);
    return ok;
}

bool pass_plan_memory(Graph *g, const PassOptions *o, PassReport *r)
{
    if (o->target->plans_workspace) {
        /* The given places must be legal before others are put around them. */
        if (!check(g, o))
            return false;
        StorageMap m;
        if (!storage_map_build(g, true, &m)) {
            diag_error(o->diag, SRCLOC_NONE, "out of memory placing the workspace");
            return false;
        }
        bool ok = place(g, &m, o, r);
        storage_map_free(&m);
        if (!ok)
            return false;
    }
    return check(g, o);
}
