/* Kernels that move data without computing on it, for any element type;
 * units are chunks of DNNK_CHUNK output elements unless said otherwise. */
#include "common.h"

KERNEL dnnk_copy(const dnnk_plain_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t es = elem_size(d->out.type), lo = begin * DNNK_CHUNK, hi = chunk_end(&d->out, end);
    if (hi > lo)
        copy_bytes((char *)ptrs[0] + lo * es, (const char *)ptrs[1] + lo * es, (size_t)((hi - lo) * es));
}

/* One operand of a concatenation; units are chunks of the operand. */
KERNEL dnnk_concat_part(const dnnk_concat_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t axis = d->axis, es = elem_size(d->out.type);
    int64_t inner = stride_of(&d->out, axis + 1), part = d->part.dims[axis] * inner;
    int64_t whole = d->out.dims[axis] * inner;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->part, end); i++) {
        int64_t o = i / part, r = i % part;
        copy_bytes((char *)ptrs[0] + (o * whole + d->offset * inner + r) * es, (const char *)ptrs[1] + i * es,
               (size_t)es);
    }
}

/* [start, start + out.dims[axis]) along axis. */
KERNEL dnnk_slice(const dnnk_slice_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t axis = d->axis, es = elem_size(d->out.type);
    int64_t inner = stride_of(&d->out, axis + 1), part = d->out.dims[axis] * inner;
    int64_t whole = d->in.dims[axis] * inner;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(&d->out, end); i++) {
        int64_t o = i / part, r = i % part;
        copy_bytes((char *)ptrs[0] + i * es, (const char *)ptrs[1] + (o * whole + d->start * inner + r) * es,
               (size_t)es);
    }
}

KERNEL dnnk_transpose(const dnnk_transpose_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *is = &d->in, *os = &d->out;
    int64_t es = elem_size(os->type), in_stride[DNNK_RANK], s = 1;
    for (int64_t k = is->rank - 1; k >= 0; k--) {
        in_stride[k] = s;
        s *= is->dims[k];
    }
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(os, end); i++) {
        int64_t rest = i, src = 0;
        for (int64_t k = os->rank - 1; k >= 0; k--) {
            src += (rest % os->dims[k]) * in_stride[d->perm[k]];
            rest /= os->dims[k];
        }
        copy_bytes((char *)ptrs[0] + i * es, (const char *)ptrs[1] + src * es, (size_t)es);
    }
}

/* The input coordinate that output coordinate o reads along a dimension of
 * `size` padded by lo before it; -1 for the constant. */
INLINE int64_t padded_source(int64_t o, int64_t lo, int64_t size, int64_t mode)
{
    int64_t x = o - lo;
    if (x >= 0 && x < size)
        return x;
    if (mode == DNNK_PAD_CONSTANT)
        return -1;
    if (mode == DNNK_PAD_EDGE)
        return x < 0 ? 0 : size - 1;
    int64_t period = 2 * (size - 1);
    if (period == 0)
        return 0;
    x %= period;
    if (x < 0)
        x += period;
    return x < size ? x : period - x;
}

KERNEL dnnk_pad(const dnnk_pad_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *is = &d->in, *os = &d->out;
    for (int64_t i = begin * DNNK_CHUNK; i < chunk_end(os, end); i++) {
        int64_t rest = i, src = 0, stride = 1;
        bool inside = true;
        for (int64_t k = os->rank - 1; k >= 0; k--) {
            int64_t x = padded_source(rest % os->dims[k], d->before[k], is->dims[k], d->mode);
            inside = inside && x >= 0;
            src += x * stride;
            stride *= is->dims[k];
            rest /= os->dims[k];
        }
        store_any(os->type, ptrs[0], i, inside ? load_any(os->type, ptrs[1], src) : d->value);
    }
}

/* A constant layer: its value is its only weight (ptrs[1]). */
KERNEL dnnk_constant(const dnnk_plain_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    dnnk_copy(d, ptrs, begin, end);
}
