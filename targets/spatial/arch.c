#include "arch.h"

#include <stdlib.h>
#include <string.h>

#include "arch_keys.h"
#include "fileio.h"
#include "ops.h" /* format_double */

/* Description files are small; anything larger is not one. */
#define MAX_ARCH_FILE ((size_t)1 << 20)

const char *data_type_name(DataType t)
{
    static const char *const names[DATA_COUNT] = {"ifmap", "filter", "psum"};
    return names[t];
}

const char *mem_level_name(MemLevel l)
{
    static const char *const names[LEVEL_COUNT] = {"dram", "buffer", "array", "rf"};
    return names[l];
}

const SpatialArch *arch_for(const ArchSet *s, Dataflow d)
{
    if (d > DATAFLOW_AUTO && d < DATAFLOW_KINDS && s->has_variant[d])
        return &s->variant[d];
    return &s->base;
}

int64_t arch_pes(const SpatialArch *a) { return a->pe_rows * a->pe_cols; }

double arch_storage_area(const SpatialArch *a)
{
    double rf_words = 0;
    for (int t = 0; t < DATA_COUNT; t++)
        rf_words += (double)a->rf_words[t];
    double rf_bytes = rf_words * (double)a->word_bits / 8;
    return (double)arch_pes(a) * rf_bytes * a->area_rf_byte + (double)a->buffer_bytes;
}

static bool is_builtin_name(const char *s) { return !strchr(s, '/') && !strchr(s, '.'); }

bool arch_load(const char *name_or_path, ArchSet *out, FILE *err)
{
    const char *text = arch_builtin_text(name_or_path);
    if (text)
        return arch_parse(name_or_path, text, strlen(text), out, err);
    if (is_builtin_name(name_or_path)) {
        if (err) {
            fprintf(err, "error: unknown architecture '%s'; built in:", name_or_path);
            for (int i = 0; arch_builtin_names[i]; i++)
                fprintf(err, " %s", arch_builtin_names[i]);
            fprintf(err, " (or give a description file path)\n");
        }
        return false;
    }
    unsigned char *bytes;
    size_t len;
    char msg[512];
    if (!read_whole_file(name_or_path, MAX_ARCH_FILE, &bytes, &len, msg, sizeof msg)) {
        if (err)
            fprintf(err, "error: %s\n", msg);
        return false;
    }
    bool ok = arch_parse(name_or_path, (const char *)bytes, len, out, err);
    free(bytes);
    return ok;
}

void arch_print(const SpatialArch *a, FILE *out)
{
    for (int i = 0; i < arch_n_keys; i++) {
        char buf[128];
        if (arch_keys[i].kind == KEY_REAL)
            format_double(*(const double *)((const char *)a + arch_keys[i].offset), buf, sizeof buf);
        else
            arch_key_format(&arch_keys[i], a, buf, sizeof buf);
        fprintf(out, "%-14s = %s\n", arch_keys[i].key, buf);
    }
}
