#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checked.h"
#include "fileio.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* IDX type byte -> element size and the dtype dnnc keeps. */
static bool idx_type(unsigned char t, size_t *size, ElemKind *dtype)
{
    switch (t) {
    case 0x08: *size = 1, *dtype = ELEM_U8; return true;
    case 0x09: *size = 1, *dtype = ELEM_I8; return true;
    case 0x0B: *size = 2, *dtype = ELEM_I32; return true;
    case 0x0C: *size = 4, *dtype = ELEM_I32; return true;
    case 0x0D: *size = 4, *dtype = ELEM_F32; return true;
    case 0x0E: *size = 8, *dtype = ELEM_F32; return true;
    default: return false;
    }
}

/* IDX data is big-endian; dnnc's arrays are native (little-endian) order. */
static void convert(unsigned char t, const unsigned char *src, int64_t count, void *dst)
{
    for (int64_t i = 0; i < count; i++) {
        switch (t) {
        case 0x08:
        case 0x09: ((unsigned char *)dst)[i] = src[i]; break;
        case 0x0B: ((int32_t *)dst)[i] = (int16_t)(src[2 * i] << 8 | src[2 * i + 1]); break;
        case 0x0C: ((int32_t *)dst)[i] = (int32_t)be32(src + 4 * i); break;
        case 0x0D: {
            uint32_t u = be32(src + 4 * i);
            memcpy((float *)dst + i, &u, 4);
            break;
        }
        case 0x0E: {
            uint64_t u = (uint64_t)be32(src + 8 * i) << 32 | be32(src + 8 * i + 4);
            double d;
            memcpy(&d, &u, 8);
            ((float *)dst)[i] = (float)d;
            break;
        }
        }
    }
}

bool idx_parse(const unsigned char *bytes, size_t len, Array *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    size_t esize;
    ElemKind dtype;
    if (len < 4 || bytes[0] != 0 || bytes[1] != 0) {
        snprintf(err, errsz, "not an IDX file (bad magic)");
        return false;
    }
    if (!idx_type(bytes[2], &esize, &dtype)) {
        snprintf(err, errsz, "unknown IDX data type 0x%02x", bytes[2]);
        return false;
    }
    int rank = bytes[3];
    if (rank < 1 || rank > DNNC_MAX_RANK) {
        snprintf(err, errsz, "IDX rank %d is not in [1, %d]", rank, DNNC_MAX_RANK);
        return false;
    }
    size_t pos = 4 + 4 * (size_t)rank;
    if (len < pos) {
        snprintf(err, errsz, "truncated IDX header");
        return false;
    }
    Shape shape = {rank, {0}};
    for (int i = 0; i < rank; i++)
        shape.d[i] = be32(bytes + 4 + 4 * i);
    int64_t count;
    if (!shape_count(&shape, &count)) {
        snprintf(err, errsz, "the IDX dimensions give more than 2^48 elements");
        return false;
    }
    size_t need = (size_t)count * esize;
    if (len - pos != need) {
        snprintf(err, errsz, "the IDX data is %zu bytes but its dimensions need %zu", len - pos,
                 need);
        return false;
    }
    if (!array_alloc(out, dtype, &shape, err, errsz))
        return false;
    convert(bytes[2], bytes + pos, count, out->data);
    return true;
}

/* zlib reads gzip and plain files alike; the uncompressed size is unknown up
 * front, so the buffer grows as data arrives, never beyond the limit. */
static bool read_gz(const char *path, unsigned char **bytes, size_t *len, char *err, size_t errsz)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        snprintf(err, errsz, "cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    bool ok = buf != NULL;
    while (ok) {
        if (n == cap) {
            if (cap >= DNNC_MAX_TENSOR_FILE) {
                snprintf(err, errsz, "'%s' is larger than the %zu-byte limit", path,
                         DNNC_MAX_TENSOR_FILE);
                ok = false;
                break;
            }
            unsigned char *grown = realloc(buf, cap * 2);
            if (!grown) {
                snprintf(err, errsz, "out of memory reading '%s'", path);
                ok = false;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int code;
            snprintf(err, errsz, "cannot read '%s': %s", path, gzerror(gz, &code));
            ok = false;
        } else if (got == 0) {
            break;
        }
        n += got > 0 ? (size_t)got : 0;
    }
    gzclose(gz);
    if (!ok) {
        free(buf);
        return false;
    }
    *bytes = buf;
    *len = n;
    return true;
}

bool idx_read(const char *path, Array *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    if (!read_gz(path, &bytes, &len, err, errsz))
        return false;
    char why[256];
    bool ok = idx_parse(bytes, len, out, why, sizeof why);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    free(bytes);
    return ok;
}

bool idx_are_images(const Array *a) { return a->dtype == ELEM_U8 && a->shape.rank == 3; }

Shape idx_images_shape(const Shape *images)
{
    return (Shape){4, {images->d[0], 1, images->d[1], images->d[2]}};
}

bool idx_images_to_input(const Array *images, Array *out, char *err, size_t errsz)
{
    if (!idx_are_images(images)) {
        snprintf(err, errsz, "IDX images must be unsigned bytes of shape [N, H, W]");
        return false;
    }
    Shape s = idx_images_shape(&images->shape);
    if (!array_alloc(out, ELEM_F32, &s, err, errsz))
        return false;
    const uint8_t *src = images->data;
    float *dst = out->data;
    for (int64_t i = 0; i < array_count(images); i++)
        dst[i] = (float)src[i] / 255.0f;
    return true;
}
