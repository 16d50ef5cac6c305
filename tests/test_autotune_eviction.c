/* What --autotune's timing with evicted weights rests on
 * (tools/dnnc/autotune.c, docs/fast-convolution.md, "--autotune"): that
 * cache_evict leaves memory as it was (dirty lines written back, not
 * dropped), that jit_tensor_weights finds each layer's weights in a JIT
 * model's blob and nothing else, and that the hook between profiled calls
 * runs after every call, in order, outside every call's time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_evict.h"
#include "jit.h"
#include "pipeline.h"
#include "profile_marks.h"
#include "progress.h"
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
    CodegenOptions co = {.name = "eviction", .opt_level = 2, .profile = true};
    JitModel *j = jit_compile(g, &co, err, sizeof err);
    if (!j)
        fail_msg("cpu: %s", err);
    return j;
}

static void test_each_layers_weights_found(void **state)
{
    (void)state;
    Parsed p;
    JitModel *j = compile(&p);
    const Graph *g = p.graph;
    const unsigned char *last_end = NULL;
    int regions = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        for (int k = 0; k < n->n_params; k++) {
            size_t bytes = 0;
            const unsigned char *w = jit_tensor_weights(j, n->params[k], &bytes);
            assert_non_null(w);
            /* At least the tensor's floats (packing only pads), after the
             * region before it: regions do not overlap. */
            assert_true(bytes >= (size_t)shape_elems(&g->tensors[n->params[k]].shape) * sizeof(float));
            assert_true(last_end == NULL || w >= last_end);
            last_end = w + bytes;
            regions++;
        }
        size_t bytes = 0;
        assert_null(jit_tensor_weights(j, n->output, &bytes)); /* an activation */
    }
    assert_int_equal(regions, 4); /* two weights, two biases */
    size_t bytes = 0;
    assert_null(jit_tensor_weights(j, -1, &bytes));
    assert_null(jit_tensor_weights(j, g->n_tensors, &bytes));
    jit_free(j);
    parsed_free(&p);
}

typedef struct Seen {
    int calls[16];
    int n;
    double sleep_s;
} Seen;

static void record_and_sleep(void *ctx, int k)
{
    Seen *s = ctx;
    if (s->n < 16)
        s->calls[s->n++] = k;
    struct timespec t = {0, (long)(s->sleep_s * 1e9)};
    nanosleep(&t, NULL);
}

static void test_hook_between_calls(void **state)
{
    (void)state;
    Parsed p;
    JitModel *j = compile(&p);
    float in[16 * 8 * 8] = {0}, out[8 * 8 * 8];
    const void *inputs[1] = {in};
    void *outputs[1] = {out};
    /* The hook sleeps 50 ms after each call; the calls of two tiny convs
     * take microseconds, so a call's time that counted the sleep would be
     * 50 ms or more: 25 ms leaves room for any machine's noise. */
    Seen seen = {.sleep_s = 0.05};
    profile_marks_between(record_and_sleep, &seen);
    profile_marks_reset();
    double start = now_seconds();
    assert_int_equal(jit_run(j, inputs, outputs, NULL), 0);
    profile_marks_between(NULL, NULL);
    int calls = jit_call_count(j);
    assert_true(calls >= 2);
    assert_int_equal(profile_marks_count(), calls);
    assert_int_equal(seen.n, calls);
    for (int k = 0; k < calls; k++) {
        assert_int_equal(seen.calls[k], k);
        double s = profile_mark_seconds(k, start);
        assert_true(s >= 0 && s < 0.025);
    }
    /* Without the hook, nothing is called. */
    seen.n = 0;
    profile_marks_reset();
    assert_int_equal(jit_run(j, inputs, outputs, NULL), 0);
    assert_int_equal(seen.n, 0);
    jit_free(j);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eviction_keeps_the_data),
        cmocka_unit_test(test_each_layers_weights_found),
        cmocka_unit_test(test_hook_between_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
