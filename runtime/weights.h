/* Binding weights to a graph's parameter tensors: from a safetensors file by
 * name ("conv1.weight", "bn1.running_var", ...), or from a deterministic
 * random initialiser for networks given without weights. */
#ifndef DNNC_WEIGHTS_H
#define DNNC_WEIGHTS_H

#include <stdint.h>

#include "diag.h"
#include "graph.h"
#include "safetensors.h"

/* Every parameter of g must be in st with its exact shape and a float dtype,
 * and st must hold nothing else. Weight codes (coded_conv) are held packed,
 * a U8 vector (runtime/code_pack.h), and every code is checked. Reports
 * every mismatch to d, naming the layer, the tensor, and the expected and
 * found shape or dtype. */
bool weights_bind(Graph *g, const SafeTensors *st, const char *file, Diag *d);
bool weights_load(Graph *g, const char *path, Diag *d);

/* He-style initialisation, the same for the same seed on every machine:
 * filters and FC weights ~ N(0, 2 / fan_in), biases 0, batch norm the
 * identity (scale 1, shift 0, mean 0, variance 1), and so is scale_shift;
 * PReLU slopes 0.25. False when out of memory (some weights may then be
 * bound already). */
bool weights_randomize(Graph *g, uint64_t seed);

/* Writes every bound parameter to a safetensors file, weight codes packed. */
bool weights_save(const Graph *g, const char *path, char *err, size_t errsz);

#endif
