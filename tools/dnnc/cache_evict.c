/* cache_evict.h: one flush instruction a cache line (clflush on x86-64,
 * whose effect reaches every core's caches; dc civac, to the point of
 * coherency, on AArch64), then a barrier so the next reads miss. */
#include "cache_evict.h"

#include <stdint.h>

#define CACHE_LINE 64

bool cache_evict_supported(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return true;
#else
    return false;
#endif
}

void cache_evict(const void *p, size_t bytes)
{
    uintptr_t line = (uintptr_t)p & ~(uintptr_t)(CACHE_LINE - 1), end = (uintptr_t)p + bytes;
#if defined(__x86_64__)
    for (; line < end; line += CACHE_LINE)
        __builtin_ia32_clflush((const void *)line);
    __builtin_ia32_mfence();
#elif defined(__aarch64__)
    for (; line < end; line += CACHE_LINE)
        __asm__ volatile("dc civac, %0" : : "r"(line) : "memory");
    __asm__ volatile("dsb ish" : : : "memory");
#else
    (void)line, (void)end;
#endif
}
