/* The kernel library (codegen/kernels) as LLVM bitcode, one build per
 * target architecture, embedded in dnnc at build time. */
#ifndef DNNC_KERNELS_BC_H
#define DNNC_KERNELS_BC_H

#include <stdbool.h>
#include <stddef.h>

/* The bitcode for a target triple; false if dnnc has none for it. */
bool kernels_bitcode(const char *triple, const unsigned char **bc, size_t *size);

#endif
