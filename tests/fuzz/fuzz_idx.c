/* libFuzzer target: IDX parsing (and image conversion) never crashes or leaks. */
#include <stddef.h>
#include <stdint.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Array a, images;
    char err[256];
    if (!idx_parse(data, size, &a, err, sizeof err))
        return 0;
    if (idx_images_to_input(&a, &images, err, sizeof err))
        array_free(&images);
    array_free(&a);
    return 0;
}
