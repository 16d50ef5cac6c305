/* Ops that add, join, cut or reinterpret tensors. */
#include <string.h>

#include "kernels.h"

int64_t dims_product(const Shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= s->d[i];
    return p;
}

/* Element-wise sum of all operands, added left to right in double. */
void ref_add(const KernelArgs *a)
{
    int64_t n = dims_product(a->out_shape, 0, a->out_shape->rank);
    for (int64_t i = 0; i < n; i++) {
        double sum = 0;
        for (int k = 0; k < a->n_in; k++)
            sum += a->in[k][i];
        a->out[i] = (float)sum;
    }
}

static int64_t resolve_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

void ref_concat(const KernelArgs *a)
{
    const Shape *os = a->out_shape;
    int axis = (int)resolve_axis(a->node->attr.axis.axis, os->rank);
    int64_t outer = dims_product(os, 0, axis), inner = dims_product(os, axis + 1, os->rank);
    int64_t offset = 0;
    for (int k = 0; k < a->n_in; k++) {
        int64_t part = a->in_shape[k]->d[axis] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy(a->out + o * os->d[axis] * inner + offset, a->in[k] + o * part,
                   (size_t)part * sizeof(float));
        offset += part;
    }
}

/* flatten, reshape and dropout (at inference) keep the data as it is. */
void ref_copy(const KernelArgs *a)
{
    memcpy(a->out, a->in[0], (size_t)dims_product(a->out_shape, 0, a->out_shape->rank) * sizeof(float));
}

void ref_slice(const KernelArgs *a)
{
    const SliceAttrs *at = &a->node->attr.slice;
    const Shape *is = a->in_shape[0];
    int axis = (int)resolve_axis(at->axis, is->rank);
    int64_t outer = dims_product(is, 0, axis), inner = dims_product(is, axis + 1, is->rank);
    int64_t len = (at->end - at->start) * inner;
    for (int64_t o = 0; o < outer; o++)
        memcpy(a->out + o * len, a->in[0] + (o * is->d[axis] + at->start) * inner,
               (size_t)len * sizeof(float));
}
