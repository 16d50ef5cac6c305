/* libFuzzer target: safetensors parsing never crashes, leaks or trusts a size. */
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SafeTensors st;
    char err[512];
    if (safetensors_parse(data, size, &st, err, sizeof err))
        safetensors_free(&st);
    return 0;
}
