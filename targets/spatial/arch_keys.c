#include "arch_keys.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"

#define F(field) offsetof(SpatialArch, field)
#define BIG 1e18

const ArchKey arch_keys[] = {
    {"name", KEY_NAME, F(name), 0, 0, "name of the machine, shown in reports"},
    {"pe_rows", KEY_INT, F(pe_rows), 1, 1024, "rows of the PE array"},
    {"pe_cols", KEY_INT, F(pe_cols), 1, 1024, "columns of the PE array"},
    {"rf.ifmap", KEY_INT, F(rf_words[DATA_IFMAP]), 0, 1 << 20, "ifmap scratchpad words per PE"},
    {"rf.filter", KEY_INT, F(rf_words[DATA_FILTER]), 0, 1 << 20, "filter scratchpad words per PE"},
    {"rf.psum", KEY_INT, F(rf_words[DATA_PSUM]), 0, 1 << 20, "psum scratchpad words per PE"},
    {"buffer", KEY_BYTES, F(buffer_bytes), 0, (double)((int64_t)1 << 40), "global buffer size"},
    {"word_bits", KEY_INT, F(word_bits), 1, 64, "bits of one data word"},
    {"dram_bus_bits", KEY_INT, F(dram_bus_bits), 1, 1 << 16, "DRAM bus width"},
    {"noc", KEY_NOC, F(noc), 0, 0, "multicast or broadcast delivery to PEs"},
    {"clock_mhz", KEY_REAL, F(clock_mhz), 1e-3, 1e6, "clock, to turn cycles into time"},
    {"energy.dram", KEY_REAL, F(energy[LEVEL_DRAM]), 0, BIG, "energy of one DRAM word access"},
    {"energy.buffer", KEY_REAL, F(energy[LEVEL_BUFFER]), 0, BIG, "energy of one buffer access"},
    {"energy.array", KEY_REAL, F(energy[LEVEL_ARRAY]), 0, BIG, "energy of one inter-PE transfer"},
    {"energy.rf", KEY_REAL, F(energy[LEVEL_RF]), 0, BIG, "energy of one RF access"},
    {"energy.mac", KEY_REAL, F(energy_mac), 0, BIG, "energy of one MAC"},
    {"area.rf_byte", KEY_REAL, F(area_rf_byte), 0, 1e6, "area of an RF byte in buffer bytes"},
    {"rlc", KEY_BOOL, F(rlc), 0, 0, "run-length compress activations off chip"},
    {"rlc.run_bits", KEY_INT, F(rlc_run_bits), 1, 32, "bits of an RLC zero-run field"},
    {"rlc.word_bits", KEY_INT, F(rlc_word_bits), 2, 4096, "bits of an RLC packed word"},
    {"zero_skip", KEY_BOOL, F(zero_skip), 0, 0, "skip filter reads and MACs on zero ifmaps"},
    {"precisions", KEY_PRECISIONS, F(precisions), 0, 0,
     "what the PEs multiply: any, or integer bits and f32 (\"8, 16\")"},
};
const int arch_n_keys = (int)(sizeof arch_keys / sizeof *arch_keys);

const ArchKey *arch_key_find(const char *key)
{
    for (int i = 0; i < arch_n_keys; i++)
        if (strcmp(arch_keys[i].key, key) == 0)
            return &arch_keys[i];
    return NULL;
}

static void *field(const ArchKey *k, SpatialArch *a) { return (char *)a + k->offset; }
static const void *cfield(const ArchKey *k, const SpatialArch *a)
{
    return (const char *)a + k->offset;
}

/* Splits "108 KB" into the number and its unit. */
static bool parse_integer(const char *text, int64_t *out, const char **rest, char *err,
                          size_t errsz)
{
    if (!isdigit((unsigned char)text[0])) {
        snprintf(err, errsz, "expected a non-negative integer, got '%s'", text);
        return false;
    }
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE) {
        snprintf(err, errsz, "'%s' overflows a 64-bit integer", text);
        return false;
    }
    *out = v;
    *rest = end;
    return true;
}

static bool unit_scale(const char *unit, int64_t *scale)
{
    static const struct { const char *name; int64_t scale; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1024}, {"KiB", 1024}, {"MB", 1 << 20}, {"MiB", 1 << 20},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(units[i].name, unit) == 0) {
            *scale = units[i].scale;
            return true;
        }
    return false;
}

static bool in_range(const ArchKey *k, double v, const char *text, char *err, size_t errsz)
{
    if (v >= k->min && v <= k->max)
        return true;
    snprintf(err, errsz, "%s = %s is out of range [%.17g, %.17g]", k->key, text, k->min, k->max);
    return false;
}

static bool set_int(const ArchKey *k, SpatialArch *a, const char *text, bool bytes, char *err,
                    size_t errsz)
{
    int64_t v, scale = 1;
    const char *rest;
    if (!parse_integer(text, &v, &rest, err, errsz))
        return false;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (bytes ? !unit_scale(rest, &scale) : *rest != '\0') {
        snprintf(err, errsz, bytes ? "unknown unit '%s' (use B, KB, KiB, MB or MiB)"
                                   : "unexpected '%s' after the number",
                 rest);
        return false;
    }
    if (!checked_mul(v, scale, &v)) {
        snprintf(err, errsz, "'%s' overflows a 64-bit integer", text);
        return false;
    }
    if (!in_range(k, (double)v, text, err, errsz))
        return false;
    *(int64_t *)field(k, a) = v;
    return true;
}

static bool set_real(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz)
{
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    /* Decimal numbers only: no hex floats, infinities or NaNs. */
    bool decimal = strspn(text, "0123456789.eE+-") == strlen(text);
    if (end == text || *end || !decimal) {
        snprintf(err, errsz, "expected a number, got '%s'", text);
        return false;
    }
    if (errno == ERANGE || !isfinite(v)) {
        snprintf(err, errsz, "'%s' is out of the range of a double", text);
        return false;
    }
    if (!in_range(k, v, text, err, errsz))
        return false;
    *(double *)field(k, a) = v;
    return true;
}

static bool set_choice(const char *text, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool set_bool(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz)
{
    static const char *const names[] = {"off", "on", "false", "true", "no", "yes"};
    int i;
    if (!set_choice(text, names, 6, &i)) {
        snprintf(err, errsz, "%s must be on or off, got '%s'", k->key, text);
        return false;
    }
    *(bool *)field(k, a) = i % 2 == 1;
    return true;
}

static bool set_noc(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz)
{
    static const char *const names[] = {"multicast", "broadcast"};
    int i;
    if (!set_choice(text, names, 2, &i)) {
        snprintf(err, errsz, "%s must be multicast or broadcast, got '%s'", k->key, text);
        return false;
    }
    *(NocKind *)field(k, a) = (NocKind)i;
    return true;
}

static bool set_name(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz)
{
    size_t n = strlen(text);
    if (n == 0 || n >= ARCH_NAME_MAX || strspn(text, "abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n) {
        snprintf(err, errsz, "%s must be 1 to %d letters, digits, '_', '-' or '.', got '%s'",
                 k->key, ARCH_NAME_MAX - 1, text);
        return false;
    }
    memcpy(field(k, a), text, n + 1);
    return true;
}

/* One item of a `precisions` list: integer bits or f32. */
static bool precision_item(const char *item, size_t len, uint64_t *out, char *err, size_t errsz)
{
    char word[16];
    if (len == 0 || len >= sizeof word) {
        snprintf(err, errsz, "precisions: expected integer bits (1 to %d) or f32, got '%.*s'",
                 ARCH_PRECISION_INT_MAX, (int)(len < 40 ? len : 40), item);
        return false;
    }
    memcpy(word, item, len);
    word[len] = '\0';
    if (strcmp(word, "f32") == 0) {
        *out |= ARCH_PRECISION_F32;
        return true;
    }
    char *end;
    long bits = strtol(word, &end, 10);
    if (!isdigit((unsigned char)word[0]) || *end || !arch_precision_int((int)bits)) {
        snprintf(err, errsz, "precisions: expected integer bits (1 to %d) or f32, got '%s'",
                 ARCH_PRECISION_INT_MAX, word);
        return false;
    }
    *out |= arch_precision_int((int)bits);
    return true;
}

static bool set_precisions(const ArchKey *k, SpatialArch *a, const char *text, char *err,
                           size_t errsz)
{
    uint64_t mask = 0;
    if (strcmp(text, "any") != 0)
        for (const char *p = text;; p++) {
            p += strspn(p, " \t");
            size_t len = strcspn(p, ", \t");
            if (!precision_item(p, len, &mask, err, errsz))
                return false;
            p += len;
            p += strspn(p, " \t");
            if (*p != ',') {
                if (*p) {
                    snprintf(err, errsz, "precisions: unexpected '%s' (items are separated by ',')", p);
                    return false;
                }
                break;
            }
        }
    *(uint64_t *)field(k, a) = mask;
    return true;
}

void arch_precisions_format(uint64_t precisions, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int b = 1; b <= ARCH_PRECISION_INT_MAX && used < size; b++)
        if (precisions & arch_precision_int(b)) {
            int w = snprintf(buf + used, size - used, "%s%d", used ? ", " : "", b);
            used += w > 0 ? (size_t)w : 0;
        }
    if ((precisions & ARCH_PRECISION_F32) && used < size)
        snprintf(buf + used, size - used, "%sf32", used ? ", " : "");
    if (!precisions)
        snprintf(buf, size, "any");
}

bool arch_key_set(const ArchKey *k, SpatialArch *a, const char *text, char *err, size_t errsz)
{
    switch (k->kind) {
    case KEY_NAME: return set_name(k, a, text, err, errsz);
    case KEY_INT: return set_int(k, a, text, false, err, errsz);
    case KEY_BYTES: return set_int(k, a, text, true, err, errsz);
    case KEY_REAL: return set_real(k, a, text, err, errsz);
    case KEY_BOOL: return set_bool(k, a, text, err, errsz);
    case KEY_NOC: return set_noc(k, a, text, err, errsz);
    case KEY_PRECISIONS: return set_precisions(k, a, text, err, errsz);
    }
    return false;
}

void arch_key_format(const ArchKey *k, const SpatialArch *a, char *buf, size_t size)
{
    const void *p = cfield(k, a);
    switch (k->kind) {
    case KEY_NAME: snprintf(buf, size, "%s", (const char *)p); break;
    case KEY_INT: snprintf(buf, size, "%lld", (long long)*(const int64_t *)p); break;
    case KEY_BYTES: {
        int64_t v = *(const int64_t *)p;
        if (v && v % 1024 == 0)
            snprintf(buf, size, "%lld KB", (long long)(v / 1024));
        else
            snprintf(buf, size, "%lld B", (long long)v);
        break;
    }
    case KEY_REAL: snprintf(buf, size, "%.17g", *(const double *)p); break;
    case KEY_BOOL: snprintf(buf, size, "%s", *(const bool *)p ? "on" : "off"); break;
    case KEY_NOC: snprintf(buf, size, "%s", *(const NocKind *)p == NOC_MULTICAST ? "multicast" : "broadcast"); break;
    case KEY_PRECISIONS: arch_precisions_format(*(const uint64_t *)p, buf, size); break;
    }
}
