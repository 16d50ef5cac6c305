/* libFuzzer target: any bytes given to the program file loader (or, when
 * they start with the DRAM image's magic, to the DRAM image loader) must
 * load or be refused with a message, never crash, leak, hang or trip a
 * sanitizer. The loaders accept only canonical files, so whatever loads
 * must save back to the very same bytes; a program must also disassemble
 * to text that assembles back to the same program. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa_asm.h"
#include "isa_dram.h"
#include "isa_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       const char *what)
{
    if (alen != blen || (alen && memcmp(a, b, alen) != 0)) {
        fprintf(stderr, "fuzz_isa_decode: %s: %zu bytes became %zu different bytes\n", what, alen,
                blen);
        abort();
    }
}

static void check_program(const IsaProgram *p, const uint8_t *data, size_t size)
{
    char err[400];
    uint8_t *buf;
    size_t len;
    if (!isa_program_serialize(p, &buf, &len, err, sizeof err)) {
        fprintf(stderr, "fuzz_isa_decode: a loaded program does not save: %s\n", err);
        abort();
    }
    same_bytes(data, size, buf, len, "load + save");
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f)
        abort();
    isa_disasm(p, f);
    fclose(f);
    IsaProgram back;
    if (!isa_asm_parse("disasm.s", text, tlen, &back, stderr)) {
        fprintf(stderr, "fuzz_isa_decode: the disassembly does not assemble:\n%s", text);
        abort();
    }
    uint8_t *buf2;
    size_t len2;
    if (!isa_program_serialize(&back, &buf2, &len2, err, sizeof err))
        abort();
    same_bytes(buf, len, buf2, len2, "disassemble + assemble");
    free(buf);
    free(buf2);
    free(text);
    isa_program_free(&back);
}

static void check_dram(const IsaDram *d, const uint8_t *data, size_t size)
{
    char err[400];
    uint8_t *buf;
    size_t len;
    if (!isa_dram_serialize(d, &buf, &len, err, sizeof err)) {
        fprintf(stderr, "fuzz_isa_decode: a loaded DRAM image does not save: %s\n", err);
        abort();
    }
    same_bytes(data, size, buf, len, "DRAM image load + save");
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[400];
    if (size >= 8 && memcmp(data, ISA_DRAM_MAGIC, 8) == 0) {
        IsaDram d;
        if (isa_dram_load(data, size, &d, err, sizeof err)) {
            check_dram(&d, data, size);
            isa_dram_free(&d);
        }
        return 0;
    }
    IsaProgram p;
    if (isa_program_load(data, size, &p, err, sizeof err)) {
        check_program(&p, data, size);
        isa_program_free(&p);
    }
    return 0;
}
