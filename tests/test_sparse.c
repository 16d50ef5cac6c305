/* Sparse weights (docs/pruning.md, "Encodings and kernels"): the CSR and
 * CSC encodings (ir/sparse.c), select-sparsity's choices and errors, and
 * the cpu target's sparse kernels against the reference computing the
 * same encoding by plain loops and against the dense reference, on layers
 * with empty rows, empty columns and no weights at all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_check.h"
#include "reference.h"
#include "dnnk.h"
#include "pass.h"
#include "shared_object.h"
#include "sparse.h"
#include "sparse_rules.h"
#include "target.h"

/* ---- the encodings ---- */

static void test_encode_round_trip(void **state)
{
    (void)state;
    /* 3 x 4 with an empty row (1) and an empty column (2). */
    const float w[12] = {1, 0, 0, 2, 0, 0, 0, 0, 3, 4, 0, -5};
    for (SparseFormat f = SPARSE_CSR; f <= SPARSE_CSC; f++) {
        Arena a;
        arena_init(&a);
        SparseData *s = sparse_encode(&a, f, w, 3, 4);
        assert_int_equal(s->nnz, 5);
        char why[128];
        assert_true(sparse_check(s, 3, 4, why, sizeof why));
        float back[12];
        sparse_decode(s, back);
        assert_memory_equal(back, w, sizeof w);
        /* An index out of range, then pointers out of order: refused. */
        s->index[1] = f == SPARSE_CSR ? 4 : 3;
        assert_false(sparse_check(s, 3, 4, why, sizeof why));
        assert_non_null(strstr(why, "out of range"));
        s->index[1] = f == SPARSE_CSR ? 3 : 2;
        int64_t keep = s->ptr[1];
        s->ptr[1] = s->ptr[2] + 1;
        assert_false(sparse_check(s, 3, 4, why, sizeof why));
        s->ptr[1] = keep;
        assert_true(sparse_check(s, 3, 4, why, sizeof why));
        arena_free(&a);
    }
    Arena a;
    arena_init(&a);
    const float zeros[6] = {0};
    SparseData *s = sparse_encode(&a, SPARSE_CSC, zeros, 2, 3);
    assert_int_equal(s->nnz, 0);
    for (int i = 0; i <= 3; i++)
        assert_int_equal(s->ptr[i], 0);
    arena_free(&a);
}

/* The verifier holds an encoding to its tensor's non-zero values. */
static void test_verifier_checks_encodings(void **state)
{
    (void)state;
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn",
                                 "input x: f32[1, 8];\n@sparse(csc) y = fc(x, units=4);\noutput y;\n");
    run_pipeline_or_fail(g, "cpu", 0);
    SparseData *s = g->tensors[g->nodes[0].params[0]].sparse;
    assert_non_null(s);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    Diag d;
    diag_init(&d, out);
    assert_true(graph_verify(g, &d));
    s->values[0] += 1.0f;
    assert_false(graph_verify(g, &d));
    s->values[0] -= 1.0f;
    s->index[0] = 4;
    assert_false(graph_verify(g, &d));
    fclose(out);
    assert_contains(text, "verifier: the encoding of 'y.weight': the encoding does not hold");
    assert_contains(text, "out of range");
    free(text);
    parsed_free(&p);
}

/* ---- kernels against the reference ---- */

/* Which weights of layer n are zeroed. */
typedef enum { ZERO_NONE, ZERO_ROWS, ZERO_COLUMNS, ZERO_ALL, ZERO_SPREAD } ZeroPattern;

/* Zeros rows (outputs, filters) and columns (inputs) of layer n's weights
 * viewed as a matrix: every third row or column, and 90% of the rest at
 * random, so that the layer is as sparse as a pruned one. ZERO_SPREAD
 * keeps only the weights whose row and column differ by a multiple of
 * 600: a column (CSC) or row (CSR) of more than 600 has gaps of 600,
 * which take two filler entries each. */
static void zero_weights(Graph *g, const Node *n, ZeroPattern z, uint64_t seed)
{
    Tensor *t = &g->tensors[n->params[0]];
    float *w = graph_writable_data(g, n->params[0]);
    int64_t rows, cols;
    sparse_matrix_dims(&t->shape, &rows, &cols);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            bool empty = z == ZERO_ALL || (z == ZERO_ROWS && r % 3 == 1) || (z == ZERO_COLUMNS && c % 3 == 1) ||
                         (z == ZERO_SPREAD && (r - c) % 600 != 0);
            if (empty || (z != ZERO_SPREAD && test_uniform01(&seed) < 0.9))
                w[r * cols + c] = 0.0f;
        }
}

static double max_abs(const float *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Every value of got within tol of want (scaled by want's largest, at
 * least 1). */
static void assert_close(const float *got, const float *want, int64_t n, double tol, const char *what)
{
    double scale = fmax(1.0, max_abs(want, n));
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * scale))
            fail_msg("%s: element %lld is %.9g, want %.9g", what, (long long)i, got[i], want[i]);
}

/* The network `text` (its one weighted layer annotated @sparse) with the
 * weights zeroed by z: the dense reference before select-sparsity, then the
 * reference on the encoding and the cpu kernels on 1 and 2 threads and as
 * object code. The sums differ from the dense reference's only in order
 * and in float (the kernels) against double (the reference): 1e-5 of the
 * largest output covers float sums of a few thousand terms of size 1. */
static void check_layer(const char *text, OpKind op, SparseFormat want, ZeroPattern z)
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    const Node *n = &g->nodes[cpu_find_op(g, op)];
    zero_weights(g, n, z, 11);
    CpuIo io;
    cpu_io_make(g, 5, &io);
    float *dense = cpu_run_reference(g, &io);
    run_pipeline_or_fail(g, "cpu", 0);
    n = &g->nodes[cpu_find_op(g, op)];
    assert_true(n->ann.has_sparse);
    assert_int_equal(n->ann.sparse, want);
    const SparseData *s = g->tensors[n->params[0]].sparse;
    assert_non_null(s);
    if (z == ZERO_ALL)
        assert_int_equal(s->nnz, 0);
    if (z == ZERO_SPREAD && (s->format == SPARSE_CSC ? s->rows : s->cols) > 600)
        assert_true(sparse_packed_entries(s) > s->nnz); /* gaps of 600: fillers */
    float *ref = cpu_run_reference(g, &io), *jit[2], *obj;
    cpu_run_jit(g, "sparse", NULL, NULL, &io, jit);
    obj = cpu_run_object(g, "sparse", &io);
    int64_t count = io.out_count[0];
    assert_close(ref, dense, count, 1e-12, "reference on the encoding against dense");
    assert_close(jit[0], dense, count, 1e-5, "cpu, 1 thread");
    assert_close(jit[1], jit[0], count, 0, "cpu, 2 threads against 1");
    assert_close(obj, jit[0], count, 0, "object code against the JIT");
    free(dense), free(ref), free(jit[0]), free(jit[1]), free(obj);
    cpu_io_free(&io);
    parsed_free(&p);
}

/* check_layer on each of n networks with each pattern of zeros. */
static void check_layers(const char *const *nets, size_t n, OpKind op, SparseFormat want)
{
    static const ZeroPattern patterns[] = {ZERO_NONE, ZERO_ROWS, ZERO_COLUMNS, ZERO_ALL, ZERO_SPREAD};
    for (size_t i = 0; i < n; i++)
        for (size_t z = 0; z < sizeof patterns / sizeof *patterns; z++)
            check_layer(nets[i], op, want, patterns[z]);
}

/* 1100 outputs: a whole slice of 1024 and a partial one, 300: a partial
 * one alone; batch 1 (the
 * matrix-vector product), 3 and 11 (sparse x dense, more images than it
 * takes at once); bias, relu and a residual in the epilogue. */
static void test_fc(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input x: f32[1, 70];\n@sparse(csc) y = fc(x, units=1100);\noutput y;\n",
        "input x: f32[1, 70];\n@sparse(csc) y = fc(x, units=300);\noutput y;\n",
        "input x: f32[3, 5, 4];\n@sparse(csc) y = fc(x, units=300, act=relu);\noutput y;\n",
        ("input x: f32[11, 40];\ninput r: f32[11, 7];\n"
         "@sparse(csc) y = fc(x, r, units=7, bias=false);\noutput y;\n"),
    };
    check_layers(nets, sizeof nets / sizeof *nets, OP_FC, SPARSE_CSC);
}

/* The fc by rows at batch 1 (forced CSR): 1100 outputs (68 groups of 16
 * and one of 12), 300 (a partial last group), 7 (one group, mostly
 * padding lanes) with a residual, no bias and relu; 700 inputs, where
 * ZERO_SPREAD's gaps of 600 take fillers. */
static void test_fc_rows(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input x: f32[1, 70];\n@sparse(csr) y = fc(x, units=1100);\noutput y;\n",
        "input x: f32[1, 5, 4];\n@sparse(csr) y = fc(x, units=300, act=relu);\noutput y;\n",
        ("input x: f32[1, 40];\ninput r: f32[1, 7];\n"
         "@sparse(csr) y = fc(x, r, units=7, bias=false, act=relu);\noutput y;\n"),
        "input x: f32[1, 700];\n@sparse(csr) y = fc(x, units=20);\noutput y;\n",
    };
    check_layers(nets, sizeof nets / sizeof *nets, OP_FC, SPARSE_CSR);
}

/* 1x1 convs: 70 pixels (a tile of 64 and 6 left), 2 images, 64 pixels
 * exactly, a residual and relu. */
static void test_pointwise_conv(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input x: f32[2, 9, 7, 10];\n@sparse(csr) y = conv(x, filters=12, kernel=1);\noutput y;\n",
        ("input x: f32[1, 33, 8, 8];\ninput r: f32[1, 5, 8, 8];\n"
         "@sparse(csr) y = conv(x, r, filters=5, kernel=1, act=relu);\noutput y;\n"),
        "input x: f32[1, 700, 2, 2];\n@sparse(csr) y = conv(x, filters=3, kernel=1);\noutput y;\n",
    };
    check_layers(nets, sizeof nets / sizeof *nets, OP_CONV, SPARSE_CSR);
}

/* Every other conv (dnnk_sparse_conv_taps): 3x3 padded, 5x5 of stride 2
 * with asymmetric padding, dilation 2, groups 2, depthwise, a 1x1 of
 * stride 2; relu and a residual. */
static void test_conv_taps(void **state)
{
    (void)state;
    static const char *const nets[] = {
        "input x: f32[2, 5, 7, 9];\n@sparse(csr) y = conv(x, filters=6, kernel=3, pad=1);\noutput y;\n",
        "input x: f32[1, 3, 11, 10];\n@sparse(csr) y = conv(x, filters=4, kernel=5, stride=2, pad=[2, 1, 0, 2], "
        "act=relu);\noutput y;\n",
        "input x: f32[1, 4, 9, 9];\n@sparse(csr) y = conv(x, filters=4, kernel=3, dilation=2, groups=2);\n"
        "output y;\n",
        "input x: f32[1, 6, 8, 8];\ninput r: f32[1, 6, 8, 8];\n"
        "@sparse(csr) y = conv(x, r, filters=6, kernel=3, pad=1, groups=6);\noutput y;\n",
        "input x: f32[1, 8, 9, 9];\n@sparse(csr) y = conv(x, filters=5, kernel=1, stride=2);\noutput y;\n",
        "input x: f32[1, 80, 3, 3];\n@sparse(csr) y = conv(x, filters=3, kernel=3, pad=1);\noutput y;\n",
    };
    check_layers(nets, sizeof nets / sizeof *nets, OP_CONV, SPARSE_CSR);
}

/* ---- damaged weights ---- */

/* One sparse layer without bias (its packed weights alone in the weights,
 * at offset 0), as object code in a shared library run from weights it
 * holds apart, as an application that read NAME.weights does: damage(w)
 * changes them, and the run must return NAME_ERROR_BAD_WEIGHTS (2) having
 * written nothing. Undamaged, it returns 0. */
static void check_damage(const char *text, OpKind op, void (*damage)(unsigned char *w, const Node *n))
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    zero_weights(g, &g->nodes[cpu_find_op(g, op)], ZERO_NONE, 13);
    run_pipeline_or_fail(g, "cpu", 0);
    CpuIo io;
    cpu_io_make(g, 5, &io);
    char err[1024];
    CodegenOptions co = {.name = "damaged", .opt_level = 2};
    SharedModel *s = shared_model_build(g, &co, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(shared_model_run(s, (const void *const *)io.in, (void *const *)io.out), 0);
    size_t size;
    unsigned char *w = shared_model_weights(s, &size);
    assert_true(size > 0);
    damage(w, &g->nodes[cpu_find_op(g, op)]);
    memset(io.out[0], 0x7f, (size_t)io.out_count[0] * sizeof(float));
    assert_int_equal(shared_model_run(s, (const void *const *)io.in, (void *const *)io.out), 2);
    for (int64_t i = 0; i < io.out_count[0]; i++)
        assert_int_equal(((const unsigned char *)io.out[0])[4 * i], 0x7f);
    shared_model_free(s);
    cpu_io_free(&io);
    parsed_free(&p);
}

static int32_t *offsets_of(unsigned char *w) { return (int32_t *)(void *)w; }

/* fc 20 -> 1100: two slices of 21 offsets, the second slice 76 rows. */
static void fc_offset_past_the_entries(unsigned char *w, const Node *n)
{
    (void)n;
    offsets_of(w)[5] = 1 << 30;
}

static void fc_offsets_descending(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    off[3] = off[4] + 1;
}

/* The gaps of fc 20 -> 1100 after its offsets and values. */
static uint8_t *fc_gaps(unsigned char *w)
{
    int64_t entries = offsets_of(w)[2 * 21 - 1];
    return w + dnnk_sparse_fc_values_at(1100, 20) + entries * 4;
}

/* A column of the partial last slice whose gaps run past its 76 rows. */
static void fc_gaps_past_the_slice(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    assert_true(off[21] < off[22]);
    fc_gaps(w)[off[21]] = 76;
}

/* A column of the first, full slice whose gaps run past its 1,024 rows:
 * each gap stays below 256, their sum does not. */
static void fc_gaps_past_a_full_slice(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    assert_true(off[1] - off[0] >= 5);
    for (int32_t e = off[0]; e < off[1]; e++)
        fc_gaps(w)[e] = 250;
}

/* fc 20 -> 40 by rows: three groups of 16 rows (the last 8 of them
 * padding), offsets counting steps, then the values and the gaps. */
static void fc_rows_steps_descending(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    off[1] = off[2] + 1;
}

static void fc_rows_gaps_past_the_inputs(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    uint8_t *gaps = w + dnnk_sparse_fc_rows_values_at(40) + off[3] * DNNK_SPARSE_GROUP * 4;
    assert_true(off[2] < off[3]);
    gaps[(off[3] - 1) * DNNK_SPARSE_GROUP + 3] = 20; /* row 35's last entry (or padding) */
}

/* conv 6 -> 4 channels: the last filter's last entry lands past its 6. */
static void conv_gaps_past_the_filter(unsigned char *w, const Node *n)
{
    (void)n;
    int32_t *off = offsets_of(w);
    uint8_t *gaps = w + dnnk_sparse_conv_values_at(4) + off[4] * 4;
    gaps[off[4] - 1] = 6;
}

static void test_damaged_weights_are_refused(void **state)
{
    (void)state;
    const char *fc = "input x: f32[1, 20];\n@sparse(csc) y = fc(x, units=1100, bias=false);\noutput y;\n";
    const char *conv = "input x: f32[1, 6, 5, 5];\n@sparse(csr) y = conv(x, filters=4, kernel=1, bias=false);\n"
                       "output y;\n";
    check_damage(fc, OP_FC, fc_offset_past_the_entries);
    check_damage(fc, OP_FC, fc_offsets_descending);
    check_damage(fc, OP_FC, fc_gaps_past_the_slice);
    check_damage(fc, OP_FC, fc_gaps_past_a_full_slice);
    check_damage(conv, OP_CONV, conv_gaps_past_the_filter);
    const char *rows = "input x: f32[1, 20];\n@sparse(csr) y = fc(x, units=40, bias=false);\noutput y;\n";
    check_damage(rows, OP_FC, fc_rows_steps_descending);
    check_damage(rows, OP_FC, fc_rows_gaps_past_the_inputs);
}

/* ---- select-sparsity ---- */

/* Parses text, runs target's pipeline and returns its messages (NULL on
 * success). */
static char *pipeline_errors(const char *text, const char *target)
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    char *messages = NULL;
    bool ok = run_pipeline(g, target, 0, NULL, &messages);
    parsed_free(&p);
    if (ok) {
        free(messages);
        return NULL;
    }
    return messages;
}

static void test_errors_name_the_layer(void **state)
{
    (void)state;
    static const struct {
        const char *text, *target, *want;
    } cases[] = {
        {"input x: f32[1, 4, 6, 6];\n@sparse(csr) y = relu(x);\noutput y;\n", "cpu",
         "layer 'y': @sparse(csr) cannot be honoured: relu has no weights to encode"},
        {"input x: f32[2, 8];\n@sparse(csr) y = fc(x, units=3);\noutput y;\n", "cpu",
         "layer 'y': @sparse(csr) cannot be honoured: target cpu: its sparse fc kernel by rows computes batch 1"},
        {"input x: f32[1, 4, 6, 6];\n@sparse(csc) y = conv(x, filters=4, kernel=1);\noutput y;\n", "cpu",
         "layer 'y': @sparse(csc) cannot be honoured: target cpu: it has no kernel for conv on csc weights"},
        {"input x: f32[1, 8];\n@sparse(rlc) y = fc(x, units=3);\noutput y;\n", "reference",
         "layer 'y': @sparse(rlc) cannot be honoured: target reference: it has no kernel for fc on rlc"},
        {"input x: f32[1, 4, 6, 6];\n@sparse(csr) @algo(winograd) y = conv(x, filters=4, kernel=3);\noutput y;\n",
         "reference", "layer 'y': @algo(winograd) cannot be honoured"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *messages = pipeline_errors(cases[i].text, cases[i].target);
        assert_non_null(messages);
        assert_contains(messages, cases[i].want);
        free(messages);
    }
    /* The reference computes any conv from CSR or CSC when asked. */
    assert_null(pipeline_errors("input x: f32[1, 4, 6, 6];\n@sparse(csc) y = conv(x, filters=4, kernel=3);\n"
                                "output y;\n", "reference"));
}

/* Without @sparse: by density against the registry's crossover on the
 * cpu (a layer 10% dense or less is encoded, a denser one not; a 3x3 conv,
 * which no sparse kernel computes, never), never on the reference, whose
 * sparse rows are there only when asked; --sparse dense keeps all dense. */
static void test_choice_by_density(void **state)
{
    (void)state;
    const char *text = "input x: f32[1, 16, 6, 6];\na = conv(x, filters=16, kernel=1);\n"
                       "b = conv(a, filters=16, kernel=3);\nf = flatten(b);\ny = fc(f, units=10);\noutput y;\n";
    static const struct {
        const char *target;
        ZeroPattern zeros;
        bool force_dense;
        bool want_sparse;
    } cases[] = {
        {"cpu", ZERO_ROWS, false, true},  /* about 6% dense */
        {"cpu", ZERO_NONE, true, false},  /* --sparse dense */
        {"reference", ZERO_ROWS, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Parsed p;
        Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == OP_CONV || g->nodes[k].op == OP_FC)
                zero_weights(g, &g->nodes[k], cases[i].force_dense ? ZERO_ROWS : cases[i].zeros, 3);
        if (!cases[i].force_dense)
            run_pipeline_or_fail(g, cases[i].target, 0);
        else {
            PassOptions o = {.target = target_find("cpu"), .diag = NULL, .force_sparse = true,
                             .sparse = SPARSE_NONE};
            PassReport r = {0};
            assert_true(pass_select_sparsity(g, &o, &r));
        }
        assert_int_equal(g->nodes[0].ann.has_sparse, cases[i].want_sparse);
        assert_false(g->nodes[1].ann.has_sparse);
        assert_int_equal(g->nodes[3].ann.has_sparse, cases[i].want_sparse);
        if (cases[i].want_sparse) /* batch 1: the fc by rows, first of the fc's rows */
            assert_int_equal(g->nodes[3].ann.sparse, SPARSE_CSR);
        parsed_free(&p);
    }
    /* At batch 2 the fc by rows declines and the CSC kernel is chosen. */
    Parsed p2;
    Graph *g2 = cpu_parse_or_fail(&p2, "sparse.dnn", "input x: f32[2, 64];\ny = fc(x, units=32);\noutput y;\n");
    zero_weights(g2, &g2->nodes[0], ZERO_ROWS, 3);
    run_pipeline_or_fail(g2, "cpu", 0);
    assert_int_equal(g2->nodes[0].ann.sparse, SPARSE_CSC);
    parsed_free(&p2);
    /* A dense layer stays dense on the cpu. */
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    run_pipeline_or_fail(g, "cpu", 0);
    for (int k = 0; k < g->n_nodes; k++)
        assert_false(g->nodes[k].ann.has_sparse);
    parsed_free(&p);
}

/* The choice is @sparse in the dump, which parses back to the same. */
static void test_dump_round_trip(void **state)
{
    (void)state;
    const char *text = "input x: f32[1, 16, 4, 4];\n@sparse(csr) a = conv(x, filters=8, kernel=1);\n"
                       "f = flatten(a);\n@sparse(csc) y = fc(f, units=10);\noutput y;\n";
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    run_pipeline_or_fail(g, "cpu", 0);
    char *dumped = graph_to_text(g);
    assert_contains(dumped, "@sparse(csr) @offset(0) a = conv(");
    assert_contains(dumped, "@sparse(csc) y = fc(");
    Parsed back;
    parse_text(&back, "dumped.dnn", dumped);
    assert_non_null(back.graph);
    randomize_weights_for_test(back.graph, 7);
    run_pipeline_or_fail(back.graph, "cpu", 0);
    char *again = graph_to_text(back.graph);
    assert_string_equal(again, dumped);
    free(again), free(dumped);
    parsed_free(&back);
    parsed_free(&p);
}

/* ---- quantised layers (qlinear_conv, i8 weights) ---- */

#define QFC "qlinear_conv(x, filters=40, kernel=1, weight_type=i8, per_channel=true, bias=true)"

/* Zeroes 19 of every 20 i8 weights of node 0 (5% dense). */
static void prune_i8(Graph *g)
{
    const Tensor *w = &g->tensors[g->nodes[0].params[0]];
    int8_t *v = graph_writable_data(g, g->nodes[0].params[0]);
    for (int64_t i = 0; i < shape_elems(&w->shape); i++)
        v[i] = i % 20 == 0 ? (int8_t)(1 + i % 7) : 0;
}

/* Sets every weight zero point of qlinear_conv node 0 (parameter 4). */
static void set_weight_zero_point(Graph *g, int8_t z)
{
    const Tensor *t = &g->tensors[g->nodes[0].params[4]];
    int8_t *v = graph_writable_data(g, g->nodes[0].params[4]);
    for (int64_t i = 0; i < shape_elems(&t->shape); i++)
        v[i] = z;
}

/* The pipeline's messages on `text` whose node 0 has weight zero point z. */
static char *quantised_errors(const char *text, int8_t z)
{
    Parsed p;
    Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", text);
    set_weight_zero_point(g, z);
    char *messages = NULL;
    bool ok = run_pipeline(g, "cpu", 0, NULL, &messages);
    parsed_free(&p);
    if (ok) {
        free(messages);
        return NULL;
    }
    return messages;
}

static void test_quantised_layers(void **state)
{
    (void)state;
    /* By density: a 5% dense int8 fc is encoded CSR on the cpu (the int8
     * kernel's row), never on the reference; dense weights stay dense. */
    const char *fc = "input x: u8[1, 64, 1, 1];\ny = " QFC ";\noutput y;\n";
    const char *targets[] = {"cpu", "reference", "cpu"};
    for (int i = 0; i < 3; i++) {
        Parsed p;
        Graph *g = cpu_parse_or_fail(&p, "sparse.dnn", fc);
        if (i < 2)
            prune_i8(g);
        run_pipeline_or_fail(g, targets[i], 0);
        assert_int_equal(g->nodes[0].ann.has_sparse, i == 0);
        if (i == 0) {
            assert_int_equal(g->nodes[0].ann.sparse, SPARSE_CSR);
            assert_int_equal(g->tensors[g->nodes[0].params[0]].sparse->nnz, 40 * 64 / 20);
            /* The dump says so and parses back to the same. */
            char *dumped = graph_to_text(g);
            assert_contains(dumped, "@sparse(csr) y = qlinear_conv(");
            Parsed back;
            parse_text(&back, "dumped.dnn", dumped);
            assert_non_null(back.graph);
            free(dumped);
            parsed_free(&back);
            /* The verifier refuses an encoding read with zero point 3. */
            set_weight_zero_point(g, 3);
            Diag d;
            char *text = NULL;
            size_t size = 0;
            FILE *out = open_memstream(&text, &size);
            diag_init(&d, out);
            assert_false(graph_verify(g, &d));
            fclose(out);
            assert_contains(text, "a layer reads it with a weight zero point other than 0");
            free(text);
        }
        parsed_free(&p);
    }
    static const struct {
        const char *text;
        int8_t zero;
        const char *want;
    } cases[] = {
        {"input x: u8[1, 64, 1, 1];\n@sparse(csc) y = " QFC ";\noutput y;\n", 0,
         "layer 'y': @sparse(csc) cannot be honoured: target cpu: it has no kernel for qlinear_conv on csc"},
        {"input x: u8[1, 8, 6, 6];\n@sparse(csr) y = qlinear_conv(x, filters=4, kernel=3, weight_type=i8);\n"
         "output y;\n", 0, "its sparse int8 kernel computes fc layers only"},
        {"input x: u8[1, 64, 1, 1];\n@sparse(csr) y = " QFC ";\noutput y;\n", 5,
         "layer 'y': @sparse(csr) cannot be honoured: its weight zero point is not 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *messages = quantised_errors(cases[i].text, cases[i].zero);
        assert_non_null(messages);
        assert_contains(messages, cases[i].want);
        free(messages);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_verifier_checks_encodings),
        cmocka_unit_test(test_fc),
        cmocka_unit_test(test_fc_rows),
        cmocka_unit_test(test_pointwise_conv),
        cmocka_unit_test(test_conv_taps),
        cmocka_unit_test(test_damaged_weights_are_refused),
        cmocka_unit_test(test_errors_name_the_layer),
        cmocka_unit_test(test_choice_by_density),
        cmocka_unit_test(test_dump_round_trip),
        cmocka_unit_test(test_quantised_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
