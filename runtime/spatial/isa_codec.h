/* The binary encoding of one instruction (docs/isa.md, "Encoding"): 256
 * bits, little-endian; bits 0-5 the opcode, 6-9 the dependency flags, 10-15
 * reserved (zero), then the operands of the table in isa_table.c packed
 * least significant bit first from bit 16; every bit after them is zero.
 *
 * Encoding and decoding apply the same rules (isa_check), so whatever
 * encodes decodes back to the same IsaInstr and whatever decodes encodes
 * back to the same bytes. */
#ifndef DNNC_SPATIAL_ISA_CODEC_H
#define DNNC_SPATIAL_ISA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa.h"

/* The values a field holds: 0..2^bits-1, the two's complement range of a
 * signed field, 0..1 for a flag. Enumerated kinds also need a name
 * (isa_kind_value_name). */
void isa_field_range(const IsaFieldInfo *f, int64_t *lo, int64_t *hi);

/* Whether in is an instruction: a valid opcode, flags its unit has, every
 * operand within its field and of its kind, operands past the opcode's
 * zero, cfg.order a permutation, ld/st box lengths at least 1. On failure
 * writes why to err ("cfg.map: dataflow = 7 is not a dataflow (...)"). */
bool isa_check(const IsaInstr *in, char *err, size_t errsz);

/* Packs a checked instruction into 32 bytes; false (and out untouched)
 * if isa_check fails. */
bool isa_encode(const IsaInstr *in, uint8_t out[ISA_INSTR_BYTES], char *err, size_t errsz);

/* Unpacks 32 bytes; false if the opcode is 0 or unknown, a reserved or
 * unused bit is set, or the operands fail isa_check. */
bool isa_decode(const uint8_t in[ISA_INSTR_BYTES], IsaInstr *out, char *err, size_t errsz);

#endif
