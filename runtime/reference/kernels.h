/* The reference kernels, one per op (named in ir/ops.def). */
#ifndef DNNC_REF_KERNELS_H
#define DNNC_REF_KERNELS_H

#include "conv_algo.h"
#include "graph.h"

/* Buffers are untyped: each holds elements of its tensor's type (f32, i8,
 * u8, i16 or i32). Float-only kernels read them through fin/fout/fparam. */
typedef struct KernelArgs {
    const Node *node;
    const void *const *in;   /* activation operands */
    const Shape *const *in_shape;
    const ElemKind *in_type;
    int n_in;
    const void *const *param; /* weights in the order the shape rule declares them */
    const ElemKind *param_type;
    void *out;
    const Shape *out_shape;
    ElemKind out_type;
    char *scratch; /* at least scratch_bytes(node) of working memory */
    /* The encoding of the weights (parameter 0) select-sparsity chose,
     * which conv and fc then compute from (sparse.c); NULL: dense. */
    const SparseData *sparse;
} KernelArgs;

/* Working memory a kernel may need: double accumulators for the output and
 * float copies of two operands and the first parameter (quantised kernels),
 * and for a conv its algorithm's (conv_work_bytes). The executor allocates
 * it once, so kernels never allocate. */
size_t scratch_bytes(const Graph *g, const Node *n);

static inline const float *fin(const KernelArgs *a, int i) { return a->in[i]; }
static inline const float *fparam(const KernelArgs *a, int i) { return a->param[i]; }
static inline float *fout(const KernelArgs *a) { return a->out; }

/* Reads element i of typed data as a double, and stores v into element i,
 * converting as C does (integers wrap, as NumPy's do). */
double load_elem(ElemKind k, const void *data, int64_t i);
void store_elem(ElemKind k, void *data, int64_t i, double v);
/* Stores a quantised value: rounded half to even and saturated (ONNX). */
void store_saturated(ElemKind k, void *data, int64_t i, double v);

/* Offset into an operand of shape `in` broadcast to `out`, for the output
 * element at linear index i. */
int64_t broadcast_offset(const Shape *in, const Shape *out, int64_t i);

typedef void (*RefKernel)(const KernelArgs *a);

#define OP(e, s, at, lo, hi, ty, inf, mac, ref) void ref(const KernelArgs *a);
#include "ops.def"
#undef OP

/* The shared cores of conv.c: sums in double, no bias, no rounding. */
void conv_core(const ConvAttrs *at, const Shape *is, const Shape *os, const float *in,
               const float *w, double *acc_out);
/* conv_core's result through the FFT (fft_conv.c): tiled overlap-save with
 * fft_size x fft_size real transforms in float32 (error bound:
 * docs/fast-convolution.md), for the layers fft_conv_applies accepts:
 * stride 1, dilation 1, a kernel no larger than fft_size, a power of two.
 * Other layers are computed with conv_core. fft_conv_with_work uses `work`
 * of fft_conv_work_bytes (0 for those other layers; SIZE_MAX if too large);
 * ref_conv gives it from the executor's scratch (conv_work_bytes). */
bool fft_conv_applies(const ConvAttrs *at, int fft_size);
size_t fft_conv_work_bytes(const ConvAttrs *at, int fft_size, const Shape *is, const Shape *os);
void fft_conv_with_work(const ConvAttrs *at, int fft_size, const Shape *is, const Shape *os,
                        const float *in, const float *w, double *acc, void *work);
/* conv_core's and ref_fc's sums from an encoding of the weights instead
 * (sparse.c): the same sums in double, visiting the non-zero weights as the
 * encoding lists them. fc: in is [N][K], acc [N][U]. */
void sparse_conv_sums(const SparseData *s, const ConvAttrs *at, const Shape *is, const Shape *os,
                      const float *in, double *acc);
void sparse_fc_sums(const SparseData *s, int64_t N, const float *in, double *acc);
void matmul_core(const Shape *as, const Shape *bs, const Shape *os, const float *A, const float *B,
                 double *acc_out);
/* conv_core's sums by the plain implementation of algorithm c (which must
 * apply to `at`): what ref_conv runs for a conv with that @algo. work holds
 * conv_algo_work_bytes (SIZE_MAX: too large). select-algo measures a fast
 * algorithm's error on a layer with these. */
size_t conv_algo_work_bytes(const ConvAttrs *at, AlgoChoice c, const Shape *is, const Shape *os);
void conv_algo_sums(const ConvAttrs *at, AlgoChoice c, const Shape *is, const Shape *os,
                    const float *in, const float *w, double *acc, void *work);
/* The working memory ref_conv needs for conv n beyond its accumulators: the
 * transformed filters and tiles of its @algo (conv.c). */
size_t conv_work_bytes(const Graph *g, const Node *n);

/* The requantisation multiplier of qlinear_conv and qlinear_matmul,
 * x_scale * w_scale / y_scale in double in that order (quant.c). */
double ref_requant_multiplier(float x_scale, float w_scale, float y_scale);
/* M_r of qlinear_conv's residual operand (quant.c). */
double ref_residual_multiplier(float r_scale, float y_scale);
/* qlinear_conv on i16 operands, in 64-bit integers (qconv16.c). */
void ref_qlinear_conv16(const KernelArgs *a);
/* round_half_even(v * 2^-shift), exact for every v (qconv16.c): a rounding
 * right shift for shift > 0, a left shift saturated to int64 otherwise. */
int64_t ref_round_shift(int64_t v, int shift);

/* A fused or stand-alone activation of one float (activation.c). */
float ref_activate(const Activation *act, float x);

/* Product of dims [from, to): strides for C-order loops. */
int64_t dims_product(const Shape *s, int from, int to);

#endif
