#define _GNU_SOURCE /* O_TMPFILE, fallocate */
#include "weight_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

struct WeightFile {
    unsigned char *bytes;
    size_t len;
    int fd;
};

static bool on_memory_file_system(const char *dir)
{
    struct statfs s;
    return statfs(dir, &s) == 0 && (s.f_type == TMPFS_MAGIC || s.f_type == RAMFS_MAGIC);
}

/* The file's descriptor, or -1 with err set. */
static int open_unnamed(const char *dir, size_t len, char *err, size_t errsz)
{
    if (on_memory_file_system(dir)) {
        snprintf(err, errsz, "'%s' is on a memory file system", dir);
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "cannot make an unnamed file in '%s': %s", dir, strerror(errno));
        return -1;
    }
    int rc = fallocate(fd, 0, 0, (off_t)len);
    if (rc != 0) {
        snprintf(err, errsz, "no room for %zu bytes of weights in '%s': %s", len, dir, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

WeightFile *weight_file_create(const char *dir, size_t len, char *err, size_t errsz)
{
    if (len == 0 || len > (size_t)INT64_MAX) {
        snprintf(err, errsz, "no weights to keep");
        return NULL;
    }
    int fd = open_unnamed(dir, len, err, errsz);
    if (fd < 0)
        return NULL;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    WeightFile *f = p == MAP_FAILED ? NULL : malloc(sizeof *f);
    if (!f) {
        snprintf(err, errsz, "cannot map %zu bytes of weights in '%s': %s", len, dir,
                 p == MAP_FAILED ? strerror(errno) : "out of memory");
        if (p != MAP_FAILED)
            munmap(p, len);
        close(fd);
        return NULL;
    }
    *f = (WeightFile){p, len, fd};
    return f;
}

unsigned char *weight_file_bytes(const WeightFile *f) { return f->bytes; }

bool weight_file_holds(const WeightFile *f, const void *p)
{
    uintptr_t at = (uintptr_t)p, base = (uintptr_t)f->bytes;
    return at >= base && at - base < f->len;
}

static bool fits(const WeightFile *f, size_t at, size_t len) { return at <= f->len && len <= f->len - at; }

bool weight_file_write(WeightFile *f, size_t at, const void *src, size_t len)
{
    if (!fits(f, at, len))
        return false;
    const unsigned char *from = src;
    while (len > 0) {
        ssize_t put = pwrite(f->fd, from, len, (off_t)at);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return false;
        from += put, at += (size_t)put, len -= (size_t)put;
    }
    return true;
}

/* Large enough that the system calls cost nothing beside the copies. */
#define COPY_CHUNK ((size_t)1 << 20)

bool weight_file_copy_in(WeightFile *f, size_t at, int fd, size_t offset, size_t len)
{
    if (!fits(f, at, len))
        return false;
    unsigned char *chunk = len ? malloc(len < COPY_CHUNK ? len : COPY_CHUNK) : NULL;
    bool ok = chunk || !len;
    while (ok && len > 0) {
        ssize_t got = pread(fd, chunk, len < COPY_CHUNK ? len : COPY_CHUNK, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        ok = got > 0 && weight_file_write(f, at, chunk, (size_t)got);
        if (ok)
            at += (size_t)got, offset += (size_t)got, len -= (size_t)got;
    }
    free(chunk);
    return ok;
}

/* The whole pages that hold [p, p + len), clipped to the mapping; false
 * when none of it lies in the mapping. */
static bool pages_of(const WeightFile *f, const void *p, size_t len, uintptr_t *start, uintptr_t *end)
{
    uintptr_t base = (uintptr_t)f->bytes, limit = base + f->len, page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p, hi = len > UINTPTR_MAX - lo ? UINTPTR_MAX : lo + len;
    if (lo >= limit || hi <= base)
        return false;
    *start = lo < base ? base : lo / page * page;
    *end = hi > limit ? limit : (hi + page - 1) / page * page;
    return true;
}

void weight_file_release(const WeightFile *f, const void *p, size_t len)
{
    uintptr_t start, end;
    /* A shared file mapping: the kernel drops the pages from the process
     * and keeps the bytes in the file. */
    if (pages_of(f, p, len, &start, &end))
        (void)madvise((void *)start, end - start, MADV_DONTNEED);
}

void weight_file_prepare_write(const WeightFile *f, void *p, size_t len)
{
    uintptr_t start, end;
    if (pages_of(f, p, len, &start, &end))
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

void weight_file_free(WeightFile *f)
{
    if (!f)
        return;
    munmap(f->bytes, f->len);
    close(f->fd);
    free(f);
}
