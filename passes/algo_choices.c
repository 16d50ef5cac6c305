/* The --autotune file (algo_choices.h): reading, writing and looking up. */
#include "algo_choices.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "outfile.h"

void conv_shape_key(const Graph *g, const Node *n, int threads, const char *machine, char *buf,
                    size_t size)
{
    const Tensor *x = &g->tensors[n->inputs[0]];
    const ConvAttrs *a = &n->attr.conv;
    char dims[160] = "";
    for (int i = 0; i < x->shape.rank; i++) {
        size_t len = strlen(dims);
        snprintf(dims + len, sizeof dims - len, "%s%lld", i ? "," : "", (long long)x->shape.d[i]);
    }
    snprintf(buf, size,
             "conv %s[%s] filters=%lld kernel=%lldx%lld stride=%lldx%lld dilation=%lldx%lld "
             "pad=%lld,%lld,%lld,%lld groups=%lld threads=%d machine=%s",
             elem_kind_name(x->type.kind), dims, (long long)a->filters, (long long)a->kernel[0],
             (long long)a->kernel[1], (long long)a->stride[0], (long long)a->stride[1],
             (long long)a->dilation[0], (long long)a->dilation[1], (long long)a->pad[0],
             (long long)a->pad[1], (long long)a->pad[2], (long long)a->pad[3],
             (long long)a->groups, threads, machine);
    /* A layer on blocked activations runs other kernels than the same shape
     * on plain ones: its times are its own. A plain layer's key stays as
     * it was before blocked layouts existed, so that old files still hold. */
    Layout reads = graph_tensor_layout(g, n->inputs[0]), writes = graph_tensor_layout(g, n->output);
    size_t len = strlen(buf);
    if (reads == writes && reads != LAYOUT_NCHW)
        snprintf(buf + len, size > len ? size - len : 0, " layout=%s", layout_name(reads));
    else if (reads != writes)
        snprintf(buf + len, size > len ? size - len : 0, " layout=%s-%s", layout_name(reads), layout_name(writes));
}

/* ---- the table ---- */

/* The entry whose shape is the len characters at shape. */
static const AlgoChoiceEntry *find_n(const AlgoChoices *c, const char *shape, size_t len)
{
    for (int i = 0; i < c->n; i++)
        if (strlen(c->entries[i].shape) == len && memcmp(c->entries[i].shape, shape, len) == 0)
            return &c->entries[i];
    return NULL;
}

const AlgoChoiceEntry *algo_choices_find(const AlgoChoices *c, const char *shape)
{
    return find_n(c, shape, strlen(shape));
}

static AlgoChoiceEntry *append_entry(AlgoChoices *c, const char *shape, size_t len)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        AlgoChoiceEntry *e = realloc(c->entries, (size_t)cap * sizeof *e);
        if (!e)
            return NULL;
        c->entries = e, c->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, shape, len);
    copy[len] = '\0';
    AlgoChoiceEntry *e = &c->entries[c->n++];
    memset(e, 0, sizeof *e);
    e->shape = copy;
    return e;
}

bool algo_choices_add(AlgoChoices *c, const char *shape, const AlgoTiming *times, int n)
{
    AlgoChoiceEntry *e = append_entry(c, shape, strlen(shape));
    if (!e)
        return false;
    int best = 0;
    for (int i = 0; i < n && i < ALGO_CHOICES_MAX_TIMES; i++) {
        e->times[e->n_times++] = times[i];
        if (times[i].ms < times[best].ms)
            best = i;
    }
    e->chosen = times[best].choice;
    c->changed = true;
    return true;
}

void algo_choices_free(AlgoChoices *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->entries[i].shape);
    free(c->entries);
    free(c->text);
    memset(c, 0, sizeof *c);
}

/* ---- writing ---- */

void algo_choices_print(const AlgoChoices *c, FILE *out)
{
    fprintf(out, "# dnnc --autotune: per conv shape, the algorithm chosen | each algorithm's\n"
                 "# measured time in ms (docs/fast-convolution.md, \"Choosing the algorithm\")\n");
    for (int i = 0; i < c->n; i++) {
        const AlgoChoiceEntry *e = &c->entries[i];
        char name[32];
        algo_choice_text(e->chosen, name, sizeof name);
        fprintf(out, "%s: %s |", e->shape, name);
        for (int k = 0; k < e->n_times; k++) {
            algo_choice_text(e->times[k].choice, name, sizeof name);
            fprintf(out, " %s=%.4g", name, e->times[k].ms);
        }
        fputc('\n', out);
    }
}

bool algo_choices_save(const AlgoChoices *c, const char *path, char *err, size_t errsz)
{
    OutFile o;
    if (!outfile_open(&o, path, err, errsz))
        return false;
    algo_choices_print(c, o.f);
    return outfile_commit(&o, err, errsz);
}

/* ---- reading ---- */

/* Where the parser is: one line of the file. */
typedef struct LineCursor {
    const char *text; /* the line, not NUL-terminated */
    size_t len, at;
    int file, line;
    Diag *d;
} LineCursor;

static bool fail_at(LineCursor *c, size_t col, size_t width, const char *fmt, const char *what)
{
    int from = (int)col + 1, to = (int)(col + (width ? width : 1));
    diag_error(c->d, (SrcLoc){c->file, c->line, from, c->line, to}, fmt, what);
    return false;
}

static void skip_blanks(LineCursor *c)
{
    while (c->at < c->len && (c->text[c->at] == ' ' || c->text[c->at] == '\t'))
        c->at++;
}

/* The next blank-separated word: its start and length (0 at the end). */
static size_t next_word(LineCursor *c, size_t *start)
{
    skip_blanks(c);
    *start = c->at;
    while (c->at < c->len && c->text[c->at] != ' ' && c->text[c->at] != '\t')
        c->at++;
    return c->at - *start;
}

/* The len characters of word name an algorithm with its tile. */
static bool parse_choice(LineCursor *c, const char *word, size_t len, AlgoChoice *out)
{
    if (algo_choice_parse(word, len, out))
        return true;
    return fail_at(c, (size_t)(word - c->text), len,
                   "%s: expected an algorithm with its tile, such as im2col, direct, winograd/4 "
                   "or fft/16",
                   "not an algorithm");
}

/* "winograd/4=1.25": a candidate and its time in milliseconds. */
static bool parse_timing(LineCursor *c, size_t start, size_t len, AlgoTiming *t)
{
    const char *word = c->text + start;
    const char *eq = memchr(word, '=', len);
    if (!eq)
        return fail_at(c, start, len, "%s: expected ALGORITHM=MILLISECONDS", "a time");
    if (!parse_choice(c, word, (size_t)(eq - word), &t->choice))
        return false;
    char number[32];
    size_t digits = len - (size_t)(eq - word) - 1;
    if (digits == 0 || digits >= sizeof number)
        return fail_at(c, (size_t)(eq + 1 - c->text), digits, "%s: expected milliseconds",
                       "a time");
    memcpy(number, eq + 1, digits);
    number[digits] = '\0';
    char *end;
    errno = 0;
    t->ms = strtod(number, &end);
    if (*end || errno || !isfinite(t->ms) || t->ms < 0)
        return fail_at(c, (size_t)(eq + 1 - c->text), digits,
                       "%s: expected a non-negative number of milliseconds", "a time");
    return true;
}

static bool parse_times(LineCursor *c, AlgoChoiceEntry *e)
{
    size_t start, len;
    while ((len = next_word(c, &start)) > 0) {
        if (e->n_times == ALGO_CHOICES_MAX_TIMES)
            return fail_at(c, start, len, "%s: more times than a conv has algorithms",
                           "too many times");
        if (!parse_timing(c, start, len, &e->times[e->n_times]))
            return false;
        for (int k = 0; k < e->n_times; k++)
            if (algo_choice_same(e->times[k].choice, e->times[e->n_times].choice))
                return fail_at(c, start, len, "%s: this algorithm's time is given twice",
                               "repeated time");
        e->n_times++;
    }
    if (e->n_times == 0)
        return fail_at(c, c->len, 0, "%s: expected at least one ALGORITHM=MILLISECONDS after '|'",
                       "no times");
    return true;
}

/* "SHAPE: CHOICE | TIMES" */
static bool parse_entry(LineCursor *c, AlgoChoices *table)
{
    const char *colon = memchr(c->text, ':', c->len);
    if (c->len < 5 || memcmp(c->text, "conv ", 5) != 0)
        return fail_at(c, 0, 4, "%s: a line of a choices file starts with 'conv ' and a shape",
                       "not a conv shape");
    if (!colon)
        return fail_at(c, c->len, 0, "%s: expected ':' after the shape", "missing ':'");
    size_t key_len = (size_t)(colon - c->text);
    if (find_n(table, c->text, key_len))
        return fail_at(c, 0, key_len, "%s: this shape is listed twice", "repeated shape");
    AlgoChoiceEntry *e = append_entry(table, c->text, key_len);
    if (!e)
        return fail_at(c, 0, key_len, "%s: out of memory", "shape");
    c->at = key_len + 1;
    size_t start, len = next_word(c, &start);
    if (len == 0)
        return fail_at(c, start, 0, "%s: expected the chosen algorithm after ':'", "no choice");
    if (!parse_choice(c, c->text + start, len, &e->chosen))
        return false;
    if (next_word(c, &start) != 1 || c->text[start] != '|')
        return fail_at(c, start, 1, "%s: expected '|' and the measured times after the choice",
                       "missing '|'");
    return parse_times(c, e);
}

/* Trailing '\r' and comments are not part of a line's content. */
static size_t content_length(const char *line, size_t len)
{
    const char *hash = memchr(line, '#', len);
    if (hash)
        len = (size_t)(hash - line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    return len;
}

bool algo_choices_parse(const char *text, size_t len, const char *name, AlgoChoices *c, Diag *d)
{
    int file = diag_add_file(d, name, text, len), errors_before = d->errors;
    int line = 0;
    bool ok = true;
    for (size_t at = 0; at < len && !diag_too_many(d); line++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t line_len = nl ? (size_t)(nl - (text + at)) : len - at;
        LineCursor cur = {text + at, content_length(text + at, line_len), 0, file, line + 1, d};
        if (memchr(cur.text, '\0', line_len))
            ok = fail_at(&cur, (size_t)((const char *)memchr(cur.text, '\0', line_len) - cur.text),
                         1, "%s: a choices file is text", "NUL byte");
        else if (line_len > ALGO_CHOICES_MAX_LINE)
            ok = fail_at(&cur, ALGO_CHOICES_MAX_LINE, 1, "%s: longer than any choices line",
                         "line too long");
        else if (cur.len > 0)
            ok &= parse_entry(&cur, c);
        at += line_len + 1;
    }
    c->changed = false;
    return ok && d->errors == errors_before;
}

bool algo_choices_load(const char *path, AlgoChoices *c, Diag *d)
{
    memset(c, 0, sizeof *c);
    FILE *probe = fopen(path, "rb");
    if (!probe && errno == ENOENT)
        return true; /* nothing measured yet: --autotune creates it */
    if (probe)
        fclose(probe);
    unsigned char *bytes;
    size_t len;
    char err[512];
    if (!read_whole_file(path, ALGO_CHOICES_MAX_FILE, &bytes, &len, err, sizeof err)) {
        diag_error(d, SRCLOC_NONE, "--autotune: %s", err);
        return false;
    }
    /* The diagnostics point into the text: it lives as long as the table. */
    c->text = (char *)bytes;
    if (algo_choices_parse(c->text, len, path, c, d))
        return true;
    algo_choices_free(c);
    return false;
}
