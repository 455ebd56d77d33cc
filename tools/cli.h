/* cli.h - the common layer of the mmstore command-line tool: what every
 * other file of tools/ may use (cli.c, element.c, progress.c). The tool uses
 * only <mmstore.h> and its own code (plus libzstd, jansson, libarchive,
 * libpng, libjpeg): if it needs something the library lacks, the
 * library's API is incomplete.
 *
 * The files of tools/ are in layers, lowest first; a file calls only the
 * layers below it, and two files never call each other:
 *   common    cli.c, element.c, progress.c         (cli.h)
 *   plumbing  io.c                                 (io.h)
 *   formats   tools/formats/: one file per format, and
 *             the table formats.c                  (formats/format.h)
 *   work      printer.c, transfer.c, dump.c, restore.c, output.c
 *   commands  cmd_store.c, cmd_array.c, cmd_io.c, show.c  (commands.h)
 *   main.c    the global options and the table of commands
 *
 * Conventions: every command function returns the process exit status:
 * 0 success, 1 failure or problems found (the message is already printed),
 * 2 usage error. Messages go to stderr as "mmstore: <what>: <why>" through
 * cli_error(). */
#ifndef MMSTORE_CLI_H
#define MMSTORE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <mmstore.h>

#define CLI_PROG "mmstore"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Global options (main.c parses them before the command name). */
typedef struct cli_globals {
    const char *store_path; /* --store, $MMSTORE_DIR, or the XDG default */
    bool store_is_default;  /* the per-user default: created on first use */
    bool json;              /* --json: machine-readable output */
    bool quiet;             /* --quiet: no progress, no informational text */
} cli_globals;

/* ---- messages (cli.c) --------------------------------------------------- */

/* Prints "mmstore: <formatted>" and a newline to stderr; returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As cli_error, appending ": " and mms_errmsg() (or mms_strerror(rc) when
 * the message is empty). */
int cli_mms_error(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "mmstore: COMMAND: <the library's message>"; returns CLI_FAIL. */
int cli_fail(int rc);
/* Prints "mmstore: COMMAND: <formatted>" and a hint to try --help on
 * stderr; returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- commands and their options (cli.c) --------------------------------
 * A command is run as cmd(g, argc, argv) with argv[0] its name; it parses
 * its own options with cli_getopt and returns the exit status. */
typedef struct cli_command {
    const char *name;
    int (*run)(cli_globals *g, int argc, char **argv);
    const char *synopsis; /* the arguments, for "usage: mmstore NAME ..." */
    const char *summary;  /* one line, for `mmstore --help` */
    const char *help;     /* the options and notes, for `mmstore NAME --help` */
} cli_command;

/* The command being run (set by main). */
extern const cli_command *cli_current;

/* Prints `mmstore NAME --help` for c on stdout. */
void cli_command_help(const cli_command *c);

/* Every command's option table ends with these: --help, --json, --quiet
 * (also accepted after the command name). */
#define CLI_COMMON_OPTIONS                                                   \
    {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, 'J'},      \
        {"quiet", no_argument, NULL, 'q'}, { NULL, 0, NULL, 0 }

/* getopt_long for a command: returns the next option of its own, or -1 at
 * the end (optind is then the first operand). --help, --json and --quiet
 * are handled here. Returns CLI_OPT_EXIT after printing the help (status
 * CLI_OK) or a usage error (status CLI_USAGE): the command then returns
 * *status. shortopts need not list 'h' and 'q'. */
#define CLI_OPT_EXIT (-2)
int cli_getopt(cli_globals *g, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status);
/* Checks that argc - optind operands are between min and max (max -1: no
 * limit); otherwise a usage error (CLI_USAGE). */
int cli_operands(int argc, char **argv, int min, int max);

/* ---- names are UTF-8 (cli.c) ---------------------------------------------
 * Array names are UTF-8 whatever the locale; libarchive converts member
 * names through the locale's character set, so dump and restore run it in
 * a UTF-8 one (C.UTF-8) for the calling thread: cli_utf8_begin returns the
 * locale to give back to cli_utf8_end, or (locale_t)0 when the system has
 * no UTF-8 locale (names beyond ASCII then fail with an error). */
#include <locale.h>
locale_t cli_utf8_begin(void);
void cli_utf8_end(locale_t old);

/* ---- the store (cli.c) --------------------------------------------------- */

/* Opens the store at g->store_path with mms_store_open flags; the default
 * store (g->store_is_default) is created on first use. Prints the error
 * itself; returns CLI_OK or CLI_FAIL. */
int cli_open_store(const cli_globals *g, unsigned flags, mms_store **out);
/* Closes store; a failure turns a CLI_OK status into CLI_FAIL (printed). */
int cli_close_store(mms_store *store, int status);
/* mms_array_open, printing the error (cli_fail). */
int cli_open_array(mms_store *store, const char *name, unsigned flags,
                   mms_array **out);
/* Closes a (writable) array, whose final sync can fail: as
 * cli_close_store. */
int cli_close_array(mms_array *a, int status);
/* Checks, just before its data is read through the mapping, that the
 * array's data file still holds it (its data starts at byte 4096, as
 * mmstore.h says): a file cut short by another program after the open
 * would make the reading SIGBUS or EFAULT. Prints "mmstore: <what>: data
 * file F is N bytes, too short..." and returns CLI_FAIL when it does not.
 * A file cut after this check can still fault (docs/mmstore.1, BUGS). */
int cli_check_data_file(mms_array *a, const mms_info *info,
                        const char *what);

/* The arrays of a store, as mms_list gives them (cli.c). */
typedef struct cli_entry {
    char *name;
    mms_info info;
} cli_entry;
typedef struct cli_entries {
    cli_entry *v;
    size_t n, cap;
} cli_entries;
/* An mms_list callback: appends a copy of name and info to the
 * cli_entries ctx; MMS_ERR_NOMEM when out of memory. */
int cli_collect_entry(const char *name, const mms_info *info, void *ctx);
void cli_entries_free(cli_entries *es);

/* ---- parsing and formatting (cli.c) ------------------------------------- */

/* Parses a decimal unsigned integer (the whole text); -1 on error. */
int cli_parse_u64(const char *text, uint64_t *out);
/* Parses a dtype, printing the usage error itself; returns CLI_OK or
 * CLI_USAGE. */
int cli_parse_dtype(const char *text, mms_dtype *out);
/* Parses "A,B,C" (or "" / "()" for 0-d) into shape; -1 on error. */
int cli_parse_shape(const char *text, uint64_t *shape, int *ndim);
/* Whether s ends with suffix (file name extensions). */
bool cli_ends_with(const char *s, const char *suffix);
/* "0 B", "512 B", "1.5 KiB", "64.0 MiB"... */
void cli_format_size(uint64_t bytes, char *buf, size_t size);
/* "(1000, 3)", "(5,)", "()" as NumPy prints a shape, into buf; returns
 * buf. CLI_SHAPE_MAX bytes always suffice. */
#define CLI_SHAPE_MAX (MMS_MAX_NDIM * 22 + 4)
const char *cli_format_shape(int ndim, const uint64_t *shape, char *buf,
                             size_t size);
/* "00ab..." (16 hex digits) as checksums are printed everywhere. */
void cli_format_checksum(uint64_t sum, char *buf, size_t size);
/* Lower-case hex of n bytes, malloc'd (NULL when out of memory). */
char *cli_hex(const void *bytes, size_t n);

/* ---- JSON (cli.c) --------------------------------------------------------- */

/* [A, B, ...] */
json_t *cli_shape_json(int ndim, const uint64_t *shape);
/* Prints one JSON document (indented by 2) on stdout and frees it; doc
 * NULL means out of memory. */
int cli_print_json(json_t *doc);

/* ---- elements (element.c) ------------------------------------------------ */

/* Exact: every float16 is a double. */
double cli_half_to_double(uint16_t h);
/* Rounds to the nearest float16, ties to even, as NumPy's astype does. */
uint16_t cli_double_to_half(double d);

typedef enum cli_kind {
    CLI_K_BOOL, CLI_K_INT, CLI_K_UINT, CLI_K_FLOAT, CLI_K_COMPLEX
} cli_kind;
cli_kind cli_kind_of(mms_dtype t);

/* One element, widened: b for bool, i for signed and u for unsigned
 * integers, re (and im) for floats and complex numbers, whose doubles hold
 * float16/32/64 exactly. */
typedef struct cli_value {
    bool b;
    int64_t i;
    uint64_t u;
    double re, im;
} cli_value;
/* The element of dtype t at p (any alignment). */
cli_value cli_read_value(const void *p, mms_dtype t);

/* ---- progress (progress.c) ----------------------------------------------
 * A progress bar with throughput on stderr, drawn only when stderr is a
 * terminal and --quiet is off; a no-op otherwise. total may be 0 (unknown).
 * Every function accepts NULL. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(const cli_globals *g, const char *label,
                                  uint64_t total_bytes);
void cli_progress_update(cli_progress *p, uint64_t done_bytes);
void cli_progress_finish(cli_progress *p);
/* Erases the progress bar's line so that other output can be printed; the
 * next update draws it again. */
void cli_progress_clear(cli_progress *p);

#endif
