/* dnnc stats: the survey's model metrics (Tables II and IV) per layer, and
 * the multiplications of each conv under the algorithm select-algo chose
 * (survey V-A; ir/conv_algo.h counts them). */
#include <stdio.h>

#include "driver.h"
#include "json.h"
#include "sparse.h"
#include "sparse_rules.h"
#include "stats.h"

typedef struct StatsArgs {
    const char *model;
    bool json;
    ModelArgs weights;
    PipelineArgs pipeline;
} StatsArgs;

static const Option stats_options[] = {
    {"json", 0, NULL, "print one JSON object: {\"model\", \"layers\": [...], \"total\": {...}}",
     OPTION_FLAG(StatsArgs, json)},
    OPTIONS_END,
};

const CommandSpec cmd_stats_spec = {
    .name = "stats",
    .summary = "weights, MACs, activation sizes and multiplications per layer",
    .usage = "dnnc stats [options] FILE",
    .description =
        "Reports per layer and in total: weights (every learned parameter: filters,\n"
        "biases, batch-norm scale, shift and statistics), multiply-accumulates\n"
        "(CONV and FC layers, as the survey's Table II counts them), and the input\n"
        "and output activation sizes in elements. When weights are bound it also\n"
        "reports non-zero weights and the MACs left when zero weights are skipped\n"
        "(the survey's Table IV); without weights those columns are '-' (null in\n"
        "JSON), since they cannot be known. Then, for every conv, the algorithm\n"
        "select-algo chose (@algo; auto counts as direct, which is what runs it)\n"
        "and the multiplications it needs: Winograd's element-wise products, the\n"
        "FFT's frequency-domain products (4 per complex product), the direct sums'\n"
        "MACs; the transforms' multiplications apart; and how many times fewer\n"
        "than direct (docs/fast-convolution.md, \"Counting multiplications\").\n"
        "By default no optimisation runs (-O0): the counts are those of the graph\n"
        "as written, on the reference target; -O1 shows them after folding, and\n"
        "--target cpu with the cpu target's algorithms.",
    .operand = "input file",
    .operand_offset = offsetof(StatsArgs, model),
    .sections = {
        {"options:", stats_options, 0},
        MODEL_OPTION_SECTION(StatsArgs),
        PIPELINE_OPTION_SECTIONS(
            StatsArgs, "pipeline options (default: --target reference -O0, the graph as written):"),
    },
};

static void json_counts(JsonWriter *w, const LayerStats *s)
{
    json_key(w, "weights"), json_int(w, s->weights);
    json_key(w, "weight_bits"), json_int(w, s->weight_bits);
    json_key(w, "macs"), json_int(w, s->macs);
    json_key(w, "input_activations"), json_int(w, s->in_act);
    json_key(w, "output_activations"), json_int(w, s->out_act);
    json_key(w, "nz_weights");
    s->bound ? json_int(w, s->nz_weights) : json_null(w);
    json_key(w, "nz_macs");
    s->bound ? json_int(w, s->nz_macs) : json_null(w);
    json_key(w, "multiplications"), json_int(w, s->mults);
    json_key(w, "transform_multiplications"), json_int(w, s->transform_mults);
    json_key(w, "saving");
    s->mults ? json_double(w, stats_saving(s)) : json_null(w);
}

/* A conv's "algorithm" and "tile" (null without one); null for other layers. */
static void json_algorithm(JsonWriter *w, const Node *n, const LayerStats *s)
{
    bool conv = n->op == OP_CONV;
    json_key(w, "algorithm");
    conv ? json_string(w, conv_algo_name(s->algo)) : json_null(w);
    json_key(w, "tile");
    conv && s->tile ? json_int(w, s->tile) : json_null(w);
}

/* The filler entries (zero values that carry a gap too long for one
 * relative index, and the fc by rows' padding) in the stored form of
 * layer n's encoded weights. */
static int64_t filler_entries(const Graph *g, const Node *n)
{
    const SparseData *s = g->tensors[n->params[0]].sparse;
    return s ? sparse_layer_entries(g, n) - s->nnz : 0;
}

/* A conv's, fc's or qlinear_conv's "encoding" of its weights, the bytes they take stored
 * ("stored_weight_bytes") and the filler entries among them; null for
 * other layers. */
static void json_encoding(JsonWriter *w, const Graph *g, const Node *n)
{
    bool weighted = sparse_has_weights(n);
    json_key(w, "encoding");
    weighted ? json_string(w, sparse_format_name(kernel_layer_sparse(n))) : json_null(w);
    json_key(w, "stored_weight_bytes");
    weighted ? json_int(w, sparse_stored_bytes(g, n)) : json_null(w);
    json_key(w, "filler_entries");
    weighted ? json_int(w, filler_entries(g, n)) : json_null(w);
}

static void print_json(const Graph *g, const char *model)
{
    JsonWriter w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model"), json_string(&w, model);
    json_key(&w, "layers");
    json_begin_array(&w);
    LayerStats total = {.bound = true};
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        LayerStats s = layer_stats(g, n);
        stats_accumulate(&total, &s);
        json_begin_object(&w);
        json_key(&w, "name"), json_string(&w, n->name);
        json_key(&w, "op"), json_string(&w, op_name(n->op));
        json_key(&w, "output_shape");
        json_begin_array(&w);
        const Shape *sh = &g->tensors[n->output].shape;
        for (int k = 0; k < sh->rank; k++)
            json_int(&w, sh->d[k]);
        json_end_array(&w);
        json_algorithm(&w, n, &s);
        json_encoding(&w, g, n);
        json_counts(&w, &s);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_key(&w, "total");
    json_begin_object(&w);
    json_key(&w, "layers"), json_int(&w, g->n_nodes);
    json_counts(&w, &total);
    json_end_object(&w);
    json_end_object(&w);
    json_finish(&w);
}

/* 61.0M, 724.4M, 15.47G: the survey's units. */
static void human(int64_t v, char *buf, size_t size)
{
    if (v >= 1000000000)
        snprintf(buf, size, "%.2fG", (double)v / 1e9);
    else if (v >= 1000000)
        snprintf(buf, size, "%.1fM", (double)v / 1e6);
    else if (v >= 1000)
        snprintf(buf, size, "%.1fk", (double)v / 1e3);
    else
        snprintf(buf, size, "%lld", (long long)v);
}

static void print_row(const char *name, const char *op, const LayerStats *s)
{
    char nzw[32] = "-", nzm[32] = "-";
    if (s->bound) {
        snprintf(nzw, sizeof nzw, "%lld", (long long)s->nz_weights);
        snprintf(nzm, sizeof nzm, "%lld", (long long)s->nz_macs);
    }
    printf("%-28s %-14s %12lld %14lld %12lld %12lld %12s %14s %13lld\n", name, op, (long long)s->weights,
           (long long)s->macs, (long long)s->in_act, (long long)s->out_act, nzw, nzm,
           (long long)s->weight_bits);
}

/* "winograd F(4x4,3x3)", "fft 16x16", "direct": what a conv runs. */
static void algorithm_text(const LayerStats *s, char *buf, size_t size)
{
    if (s->algo == ALGO_WINOGRAD)
        snprintf(buf, size, "winograd F(%dx%d,3x3)", s->tile, s->tile);
    else if (s->algo == ALGO_FFT)
        snprintf(buf, size, "fft %dx%d", s->tile, s->tile);
    else
        snprintf(buf, size, "%s", conv_algo_name(s->algo));
}

/* "2.25x fewer", "1.32x more", or "same" as the direct sums ("-" when
 * either is 0: no ratio). */
static void saving_text(const LayerStats *s, char *buf, size_t size)
{
    if (s->mults == s->macs)
        snprintf(buf, size, "same");
    else if (s->mults == 0 || s->macs == 0)
        snprintf(buf, size, "-");
    else if (s->mults < s->macs)
        snprintf(buf, size, "%.2fx fewer", stats_saving(s));
    else
        snprintf(buf, size, "%.2fx more", 1 / stats_saving(s));
}

static void print_conv_row(const char *name, const char *algorithm, const LayerStats *s)
{
    char saving[32];
    saving_text(s, saving, sizeof saving);
    printf("%-28s %-22s %14lld %14lld %16lld  %s\n", name, algorithm, (long long)s->macs,
           (long long)s->mults, (long long)s->transform_mults, saving);
}

/* Every conv's algorithm and multiplications against the direct sums
 * (its MACs), and their total; nothing for a graph without convs. */
static void print_conv_table(const Graph *g)
{
    LayerStats total = {0};
    int convs = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_CONV)
            continue;
        if (convs++ == 0)
            printf("\n%-28s %-22s %14s %14s %16s  %s\n", "conv layer", "algorithm", "direct",
                   "mults", "transform mults", "saving");
        LayerStats s = layer_stats(g, n);
        stats_accumulate(&total, &s);
        char algorithm[48];
        algorithm_text(&s, algorithm, sizeof algorithm);
        print_conv_row(n->name, algorithm, &s);
    }
    if (convs)
        print_conv_row("total", "", &total);
}

/* Every conv and fc whose weights select-sparsity encoded: the encoding,
 * the non-zero weights, the filler entries stored with them, and the bytes
 * of the weights dense and as stored; nothing when every layer is dense. */
static void print_sparse_table(const Graph *g)
{
    int sparse = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!sparse_has_weights(n) || kernel_layer_sparse(n) == SPARSE_NONE)
            continue;
        if (sparse++ == 0)
            printf("\n%-28s %-9s %12s %12s %9s %14s %14s %8s\n", "sparse layer", "encoding", "weights",
                   "nz weights", "fillers", "dense bytes", "stored bytes", "ratio");
        const Tensor *w = &g->tensors[n->params[0]];
        int64_t dense = shape_elems(&w->shape) * elem_type_bits(w->type) / 8, stored = sparse_stored_bytes(g, n);
        printf("%-28s %-9s %12lld %12lld %9lld %14lld %14lld %7.2fx\n", n->name, sparse_format_name(n->ann.sparse),
               (long long)shape_elems(&w->shape), (long long)(w->sparse ? w->sparse->nnz : 0),
               (long long)filler_entries(g, n), (long long)dense, (long long)stored,
               stored ? (double)dense / (double)stored : 0.0);
    }
}

static void print_table(const Graph *g)
{
    printf("%-28s %-14s %12s %14s %12s %12s %12s %14s %13s\n", "layer", "op", "weights", "MACs",
           "in act", "out act", "nz weights", "nz MACs", "weight bits");
    LayerStats total = {.bound = true};
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        LayerStats s = layer_stats(g, n);
        stats_accumulate(&total, &s);
        print_row(n->name, op_name(n->op), &s);
    }
    print_row("total", "", &total);
    print_conv_table(g);
    print_sparse_table(g);
    char w[32], m[32];
    human(total.weights, w, sizeof w);
    human(total.macs, m, sizeof m);
    printf("\n%d layers, %s weights, %s MACs", g->n_nodes, w, m);
    /* Only when an algorithm changed the count, so that the line stays
     * the survey's numbers otherwise. */
    if (total.mults != total.macs) {
        char saving[32];
        human(total.mults, m, sizeof m);
        saving_text(&total, saving, sizeof saving);
        printf(", %s multiplications (%s)", m, saving);
    }
    printf("\n");
}

int cmd_stats(int argc, char **argv)
{
    StatsArgs a = {0};
    int rc = model_command_parse(&cmd_stats_spec, argc, argv, &a, &a.pipeline, "reference",
                                 LEVEL_AS_WRITTEN);
    if (rc != OPTIONS_PARSED)
        return rc;
    Model m;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, false, &m))
        return EXIT_INPUT_ERROR;
    if (a.json)
        print_json(m.graph, a.model);
    else
        print_table(m.graph);
    model_free(&m);
    return EXIT_OK;
}
