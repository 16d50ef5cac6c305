/* libFuzzer target: any byte string given to the architecture description
 * parser must give a machine or file:line errors, never a crash, leak, hang
 * or sanitizer report. What parses is printed and parsed again. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ArchSet s;
    FILE *sink = fopen("/dev/null", "w");
    if (arch_parse("fuzz.arch", (const char *)data, size, &s, sink) && sink) {
        arch_print(&s.base, sink);
        (void)arch_storage_area(&s.base);
    }
    if (sink)
        fclose(sink);
    return 0;
}
