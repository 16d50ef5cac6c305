/* Element-wise activations and maxout. */
#include <float.h>
#include <math.h>

#include "kernels.h"

static int64_t count(const KernelArgs *a) { return dims_product(a->out_shape, 0, a->out_shape->rank); }

/* The one definition of relu, leaky_relu and (float) clip, shared by their
 * layers and by the epilogues of conv and fc, so that fusing an
 * activation changes nothing but where it runs. */
float ref_activate(const Activation *act, float x)
{
    switch (act->kind) {
    case ACT_RELU: return x > 0 ? x : 0.0f;
    case ACT_LEAKY_RELU: return x >= 0 ? x : (float)act->alpha * x;
    case ACT_CLIP: {
        double v = x < act->min ? act->min : x;
        return (float)(v > act->max ? act->max : v);
    }
    default: return x;
    }
}

static void activate_all(const KernelArgs *a, const Activation *act)
{
    for (int64_t i = 0; i < count(a); i++)
        fout(a)[i] = ref_activate(act, fin(a, 0)[i]);
}

/* On integers (the i16 of fixed16, whose zero point is 0) relu is max(q, 0)
 * exactly as on the values they stand for. */
void ref_relu(const KernelArgs *a)
{
    if (a->out_type == ELEM_F32) {
        activate_all(a, &(Activation){.kind = ACT_RELU});
        return;
    }
    for (int64_t i = 0; i < count(a); i++) {
        double v = load_elem(a->in_type[0], a->in[0], i);
        store_elem(a->out_type, a->out, i, v > 0 ? v : 0);
    }
}

void ref_leaky_relu(const KernelArgs *a)
{
    activate_all(a, &(Activation){.kind = ACT_LEAKY_RELU, .alpha = a->node->attr.alpha.alpha});
}

/* One slope per channel (dimension 1), or slopes of any shape broadcast to
 * the input (slope_shape). */
void ref_prelu(const KernelArgs *a)
{
    const Shape *s = a->out_shape, *slopes = &a->node->attr.prelu.slope_shape;
    int64_t C = s->d[1], inner = dims_product(s, 2, s->rank);
    for (int64_t i = 0; i < count(a); i++) {
        int64_t k = slopes->rank ? broadcast_offset(slopes, s, i) : (i / inner) % C;
        float x = fin(a, 0)[i];
        fout(a)[i] = x >= 0 ? x : fparam(a, 0)[k] * x;
    }
}

void ref_elu(const KernelArgs *a)
{
    double alpha = a->node->attr.alpha.alpha;
    for (int64_t i = 0; i < count(a); i++) {
        float x = fin(a, 0)[i];
        fout(a)[i] = x > 0 ? x : (float)(alpha * expm1((double)x));
    }
}

void ref_sigmoid(const KernelArgs *a)
{
    for (int64_t i = 0; i < count(a); i++)
        fout(a)[i] = (float)(1.0 / (1.0 + exp(-(double)fin(a, 0)[i])));
}

void ref_tanh(const KernelArgs *a)
{
    for (int64_t i = 0; i < count(a); i++)
        fout(a)[i] = (float)tanh((double)fin(a, 0)[i]);
}

/* out[n][c][...] = max over p < pieces of in[n][c * pieces + p][...]:
 * consecutive channels form one unit. */
void ref_maxout(const KernelArgs *a)
{
    const Shape *os = a->out_shape;
    int64_t N = os->d[0], C = os->d[1], inner = dims_product(os, 2, os->rank);
    int64_t k = a->node->attr.maxout.pieces;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < inner; i++) {
                float m = -FLT_MAX;
                for (int64_t p = 0; p < k; p++) {
                    float v = fin(a, 0)[((n * C * k) + c * k + p) * inner + i];
                    m = v > m ? v : m;
                }
                fout(a)[(n * C + c) * inner + i] = m;
            }
}
