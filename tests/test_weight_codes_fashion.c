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
 * With --sweep (ctest weight_codes_fashion_sweep, label sweep: about 30 s)
 * the batch-norm network the same way. Skipped (77) without the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* The test images network `net` (examples/NET.dnn) classifies correctly
 * with its weights (`weights` in examples/) coded in `mode`. */
static int correct_in(const char *net, const char *weights, const char *mode)
{
    char images[512], labels[512], model[512], w[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", test_fashion_dir());
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", test_fashion_dir());
    snprintf(model, sizeof model, "%s/examples/%s.dnn", DNNC_SOURCE_DIR, net);
    snprintf(w, sizeof w, "%s/examples/%s", DNNC_SOURCE_DIR, weights);
    Run r = run_dnnc("run", model, "--weights", w, "--target", "cpu", "--quantize", mode, "--input", images,
                     "--labels", labels, "--show", "0");
    if (r.status != 0)
        assert_run(&r, 0, "accuracy: top-1", NULL);
    int correct = test_correct_of(r.out);
    run_free(&r);
    return correct;
}

/* The counts in docs/quantization.md's table, first and last float. */
typedef struct Measured {
    const char *mode;
    int correct;
} Measured;

static void expect_as_measured(const char *net, const char *weights, const Measured *measured)
{
    test_skip_without_fashion();
    for (int m = 0; m < 4; m++) {
        int correct = correct_in(net, weights, measured[m].mode);
        print_message("%s %s: %d of 10000 (measured %d)\n", net, measured[m].mode, correct, measured[m].correct);
        assert_true(correct >= measured[m].correct - 30);
    }
}

static void test_lenet5_weight_codes_as_measured(void **state)
{
    (void)state;
    const Measured lenet5[4] = {{"log2", 8869}, {"kmeans", 8918}, {"binary", 5700}, {"ternary", 8199}};
    expect_as_measured("lenet5", "lenet5-fashion.safetensors", lenet5);
}

static void test_bn_net_weight_codes_as_measured(void **state)
{
    (void)state;
    const Measured bn[4] = {{"log2", 9093}, {"kmeans", 9116}, {"binary", 3132}, {"ternary", 6435}};
    expect_as_measured("fashion_bn", "fashion_bn.safetensors", bn);
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_weight_codes_as_measured),
    };
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_bn_net_weight_codes_as_measured),
    };
    if (argc > 1 && strcmp(argv[1], "--sweep") == 0)
        return cmocka_run_group_tests(sweep, setup_dir, remove_dir);
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
