/* Kernels that move data without computing on it, for any element type;
 * units are chunks of DNNK_CHUNK output elements unless said otherwise. */
#include "common.h"

INLINE int64_t chunk_begin(int64_t begin) { return begin * DNNK_CHUNK; }
INLINE int64_t chunk_stop(const dnnk_desc *d, int64_t end) { return min64(end * DNNK_CHUNK, dnnk_count(&d->out)); }

KERNEL dnnk_copy(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t es = elem_size(d->out.type), lo = chunk_begin(begin), hi = chunk_stop(d, end);
    if (hi > lo)
        memcpy((char *)ptrs[0] + lo * es, (const char *)ptrs[1] + lo * es, (size_t)((hi - lo) * es));
}

/* One operand of a concatenation: in[0] goes to output positions
 * [i[1], i[1] + in.dims[axis]) along axis i[0]. Units are chunks of the
 * operand. */
KERNEL dnnk_concat_part(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t axis = d->i[0], offset = d->i[1], es = elem_size(d->out.type);
    int64_t inner = stride_of(&d->out, axis + 1), part = d->in[0].dims[axis] * inner;
    int64_t whole = d->out.dims[axis] * inner;
    int64_t lo = chunk_begin(begin), hi = min64(end * DNNK_CHUNK, dnnk_count(&d->in[0]));
    for (int64_t i = lo; i < hi; i++) {
        int64_t o = i / part, r = i % part;
        memcpy((char *)ptrs[0] + (o * whole + offset * inner + r) * es, (const char *)ptrs[1] + i * es,
               (size_t)es);
    }
}

/* [i[1], i[2]) along axis i[0]. */
KERNEL dnnk_slice(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    int64_t axis = d->i[0], start = d->i[1], es = elem_size(d->out.type);
    int64_t inner = stride_of(&d->out, axis + 1), part = d->out.dims[axis] * inner;
    int64_t whole = d->in[0].dims[axis] * inner;
    for (int64_t i = chunk_begin(begin); i < chunk_stop(d, end); i++) {
        int64_t o = i / part, r = i % part;
        memcpy((char *)ptrs[0] + i * es, (const char *)ptrs[1] + (o * whole + start * inner + r) * es,
               (size_t)es);
    }
}

/* Output dimension k is input dimension i[k]. */
KERNEL dnnk_transpose(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *is = &d->in[0], *os = &d->out;
    int64_t es = elem_size(os->type), in_stride[DNNK_RANK], s = 1;
    for (int64_t k = is->rank - 1; k >= 0; k--) {
        in_stride[k] = s;
        s *= is->dims[k];
    }
    for (int64_t i = chunk_begin(begin); i < chunk_stop(d, end); i++) {
        int64_t rest = i, src = 0;
        for (int64_t k = os->rank - 1; k >= 0; k--) {
            src += (rest % os->dims[k]) * in_stride[d->i[k]];
            rest /= os->dims[k];
        }
        memcpy((char *)ptrs[0] + i * es, (const char *)ptrs[1] + src * es, (size_t)es);
    }
}

/* i[0..rank) begin pads, i[8..8+rank) end pads, i[16] mode (0 constant,
 * 1 reflect, 2 edge); f[0] the constant. */
INLINE int64_t pad_source(int64_t o, int64_t lo, int64_t size, int64_t mode)
{
    int64_t x = o - lo;
    if (x >= 0 && x < size)
        return x;
    if (mode == 0)
        return -1;
    if (mode == 2)
        return x < 0 ? 0 : size - 1;
    int64_t period = 2 * (size - 1);
    if (period == 0)
        return 0;
    x %= period;
    if (x < 0)
        x += period;
    return x < size ? x : period - x;
}

KERNEL dnnk_pad(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    const dnnk_tensor *is = &d->in[0], *os = &d->out;
    for (int64_t i = chunk_begin(begin); i < chunk_stop(d, end); i++) {
        int64_t rest = i, src = 0, stride = 1;
        bool inside = true;
        for (int64_t k = os->rank - 1; k >= 0; k--) {
            int64_t x = pad_source(rest % os->dims[k], d->i[k], is->dims[k], d->i[16]);
            inside = inside && x >= 0;
            src += x * stride;
            stride *= is->dims[k];
            rest /= os->dims[k];
        }
        store_any(os->type, ptrs[0], i, inside ? load_any(os->type, ptrs[1], src) : d->f[0]);
    }
}

/* A constant layer: its value is its only weight (ptrs[1]). */
KERNEL dnnk_constant(const dnnk_desc *d, void *const *ptrs, int64_t begin, int64_t end)
{
    dnnk_copy(d, ptrs, begin, end);
}
