/* Post-training quantisation (survey VII-A): what `dnnc quantize` and
 * --quantize ask of the quantize pass, and the calibration that measures
 * the ranges of a network's activations on real data (calibrate.c).
 * docs/quantization.md gives every rule. */
#ifndef DNNC_QUANTIZE_H
#define DNNC_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* The survey's menu, every mode with a pass and kernels. int8 and the
 * fixed-point modes compute on integers (qlinear_conv); log2, kmeans,
 * binary and ternary code the weights only (coded_conv, float activations).
 * The third column: whether dnnc has the mode (a mode added here without
 * its pass is refused by name by quant_mode_ready, never ignored). */
#define DNNC_QUANT_MODES(X)                                                                \
    X(QUANT_NONE, "none", true)                                                            \
    X(QUANT_INT8, "int8", true)       /* uniform 8-bit, scale and zero point (VII-A2) */   \
    X(QUANT_FIXED8, "fixed8", true)   /* dynamic fixed point, 8 bits (VII-A1) */           \
    X(QUANT_FIXED16, "fixed16", true) /* dynamic fixed point, 16 bits (VII-A1) */          \
    X(QUANT_LOG2, "log2", true)       /* power-of-two weights (VII-A3) */                  \
    X(QUANT_KMEANS, "kmeans", true)   /* weight sharing by a codebook (VII-A4) */          \
    X(QUANT_BINARY, "binary", true)   /* BWN (VII-A5) */                                   \
    X(QUANT_TERNARY, "ternary", true) /* TWN (VII-A5) */

typedef enum {
#define X(e, s, r) e,
    DNNC_QUANT_MODES(X)
#undef X
    QUANT_MODE_COUNT
} QuantMode;

const char *quant_mode_name(QuantMode m);
bool quant_mode_from_name(const char *s, QuantMode *out);
/* Whether dnnc can quantise to m yet. */
bool quant_mode_ready(QuantMode m);
/* log2, kmeans, binary, ternary: the weights become codes and the
 * activations stay float32, so the mode needs no calibration. */
bool quant_mode_codes_weights(QuantMode m);
/* "int8, fixed8, ..." for messages. */
const char *quant_mode_names(void);

/* How an activation's range is read off the calibration data. */
typedef enum {
    CALIB_MINMAX,     /* the smallest and largest value seen */
    CALIB_PERCENTILE, /* |x| clipped at a percentile of its values */
    CALIB_ENTROPY,    /* |x| clipped where the quantised distribution loses least
                         information (Kullback-Leibler divergence, as TensorRT) */
} CalibMethod;

const char *calib_method_name(CalibMethod m);
bool calib_method_from_name(const char *s, CalibMethod *out);

typedef struct QuantOptions {
    QuantMode mode;       /* QUANT_NONE: only layers with @precision are quantised */
    bool per_tensor;      /* weights: one scale for the tensor (default: per filter) */
    bool symmetric;       /* activations: zero point 0 (default: u8 with a zero point) */
    bool first_last;      /* quantise the first and last conv/fc too */
    int weight_bits;      /* log2 and kmeans: bits a code (0: 4) */
    CalibMethod method;
    double percentile;    /* CALIB_PERCENTILE: share of |x| kept, in (0, 100] */
    /* Calibration data: batches for graph input 0, each holding as many
     * float32 values as that input (its declared shape). */
    const float *const *batches;
    int64_t n_batches;
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} QuantOptions;

/* The range calibration gives one tensor. */
typedef struct TensorRange {
    bool seen;  /* a float activation the calibration ran */
    double lo, hi;
} TensorRange;

/* Runs g (float, weights bound) on every calibration batch with the
 * reference executor and writes into ranges[t] the range of every float
 * activation tensor t (ranges has g->n_tensors entries), reduced by the
 * options' method. False, with the reason in err, when a run fails or
 * memory runs out. */
bool calibrate_ranges(Graph *g, const QuantOptions *q, TensorRange *ranges, char *err, size_t errsz);

/* The clipping threshold for |x| that the method picks from a histogram of
 * |x| (bins of equal width over [0, top]), for a quantised grid of `levels`
 * steps above zero. Exposed for tests. */
double calib_threshold(const double *hist, int bins, double top, int levels, CalibMethod m,
                       double percentile);

#endif
