/* libFuzzer target: .npy parsing never crashes, leaks or over-allocates. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Array a;
    char err[256];
    if (npy_parse(data, size, &a, err, sizeof err))
        array_free(&a);
    return 0;
}
