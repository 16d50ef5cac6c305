/* Helpers shared by the kernel files (compiled only into the kernel
 * bitcode, freestanding: no libc headers but libm's functions). */
#ifndef DNNK_COMMON_H
#define DNNK_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnnk.h"

#define KERNEL __attribute__((always_inline)) void
#define INLINE static inline __attribute__((always_inline))

/* An out-of-line instance of a kernel's code that a module links only if
 * one of its layers calls it (codegen/llvm/lower.c, link_deferred): the
 * library defines it as DNNK_DEFERRED(name), and callers call `name`,
 * which the library only declares. A kernel picks its instance (a register
 * tile's shape, a Winograd tile size) by its descriptor, a constant in each
 * layer; LLVM folds the choice only after inlining, but the linker, which
 * copies the library's functions as they are referenced, would by then have
 * parsed every instance the choice names (ResNet-50 calls 6 of 72 tiles). */
#define DNNK_DEFERRED(name) dnnk_deferred_##name
#define DNNK_DEFERRED_FN(name, params)                                                                      \
    void name params;                                                                                       \
    __attribute__((noinline)) void DNNK_DEFERRED(name) params

float expf(float);
float logf(float);
float tanhf(float);
float expm1f(float);
float powf(float, float);
float sqrtf(float);
/* -ffreestanding makes memcpy an ordinary function: copy through the
 * builtin, so that small fixed-size copies (every vector load and store)
 * become moves. */
INLINE void copy_bytes(void *dst, const void *src, size_t n) { __builtin_memcpy(dst, src, n); }

/* Load, store and broadcast for a float vector type of `lanes` lanes,
 * any alignment. The broadcast is a plain one: (type){0} + x would cost an
 * addition in every use (0 + x is not x for x = -0, so it cannot be folded
 * away), one for every two multiply-adds of the GEMM micro-kernel. */
#define VECTOR_OPS(type, lanes, load, store, splat)                                                  \
    INLINE type load(const float *p)                                                                 \
    {                                                                                                \
        type v;                                                                                      \
        copy_bytes(&v, p, sizeof v);                                                                 \
        return v;                                                                                    \
    }                                                                                                \
    INLINE void store(float *p, type v) { copy_bytes(p, &v, sizeof v); }                             \
    INLINE type splat(float x)                                                                       \
    {                                                                                                \
        type v;                                                                                      \
        for (int l = 0; l < (lanes); l++)                                                            \
            v[l] = x;                                                                                \
        return v;                                                                                    \
    }

/* The library's vector: DNNK_LANES floats, any alignment. */
typedef float vf __attribute__((vector_size(DNNK_LANES * 4), aligned(4)));
VECTOR_OPS(vf, DNNK_LANES, loadv, storev, splatv)

INLINE int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Element-wise and copying kernels: units are chunks of DNNK_CHUNK
 * elements of tensor t; unit range [begin, end) ends at element: */
INLINE int64_t chunk_end(const dnnk_tensor *t, int64_t end) { return min64(end * DNNK_CHUNK, dnnk_count(t)); }

INLINE int64_t elem_size(int64_t type)
{
    return type == DNNK_F32 || type == DNNK_I32 ? 4 : type == DNNK_I16 ? 2 : 1;
}

INLINE double load_any(int64_t type, const void *p, int64_t i)
{
    switch (type) {
    case DNNK_F32: return ((const float *)p)[i];
    case DNNK_I8: return ((const int8_t *)p)[i];
    case DNNK_U8: return ((const uint8_t *)p)[i];
    case DNNK_I16: return ((const int16_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

INLINE int64_t load_integer(int64_t type, const void *p, int64_t i)
{
    switch (type) {
    case DNNK_I8: return ((const int8_t *)p)[i];
    case DNNK_U8: return ((const uint8_t *)p)[i];
    case DNNK_I16: return ((const int16_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

/* Integers wrap like the reference executor's (NumPy's). */
INLINE void store_integer(int64_t type, void *p, int64_t i, int64_t v)
{
    uint64_t u = (uint64_t)v;
    switch (type) {
    case DNNK_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)u; break;
    case DNNK_U8: ((uint8_t *)p)[i] = (uint8_t)u; break;
    case DNNK_I16: ((int16_t *)p)[i] = (int16_t)(uint16_t)u; break;
    default: ((int32_t *)p)[i] = (int32_t)(uint32_t)u; break;
    }
}

INLINE void store_any(int64_t type, void *p, int64_t i, double v)
{
    if (type == DNNK_F32) {
        ((float *)p)[i] = (float)v;
        return;
    }
    int64_t x = v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
    store_integer(type, p, i, x);
}

/* Rounded half to even (the default rounding mode), as an instruction: a
 * call of libm's nearbyint, which -ffreestanding makes of the plain name,
 * costs more than the rest of a quantize and keeps loops scalar. */
INLINE double round_even(double v) { return __builtin_nearbyint(v); }

/* Rounded half to even and saturated, as ONNX requantises. */
INLINE void store_saturated(int64_t type, void *p, int64_t i, double v)
{
    double lo = type == DNNK_U8 ? 0 : type == DNNK_I8 ? -128 : type == DNNK_I16 ? -32768 : -2147483648.0;
    double hi = type == DNNK_U8 ? 255 : type == DNNK_I8 ? 127 : type == DNNK_I16 ? 32767 : 2147483647.0;
    double r = round_even(v);
    store_any(type, p, i, r < lo ? lo : r > hi ? hi : r);
}

INLINE int64_t stride_of(const dnnk_tensor *t, int64_t from)
{
    int64_t s = 1;
    for (int64_t i = from; i < t->rank; i++)
        s *= t->dims[i];
    return s;
}

/* The activation of a conv or fc epilogue on the rounded sum x, exactly as
 * the activation's own layer computes it (runtime/reference/activation.c). */
INLINE float activate(const dnnk_act *a, float x)
{
    switch (a->kind) {
    case DNNK_ACT_RELU: return x > 0 ? x : 0.0f;
    case DNNK_ACT_LEAKY_RELU: return x >= 0 ? x : (float)a->alpha * x;
    case DNNK_ACT_CLIP: {
        double v = x < a->min ? a->min : x;
        return (float)(v > a->max ? a->max : v);
    }
    default: return x;
    }
}

/* Offset into `in` broadcast (NumPy rules) to `out` for output index i. */
INLINE int64_t broadcast_offset(const dnnk_tensor *in, const dnnk_tensor *out, int64_t i)
{
    int64_t offset = 0, stride = 1, rest = i;
    for (int64_t d = out->rank - 1, k = in->rank - 1; d >= 0; d--, k--) {
        int64_t coord = rest % out->dims[d];
        rest /= out->dims[d];
        if (k >= 0) {
            if (in->dims[k] != 1)
                offset += coord * stride;
            stride *= in->dims[k];
        }
    }
    return offset;
}

#endif
