/* The kernel library (codegen/kernels) as LLVM bitcode, one build per
 * target architecture, embedded in dnnc at build time. */
#ifndef DNNC_KERNELS_BC_H
#define DNNC_KERNELS_BC_H

#include <stdbool.h>
#include <stddef.h>

/* The bitcode for a target triple and its CPU features (the AVX-512 build
 * when they include +avx512f), and its vector lanes; false if dnnc has none
 * for the triple. */
bool kernels_bitcode(const char *triple, const char *features, const unsigned char **bc,
                     size_t *size, int *lanes);

#endif
