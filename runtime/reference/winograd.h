/* Winograd convolution F(m x m, 3 x 3) as plain code (winograd.c): the
 * reference's own implementation of the transform, against which fast
 * kernels are checked, and which is itself checked against the direct sums
 * (tests/test_winograd.c, docs/fast-convolution.md). */
#ifndef DNNC_REF_WINOGRAD_H
#define DNNC_REF_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

#define WINOGRAD_R 3     /* the filter size r of F(m, r) */
#define WINOGRAD_MAX_M 6 /* the largest output tile the interpolation points allow */
#define WINOGRAD_MAX_ALPHA (WINOGRAD_MAX_M + WINOGRAD_R - 1)

/* The transforms of F(m, 3) in double, as Lavin & Gray name them:
 * y = A^T [(G g) (.) (B^T d)] for a filter g of 3 taps and an input d of
 * alpha = m + 2 values gives the m outputs y_i = sum_k g_k d_(i+k); in 2-D,
 * Y = A^T [(G g G^T) (.) (B^T d B)] A. Only the first m rows of AT and the
 * first alpha rows and columns of G and BT are used. */
typedef struct WinogradMatrices {
    int m, alpha;
    double AT[WINOGRAD_MAX_M][WINOGRAD_MAX_ALPHA];
    double G[WINOGRAD_MAX_ALPHA][WINOGRAD_R];
    double BT[WINOGRAD_MAX_ALPHA][WINOGRAD_MAX_ALPHA];
} WinogradMatrices;

/* Builds the transforms of F(m, 3) from the interpolation points 0, 1, -1,
 * 2, -2, 1/2, -1/2 (the first m + 1 of them) and infinity by the Cook-Toom
 * construction; false unless 1 <= m <= WINOGRAD_MAX_M. */
bool winograd_matrices(int m, WinogradMatrices *t);

/* t with every entry replaced by its absolute value: run through
 * winograd_conv_with on absolute inputs and weights, it gives the T of the
 * error bound |Y - y| <= gamma_K T (docs/fast-convolution.md). */
WinogradMatrices winograd_matrices_absolute(WinogradMatrices t);

/* The floats of working memory winograd_conv_core needs: the transformed
 * filters and one transformed input tile per channel of a group. */
size_t winograd_work_bytes(const ConvAttrs *at, int m, const Shape *is, const Shape *os);

/* The conv `at` (3x3, stride 1, dilation 1, any padding and groups) of
 * input `in` (shape is) with weights w, by F(m x m, 3 x 3) in float32:
 * acc (shape os) receives each output without bias, as conv_core's does.
 * work holds winograd_work_bytes(). */
void winograd_conv_core(const ConvAttrs *at, int m, const Shape *is, const Shape *os,
                        const float *in, const float *w, double *acc, void *work);
/* The same with given transforms (the tests bound the error by running it
 * on absolute values). */
void winograd_conv_with(const WinogradMatrices *t, const ConvAttrs *at, const Shape *is,
                        const Shape *os, const float *in, const float *w, double *acc, void *work);

#endif
