#include "array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t array_elem_size(ElemKind dtype) { return elem_kind_size(dtype); }

bool array_alloc(Array *a, ElemKind dtype, const Shape *shape, char *err, size_t errsz)
{
    memset(a, 0, sizeof *a);
    int64_t count;
    size_t es = array_elem_size(dtype);
    if (!es) {
        snprintf(err, errsz, "arrays of %s are not supported", elem_kind_name(dtype));
        return false;
    }
    if (!shape_count(shape, &count)) {
        snprintf(err, errsz, "the array has more than 2^48 elements");
        return false;
    }
    a->dtype = dtype;
    a->shape = *shape;
    a->nbytes = (size_t)count * es;
    a->data = calloc(a->nbytes ? a->nbytes : 1, 1);
    if (!a->data) {
        snprintf(err, errsz, "out of memory allocating %zu bytes", a->nbytes);
        return false;
    }
    return true;
}

void array_free(Array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

int64_t array_count(const Array *a) { return shape_elems(&a->shape); }

bool array_to_f32(const Array *in, Array *out, char *err, size_t errsz)
{
    if (!array_alloc(out, ELEM_F32, &in->shape, err, errsz))
        return false;
    float *dst = out->data;
    int64_t n = array_count(in);
    for (int64_t i = 0; i < n; i++) {
        switch (in->dtype) {
        case ELEM_F32: dst[i] = ((const float *)in->data)[i]; break;
        case ELEM_I32: dst[i] = (float)((const int32_t *)in->data)[i]; break;
        case ELEM_I8: dst[i] = ((const int8_t *)in->data)[i]; break;
        case ELEM_U8: dst[i] = ((const uint8_t *)in->data)[i]; break;
        default: break;
        }
    }
    return true;
}
