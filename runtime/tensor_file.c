#include "tensor_file.h"

#include <stdio.h>
#include <string.h>

#include "idx.h"
#include "npy.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool has_npy_magic(const char *path)
{
    unsigned char magic[6] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == sizeof magic && memcmp(magic, "\x93NUMPY", 6) == 0;
}

bool tensor_file_read(const char *path, Array *out, TensorFileFormat *format, char *err,
                      size_t errsz)
{
    /* The name decides when it says .npy, so a damaged .npy file gets the
     * .npy reader's error rather than the IDX reader's. */
    bool npy = ends_with(path, ".npy") || has_npy_magic(path);
    if (format)
        *format = npy ? TENSOR_FILE_NPY : TENSOR_FILE_IDX;
    return npy ? npy_read(path, out, err, errsz) : idx_read(path, out, err, errsz);
}
