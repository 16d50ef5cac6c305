#include "array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

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

/* The reference executor's element access serves arrays too. */
double array_get(const Array *a, int64_t i) { return load_elem(a->dtype, a->data, i); }

bool array_to_f32(const Array *in, Array *out, char *err, size_t errsz)
{
    if (!array_alloc(out, ELEM_F32, &in->shape, err, errsz))
        return false;
    for (int64_t i = 0; i < array_count(in); i++)
        store_elem(ELEM_F32, out->data, i, array_get(in, i));
    return true;
}

/* The range is checked first because converting a double outside it to an
 * integer is undefined; NaN fails it too. */
static bool integral_within(double v, double lo, double hi)
{
    return v >= lo && v <= hi && (double)(int64_t)v == v;
}

static bool representable(double v, ElemKind dtype)
{
    switch (dtype) {
    case ELEM_F32: return (double)(float)v == v;
    case ELEM_I32: return integral_within(v, INT32_MIN, INT32_MAX);
    case ELEM_I8: return integral_within(v, INT8_MIN, INT8_MAX);
    case ELEM_I16: return integral_within(v, INT16_MIN, INT16_MAX);
    case ELEM_U8: return integral_within(v, 0, UINT8_MAX);
    default: return false;
    }
}

void array_format_index(const Shape *s, int64_t flat, char *buf, size_t size)
{
    Shape index = {s->rank, {0}};
    for (int i = s->rank - 1; i >= 0; i--) {
        index.d[i] = flat % s->d[i];
        flat /= s->d[i];
    }
    shape_format(&index, buf, size);
}

bool array_convert_exact(const Array *in, ElemKind dtype, Array *out, char *err, size_t errsz)
{
    if (!array_alloc(out, dtype, &in->shape, err, errsz))
        return false;
    /* A copy keeps what the checks below would reject in the same dtype: NaN. */
    if (dtype == in->dtype) {
        memcpy(out->data, in->data, in->nbytes);
        return true;
    }
    for (int64_t i = 0; i < array_count(in); i++) {
        double v = array_get(in, i);
        if (!representable(v, dtype)) {
            char index[300];
            array_format_index(&in->shape, i, index, sizeof index);
            snprintf(err, errsz, "element %s = %.10g is not exactly representable in %s", index, v,
                     elem_kind_name(dtype));
            array_free(out);
            return false;
        }
        store_elem(dtype, out->data, i, v);
    }
    return true;
}
