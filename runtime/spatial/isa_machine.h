/* The machine a program was compiled for, carried in the program so that
 * the simulator runs it on the same PE array, memories and energies the
 * mapper planned with. The fields mirror SpatialArch (targets/spatial/
 * arch.h) without depending on it: the runtime never links targets/, and
 * codegen copies the fields across.
 *
 * One key table (isa_machine.c) drives the file format, the assembly's
 * `.machine` keys, the disassembly and the range checks, which are those
 * of the description files (targets/spatial/arch_keys.c). */
#ifndef DNNC_SPATIAL_ISA_MACHINE_H
#define DNNC_SPATIAL_ISA_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISA_MACHINE_NAME_MAX 64 /* bytes of the name, its NUL included */

typedef struct IsaMachine {
    char name[ISA_MACHINE_NAME_MAX];
    int64_t pe_rows, pe_cols;
    int64_t rf_words[3]; /* per-PE scratchpad words: ifmap, filter, psum */
    int64_t buffer_bytes;
    int64_t word_bits;
    int64_t dram_bus_bits;
    int noc; /* 0 multicast, 1 broadcast */
    bool rlc, zero_skip;
    int64_t rlc_run_bits, rlc_word_bits;
    double energy[4]; /* per word access: dram, buffer, array, rf */
    double energy_mac;
    double clock_mhz;
} IsaMachine;

typedef enum {
    ISA_MKEY_NAME, /* the name: a string */
    ISA_MKEY_INT,  /* an int64_t in [lo, hi] */
    ISA_MKEY_BOOL, /* a bool, 0 or 1 */
    ISA_MKEY_NOC,  /* an int, multicast (0) or broadcast (1) */
    ISA_MKEY_REAL, /* a finite double in [lo, hi] */
} IsaMachineKeyKind;

typedef struct IsaMachineKey {
    const char *key; /* as the assembly writes it: "rf.ifmap" */
    IsaMachineKeyKind kind;
    size_t offset; /* in IsaMachine */
    double lo, hi;
    int line; /* the disassembly's .machine line that shows it */
} IsaMachineKey;

extern const IsaMachineKey isa_machine_keys[];
extern const int isa_machine_n_keys;

/* Eyeriss v1 (targets/spatial/arch/eyeriss.arch): what a program that sets
 * no machine runs on. */
void isa_machine_default(IsaMachine *m);

/* Whether every field is within its key's range, the name a string of
 * printable characters; on failure writes why to err. */
bool isa_machine_check(const IsaMachine *m, char *err, size_t errsz);
/* Whether one key's value is in range (the value as the key's kind:
 * int64_t for INT, 0/1 for BOOL and NOC, double for REAL). */
bool isa_machine_key_check_int(const IsaMachineKey *k, int64_t v, char *err, size_t errsz);
bool isa_machine_key_check_real(const IsaMachineKey *k, double v, char *err, size_t errsz);

/* The shortest text of v that strtod reads back to the same bits. */
void isa_format_double(double v, char *buf, size_t size);

#endif
