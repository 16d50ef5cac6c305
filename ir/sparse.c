/* CSR and CSC encodings of weight matrices (sparse.h). */
#include "sparse.h"

#include <stdio.h>
#include <string.h>

void sparse_matrix_dims(const Shape *s, int64_t *rows, int64_t *cols)
{
    *rows = s->rank > 0 ? s->d[0] : 1;
    *cols = 1;
    for (int i = 1; i < s->rank; i++)
        *cols *= s->d[i];
}

bool sparse_has_weights(const Node *n)
{
    return n->op == OP_CONV || n->op == OP_FC || n->op == OP_QLINEAR_CONV;
}

bool sparse_encodable(ElemKind k) { return k == ELEM_F32 || k == ELEM_I8; }

/* Element i of weights of kind k (sparse_encodable), as a float: exact
 * for i8. */
static float weight_at(ElemKind k, const void *w, int64_t i)
{
    return k == ELEM_I8 ? (float)((const int8_t *)w)[i] : ((const float *)w)[i];
}

static int64_t count_nonzero(ElemKind k, const void *w, int64_t count)
{
    int64_t nz = 0;
    for (int64_t i = 0; i < count; i++)
        nz += weight_at(k, w, i) != 0.0f;
    return nz;
}

/* qlinear_conv's parameters: weight, x_scale, x_zero_point, w_scale,
 * w_zero_point, ... (ops.def). */
enum { QLINEAR_W_ZERO = 4 };

bool sparse_zero_is_zero(const Graph *g, const Node *n)
{
    if (n->op != OP_QLINEAR_CONV)
        return true;
    /* Zero points are integers: 0 where all their bytes are. */
    const Tensor *z = &g->tensors[n->params[QLINEAR_W_ZERO]];
    const uint8_t *bytes = z->data;
    int64_t count = shape_elems(&z->shape) * elem_type_bits(z->type) / 8;
    for (int64_t i = 0; bytes && i < count; i++)
        if (bytes[i] != 0)
            return false;
    return bytes != NULL;
}

/* Weights are counted in slices of this many, each released once counted
 * (graph_release_range): VGG-16's 400 MB fc layer is never in memory whole
 * when it lies in a weight file. */
#define COUNT_SLICE ((int64_t)1 << 20)

int64_t sparse_nonzero_weights(const Graph *g, const Node *n, int64_t *count)
{
    const Tensor *w = &g->tensors[n->params[0]];
    size_t size = elem_kind_size(w->type.kind);
    int64_t nz = 0;
    *count = shape_elems(&w->shape);
    for (int64_t at = 0; w->data && at < *count; at += COUNT_SLICE) {
        int64_t len = *count - at < COUNT_SLICE ? *count - at : COUNT_SLICE;
        const unsigned char *slice = (const unsigned char *)w->data + (size_t)at * size;
        nz += count_nonzero(w->type.kind, slice, len);
        graph_release_range(g, slice, (size_t)len * size);
    }
    return nz;
}

/* The outer dimension of f's walk (rows for CSR, columns for CSC) and the
 * position of element (outer, inner) in the row-major matrix. */
static int64_t outer_count(SparseFormat f, int64_t rows, int64_t cols) { return f == SPARSE_CSC ? cols : rows; }
static int64_t inner_count(SparseFormat f, int64_t rows, int64_t cols) { return f == SPARSE_CSC ? rows : cols; }
static int64_t at(SparseFormat f, int64_t cols, int64_t outer, int64_t inner)
{
    return f == SPARSE_CSC ? inner * cols + outer : outer * cols + inner;
}

static SparseData *encode(Arena *a, SparseFormat f, ElemKind kind, const void *w, int64_t rows, int64_t cols)
{
    int64_t outer = outer_count(f, rows, cols), inner = inner_count(f, rows, cols);
    int64_t nnz = count_nonzero(kind, w, rows * cols);
    SparseData *s = arena_alloc(a, sizeof *s);
    memset(s, 0, sizeof *s);
    s->format = f, s->rows = rows, s->cols = cols, s->nnz = nnz;
    s->ptr = arena_array(a, (size_t)outer + 1, sizeof *s->ptr);
    /* arena_array of 0 elements may return NULL: keep one slot. */
    s->index = arena_array(a, (size_t)(nnz ? nnz : 1), sizeof *s->index);
    s->values = arena_array(a, (size_t)(nnz ? nnz : 1), sizeof *s->values);
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++) {
        s->ptr[o] = k;
        for (int64_t i = 0; i < inner; i++) {
            float v = weight_at(kind, w, at(f, cols, o, i));
            if (v != 0.0f)
                s->index[k] = (int32_t)i, s->values[k++] = v;
        }
    }
    s->ptr[outer] = k;
    return s;
}

SparseData *sparse_encode(Arena *a, SparseFormat f, const float *w, int64_t rows, int64_t cols)
{
    return encode(a, f, ELEM_F32, w, rows, cols);
}

SparseData *sparse_encode_tensor(Arena *a, SparseFormat f, const Tensor *t)
{
    int64_t rows, cols;
    sparse_matrix_dims(&t->shape, &rows, &cols);
    return encode(a, f, t->type.kind, t->data, rows, cols);
}

bool sparse_check(const SparseData *s, int64_t rows, int64_t cols, char *why, size_t whysz)
{
    if (s->format != SPARSE_CSR && s->format != SPARSE_CSC) {
        snprintf(why, whysz, "the encoding is not CSR or CSC");
        return false;
    }
    if (s->rows != rows || s->cols != cols) {
        snprintf(why, whysz, "the encoding is of a %lld x %lld matrix, the weights %lld x %lld",
                 (long long)s->rows, (long long)s->cols, (long long)rows, (long long)cols);
        return false;
    }
    int64_t outer = outer_count(s->format, rows, cols), inner = inner_count(s->format, rows, cols);
    if (s->ptr[0] != 0 || s->ptr[outer] != s->nnz) {
        snprintf(why, whysz, "the pointers do not run from 0 to the %lld values", (long long)s->nnz);
        return false;
    }
    for (int64_t o = 0; o < outer; o++) {
        if (s->ptr[o + 1] < s->ptr[o]) {
            snprintf(why, whysz, "pointer %lld is below the one before it", (long long)o + 1);
            return false;
        }
        for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++)
            if (s->index[k] < 0 || s->index[k] >= inner || (k > s->ptr[o] && s->index[k] <= s->index[k - 1])) {
                snprintf(why, whysz, "index %lld (%d) is out of range or out of order", (long long)k,
                         (int)s->index[k]);
                return false;
            }
    }
    return true;
}

bool sparse_matches(const SparseData *s, ElemKind kind, const void *w)
{
    if (count_nonzero(kind, w, s->rows * s->cols) != s->nnz)
        return false;
    for (int64_t o = 0; o < outer_count(s->format, s->rows, s->cols); o++)
        for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++)
            if (weight_at(kind, w, at(s->format, s->cols, o, s->index[k])) != s->values[k])
                return false;
    return true;
}

void sparse_decode(const SparseData *s, float *w)
{
    memset(w, 0, (size_t)(s->rows * s->cols) * sizeof *w);
    for (int64_t o = 0; o < outer_count(s->format, s->rows, s->cols); o++)
        for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++)
            w[at(s->format, s->cols, o, s->index[k])] = s->values[k];
}
