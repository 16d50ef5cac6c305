#include "kernels_bc.h"

#include <string.h>

extern const unsigned char dnnk_bc_x86_64[], dnnk_bc_aarch64[];
extern const size_t dnnk_bc_x86_64_size, dnnk_bc_aarch64_size;

bool kernels_bitcode(const char *triple, const unsigned char **bc, size_t *size)
{
    if (strncmp(triple, "x86_64", 6) == 0) {
        *bc = dnnk_bc_x86_64, *size = dnnk_bc_x86_64_size;
        return true;
    }
    if (strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0) {
        *bc = dnnk_bc_aarch64, *size = dnnk_bc_aarch64_size;
        return true;
    }
    return false;
}
