/* Energy-aware pruning on Fashion-MNIST's trained LeNet-5 (the claim
 * docs/pruning.md makes): allowed to change the class of 5% of 300
 * training images, it saves more energy on eyeriss than global magnitude
 * pruning to the same density, and loses no more of the 10,000 test
 * images. Needs the dataset, as test_fashion_mnist, and says so when it is
 * missing. About 30 s of CPU (a few hundred runs of LeNet-5 on the
 * reference executor), so it runs in the plain build only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];
static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }
#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* "energy-aware: density 51.5%, energy 1.836e+07 -> 1.325e+07 (-27.8%)"
 * and the "total" row give the density and the energy change. */
static double total_change(const char *out)
{
    const char *total = strstr(out, "\ntotal ");
    assert_non_null(total);
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(total + 1, "\n"), total + 1);
    return strtod(strrchr(line, ' '), NULL);
}

static double density_of(const char *out)
{
    const char *at = strstr(out, "energy-aware: density ");
    assert_non_null(at);
    return strtod(at + strlen("energy-aware: density "), NULL) / 100.0;
}

static int correct_of(const char *model, const char *weights)
{
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", test_fashion_dir());
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", test_fashion_dir());
    Run r = run_dnnc("run", model, "--weights", weights, "--input", images, "--labels", labels, "--target", "cpu",
                     "--show", "0");
    int correct = test_correct_of(r.out);
    assert_run(&r, 0, "accuracy: top-1", NULL);
    return correct;
}

/* 5% of 300 training images may change class: the result saves more energy
 * on eyeriss than global magnitude pruning to the same density, and loses
 * no more of the 10,000 test images. */
static void test_lenet5_beats_magnitude_pruning(void **state)
{
    (void)state;
    test_skip_without_fashion();
    assert_true(temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-prune-energy"));
    char net_path[512], weights[512], train[512], density[32];
    snprintf(net_path, sizeof net_path, "%s/examples/lenet5.dnn", DNNC_SOURCE_DIR);
    snprintf(weights, sizeof weights, "%s/examples/lenet5-fashion.safetensors", DNNC_SOURCE_DIR);
    snprintf(train, sizeof train, "%s/train-images-idx3-ubyte.gz", test_fashion_dir());
    Run r = run_dnnc("prune", net_path, "--weights", weights, "--energy-aware", "--arch", "eyeriss", "--calibrate",
                     train, "--calibrate-samples", "300", "--max-drop", "5", "-o", path_in("e.dnn"));
    double d = density_of(r.out), energy_aware = total_change(r.out);
    assert_run(&r, 0, "energy-aware: density", NULL);
    snprintf(density, sizeof density, "%.4f", d);
    Run m = run_dnnc("prune", net_path, "--weights", weights, "--density", density, "--arch", "eyeriss", "-o",
                     path_in("m.dnn"));
    double magnitude = total_change(m.out);
    assert_run(&m, 0, "total", NULL);
    int e_correct = correct_of(path_in("e.dnn"), path_in("e.safetensors"));
    int m_correct = correct_of(path_in("m.dnn"), path_in("m.safetensors"));
    print_message("density %.4f: energy-aware %.1f%% energy, %d correct; magnitude %.1f%%, %d correct\n", d,
                  energy_aware, e_correct, magnitude, m_correct);
    assert_true(d < 0.9);
    assert_true(energy_aware < magnitude);
    assert_true(e_correct >= m_correct);
    temp_dir_remove(tmp_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_beats_magnitude_pruning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
