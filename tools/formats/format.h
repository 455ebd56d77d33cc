/* format.h - the file formats of `mmstore import` and `export`, behind one
 * table (formats.c). Each format is one file that fills one cli_format:
 *   npy.c   NumPy .npy (the store's own layout: any version, byte order
 *           or memory order in, exactly what np.save writes out)
 *   csv.c   1-D and 2-D numeric arrays as text
 *   raw.c   the bare bytes, with --dtype and --shape
 *   png.c, jpeg.c   images (shared checks in image.c)
 * sniff.c knows every format's magic number (for sniffing and for hints in
 * messages). Adding a format is one new file and one line of the table.
 *
 * zstd is not a format: it wraps any format's bytes and is undone (or
 * done) by the plumbing (io.h) before a format sees them, so .npy.zst is
 * the npy format over a zstd stream.
 *
 * The formats use the plumbing (io.h) and the common layer (cli.h), never
 * each other except through sniff.c and image.c, and never the table. */
#ifndef MMSTORE_FORMAT_H
#define MMSTORE_FORMAT_H

#include "../io.h"

typedef struct cli_format cli_format;

/* The options of import and export (and of dump and restore). */
typedef struct cli_io_opts {
    const cli_format *format; /* --format; NULL: from the name or data */
    int zstd;              /* -1 auto (from ".zst" / magic), 0 no, 1 yes */
    int level;             /* --level, zstd level (default 3) */
    int quality;           /* export --quality, JPEG 1..100 (0: not given,
                              90) */
    char delimiter;        /* --delimiter for CSV (default ',') */
    bool header;           /* --header: CSV has (import) / gets (export) a
                              header row */
    bool replace;          /* import --replace: swap an existing array
                              atomically */
    bool force;            /* export and dump --force: an output that is a
                              symbolic link replaces the file it points to */
    bool have_dtype;       /* raw and CSV import: --dtype */
    mms_dtype dtype;
    int ndim;              /* raw import: --shape A,B,.. (ndim -1 = not
                              given) */
    uint64_t shape[MMS_MAX_NDIM];
} cli_io_opts;

/* One import: read src into a new staged version of name. */
typedef struct cli_import_job {
    const cli_globals *g;
    mms_store *store;
    const char *name;        /* the array to stage */
    const char *path;        /* the input as given ("-" = stdin) */
    cli_src *src;            /* its bytes, decompressed; NULL for a
                                CLI_FORMAT_DIRECTORY format */
    uint64_t src_size;       /* the size of those bytes when known (a
                                regular file, not zstd), else 0 */
    const cli_io_opts *opts;
} cli_import_job;

/* One export: write array to sink. */
typedef struct cli_export_job {
    const cli_globals *g;
    mms_array *array;
    const char *name;        /* the array's name */
    const char *label;       /* "export NAME", for messages and progress */
    const char *path;        /* the output as given (NULL or "-": stdout) */
    cli_sink *sink;          /* NULL for a CLI_FORMAT_DIRECTORY format */
    const cli_io_opts *opts;
} cli_export_job;

/* cli_format.flags */
#define CLI_FORMAT_TEXT 1u      /* may be written to a terminal */
#define CLI_FORMAT_QUALITY 2u   /* takes --quality */
#define CLI_FORMAT_DIRECTORY 4u /* a directory (as Zarr's OUT.zarr), not a
                                   stream: import and export get the path,
                                   and no src or sink is opened */

struct cli_format {
    const char *name;              /* for --format and in messages */
    const char *const *aliases;    /* other --format names; NULL-ended, or
                                      NULL */
    const char *const *extensions; /* file names ending so are this format
                                      (after a ".zst"); NULL-ended */
    unsigned flags;                /* CLI_FORMAT_* */
    /* Whether the first n (<= CLI_SNIFF_BYTES) bytes of the data are this
     * format's; NULL when its data cannot be told by them. */
    bool (*sniff)(const unsigned char *head, size_t n);
    /* Reads the input into a new staged version of job->name, returned
     * unpublished in *out (the caller publishes it); on failure, prints
     * the error, discards what it staged and returns CLI_FAIL or
     * CLI_USAGE. */
    int (*import)(const cli_import_job *job, mms_array **out);
    /* Writes the array; prints its error. */
    int (*export)(const cli_export_job *job);
    /* The size of the output for an array, recorded in a zstd frame;
     * NULL when it is not known in advance. */
    uint64_t (*export_size)(const mms_info *info);
};

/* ---- the table (formats.c) ------------------------------------------------ */

#define CLI_SNIFF_BYTES 8

/* Every format, NULL-ended, in the order they are tried. */
extern const cli_format *const cli_formats[];
/* The format named text[0..len) (a name or an alias), or NULL. */
const cli_format *cli_format_by_name(const char *text, size_t len);
/* The format a file name says (".npy", ".csv.zst"...), or NULL; *ext_len
 * is the length of the extensions that say it (with ".zst"). */
const cli_format *cli_format_by_path(const char *path, size_t *ext_len);
/* The format whose magic number the data starts with, or NULL. */
const cli_format *cli_format_sniff(const unsigned char *head, size_t n);

/* ---- the formats (one file each) --------------------------------------- */

extern const cli_format cli_format_npy, cli_format_csv, cli_format_raw,
    cli_format_png, cli_format_jpeg;

/* Magic numbers (sniff.c). */
bool cli_sniff_npy(const unsigned char *b, size_t n);
bool cli_sniff_png(const unsigned char *b, size_t n);
bool cli_sniff_jpeg(const unsigned char *b, size_t n);
/* What the first bytes of a file say it is ("it holds PNG data: use
 * --format png or a .png name", "it is empty"), for messages about a file
 * whose name or --format says something else; NULL if nothing. */
const char *cli_sniff_hint(const unsigned char *b, size_t n);

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
 * is returned unpublished in *out (the import of the table, and restore's
 * reader of a dump's members). src_size: as cli_import_job's. */
int cli_npy_import(const cli_globals *g, mms_store *store, cli_src *src,
                   uint64_t src_size, const char *name, bool replace,
                   mms_array **out);

/* CSV cells (csv.c). Parses one cell (trimmed, unquoted) as dtype into
 * out (itemsize bytes); on error puts the reason ("is not an integer",
 * "empty cell") in why and returns CLI_FAIL without printing. */
int cli_csv_parse_cell(mms_dtype dtype, const char *cell, void *out,
                       char *why, size_t whylen);
/* The longest line CSV import takes, in bytes (1 GiB; tests lower it). */
extern size_t cli_csv_line_max;
/* Formats one element as export writes it (the shortest text that reads
 * back as the same value); returns its length. */
int cli_csv_format_value(char *out, size_t size, const void *elem,
                         mms_dtype dtype);

/* Shared by png.c and jpeg.c (image.c). */
/* H * W * C * bytes per sample, or false on overflow of 64 bits or of
 * size_t (the mapping is indexed with size_t). */
bool cli_image_size(uint64_t h, uint64_t w, uint64_t c, uint64_t bytes,
                    uint64_t *out);
/* Creates the staged array for an image: (H, W) for one channel, else
 * (H, W, C). */
int cli_image_stage(mms_store *store, const char *name, mms_dtype dtype,
                    uint64_t h, uint64_t w, uint64_t c, bool replace,
                    mms_array **out);
/* Checks that info describes an image the format can hold; sets
 * *channels. On error prints the array's name, dtype and shape and what
 * the format accepts. max_side: the format's largest width and height. */
int cli_image_check_export(const char *name, const mms_info *info, bool jpeg,
                           uint64_t max_side, int *channels);

#endif
