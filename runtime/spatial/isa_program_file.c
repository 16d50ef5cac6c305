/* The program file (docs/isa.md, "The program file"): every field
 * little-endian and fixed-width,
 *
 *   magic "DNNCISA1", u32 version, u32 reserved (0)
 *   the machine: its keys in isa_machine_keys order (name: 64 bytes, NUL
 *     padded; integers: i64; flags and noc: u8; reals: f64)
 *   u64 dram_words
 *   u32 layers, each: u16 length, the name's bytes
 *   u32 inputs and outputs, each: u16 length, name, u8 is_output, i8 frac,
 *     u64 base, u64 n c h w
 *   u64 instructions, each 32 bytes (isa_codec.h)
 *
 * and nothing after. The reader trusts no count: each is checked against
 * the bytes left before anything is allocated, and every field is checked
 * where it is read, so a message names the byte (or instruction) at fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "isa_bytes.h"
#include "isa_codec.h"
#include "isa_program.h"

#define IO_MIN_BYTES (2 + 1 + 1 + 8 + 4 * 8) /* an entry with an empty name */

/* ---- writing ------------------------------------------------------------- */

static void write_machine(IsaWriter *w, const IsaMachine *m)
{
    for (int i = 0; i < isa_machine_n_keys; i++) {
        const IsaMachineKey *k = &isa_machine_keys[i];
        const char *p = (const char *)m + k->offset;
        switch (k->kind) {
        case ISA_MKEY_NAME: {
            char name[ISA_MACHINE_NAME_MAX] = {0};
            memcpy(name, p, strnlen(p, ISA_MACHINE_NAME_MAX - 1));
            isa_w_bytes(w, name, sizeof name);
            break;
        }
        case ISA_MKEY_INT: isa_w_u64(w, (uint64_t) * (const int64_t *)p); break;
        case ISA_MKEY_BOOL: isa_w_u8(w, *(const bool *)p ? 1 : 0); break;
        case ISA_MKEY_NOC: isa_w_u8(w, (uint8_t) * (const int *)p); break;
        case ISA_MKEY_REAL: isa_w_f64(w, *(const double *)p); break;
        }
    }
}

static void write_name(IsaWriter *w, const char *s)
{
    size_t len = strlen(s); /* at most ISA_NAME_MAX: checked */
    isa_w_u16(w, (uint16_t)len);
    isa_w_bytes(w, s, len);
}

bool isa_program_serialize(const IsaProgram *p, uint8_t **buf, size_t *len, char *err,
                           size_t errsz)
{
    *buf = NULL;
    *len = 0;
    if (!isa_program_check(p, err, errsz))
        return false;
    IsaWriter w = {0};
    isa_w_header(&w, ISA_PROGRAM_MAGIC, ISA_PROGRAM_VERSION);
    write_machine(&w, &p->machine);
    isa_w_u64(&w, p->dram_words);
    isa_w_u32(&w, (uint32_t)p->n_layers);
    for (size_t i = 0; i < p->n_layers; i++)
        write_name(&w, p->layers[i]);
    isa_w_u32(&w, (uint32_t)p->n_io);
    for (size_t i = 0; i < p->n_io; i++) {
        const IsaIo *io = &p->io[i];
        write_name(&w, io->name);
        isa_w_u8(&w, io->is_output ? 1 : 0);
        isa_w_u8(&w, (uint8_t)(int8_t)io->frac);
        isa_w_u64(&w, io->base);
        for (int d = 0; d < 4; d++)
            isa_w_u64(&w, (uint64_t)io->shape[d]);
    }
    isa_w_u64(&w, p->n_instrs);
    for (size_t i = 0; i < p->n_instrs; i++) {
        uint8_t bytes[ISA_INSTR_BYTES];
        isa_encode(&p->instrs[i], bytes, err, errsz); /* checked above */
        isa_w_bytes(&w, bytes, sizeof bytes);
    }
    return isa_w_finish(&w, buf, len, err, errsz);
}

bool isa_program_save(const IsaProgram *p, const char *path, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t len;
    return isa_program_serialize(p, &buf, &len, err, errsz) &&
           isa_write_file(path, buf, len, err, errsz);
}

/* ---- reading ------------------------------------------------------------- */

static bool read_machine_name(IsaReader *r, IsaMachine *m)
{
    size_t at = r->pos;
    char name[ISA_MACHINE_NAME_MAX];
    if (!isa_r_bytes(r, name, sizeof name, "the machine name"))
        return false;
    size_t len = strnlen(name, sizeof name);
    if (len == sizeof name)
        return isa_r_fail(r, at, "the machine name has no NUL in its %zu bytes", sizeof name);
    for (size_t i = len; i < sizeof name; i++)
        if (name[i])
            return isa_r_fail(r, at + i, "the machine name's padding is not zero");
    char why[200];
    if (!isa_name_check(name, len, "the machine name", why, sizeof why))
        return isa_r_fail(r, at, "%s", why);
    memcpy(m->name, name, sizeof name);
    return true;
}

static bool read_machine_key(IsaReader *r, const IsaMachineKey *k, IsaMachine *m)
{
    char *p = (char *)m + k->offset;
    size_t at = r->pos;
    char why[200];
    uint64_t u = 0;
    uint8_t b = 0;
    double d = 0;
    bool ok;
    switch (k->kind) {
    case ISA_MKEY_NAME: return read_machine_name(r, m);
    case ISA_MKEY_INT:
        if (!isa_r_u64(r, &u, k->key))
            return false;
        ok = isa_machine_key_check_int(k, (int64_t)u, why, sizeof why);
        *(int64_t *)p = (int64_t)u;
        break;
    case ISA_MKEY_BOOL:
    case ISA_MKEY_NOC:
        if (!isa_r_u8(r, &b, k->key))
            return false;
        ok = isa_machine_key_check_int(k, b, why, sizeof why);
        if (k->kind == ISA_MKEY_BOOL)
            *(bool *)p = b != 0;
        else
            *(int *)p = b;
        break;
    case ISA_MKEY_REAL:
        if (!isa_r_f64(r, &d, k->key))
            return false;
        ok = isa_machine_key_check_real(k, d, why, sizeof why);
        *(double *)p = d;
        break;
    default: return false;
    }
    return ok || isa_r_fail(r, at, "%s", why);
}

/* A name of at most ISA_NAME_MAX bytes, malloc'd. */
static char *read_name(IsaReader *r, const char *what)
{
    size_t at = r->pos;
    uint16_t len;
    if (!isa_r_u16(r, &len, what))
        return NULL;
    if (len > ISA_NAME_MAX) {
        isa_r_fail(r, at, "%s is %u bytes long, more than %d", what, len, ISA_NAME_MAX);
        return NULL;
    }
    if (!isa_r_need(r, len, what))
        return NULL;
    char why[200];
    if (!isa_name_check((const char *)r->buf + r->pos, len, what, why, sizeof why)) {
        isa_r_fail(r, r->pos, "%s", why);
        return NULL;
    }
    char *s = malloc((size_t)len + 1);
    if (!s) {
        isa_r_fail(r, at, "out of memory");
        return NULL;
    }
    isa_r_bytes(r, s, len, what);
    s[len] = '\0';
    return s;
}

/* A count of entries of at least `min` bytes each, checked against the
 * bytes left and a limit before anything is allocated. */
static bool read_count(IsaReader *r, uint64_t *n, int bytes, size_t min, uint64_t limit,
                       const char *what)
{
    size_t at = r->pos;
    uint32_t n32 = 0;
    if (bytes == 4 ? !isa_r_u32(r, &n32, what) : !isa_r_u64(r, n, what))
        return false;
    if (bytes == 4)
        *n = n32;
    if (*n > limit)
        return isa_r_fail(r, at, "%llu %s, more than the %llu allowed", (unsigned long long)*n,
                          what, (unsigned long long)limit);
    if (*n > isa_r_left(r) / min)
        return isa_r_fail(r, at, "truncated: %llu %s need at least %llu bytes, %zu are left",
                          (unsigned long long)*n, what, (unsigned long long)(*n * min),
                          isa_r_left(r));
    return true;
}

static bool read_layers(IsaReader *r, IsaProgram *p)
{
    uint64_t n;
    if (!read_count(r, &n, 4, 2, ISA_LAYERS_MAX, "layer names"))
        return false;
    if (n && !(p->layers = calloc((size_t)n, sizeof *p->layers)))
        return isa_r_fail(r, r->pos, "out of memory (%llu layers)", (unsigned long long)n);
    p->cap_layers = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        if (!(p->layers[i] = read_name(r, "a layer name")))
            return false;
        p->n_layers++;
    }
    return true;
}

static bool read_io(IsaReader *r, IsaProgram *p, IsaIo *io)
{
    size_t at = r->pos;
    uint8_t out, frac;
    uint64_t shape[4];
    if (!(io->name = read_name(r, "an input or output name")))
        return false;
    p->n_io++; /* owns the name now */
    size_t at_out = r->pos;
    if (!isa_r_u8(r, &out, "is_output") || !isa_r_u8(r, &frac, "frac") ||
        !isa_r_u64(r, &io->base, "base"))
        return false;
    for (int d = 0; d < 4; d++)
        if (!isa_r_u64(r, &shape[d], "shape"))
            return false;
    if (out > 1)
        return isa_r_fail(r, at_out, "is_output is %u, not 0 or 1", out);
    io->is_output = out;
    io->frac = (int8_t)frac;
    for (int d = 0; d < 4; d++)
        io->shape[d] = shape[d] > INT32_MAX ? 0 : (int64_t)shape[d]; /* 0: rejected below */
    char why[300];
    if (!isa_io_check(io, why, sizeof why) || !isa_io_inside(io, p->dram_words, why, sizeof why))
        return isa_r_fail(r, at, "%s", why);
    return true;
}

static bool read_ios(IsaReader *r, IsaProgram *p)
{
    uint64_t n;
    if (!read_count(r, &n, 4, IO_MIN_BYTES, UINT32_MAX, "inputs and outputs"))
        return false;
    if (n && !(p->io = calloc((size_t)n, sizeof *p->io)))
        return isa_r_fail(r, r->pos, "out of memory (%llu inputs and outputs)",
                          (unsigned long long)n);
    p->cap_io = (size_t)n;
    for (size_t i = 0; i < n; i++)
        if (!read_io(r, p, &p->io[i]))
            return false;
    return true;
}

static bool read_instrs(IsaReader *r, IsaProgram *p)
{
    uint64_t n;
    if (!read_count(r, &n, 8, ISA_INSTR_BYTES, SIZE_MAX / sizeof(IsaInstr), "instructions"))
        return false;
    if (n && !(p->instrs = malloc((size_t)n * sizeof *p->instrs)))
        return isa_r_fail(r, r->pos, "out of memory (%llu instructions)", (unsigned long long)n);
    p->cap_instrs = (size_t)n;
    char why[300];
    for (size_t i = 0; i < n; i++, r->pos += ISA_INSTR_BYTES) {
        IsaInstr *in = &p->instrs[i];
        if (!isa_decode(r->buf + r->pos, in, why, sizeof why))
            return isa_r_fail(r, r->pos, "instruction %zu: %s", i, why);
        if (in->op == ISA_CFG_LAYER && (uint64_t)in->f[ISA_LAYER_ID] >= p->n_layers)
            return isa_r_fail(r, r->pos, "instruction %zu: cfg.layer id = %lld, but the program "
                              "names %zu layer%s", i, (long long)in->f[ISA_LAYER_ID],
                              p->n_layers, p->n_layers == 1 ? "" : "s");
        p->n_instrs++;
    }
    return true;
}

static bool read_program(IsaReader *r, IsaProgram *p)
{
    if (!isa_r_header(r, ISA_PROGRAM_MAGIC, ISA_PROGRAM_VERSION, "a dnnc ISA program"))
        return false;
    for (int i = 0; i < isa_machine_n_keys; i++)
        if (!read_machine_key(r, &isa_machine_keys[i], &p->machine))
            return false;
    size_t at = r->pos;
    if (!isa_r_u64(r, &p->dram_words, "dram_words"))
        return false;
    if (p->dram_words > ISA_DRAM_WORDS_MAX)
        return isa_r_fail(r, at, "dram_words = %llu is more than 2^40 (addresses are 40 bits)",
                          (unsigned long long)p->dram_words);
    if (!read_layers(r, p) || !read_ios(r, p) || !read_instrs(r, p))
        return false;
    if (isa_r_left(r))
        return isa_r_fail(r, r->pos, "%zu byte%s after the last instruction", isa_r_left(r),
                          isa_r_left(r) == 1 ? "" : "s");
    return true;
}

bool isa_program_load(const uint8_t *buf, size_t len, IsaProgram *out, char *err, size_t errsz)
{
    IsaProgram p;
    isa_program_init(&p);
    isa_program_init(out);
    IsaReader r = {.buf = buf, .len = len, .err = err, .errsz = errsz};
    if (!read_program(&r, &p)) {
        isa_program_free(&p);
        return false;
    }
    /* Every rule was checked where its field was read; this keeps the
     * promise that a loaded program passes the whole check. */
    if (!isa_program_check(&p, err, errsz)) {
        isa_program_free(&p);
        return false;
    }
    *out = p;
    return true;
}

bool isa_program_load_file(const char *path, IsaProgram *out, char *err, size_t errsz)
{
    unsigned char *bytes;
    size_t len;
    isa_program_init(out);
    if (!read_whole_file(path, ISA_PROGRAM_FILE_MAX, &bytes, &len, err, errsz))
        return false;
    char why[400];
    bool ok = isa_program_load(bytes, len, out, why, sizeof why);
    if (!ok)
        snprintf(err, errsz, "%s: %s", path, why);
    free(bytes);
    return ok;
}
