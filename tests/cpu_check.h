/* Helpers of the tests of the cpu target's convolution kernels
 * (test_cpu_winograd.c, test_cpu_fft.c, test_cpu_direct.c,
 * test_cpu_blocked.c): one graph with random inputs run on the reference
 * executor, through the JIT on 1 and 2 threads, and as object code linked
 * into a shared library. */
#ifndef DNNC_CPU_CHECK_H
#define DNNC_CPU_CHECK_H

#include <stdint.h>

#include "codegen.h"
#include "test_util.h"

/* Deterministic values in [lo, hi) (a 64-bit LCG). */
void cpu_check_fill(float *v, int64_t n, uint64_t *state, double lo, double hi);

/* n zeroed floats (at least one), failing the test without memory. */
float *cpu_check_floats(int64_t n);

/* Inputs and outputs of a graph: random inputs in [-1, 1), an output
 * buffer per graph output. */
typedef struct CpuIo {
    int n_in, n_out;
    float *in[2], *out[2];
    int64_t in_count[2], out_count[2];
} CpuIo;

void cpu_io_make(const Graph *g, uint64_t seed, CpuIo *io);
void cpu_io_free(CpuIo *io);

/* Output 0 of g on the reference executor (malloc'd). */
float *cpu_run_reference(const Graph *g, const CpuIo *io);
/* Output 0 of g through the JIT at -O2 (module `name`) for `cpu` with
 * `features` (NULL: the host's), on 1 thread into out[0] and on 2 into
 * out[1] (malloc'd). */
void cpu_run_jit(const Graph *g, const char *name, const char *cpu, const char *features, const CpuIo *io,
                 float *out[2]);
/* Output 0 of g as object code linked into a shared library (malloc'd). */
float *cpu_run_object(const Graph *g, const char *name, const CpuIo *io);

/* The cpu pipeline at -O1 with every conv and fc coded in mode m
 * (quantize.h's QuantMode; 3-bit codebooks, so that a layer of 8 weights
 * a group can take one), failing the test with `name` if it fails. */
void cpu_code_every_layer(Graph *g, int mode, const char *name);

/* Fails the test with `what` unless got and want are the same bits. */
void cpu_expect_same_bits(const char *what, const float *got, const float *want, int64_t count);

/* Random biases in [-0.5, 0.5) for every conv with a bias
 * (weights_randomize makes them 0). */
void cpu_random_biases(Graph *g, uint64_t seed);

/* Parses `text`, with random weights (seed 7) and biases (seed 9). */
Graph *cpu_parse_or_fail(Parsed *p, const char *name, const char *text);

/* The index of g's first layer of op, failing the test without one. */
int cpu_find_op(const Graph *g, OpKind op);

/* The network `text` at -O0, built (not run) as the cpu target builds it:
 * its first conv and that conv's filters as packed into the weights. */
typedef struct CpuPacked {
    Parsed p;
    Graph *g;
    CompiledModel cm;
    const Node *conv;
    const float *filters, *packed;
} CpuPacked;

void cpu_packed_open(CpuPacked *k, const char *text);
void cpu_packed_close(CpuPacked *k);

/* The network `text` at -O0 on random inputs (seed 17) whose zeros become
 * 0.5, so that x / x is 1 on every channel and 0 / 0 = NaN only in the
 * padding lanes of a blocked tensor: its output on the reference and
 * through the JIT on 1 and 2 threads, and its first conv. */
typedef struct CpuNanRun {
    Parsed p;
    Graph *g;
    CpuIo io;
    const Node *conv;
    float *want, *outs[2];
} CpuNanRun;

void cpu_nan_run_open(CpuNanRun *r, const char *text);
void cpu_nan_run_close(CpuNanRun *r);

/* One conv layer: the first of `text`, which @algo binds to `algo` with
 * `tile`, at -O0 with random inputs (cpu_io_make, seed 3), and its output
 * on the reference executor both by the direct sums and by its algorithm. */
typedef struct CpuLayer {
    Parsed p;
    Graph *g;
    CpuIo io;
    int conv;      /* the conv's node (after the reorders around a blocked one) */
    int64_t count; /* outputs */
    float *direct, *ref;
    const char *cpu, *features; /* what cpu_check_kernel compiles for; NULL: the host */
} CpuLayer;

void cpu_layer_open(CpuLayer *l, const char *name, const char *text, ConvAlgo algo, int tile);
void cpu_layer_close(CpuLayer *l);

/* |bias| + |residual| of output i of conv n (its operand 1 the residual):
 * the epilogue's share of a rounding bound's scale. */
double cpu_check_epilogue_abs(const Graph *g, const Node *n, const CpuIo *io, int64_t i);
/* Per output of conv n on io's inputs: S = sum |x||w| + |bias| + |residual|,
 * the scale of a dot product's rounding (malloc'd). */
double *cpu_check_abs_sums(const Graph *g, const Node *n, const CpuIo *io);

/* Checks every |got[i] - want[i]| <= bound[i]; returns the largest error
 * per S[i] (sum |x||w| + |bias| + |residual|, the scale of a dot product's
 * rounding) in units of u = 2^-24, which it prints with its largest share
 * of the bound. */
double cpu_check_bound(const char *what, const float *got, const float *want, const double *bound,
                       const double *S, int64_t count);

/* The layer through the JIT on 1 and 2 threads: every output within
 * bound_direct[i] of the direct sums and within bound_ref[i] of the
 * reference's own `algo_name`; the kernel's largest error per S at most 4
 * times the reference's, ref_u (or 16 u); and some outputs differing from
 * the direct sums, which shows the fast algorithm ran. */
void cpu_check_kernel(const CpuLayer *l, const char *algo_name, const double *bound_direct,
                      const double *bound_ref, const double *S, double ref_u);

/* The network `text` at -O2, which must have `count` convs run by `algo`
 * and `fused` convs with a fused relu, through the JIT on 1 and 2 threads
 * and as object code, against the reference executor on the same graph:
 * every output within `tolerance` times the largest |output|. */
void cpu_check_network(const char *text, ConvAlgo algo, int count, int fused, double tolerance);

/* One conv layer of a kernel test: input [n, c, h, w], f filters of kh x
 * kw, strides, dilations, pads (top, left, bottom, right), and its
 * epilogue (an act= argument or NULL). */
typedef struct CpuConv {
    const char *name;
    int64_t n, c, h, w, f, groups, kh, kw, sh, sw, dh, dw;
    int64_t pad[4];
    bool bias, residual;
    const char *act;
} CpuConv;

int64_t cpu_conv_out_h(const CpuConv *L);
int64_t cpu_conv_out_w(const CpuConv *L);

/* The network of L: input x (and the residual input s), then
 * "ANNOTATIONS y = conv(x, ...);", then `rest` (which declares the
 * output). */
void cpu_conv_text(const CpuConv *L, const char *annotations, const char *rest, char *buf, size_t size);

/* gamma_k = k u / (1 - k u), u = 2^-24: the bound of k float roundings
 * relative to the sum of the magnitudes (Higham, 3.1). */
double cpu_check_gamma(double k);

/* Which tiling of its phase planes (dnnk.h, dnnk_plane_tile) a window op
 * of the cpu target (the direct conv, the float max pool) is meant to get:
 * its whole output in one tile, several tiles of whole rows, rows split
 * into column tiles, or none (the kernel's plain loops). */
typedef enum { TILE_ONE, TILE_ROWS, TILE_COLUMNS, TILE_NONE } CpuTiling;

/* Checks (and prints) the tiling of a window of kernel, stride and
 * dilation over an out_h x out_w output. */
void cpu_check_tiling(const int64_t kernel[2], const int64_t stride[2], const int64_t dilation[2], int64_t out_h,
                      int64_t out_w, CpuTiling want);

#endif
