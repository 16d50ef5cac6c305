/* libFuzzer target: any byte string, read as a safetensors file and bound
 * with weights_bind to a small fixed network (the golden case net_mlp: fully
 * connected layers, a batch norm and a PReLU), must bind or report why,
 * never crash, leak or trust a size. A bind that succeeds has given every
 * weight the file's bytes and the file holds nothing else; a bind that fails
 * has reported an error. The golden case's own weights file is a seed, so
 * the fuzzer starts from a file that binds and mutates it into every error:
 * missing, extra, misshapen and mistyped tensors. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "weights.h"

#define NETWORK DNNC_SOURCE_DIR "/tests/golden/net_mlp/model.dnn"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Source source; /* kept for the messages that quote it */
static Graph *network;
static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    Diag d;
    diag_init(&d, stderr);
    network = source_read(NETWORK, &source, &d) ? frontend_parse(&source, &d) : NULL;
    sink = fopen("/dev/null", "w");
    if (!network || !sink) {
        fprintf(stderr, "fuzz_weights: cannot set up the network %s\n", NETWORK);
        exit(1);
    }
    return 0;
}

/* Every weight holds its tensor in the file, of its own shape and dtype,
 * and the file has one tensor per weight. */
static void check_bound(const Graph *g, const SafeTensors *st)
{
    int weights = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const Tensor *p = &g->tensors[t];
        if (p->kind != TENSOR_PARAM)
            continue;
        weights++;
        const NamedArray *a = safetensors_find(st, p->name);
        size_t bytes = (size_t)shape_elems(&p->shape) * elem_kind_size(p->type.kind);
        if (!a || !p->data || !shape_equal(&a->array.shape, &p->shape) ||
            a->array.dtype != p->type.kind || a->array.nbytes != bytes ||
            memcmp(p->data, a->array.data, bytes) != 0) {
            fprintf(stderr, "fuzz_weights: '%s' is not bound to its tensor in the file\n", p->name);
            abort();
        }
    }
    if (weights != st->count) {
        fprintf(stderr, "fuzz_weights: bound %d weights from a file of %d tensors\n", weights,
                st->count);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SafeTensors st;
    char err[512];
    if (!safetensors_parse(data, size, &st, err, sizeof err))
        return 0;
    Graph *g = graph_clone(network); /* binding allocates in the graph's arena */
    Diag d;
    diag_init(&d, sink); /* formatted, so that the messages run too */
    diag_add_file(&d, source.path, source.text, source.len);
    if (weights_bind(g, &st, "fuzz.safetensors", &d)) {
        check_bound(g, &st);
    } else if (d.errors == 0) {
        fprintf(stderr, "fuzz_weights: the bind failed without reporting an error\n");
        abort();
    }
    graph_free(g);
    safetensors_free(&st);
    return 0;
}
