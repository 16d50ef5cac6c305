#include "types.h"

#include <stdio.h>
#include <string.h>

#include "checked.h"

static const struct {
    const char *name;
    int bits;
} elem_kinds[] = {
#define X(e, s, b) {s, b},
    DNNC_ELEM_KINDS(X)
#undef X
};

ElemType elem_type_default(ElemKind k)
{
    ElemType t = {k, (uint8_t)elem_kinds[k].bits, 0};
    return t;
}

const char *elem_kind_name(ElemKind k)
{
    return k < ELEM_KIND_COUNT ? elem_kinds[k].name : "?";
}

bool elem_kind_from_name(const char *s, ElemKind *out)
{
    for (int k = 0; k < ELEM_KIND_COUNT; k++)
        if (strcmp(s, elem_kinds[k].name) == 0) {
            *out = (ElemKind)k;
            return true;
        }
    return false;
}

void elem_type_format(ElemType t, char *buf, size_t size)
{
    switch (t.kind) {
    case ELEM_FIXED:
        snprintf(buf, size, "fixed<%d,%d>", t.bits, t.frac);
        break;
    case ELEM_LOG2:
    case ELEM_CODEBOOK:
        snprintf(buf, size, "%s<%d>", elem_kind_name(t.kind), t.bits);
        break;
    default:
        snprintf(buf, size, "%s", elem_kind_name(t.kind));
    }
}

bool elem_type_equal(ElemType a, ElemType b)
{
    return a.kind == b.kind && a.bits == b.bits && a.frac == b.frac;
}

int elem_type_bits(ElemType t) { return t.bits; }

size_t elem_kind_size(ElemKind k)
{
    switch (k) {
    case ELEM_F32:
    case ELEM_I32: return 4;
    case ELEM_I16: return 2;
    case ELEM_I8:
    case ELEM_U8: return 1;
    case ELEM_LOG2:
    case ELEM_CODEBOOK:
    case ELEM_BINARY:
    case ELEM_TERNARY: return 1; /* one code a byte; the weights file packs them (code_pack.c) */
    default: return 0;
    }
}

bool elem_is_code(ElemKind k)
{
    return k == ELEM_LOG2 || k == ELEM_CODEBOOK || k == ELEM_BINARY || k == ELEM_TERNARY;
}

bool elem_nonzero(ElemKind k, const void *data, int64_t i)
{
    switch (k) {
    case ELEM_F32: return ((const float *)data)[i] != 0.0f;
    case ELEM_I32: return ((const int32_t *)data)[i] != 0;
    case ELEM_I8: return ((const int8_t *)data)[i] != 0;
    case ELEM_U8: return ((const uint8_t *)data)[i] != 0;
    case ELEM_I16: return ((const int16_t *)data)[i] != 0;
    case ELEM_LOG2:
    case ELEM_CODEBOOK:
    case ELEM_BINARY:
    case ELEM_TERNARY: return true; /* what a code stands for depends on its scale or codebook */
    default: return false;
    }
}

bool shape_equal(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

bool shape_count(const Shape *s, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->d[i] < 0 || !checked_mul(n, s->d[i], &n) || n > DNNC_MAX_ELEMS)
            return false;
    *out = n;
    return true;
}

int64_t shape_elems(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i];
    return n;
}

bool shape_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    Shape r = {a->rank > b->rank ? a->rank : b->rank, {0}};
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        r.d[i] = da == 1 ? db : da;
    }
    *out = r;
    return true;
}

void shape_format(const Shape *s, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)s->d[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static const char *const sparse_names[] = {"dense", "csr", "csc", "rlc"};

const char *sparse_format_name(SparseFormat f) { return sparse_names[f]; }

bool sparse_format_from_name(const char *s, SparseFormat *out)
{
    for (int f = 0; f < (int)(sizeof sparse_names / sizeof *sparse_names); f++)
        if (strcmp(s, sparse_names[f]) == 0) {
            *out = (SparseFormat)f;
            return true;
        }
    return false;
}
