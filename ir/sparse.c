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

int64_t sparse_nonzero_weights(const Graph *g, const Node *n, int64_t *count)
{
    const Tensor *w = &g->tensors[n->params[0]];
    int64_t nz = 0;
    const float *v = w->data;
    *count = shape_elems(&w->shape);
    for (int64_t i = 0; i < *count; i++)
        nz += v[i] != 0.0f;
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

SparseData *sparse_encode(Arena *a, SparseFormat f, const float *w, int64_t rows, int64_t cols)
{
    int64_t outer = outer_count(f, rows, cols), inner = inner_count(f, rows, cols), nnz = 0;
    for (int64_t i = 0; i < rows * cols; i++)
        nnz += w[i] != 0.0f;
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
            float v = w[at(f, cols, o, i)];
            if (v != 0.0f)
                s->index[k] = (int32_t)i, s->values[k++] = v;
        }
    }
    s->ptr[outer] = k;
    return s;
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

bool sparse_matches(const SparseData *s, const float *w)
{
    int64_t nz = 0;
    for (int64_t i = 0; i < s->rows * s->cols; i++)
        nz += w[i] != 0.0f;
    if (nz != s->nnz)
        return false;
    for (int64_t o = 0; o < outer_count(s->format, s->rows, s->cols); o++)
        for (int64_t k = s->ptr[o]; k < s->ptr[o + 1]; k++)
            if (w[at(s->format, s->cols, o, s->index[k])] != s->values[k])
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
