/* libFuzzer target: any byte string given to the --autotune file parser
 * (passes/algo_choices.c) must give a table or file:line:col errors, never
 * a crash, leak, hang or sanitizer report. A table that parses is printed
 * and parsed again: the second print must equal the first (the file dnnc
 * writes reads back to the same choices and times as printed). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo_choices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const AlgoChoices *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    algo_choices_print(c, f);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    diag_init(&d, NULL); /* count, do not print */
    AlgoChoices c = {0};
    if (algo_choices_parse((const char *)data, size, "fuzz.choices", &c, &d)) {
        size_t len1, len2;
        char *first = print(&c, &len1);
        AlgoChoices back = {0};
        Diag d2;
        diag_init(&d2, NULL);
        if (!algo_choices_parse(first, len1, "printed.choices", &back, &d2))
            abort(); /* what dnnc writes must read back */
        char *second = print(&back, &len2);
        if (len1 != len2 || memcmp(first, second, len1) != 0)
            abort();
        free(first), free(second);
        algo_choices_free(&back);
    }
    algo_choices_free(&c);
    return 0;
}
