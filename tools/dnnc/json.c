#include "json.h"

#include <math.h>

void json_init(JsonWriter *w, FILE *out)
{
    *w = (JsonWriter){0};
    w->out = out;
}

/* Separators and indentation before a value or a key. */
static void before_value(JsonWriter *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth])
            fputc(',', w->out);
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
        w->need_comma[w->depth] = true;
    }
}

static void open_scope(JsonWriter *w, char c)
{
    before_value(w);
    fputc(c, w->out);
    if (w->depth + 1 < JSON_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_scope(JsonWriter *w, char c)
{
    bool had_items = w->need_comma[w->depth];
    w->depth--;
    if (had_items) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
    }
    fputc(c, w->out);
}

void json_begin_object(JsonWriter *w) { open_scope(w, '{'); }
void json_end_object(JsonWriter *w) { close_scope(w, '}'); }
void json_begin_array(JsonWriter *w) { open_scope(w, '['); }
void json_end_array(JsonWriter *w) { close_scope(w, ']'); }

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void json_key(JsonWriter *w, const char *key)
{
    before_value(w);
    write_string(w->out, key);
    fputs(": ", w->out);
    w->after_key = true;
}

void json_string(JsonWriter *w, const char *s)
{
    before_value(w);
    write_string(w->out, s);
}

void json_int(JsonWriter *w, int64_t v)
{
    before_value(w);
    fprintf(w->out, "%lld", (long long)v);
}

void json_double(JsonWriter *w, double v)
{
    before_value(w);
    if (isfinite(v))
        fprintf(w->out, "%.17g", v);
    else
        fputs("null", w->out);
}

void json_bool(JsonWriter *w, bool v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->out);
}

void json_null(JsonWriter *w)
{
    before_value(w);
    fputs("null", w->out);
}

void json_finish(JsonWriter *w) { fputc('\n', w->out); }
