/* The spatial accelerator described by data (DESIGN.md, "Targets: spatial";
 * survey Section V-B): a PE array with per-PE scratchpads (the RF), a global
 * buffer, a NoC and DRAM, with a normalised energy per access at each level
 * (survey Fig. 22). Nothing about the machine is hard-coded elsewhere: the
 * mapper, the energy model and `dnnc map` read every number from here.
 *
 * A description file (docs/accelerator.md, "Description files") sets the
 * fields of one SpatialArch; `[dataflow NAME]` sections give per-dataflow
 * variants, which is how the survey's equal-area comparison (Section V-B5)
 * is written down: every dataflow gets the same silicon area, spent
 * differently between RF and buffer. */
#ifndef DNNC_SPATIAL_ARCH_H
#define DNNC_SPATIAL_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph.h" /* Dataflow */

/* The three data types of a CONV/FC layer (survey Fig. 21). */
typedef enum { DATA_IFMAP, DATA_FILTER, DATA_PSUM, DATA_COUNT } DataType;

/* The memory hierarchy, outermost first (survey Fig. 22). */
typedef enum { LEVEL_DRAM, LEVEL_BUFFER, LEVEL_ARRAY, LEVEL_RF, LEVEL_COUNT } MemLevel;

/* How the NoC delivers one value to several PEs: multicast reaches only the
 * PEs that use it (Eyeriss); broadcast reaches every active PE. */
typedef enum { NOC_MULTICAST, NOC_BROADCAST } NocKind;

#define DATAFLOW_KINDS (DATAFLOW_RS + 1) /* indexable by Dataflow */
#define ARCH_NAME_MAX 64

typedef struct SpatialArch {
    char name[ARCH_NAME_MAX];
    int64_t pe_rows, pe_cols;
    int64_t rf_words[DATA_COUNT]; /* per-PE scratchpad entries of each data type */
    int64_t buffer_bytes;         /* global buffer */
    int64_t word_bits;            /* fixed-point word; every data type uses it */
    int64_t dram_bus_bits;        /* off-chip bus width: DRAM words per cycle */
    NocKind noc;
    double energy[LEVEL_COUNT];   /* per word access, in units of one MAC */
    double energy_mac;            /* one multiply-accumulate */
    double area_rf_byte;          /* silicon area of one RF byte, in buffer bytes */
    double clock_mhz;             /* only to turn cycles into time */
    bool rlc;                     /* run-length compression of activations off chip */
    bool zero_skip;               /* gate the filter read and MAC on a zero ifmap or weight */
    int64_t rlc_run_bits;         /* RLC: bits of a zero-run field (Eyeriss: 5) */
    int64_t rlc_word_bits;        /* RLC: bits of a packed word (Eyeriss: 64) */
    uint64_t precisions;          /* what the PEs multiply: arch_precision_int(b) bits and
                                   * ARCH_PRECISION_F32; 0: any (nothing declared) */
} SpatialArch;

/* `precisions`: integer operands of 1 to ARCH_PRECISION_INT_MAX bits, and
 * float32. */
#define ARCH_PRECISION_INT_MAX 32
#define ARCH_PRECISION_F32 ((uint64_t)1 << 63)
static inline uint64_t arch_precision_int(int bits)
{
    return bits >= 1 && bits <= ARCH_PRECISION_INT_MAX ? (uint64_t)1 << (bits - 1) : 0;
}
/* "8, 16, f32", or "any" for 0. */
void arch_precisions_format(uint64_t precisions, char *buf, size_t size);

/* A description file: the base machine and, where a `[dataflow NAME]`
 * section exists, the variant that dataflow runs on. */
typedef struct ArchSet {
    SpatialArch base;
    bool has_variant[DATAFLOW_KINDS];
    SpatialArch variant[DATAFLOW_KINDS];
} ArchSet;

const char *data_type_name(DataType t);
const char *mem_level_name(MemLevel l);

/* The machine a dataflow runs on: its variant if the file has one. */
const SpatialArch *arch_for(const ArchSet *s, Dataflow d);

/* Parses a description file held in memory. Keys not given keep their
 * Eyeriss v1 values. Every error is printed to err (may be NULL) as
 * "name:line: error: message"; returns false if there was any. */
bool arch_parse(const char *name, const char *text, size_t len, ArchSet *out, FILE *err);

/* A built-in description by name ("eyeriss", "eyeriss256"), or a file path:
 * a name without '/' or '.' must be built in. Errors go to err. */
bool arch_load(const char *name_or_path, ArchSet *out, FILE *err);

/* The text of a built-in description, or NULL. */
const char *arch_builtin_text(const char *name);
/* The built-in names, NULL-terminated. */
extern const char *const arch_builtin_names[];

/* Total storage area (RF of every PE plus buffer) in buffer bytes: what the
 * equal-area comparison holds constant. */
double arch_storage_area(const SpatialArch *a);
int64_t arch_pes(const SpatialArch *a);
/* Prints the description back as file text (keys in canonical order). */
void arch_print(const SpatialArch *a, FILE *out);

#endif
