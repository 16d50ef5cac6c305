/* LeNet-5 trained on Fashion-MNIST: the reference executor must classify the
 * 10,000 test images as PyTorch does.
 *
 * examples/lenet5-fashion.safetensors and
 * tests/data/lenet5_fashion_torch_predictions.npy (PyTorch's top-1 class for
 * each test image, uint8) come from tools/fashion/train_lenet5.py, whose
 * PyTorch module mirrors examples/lenet5.dnn op for op. The dataset itself is
 * not in the repository: it is read from /usr/share/datasets/fashion-mnist
 * (Debian package dataset-fashion-mnist), or from $FASHION_MNIST_DIR. Without
 * it the program says so and exits with 77, which ctest counts as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idx.h"
#include "npy.h"
#include "reference.h"
#include "test_util.h"
#include "weights.h"

#define N_TEST 10000
#define N_CLASSES 10

/* PyTorch's top-1 accuracy on the 10,000 test images, as printed by
 * `/usr/bin/python3 tools/fashion/train_lenet5.py` when it wrote the weights
 * and predictions above ("PyTorch test accuracy: 89.52% (8952/10000)"). */
#define TORCH_CORRECT 8952

/* At least 99.9% of the predictions must be PyTorch's ... */
#define MIN_AGREEMENT 9990
/* ... and the accuracy within 0.1 percentage points of PyTorch's (10 images). */
#define MAX_ACCURACY_DIFF 10

static const char *default_data_dir = "/usr/share/datasets/fashion-mnist";
static char images_path[4096], labels_path[4096];

typedef struct Results {
    int64_t agree, correct;
    int64_t first_disagreement; /* -1: none */
} Results;

static Results results;

static const char *data_dir(void)
{
    const char *env = getenv("FASHION_MNIST_DIR");
    return env && *env ? env : default_data_dir;
}

/* Index of the largest score; ties keep the lower index (as dnnc run does). */
static int argmax(const float *s, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (s[i] > s[best])
            best = i;
    return best;
}

static void read_or_fail(bool ok, const char *what, const char *err)
{
    if (!ok)
        fail_msg("%s: %s", what, err);
}

/* Runs the network once per test image and compares with PyTorch and the
 * labels; the tests below check the counts. */
static int run_all(void **state)
{
    (void)state;
    char path[4096], err[1024];

    snprintf(path, sizeof path, "%s/examples/lenet5.dnn", DNNC_SOURCE_DIR);
    Parsed p;
    parse_file(&p, path);
    if (!p.graph)
        fail_msg("lenet5.dnn:\n%s", p.messages);
    Graph *g = p.graph;
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    const Shape *in_shape = &g->tensors[g->inputs[0]].shape;
    const Shape *out_shape = &g->tensors[g->outputs[0]].shape;
    assert_int_equal(shape_elems(in_shape), 28 * 28);
    assert_int_equal(shape_elems(out_shape), N_CLASSES);

    /* Bind the trained weights, showing every diagnostic on failure. */
    snprintf(path, sizeof path, "%s/examples/lenet5-fashion.safetensors", DNNC_SOURCE_DIR);
    char *messages = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    bool bound = weights_load(g, path, &d);
    fclose(out);
    if (!bound)
        fail_msg("%s:\n%s", path, messages);
    free(messages);

    Array raw_images, images, labels, torch_preds;
    read_or_fail(idx_read(images_path, &raw_images, err, sizeof err), images_path, err);
    read_or_fail(idx_images_to_input(&raw_images, &images, err, sizeof err), images_path, err);
    array_free(&raw_images);
    read_or_fail(idx_read(labels_path, &labels, err, sizeof err), labels_path, err);
    snprintf(path, sizeof path, "%s/tests/data/lenet5_fashion_torch_predictions.npy",
             DNNC_SOURCE_DIR);
    read_or_fail(npy_read(path, &torch_preds, err, sizeof err), path, err);

    assert_int_equal(images.dtype, ELEM_F32);
    assert_int_equal(images.shape.rank, 4);
    assert_int_equal(images.shape.d[0], N_TEST);
    assert_int_equal(array_count(&images), (int64_t)N_TEST * 28 * 28);
    assert_int_equal(labels.dtype, ELEM_U8);
    assert_int_equal(array_count(&labels), N_TEST);
    assert_true(torch_preds.dtype == ELEM_U8 || torch_preds.dtype == ELEM_I8);
    assert_int_equal(array_count(&torch_preds), N_TEST);

    const unsigned char *label = labels.data, *torch_pred = torch_preds.data;
    results = (Results){0, 0, -1};
    for (int64_t n = 0; n < N_TEST; n++) {
        const float *in[1] = {(const float *)images.data + n * 28 * 28};
        float scores[N_CLASSES];
        float *outs[1] = {scores};
        if (!reference_run(g, in, outs, err, sizeof err))
            fail_msg("image %lld: %s", (long long)n, err);
        int pred = argmax(scores, N_CLASSES);
        results.correct += pred == label[n];
        if (pred == torch_pred[n])
            results.agree++;
        else if (results.first_disagreement < 0)
            results.first_disagreement = n;
    }
    print_message("dnnc reference: %lld/%d correct (%.2f%%), PyTorch %d/%d (%.2f%%); "
                  "same prediction on %lld/%d (%.2f%%)\n",
                  (long long)results.correct, N_TEST, 100.0 * (double)results.correct / N_TEST,
                  TORCH_CORRECT, N_TEST, 100.0 * TORCH_CORRECT / N_TEST, (long long)results.agree,
                  N_TEST, 100.0 * (double)results.agree / N_TEST);

    array_free(&images);
    array_free(&labels);
    array_free(&torch_preds);
    parsed_free(&p);
    return 0;
}

static void test_agrees_with_pytorch(void **state)
{
    (void)state;
    if (results.agree < MIN_AGREEMENT)
        fail_msg("dnnc and PyTorch agree on %lld of %d images (need %d); first difference: "
                 "image %lld",
                 (long long)results.agree, N_TEST, MIN_AGREEMENT,
                 (long long)results.first_disagreement);
}

static void test_accuracy_matches_pytorch(void **state)
{
    (void)state;
    int64_t diff = results.correct - TORCH_CORRECT;
    if (diff < -MAX_ACCURACY_DIFF || diff > MAX_ACCURACY_DIFF)
        fail_msg("dnnc accuracy %.2f%% is %.2f points from PyTorch's %.2f%% (at most %.2f allowed)",
                 100.0 * (double)results.correct / N_TEST, 100.0 * (double)diff / N_TEST,
                 100.0 * TORCH_CORRECT / N_TEST, 100.0 * MAX_ACCURACY_DIFF / N_TEST);
}

int main(void)
{
    snprintf(images_path, sizeof images_path, "%s/t10k-images-idx3-ubyte.gz", data_dir());
    snprintf(labels_path, sizeof labels_path, "%s/t10k-labels-idx1-ubyte.gz", data_dir());
    const char *missing = access(images_path, R_OK) != 0   ? images_path
                          : access(labels_path, R_OK) != 0 ? labels_path
                                                           : NULL;
    if (missing) {
        printf("test_fashion_mnist: SKIPPED: %s not found (install the Debian package "
               "dataset-fashion-mnist, or set FASHION_MNIST_DIR)\n",
               missing);
        return 77; /* ctest: skipped (SKIP_RETURN_CODE) */
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_pytorch),
        cmocka_unit_test(test_accuracy_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, run_all, NULL);
}
