/* map-dataflow, the spatial target's lowering, through the pass pipeline
 * (-O2, Eyeriss v1). Every conv and fc layer leaves it with @dataflow and
 * @mapping; a dump of the result parses back and maps to the same result,
 * layer by layer (dataflow, mapping and evaluated cost); what the IR forces
 * is honoured or is an error naming the layer and its line; a fused ReLU
 * counts as the ReLU it replaced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "pipeline.h"
#include "sparsity.h"
#include "target.h"
#include "test_util.h"

static const ArchSet *eyeriss(void)
{
    static ArchSet arch;
    static bool loaded;
    if (!loaded)
        loaded = arch_load("eyeriss", &arch, stderr);
    assert_true(loaded);
    return &arch;
}

static void parse_or_fail(Parsed *p, const char *name, const char *text)
{
    parse_text(p, name, text);
    if (!p->graph)
        fail_msg("%s does not parse:\n%s", name, p->messages);
}

static void parse_example(Parsed *p, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/%s", DNNC_SOURCE_DIR, file);
    parse_file(p, path);
    if (!p->graph)
        fail_msg("%s:\n%s", file, p->messages);
}

/* Runs the spatial pipeline on p's graph at -O`level` on `arch` with the
 * mapping options `mo` (NULL: the pass's defaults); the diagnostics, which
 * quote p's source, go to *messages (malloc'd). */
static bool compile_with(Parsed *p, int level, const ArchSet *arch, const MapOptions *mo,
                         char **messages)
{
    size_t size = 0;
    FILE *out = open_memstream(messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    diag_add_file(&d, p->src.path, p->src.text, p->src.len);
    PassOptions o = {.opt_level = level, .target = target_find("spatial"), .diag = &d,
                     .arch = arch, .map = mo};
    PipelineOptions po = {.opt_level = level, .verify_each = true, .log = out};
    bool ok = pipeline_run(p->graph, &o, &po);
    fclose(out);
    return ok;
}

static void compile_or_fail(Parsed *p, int level)
{
    char *messages;
    if (!compile_with(p, level, eyeriss(), NULL, &messages))
        fail_msg("the spatial pipeline at -O%d failed:\n%s", level, messages);
    free(messages);
}

/* The pipeline fails with exactly these diagnostics. */
static void assert_compile_error(Parsed *p, const ArchSet *arch, const MapOptions *mo,
                                 const char *expected)
{
    char *messages;
    bool ok = compile_with(p, 2, arch, mo, &messages);
    if (ok || strcmp(messages, expected) != 0) {
        print_error("expected the error\n%s\ngot (%s)\n%s\n", expected,
                    ok ? "the pipeline succeeded" : "failed", messages);
        free(messages);
        fail();
    }
    free(messages);
}

static bool is_mapped_op(const Node *n) { return n->op == OP_CONV || n->op == OP_FC; }

/* Maps g as it stands, as `dnnc map` would: recorded mappings are
 * evaluated, the rest searched. */
static void map_or_fail(const Graph *g, const MapOptions *o, GraphMap *gm)
{
    assert_true(map_graph(g, eyeriss(), o, gm));
    for (int i = 0; i < gm->n; i++)
        if (gm->layers[i].chosen == DATAFLOW_AUTO)
            fail_msg("layer %s does not map", gm->layers[i].layer.name);
}

static const MapOptions assumed = {.relu_zero = 0.5};

static const LayerCost *chosen_cost(const LayerMap *lm) { return &lm->choice[lm->chosen].cost; }

static void assert_same_record(const char *layer, const MappingAnn *a, const MappingAnn *b)
{
    bool same = a->present == b->present &&
                memcmp(a->bound, b->bound, sizeof a->bound) == 0 &&
                memcmp(a->order, b->order, sizeof a->order) == 0;
    if (!same) {
        char ta[1024], tb[1024];
        FILE *fa = fmemopen(ta, sizeof ta, "w"), *fb = fmemopen(tb, sizeof tb, "w");
        for (int lv = 0; lv < MAPPING_LEVELS; lv++)
            for (int k = 0; k < MAPPING_DIMS; k++) {
                fprintf(fa, "%d:%lld ", a->order[lv][k], (long long)a->bound[lv][a->order[lv][k]]);
                fprintf(fb, "%d:%lld ", b->order[lv][k], (long long)b->bound[lv][b->order[lv][k]]);
            }
        fclose(fa);
        fclose(fb);
        fail_msg("layer %s: the recorded mappings differ:\n%s\n%s", layer, ta, tb);
    }
}

/* Equal to the last bit: the same loop nest gives the same counts. */
static void assert_same_cost(const char *layer, const LayerCost *a, const LayerCost *b)
{
    bool same = a->energy_total == b->energy_total && a->cycles == b->cycles &&
                a->macs == b->macs && a->dram_bytes == b->dram_bytes &&
                a->active_pes == b->active_pes &&
                memcmp(a->access, b->access, sizeof a->access) == 0 &&
                memcmp(a->energy, b->energy, sizeof a->energy) == 0;
    if (!same)
        fail_msg("layer %s: energy %.17g vs %.17g, cycles %.17g vs %.17g", layer, a->energy_total,
                 b->energy_total, a->cycles, b->cycles);
}

/* Two compiled graphs carry the same dataflows and mappings, and these
 * evaluate to the same costs. */
static void assert_same_mappings(const Graph *a, const Graph *b)
{
    GraphMap ma, mb;
    map_or_fail(a, &assumed, &ma);
    map_or_fail(b, &assumed, &mb);
    assert_int_equal(ma.n, mb.n);
    for (int i = 0; i < ma.n; i++) {
        const LayerMap *la = &ma.layers[i], *lb = &mb.layers[i];
        const Node *na = &a->nodes[la->node], *nb = &b->nodes[lb->node];
        assert_string_equal(na->name, nb->name);
        assert_true(la->recorded && lb->recorded);
        assert_int_equal(na->ann.dataflow, nb->ann.dataflow);
        assert_int_equal(la->chosen, na->ann.dataflow);
        assert_same_record(na->name, &na->ann.mapping, &nb->ann.mapping);
        assert_same_cost(na->name, chosen_cost(la), chosen_cost(lb));
    }
    graph_map_free(&ma);
    graph_map_free(&mb);
}

/* What the pass recorded is what map_graph's search finds for the layer
 * with nothing forced: the lowest energy over every dataflow. */
static void assert_recorded_is_search(const Graph *compiled)
{
    Graph *bare = graph_clone(compiled);
    assert_non_null(bare);
    for (int i = 0; i < bare->n_nodes; i++) {
        bare->nodes[i].ann.dataflow = DATAFLOW_AUTO;
        bare->nodes[i].ann.mapping.present = false;
    }
    GraphMap searched, recorded;
    map_or_fail(bare, &assumed, &searched);
    map_or_fail(compiled, &assumed, &recorded);
    for (int i = 0; i < searched.n; i++) {
        const LayerMap *s = &searched.layers[i], *r = &recorded.layers[i];
        const Node *n = &compiled->nodes[r->node];
        assert_false(s->recorded);
        assert_int_equal(s->chosen, n->ann.dataflow);
        MappingAnn from_search;
        mapping_to_ann(&s->layer, &s->choice[s->chosen].mapping, &from_search);
        assert_same_record(n->name, &from_search, &n->ann.mapping);
        assert_same_cost(n->name, chosen_cost(s), chosen_cost(r));
    }
    graph_map_free(&searched);
    graph_map_free(&recorded);
    graph_free(bare);
}

/* Given a graph compiled at -O2: dump it, parse the dump, compile again:
 * the same dump, the same mappings and costs, and they are the search's. */
static void check_compiled_round_trip(const Graph *compiled)
{
    int mapped = 0;
    for (int i = 0; i < compiled->n_nodes; i++) {
        const Node *n = &compiled->nodes[i];
        if (!is_mapped_op(n))
            continue;
        mapped++;
        if (n->ann.dataflow == DATAFLOW_AUTO || !n->ann.mapping.present)
            fail_msg("layer %s has no @dataflow and @mapping", n->name);
    }
    assert_true(mapped > 0);
    char *dump = graph_to_text(compiled);
    Parsed second;
    parse_or_fail(&second, "dump.dnn", dump);
    compile_or_fail(&second, 2);
    char *again = graph_to_text(second.graph);
    assert_string_equal(dump, again);
    assert_same_mappings(compiled, second.graph);
    assert_recorded_is_search(compiled);
    free(again);
    free(dump);
    parsed_free(&second);
}

/* AlexNet through the spatial pipeline at -O2, which searches every
 * layer's mapping: a fifth of this test's time under the sanitizers.
 * test_alexnet_round_trip and test_fused_relu_same_energy both need it and
 * only read it, so it is compiled once (CI time); teardown frees it. */
static Parsed alexnet_o2;
static bool alexnet_o2_compiled;

static const Graph *alexnet_at_o2(void)
{
    if (!alexnet_o2_compiled) {
        parse_example(&alexnet_o2, "alexnet.dnn");
        compile_or_fail(&alexnet_o2, 2);
        alexnet_o2_compiled = true;
    }
    return alexnet_o2.graph;
}

static int teardown(void **state)
{
    (void)state;
    if (alexnet_o2_compiled)
        parsed_free(&alexnet_o2);
    return 0;
}

static void test_alexnet_round_trip(void **state)
{
    (void)state;
    const Graph *g = alexnet_at_o2();
    check_compiled_round_trip(g);
    char *dump = graph_to_text(g);
    assert_contains(dump, "@mapping(dram, [");
    free(dump);
}

/* Batch 2, padding, strides, groups, a clip, an FC over a 4-D input. */
static const char small_net[] =
    "input x: f32[2, 3, 32, 32];\n"
    "c1 = conv(x, filters=16, kernel=3, pad=1);\n"
    "r1 = relu(c1);\n"
    "p1 = maxpool(r1, kernel=2, stride=2);\n"
    "c2 = conv(p1, filters=32, kernel=3, stride=2, groups=2);\n"
    "r2 = clip(c2, min=0.0, max=6.0);\n"
    "f = fc(r2, units=10);\n"
    "output f;\n";

static void test_small_round_trip(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "small.dnn", small_net);
    compile_or_fail(&p, 2);
    check_compiled_round_trip(p.graph);
    parsed_free(&p);
}

static const Node *find_node(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    fail_msg("no layer %s", name);
    return NULL;
}

static void test_forced_dataflow_kept(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "net.dnn",
                  "input x: f32[1, 3, 16, 16];\n"
                  "@dataflow(ws) c = conv(x, filters=8, kernel=3);\n"
                  "@dataflow(os_c) f = fc(c, units=10);\n"
                  "output f;\n");
    compile_or_fail(&p, 2);
    assert_int_equal(find_node(p.graph, "c")->ann.dataflow, DATAFLOW_WS);
    assert_int_equal(find_node(p.graph, "f")->ann.dataflow, DATAFLOW_OS_C);
    char *dump = graph_to_text(p.graph);
    assert_contains(dump, "@dataflow(ws) @mapping(dram, [");
    assert_contains(dump, "@dataflow(os_c) @mapping(dram, [");
    free(dump);
    /* The mapping is the search's under the forced dataflow. */
    GraphMap gm;
    map_or_fail(p.graph, &assumed, &gm);
    for (int i = 0; i < gm.n; i++) {
        const LayerMap *lm = &gm.layers[i];
        MapChoice best;
        char why[MAP_WHY];
        assert_true(map_search(arch_for(eyeriss(), lm->chosen), &lm->layer, lm->chosen, &best, why,
                               sizeof why));
        assert_same_cost(lm->layer.name, &best.cost, chosen_cost(lm));
    }
    graph_map_free(&gm);
    parsed_free(&p);
}

#define SMALL_HEAD "input x: f32[1, 3, 8, 8];\n"
/* M16 C3 P6 Q6 R3 S3: a filter row and 8 filters per PE (24 filter words,
 * 8 psums), a 3 x 3 set of rows (R) and channels, 6 columns (P). */
#define HAND_LOOPS \
    "dram, [], buf, [M, 2], rows, [R, 3, C, 3], cols, [P, 6], pe, [Q, 6], rf, [M, 8, S, 3]"

static void test_hand_mapping_honoured(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "net.dnn",
                  SMALL_HEAD "@dataflow(rs) @mapping(" HAND_LOOPS ")\n"
                  "c = conv(x, filters=16, kernel=3);\noutput c;\n");
    compile_or_fail(&p, 2);
    /* Written back in normal form: spatial loops in dimension order. */
    char *dump = graph_to_text(p.graph);
    assert_contains(dump, "@dataflow(rs) @mapping(dram, [], buf, [M, 2], rows, [C, 3, R, 3], "
                          "cols, [P, 6], pe, [Q, 6], rf, [M, 8, S, 3]) c = conv(");
    free(dump);
    GraphMap gm;
    map_or_fail(p.graph, &assumed, &gm);
    Mapping m;
    mapping_init(&m, DATAFLOW_RS);
    m.factor[LOOP_BUFFER][DIM_M] = 2;
    m.factor[LOOP_ROW][DIM_R] = 3;
    m.factor[LOOP_ROW][DIM_C] = 3;
    m.factor[LOOP_COL][DIM_P] = 6;
    m.factor[LOOP_PE][DIM_Q] = 6;
    m.factor[LOOP_RF][DIM_M] = 8;
    m.factor[LOOP_RF][DIM_S] = 3;
    LayerCost want;
    char why[MAP_WHY];
    assert_true(map_evaluate(arch_for(eyeriss(), DATAFLOW_RS), &gm.layers[0].layer, &m, &want, why,
                             sizeof why));
    assert_same_cost("c", &want, chosen_cost(&gm.layers[0]));
    graph_map_free(&gm);
    parsed_free(&p);
}

/* A network whose one conv carries `annotations`, compiled: the pipeline
 * must fail with exactly `expected`. */
static void check_rejected(const char *annotations, const ArchSet *arch, const MapOptions *mo,
                           const char *expected)
{
    char text[1024];
    snprintf(text, sizeof text, SMALL_HEAD "%s\nc = conv(x, filters=16, kernel=3);\noutput c;\n",
             annotations);
    Parsed p;
    parse_or_fail(&p, "net.dnn", text);
    assert_compile_error(&p, arch, mo, expected);
    parsed_free(&p);
}

#define C_LINE "  c = conv(x, filters=16, kernel=3);\n  ^\n"

/* A hand-written mapping of dataflow `df` that map-dataflow must reject on
 * Eyeriss v1 for `reason`. */
static void check_mapping_rejected(const char *df, const char *loops, const MapOptions *mo,
                                   const char *reason)
{
    char annotations[512], expected[1024];
    snprintf(annotations, sizeof annotations, "@dataflow(%s) @mapping(%s)", df, loops);
    snprintf(expected, sizeof expected,
             "net.dnn:3:1: error: layer 'c': its @mapping for %s does not hold on eyeriss: %s\n" C_LINE,
             df, reason);
    check_rejected(annotations, eyeriss(), mo, expected);
}

static void test_mapping_overflowing_rf(void **state)
{
    (void)state;
    /* Every filter in each PE's RF: 16 x 3 x 3 x 3 float32 values, 864 16-bit words. */
    check_mapping_rejected("ws", "dram, [], buf, [], rows, [], cols, [], pe, [P, 6, Q, 6], "
                           "rf, [M, 16, C, 3, R, 3, S, 3]", NULL,
                           "ws keeps filter in the RF: 432 values of 32 bits, rf.filter holds 224 "
                           "words of 16");
}

/* A mapping that is not a loop nest of its layer is rejected, whatever
 * the machine: it cannot be evaluated honestly. */
static void test_mapping_not_of_the_layer(void **state)
{
    (void)state;
    /* M = 16, but the loops cover only 8 of it. */
    check_mapping_rejected("rs", "dram, [], buf, [], rows, [R, 3, C, 3], cols, [P, 6], "
                           "pe, [Q, 6], rf, [M, 8, S, 3]", NULL,
                           "the loops over M cover 8 of M = 16");
    /* A 4-image mapping on a 1-image layer. */
    check_mapping_rejected("rs", "dram, [N, 4], buf, [M, 2], rows, [R, 3, C, 3], "
                           "cols, [P, 6], pe, [Q, 6], rf, [M, 8, S, 3]", NULL,
                           "level 'dram' loops 4 times over N, where N = 1 (the batch) needs at most 1");
    /* Tiles of 8 filters: 2 of them make 16, a third would be empty. */
    check_mapping_rejected("rs", "dram, [], buf, [M, 3], rows, [R, 3, C, 3], cols, [P, 6], "
                           "pe, [Q, 6], rf, [M, 8, S, 3]", NULL,
                           "level 'buf' loops 3 times over M, where M = 16 needs at most 2");
    /* The mapping of another dataflow: WS has no output rows across the columns. */
    check_mapping_rejected("ws", HAND_LOOPS, NULL, "ws has no loop over P at level 'cols'");
}

/* A mapping made for batch 1, compiled for batch 4 (MapOptions.batch, as
 * `dnnc map --batch 4` asks): an error, not a new search. */
static void test_mapping_for_another_batch(void **state)
{
    (void)state;
    MapOptions batch4 = {.batch = 4, .relu_zero = 0.5};
    check_mapping_rejected("rs", HAND_LOOPS, &batch4, "the loops over N cover 1 of N = 4 (the batch)");
}

/* A machine on which no mapping fits: a 64-byte buffer. */
static const ArchSet *tiny(void)
{
    static ArchSet arch;
    static const char text[] = "name = tiny\nbuffer = 64 B\n";
    assert_true(arch_parse("tiny.arch", text, strlen(text), &arch, stderr));
    return &arch;
}

#define NO_BUFFER(dataflow, bytes) \
    "dnnc: note: under " dataflow ": the smallest buffer tile needs " #bytes " bytes, the buffer " \
    "holds 64\n"

static void test_layer_that_fits_nothing(void **state)
{
    (void)state;
    check_rejected("@dataflow(rs)", tiny(), NULL,
                   "net.dnn:3:1: error: layer 'c' fits no rs mapping on tiny: the smallest buffer "
                   "tile needs 2100 bytes, the buffer holds 64\n" C_LINE);
    check_rejected("", tiny(), NULL,
                   "net.dnn:3:1: error: layer 'c' fits no mapping on tiny under any dataflow\n" C_LINE
                   NO_BUFFER("ws", 1900) NO_BUFFER("os-a", 292) NO_BUFFER("os-b", 464)
                   NO_BUFFER("os-c", 132) NO_BUFFER("nlr", 356) NO_BUFFER("rs", 2100));
}

/* ---- a fused ReLU counts as the ReLU it replaced ---- */

static bool has_fused_rectifier(const Graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (is_mapped_op(&g->nodes[i]) && sparsity_rectifies(g, &g->nodes[i]))
            return true;
    return false;
}

/* -O1 keeps relu and clip as layers, -O2 fuses them (fuse-epilogue): the
 * same mappings, the same energies. */
static void test_fused_relu_same_energy(void **state)
{
    (void)state;
    Parsed o1;
    parse_example(&o1, "alexnet.dnn");
    compile_or_fail(&o1, 1);
    const Graph *o2 = alexnet_at_o2();
    assert_false(has_fused_rectifier(o1.graph));
    assert_true(has_fused_rectifier(o2));
    assert_same_mappings(o1.graph, o2);
    parsed_free(&o1);
}

/* The activations measured by running the network (random weights and
 * input): a fused relu or clip(min=0) yields the zeros its layer did. */
static void test_fused_measured_same_energy(void **state)
{
    (void)state;
    Parsed p[2];
    ActStats *stats[2];
    enum { N = 2 * 3 * 32 * 32 };
    static float input[N];
    uint64_t s = 42;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        input[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    const float *inputs[1] = {input};
    GraphMap gm[2];
    for (int k = 0; k < 2; k++) {
        parse_or_fail(&p[k], "small.dnn", small_net);
        randomize_weights_for_test(p[k].graph, 7);
        compile_or_fail(&p[k], k + 1);
        Graph *g = p[k].graph;
        stats[k] = calloc((size_t)g->n_tensors, sizeof *stats[k]);
        char err[256];
        if (!measure_activations(g, inputs, &eyeriss()->base, stats[k], err, sizeof err))
            fail_msg("%s", err);
        MapOptions measured = {.relu_zero = 0.5, .measured = stats[k]};
        map_or_fail(g, &measured, &gm[k]);
    }
    assert_true(has_fused_rectifier(p[1].graph));
    assert_int_equal(gm[0].n, gm[1].n);
    for (int i = 0; i < gm[0].n; i++) {
        const LayerMap *a = &gm[0].layers[i], *b = &gm[1].layers[i];
        if (a->layer.op == OP_CONV) /* measured after its relu or clip */
            assert_true(a->layer.ofmap_zero > 0.2);
        assert_true(a->layer.ofmap_zero == b->layer.ofmap_zero);
        assert_true(a->layer.ifmap_zero == b->layer.ifmap_zero);
        assert_same_cost(a->layer.name, chosen_cost(a), chosen_cost(b));
    }
    for (int k = 0; k < 2; k++) {
        graph_map_free(&gm[k]);
        free(stats[k]);
        parsed_free(&p[k]);
    }
}

/* Activations measured in their own type: an i16 tensor (a fixed16
 * network's) is counted as its integers. Read as floats, as it once was,
 * its words would pair up into other numbers and the count would run past
 * the buffer. */
static void test_measured_integer_activations(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "i16.dnn", "input x: i16[1, 8];\nr = relu(x);\noutput r;\n");
    static const int16_t x[8] = {-3, 0, 5, -1, 2, 0, 0, 7};
    const float *inputs[1] = {(const float *)(const void *)x};
    Graph *g = p.graph;
    ActStats *stats = calloc((size_t)g->n_tensors, sizeof *stats);
    char err[256];
    if (!measure_activations(g, inputs, &eyeriss()->base, stats, err, sizeof err))
        fail_msg("%s", err);
    assert_true(stats[g->inputs[0]].zero == 3.0 / 8);
    assert_true(stats[g->outputs[0]].zero == 5.0 / 8);
    /* 5, then two zeros and 2, then four zeros and 7 (the relu's): 3
     * pairs, one 64-bit word for 8 values, 8 bits each. */
    assert_true(stats[g->outputs[0]].rlc_bits == 8);
    free(stats);
    parsed_free(&p);
}

/* Without data, a ReLU's assumed zeros survive quantize and dequantize
 * (a quantised network's layers sit between them), as they survive
 * pooling. */
static void test_assumed_zeros_through_quantize(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "q.dnn", "input x: f32[1, 8];\nr = relu(x);\nq = quantize(r, dtype=i16);\n"
                               "d = dequantize(q);\np = reshape(d, shape=[1, 8]);\noutput p;\n");
    Graph *g = p.graph;
    ActStats *stats = calloc((size_t)g->n_tensors, sizeof *stats);
    assume_activations(g, 0.5, stats);
    for (int i = 1; i < g->n_nodes; i++)
        assert_true(stats[g->nodes[i].output].zero == 0.5);
    free(stats);
    parsed_free(&p);
}

/* What `dnnc map` sees, no pipeline: act=relu written in source maps like
 * a relu layer; clip with min 0 like a relu, with min above 0 like nothing
 * (it leaves no zeros). */
static void test_fused_in_source(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input x: f32[1, 3, 16, 16];\n"
        "c = conv(x, filters=8, kernel=3, act=relu);\n"
        "d = conv(c, filters=8, kernel=3);\noutput d;\n",
        "input x: f32[1, 3, 16, 16];\n"
        "c0 = conv(x, filters=8, kernel=3);\nc = relu(c0);\n"
        "d = conv(c, filters=8, kernel=3);\noutput d;\n",
        "input x: f32[1, 3, 16, 16];\n"
        "c0 = conv(x, filters=8, kernel=3);\nc = clip(c0, min=0.0, max=6.0);\n"
        "d = conv(c, filters=8, kernel=3);\noutput d;\n",
        "input x: f32[1, 3, 16, 16];\n"
        "c = conv(x, filters=8, kernel=3, act=clip, min=0.5, max=6.0);\n"
        "d = conv(c, filters=8, kernel=3);\noutput d;\n",
    };
    GraphMap gm[4];
    Parsed p[4];
    for (int k = 0; k < 4; k++) {
        parse_or_fail(&p[k], "net.dnn", nets[k]);
        map_or_fail(p[k].graph, &assumed, &gm[k]);
    }
    for (int k = 1; k < 3; k++)
        for (int i = 0; i < 2; i++)
            assert_same_cost(gm[0].layers[i].layer.name, chosen_cost(&gm[0].layers[i]),
                             chosen_cost(&gm[k].layers[i]));
    assert_true(gm[0].layers[1].layer.ifmap_zero == 0.5);
    assert_true(gm[3].layers[1].layer.ifmap_zero == 0 && gm[3].layers[0].layer.ofmap_zero == 0);
    for (int k = 0; k < 4; k++) {
        graph_map_free(&gm[k]);
        parsed_free(&p[k]);
    }
}

/* A fused residual is a second operand: the layer is still mapped from its
 * first, the ifmap, and the ReLU after the add is its output's. */
static void test_fused_residual(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, "net.dnn",
                  "input x: f32[1, 8, 16, 16];\n"
                  "a = conv(x, filters=8, kernel=3, pad=1);\n"
                  "ar = relu(a);\n"
                  "b = conv(ar, filters=8, kernel=3, pad=1);\n"
                  "s = add(b, x);\n"
                  "r = relu(s);\n"
                  "output r;\n");
    compile_or_fail(&p, 2);
    const Node *b = find_node(p.graph, "r"); /* the output keeps its name */
    assert_int_equal(b->op, OP_CONV);
    assert_int_equal(b->n_inputs, 2);
    GraphMap gm;
    map_or_fail(p.graph, &assumed, &gm);
    const MapLayer *l = &gm.layers[1].layer;
    assert_true(l->dim[DIM_C] == 8 && l->dim[DIM_P] == 16 && l->in_h == 16);
    assert_true(l->ifmap_zero == 0.5); /* a's ReLU, not the residual x */
    assert_true(l->ofmap_zero == 0.5);
    graph_map_free(&gm);
    parsed_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alexnet_round_trip),
        cmocka_unit_test(test_small_round_trip),
        cmocka_unit_test(test_forced_dataflow_kept),
        cmocka_unit_test(test_hand_mapping_honoured),
        cmocka_unit_test(test_mapping_overflowing_rf),
        cmocka_unit_test(test_mapping_not_of_the_layer),
        cmocka_unit_test(test_mapping_for_another_batch),
        cmocka_unit_test(test_layer_that_fits_nothing),
        cmocka_unit_test(test_fused_relu_same_energy),
        cmocka_unit_test(test_fused_measured_same_energy),
        cmocka_unit_test(test_measured_integer_activations),
        cmocka_unit_test(test_assumed_zeros_through_quantize),
        cmocka_unit_test(test_fused_in_source),
        cmocka_unit_test(test_fused_residual),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
