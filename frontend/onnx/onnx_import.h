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

/* Imports path; promote may be NULL. Errors go to d. */
Graph *onnx_import(const char *path, const OnnxPromote *promote, Diag *d);

/* The same from bytes in memory; external data is looked up in base_dir. */
Graph *onnx_import_bytes(const unsigned char *bytes, size_t len, const char *display_name,
                         const char *base_dir, const OnnxPromote *promote, Diag *d);

/* Reads a serialised onnx.TensorProto (the test data's input_0.pb). */
bool onnx_read_tensor_file(const char *path, Array *out, char *err, size_t errsz);

#endif
