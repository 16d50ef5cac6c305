#include "memory.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* MemAvailable: what the kernel estimates can be allocated without
 * swapping; the free pages count misses reclaimable caches. */
static size_t meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return kib > SIZE_MAX / 1024 ? SIZE_MAX : (size_t)kib * 1024;
}

size_t memory_available(void)
{
    size_t bytes = meminfo_available();
    if (bytes)
        return bytes;
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return SIZE_MAX;
    return (size_t)pages > SIZE_MAX / (size_t)page ? SIZE_MAX : (size_t)pages * (size_t)page;
}

void memory_format(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64 " bytes", bytes);
        return;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

bool memory_parse(const char *text, uint64_t *out)
{
    char *end;
    if (!*text || *text == '-')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end == 'T' || *end == 't')
        shift = 40;
    if (shift)
        end++;
    if (*end || end == text || v == 0 || v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static uint64_t tensor_bytes(const Tensor *t)
{
    return (uint64_t)shape_elems(&t->shape) * elem_kind_size(t->type.kind);
}

static void add_need(MemoryNeed *m, uint64_t bytes, const char *layer)
{
    m->bytes += bytes;
    if (bytes > m->largest || !m->layer) {
        m->largest = bytes;
        m->layer = layer;
    }
}

MemoryNeed memory_weights(const Graph *g)
{
    MemoryNeed m = {0, 0, NULL};
    for (int i = 0; i < g->n_nodes; i++) {
        uint64_t bytes = 0;
        for (int k = 0; k < g->nodes[i].n_params; k++)
            bytes += tensor_bytes(&g->tensors[g->nodes[i].params[k]]);
        if (bytes)
            add_need(&m, bytes, g->nodes[i].name);
    }
    return m;
}

MemoryNeed memory_activations(const Graph *g)
{
    MemoryNeed m = {0, 0, NULL};
    for (int i = 0; i < g->n_nodes; i++)
        add_need(&m, tensor_bytes(&g->tensors[g->nodes[i].output]), g->nodes[i].name);
    return m;
}
