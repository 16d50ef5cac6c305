/* libFuzzer target: any byte string given to the ONNX importer must produce
 * a graph or diagnostics, never a crash, leak, hang or sanitizer report.
 * External data is looked up in /nonexistent, so a mutated model never
 * reads real files. A failed import must have reported an error, and a
 * graph that imports must print as source. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    diag_init(&d, NULL); /* count, do not print */
    Graph *g = onnx_import_bytes(data, size, "fuzz.onnx", "/nonexistent", NULL, &d);
    if (!g && d.errors == 0) {
        fprintf(stderr, "fuzz_onnx: the import failed without reporting an error\n");
        abort();
    }
    if (g) {
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            graph_print(g, sink);
            fclose(sink);
        }
    }
    graph_free(g);
    return 0;
}
