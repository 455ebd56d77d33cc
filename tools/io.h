/* io.h - the plumbing of the mmstore tool (io.c): sources and sinks of
 * bytes, files and stdin/stdout with zstd, and moving array data between
 * them and staged versions. Above the common layer (cli.h), below the
 * formats.
 *
 * Data moves in chunks of CLI_CHUNK bytes: no array is ever held whole in
 * memory. Every function below that returns int prints its own message
 * (cli_error) and returns CLI_OK or CLI_FAIL. */
#ifndef MMSTORE_IO_H
#define MMSTORE_IO_H

#include "cli.h"

#define CLI_CHUNK ((size_t)8 << 20)

/* A source of bytes: a file or stdin (maybe zstd-compressed), a member of
 * a tar archive, or memory (tests). read() gives up to len bytes; *got = 0
 * only at the end. label names the source in messages ("data.npy",
 * "stdin", "dump.tar.zst: a/b.npy"). */
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
/* For zstd input: decompresses (and drops) the rest of the stream, so
 * that the checksum of every frame is verified even when the data needed
 * ended before it, and anything after the last frame is an error. */
int cli_in_end_stream(cli_in *in);
void cli_in_close(cli_in *in); /* accepts NULL */

/* A file or stdout ("-" or NULL) opened for writing, compressed with zstd
 * at level (multi-threaded, one worker per online CPU) when zstd is true.
 * A file is written under a temporary name beside it and renamed into
 * place by cli_out_finish, so a failed export leaves no partial file; a
 * file it replaces keeps its mode. A symbolic link path is an error unless
 * follow_link (--force): then the file it points to is replaced.
 * pledged is the uncompressed size if known (recorded in the zstd frame),
 * else UINT64_MAX. */
typedef struct cli_out cli_out;
int cli_out_open(const char *path, bool zstd, int level, uint64_t pledged,
                 bool follow_link, cli_out **out);
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

#endif
