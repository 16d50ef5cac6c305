#include "isa_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa_program.h" /* isa_name_check */

#define F(field) offsetof(IsaMachine, field)
#define BIG 1e12

/* In file order. Ranges as targets/spatial/arch_keys.c's. */
const IsaMachineKey isa_machine_keys[] = {
    {"name", ISA_MKEY_NAME, F(name), 0, 0, 0},
    {"pe_rows", ISA_MKEY_INT, F(pe_rows), 1, 1024, 0},
    {"pe_cols", ISA_MKEY_INT, F(pe_cols), 1, 1024, 0},
    {"noc", ISA_MKEY_NOC, F(noc), 0, 1, 0},
    {"clock_mhz", ISA_MKEY_REAL, F(clock_mhz), 1e-3, 1e6, 0},
    {"rf.ifmap", ISA_MKEY_INT, F(rf_words[0]), 0, 1 << 20, 1},
    {"rf.filter", ISA_MKEY_INT, F(rf_words[1]), 0, 1 << 20, 1},
    {"rf.psum", ISA_MKEY_INT, F(rf_words[2]), 0, 1 << 20, 1},
    {"buffer_bytes", ISA_MKEY_INT, F(buffer_bytes), 0, (double)((int64_t)1 << 40), 1},
    {"word_bits", ISA_MKEY_INT, F(word_bits), 1, 64, 1},
    {"dram_bus_bits", ISA_MKEY_INT, F(dram_bus_bits), 1, 1 << 16, 1},
    {"rlc", ISA_MKEY_BOOL, F(rlc), 0, 1, 2},
    {"rlc.run_bits", ISA_MKEY_INT, F(rlc_run_bits), 1, 32, 2},
    {"rlc.word_bits", ISA_MKEY_INT, F(rlc_word_bits), 2, 4096, 2},
    {"zero_skip", ISA_MKEY_BOOL, F(zero_skip), 0, 1, 2},
    {"energy.dram", ISA_MKEY_REAL, F(energy[0]), 0, BIG, 3},
    {"energy.buffer", ISA_MKEY_REAL, F(energy[1]), 0, BIG, 3},
    {"energy.array", ISA_MKEY_REAL, F(energy[2]), 0, BIG, 3},
    {"energy.rf", ISA_MKEY_REAL, F(energy[3]), 0, BIG, 3},
    {"energy.mac", ISA_MKEY_REAL, F(energy_mac), 0, BIG, 3},
};
const int isa_machine_n_keys = (int)(sizeof isa_machine_keys / sizeof *isa_machine_keys);

void isa_machine_default(IsaMachine *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "eyeriss");
    m->pe_rows = 12;
    m->pe_cols = 14;
    m->rf_words[0] = 12;
    m->rf_words[1] = 224;
    m->rf_words[2] = 24;
    m->buffer_bytes = 108 * 1024;
    m->word_bits = 16;
    m->dram_bus_bits = 64;
    m->noc = 0;
    m->rlc = true;
    m->zero_skip = true;
    m->rlc_run_bits = 5;
    m->rlc_word_bits = 64;
    m->energy[0] = 200;
    m->energy[1] = 6;
    m->energy[2] = 2;
    m->energy[3] = 1;
    m->energy_mac = 1;
    m->clock_mhz = 200;
}

bool isa_machine_key_check_int(const IsaMachineKey *k, int64_t v, char *err, size_t errsz)
{
    if ((double)v < k->lo || (double)v > k->hi) {
        snprintf(err, errsz, "machine %s = %lld is out of range (%.0f..%.0f)", k->key,
                 (long long)v, k->lo, k->hi);
        return false;
    }
    return true;
}

bool isa_machine_key_check_real(const IsaMachineKey *k, double v, char *err, size_t errsz)
{
    if (!(v >= k->lo && v <= k->hi)) { /* NaN fails too */
        char text[32];
        isa_format_double(v, text, sizeof text);
        snprintf(err, errsz, "machine %s = %s is out of range (%g..%g)", k->key, text, k->lo,
                 k->hi);
        return false;
    }
    return true;
}

static bool check_key(const IsaMachine *m, const IsaMachineKey *k, char *err, size_t errsz)
{
    const char *p = (const char *)m + k->offset;
    switch (k->kind) {
    case ISA_MKEY_NAME: {
        size_t len = strnlen(p, ISA_MACHINE_NAME_MAX);
        if (len == ISA_MACHINE_NAME_MAX) {
            snprintf(err, errsz, "machine name is longer than %d bytes", ISA_MACHINE_NAME_MAX - 1);
            return false;
        }
        return isa_name_check(p, len, "machine name", err, errsz);
    }
    case ISA_MKEY_INT: return isa_machine_key_check_int(k, *(const int64_t *)p, err, errsz);
    case ISA_MKEY_BOOL: {
        unsigned char b;
        memcpy(&b, p, 1); /* a bool read from a file may hold any byte */
        return isa_machine_key_check_int(k, b, err, errsz);
    }
    case ISA_MKEY_NOC: return isa_machine_key_check_int(k, *(const int *)p, err, errsz);
    case ISA_MKEY_REAL: return isa_machine_key_check_real(k, *(const double *)p, err, errsz);
    }
    return false;
}

bool isa_machine_check(const IsaMachine *m, char *err, size_t errsz)
{
    for (int i = 0; i < isa_machine_n_keys; i++)
        if (!check_key(m, &isa_machine_keys[i], err, errsz))
            return false;
    return true;
}

/* The fewest significant digits that read back to the same bits, written
 * without an exponent when some such text has none: 200, not 2e+02. */
void isa_format_double(double v, char *buf, size_t size)
{
    char first[40] = "";
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &v, sizeof v) != 0)
            continue;
        if (!strchr(buf, 'e'))
            return;
        if (!first[0])
            snprintf(first, sizeof first, "%s", buf);
    }
    if (first[0])
        snprintf(buf, size, "%s", first);
    else
        snprintf(buf, size, "%.17g", v); /* NaN and infinities */
}
