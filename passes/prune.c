/* prune: magnitude pruning of conv and fc weights (survey VII-B1, as Han et
 * al.'s Deep Compression prunes before it quantises). The weights of
 * smallest magnitude become exact zeros, so that the density left is the
 * one asked for: over all conv and fc weights together (one threshold, as
 * PyTorch's global_unstructured pruning), or layer by layer
 * (--prune-per-layer). Biases and other layers' weights are kept. It runs
 * first in the pipeline, on the weights as written (before batch norms are
 * folded into them), so the ranking is the trained weights' own; the zeros
 * survive every later pass. The kept weights are exactly the largest ones:
 * a layer of n weights at density d keeps round(d * n) of them (ties at
 * the threshold broken by position). dnnc stats shows the non-zero weights
 * and MACs that remain. */
#include <math.h>
#include <string.h>

#include "pass.h"
#include "prune.h"

/* Magnitude bits: for floats >= 0 the unsigned bit patterns order like the
 * values, so selecting on bits selects on magnitudes. */
static uint32_t magnitude_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b & 0x7fffffffu;
}

/* In the bin histogram of `shift`-bit digits of the values whose higher
 * digits equal `prefix` (under `mask`), the digit that holds the k-th
 * largest; k becomes its rank within that digit. */
static uint32_t select_digit(const float *const *v, const int64_t *n, int parts, uint32_t prefix,
                             uint32_t mask, int shift, int64_t *k, int64_t *count)
{
    memset(count, 0, PRUNE_SCRATCH * sizeof *count);
    for (int p = 0; p < parts; p++)
        for (int64_t i = 0; i < n[p]; i++) {
            uint32_t b = magnitude_bits(v[p][i]);
            if ((b & mask) == prefix)
                count[(b >> shift) & 0xffff]++;
        }
    uint32_t digit = 65535;
    for (;; digit--) {
        if (*k <= count[digit] || digit == 0)
            break;
        *k -= count[digit];
    }
    return digit;
}

float prune_kth_largest(const float *const *v, const int64_t *n, int parts, int64_t k, int64_t *scratch)
{
    uint32_t high = select_digit(v, n, parts, 0, 0, 16, &k, scratch);
    uint32_t low = select_digit(v, n, parts, high << 16, 0xffff0000u, 0, &k, scratch);
    uint32_t bits = high << 16 | low;
    float t;
    memcpy(&t, &bits, sizeof t);
    return t;
}

typedef struct Pruned {
    float *w;
    int64_t n;
} Pruned;

/* The next name of a comma-separated list at *cursor, advancing it. */
static bool next_listed(const char **cursor, const char **name, size_t *len)
{
    if (!*cursor || !**cursor)
        return false;
    const char *comma = strchr(*cursor, ',');
    *name = *cursor;
    *len = comma ? (size_t)(comma - *cursor) : strlen(*cursor);
    *cursor = comma ? comma + 1 : NULL;
    return true;
}

bool prune_layer_listed(const char *list, const char *name)
{
    const char *at;
    size_t len;
    while (next_listed(&list, &at, &len))
        if (len == strlen(name) && strncmp(at, name, len) == 0)
            return true;
    return false;
}

static bool prunable(const Graph *g, const Node *n, const PruneOptions *po)
{
    if (n->removed || (n->op != OP_CONV && n->op != OP_FC))
        return false;
    const Tensor *w = &g->tensors[n->params[0]];
    return w->type.kind == ELEM_F32 && w->data && (!po->layers || prune_layer_listed(po->layers, n->name));
}

/* Every name --prune-layers gives is a conv or fc layer of the graph. */
static bool layers_exist(const Graph *g, const PassOptions *o)
{
    const char *list = o->prune->layers, *at;
    size_t len;
    bool ok = true;
    while (next_listed(&list, &at, &len)) {
        bool found = false;
        for (int i = 0; i < g->n_nodes && !found; i++) {
            const Node *n = &g->nodes[i];
            found = (n->op == OP_CONV || n->op == OP_FC) && strlen(n->name) == len &&
                    strncmp(n->name, at, len) == 0;
        }
        if (!found)
            diag_error(o->diag, SRCLOC_NONE, "--prune-layers: the network has no conv or fc layer "
                                             "called '%.*s'", (int)len, at);
        ok = ok && found;
    }
    return ok;
}

/* Keeps the `keep` largest magnitudes of the parts, zeroing the rest: the
 * values above the threshold, then values equal to it in order until
 * `keep` are kept. Returns the weights zeroed. */
static int64_t keep_largest(Graph *g, Pruned *parts, int count, int64_t keep, int64_t *scratch)
{
    int64_t total = 0;
    for (int p = 0; p < count; p++)
        total += parts[p].n;
    if (keep >= total)
        return 0;
    const float **v = arena_array(&g->arena, (size_t)count, sizeof *v);
    int64_t *n = arena_array(&g->arena, (size_t)count, sizeof *n);
    for (int p = 0; p < count; p++)
        v[p] = parts[p].w, n[p] = parts[p].n;
    float t = keep > 0 ? prune_kth_largest(v, n, count, keep, scratch) : INFINITY;
    int64_t above = 0;
    for (int p = 0; p < count; p++)
        for (int64_t i = 0; i < n[p]; i++)
            above += fabsf(v[p][i]) > t;
    int64_t ties = keep - above, zeroed = 0;
    for (int p = 0; p < count; p++)
        for (int64_t i = 0; i < parts[p].n; i++) {
            float m = fabsf(parts[p].w[i]);
            if (m > t || (m == t && ties-- > 0))
                continue;
            zeroed += parts[p].w[i] != 0;
            parts[p].w[i] = 0;
        }
    return zeroed;
}

int64_t prune_keep_largest(Graph *g, float *w, int64_t n, int64_t keep, int64_t *scratch)
{
    Pruned part = {w, n};
    return keep_largest(g, &part, 1, keep, scratch);
}

static int64_t kept_at(double density, int64_t n) { return (int64_t)llround(density * (double)n); }

bool pass_prune(Graph *g, const PassOptions *o, PassReport *r)
{
    const PruneOptions *po = o->prune;
    if (!po || (po->density <= 0 && !po->energy_aware))
        return true;
    if (!layers_exist(g, o))
        return false;
    if (po->structured)
        return prune_filters(g, o, r);
    if (po->energy_aware)
        return prune_by_energy(g, o, r);
    Pruned *parts = arena_array(&g->arena, (size_t)g->n_nodes + 1, sizeof *parts);
    int count = 0;
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!prunable(g, &g->nodes[i], po))
            continue;
        int w = g->nodes[i].params[0];
        /* New storage: the weights as bound may be shared (a mapped file). */
        const float *old = g->tensors[w].data;
        int64_t n = shape_elems(&g->tensors[w].shape);
        float *fresh = graph_new_data(g, w);
        memcpy(fresh, old, (size_t)n * sizeof *fresh);
        parts[count++] = (Pruned){fresh, n};
        total += n;
    }
    if (!count) {
        diag_error(o->diag, SRCLOC_NONE, "pruning needs conv or fc layers with bound float32 weights");
        return false;
    }
    int64_t zeroed = 0, *scratch = arena_array(&g->arena, PRUNE_SCRATCH, sizeof *scratch);
    if (po->per_layer)
        for (int p = 0; p < count; p++)
            zeroed += keep_largest(g, &parts[p], 1, kept_at(po->density, parts[p].n), scratch);
    else
        zeroed = keep_largest(g, parts, count, kept_at(po->density, total), scratch);
    pass_count(r, "weights pruned to zero", zeroed);
    return true;
}
