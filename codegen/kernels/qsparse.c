/* The int8 fc from sparse weights (dnnk.h, dnnk_qsparse_fc): each step of
 * a group of rows looks its 64 inputs up in a block of 128 (one vpermi2b
 * where the CPU has AVX-512 VBMI) and adds four products a row into the
 * row's int32 sum (one vpdpbusd), so that a non-zero weight costs a byte
 * of column and a byte of value, and no load of its own: the gathers of
 * the float fc by rows (sparse.c), one load an entry, are what bound it.
 * The epilogue is the int8 GEMM's (qgemm.c), bit for bit the reference's
 * requantisation. */

/* sums[l] += the products of the `count` steps from `steps` with the
 * block's inputs xb (DNNK_QSPARSE_COLS bytes, each less `flip`: u8, i8
 * ones shifted by 128, which the packed offsets undo). */
typedef void (*QsparseSteps)(int32_t sums[DNNK_SPARSE_GROUP], const uint8_t *xb, uint8_t flip,
                             const uint8_t *steps, int64_t count);

/* Portable C: the same sums, a lookup and a product at a time. */
INLINE void qsparse_steps_plain(int32_t sums[DNNK_SPARSE_GROUP], const uint8_t *xb, uint8_t flip,
                                const uint8_t *steps, int64_t count)
{
    for (int64_t s = 0; s < count; s++) {
        const uint8_t *cols = steps + s * DNNK_QSPARSE_STEP_BYTES, *w = cols + DNNK_QSPARSE_STEP_BYTES / 2;
        for (int l = 0; l < DNNK_SPARSE_GROUP; l++)
            for (int e = 0; e < DNNK_QSPARSE_DEPTH; e++) {
                int at = l * DNNK_QSPARSE_DEPTH + e;
                sums[l] += (int32_t)(uint8_t)(xb[cols[at] % DNNK_QSPARSE_COLS] ^ flip) * (int32_t)(int8_t)w[at];
            }
    }
}

#if defined(__x86_64__) && DNNK_LANES == 16 && defined(QGEMM_VNNI)
typedef char v64qi __attribute__((vector_size(64), aligned(1)));
#define QSPARSE_VBMI QGEMM_VNNI ",avx512vbmi"

/* *acc += the products of one step with the block's inputs lo, hi. */
__attribute__((always_inline, target(QSPARSE_VBMI))) static void qsparse_step(vi *acc, const v64qi *lo,
                                                                            const v64qi *hi, const uint8_t *step)
{
    v64qi cols, w;
    copy_bytes(&cols, step, sizeof cols);
    copy_bytes(&w, step + sizeof cols, sizeof w);
    v64qi x = __builtin_ia32_vpermi2varqi512(*lo, cols, *hi);
    *acc = (vi)VPDPBUSD(*acc, (vi)x, (vi)w);
}

/* Four sums a lane, steps taken four at a time, so that a vpdpbusd need
 * not wait for the one before it. */
__attribute__((always_inline, target(QSPARSE_VBMI))) static void
qsparse_steps_vbmi(int32_t sums[DNNK_SPARSE_GROUP], const uint8_t *xb, uint8_t flip, const uint8_t *steps,
                   int64_t count)
{
    v64qi lo, hi, flips = (v64qi){0} + (char)flip;
    copy_bytes(&lo, xb, sizeof lo);
    copy_bytes(&hi, xb + sizeof lo, sizeof hi);
    lo ^= flips, hi ^= flips;
    vi a0, a1 = {0}, a2 = {0}, a3 = {0};
    copy_bytes(&a0, sums, sizeof a0);
    int64_t s = 0;
    for (; s + 4 <= count; s += 4) {
        const uint8_t *at = steps + s * DNNK_QSPARSE_STEP_BYTES;
        qsparse_step(&a0, &lo, &hi, at);
        qsparse_step(&a1, &lo, &hi, at + DNNK_QSPARSE_STEP_BYTES);
        qsparse_step(&a2, &lo, &hi, at + 2 * DNNK_QSPARSE_STEP_BYTES);
        qsparse_step(&a3, &lo, &hi, at + 3 * DNNK_QSPARSE_STEP_BYTES);
    }
    for (; s < count; s++)
        qsparse_step(&a0, &lo, &hi, steps + s * DNNK_QSPARSE_STEP_BYTES);
    a0 += a1 + a2 + a3;
    copy_bytes(sums, &a0, sizeof a0);
}
#endif

/* Block b of image x's inputs: in place, but for a last block that K
 * ends inside, copied into `tail` and padded with zeros (which meet only
 * weights 0, whatever their flip). */
INLINE const uint8_t *qsparse_block_inputs(const uint8_t *x, int64_t K, int64_t b, uint8_t tail[DNNK_QSPARSE_COLS])
{
    int64_t k0 = b * DNNK_QSPARSE_COLS, n = K - k0;
    if (n >= DNNK_QSPARSE_COLS)
        return x + k0;
    for (int64_t i = 0; i < DNNK_QSPARSE_COLS; i++)
        tail[i] = i < n ? x[k0 + i] : 0;
    return tail;
}

/* Units: groups of DNNK_SPARSE_GROUP rows, for every image. */
INLINE void qsparse_fc(const dnnk_qsparse_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end,
                       QsparseSteps run)
{
    const dnnk_qconv_desc *c = &d->conv;
    int64_t N = c->out.dims[0], U = c->out.dims[1], K = dnnk_count(&c->in) / N;
    int64_t blocks = dnnk_qsparse_fc_blocks(K);
    const uint8_t *in = ptrs[1], *packed = ptrs[2];
    const int32_t *offsets = ptrs[2];
    const uint8_t *steps = packed + dnnk_qsparse_fc_steps_at(U, K);
    const uint8_t *table = packed + dnnk_qsparse_fc_table_at(U, K, d->steps);
    uint8_t *out = ptrs[0];
    uint8_t flip = c->in.type == DNNK_I8 ? 0x80 : 0;
    double y_zp = load_any(c->out.type, ptrs[8], 0);
    uint8_t tail[DNNK_QSPARSE_COLS];
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = begin; g < end; g++) {
            int32_t sums[DNNK_SPARSE_GROUP] = {0};
            for (int64_t b = 0; b < blocks; b++) {
                const int32_t *at = offsets + g * blocks + b;
                if (at[1] == at[0])
                    continue;
                const uint8_t *xb = qsparse_block_inputs(in + n * K, K, b, tail);
                run(sums, xb, flip, steps + (int64_t)at[0] * DNNK_QSPARSE_STEP_BYTES, at[1] - at[0]);
            }
            for (int64_t l = 0; l < DNNK_SPARSE_GROUP && g * DNNK_SPARSE_GROUP + l < U; l++) {
                int64_t r = g * DNNK_SPARSE_GROUP + l;
                out[n * U + r] = requantise(c->out.type, sums[l], table_at(table, r), table_at(table, U + r), y_zp);
            }
        }
}

KERNEL dnnk_qsparse_fc(const dnnk_qsparse_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qsparse_fc(d, ptrs, begin, end, qsparse_steps_plain);
}

#if defined(__x86_64__) && DNNK_LANES == 16 && defined(QGEMM_VNNI)
KERNEL dnnk_qsparse_fc_vbmi(const dnnk_qsparse_fc_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    qsparse_fc(d, ptrs, begin, end, qsparse_steps_vbmi);
}
#endif

/* The offsets run from 0 up to the steps. Nothing else can send a kernel
 * astray: a column byte names a place in its block whatever it holds (its
 * low 7 bits), and a block's inputs are read in place only when whole. */
int64_t dnnk_qsparse_fc_check(const dnnk_qsparse_fc_desc *d, void *const *ptrs)
{
    const dnnk_qconv_desc *c = &d->conv;
    int64_t U = c->out.dims[1], K = dnnk_count(&c->in) / c->out.dims[0];
    int64_t count = dnnk_qsparse_fc_groups(U) * dnnk_qsparse_fc_blocks(K);
    const int32_t *offsets = ptrs[2];
    return !offsets_ascend(offsets, count, 0, d->steps) || offsets[count] != d->steps;
}
