#include "fileio.h"
#include "big_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

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

bool map_whole_file(const char *path, size_t max, unsigned char **bytes, size_t *len, char *err, size_t errsz)
{
    *bytes = NULL;
    *len = 0;
    size_t size;
    FILE *f = open_bounded(path, max, &size, err, errsz);
    if (!f)
        return false;
    void *p = size ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fileno(f), 0) : NULL;
    fclose(f); /* the mapping stays */
    if (p == MAP_FAILED) {
        snprintf(err, errsz, "cannot map '%s' (%zu bytes): %s", path, size, strerror(errno));
        return false;
    }
    *bytes = p;
    *len = size;
    return true;
}

void unmap_whole_file(unsigned char *bytes, size_t len)
{
    if (bytes)
        munmap(bytes, len);
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
