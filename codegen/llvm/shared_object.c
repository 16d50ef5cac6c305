#include "shared_object.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnnrt.h"

typedef int (*BundleRun)(const void *const *inputs, void *const *outputs, void *workspace,
                         const void *weights, const void *parallel);

struct SharedModel {
    void *handle;
    BundleRun run;
    void *workspace, *weights;
    size_t weights_size;
    char dir[64];
};

/* cc -shared, without a shell: the paths come from mkdtemp. */
static bool link_shared(const char *obj, const char *lib, char *err, size_t errsz)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cc -shared -o '%s' '%s' -lm", lib, obj);
    if (system(cmd) != 0) {
        snprintf(err, errsz, "linking the object failed: %s", cmd);
        return false;
    }
    return true;
}

SharedModel *shared_model_build(const Graph *g, const CodegenOptions *o, char *err, size_t errsz)
{
    SharedModel *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->dir, sizeof s->dir, "/tmp/dnnc-object-XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(err, errsz, "cannot create a temporary directory");
        free(s);
        return NULL;
    }
    char obj[128], lib[128], sym[300];
    snprintf(obj, sizeof obj, "%s/model.o", s->dir);
    snprintf(lib, sizeof lib, "%s/model.so", s->dir);
    CodegenOptions so = *o;
    so.pic = true;
    so.embed_weights = false;
    CompiledModel m;
    bool ok = codegen_build(g, &so, NULL, &m, err, errsz) && codegen_pack_weights(g, &m, err, errsz);
    ok = ok && codegen_emit(&m, EMIT_OBJ, obj, err, errsz) && link_shared(obj, lib, err, errsz);
    s->handle = ok ? dlopen(lib, RTLD_NOW | RTLD_LOCAL) : NULL;
    snprintf(sym, sizeof sym, "%s_run", so.name ? so.name : "model");
    s->run = s->handle ? (BundleRun)(uintptr_t)dlsym(s->handle, sym) : NULL;
    if (ok && !s->run) {
        snprintf(err, errsz, "the shared library has no %s: %s", sym, dlerror());
        ok = false;
    }
    if (ok) {
        s->workspace = dnnrt_aligned_alloc(m.plan.workspace_size);
        s->weights = dnnrt_aligned_alloc(m.plan.weights_size);
        ok = s->workspace && s->weights;
        if (ok)
            memcpy(s->weights, m.plan.weights, m.plan.weights_size);
        s->weights_size = m.plan.weights_size;
    }
    if (m.module || m.tm)
        codegen_free(&m);
    remove(obj);
    remove(lib);
    if (!ok) {
        shared_model_free(s);
        return NULL;
    }
    return s;
}

int shared_model_run(SharedModel *s, const void *const *inputs, void *const *outputs)
{
    return s->run(inputs, outputs, s->workspace, s->weights, NULL);
}

void shared_model_free(SharedModel *s)
{
    if (!s)
        return;
    if (s->handle)
        dlclose(s->handle);
    free(s->workspace);
    free(s->weights);
    rmdir(s->dir);
    free(s);
}

unsigned char *shared_model_weights(SharedModel *s, size_t *size)
{
    *size = s->weights_size;
    return s->weights;
}
