/* Test accuracy of the weight codes on Fashion-MNIST (docs/quantization.md,
 * "Accuracy"): LeNet-5 with examples/lenet5-fashion.safetensors, its middle
 * layers coded in each mode (first and last float, the default), on the
 * 10,000 test images through the cpu target. Each mode must classify at
 * least as many images as docs/quantization.md reports less 30 (0.3
 * points): the codes are deterministic and the coded layers' kernel gives
 * the reference's bits, so only the float layers' kernels (first conv, tanh,
 * last fc, softmax), which may round differently on another instruction
 * set, can move a count, and that moves images whose two best classes are
 * within a rounding of each other: a handful, as between int8 and float32
 * (docs/quantization.md: differences of a few images either way). A loss of
 * 0.3 points more than measured is a real change in what a mode computes.
 * Skipped (77) without the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

static int lenet_correct(const char *mode)
{
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", test_fashion_dir());
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", test_fashion_dir());
    Run r = run_dnnc("run", DNNC_SOURCE_DIR "/examples/lenet5.dnn", "--weights",
                     DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors", "--target", "cpu", "--quantize", mode,
                     "--input", images, "--labels", labels, "--show", "0");
    if (r.status != 0)
        assert_run(&r, 0, "accuracy: top-1", NULL);
    int correct = test_correct_of(r.out);
    run_free(&r);
    return correct;
}

/* LeNet-5's counts in docs/quantization.md's table, first and last float. */
static const struct {
    const char *mode;
    int correct;
} measured[] = {{"log2", 8869}, {"kmeans", 8918}, {"binary", 5700}, {"ternary", 8199}};

static void test_lenet5_weight_codes_as_measured(void **state)
{
    (void)state;
    test_skip_without_fashion();
    for (size_t m = 0; m < sizeof measured / sizeof *measured; m++) {
        int correct = lenet_correct(measured[m].mode);
        print_message("LeNet-5 %s: %d of 10000 (measured %d)\n", measured[m].mode, correct, measured[m].correct);
        assert_true(correct >= measured[m].correct - 30);
    }
}

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-codes-fashion") ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_weight_codes_as_measured),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
