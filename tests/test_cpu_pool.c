/* The cpu target's float max pooling on phase planes (dnnk_maxpool_float,
 * codegen/kernels/pool.c and planes.c) against the reference executor, to
 * the bit: a max rounds nothing, and the kernel takes the taps in the
 * reference's order with its comparison, so a NaN never replaces the max
 * and infinities pass through as they do there.
 *
 * The layers: the pools of SqueezeNet, ResNet, VGG and GoogLeNet (strides
 * 1 and 2, padding, planes of several row tiles), the ceil rule with a
 * window that ends past the padded input, dilation with asymmetric
 * padding, rows split into column tiles, a window no plane holds (the
 * kernel then runs dnnk_maxpool's loops), batches, NaN and infinite
 * inputs; JIT-compiled and run on 1 and 2 threads, and on the kernel
 * library of 8-lane vectors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu_check.h"
#include "test_util.h"

typedef struct Pool {
    const char *name;
    int64_t n, c, h, w, kh, kw, sh, sw, dh, dw;
    int64_t pad[4];
    bool ceil;
    CpuTiling path;
} Pool;

static void pool_text(const Pool *P, char *buf, size_t size)
{
    snprintf(buf, size,
             "input x: f32[%lld, %lld, %lld, %lld];\n"
             "y = maxpool(x, kernel=[%lld, %lld], stride=[%lld, %lld], dilation=[%lld, %lld], "
             "pad=[%lld, %lld, %lld, %lld], ceil=%s);\noutput y;\n",
             (long long)P->n, (long long)P->c, (long long)P->h, (long long)P->w, (long long)P->kh,
             (long long)P->kw, (long long)P->sh, (long long)P->sw, (long long)P->dh, (long long)P->dw,
             (long long)P->pad[0], (long long)P->pad[1], (long long)P->pad[2], (long long)P->pad[3],
             P->ceil ? "true" : "false");
}

static void check_path(const Graph *g, CpuTiling want)
{
    const Node *n = &g->nodes[0];
    const PoolAttrs *a = &n->attr.pool;
    const Shape *os = &g->tensors[n->output].shape;
    cpu_check_tiling(a->kernel, a->stride, a->dilation, os->d[2], os->d[3], want);
}

/* Every output the same float as the reference's (NaN and infinities
 * included: compared as bits). */
static void check_same(const char *what, const float *got, const float *want, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            fail_msg("%s: output %lld is %g, the reference's %g", what, (long long)i, got[i], want[i]);
}

/* Among the random inputs cpu_io_make drew: every 7th a NaN, every 11th
 * +infinity, every 13th -infinity (the first rule that applies wins). */
static void add_specials(CpuIo *io)
{
    for (int64_t i = 0; i < io->in_count[0]; i++)
        io->in[0][i] = i % 7 == 3 ? NAN : i % 11 == 5 ? INFINITY : i % 13 == 6 ? -INFINITY : io->in[0][i];
}

static void check_pool_for(const Pool *P, bool specials, const char *cpu, const char *features)
{
    char text[1024];
    pool_text(P, text, sizeof text);
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, P->name, text);
    run_pipeline_or_fail(g, "cpu", 0);
    print_message("%s%s:\n", P->name, specials ? ", NaN and infinities" : "");
    check_path(g, P->path);
    CpuIo io;
    cpu_io_make(g, 3, &io);
    if (specials)
        add_specials(&io);
    float *want = cpu_run_reference(g, &io), *got[2];
    cpu_run_jit(g, "pool", cpu, features, &io, got);
    check_same("1 thread", got[0], want, io.out_count[0]);
    check_same("2 threads", got[1], want, io.out_count[0]);
    free(got[0]), free(got[1]), free(want);
    cpu_io_free(&io);
    parsed_free(&p);
}

static void check_pool(const Pool *P)
{
    check_pool_for(P, false, NULL, NULL);
    check_pool_for(P, true, NULL, NULL);
}

static void test_network_pools(void **state)
{
    (void)state;
    check_pool(&(Pool){"SqueezeNet's 3x3/2, 109x109, ceil", 1, 4, 109, 109, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, true,
                       TILE_ROWS});
    check_pool(&(Pool){"ResNet's 3x3/2, pad 1", 2, 3, 112, 112, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, false, TILE_ROWS});
    check_pool(&(Pool){"VGG's 2x2/2", 1, 5, 28, 28, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, false, TILE_ONE});
    check_pool(&(Pool){"GoogLeNet's 3x3/1, pad 1", 1, 6, 14, 14, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, false, TILE_ONE});
}

static void test_odd_windows(void **state)
{
    (void)state;
    /* H = 5, kernel 3, stride 3, pad 1, ceil: the second window ends past
     * the padded input. */
    check_pool(&(Pool){"ceil past the padding", 1, 2, 5, 7, 3, 3, 3, 3, 1, 1, {1, 1, 1, 1}, true, TILE_ONE});
    check_pool(&(Pool){"dilation 2 3, stride 3 2, pad 2 0 1 1", 1, 3, 23, 19, 3, 2, 3, 2, 2, 3, {2, 0, 1, 1}, false,
                       TILE_ONE});
    check_pool(&(Pool){"1x1 window, stride 2", 1, 2, 9, 8, 1, 1, 2, 2, 1, 1, {0, 0, 0, 0}, false, TILE_ONE});
    check_pool(&(Pool){"rows of 3001", 1, 2, 4, 3001, 2, 3, 1, 1, 1, 1, {1, 1, 0, 1}, false, TILE_COLUMNS});
    check_pool(&(Pool){"91x91 window", 1, 2, 95, 93, 91, 91, 1, 1, 1, 1, {0, 0, 0, 0}, false, TILE_NONE});
}

/* The library of 8-lane vectors, which an AVX-512 host does not pick. */
static void test_eight_lanes(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const char *cpu = "x86-64-v3", *avx2 = "+avx2,+fma,+avx,+f16c";
    Pool P = {"3x3/2, pad 1, 8 lanes", 1, 3, 57, 61, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, true, TILE_ONE};
    check_pool_for(&P, false, cpu, avx2);
    check_pool_for(&P, true, cpu, avx2);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_pools),
        cmocka_unit_test(test_odd_windows),
        cmocka_unit_test(test_eight_lanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
