/* Packing of the sparse rows' weights (pack.h): the encoding select-sparsity
 * put in Tensor.sparse, in the stored form of dnnk_sparse_fc and
 * dnnk_sparse_conv (dnnk.h): values with relative indices, a byte each,
 * and the filler entries these need. */
#include <string.h>

#include "dnnk.h"
#include "pack.h"
#include "sparse_rules.h"

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

/* The packed entries of one column (row) run: entries [from, to) of s,
 * whose indices lie in [start, ...), written from packed entry e with
 * their gaps and the fillers these take (dnnk.h, "sparse weights"),
 * packed entry e at values[e * stride] and gaps[e * stride]. Returns the
 * entry after them. */
static int64_t pack_run(const SparseData *s, int64_t from, int64_t to, int64_t start, float *values,
                        uint8_t *gaps, int64_t stride, int64_t e)
{
    int64_t before = start;
    for (int64_t i = from; i < to; i++) {
        int64_t gap = s->index[i] - before;
        for (int64_t f = sparse_gap_fillers(gap); f > 0; f--, e++, gap -= DNNK_SPARSE_GAP_MAX)
            values[e * stride] = 0.0f, gaps[e * stride] = DNNK_SPARSE_GAP_MAX;
        values[e * stride] = s->values[i];
        gaps[e++ * stride] = (uint8_t)gap;
        before = s->index[i];
    }
    return e;
}

size_t pack_sparse_fc(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSC);
    if (k != 0 || !s)
        return 0;
    int64_t U = s->rows, K = s->cols, entries = sparse_packed_entries(s);
    size_t bytes = (size_t)dnnk_sparse_fc_bytes(U, K, entries);
    if (!out)
        return bytes;
    unsigned char *base = out;
    int32_t *offsets = out;
    float *values = (float *)(base + dnnk_sparse_fc_values_at(U, K));
    uint8_t *gaps = base + dnnk_sparse_fc_values_at(U, K) + entries * 4;
    int64_t e = 0;
    for (int64_t slice = 0; slice < dnnk_sparse_fc_slices(U); slice++) {
        int64_t r0 = slice * DNNK_SPARSE_SLICE;
        for (int64_t col = 0; col < K; col++) {
            *offsets++ = (int32_t)e;
            int64_t from = first_at_or_after(s, col, r0), to = first_at_or_after(s, col, r0 + DNNK_SPARSE_SLICE);
            e = pack_run(s, from, to, r0, values, gaps, 1, e);
        }
        *offsets++ = (int32_t)e;
    }
    return bytes;
}

/* The rows [r0, r0 + DNNK_SPARSE_GROUP) of s (CSR) in `steps` steps of
 * DNNK_SPARSE_GROUP entries from `values` and `gaps`, a lane a row: each
 * row packed as a run from column 0, then padded with value 0, gap 0 (a
 * lane past the last row all padding). */
static void pack_group(const SparseData *s, int64_t r0, int64_t steps, float *values, uint8_t *gaps)
{
    for (int64_t l = 0; l < DNNK_SPARSE_GROUP; l++) {
        int64_t r = r0 + l;
        int64_t used = r < s->rows ? pack_run(s, s->ptr[r], s->ptr[r + 1], 0, values + l, gaps + l,
                                              DNNK_SPARSE_GROUP, 0)
                                   : 0;
        for (int64_t e = used; e < steps; e++)
            values[e * DNNK_SPARSE_GROUP + l] = 0.0f, gaps[e * DNNK_SPARSE_GROUP + l] = 0;
    }
}

size_t pack_sparse_fc_rows(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSR);
    if (k != 0 || !s)
        return 0;
    int64_t U = s->rows, entries = sparse_fc_rows_entries(s);
    size_t bytes = (size_t)dnnk_sparse_fc_rows_bytes(U, entries);
    if (!out)
        return bytes;
    unsigned char *base = out;
    int32_t *offsets = out;
    float *values = (float *)(base + dnnk_sparse_fc_rows_values_at(U));
    uint8_t *gaps = base + dnnk_sparse_fc_rows_values_at(U) + entries * 4;
    int64_t step = 0;
    for (int64_t r0 = 0; r0 < U; r0 += DNNK_SPARSE_GROUP) {
        int64_t steps = sparse_fc_rows_group_steps(s, r0);
        *offsets++ = (int32_t)step;
        pack_group(s, r0, steps, values + step * DNNK_SPARSE_GROUP, gaps + step * DNNK_SPARSE_GROUP);
        step += steps;
    }
    *offsets = (int32_t)step;
    return bytes;
}

/* Row r's entries in block b of the qlinear fc's CSR s, from entry *k
 * (the row's first in the block or after it), into the DNNK_QSPARSE_DEPTH
 * places of lane l of the block's steps from `steps`; *k moves past them. */
static void pack_qsparse_lane(const SparseData *s, int64_t r, int64_t b, int64_t *k, int l, unsigned char *steps)
{
    for (int64_t e = 0; *k < s->ptr[r + 1] && s->index[*k] / DNNK_QSPARSE_COLS == b; e++, (*k)++) {
        unsigned char *step = steps + e / DNNK_QSPARSE_DEPTH * DNNK_QSPARSE_STEP_BYTES;
        int64_t at = l * DNNK_QSPARSE_DEPTH + e % DNNK_QSPARSE_DEPTH;
        step[at] = (unsigned char)(s->index[*k] % DNNK_QSPARSE_COLS);
        step[DNNK_SPARSE_GROUP * DNNK_QSPARSE_DEPTH + at] = (unsigned char)(int8_t)s->values[*k];
    }
}

/* The weights and their sums of one group of rows from r0: the steps of
 * each block (zero padded: column 0, weight 0), from step `step` on;
 * the offsets of its blocks. Returns the step after them. */
static int64_t pack_qsparse_group(const SparseData *s, int64_t r0, int64_t step, int32_t *offsets,
                                  unsigned char *steps, int64_t *sums)
{
    int64_t blocks = dnnk_qsparse_fc_blocks(s->cols), block_steps[DNNK_QSPARSE_MAX_BLOCKS];
    sparse_qfc_group_steps(s, r0, block_steps);
    int64_t next[DNNK_SPARSE_GROUP];
    for (int l = 0; l < DNNK_SPARSE_GROUP; l++)
        next[l] = r0 + l < s->rows ? s->ptr[r0 + l] : 0;
    for (int64_t b = 0; b < blocks; b++) {
        offsets[b] = (int32_t)step;
        for (int l = 0; l < DNNK_SPARSE_GROUP && r0 + l < s->rows; l++)
            pack_qsparse_lane(s, r0 + l, b, &next[l], l, steps + step * DNNK_QSPARSE_STEP_BYTES);
        step += block_steps[b];
    }
    for (int l = 0; l < DNNK_SPARSE_GROUP && r0 + l < s->rows; l++)
        for (int64_t k = s->ptr[r0 + l]; k < s->ptr[r0 + l + 1]; k++)
            sums[l] += (int64_t)s->values[k];
    return step;
}

size_t pack_qsparse_fc(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSR);
    if (k != 0 || !s)
        return 0;
    int64_t U = s->rows, K = s->cols, total = sparse_qfc_steps(s);
    size_t bytes = (size_t)dnnk_qsparse_fc_bytes(U, K, total);
    if (!out)
        return bytes;
    memset(out, 0, bytes);
    unsigned char *base = out;
    int32_t *offsets = out;
    int64_t blocks = dnnk_qsparse_fc_blocks(K), step = 0;
    for (int64_t r0 = 0; r0 < U; r0 += DNNK_SPARSE_GROUP) {
        int64_t sums[DNNK_SPARSE_GROUP] = {0};
        step = pack_qsparse_group(s, r0, step, offsets + r0 / DNNK_SPARSE_GROUP * blocks,
                                  base + dnnk_qsparse_fc_steps_at(U, K), sums);
        for (int64_t l = 0; l < DNNK_SPARSE_GROUP && r0 + l < U; l++)
            pack_qlinear_epilogue(g, n, r0 + l, sums[l], PIXELS_U8, base + dnnk_qsparse_fc_table_at(U, K, total));
    }
    offsets[dnnk_qsparse_fc_groups(U) * blocks] = (int32_t)step;
    return bytes;
}

size_t pack_sparse_conv(const Graph *g, const Node *n, int k, void *out)
{
    const SparseData *s = encoding(g, n, SPARSE_CSR);
    if (k != 0 || !s)
        return 0;
    int64_t entries = sparse_packed_entries(s);
    size_t bytes = (size_t)dnnk_sparse_conv_bytes(s->rows, entries);
    if (!out)
        return bytes;
    unsigned char *base = out;
    int32_t *offsets = out;
    float *values = (float *)(base + dnnk_sparse_conv_values_at(s->rows));
    uint8_t *gaps = base + dnnk_sparse_conv_values_at(s->rows) + entries * 4;
    int64_t e = 0;
    for (int64_t f = 0; f < s->rows; f++) {
        offsets[f] = (int32_t)e;
        e = pack_run(s, s->ptr[f], s->ptr[f + 1], 0, values, gaps, 1, e);
    }
    offsets[s->rows] = (int32_t)e;
    return bytes;
}
