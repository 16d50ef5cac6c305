/* The pooling unit: max pooling of a DRAM tensor into another, window by
 * window, on the 16-bit words a layer wrote (max commutes with the
 * monotone requantisation, so pooling after it is exact). Average pooling
 * would need a rounding rule the reference shares; it is refused. */
#include <stdio.h>

#include "sim_state.h"

static bool window_max(const SimMachine *s, const IsaInstr *in, int64_t src, int64_t oy,
                       int64_t ox, int64_t *out)
{
    const int64_t *f = in->f;
    bool any = false;
    int64_t best = 0;
    for (int64_t ky = 0; ky < f[ISA_POOL_WIN_H]; ky++)
        for (int64_t kx = 0; kx < f[ISA_POOL_WIN_W]; kx++) {
            int64_t y = oy * f[ISA_POOL_STRIDE_H] + ky - f[ISA_POOL_PAD_T];
            int64_t x = ox * f[ISA_POOL_STRIDE_W] + kx - f[ISA_POOL_PAD_L];
            if (y < 0 || y >= f[ISA_POOL_IN_H] || x < 0 || x >= f[ISA_POOL_IN_W])
                continue; /* padding never wins a max */
            int64_t v = s->dram[src + y * f[ISA_POOL_IN_W] + x];
            if (!any || v > best)
                best = v;
            any = true;
        }
    *out = best;
    return any;
}

bool sim_pool(SimMachine *s, const IsaInstr *in, char *err, size_t errsz)
{
    const int64_t *f = in->f;
    if (f[ISA_POOL_KIND] != ISA_POOL_MAX) {
        snprintf(err, errsz, "the pooling unit does max pooling only");
        return false;
    }
    if (f[ISA_POOL_WIN_H] < 1 || f[ISA_POOL_WIN_W] < 1 || f[ISA_POOL_STRIDE_H] < 1 ||
        f[ISA_POOL_STRIDE_W] < 1) {
        snprintf(err, errsz, "pool: windows and strides must be at least 1");
        return false;
    }
    /* Sizes of at most 2^16 each: products below 2^64 only when checked. */
    int64_t planes = f[ISA_POOL_N] * f[ISA_POOL_C];
    int64_t in_plane = f[ISA_POOL_IN_H] * f[ISA_POOL_IN_W];
    int64_t out_plane = f[ISA_POOL_OUT_H] * f[ISA_POOL_OUT_W];
    int64_t in_words, out_words;
    if (__builtin_mul_overflow(planes, in_plane, &in_words) ||
        __builtin_mul_overflow(planes, out_plane, &out_words) ||
        f[ISA_POOL_SRC] + in_words > s->dram_words || f[ISA_POOL_DST] + out_words > s->dram_words) {
        snprintf(err, errsz, "pool reads or writes outside the DRAM");
        return false;
    }
    s->macs_done += (double)out_words * (double)f[ISA_POOL_WIN_H] * (double)f[ISA_POOL_WIN_W];
    if (s->max_macs > 0 && s->macs_done > s->max_macs) {
        snprintf(err, errsz, "the stream's work exceeds the limit of %.0f operations", s->max_macs);
        return false;
    }
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t oy = 0; oy < f[ISA_POOL_OUT_H]; oy++)
            for (int64_t ox = 0; ox < f[ISA_POOL_OUT_W]; ox++) {
                int64_t v;
                if (!window_max(s, in, f[ISA_POOL_SRC] + pl * in_plane, oy, ox, &v)) {
                    snprintf(err, errsz, "pool: window (%lld, %lld) lies in the padding only",
                             (long long)oy, (long long)ox);
                    return false;
                }
                s->dram[f[ISA_POOL_DST] + pl * out_plane + oy * f[ISA_POOL_OUT_W] + ox] = v;
            }
    /* The pooling unit's traffic is its own: the model leaves the pooling
     * unit out, and the layer before it has its DRAM time without it. */
    if (s->cur)
        s->cur->pool_words += (double)in_words + (double)out_words;
    return true;
}
