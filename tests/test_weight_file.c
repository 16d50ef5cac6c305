/* Weights kept in a file (ir/weight_file.h): the bytes survive every
 * release, a release takes the pages out of the process's memory, the
 * directories that cannot hold such a file are refused with the reason,
 * and an ONNX model imported into a weight file compiles to the same
 * bits as one imported into memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "onnx_import.h"
#include "test_util.h"
#include "weight_file.h"

#define TINY_CNN DNNC_SOURCE_DIR "/tests/onnx/models/tiny_cnn.onnx"
#define MIB ((size_t)1 << 20)

/* On the disk the tests are built on (the working directory), not in
 * TMPDIR, which may be a memory file system that weight files refuse. */
static char disk_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(disk_dir, sizeof disk_dir, "./weight-file-XXXXXX");
    return mkdtemp(disk_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(disk_dir);
}

/* The resident bytes of the mapping that holds p (/proc/self/smaps). */
static size_t resident_bytes_at(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    bool inside = false;
    size_t kib = SIZE_MAX;
    while (fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(line, "Rss:", 4) == 0)
            kib = strtoull(line + 4, NULL, 10);
    }
    fclose(f);
    assert_true(kib != SIZE_MAX);
    return kib * 1024;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 2654435761u >> 13); }

static void assert_pattern(const unsigned char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (bytes[i] != pattern(i))
            fail_msg("byte %zu is %u, not %u", i, bytes[i], pattern(i));
}

static WeightFile *create_or_fail(size_t len)
{
    char err[256] = "";
    WeightFile *f = weight_file_create(disk_dir, len, err, sizeof err);
    if (!f)
        fail_msg("weight_file_create(%s): %s", disk_dir, err);
    return f;
}

/* 8 MiB: the first half written from memory, the second copied from a
 * file, read back through the mapping before and after each release. */
static void test_bytes_survive_release(void **state)
{
    (void)state;
    size_t len = 8 * MIB, half = len / 2;
    unsigned char *src = malloc(len);
    assert_non_null(src);
    for (size_t i = 0; i < len; i++)
        src[i] = pattern(i);
    char path[128];
    snprintf(path, sizeof path, "%s/source", disk_dir);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(src, 1, len, file), len);
    assert_int_equal(fclose(file), 0);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);

    WeightFile *f = create_or_fail(len);
    unsigned char *bytes = weight_file_bytes(f);
    assert_false(weight_file_write(f, len - 1, src, 2));             /* past the end */
    assert_false(weight_file_copy_in(f, 0, fileno(in), len - 1, 2)); /* past the source's end */
    assert_true(weight_file_write(f, 0, src, half));
    assert_true(weight_file_copy_in(f, half, fileno(in), half, len - half));
    fclose(in);
    assert_true(resident_bytes_at(bytes) < MIB); /* copied through the page cache */
    assert_pattern(bytes, len);
    assert_true(resident_bytes_at(bytes) >= len - MIB);

    weight_file_release(f, bytes + half, len - half);
    size_t after_half = resident_bytes_at(bytes);
    assert_true(after_half <= half + 4096 && after_half >= half - MIB);
    weight_file_release(f, bytes, len);
    assert_int_equal(resident_bytes_at(bytes), 0);
    assert_pattern(bytes, len);

    /* Written in place through the mapping: kept by the file too. */
    weight_file_prepare_write(f, bytes, len);
    for (size_t i = 0; i < len; i++)
        bytes[i] = (unsigned char)~bytes[i];
    weight_file_release(f, bytes, len);
    for (size_t i = 0; i < len; i++)
        if (bytes[i] != (unsigned char)~pattern(i))
            fail_msg("byte %zu written in place was lost by the release", i);
    assert_true(weight_file_holds(f, bytes + len - 1));
    assert_false(weight_file_holds(f, bytes + len));
    weight_file_free(f);
    free(src);
}

static void test_directories_that_cannot_hold_one_are_refused(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(weight_file_create("/nonexistent-dnnc-dir", MIB, err, sizeof err));
    assert_contains(err, "cannot make an unnamed file in '/nonexistent-dnnc-dir'");
    /* More than any file system holds: refused before any write could fail. */
    assert_null(weight_file_create(disk_dir, (size_t)1 << 62, err, sizeof err));
    assert_contains(err, "no room for 4611686018427387904 bytes of weights in");
    assert_null(weight_file_create(disk_dir, 0, err, sizeof err));
    assert_contains(err, "no weights to keep");
    struct statfs s;
    assert_int_equal(statfs("/dev/shm", &s), 0);
    if (s.f_type != TMPFS_MAGIC)
        fail_msg("/dev/shm is not a tmpfs here: this test needs a memory file system to refuse");
    assert_null(weight_file_create("/dev/shm", MIB, err, sizeof err));
    assert_contains(err, "'/dev/shm' is on a memory file system");
}

static Graph *import_tiny_cnn(const char *weights_dir)
{
    Diag d;
    diag_init(&d, stderr);
    OnnxImportOptions o = {.weights_dir = weights_dir};
    Graph *g = onnx_import(TINY_CNN, &o, &d);
    assert_non_null(g);
    return g;
}

static void assert_same_weights(const Graph *a, const Graph *b)
{
    assert_int_equal(a->n_tensors, b->n_tensors);
    for (int t = 0; t < a->n_tensors; t++) {
        const Tensor *x = &a->tensors[t], *y = &b->tensors[t];
        assert_string_equal(x->name, y->name);
        assert_true((x->data == NULL) == (y->data == NULL));
        size_t bytes = (size_t)shape_elems(&x->shape) * elem_kind_size(x->type.kind);
        if (x->data && memcmp(x->data, y->data, bytes) != 0)
            fail_msg("tensor '%s' differs between the weight file and memory", x->name);
    }
}

/* The -O3 pipeline folds batch norms into the convs' weights in place:
 * through the mapping for the weight file, and each pass releases it. */
static void test_imported_into_a_file_compiles_the_same(void **state)
{
    (void)state;
    Graph *in_file = import_tiny_cnn(disk_dir), *in_memory = import_tiny_cnn(NULL);
    assert_int_equal(in_file->n_weight_files, 1);
    assert_int_equal(in_memory->n_weight_files, 0);
    assert_same_weights(in_file, in_memory);
    graph_release_weights(in_file);
    assert_same_weights(in_file, in_memory);
    run_pipeline_or_fail(in_file, "cpu", 3);
    run_pipeline_or_fail(in_memory, "cpu", 3);
    assert_true(test_count_op(in_file, OP_BATCHNORM) == 0);
    assert_same_weights(in_file, in_memory);
    graph_free(in_file);
    graph_free(in_memory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_survive_release),
        cmocka_unit_test(test_directories_that_cannot_hold_one_are_refused),
        cmocka_unit_test(test_imported_into_a_file_compiles_the_same),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
