/* The layers the sparse kernels compute (sparse_rules.h). */
#include "sparse_rules.h"

#include <stdint.h>
#include <stdio.h>

#include "kernels/dnnk.h"

static bool weights_fit(const Graph *g, const Node *n, char *why, size_t whysz)
{
    if (shape_elems(&g->tensors[n->params[0]].shape) <= INT32_MAX)
        return true;
    snprintf(why, whysz, "its sparse kernel takes at most 2^31 - 1 weights");
    return false;
}

bool sparse_accepts_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    return weights_fit(g, n, why, whysz);
}

bool sparse_accepts_fc_rows(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    if (g->tensors[n->inputs[0]].shape.d[0] != 1) {
        snprintf(why, whysz, "its sparse fc kernel by rows computes batch 1 only");
        return false;
    }
    return weights_fit(g, n, why, whysz);
}

bool sparse_qlinear_is_fc(const Graph *g, const Node *n)
{
    const ConvAttrs *a = &n->attr.qconv.conv;
    const Shape *in = &g->tensors[n->inputs[0]].shape, *out = &g->tensors[n->output].shape;
    return n->n_inputs == 1 && out->d[2] == 1 && out->d[3] == 1 && a->kernel[0] == in->d[2] &&
           a->kernel[1] == in->d[3] && a->pad[0] == 0 && a->pad[1] == 0 && a->pad[2] == 0 && a->pad[3] == 0;
}

bool sparse_accepts_qlinear_fc(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    const Shape *w = &g->tensors[n->params[0]].shape;
    if (!sparse_qlinear_is_fc(g, n) || n->attr.qconv.conv.groups != 1) {
        snprintf(why, whysz, "its sparse int8 kernel computes fc layers only (one output pixel of a kernel "
                             "covering the unpadded input, groups 1, no residual operand)");
        return false;
    }
    if (w->d[1] * w->d[2] * w->d[3] > DNNK_QGEMM_MAX_K) {
        snprintf(why, whysz, "its sparse int8 kernel sums at most %d inputs in int32", DNNK_QGEMM_MAX_K);
        return false;
    }
    return weights_fit(g, n, why, whysz);
}

bool sparse_accepts_conv(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    const ConvAttrs *a = &n->attr.conv;
    bool pointwise = a->kernel[0] == 1 && a->kernel[1] == 1 && a->stride[0] == 1 && a->stride[1] == 1 &&
                     a->groups == 1;
    for (int i = 0; i < 4; i++)
        pointwise = pointwise && a->pad[i] == 0;
    if (!pointwise) {
        snprintf(why, whysz, "its sparse conv kernel computes 1x1 convs of stride 1, unpadded, groups 1 only");
        return false;
    }
    return weights_fit(g, n, why, whysz);
}

bool sparse_accepts_conv_taps(const Graph *g, const Node *n, Layout reads, char *why, size_t whysz)
{
    (void)reads;
    return weights_fit(g, n, why, whysz);
}

/* The first index of the run of inner positions that `index` is in: its
 * slice of DNNK_SPARSE_SLICE rows for the fc's CSC, 0 (the whole row) for
 * the conv's CSR. */
static int64_t run_start(SparseFormat f, int64_t index)
{
    return f == SPARSE_CSC ? index / DNNK_SPARSE_SLICE * DNNK_SPARSE_SLICE : 0;
}

/* The fillers outer column (CSC) or row (CSR) o of s takes. */
static int64_t run_fillers(const SparseData *s, int64_t o)
{
    int64_t fillers = 0;
    for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++) {
        int64_t start = run_start(s->format, s->index[k]);
        int64_t before = k > s->ptr[o] && s->index[k - 1] >= start ? s->index[k - 1] : start;
        fillers += sparse_gap_fillers(s->index[k] - before);
    }
    return fillers;
}

int64_t sparse_packed_entries(const SparseData *s)
{
    int64_t outer = s->format == SPARSE_CSC ? s->cols : s->rows, fillers = 0;
    for (int64_t o = 0; o < outer; o++)
        fillers += run_fillers(s, o);
    return s->nnz + fillers;
}

int64_t sparse_fc_rows_group_steps(const SparseData *s, int64_t r0)
{
    int64_t most = 0;
    for (int64_t r = r0; r < s->rows && r < r0 + DNNK_SPARSE_GROUP; r++) {
        int64_t entries = s->ptr[r + 1] - s->ptr[r] + run_fillers(s, r);
        most = entries > most ? entries : most;
    }
    return most;
}

int64_t sparse_fc_rows_entries(const SparseData *s)
{
    int64_t steps = 0;
    for (int64_t r0 = 0; r0 < s->rows; r0 += DNNK_SPARSE_GROUP)
        steps += sparse_fc_rows_group_steps(s, r0);
    return steps * DNNK_SPARSE_GROUP;
}

int64_t sparse_qfc_group_steps(const SparseData *s, int64_t r0, int64_t *block_steps)
{
    int64_t blocks = dnnk_qsparse_fc_blocks(s->cols), steps = 0;
    for (int64_t b = 0; b < blocks; b++)
        block_steps[b] = 0;
    for (int64_t r = r0; r < s->rows && r < r0 + DNNK_SPARSE_GROUP; r++)
        for (int64_t k = s->ptr[r]; k < s->ptr[r + 1];) {
            /* The entries of row r in the block of entry k. */
            int64_t b = s->index[k] / DNNK_QSPARSE_COLS, count = 0;
            for (; k < s->ptr[r + 1] && s->index[k] / DNNK_QSPARSE_COLS == b; k++)
                count++;
            int64_t need = dnnk_ceil_div(count, DNNK_QSPARSE_DEPTH);
            block_steps[b] = need > block_steps[b] ? need : block_steps[b];
        }
    for (int64_t b = 0; b < blocks; b++)
        steps += block_steps[b];
    return steps;
}

int64_t sparse_qfc_steps(const SparseData *s)
{
    int64_t steps = 0, block_steps[DNNK_QSPARSE_MAX_BLOCKS];
    for (int64_t r0 = 0; r0 < s->rows; r0 += DNNK_SPARSE_GROUP)
        steps += sparse_qfc_group_steps(s, r0, block_steps);
    return steps;
}

int64_t sparse_layer_entries(const Graph *g, const Node *n)
{
    const SparseData *s = n->n_params ? g->tensors[n->params[0]].sparse : NULL;
    if (!s)
        return 0;
    if (n->op == OP_QLINEAR_CONV)
        return sparse_qfc_steps(s) * DNNK_SPARSE_GROUP * DNNK_QSPARSE_DEPTH;
    return n->op == OP_FC && s->format == SPARSE_CSR ? sparse_fc_rows_entries(s) : sparse_packed_entries(s);
}

int64_t sparse_stored_bytes(const Graph *g, const Node *n)
{
    const SparseData *s = n->n_params ? g->tensors[n->params[0]].sparse : NULL;
    if (!s)
        return n->n_params ? shape_elems(&g->tensors[n->params[0]].shape) *
                                 elem_type_bits(g->tensors[n->params[0]].type) / 8
                           : 0;
    if (n->op == OP_QLINEAR_CONV)
        return dnnk_qsparse_fc_bytes(s->rows, s->cols, sparse_qfc_steps(s));
    if (s->format == SPARSE_CSC)
        return dnnk_sparse_fc_bytes(s->rows, s->cols, sparse_packed_entries(s));
    if (n->op == OP_FC)
        return dnnk_sparse_fc_rows_bytes(s->rows, sparse_fc_rows_entries(s));
    return dnnk_sparse_conv_bytes(s->rows, sparse_packed_entries(s));
}
