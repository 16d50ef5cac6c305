#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    source_from_buffer(name, text, strlen(text), &p->src);
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
