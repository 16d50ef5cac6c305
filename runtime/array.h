/* A host array: what tensor files (npy, IDX, safetensors) hold and what the
 * runtime reads and writes. Owns its data (malloc). */
#ifndef DNNC_ARRAY_H
#define DNNC_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

typedef struct Array {
    ElemKind dtype; /* ELEM_F32, ELEM_I8, ELEM_U8, ELEM_I16, ELEM_I32 */
    Shape shape;
    void *data;
    size_t nbytes;
} Array;

/* Bytes per element of the dtypes arrays can hold; 0 for others. */
size_t array_elem_size(ElemKind dtype);
/* Allocates zeroed data for dtype and shape; false if the size overflows or
 * memory runs out (err says which). */
bool array_alloc(Array *a, ElemKind dtype, const Shape *shape, char *err, size_t errsz);
void array_free(Array *a);
int64_t array_count(const Array *a);
/* Element i as a double, which holds every value of every dtype exactly. */
double array_get(const Array *a, int64_t i);
/* "[0, 3]": the index of element `flat` (C order) of shape s, in the
 * spelling of shapes. */
void array_format_index(const Shape *s, int64_t flat, char *buf, size_t size);
/* Converts any supported dtype to float32 (a new array), rounding int32
 * values beyond 2^24. */
bool array_to_f32(const Array *in, Array *out, char *err, size_t errsz);
/* Converts to dtype (a new array) only if every element is exactly
 * representable in it: a copy for the same dtype; otherwise err names the
 * first element that is not ("element [0, 3] = 200 is not exactly
 * representable in i8"). */
bool array_convert_exact(const Array *in, ElemKind dtype, Array *out, char *err, size_t errsz);

#endif
