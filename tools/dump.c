/* dump.c - `mmstore dump OUT.tar.zst` (restore.c reads it back).
 *
 * A dump is a standard tar (libarchive, POSIX pax format, which is plain
 * ustar wherever that suffices), compressed with zstd unless its name ends
 * in ".tar". Its first member is manifest.json; then one .npy file per
 * array, at NAME.npy, so `tar --zstd -xf` gives a tree NumPy loads. A name
 * that cannot safely be a path (an empty, "." or ".." component, a
 * directory component ending in ".npy" that could clash with an array's
 * file, or a last component too long for a file name once ".npy" is
 * added) is stored as unsafe-names/N.npy instead; the manifest maps every
 * name to its file, and restore follows the manifest, so dumps made
 * before a rule was added read as before:
 *
 *   {"format": "mmstore-dump", "version": 1, "mmstore": "0.1.0",
 *    "block_size": 1048576,
 *    "arrays": [{"name": "images/cat", "file": "images/cat.npy",
 *                "dtype": "float64", "shape": [3, 4], "nbytes": 96,
 *                "generation": 1, "checksum": "<16 hex digits>",
 *                "block_size": 1048576,
 *                "attributes": {"units": {"text": "m"},
 *                               "raw": {"hex": "00ff"}}}]}
 */
#define _GNU_SOURCE
#include "commands.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define ESCAPED_DIR "unsafe-names"

/* ---- dump: collecting the arrays ---------------------------------------- */

/* The arrays to dump, and the file each goes to in the archive. */
typedef struct dump_list {
    cli_entries es;
    char **files;
} dump_list;

static void list_free(dump_list *l)
{
    for (size_t i = 0; l->files && i < l->es.n; i++)
        free(l->files[i]);
    free(l->files);
    cli_entries_free(&l->es);
}

/* True when NAME.npy is a safe relative path that cannot clash with
 * another array's file or with the escaped names' directory, and whose
 * last component tar can extract (255 bytes at most). */
static bool name_is_path(const char *name)
{
    const char *p = name;
    bool first = true;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (first && n == strlen(ESCAPED_DIR) &&
            strncmp(p, ESCAPED_DIR, n) == 0)
            return false;
        if (slash && n >= 4 && strncmp(slash - 4, ".npy", 4) == 0)
            return false;
        if (!slash) /* a file name may be 255 bytes (NAME_MAX) */
            return n + strlen(".npy") <= 255;
        p = slash + 1;
        first = false;
    }
}

static int assign_files(dump_list *l)
{
    size_t escaped = 0;
    if (!(l->files = calloc(l->es.n ? l->es.n : 1, sizeof *l->files)))
        return cli_error("dump: out of memory");
    for (size_t i = 0; i < l->es.n; i++) {
        const char *name = l->es.v[i].name;
        int n = name_is_path(name)
                    ? asprintf(&l->files[i], "%s.npy", name)
                    : asprintf(&l->files[i], ESCAPED_DIR "/%zu.npy",
                               escaped++);
        if (n < 0) {
            l->files[i] = NULL;
            return cli_error("dump: out of memory");
        }
    }
    return CLI_OK;
}

/* An array not known clean (a writer is present, or one died) is
 * verified first: its data must match its checksums to be dumped. */
static int check_clean(mms_store *store, cli_entry *it)
{
    if (it->info.state == MMS_STATE_CLEAN)
        return CLI_OK;
    int rc = mms_verify(store, it->name, NULL, NULL);
    if (rc == MMS_ERR_CHECKSUM)
        return cli_error("dump: '%s' %s and its data does not match its "
                         "checksums: sync it (or run `mmstore check`) and "
                         "dump again", it->name,
                         it->info.state == MMS_STATE_INTERRUPTED
                             ? "was interrupted" : "is being written");
    if (rc == MMS_OK)
        rc = mms_stat(store, it->name, &it->info);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "dump: '%s'", it->name);
    return CLI_OK;
}

/* ---- dump: the manifest ------------------------------------------------- */

static int add_attr(const char *key, const void *value, size_t len, void *ctx)
{
    json_t *attrs = ctx;
    json_t *v = json_stringn(value, len); /* NULL unless valid UTF-8 */
    json_t *o;
    if (v) {
        o = json_pack("{so}", "text", v);
    } else {
        char *hex = cli_hex(value, len);
        o = hex ? json_pack("{ss}", "hex", hex) : NULL;
        free(hex);
    }
    if (!o || json_object_set_new(attrs, key, o) != 0)
        return MMS_ERR_NOMEM;
    return 0;
}

static json_t *item_json(mms_store *store, const cli_entry *it,
                         const char *file)
{
    const mms_info *in = &it->info;
    json_t *shape = cli_shape_json(in->ndim, in->shape);
    json_t *attrs = json_object();
    char sum[17];
    cli_format_checksum(in->checksum, sum, sizeof sum);
    if (!shape || !attrs ||
        mms_attr_list(store, it->name, add_attr, attrs) != MMS_OK) {
        json_decref(shape);
        json_decref(attrs);
        return NULL;
    }
    return json_pack("{ss ss ss so sI sI ss sI so}", "name", it->name,
                     "file", file, "dtype", mms_dtype_name(in->dtype),
                     "shape", shape, "nbytes", (json_int_t)in->nbytes,
                     "generation", (json_int_t)in->generation,
                     "checksum", sum,
                     "block_size", (json_int_t)in->block_size,
                     "attributes", attrs);
}

static char *manifest_text(mms_store *store, const dump_list *l)
{
    json_t *arrays = json_array();
    for (size_t i = 0; arrays && i < l->es.n; i++) {
        json_t *a = item_json(store, &l->es.v[i], l->files[i]);
        if (!a || json_array_append_new(arrays, a) != 0) {
            cli_mms_error(MMS_ERR_NOMEM, "dump: the manifest entry of '%s'",
                          l->es.v[i].name);
            json_decref(arrays);
            return NULL;
        }
    }
    json_t *m = arrays ? json_pack("{ss si ss sI so}", "format",
                                   CLI_DUMP_FORMAT, "version",
                                   CLI_DUMP_VERSION, "mmstore",
                                   mms_version(), "block_size",
                                   (json_int_t)mms_store_block_size(store),
                                   "arrays", arrays)
                       : NULL;
    char *text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
    json_decref(m);
    char *with_newline = NULL;
    if (!text || asprintf(&with_newline, "%s\n", text) < 0) {
        with_newline = NULL;
        cli_error("dump: out of memory for the manifest");
    }
    free(text);
    return with_newline;
}

/* ---- dump: writing the archive ------------------------------------------ */

typedef struct dump_ctx {
    const cli_globals *g;
    mms_store *store;
    struct archive *a;
    cli_sink *out;        /* the (compressed) file */
    bool out_failed;      /* the sink printed its error */
    cli_sink member;      /* writes into the current member */
    cli_progress *progress;
    uint64_t done;
} dump_ctx;

static la_ssize_t archive_write_cb(struct archive *a, void *ctx,
                                   const void *buf, size_t len)
{
    dump_ctx *d = ctx;
    if (d->out->write(d->out, buf, len) != CLI_OK) {
        d->out_failed = true;
        archive_set_error(a, EIO, "write failed");
        return -1;
    }
    return (la_ssize_t)len;
}

static int archive_fail(dump_ctx *d, const char *what)
{
    if (d->out_failed)
        return CLI_FAIL;
    return cli_error("dump: %s: %s", what, archive_error_string(d->a));
}

static int member_write(cli_sink *sink, const void *buf, size_t len)
{
    dump_ctx *d = (dump_ctx *)((char *)sink - offsetof(dump_ctx, member));
    la_ssize_t n = archive_write_data(d->a, buf, len);
    if (n < 0 || (size_t)n != len)
        return archive_fail(d, sink->label);
    d->done += len;
    cli_progress_update(d->progress, d->done);
    return CLI_OK;
}

static int write_header(dump_ctx *d, const char *path, uint64_t size,
                        int64_t mtime_ns)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return cli_error("dump: out of memory");
    archive_entry_set_pathname_utf8(e, path);
    if (!archive_entry_pathname(e)) { /* libarchive would crash on it */
        archive_entry_free(e);
        return cli_error("dump: %s: the name cannot be written: no UTF-8 "
                         "locale (C.UTF-8) on this system", path);
    }
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_uid(e, getuid());
    archive_entry_set_gid(e, getgid());
    archive_entry_set_mtime(e, (time_t)(mtime_ns / 1000000000),
                            (long)(mtime_ns % 1000000000));
    int rc = archive_write_header(d->a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK)
        return archive_fail(d, path);
    return CLI_OK;
}

/* One array, re-checked against what the manifest says of it. */
static int dump_array(dump_ctx *d, const cli_entry *it, const char *file)
{
    mms_array *array;
    mms_info now;
    int rc = mms_array_open(d->store, it->name, MMS_RDONLY, &array);
    if (rc == MMS_OK && (rc = mms_array_info(array, &now)) != MMS_OK)
        mms_array_close(array);
    if (rc != MMS_OK)
        return cli_mms_error(rc, "dump: '%s'", it->name);
    if (now.id != it->info.id || now.checksum != it->info.checksum ||
        now.nbytes != it->info.nbytes) {
        mms_array_close(array);
        return cli_error("dump: '%s' changed while the store was being "
                         "dumped: dump again", it->name);
    }
    char hdr[4096];
    size_t n = cli_npy_format_header(hdr, sizeof hdr, now.dtype, now.ndim,
                                     now.shape);
    d->member.label = file;
    char what[MMS_NAME_MAX + 16];
    snprintf(what, sizeof what, "dump: '%s'", it->name);
    rc = cli_check_data_file(array, &now, what);
    if (rc == CLI_OK)
        rc = write_header(d, file, n + now.nbytes, now.modified_ns);
    if (rc == CLI_OK)
        rc = d->member.write(&d->member, hdr, n);
    if (rc == CLI_OK)
        rc = cli_drain_array(array, 0, now.nbytes, &d->member, NULL);
    mms_array_close(array);
    return rc;
}

static int dump_all(dump_ctx *d, const dump_list *l, const char *manifest)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t len = strlen(manifest);
    d->member.label = CLI_DUMP_MANIFEST;
    int rc = write_header(d, CLI_DUMP_MANIFEST, len,
                          (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    if (rc == CLI_OK)
        rc = d->member.write(&d->member, manifest, len);
    for (size_t i = 0; rc == CLI_OK && i < l->es.n; i++)
        rc = dump_array(d, &l->es.v[i], l->files[i]);
    if (rc == CLI_OK && archive_write_close(d->a) != ARCHIVE_OK)
        rc = archive_fail(d, "finishing the archive");
    return rc;
}

static int dump_to(dump_ctx *d, const dump_list *l, const char *manifest,
                   const char *out, int level, bool force)
{
    bool std = strcmp(out, "-") == 0;
    bool zstd = std || !cli_ends_with(out, ".tar");
    if (std && isatty(1)) {
        cli_error("dump: refusing to write an archive to a terminal: give "
                  "a FILE or redirect stdout");
        return CLI_USAGE;
    }
    cli_out *o;
    if (cli_out_open(out, zstd, level, UINT64_MAX, force, &o) != CLI_OK)
        return CLI_FAIL;
    d->out = cli_out_sink(o);
    d->a = archive_write_new();
    int rc = CLI_OK;
    if (!d->a || archive_write_set_format_pax_restricted(d->a) != ARCHIVE_OK
        || archive_write_set_bytes_in_last_block(d->a, 1) != ARCHIVE_OK ||
        archive_write_open(d->a, d, NULL, archive_write_cb, NULL) !=
            ARCHIVE_OK)
        rc = d->a ? archive_fail(d, "starting the archive")
                  : cli_error("dump: out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < l->es.n; i++)
        total += l->es.v[i].info.nbytes;
    d->progress = cli_progress_start(d->g, "dump", total);
    if (rc == CLI_OK)
        rc = dump_all(d, l, manifest);
    cli_progress_finish(d->progress);
    archive_write_free(d->a);
    if (rc == CLI_OK)
        return cli_out_finish(o);
    cli_out_abort(o);
    return rc;
}

int cli_dump(const cli_globals *g, mms_store *store, const char *out,
             const cli_io_opts *opts)
{
    dump_list l = {0};
    int rc = mms_list(store, NULL, cli_collect_entry, &l.es);
    if (rc != MMS_OK) {
        list_free(&l);
        return cli_mms_error(rc, "dump: listing the store");
    }
    rc = assign_files(&l);
    for (size_t i = 0; rc == CLI_OK && i < l.es.n; i++)
        rc = check_clean(store, &l.es.v[i]);
    char *manifest = rc == CLI_OK ? manifest_text(store, &l) : NULL;
    if (manifest) {
        dump_ctx d = {.g = g, .store = store,
                      .member = {.write = member_write}};
        locale_t old = cli_utf8_begin();
        rc = dump_to(&d, &l, manifest, out, opts ? opts->level : 3,
                     opts && opts->force);
        cli_utf8_end(old);
    } else {
        rc = CLI_FAIL;
    }
    free(manifest);
    list_free(&l);
    return rc;
}
