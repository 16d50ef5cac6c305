/* libFuzzer target: any byte string given to the front end must produce a
 * graph or diagnostics, never a crash, leak, hang or sanitizer report. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Source src;
    if (!source_from_buffer("fuzz.dnn", (const char *)data, size, &src))
        return 0;
    Diag d;
    diag_init(&d, NULL); /* count, do not print */
    Graph *g = frontend_parse(&src, &d);
    if (g) {
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            graph_print(g, sink);
            fclose(sink);
        }
    }
    graph_free(g);
    source_free(&src);
    return 0;
}
