/* dnnc compile: a cross-compiled AArch64 object that llvm-objdump reads,
 * headers with the prefix given, an ONNX model's weights kept on disk
 * while it compiles giving the same files, and clear usage errors with no
 * files left behind, an output directory that is missing among them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#define OBJDUMP "/usr/lib/llvm-19/bin/llvm-objdump"

static char tmp_dir[256];
static const char *lenet = DNNC_SOURCE_DIR "/examples/lenet5.dnn";

static int setup(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-compile") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static const char *in_tmp(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

#define dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

static void test_aarch64_object_disassembles(void **state)
{
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s", in_tmp("arm"));
    Run r = dnnc("compile", lenet, "--random-weights", "1", "--triple", "aarch64-linux-gnu", "-o", out);
    assert_run(&r, 0, "arm.o", NULL); /* (frees r) */
    char obj[600];
    snprintf(obj, sizeof obj, "%s.o", out);
    Run d = run_program(OBJDUMP, tmp_dir, (const char *const[]){"-d", obj, NULL});
    bool ok = d.status == 0 && strstr(d.out, "file format elf64-littleaarch64") &&
              strstr(d.out, "<arm_run>:") && strstr(d.out, "fmla"); /* NEON fused multiply-adds */
    if (!ok)
        print_error("llvm-objdump exit %d:\n%.2000s\n%s\n", d.status, d.out, d.err);
    run_free(&d);
    assert_true(ok);
    char path[600];
    snprintf(path, sizeof path, "%s.o", out), remove(path);
    snprintf(path, sizeof path, "%s.h", out), remove(path);
    snprintf(path, sizeof path, "%s.weights", out), remove(path);
}

static void test_header_carries_the_prefix(void **state)
{
    (void)state;
    Run r = dnnc("compile", lenet, "--random-weights", "1", "--name", "fashion", "--emit=llvm",
                 "--embed-weights", "-o", in_tmp("net"));
    assert_run(&r, 0, "net.ll", NULL);
    char *h = read_file_or_fail(in_tmp("net.h"), NULL);
    assert_non_null(strstr(h, "int fashion_run(const void *const *inputs"));
    assert_non_null(strstr(h, "#define FASHION_WEIGHTS_EMBEDDED 1"));
    assert_non_null(strstr(h, "#define FASHION_INPUT_0_SHAPE {1, 1, 28, 28}"));
    free(h);
    char *ll = read_file_or_fail(in_tmp("net.ll"), NULL);
    assert_non_null(strstr(ll, "@fashion_run(ptr"));
    free(ll);
    assert_int_equal(access(in_tmp("net.weights"), F_OK), -1); /* embedded: no file */
    remove(in_tmp("net.h"));
    remove(in_tmp("net.ll"));
}

static void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = read_file_or_fail(a, &la), *y = read_file_or_fail(b, &lb);
    if (la != lb || memcmp(x, y, la) != 0)
        fail_msg("%s and %s differ", a, b);
    free(x);
    free(y);
}

/* -o in a directory on disk: the weights are kept in an unnamed file there
 * while compiling (ir/weight_file.h), which leaves nothing behind; in
 * /dev/shm (a memory file system) they stay in memory. The same files. */
static void test_weights_kept_on_disk_compile_the_same(void **state)
{
    (void)state;
    static const char *tiny_cnn = DNNC_SOURCE_DIR "/tests/onnx/models/tiny_cnn.onnx";
    char disk[64] = "./compile-disk-XXXXXX", shm[64] = "/dev/shm/dnnc-compile-XXXXXX";
    assert_non_null(mkdtemp(disk));
    assert_non_null(mkdtemp(shm));
    char on_disk[128], in_memory[128];
    snprintf(on_disk, sizeof on_disk, "%s/net", disk);
    snprintf(in_memory, sizeof in_memory, "%s/net", shm);
    Run a = dnnc("compile", tiny_cnn, "-o", on_disk);
    assert_run(&a, 0, "net.weights", NULL);
    Run b = dnnc("compile", tiny_cnn, "-o", in_memory);
    assert_run(&b, 0, "net.weights", NULL);
    static const char *const ext[] = {".weights", ".o", ".h"};
    for (int i = 0; i < 3; i++) {
        char x[160], y[160];
        snprintf(x, sizeof x, "%s%s", on_disk, ext[i]);
        snprintf(y, sizeof y, "%s%s", in_memory, ext[i]);
        assert_same_file(x, y);
        remove(x);
        remove(y);
    }
    assert_int_equal(rmdir(disk), 0); /* empty: nothing left behind */
    assert_int_equal(rmdir(shm), 0);
}

static void test_usage_errors_write_nothing(void **state)
{
    (void)state;
    Run a = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("x"), "--name", "9lives");
    assert_run(&a, 2, NULL, "is not a C identifier");
    Run b = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("x"), "--emit=exe");
    assert_run(&b, 2, NULL, "--emit takes obj, asm or llvm");
    Run c = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("x"), "--triple", "mips-none");
    assert_run(&c, 1, NULL, "mips-none");
    Run d = dnnc("compile", lenet, "-o", in_tmp("x"));
    assert_run(&d, 1, NULL, "has no weights");
    char *left = dir_find_prefix(tmp_dir, "x");
    if (left)
        fail_msg("a failed compile left %s behind", left);
}

/* An -o whose directory is missing, or is a file, fails before compiling
 * (nothing on standard output, no "compiled in"), naming the directory. */
static void test_missing_output_directory_fails_first(void **state)
{
    (void)state;
    Run a = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("no-such-dir/x"));
    assert_run(&a, 1, NULL, "no-such-dir' (-o");
    Run b = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("x"));
    assert_run(&b, 0, "wrote", NULL);
    Run c = dnnc("compile", lenet, "--random-weights", "1", "-o", in_tmp("x.o/y"));
    assert_run(&c, 1, NULL, "not a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aarch64_object_disassembles),
        cmocka_unit_test(test_header_carries_the_prefix),
        cmocka_unit_test(test_weights_kept_on_disk_compile_the_same),
        cmocka_unit_test(test_usage_errors_write_nothing),
        cmocka_unit_test(test_missing_output_directory_fails_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
