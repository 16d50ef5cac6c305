/* The DRAM image of a program: the words that must be in DRAM before it
 * runs (weights and biases, in the layout the program's cfg.tensor
 * instructions describe), as segments of consecutive words. codegen writes
 * it beside the program; the simulator copies it into its DRAM
 * (docs/isa.md, "The DRAM image file"). */
#ifndef DNNC_SPATIAL_ISA_DRAM_H
#define DNNC_SPATIAL_ISA_DRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISA_DRAM_MAGIC "DNNCDRM1"
#define ISA_DRAM_VERSION 1
/* The largest image file isa_dram_load_file reads. */
#define ISA_DRAM_FILE_MAX ((size_t)4 << 30)

typedef struct IsaDramSegment {
    uint64_t base;   /* word address */
    uint64_t count;  /* words, at least 1 */
    int32_t *values; /* count words */
} IsaDramSegment;

typedef struct IsaDram {
    IsaDramSegment *segs;
    size_t n, cap;
} IsaDram;

void isa_dram_init(IsaDram *d);
void isa_dram_free(IsaDram *d);
/* Appends a copy of count values at word address base; false with a
 * message if count is 0, the segment ends past 2^40 words, or memory runs
 * out. Overlaps are found by isa_dram_check. */
bool isa_dram_add(IsaDram *d, uint64_t base, const int32_t *values, uint64_t count, char *err,
                  size_t errsz);
/* Whether every segment lies inside [0, dram_words) and no two overlap. */
bool isa_dram_check(const IsaDram *d, uint64_t dram_words, char *err, size_t errsz);
/* Copies every segment into cells[0 .. dram_words), after isa_dram_check. */
bool isa_dram_apply(const IsaDram *d, int64_t *cells, uint64_t dram_words, char *err,
                    size_t errsz);

/* The file: magic "DNNCDRM1", u32 version, u32 reserved (0), u64 segments,
 * each: u64 base, u64 count, count little-endian int32 words. */
bool isa_dram_serialize(const IsaDram *d, uint8_t **buf, size_t *len, char *err, size_t errsz);
bool isa_dram_save(const IsaDram *d, const char *path, char *err, size_t errsz);
/* On failure *out is left empty (needs no free). */
bool isa_dram_load(const uint8_t *buf, size_t len, IsaDram *out, char *err, size_t errsz);
bool isa_dram_load_file(const char *path, IsaDram *out, char *err, size_t errsz);

#endif
