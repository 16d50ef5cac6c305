/* The kernel library (codegen/kernels) as LLVM bitcode, one build per
 * target architecture, embedded in dnnc at build time. */
#ifndef DNNC_KERNELS_BC_H
#define DNNC_KERNELS_BC_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

typedef struct KernelLibrary {
    const unsigned char *bitcode;
    size_t size;
    int lanes;      /* floats per vector: the conv pixel tile is 2 * lanes */
    KernelIsa isa;  /* the registry rows it has beyond the portable ones: isa's and its parents' */
} KernelLibrary;

/* The build for a target triple and its CPU features (the AVX-512 build
 * when they include +avx512f), described by the most specific instruction
 * set the features name (registry.h); false if dnnc has none for the
 * triple. Only the features list is read, not what `cpu` implies. */
bool kernels_bitcode(const char *triple, const char *features, KernelLibrary *lib);

#endif
