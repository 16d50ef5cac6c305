/* dnnc-difftest: differential testing of the whole compiler, the way Csmith
 * and NNSmith find compiler bugs (docs/testing.md). Each graph is checked
 * in a child process, so that a crash or a hang of the compiler is a
 * finding like a wrong result, reported with the seed that reproduces it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "difftest.h"

typedef struct Args {
    uint64_t seed;
    long long count;
    long long sanitized_count;
    double seconds;
    const char *save;
    const char *file;
    bool verbose;
    bool print;
    bool parse_only;
    bool no_fork;
    int jobs;
    double timeout;
    unsigned object_levels;
    int max_layers;
} Args;

/* The options, once: getopt_long's table and --help are made from it. */
typedef struct Opt {
    const char *name;
    const char *metavar; /* NULL: a flag */
    const char *help;
} Opt;

static const Opt opts[] = {
    {"seed", "N", "the first graph's seed (default 1); graph k of the run uses N + k"},
    {"count", "N", "check N graphs (default 100, or no limit with --seconds)"},
    {"seconds", "S", "stop starting graphs after S seconds"},
    {"save", "DIR", "write every failing graph there as seed-N.dnn with its weights\n"
                    "(seed-N.safetensors) and inputs (seed-N.INPUT.npy)"},
    {"verbose", NULL, "print each graph's source and every backend it passed"},
    {"file", "FILE.dnn", "check this network instead of generated ones (a saved failure or\n"
                         "a regression test; values from FILE.safetensors and\n"
                         "FILE.INPUT.npy next to it, else from its seed line)"},
    {"print", NULL, "print the source of --seed's graph and exit"},
    {"parse-only", NULL, "only generate and parse the graphs: checks the generator against\n"
                         "the front end's shape rules, fast"},
    {"jobs", "N", "graphs checked at once, each in its own process (default: the\n"
                  "number of processors)"},
    {"timeout", "S", "a graph still running after S seconds is a hang (default 300)"},
    {"objects", "LEVELS", "-O levels at which object code is also linked and run, as\n"
                          "digits (default 03; '-' for none)"},
    {"max-layers", "N", "layers per generated graph at most (default 14)"},
    {"sanitized-count", "N", "in a sanitizer build (DNNC_SANITIZE) check N graphs instead of\n"
                             "--count's, and say so"},
    {"no-fork", NULL, "check in this process (for a debugger); a crash ends the run"},
    {"help", NULL, "show this help"},
};
#define N_OPTS (int)(sizeof opts / sizeof *opts)

static const char usage_head[] =
    "usage: dnnc-difftest [--seed N] [--count N | --seconds S] [--save DIR] [--verbose]\n"
    "       dnnc-difftest --file FILE.dnn [--verbose]\n\n"
    "Differential testing of the whole compiler. Generates random valid networks\n"
    "(network-language source: convolutions of every geometry, pooling, every\n"
    "activation, normalisations, element-wise ops with broadcasting, views,\n"
    "constants, quantised layers, and the patterns the passes rewrite), gives each\n"
    "deterministic weights and inputs, and runs it on the reference executor as\n"
    "written (the oracle) and on: the reference after its pipeline at -O0..-O3;\n"
    "native code through the JIT at -O0..-O3, on one thread and on two; object\n"
    "code linked into a shared library at -O0 and -O3; and the dump of every\n"
    "compiled graph parsed back and run on the reference. Every output element\n"
    "must agree within a tolerance that float32 rounding justifies (integers\n"
    "exactly; docs/testing.md). A mismatch, an error, a crash or a hang prints the\n"
    "seed, the backend and level and the worst element, and with --save writes\n"
    "the graph, its weights and its inputs.\n\n"
    "options:\n";

static const char usage_tail[] =
    "\nThe same seed gives the same graph, weights and inputs on every machine.\n"
    "CI runs:          dnnc-difftest --seed 1 --count 100 --sanitized-count 12\n"
    "Before a release: dnnc-difftest --seconds 1200 --seed 1000 --save /tmp/difftest-found\n"
    "Reproduce one:    dnnc-difftest --seed N --count 1 --verbose\n"
    "Exit status: 0 if every graph passed (discarded ones are counted, not failed),\n"
    "1 if any failed or SIGINT or SIGTERM stopped the run before every graph was\n"
    "checked, 2 for usage errors.\n";

static void help(FILE *out)
{
    fputs(usage_head, out);
    for (int i = 0; i < N_OPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "  --%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "");
        fprintf(out, "%-26s", left);
        if (strlen(left) >= 26)
            fprintf(out, "\n%-26s", "");
        for (const char *p = opts[i].help; *p; p++) {
            fputc(*p, out);
            if (*p == '\n')
                fprintf(out, "%-26s", "");
        }
        fputc('\n', out);
    }
    fputs(usage_tail, out);
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "dnnc-difftest: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nRun 'dnnc-difftest --help' for usage.\n");
    return 2;
}

static bool parse_ull(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v > 0) || v > 1e7)
        return false;
    *out = v;
    return true;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, Args *a)
{
    struct option lo[N_OPTS + 1];
    for (int i = 0; i < N_OPTS; i++)
        lo[i] = (struct option){opts[i].name, opts[i].metavar ? required_argument : no_argument, NULL, 256 + i};
    lo[N_OPTS] = (struct option){0};
    bool count_given = false;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (c == 'h')
            c = 256 + N_OPTS - 1;
        if (c == '?')
            return usage_error("unknown option '%s'%s", argv[optind - 1], "");
        if (c == ':')
            return usage_error("option '%s' needs a value%s", argv[optind - 1], "");
        const char *name = opts[c - 256].name, *v = optarg;
        unsigned long long u;
        if (strcmp(name, "seed") == 0) {
            if (!parse_ull(v, 0, UINT64_MAX, &u))
                return usage_error("--seed expects an unsigned integer, got '%s'%s", v, "");
            a->seed = u;
        } else if (strcmp(name, "count") == 0 || strcmp(name, "sanitized-count") == 0) {
            if (!parse_ull(v, 1, 1000000000ull, &u))
                return usage_error("--%s expects a positive integer, got '%s'", name, v);
            if (name[0] == 'c')
                a->count = (long long)u, count_given = true;
            else
                a->sanitized_count = (long long)u;
        } else if (strcmp(name, "seconds") == 0 || strcmp(name, "timeout") == 0) {
            if (!parse_seconds(v, name[0] == 's' ? &a->seconds : &a->timeout))
                return usage_error("--%s expects a positive number of seconds, got '%s'", name, v);
        } else if (strcmp(name, "save") == 0) {
            a->save = v;
        } else if (strcmp(name, "file") == 0) {
            a->file = v;
        } else if (strcmp(name, "verbose") == 0) {
            a->verbose = true;
        } else if (strcmp(name, "print") == 0) {
            a->print = true;
        } else if (strcmp(name, "parse-only") == 0) {
            a->parse_only = true;
        } else if (strcmp(name, "no-fork") == 0) {
            a->no_fork = true;
        } else if (strcmp(name, "jobs") == 0) {
            if (!parse_ull(v, 1, 256, &u))
                return usage_error("--jobs expects 1 to 256, got '%s'%s", v, "");
            a->jobs = (int)u;
        } else if (strcmp(name, "max-layers") == 0) {
            if (!parse_ull(v, 2, 200, &u))
                return usage_error("--max-layers expects 2 to 200, got '%s'%s", v, "");
            a->max_layers = (int)u;
        } else if (strcmp(name, "objects") == 0) {
            a->object_levels = 0;
            for (const char *p = v; strcmp(v, "-") != 0 && *p; p++) {
                if (*p < '0' || *p > '3')
                    return usage_error("--objects expects digits 0 to 3 (or '-'), got '%s'%s", v, "");
                a->object_levels |= 1u << (*p - '0');
            }
        } else { /* help */
            help(stdout);
            return 0;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'%s", argv[optind], "");
    if (!count_given)
        a->count = a->seconds > 0 ? 1000000000ll : 100;
    return -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the run ----------------------------------------------------------------------- */

typedef struct Totals {
    long long graphs, passed, failed, discarded, runs;
    double worst_ratio, max_tolerance_scale;
    uint64_t worst_seed;
} Totals;

typedef struct Job {
    pid_t pid;
    int fd;
    uint64_t seed;
    char *text;
    double start;
    DtOutcome out;
    size_t got;
} Job;

static DtCheckOptions check_options(const Args *a, FILE *log)
{
    return (DtCheckOptions){.object_levels = a->object_levels, .log = log};
}

static void save_case(const Args *a, uint64_t seed, const char *text)
{
    if (!a->save)
        return;
    mkdir(a->save, 0777);
    char base[64], err[1024];
    snprintf(base, sizeof base, "seed-%llu", (unsigned long long)seed);
    if (dt_save(a->save, base, text, seed, err, sizeof err))
        printf("  saved %s/%s.dnn (with %s.safetensors and its inputs as .npy)\n", a->save, base, base);
    else
        printf("  could not save the case: %s\n", err);
}

static const char *status_name(DtStatus s)
{
    switch (s) {
    case DT_PASS: return "PASS";
    case DT_MISMATCH: return "MISMATCH";
    case DT_ERROR: return "ERROR";
    default: return "DISCARDED";
    }
}

static void record(const Args *a, Totals *t, uint64_t seed, const char *text, const DtOutcome *o)
{
    t->graphs++;
    t->runs += o->runs;
    if (o->status == DT_PASS || o->status == DT_DISCARDED) {
        if (o->status == DT_PASS)
            t->passed++;
        else
            t->discarded++;
        if (o->worst_ratio > t->worst_ratio)
            t->worst_ratio = o->worst_ratio, t->worst_seed = seed;
        if (o->tolerance_scale > t->max_tolerance_scale)
            t->max_tolerance_scale = o->tolerance_scale;
        if (a->verbose || o->status == DT_DISCARDED)
            printf("%s seed %llu: %d runs%s%s, worst error %.3g of the tolerance\n", status_name(o->status),
                   (unsigned long long)seed, o->runs, o->status == DT_DISCARDED ? ": " : "",
                   o->status == DT_DISCARDED ? o->report : "", o->worst_ratio);
        return;
    }
    t->failed++;
    printf("FAIL seed %llu: %s: %s: %s\n", (unsigned long long)seed, status_name(o->status), o->where,
           o->report);
    printf("  reproduce: dnnc-difftest --seed %llu --count 1 --verbose\n", (unsigned long long)seed);
    save_case(a, seed, text);
    fflush(stdout);
}

/* The child's side: check, send the outcome, exit. */
static void child(const Args *a, const char *text, uint64_t seed, int fd)
{
    char *log = NULL;
    size_t len = 0;
    FILE *lf = a->verbose ? open_memstream(&log, &len) : NULL;
    DtCheckOptions o = check_options(a, lf);
    DtOutcome *out = calloc(1, sizeof *out);
    if (!out)
        _exit(3);
    char name[64];
    snprintf(name, sizeof name, "seed-%llu.dnn", (unsigned long long)seed);
    dt_check_source(name, text, seed, &o, out);
    if (lf) {
        fclose(lf);
        fputs(log, stdout);
        fflush(stdout);
        free(log);
    }
    const char *p = (const char *)out;
    size_t left = sizeof *out;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);
        p += w, left -= (size_t)w;
    }
    _exit(0);
}

/* SIGINT or SIGTERM: stop starting graphs, end the running checks, print
 * the summary of what finished, and exit with 1: not every graph was
 * checked, so the run did not pass. */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static char *generate(const Args *a, uint64_t seed)
{
    DtLimits lim = dt_default_limits;
    if (a->max_layers)
        lim.max_layers = a->max_layers;
    return dt_generate(seed, &lim);
}

static bool start_job(const Args *a, Job *j, uint64_t seed)
{
    memset(j, 0, sizeof *j);
    j->seed = seed;
    j->text = generate(a, seed);
    if (!j->text)
        return false;
    if (a->verbose)
        printf("--- seed %llu\n%s", (unsigned long long)seed, j->text);
    fflush(stdout);
    int fds[2];
    if (pipe(fds) != 0) {
        free(j->text), j->text = NULL;
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(j->text), j->text = NULL;
        return false;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        close(fds[0]);
        child(a, j->text, seed, fds[1]);
    }
    close(fds[1]);
    j->pid = pid;
    j->fd = fds[0];
    j->start = now();
    return true;
}

/* The outcome of a check that sent none: a hang, or a crash (the wait
 * status of the child). */
static void lost_outcome(const Args *a, bool timed_out, int status, DtOutcome *o)
{
    memset(o, 0, sizeof *o);
    o->status = DT_ERROR;
    if (timed_out) {
        snprintf(o->where, sizeof o->where, "hang");
        snprintf(o->report, sizeof o->report, "still running after %.0f s", a->timeout);
    } else if (WIFSIGNALED(status)) {
        snprintf(o->where, sizeof o->where, "crash");
        snprintf(o->report, sizeof o->report, "the check died of signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(o->where, sizeof o->where, "crash");
        snprintf(o->report, sizeof o->report, "the check exited with status %d without a result",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

/* The job ended (EOF) or timed out: reap it and turn what happened into an outcome. */
static void finish_job(const Args *a, Job *j, Totals *t, bool timed_out)
{
    int status = 0;
    if (timed_out)
        kill(j->pid, SIGKILL);
    waitpid(j->pid, &status, 0);
    close(j->fd);
    if (j->got != sizeof j->out)
        lost_outcome(a, timed_out, status, &j->out);
    record(a, t, j->seed, j->text, &j->out);
    free(j->text);
    j->text = NULL;
    j->pid = 0;
}

static int run_file(const Args *a)
{
    DtCheckOptions o = check_options(a, a->verbose ? stdout : NULL);
    DtOutcome out;
    dt_check_file(a->file, &o, &out);
    if (out.status == DT_PASS || out.status == DT_DISCARDED) {
        printf("%s %s: %d runs, worst error %.3g of the tolerance%s%s\n", status_name(out.status), a->file,
               out.runs, out.worst_ratio, out.status == DT_DISCARDED ? "; " : "",
               out.status == DT_DISCARDED ? out.report : "");
        return 0;
    }
    printf("FAIL %s: %s: %s: %s\n", a->file, status_name(out.status), out.where, out.report);
    return 1;
}

/* --print: the source of --seed's graph. */
static int print_graph(const Args *a)
{
    char *text = generate(a, a->seed);
    fputs(text ? text : "", stdout);
    free(text);
    return text ? 0 : 1;
}

/* --parse-only: every graph through the front end and its types checked,
 * nothing run. */
static int run_parse_only(const Args *a)
{
    long long bad = 0;
    for (long long k = 0; k < a->count; k++) {
        uint64_t seed = a->seed + (uint64_t)k;
        char *text = generate(a, seed), *messages = NULL, why[1024];
        Graph *g = text ? dt_parse("generated.dnn", text, &messages) : NULL;
        if (!g || !dt_check_types(g, text, why, sizeof why)) {
            printf("FAIL seed %llu: %s\n%s", (unsigned long long)seed, g ? why : "does not compile:",
                   g ? "\n" : messages ? messages : "\n");
            bad++;
        }
        graph_free(g);
        free(messages);
        free(text);
    }
    printf("dnnc-difftest: %lld graphs generated and parsed, %lld failed\n", a->count, bad);
    return bad ? 1 : 0;
}

/* A run of generated graphs: what --count, --seconds and --jobs ask for,
 * and what came of it. */
typedef struct Run {
    const Args *a;
    Totals t;
    double start, last_progress;
    long long started; /* graphs started: seeds a->seed .. a->seed + started - 1 */
    bool interrupted;  /* SIGINT or SIGTERM: not every graph was checked */
} Run;

static bool time_left(const Run *r)
{
    return !(r->a->seconds > 0 && now() - r->start >= r->a->seconds);
}

static void print_banner(const Args *a)
{
    printf("dnnc-difftest: seeds %llu.., %lld graph%s%s, %d job%s; objects at -O",
           (unsigned long long)a->seed, a->count, a->count == 1 ? "" : "s",
           a->seconds > 0 ? " at most" : "", a->jobs, a->jobs == 1 ? "" : "s");
    for (int l = 0; l <= 3; l++)
        if (a->object_levels & (1u << l))
            printf("%d", l);
    printf("\n");
}

/* --no-fork: each graph checked in this process, one after the other. */
static void run_serially(Run *r)
{
    const Args *a = r->a;
    for (; r->started < a->count && time_left(r); r->started++) {
        uint64_t seed = a->seed + (uint64_t)r->started;
        char *text = generate(a, seed);
        if (a->verbose)
            printf("--- seed %llu\n%s", (unsigned long long)seed, text);
        DtCheckOptions o = check_options(a, a->verbose ? stdout : NULL);
        DtOutcome out;
        dt_check_source("generated.dnn", text, seed, &o, &out);
        record(a, &r->t, seed, text, &out);
        free(text);
    }
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = request_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Kills and reaps the checks still running; they are not counted. */
static void stop_all_jobs(Job *jobs, int n)
{
    for (int i = 0; i < n; i++)
        if (jobs[i].pid) {
            kill(jobs[i].pid, SIGKILL);
            waitpid(jobs[i].pid, NULL, 0);
            close(jobs[i].fd);
            free(jobs[i].text);
            jobs[i].pid = 0;
        }
}

/* Starts the next graphs in the free slots while --count and --seconds
 * allow; false (with a message) when a check cannot be started. */
static bool fill_free_slots(Run *r, Job *jobs, int *running)
{
    const Args *a = r->a;
    bool more = r->started < a->count && time_left(r);
    for (int i = 0; more && i < a->jobs; i++)
        if (!jobs[i].pid) {
            if (!start_job(a, &jobs[i], a->seed + (uint64_t)r->started)) {
                fprintf(stderr, "dnnc-difftest: cannot start a check: %s\n", strerror(errno));
                return false;
            }
            r->started++, (*running)++;
            more = r->started < a->count;
        }
    return true;
}

/* Reads what the child sent of its outcome; false when the pipe is at its
 * end (or broken): the child is done. A child that writes more than an
 * outcome is drained a byte at a time until it closes the pipe. */
static bool read_job(Job *j)
{
    char extra;
    bool room_left = j->got < sizeof j->out;
    ssize_t r = room_left ? read(j->fd, (char *)&j->out + j->got, sizeof j->out - j->got)
                          : read(j->fd, &extra, 1);
    if (r > 0) {
        if (room_left)
            j->got += (size_t)r;
        return true;
    }
    return r < 0 && errno == EINTR;
}

/* Waits up to 200 ms for the running checks, then records those that
 * ended or ran past --timeout. Returns how many finished. */
static int collect_jobs(Run *r, Job *jobs, struct pollfd *pfd)
{
    const Args *a = r->a;
    int idx[256], n = 0, finished = 0;
    for (int i = 0; i < a->jobs; i++)
        if (jobs[i].pid) {
            pfd[n] = (struct pollfd){jobs[i].fd, POLLIN, 0};
            idx[n++] = i;
        }
    poll(pfd, (nfds_t)n, 200);
    for (int k = 0; k < n; k++) {
        Job *j = &jobs[idx[k]];
        if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (read_job(j))
                continue;
            finish_job(a, j, &r->t, false);
            finished++;
        } else if (now() - j->start > a->timeout) {
            finish_job(a, j, &r->t, true);
            finished++;
        }
    }
    return finished;
}

/* Every 30 s, so that a long run shows it is alive. */
static void report_progress(Run *r)
{
    if (now() - r->last_progress < 30)
        return;
    r->last_progress = now();
    printf("... %lld graphs in %.0f s: %lld passed, %lld failed, %lld discarded\n", r->t.graphs,
           r->last_progress - r->start, r->t.passed, r->t.failed, r->t.discarded);
}

/* Up to --jobs graphs at once, each checked in a child process, so that a
 * crash or a hang is a finding. False when the run could not go on (out of
 * memory, no process or pipe to start a check with). */
static bool run_in_parallel(Run *r)
{
    const Args *a = r->a;
    Job *jobs = calloc((size_t)a->jobs, sizeof *jobs);
    struct pollfd *pfd = calloc((size_t)a->jobs, sizeof *pfd);
    if (!jobs || !pfd)
        return false;
    int running = 0;
    catch_stop_signals();
    for (;;) {
        if (stop_requested) {
            stop_all_jobs(jobs, a->jobs);
            printf("dnnc-difftest: interrupted; the graphs still running were not counted\n");
            r->interrupted = true;
            break;
        }
        if (!fill_free_slots(r, jobs, &running)) {
            stop_all_jobs(jobs, r->a->jobs); /* none left running behind the error */
            free(jobs);
            free(pfd);
            return false;
        }
        if (running == 0)
            break;
        running -= collect_jobs(r, jobs, pfd);
        report_progress(r);
    }
    free(jobs);
    free(pfd);
    return true;
}

static void report_totals(const Run *r)
{
    const Args *a = r->a;
    const Totals *t = &r->t;
    uint64_t last = a->seed + (uint64_t)r->started - (r->started > 0);
    /* Seeds started: after an interrupt some of them were not checked (the
     * count of graphs says how many were). */
    printf("dnnc-difftest: %lld graphs checked (of seeds %llu to %llu) in %.1f s: %lld passed, %lld failed, "
           "%lld discarded (values past float range); %lld backend runs compared; worst error %.3g of "
           "its tolerance (seed %llu); largest tolerance %.3g of its output's max |value|\n",
           t->graphs, (unsigned long long)a->seed, (unsigned long long)last, now() - r->start, t->passed,
           t->failed, t->discarded, t->runs, t->worst_ratio, (unsigned long long)t->worst_seed,
           t->max_tolerance_scale);
}

int main(int argc, char **argv)
{
    Args a = {.seed = 1, .timeout = 300, .object_levels = (1u << 0) | (1u << 3)};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    a.jobs = cpus > 0 ? (int)cpus : 1;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (a.print)
        return print_graph(&a);
    if (a.file)
        return run_file(&a);
    if (a.parse_only)
        return run_parse_only(&a);
#ifdef DNNC_SANITIZED
    if (a.sanitized_count) {
        printf("dnnc-difftest: sanitizer build: checking %lld graphs instead of %lld (--sanitized-count); "
               "the gcc build checks them all\n", a.sanitized_count, a.count);
        a.count = a.sanitized_count;
    }
#endif
    print_banner(&a);
    Run r = {.a = &a};
    r.start = r.last_progress = now();
    if (a.no_fork)
        run_serially(&r);
    else if (!run_in_parallel(&r))
        return 1;
    report_totals(&r);
    return r.t.failed || r.interrupted ? 1 : 0;
}
