/* dnnc compile: a network to a linkable bundle (NAME.o, NAME.h and
 * NAME.weights), or to assembly or LLVM IR, through the target table. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "progress.h"

static const char *const emit_kinds[] = {"obj", "asm", "llvm", NULL}; /* TargetEmitKind order */
static const char *const reloc_kinds[] = {"pic", "static", NULL};
enum { RELOC_PIC, RELOC_STATIC };

typedef struct CompileArgs {
    const char *model, *out, *name, *triple, *cpu, *features;
    int emit;  /* TargetEmitKind */
    int reloc;
    bool embed_weights;
    ModelArgs weights;
    PipelineArgs pipeline;
    char out_dir[4096]; /* -o's directory */
} CompileArgs;

static const Option compile_options[] = {
    {NULL, 'o', "DIR/NAME", "the bundle's base path: writes DIR/NAME.o (or .s, .ll), DIR/NAME.h\n"
                            "and DIR/NAME.weights; NAME is also the symbol prefix unless --name",
     OPTION_STRING(CompileArgs, out)},
    {"name", 0, "PREFIX", "the prefix of every symbol and macro (a C identifier)",
     OPTION_STRING(CompileArgs, name)},
    {"emit", 0, NULL, "an object file (default), assembly, or LLVM IR",
     OPTION_CHOICE(CompileArgs, emit, emit_kinds)},
    {"embed-weights", 0, NULL, "put the weights in the object's read-only data",
     OPTION_FLAG(CompileArgs, embed_weights)},
    {"triple", 0, "TRIPLE", "cross-compile, e.g. aarch64-linux-gnu (default: this machine)",
     OPTION_STRING(CompileArgs, triple)},
    {"cpu", 0, "NAME", "target CPU (default: this machine's, or generic)",
     OPTION_STRING(CompileArgs, cpu)},
    {"features", 0, "LIST", "target features, e.g. +avx2,+fma (default: this machine's, with\n"
                            "--cpu too, or none with --triple); they choose the kernels:\n"
                            "+avx512f their 16-lane build, so --cpu znver4 alone on a machine\n"
                            "without AVX-512 still compiles for AVX2",
     OPTION_STRING(CompileArgs, features)},
    {"reloc", 0, NULL, "position-independent code (default; needed for PIE programs and\n"
                       "shared libraries) or static code",
     OPTION_CHOICE(CompileArgs, reloc, reloc_kinds)},
    OPTIONS_END,
};

const CommandSpec cmd_compile_spec = {
    .name = "compile",
    .summary = "compile a network to a linkable bundle (object, header, weights)",
    .usage = "dnnc compile MODEL -o DIR/NAME [options]",
    .description =
        "Compiles MODEL (.dnn or .onnx) for the target --target names and writes\n"
        "what it made at DIR/NAME. For the default target, cpu, that is native code\n"
        "through LLVM: the bundle DIR/NAME.o (or .s / .ll), DIR/NAME.h with its C\n"
        "API (docs/bundle.md) and DIR/NAME.weights with the packed weights (unless\n"
        "--embed-weights). For spatial (a fixed16 network) it is the accelerator's\n"
        "program DIR/NAME.isa and DIR/NAME.dram with its weights, and with --emit=asm\n"
        "also the program as text, DIR/NAME.s (docs/isa.md). The pipeline and LLVM run\n"
        "at the target's default -O level (-O3 for cpu) unless -O says otherwise.",
    .operand = "model file",
    .operand_offset = offsetof(CompileArgs, model),
    .sections = {
        {"options:", compile_options, 0},
        MODEL_OPTION_SECTION(CompileArgs),
        PIPELINE_OPTION_SECTIONS(
            CompileArgs, "pipeline options (default: --target cpu at its default level):"),
    },
};

static bool valid_identifier(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static bool has_emit(const Target *t) { return t->compile && t->emit; }

/* -o DIR/NAME's directory into a->out_dir ("." without one); false if it
 * does not fit. */
static bool find_output_directory(CompileArgs *a)
{
    const char *slash = strrchr(a->out, '/');
    size_t n = slash ? (size_t)(slash - a->out) : 0;
    if (n >= sizeof a->out_dir)
        return false;
    if (!slash)
        strcpy(a->out_dir, ".");
    else if (n == 0)
        strcpy(a->out_dir, "/");
    else
        memcpy(a->out_dir, a->out, n), a->out_dir[n] = '\0';
    return true;
}

/* Whether -o's directory (a->out_dir) is one dnnc may write into: checked
 * before the compile, which takes seconds on a large network and would
 * only then fail to write its files. */
static bool output_directory_writable(const CompileArgs *a)
{
    struct stat st;
    const char *why = NULL;
    if (stat(a->out_dir, &st) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    else if (access(a->out_dir, W_OK) != 0)
        why = strerror(errno);
    if (why)
        fprintf(stderr, "dnnc compile: error: cannot write into '%s' (-o %s): %s\n", a->out_dir, a->out, why);
    return !why;
}

/* Checks after the options are parsed; OPTIONS_PARSED or the exit status. */
static int check_args(CompileArgs *a)
{
    if (!a->out)
        return usage_error("compile", "no -o DIR/NAME");
    const char *slash = strrchr(a->out, '/');
    if (!a->name)
        a->name = slash ? slash + 1 : a->out;
    if (!valid_identifier(a->name))
        return usage_error("compile", "the symbol prefix '%s' is not a C identifier (use --name)",
                           a->name);
    if (!has_emit(a->pipeline.target))
        return target_cannot("compile", a->pipeline.target, "write compiled code", "code generator",
                             has_emit);
    if (!find_output_directory(a)) {
        fprintf(stderr, "dnnc compile: error: the directory of '%s' is too long a path\n", a->out);
        return EXIT_INPUT_ERROR;
    }
    if (!output_directory_writable(a))
        return EXIT_INPUT_ERROR;
    /* An ONNX model's weights are kept in a file in -o's directory while it
     * compiles (ModelArgs.weights_dir): that disk is about to take the
     * compiled weights anyway, and the compiler's memory then holds only
     * the weights it is working on. */
    a->weights.weights_dir = a->out_dir;
    return OPTIONS_PARSED;
}

static bool compile_and_emit(const Graph *g, const CompileArgs *a)
{
    const Target *t = a->pipeline.target;
    TargetOptions to = {
        .name = a->name,
        .triple = a->triple,
        .cpu = a->cpu,
        .features = a->features,
        .opt_level = a->pipeline.passes.opt_level,
        .pic = a->reloc == RELOC_PIC, /* Debian's compilers build position-independent executables */
        .embed_weights = a->embed_weights,
        .for_emit = true,
        .emit = (TargetEmitKind)a->emit,
        .arch = a->pipeline.arch,
    };
    char err[1024];
    double t0 = now_seconds();
    TargetProgram *p = t->compile(g, &to, err, sizeof err);
    if (p)
        printf("compiled in %.1f s\n", now_seconds() - t0);
    bool ok = p && t->emit(p, a->out, err, sizeof err);
    if (!ok)
        fprintf(stderr, "dnnc compile: error: %s\n", err);
    if (p)
        t->release(p);
    return ok;
}

int cmd_compile(int argc, char **argv)
{
    CompileArgs a = {0};
    int rc = model_command_parse(&cmd_compile_spec, argc, argv, &a, &a.pipeline, "cpu",
                                 LEVEL_OF_TARGET);
    if (rc == OPTIONS_PARSED)
        rc = check_args(&a);
    if (rc != OPTIONS_PARSED)
        return rc;
    Model m;
    if (!model_prepare(a.model, &a.weights, &a.pipeline, true, &m))
        return EXIT_INPUT_ERROR;
    bool ok = compile_and_emit(m.graph, &a);
    model_free(&m);
    return ok ? EXIT_OK : EXIT_INPUT_ERROR;
}
