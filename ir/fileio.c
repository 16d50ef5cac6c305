#include "fileio.h"
#include "big_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path for reading if it is a regular file of at most max bytes. */
static FILE *open_bounded(const char *path, size_t max, size_t *size, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "'%s' is not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errsz, "'%s' is larger than the %zu-byte limit", path, max);
        fclose(f);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}

bool mapped_file_open(MappedFile *f, const char *path, size_t max, char *err, size_t errsz)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t size;
    FILE *file = open_bounded(path, max, &size, err, errsz);
    if (!file)
        return false;
    void *p = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(file), 0) : NULL;
    int fd = p == MAP_FAILED ? -1 : dup(fileno(file));
    fclose(file);
    if (p == MAP_FAILED || fd < 0) {
        snprintf(err, errsz, "cannot map '%s' (%zu bytes): %s", path, size, strerror(errno));
        if (p != MAP_FAILED && p)
            munmap(p, size);
        return false;
    }
    f->bytes = p;
    f->len = size;
    f->fd = fd;
    return true;
}

bool mapped_file_read(const MappedFile *f, size_t offset, void *dst, size_t len)
{
    if (offset > f->len || len > f->len - offset)
        return false;
    unsigned char *out = dst;
    while (len > 0) {
        ssize_t got = pread(f->fd, out, len, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        out += got, offset += (size_t)got, len -= (size_t)got;
    }
    return true;
}

void mapped_file_close(MappedFile *f)
{
    if (f->bytes)
        munmap((void *)f->bytes, f->len);
    if (f->fd >= 0)
        close(f->fd);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

bool read_whole_file(const char *path, size_t max, unsigned char **bytes, size_t *len, char *err,
                     size_t errsz)
{
    *bytes = NULL;
    *len = 0;
    size_t size;
    FILE *f = open_bounded(path, max, &size, err, errsz);
    if (!f)
        return false;
    unsigned char *buf = big_malloc(size);
    if (!buf) {
        snprintf(err, errsz, "out of memory reading '%s' (%zu bytes)", path, size);
        fclose(f);
        return false;
    }
    size_t got = fread(buf, 1, size, f);
    bool failed = ferror(f) || got != size;
    fclose(f);
    if (failed) {
        snprintf(err, errsz, "cannot read '%s'", path);
        free(buf);
        return false;
    }
    *bytes = buf;
    *len = size;
    return true;
}
