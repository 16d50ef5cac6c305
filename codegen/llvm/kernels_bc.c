#include "kernels_bc.h"

#include <string.h>

extern const unsigned char dnnk_bc_x86_64[], dnnk_bc_x86_64_avx512[], dnnk_bc_aarch64[];
extern const size_t dnnk_bc_x86_64_size, dnnk_bc_x86_64_avx512_size, dnnk_bc_aarch64_size;

/* "+avx512f" as a whole entry of a comma-separated feature list. */
static bool has_feature(const char *features, const char *f)
{
    size_t n = strlen(f);
    for (const char *p = features; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, f, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* The extensions of the AVX-512 build the features allow: the int8
 * kernels' vpmaddwd needs AVX-512BW, their vpdpbusd AVX-512 VNNI too, and
 * the sparse int8 fc's vpermi2b VBMI as well. */
static KernelIsa avx512_isa(const char *features)
{
    if (!has_feature(features, "+avx512bw"))
        return ISA_X86_64_AVX512;
    if (!has_feature(features, "+avx512vnni"))
        return ISA_X86_64_AVX512_BW;
    return has_feature(features, "+avx512vbmi") ? ISA_X86_64_AVX512_VBMI : ISA_X86_64_AVX512_VNNI;
}

/* The same for the 8-lane build: AVX2's vpmaddwd, AVX-VNNI's vpdpbusd. */
static KernelIsa x86_64_isa(const char *features)
{
    if (!has_feature(features, "+avx2"))
        return ISA_X86_64;
    return has_feature(features, "+avxvnni") ? ISA_X86_64_AVX_VNNI : ISA_X86_64_AVX2;
}

/* The AArch64 build's: the int8 kernels' sdot needs the dot-product
 * extension (Armv8.2, optional there, mandatory from Armv8.4). */
static KernelIsa aarch64_isa(const char *features)
{
    return has_feature(features, "+dotprod") ? ISA_AARCH64_DOTPROD : ISA_AARCH64;
}

bool kernels_bitcode(const char *triple, const char *features, KernelLibrary *lib)
{
    if (strncmp(triple, "x86_64", 6) == 0 && has_feature(features, "+avx512f")) {
        *lib = (KernelLibrary){dnnk_bc_x86_64_avx512, dnnk_bc_x86_64_avx512_size, 16, avx512_isa(features)};
        return true;
    }
    if (strncmp(triple, "x86_64", 6) == 0) {
        *lib = (KernelLibrary){dnnk_bc_x86_64, dnnk_bc_x86_64_size, 8, x86_64_isa(features)};
        return true;
    }
    if (strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0) {
        *lib = (KernelLibrary){dnnk_bc_aarch64, dnnk_bc_aarch64_size, 8, aarch64_isa(features)};
        return true;
    }
    return false;
}
