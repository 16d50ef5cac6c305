#include "aarch64_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "test_util.h"

/* The bundle ex.o and ex.h (prefix `ex`, weights embedded) in dir. */
static void emit_bundle(const Graph *g, const char *features, const char *dir)
{
    char err[1024];
    CodegenOptions co = {.name = "ex", .triple = "aarch64-linux-gnu", .features = features, .opt_level = 3,
                         .pic = true, .embed_weights = true};
    CompiledModel m;
    if (!codegen_build(g, &co, NULL, &m, err, sizeof err))
        fail_msg("aarch64: %s", err);
    bool ok = codegen_emit(&m, EMIT_OBJ, temp_path(dir, "ex.o"), err, sizeof err) &&
              codegen_write_header(g, &m, &co, temp_path(dir, "ex.h"), err, sizeof err);
    codegen_free(&m);
    if (!ok)
        fail_msg("aarch64: %s", err);
}

static void write_bytes(const char *path, const void *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(v, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fail_msg("cannot write %s", path);
}

/* Runs a program of the check, failing with its output unless it exits 0. */
static void run_or_fail(const char *what, const char *binary, const char *dir, const char *const *args)
{
    Run r = run_program(binary, dir, args);
    if (r.status != 0)
        fail_msg("aarch64: %s (%s) exited %d:\n%s%s\n(tools/bootstrap.sh installs gcc-aarch64-linux-gnu and "
                 "qemu-user-static)",
                 what, binary, r.status, r.out, r.err);
    run_free(&r);
}

void aarch64_run(const Graph *g, const Aarch64Run *r, const void *input, size_t in_bytes, void *output,
                 size_t out_bytes)
{
    char dir[512];
    assert_true(temp_dir_create(dir, sizeof dir, "dnnc-aarch64"));
    emit_bundle(g, r->features, dir);
    write_bytes(temp_path(dir, "in.raw"), input, in_bytes);
    char header[600], exe[600], obj[600], in[600], out[600];
    snprintf(header, sizeof header, "%s", temp_path(dir, "ex.h"));
    snprintf(exe, sizeof exe, "%s", temp_path(dir, "ex.arm"));
    snprintf(obj, sizeof obj, "%s", temp_path(dir, "ex.o"));
    snprintf(in, sizeof in, "%s", temp_path(dir, "in.raw"));
    snprintf(out, sizeof out, "%s", temp_path(dir, "out.raw"));
    const char *driver = DNNC_SOURCE_DIR "/tests/aarch64_driver.c";
    run_or_fail("linking", AARCH64_CC, dir,
                (const char *const[]){"-static", "-O1", "-include", header, driver, obj, "-o", exe, "-lm", NULL});
    const char *args[7], **a = args;
    if (r->qemu_cpu)
        *a++ = "-cpu", *a++ = r->qemu_cpu;
    *a++ = exe, *a++ = in, *a++ = out, *a++ = r->split ? "--split" : NULL, *a = NULL;
    run_or_fail("running", AARCH64_QEMU, dir, args);
    size_t len;
    char *got = read_file_or_fail(out, &len);
    assert_int_equal(len, out_bytes);
    memcpy(output, got, len);
    free(got);
    assert_int_equal(temp_dir_remove(dir), 0);
}
