/* `dnnc map` at each layer's precision (docs/accelerator.md, "Precision"):
 * the float32 rule it states, --float-as, --quantize and the JSON's bits and
 * per-precision totals, the machine's `precisions` and --simulate's refusal
 * of a width the simulator does not compute. The model's rules are checked
 * by hand in test_map_counts. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static char tmp_dir[256];

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static Run run_dnnc_argv(const char *const *args) { return run_program(DNNC_BINARY, tmp_dir, args); }
#define run_dnnc(...) run_dnnc_argv((const char *const[]){__VA_ARGS__, NULL})

/* ---- dnnc map ---- */

static const char small_net[] = "input x: f32[1, 3, 6, 6];\n"
                                "c = conv(x, filters=8, kernel=3, pad=1);\n"
                                "r = relu(c);\n"
                                "d = conv(r, filters=8, kernel=3, pad=1);\n"
                                "s = relu(d);\n"
                                "f = fc(s, units=10);\n"
                                "output f;\n";

static float ramp(int64_t i, uint32_t seed) { return (float)((i * 7 + seed) % 11) / 11.0f - 0.3f; }

static int setup(void **state)
{
    (void)state;
    if (!temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-map-precision"))
        return -1;
    write_text_file(path_in("net.dnn"), small_net);
    write_f32_npy(path_in("calib.npy"), (Shape){4, {1, 3, 6, 6}}, ramp, 1);
    write_text_file(path_in("p816.arch"), "name = pe816\nprecisions = 8, 16\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

/* A float network is costed as f32 and says so; --float-as word costs it
 * at the machine's word. */
static void test_map_states_float_rule(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"));
    assert_contains(r.out, "float32 layers costed as f32: 32-bit ifmap, filter and psum values");
    assert_contains(r.out, "energy by precision");
    assert_run(&r, 0, "f32         32/32/32      3", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--float-as", "word");
    assert_contains(r.out, "costed at the machine's 16-bit word");
    assert_run(&r, 0, "word16      16/16/16      3", NULL);
}

/* --quantize on map: the quantised layers are costed at their widths, the
 * first and last staying float by default; --json carries the bits and
 * the totals per precision. */
static void test_map_quantize_json(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "1", "--quantize", "int8",
                     "--calibrate", path_in("calib.npy"), "--json");
    assert_int_equal(r.status, 0);
    remove_space(r.out);
    assert_contains(r.out, "\"precision\":\"i8\",\"bits\":{\"ifmap\":8,\"filter\":8,\"psum\":32,\"output\":8}");
    assert_contains(r.out,
                    "\"precision\":\"f32\",\"bits\":{\"ifmap\":32,\"filter\":32,\"psum\":32,\"output\":32}");
    assert_contains(r.out, "\"float_as\":\"f32\"");
    assert_contains(r.out, "\"precisions\":{\"f32\":{\"macs\":");
    assert_contains(r.out, "\"i8\":{\"macs\":");
    run_free(&r);
    /* All layers in int8: c_q absorbed the ReLU (u8, zero point 0), so d_q's
     * ifmap is assumed half zeros, and zero skipping halves its filter reads
     * from the RF (20,736 MACs), a little more with the random weights'
     * zeros (an i8 weight rounded to 0). */
    r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "1", "--quantize", "int8",
                 "--calibrate", path_in("calib.npy"), "--quantize-first-last", "--json");
    assert_int_equal(r.status, 0);
    remove_space(r.out);
    const char *d = strstr(r.out, "\"name\":\"d_q\"");
    assert_non_null(d);
    const char *rf = strstr(d, "\"rf\":{\"ifmap\":20736,\"filter\":");
    assert_non_null(rf);
    double filter_reads = strtod(rf + strlen("\"rf\":{\"ifmap\":20736,\"filter\":"), NULL);
    assert_true(filter_reads <= 10368 && filter_reads > 10000);
    run_free(&r);
    r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "1", "--quantize", "ternary",
                 "--quantize-first-last");
    assert_run(&r, 0, "ternary     32/2/32       3", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--quantize", "int8");
    assert_run(&r, 2, NULL, "needs calibration data");
}

/* The machine's precisions through the command: a float layer on an
 * 8/16-bit machine is an error naming it; int8 maps; --simulate refuses a
 * precision the simulator does not compute. */
static void test_map_machine_precisions(void **state)
{
    (void)state;
    Run r = run_dnnc("map", path_in("net.dnn"), "--arch", path_in("p816.arch"));
    assert_run(&r, 1, NULL, "layer 'c': its precision f32 is not one pe816 computes (precisions = 8, 16)");
    r = run_dnnc("map", path_in("net.dnn"), "--arch", path_in("p816.arch"), "--random-weights", "1",
                 "--quantize", "int8", "--quantize-first-last", "--calibrate", path_in("calib.npy"));
    assert_run(&r, 0, "i8          8/8/32        3", NULL);
    r = run_dnnc("map", path_in("net.dnn"), "--random-weights", "1", "--quantize", "int8",
                 "--quantize-first-last", "--calibrate", path_in("calib.npy"), "--simulate");
    assert_run(&r, 1, NULL, "the simulator computes the machine's 16-bit words only");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_states_float_rule),
        cmocka_unit_test(test_map_quantize_json),
        cmocka_unit_test(test_map_machine_precisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
