/* The IR printer: the dump is network-language source, so `dnnc dump` output
 * parses back to the same graph, and what passes decided shows up as
 * annotations a user could also have written. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"

static const char *const algo_names[] = {"auto", "direct", "im2col", "winograd", "fft"};
static const char *const dataflow_names[] = {"auto", "ws", "os-a", "os-b", "os-c", "nlr", "rs"};

#define NAME_LOOKUP(fn_name, type, table)                                   \
    bool fn_name(const char *s, type *out)                                  \
    {                                                                       \
        for (size_t i = 0; i < sizeof table / sizeof *table; i++)           \
            if (strcmp(s, table[i]) == 0) {                                 \
                *out = (type)i;                                             \
                return true;                                                \
            }                                                               \
        return false;                                                       \
    }

NAME_LOOKUP(conv_algo_from_name, ConvAlgo, algo_names)
NAME_LOOKUP(dataflow_from_name, Dataflow, dataflow_names)

const char *conv_algo_name(ConvAlgo a) { return algo_names[a]; }
const char *dataflow_name(Dataflow d) { return dataflow_names[d]; }

static const char *const mapping_level_names[MAPPING_LEVELS] = {"dram", "buf", "rows",
                                                                "cols", "pe", "rf"};
static const char *const mapping_dim_names[MAPPING_DIMS] = {"N", "M", "C", "P", "Q", "R", "S"};

NAME_LOOKUP(mapping_ann_dim_from_name, int, mapping_dim_names)

const char *mapping_ann_level_name(int level) { return mapping_level_names[level]; }
const char *mapping_ann_dim_name(int dim) { return mapping_dim_names[dim]; }

/* @mapping(dram, [M, 2], buf, [...], ..., rf, [M, 4, S, 3]): every level,
 * outermost first, with its loops outer to inner; a loop of one iteration
 * is no loop and is left out. */
static void print_mapping(const MappingAnn *m, FILE *out)
{
    fputs("@mapping(", out);
    for (int lv = 0; lv < MAPPING_LEVELS; lv++) {
        fprintf(out, "%s%s, [", lv ? ", " : "", mapping_level_names[lv]);
        int printed = 0;
        for (int k = 0; k < MAPPING_DIMS; k++) {
            int d = m->order[lv][k];
            if (m->bound[lv][d] > 1)
                fprintf(out, "%s%s, %lld", printed++ ? ", " : "", mapping_dim_names[d],
                        (long long)m->bound[lv][d]);
        }
        fputc(']', out);
    }
    fputs(") ", out);
}

void annotations_print(const Annotations *a, FILE *out)
{
    char buf[64];
    if (a->algo != ALGO_AUTO && a->algo_tile)
        fprintf(out, "@algo(%s, tile=%d) ", algo_names[a->algo], a->algo_tile);
    else if (a->algo != ALGO_AUTO)
        fprintf(out, "@algo(%s) ", algo_names[a->algo]);
    if (a->has_precision) {
        /* Annotation arguments are names and integers: fixed<8,4> is written
         * @precision(fixed, 8, 4). */
        const ElemType *t = &a->precision;
        fprintf(out, "@precision(%s", elem_kind_name(t->kind));
        if (t->kind == ELEM_FIXED)
            fprintf(out, ", %d, %d", t->bits, t->frac);
        else if (t->kind == ELEM_LOG2 || t->kind == ELEM_CODEBOOK)
            fprintf(out, ", %d", t->bits);
        fputs(") ", out);
    }
    if (a->has_sparse)
        fprintf(out, "@sparse(%s) ", sparse_format_name(a->sparse));
    if (a->dataflow != DATAFLOW_AUTO) {
        /* The command line says os-a; in source it must be an identifier. */
        snprintf(buf, sizeof buf, "%s", dataflow_names[a->dataflow]);
        for (char *p = buf; *p; p++)
            if (*p == '-')
                *p = '_';
        fprintf(out, "@dataflow(%s) ", buf);
    }
    if (a->mapping.present)
        print_mapping(&a->mapping, out);
    if (a->has_layout)
        fprintf(out, "@layout(%s) ", layout_name(a->layout));
    if (a->has_offset)
        fprintf(out, "@offset(%llu) ", (unsigned long long)a->offset);
}

/* Scalar element k of a bound zero point (u8, i8, i16 or i32). */
static long long zero_point_at(const Tensor *t, int64_t k)
{
    switch (t->type.kind) {
    case ELEM_U8: return ((const uint8_t *)t->data)[k];
    case ELEM_I8: return ((const int8_t *)t->data)[k];
    case ELEM_I16: return ((const int16_t *)t->data)[k];
    case ELEM_I32: return ((const int32_t *)t->data)[k];
    default: return 0;
    }
}

/* " (2^-5)" after a scale that is a power of two: dynamic fixed point with
 * that many fractional bits (survey VII-A1). On i16 integers (fixed16) also
 * the Q format, " (2^-12, Q3.12)": integer bits beside the sign, then
 * fractional bits. */
static void print_power_of_two(double v, ElemKind integers, FILE *out)
{
    int e;
    if (!(v > 0 && frexp(v, &e) == 0.5))
        return;
    fprintf(out, " (2^%d", e - 1);
    if (integers == ELEM_I16)
        fprintf(out, ", Q%d.%d", 15 - (1 - e), 1 - e);
    fputc(')', out);
}

/* ", scale 0.0235 zero point 0": the grid real = scale * (q - zero point)
 * of a per-tensor scale and zero point, when bound; `whose` names the
 * tensor ("residual ") where it is not the layer's output. */
static void print_grid(const Graph *g, int scale, int zero_point, const char *whose, FILE *out)
{
    const Tensor *s = &g->tensors[scale], *z = &g->tensors[zero_point];
    if (!s->data || !z->data || shape_elems(&s->shape) != 1)
        return;
    float v = ((const float *)s->data)[0];
    fprintf(out, ", %sscale %.9g", whose, v);
    print_power_of_two(v, z->type.kind, out);
    fprintf(out, " zero point %lld", zero_point_at(z, 0));
}

/* The comment after a quantised layer shows the grid of its integers (and
 * a qlinear_conv the range of its weight scales): values that live in the
 * weights file, shown so that a dump says what the layer computes. */
static void print_quant_comment(const Graph *g, const Node *n, FILE *out)
{
    const QuantParams *grid = n->n_params > 0 ? g->tensors[n->params[0]].quant : NULL;
    if (grid && grid->count > 1)
        fprintf(out, ", weights dequantized from integers, %d scales on axis %d", grid->count, grid->axis);
    else if (grid)
        fprintf(out, ", weights dequantized from integers, scale %.9g zero point %d", grid->scale[0],
                grid->zero_point[0]);
    if (n->op == OP_QUANTIZE || n->op == OP_DEQUANTIZE) {
        print_grid(g, n->params[0], n->params[1], "", out);
    } else if (n->op == OP_QLINEAR_CONV) {
        print_grid(g, n->params[5], n->params[6], "", out);
        if (n->n_inputs == 2) /* the residual's grid: its scale and zero point come last */
            print_grid(g, n->params[n->n_params - 2], n->params[n->n_params - 1], "residual ", out);
        const Tensor *ws = &g->tensors[n->params[3]];
        if (!ws->data)
            return;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t k = 0; k < shape_elems(&ws->shape); k++)
            lo = fmin(lo, ((const float *)ws->data)[k]), hi = fmax(hi, ((const float *)ws->data)[k]);
        if (lo == hi) {
            fprintf(out, ", weight scale %.9g", lo);
            print_power_of_two(lo, (ElemKind)n->attr.qconv.weight_type, out);
        } else
            fprintf(out, ", weight scale %.9g to %.9g", lo, hi);
    }
}

/* The comment after a coded_conv: its code type and what decodes the
 * codes, the scales (their range when per filter) or every centroid. */
static void print_codes_comment(const Graph *g, const Node *n, FILE *out)
{
    const Tensor *codes = &g->tensors[n->params[0]], *d = &g->tensors[n->params[1]];
    char ty[32];
    elem_type_format(codes->type, ty, sizeof ty);
    fprintf(out, ", weights %s", ty);
    if (!d->data)
        return;
    const float *v = d->data;
    int64_t count = shape_elems(&d->shape);
    if (codes->type.kind == ELEM_CODEBOOK) {
        fputs(", codebook [", out);
        for (int64_t k = 0; k < count; k++)
            fprintf(out, "%s%.9g", k ? ", " : "", v[k]);
        fputc(']', out);
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < count; k++)
        lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
    if (lo == hi)
        fprintf(out, ", scale %.9g", lo);
    else
        fprintf(out, ", scale %.9g to %.9g (per filter)", lo, hi);
}

static void print_node(const Graph *g, const Node *n, FILE *out)
{
    annotations_print(&n->ann, out);
    fprintf(out, "%s = %s(", n->name, op_name(n->op));
    int printed = 0;
    for (int i = 0; i < n->n_inputs; i++)
        fprintf(out, "%s%s", printed++ ? ", " : "", g->tensors[n->inputs[i]].name);
    for (const AttrSpec *s = op_info(n->op)->attrs; s && s->name; s++) {
        if (attr_is_default(s, &n->attr))
            continue;
        char buf[600];
        attr_format(s, &n->attr, buf, sizeof buf);
        fprintf(out, "%s%s", printed++ ? ", " : "", buf);
    }
    char ty[300];
    tensor_type_format(&g->tensors[n->output], ty, sizeof ty);
    fprintf(out, ");  # %s", ty);
    print_quant_comment(g, n, out);
    if (n->op == OP_CODED_CONV)
        print_codes_comment(g, n, out);
    fputc('\n', out);
}

void graph_print(const Graph *g, FILE *out)
{
    char ty[300];
    for (int i = 0; i < g->n_inputs; i++) {
        const Tensor *t = &g->tensors[g->inputs[i]];
        tensor_type_format(t, ty, sizeof ty);
        fprintf(out, "input %s: %s;\n", t->name, ty);
    }
    fputc('\n', out);
    for (int i = 0; i < g->n_nodes; i++)
        print_node(g, &g->nodes[i], out);
    fputc('\n', out);
    fputs("output ", out);
    for (int i = 0; i < g->n_outputs; i++)
        fprintf(out, "%s%s", i ? ", " : "", g->tensors[g->outputs[i]].name);
    fputs(";\n", out);
}
