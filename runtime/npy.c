#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "fileio.h"
#include "outfile.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static const struct {
    const char *descr;
    ElemKind dtype;
} npy_dtypes[] = {
    {"<f4", ELEM_F32}, {"|i1", ELEM_I8}, {"|u1", ELEM_U8}, {"<i2", ELEM_I16}, {"<i4", ELEM_I32},
    {"i1", ELEM_I8},   {"u1", ELEM_U8},
};

/* The header is a Python dict literal; this reads exactly the subset NumPy
 * writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
typedef struct HeaderCursor {
    const char *p, *end;
} HeaderCursor;

static void skip_space(HeaderCursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static bool expect(HeaderCursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool read_quoted(HeaderCursor *c, char *buf, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size)
            return false;
        buf[n++] = *c->p++;
    }
    buf[n] = '\0';
    return c->p < c->end && *c->p++ == q;
}

static bool read_shape(HeaderCursor *c, Shape *s, char *err, size_t errsz)
{
    if (!expect(c, '(')) {
        snprintf(err, errsz, "'shape' is not a tuple");
        return false;
    }
    s->rank = 0;
    for (;;) {
        skip_space(c);
        if (expect(c, ')'))
            return true;
        if (c->p >= c->end || !isdigit((unsigned char)*c->p)) {
            snprintf(err, errsz, "'shape' holds something other than non-negative integers");
            return false;
        }
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (!checked_mul(v, 10, &v) || !checked_add(v, *c->p - '0', &v) || v > DNNC_MAX_ELEMS) {
                snprintf(err, errsz, "a dimension in 'shape' is too large");
                return false;
            }
            c->p++;
        }
        if (s->rank == DNNC_MAX_RANK) {
            snprintf(err, errsz, "'shape' has more than %d dimensions", DNNC_MAX_RANK);
            return false;
        }
        s->d[s->rank++] = v;
        if (!expect(c, ',') && !(skip_space(c), c->p < c->end && *c->p == ')')) {
            snprintf(err, errsz, "malformed 'shape' tuple");
            return false;
        }
    }
}

static bool parse_header(const char *text, size_t len, ElemKind *dtype, Shape *shape, char *err,
                         size_t errsz)
{
    HeaderCursor c = {text, text + len};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!expect(&c, '{')) {
        snprintf(err, errsz, "the header is not a dictionary");
        return false;
    }
    while (!expect(&c, '}')) {
        char key[32], val[32];
        if (!read_quoted(&c, key, sizeof key) || !expect(&c, ':')) {
            snprintf(err, errsz, "malformed header dictionary");
            return false;
        }
        if (strcmp(key, "descr") == 0) {
            if (!read_quoted(&c, val, sizeof val)) {
                snprintf(err, errsz, "'descr' is not a string");
                return false;
            }
            have_descr = false;
            for (size_t i = 0; i < sizeof npy_dtypes / sizeof *npy_dtypes; i++)
                if (strcmp(val, npy_dtypes[i].descr) == 0) {
                    *dtype = npy_dtypes[i].dtype;
                    have_descr = true;
                }
            if (!have_descr) {
                snprintf(err, errsz, "dtype '%s' is not supported (use float32, int8, uint8, int16 or int32, little-endian)", val);
                return false;
            }
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_space(&c);
            if (c.end - c.p >= 5 && strncmp(c.p, "False", 5) == 0) {
                c.p += 5;
            } else {
                snprintf(err, errsz, "only C-order arrays are supported (fortran_order is not False)");
                return false;
            }
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (!read_shape(&c, shape, err, errsz))
                return false;
            have_shape = true;
        } else {
            snprintf(err, errsz, "unexpected header key '%s'", key);
            return false;
        }
        if (!expect(&c, ',') && !(skip_space(&c), c.p < c.end && *c.p == '}')) {
            snprintf(err, errsz, "malformed header dictionary");
            return false;
        }
    }
    if (!have_descr || !have_order || !have_shape) {
        snprintf(err, errsz, "the header lacks '%s'",
                 !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
        return false;
    }
    return true;
}

bool npy_parse(const unsigned char *bytes, size_t len, Array *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(bytes, npy_magic, 6) != 0) {
        snprintf(err, errsz, "not a .npy file (bad magic)");
        return false;
    }
    int major = bytes[6];
    size_t header_len, pos;
    if (major == 1) {
        header_len = bytes[8] | (size_t)bytes[9] << 8;
        pos = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            snprintf(err, errsz, "truncated .npy header");
            return false;
        }
        header_len = bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
        pos = 12;
    } else {
        snprintf(err, errsz, ".npy format version %d is not supported", major);
        return false;
    }
    if (header_len > len - pos) {
        snprintf(err, errsz, "truncated .npy header (%zu bytes announced, %zu present)", header_len,
                 len - pos);
        return false;
    }
    ElemKind dtype = ELEM_F32;
    Shape shape = {0};
    if (!parse_header((const char *)bytes + pos, header_len, &dtype, &shape, err, errsz))
        return false;
    pos += header_len;
    int64_t count;
    if (!shape_count(&shape, &count)) {
        snprintf(err, errsz, "the array has more than 2^48 elements");
        return false;
    }
    size_t need = (size_t)count * array_elem_size(dtype);
    if (len - pos != need) {
        snprintf(err, errsz, "the data is %zu bytes but the header's shape and dtype need %zu",
                 len - pos, need);
        return false;
    }
    if (!array_alloc(out, dtype, &shape, err, errsz))
        return false;
    memcpy(out->data, bytes + pos, need);
    return true;
}

bool npy_read(const char *path, Array *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    if (!read_whole_file(path, DNNC_MAX_TENSOR_FILE, &bytes, &len, err, errsz))
        return false;
    char why[256];
    bool ok = npy_parse(bytes, len, out, why, sizeof why);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    free(bytes);
    return ok;
}

static const char *descr_of(ElemKind dtype)
{
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof *npy_dtypes; i++)
        if (npy_dtypes[i].dtype == dtype)
            return npy_dtypes[i].descr;
    return NULL;
}

bool npy_write(const char *path, const Array *a, char *err, size_t errsz)
{
    const char *descr = descr_of(a->dtype);
    if (!descr) {
        snprintf(err, errsz, "cannot write %s arrays to .npy", elem_kind_name(a->dtype));
        return false;
    }
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < a->shape.rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)a->shape.d[i]);
    if (a->shape.rank == 1) /* Python's one-element tuple: (5,) */
        n += snprintf(dict + n, sizeof dict - (size_t)n, ",");
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces so that the data starts on a 64-byte boundary, as NumPy does. */
    size_t header_len = (size_t)n + 1;
    size_t total = 10 + header_len;
    size_t padded = (total + 63) / 64 * 64;
    unsigned char pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1, pre[7] = 0;
    size_t hl = padded - 10;
    pre[8] = (unsigned char)(hl & 0xff), pre[9] = (unsigned char)(hl >> 8);
    OutFile o;
    if (!outfile_open(&o, path, err, errsz))
        return false;
    fwrite(pre, 1, 10, o.f);
    fwrite(dict, 1, (size_t)n, o.f);
    for (size_t i = total; i < padded; i++)
        fputc(' ', o.f);
    fputc('\n', o.f);
    fwrite(a->data, 1, a->nbytes, o.f);
    return outfile_commit(&o, err, errsz);
}
