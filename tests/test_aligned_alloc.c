/* libdnnrt's dnnrt_aligned_alloc (runtime/aligned_alloc.c): 64-byte
 * alignment for every size, 2 MiB for the large buffers of weights and
 * workspaces, which are advised to transparent huge pages before they are
 * first touched (the mapping's VmFlags then show "hg" in /proc/self/smaps
 * wherever the kernel has transparent huge pages, whether or not it finds
 * free huge pages to give). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnnrt.h"
#include "test_util.h"

#define MIB ((size_t)1 << 20)

static void test_small_sizes_align_to_64(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 63, 64, 4096, 3 * MIB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = dnnrt_aligned_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xab, sizes[i]);
        free(p);
    }
}

static void test_large_sizes_align_to_2_mib(void **state)
{
    (void)state;
    size_t sizes[] = {4 * MIB, 4 * MIB + 17, 40 * MIB + 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = dnnrt_aligned_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % (2 * MIB), 0);
        memset(p, 0xcd, sizes[i]); /* every byte is the caller's */
        assert_int_equal(p[sizes[i] - 1], 0xcd);
        free(p);
    }
}

/* The VmFlags line of the mapping that holds p, in line (empty if none). */
static void vm_flags_of(const void *p, char *line, size_t size)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    uintptr_t at = (uintptr_t)p;
    bool inside = false;
    line[0] = '\0';
    char buf[512];
    while (fgets(buf, sizeof buf, f)) {
        unsigned long lo, hi;
        if (sscanf(buf, "%lx-%lx ", &lo, &hi) == 2)
            inside = at >= lo && at < hi;
        else if (inside && strncmp(buf, "VmFlags:", 8) == 0) {
            snprintf(line, size, "%s", buf);
            break;
        }
    }
    fclose(f);
}

static void test_large_buffers_ask_for_huge_pages(void **state)
{
    (void)state;
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0) {
        /* Said, not skipped silently: the alignment is checked above. */
        printf("this kernel has no transparent huge pages: only the alignment is checked\n");
        return;
    }
    unsigned char *p = dnnrt_aligned_alloc(16 * MIB);
    assert_non_null(p);
    char flags[512];
    vm_flags_of(p, flags, sizeof flags);
    assert_non_null(strstr(flags, " hg"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_sizes_align_to_64),
        cmocka_unit_test(test_large_sizes_align_to_2_mib),
        cmocka_unit_test(test_large_buffers_ask_for_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
