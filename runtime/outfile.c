#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool outfile_open(OutFile *o, const char *path, char *err, size_t errsz)
{
    memset(o, 0, sizeof *o);
    size_t n = strlen(path);
    o->path = strdup(path);
    o->tmp_path = malloc(n + 16);
    if (!o->path || !o->tmp_path) {
        snprintf(err, errsz, "out of memory");
        outfile_abort(o);
        return false;
    }
    snprintf(o->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp_path);
    if (fd < 0) {
        snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
        free(o->tmp_path);
        o->tmp_path = NULL;
        outfile_abort(o);
        return false;
    }
    /* mkstemp makes the file private; give it the mode a plain create would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd);
        snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
        outfile_abort(o);
        return false;
    }
    return true;
}

static void release(OutFile *o)
{
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
}

bool outfile_commit(OutFile *o, char *err, size_t errsz)
{
    bool ok = !ferror(o->f);
    ok &= fclose(o->f) == 0;
    o->f = NULL;
    if (ok && rename(o->tmp_path, o->path) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, errsz, "cannot write '%s': %s", o->path, strerror(errno));
        remove(o->tmp_path);
    }
    release(o);
    return ok;
}

void outfile_abort(OutFile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->tmp_path)
        remove(o->tmp_path);
    release(o);
}
