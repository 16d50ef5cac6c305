/* Helpers shared by the cmocka tests: parse source held in a string and
 * capture every diagnostic as text, so tests can assert on messages and
 * positions exactly as a user sees them. */
#ifndef DNNC_TEST_UTIL_H
#define DNNC_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "frontend.h"
#include "conv_algo.h"
#include "graph.h"
#include "pass.h"

typedef struct Parsed {
    Source src;
    Graph *graph;    /* NULL when errors were reported */
    char *messages;  /* everything written to the diagnostics stream */
    int errors, warnings;
} Parsed;

/* Parses `text` as if it were the file `name`. */
void parse_text(Parsed *p, const char *name, const char *text);
void parse_file(Parsed *p, const char *path);
void parsed_free(Parsed *p);

/* parse_text, failing the test on errors, with weights drawn from seed
 * (randomize_weights_for_test). */
Graph *parse_with_random_weights(Parsed *p, const char *name, const char *text, uint64_t seed);

/* Fashion-MNIST: its directory ($FASHION_MNIST_DIR or the Debian package's),
 * skipping the test when its test images are not there; and the correct
 * count of dnnc run's "top-1 89.52% (8952/10000)" line in `out`. */
const char *test_fashion_dir(void);
void test_skip_without_fashion(void);
int test_correct_of(const char *out);

/* Prints the graph as source into a malloc'd string. */
char *graph_to_text(const Graph *g);
/* That the dump `text` parses and prints back to itself, but for its
 * comments (what a dump shows of bound weights, which the graph it parses
 * back to lacks). */
void assert_dump_parses_back(const char *text);
/* Binds the weights of the safetensors file at path to g, failing the test
 * with every diagnostic weights_load gave if it cannot. */
void weights_load_or_fail(Graph *g, const char *path);
/* Removes every "@offset(N) " from a dump, in place: for tests of other
 * annotations, whose lines should not change with the workspace's plan. */
void strip_offsets(char *text);
/* The layer that computes tensor `name`; fails the test if none does. */
const Node *test_layer_named(const Graph *g, const char *name);

/* The layers of op that g has (removed ones not counted). */
int test_count_op(const Graph *g, OpKind op);
/* The ONNX model at path, imported; fails the test with the importer's
 * messages if it cannot be. */
Graph *test_import_onnx(const char *path);

/* Reads a whole file; fails the test if it cannot. */
char *read_file_or_fail(const char *path, size_t *len);

/* The canonical assembly text of an accelerator program (malloc'd). */
struct IsaProgram;
char *isa_program_text(const struct IsaProgram *p);

/* Fails unless `haystack` contains `needle`, showing both. */
#define assert_contains(haystack, needle) assert_contains_impl((haystack), (needle), __FILE__, __LINE__)
void assert_contains_impl(const char *haystack, const char *needle, const char *file, int line);

/* ---- the pass pipeline -------------------------------------------------- */

/* Runs target `target`'s pipeline on g at -O`level`, or, when `passes` is
 * not NULL, only those passes (comma-separated, as --passes) before the
 * target's lowering; the graph is verified after every pass. Diagnostics
 * are returned in *messages (malloc'd; may be NULL), quoting src (may be
 * NULL) as the parser would. True on success. */
bool run_pipeline_on(Graph *g, const Source *src, const char *target, int level, const char *passes,
                     char **messages);
bool run_pipeline(Graph *g, const char *target, int level, const char *passes, char **messages);
/* Like run_pipeline, failing the test on any error. */
void run_pipeline_or_fail(Graph *g, const char *target, int level);
/* The pipeline of o->target at o->opt_level with the pass options o (its
 * diag set here), verified after every pass; false with the messages in
 * *messages (the caller frees them) on an error. */
bool run_pipeline_with(Graph *g, PassOptions *o, char **messages);
/* The same, failing the test on any error. */
void run_pipeline_with_or_fail(Graph *g, PassOptions *o);

/* The algorithm DNNC_TEST_CONV_ALGO forces (tests/CMakeLists.txt), or
 * NULL when it forces none; *c is set when it does. */
const char *test_forced_conv_algo(AlgoChoice *c);
/* Whether g has a conv the algorithm DNNC_TEST_CONV_ALGO forces can compute
 * (true when it forces none): a graph without one runs as unforced. */
bool test_forced_algo_applies(const Graph *g);

/* splitmix64: the next number of the sequence *state, uniform in [0, 1)
 * (53 random bits), the same on every machine. */
double test_uniform01(uint64_t *state);

/* Deterministic random weights (weights_randomize), with batch norms given
 * statistics far from the identity and scale_shift layers values far from
 * 1 and 0, so that folding and fusing them is tested for real. */
void randomize_weights_for_test(Graph *g, uint64_t seed);

/* ---- temporary directories ------------------------------------------------ */

/* Creates a fresh directory $TMPDIR/PREFIX-XXXXXX (/tmp without TMPDIR) and
 * writes its path to buf; false if it cannot. */
bool temp_dir_create(char *buf, size_t size, const char *prefix);
/* Removes every file in the (flat) directory, then the directory; 0 on success. */
int temp_dir_remove(const char *dir);
/* "dir/name" in one of 8 rotating static buffers: a test keeps at most a few
 * paths live at once. */
const char *temp_path(const char *dir, const char *name);
/* Removes every space and newline of s, in place (JSON compared as text). */
void remove_space(char *s);
/* Writes text to path (a whole file); fails the test if it cannot. */
void write_text_file(const char *path, const char *text);
/* A float32 .npy file of the given shape whose element i is value(i, seed);
 * fails the test if it cannot be written. */
void write_f32_npy(const char *path, Shape shape, float (*value)(int64_t i, uint32_t seed), uint32_t seed);
/* The name of the first entry of `dir` that starts with `prefix` (malloc'd),
 * or NULL if there is none: finds OUT and OUT.tmp.XXXXXX alike. */
char *dir_find_prefix(const char *dir, const char *prefix);

/* ---- running a program ---------------------------------------------------- */

typedef struct Run {
    int status; /* exit status; -1 if it did not exit normally */
    char *out, *err;
} Run;

/* Runs `binary` with the given arguments (NULL-terminated, argv[0] not
 * included), stdin from /dev/null, stdout and stderr captured through the
 * files stdout.txt and stderr.txt in `dir` (removed afterwards). */
Run run_program(const char *binary, const char *dir, const char *const *args);
void run_free(Run *r);

/* Checks the exit status and that each stream contains its excerpt (NULL:
 * the stream must be empty). Frees the run before failing. */
void check_run(const char *file, int line, Run *r, int status, const char *out_has,
               const char *err_has);
#define assert_run(r, status, out_has, err_has) \
    check_run(__FILE__, __LINE__, (r), (status), (out_has), (err_has))

#endif
