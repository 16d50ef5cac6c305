/* safetensors files: a little-endian u64 header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the raw data. */
#ifndef DNNC_SAFETENSORS_H
#define DNNC_SAFETENSORS_H

#include "array.h"

typedef struct NamedArray {
    char *name;
    Array array;
} NamedArray;

typedef struct SafeTensors {
    NamedArray *items;
    int count;
} SafeTensors;

/* The JSON header may be at most this long (the format's own limit). */
#define SAFETENSORS_MAX_HEADER ((size_t)100 << 20)

/* F32, I8, U8 and I32 are kept; F16, BF16 and F64 are converted to F32. */
bool safetensors_parse(const unsigned char *bytes, size_t len, SafeTensors *out, char *err,
                       size_t errsz);
bool safetensors_read(const char *path, SafeTensors *out, char *err, size_t errsz);
/* Writes the tensors sorted by name, data 8-byte aligned; atomically. */
bool safetensors_write(const char *path, const NamedArray *items, int count, char *err,
                       size_t errsz);
const NamedArray *safetensors_find(const SafeTensors *st, const char *name);
void safetensors_free(SafeTensors *st);

#endif
