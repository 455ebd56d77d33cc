/* cli.h - the parts of the mmstore command-line tool shared between its
 * files. The tool uses only <mmstore.h> and its own code (plus libzstd,
 * jansson, libarchive, libpng, libjpeg): if it needs something the library
 * lacks, the library's API is incomplete.
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
    CLI_FMT_AUTO = 0, /* from the file name: .npy, .csv, .raw/.bin, .png,
                         .jpg/.jpeg, + .zst */
    CLI_FMT_NPY,
    CLI_FMT_CSV,
    CLI_FMT_RAW,
    CLI_FMT_PNG,
    CLI_FMT_JPEG
} cli_format;

typedef struct cli_io_opts {
    cli_format format;     /* --format npy|csv|raw|png|jpeg */
    int zstd;              /* -1 auto (from ".zst" / magic), 0 no, 1 yes */
    int level;             /* --level, zstd level (default 3) */
    int quality;           /* export --quality, JPEG 1..100 (0: not given,
                              90) */
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
/* `mmstore dump OUT.tar.zst` and `mmstore restore IN.tar.zst` ("-" =
 * stdout / stdin). dump uses opts->level (zstd level); restore uses
 * opts->replace: without it, a name of the dump that exists in the store is
 * an error before anything is staged. opts may be NULL (the defaults: level
 * 3, no replace). */
int cli_dump(const cli_globals *g, mms_store *store, const char *out,
             const cli_io_opts *opts);
int cli_restore(const cli_globals *g, mms_store *store, const char *in,
                const cli_io_opts *opts);

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

/* Erases the progress bar's line so that other output can be printed; the
 * next update draws it again. Accepts NULL. */
void cli_progress_clear(cli_progress *p);

/* ---- inside import, export, dump and restore (io.c, npy.c, csv.c,
 * dump.c) ------------------------------------------------------------------
 * Data moves in chunks of CLI_CHUNK bytes: no array is ever held whole in
 * memory. Every function below that returns int prints its own message
 * (cli_error) and returns CLI_OK or CLI_FAIL. */
#define CLI_CHUNK ((size_t)8 << 20)

/* A source of bytes: a file or stdin (maybe zstd-compressed), or a member
 * of a tar archive. read() gives up to len bytes; *got = 0 only at the end.
 * label names the source in messages ("data.npy", "stdin",
 * "dump.tar.zst: a/b.npy"). */
typedef struct cli_src cli_src;
struct cli_src {
    int (*read)(cli_src *src, void *buf, size_t len, size_t *got);
    const char *label;
};
/* Reads until len bytes or the end: *got < len only at the end. */
int cli_src_read_full(cli_src *src, void *buf, size_t len, size_t *got);

/* A destination of bytes: a file or stdout (maybe zstd-compressed), or a
 * member of a tar archive. */
typedef struct cli_sink cli_sink;
struct cli_sink {
    int (*write)(cli_sink *sink, const void *buf, size_t len);
    const char *label;
};

/* A file or stdin ("-") opened for reading, decompressed when zstd is 1,
 * or when it is -1 and the name ends in ".zst" or the data starts with
 * zstd's magic number. */
typedef struct cli_in cli_in;
int cli_in_open(const char *path, int zstd, cli_in **out);
cli_src *cli_in_src(cli_in *in);
bool cli_in_is_zstd(const cli_in *in);
/* Size of the file (compressed or not) if it is a regular file, else 0;
 * and how many bytes of it were read so far (for progress bars). */
uint64_t cli_in_file_size(const cli_in *in);
uint64_t cli_in_file_pos(const cli_in *in);
/* Up to n (<= 16) bytes of the (decompressed) data without consuming
 * them; *got < n only when the data is shorter. */
int cli_in_peek(cli_in *in, size_t n, const unsigned char **bytes,
                size_t *got);
/* For zstd input: decompresses (and drops) the rest of the current frame,
 * so that its checksum is verified even when the data needed ended
 * before it; frames after it are ignored. */
int cli_in_end_frame(cli_in *in);
void cli_in_close(cli_in *in); /* accepts NULL */

/* A file or stdout ("-") opened for writing, compressed with zstd at level
 * (multi-threaded, one worker per online CPU) when zstd is true. A file is
 * written under a temporary name beside it and renamed into place by
 * cli_out_finish, so a failed export leaves no partial file. pledged is
 * the uncompressed size if known (recorded in the zstd frame), else
 * UINT64_MAX. */
typedef struct cli_out cli_out;
int cli_out_open(const char *path, bool zstd, int level, uint64_t pledged,
                 cli_out **out);
cli_sink *cli_out_sink(cli_out *o);
/* Ends the zstd frame, closes and renames into place; frees o. */
int cli_out_finish(cli_out *o);
/* Removes the partial file; frees o. Accepts NULL. */
void cli_out_abort(cli_out *o);

/* Creates a staged (unpublished) version of name; prints the error.
 * replace false stages it with MMS_NOREPLACE, so that its publish cannot
 * replace an array someone else made meanwhile. */
int cli_stage(mms_store *store, const char *name, mms_dtype dtype, int ndim,
              const uint64_t *shape, bool replace, mms_array **out);
/* Reads exactly nbytes from src into array at byte offset, in chunks,
 * byte-swapping each swap-byte unit when swap > 1. A source that ends
 * early is an error naming both sizes (declared by `what`). */
int cli_fill_array(cli_src *src, mms_array *array, uint64_t offset,
                   uint64_t nbytes, size_t swap, cli_progress *progress,
                   const char *what);
/* Writes nbytes of array data from byte offset to sink, in large chunks
 * straight from the mapping. */
int cli_drain_array(mms_array *array, uint64_t offset, uint64_t nbytes,
                    cli_sink *sink, cli_progress *progress);
/* Reverses the bytes of every unit-byte element of buf (unit 2, 4, 8). */
void cli_swap_bytes(void *buf, size_t len, size_t unit);
/* "(3, 4)" as NumPy prints a shape, into buf. */
const char *cli_shape_str(char *buf, size_t size, int ndim,
                          const uint64_t *shape);

/* .npy (npy.c). */
typedef struct cli_npy {
    int major, minor;       /* format version: 1.0, 2.0 or 3.0 */
    mms_dtype dtype;
    size_t swap;            /* > 1: big-endian, swap units of this size */
    bool fortran;           /* fortran_order: True */
    int ndim;
    uint64_t shape[MMS_MAX_NDIM];
    uint64_t nbytes;        /* prod(shape) * itemsize */
    uint64_t header_len;    /* bytes before the data */
} cli_npy;
/* Parses the header dict text of a .npy file strictly, as NumPy writes
 * it; on error, puts the reason in why and returns CLI_FAIL without
 * printing. */
int cli_npy_parse_dict(const char *text, size_t len, int major, cli_npy *h,
                       char *why, size_t whylen);
/* Reads the magic, version and header dict from src (leaving it at the
 * first data byte). */
int cli_npy_read_header(cli_src *src, cli_npy *h);
/* Formats exactly the header np.save writes for a C-order array: version
 * 1.0 when it fits (2.0 otherwise), padded so the data starts at a
 * multiple of 64. Returns its length, or 0 when size is too small. */
size_t cli_npy_format_header(char *buf, size_t size, mms_dtype dtype,
                             int ndim, const uint64_t *shape);
/* Reads a whole .npy from src into a new staged version of name, which
 * is returned unpublished in *out. */
int cli_npy_import(const cli_globals *g, mms_store *store, cli_src *src,
                   uint64_t src_size, const char *name, bool replace,
                   mms_array **out);
/* Writes array as a .npy to sink. */
int cli_npy_export(const cli_globals *g, mms_array *array, cli_sink *sink,
                   const char *label);

/* CSV (csv.c). */
int cli_csv_import(const cli_globals *g, mms_store *store, cli_src *src,
                   const char *name, const cli_io_opts *opts,
                   mms_array **out);
int cli_csv_export(const cli_globals *g, mms_array *array, const char *name,
                   cli_sink *sink, const cli_io_opts *opts);

/* PNG and JPEG (image.c). Import decodes into a new staged version of
 * name, straight into its mapping, returned unpublished in *out; the
 * file's signature is checked first. input_size, the file's size when
 * known (else 0), refuses headers that claim more pixels than it holds. Export checks that the array is an
 * image the format holds (uint8 or, PNG only, uint16; (H, W) or (H, W, C))
 * before writing anything. quality 0 means the default, 90. */
int cli_png_import(const cli_globals *g, mms_store *store, cli_src *src,
                   uint64_t input_size, const char *name, bool replace,
                   mms_array **out);
int cli_jpeg_import(const cli_globals *g, mms_store *store, cli_src *src,
                    uint64_t input_size, const char *name, bool replace,
                    mms_array **out);
int cli_png_export(const cli_globals *g, mms_array *array, const char *name,
                   cli_sink *sink);
int cli_jpeg_export(const cli_globals *g, mms_array *array, const char *name,
                    cli_sink *sink, int quality);

#endif
