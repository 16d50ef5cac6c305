/* Ops that join, cut, move or reinterpret tensors, for any element type:
 * they copy bytes, never values. */
#include <string.h>

#include "kernels.h"

int64_t dims_product(const Shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= s->d[i];
    return p;
}

static int64_t resolve_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

void ref_concat(const KernelArgs *a)
{
    const Shape *os = a->out_shape;
    size_t es = elem_kind_size(a->out_type);
    int axis = (int)resolve_axis(a->node->attr.axis.axis, os->rank);
    int64_t outer = dims_product(os, 0, axis), inner = dims_product(os, axis + 1, os->rank);
    int64_t offset = 0;
    for (int k = 0; k < a->n_in; k++) {
        int64_t part = a->in_shape[k]->d[axis] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)a->out + (size_t)(o * os->d[axis] * inner + offset) * es,
                   (const char *)a->in[k] + (size_t)(o * part) * es, (size_t)part * es);
        offset += part;
    }
}

/* flatten, reshape and dropout (at inference) keep the data as it is. */
void ref_copy(const KernelArgs *a)
{
    memcpy(a->out, a->in[0],
           (size_t)dims_product(a->out_shape, 0, a->out_shape->rank) * elem_kind_size(a->out_type));
}

void ref_slice(const KernelArgs *a)
{
    const SliceAttrs *at = &a->node->attr.slice;
    const Shape *is = a->in_shape[0];
    size_t es = elem_kind_size(a->out_type);
    int axis = (int)resolve_axis(at->axis, is->rank);
    int64_t outer = dims_product(is, 0, axis), inner = dims_product(is, axis + 1, is->rank);
    int64_t len = (at->end - at->start) * inner;
    for (int64_t o = 0; o < outer; o++)
        memcpy((char *)a->out + (size_t)(o * len) * es,
               (const char *)a->in[0] + (size_t)((o * is->d[axis] + at->start) * inner) * es,
               (size_t)len * es);
}

/* Output element i takes input element at the permuted coordinates. */
void ref_transpose(const KernelArgs *a)
{
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    const IntList *perm = &a->node->attr.transpose.perm;
    size_t es = elem_kind_size(a->out_type);
    int64_t in_stride[DNNC_MAX_RANK], stride = 1;
    for (int d = is->rank - 1; d >= 0; d--) {
        in_stride[d] = stride;
        stride *= is->d[d];
    }
    int64_t n = dims_product(os, 0, os->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t rest = i, src = 0;
        for (int d = os->rank - 1; d >= 0; d--) {
            int from = perm->n ? (int)perm->v[d] : is->rank - 1 - d;
            src += (rest % os->d[d]) * in_stride[from];
            rest /= os->d[d];
        }
        memcpy((char *)a->out + (size_t)i * es, (const char *)a->in[0] + (size_t)src * es, es);
    }
}

/* The input coordinate an output coordinate reads from, or -1 for the
 * constant value. */
static int64_t pad_source(int64_t o, int64_t lo, int64_t size, int mode)
{
    int64_t x = o - lo;
    if (x >= 0 && x < size)
        return x;
    if (mode == PAD_CONSTANT)
        return -1;
    if (mode == PAD_EDGE)
        return x < 0 ? 0 : size - 1;
    /* reflect: mirror about the edge elements without repeating them */
    int64_t period = 2 * (size - 1);
    if (period == 0)
        return 0;
    x %= period;
    if (x < 0)
        x += period;
    return x < size ? x : period - x;
}

void ref_pad(const KernelArgs *a)
{
    const PadAttrs *at = &a->node->attr.pad;
    const Shape *is = a->in_shape[0], *os = a->out_shape;
    int64_t n = dims_product(os, 0, os->rank);
    for (int64_t i = 0; i < n; i++) {
        int64_t rest = i, src = 0, stride = 1;
        bool inside = true;
        for (int d = os->rank - 1; d >= 0; d--) {
            int64_t x = pad_source(rest % os->d[d], at->pads.v[d], is->d[d], at->mode);
            inside &= x >= 0;
            src += x * stride;
            stride *= is->d[d];
            rest /= os->d[d];
        }
        double v = inside ? load_elem(a->in_type[0], a->in[0], src) : at->value;
        store_elem(a->out_type, a->out, i, v);
    }
}

void ref_constant(const KernelArgs *a)
{
    memcpy(a->out, a->param[0],
           (size_t)dims_product(a->out_shape, 0, a->out_shape->rank) * elem_kind_size(a->out_type));
}
