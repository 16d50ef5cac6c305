#include "weight_codes.h"

#include <math.h>
#include <stdlib.h>

#include "weight_code.h"

#define KMEANS_MAX_ROUNDS 100

/* ---- per filter (or per layer): log2, binary, ternary ---- */

static double mean_abs(const float *w, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += fabs(w[i]);
    return n ? sum / (double)n : 0;
}

static float binary_codes(const float *w, int64_t n, uint8_t *codes)
{
    for (int64_t i = 0; i < n; i++)
        codes[i] = w[i] >= 0;
    return (float)mean_abs(w, n);
}

static float ternary_codes(const float *w, int64_t n, uint8_t *codes)
{
    double threshold = 0.7 * mean_abs(w, n), kept = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        bool keep = fabs(w[i]) > threshold;
        codes[i] = keep ? (w[i] > 0 ? 1 : 3) : 0;
        kept += keep ? fabs(w[i]) : 0;
        count += keep;
    }
    return count ? (float)(kept / (double)count) : 0.0f;
}

/* The magnitude code (ir/weight_code.h) of |v| on the levels scale,
 * scale/2, ..., scale 2^-(top-1). */
static int log2_magnitude(double v, double scale, int top)
{
    if (v == 0 || scale == 0)
        return 0;
    double e = nearbyint(log2(v / scale)); /* <= 0: scale is the largest level, rounded */
    int m = 1 - (int)fmin(e, 0);
    if (m <= top)
        return m;
    return v >= ldexp(scale, -(top - 1)) / 2 ? top : 0; /* below the levels: the nearer of 0 and the smallest */
}

static float log2_codes(int bits, const float *w, int64_t n, uint8_t *codes)
{
    double largest = 0;
    for (int64_t i = 0; i < n; i++)
        largest = fmax(largest, fabs(w[i]));
    float scale = largest > 0 ? ldexpf(1.0f, (int)nearbyint(log2(largest))) : 0.0f;
    int top = (1 << (bits - 1)) - 1;
    for (int64_t i = 0; i < n; i++) {
        int m = log2_magnitude(fabs(w[i]), scale, top);
        codes[i] = (uint8_t)(m | (m && w[i] < 0 ? 1 << (bits - 1) : 0));
    }
    return scale;
}

static float scaled_codes(ElemType t, const float *w, int64_t n, uint8_t *codes)
{
    switch (t.kind) {
    case ELEM_BINARY: return binary_codes(w, n, codes);
    case ELEM_TERNARY: return ternary_codes(w, n, codes);
    default: return log2_codes(t.bits, w, n, codes);
    }
}

/* ---- codebook: k-means over the layer ---- */

/* The nearest of k ascending centroids (the lower on a tie). */
static uint8_t nearest(const float *c, int k, float v)
{
    int lo = 0, hi = k - 1;
    while (lo < hi) { /* the first centroid whose midpoint with the next is at least v */
        int mid = (lo + hi) / 2;
        if (v <= ((double)c[mid] + c[mid + 1]) / 2)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (uint8_t)lo;
}

/* One Lloyd round: assign, then move each centroid to its weights' mean
 * (a centroid nobody chose stays). Returns whether any code changed. */
static bool kmeans_round(const float *w, int64_t n, float *c, int k, uint8_t *codes, double *sum,
                         int64_t *count)
{
    bool changed = false;
    for (int j = 0; j < k; j++)
        sum[j] = 0, count[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        uint8_t q = nearest(c, k, w[i]);
        changed |= q != codes[i];
        codes[i] = q;
        sum[q] += w[i];
        count[q]++;
    }
    for (int j = 0; j < k; j++)
        if (count[j])
            c[j] = (float)(sum[j] / (double)count[j]);
    return changed;
}

/* Centroids stay ascending: each is a mean of a run of sorted weights
 * between its neighbours' runs, so nearest() may search them. */
static void codebook_codes(int bits, const float *w, int64_t n, uint8_t *codes, float *c)
{
    int k = 1 << bits;
    double lo = INFINITY, hi = -INFINITY, sum[256];
    int64_t count[256];
    for (int64_t i = 0; i < n; i++)
        lo = fmin(lo, w[i]), hi = fmax(hi, w[i]);
    for (int j = 0; j < k; j++)
        c[j] = (float)(lo + (hi - lo) * j / (k - 1));
    for (int64_t i = 0; i < n; i++)
        codes[i] = nearest(c, k, w[i]);
    for (int round = 0; round < KMEANS_MAX_ROUNDS; round++)
        if (!kmeans_round(w, n, c, k, codes, sum, count))
            break;
    for (int64_t i = 0; i < n; i++) /* the codes of the final centroids */
        codes[i] = nearest(c, k, w[i]);
}

void weight_codes_choose(ElemType t, bool per_channel, const float *w, int64_t filters, int64_t per_filter,
                         uint8_t *codes, float *decoder)
{
    if (t.kind == ELEM_CODEBOOK) {
        codebook_codes(t.bits, w, filters * per_filter, codes, decoder);
        return;
    }
    if (!per_channel) {
        decoder[0] = scaled_codes(t, w, filters * per_filter, codes);
        return;
    }
    for (int64_t f = 0; f < filters; f++)
        decoder[f] = scaled_codes(t, w + f * per_filter, per_filter, codes + f * per_filter);
}
