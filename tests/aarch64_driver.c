/* The program cpu_examples links with a bundle cross-compiled for AArch64
 * and runs under qemu-aarch64 (tests/CMakeLists.txt, "AArch64"): it is
 * compiled with `-include NAME.h` for the bundle's prefix `ex`.
 *
 *   driver INPUT OUTPUT [--split]
 *
 * reads the EX_INPUT_i_BYTES bytes of each input (raw, this machine's byte
 * order), one after the other, from INPUT, runs the network on the calling
 * thread (no parallel_for) and writes the EX_OUTPUT_0_BYTES bytes of
 * output 0 to OUTPUT. With --split it runs it
 * again with a parallel_for that hands out one unit at a time from the
 * last to the first and checks that both give the same bits (bundles
 * promise that the split of work never changes a result, docs/bundle.md).
 * Exit 0, or 1 with a message. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if EX_NUM_INPUTS > 2 || EX_NUM_OUTPUTS != 1
#error "the driver runs networks of one or two inputs and one output"
#endif

#if EX_NUM_INPUTS == 2
#define INPUT_BYTES (EX_INPUT_0_BYTES + EX_INPUT_1_BYTES)
#else
#define INPUT_BYTES EX_INPUT_0_BYTES
#endif

/* Every range of one unit, in reverse order: a split no thread pool would
 * choose, which exposes any result that depends on the split. */
static void one_unit_at_a_time(void *pool, int64_t n, void (*task)(void *ctx, int64_t begin, int64_t end),
                               void *ctx)
{
    (void)pool;
    for (int64_t i = n - 1; i >= 0; i--)
        task(ctx, i, i + 1);
}

static void *aligned_or_die(size_t size)
{
    void *p = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "driver: out of memory for %zu bytes\n", size);
        exit(1);
    }
    return p;
}

static int run(const unsigned char *input, void *output, void *workspace, const dnnc_parallel *parallel)
{
#if EX_NUM_INPUTS == 2
    const void *inputs[] = {input, input + EX_INPUT_0_BYTES};
#else
    const void *inputs[] = {input};
#endif
    void *outputs[] = {output};
    return ex_run(inputs, outputs, workspace, NULL, parallel);
}

int main(int argc, char **argv)
{
    bool check_split = argc == 4 && strcmp(argv[3], "--split") == 0;
    if (argc != 3 && !check_split) {
        fprintf(stderr, "usage: driver INPUT OUTPUT [--split]\n");
        return 1;
    }
    unsigned char *input = aligned_or_die(INPUT_BYTES);
    void *serial = aligned_or_die(EX_OUTPUT_0_BYTES), *split = aligned_or_die(EX_OUTPUT_0_BYTES);
    void *workspace = aligned_or_die(EX_WORKSPACE_SIZE);
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(input, 1, INPUT_BYTES, f) != INPUT_BYTES) {
        fprintf(stderr, "driver: cannot read %u bytes from %s\n", (unsigned)INPUT_BYTES, argv[1]);
        return 1;
    }
    fclose(f);
    dnnc_parallel reversed = {one_unit_at_a_time, NULL};
    if (run(input, serial, workspace, NULL) != EX_OK ||
        (check_split && run(input, split, workspace, &reversed) != EX_OK)) {
        fprintf(stderr, "driver: ex_run failed\n");
        return 1;
    }
    if (check_split && memcmp(serial, split, EX_OUTPUT_0_BYTES) != 0) {
        fprintf(stderr, "driver: the output depends on how the work was split\n");
        return 1;
    }
    f = fopen(argv[2], "wb");
    if (!f || fwrite(serial, 1, EX_OUTPUT_0_BYTES, f) != EX_OUTPUT_0_BYTES || fclose(f) != 0) {
        fprintf(stderr, "driver: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
