/* --calibrate FILE (calibration.h). */
#include "calibration.h"

#include <stdlib.h>
#include <string.h>

#include "input_data.h"

static bool one_float_input(const char *path, const Graph *g, Diag *d)
{
    if (g->n_inputs == 1 && g->tensors[g->inputs[0]].type.kind == ELEM_F32)
        return true;
    diag_error(d, SRCLOC_NONE, "--calibrate %s: calibration feeds one float32 input; the network has "
               "%d input%s%s", path, g->n_inputs, g->n_inputs == 1 ? "" : "s",
               g->n_inputs == 1 ? " of another type" : "");
    return false;
}

/* Samples are the first dimension of the data; a batch is the declared
 * input's first dimension. */
static bool cut_batches(const char *path, int64_t samples, const Tensor *t, CalibrationData *c, Diag *d)
{
    int64_t batches = input_data_batches(&t->shape, &c->data.shape);
    if (batches == 0) {
        char want[300], got[300];
        shape_format(&t->shape, want, sizeof want);
        shape_format(&c->data.shape, got, sizeof got);
        diag_error(d, SRCLOC_NONE, "--calibrate %s: input '%s' is declared %s but the file holds %s "
                   "(calibration needs whole batches of that shape)", path, t->name, want, got);
        return false;
    }
    int64_t batch = t->shape.d[0];
    if (samples > 0) {
        if (samples < batch || samples > batches * batch) {
            diag_error(d, SRCLOC_NONE, "--calibrate-samples %lld: %s holds %lld samples and a batch "
                       "is %lld", (long long)samples, path, (long long)(batches * batch), (long long)batch);
            return false;
        }
        batches = samples / batch;
    }
    c->batches = calloc((size_t)batches, sizeof *c->batches);
    if (!c->batches) {
        diag_error(d, SRCLOC_NONE, "--calibrate %s: out of memory", path);
        return false;
    }
    int64_t per_batch = shape_elems(&t->shape);
    for (int64_t b = 0; b < batches; b++)
        c->batches[b] = (const float *)c->data.data + b * per_batch;
    c->n_batches = batches;
    return true;
}

bool calibration_load(const char *path, int64_t samples, const Graph *g, CalibrationData *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    if (!one_float_input(path, g, d))
        return false;
    const Tensor *t = &g->tensors[g->inputs[0]];
    char err[1024];
    if (!input_data_load(path, t, &out->data, err, sizeof err)) {
        diag_error(d, SRCLOC_NONE, "--calibrate: %s", err);
        return false;
    }
    if (cut_batches(path, samples, t, out, d))
        return true;
    calibration_free(out);
    return false;
}

void calibration_free(CalibrationData *c)
{
    array_free(&c->data);
    free(c->batches);
    memset(c, 0, sizeof *c);
}
