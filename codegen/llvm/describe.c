/* Layer -> kernel descriptor: the only place that knows how the IR's
 * attributes map onto the descriptor structs of the kernel library
 * (codegen/kernels/dnnk.h). Which function serves which op is the
 * registry's (codegen/kernels.def). */
#include "describe.h"

#include <math.h>
#include <string.h>

#include "conv_algo.h"
#include "pack.h"
#include "sparse_rules.h"
#include "weight_code.h"

/* The kernel library numbers element types, activations and pad modes as
 * the IR does, so descriptors carry the IR's codes unchanged. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(DNNK_F32, ELEM_F32) && SAME(DNNK_I8, ELEM_I8) && SAME(DNNK_U8, ELEM_U8) &&
                   SAME(DNNK_I16, ELEM_I16) && SAME(DNNK_I32, ELEM_I32),
               "dnnk.h numbers element types as ElemKind");
_Static_assert(SAME(DNNK_LOG2, ELEM_LOG2) && SAME(DNNK_CODEBOOK, ELEM_CODEBOOK) &&
                   SAME(DNNK_BINARY, ELEM_BINARY) && SAME(DNNK_TERNARY, ELEM_TERNARY),
               "dnnk.h numbers weight codes as ElemKind");
_Static_assert(SAME(DNNK_ACT_NONE, ACT_NONE) && SAME(DNNK_ACT_RELU, ACT_RELU) &&
                   SAME(DNNK_ACT_LEAKY_RELU, ACT_LEAKY_RELU) && SAME(DNNK_ACT_CLIP, ACT_CLIP),
               "dnnk.h numbers activations as ActKind");
_Static_assert(SAME(DNNK_PAD_CONSTANT, PAD_CONSTANT) && SAME(DNNK_PAD_REFLECT, PAD_REFLECT) &&
                   SAME(DNNK_PAD_EDGE, PAD_EDGE),
               "dnnk.h numbers pad modes as PadMode");
_Static_assert(DNNK_RANK == DNNC_MAX_RANK, "a kernel tensor holds every IR shape");
_Static_assert(DNNK_BLOCK == LAYOUT_BLOCK, "dnnk.h blocks channels as the IR does");
#undef SAME

dnnk_tensor describe_tensor(const Tensor *t)
{
    dnnk_tensor d;
    memset(&d, 0, sizeof d);
    d.rank = t->shape.rank;
    for (int i = 0; i < t->shape.rank; i++)
        d.dims[i] = t->shape.d[i];
    d.type = t->type.kind;
    return d;
}

/* Tensor t as it is stored: a blocked tensor's channels rounded up to
 * whole blocks (dnnk.h), so that kernels that ignore layouts (element-wise
 * ones, channel concat) cover the padding too. */
static dnnk_tensor stored(const Graph *g, int t)
{
    dnnk_tensor d = describe_tensor(&g->tensors[t]);
    if (d.rank > 1)
        d.dims[1] = layout_stored_channels(graph_tensor_layout(g, t), d.dims[1]);
    return d;
}

static dnnk_tensor out_of(const CallSite *s) { return stored(s->g, s->n->output); }

static dnnk_tensor in_of(const CallSite *s, int k) { return stored(s->g, s->n->inputs[k]); }

static dnnk_window window(const int64_t kernel[2], const int64_t stride[2], const int64_t dilation[2],
                          const int64_t pad[4])
{
    dnnk_window w;
    memcpy(w.kernel, kernel, sizeof w.kernel);
    memcpy(w.stride, stride, sizeof w.stride);
    memcpy(w.dilation, dilation, sizeof w.dilation);
    memcpy(w.pad, pad, sizeof w.pad);
    return w;
}

static dnnk_window conv_window(const ConvAttrs *a)
{
    return window(a->kernel, a->stride, a->dilation, a->pad);
}

static dnnk_act activation(const Activation *a)
{
    return (dnnk_act){.kind = a->kind, .alpha = a->alpha, .min = a->min, .max = a->max};
}

static int64_t axis_of(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/* Units of a plane-parallel kernel: images x channels. */
static int64_t planes(const dnnk_tensor *out) { return out->dims[0] * out->dims[1]; }

/* Units of a row-parallel kernel: every output row (all but the last dimension). */
static int64_t rows(const dnnk_tensor *out) { return dnnk_count(out) / out->dims[out->rank - 1]; }

/* ---- layers with weights ------------------------------------------------ */

/* The epilogue comes from the IR: bias, a residual operand and the
 * activation, whatever fused them. */
int describe_conv(const CallSite *s, KernelCall *c, dnnk_conv_desc *d)
{
    const ConvAttrs *a = &s->n->attr.conv;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->win = conv_window(a);
    d->groups = a->groups;
    d->has_bias = a->bias, d->has_residual = s->n->n_inputs == 2;
    d->act = activation(&a->act);
    d->nr = s->nr;
    c->units = dnnk_conv_units(d);
    return 1;
}

/* The conv's descriptor and the output tile that select-algo recorded
 * (the algorithm's default on a graph that did not go through it); units
 * over tiles and filters instead of pixels. */
int describe_conv_winograd(const CallSite *s, KernelCall *c, dnnk_winograd_desc *d)
{
    describe_conv(s, c, &d->conv);
    d->m = conv_algo_tile(ALGO_WINOGRAD, s->n->ann.algo_tile, &s->n->attr.conv);
    c->units = dnnk_winograd_units(d);
    return 1;
}

/* The conv's descriptor and the transform size that select-algo recorded
 * (the default on a graph that did not go through it); units over tiles
 * and filters instead of pixels. */
int describe_conv_fft(const CallSite *s, KernelCall *c, dnnk_fft_desc *d)
{
    describe_conv(s, c, &d->conv);
    d->t = conv_algo_tile(ALGO_FFT, s->n->ann.algo_tile, &s->n->attr.conv);
    c->units = dnnk_fft_units(d);
    return 1;
}

/* conv's descriptor from the coded_conv's geometry and epilogue, and its
 * codes. Units: dnnk_coded_units, split by dnnk_coded_split. */
int describe_coded_conv(const CallSite *s, KernelCall *c, dnnk_coded_desc *d)
{
    const CodedConvAttrs *a = &s->n->attr.coded;
    d->conv.out = out_of(s), d->conv.in = in_of(s, 0);
    d->conv.win = conv_window(&a->conv);
    d->conv.groups = a->conv.groups;
    d->conv.has_bias = a->conv.bias, d->conv.has_residual = s->n->n_inputs == 2;
    d->conv.act = activation(&a->conv.act);
    d->conv.nr = s->nr;
    d->weight_type = a->weight_type;
    d->weight_bits = s->g->tensors[s->n->params[0]].type.bits;
    d->code_bits = weight_code_bits(s->g->tensors[s->n->params[0]].type);
    d->per_channel = a->per_channel;
    d->fc = dnnk_coded_fc_form(&d->conv);
    dnnk_coded_split(d);
    c->units = dnnk_coded_units(d);
    return 1;
}

/* Units: (image, output channel). */
int describe_conv_direct(const CallSite *s, KernelCall *c, dnnk_direct_desc *d)
{
    describe_conv(s, c, &d->conv);
    dnnk_plane_tile(&d->conv.win, d->conv.out.dims[2], d->conv.out.dims[3], &d->tile_rows, &d->tile_cols);
    c->units = d->conv.out.dims[0] * d->conv.out.dims[1];
    return 1;
}

/* The values of a layer's weights, and of one image of a tensor. */
static int64_t weight_values(const CallSite *s) { return shape_elems(&s->g->tensors[s->n->params[0]].shape); }

static int64_t image_values(const dnnk_tensor *t) { return dnnk_count(t) / t->dims[0]; }

/* The floats of a layer's weights as `pack` lays them out for its kernel
 * (blocks padded; for Winograd the transformed U): what each unit reads. */
static int64_t packed_floats(const CallSite *s, size_t (*pack)(const Graph *, const Node *, int, void *))
{
    return (int64_t)(pack(s->g, s->n, 0, NULL) / sizeof(float));
}

/* The split of a conv on blocked activations over threads (docs/layouts.md,
 * "Threads"): units of DNNK_BLOCKED_FILTER_BLOCKS blocks of 16 filters (one
 * channel block for a depthwise conv) and a band of output rows. The band
 * starts as the whole image and halves while the layer has fewer than
 * DNNK_BLOCKED_UNITS units, as long as a band keeps at least
 * DNNK_BLOCKED_MIN_PIXELS outputs: a unit reads all of its filters' weights,
 * so a band of few pixels would stream them for little work (the 7 x 7
 * layers of ResNet-50 split over their filters alone). */
int describe_conv_blocked(const CallSite *s, KernelCall *c, dnnk_conv_blocked_desc *d)
{
    describe_conv(s, c, &d->conv);
    d->channels = s->g->tensors[s->n->inputs[0]].shape.d[1];
    const dnnk_conv_desc *v = &d->conv;
    int64_t filter_blocks = v->out.dims[1] / DNNK_BLOCK;
    d->filter_blocks = v->groups == 1 ? dnnk_blocked_filter_blocks(filter_blocks) : 1;
    d->rows = dnnk_blocked_rows(v->out.dims[0] * dnnk_ceil_div(filter_blocks, d->filter_blocks),
                                v->out.dims[2], v->out.dims[3]);
    d->rows_major = dnnk_blocked_rows_major(packed_floats(s, pack_conv_blocked), image_values(&v->in));
    c->units = dnnk_conv_blocked_units(d);
    return 1;
}

/* The split of a blocked Winograd conv (docs/fast-convolution.md,
 * "Winograd on blocked activations"): units of DNNK_BLOCKED_FILTER_BLOCKS
 * blocks of 16 filters, as the blocked conv's. Each unit reads its
 * filters' U, alpha^2/9 times their weights, once per run of tiles, so a
 * run is as long as the stack holds its sums and one channel block of
 * windows, split evenly; runs halve while the layer has fewer than
 * DNNK_BLOCKED_UNITS units, down to two register tiles. The chunk of
 * channel blocks is then as large as the rest of the stack holds, so that
 * the sums wait in M between fewer chunks. */
int describe_conv_winograd_blocked(const CallSite *s, KernelCall *c, dnnk_winograd_blocked_desc *d)
{
    describe_conv(s, c, &d->conv);
    const dnnk_conv_desc *v = &d->conv;
    d->channels = s->g->tensors[s->n->inputs[0]].shape.d[1];
    d->m = conv_algo_tile(ALGO_WINOGRAD, s->n->ann.algo_tile, &s->n->attr.conv);
    dnnk_winograd_blocked_split(d, v->out.dims[0], v->in.dims[1] / DNNK_BLOCK, v->out.dims[1] / DNNK_BLOCK,
                                v->out.dims[2], v->out.dims[3]);
    d->rows_major = dnnk_blocked_rows_major(packed_floats(s, pack_winograd_blocked), image_values(&v->in));
    c->units = dnnk_winograd_blocked_units(d);
    return 1;
}

int describe_fc(const CallSite *s, KernelCall *c, dnnk_fc_desc *d)
{
    const FcAttrs *a = &s->n->attr.fc;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->has_bias = a->bias, d->has_residual = s->n->n_inputs == 2;
    d->act = activation(&a->act);
    c->units = d->out.dims[1];
    return 1;
}

/* The packed entries (non-zero weights, fillers, padding) of the weights
 * select-sparsity encoded as f, or -1 when the weights are not so encoded
 * (a graph whose @sparse did not go through select-sparsity): the layer
 * then cannot be described. */
static int64_t sparse_entries(const CallSite *s, SparseFormat f)
{
    const SparseData *e = s->g->tensors[s->n->params[0]].sparse;
    return e && e->format == f ? sparse_layer_entries(s->g, s->n) : -1;
}

/* The descriptor of an fc whose weights are encoded as f (0 if they are
 * not), and its units: `per_unit` outputs each. */
static int describe_sparse_fc_units(const CallSite *s, KernelCall *c, dnnk_sparse_fc_desc *d, SparseFormat f,
                                    int64_t per_unit)
{
    const FcAttrs *a = &s->n->attr.fc;
    if ((d->entries = sparse_entries(s, f)) < 0)
        return 0;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->has_bias = a->bias, d->has_residual = s->n->n_inputs == 2;
    d->act = activation(&a->act);
    c->units = (d->out.dims[1] + per_unit - 1) / per_unit;
    return 1;
}

/* Units: slices of DNNK_SPARSE_SLICE outputs. */
int describe_sparse_fc(const CallSite *s, KernelCall *c, dnnk_sparse_fc_desc *d)
{
    return describe_sparse_fc_units(s, c, d, SPARSE_CSC, DNNK_SPARSE_SLICE);
}

/* Units: groups of DNNK_SPARSE_GROUP outputs. */
int describe_sparse_fc_rows(const CallSite *s, KernelCall *c, dnnk_sparse_fc_desc *d)
{
    return describe_sparse_fc_units(s, c, d, SPARSE_CSR, DNNK_SPARSE_GROUP);
}

int describe_sparse_conv(const CallSite *s, KernelCall *c, dnnk_sparse_conv_desc *d)
{
    const ConvAttrs *a = &s->n->attr.conv;
    if ((d->entries = sparse_entries(s, SPARSE_CSR)) < 0)
        return 0;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->has_bias = a->bias, d->has_residual = s->n->n_inputs == 2;
    d->act = activation(&a->act);
    c->units = dnnk_sparse_conv_units(d);
    return 1;
}

/* Units: output planes (image, filter). */
int describe_sparse_conv_taps(const CallSite *s, KernelCall *c, dnnk_sparse_taps_desc *d)
{
    if ((d->entries = sparse_entries(s, SPARSE_CSR)) < 0)
        return 0;
    describe_conv(s, c, &d->conv);
    c->units = d->conv.out.dims[0] * d->conv.out.dims[1];
    return 1;
}

int describe_matmul(const CallSite *s, KernelCall *c, dnnk_matmul_desc *d)
{
    d->out = out_of(s), d->a = in_of(s, 0), d->b = in_of(s, 1);
    c->units = rows(&d->out);
    return 1;
}

/* ---- pooling and normalisation ------------------------------------------ */

int describe_pool(const CallSite *s, KernelCall *c, dnnk_pool_desc *d)
{
    const PoolAttrs *a = &s->n->attr.pool;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->win = window(a->kernel, a->stride, a->dilation, a->pad);
    d->count_include_pad = a->count_include_pad;
    c->units = planes(&d->out);
    return 1;
}

/* The pool's descriptor and the tile of its phase planes. */
int describe_maxpool_float(const CallSite *s, KernelCall *c, dnnk_pool_tile_desc *d)
{
    describe_pool(s, c, &d->pool);
    dnnk_plane_tile(&d->pool.win, d->pool.out.dims[2], d->pool.out.dims[3], &d->tile_rows, &d->tile_cols);
    return 1;
}

int describe_pool_blocked(const CallSite *s, KernelCall *c, dnnk_pool_desc *d)
{
    describe_pool(s, c, d);
    c->units = dnnk_pool_blocked_units(d);
    return 1;
}

int describe_global_pool_blocked(const CallSite *s, KernelCall *c, dnnk_pool_desc *d)
{
    describe_pool(s, c, d);
    c->units = dnnk_global_pool_blocked_units(d);
    return 1;
}

int describe_global_pool(const CallSite *s, KernelCall *c, dnnk_pool_desc *d)
{
    d->out = out_of(s), d->in = in_of(s, 0);
    c->units = planes(&d->out);
    return 1;
}

int describe_batchnorm(const CallSite *s, KernelCall *c, dnnk_batchnorm_desc *d)
{
    d->out = out_of(s);
    d->eps = s->n->attr.batchnorm.eps;
    c->units = planes(&d->out);
    return 1;
}

int describe_scale_shift(const CallSite *s, KernelCall *c, dnnk_plain_desc *d)
{
    d->out = out_of(s);
    c->units = planes(&d->out);
    return 1;
}

int describe_lrn(const CallSite *s, KernelCall *c, dnnk_lrn_desc *d)
{
    const LrnAttrs *a = &s->n->attr.lrn;
    d->out = out_of(s);
    d->size = a->size, d->alpha = a->alpha, d->beta = a->beta, d->bias = a->bias;
    c->units = planes(&d->out);
    return 1;
}

static int softmax(const CallSite *s, KernelCall *c, dnnk_softmax_desc *d, bool log)
{
    const Shape *sh = &s->g->tensors[s->n->output].shape;
    int64_t axis = axis_of(s->n->attr.axis.axis, sh->rank);
    d->outer = d->inner = 1;
    for (int i = 0; i < sh->rank; i++)
        *(i < axis ? &d->outer : &d->inner) *= i == axis ? 1 : sh->d[i];
    d->n = sh->d[axis];
    d->log = log;
    c->units = d->outer * d->inner;
    return 1;
}

int describe_softmax(const CallSite *s, KernelCall *c, dnnk_softmax_desc *d)
{
    return softmax(s, c, d, false);
}

int describe_log_softmax(const CallSite *s, KernelCall *c, dnnk_softmax_desc *d)
{
    return softmax(s, c, d, true);
}

/* ---- element-wise ------------------------------------------------------- */

static int unary(const CallSite *s, KernelCall *c, dnnk_unary_desc *d, int64_t fn, double alpha, double beta)
{
    d->out = out_of(s);
    d->fn = fn, d->alpha = alpha, d->beta = beta;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

int describe_relu(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    return unary(s, c, d, DNNK_UNARY_RELU, 0, 0);
}

int describe_leaky_relu(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    return unary(s, c, d, DNNK_UNARY_LEAKY_RELU, s->n->attr.alpha.alpha, 0);
}

int describe_elu(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    return unary(s, c, d, DNNK_UNARY_ELU, s->n->attr.alpha.alpha, 0);
}

int describe_sigmoid(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    return unary(s, c, d, DNNK_UNARY_SIGMOID, 0, 0);
}

int describe_tanh(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    return unary(s, c, d, DNNK_UNARY_TANH, 0, 0);
}

int describe_hard_sigmoid(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    const HardSigmoidAttrs *a = &s->n->attr.hard_sigmoid;
    return unary(s, c, d, DNNK_UNARY_HARD_SIGMOID, a->alpha, a->beta);
}

int describe_selu(const CallSite *s, KernelCall *c, dnnk_unary_desc *d)
{
    const SeluAttrs *a = &s->n->attr.selu;
    return unary(s, c, d, DNNK_UNARY_SELU, a->alpha, a->gamma);
}

int describe_clip(const CallSite *s, KernelCall *c, dnnk_clip_desc *d)
{
    d->out = out_of(s);
    d->min = s->n->attr.clip.min, d->max = s->n->attr.clip.max;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

/* relu on integers (the i16 of fixed16) is a clip from 0. */
int describe_integer_relu(const CallSite *s, KernelCall *c, dnnk_clip_desc *d)
{
    d->out = out_of(s);
    d->min = 0, d->max = HUGE_VAL;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

/* Operands broadcast to the output. A call takes at most DNNK_MAX_IN of
 * them, so a layer with more (add, max and min take any number) is several
 * calls: the first folds operands 0 .. DNNK_MAX_IN-1 into the output, each
 * next one folds the output so far with up to DNNK_MAX_IN-1 more, in the
 * same left-to-right order. Every element reads only its own place of the
 * output, so the calls may run in place; floats round after every operation
 * either way, and integers that wrap to their type after every call give
 * the same sums, differences, products, maxima and minima as wrapping once. */
static int binary(const CallSite *s, KernelCall *c, dnnk_binary_desc *d, int64_t op)
{
    const Node *n = s->n;
    int more = DNNK_MAX_IN - 1;
    int calls = n->n_inputs <= DNNK_MAX_IN ? 1 : 1 + (n->n_inputs - DNNK_MAX_IN + more - 1) / more;
    int first = s->part == 0 ? 0 : DNNK_MAX_IN + (s->part - 1) * more;
    int last = s->part == 0 ? DNNK_MAX_IN : first + more;
    if (last > n->n_inputs)
        last = n->n_inputs;
    d->out = out_of(s);
    d->op = op;
    d->same_shape = 1;
    d->n_in = 0;
    c->n_ptrs = 1; /* the output, as start_call placed it */
    if (s->part > 0) {
        d->in[d->n_in++] = d->out;
        c->ptrs[c->n_ptrs++] = s->loc[n->output];
    }
    for (int k = first; k < last; k++) {
        d->in[d->n_in++] = in_of(s, k);
        c->ptrs[c->n_ptrs++] = s->loc[n->inputs[k]];
        d->same_shape &= shape_equal(&s->g->tensors[n->inputs[k]].shape, &s->g->tensors[n->output].shape);
    }
    c->units = dnnk_chunks(&d->out);
    return calls;
}

/* The binary ops differ only in their operation. */
#define BINARY(op, code)                                                     \
    int describe_##op(const CallSite *s, KernelCall *c, dnnk_binary_desc *d) \
    {                                                                        \
        return binary(s, c, d, code);                                        \
    }
BINARY(add, DNNK_BINARY_ADD)
BINARY(sub, DNNK_BINARY_SUB)
BINARY(mul, DNNK_BINARY_MUL)
BINARY(div, DNNK_BINARY_DIV)
BINARY(max, DNNK_BINARY_MAX)
BINARY(min, DNNK_BINARY_MIN)
#undef BINARY

/* Slopes of a given shape broadcast to the input, or one per channel. */
int describe_prelu(const CallSite *s, KernelCall *c, dnnk_prelu_desc *d)
{
    const Shape *slope = &s->n->attr.prelu.slope_shape;
    d->out = out_of(s);
    d->broadcast = slope->rank > 0;
    d->slope.rank = slope->rank;
    memcpy(d->slope.dims, slope->d, sizeof(int64_t) * (size_t)slope->rank);
    c->units = dnnk_chunks(&d->out);
    return 1;
}

int describe_maxout(const CallSite *s, KernelCall *c, dnnk_maxout_desc *d)
{
    d->out = out_of(s);
    d->pieces = s->n->attr.maxout.pieces;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

/* ---- data movement ------------------------------------------------------ */

/* One call per operand, which it copies into its place along the axis. */
int describe_concat(const CallSite *s, KernelCall *c, dnnk_concat_desc *d)
{
    const Node *n = s->n;
    d->out = out_of(s), d->part = in_of(s, s->part);
    d->axis = axis_of(n->attr.axis.axis, d->out.rank);
    for (int k = 0; k < s->part; k++)
        d->offset += s->g->tensors[n->inputs[k]].shape.d[d->axis];
    c->ptrs[1] = s->loc[n->inputs[s->part]];
    c->n_ptrs = 2;
    c->units = dnnk_chunks(&d->part);
    c->work = dnnk_count(&d->part);
    return n->n_inputs;
}

int describe_reorder(const CallSite *s, KernelCall *c, dnnk_reorder_desc *d)
{
    d->out = out_of(s);
    d->channels = s->g->tensors[s->n->output].shape.d[1];
    d->pixels = DNNK_REORDER_PIXELS;
    d->from_blocked = graph_tensor_layout(s->g, s->n->inputs[0]) == LAYOUT_NCHW16C;
    d->to_blocked = graph_tensor_layout(s->g, s->n->output) == LAYOUT_NCHW16C;
    c->units = dnnk_reorder_units(d);
    return 1;
}

int describe_copy(const CallSite *s, KernelCall *c, dnnk_plain_desc *d)
{
    d->out = out_of(s);
    c->units = dnnk_chunks(&d->out);
    return 1;
}

int describe_slice(const CallSite *s, KernelCall *c, dnnk_slice_desc *d)
{
    d->out = out_of(s), d->in = in_of(s, 0);
    d->axis = axis_of(s->n->attr.slice.axis, d->in.rank);
    d->start = s->n->attr.slice.start;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

/* No permutation reverses the dimensions. */
int describe_transpose(const CallSite *s, KernelCall *c, dnnk_transpose_desc *d)
{
    const IntList *perm = &s->n->attr.transpose.perm;
    d->out = out_of(s), d->in = in_of(s, 0);
    for (int k = 0; k < d->out.rank; k++)
        d->perm[k] = perm->n ? perm->v[k] : d->out.rank - 1 - k;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

int describe_pad(const CallSite *s, KernelCall *c, dnnk_pad_desc *d)
{
    const PadAttrs *a = &s->n->attr.pad;
    d->out = out_of(s), d->in = in_of(s, 0);
    for (int k = 0; k < d->out.rank; k++)
        d->before[k] = a->pads.v[k];
    d->mode = a->mode;
    d->value = a->value;
    c->units = dnnk_chunks(&d->out);
    return 1;
}

/* ---- quantised layers --------------------------------------------------- */

int describe_quant(const CallSite *s, KernelCall *c, dnnk_quant_desc *d)
{
    const QuantizeAttrs *a = &s->n->attr.quantize;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->per_axis = a->per_axis;
    d->axis = axis_of(a->axis, d->out.rank);
    d->inner = 1;
    for (int64_t k = d->axis + 1; k < d->out.rank; k++)
        d->inner *= d->out.dims[k];
    c->units = dnnk_chunks(&d->out);
    return 1;
}

static int qconv(const CallSite *s, KernelCall *c, dnnk_qconv_desc *d, bool linear)
{
    const QConvAttrs *a = &s->n->attr.qconv;
    d->out = out_of(s), d->in = in_of(s, 0);
    d->win = conv_window(&a->conv);
    d->groups = a->conv.groups, d->has_bias = a->conv.bias;
    d->per_channel = a->per_channel, d->weight_type = a->weight_type;
    d->linear = linear;
    d->has_residual = s->n->n_inputs == 2;
    d->residual_type = d->has_residual ? in_of(s, 1).type : 0;
    c->units = d->out.dims[0];
    return 1;
}

int describe_conv_integer(const CallSite *s, KernelCall *c, dnnk_qconv_desc *d)
{
    return qconv(s, c, d, false);
}

int describe_qlinear_conv(const CallSite *s, KernelCall *c, dnnk_qconv_desc *d)
{
    return qconv(s, c, d, true);
}

/* The blocks of filter panels a group's units split into: enough for
 * DNNK_QGEMM_UNITS units where the layer has few tiles, and at most
 * DNNK_QGEMM_PANELS panels a block when K takes several blocks. (Always
 * DNNK_QGEMM_UNITS blocks for a layer whose units are filters major made
 * ResNet-50's 7 x 7 bottlenecks slower: each unit packs its tile again.) */
static int64_t qgemm_filter_blocks(const dnnk_qgemm_desc *d)
{
    const dnnk_qconv_desc *q = &d->conv;
    int64_t G = q->groups, panels = dnnk_ceil_div(q->out.dims[1] / G, DNNK_MR);
    int64_t K = q->in.dims[1] / G * q->win.kernel[0] * q->win.kernel[1];
    int64_t least = K > DNNK_QGEMM_KC ? dnnk_ceil_div(panels, DNNK_QGEMM_PANELS) : 1;
    int64_t spread = dnnk_ceil_div(DNNK_QGEMM_UNITS, q->out.dims[0] * G * dnnk_qgemm_tiles(d));
    int64_t blocks = least > spread ? least : spread;
    return blocks < panels ? blocks : panels;
}

/* The int8 GEMM, blocked where the layer's weights fit its packed form
 * (which pack_qgemm_weights then writes, for an fc in its own layout);
 * otherwise its kernel runs the scalar loops, with their units. */
int describe_qgemm(const CallSite *s, KernelCall *c, dnnk_qgemm_desc *d)
{
    qconv(s, c, &d->conv, true);
    d->nr = s->nr;
    d->blocked = pack_qgemm_fits(s->g, s->n);
    d->fc = d->blocked && sparse_qlinear_is_fc(s->g, s->n);
    d->rows_major = dnnk_blocked_rows_major(weight_values(s), image_values(&d->conv.in));
    d->filter_blocks = d->blocked && !d->fc ? qgemm_filter_blocks(d) : 1;
    c->units = dnnk_qgemm_units(d);
    return 1;
}

/* Units: groups of DNNK_SPARSE_GROUP rows. */
int describe_qsparse_fc(const CallSite *s, KernelCall *c, dnnk_qsparse_fc_desc *d)
{
    const SparseData *e = s->g->tensors[s->n->params[0]].sparse;
    if (!e || e->format != SPARSE_CSR)
        return 0;
    qconv(s, c, &d->conv, true);
    d->steps = sparse_qfc_steps(e);
    c->units = dnnk_qsparse_fc_groups(d->conv.out.dims[1]);
    return 1;
}

static int qmatmul(const CallSite *s, KernelCall *c, dnnk_qmatmul_desc *d, bool linear)
{
    d->out = out_of(s), d->a = in_of(s, 0), d->b = in_of(s, 1);
    d->linear = linear, d->per_column = s->n->attr.qmatmul.per_column;
    c->units = rows(&d->out);
    return 1;
}

int describe_matmul_integer(const CallSite *s, KernelCall *c, dnnk_qmatmul_desc *d)
{
    return qmatmul(s, c, d, false);
}

int describe_qlinear_matmul(const CallSite *s, KernelCall *c, dnnk_qmatmul_desc *d)
{
    return qmatmul(s, c, d, true);
}
