#include "isa_bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"

/* ---- writing ------------------------------------------------------------- */

void isa_w_bytes(IsaWriter *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->failed = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* Little-endian whatever the host's order. */
static void put_le(IsaWriter *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    isa_w_bytes(w, b, (size_t)bytes);
}

void isa_w_u8(IsaWriter *w, uint8_t v) { put_le(w, v, 1); }
void isa_w_u16(IsaWriter *w, uint16_t v) { put_le(w, v, 2); }
void isa_w_u32(IsaWriter *w, uint32_t v) { put_le(w, v, 4); }
void isa_w_u64(IsaWriter *w, uint64_t v) { put_le(w, v, 8); }

void isa_w_f64(IsaWriter *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_le(w, u, 8);
}

void isa_w_header(IsaWriter *w, const char *magic, uint32_t version)
{
    isa_w_bytes(w, magic, 8);
    isa_w_u32(w, version);
    isa_w_u32(w, 0);
}

bool isa_w_finish(IsaWriter *w, uint8_t **buf, size_t *len, char *err, size_t errsz)
{
    *buf = NULL;
    *len = 0;
    if (w->failed) {
        snprintf(err, errsz, "out of memory (a file of more than %zu bytes)", w->len);
        free(w->buf);
        memset(w, 0, sizeof *w);
        return false;
    }
    *buf = w->buf;
    *len = w->len;
    return true;
}

bool isa_write_file(const char *path, uint8_t *buf, size_t len, char *err, size_t errsz)
{
    OutFile o;
    bool ok = outfile_open(&o, path, err, errsz);
    if (ok && len && fwrite(buf, 1, len, o.f) != len) {
        snprintf(err, errsz, "cannot write '%s'", path);
        outfile_abort(&o);
        ok = false;
    } else if (ok) {
        ok = outfile_commit(&o, err, errsz);
    }
    free(buf);
    return ok;
}

/* ---- reading ------------------------------------------------------------- */

size_t isa_r_left(const IsaReader *r) { return r->len - r->pos; }

bool isa_r_fail(IsaReader *r, size_t at, const char *fmt, ...)
{
    int n = snprintf(r->err, r->errsz, "byte %zu: ", at);
    if (n >= 0 && (size_t)n < r->errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errsz - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool isa_r_need(IsaReader *r, size_t n, const char *what)
{
    if (n <= isa_r_left(r))
        return true;
    return isa_r_fail(r, r->pos, "truncated: %s needs %zu byte%s, %zu %s left", what, n,
                      n == 1 ? "" : "s", isa_r_left(r), isa_r_left(r) == 1 ? "is" : "are");
}

bool isa_r_bytes(IsaReader *r, void *p, size_t n, const char *what)
{
    if (!isa_r_need(r, n, what))
        return false;
    if (n)
        memcpy(p, r->buf + r->pos, n);
    r->pos += n;
    return true;
}

static bool get_le(IsaReader *r, uint64_t *v, int bytes, const char *what)
{
    if (!isa_r_need(r, (size_t)bytes, what))
        return false;
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint64_t)r->buf[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    *v = x;
    return true;
}

/* isa_r_u8, isa_r_u16, isa_r_u32: get_le narrowed to the field's type. */
#define NARROW_READER(name, type, bytes)                         \
    bool name(IsaReader *r, type *v, const char *what)           \
    {                                                            \
        uint64_t x;                                              \
        if (!get_le(r, &x, bytes, what))                        \
            return false;                                        \
        *v = (type)x;                                            \
        return true;                                             \
    }
NARROW_READER(isa_r_u8, uint8_t, 1)
NARROW_READER(isa_r_u16, uint16_t, 2)
NARROW_READER(isa_r_u32, uint32_t, 4)

bool isa_r_u64(IsaReader *r, uint64_t *v, const char *what) { return get_le(r, v, 8, what); }

bool isa_r_f64(IsaReader *r, double *v, const char *what)
{
    uint64_t x;
    if (!get_le(r, &x, 8, what))
        return false;
    memcpy(v, &x, sizeof *v);
    return true;
}

bool isa_r_header(IsaReader *r, const char *magic, uint32_t version, const char *what)
{
    char got[8];
    uint32_t v, reserved;
    if (!isa_r_bytes(r, got, sizeof got, "the magic"))
        return false;
    if (memcmp(got, magic, 8) != 0)
        return isa_r_fail(r, 0, "not %s (no %.8s magic)", what, magic);
    if (!isa_r_u32(r, &v, "the version"))
        return false;
    if (v != version)
        return isa_r_fail(r, 8, "version %u is not supported (this reader knows version %u)", v,
                          version);
    if (!isa_r_u32(r, &reserved, "the reserved field"))
        return false;
    if (reserved)
        return isa_r_fail(r, 12, "the reserved field is %u, not 0", reserved);
    return true;
}
