/* io.c - the plumbing under `mmstore import`, `export`, `dump` and
 * `restore`: files, stdin and stdout, zstd streams in both directions, and
 * moving array data between them and staged versions. It knows no format:
 * the formats (tools/formats/) use it, it uses none of them. zstd is here
 * rather than a format of its own because it wraps any format's bytes
 * (.npy.zst, .csv.zst, a dump's .tar.zst) and is found by its magic number
 * before the format inside is looked at.
 *
 * An import reads its input in chunks of CLI_CHUNK bytes into a staged
 * version of the array (mms_array_write: pwrite, which is several times
 * faster here than copying through the mapping and msync), and publishes it
 * only when everything was read and checked: a failure discards the staged
 * version, so the store is exactly as before. An export writes straight from
 * the array's mapping, under a temporary name renamed into place at the
 * end. Neither ever holds a whole array in memory. */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* ---- sources ---------------------------------------------------------- */

int cli_src_read_full(cli_src *src, void *buf, size_t len, size_t *got)
{
    size_t total = 0;
    while (total < len) {
        size_t n;
        if (src->read(src, (char *)buf + total, len - total, &n) != CLI_OK)
            return CLI_FAIL;
        if (n == 0)
            break;
        total += n;
    }
    *got = total;
    return CLI_OK;
}

#define PEEK_MAX 16
#define ZSTD_MAGIC_LEN 4

struct cli_in {
    cli_src src;          /* first: a cli_in is its own source */
    char *label;
    int fd;
    uint64_t file_size;   /* regular file: its size; else 0 */
    uint64_t file_pos;    /* bytes read from fd so far */
    /* bytes read from fd to look for zstd's magic, not yet consumed */
    unsigned char raw_peek[ZSTD_MAGIC_LEN];
    size_t raw_len, raw_pos;
    /* zstd decompression */
    ZSTD_DCtx *zd;
    unsigned char *zbuf;
    ZSTD_inBuffer zin;
    bool raw_eof;
    size_t zret;          /* last ZSTD_decompressStream result: 0 at the
                             end of a frame */
    /* decompressed bytes looked at by cli_in_peek, not yet consumed */
    unsigned char peek[PEEK_MAX];
    size_t peek_len, peek_pos;
};

static int raw_read(cli_in *in, void *buf, size_t len, size_t *got)
{
    if (in->raw_pos < in->raw_len) {
        size_t n = in->raw_len - in->raw_pos;
        n = n < len ? n : len;
        memcpy(buf, in->raw_peek + in->raw_pos, n);
        in->raw_pos += n;
        *got = n;
        return CLI_OK;
    }
    for (;;) {
        ssize_t n = read(in->fd, buf, len);
        if (n >= 0) {
            in->file_pos += (uint64_t)n;
            *got = (size_t)n;
            return CLI_OK;
        }
        if (errno != EINTR)
            return cli_error("%s: read: %s", in->label, strerror(errno));
    }
}

/* Decompresses into buf; returns as soon as there is something, or at the
 * end of the compressed stream, which must end on a frame boundary. Frames
 * after a finished one are more of the same stream (zstd's own rule);
 * bytes after a frame that do not start another are an error. The decoder
 * is not called at the end of the input after a finished frame: it would
 * take that for the start of a next one, cut short. */
static int zstd_read(cli_in *in, void *buf, size_t len, size_t *got)
{
    ZSTD_outBuffer out = {buf, len, 0};
    while (out.pos == 0) {
        if (in->zin.pos == in->zin.size && !in->raw_eof) {
            size_t n;
            if (raw_read(in, in->zbuf, ZSTD_DStreamInSize(), &n) != CLI_OK)
                return CLI_FAIL;
            in->zin = (ZSTD_inBuffer){in->zbuf, n, 0};
            in->raw_eof = n == 0;
        }
        if (in->zin.pos == in->zin.size && in->raw_eof && in->zret == 0)
            break; /* the end, after a finished frame */
        bool between = in->zret == 0; /* a frame ended, the next not begun */
        size_t r = ZSTD_decompressStream(in->zd, &out, &in->zin);
        if (ZSTD_isError(r) && between)
            return cli_error("%s: data after the end of a zstd frame is not "
                             "another frame (%s)", in->label,
                             ZSTD_getErrorName(r));
        if (ZSTD_isError(r))
            return cli_error("%s: corrupt zstd data: %s", in->label,
                             ZSTD_getErrorName(r));
        in->zret = r;
        if (in->raw_eof && in->zin.pos == in->zin.size && out.pos == 0) {
            if (in->zret != 0)
                return cli_error("%s: truncated zstd data: the stream ends "
                                 "inside a frame", in->label);
            break;
        }
    }
    *got = out.pos;
    return CLI_OK;
}

static int in_read_below_peek(cli_in *in, void *buf, size_t len, size_t *got)
{
    return in->zd ? zstd_read(in, buf, len, got) : raw_read(in, buf, len, got);
}

static int in_read(cli_src *src, void *buf, size_t len, size_t *got)
{
    cli_in *in = (cli_in *)src;
    if (in->peek_pos < in->peek_len) {
        size_t n = in->peek_len - in->peek_pos;
        n = n < len ? n : len;
        memcpy(buf, in->peek + in->peek_pos, n);
        in->peek_pos += n;
        *got = n;
        return CLI_OK;
    }
    return in_read_below_peek(in, buf, len, got);
}

int cli_in_peek(cli_in *in, size_t n, const unsigned char **bytes,
                size_t *got)
{
    if (n > PEEK_MAX)
        n = PEEK_MAX;
    memmove(in->peek, in->peek + in->peek_pos, in->peek_len - in->peek_pos);
    in->peek_len -= in->peek_pos;
    in->peek_pos = 0;
    while (in->peek_len < n) {
        size_t r;
        if (in_read_below_peek(in, in->peek + in->peek_len,
                               n - in->peek_len, &r) != CLI_OK)
            return CLI_FAIL;
        if (r == 0)
            break;
        in->peek_len += r;
    }
    *bytes = in->peek;
    *got = in->peek_len < n ? in->peek_len : n;
    return CLI_OK;
}

/* zstd frames start with 28 b5 2f fd; skippable frames (which zstd also
 * accepts first) with 5? 2a 4d 18. */
static bool zstd_magic(const unsigned char *b, size_t n)
{
    return n >= 4 && ((b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f &&
                       b[3] == 0xfd) ||
                      ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a &&
                       b[2] == 0x4d && b[3] == 0x18));
}

static int sniff_zstd(cli_in *in, bool *is_zstd)
{
    while (in->raw_len < ZSTD_MAGIC_LEN) {
        ssize_t n = read(in->fd, in->raw_peek + in->raw_len,
                         ZSTD_MAGIC_LEN - in->raw_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cli_error("%s: read: %s", in->label, strerror(errno));
        if (n == 0)
            break;
        in->raw_len += (size_t)n;
        in->file_pos += (uint64_t)n;
    }
    *is_zstd = zstd_magic(in->raw_peek, in->raw_len);
    return CLI_OK;
}

static int in_start_zstd(cli_in *in)
{
    in->zd = ZSTD_createDCtx();
    in->zbuf = malloc(ZSTD_DStreamInSize());
    if (!in->zd || !in->zbuf)
        return cli_error("%s: out of memory for zstd", in->label);
    in->zin = (ZSTD_inBuffer){in->zbuf, 0, 0};
    in->zret = 1; /* no frame yet: an empty stream is truncated */
    return CLI_OK;
}

int cli_in_open(const char *path, int zstd, cli_in **out)
{
    *out = NULL;
    bool std = strcmp(path, "-") == 0;
    cli_in *in = calloc(1, sizeof *in);
    if (!in || !(in->label = strdup(std ? "stdin" : path))) {
        free(in);
        return cli_error("%s: out of memory", path);
    }
    in->src = (cli_src){.read = in_read, .label = in->label};
    in->fd = std ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(in->fd, &st) != 0) {
        cli_error("%s: %s", in->label, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        cli_error("%s: is a directory", in->label);
        goto fail;
    }
    if (S_ISREG(st.st_mode)) {
        in->file_size = (uint64_t)st.st_size;
        posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    bool is_zstd = zstd == 1;
    if (zstd < 0 && !std && cli_ends_with(path, ".zst"))
        is_zstd = true;
    else if (zstd < 0 && sniff_zstd(in, &is_zstd) != CLI_OK)
        goto fail;
    if (is_zstd && in_start_zstd(in) != CLI_OK)
        goto fail;
    *out = in;
    return CLI_OK;
fail:
    cli_in_close(in);
    return CLI_FAIL;
}

int cli_in_end_stream(cli_in *in)
{
    if (!in->zd)
        return CLI_OK;
    unsigned char buf[65536];
    for (;;) {
        size_t got;
        if (zstd_read(in, buf, sizeof buf, &got) != CLI_OK)
            return CLI_FAIL;
        if (got == 0)
            return CLI_OK; /* zstd_read has checked that it ended well */
    }
}

cli_src *cli_in_src(cli_in *in) { return &in->src; }
bool cli_in_is_zstd(const cli_in *in) { return in->zd != NULL; }
uint64_t cli_in_file_size(const cli_in *in) { return in->file_size; }
uint64_t cli_in_file_pos(const cli_in *in) { return in->file_pos; }

void cli_in_close(cli_in *in)
{
    if (!in)
        return;
    if (in->fd > 0)
        close(in->fd);
    ZSTD_freeDCtx(in->zd);
    free(in->zbuf);
    free(in->label);
    free(in);
}

/* ---- destinations ----------------------------------------------------- */

#define ZOUT_SIZE ((size_t)1 << 20)

struct cli_out {
    cli_sink sink;        /* first: a cli_out is its own sink */
    char *label;
    char *path;           /* where the file goes (NULL: stdout) */
    char *tmp;            /* the temporary name it is written under, or
                             NULL when written in place (stdout, a device) */
    int fd;
    ZSTD_CCtx *zc;
    unsigned char *zbuf;
};

static int write_all(cli_out *o, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(o->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cli_error("%s: write: %s", o->label, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return CLI_OK;
}

static int zstd_step(cli_out *o, ZSTD_inBuffer *in, ZSTD_EndDirective mode,
                     size_t *left)
{
    ZSTD_outBuffer zout = {o->zbuf, ZOUT_SIZE, 0};
    size_t r = ZSTD_compressStream2(o->zc, &zout, in, mode);
    if (ZSTD_isError(r))
        return cli_error("%s: zstd: %s", o->label, ZSTD_getErrorName(r));
    *left = r;
    return write_all(o, o->zbuf, zout.pos);
}

static int out_write(cli_sink *sink, const void *buf, size_t len)
{
    cli_out *o = (cli_out *)sink;
    if (!o->zc)
        return write_all(o, buf, len);
    ZSTD_inBuffer in = {buf, len, 0};
    while (in.pos < in.size) {
        size_t left;
        if (zstd_step(o, &in, ZSTD_e_continue, &left) != CLI_OK)
            return CLI_FAIL;
    }
    return CLI_OK;
}

static int out_start_zstd(cli_out *o, int level, uint64_t pledged)
{
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return cli_error("zstd level %d is out of range (%d to %d)", level,
                         ZSTD_minCLevel(), ZSTD_maxCLevel());
    o->zc = ZSTD_createCCtx();
    o->zbuf = malloc(ZOUT_SIZE);
    if (!o->zc || !o->zbuf)
        return cli_error("%s: out of memory for zstd", o->label);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t r = ZSTD_CCtx_setParameter(o->zc, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(o->zc, ZSTD_c_checksumFlag, 1);
    /* A libzstd built without threads refuses workers: stay serial. */
    if (!ZSTD_isError(r) && cpus > 1)
        ZSTD_CCtx_setParameter(o->zc, ZSTD_c_nbWorkers, (int)cpus);
    if (!ZSTD_isError(r) && pledged != UINT64_MAX)
        r = ZSTD_CCtx_setPledgedSrcSize(o->zc, pledged);
    if (ZSTD_isError(r))
        return cli_error("%s: zstd: %s", o->label, ZSTD_getErrorName(r));
    return CLI_OK;
}

/* A regular file (or a new one) is written under a temporary name in the
 * same directory and renamed at the end, with the permissions of the file it
 * replaces; anything else (a device, a FIFO) is written in place. A
 * symbolic link is refused unless follow_link: its target would be
 * replaced by a new file (mode, owner and other links lost). Without
 * follow_link the rename replaces whatever is at path then, never a file
 * a link put there after the check points to. */
static int out_open_file(cli_out *o, const char *path, bool follow_link)
{
    struct stat st;
    char *target = NULL;
    bool is_link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
    if (is_link && !follow_link)
        return cli_error("cannot write %s: it is a symbolic link; use "
                         "--force to replace the file it points to", path);
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return cli_error("cannot write %s: is a directory", path);
        o->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (o->fd < 0)
            return cli_error("cannot write %s: %s", path, strerror(errno));
        return CLI_OK;
    }
    if (is_link && !(target = realpath(path, NULL)))
        return cli_error("cannot write %s: %s", path, strerror(errno));
    o->path = target ? target : strdup(path);
    const char *slash = o->path ? strrchr(o->path, '/') : NULL;
    if (!o->path ||
        asprintf(&o->tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - o->path + 1)
                 : 0, o->path, slash ? slash + 1 : o->path) < 0) {
        o->tmp = NULL;
        return cli_error("%s: out of memory", path);
    }
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return cli_error("cannot write %s: %s", path, strerror(e));
    }
    mode_t mode = st.st_mode & 0777; /* not set-id bits on a new owner */
    if (!exists) {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(o->fd, mode) != 0)
        return cli_error("cannot write %s: %s", path, strerror(errno));
    return CLI_OK;
}

int cli_out_open(const char *path, bool zstd, int level, uint64_t pledged,
                 bool follow_link, cli_out **out)
{
    *out = NULL;
    bool std = !path || strcmp(path, "-") == 0;
    cli_out *o = calloc(1, sizeof *o);
    if (!o || !(o->label = strdup(std ? "stdout" : path))) {
        free(o);
        return cli_error("out of memory");
    }
    o->sink = (cli_sink){.write = out_write, .label = o->label};
    o->fd = std ? 1 : -1;
    if ((!std && out_open_file(o, path, follow_link) != CLI_OK) ||
        (zstd && out_start_zstd(o, level, pledged) != CLI_OK)) {
        cli_out_abort(o);
        return CLI_FAIL;
    }
    *out = o;
    return CLI_OK;
}

cli_sink *cli_out_sink(cli_out *o) { return &o->sink; }

static void out_free(cli_out *o)
{
    ZSTD_freeCCtx(o->zc);
    free(o->zbuf);
    free(o->tmp);
    free(o->path);
    free(o->label);
    free(o);
}

int cli_out_finish(cli_out *o)
{
    int rc = CLI_OK;
    ZSTD_inBuffer none = {NULL, 0, 0};
    for (size_t left = 1; o->zc && left != 0 && rc == CLI_OK;)
        rc = zstd_step(o, &none, ZSTD_e_end, &left);
    if (rc == CLI_OK && o->fd > 1) {
        int fd = o->fd;
        o->fd = -1;
        if (close(fd) != 0)
            rc = cli_error("%s: close: %s", o->label, strerror(errno));
    }
    if (rc == CLI_OK && o->tmp && rename(o->tmp, o->path) != 0)
        rc = cli_error("cannot write %s: rename: %s", o->label,
                       strerror(errno));
    if (rc != CLI_OK) {
        cli_out_abort(o);
        return rc;
    }
    out_free(o);
    return CLI_OK;
}

void cli_out_abort(cli_out *o)
{
    if (!o)
        return;
    if (o->fd > 1)
        close(o->fd);
    if (o->tmp)
        unlink(o->tmp);
    out_free(o);
}

/* ---- moving array data ------------------------------------------------ */

void cli_swap_bytes(void *buf, size_t len, size_t unit)
{
    unsigned char *p = buf;
    switch (unit) {
    case 2:
        for (size_t i = 0; i + 2 <= len; i += 2) {
            uint16_t v;
            memcpy(&v, p + i, 2);
            v = __builtin_bswap16(v);
            memcpy(p + i, &v, 2);
        }
        break;
    case 4:
        for (size_t i = 0; i + 4 <= len; i += 4) {
            uint32_t v;
            memcpy(&v, p + i, 4);
            v = __builtin_bswap32(v);
            memcpy(p + i, &v, 4);
        }
        break;
    case 8:
        for (size_t i = 0; i + 8 <= len; i += 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            v = __builtin_bswap64(v);
            memcpy(p + i, &v, 8);
        }
        break;
    default:
        break;
    }
}

int cli_stage(mms_store *store, const char *name, mms_dtype dtype, int ndim,
              const uint64_t *shape, bool replace, mms_array **out)
{
    unsigned flags = MMS_STAGED | (replace ? 0 : MMS_NOREPLACE);
    int rc = mms_array_create(store, name, dtype, ndim, shape, flags, out);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "cannot stage '%s'", name);
    return CLI_OK;
}

int cli_fill_array(cli_src *src, mms_array *array, uint64_t offset,
                   uint64_t nbytes, size_t swap, cli_progress *progress,
                   const char *what)
{
    size_t size = nbytes < CLI_CHUNK ? (size_t)nbytes : CLI_CHUNK;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return cli_error("%s: out of memory", src->label);
    int rc = CLI_OK;
    for (uint64_t done = 0; done < nbytes && rc == CLI_OK;) {
        size_t want = nbytes - done < size ? (size_t)(nbytes - done) : size;
        size_t got;
        if ((rc = cli_src_read_full(src, buf, want, &got)) != CLI_OK)
            break;
        if (got < want) {
            rc = cli_error("%s: truncated: %s %llu bytes of data, only %llu "
                           "follow", src->label, what,
                           (unsigned long long)nbytes,
                           (unsigned long long)(done + got));
            break;
        }
        if (swap > 1)
            cli_swap_bytes(buf, got, swap);
        int e = mms_array_write(array, offset + done, buf, got);
        if (e != MMS_OK)
            rc = cli_mms_error(e, "%s", src->label);
        done += got;
        cli_progress_update(progress, done);
    }
    free(buf);
    return rc;
}

int cli_drain_array(mms_array *array, uint64_t offset, uint64_t nbytes,
                    cli_sink *sink, cli_progress *progress)
{
    const unsigned char *data = mms_array_data(array);
    for (uint64_t done = 0; done < nbytes;) {
        size_t n = nbytes - done < CLI_CHUNK ? (size_t)(nbytes - done)
                                             : CLI_CHUNK;
        if (sink->write(sink, data + offset + done, n) != CLI_OK)
            return CLI_FAIL;
        done += n;
        cli_progress_update(progress, done);
    }
    return CLI_OK;
}
