/* Output files that appear whole or not at all: data goes to a temporary
 * file beside the target, which is renamed over it only after every byte was
 * written. A failed run never leaves a partial output behind. */
#ifndef DNNC_OUTFILE_H
#define DNNC_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct OutFile {
    FILE *f;
    char *path;
    char *tmp_path;
} OutFile;

/* Opens a temporary file next to path; on failure writes why to err. */
bool outfile_open(OutFile *o, const char *path, char *err, size_t errsz);
/* Flushes, closes and renames into place; removes the temporary on failure. */
bool outfile_commit(OutFile *o, char *err, size_t errsz);
/* Closes and removes the temporary file. */
void outfile_abort(OutFile *o);

#endif
