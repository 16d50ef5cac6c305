#include "plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "bind.h"
#include "storage.h"

#define ALIGN STORAGE_ALIGN

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static size_t tensor_bytes(const Tensor *t)
{
    return (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

/* Bytes weight k of layer n takes in the blob: packed for its kernel, or as
 * stored. */
static size_t param_bytes(const Graph *g, const KernelBinding *b, const Node *n, int k)
{
    size_t packed = b->pack ? b->pack(g, n, k, NULL) : 0;
    return packed ? packed : tensor_bytes(&g->tensors[n->params[k]]);
}

static size_t weights_total(const Graph *g, const KernelBinding *bind)
{
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            total += align_up(param_bytes(g, &bind[i], &g->nodes[i], k));
    return total;
}

size_t plan_weights_bytes(const Graph *g)
{
    char err[256];
    KernelBinding *bind = bind_graph(g, ISA_ANY, err, sizeof err);
    if (!bind)
        return 0;
    size_t total = weights_total(g, bind);
    free(bind);
    return total;
}

/* Places every weight in the blob, 64-byte aligned, in layer order; the
 * blob itself is made later (plan_pack_weights, plan_write_weights). */
static bool layout_weights(const Graph *g, const KernelBinding *bind, Plan *p, char *err, size_t errsz)
{
    size_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        for (int k = 0; k < n->n_params; k++) {
            if (!g->tensors[n->params[k]].data) {
                snprintf(err, errsz, "layer '%s' has no weights (give --weights or --random-weights)",
                         n->name);
                return false;
            }
            p->loc[n->params[k]] = (Location){LOC_WEIGHTS, at, 0};
            at += align_up(param_bytes(g, &bind[i], n, k));
        }
    }
    p->weights_size = at;
    return true;
}

/* Weight k of layer n as the blob holds it, written to dst (zeroed, as
 * many bytes as param_bytes says). */
static void pack_param(const Graph *g, const KernelBinding *b, const Node *n, int k, unsigned char *dst)
{
    const Tensor *w = &g->tensors[n->params[k]];
    if (!(b->pack && b->pack(g, n, k, dst)))
        memcpy(dst, w->data, tensor_bytes(w));
}

void plan_pack_weights(const Graph *g, const KernelBinding *bind, const Plan *p, unsigned char *blob)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++) {
            pack_param(g, &bind[i], &g->nodes[i], k, blob + p->loc[g->nodes[i].params[k]].offset);
            graph_release_data(g, g->nodes[i].params[k]);
        }
}

/* Writes the bytes of a weight stored as it is in slices, each released
 * once written (graph_release_range): a weight in a weight file is then
 * never in memory whole, however large. */
static void write_released(const Graph *g, const unsigned char *data, size_t bytes, FILE *f)
{
    enum { SLICE = 4 << 20 };
    for (size_t at = 0; at < bytes; at += SLICE) {
        size_t len = bytes - at < SLICE ? bytes - at : SLICE;
        fwrite(data + at, 1, len, f);
        graph_release_range(g, data + at, len);
    }
}

/* Appends weight k of layer n to f as the blob holds it, padded to the
 * alignment: from the tensor itself when it is stored as it is, through
 * `scratch` (room for the largest packed weight) when its kernel packs it;
 * either way the tensor's pages are released once read (graph_release_data). */
static size_t write_param(const Graph *g, const KernelBinding *b, const Node *n, int k, unsigned char *scratch,
                          FILE *f)
{
    static const unsigned char zeros[ALIGN];
    size_t packed = b->pack ? b->pack(g, n, k, NULL) : 0;
    const Tensor *w = &g->tensors[n->params[k]];
    size_t bytes = packed ? packed : tensor_bytes(w);
    if (packed) {
        memset(scratch, 0, packed);
        pack_param(g, b, n, k, scratch);
        graph_release_data(g, n->params[k]);
        fwrite(scratch, 1, bytes, f); /* the caller checks the stream */
    } else {
        write_released(g, w->data, bytes, f);
    }
    fwrite(zeros, 1, align_up(bytes) - bytes, f);
    return align_up(bytes);
}

bool plan_write_weights(const Graph *g, const KernelBinding *bind, const Plan *p, FILE *f, char *err,
                        size_t errsz)
{
    size_t largest = 1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++) {
            size_t packed = bind[i].pack ? bind[i].pack(g, &g->nodes[i], k, NULL) : 0;
            largest = packed > largest ? packed : largest;
        }
    unsigned char *scratch = big_malloc(largest);
    if (!scratch) {
        snprintf(err, errsz, "out of memory for %zu bytes of one layer's packed weights", largest);
        return false;
    }
    size_t at = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            at += write_param(g, &bind[i], &g->nodes[i], k, scratch, f);
    free(scratch);
    if (at != p->weights_size) { /* plan_build laid them out in the same order */
        snprintf(err, errsz, "internal error: %zu bytes of weights written, %zu planned", at, p->weights_size);
        return false;
    }
    return true;
}

/* ---- activations -------------------------------------------------------------
 * Every activation's place is in the IR: plan-memory wrote @offset on each
 * layer whose output lives in the workspace (ir/storage.h has the rules).
 * Network inputs and outputs are the caller's buffers; a layer without a
 * place of its own reinterprets its operand's bytes (an alias), and a
 * concat whose operands were computed in its slices has no code either.
 * The placement is checked again here, so that no graph reaches code
 * generation with two live tensors in the same bytes, whoever placed them. */

static bool graph_output_index(const Graph *g, int t, int *index)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == t) {
            *index = i;
            return true;
        }
    return false;
}

/* The place of layer i's output; false if it has none. */
static bool locate_output(const Graph *g, const StorageMap *m, int i, Plan *p)
{
    const Node *n = &g->nodes[i];
    int t = n->output, index;
    if (graph_output_index(g, t, &index)) {
        p->loc[t] = (Location){LOC_OUTPUT, 0, index};
    } else if (n->ann.has_offset) {
        p->loc[t] = (Location){LOC_WORKSPACE, (size_t)n->ann.offset, 0};
        size_t end = (size_t)n->ann.offset + (size_t)storage_bytes(g, t);
        p->workspace_size = end > p->workspace_size ? end : p->workspace_size;
    } else if (m->no_code[i]) {
        p->loc[t] = p->loc[storage_alias_source(n)];
    } else {
        return false;
    }
    p->aliases[i] = m->no_code[i];
    return true;
}

static bool place_activations(const Graph *g, Plan *p, char *err, size_t errsz)
{
    StorageMap m;
    if (!storage_map_build(g, false, &m)) {
        snprintf(err, errsz, "out of memory planning buffers");
        return false;
    }
    const Node *culprit;
    bool ok = storage_check(g, &m, &culprit, err, errsz);
    for (int i = 0; ok && i < g->n_inputs; i++)
        p->loc[g->inputs[i]] = (Location){LOC_INPUT, 0, i};
    for (int i = 0; ok && i < g->n_nodes; i++)
        if (!locate_output(g, &m, i, p)) {
            snprintf(err, errsz, "layer '%s' has no place in the workspace (the plan-memory pass writes "
                     "@offset on every layer whose output needs one)", g->nodes[i].name);
            ok = false;
        }
    storage_map_free(&m);
    return ok;
}

bool plan_build(const Graph *g, const KernelBinding *bind, Plan *p, char *err, size_t errsz)
{
    memset(p, 0, sizeof *p);
    err[0] = '\0';
    p->loc = calloc((size_t)g->n_tensors + 1, sizeof *p->loc);
    p->aliases = calloc((size_t)g->n_nodes + 1, sizeof *p->aliases);
    bool ok = p->loc && p->aliases;
    if (!ok)
        snprintf(err, errsz, "out of memory planning buffers");
    ok = ok && layout_weights(g, bind, p, err, errsz) && place_activations(g, p, err, errsz);
    if (!ok)
        plan_free(p);
    return ok;
}

void plan_free(Plan *p)
{
    free(p->loc);
    free(p->aliases);
    free(p->weights);
    memset(p, 0, sizeof *p);
}
