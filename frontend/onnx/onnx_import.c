/* The ONNX importer's driver: reads the model, declares inputs and
 * initializers, imports the nodes in order (folding those whose inputs are
 * all known), and declares the outputs. Op-specific work is in onnx_ops.c. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "checked.h"
#include "fileio.h"
#include "onnx_wire.h"
#include "onnx_internal.h"
#include "oom.h"
#include "pass.h"
#include "weight_file.h"

/* The opsets whose semantics the handlers implement. */
#define ONNX_MIN_OPSET 1
#define ONNX_MAX_OPSET 17

void onnx_error(Importer *im, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Onnx__NodeProto *n = im->node;
    if (n)
        diag_error(im->d, SRCLOC_FILE(im->file), "node %d '%s' (%s, opset %d): %s", im->node_index,
                   n->name && *n->name ? n->name : (n->n_output ? n->output[0] : ""), n->op_type,
                   im->opset, msg);
    else
        diag_error(im->d, SRCLOC_FILE(im->file), "%s", msg);
}

/* ---- values and names ---------------------------------------------------- */

OnnxValue *onnx_value(Importer *im, const char *name)
{
    int i = nametab_get(&im->names, name);
    return i >= 0 ? &im->values[i] : NULL;
}

static OnnxValue *define_value(Importer *im, const char *name)
{
    OnnxValue *v = onnx_value(im, name);
    if (v)
        return v;
    OnnxValue fresh = {-1, NULL};
    VEC_PUSH(&im->arena, im->values, im->n_values, im->cap_values, fresh);
    nametab_put(&im->arena, &im->names, arena_strdup(&im->arena, name), im->n_values - 1);
    return &im->values[im->n_values - 1];
}

void onnx_bind_tensor(Importer *im, const char *name, int tensor)
{
    OnnxValue *v = define_value(im, name);
    v->tensor = tensor;
    v->constant = NULL;
}

void onnx_bind_const(Importer *im, const char *name, OnnxConst *c)
{
    OnnxValue *v = define_value(im, name);
    v->tensor = -1;
    v->constant = c;
}

static bool is_keyword(const char *s)
{
    static const char *const words[] = {"input", "output", "block", "return", "true", "false"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(s, words[i]) == 0)
            return true;
    return false;
}

/* Network-language identifiers are [A-Za-z_][A-Za-z0-9_]*; ONNX names are
 * anything ("input.1", "onnx::Conv_12", "0"). Other characters become '_',
 * a leading digit gets a 't' in front, and clashes a numeric suffix. */
const char *onnx_ir_name(Importer *im, const char *onnx_name, const char *suffix)
{
    char base[200];
    size_t n = 0;
    if (!onnx_name || !*onnx_name || isdigit((unsigned char)onnx_name[0]))
        base[n++] = 't';
    for (const char *p = onnx_name ? onnx_name : ""; *p && n + 1 < 120; p++)
        base[n++] = isalnum((unsigned char)*p) ? *p : '_';
    base[n] = '\0';
    if (suffix)
        snprintf(base + n, sizeof base - n, "_%s", suffix);
    char *name = arena_strdup(&im->arena, base);
    for (int k = 2; graph_find_tensor(im->g, name) >= 0 || is_keyword(name); k++)
        name = arena_printf(&im->arena, "%s_%d", base, k);
    return name;
}

/* ---- operands --------------------------------------------------------------- */

bool onnx_has_input(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] && n->input[i][0];
}

const OnnxConst *onnx_input_const(Importer *im, const Onnx__NodeProto *n, size_t i)
{
    if (!onnx_has_input(n, i))
        return NULL;
    OnnxValue *v = onnx_value(im, n->input[i]);
    return v ? v->constant : NULL;
}

/* A constant used as a tensor operand becomes a `constant` layer holding it. */
int onnx_const_tensor(Importer *im, const char *onnx_name, const OnnxConst *c)
{
    if (c->is_i64) {
        for (int64_t k = 0; k < onnx_const_count(c); k++)
            if (c->i64[k] < INT32_MIN || c->i64[k] > INT32_MAX) {
                onnx_error(im, "int64 constant '%s' has values beyond int32", onnx_name);
                return -1;
            }
    }
    Attrs a;
    attrs_init_defaults(OP_CONSTANT, &a);
    a.constant.shape = c->shape;
    a.constant.dtype = c->kind;
    int t = onnx_emit(im, OP_CONSTANT, &a, NULL, 0, onnx_name, NULL);
    if (t < 0 || !onnx_bind_param(im, t, 0, c, "value"))
        return -1;
    return t;
}

int onnx_input_tensor(Importer *im, const Onnx__NodeProto *n, size_t i)
{
    if (!onnx_has_input(n, i)) {
        onnx_error(im, "input %zu is missing", i);
        return -1;
    }
    OnnxValue *v = onnx_value(im, n->input[i]);
    if (!v) {
        onnx_error(im, "input '%s' is not defined before this node", n->input[i]);
        return -1;
    }
    /* While folding, tensors of the real graph do not exist: constants get
     * fresh constant layers in the scratch graph. */
    if (v->tensor >= 0 && !(im->folding && v->constant))
        return v->tensor;
    if (im->folding && !v->constant) {
        onnx_error(im, "internal error: folding a node with a computed input");
        return -1;
    }
    int t = onnx_const_tensor(im, n->input[i], v->constant);
    /* While folding the tensor lives in a scratch graph: do not remember it. */
    if (t >= 0 && !im->folding)
        v->tensor = t;
    return t;
}

const Shape *onnx_input_shape(Importer *im, const Onnx__NodeProto *n, size_t i)
{
    OnnxValue *v = onnx_has_input(n, i) ? onnx_value(im, n->input[i]) : NULL;
    if (!v)
        return NULL;
    return v->constant ? &v->constant->shape : &im->g->tensors[v->tensor].shape;
}

ElemKind onnx_input_kind(Importer *im, const Onnx__NodeProto *n, size_t i)
{
    OnnxValue *v = onnx_has_input(n, i) ? onnx_value(im, n->input[i]) : NULL;
    if (!v)
        return ELEM_F32;
    return v->constant ? v->constant->kind : im->g->tensors[v->tensor].type.kind;
}

/* ---- attributes --------------------------------------------------------------- */

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->has_i ? a->i : def;
}

double onnx_attr_float(const Onnx__NodeProto *n, const char *name, double def)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    return a && a->has_f ? a->f : def;
}

int onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a)
        return -1;
    int count = (int)(a->n_ints < (size_t)max ? a->n_ints : (size_t)max);
    for (int i = 0; i < count; i++)
        out[i] = a->ints[i];
    return a->n_ints > (size_t)max ? max + 1 : count;
}

const char *onnx_attr_string(Importer *im, const Onnx__NodeProto *n, const char *name,
                             const char *def)
{
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    if (!a || !a->has_s)
        return def;
    return arena_strndup(&im->arena, (const char *)a->s.data, a->s.len);
}

/* ---- emitting IR ---------------------------------------------------------------- */

int onnx_emit(Importer *im, OpKind op, const Attrs *a, const int *inputs, int n_inputs,
              const char *out_name, const char *suffix)
{
    char err[1024];
    const char *name = onnx_ir_name(im, out_name, suffix);
    int node = graph_add_node(im->g, op, name, a, inputs, n_inputs, SRCLOC_NONE, err, sizeof err);
    if (node < 0) {
        onnx_error(im, "%s", err);
        return -1;
    }
    return im->g->nodes[node].output;
}

/* Converts c into the parameter's element type; values must be exact. */
static bool convert_into(Importer *im, const OnnxConst *c, Tensor *p, const char *what)
{
    int64_t count = shape_elems(&p->shape);
    for (int64_t i = 0; i < count; i++) {
        double v = onnx_const_get(c, i);
        switch (p->type.kind) {
        case ELEM_F32: ((float *)p->data)[i] = (float)v; break;
        case ELEM_I32: ((int32_t *)p->data)[i] = (int32_t)v; break;
        case ELEM_I8: ((int8_t *)p->data)[i] = (int8_t)v; break;
        case ELEM_U8: ((uint8_t *)p->data)[i] = (uint8_t)v; break;
        default:
            onnx_error(im, "%s: cannot store %s values", what, elem_kind_name(p->type.kind));
            return false;
        }
    }
    return true;
}

/* The grid of a dequantized constant, copied into the graph's arena for
 * the float parameter p bound to it. */
static void bind_grid(Importer *im, Tensor *p, const QuantParams *grid)
{
    if (!grid || p->type.kind != ELEM_F32 || grid->axis >= p->shape.rank ||
        (grid->count > 1 && p->shape.d[grid->axis] != grid->count))
        return;
    QuantParams *q = arena_alloc(&im->g->arena, sizeof *q);
    *q = (QuantParams){.axis = grid->axis, .count = grid->count};
    q->scale = arena_array(&im->g->arena, (size_t)q->count, sizeof *q->scale);
    q->zero_point = arena_array(&im->g->arena, (size_t)q->count, sizeof *q->zero_point);
    memcpy(q->scale, grid->scale, (size_t)q->count * sizeof *q->scale);
    memcpy(q->zero_point, grid->zero_point, (size_t)q->count * sizeof *q->zero_point);
    p->quant = q;
}

bool onnx_bind_param(Importer *im, int tensor, int k, const OnnxConst *c, const char *what)
{
    const Node *node = &im->g->nodes[im->g->tensors[tensor].producer];
    Tensor *p = &im->g->tensors[node->params[k]];
    int64_t count = shape_elems(&p->shape);
    if (c && !im->folding)
        bind_grid(im, p, c->grid);
    if (!c) {
        p->data = arena_array(&im->g->arena, (size_t)(count ? count : 1), elem_kind_size(p->type.kind));
        return true; /* absent zero points are zero */
    }
    if (onnx_const_count(c) != count) {
        char want[300], got[300];
        shape_format(&p->shape, want, sizeof want);
        shape_format(&c->shape, got, sizeof got);
        onnx_error(im, "%s has shape %s; dnnc expects %s", what, got, want);
        return false;
    }
    if (!c->is_i64 && c->kind != p->type.kind && !(p->type.kind == ELEM_F32 || c->kind == ELEM_F32)) {
        onnx_error(im, "%s is %s but must be %s", what, elem_kind_name(c->kind),
                   elem_kind_name(p->type.kind));
        return false;
    }
    if (!c->is_i64 && c->kind == p->type.kind && c->in_graph) {
        p->data = c->data; /* shared by every parameter bound to c: not owned (graph_own_unshared_data) */
        return true;
    }
    p->data = arena_array(&im->g->arena, (size_t)(count ? count : 1), elem_kind_size(p->type.kind));
    if (!c->is_i64 && c->kind == p->type.kind) {
        memcpy(p->data, c->data, (size_t)count * elem_kind_size(p->type.kind));
        return true;
    }
    return convert_into(im, c, p, what);
}

/* ---- graph inputs, initializers, outputs ------------------------------------------ */

static const char *onnx_type_of(const Onnx__ValueInfoProto *vi, int32_t *elem,
                                Shape *shape)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return "is not a tensor";
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    *elem = tt->elem_type;
    if (!tt->shape)
        return "has no shape";
    if (tt->shape->n_dim > DNNC_MAX_RANK)
        return "has more than 8 dimensions";
    shape->rank = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value < 1)
            return "has a dimension that is not a static positive size (dnnc needs static shapes)";
        shape->d[i] = d->dim_value;
    }
    int64_t count;
    if (!shape_count(shape, &count))
        return "has more than 2^48 elements";
    return NULL;
}

static bool is_initializer(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name && strcmp(gp->initializer[i]->name, name) == 0)
            return true;
    return false;
}

static OnnxConst *const_from_file(Importer *im, const char *path)
{
    unsigned char *bytes;
    size_t len;
    char err[1024];
    if (!read_whole_file(path, ONNX_MAX_FILE, &bytes, &len, err, sizeof err)) {
        onnx_error(im, "%s", err);
        return NULL;
    }
    OnnxConst *c = arena_alloc(&im->arena, sizeof *c);
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, bytes);
    free(bytes);
    if (!t) {
        onnx_error(im, "%s: not a serialised onnx.TensorProto", path);
        return NULL;
    }
    /* The message is not in the arena: free it if the arena throws. */
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        oom_rethrow();
    }
    if (!onnx_tensor_to_const(im, t, c, err, sizeof err)) {
        onnx_error(im, "%s: %s", path, err);
        c = NULL;
    }
    oom_pop(&oom);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return c;
}

static bool declare_inputs(Importer *im, const Onnx__GraphProto *gp, const OnnxPromote *promote)
{
    bool ok = true;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        OnnxConst *c = arena_alloc(&im->arena, sizeof *c);
        char err[1024];
        if (!onnx_tensor_to_const(im, gp->initializer[i], c, err, sizeof err)) {
            onnx_error(im, "initializer: %s", err);
            ok = false;
            continue;
        }
        onnx_bind_const(im, gp->initializer[i]->name ? gp->initializer[i]->name : "", c);
    }
    int position = 0;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        if (is_initializer(gp, name))
            continue;
        int k = position++;
        if (promote && k < promote->count && promote->tensor_files[k]) {
            OnnxConst *c = const_from_file(im, promote->tensor_files[k]);
            if (c)
                onnx_bind_const(im, name, c);
            ok &= c != NULL;
            continue;
        }
        int32_t elem = 0;
        Shape shape = {0};
        const char *why = onnx_type_of(vi, &elem, &shape);
        ElemKind kind;
        bool is_i64;
        if (!why && (!onnx_elem_kind(elem, &kind, &is_i64) || is_i64))
            why = "has an element type dnnc cannot compute on (f32, i8, u8, i32 only)";
        if (why) {
            onnx_error(im, "graph input '%s' %s", name, why);
            ok = false;
            continue;
        }
        int t = graph_add_input(im->g, onnx_ir_name(im, name, NULL), shape, elem_type_default(kind),
                                SRCLOC_NONE);
        onnx_bind_tensor(im, name, t);
    }
    return ok;
}

static bool declare_outputs(Importer *im, const Onnx__GraphProto *gp)
{
    im->node = NULL;
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        OnnxValue *v = onnx_value(im, name);
        if (!v) {
            onnx_error(im, "graph output '%s' is not computed by any node", name);
            return false;
        }
        int t = v->tensor;
        if (t < 0 && (t = onnx_const_tensor(im, name, v->constant)) < 0)
            return false;
        graph_add_output(im->g, t);
    }
    return true;
}

/* ---- nodes --------------------------------------------------------------------------- */

static bool all_inputs_known(Importer *im, const Onnx__NodeProto *n)
{
    bool any = false;
    for (size_t i = 0; i < n->n_input; i++) {
        if (!onnx_has_input(n, i))
            continue;
        OnnxValue *v = onnx_value(im, n->input[i]);
        if (!v || !v->constant)
            return false;
        any = true;
    }
    return any;
}

static OnnxConst *const_from_tensor(Importer *im, const Tensor *t, const void *data)
{
    OnnxConst *c = arena_alloc(&im->arena, sizeof *c);
    c->kind = t->type.kind;
    c->shape = t->shape;
    size_t bytes = (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
    c->data = arena_alloc(&im->arena, bytes + 1);
    memcpy(c->data, data, bytes);
    return c;
}

/* The value the fold-constants pass left for output k of the scratch graph,
 * or NULL after reporting why there is none. */
static const void *folded_value(Importer *im, int k)
{
    const Tensor *t = &im->g->tensors[im->g->outputs[k]];
    const Node *p = graph_producer(im->g, im->g->outputs[k]);
    if (p && p->op == OP_CONSTANT && im->g->tensors[p->params[0]].data)
        return im->g->tensors[p->params[0]].data;
    size_t bytes = (size_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
    onnx_error(im, "the constant computation could not be folded (its result has %zu bytes; the "
                   "limit is %zu)", bytes, FOLD_CONSTANTS_MAX_BYTES);
    return NULL;
}

/* After a failed fold the node's outputs name tensors of the scratch graph,
 * which is gone: they become undefined, so that later readers report a
 * missing input instead of reading a stale id. */
static void forget_outputs(Importer *im, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < n->n_output; i++)
        if (n->output[i] && onnx_value(im, n->output[i]))
            nametab_put(&im->arena, &im->names, n->output[i], -1);
}

/* A node whose inputs are all known is imported into a scratch graph,
 * where every input is a constant layer, and the fold-constants pass
 * computes it; its outputs become constants. */
static bool fold_node(Importer *im, const Onnx__NodeProto *n, OnnxHandler handler)
{
    im->real = im->g;
    im->g = graph_new();
    im->folding = true;
    bool ok = handler(im, n);
    int *outputs = arena_array(&im->arena, n->n_output + 1, sizeof *outputs);
    for (size_t i = 0; ok && i < n->n_output; i++) {
        OnnxValue *v = n->output[i] && n->output[i][0] ? onnx_value(im, n->output[i]) : NULL;
        outputs[i] = v && v->tensor >= 0 ? im->g->n_outputs : -1;
        if (outputs[i] >= 0)
            graph_add_output(im->g, v->tensor);
    }
    PassOptions po = {.opt_level = 1, .diag = im->d};
    PassReport report = {0};
    ok = ok && pass_fold_constants(im->g, &po, &report);
    for (size_t i = 0; ok && i < n->n_output; i++) {
        if (outputs[i] < 0)
            continue;
        const void *value = folded_value(im, outputs[i]);
        ok = value != NULL;
        if (ok)
            onnx_bind_const(im, n->output[i],
                            const_from_tensor(im, &im->g->tensors[im->g->outputs[outputs[i]]], value));
    }
    graph_free(im->g);
    im->g = im->real;
    im->real = NULL;
    im->folding = false;
    if (!ok)
        forget_outputs(im, n);
    return ok;
}

/* A folded DequantizeLinear of i8 or u8 constants: its result remembers
 * the grid (OnnxConst.grid). Always true: a grid it cannot describe (an
 * i32 bias's, which fuse-qdq recomputes) is simply not kept. */
static bool keep_grid(Importer *im, const Onnx__NodeProto *n)
{
    const OnnxConst *q = onnx_input_const(im, n, 0), *scale = onnx_input_const(im, n, 1);
    const OnnxConst *zp = onnx_input_const(im, n, 2);
    OnnxValue *v = onnx_value(im, n->output[0]);
    if (!v || !v->constant || q->is_i64 || (q->kind != ELEM_I8 && q->kind != ELEM_U8) || scale->is_i64 ||
        scale->kind != ELEM_F32 || (zp && zp->kind != q->kind))
        return true;
    QuantParams *grid = arena_alloc(&im->arena, sizeof *grid);
    memset(grid, 0, sizeof *grid);
    grid->count = (int)onnx_const_count(scale);
    grid->axis = grid->count > 1 ? (int)onnx_attr_int(n, "axis", 1) : 0;
    if (grid->axis < 0)
        grid->axis += q->shape.rank;
    grid->scale = scale->data;
    grid->zero_point = arena_array(&im->arena, (size_t)grid->count, sizeof *grid->zero_point);
    for (int k = 0; zp && k < grid->count; k++)
        grid->zero_point[k] = (int32_t)onnx_const_get(zp, k);
    v->constant->grid = grid;
    return true;
}

static bool import_node(Importer *im, const Onnx__NodeProto *n)
{
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0) {
        onnx_error(im, "the operator domain '%s' is not supported", n->domain);
        return false;
    }
    OnnxHandler handler = onnx_find_handler(n->op_type ? n->op_type : "");
    if (!handler) {
        onnx_error(im, "unsupported op '%s'", n->op_type ? n->op_type : "");
        return false;
    }
    /* ONNX graphs are in SSA form: every name is defined once. */
    for (size_t i = 0; i < n->n_output; i++) {
        bool repeated = false;
        for (size_t k = 0; k < i; k++)
            repeated |= n->output[k] && n->output[i] && strcmp(n->output[k], n->output[i]) == 0;
        if (n->output[i] && n->output[i][0] && (repeated || onnx_value(im, n->output[i]))) {
            onnx_error(im, "output '%s' is already defined", n->output[i]);
            return false;
        }
    }
    if (strcmp(n->op_type, "Constant") != 0 && !onnx_has_input(n, 0)) {
        onnx_error(im, "input 0 is missing");
        return false;
    }
    for (size_t i = 0; i < n->n_input; i++)
        if (onnx_has_input(n, i) && !onnx_value(im, n->input[i])) {
            onnx_error(im, "input '%s' is not defined before this node", n->input[i]);
            return false;
        }
    /* Constant, Identity and Dropout only rename; folding them is pointless. */
    bool renames = strcmp(n->op_type, "Constant") == 0 || strcmp(n->op_type, "Identity") == 0 ||
                   strcmp(n->op_type, "Dropout") == 0;
    if (!renames && all_inputs_known(im, n))
        return fold_node(im, n, handler) && (strcmp(n->op_type, "DequantizeLinear") != 0 || keep_grid(im, n));
    return handler(im, n);
}

static int model_opset(const Onnx__ModelProto *m)
{
    int opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0)
            opset = o->has_version ? (int)o->version : 1;
    }
    return opset;
}

static bool import_model(Importer *im, const Onnx__ModelProto *m, const OnnxPromote *promote)
{
    im->opset = model_opset(m);
    if (im->opset < ONNX_MIN_OPSET || im->opset > ONNX_MAX_OPSET) {
        onnx_error(im, im->opset < 0 ? "the model imports no ONNX opset"
                                     : "opset %d is outside the supported range %d to %d",
                   im->opset, ONNX_MIN_OPSET, ONNX_MAX_OPSET);
        return false;
    }
    if (!m->graph) {
        onnx_error(im, "the model has no graph");
        return false;
    }
    const Onnx__GraphProto *gp = m->graph;
    if (!declare_inputs(im, gp, promote))
        return false;
    bool ok = true;
    for (size_t i = 0; i < gp->n_node && !diag_too_many(im->d); i++) {
        im->node = gp->node[i];
        im->node_index = (int)i;
        if (gp->node[i]->n_output == 0) {
            onnx_error(im, "the node has no outputs");
            ok = false;
            continue;
        }
        ok &= import_node(im, gp->node[i]);
    }
    return ok && declare_outputs(im, gp);
}

bool onnx_in_weights(const Importer *im, const void *p)
{
    uintptr_t at = (uintptr_t)p, base = (uintptr_t)im->weights;
    return im->weights && at >= base && at - base < im->weights_len;
}

/* Raw data that no tensor took still points into im->weights, which
 * protobuf-c must not free with the message. */
static void detach_weights(Importer *im, Onnx__ModelProto *m)
{
    for (size_t i = 0; m && m->graph && i < m->graph->n_initializer; i++) {
        Onnx__TensorProto *t = m->graph->initializer[i];
        if (onnx_in_weights(im, t->raw_data.data)) {
            t->raw_data.data = NULL;
            t->raw_data.len = 0;
        }
    }
}

/* Frees what the importer owns; keeps the graph when `keep`. */
static void importer_free(Importer *im, Onnx__ModelProto *m, bool keep)
{
    if (!keep)
        graph_free(im->g);
    graph_free(im->real); /* the graph being built, while a fold runs in a scratch one */
    detach_weights(im, m);
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
    if (im->weight_file) /* both NULL once the graph adopted them (import_or_throw) */
        weight_file_free(im->weight_file);
    else
        free(im->weights);
    mapped_file_close(&im->map);
    arena_free(&im->arena);
    free(im);
}

static bool import_unpacked(Importer *im, const Onnx__ModelProto *m, const OnnxPromote *promote)
{
    im->g = graph_new();
    if (!import_model(im, m, promote) || !graph_verify(im->g, im->d))
        return false;
    graph_own_unshared_data(im->g);
    return true;
}

/* protobuf-c allocates through big_malloc, so that the initializers' raw
 * data lands on huge pages, and remembers a failure, so that an unpack
 * that failed for memory says so rather than "malformed". The messages are
 * freed with free(), protobuf-c's default. */
static void *unpack_alloc(void *failed, size_t size)
{
    void *p = big_malloc(size);
    if (!p)
        *(bool *)failed = true;
    return p;
}

static void unpack_free(void *failed, void *p)
{
    (void)failed;
    free(p);
}

/* The bytes at s of the model, read into dst: from the file through its
 * descriptor, so that the mapping's pages are never touched and the bytes
 * are in memory once, in dst; into a weight file (dst in its mapping)
 * through its descriptor too, so that they are not in memory at all. */
static bool read_model_bytes(const Importer *im, WireSlice s, void *dst)
{
    if (im->weight_file) {
        size_t at = (size_t)((unsigned char *)dst - im->weights);
        return im->map.fd >= 0 ? weight_file_copy_in(im->weight_file, at, im->map.fd, s.offset, s.len)
                               : weight_file_write(im->weight_file, at, im->model + s.offset, s.len);
    }
    if (im->map.fd >= 0)
        return mapped_file_read(&im->map, s.offset, dst, s.len);
    memcpy(dst, im->model + s.offset, s.len);
    return true;
}

/* An initializer split at the wire level: its fields but raw_data, and
 * where its raw bytes lie in the model and will lie in im->weights. */
typedef struct SplitTensor {
    bool split;
    WireBytes rest;
    WireSlice raw;
    size_t at;
} SplitTensor;

/* Initializer s of the model as protobuf-c unpacks it without its raw bytes
 * (which are then read to im->weights + st->at), or whole when it was not
 * split or its raw bytes cannot be read. */
static Onnx__TensorProto *unpack_initializer(Importer *im, ProtobufCAllocator *alloc, WireSlice s,
                                             const SplitTensor *st)
{
    const unsigned char *b = im->model + s.offset;
    Onnx__TensorProto *t = st->split ? onnx__tensor_proto__unpack(alloc, st->rest.len, st->rest.data) : NULL;
    unsigned char *dst = t ? im->weights + st->at : NULL;
    if (!t || !read_model_bytes(im, (WireSlice){s.offset + st->raw.offset, st->raw.len}, dst)) {
        if (t)
            onnx__tensor_proto__free_unpacked(t, alloc);
        return onnx__tensor_proto__unpack(alloc, s.len, b);
    }
    t->has_raw_data = 1;
    t->raw_data.data = dst;
    t->raw_data.len = st->raw.len;
    return t;
}

static void split_tensors_free(SplitTensor *st, size_t n)
{
    for (size_t i = 0; st && i < n; i++)
        free(st[i].rest.data);
    free(st);
}

/* The block for total bytes of initializers: a weight file in
 * im->weights_dir when one can be made there, else memory from alloc. */
static unsigned char *weights_block(Importer *im, ProtobufCAllocator *alloc, size_t total)
{
    char why[512];
    if (im->weights_dir && (im->weight_file = weight_file_create(im->weights_dir, total, why, sizeof why)))
        return weight_file_bytes(im->weight_file);
    return alloc->alloc(alloc->allocator_data, total);
}

/* Splits every initializer and sets their raw bytes' places in one block,
 * im->weights (64-byte aligned, on huge pages when large: big_alloc.h). */
static SplitTensor *split_initializers(Importer *im, ProtobufCAllocator *alloc, const WireModel *w)
{
    SplitTensor *st = calloc(w->n_initializers + 1, sizeof *st);
    if (!st) {
        *(bool *)alloc->allocator_data = true;
        return NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < w->n_initializers; i++) {
        WireSlice s = w->initializers[i];
        st[i].split = wire_split_tensor(im->model + s.offset, s.len, &st[i].rest, &st[i].raw) && st[i].raw.len;
        st[i].at = total;
        total += st[i].split ? (st[i].raw.len + 63) / 64 * 64 : 0;
    }
    im->weights = total ? weights_block(im, alloc, total) : NULL;
    im->weights_len = im->weights ? total : 0;
    if (total && !im->weights) {
        split_tensors_free(st, w->n_initializers);
        return NULL;
    }
    return st;
}

/* The model with its weights read once: split at the wire level, the
 * initializers unpacked one by one (unpack_initializer); a model that cannot
 * be split is unpacked whole. NULL when protobuf-c rejects the bytes or
 * memory runs out (alloc says which). */
static Onnx__ModelProto *unpack_model(Importer *im, ProtobufCAllocator *alloc)
{
    WireModel w;
    if (!wire_split_model(im->model, im->model_len, &w))
        return onnx__model_proto__unpack(alloc, im->model_len, im->model);
    SplitTensor *st = split_initializers(im, alloc, &w);
    Onnx__ModelProto *m = st ? onnx__model_proto__unpack(alloc, w.rest.len, w.rest.data) : NULL;
    Onnx__GraphProto *gp = m ? m->graph : NULL;
    /* Through alloc, which notes a failure; protobuf-c frees it with the graph. */
    size_t table = (w.n_initializers + 1) * sizeof *gp->initializer;
    bool ok = gp && (gp->initializer = alloc->alloc(alloc->allocator_data, table));
    if (ok)
        memset(gp->initializer, 0, table);
    for (size_t i = 0; ok && i < w.n_initializers; i++) {
        Onnx__TensorProto *t = unpack_initializer(im, alloc, w.initializers[i], &st[i]);
        if (t)
            gp->initializer[gp->n_initializer++] = t;
        ok = t != NULL;
    }
    split_tensors_free(st, w.n_initializers);
    wire_model_free(&w);
    if (!ok && m) {
        detach_weights(im, m);
        onnx__model_proto__free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

/* Imports the unpacked model m; frees the importer either way. */
static Graph *import_or_throw(Importer *im, Onnx__ModelProto *m, const OnnxPromote *promote)
{
    OomPoint oom;
    oom_push(&oom);
    if (setjmp(oom.env)) {
        Diag *d = im->d;
        int file = im->file;
        importer_free(im, m, false);
        diag_error(d, SRCLOC_FILE(file), "out of memory importing the model (%zu bytes more were needed)",
                   oom_failed_bytes());
        return NULL;
    }
    bool ok = import_unpacked(im, m, promote);
    if (ok && im->weights_used) { /* the tensors' data lies in it: the graph's now */
        detach_weights(im, m);
        if (im->weight_file)
            graph_adopt_weight_file(im->g, im->weight_file);
        else
            graph_adopt(im->g, im->weights);
        im->weights = NULL;
        im->weight_file = NULL;
    }
    oom_pop(&oom);
    Graph *g = ok ? im->g : NULL;
    importer_free(im, m, ok);
    return g;
}

/* Imports the model in im->model; frees the importer. */
static Graph *import_model_bytes(Importer *im, const char *display_name, const char *base_dir,
                                 const OnnxPromote *promote, Diag *d)
{
    int file = diag_add_file(d, display_name, "", 0);
    im->d = d;
    im->file = file;
    im->base_dir = base_dir;
    arena_init(&im->arena);
    bool unpack_failed = false;
    ProtobufCAllocator alloc = {unpack_alloc, unpack_free, &unpack_failed};
    size_t len = im->model_len;
    Onnx__ModelProto *m = len ? unpack_model(im, &alloc) : NULL;
    mapped_file_close(&im->map); /* what import needs of it is unpacked */
    if (!m) {
        if (unpack_failed)
            onnx_error(im, "out of memory unpacking the model (%zu bytes)", len);
        else
            onnx_error(im, len ? "not a valid ONNX model (the protobuf data is malformed or truncated)"
                               : "the file is empty, not an ONNX model");
        importer_free(im, NULL, false);
        return NULL;
    }
    return import_or_throw(im, m, promote);
}

/* On the heap: a throw (oom.h) must find the importer as it was. */
static Importer *new_importer(const char *display_name, Diag *d)
{
    Importer *im = calloc(1, sizeof *im);
    if (!im)
        diag_error(d, SRCLOC_FILE(diag_add_file(d, display_name, "", 0)), "out of memory");
    else
        im->map.fd = -1;
    return im;
}

Graph *onnx_import(const char *path, const OnnxImportOptions *o, Diag *d)
{
    const OnnxPromote *promote = o ? o->promote : NULL;
    Importer *im = new_importer(path, d);
    if (im)
        im->weights_dir = o ? o->weights_dir : NULL;
    char *dir = im ? strdup(path) : NULL;
    if (im && !dir)
        diag_error(d, SRCLOC_NONE, "%s: out of memory", path);
    char err[1024];
    if (dir && !mapped_file_open(&im->map, path, ONNX_MAX_FILE, err, sizeof err)) {
        diag_error(d, SRCLOC_NONE, "%s", err);
        free(dir);
        dir = NULL;
    }
    if (!dir) {
        free(im);
        return NULL;
    }
    im->model = im->map.bytes;
    im->model_len = im->map.len;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? (*slash = '\0', dir) : ".";
    if (slash && !*dir)
        base = "/";
    Graph *g = import_model_bytes(im, path, base, promote, d);
    free(dir);
    return g;
}

Graph *onnx_import_bytes(const unsigned char *bytes, size_t len, const char *display_name,
                         const char *base_dir, const OnnxPromote *promote, Diag *d)
{
    Importer *im = new_importer(display_name, d);
    if (!im)
        return NULL;
    im->model = bytes;
    im->model_len = len;
    return import_model_bytes(im, display_name, base_dir, promote, d);
}
