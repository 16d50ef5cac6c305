#include "isa_program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "isa_codec.h"

void isa_program_init(IsaProgram *p)
{
    memset(p, 0, sizeof *p);
    isa_machine_default(&p->machine);
}

void isa_program_free(IsaProgram *p)
{
    for (size_t i = 0; i < p->n_layers; i++)
        free(p->layers[i]);
    for (size_t i = 0; i < p->n_io; i++)
        free(p->io[i].name);
    free(p->layers);
    free(p->io);
    free(p->instrs);
    memset(p, 0, sizeof *p);
}

/* The array `items` of *cap elements, grown if need be to hold n + 1;
 * NULL when memory runs out (items is then untouched). */
static void *grow(void *items, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return items;
    size_t want = *cap ? *cap * 2 : 16;
    if (want > SIZE_MAX / elem)
        return NULL;
    void *q = realloc(items, want * elem);
    if (q)
        *cap = want;
    return q;
}

bool isa_program_append(IsaProgram *p, const IsaInstr *in, char *err, size_t errsz)
{
    if (!isa_check(in, err, errsz))
        return false;
    IsaInstr *instrs = grow(p->instrs, &p->cap_instrs, p->n_instrs, sizeof *instrs);
    if (!instrs) {
        snprintf(err, errsz, "out of memory (%zu instructions)", p->n_instrs);
        return false;
    }
    p->instrs = instrs;
    p->instrs[p->n_instrs++] = *in;
    return true;
}

static char *copy_name(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

int64_t isa_program_add_layer(IsaProgram *p, const char *name, char *err, size_t errsz)
{
    size_t len = strlen(name);
    if (!isa_name_check(name, len, "layer name", err, errsz))
        return -1;
    if (p->n_layers >= ISA_LAYERS_MAX) {
        snprintf(err, errsz, "more than %d layers (cfg.layer's id is 16 bits)", ISA_LAYERS_MAX);
        return -1;
    }
    char *c = copy_name(name, len);
    char **layers = c ? grow(p->layers, &p->cap_layers, p->n_layers, sizeof *layers) : NULL;
    if (!layers) {
        free(c);
        snprintf(err, errsz, "out of memory (%zu layers)", p->n_layers);
        return -1;
    }
    p->layers = layers;
    p->layers[p->n_layers] = c;
    return (int64_t)p->n_layers++;
}

bool isa_program_add_io(IsaProgram *p, const IsaIo *io, char *err, size_t errsz)
{
    if (!isa_io_check(io, err, errsz))
        return false;
    char *c = copy_name(io->name, strlen(io->name));
    IsaIo *ios = c ? grow(p->io, &p->cap_io, p->n_io, sizeof *ios) : NULL;
    if (!ios) {
        free(c);
        snprintf(err, errsz, "out of memory (%zu inputs and outputs)", p->n_io);
        return false;
    }
    p->io = ios;
    p->io[p->n_io] = *io;
    p->io[p->n_io++].name = c;
    return true;
}

bool isa_name_check(const char *s, size_t len, const char *what, char *err, size_t errsz)
{
    if (len > ISA_NAME_MAX) {
        snprintf(err, errsz, "%s is longer than %d bytes", what, ISA_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errsz, "%s has a control character (0x%02x) at byte %zu", what, c, i);
            return false;
        }
    }
    return true;
}

bool isa_io_check(const IsaIo *io, char *err, size_t errsz)
{
    const char *what = io->is_output ? "output" : "input";
    if (!isa_name_check(io->name, strlen(io->name), io->is_output ? "output name" : "input name",
                        err, errsz))
        return false;
    for (int i = 0; i < 4; i++)
        if (io->shape[i] < 1 || io->shape[i] > INT32_MAX) {
            snprintf(err, errsz, "%s '%s': shape[%d] = %lld is not in 1..%d", what, io->name, i,
                     (long long)io->shape[i], INT32_MAX);
            return false;
        }
    if (io->frac < -128 || io->frac > 127) {
        snprintf(err, errsz, "%s '%s': frac = %d is not in -128..127", what, io->name, io->frac);
        return false;
    }
    return true;
}

bool isa_io_inside(const IsaIo *io, uint64_t dram_words, char *err, size_t errsz)
{
    int64_t words = 1, end;
    bool ok = true;
    for (int i = 0; i < 4; i++)
        ok = ok && checked_mul(words, io->shape[i], &words);
    ok = ok && io->base <= ISA_DRAM_WORDS_MAX &&
         checked_add((int64_t)io->base, words, &end) && (uint64_t)end <= dram_words;
    if (!ok)
        snprintf(err, errsz, "%s '%s' at %llu (%lld x %lld x %lld x %lld words) does not lie "
                 "inside the %llu DRAM words", io->is_output ? "output" : "input", io->name,
                 (unsigned long long)io->base, (long long)io->shape[0], (long long)io->shape[1],
                 (long long)io->shape[2], (long long)io->shape[3],
                 (unsigned long long)dram_words);
    return ok;
}

static bool check_instrs(const IsaProgram *p, char *err, size_t errsz)
{
    char why[256];
    for (size_t i = 0; i < p->n_instrs; i++) {
        const IsaInstr *in = &p->instrs[i];
        if (!isa_check(in, why, sizeof why)) {
            snprintf(err, errsz, "instruction %zu: %s", i, why);
            return false;
        }
        if (in->op == ISA_CFG_LAYER && (uint64_t)in->f[ISA_LAYER_ID] >= p->n_layers) {
            snprintf(err, errsz, "instruction %zu: cfg.layer id = %lld, but the program names "
                     "%zu layer%s", i, (long long)in->f[ISA_LAYER_ID], p->n_layers,
                     p->n_layers == 1 ? "" : "s");
            return false;
        }
    }
    return true;
}

bool isa_program_check(const IsaProgram *p, char *err, size_t errsz)
{
    if (!isa_machine_check(&p->machine, err, errsz))
        return false;
    if (p->n_layers > ISA_LAYERS_MAX) {
        snprintf(err, errsz, "more than %d layers", ISA_LAYERS_MAX);
        return false;
    }
    for (size_t i = 0; i < p->n_layers; i++)
        if (!isa_name_check(p->layers[i], strlen(p->layers[i]), "layer name", err, errsz))
            return false;
    if (p->dram_words > ISA_DRAM_WORDS_MAX) {
        snprintf(err, errsz, "dram_words = %llu is more than 2^40 (addresses are 40 bits)",
                 (unsigned long long)p->dram_words);
        return false;
    }
    for (size_t i = 0; i < p->n_io; i++)
        if (!isa_io_check(&p->io[i], err, errsz) ||
            !isa_io_inside(&p->io[i], p->dram_words, err, errsz))
            return false;
    return check_instrs(p, err, errsz);
}
