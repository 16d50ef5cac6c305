/* The text form of a program (docs/isa.md, "Assembly"): directives for
 * the machine, layer names, inputs and outputs and the DRAM size, then one
 * instruction a line as its mnemonic and `field=value` operands.
 *
 *   .machine name="eyeriss" pe_rows=12 pe_cols=14 ...
 *   .dram_words 4096
 *   .layer 0 "conv1"
 *   .input "data" base=0 shape=[1,1,28,28] frac=8
 *   cfg.layer id=0 kind=conv group=0 groups=1
 *   cfg.order level=buf order=N,M,C,P,Q,R,S
 *   ld type=ifmap rlc=1 box=[0+1,0+3,0+11,0+227] deps=push_next
 *
 * isa_disasm prints the canonical text, which isa_asm_parse reads back to
 * the same program; binary -> text -> binary is byte-identical. */
#ifndef DNNC_SPATIAL_ISA_ASM_H
#define DNNC_SPATIAL_ISA_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "isa_program.h"

/* Assembles len bytes of text (the file `name`, for messages). Every error
 * goes to err (may be NULL) as "name:line:col: error: message" with the
 * line and a caret, up to 20; on any error returns false and leaves *out
 * empty (needs no free). */
bool isa_asm_parse(const char *name, const char *text, size_t len, IsaProgram *out, FILE *err);
/* Reads and assembles a file; a file that cannot be read is an error too. */
bool isa_asm_parse_file(const char *path, IsaProgram *out, FILE *err);

/* Prints the canonical text of a program (which must pass
 * isa_program_check). */
void isa_disasm(const IsaProgram *p, FILE *out);
/* Prints one instruction as its canonical line, without a newline: for
 * traces and messages. */
void isa_disasm_instr(const IsaInstr *in, FILE *out);
/* Prints a name between double quotes, escaping '"' and '\'. */
void isa_disasm_string(const char *s, FILE *out);

#endif
