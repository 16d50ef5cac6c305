/* Overflow-checked arithmetic for sizes that come from untrusted input.
 * Every product of dimensions goes through these before it is used to size
 * anything. */
#ifndef DNNC_CHECKED_H
#define DNNC_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* The largest element count dnnc accepts for one tensor: 2^48, far beyond any
 * real network, small enough that count * 16 bytes cannot overflow. */
#define DNNC_MAX_ELEMS ((int64_t)1 << 48)

/* The most multiply-accumulates one layer may need, so that sums over any
 * graph dnnc accepts (at most DNNC_MAX_NODES layers) stay within int64. */
#define DNNC_MAX_MACS ((int64_t)1 << 56)
#define DNNC_MAX_NODES (1 << 18)

static inline bool checked_mul(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool checked_add(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

#endif
