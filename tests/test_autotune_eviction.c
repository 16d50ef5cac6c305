/* What --autotune's timing with evicted weights rests on
 * (tools/dnnc/autotune.c, docs/fast-convolution.md, "--autotune"): that
 * cache_evict leaves memory as it was (dirty lines written back, not
 * dropped), and that jit_weights gives the blob the model runs with, every
 * layer's weights in it, so that evicting it evicts them all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_evict.h"
#include "jit.h"
#include "pipeline.h"
#include "test_util.h"

static void test_eviction_keeps_the_data(void **state)
{
    (void)state;
    assert_true(cache_evict_supported());
    enum { BYTES = 3 * 1024 * 1024 + 40 };
    unsigned char *buf = malloc(BYTES);
    assert_non_null(buf);
    for (size_t i = 0; i < BYTES; i++)
        buf[i] = (unsigned char)(i * 131 + 7); /* dirty in the caches */
    cache_evict(buf + 3, BYTES - 5);           /* neither end on a line boundary */
    cache_evict(buf, 0);
    for (size_t i = 0; i < BYTES; i++)
        if (buf[i] != (unsigned char)(i * 131 + 7))
            fail_msg("byte %zu changed by the eviction", i);
    free(buf);
}

static const char *const two_convs = "input x: f32[1, 16, 8, 8];\n"
                                     "a = conv(x, filters=32, kernel=3, pad=1);\n"
                                     "b = conv(a, filters=8, kernel=1);\n"
                                     "output b;\n";

static JitModel *compile(Parsed *p)
{
    Graph *g = parse_with_random_weights(p, "two_convs.dnn", two_convs, 1);
    run_pipeline_or_fail(g, "cpu", 0);
    char err[1024];
    CodegenOptions co = {.name = "eviction", .opt_level = 2};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu: %s", err);
    return j;
}

/* The blob holds both convs' weights and biases (packing only pads), and
 * the model computes the same outputs after it is evicted: the run reads
 * its weights from memory, where the eviction wrote them back. */
static void test_blob_holds_every_weight(void **state)
{
    (void)state;
    Parsed p;
    JitModel *j = compile(&p);
    const Graph *g = p.graph;
    size_t bytes = 0, floats = 0;
    const void *blob = jit_weights(j, &bytes);
    assert_non_null(blob);
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_params; k++)
            floats += (size_t)shape_elems(&g->tensors[g->nodes[i].params[k]].shape);
    assert_int_equal(floats, 16 * 32 * 9 + 32 + 32 * 8 + 8);
    assert_true(bytes >= floats * sizeof(float));
    float in[16 * 8 * 8], before[8 * 8 * 8], after[8 * 8 * 8];
    for (int i = 0; i < 16 * 8 * 8; i++)
        in[i] = (float)(i % 13) / 13.0f;
    const void *inputs[1] = {in};
    assert_int_equal(jit_run(j, inputs, (void *const[]){before}, NULL), 0);
    cache_evict(blob, bytes);
    assert_int_equal(jit_run(j, inputs, (void *const[]){after}, NULL), 0);
    assert_memory_equal(before, after, sizeof before);
    jit_free(j);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eviction_keeps_the_data),
        cmocka_unit_test(test_blob_holds_every_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
