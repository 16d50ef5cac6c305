/* A program for the spatial accelerator: the machine it was compiled for,
 * the names of its layers, where its inputs and outputs live in DRAM, the
 * instruction stream and the DRAM size it needs. codegen/spatial builds one,
 * the simulator runs one; the binary file (isa_program_file.c) and the
 * assembly (isa_asm.c) are two spellings of the same thing
 * (docs/isa.md, "Files"). */
#ifndef DNNC_SPATIAL_ISA_PROGRAM_H
#define DNNC_SPATIAL_ISA_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa.h"
#include "isa_machine.h"

/* Names (machine, layers, inputs and outputs) are at most this many bytes,
 * none a control character: they go into assembly text between quotes. */
#define ISA_NAME_MAX 1024
/* DRAM addresses are 40-bit word addresses (cfg.tensor, pool). */
#define ISA_DRAM_WORDS_MAX ((uint64_t)1 << 40)
/* cfg.layer's id is 16 bits. */
#define ISA_LAYERS_MAX 65536

/* An input or output of the network: a dense n c h w tensor of words at
 * `base`, holding fixed-point values with `frac` fractional bits. */
typedef struct IsaIo {
    char *name;
    bool is_output;
    uint64_t base;
    int64_t shape[4]; /* n c h w, each 1..2^31-1 */
    int frac;         /* -128..127 */
} IsaIo;

typedef struct IsaProgram {
    IsaMachine machine;
    char **layers; /* layer id -> name (cfg.layer's id) */
    size_t n_layers, cap_layers;
    IsaIo *io;
    size_t n_io, cap_io;
    IsaInstr *instrs;
    size_t n_instrs, cap_instrs;
    uint64_t dram_words; /* DRAM cells the program addresses: [0, dram_words) */
} IsaProgram;

/* An empty program on the default machine (isa_machine_default). */
void isa_program_init(IsaProgram *p);
void isa_program_free(IsaProgram *p);

/* Appends a copy of in after isa_check; false (and nothing appended) if it
 * is no instruction or memory runs out. */
bool isa_program_append(IsaProgram *p, const IsaInstr *in, char *err, size_t errsz);
/* Adds a layer name; returns its id, or -1 with a message (bad name, more
 * than ISA_LAYERS_MAX layers, out of memory). */
int64_t isa_program_add_layer(IsaProgram *p, const char *name, char *err, size_t errsz);
/* Adds an input or output (the name is copied); false with a message if the
 * name or shape is bad or memory runs out. Whether it lies inside
 * dram_words is checked by isa_program_check. */
bool isa_program_add_io(IsaProgram *p, const IsaIo *io, char *err, size_t errsz);

/* Whether the program is whole: a valid machine, names, every instruction
 * checked (isa_check), every cfg.layer id naming a layer, dram_words at
 * most ISA_DRAM_WORDS_MAX and every input and output inside it. */
bool isa_program_check(const IsaProgram *p, char *err, size_t errsz);

/* Whether the len bytes at s may be a name (at most ISA_NAME_MAX bytes,
 * no control character); "what" starts the message. */
bool isa_name_check(const char *s, size_t len, const char *what, char *err, size_t errsz);
/* Whether an I/O entry's name, shape and Q format are valid. */
bool isa_io_check(const IsaIo *io, char *err, size_t errsz);
/* Whether a (checked) I/O entry lies inside [0, dram_words). */
bool isa_io_inside(const IsaIo *io, uint64_t dram_words, char *err, size_t errsz);

/* ---- the binary file (isa_program_file.c) -------------------------------- */

#define ISA_PROGRAM_MAGIC "DNNCISA1"
#define ISA_PROGRAM_VERSION 1
/* The largest program file isa_program_load_file reads. */
#define ISA_PROGRAM_FILE_MAX ((size_t)1 << 30)

/* The file's bytes (malloc'd into *buf); false if the program fails
 * isa_program_check or memory runs out. */
bool isa_program_serialize(const IsaProgram *p, uint8_t **buf, size_t *len, char *err,
                           size_t errsz);
/* Writes the file whole or not at all. */
bool isa_program_save(const IsaProgram *p, const char *path, char *err, size_t errsz);
/* Reads a program from len bytes; on failure *out is left empty (and
 * needs no free) and err says what is wrong at which byte or instruction. */
bool isa_program_load(const uint8_t *buf, size_t len, IsaProgram *out, char *err, size_t errsz);
bool isa_program_load_file(const char *path, IsaProgram *out, char *err, size_t errsz);

#endif
