/* Classifies the 10,000 Fashion-MNIST test images with the LeNet-5 bundle
 * that `dnnc compile` made from examples/lenet5.dnn and its trained weights,
 * and prints the accuracy and the images per second.
 *
 *   classify WEIGHTS IMAGES LABELS [THREADS]
 *
 * IMAGES and LABELS are the IDX files of the dataset (gzip-compressed or
 * not, as Debian's dataset-fashion-mnist ships them). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "dnnrt.h"
#include "lenet.h"

/* Reads an IDX file of unsigned bytes with the expected rank; returns the
 * data after the header and sets *count to the number of items. */
static unsigned char *read_idx(const char *path, int rank, long *count, long *item_size)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "classify: cannot open %s\n", path);
        return NULL;
    }
    unsigned char head[4 + 4 * 3];
    long items = 0, size = 1;
    bool ok = gzread(f, head, 4) == 4 && head[2] == 0x08 && head[3] == rank &&
              gzread(f, head + 4, 4 * rank) == 4 * rank;
    for (int i = 0; ok && i < rank; i++) {
        long d = (long)head[4 + 4 * i] << 24 | head[5 + 4 * i] << 16 | head[6 + 4 * i] << 8 | head[7 + 4 * i];
        if (i == 0)
            items = d;
        else
            size *= d;
    }
    unsigned char *data = ok && items > 0 && items < 1000000 ? malloc((size_t)(items * size)) : NULL;
    ok = data && gzread(f, data, (unsigned)(items * size)) == items * size;
    gzclose(f);
    if (!ok) {
        fprintf(stderr, "classify: %s is not an IDX file of %d dimensions\n", path, rank);
        free(data);
        return NULL;
    }
    *count = items;
    *item_size = size;
    return data;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: classify WEIGHTS IMAGES LABELS [THREADS]\n");
        return 2;
    }
    /* The same bounds as dnnc's --threads: more threads than cores only
     * contend, and each worker reserves an 8 MiB stack. */
    char *end = NULL;
    long threads = argc > 4 ? strtol(argv[4], &end, 10) : 1;
    if (argc > 4 && (*argv[4] == '\0' || *end != '\0' || threads < 1 || threads > 256)) {
        fprintf(stderr, "classify: THREADS must be an integer from 1 to 256, got '%s'\n", argv[4]);
        return 2;
    }
    long n_images, n_labels, pixels, one;
    unsigned char *images = read_idx(argv[2], 3, &n_images, &pixels);
    unsigned char *labels = read_idx(argv[3], 1, &n_labels, &one);
    void *weights = dnnrt_load_weights(argv[1], LENET_WEIGHTS_SIZE);
    if (!images || !labels || !weights || n_images != n_labels || pixels != LENET_INPUT_0_COUNT) {
        fprintf(stderr, "classify: %s\n", !weights ? "cannot load the weights (wrong file or size)"
                                                   : "the images do not fit the network's input");
        return 1;
    }
    /* Static buffers: every size is a compile-time constant of the bundle. */
    static float input[LENET_INPUT_0_COUNT], scores[LENET_OUTPUT_0_COUNT];
    static _Alignas(64) unsigned char workspace[LENET_WORKSPACE_SIZE];
    dnnrt_pool *pool = threads > 1 ? dnnrt_pool_create((int)threads) : NULL;
    if (threads > 1 && !pool) {
        fprintf(stderr, "classify: cannot start %ld threads\n", threads);
        return 1;
    }
    dnnc_parallel parallel = {dnnrt_parallel_for, pool};
    const void *inputs[] = {input};
    void *outputs[] = {scores};
    long correct = 0;
    double t0 = seconds();
    for (long i = 0; i < n_images; i++) {
        for (long k = 0; k < pixels; k++)
            input[k] = images[i * pixels + k] / 255.0f; /* as the network was trained */
        if (lenet_run(inputs, outputs, workspace, weights, pool ? &parallel : NULL) != LENET_OK) {
            fprintf(stderr, "classify: lenet_run failed\n");
            return 1;
        }
        int best = 0;
        for (int c = 1; c < LENET_OUTPUT_0_COUNT; c++)
            best = scores[c] > scores[best] ? c : best;
        correct += best == labels[i];
    }
    double dt = seconds() - t0;
    printf("accuracy: %.2f%% (%ld of %ld Fashion-MNIST test images)\n", 100.0 * (double)correct / (double)n_images,
           correct, n_images);
    printf("speed: %.0f images per second on %ld thread%s (%.1f us per image)\n", (double)n_images / dt,
           threads, threads == 1 ? "" : "s", dt / (double)n_images * 1e6);
    dnnrt_pool_destroy(pool);
    free(weights);
    free(images);
    free(labels);
    return 0;
}
