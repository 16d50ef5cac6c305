/* libFuzzer target: any text given to the assembler must assemble or give
 * file:line:col errors, never crash, leak, hang or trip a sanitizer. A
 * program that assembles must disassemble to canonical text that assembles
 * to the same program (the same file bytes) and disassembles to the same
 * text again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa_asm.h"
#include "isa_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *disasm_text(const IsaProgram *p, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    isa_disasm(p, f);
    fclose(f);
    return text;
}

static uint8_t *file_bytes(const IsaProgram *p, size_t *len)
{
    char err[400];
    uint8_t *buf;
    if (!isa_program_serialize(p, &buf, len, err, sizeof err)) {
        fprintf(stderr, "fuzz_isa_asm: an assembled program does not save: %s\n", err);
        abort();
    }
    return buf;
}

static void check_round_trip(const IsaProgram *p)
{
    size_t tlen, tlen2, blen, blen2;
    char *text = disasm_text(p, &tlen);
    IsaProgram back;
    if (!isa_asm_parse("disasm.s", text, tlen, &back, stderr)) {
        fprintf(stderr, "fuzz_isa_asm: the disassembly does not assemble:\n%s", text);
        abort();
    }
    uint8_t *a = file_bytes(p, &blen), *b = file_bytes(&back, &blen2);
    char *text2 = disasm_text(&back, &tlen2);
    if (blen != blen2 || memcmp(a, b, blen) != 0 || tlen != tlen2 || memcmp(text, text2, tlen)) {
        fprintf(stderr, "fuzz_isa_asm: disassembling and assembling changed the program:\n%s\n"
                "---\n%s", text, text2);
        abort();
    }
    free(a);
    free(b);
    free(text);
    free(text2);
    isa_program_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *sink = fopen("/dev/null", "w");
    IsaProgram p;
    if (isa_asm_parse("fuzz.s", (const char *)data, size, &p, sink)) {
        check_round_trip(&p);
        isa_program_free(&p);
    }
    if (sink)
        fclose(sink);
    return 0;
}
