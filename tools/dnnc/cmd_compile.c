/* dnnc compile: a network to a linkable bundle (NAME.o, NAME.h and
 * NAME.weights), or to assembly or LLVM IR. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "driver.h"
#include "progress.h"

const char cmd_compile_usage[] =
    "usage: dnnc compile MODEL -o DIR/NAME [options]\n\n"
    "Compiles MODEL (.dnn or .onnx) to native code through LLVM and writes the\n"
    "bundle DIR/NAME.o (or .s / .ll), DIR/NAME.h with its C API (docs/bundle.md)\n"
    "and DIR/NAME.weights with the packed weights (unless --embed-weights).\n\n"
    "options:\n"
    "  -o DIR/NAME            where to write; NAME is also the symbol prefix unless --name\n"
    "  --name PREFIX          the prefix of every symbol and macro (a C identifier)\n"
    "  --emit=obj|asm|llvm    an object file (default), assembly, or LLVM IR\n"
    "  --embed-weights        put the weights in the object's read-only data\n"
    "  --triple TRIPLE        cross-compile, e.g. aarch64-linux-gnu (default: this machine)\n"
    "  --cpu NAME             target CPU (default: this machine's, or generic)\n"
    "  --features LIST        target features, e.g. +avx2,+fma\n"
    "  --reloc=pic|static     position-independent code (default; needed for PIE programs and\n"
    "                         shared libraries) or static code\n"
    "  -O0 .. -O3             optimisation level (default -O3)\n"
    MODEL_OPTIONS_HELP
    "  -h, --help             show this help\n";

static bool valid_identifier(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

typedef struct CompileArgs {
    const char *model, *out;
    CodegenOptions cg;
    EmitKind emit;
    ModelOptions mo;
} CompileArgs;

static const char *value_of(const char *arg, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(arg, prefix, n) == 0 ? arg + n : NULL;
}

static int parse(int argc, char **argv, CompileArgs *a)
{
    memset(a, 0, sizeof *a);
    a->cg.opt_level = 3;
    a->cg.pic = true; /* Debian's compilers build position-independent executables */
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        int used = parse_model_option(argc, argv, &i, &a->mo, "compile");
        if (used < 0)
            return EXIT_USAGE;
        if (used)
            continue;
        if (is_help_flag(s)) {
            fputs(cmd_compile_usage, stdout);
            return -1;
        }
        bool takes = !strcmp(s, "-o") || !strcmp(s, "--name") || !strcmp(s, "--triple") ||
                     !strcmp(s, "--cpu") || !strcmp(s, "--features");
        if (takes && i + 1 >= argc)
            return usage_error("compile", "%s needs a value", s);
        if (!strcmp(s, "-o"))
            a->out = argv[++i];
        else if (!strcmp(s, "--name"))
            a->cg.name = argv[++i];
        else if (!strcmp(s, "--triple"))
            a->cg.triple = argv[++i];
        else if (!strcmp(s, "--cpu"))
            a->cg.cpu = argv[++i];
        else if (!strcmp(s, "--features"))
            a->cg.features = argv[++i];
        else if (!strcmp(s, "--embed-weights"))
            a->cg.embed_weights = true;
        else if ((v = value_of(s, "--emit="))) {
            if (!strcmp(v, "obj"))
                a->emit = EMIT_OBJ;
            else if (!strcmp(v, "asm"))
                a->emit = EMIT_ASM;
            else if (!strcmp(v, "llvm"))
                a->emit = EMIT_LLVM;
            else
                return usage_error("compile", "--emit takes obj, asm or llvm, not '%s'", v);
        } else if ((v = value_of(s, "--reloc="))) {
            if (strcmp(v, "pic") && strcmp(v, "static"))
                return usage_error("compile", "--reloc takes pic or static, not '%s'", v);
            a->cg.pic = !strcmp(v, "pic");
        } else if (s[0] == '-' && s[1] == 'O' && s[2] >= '0' && s[2] <= '3' && !s[3]) {
            a->cg.opt_level = s[2] - '0';
        } else if (s[0] == '-' && s[1]) {
            return usage_error("compile", "unknown option '%s'", s);
        } else if (a->model) {
            return usage_error("compile", "more than one model");
        } else {
            a->model = s;
        }
    }
    if (!a->model || !a->out)
        return usage_error("compile", !a->model ? "no model file" : "no -o DIR/NAME");
    return 0;
}

static char *path_with(const char *base, const char *ext)
{
    char *p = malloc(strlen(base) + strlen(ext) + 1);
    if (p)
        strcat(strcpy(p, base), ext);
    return p;
}

static bool write_bundle(const Graph *g, CompileArgs *a, CompiledModel *m)
{
    static const char *const ext[] = {".o", ".s", ".ll"};
    char err[1024];
    char *code = path_with(a->out, ext[a->emit]), *header = path_with(a->out, ".h"),
         *weights = path_with(a->out, ".weights");
    bool ok = code && header && weights;
    ok = ok && codegen_emit(m, a->emit, code, err, sizeof err);
    ok = ok && codegen_write_header(g, m, &a->cg, header, err, sizeof err);
    if (ok && !a->cg.embed_weights)
        ok = codegen_write_weights(m, weights, err, sizeof err);
    if (!ok)
        fprintf(stderr, "dnnc compile: error: %s\n", err);
    else
        printf("wrote %s, %s%s%s (workspace %zu bytes, weights %zu bytes%s)\n", code, header,
               a->cg.embed_weights ? "" : " and ", a->cg.embed_weights ? "" : weights,
               m->plan.workspace_size, m->plan.weights_size,
               a->cg.embed_weights ? ", embedded" : "");
    free(code);
    free(header);
    free(weights);
    return ok;
}

int cmd_compile(int argc, char **argv)
{
    CompileArgs a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *slash = strrchr(a.out, '/');
    if (!a.cg.name)
        a.cg.name = slash ? slash + 1 : a.out;
    if (!valid_identifier(a.cg.name))
        return usage_error("compile", "the symbol prefix '%s' is not a C identifier (use --name)",
                           a.cg.name);
    Diag d;
    diag_init(&d, stderr);
    Model m;
    if (!model_load(a.model, &a.mo, &d, &m)) {
        model_free(&m);
        return EXIT_INPUT_ERROR;
    }
    char err[1024];
    CompiledModel cm;
    double t0 = now_seconds();
    bool ok = codegen_build(m.graph, &a.cg, NULL, &cm, err, sizeof err);
    if (!ok)
        fprintf(stderr, "dnnc compile: error: %s\n", err);
    if (ok)
        printf("compiled in %.1f s\n", now_seconds() - t0);
    ok = ok && write_bundle(m.graph, &a, &cm);
    if (cm.module || cm.tm)
        codegen_free(&cm);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
