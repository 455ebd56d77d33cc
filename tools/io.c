/* io.c - `mmstore import` and `export`: formats, files, stdin and stdout,
 * and zstd streaming in both directions. The formats themselves are in
 * npy.c, csv.c, image.c (PNG, JPEG) and raw_* below.
 *
 * An import reads its input in chunks of CLI_CHUNK bytes into a staged
 * version of the array (mms_array_write: pwrite, which is several times
 * faster here than copying through the mapping and msync), and publishes it
 * only when everything was read and checked: a failure discards the staged
 * version, so the store is exactly as before. An export writes straight from
 * the array's mapping, under a temporary name renamed into place at the
 * end. Neither ever holds a whole array in memory. */
#define _GNU_SOURCE
#include "cli.h"

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
 * end of the compressed stream, which must end on a frame boundary. */
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
        size_t r = ZSTD_decompressStream(in->zd, &out, &in->zin);
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

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
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
    if (zstd < 0 && !std && ends_with(path, ".zst"))
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

int cli_in_end_frame(cli_in *in)
{
    if (!in->zd || in->zret == 0)
        return CLI_OK;
    unsigned char buf[65536];
    while (in->zret != 0) {
        size_t got;
        if (zstd_read(in, buf, sizeof buf, &got) != CLI_OK)
            return CLI_FAIL;
        if (got == 0)
            break; /* zstd_read has checked that the stream ended well */
    }
    return CLI_OK;
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
 * same directory and renamed at the end; anything else (a device, a FIFO)
 * is written in place. A symbolic link is followed, as cp does. */
static int out_open_file(cli_out *o, const char *path)
{
    struct stat st;
    char *target = NULL;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return cli_error("cannot write %s: is a directory", path);
        o->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (o->fd < 0)
            return cli_error("cannot write %s: %s", path, strerror(errno));
        return CLI_OK;
    }
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        target = realpath(path, NULL);
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
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(o->fd, 0666 & ~mask) != 0)
        return cli_error("cannot write %s: %s", path, strerror(errno));
    return CLI_OK;
}

int cli_out_open(const char *path, bool zstd, int level, uint64_t pledged,
                 cli_out **out)
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
    if ((!std && out_open_file(o, path) != CLI_OK) ||
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

/* ---- shapes, formats and names ---------------------------------------- */

int cli_parse_shape(const char *text, uint64_t *shape, int *ndim)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    bool paren = *p == '(';
    p += paren;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            break;
        if (n == MMS_MAX_NDIM)
            return -1;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE)
            return -1;
        shape[n++] = v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p != ',')
            break;
        p++;
    }
    if (paren && *p++ != ')')
        return -1;
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return -1;
    *ndim = n;
    return 0;
}

static const struct {
    const char *ext;
    cli_format format;
} format_exts[] = {
    {".npy", CLI_FMT_NPY}, {".csv", CLI_FMT_CSV}, {".raw", CLI_FMT_RAW},
    {".bin", CLI_FMT_RAW}, {".png", CLI_FMT_PNG}, {".jpg", CLI_FMT_JPEG},
    {".jpeg", CLI_FMT_JPEG}, {".PNG", CLI_FMT_PNG}, {".JPG", CLI_FMT_JPEG},
    {".JPEG", CLI_FMT_JPEG},
};

/* The format a file name says (".npy", ".csv.zst"...), or CLI_FMT_AUTO;
 * *ext_len is the length of the extensions that say it. */
static cli_format format_from_name(const char *path, size_t *ext_len)
{
    size_t n = strlen(path), zst = ends_with(path, ".zst") ? 4 : 0;
    for (size_t i = 0; i < sizeof format_exts / sizeof *format_exts; i++) {
        size_t m = strlen(format_exts[i].ext);
        if (n >= zst + m &&
            strncmp(path + n - zst - m, format_exts[i].ext, m) == 0) {
            *ext_len = zst + m;
            return format_exts[i].format;
        }
    }
    *ext_len = zst;
    return CLI_FMT_AUTO;
}

static const char *format_name(cli_format f)
{
    return f == CLI_FMT_NPY ? "npy" : f == CLI_FMT_CSV ? "csv"
         : f == CLI_FMT_PNG ? "png" : f == CLI_FMT_JPEG ? "jpeg" : "raw";
}

/* The base name of path without the extensions that give its format. */
static char *name_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t ext;
    format_from_name(base, &ext);
    size_t n = strlen(base) - ext;
    return n ? strndup(base, n) : NULL;
}

/* The input's format: --format, its name, or its first bytes. */
static int input_format(cli_in *in, const char *path, cli_format given,
                        cli_format *format)
{
    size_t ext;
    *format = given != CLI_FMT_AUTO ? given : strcmp(path, "-") == 0
                  ? CLI_FMT_AUTO : format_from_name(path, &ext);
    if (*format != CLI_FMT_AUTO)
        return CLI_OK;
    const unsigned char *b;
    size_t n;
    if (cli_in_peek(in, 8, &b, &n) != CLI_OK)
        return CLI_FAIL;
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        *format = CLI_FMT_NPY;
    else if (n == 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        *format = CLI_FMT_PNG;
    else if (n >= 3 && memcmp(b, "\xff\xd8\xff", 3) == 0)
        *format = CLI_FMT_JPEG;
    else
        return cli_error("%s: cannot tell its format (not .npy, PNG or JPEG "
                         "data, and no .npy, .csv, .raw, .png or .jpg name): "
                         "use --format npy|csv|raw|png|jpeg",
                         cli_in_src(in)->label);
    return CLI_OK;
}

/* ---- raw ---------------------------------------------------------------- */

static int raw_size(const cli_io_opts *opts, uint64_t *nbytes)
{
    uint64_t n = mms_dtype_size(opts->dtype);
    for (int i = 0; i < opts->ndim; i++) {
        if (opts->shape[i] && n > UINT64_MAX / opts->shape[i])
            return cli_error("--shape: the size in bytes overflows 64 bits");
        n *= opts->shape[i];
    }
    *nbytes = n;
    return CLI_OK;
}

static int raw_import(const cli_globals *g, mms_store *store, cli_in *in,
                      const char *name, const cli_io_opts *opts,
                      mms_array **out)
{
    cli_src *src = cli_in_src(in);
    uint64_t nbytes = 0;
    char shp[MMS_MAX_NDIM * 22 + 4];
    if (raw_size(opts, &nbytes) != CLI_OK)
        return CLI_FAIL;
    cli_shape_str(shp, sizeof shp, opts->ndim, opts->shape);
    uint64_t have = cli_in_is_zstd(in) ? 0 : cli_in_file_size(in);
    if (have && have != nbytes)
        return cli_error("%s holds %llu bytes, but %s of shape %s is %llu "
                         "bytes", src->label, (unsigned long long)have,
                         mms_dtype_name(opts->dtype), shp,
                         (unsigned long long)nbytes);
    if (cli_stage(store, name, opts->dtype, opts->ndim, opts->shape,
                  opts->replace, out) != CLI_OK)
        return CLI_FAIL;
    cli_progress *p = cli_progress_start(g, "import", nbytes);
    int rc = cli_fill_array(src, *out, 0, nbytes, 0, p,
                            "--dtype and --shape make");
    cli_progress_finish(p);
    /* A stream must end exactly there: count what is left, for the
     * message. */
    uint64_t extra = 0;
    unsigned char buf[65536];
    while (rc == CLI_OK) {
        size_t got;
        if ((rc = src->read(src, buf, sizeof buf, &got)) != CLI_OK ||
            got == 0)
            break;
        extra += got;
    }
    if (rc == CLI_OK && extra > 0)
        rc = cli_error("%s holds %llu bytes, but %s of shape %s is %llu "
                       "bytes", src->label,
                       (unsigned long long)(nbytes + extra),
                       mms_dtype_name(opts->dtype), shp,
                       (unsigned long long)nbytes);
    if (rc != CLI_OK) {
        mms_array_close(*out);
        *out = NULL;
    }
    return rc;
}

static int raw_export(const cli_globals *g, mms_array *array, cli_sink *sink,
                      const char *label)
{
    mms_info info;
    int rc = mms_array_info(array, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "%s", label);
    cli_progress *p = cli_progress_start(g, label, info.nbytes);
    rc = cli_drain_array(array, 0, info.nbytes, sink, p);
    cli_progress_finish(p);
    return rc;
}

/* ---- import ------------------------------------------------------------ */

/* Refuses an existing name without --replace, and an invalid one, before
 * anything is read. */
static int check_target(mms_store *store, const char *name, bool replace)
{
    mms_info info;
    int rc = mms_stat(store, name, &info);
    if (rc == MMS_OK && !replace)
        return cli_error("import '%s': the name exists; use --replace to "
                         "replace it", name);
    if (rc != MMS_OK && rc != MMS_ERR_NOTFOUND)
        return cli_mms_error(rc, "import '%s'", name);
    return CLI_OK;
}

/* The size of the coded data, if known: a regular file's, not zstd's. */
static uint64_t coded_size(cli_in *in)
{
    return cli_in_is_zstd(in) ? 0 : cli_in_file_size(in);
}

static int import_staged(const cli_globals *g, mms_store *store, cli_in *in,
                         cli_format format, const char *name,
                         const cli_io_opts *opts, mms_array **out)
{
    cli_src *src = cli_in_src(in);
    switch (format) {
    case CLI_FMT_NPY:
        return cli_npy_import(g, store, src,
                              cli_in_is_zstd(in) ? 0 : cli_in_file_size(in),
                              name, opts->replace, out);
    case CLI_FMT_CSV:
        return cli_csv_import(g, store, src, name, opts, out);
    case CLI_FMT_PNG:
        return cli_png_import(g, store, src, coded_size(in), name,
                              opts->replace, out);
    case CLI_FMT_JPEG:
        return cli_jpeg_import(g, store, src, coded_size(in), name,
                               opts->replace, out);
    default:
        return raw_import(g, store, in, name, opts, out);
    }
}

int cli_import(const cli_globals *g, mms_store *store, const char *file,
               const char *name, const cli_io_opts *opts)
{
    char *derived = NULL;
    if (!name && strcmp(file, "-") == 0) {
        cli_error("import: reading stdin needs a NAME");
        return CLI_USAGE;
    }
    if (!name && !(name = derived = name_from_path(file))) {
        cli_error("import %s: no name to give it: add a NAME", file);
        return CLI_USAGE;
    }
    cli_in *in = NULL;
    mms_array *array = NULL;
    cli_format format = CLI_FMT_AUTO;
    int rc = check_target(store, name, opts->replace);
    if (rc == CLI_OK)
        rc = cli_in_open(file, opts->zstd, &in);
    if (rc == CLI_OK)
        rc = input_format(in, file, opts->format, &format);
    if (rc == CLI_OK && format == CLI_FMT_RAW &&
        (!opts->have_dtype || opts->ndim < 0)) {
        cli_error("import %s: raw data needs --dtype and --shape", file);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK)
        rc = import_staged(g, store, in, format, name, opts, &array);
    if (rc == CLI_OK)
        rc = cli_in_end_frame(in);
    if (rc == CLI_OK) {
        int e = mms_array_publish(array);
        if (e != MMS_OK)
            rc = cli_mms_error(e, "import '%s': publishing", name);
    }
    if (array) {
        int e = mms_array_close(array);
        if (e != MMS_OK && rc == CLI_OK)
            rc = cli_mms_error(e, "import '%s'", name);
    }
    cli_in_close(in);
    free(derived);
    return rc;
}

/* ---- export ------------------------------------------------------------ */

static int output_format(const char *file, const cli_io_opts *opts,
                         cli_format *format, bool *zstd)
{
    bool std = !file || strcmp(file, "-") == 0;
    size_t ext;
    cli_format by_name = std ? CLI_FMT_AUTO : format_from_name(file, &ext);
    *format = opts->format != CLI_FMT_AUTO ? opts->format
              : by_name != CLI_FMT_AUTO     ? by_name
              : std                         ? CLI_FMT_NPY
                                            : CLI_FMT_AUTO;
    *zstd = opts->zstd == 1 || (opts->zstd < 0 && !std && ends_with(file,
                                                                    ".zst"));
    if (*format == CLI_FMT_AUTO) {
        cli_error("export %s: cannot tell the format from the name: use "
                  "--format npy|csv|raw|png|jpeg or a .npy, .csv, .raw, .png "
                  "or .jpg name", file);
        return CLI_USAGE;
    }
    if (opts->quality && *format != CLI_FMT_JPEG) {
        cli_error("export: --quality is for JPEG output, not %s",
                  format_name(*format));
        return CLI_USAGE;
    }
    if (std && isatty(1) && (*zstd || *format != CLI_FMT_CSV)) {
        cli_error("export: refusing to write %s%s data to a terminal: give "
                  "a FILE or redirect stdout", format_name(*format),
                  *zstd ? ".zst" : "");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int export_to(const cli_globals *g, mms_array *array, const char *name,
                     cli_format format, cli_sink *sink,
                     const cli_io_opts *opts)
{
    char label[MMS_NAME_MAX + 16];
    snprintf(label, sizeof label, "export %s", name);
    switch (format) {
    case CLI_FMT_NPY:
        return cli_npy_export(g, array, sink, label);
    case CLI_FMT_CSV:
        return cli_csv_export(g, array, name, sink, opts);
    case CLI_FMT_PNG:
        return cli_png_export(g, array, name, sink);
    case CLI_FMT_JPEG:
        return cli_jpeg_export(g, array, name, sink, opts->quality);
    default:
        return raw_export(g, array, sink, label);
    }
}

int cli_export(const cli_globals *g, mms_store *store, const char *name,
               const char *file, const cli_io_opts *opts)
{
    cli_format format;
    bool zstd;
    int rc = output_format(file, opts, &format, &zstd);
    if (rc != CLI_OK)
        return rc;
    mms_array *array;
    mms_info info;
    int e = mms_array_open(store, name, MMS_RDONLY, &array);
    if (e == MMS_OK && (e = mms_array_info(array, &info)) != MMS_OK)
        mms_array_close(array);
    if (e != MMS_OK)
        return cli_mms_error(e, "export '%s'", name);
    uint64_t pledged = UINT64_MAX;
    if (format == CLI_FMT_RAW) {
        pledged = info.nbytes;
    } else if (format == CLI_FMT_NPY) {
        char hdr[4096];
        pledged = info.nbytes + cli_npy_format_header(hdr, sizeof hdr,
                                                      info.dtype, info.ndim,
                                                      info.shape);
    }
    cli_out *out;
    rc = cli_out_open(file, zstd, opts->level, pledged, &out);
    if (rc == CLI_OK) {
        rc = export_to(g, array, name, format, cli_out_sink(out), opts);
        if (rc == CLI_OK)
            rc = cli_out_finish(out);
        else
            cli_out_abort(out);
    }
    mms_array_close(array);
    return rc;
}
