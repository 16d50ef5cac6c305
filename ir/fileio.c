#include "fileio.h"
#include "big_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool read_whole_file(const char *path, size_t max, unsigned char **bytes, size_t *len, char *err,
                     size_t errsz)
{
    *bytes = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "'%s' is not a regular file", path);
        fclose(f);
        return false;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errsz, "'%s' is larger than the %zu-byte limit", path, max);
        fclose(f);
        return false;
    }
    size_t size = (size_t)st.st_size;
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
