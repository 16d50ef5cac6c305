/* libFuzzer target: any byte string given to the architecture description
 * parser must give a machine or file:line errors, never a crash, leak, hang
 * or sanitizer report. Every machine that parses (the base and each
 * dataflow's variant) is printed with arch_print and parsed again, and must
 * come back equal field by field: arch_print writes description-file text,
 * and a file that describes another machine than the one printed, even by
 * one bit of a double, would change every energy `dnnc map` reports. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "arch_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bit for bit: printed exactly, a double reads back with the same bits. */
static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Every field of SpatialArch, named here rather than taken from the key
 * table that arch_print itself follows, so that a field the table forgets
 * shows up as a difference. */
static bool arch_equal(const SpatialArch *a, const SpatialArch *b)
{
    bool same = strcmp(a->name, b->name) == 0 && a->pe_rows == b->pe_rows &&
                a->pe_cols == b->pe_cols && a->buffer_bytes == b->buffer_bytes &&
                a->word_bits == b->word_bits && a->dram_bus_bits == b->dram_bus_bits &&
                a->noc == b->noc && same_double(a->energy_mac, b->energy_mac) &&
                same_double(a->area_rf_byte, b->area_rf_byte) &&
                same_double(a->clock_mhz, b->clock_mhz) && a->rlc == b->rlc &&
                a->zero_skip == b->zero_skip && a->rlc_run_bits == b->rlc_run_bits &&
                a->rlc_word_bits == b->rlc_word_bits && a->precisions == b->precisions;
    for (int t = 0; t < DATA_COUNT; t++)
        same = same && a->rf_words[t] == b->rf_words[t];
    for (int l = 0; l < LEVEL_COUNT; l++)
        same = same && same_double(a->energy[l], b->energy[l]);
    return same;
}

static void check_round_trip(const SpatialArch *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    arch_print(a, f);
    fclose(f);
    ArchSet back;
    if (!arch_parse("printed.arch", text, len, &back, stderr) || !arch_equal(a, &back.base)) {
        fprintf(stderr, "fuzz_arch: the printed machine does not parse back to itself:\n%s", text);
        abort();
    }
    free(text);
}

/* Text mutations rarely make a number of 17 significant digits, yet those
 * are what a printer that rounds gets wrong. So the input's first bytes
 * are also read as doubles, 8 at a time, and each is written exactly as
 * the value of the next real key, alone in a description; what parses must
 * round-trip like any machine. */
static void check_doubles(const uint8_t *data, size_t size)
{
    int key = 0;
    for (size_t at = 0; at + sizeof(double) <= size && at < 16 * sizeof(double);
         at += sizeof(double)) {
        double v;
        memcpy(&v, data + at, sizeof v);
        while (arch_keys[key].kind != KEY_REAL)
            key = (key + 1) % arch_n_keys;
        char text[128];
        int len = snprintf(text, sizeof text, "%s = %.17g\n", arch_keys[key].key, fabs(v));
        key = (key + 1) % arch_n_keys;
        ArchSet s;
        if (arch_parse("doubles.arch", text, (size_t)len, &s, NULL))
            check_round_trip(&s.base);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ArchSet s;
    FILE *sink = fopen("/dev/null", "w");
    if (arch_parse("fuzz.arch", (const char *)data, size, &s, sink)) {
        check_round_trip(&s.base);
        for (int d = 0; d < DATAFLOW_KINDS; d++)
            if (s.has_variant[d])
                check_round_trip(&s.variant[d]);
        (void)arch_storage_area(&s.base);
    }
    if (sink)
        fclose(sink);
    check_doubles(data, size);
    return 0;
}
