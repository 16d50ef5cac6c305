#include "safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "fileio.h"
#include "outfile.h"

typedef enum { CONV_NONE, CONV_F16, CONV_BF16, CONV_F64 } Conversion;

static const struct {
    const char *name;
    ElemKind dtype;   /* what dnnc keeps */
    size_t file_size; /* bytes per element in the file */
    Conversion conv;
} st_dtypes[] = {
    {"F32", ELEM_F32, 4, CONV_NONE},  {"I8", ELEM_I8, 1, CONV_NONE},
    {"U8", ELEM_U8, 1, CONV_NONE},    {"I16", ELEM_I16, 2, CONV_NONE},
    {"I32", ELEM_I32, 4, CONV_NONE},
    {"F16", ELEM_F32, 2, CONV_F16},   {"BF16", ELEM_F32, 2, CONV_BF16},
    {"F64", ELEM_F32, 8, CONV_F64},
};

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

static void convert_data(Conversion conv, const unsigned char *src, int64_t count, Array *dst)
{
    float *f = dst->data;
    for (int64_t i = 0; i < count; i++) {
        switch (conv) {
        case CONV_NONE: break;
        case CONV_F16: f[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8)); break;
        case CONV_BF16: {
            uint32_t u = (uint32_t)(src[2 * i] | src[2 * i + 1] << 8) << 16;
            memcpy(&f[i], &u, 4);
            break;
        }
        case CONV_F64: {
            double d;
            memcpy(&d, src + 8 * i, 8);
            f[i] = (float)d;
            break;
        }
        }
    }
    if (conv == CONV_NONE)
        memcpy(dst->data, src, dst->nbytes);
}

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_index(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v))
        return false;
    *out = (int64_t)v;
    return true;
}

typedef struct Range {
    int64_t begin, end;
    const char *name;
} Range;

static int compare_ranges(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static bool parse_entry(const cJSON *e, const unsigned char *data, size_t data_len, NamedArray *out,
                        Range *range, char *err, size_t errsz)
{
    const char *name = e->string;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsObject(e) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
        !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
        snprintf(err, errsz, "tensor '%s': the header entry needs dtype, shape and data_offsets",
                 name);
        return false;
    }
    int kind = -1;
    for (int i = 0; i < (int)(sizeof st_dtypes / sizeof *st_dtypes); i++)
        if (strcmp(dtype->valuestring, st_dtypes[i].name) == 0)
            kind = i;
    if (kind < 0) {
        snprintf(err, errsz, "tensor '%s': dtype %s is not supported (F32, F16, BF16, F64, I8, U8, I32)",
                 name, dtype->valuestring);
        return false;
    }
    Shape s = {0};
    if (cJSON_GetArraySize(shape) > DNNC_MAX_RANK) {
        snprintf(err, errsz, "tensor '%s' has more than %d dimensions", name, DNNC_MAX_RANK);
        return false;
    }
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape)
    {
        if (!json_index(dim, &s.d[s.rank])) {
            snprintf(err, errsz, "tensor '%s': a dimension is not a non-negative integer", name);
            return false;
        }
        s.rank++;
    }
    int64_t count, begin, end;
    if (!shape_count(&s, &count)) {
        snprintf(err, errsz, "tensor '%s' has more than 2^48 elements", name);
        return false;
    }
    if (!json_index(cJSON_GetArrayItem(offs, 0), &begin) ||
        !json_index(cJSON_GetArrayItem(offs, 1), &end) || begin > end ||
        (uint64_t)end > data_len) {
        snprintf(err, errsz, "tensor '%s': data_offsets are not a range inside the %zu data bytes",
                 name, data_len);
        return false;
    }
    if ((uint64_t)(end - begin) != (uint64_t)count * st_dtypes[kind].file_size) {
        snprintf(err, errsz, "tensor '%s': %lld data bytes, but shape and dtype %s need %llu", name,
                 (long long)(end - begin), st_dtypes[kind].name,
                 (unsigned long long)count * st_dtypes[kind].file_size);
        return false;
    }
    *range = (Range){begin, end, name};
    out->name = strdup(name);
    if (!out->name) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    if (!array_alloc(&out->array, st_dtypes[kind].dtype, &s, err, errsz))
        return false;
    convert_data(st_dtypes[kind].conv, data + begin, count, &out->array);
    return true;
}

static bool parse_header(const cJSON *root, const unsigned char *data, size_t data_len,
                         SafeTensors *out, char *err, size_t errsz)
{
    int n = cJSON_GetArraySize(root);
    out->items = calloc((size_t)n + 1, sizeof *out->items);
    Range *ranges = calloc((size_t)n + 1, sizeof *ranges);
    bool ok = out->items && ranges;
    if (!ok)
        snprintf(err, errsz, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        if (!ok)
            break;
        if (strcmp(e->string, "__metadata__") == 0)
            continue;
        if (safetensors_find(out, e->string)) {
            snprintf(err, errsz, "tensor '%s' appears twice in the header", e->string);
            ok = false;
            break;
        }
        ok = parse_entry(e, data, data_len, &out->items[out->count], &ranges[out->count], err, errsz);
        if (out->items[out->count].name)
            out->count++;
    }
    if (ok) {
        qsort(ranges, (size_t)out->count, sizeof *ranges, compare_ranges);
        const Range *prev = NULL;
        for (int i = 0; i < out->count && ok; i++) {
            if (ranges[i].begin == ranges[i].end)
                continue; /* an empty tensor occupies no bytes */
            if (prev && ranges[i].begin < prev->end) {
                snprintf(err, errsz, "the data of tensors '%s' and '%s' overlap", prev->name,
                         ranges[i].name);
                ok = false;
            }
            prev = &ranges[i];
        }
    }
    free(ranges);
    return ok;
}

bool safetensors_parse(const unsigned char *bytes, size_t len, SafeTensors *out, char *err,
                       size_t errsz)
{
    memset(out, 0, sizeof *out);
    if (len < 8) {
        snprintf(err, errsz, "truncated: no 8-byte header length");
        return false;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | bytes[i];
    if (n > SAFETENSORS_MAX_HEADER || n > len - 8) {
        snprintf(err, errsz, "the header length %llu exceeds the %zu bytes that follow it",
                 (unsigned long long)n, len - 8);
        return false;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)n);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errsz, "the header is not a JSON object");
        cJSON_Delete(root);
        return false;
    }
    bool ok = parse_header(root, bytes + 8 + n, len - 8 - (size_t)n, out, err, errsz);
    cJSON_Delete(root);
    if (!ok)
        safetensors_free(out);
    return ok;
}

bool safetensors_read(const char *path, SafeTensors *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!read_whole_file(path, DNNC_MAX_TENSOR_FILE, &bytes, &len, err, errsz))
        return false;
    char why[512];
    bool ok = safetensors_parse(bytes, len, out, why, sizeof why);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    free(bytes);
    return ok;
}

const NamedArray *safetensors_find(const SafeTensors *st, const char *name)
{
    for (int i = 0; i < st->count; i++)
        if (strcmp(st->items[i].name, name) == 0)
            return &st->items[i];
    return NULL;
}

void safetensors_free(SafeTensors *st)
{
    for (int i = 0; i < st->count; i++) {
        free(st->items[i].name);
        array_free(&st->items[i].array);
    }
    free(st->items);
    memset(st, 0, sizeof *st);
}

static const char *dtype_name(ElemKind k)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof *st_dtypes; i++)
        if (st_dtypes[i].dtype == k && st_dtypes[i].conv == CONV_NONE)
            return st_dtypes[i].name;
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp((*(const NamedArray *const *)a)->name, (*(const NamedArray *const *)b)->name);
}

bool safetensors_write(const char *path, const NamedArray *items, int count, char *err,
                       size_t errsz)
{
    const NamedArray **sorted = calloc((size_t)count + 1, sizeof *sorted);
    cJSON *root = cJSON_CreateObject();
    bool ok = sorted && root;
    for (int i = 0; i < count && ok; i++)
        sorted[i] = &items[i];
    if (ok)
        qsort(sorted, (size_t)count, sizeof *sorted, compare_names);
    size_t offset = 0;
    for (int i = 0; i < count && ok; i++) {
        const Array *a = &sorted[i]->array;
        const char *dt = dtype_name(a->dtype);
        if (!dt) {
            snprintf(err, errsz, "cannot store %s tensors", elem_kind_name(a->dtype));
            ok = false;
            break;
        }
        cJSON *e = cJSON_AddObjectToObject(root, sorted[i]->name);
        cJSON_AddStringToObject(e, "dtype", dt);
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int k = 0; k < a->shape.rank; k++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)a->shape.d[k]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(offset + a->nbytes)));
        offset += a->nbytes;
    }
    char *header = ok ? cJSON_PrintUnformatted(root) : NULL;
    OutFile o = {0};
    if (ok && !header) {
        snprintf(err, errsz, "out of memory");
        ok = false;
    }
    if (ok)
        ok = outfile_open(&o, path, err, errsz);
    if (ok) {
        /* Pad the header with spaces so that the data is 8-byte aligned. */
        size_t n = strlen(header), padded = (n + 7) / 8 * 8;
        unsigned char len[8];
        for (int i = 0; i < 8; i++)
            len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
        fwrite(len, 1, 8, o.f);
        fwrite(header, 1, n, o.f);
        for (size_t i = n; i < padded; i++)
            fputc(' ', o.f);
        for (int i = 0; i < count; i++)
            fwrite(sorted[i]->array.data, 1, sorted[i]->array.nbytes, o.f);
        ok = outfile_commit(&o, err, errsz);
    }
    free(header);
    cJSON_Delete(root);
    free(sorted);
    return ok;
}
