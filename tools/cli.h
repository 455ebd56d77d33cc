/* cli.h - the parts of the mmstore command-line tool shared between its
 * files. The tool uses only <mmstore.h> and its own code (plus libzstd,
 * jansson, libarchive): if it needs something the library lacks, the
 * library's API is incomplete.
 *
 * Conventions: every command function returns the process exit status:
 * 0 success, 1 failure or problems found (the message is already printed),
 * 2 usage error. Messages go to stderr as "mmstore: <what>: <why>" through
 * cli_error(). */
#ifndef MMSTORE_CLI_H
#define MMSTORE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mmstore.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Global options (main.c parses them before the command name). */
typedef struct cli_globals {
    const char *store_path; /* --store, $MMSTORE_DIR, or the XDG default */
    bool json;              /* --json: machine-readable output */
    bool quiet;             /* --quiet: no progress, no informational text */
} cli_globals;

/* Prints "mmstore: <formatted>" and a newline to stderr; returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As cli_error, appending ": " and mms_errmsg() (or mms_strerror(rc) when
 * the message is empty). */
int cli_mms_error(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens the store at g->store_path with mms_store_open flags; the default
 * store (no --store, no $MMSTORE_DIR) is created on first use. Prints the
 * error itself; returns CLI_OK or CLI_FAIL. */
int cli_open_store(const cli_globals *g, unsigned flags, mms_store **out);

/* ---- progress (progress.c) --------------------------------------------
 * A progress bar with throughput on stderr, drawn only when stderr is a
 * terminal and --quiet is off; a no-op otherwise. total may be 0 (unknown). */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(const cli_globals *g, const char *label,
                                  uint64_t total_bytes);
void cli_progress_update(cli_progress *p, uint64_t done_bytes);
void cli_progress_finish(cli_progress *p); /* accepts NULL */

/* ---- import and export (io.c and friends) ------------------------------ */
typedef enum cli_format {
    CLI_FMT_AUTO = 0, /* from the file name: .npy, .csv, .raw/.bin, + .zst */
    CLI_FMT_NPY,
    CLI_FMT_CSV,
    CLI_FMT_RAW
} cli_format;

typedef struct cli_io_opts {
    cli_format format;     /* --format npy|csv|raw */
    int zstd;              /* -1 auto (from ".zst" / magic), 0 no, 1 yes */
    int level;             /* --level, zstd level (default 3) */
    char delimiter;        /* --delimiter for CSV (default ',') */
    bool header;           /* --header: CSV has (import) / gets (export) a header row */
    bool replace;          /* import --replace: swap an existing array atomically */
    bool have_dtype;       /* raw import: --dtype */
    mms_dtype dtype;
    int ndim;              /* raw import: --shape A,B,.. (ndim -1 = not given) */
    uint64_t shape[MMS_MAX_NDIM];
} cli_io_opts;

/* `mmstore import FILE [NAME]` ("-" = stdin). NAME defaults to the file's
 * base name without its extensions. Stages the array and publishes it only
 * when complete. */
int cli_import(const cli_globals *g, mms_store *store, const char *file,
               const char *name, const cli_io_opts *opts);
/* `mmstore export NAME [FILE]` ("-" or absent = stdout). */
int cli_export(const cli_globals *g, mms_store *store, const char *name,
               const char *file, const cli_io_opts *opts);
/* `mmstore dump OUT.tar.zst` and `mmstore restore IN.tar.zst`. */
int cli_dump(const cli_globals *g, mms_store *store, const char *out);
int cli_restore(const cli_globals *g, mms_store *store, const char *in);

/* Parses "A,B,C" (or "" / "()" for 0-d) into shape; -1 on error. */
int cli_parse_shape(const char *text, uint64_t *shape, int *ndim);

/* ---- the command files (main.c, commands.c, show.c: helper cli-core) ----
 * A command is run as cmd(g, argc, argv) with argv[0] its name; it parses
 * its own options with cli_getopt and returns the exit status. */
#include <getopt.h>

typedef struct cli_command {
    const char *name;
    int (*run)(cli_globals *g, int argc, char **argv);
    const char *synopsis; /* the arguments, for "usage: mmstore NAME ..." */
    const char *summary;  /* one line, for `mmstore --help` */
    const char *help;     /* the options and notes, for `mmstore NAME --help` */
} cli_command;

/* The command being run (set by main). */
extern const cli_command *cli_current;

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
/* Prints "mmstore: COMMAND: <formatted>" and a hint to try --help on
 * stderr; returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks that argc - optind operands are between min and max (max -1: no
 * limit); otherwise a usage error (CLI_USAGE). */
int cli_operands(int argc, char **argv, int min, int max);
/* Parses a decimal unsigned integer (the whole text); -1 on error. */
int cli_parse_u64(const char *text, uint64_t *out);
/* Parses a dtype, printing the usage error itself; returns CLI_OK or
 * CLI_USAGE. */
int cli_parse_dtype(const char *text, mms_dtype *out);
/* "0 B", "512 B", "1.5 KiB", "64.0 MiB"... */
void cli_format_size(uint64_t bytes, char *buf, size_t size);
/* "(1000, 3)", "(5,)", "()" */
void cli_format_shape(int ndim, const uint64_t *shape, char *buf, size_t size);

/* The commands (commands.c; show in show.c). */
int cli_cmd_init(cli_globals *g, int argc, char **argv);
int cli_cmd_create(cli_globals *g, int argc, char **argv);
int cli_cmd_import(cli_globals *g, int argc, char **argv);
int cli_cmd_export(cli_globals *g, int argc, char **argv);
int cli_cmd_ls(cli_globals *g, int argc, char **argv);
int cli_cmd_info(cli_globals *g, int argc, char **argv);
int cli_cmd_show(cli_globals *g, int argc, char **argv);
int cli_cmd_rm(cli_globals *g, int argc, char **argv);
int cli_cmd_mv(cli_globals *g, int argc, char **argv);
int cli_cmd_cp(cli_globals *g, int argc, char **argv);
int cli_cmd_resize(cli_globals *g, int argc, char **argv);
int cli_cmd_attr(cli_globals *g, int argc, char **argv);
int cli_cmd_verify(cli_globals *g, int argc, char **argv);
int cli_cmd_check(cli_globals *g, int argc, char **argv);
int cli_cmd_dump(cli_globals *g, int argc, char **argv);
int cli_cmd_restore(cli_globals *g, int argc, char **argv);
int cli_cmd_locks(cli_globals *g, int argc, char **argv);

#endif
