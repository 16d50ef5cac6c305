/* The option layer of every subcommand. A command declares its options once,
 * in tables: long name, short letter, metavar, one line of help and where
 * the value goes. Parsing (getopt_long, so `--opt value` and `--opt=value`
 * both work), the usage errors and the --help text are all made from those
 * tables, so no option is described twice and every command reports a bad
 * option the same way:
 *   dnnc CMD: message
 *   Run 'dnnc CMD --help' for usage.
 * and exits with EXIT_USAGE. */
#ifndef DNNC_OPTIONS_H
#define DNNC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every subcommand. */
enum { EXIT_OK = 0, EXIT_INPUT_ERROR = 1, EXIT_USAGE = 2 };

/* options_parse's result when the command should go on. */
#define OPTIONS_PARSED (-1)

typedef enum {
    OPT_FLAG,   /* bool: set to true; takes no value */
    OPT_STRING, /* const char *: the value as given */
    OPT_INT,    /* int: a decimal integer from min to max */
    OPT_CHOICE, /* int: the index of the value in choices */
    OPT_CUSTOM, /* parse() does it (a flag when metavar is NULL) */
} OptionKind;

/* An option as the user wrote it, for messages. */
typedef struct OptionUse {
    const char *command; /* "run" */
    const char *spelled; /* "--threads" or "-O" */
} OptionUse;

typedef struct Option {
    const char *name;      /* long name without the dashes; NULL: short only */
    char short_name;       /* 0: none */
    const char *metavar;   /* the value's name in --help; NULL: a flag (OPT_CHOICE: its choices) */
    const char *help;      /* one line; '\n' continues it in the help column; NULL ends a table */
    OptionKind kind;
    size_t offset;         /* of the field in the section's struct (not OPT_CUSTOM) */
    int min, max;          /* OPT_INT */
    const char *const *choices; /* OPT_CHOICE: NULL-terminated */
    /* OPT_CUSTOM: gets the section's struct and the value (NULL for a
     * flag); reports a bad value with option_error and returns false. */
    bool (*parse)(void *section, const char *value, const OptionUse *use);
} Option;

#define OPTIONS_END {0}

/* Where an option's value goes, for the tables:
 *   {"json", 0, NULL, "print JSON", OPTION_FLAG(StatsArgs, json)} */
#define OPTION_FLAG(type, field) .kind = OPT_FLAG, .offset = offsetof(type, field)
#define OPTION_STRING(type, field) .kind = OPT_STRING, .offset = offsetof(type, field)
#define OPTION_INT(type, field, lo, hi) \
    .kind = OPT_INT, .offset = offsetof(type, field), .min = (lo), .max = (hi)
#define OPTION_CHOICE(type, field, list) \
    .kind = OPT_CHOICE, .offset = offsetof(type, field), .choices = (list)
#define OPTION_CALL(fn) .kind = OPT_CUSTOM, .parse = (fn)

/* --threads N of every command that takes it, with the same bounds. More
 * threads than cores only contend, and each worker reserves an 8 MiB stack
 * (dnnrt.h): 256 is more cores than the machines dnnc targets have, and 256
 * stacks still fit in memory. THREADS_HELP, the help's last lines, says so. */
#define THREADS_MAX 256
#define OPTION_THREADS(type, field) OPTION_INT(type, field, 1, THREADS_MAX)
#define THREADS_STR_(n) #n
#define THREADS_STR(n) THREADS_STR_(n)
#define THREADS_HELP                                                                          \
    "1 to " THREADS_STR(THREADS_MAX) ": more threads than cores only contend, and\n"          \
    "each reserves 8 MiB of stack"

/* A table of options whose fields live in one struct at `offset` in the
 * command's arguments: the command's own, or a shared group (model options,
 * pipeline options) embedded in them. */
typedef struct OptionSection {
    const char *heading;   /* "options:" line of --help; NULL: continues the previous section */
    const Option *options; /* NULL ends the list */
    size_t offset;
} OptionSection;

/* One more than any command fills: the list ends at an empty section. */
#define OPTIONS_MAX_SECTIONS 8

typedef struct CommandSpec {
    const char *name;        /* "dump" */
    const char *summary;     /* one line for `dnnc --help` */
    const char *usage;       /* the synopsis after "usage: "; may span lines */
    const char *description; /* paragraphs between the synopsis and the options */
    /* The one operand (a model file), stored as const char * at
     * operand_offset; NULL: the command takes none. */
    const char *operand;     /* "model file", for "no model file" */
    size_t operand_offset;
    bool operand_optional;   /* the command checks its absence itself */
    OptionSection sections[OPTIONS_MAX_SECTIONS];
    const char *epilogue;    /* after the options, or NULL */
} CommandSpec;

/* Parses argv[1..argc-1] into args as spec says. Returns OPTIONS_PARSED, or
 * the status the command must exit with: EXIT_OK after printing --help,
 * EXIT_USAGE after printing an error. */
int options_parse(const CommandSpec *spec, int argc, char **argv, void *args);

/* The --help text, made from the tables. */
void options_help(const CommandSpec *spec, FILE *out);

/* Prints "dnnc CMD: message" and a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a bad option value; returns false, for parse() to return. */
bool option_error(const OptionUse *use, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "a, b or c" from a NULL-terminated list, for messages. */
void options_join(const char *const *items, const char *last_sep, char *buf, size_t size);

#endif
