/* Writing a model back as network source plus a safetensors file of its
 * weights (dnnc dump -o, dnnc import): the pair a later `dnnc run MODEL
 * --weights` reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "outfile.h"
#include "weights.h"

char *path_with_extension(const char *path, const char *from, const char *to)
{
    size_t n = strlen(path), k = strlen(from);
    if (n >= k && strcmp(path + n - k, from) == 0)
        n -= k;
    char *out = malloc(n + strlen(to) + 1);
    if (out) {
        memcpy(out, path, n);
        strcpy(out + n, to);
    }
    return out;
}

char *path_with_suffix(const char *model, const char *suffix)
{
    const char *dot = strrchr(model, '.'), *slash = strrchr(model, '/');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - model) : strlen(model);
    size_t size = stem + strlen(suffix) + sizeof ".dnn";
    char *out = malloc(size);
    if (out)
        snprintf(out, size, "%.*s%s.dnn", (int)stem, model, suffix);
    return out;
}

bool model_save_pair(const Graph *g, char *source, const char *cmd, char **weights)
{
    *weights = source ? path_with_extension(source, ".dnn", ".safetensors") : NULL;
    if (!*weights) {
        fprintf(stderr, "dnnc %s: error: out of memory\n", cmd);
        return false;
    }
    return model_save(g, graph_print, source, *weights, cmd);
}

/* The text goes to a temporary file first and is renamed into place only
 * after the weights are written: a failure at any point leaves neither.
 * (weights_save writes its file whole by itself.) */
bool model_save(const Graph *g, GraphPrinter print, const char *path, const char *weights,
                const char *cmd)
{
    OutFile o;
    char err[1024];
    bool ok = outfile_open(&o, path, err, sizeof err);
    if (ok) {
        print(g, o.f);
        ok = !weights || weights_save(g, weights, err, sizeof err);
        if (!ok)
            outfile_abort(&o);
        else if (!(ok = outfile_commit(&o, err, sizeof err)) && weights)
            remove(weights);
    }
    if (!ok)
        fprintf(stderr, "dnnc %s: error: %s\n", cmd, err);
    return ok;
}
