/* The convolution algorithms' rules (ir/conv_algo.c): which tiles each
 * takes, the default tile select-algo records, and which layers each can
 * compute, with the reason select-algo reports when it cannot. */
#include <string.h>

#include "conv_algo.h"
#include "test_util.h"

static ConvAttrs conv(int64_t kh, int64_t kw, int64_t stride, int64_t dilation)
{
    return (ConvAttrs){.filters = 4, .kernel = {kh, kw}, .stride = {stride, stride},
                       .dilation = {dilation, dilation}, .groups = 1};
}

static void test_tiles(void **state)
{
    (void)state;
    for (int t = 0; t <= 128; t++) {
        bool wino = t == 2 || t == 4 || t == 6;
        bool fft = t == 4 || t == 8 || t == 16 || t == 32 || t == 64;
        assert_int_equal(conv_algo_tile_valid(ALGO_WINOGRAD, t), wino);
        assert_int_equal(conv_algo_tile_valid(ALGO_FFT, t), fft);
        assert_false(conv_algo_tile_valid(ALGO_DIRECT, t));
        assert_false(conv_algo_tile_valid(ALGO_IM2COL, t));
        assert_false(conv_algo_tile_valid(ALGO_AUTO, t));
    }
    assert_true(conv_algo_has_tile(ALGO_WINOGRAD) && conv_algo_has_tile(ALGO_FFT));
    assert_false(conv_algo_has_tile(ALGO_DIRECT) || conv_algo_has_tile(ALGO_IM2COL) ||
                 conv_algo_has_tile(ALGO_AUTO));
    assert_string_equal(conv_algo_tile_list(ALGO_WINOGRAD), "2, 4 or 6");
    assert_string_equal(conv_algo_tile_list(ALGO_FFT), "4, 8, 16, 32 or 64");
    assert_string_equal(conv_algo_tile_list(ALGO_DIRECT), "");
}

/* Winograd: F(4x4, 3x3). FFT: the smallest power of two of at least twice
 * the larger kernel side, at least 8 and at most 64. */
static void test_default_tiles(void **state)
{
    (void)state;
    ConvAttrs k3 = conv(3, 3, 1, 1);
    assert_int_equal(conv_algo_default_tile(ALGO_WINOGRAD, &k3), 4);
    assert_int_equal(conv_algo_default_tile(ALGO_DIRECT, &k3), 0);
    static const struct {
        int64_t kh, kw;
        int tile;
    } fft[] = {{1, 1, 8}, {3, 3, 8}, {4, 4, 8}, {5, 5, 16}, {7, 7, 16}, {1, 9, 32},
               {11, 11, 32}, {16, 3, 32}, {17, 17, 64}, {33, 33, 64}, {70, 70, 64}};
    for (size_t i = 0; i < sizeof fft / sizeof *fft; i++) {
        ConvAttrs at = conv(fft[i].kh, fft[i].kw, 1, 1);
        assert_int_equal(conv_algo_default_tile(ALGO_FFT, &at), fft[i].tile);
    }
    assert_int_equal(conv_algo_tile(ALGO_FFT, 32, &k3), 32);
    assert_int_equal(conv_algo_tile(ALGO_FFT, 0, &k3), 8);
}

static void assert_refused(ConvAlgo a, ConvAttrs at, int tile, const char *why)
{
    char buf[256] = "";
    assert_false(conv_algo_applies(a, &at, tile, buf, sizeof buf));
    assert_string_equal(buf, why);
}

static void test_where_winograd_applies(void **state)
{
    (void)state;
    char why[256];
    ConvAttrs grouped = conv(3, 3, 1, 1);
    grouped.groups = 4;
    grouped.pad[0] = 2;
    assert_true(conv_algo_applies(ALGO_WINOGRAD, &grouped, 6, why, sizeof why));
    assert_refused(ALGO_WINOGRAD, conv(5, 5, 1, 1), 0,
                   "Winograd F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not "
                   "kernel 5x5");
    assert_refused(ALGO_WINOGRAD, conv(1, 3, 2, 1), 4,
                   "Winograd F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not "
                   "kernel 1x3, stride 2");
    ConvAttrs dilated = conv(3, 3, 1, 1);
    dilated.dilation[1] = 2;
    assert_refused(ALGO_WINOGRAD, dilated, 2,
                   "Winograd F(m x m, 3 x 3) needs a 3x3 kernel, stride 1 and dilation 1, not "
                   "dilation [1, 2]");
}

static void test_where_fft_applies(void **state)
{
    (void)state;
    char why[256];
    ConvAttrs k11 = conv(11, 11, 1, 1);
    assert_true(conv_algo_applies(ALGO_FFT, &k11, 0, why, sizeof why));
    assert_true(conv_algo_applies(ALGO_FFT, &k11, 16, why, sizeof why));
    assert_refused(ALGO_FFT, k11, 8,
                   "an FFT of size 8 needs a kernel smaller than 8x8, not 11x11");
    assert_refused(ALGO_FFT, conv(64, 64, 1, 1), 0,
                   "an FFT of size 64 (the largest) needs a kernel smaller than 64x64, not 64x64");
    assert_refused(ALGO_FFT, conv(5, 5, 2, 1), 0,
                   "FFT convolution needs stride 1 and dilation 1, not stride 2");
    assert_refused(ALGO_FFT, conv(1, 1, 1, 1), 16,
                   "FFT convolution needs a kernel larger than 1x1 (a 1x1 conv is a matrix "
                   "product: im2col runs it in place)");
    ConvAttrs k1x3 = conv(1, 3, 1, 1);
    assert_true(conv_algo_applies(ALGO_FFT, &k1x3, 8, why, sizeof why));
    assert_refused(ALGO_FFT, conv(5, 5, 1, 3), 0,
                   "FFT convolution needs stride 1 and dilation 1, not dilation 3");
}

/* Direct and im2col compute every conv. */
static void test_direct_and_im2col_apply_everywhere(void **state)
{
    (void)state;
    char why[8];
    ConvAttrs odd = conv(7, 1, 3, 2);
    assert_true(conv_algo_applies(ALGO_DIRECT, &odd, 0, why, sizeof why));
    assert_true(conv_algo_applies(ALGO_IM2COL, &odd, 0, why, sizeof why));
    assert_true(conv_algo_applies(ALGO_AUTO, &odd, 0, why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_default_tiles),
        cmocka_unit_test(test_where_winograd_applies),
        cmocka_unit_test(test_where_fft_applies),
        cmocka_unit_test(test_direct_and_im2col_apply_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
