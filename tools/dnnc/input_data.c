/* Data for a network input from a file (input_data.h). */
#include "input_data.h"

#include <stdio.h>

#include "idx.h"
#include "tensor_file.h"

/* Data of another type than the input's, if every value fits exactly. */
static bool convert_input(const char *path, const Tensor *t, const Array *raw, Array *out,
                          char *err, size_t errsz)
{
    char why[512];
    if (array_convert_exact(raw, t->type.kind, out, why, sizeof why))
        return true;
    snprintf(err, errsz, "input '%s' is %s but %s holds %s: %s", t->name,
             elem_kind_name(t->type.kind), path, elem_kind_name(raw->dtype), why);
    return false;
}

/* A rounded or wrapped input would give wrong results without a word,
 * hence the exactness rule for data of another type. */
bool input_data_load(const char *path, const Tensor *t, Array *out, char *err, size_t errsz)
{
    Array raw;
    TensorFileFormat format;
    if (!tensor_file_read(path, &raw, &format, err, errsz))
        return false;
    bool images = format == TENSOR_FILE_IDX && idx_are_images(&raw);
    if (images && t->type.kind == ELEM_F32) {
        bool ok = idx_images_to_input(&raw, out, err, errsz);
        array_free(&raw);
        return ok;
    }
    if (images)
        raw.shape = idx_images_shape(&raw.shape);
    if (raw.dtype == t->type.kind) {
        *out = raw;
        return true;
    }
    bool ok = convert_input(path, t, &raw, out, err, errsz);
    array_free(&raw);
    return ok;
}

int64_t input_data_batches(const Shape *declared, const Shape *given)
{
    if (shape_equal(declared, given))
        return 1;
    if (declared->rank != given->rank || declared->rank == 0 || given->d[0] % declared->d[0] != 0)
        return 0;
    for (int i = 1; i < given->rank; i++)
        if (given->d[i] != declared->d[i])
            return 0;
    return given->d[0] / declared->d[0];
}

