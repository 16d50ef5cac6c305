/* dnnrt_aligned_alloc: the memory of a network's weights and workspace.
 *
 * A network reads its weights once per run, from memory (ResNet-50's 130
 * MB of packed weights outgrow every cache). On 4 KiB pages each page is a
 * walk of the page tables, as the second-level TLB holds a few thousand;
 * on 2 MiB pages the whole blob takes some 70 entries. Where transparent
 * huge pages are given only on request (/sys/kernel/mm/transparent_hugepage
 * /enabled is "madvise", Debian's default), a large buffer is aligned to
 * 2 MiB and advised before it is first touched. Where the kernel declines
 * the advice, the buffer works as any other. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "dnnrt.h"

#define HUGE_PAGE_BYTES ((size_t)2 << 20)
/* Buffers from this size on ask for huge pages (as documented in dnnrt.h). */
#define HUGE_BUFFER_BYTES (2 * HUGE_PAGE_BYTES)

void *dnnrt_aligned_alloc(size_t size)
{
    size_t align = size >= HUGE_BUFFER_BYTES ? HUGE_PAGE_BYTES : 64;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE_BYTES)
        (void)madvise(p, size / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES, MADV_HUGEPAGE);
#endif
    return p;
}
