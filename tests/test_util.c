#include "test_util.h"

#include "isa_asm.h"
#include "npy.h"
#include "onnx_import.h"

#include "pipeline.h"
#include "target.h"
#include "weights.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_frontend(Parsed *p)
{
    size_t size = 0;
    FILE *out = open_memstream(&p->messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    p->graph = frontend_parse(&p->src, &d);
    fclose(out);
    p->errors = d.errors;
    p->warnings = d.warnings;
}

void parse_text(Parsed *p, const char *name, const char *text)
{
    memset(p, 0, sizeof *p);
    assert_true(source_from_buffer(name, text, strlen(text), &p->src));
    run_frontend(p);
}

void parse_file(Parsed *p, const char *path)
{
    memset(p, 0, sizeof *p);
    size_t size = 0;
    FILE *out = open_memstream(&p->messages, &size);
    Diag d;
    diag_init(&d, out);
    bool ok = source_read(path, &p->src, &d);
    fclose(out);
    if (!ok)
        fail_msg("cannot read %s: %s", path, p->messages);
    free(p->messages);
    p->messages = NULL;
    run_frontend(p);
}

void parsed_free(Parsed *p)
{
    graph_free(p->graph);
    source_free(&p->src);
    free(p->messages);
    memset(p, 0, sizeof *p);
}

char *isa_program_text(const IsaProgram *p)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    isa_disasm(p, out);
    fclose(out);
    return text;
}

const Node *test_layer_named(const Graph *g, const char *name)
{
    int t = graph_find_tensor(g, name);
    if (t < 0 || g->tensors[t].producer < 0)
        fail_msg("no layer '%s'", name);
    return &g->nodes[g->tensors[t].producer];
}

int test_count_op(const Graph *g, OpKind op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].removed && g->nodes[i].op == op;
    return n;
}

Graph *test_import_onnx(const char *path)
{
    char *messages = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    Graph *g = onnx_import(path, NULL, &d);
    fclose(out);
    if (!g)
        fail_msg("onnx_import(%s) failed:\n%s", path, messages);
    free(messages);
    return g;
}

static void strip_dump_comments(char *text)
{
    char *w = text;
    for (const char *r = text; *r;) {
        if (r[0] == ' ' && r[1] == ' ' && r[2] == '#') {
            while (*r && *r != '\n')
                r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

char *graph_to_text(const Graph *g)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    graph_print(g, out);
    fclose(out);
    return text;
}

void weights_load_or_fail(Graph *g, const char *path)
{
    char *messages = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    bool bound = weights_load(g, path, &d);
    fclose(out);
    if (!bound)
        fail_msg("%s:\n%s", path, messages);
    free(messages);
}

void strip_offsets(char *text)
{
    char *to = text;
    for (const char *from = text; *from;) {
        size_t digits = strncmp(from, "@offset(", 8) == 0 ? strspn(from + 8, "0123456789") : 0;
        if (digits && strncmp(from + 8 + digits, ") ", 2) == 0)
            from += 8 + digits + 2;
        else
            *to++ = *from++;
    }
    *to = '\0';
}

void assert_dump_parses_back(const char *text)
{
    Parsed back;
    parse_text(&back, "dump.dnn", text);
    if (!back.graph)
        fail_msg("the dump does not parse:\n%s\n%s", text, back.messages);
    char *again = graph_to_text(back.graph), *want = strdup(text);
    assert_non_null(want);
    strip_dump_comments(want);
    strip_dump_comments(again);
    assert_string_equal(want, again);
    free(again);
    free(want);
    parsed_free(&back);
}

char *read_file_or_fail(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

void assert_contains_impl(const char *haystack, const char *needle, const char *file, int line)
{
    if (haystack && strstr(haystack, needle))
        return;
    print_error("%s:%d: expected to find\n  %s\nin\n%s\n", file, line, needle,
                   haystack ? haystack : "(null)");
    _fail(file, line);
}

/* ---- temporary directories ------------------------------------------------ */

bool temp_dir_create(char *buf, size_t size, const char *prefix)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(buf, size, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
    return n > 0 && (size_t)n < size && mkdtemp(buf) != NULL;
}

int temp_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

char *dir_find_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot list %s", dir);
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            found = strdup(e->d_name);
    closedir(d);
    return found;
}

/* ---- running a program ---------------------------------------------------- */

extern char **environ;

Run run_program(const char *binary, const char *dir, const char *const *args)
{
    char out_path[4096], err_path[4096];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)binary;
    for (int i = 0; args[i]; i++) {
        if (argc == 63)
            fail_msg("run_program: more than 62 arguments");
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, binary, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", binary, strerror(rc));
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);

    Run r;
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    r.out = read_file_or_fail(out_path, NULL);
    r.err = read_file_or_fail(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r;
}

void run_free(Run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void check_run(const char *file, int line, Run *r, int status, const char *out_has,
               const char *err_has)
{
    bool status_ok = r->status == status;
    bool out_ok = out_has ? strstr(r->out, out_has) != NULL : r->out[0] == '\0';
    bool err_ok = err_has ? strstr(r->err, err_has) != NULL : r->err[0] == '\0';
    if (!(status_ok && out_ok && err_ok))
        print_error("%s:%d: expected exit %d, stdout %s%s%s, stderr %s%s%s\n"
                    "got exit %d\n--- stdout:\n%s--- stderr:\n%s---\n",
                    file, line, status, out_has ? "containing '" : "empty", out_has ? out_has : "",
                    out_has ? "'" : "", err_has ? "containing '" : "empty", err_has ? err_has : "",
                    err_has ? "'" : "", r->status, r->out, r->err);
    run_free(r);
    if (!(status_ok && out_ok && err_ok))
        _fail(file, line);
}

void write_f32_npy(const char *path, Shape shape, float (*value)(int64_t i, uint32_t seed), uint32_t seed)
{
    Array a;
    char err[1024];
    if (!array_alloc(&a, ELEM_F32, &shape, err, sizeof err))
        fail_msg("%s", err);
    float *v = a.data;
    for (int64_t i = 0; i < array_count(&a); i++)
        v[i] = value(i, seed);
    bool ok = npy_write(path, &a, err, sizeof err);
    array_free(&a);
    if (!ok)
        fail_msg("%s: %s", path, err);
}

void remove_space(char *s)
{
    char *out = s;
    for (; *s; s++)
        if (*s != ' ' && *s != '\n')
            *out++ = *s;
    *out = '\0';
}

void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

const char *temp_path(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", dir, name);
    return p;
}

bool run_pipeline(Graph *g, const char *target, int level, const char *passes, char **messages)
{
    return run_pipeline_on(g, NULL, target, level, passes, messages);
}

/* DNNC_TEST_CONV_ALGO=winograd/4 (as --conv-algo): the suites that run
 * the pipeline through here run again with a fast algorithm on every conv
 * it can compute (tests/CMakeLists.txt). A bad value fails the test. */
const char *test_forced_conv_algo(AlgoChoice *c)
{
    const char *v = getenv("DNNC_TEST_CONV_ALGO");
    if (!v || !*v)
        return NULL;
    if (!algo_choice_parse_option(v, c))
        fail_msg("DNNC_TEST_CONV_ALGO=%s is not an algorithm", v);
    return v;
}

bool test_forced_algo_applies(const Graph *g)
{
    AlgoChoice c;
    if (!test_forced_conv_algo(&c))
        return true;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        char why[8];
        if (!n->removed && n->op == OP_CONV && n->ann.algo == ALGO_AUTO &&
            conv_algo_applies(c.algo, &n->attr.conv, conv_algo_tile(c.algo, c.tile, &n->attr.conv), why,
                              sizeof why))
            return true;
    }
    return false;
}

static void forced_conv_algo(PassOptions *o)
{
    AlgoChoice c;
    if (!test_forced_conv_algo(&c))
        return;
    o->prefer_algo = c.algo;
    o->prefer_tile = c.tile;
}

bool run_pipeline_on(Graph *g, const Source *src, const char *target, int level, const char *passes,
                     char **messages)
{
    size_t size = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    if (src) /* the parser's first file, so that locations quote it */
        diag_add_file(&d, src->path, src->text, src->len);
    const Target *t = target_find(target);
    if (!t)
        fail_msg("no target '%s'", target);
    PipelineOptions po = {.opt_level = level, .verify_each = true, .log = out};
    char err[512];
    bool ok = true;
    if (passes) {
        po.custom = true;
        ok = pipeline_parse_list(passes, po.only, &po.n_only, PIPELINE_MAX, err, sizeof err);
        if (!ok)
            fprintf(out, "%s\n", err);
    }
    PassOptions o = {.opt_level = level, .target = t, .diag = &d};
    forced_conv_algo(&o);
    ok = ok && pipeline_run(g, &o, &po);
    fclose(out);
    if (messages)
        *messages = text;
    else
        free(text);
    return ok;
}

void run_pipeline_or_fail(Graph *g, const char *target, int level)
{
    char *messages;
    if (!run_pipeline(g, target, level, NULL, &messages))
        fail_msg("the %s pipeline at -O%d failed:\n%s", target, level, messages);
    free(messages);
}

bool run_pipeline_with(Graph *g, PassOptions *o, char **messages)
{
    size_t size = 0;
    *messages = NULL;
    FILE *out = open_memstream(messages, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    o->diag = &d;
    PipelineOptions pl = {.opt_level = o->opt_level, .verify_each = true, .log = out};
    bool ok = pipeline_run(g, o, &pl);
    fclose(out);
    o->diag = NULL;
    return ok;
}

void run_pipeline_with_or_fail(Graph *g, PassOptions *o)
{
    char *messages;
    bool ok = run_pipeline_with(g, o, &messages);
    if (!ok)
        fail_msg("the %s pipeline at -O%d failed:\n%s", o->target->name, o->opt_level, messages);
    free(messages);
}

/* splitmix64, for test values that do not depend on the platform. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi). */
static float uniform(uint64_t *s, double lo, double hi)
{
    return (float)(lo + (hi - lo) * (double)(next_random(s) >> 11) / 9007199254740992.0);
}

const char *test_fashion_dir(void)
{
    const char *d = getenv("FASHION_MNIST_DIR");
    return d && *d ? d : "/usr/share/datasets/fashion-mnist";
}

void test_skip_without_fashion(void)
{
    char probe[512];
    snprintf(probe, sizeof probe, "%s/t10k-images-idx3-ubyte.gz", test_fashion_dir());
    if (access(probe, R_OK) != 0) {
        print_message("SKIPPED: %s is not there (install dataset-fashion-mnist or set "
                      "FASHION_MNIST_DIR)\n", probe);
        skip();
    }
}

int test_correct_of(const char *out)
{
    const char *p = strstr(out, "top-1 ");
    p = p ? strchr(p, '(') : NULL;
    if (!p)
        fail_msg("no accuracy in:\n%s", out);
    return atoi(p + 1);
}

Graph *parse_with_random_weights(Parsed *p, const char *name, const char *text, uint64_t seed)
{
    parse_text(p, name, text);
    if (!p->graph)
        fail_msg("%s", p->messages);
    randomize_weights_for_test(p->graph, seed);
    return p->graph;
}

void randomize_weights_for_test(Graph *g, uint64_t seed)
{
    assert_true(weights_randomize(g, seed));
    uint64_t s = seed;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_BATCHNORM && n->op != OP_SCALE_SHIFT)
            continue;
        /* batchnorm: weight, bias, running_mean, running_var; scale_shift:
         * scale, shift. Variances and scales stay positive. */
        static const double lo[4] = {0.5, -0.5, -0.5, 0.5}, hi[4] = {1.5, 0.5, 0.5, 1.5};
        for (int k = 0; k < n->n_params; k++) {
            const Tensor *p = &g->tensors[n->params[k]];
            float *v = p->data;
            for (int64_t c = 0; c < shape_elems(&p->shape); c++)
                v[c] = uniform(&s, lo[k], hi[k]);
        }
    }
}

double test_uniform01(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}
