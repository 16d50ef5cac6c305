/* What a classifier predicts: top-5 classes per sample and accuracy against
 * a labels file. */
#include <stdio.h>

#include "array.h"
#include "driver.h"
#include "tensor_file.h"

#define TOP_K 5

/* Indices of the k largest scores of sample n, best first; ties keep the
 * lower index. Scores are compared as doubles, which hold every value of
 * every output type exactly. */
static int top_k(const Array *out, int64_t n, int64_t classes, int64_t *best, int k)
{
    int found = 0;
    for (int64_t c = 0; c < classes; c++) {
        double score = array_get(out, n * classes + c);
        int pos = found < k ? found++ : k;
        while (pos > 0 && score > array_get(out, n * classes + best[pos - 1])) {
            if (pos < k)
                best[pos] = best[pos - 1];
            pos--;
        }
        if (pos < k)
            best[pos] = c;
    }
    return found;
}

static bool load_labels(const char *path, int64_t samples, Array *labels)
{
    char err[1024];
    Array raw;
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
    /* Integers of every IDX and .npy type fit int32 exactly. */
    ok = array_convert_exact(&raw, ELEM_I32, labels, err, sizeof err);
    array_free(&raw);
    if (!ok)
        fprintf(stderr, "dnnc run: error: %s: %s\n", path, err);
    return ok;
}

/* [N, classes] or [N, classes, 1, ...]: samples, and at least two classes. */
static bool is_classifier(const Shape *s)
{
    bool classifier = s->rank >= 2 && s->d[0] > 0 && s->d[1] >= 2;
    for (int i = 2; i < s->rank; i++)
        classifier &= s->d[i] == 1;
    return classifier;
}

/* "sample 0: top-5 3 (0.9) 1 (0.05) ...  label 3"; integer scores in full
 * (an int32 has 10 digits), float scores to 4. */
static void print_sample(const Array *out, int64_t n, int64_t classes, const int64_t *best, int k,
                         const int32_t *labels)
{
    int digits = out->dtype == ELEM_F32 ? 4 : 10;
    printf("sample %lld: top-%d", (long long)n, k);
    for (int i = 0; i < k; i++)
        printf(" %lld (%.*g)", (long long)best[i], digits, array_get(out, n * classes + best[i]));
    printf(labels ? "  label %d\n" : "\n", labels ? labels[n] : 0);
}

bool report_classes(const Array *out, int show, const char *labels_path)
{
    if (!is_classifier(&out->shape)) {
        if (labels_path) {
            fprintf(stderr, "dnnc run: error: --labels needs a classifier output [N, classes]\n");
            return false;
        }
        return true;
    }
    int64_t samples = out->shape.d[0], classes = out->shape.d[1];
    Array label_array = {0};
    if (labels_path && !load_labels(labels_path, samples, &label_array))
        return false;
    const int32_t *labels = label_array.data;
    int64_t top1 = 0, top5 = 0;
    for (int64_t n = 0; n < samples; n++) {
        int64_t best[TOP_K];
        int k = top_k(out, n, classes, best, TOP_K);
        if (n < show)
            print_sample(out, n, classes, best, k, labels);
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
    array_free(&label_array);
    return true;
}
