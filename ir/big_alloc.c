/* A compile touches its weights several times over: the model file, the
 * parsed tensors, the folded and the packed weights. With 4 KiB pages each
 * 100 MB copy costs 25,000 page faults, which took a third of the CPU time
 * of compiling ResNet-50 on a VM. Where transparent huge pages are given
 * only on request (/sys/kernel/mm/transparent_hugepage/enabled is
 * "madvise", Debian's default), advising a large buffer before it is
 * first touched makes those 50 faults of 2 MiB. glibc usually serves such
 * sizes with a mapping of their own, which free() unmaps with its advice;
 * where the kernel declines the advice, the buffer works as any other. */
#define _DEFAULT_SOURCE
#include "big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void advise_huge_pages(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    if (!p || size < BIG_ALLOC_MIN)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) / page * page, end = ((uintptr_t)p + size) / page * page;
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p, (void)size;
#endif
}

void *big_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    advise_huge_pages(p, size);
    return p;
}

void *big_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p && size && count <= SIZE_MAX / size)
        advise_huge_pages(p, count * size);
    return p;
}
