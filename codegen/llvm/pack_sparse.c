/* Packing of the sparse rows' weights (pack.h): the encoding select-sparsity
 * put in Tensor.sparse, in the stored form of dnnk_sparse_fc and
 * dnnk_sparse_conv (dnnk.h): values with absolute, narrow indices. */
#include <string.h>

#include "dnnk.h"
#include "pack.h"

static const SparseData *encoding(const Graph *g, const Node *n, SparseFormat f)
{
    const SparseData *s = g->tensors[n->params[0]].sparse;
    return s && s->format == f ? s : NULL;
}

/* The first entry of CSC column k at or below row `row` (entries of a
 * column ascend by row). */
static int64_t first_at_or_after(const SparseData *s, int64_t k, int64_t row)
{
    int64_t lo = s->ptr[k], hi = s->ptr[k + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->index[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t pack_sparse_fc(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSC);
    if (k != 0 || !s)
        return 0;
    int64_t U = s->rows, K = s->cols;
    size_t bytes = (size_t)dnnk_sparse_fc_bytes(U, K, s->nnz);
    if (!out)
        return bytes;
    unsigned char *base = out;
    int32_t *offsets = out;
    float *values = (float *)(base + dnnk_sparse_fc_values_at(U, K));
    uint16_t *rows = (uint16_t *)(base + dnnk_sparse_fc_values_at(U, K) + s->nnz * 4);
    int64_t e = 0;
    for (int64_t slice = 0; slice < dnnk_sparse_fc_slices(U); slice++) {
        int64_t r0 = slice * DNNK_SPARSE_SLICE;
        for (int64_t col = 0; col < K; col++) {
            *offsets++ = (int32_t)e;
            int64_t from = first_at_or_after(s, col, r0), to = first_at_or_after(s, col, r0 + DNNK_SPARSE_SLICE);
            for (int64_t i = from; i < to; i++, e++) {
                values[e] = s->values[i];
                rows[e] = (uint16_t)(s->index[i] - r0);
            }
        }
        *offsets++ = (int32_t)e;
    }
    return bytes;
}

/* The CSR columns fit 16 bits: sparse_accepts_conv and _conv_taps
 * (codegen/sparse_rules.h) refuse the layers whose columns would not. */
size_t pack_sparse_conv(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSR);
    if (k != 0 || !s)
        return 0;
    size_t bytes = (size_t)dnnk_sparse_conv_bytes(s->rows, s->nnz);
    if (!out)
        return bytes;
    unsigned char *base = out;
    int32_t *offsets = out;
    for (int64_t f = 0; f <= s->rows; f++)
        offsets[f] = (int32_t)s->ptr[f];
    memcpy(base + dnnk_sparse_conv_values_at(s->rows), s->values, (size_t)s->nnz * sizeof(float));
    uint16_t *channels = (uint16_t *)(base + dnnk_sparse_conv_values_at(s->rows) + s->nnz * 4);
    for (int64_t e = 0; e < s->nnz; e++)
        channels[e] = (uint16_t)s->index[e];
    return bytes;
}
