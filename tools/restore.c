/* restore.c - `mmstore restore IN.tar.zst`: reads back what dump.c
 * writes (its comment describes the archive and its manifest).
 *
 * Restore never writes a file named by the archive: members only feed
 * staged versions of the names the manifest gives, so no path in a
 * hostile archive can reach the file system. Each array is staged, synced
 * and its checksum root compared with the manifest's before anything is
 * published; only when every member has been read and verified are they
 * all published, then their attributes set. */
#define _GNU_SOURCE
#include "commands.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define MANIFEST_MAX ((size_t)1 << 30)
#define ARCHIVE_BUF ((size_t)1 << 20)

/* ---- hex ---------------------------------------------------------------- */

static const char *hexdigits = "0123456789abcdef";

static int hex_value(char c)
{
    const char *p = c ? strchr(hexdigits, c) : NULL;
    return p ? (int)(p - hexdigits) : -1;
}

/* Decodes 2n hex digits into out (or only checks them when out is
 * NULL); returns -1 on a bad digit, an odd length or more than size. */
static ssize_t from_hex(const char *s, unsigned char *out, size_t size)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > size)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        if (out)
            out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (ssize_t)(n / 2);
}

/* ---- restore: the manifest ---------------------------------------------- */

typedef struct restore_item {
    const char *name, *file; /* owned by the manifest's JSON */
    mms_dtype dtype;
    int ndim;
    uint64_t shape[MMS_MAX_NDIM];
    uint64_t checksum;
    json_t *attrs;
    mms_array *staged;       /* set once its member was read and verified */
} restore_item;

typedef struct restore_ctx {
    const cli_globals *g;
    mms_store *store;
    const char *path;
    bool replace;
    cli_in *in;
    bool in_failed;          /* the input printed its error */
    bool manifest_seen;      /* in this pass over the archive */
    struct archive *a;
    unsigned char *buf;
    json_t *manifest;
    restore_item *items;
    size_t n;
    json_t *by_file;         /* file -> index + 1 */
    cli_progress *progress;
} restore_ctx;

__attribute__((format(printf, 2, 3)))
static int manifest_error(restore_ctx *r, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cli_error("restore %s: bad manifest: %s", r->path, why);
}

/* A relative path with no empty, "." or ".." component, ending in .npy. */
static bool safe_member_path(const char *p)
{
    size_t n = strlen(p);
    if (n < 5 || strcmp(p + n - 4, ".npy") != 0 || p[0] == '/')
        return false;
    for (const char *c = p;;) {
        const char *slash = strchr(c, '/');
        size_t m = slash ? (size_t)(slash - c) : strlen(c);
        if (m == 0 || (m == 1 && c[0] == '.') ||
            (m == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!slash)
            return true;
        c = slash + 1;
    }
}

static int parse_attrs(restore_ctx *r, const char *name, json_t *attrs)
{
    const char *key;
    json_t *v;
    if (!json_is_object(attrs))
        return manifest_error(r, "'%s': attributes is not an object", name);
    size_t nkey = 0;
    json_object_foreach(attrs, key, v) {
        json_t *text = json_object_get(v, "text");
        json_t *hex = json_object_get(v, "hex");
        nkey++;
        /* The library's own rules, before anything is staged: a key it
         * would refuse after publishing leaves a half-done restore. */
        if (mms_name_check(key, "attribute key") != MMS_OK)
            return manifest_error(r, "'%s': attribute key %zu: %s", name,
                                  nkey, mms_errmsg());
        if (json_is_string(text) &&
            json_string_length(text) > MMS_ATTR_VALUE_MAX)
            return manifest_error(r, "'%s': attribute %zu has a value of "
                                  "%zu bytes (at most %d)", name, nkey,
                                  json_string_length(text),
                                  MMS_ATTR_VALUE_MAX);
        if (json_object_size(v) != 1 || !(json_is_string(text) ||
                                           json_is_string(hex)))
            return manifest_error(r, "'%s': attribute '%s' is not "
                                  "{\"text\": ...} or {\"hex\": ...}", name,
                                  key);
        if (hex && from_hex(json_string_value(hex), NULL,
                            MMS_ATTR_VALUE_MAX) < 0)
            return manifest_error(r, "'%s': attribute '%s' is not valid hex "
                                  "of at most %d bytes", name, key,
                                  MMS_ATTR_VALUE_MAX);
    }
    return CLI_OK;
}

static int parse_item(restore_ctx *r, json_t *a, restore_item *it)
{
    json_t *shape, *attrs;
    const char *dtype, *sum;
    json_int_t gen, bs, nbytes;
    json_error_t err;
    if (json_unpack_ex(a, &err, 0, "{s:s s:s s:s s:o s:I s:I s:s s:I s:o}",
                       "name", &it->name, "file", &it->file, "dtype", &dtype,
                       "shape", &shape, "nbytes", &nbytes, "generation", &gen,
                       "checksum", &sum, "block_size", &bs, "attributes",
                       &attrs) != 0)
        return manifest_error(r, "an entry of arrays: %s", err.text);
    if (mms_name_check(it->name, NULL) != MMS_OK)
        return manifest_error(r, "an entry of arrays: %s", mms_errmsg());
    if (mms_dtype_parse(dtype, &it->dtype) != MMS_OK)
        return manifest_error(r, "'%s': unknown dtype '%s'", it->name, dtype);
    if (!json_is_array(shape) || json_array_size(shape) > MMS_MAX_NDIM)
        return manifest_error(r, "'%s': shape is not a list of at most %d "
                              "sizes", it->name, MMS_MAX_NDIM);
    it->ndim = (int)json_array_size(shape);
    for (int i = 0; i < it->ndim; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return manifest_error(r, "'%s': shape[%d] is not a size",
                                  it->name, i);
        it->shape[i] = (uint64_t)json_integer_value(d);
    }
    unsigned char raw[8];
    if (strlen(sum) != 16 || from_hex(sum, raw, sizeof raw) != 8)
        return manifest_error(r, "'%s': checksum '%s' is not 16 hex digits",
                              it->name, sum);
    it->checksum = strtoull(sum, NULL, 16);
    if (!safe_member_path(it->file))
        return manifest_error(r, "'%s': file '%s' is not a relative path "
                              "ending in .npy", it->name, it->file);
    if ((uint64_t)bs != mms_store_block_size(r->store))
        return cli_error("restore %s: the dump's checksums use %lld-byte "
                         "blocks and this store %llu-byte ones, so they "
                         "cannot be verified: restore into a store made "
                         "with `mmstore init --block-size %lld`", r->path,
                         (long long)bs,
                         (unsigned long long)mms_store_block_size(r->store),
                         (long long)bs);
    it->attrs = attrs;
    return parse_attrs(r, it->name, attrs);
}

/* Every name must be new (or --replace), valid, and given once; every
 * file once. */
static int check_names(restore_ctx *r)
{
    json_t *names = json_object();
    r->by_file = json_object();
    if (!names || !r->by_file) {
        json_decref(names);
        return cli_error("restore: out of memory");
    }
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < r->n; i++) {
        restore_item *it = &r->items[i];
        mms_info info;
        int e = mms_stat(r->store, it->name, &info);
        if (json_object_get(names, it->name))
            rc = manifest_error(r, "'%s' appears twice", it->name);
        else if (json_object_get(r->by_file, it->file))
            rc = manifest_error(r, "file '%s' appears twice", it->file);
        else if (e == MMS_OK && !r->replace)
            rc = cli_error("restore %s: '%s' exists in the store; use "
                           "--replace to replace it", r->path, it->name);
        else if (e != MMS_OK && e != MMS_ERR_NOTFOUND)
            rc = cli_mms_error(e, "restore %s", r->path);
        else if (json_object_set_new(names, it->name, json_true()) != 0 ||
                 json_object_set_new(r->by_file, it->file,
                                     json_integer((json_int_t)i + 1)) != 0)
            rc = cli_error("restore: out of memory");
    }
    json_decref(names);
    return rc;
}

/* Descriptors open now: those of /proc/self/fd (less the one reading
 * it), else every fd below limit that is valid. */
static uint64_t open_files(uint64_t limit)
{
    uint64_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            n += de->d_name[0] != '.';
        closedir(d);
        return n > 0 ? n - 1 : 0;
    }
    for (uint64_t fd = 0; fd < limit && fd < 65536; fd++)
        n += fcntl((int)fd, F_GETFD) != -1;
    return n;
}

/* Descriptors a restore needs beside the staged versions' own: the
 * member being read, the catalog's transactions, libarchive and zstd,
 * publishing. */
#define RESTORE_SPARE_FILES 8

/* Every staged version holds a file open until all are published: the
 * dump's arrays, plus the descriptors open now, plus a few to work with,
 * must fit under the limit (raised to its hard maximum first). */
static int check_open_files(restore_ctx *r)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return CLI_OK;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return CLI_OK;
    uint64_t busy = open_files(rl.rlim_cur);
    if (busy + r->n + RESTORE_SPARE_FILES > rl.rlim_cur)
        return cli_error("restore %s: the dump holds %zu arrays, which are "
                         "all kept open until they are published; with %llu "
                         "files open already and %d to work with, that is "
                         "more than the %llu that may be open (ulimit -n)",
                         r->path, r->n, (unsigned long long)busy,
                         RESTORE_SPARE_FILES,
                         (unsigned long long)rl.rlim_cur);
    return CLI_OK;
}

static int parse_manifest(restore_ctx *r, const char *text, size_t len)
{
    json_error_t err;
    json_t *m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!m)
        return manifest_error(r, "line %d: %s", err.line, err.text);
    r->manifest = m;
    const char *format;
    int version;
    json_t *arrays;
    if (json_unpack_ex(m, &err, 0, "{s:s s:i s:o}", "format", &format,
                       "version", &version, "arrays", &arrays) != 0)
        return manifest_error(r, "%s", err.text);
    if (strcmp(format, CLI_DUMP_FORMAT) != 0)
        return manifest_error(r, "format is '%s', not '" CLI_DUMP_FORMAT "'",
                              format);
    if (version != CLI_DUMP_VERSION)
        return manifest_error(r, "version %d is not supported (this mmstore "
                              "reads version %d)", version, CLI_DUMP_VERSION);
    if (!json_is_array(arrays))
        return manifest_error(r, "arrays is not a list");
    r->n = json_array_size(arrays);
    r->items = calloc(r->n ? r->n : 1, sizeof *r->items);
    if (!r->items)
        return cli_error("restore: out of memory");
    for (size_t i = 0; i < r->n; i++)
        if (parse_item(r, json_array_get(arrays, i), &r->items[i]) != CLI_OK)
            return CLI_FAIL;
    if (check_names(r) != CLI_OK)
        return CLI_FAIL;
    return check_open_files(r);
}

/* ---- restore: reading the archive --------------------------------------- */

static la_ssize_t archive_read_cb(struct archive *a, void *ctx,
                                  const void **buf)
{
    restore_ctx *r = ctx;
    size_t got;
    cli_src *src = cli_in_src(r->in);
    if (src->read(src, r->buf, ARCHIVE_BUF, &got) != CLI_OK) {
        r->in_failed = true;
        archive_set_error(a, EIO, "read failed");
        return -1;
    }
    *buf = r->buf;
    cli_progress_update(r->progress, cli_in_file_pos(r->in));
    return (la_ssize_t)got;
}

static int archive_read_fail(restore_ctx *r, const char *what)
{
    if (r->in_failed)
        return CLI_FAIL;
    return cli_error("restore %s: %s: %s", r->path, what,
                     archive_error_string(r->a));
}

static int open_archive(restore_ctx *r)
{
    if (cli_in_open(r->path, -1, &r->in) != CLI_OK)
        return CLI_FAIL;
    r->in_failed = false;
    r->manifest_seen = false;
    r->a = archive_read_new();
    if (!r->a)
        return cli_error("restore: out of memory");
    if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
        archive_read_open(r->a, r, NULL, archive_read_cb, NULL) !=
            ARCHIVE_OK)
        return archive_read_fail(r, "not a tar archive");
    return CLI_OK;
}

static void close_archive(restore_ctx *r)
{
    archive_read_free(r->a);
    r->a = NULL;
    cli_in_close(r->in);
    r->in = NULL;
}

/* A member's data as a source for the .npy reader. */
typedef struct member_src {
    cli_src src;
    restore_ctx *r;
} member_src;

static int member_read(cli_src *src, void *buf, size_t len, size_t *got)
{
    member_src *m = (member_src *)src;
    la_ssize_t n = archive_read_data(m->r->a, buf, len);
    if (n < 0)
        return archive_read_fail(m->r, src->label);
    *got = (size_t)n;
    return CLI_OK;
}

static int read_manifest(restore_ctx *r, struct archive_entry *e)
{
    la_int64_t size = archive_entry_size(e);
    if (size < 0 || (uint64_t)size > MANIFEST_MAX)
        return cli_error("restore %s: manifest.json is too large", r->path);
    char *text = malloc((size_t)size + 1);
    if (!text)
        return cli_error("restore: out of memory");
    size_t got;
    member_src m = {{member_read, CLI_DUMP_MANIFEST}, r};
    int rc = cli_src_read_full(&m.src, text, (size_t)size, &got);
    if (rc == CLI_OK && got != (size_t)size)
        rc = cli_error("restore %s: manifest.json is truncated", r->path);
    if (rc == CLI_OK)
        rc = parse_manifest(r, text, got);
    free(text);
    return rc;
}

static int check_member(restore_ctx *r, restore_item *it, const char *label)
{
    mms_info info;
    int rc = mms_array_sync(it->staged);
    if (rc == MMS_OK)
        rc = mms_array_info(it->staged, &info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "restore %s", label);
    bool same = info.dtype == it->dtype && info.ndim == it->ndim;
    for (int i = 0; same && i < it->ndim; i++)
        same = info.shape[i] == it->shape[i];
    if (!same)
        return cli_error("restore %s: its dtype or shape differs from the "
                         "manifest's", label);
    if (info.checksum != it->checksum)
        return cli_error("restore %s: checksum %016" PRIx64 " of its data "
                         "differs from the manifest's %016" PRIx64 ": the "
                         "dump is damaged", label, info.checksum,
                         it->checksum);
    (void)r;
    return CLI_OK;
}

static int restore_member(restore_ctx *r, const char *path)
{
    json_t *idx = json_object_get(r->by_file, path);
    char label[1024];
    snprintf(label, sizeof label, "%s: %s", r->path, path);
    if (!idx)
        return cli_error("restore %s: the manifest does not list this "
                         "member", label);
    restore_item *it = &r->items[json_integer_value(idx) - 1];
    if (it->staged)
        return cli_error("restore %s: the member appears twice", label);
    member_src m = {{member_read, label}, r};
    if (cli_npy_import(r->g, r->store, &m.src, 0, it->name, r->replace,
                       &it->staged) != CLI_OK)
        return CLI_FAIL;
    return check_member(r, it, label);
}

/* The member's path without leading "./" (as `tar -C dir -c .` makes). */
static const char *member_path(struct archive_entry *e)
{
    const char *p = archive_entry_pathname_utf8(e);
    if (!p)
        p = archive_entry_pathname(e);
    while (p && p[0] == '.' && p[1] == '/')
        p += 2;
    return p ? p : "";
}

enum { PASS_DONE, PASS_NEED_MANIFEST };

/* Reads every member. Without a manifest before the first .npy member,
 * reports PASS_NEED_MANIFEST (nothing staged yet) so that the caller can
 * find it first, if the input can be read twice. */
static int read_members(restore_ctx *r, int *pass)
{
    struct archive_entry *e;
    int rc = CLI_OK, ar;
    *pass = PASS_DONE;
    while (rc == CLI_OK && (ar = archive_read_next_header(r->a, &e)) ==
                               ARCHIVE_OK) {
        const char *path = member_path(e);
        if (archive_entry_filetype(e) == AE_IFDIR)
            continue;
        if (archive_entry_filetype(e) != AE_IFREG)
            rc = cli_error("restore %s: %s: not a regular file", r->path,
                           path);
        else if (strcmp(path, CLI_DUMP_MANIFEST) == 0 && r->manifest_seen)
            rc = cli_error("restore %s: two manifest.json members",
                           r->path);
        else if (strcmp(path, CLI_DUMP_MANIFEST) == 0)
            rc = (r->manifest_seen = true, r->manifest)
                     ? CLI_OK /* found by scan_for_manifest */
                     : read_manifest(r, e);
        else if (!r->manifest) {
            *pass = PASS_NEED_MANIFEST;
            return CLI_OK;
        } else
            rc = restore_member(r, path);
    }
    if (rc == CLI_OK && ar != ARCHIVE_EOF)
        rc = archive_read_fail(r, "reading the archive");
    return rc;
}

/* Finds and parses the manifest wherever it is in the archive. */
static int scan_for_manifest(restore_ctx *r)
{
    if (open_archive(r) != CLI_OK)
        return CLI_FAIL;
    struct archive_entry *e;
    int ar, rc = CLI_FAIL;
    while ((ar = archive_read_next_header(r->a, &e)) == ARCHIVE_OK) {
        if (strcmp(member_path(e), CLI_DUMP_MANIFEST) == 0) {
            rc = read_manifest(r, e);
            break;
        }
    }
    if (ar == ARCHIVE_EOF)
        rc = cli_error("restore %s: no manifest.json: not an mmstore dump",
                       r->path);
    else if (ar != ARCHIVE_OK)
        rc = archive_read_fail(r, "reading the archive");
    close_archive(r);
    return rc;
}

static int read_archive(restore_ctx *r)
{
    int pass;
    int rc = open_archive(r);
    if (rc == CLI_OK)
        rc = read_members(r, &pass);
    close_archive(r);
    if (rc == CLI_OK && pass == PASS_NEED_MANIFEST) {
        if (strcmp(r->path, "-") == 0)
            return cli_error("restore: manifest.json must be the first "
                             "member of an archive read from stdin");
        if ((rc = scan_for_manifest(r)) == CLI_OK &&
            (rc = open_archive(r)) == CLI_OK)
            rc = read_members(r, &pass);
        close_archive(r);
    }
    if (rc == CLI_OK && !r->manifest)
        return cli_error("restore %s: no manifest.json: not an mmstore dump",
                         r->path);
    for (size_t i = 0; rc == CLI_OK && i < r->n; i++)
        if (!r->items[i].staged)
            rc = cli_error("restore %s: the manifest lists %s ('%s') but "
                           "the archive does not hold it", r->path,
                           r->items[i].file, r->items[i].name);
    return rc;
}

/* ---- restore: publishing ------------------------------------------------ */

static int collect_key(const char *key, const void *value, size_t len,
                       void *ctx)
{
    (void)value;
    (void)len;
    return json_array_append_new(ctx, json_string(key)) ? MMS_ERR_NOMEM : 0;
}

/* Makes the array's attributes exactly the manifest's (publish carried
 * over those of a version it replaced). */
static int restore_attrs(restore_ctx *r, const restore_item *it)
{
    json_t *old = json_array();
    int rc = old ? mms_attr_list(r->store, it->name, collect_key, old)
                 : MMS_ERR_NOMEM;
    for (size_t i = 0; rc == MMS_OK && i < json_array_size(old); i++) {
        const char *key = json_string_value(json_array_get(old, i));
        if (!json_object_get(it->attrs, key))
            rc = mms_attr_remove(r->store, it->name, key);
    }
    json_decref(old);
    const char *key;
    json_t *v;
    unsigned char *buf = malloc(MMS_ATTR_VALUE_MAX);
    if (!buf && rc == MMS_OK)
        rc = MMS_ERR_NOMEM;
    json_object_foreach(it->attrs, key, v) {
        if (rc != MMS_OK)
            break;
        json_t *text = json_object_get(v, "text");
        if (text) {
            rc = mms_attr_set(r->store, it->name, key,
                              json_string_value(text),
                              json_string_length(text));
            continue;
        }
        ssize_t n = from_hex(json_string_value(json_object_get(v, "hex")),
                             buf, MMS_ATTR_VALUE_MAX);
        rc = n < 0 ? MMS_ERR_TOOBIG
                   : mms_attr_set(r->store, it->name, key, buf, (size_t)n);
    }
    free(buf);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "restore '%s': attributes", it->name);
    return CLI_OK;
}

/* Every array in one catalog transaction: all are published, or none
 * (another process creating one of the names meanwhile, say). */
static int publish_all(restore_ctx *r)
{
    mms_array **v = malloc((r->n ? r->n : 1) * sizeof *v);
    if (!v)
        return cli_error("restore: out of memory");
    for (size_t i = 0; i < r->n; i++)
        v[i] = r->items[i].staged;
    int rc = r->n ? mms_array_publish_all(v, r->n) : MMS_OK;
    free(v);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "restore %s: nothing was published",
                             r->path);
    for (size_t i = 0; i < r->n; i++)
        if (restore_attrs(r, &r->items[i]) != CLI_OK)
            return CLI_FAIL;
    return CLI_OK;
}

int cli_restore(const cli_globals *g, mms_store *store, const char *in,
                const cli_io_opts *opts)
{
    restore_ctx r = {.g = g, .store = store, .path = in,
                     .replace = opts && opts->replace};
    r.buf = malloc(ARCHIVE_BUF);
    if (!r.buf)
        return cli_error("restore: out of memory");
    struct stat st;
    uint64_t size = strcmp(in, "-") != 0 && stat(in, &st) == 0 &&
                    S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    r.progress = cli_progress_start(g, "restore", size);
    locale_t old = cli_utf8_begin();
    int rc = read_archive(&r);
    cli_utf8_end(old);
    cli_progress_finish(r.progress);
    if (rc == CLI_OK)
        rc = publish_all(&r);
    for (size_t i = 0; i < r.n; i++) {
        int e = mms_array_close(r.items[i].staged); /* unpublished: gone */
        if (e != MMS_OK && rc == CLI_OK)
            rc = cli_mms_error(e, "restore '%s'", r.items[i].name);
    }
    free(r.items);
    json_decref(r.by_file);
    json_decref(r.manifest);
    free(r.buf);
    return rc;
}
