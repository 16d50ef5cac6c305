/* A small streaming JSON writer for --json reports. */
#ifndef DNNC_JSON_H
#define DNNC_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct JsonWriter {
    FILE *out;
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
    bool after_key;
} JsonWriter;

void json_init(JsonWriter *w, FILE *out);
void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);
void json_int(JsonWriter *w, int64_t v);
void json_double(JsonWriter *w, double v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);
/* Ends the document with a newline. */
void json_finish(JsonWriter *w);

#endif
