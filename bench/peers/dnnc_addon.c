/* A Node.js module (N-API) around one dnnc bundle, so that bench/peers/paired.js
 * can run dnnc and ONNX Runtime one after the other in one process: a run of
 * each in every round, under whatever load the host has at that moment.
 *
 * Built by bench/run.sh --paired against the bundle's header (model.h, in the
 * include path) and object, the runtime library and Node's own headers:
 *
 *   cc -O2 -shared -fPIC -IBUNDLE_DIR -Iruntime -I/usr/include/node
 *      bench/peers/dnnc_addon.c BUNDLE_DIR/model.o libdnnrt.a -o dnnc.node -lm -lpthread
 *
 * JavaScript: init(weightsPath, threads) loads the weights and starts the
 * pool (an error is thrown if it cannot); run() runs the network once on a
 * fixed input and returns its time in milliseconds (CLOCK_MONOTONIC);
 * inputShape() is the bundle's input shape. */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnnrt.h"
#include "model.h"

_Static_assert(MODEL_NUM_INPUTS == 1 && MODEL_NUM_OUTPUTS == 1, "paired runs take networks of one input and one output");

typedef struct Bundle {
    void *weights, *workspace;
    float *input, *output;
    dnnrt_pool *pool;
    dnnc_parallel parallel;
    int threads;
} Bundle;

static Bundle bundle;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static napi_value throw_error(napi_env env, const char *message)
{
    napi_throw_error(env, NULL, message);
    return NULL;
}

/* The input: the same values in every run, in [-0.5, 0.5). */
static void fill_input(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
}

static napi_value addon_init(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    char path[4096];
    size_t len = 0;
    int32_t threads = 0;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
        napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
        napi_get_value_int32(env, argv[1], &threads) != napi_ok || threads < 1)
        return throw_error(env, "init(weightsPath, threads >= 1)");
    if (len + 1 >= sizeof path)
        return throw_error(env, "init: the weights path is too long");
    if (bundle.weights)
        return throw_error(env, "init: called twice");
    bundle.weights = dnnrt_load_weights(path, MODEL_WEIGHTS_SIZE);
    if (!bundle.weights && MODEL_WEIGHTS_SIZE > 0)
        return throw_error(env, "init: cannot load the weights (missing, or not the bundle's size)");
    bundle.workspace = dnnrt_aligned_alloc(MODEL_WORKSPACE_SIZE);
    bundle.input = malloc(MODEL_INPUT_0_BYTES);
    bundle.output = malloc(MODEL_OUTPUT_0_BYTES);
    bundle.pool = threads > 1 ? dnnrt_pool_create(threads) : NULL;
    if (!bundle.workspace || !bundle.input || !bundle.output || (threads > 1 && !bundle.pool))
        return throw_error(env, "init: out of memory");
    fill_input(bundle.input, MODEL_INPUT_0_COUNT);
    bundle.parallel = (dnnc_parallel){dnnrt_parallel_for, bundle.pool};
    bundle.threads = threads;
    napi_value ok;
    napi_get_boolean(env, true, &ok);
    return ok;
}

static napi_value addon_run(napi_env env, napi_callback_info info)
{
    (void)info;
    if (!bundle.input)
        return throw_error(env, "run: init first");
    const void *inputs[1] = {bundle.input};
    void *outputs[1] = {bundle.output};
    double start = now_ms();
    int rc = model_run(inputs, outputs, bundle.workspace, bundle.weights,
                       bundle.threads > 1 ? &bundle.parallel : NULL);
    double ms = now_ms() - start;
    if (rc != MODEL_OK)
        return throw_error(env, "run: model_run failed");
    napi_value result;
    napi_create_double(env, ms, &result);
    return result;
}

/* The bundle's input shape, for paired.js to check against the model's. */
static napi_value addon_input_shape(napi_env env, napi_callback_info info)
{
    (void)info;
    static const int64_t shape[] = MODEL_INPUT_0_SHAPE;
    napi_value array;
    napi_create_array_with_length(env, MODEL_INPUT_0_RANK, &array);
    for (uint32_t i = 0; i < MODEL_INPUT_0_RANK; i++) {
        napi_value d;
        napi_create_int64(env, shape[i], &d);
        napi_set_element(env, array, i, d);
    }
    return array;
}

static napi_value addon_exports(napi_env env, napi_value exports)
{
    napi_value f;
    napi_create_function(env, "inputShape", NAPI_AUTO_LENGTH, addon_input_shape, NULL, &f);
    napi_set_named_property(env, exports, "inputShape", f);
    napi_create_function(env, "init", NAPI_AUTO_LENGTH, addon_init, NULL, &f);
    napi_set_named_property(env, exports, "init", f);
    napi_create_function(env, "run", NAPI_AUTO_LENGTH, addon_run, NULL, &f);
    napi_set_named_property(env, exports, "run", f);
    return exports;
}

NAPI_MODULE(dnnc_addon, addon_exports)
