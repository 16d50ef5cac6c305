/* `dnnc run --target spatial` and `dnnc compile --target spatial` as a
 * user runs them (docs/accelerator.md, "Running on the simulator"):
 *   - outputs bit-exact with the reference executor in the same fixed16
 *     arithmetic: a small network with relu, maxpool and fc on random
 *     weights always, another with float layers (tanh, a float maxpool)
 *     between its accelerator layers, and LeNet-5 on Fashion-MNIST images
 *     when the dataset is there (as test_quantize_cli, skipped without it);
 *   - compile -o writes NAME.isa and NAME.dram, --emit=asm NAME.s, and the
 *     assembler reads the text back to the very program of NAME.isa;
 *   - errors: a float layer, an int8 layer, --emit=llvm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#include "idx.h"
#include "isa_asm.h"
#include "isa_program.h"
#include "npy.h"

static char tmp_dir[256];

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

#define run_dnnc(...) run_program(DNNC_BINARY, tmp_dir, (const char *const[]){__VA_ARGS__, NULL})

/* Conv + relu + maxpool on the PE array and the pooling unit, an fc with
 * its relu after a reshape, and a float tail (softmax) on the host. */
static const char small_net[] = "input x: f32[1, 2, 8, 8];\n"
                                "c = conv(x, filters=4, kernel=3, pad=1);\n"
                                "r = relu(c);\n"
                                "p = maxpool(r, kernel=2, stride=2);\n"
                                "d = conv(p, filters=3, kernel=3, stride=2, pad=1, groups=1);\n"
                                "f = fc(d, units=5);\n"
                                "g = relu(f);\n"
                                "h = fc(g, units=3);\n"
                                "s = softmax(h);\n"
                                "output s;\n";

/* Float layers between accelerator layers (tanh and a float maxpool on
 * the host): the program is cut into parts around them. */
static const char host_middle_net[] = "input x: f32[1, 2, 8, 8];\n"
                                      "c = conv(x, filters=4, kernel=3, pad=1);\n"
                                      "t = tanh(c);\n"
                                      "p = maxpool(t, kernel=2, stride=2);\n"
                                      "d = conv(p, filters=3, kernel=3, pad=1);\n"
                                      "r = relu(d);\n"
                                      "f = fc(r, units=4);\n"
                                      "output f;\n";

static float signed_sequence(int64_t i, uint32_t seed)
{
    return (float)((i * 7919 + seed) % 101) / 50.0f - 1.0f;
}

static int setup_dir(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-spatial-run"))
        return -1;
    write_text_file(path_in("small.dnn"), small_net);
    write_text_file(path_in("host-middle.dnn"), host_middle_net);
    write_f32_npy(path_in("calib.npy"), (Shape){4, {8, 2, 8, 8}}, signed_sequence, 1);
    write_f32_npy(path_in("input.npy"), (Shape){4, {5, 2, 8, 8}}, signed_sequence, 7);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

static void expect_same_files(const char *first, const char *second)
{
    size_t a_len, b_len;
    char *a = read_file_or_fail(first, &a_len);
    char *b = read_file_or_fail(second, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
}

/* Runs model on target with fixed16 (first and last layers too; samples
 * calibration samples), writing the output to out. */
static void run_fixed16(const char *model, const char *weights_flag, const char *weights,
                        const char *calib, const char *samples, const char *input,
                        const char *target, const char *out)
{
    Run r = run_dnnc("run", model, weights_flag, weights, "--quantize", "fixed16", "--calibrate",
                     calib, "--calibrate-samples", samples, "--quantize-first-last", "--target",
                     target, "--input", input, "--output", out, "--show", "0");
    assert_run(&r, 0, "ran ", NULL);
}

/* The network in file on three sets of random weights, spatial against
 * reference. */
static void expect_bit_exact(const char *file)
{
    char model[512], spatial[512], reference[512];
    snprintf(model, sizeof model, "%s", path_in(file));
    snprintf(spatial, sizeof spatial, "%s", path_in("spatial.npy"));
    snprintf(reference, sizeof reference, "%s", path_in("reference.npy"));
    for (int seed = 1; seed <= 3; seed++) {
        char s[16];
        snprintf(s, sizeof s, "%d", seed);
        run_fixed16(model, "--random-weights", s, path_in("calib.npy"), "8", path_in("input.npy"),
                    "spatial", spatial);
        run_fixed16(model, "--random-weights", s, path_in("calib.npy"), "8", path_in("input.npy"),
                    "reference", reference);
        expect_same_files(spatial, reference);
    }
}

static void test_small_network_bit_exact(void **state)
{
    (void)state;
    expect_bit_exact("small.dnn");
}

static void test_host_layers_between_parts_bit_exact(void **state)
{
    (void)state;
    expect_bit_exact("host-middle.dnn");
    Run r = run_dnnc("compile", path_in("host-middle.dnn"), "--random-weights", "1", "--quantize",
                     "fixed16", "--calibrate", path_in("calib.npy"), "--quantize-first-last",
                     "--target", "spatial", "-o", path_in("parts"));
    assert_run(&r, 0, "in 2 segments", NULL);
}

/* ---- compile ---- */

/* On Eyeriss (rlc and zero_skip on), the program's machine has both, and
 * every ifmap and filter ld and every final st of it is run-length coded,
 * no other transfer (docs/isa.md). */
static void expect_rlc_transfers(const IsaProgram *p)
{
    int coded = 0;
    for (size_t i = 0; i < p->n_instrs; i++) {
        const IsaInstr *in = &p->instrs[i];
        if (in->op == ISA_LD) {
            assert_int_equal(in->f[ISA_LD_RLC],
                             in->f[ISA_LD_TYPE] == ISA_LD_IFMAP || in->f[ISA_LD_TYPE] == ISA_LD_FILTER);
            coded += (int)in->f[ISA_LD_RLC];
        } else if (in->op == ISA_ST) {
            assert_int_equal(in->f[ISA_ST_RLC], in->f[ISA_ST_FINAL]);
            coded += (int)in->f[ISA_ST_RLC];
        }
    }
    assert_true(p->machine.rlc && p->machine.zero_skip && coded > 0);
}

static void test_compile_writes_program_image_and_assembly(void **state)
{
    (void)state;
    char base[512], isa[512], dram[512], text[512];
    snprintf(base, sizeof base, "%s", path_in("net"));
    snprintf(isa, sizeof isa, "%s.isa", base);
    snprintf(dram, sizeof dram, "%s.dram", base);
    snprintf(text, sizeof text, "%s.s", base);
    Run r = run_dnnc("compile", path_in("small.dnn"), "--random-weights", "1", "--quantize",
                     "fixed16", "--calibrate", path_in("calib.npy"), "--quantize-first-last",
                     "--target", "spatial", "-o", base, "--emit=asm");
    assert_run(&r, 0, ".isa and ", NULL);
    IsaProgram from_file, from_text;
    char err[512];
    if (!isa_program_load_file(isa, &from_file, err, sizeof err))
        fail_msg("%s: %s", isa, err);
    size_t len;
    char *s = read_file_or_fail(text, &len);
    assert_true(isa_asm_parse(text, s, len, &from_text, stderr));
    free(s);
    uint8_t *a, *b;
    size_t a_len, b_len;
    assert_true(isa_program_serialize(&from_file, &a, &a_len, err, sizeof err));
    assert_true(isa_program_serialize(&from_text, &b, &b_len, err, sizeof err));
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    assert_true(from_file.n_instrs > 0);
    expect_rlc_transfers(&from_file);
    isa_program_free(&from_file);
    isa_program_free(&from_text);
    assert_int_equal(access(dram, R_OK), 0);
}

/* --counts: the simulator's counts per accelerator layer and sample, after
 * the runs. MACs are exact: c_q 4 filters x 2 channels x 3 x 3 x 64
 * outputs = 4608, d_q 3 x 4 x 9 x 4 = 432, f_q 5 x 12 = 60, h_q 3 x 5 = 15,
 * per sample whatever the number of samples (input.npy holds several). A
 * target that measures nothing refuses the option. */
static void test_counts(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("small.dnn"), "--random-weights", "1", "--quantize", "fixed16",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--target", "spatial",
                     "--input", path_in("input.npy"), "--show", "0", "--counts");
    const char *rows[] = {"simulated on the accelerator, per sample", "DRAM words", "RF words", "energy"};
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_contains(r.out, rows[i]);
    const char *macs[][2] = {{"\nc_q ", " 4608 "}, {"\nd_q ", " 432 "}, {"\nf_q ", " 60 "},
                             {"\nh_q ", " 15 "}, {"\ntotal ", " 5115 "}};
    for (size_t i = 0; i < sizeof macs / sizeof *macs; i++) {
        const char *row = strstr(r.out, macs[i][0]);
        assert_non_null(row);
        const char *end = strchr(row + 1, '\n');
        assert_non_null(end);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(end - row), row);
        if (!strstr(line, macs[i][1]))
            fail_msg("expected%s MACs in the row '%s'", macs[i][1], line + 1);
    }
    assert_run(&r, 0, "the 3 layers the host ran not counted", NULL);
    r = run_dnnc("run", path_in("small.dnn"), "--random-weights", "1", "--input", path_in("input.npy"),
                 "--counts");
    assert_run(&r, 2, NULL, "--counts: target reference measures nothing to print");
}

/* ---- the model against the simulator on data ---- */

/* dnnc map --simulate --input on model (a fixed16 network in model.dnn
 * and model.safetensors) under dataflow df: every count of every layer
 * equal to the model's given the measured statistics, the run's
 * activations equal to the reference's. */
static void expect_equal_on_data(const char *model, const char *weights, const char *input,
                                 const char *df, int layers)
{
    char equal[128];
    snprintf(equal, sizeof equal, "%d of %d layers: every access count, MACs performed and "
             "cycles equal to the model's", layers, layers);
    Run r = run_dnnc("map", model, "--weights", weights, "--input", input, "--dataflow", df,
                     "--simulate");
    assert_contains(r.out, "on the reference's activations");
    assert_contains(r.out, "\noutputs: 0 of the ");
    assert_run(&r, 0, equal, NULL);
}

/* The small network quantised to fixed16, with RLC and zero skipping on
 * (Eyeriss), under every dataflow; and the errors: a float network, and
 * --batch, which the program (made for the network's batch) cannot take. */
static void test_map_simulate_on_data(void **state)
{
    (void)state;
    write_f32_npy(path_in("one.npy"), (Shape){4, {1, 2, 8, 8}}, signed_sequence, 7);
    Run r = run_dnnc("quantize", path_in("small.dnn"), "--random-weights", "1", "--mode", "fixed16",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "-o",
                     path_in("small-q.dnn"));
    assert_run(&r, 0, "quantised to fixed16", NULL);
    static const char *const dataflows[] = {"ws", "os-a", "os-b", "os-c", "nlr", "rs"};
    for (size_t i = 0; i < sizeof dataflows / sizeof *dataflows; i++) {
        char model[512], weights[512];
        snprintf(model, sizeof model, "%s", path_in("small-q.dnn"));
        snprintf(weights, sizeof weights, "%s", path_in("small-q.safetensors"));
        expect_equal_on_data(model, weights, path_in("one.npy"), dataflows[i], 4);
    }
    r = run_dnnc("map", path_in("small.dnn"), "--random-weights", "1", "--input", path_in("one.npy"),
                 "--simulate");
    assert_run(&r, 1, NULL, "--simulate on data runs the fixed16 program");
    r = run_dnnc("map", path_in("small-q.dnn"), "--weights", path_in("small-q.safetensors"),
                 "--input", path_in("one.npy"), "--simulate", "--batch", "2");
    assert_run(&r, 2, NULL, "--batch does not combine with them");
}

/* ---- errors ---- */

static void test_float_layer_is_an_error(void **state)
{
    (void)state;
    /* Without --quantize-first-last the first and last layers stay float. */
    Run r = run_dnnc("run", path_in("small.dnn"), "--random-weights", "1", "--quantize", "fixed16",
                     "--calibrate", path_in("calib.npy"), "--target", "spatial", "--input",
                     path_in("input.npy"));
    assert_run(&r, 1, NULL, "layer 'c': target spatial cannot run conv: the PE array computes in "
                            "16-bit fixed point: quantise the network with --quantize fixed16 "
                            "--calibrate DATA --quantize-first-last");
    r = run_dnnc("compile", path_in("small.dnn"), "--random-weights", "1", "--target", "spatial",
                 "-o", path_in("float"));
    assert_run(&r, 1, NULL, "--quantize fixed16 --calibrate DATA --quantize-first-last");
    assert_int_not_equal(access(path_in("float.isa"), F_OK), 0);
}

static void test_int8_layer_is_an_error(void **state)
{
    (void)state;
    Run r = run_dnnc("run", path_in("small.dnn"), "--random-weights", "1", "--quantize", "int8",
                     "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--target",
                     "spatial", "--input", path_in("input.npy"));
    assert_run(&r, 1, NULL, "target spatial cannot run qlinear_conv: the PE array computes on "
                            "16-bit words (--quantize fixed16)");
}

static void test_emit_llvm_is_an_error(void **state)
{
    (void)state;
    Run r = run_dnnc("compile", path_in("small.dnn"), "--random-weights", "1", "--quantize",
                     "fixed16", "--calibrate", path_in("calib.npy"), "--quantize-first-last",
                     "--target", "spatial", "-o", path_in("llvm"), "--emit=llvm");
    assert_run(&r, 1, NULL, "--emit=llvm: the spatial target writes an instruction stream");
    assert_int_not_equal(access(path_in("llvm.isa"), F_OK), 0);
}

/* ---- LeNet-5 on Fashion-MNIST ---- */

static const char *fashion_dir(void)
{
    const char *d = getenv("FASHION_MNIST_DIR");
    return d && *d ? d : "/usr/share/datasets/fashion-mnist";
}

/* Skips the test, saying why, when the dataset's file is not there. */
static void skip_without_dataset(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fashion_dir(), file);
    if (access(path, R_OK) != 0) {
        print_message("SKIPPED: %s is not there (install dataset-fashion-mnist or set "
                      "FASHION_MNIST_DIR)\n", path);
        skip();
    }
}

/* The first n test images as f32 [n, 1, 28, 28] in [0, 1], as dnnc run
 * reads the IDX file. */
static void write_test_images(const char *path, int64_t n)
{
    char idx[512], err[512];
    snprintf(idx, sizeof idx, "%s/t10k-images-idx3-ubyte.gz", fashion_dir());
    Array images, input;
    if (!idx_read(idx, &images, err, sizeof err) ||
        !idx_images_to_input(&images, &input, err, sizeof err))
        fail_msg("%s: %s", idx, err);
    assert_true(input.shape.d[0] >= n);
    input.shape.d[0] = n;
    input.nbytes = (size_t)(n * 28 * 28) * sizeof(float);
    if (!npy_write(path, &input, err, sizeof err))
        fail_msg("%s: %s", path, err);
    array_free(&images);
    array_free(&input);
}

/* The first test image, a photograph of a garment, as AlexNet's input:
 * scaled bilinearly to 227 x 227 and normalised per channel with
 * ImageNet's means and deviations (its grey level in all three). A real
 * image has the smooth regions and edges that give ReLUs their zeros;
 * uniform noise would not. */
static void write_alexnet_image(const char *path)
{
    write_test_images(path, 1);
    char err[512];
    Array small = {0}, big = {0};
    if (!npy_read(path, &small, err, sizeof err) ||
        !array_alloc(&big, ELEM_F32, &(Shape){4, {1, 3, 227, 227}}, err, sizeof err))
        fail_msg("%s: %s", path, err);
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, dev[3] = {0.229f, 0.224f, 0.225f};
    const float *g = small.data;
    float *out = big.data;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 227; y++)
            for (int x = 0; x < 227; x++) {
                double fy = y * 27.0 / 226, fx = x * 27.0 / 226;
                int y0 = (int)fy, x0 = (int)fx, y1 = y0 < 27 ? y0 + 1 : 27, x1 = x0 < 27 ? x0 + 1 : 27;
                double ay = fy - y0, ax = fx - x0;
                double v = g[y0 * 28 + x0] * (1 - ay) * (1 - ax) + g[y1 * 28 + x0] * ay * (1 - ax) +
                           g[y0 * 28 + x1] * (1 - ay) * ax + g[y1 * 28 + x1] * ay * ax;
                out[(c * 227 + y) * 227 + x] = (float)((v - mean[c]) / dev[c]);
            }
    if (!npy_write(path, &big, err, sizeof err))
        fail_msg("%s: %s", path, err);
    array_free(&small);
    array_free(&big);
}

/* AlexNet in fixed16 (random weights, seed 1; calibrated on the image it
 * runs) under row stationary at batch 1, with Eyeriss's RLC and zero
 * skipping: every count of every layer equal to the model's given what
 * the program met in the data, and the run's activations the reference's
 * (the sweep: about 40 s here). */
static void test_alexnet_on_data(void **state)
{
    (void)state;
    skip_without_dataset("t10k-images-idx3-ubyte.gz");
    char image[512], model[512], weights[512];
    snprintf(image, sizeof image, "%s", path_in("alexnet-image.npy"));
    snprintf(model, sizeof model, "%s", path_in("alexnet-q.dnn"));
    snprintf(weights, sizeof weights, "%s", path_in("alexnet-q.safetensors"));
    write_alexnet_image(image);
    Run r = run_dnnc("quantize", DNNC_SOURCE_DIR "/examples/alexnet.dnn", "--random-weights", "1",
                     "--mode", "fixed16", "--calibrate", image, "--quantize-first-last", "-o", model);
    assert_run(&r, 0, "8 layers quantised to fixed16", NULL);
    expect_equal_on_data(model, weights, image, "rs", 8);
}

static void test_lenet5_bit_exact(void **state)
{
    (void)state;
    char calib[512], images[512], spatial[512], reference[512];
    snprintf(calib, sizeof calib, "%s/train-images-idx3-ubyte.gz", fashion_dir());
    skip_without_dataset("train-images-idx3-ubyte.gz");
    snprintf(images, sizeof images, "%s", path_in("images.npy"));
    write_test_images(images, 32);
    snprintf(spatial, sizeof spatial, "%s", path_in("lenet-spatial.npy"));
    snprintf(reference, sizeof reference, "%s", path_in("lenet-reference.npy"));
    const char *model = DNNC_SOURCE_DIR "/examples/lenet5.dnn";
    const char *weights = DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors";
    run_fixed16(model, "--weights", weights, calib, "1000", images, "spatial", spatial);
    run_fixed16(model, "--weights", weights, calib, "1000", images, "reference", reference);
    expect_same_files(spatial, reference);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_network_bit_exact),
        cmocka_unit_test(test_host_layers_between_parts_bit_exact),
        cmocka_unit_test(test_compile_writes_program_image_and_assembly),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_map_simulate_on_data),
        cmocka_unit_test(test_float_layer_is_an_error),
        cmocka_unit_test(test_int8_layer_is_an_error),
        cmocka_unit_test(test_emit_llvm_is_an_error),
        cmocka_unit_test(test_lenet5_bit_exact),
    };
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_alexnet_on_data),
    };
    if (argc > 1 && strcmp(argv[1], "--sweep") == 0)
        return cmocka_run_group_tests(sweep, setup_dir, remove_dir);
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
