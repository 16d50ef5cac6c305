/* What a classifier predicts: top-5 classes per sample and accuracy against
 * a labels file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "driver.h"
#include "tensor_file.h"

#define TOP_K 5

/* Indices of the k largest scores, best first; ties keep the lower index. */
static int top_k(const float *scores, int64_t n, int64_t *best, int k)
{
    int found = 0;
    for (int64_t c = 0; c < n; c++) {
        int pos = found < k ? found++ : k;
        while (pos > 0 && scores[c] > scores[best[pos - 1]]) {
            if (pos < k)
                best[pos] = best[pos - 1];
            pos--;
        }
        if (pos < k)
            best[pos] = c;
    }
    return found;
}

static bool load_labels(const char *path, int64_t samples, int32_t **labels)
{
    char err[1024];
    Array raw, as_f32;
    bool ok = tensor_file_read(path, &raw, NULL, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "dnnc run: error: %s\n", err);
        return false;
    }
    if (raw.shape.rank != 1 || raw.shape.d[0] != samples || raw.dtype == ELEM_F32) {
        char got[300];
        shape_format(&raw.shape, got, sizeof got);
        fprintf(stderr, "dnnc run: error: %s: expected %lld integer labels, found %s %s\n", path,
                (long long)samples, elem_kind_name(raw.dtype), got);
        array_free(&raw);
        return false;
    }
    ok = array_to_f32(&raw, &as_f32, err, sizeof err);
    array_free(&raw);
    if (!ok) {
        fprintf(stderr, "dnnc run: error: %s\n", err);
        return false;
    }
    *labels = malloc((size_t)samples * sizeof **labels);
    for (int64_t i = 0; *labels && i < samples; i++)
        (*labels)[i] = (int32_t)((float *)as_f32.data)[i];
    array_free(&as_f32);
    return *labels != NULL;
}

static bool report_f32(const Array *out, int show, const char *labels_path)
{
    const Shape *s = &out->shape;
    int64_t samples = s->d[0], classes = s->rank ? array_count(out) / (samples ? samples : 1) : 0;
    bool classifier = s->rank >= 2 && classes >= 2;
    for (int i = 2; i < s->rank; i++)
        classifier &= s->d[i] == 1;
    if (!classifier) {
        if (labels_path) {
            fprintf(stderr, "dnnc run: error: --labels needs a classifier output [N, classes]\n");
            return false;
        }
        return true;
    }
    int32_t *labels = NULL;
    if (labels_path && !load_labels(labels_path, samples, &labels))
        return false;
    int64_t top1 = 0, top5 = 0;
    for (int64_t n = 0; n < samples; n++) {
        int64_t best[TOP_K];
        const float *scores = (const float *)out->data + n * classes;
        int k = top_k(scores, classes, best, TOP_K);
        if (n < show) {
            printf("sample %lld: top-%d", (long long)n, k);
            for (int i = 0; i < k; i++)
                printf(" %lld (%.4g)", (long long)best[i], scores[best[i]]);
            printf(labels ? "  label %d\n" : "\n", labels ? labels[n] : 0);
        }
        for (int i = 0; labels && i < k; i++)
            if (best[i] == labels[n]) {
                top1 += i == 0;
                top5++;
            }
    }
    if (samples > show && show > 0)
        printf("... %lld more samples\n", (long long)(samples - show));
    if (labels)
        printf("accuracy: top-1 %.2f%% (%lld/%lld), top-5 %.2f%%\n", 100.0 * (double)top1 / (double)samples,
               (long long)top1, (long long)samples, 100.0 * (double)top5 / (double)samples);
    free(labels);
    return true;
}

/* Scores of any element type are compared as float32. */
bool report_classes(const Array *out, int show, const char *labels_path)
{
    if (out->dtype == ELEM_F32)
        return report_f32(out, show, labels_path);
    char err[1024];
    Array scores;
    if (!array_to_f32(out, &scores, err, sizeof err)) {
        fprintf(stderr, "dnnc run: error: %s\n", err);
        return false;
    }
    bool ok = report_f32(&scores, show, labels_path);
    array_free(&scores);
    return ok;
}
