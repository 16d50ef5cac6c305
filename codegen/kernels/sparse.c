/* Kernels that read sparse weights (dnnk.h, "sparse weights"): an fc from
 * CSC slices and convs from CSR filters, each entry's index relative to
 * the one before it. Each sums its entries (non-zero weights and zero
 * fillers) in the order stored and adds bias and residual after, as the
 * dense kernels do. */

/* The packed arrays of an fc or conv's sparse weights. */
typedef struct SparseWeights {
    const int32_t *offsets;
    const float *values;
    const uint8_t *gaps; /* each entry's row (fc), channel or tap (conv) less the one before it */
} SparseWeights;

/* acc[r] += w * x for every entry of slice column [begin, end), x = in[k]
 * of one image: the sparse matrix-vector product, the row advanced by each
 * entry's gap. A zero input adds nothing, so its column is skipped (EIE's
 * activation zero-skipping). */
INLINE void sparse_fc_column(float *acc, const SparseWeights *w, int32_t begin, int32_t end, float x)
{
    if (x == 0.0f)
        return;
    float *a = acc;
    for (int32_t e = begin; e < end; e++) {
        a += w->gaps[e];
        *a += w->values[e] * x;
    }
}

/* The same for nb images at once (sparse x dense): each entry is read
 * once for all of them. xs[b] is input k of image b; acc[b] its slice. */
INLINE void sparse_fc_columns(float (*acc)[DNNK_SPARSE_SLICE], int64_t nb, const SparseWeights *w,
                              int32_t begin, int32_t end, const float *xs)
{
    int64_t row = 0;
    for (int32_t e = begin; e < end; e++) {
        float v = w->values[e];
        row += w->gaps[e];
        for (int64_t b = 0; b < nb; b++)
            acc[b][row] += v * xs[b];
    }
}

/* Units: slices of DNNK_SPARSE_SLICE outputs, for every image. */
KERNEL dnnk_sparse_fc(const dnnk_sparse_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = d->has_residual ? ptrs[2] : 0;
    const unsigned char *packed = ptrs[2 + d->has_residual];
    const float *bias = d->has_bias ? ptrs[3 + d->has_residual] : 0;
    int64_t N = d->in.dims[0], K = dnnk_count(&d->in) / N, U = d->out.dims[1];
    SparseWeights w = {(const int32_t *)packed, (const float *)(packed + dnnk_sparse_fc_values_at(U, K)),
                       packed + dnnk_sparse_fc_values_at(U, K) + d->entries * 4};
    float acc[DNNK_SPARSE_BATCH][DNNK_SPARSE_SLICE], xs[DNNK_SPARSE_BATCH];
    for (int64_t s = begin; s < end; s++) {
        const int32_t *off = w.offsets + s * (K + 1);
        int64_t u0 = s * DNNK_SPARSE_SLICE, count = min64(DNNK_SPARSE_SLICE, U - u0);
        for (int64_t n0 = 0; n0 < N; n0 += DNNK_SPARSE_BATCH) {
            int64_t nb = min64(DNNK_SPARSE_BATCH, N - n0);
            for (int64_t b = 0; b < nb; b++)
                for (int64_t i = 0; i < DNNK_SPARSE_SLICE; i++)
                    acc[b][i] = 0;
            for (int64_t k = 0; k < K; k++) {
                if (nb == 1) {
                    sparse_fc_column(acc[0], &w, off[k], off[k + 1], in[n0 * K + k]);
                    continue;
                }
                for (int64_t b = 0; b < nb; b++)
                    xs[b] = in[(n0 + b) * K + k];
                sparse_fc_columns(acc, nb, &w, off[k], off[k + 1], xs);
            }
            for (int64_t b = 0; b < nb; b++)
                for (int64_t i = 0; i < count; i++) {
                    int64_t at = (n0 + b) * U + u0 + i;
                    out[at] = activate(&d->act, acc[b][i] + (bias ? bias[u0 + i] : 0.0f) + (res ? res[at] : 0.0f));
                }
        }
    }
}

/* ---- the fc by rows at batch 1 (dnnk_sparse_fc_rows) ----
 * A group's DNNK_SPARSE_GROUP rows walk their entries in step, lane l row
 * 16 g + l: its column advanced by the entry's gap, its sum by the value
 * times the input there. No loop ends per column and nothing is stored
 * until the group's sums are done: the CSC kernel's scatter and
 * its mispredicted loop exits are gone, at the price of reading every
 * input, zero or not (the input vector is small and stays in cache). */

/* The packed arrays of an fc's weights by rows. */
typedef struct RowWeights {
    const int32_t *steps;
    const float *values;
    const uint8_t *gaps;
} RowWeights;

INLINE RowWeights row_weights(const dnnk_sparse_fc_desc *d, const unsigned char *packed)
{
    int64_t U = d->out.dims[1];
    return (RowWeights){(const int32_t *)packed, (const float *)(packed + dnnk_sparse_fc_rows_values_at(U)),
                        packed + dnnk_sparse_fc_rows_values_at(U) + d->entries * 4};
}

/* The epilogue of group g's sums, for the rows of the layer it holds. */
INLINE void sparse_rows_store(const dnnk_sparse_fc_desc *d, float *out, const float *res, const float *bias,
                              int64_t g, const float *sums)
{
    int64_t r0 = g * DNNK_SPARSE_GROUP, count = min64(DNNK_SPARSE_GROUP, d->out.dims[1] - r0);
    for (int64_t l = 0; l < count; l++)
        out[r0 + l] = activate(&d->act, sums[l] + (bias ? bias[r0 + l] : 0.0f) + (res ? res[r0 + l] : 0.0f));
}

/* Units: groups of DNNK_SPARSE_GROUP outputs, of the one image. */
KERNEL dnnk_sparse_fc_rows(const dnnk_sparse_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = d->has_residual ? ptrs[2] : 0;
    const float *bias = d->has_bias ? ptrs[3 + d->has_residual] : 0;
    RowWeights w = row_weights(d, ptrs[2 + d->has_residual]);
    for (int64_t g = begin; g < end; g++) {
        float sums[DNNK_SPARSE_GROUP] = {0};
        int64_t col[DNNK_SPARSE_GROUP] = {0};
        for (int64_t s = w.steps[g]; s < w.steps[g + 1]; s++) {
            const float *v = w.values + s * DNNK_SPARSE_GROUP;
            const uint8_t *gap = w.gaps + s * DNNK_SPARSE_GROUP;
            for (int l = 0; l < DNNK_SPARSE_GROUP; l++) {
                col[l] += gap[l];
                sums[l] += v[l] * in[col[l]];
            }
        }
        sparse_rows_store(d, out, res, bias, g, sums);
    }
}

#define SPARSE_VECTORS (DNNK_SPARSE_PIXELS / DNNK_LANES)

/* The epilogue of one filter at `count` pixels whose sums are in acc
 * (which may be out). */
INLINE void sparse_conv_store(const dnnk_act *act, float *out, const float *res, const float *acc, int64_t count,
                              float bias)
{
    for (int64_t p = 0; p < count; p++)
        out[p] = activate(act, acc[p] + bias + (res ? res[p] : 0.0f));
}

/* Filter entries [begin, end) at a whole tile of pixels: the sums stay in
 * SPARSE_VECTORS vector registers while the entries stream. */
INLINE void sparse_conv_tile(const SparseWeights *w, int32_t begin, int32_t end, const float *x, int64_t plane,
                             float *sums)
{
    vf acc[SPARSE_VECTORS];
    for (int j = 0; j < SPARSE_VECTORS; j++)
        acc[j] = splatv(0.0f);
    const float *xc = x;
    for (int32_t e = begin; e < end; e++) {
        vf v = splatv(w->values[e]);
        xc += w->gaps[e] * plane;
        for (int j = 0; j < SPARSE_VECTORS; j++)
            acc[j] += v * loadv(xc + j * DNNK_LANES);
    }
    for (int j = 0; j < SPARSE_VECTORS; j++)
        storev(sums + j * DNNK_LANES, acc[j]);
}

/* The same at the `count` pixels left at the end of an image. */
INLINE void sparse_conv_tail(const SparseWeights *w, int32_t begin, int32_t end, const float *x, int64_t plane,
                             int64_t count, float *sums)
{
    for (int64_t p = 0; p < count; p++)
        sums[p] = 0.0f;
    const float *xc = x;
    for (int32_t e = begin; e < end; e++) {
        float v = w->values[e];
        xc += w->gaps[e] * plane;
        for (int64_t p = 0; p < count; p++)
            sums[p] += v * xc[p];
    }
}

/* Units: (image, tile of DNNK_SPARSE_PIXELS pixels). */
KERNEL dnnk_sparse_conv(const dnnk_sparse_conv_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = d->has_residual ? ptrs[2] : 0;
    const unsigned char *packed = ptrs[2 + d->has_residual];
    const float *bias = d->has_bias ? ptrs[3 + d->has_residual] : 0;
    int64_t C = d->in.dims[1], F = d->out.dims[1], plane = d->out.dims[2] * d->out.dims[3];
    int64_t tiles = (plane + DNNK_SPARSE_PIXELS - 1) / DNNK_SPARSE_PIXELS;
    SparseWeights w = {(const int32_t *)packed, (const float *)(packed + dnnk_sparse_conv_values_at(F)),
                       packed + dnnk_sparse_conv_values_at(F) + d->entries * 4};
    float sums[DNNK_SPARSE_PIXELS];
    for (int64_t u = begin; u < end; u++) {
        int64_t n = u / tiles, p0 = u % tiles * DNNK_SPARSE_PIXELS, count = min64(DNNK_SPARSE_PIXELS, plane - p0);
        const float *x = in + n * C * plane + p0;
        for (int64_t f = 0; f < F; f++) {
            if (count == DNNK_SPARSE_PIXELS)
                sparse_conv_tile(&w, w.offsets[f], w.offsets[f + 1], x, plane, sums);
            else
                sparse_conv_tail(&w, w.offsets[f], w.offsets[f + 1], x, plane, count, sums);
            int64_t at = (n * F + f) * plane + p0;
            sparse_conv_store(&d->act, out + at, res ? res + at : 0, sums, count, bias ? bias[f] : 0.0f);
        }
    }
}

/* The outputs [first, last) along one axis whose tap `k` (of stride s,
 * padding p, dilation dl) lands inside an input of `size`. */
INLINE void tap_range(int64_t k, int64_t s, int64_t p, int64_t dl, int64_t size, int64_t outputs, int64_t *first,
                      int64_t *last)
{
    int64_t lo = p - k * dl, hi = size - 1 + p - k * dl; /* o s must lie in [lo, hi] */
    *first = lo <= 0 ? 0 : (lo + s - 1) / s;
    *last = hi < 0 ? 0 : min64(outputs, hi / s + 1);
}

/* Units: output planes (image, filter). */
KERNEL dnnk_sparse_conv_taps(const dnnk_sparse_taps_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_conv_desc *cv = &d->conv;
    const dnnk_window *wn = &cv->win;
    float *out = ptrs[0];
    const float *in = ptrs[1], *res = cv->has_residual ? ptrs[2] : 0;
    const unsigned char *packed = ptrs[2 + cv->has_residual];
    const float *bias = cv->has_bias ? ptrs[3 + cv->has_residual] : 0;
    int64_t C = cv->in.dims[1], H = cv->in.dims[2], W = cv->in.dims[3];
    int64_t F = cv->out.dims[1], OH = cv->out.dims[2], OW = cv->out.dims[3];
    int64_t KH = wn->kernel[0], KW = wn->kernel[1], Cg = C / cv->groups, Fg = F / cv->groups;
    const int32_t *off = (const int32_t *)packed;
    const float *values = (const float *)(packed + dnnk_sparse_conv_values_at(F));
    const uint8_t *gaps = packed + dnnk_sparse_conv_values_at(F) + d->entries * 4;
    for (int64_t u = begin; u < end; u++) {
        int64_t n = u / F, f = u % F;
        float *o = out + u * OH * OW;
        const float *x = in + (n * C + f / Fg * Cg) * H * W;
        for (int64_t i = 0; i < OH * OW; i++)
            o[i] = 0.0f;
        int64_t tap = 0;
        for (int32_t e = off[f]; e < off[f + 1]; e++) {
            tap += gaps[e];
            int64_t c = tap / (KH * KW), ky = tap / KW % KH, kx = tap % KW, y0, y1, x0, x1;
            tap_range(ky, wn->stride[0], wn->pad[0], wn->dilation[0], H, OH, &y0, &y1);
            tap_range(kx, wn->stride[1], wn->pad[1], wn->dilation[1], W, OW, &x0, &x1);
            float v = values[e];
            for (int64_t y = y0; y < y1; y++) {
                const float *row = x + (c * H + y * wn->stride[0] - wn->pad[0] + ky * wn->dilation[0]) * W -
                                   wn->pad[1] + kx * wn->dilation[1];
                float *orow = o + y * OW;
                if (wn->stride[1] == 1)
                    for (int64_t ox = x0; ox < x1; ox++)
                        orow[ox] += v * row[ox];
                else
                    for (int64_t ox = x0; ox < x1; ox++)
                        orow[ox] += v * row[ox * wn->stride[1]];
            }
        }
        const float *r = res ? res + u * OH * OW : 0;
        sparse_conv_store(&cv->act, o, r, o, OH * OW, bias ? bias[f] : 0.0f);
    }
}

/* ---- checks of the packed weights (kernels.def's check column) ----
 * The generated code calls these before any layer runs and returns
 * NAME_ERROR_BAD_WEIGHTS when one fails: 0 valid, 1 not. A kernel reads an
 * entry only between offsets that these found ascending within the
 * entries, and follows its gaps only to places they found within the
 * column or row. */

/* count + 1 offsets ascending from `first`, none past `entries`. */
INLINE bool offsets_ascend(const int32_t *off, int64_t count, int64_t first, int64_t entries)
{
    if (off[0] != first)
        return false;
    for (int64_t i = 0; i < count; i++)
        if (off[i + 1] < off[i])
            return false;
    return off[count] <= entries;
}

/* Whether the entries [begin, end) of a column (fc) or row (conv) of
 * `places` stay within it: the last lands on the sum of their gaps. */
INLINE bool run_fits(const uint8_t *gaps, int32_t begin, int32_t end, int64_t places)
{
    int64_t reach = 0;
    for (int32_t e = begin; e < end; e++)
        reach += gaps[e];
    return reach < places;
}

int64_t dnnk_sparse_fc_check(const dnnk_sparse_fc_desc *d, void *const *ptrs)
{
    const unsigned char *packed = ptrs[2 + d->has_residual];
    int64_t N = d->in.dims[0], K = dnnk_count(&d->in) / N, U = d->out.dims[1];
    int64_t slices = dnnk_sparse_fc_slices(U);
    const int32_t *off = (const int32_t *)packed;
    const uint8_t *gaps = packed + dnnk_sparse_fc_values_at(U, K) + d->entries * 4;
    int64_t at = 0;
    for (int64_t s = 0; s < slices; at = off[s * (K + 1) + K], s++)
        if (!offsets_ascend(off + s * (K + 1), K, at, d->entries))
            return 1;
    if (at != d->entries)
        return 1;
    for (int64_t s = 0; s < slices; s++) {
        const int32_t *o = off + s * (K + 1);
        int64_t rows = min64(DNNK_SPARSE_SLICE, U - s * DNNK_SPARSE_SLICE);
        for (int64_t k = 0; k < K; k++)
            if (!run_fits(gaps, o[k], o[k + 1], rows))
                return 1;
    }
    return 0;
}

/* An fc's weights by rows: step offsets ascending from 0 to the entries'
 * steps, and every lane's gaps within the K columns. */
int64_t dnnk_sparse_fc_rows_check(const dnnk_sparse_fc_desc *d, void *const *ptrs)
{
    int64_t K = dnnk_count(&d->in) / d->in.dims[0], groups = dnnk_sparse_fc_rows_groups(d->out.dims[1]);
    RowWeights w = row_weights(d, ptrs[2 + d->has_residual]);
    int64_t steps = d->entries / DNNK_SPARSE_GROUP;
    if (d->entries % DNNK_SPARSE_GROUP != 0 || !offsets_ascend(w.steps, groups, 0, steps) || w.steps[groups] != steps)
        return 1;
    for (int64_t g = 0; g < groups; g++) {
        int64_t reach[DNNK_SPARSE_GROUP] = {0};
        for (int64_t s = w.steps[g]; s < w.steps[g + 1]; s++)
            for (int l = 0; l < DNNK_SPARSE_GROUP; l++)
                reach[l] += w.gaps[s * DNNK_SPARSE_GROUP + l];
        for (int l = 0; l < DNNK_SPARSE_GROUP; l++)
            if (reach[l] >= K)
                return 1;
    }
    return 0;
}

/* A conv's packed CSR filters (F of them, `entries` in all): offsets
 * from 0 ascending to the entries, every filter's entries within its
 * `columns`. */
INLINE int64_t check_conv_filters(const unsigned char *packed, int64_t F, int64_t entries, int64_t columns)
{
    const int32_t *off = (const int32_t *)packed;
    const uint8_t *gaps = packed + dnnk_sparse_conv_values_at(F) + entries * 4;
    if (!offsets_ascend(off, F, 0, entries) || off[F] != entries)
        return 1;
    for (int64_t f = 0; f < F; f++)
        if (!run_fits(gaps, off[f], off[f + 1], columns))
            return 1;
    return 0;
}
/* Columns are input channels. */
int64_t dnnk_sparse_conv_check(const dnnk_sparse_conv_desc *d, void *const *ptrs)
{
    return check_conv_filters(ptrs[2 + d->has_residual], d->out.dims[1], d->entries, d->in.dims[1]);
}

/* Columns are a filter's taps. */
int64_t dnnk_sparse_conv_taps_check(const dnnk_sparse_taps_desc *d, void *const *ptrs)
{
    const dnnk_conv_desc *cv = &d->conv;
    int64_t taps = cv->in.dims[1] / cv->groups * cv->win.kernel[0] * cv->win.kernel[1];
    return check_conv_filters(ptrs[2 + cv->has_residual], cv->out.dims[1], d->entries, taps);
}
