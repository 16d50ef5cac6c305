/* Winograd F(m x m, 3 x 3) on blocked activations (dnnk.h,
 * dnnk_conv_winograd_blocked; survey V-A): the transforms of winograd.c
 * applied to 16-channel vectors, and the alpha^2 products summed over the
 * channels by the blocked conv's register tiles (blocked.c), whose "pixels"
 * are here output tiles and whose taps are the alpha^2 points.
 *
 * A unit (image, filter blocks, run of tiles) works in three steps, as
 * oneDNN's AVX-512 Winograd does:
 *   V[xi][cb][tile] = B^T d B of each tile's alpha x alpha window, 16
 *                     channels a vector, for a chunk of channel blocks;
 *   M[xi][fb][tile] += sum over the chunk's channels of U[fb][xi][c] V[xi][c]
 *                     (alpha^2 GEMMs, tiles x channels x filters);
 *   out             = act(A^T M A + bias + residual), m x m pixels a tile.
 * Runs of many tiles let each filter's U, alpha^2/9 times its weights, be
 * read once for many tiles; chunks of channels keep V small. */

/* The sizes of a call. */
typedef struct BWino {
    int64_t m, a2, C, CB, H, W, FB, OH, OW, pad_top, pad_left;
    int64_t across, tiles;          /* output tiles per row, per plane */
    int64_t unit_tiles, unit_fb, cbc; /* per unit: tiles, filter blocks; channel blocks per chunk */
    int64_t u_block;                /* floats of one filter block's U: alpha^2 CB 256 */
} BWino;

INLINE BWino bwino_sizes(const dnnk_winograd_blocked_desc *d)
{
    const dnnk_conv_desc *c = &d->conv;
    BWino g = {.m = d->m, .a2 = (d->m + 2) * (d->m + 2), .C = d->channels, .CB = c->in.dims[1] / DNNK_BLOCK,
               .H = c->in.dims[2], .W = c->in.dims[3], .FB = c->out.dims[1] / DNNK_BLOCK,
               .OH = c->out.dims[2], .OW = c->out.dims[3], .pad_top = c->win.pad[0],
               .pad_left = c->win.pad[1], .unit_tiles = d->tiles, .unit_fb = d->filter_blocks,
               .cbc = d->channel_blocks};
    g.across = dnnk_ceil_div(g.OW, g.m);
    g.tiles = dnnk_winograd_plane_tiles(g.OH, g.OW, g.m);
    g.u_block = g.a2 * g.CB * DNNK_BLOCK * DNNK_BLOCK;
    return g;
}

/* What one unit computes. */
typedef struct BWinoUnit {
    int64_t n, fb0, fbn; /* image, first filter block and their number */
    int64_t t0, tn;      /* first tile and their number */
    int64_t tp;          /* tn rounded up to whole register tiles: V's and M's row */
} BWinoUnit;

/* V[xi][cc][t] for channel blocks cb0 .. cb0 + cbn - 1 and the unit's
 * tiles: each tile's window (taps outside the input zero), transformed a
 * vector of DNNK_LANES channels at a time. Tiles past the unit's last,
 * up to tp, are zero windows, whose sums nothing reads. */
INLINE void bwino_transform_inputs(const BWino *g, const float *in, const BWinoUnit *u, int64_t cb0,
                                   int64_t cbn, float *V, const int m)
{
    const int alpha = m + 2, a2 = alpha * alpha;
    for (int64_t cc = 0; cc < cbn; cc++) {
        const float *plane = in + (u->n * g->CB + cb0 + cc) * g->H * g->W * DNNK_BLOCK;
        for (int64_t j = 0; j < u->tp; j++) {
            int64_t t = u->t0 + j;
            int64_t y0 = t / g->across * m - g->pad_top, x0 = t % g->across * m - g->pad_left;
            bool real = j < u->tn;
            for (int64_t h = 0; h < DNNK_BLOCK; h += DNNK_LANES) {
                vf x[WINO_MAX_A2], v[WINO_MAX_A2];
                for (int64_t i = 0; i < alpha; i++)
                    for (int64_t k = 0; k < alpha; k++) {
                        int64_t y = y0 + i, xx = x0 + k;
                        bool inside = real && (uint64_t)y < (uint64_t)g->H && (uint64_t)xx < (uint64_t)g->W;
                        x[i * alpha + k] = inside ? loadv(plane + (y * g->W + xx) * DNNK_BLOCK + h) : (vf){0};
                    }
                wino_input_2d(m, x, v);
                for (int64_t xi = 0; xi < a2; xi++)
                    storev(V + ((xi * cbn + cc) * u->tp + j) * DNNK_BLOCK + h, v[xi]);
            }
        }
    }
}

/* One register tile of the GEMM at point xi: ocb filter blocks x 6 tiles
 * from tile j, summed over the chunk's cbn channel blocks from cb0 (nc
 * channels in the last, C's padding never read) onto M (from zero on the
 * first chunk). The hot loop is the blocked conv's (blk_conv_step). */
INLINE void bwino_gemm_tile(const BWino *g, const BWinoUnit *u, const float *U, const float *V, float *M,
                            int64_t xi, int64_t fb, int64_t j, int64_t cb0, int64_t cbn, const int ocb)
{
    const int ur = DNNK_WINOGRAD_BLOCKED_UR;
    v16 acc[BLK_OCB][BLK_UR];
    float *m0 = M + ((xi * g->unit_fb + fb) * u->tp + j) * DNNK_BLOCK;
    int64_t m_block = u->tp * DNNK_BLOCK;
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int k = 0; k < ur; k++)
            acc[f][k] = cb0 == 0 ? (v16){0} : blk_load(m0 + f * m_block + k * DNNK_BLOCK);
    const float *w = U + (u->fb0 + fb) * g->u_block + (xi * g->CB + cb0) * DNNK_BLOCK * DNNK_BLOCK;
    for (int64_t cc = 0; cc < cbn; cc++) {
        const float *p[BLK_UR];
        BLK_UNROLL
        for (int k = 0; k < ur; k++)
            p[k] = V + ((xi * cbn + cc) * u->tp + j + k) * DNNK_BLOCK;
        int64_t nc = min64(DNNK_BLOCK, g->C - (cb0 + cc) * DNNK_BLOCK);
        blk_conv_step(acc, w + cc * DNNK_BLOCK * DNNK_BLOCK, g->u_block, p, NULL, 0, nc, ocb, ur, false);
    }
    BLK_UNROLL
    for (int f = 0; f < ocb; f++)
        BLK_UNROLL
        for (int k = 0; k < ur; k++)
            blk_store(m0 + f * m_block + k * DNNK_BLOCK, acc[f][k]);
}

/* One function per filter-block count, shared by every layer and linked
 * only where a layer calls it (as the blocked conv's tiles). */
#define BWINO_GEMM_FN(ocb)                                                                                  \
    DNNK_DEFERRED_FN(bwino_gemm_##ocb, (const BWino *g, const BWinoUnit *u, const float *U, const float *V,    \
                                        float *M, int64_t xi, int64_t fb, int64_t j, int64_t cb0, int64_t cbn)) \
    {                                                                                                       \
        bwino_gemm_tile(g, u, U, V, M, xi, fb, j, cb0, cbn, ocb);                                           \
    }
BWINO_GEMM_FN(1)
#if BLK_OCB >= 4
BWINO_GEMM_FN(2)
BWINO_GEMM_FN(3)
BWINO_GEMM_FN(4)
#endif

INLINE void bwino_gemm_any(const BWino *g, const BWinoUnit *u, const float *U, const float *V, float *M,
                           int64_t xi, int64_t fb, int64_t j, int64_t cb0, int64_t cbn, int64_t ocb)
{
    switch (ocb) {
    case 1: bwino_gemm_1(g, u, U, V, M, xi, fb, j, cb0, cbn); break;
#if BLK_OCB >= 4
    case 2: bwino_gemm_2(g, u, U, V, M, xi, fb, j, cb0, cbn); break;
    case 3: bwino_gemm_3(g, u, U, V, M, xi, fb, j, cb0, cbn); break;
    case 4: bwino_gemm_4(g, u, U, V, M, xi, fb, j, cb0, cbn); break;
#endif
    default: break;
    }
}

/* M += the products of one chunk of channel blocks: per point, per group
 * of at most BLK_OCB of the unit's filter blocks, per register tile. */
INLINE void bwino_multiply(const BWino *g, const BWinoUnit *u, const float *U, const float *V, float *M,
                           int64_t cb0, int64_t cbn)
{
    BlkSplit fsplit = blk_split(u->fbn, BLK_OCB);
    for (int64_t xi = 0; xi < g->a2; xi++)
        for (int64_t k = 0; k < fsplit.parts; k++)
            for (int64_t j = 0; j < u->tp; j += DNNK_WINOGRAD_BLOCKED_UR)
                bwino_gemm_any(g, u, U, V, M, xi, blk_part_start(&fsplit, k), j, cb0, cbn,
                               blk_part_size(&fsplit, k));
}

/* One output tile's m x m pixels (rows x cols of them inside the plane,
 * the first at `at`) written as act(y + bias + residual), the blocked
 * conv's epilogue, with each test made once for the tile
 * (blk_tile_epilogue). */
INLINE void bwino_write_tile(const BWino *g, const BlkOps *o, float ys[][DNNK_BLOCK], const float *bias, int64_t at,
                             int64_t rows, int64_t cols, const int m)
{
    v16 y[WINO_MAX_A2], b = bias ? blk_load(bias) : (v16){0};
    BLK_UNROLL
    for (int k = 0; k < m * m; k++)
        y[k] = blk_load(ys[k]) + b;
    if (o->res)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t k = 0; k < cols; k++)
                y[i * m + k] += blk_load(o->res + at + (i * g->OW + k) * DNNK_BLOCK);
    blk_activate_all(&o->act, y, m, m, m);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < cols; k++)
            blk_store(o->out + at + (i * g->OW + k) * DNNK_BLOCK, y[i * m + k]);
}

/* Y = A^T M A of every filter block and tile of the unit, each output
 * pixel inside the plane written as act(Y + bias + residual), 16 filters a
 * vector (the blocked conv's epilogue). */
INLINE void bwino_write_outputs(const BWino *g, const BWinoUnit *u, const BlkOps *o, const float *M, const int m)
{
    const int a2 = (m + 2) * (m + 2);
    for (int64_t f = 0; f < u->fbn; f++) {
        int64_t fb = u->fb0 + f;
        const float *bias = o->bias ? o->bias + fb * DNNK_BLOCK : 0;
        int64_t plane = (u->n * g->FB + fb) * g->OH * g->OW * DNNK_BLOCK;
        for (int64_t j = 0; j < u->tn; j++) {
            float ys[WINO_MAX_A2][DNNK_BLOCK];
            for (int64_t h = 0; h < DNNK_BLOCK; h += DNNK_LANES) {
                vf x[WINO_MAX_A2], y[WINO_MAX_A2];
                for (int64_t xi = 0; xi < a2; xi++)
                    x[xi] = loadv(M + ((xi * g->unit_fb + f) * u->tp + j) * DNNK_BLOCK + h);
                wino_output_2d(m, x, y);
                for (int64_t k = 0; k < m * m; k++)
                    storev(ys[k] + h, y[k]);
            }
            int64_t t = u->t0 + j, oy = t / g->across * m, ox = t % g->across * m;
            bwino_write_tile(g, o, ys, bias, plane + (oy * g->OW + ox) * DNNK_BLOCK, min64(m, g->OH - oy),
                             min64(m, g->OW - ox), m);
        }
    }
}

/* The transforms of each tile size, one function each shared by every
 * layer (as the GEMM's register tiles): inlined into every layer with its
 * constant m, their unrolled alpha^2-vector transforms doubled the compile
 * time of VGG-16. */
#define BWINO_TRANSFORM_FNS(m)                                                                              \
    DNNK_DEFERRED_FN(bwino_inputs_##m,                                                                      \
                     (const BWino *g, const float *in, const BWinoUnit *u, int64_t cb0, int64_t cbn, float *V)) \
    {                                                                                                       \
        bwino_transform_inputs(g, in, u, cb0, cbn, V, m);                                                   \
    }                                                                                                       \
    DNNK_DEFERRED_FN(bwino_outputs_##m, (const BWino *g, const BWinoUnit *u, const BlkOps *o, const float *M)) \
    {                                                                                                       \
        bwino_write_outputs(g, u, o, M, m);                                                                 \
    }
BWINO_TRANSFORM_FNS(2)
BWINO_TRANSFORM_FNS(4)
BWINO_TRANSFORM_FNS(6)

INLINE void bwino_inputs_any(const BWino *g, const float *in, const BWinoUnit *u, int64_t cb0, int64_t cbn,
                             float *V)
{
    if (g->m == 2)
        bwino_inputs_2(g, in, u, cb0, cbn, V);
    else if (g->m == 4)
        bwino_inputs_4(g, in, u, cb0, cbn, V);
    else
        bwino_inputs_6(g, in, u, cb0, cbn, V);
}

INLINE void bwino_outputs_any(const BWino *g, const BWinoUnit *u, const BlkOps *o, const float *M)
{
    if (g->m == 2)
        bwino_outputs_2(g, u, o, M);
    else if (g->m == 4)
        bwino_outputs_4(g, u, o, M);
    else
        bwino_outputs_6(g, u, o, M);
}

/* ptrs: out, in, [residual], transformed filters, [bias]. V and M share
 * one array on the stack (DNNK_WINOGRAD_BLOCKED_STACK floats; dnnc sizes a
 * unit to fit, dnnk_winograd_blocked_floats). */
KERNEL dnnk_conv_winograd_blocked(const dnnk_winograd_blocked_desc *d, void *const *ptrs, int64_t begin,
                                  int64_t end)
{
    BWino g = bwino_sizes(d);
    BlkOps o = blk_ops(&d->conv, ptrs, NULL);
    const float *U = o.w;
    float stack[DNNK_WINOGRAD_BLOCKED_STACK] __attribute__((aligned(64)));
    int64_t fgroups = dnnk_ceil_div(g.FB, g.unit_fb), runs = dnnk_ceil_div(g.tiles, g.unit_tiles);
    for (int64_t k = begin; k < end; k++) {
        dnnk_blocked_unit at = dnnk_blocked_unit_at(k, fgroups, runs, d->rows_major);
        BWinoUnit u = {.n = at.n, .fb0 = at.group * g.unit_fb, .t0 = at.run * g.unit_tiles};
        u.fbn = min64(g.unit_fb, g.FB - u.fb0);
        u.tn = min64(g.unit_tiles, g.tiles - u.t0);
        u.tp = dnnk_ceil_div(u.tn, DNNK_WINOGRAD_BLOCKED_UR) * DNNK_WINOGRAD_BLOCKED_UR;
        float *M = stack, *V = stack + g.a2 * g.unit_fb * u.tp * DNNK_BLOCK;
        for (int64_t cb0 = 0; cb0 < g.CB; cb0 += g.cbc) {
            int64_t cbn = min64(g.cbc, g.CB - cb0);
            bwino_inputs_any(&g, o.in, &u, cb0, cbn, V);
            bwino_multiply(&g, &u, U, V, M, cb0, cbn);
        }
        bwino_outputs_any(&g, &u, &o, M);
    }
}
