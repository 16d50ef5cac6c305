/* ONNX import: an .onnx model (opsets 1 to 17, the CNN operator set) to a
 * Graph with every weight bound. docs/onnx.md lists the supported ops and
 * how each maps onto the IR. */
#ifndef DNNC_ONNX_IMPORT_H
#define DNNC_ONNX_IMPORT_H

#include <stddef.h>

#include "array.h"
#include "diag.h"
#include "graph.h"

/* The largest .onnx file (and external data file) dnnc reads. */
#define ONNX_MAX_FILE ((size_t)4 << 30)

/* Values that replace graph inputs, by position among the graph inputs that
 * are not initializers: when tensor_files[i] is not NULL, that serialised
 * onnx.TensorProto makes input i a constant. The conformance harness uses
 * this for the weights that the ONNX node tests pass as inputs. */
typedef struct OnnxPromote {
    const char *const *tensor_files;
    int count;
} OnnxPromote;

typedef struct OnnxImportOptions {
    const OnnxPromote *promote; /* NULL: none */
    /* Where the initializers' bytes are kept: NULL, in memory; else in an
     * unnamed file in this directory (ir/weight_file.h), so that passes and
     * code generation can release a tensor's pages when done with it
     * (graph_release_data). A directory that cannot hold such a file (a
     * memory file system, no room) keeps them in memory. */
    const char *weights_dir;
} OnnxImportOptions;

/* Imports path; o may be NULL (no promotion, weights in memory). Errors go
 * to d. */
Graph *onnx_import(const char *path, const OnnxImportOptions *o, Diag *d);

/* The same from bytes in memory; external data is looked up in base_dir. */
Graph *onnx_import_bytes(const unsigned char *bytes, size_t len, const char *display_name,
                         const char *base_dir, const OnnxPromote *promote, Diag *d);

/* Reads a serialised onnx.TensorProto (the test data's input_0.pb). */
bool onnx_read_tensor_file(const char *path, Array *out, char *err, size_t errsz);

#endif
