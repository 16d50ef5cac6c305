/* An int8 network end to end on AArch64 with the dot-product extension:
 * the committed trained LeNet-5 (Fashion-MNIST) quantised to int8, every
 * layer (first and last too) up to the logits, compiled for aarch64-linux-gnu with
 * +dotprod (its qlinear_conv layers on dnnk_qgemm_sdot), run under
 * qemu-aarch64-static -cpu max, and without (dnnk_qgemm_neon) under -cpu
 * cortex-a53, on four inputs, on 1 thread and with every
 * parallel range one unit long: the outputs must be the reference
 * executor's, bit for bit (the float outputs are dequantized integers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aarch64_run.h"
#include "pipeline.h"
#include "quantize.h"
#include "reference.h"
#include "target.h"
#include "test_util.h"
#include "weights.h"

#define BATCHES 4
#define IN_COUNT (28 * 28)
#define OUT_COUNT 10

typedef struct Inputs {
    float data[BATCHES][IN_COUNT];
    const float *batches[BATCHES];
} Inputs;

/* Images of strokes and noise in [0, 1], as Fashion-MNIST's pixels are. */
static void make_inputs(Inputs *in)
{
    uint64_t seed = 7;
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < IN_COUNT; i++) {
            double stroke = (i / 28 + i % 28 + 5 * b) % 9 < 3 ? 0.8 : 0.0;
            in->data[b][i] = (float)(stroke + 0.2 * test_uniform01(&seed));
        }
        in->batches[b] = in->data[b];
    }
}

/* LeNet-5 with its trained weights, quantised to int8 on the cpu pipeline
 * at -O1 (plain layouts, the places code generation reads), calibrated on
 * the inputs. */
static Graph *quantised_lenet5(Parsed *p, const Inputs *in)
{
    parse_file(p, DNNC_SOURCE_DIR "/examples/lenet5.dnn");
    if (!p->graph)
        fail_msg("%s", p->messages);
    Diag d;
    diag_init(&d, stderr);
    assert_true(weights_load(p->graph, DNNC_SOURCE_DIR "/examples/lenet5-fashion.safetensors", &d));
    /* The logits: the final softmax runs in float, whose exp is not the
     * reference's to the bit. */
    const Node *last = graph_producer(p->graph, p->graph->outputs[0]);
    assert_true(last && last->op == OP_SOFTMAX);
    p->graph->outputs[0] = last->inputs[0];
    QuantOptions q = {.mode = QUANT_INT8, .first_last = true, .batches = in->batches, .n_batches = BATCHES};
    PipelineOptions po = {.opt_level = 1, .verify_each = true, .log = stderr};
    PassOptions o = {.opt_level = 1, .target = target_find("cpu"), .diag = &d, .quant = &q};
    assert_true(pipeline_run(p->graph, &o, &po));
    return p->graph;
}

static int count_op(const Graph *g, OpKind op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == op;
    return n;
}

static void test_lenet5_int8_on_aarch64(void **state)
{
    (void)state;
    Inputs in;
    make_inputs(&in);
    Parsed p;
    Graph *g = quantised_lenet5(&p, &in);
    int convs = count_op(g, OP_QLINEAR_CONV);
    print_message("%d qlinear_conv layers\n", convs);
    assert_int_equal(convs, 8); /* c1, the four parts of c3, c5, f6 and out: every conv and fc */
    /* dnnk_qgemm_sdot, and dnnk_qgemm_neon on a core without sdot. */
    static const Aarch64Run runs[] = {{.features = "+dotprod", .qemu_cpu = "max", .split = true},
                                      {.features = "", .qemu_cpu = "cortex-a53", .split = true}};
    for (int b = 0; b < BATCHES; b++) {
        float want[OUT_COUNT], got[OUT_COUNT];
        char err[1024];
        if (!reference_run_typed(g, (const void *const[]){in.data[b]}, (void *const[]){want}, err, sizeof err))
            fail_msg("reference: %s", err);
        for (int v = 0; v < 2; v++) {
            aarch64_run(g, &runs[v], in.data[b], sizeof in.data[b], got, sizeof got);
            for (int i = 0; i < OUT_COUNT; i++)
                if (memcmp(&got[i], &want[i], sizeof *got) != 0)
                    fail_msg("input %d, -cpu %s: output %d is %.9g, the reference's %.9g", b, runs[v].qemu_cpu, i,
                             got[i], want[i]);
            print_message("input %d, -cpu %s: the reference's %d outputs, bit for bit\n", b, runs[v].qemu_cpu,
                          OUT_COUNT);
        }
    }
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lenet5_int8_on_aarch64)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
