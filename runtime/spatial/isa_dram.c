#include "isa_dram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "isa_bytes.h"
#include "isa_program.h" /* ISA_DRAM_WORDS_MAX */

#define SEGMENT_HEADER_BYTES 16

void isa_dram_init(IsaDram *d) { memset(d, 0, sizeof *d); }

void isa_dram_free(IsaDram *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->segs[i].values);
    free(d->segs);
    memset(d, 0, sizeof *d);
}

/* A segment of count words at base: not empty, inside the 40-bit space. */
static bool segment_fits(uint64_t base, uint64_t count, char *err, size_t errsz)
{
    if (count == 0) {
        snprintf(err, errsz, "an empty segment at %llu", (unsigned long long)base);
        return false;
    }
    if (base > ISA_DRAM_WORDS_MAX || count > ISA_DRAM_WORDS_MAX - base) {
        snprintf(err, errsz, "a segment of %llu words at %llu ends past 2^40 words",
                 (unsigned long long)count, (unsigned long long)base);
        return false;
    }
    return true;
}

/* Appends a segment that takes ownership of values. */
static bool push_segment(IsaDram *d, uint64_t base, uint64_t count, int32_t *values)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        IsaDramSegment *s = cap <= SIZE_MAX / sizeof *s ? realloc(d->segs, cap * sizeof *s) : NULL;
        if (!s)
            return false;
        d->segs = s;
        d->cap = cap;
    }
    d->segs[d->n++] = (IsaDramSegment){base, count, values};
    return true;
}

bool isa_dram_add(IsaDram *d, uint64_t base, const int32_t *values, uint64_t count, char *err,
                  size_t errsz)
{
    if (!segment_fits(base, count, err, errsz))
        return false;
    int32_t *copy = count <= SIZE_MAX / sizeof *copy ? malloc((size_t)count * sizeof *copy) : NULL;
    if (!copy || !push_segment(d, base, count, copy)) {
        free(copy);
        snprintf(err, errsz, "out of memory (a segment of %llu words)", (unsigned long long)count);
        return false;
    }
    memcpy(copy, values, (size_t)count * sizeof *copy);
    return true;
}

static int by_base(const void *a, const void *b)
{
    const IsaDramSegment *x = *(const IsaDramSegment *const *)a;
    const IsaDramSegment *y = *(const IsaDramSegment *const *)b;
    return (x->base > y->base) - (x->base < y->base);
}

bool isa_dram_check(const IsaDram *d, uint64_t dram_words, char *err, size_t errsz)
{
    for (size_t i = 0; i < d->n; i++) {
        const IsaDramSegment *s = &d->segs[i];
        if (s->count == 0 || s->base > dram_words || s->count > dram_words - s->base) {
            snprintf(err, errsz, "segment %zu (%llu words at %llu) does not lie inside the %llu "
                     "DRAM words", i, (unsigned long long)s->count, (unsigned long long)s->base,
                     (unsigned long long)dram_words);
            return false;
        }
    }
    /* Sorted by base, each segment must end before the next begins. */
    const IsaDramSegment **sorted = d->n ? malloc(d->n * sizeof *sorted) : NULL;
    if (d->n && !sorted) {
        snprintf(err, errsz, "out of memory (%zu segments)", d->n);
        return false;
    }
    for (size_t i = 0; i < d->n; i++)
        sorted[i] = &d->segs[i];
    if (d->n)
        qsort(sorted, d->n, sizeof *sorted, by_base);
    bool ok = true;
    for (size_t i = 1; i < d->n && ok; i++)
        if (sorted[i - 1]->base + sorted[i - 1]->count > sorted[i]->base) {
            snprintf(err, errsz, "segments %zu and %zu overlap at word %llu",
                     (size_t)(sorted[i - 1] - d->segs), (size_t)(sorted[i] - d->segs),
                     (unsigned long long)sorted[i]->base);
            ok = false;
        }
    free(sorted);
    return ok;
}

bool isa_dram_apply(const IsaDram *d, int64_t *cells, uint64_t dram_words, char *err,
                    size_t errsz)
{
    if (!isa_dram_check(d, dram_words, err, errsz))
        return false;
    for (size_t i = 0; i < d->n; i++)
        for (uint64_t k = 0; k < d->segs[i].count; k++)
            cells[d->segs[i].base + k] = d->segs[i].values[k];
    return true;
}

/* ---- the file ------------------------------------------------------------ */

bool isa_dram_serialize(const IsaDram *d, uint8_t **buf, size_t *len, char *err, size_t errsz)
{
    *buf = NULL;
    *len = 0;
    if (!isa_dram_check(d, ISA_DRAM_WORDS_MAX, err, errsz))
        return false;
    IsaWriter w = {0};
    isa_w_header(&w, ISA_DRAM_MAGIC, ISA_DRAM_VERSION);
    isa_w_u64(&w, d->n);
    for (size_t i = 0; i < d->n && !w.failed; i++) {
        isa_w_u64(&w, d->segs[i].base);
        isa_w_u64(&w, d->segs[i].count);
        for (uint64_t k = 0; k < d->segs[i].count; k++)
            isa_w_u32(&w, (uint32_t)d->segs[i].values[k]);
    }
    return isa_w_finish(&w, buf, len, err, errsz);
}

bool isa_dram_save(const IsaDram *d, const char *path, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t len;
    return isa_dram_serialize(d, &buf, &len, err, errsz) &&
           isa_write_file(path, buf, len, err, errsz);
}

static bool read_header(IsaReader *r, uint64_t *n)
{
    if (!isa_r_header(r, ISA_DRAM_MAGIC, ISA_DRAM_VERSION, "a dnnc DRAM image"))
        return false;
    size_t at = r->pos;
    if (!isa_r_u64(r, n, "the segment count"))
        return false;
    if (*n > isa_r_left(r) / SEGMENT_HEADER_BYTES)
        return isa_r_fail(r, at, "truncated: %llu segments need at least %llu bytes, %zu are left",
                          (unsigned long long)*n, (unsigned long long)*n * SEGMENT_HEADER_BYTES,
                          isa_r_left(r));
    return true;
}

static bool read_segment(IsaReader *r, IsaDram *d, size_t i)
{
    size_t at = r->pos;
    uint64_t base, count;
    char why[200];
    if (!isa_r_u64(r, &base, "a segment's base") || !isa_r_u64(r, &count, "a segment's count"))
        return false;
    if (!segment_fits(base, count, why, sizeof why))
        return isa_r_fail(r, at, "segment %zu: %s", i, why);
    if (count > isa_r_left(r) / 4)
        return isa_r_fail(r, r->pos, "truncated: segment %zu's %llu words need %llu bytes, %zu "
                          "are left", i, (unsigned long long)count,
                          (unsigned long long)count * 4, isa_r_left(r));
    int32_t *v = malloc((size_t)count * sizeof *v);
    if (!v || !push_segment(d, base, count, v)) {
        free(v);
        return isa_r_fail(r, at, "out of memory (segment %zu: %llu words)", i,
                          (unsigned long long)count);
    }
    for (uint64_t k = 0; k < count; k++) {
        uint32_t u;
        isa_r_u32(r, &u, "a word"); /* the count was checked against the bytes left */
        v[k] = (int32_t)u;
    }
    return true;
}

bool isa_dram_load(const uint8_t *buf, size_t len, IsaDram *out, char *err, size_t errsz)
{
    IsaDram d;
    isa_dram_init(&d);
    isa_dram_init(out);
    IsaReader r = {.buf = buf, .len = len, .err = err, .errsz = errsz};
    uint64_t n = 0;
    bool ok = read_header(&r, &n);
    for (uint64_t i = 0; ok && i < n; i++)
        ok = read_segment(&r, &d, (size_t)i);
    if (ok && isa_r_left(&r))
        ok = isa_r_fail(&r, r.pos, "%zu byte%s after the last segment", isa_r_left(&r),
                        isa_r_left(&r) == 1 ? "" : "s");
    if (ok)
        ok = isa_dram_check(&d, ISA_DRAM_WORDS_MAX, err, errsz);
    if (!ok) {
        isa_dram_free(&d);
        return false;
    }
    *out = d;
    return true;
}

bool isa_dram_load_file(const char *path, IsaDram *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    isa_dram_init(out);
    if (!read_whole_file(path, ISA_DRAM_FILE_MAX, &bytes, &len, err, errsz))
        return false;
    char why[400];
    bool ok = isa_dram_load(bytes, len, out, why, sizeof why);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    free(bytes);
    return ok;
}
