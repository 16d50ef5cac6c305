/* Little-endian fixed-width fields for the ISA's binary files (program and
 * DRAM image): a growable writer, and a reader that never reads past the
 * end and names the byte offset of whatever is missing. */
#ifndef DNNC_SPATIAL_ISA_BYTES_H
#define DNNC_SPATIAL_ISA_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct IsaWriter {
    uint8_t *buf;
    size_t len, cap;
    bool failed; /* out of memory: every later write is dropped */
} IsaWriter;

void isa_w_bytes(IsaWriter *w, const void *p, size_t n);
void isa_w_u8(IsaWriter *w, uint8_t v);
void isa_w_u16(IsaWriter *w, uint16_t v);
void isa_w_u32(IsaWriter *w, uint32_t v);
void isa_w_u64(IsaWriter *w, uint64_t v);
void isa_w_f64(IsaWriter *w, double v);
/* The header of both ISA files: an 8-byte magic, u32 version, u32 0. */
void isa_w_header(IsaWriter *w, const char *magic, uint32_t version);
/* Hands the bytes written over (*buf, malloc'd), or fails if memory ran
 * out on the way; the writer is empty after. */
bool isa_w_finish(IsaWriter *w, uint8_t **buf, size_t *len, char *err, size_t errsz);
/* Writes len bytes to path whole or not at all (runtime/outfile.h), then
 * frees buf. */
bool isa_write_file(const char *path, uint8_t *buf, size_t len, char *err, size_t errsz);

typedef struct IsaReader {
    const uint8_t *buf;
    size_t len, pos;
    char *err;
    size_t errsz;
} IsaReader;

size_t isa_r_left(const IsaReader *r);
/* Fails with "byte N: truncated: WHAT needs K bytes, L are left" unless n
 * bytes remain. */
bool isa_r_need(IsaReader *r, size_t n, const char *what);
/* Each reads one field or fails as isa_r_need. */
bool isa_r_bytes(IsaReader *r, void *p, size_t n, const char *what);
bool isa_r_u8(IsaReader *r, uint8_t *v, const char *what);
bool isa_r_u16(IsaReader *r, uint16_t *v, const char *what);
bool isa_r_u32(IsaReader *r, uint32_t *v, const char *what);
bool isa_r_u64(IsaReader *r, uint64_t *v, const char *what);
bool isa_r_f64(IsaReader *r, double *v, const char *what);
/* Reads and checks the header isa_w_header writes; `what` names the kind
 * of file ("a dnnc ISA program"). */
bool isa_r_header(IsaReader *r, const char *magic, uint32_t version, const char *what);
/* Fails with "byte N: MESSAGE" (the position of the field just read
 * starts at `at`). */
bool isa_r_fail(IsaReader *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
