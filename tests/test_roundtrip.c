/* dump -> parse -> dump is byte-identical for every example network, and the
 * re-parsed graph has the same layers, shapes and weights; the same holds
 * after every target's pipeline, where the dump is a compiler input that
 * compiles to itself again. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void roundtrip_file(const char *path)
{
    Parsed first;
    parse_file(&first, path);
    if (!first.graph)
        fail_msg("%s does not parse:\n%s", path, first.messages);
    assert_int_equal(first.warnings, 0);
    char *dump1 = graph_to_text(first.graph);

    Parsed second;
    parse_text(&second, "dump", dump1);
    if (!second.graph)
        fail_msg("the dump of %s does not parse:\n%s\n%s", path, second.messages, dump1);
    char *dump2 = graph_to_text(second.graph);
    assert_string_equal(dump1, dump2);

    assert_int_equal(first.graph->n_nodes, second.graph->n_nodes);
    assert_int_equal(first.graph->n_tensors, second.graph->n_tensors);
    for (int i = 0; i < first.graph->n_tensors; i++) {
        const Tensor *a = &first.graph->tensors[i], *b = &second.graph->tensors[i];
        assert_string_equal(a->name, b->name);
        assert_true(shape_equal(&a->shape, &b->shape));
    }
    free(dump1);
    free(dump2);
    parsed_free(&first);
    parsed_free(&second);
}

/* After target's pipeline at level: no batchnorm is left (every example
 * with one folds it), the dump parses back, and running the pipeline on
 * what it parses to changes nothing: the passes record every decision in
 * the dump, so compiling it again decides the same. */
static void optimised_roundtrip(const char *path, const char *target, int level)
{
    Parsed first;
    parse_file(&first, path);
    if (!first.graph)
        fail_msg("%s does not parse:\n%s", path, first.messages);
    run_pipeline_or_fail(first.graph, target, level);
    char *dump1 = graph_to_text(first.graph);
    if (strstr(dump1, "= batchnorm("))
        fail_msg("%s at -O%d on %s still has a batch norm:\n%s", path, level, target, dump1);
    Parsed second;
    parse_text(&second, "dump", dump1);
    if (!second.graph)
        fail_msg("the -O%d %s dump of %s does not parse:\n%s", level, target, path, second.messages);
    run_pipeline_or_fail(second.graph, target, level);
    char *dump2 = graph_to_text(second.graph);
    assert_string_equal(dump1, dump2);
    free(dump1);
    free(dump2);
    parsed_free(&first);
    parsed_free(&second);
}

typedef void (*ExampleCheck)(const char *path);

static int for_every_example(ExampleCheck check)
{
    const char *dir = DNNC_SOURCE_DIR "/examples";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".dnn") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        print_message("round trip %s\n", e->d_name);
        check(path);
        count++;
    }
    closedir(d);
    return count;
}

/* Whether the spatial pipeline runs on example `path` here. Its mapping
 * search takes 3 to 7 s a network for AlexNet, GoogLeNet, ResNet-50,
 * SqueezeNet and VGG-16 in the plain build and four times that under the
 * sanitizers, where (CI time) only the smaller examples take it; the same
 * search runs under the sanitizers in test_map_pass and test_map_cli. */
static bool spatial_here(const char *path)
{
#ifdef DNNC_SANITIZED
    static const char *const small[] = {"/lenet5.dnn", "/fashion_bn.dnn", "/mobilenet.dnn"};
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        size_t n = strlen(path), k = strlen(small[i]);
        if (n >= k && strcmp(path + n - k, small[i]) == 0)
            return true;
    }
    print_message("  spatial: not under the sanitizers (the plain build runs it)\n");
    return false;
#else
    (void)path;
    return true;
#endif
}

/* Each target at its default level (the one its commands use). */
static void every_target(const char *path)
{
    optimised_roundtrip(path, "reference", 2);
    optimised_roundtrip(path, "cpu", 3);
    if (spatial_here(path))
        optimised_roundtrip(path, "spatial", 2);
}

static void test_every_example_roundtrips(void **state)
{
    (void)state;
    assert_true(for_every_example(roundtrip_file) >= 7);
}

static void test_every_optimised_example_roundtrips(void **state)
{
    (void)state;
    assert_true(for_every_example(every_target) >= 7);
}

static void test_annotations_roundtrip(void **state)
{
    (void)state;
    const char *src = "input x: f32[1, 4, 8, 8];\n"
                      "@algo(winograd) @precision(fixed, 8, 4) @sparse(csr) @dataflow(os_a)\n"
                      "c = conv(x, filters=4, kernel=3, pad=[0, 1, 2, 1], stride=[1, 2]);\n"
                      "@algo(winograd, tile=6) d = conv(c, filters=4, kernel=3, pad=1);\n"
                      "@algo(fft, tile=16) e = conv(d, filters=4, kernel=5, pad=2);\n"
                      "@precision(i8) f = fc(e, units=3, bias=false);\n"
                      "output f;\n";
    Parsed p;
    parse_text(&p, "a.dnn", src);
    if (!p.graph)
        fail_msg("%s", p.messages);
    char *dump1 = graph_to_text(p.graph);
    assert_contains(dump1, "@algo(winograd) @precision(fixed, 8, 4) @sparse(csr) @dataflow(os_a) c = conv(");
    assert_contains(dump1, "stride=[1, 2], pad=[0, 1, 2, 1]");
    assert_contains(dump1, "@algo(winograd, tile=6) d = conv(c, ");
    assert_contains(dump1, "@algo(fft, tile=16) e = conv(d, ");
    Parsed q;
    parse_text(&q, "dump", dump1);
    if (!q.graph)
        fail_msg("%s\n%s", q.messages, dump1);
    char *dump2 = graph_to_text(q.graph);
    assert_string_equal(dump1, dump2);
    free(dump1);
    free(dump2);
    parsed_free(&p);
    parsed_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_example_roundtrips),
        cmocka_unit_test(test_every_optimised_example_roundtrips),
        cmocka_unit_test(test_annotations_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
