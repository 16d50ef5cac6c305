/* The canonical text of a program: what isa_asm.c reads back to the same
 * program, and what a reader of a compiled network sees. */
#include <inttypes.h>
#include <stdio.h>

#include "isa_asm.h"
#include "isa_codec.h"

void isa_disasm_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* The name of an enumerated value; "?" for none (an unchecked instruction
 * in a trace). */
static const char *value_name(IsaFieldKind k, int64_t v)
{
    const char *name = isa_kind_value_name(k, v);
    return name ? name : "?";
}

static void print_dims(int64_t mask, FILE *out)
{
    if (mask == 0) {
        fputs("none", out);
        return;
    }
    const char *sep = "";
    for (int d = 0; d < ISA_DIMS; d++)
        if (mask & (1 << d)) {
            fprintf(out, "%s%s", sep, value_name(ISA_KIND_DIM, d));
            sep = "|";
        }
}

static void print_value(const IsaFieldInfo *f, int64_t v, FILE *out)
{
    switch (f->kind) {
    case ISA_KIND_UINT:
    case ISA_KIND_SINT:
    case ISA_KIND_BOOL: fprintf(out, "%" PRId64, v); break;
    case ISA_KIND_DIMS: print_dims(v, out); break;
    default: fputs(value_name(f->kind, v), out); break;
    }
}

static void print_group(const IsaOpInfo *info, const IsaInstr *in, FILE *out)
{
    const int64_t *g = &in->f[info->group_first];
    if (info->group == ISA_GROUP_ORDER) {
        fputs(" order=", out);
        for (int i = 0; i < info->group_count; i++)
            fprintf(out, "%s%s", i ? "," : "", value_name(ISA_KIND_DIM, g[i]));
    } else {
        fputs(" box=[", out);
        for (int i = 0; i < info->group_count; i += 2)
            fprintf(out, "%s%" PRId64 "+%" PRId64, i ? "," : "", g[i], g[i + 1]);
        fputc(']', out);
    }
}

static void print_deps(unsigned deps, FILE *out)
{
    if (!deps)
        return;
    const char *sep = " deps=";
    for (int b = 0; b < 4; b++)
        if (deps & (1u << b)) {
            fprintf(out, "%s%s", sep, isa_dep_names[b]);
            sep = "|";
        }
}

void isa_disasm_instr(const IsaInstr *in, FILE *out)
{
    const IsaOpInfo *info = isa_op_info(in->op);
    if (!info) {
        fprintf(out, "<opcode %d>", (int)in->op);
        return;
    }
    fputs(info->mnemonic, out);
    for (int i = 0; i < info->n_fields; i++) {
        if (info->group != ISA_GROUP_NONE && i == info->group_first) {
            print_group(info, in, out);
            i += info->group_count - 1;
            continue;
        }
        fprintf(out, " %s=", info->fields[i].name);
        print_value(&info->fields[i], in->f[i], out);
    }
    print_deps(in->deps, out);
}

static void print_machine(const IsaMachine *m, FILE *out)
{
    int line = -1;
    for (int i = 0; i < isa_machine_n_keys; i++) {
        const IsaMachineKey *k = &isa_machine_keys[i];
        if (k->line != line) {
            fputs(line < 0 ? ".machine" : "\n.machine", out);
            line = k->line;
        }
        fprintf(out, " %s=", k->key);
        const char *p = (const char *)m + k->offset;
        char num[40];
        switch (k->kind) {
        case ISA_MKEY_NAME: isa_disasm_string(p, out); break;
        case ISA_MKEY_INT: fprintf(out, "%" PRId64, *(const int64_t *)p); break;
        case ISA_MKEY_BOOL: fputs(*(const bool *)p ? "1" : "0", out); break;
        case ISA_MKEY_NOC: fputs(*(const int *)p ? "broadcast" : "multicast", out); break;
        case ISA_MKEY_REAL:
            isa_format_double(*(const double *)p, num, sizeof num);
            fputs(num, out);
            break;
        }
    }
    fputc('\n', out);
}

static void print_io(const IsaIo *io, FILE *out)
{
    fputs(io->is_output ? ".output " : ".input ", out);
    isa_disasm_string(io->name, out);
    fprintf(out, " base=%" PRIu64 " shape=[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
            "] frac=%d\n", io->base, io->shape[0], io->shape[1], io->shape[2], io->shape[3],
            io->frac);
}

void isa_disasm(const IsaProgram *p, FILE *out)
{
    fputs("; dnnc spatial accelerator program (docs/isa.md)\n", out);
    print_machine(&p->machine, out);
    fprintf(out, ".dram_words %" PRIu64 "\n", p->dram_words);
    for (size_t i = 0; i < p->n_layers; i++) {
        fprintf(out, ".layer %zu ", i);
        isa_disasm_string(p->layers[i], out);
        fputc('\n', out);
    }
    for (size_t i = 0; i < p->n_io; i++)
        print_io(&p->io[i], out);
    for (size_t i = 0; i < p->n_instrs; i++) {
        const IsaInstr *in = &p->instrs[i];
        if (i == 0 || in->op == ISA_CFG_LAYER)
            fputc('\n', out);
        isa_disasm_instr(in, out);
        /* The layer's name, for the reader; the assembler skips comments. */
        if (in->op == ISA_CFG_LAYER && (uint64_t)in->f[ISA_LAYER_ID] < p->n_layers)
            fprintf(out, " ; %s", p->layers[in->f[ISA_LAYER_ID]]);
        fputc('\n', out);
    }
}
