/* check.c - whole-store consistency: catalog against files, orphans left
 * by crashes, staged versions of dead builders, interrupted writers.
 *
 * Everything is first read from one catalog snapshot. Every repair is then
 * done inside a write transaction that looks again: creators link their
 * files and commit inside their own write transactions, so while we hold
 * the write lock no create is half-way and "no record names this id"
 * really means orphan. */
#include "objects.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct entry {
    char name[MMS_NAME_MAX + 1];
    int decode_rc;     /* MMS_OK, or why the record is unusable */
    mmsi_record rec;
    bool staged;
} entry;

typedef struct check_ctx {
    mms_store *store;
    bool repair;
    mms_check_fn fn;
    void *fn_ctx;
    entry *entries;
    size_t n, cap;
    uint64_t *ids;     /* sorted ids named by arrays or staged */
    size_t nids;
    uint64_t *ids_orphan; /* ids of entries nothing names */
    size_t norphan;
    long remaining;    /* problems found and not repaired */
    int rc;            /* first error or callback value */
} check_ctx;

static int report(check_ctx *c, mms_problem_kind kind, const char *name,
                  const char *path, uint64_t id, int repaired,
                  const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int report(check_ctx *c, mms_problem_kind kind, const char *name,
                  const char *path, uint64_t id, int repaired,
                  const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (!repaired)
        c->remaining++;
    mms_problem p = {.kind = kind, .name = name, .path = path, .id = id,
                     .detail = detail, .repaired = repaired};
    int r = c->fn ? c->fn(&p, c->fn_ctx) : 0;
    if (r != 0 && c->rc == 0)
        c->rc = r;
    return r;
}

static entry *add_entry(check_ctx *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        entry *e = realloc(c->entries, cap * sizeof *e);
        if (!e)
            return NULL;
        c->entries = e;
        c->cap = cap;
    }
    entry *e = &c->entries[c->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static int collect_db(check_ctx *c, MDB_txn *txn, MDB_dbi dbi, bool staged)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "check: reading the catalog");
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        entry *e = add_entry(c);
        if (!e) {
            mdb_cursor_close(cur);
            return mmsi_err(MMS_ERR_NOMEM, "check");
        }
        e->staged = staged;
        if (staged) {
            /* Key: id; value: record followed by the name. */
            const unsigned char *p = v.mv_data;
            unsigned ndim = v.mv_size >= 8 ? mmsi_get_le16(p + 6) : 0;
            size_t rlen = mmsi_rec_size(ndim <= MMS_MAX_NDIM ? (int)ndim : 0);
            size_t nlen = v.mv_size > rlen ? v.mv_size - rlen : 0;
            if (nlen > MMS_NAME_MAX)
                nlen = MMS_NAME_MAX;
            memcpy(e->name, p + (v.mv_size > rlen ? rlen : 0), nlen);
            e->decode_rc = ndim > MMS_MAX_NDIM || v.mv_size < rlen
                               ? MMS_ERR_CORRUPT
                               : mmsi_rec_decode(e->name, p, rlen, &e->rec);
            if (e->decode_rc != MMS_OK && k.mv_size == 8)
                e->rec.id = mmsi_get_be64(k.mv_data);
        } else {
            size_t nlen = k.mv_size > MMS_NAME_MAX ? MMS_NAME_MAX : k.mv_size;
            memcpy(e->name, k.mv_data, nlen);
            e->decode_rc = mmsi_rec_decode(e->name, v.mv_data, v.mv_size,
                                           &e->rec);
            if (e->decode_rc != MMS_OK)
                e->rec.id = 0; /* unknown: its file will show as orphan */
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MMS_OK
                              : mmsi_err_lmdb(rc, "check: reading the catalog");
}

static int collect_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    check_ctx *c = arg;
    c->n = 0;
    int rc = collect_db(c, txn, store->cat.db_arrays, false);
    return rc == MMS_OK ? collect_db(c, txn, store->cat.db_staged, true) : rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool named(const check_ctx *c, uint64_t id)
{
    return bsearch(&id, c->ids, c->nids, sizeof id, cmp_u64) != NULL;
}

/* Whether more than one record or staged entry names id. */
static bool shared(const check_ctx *c, uint64_t id)
{
    const uint64_t *p = bsearch(&id, c->ids, c->nids, sizeof id, cmp_u64);
    if (!p)
        return false;
    return (p > c->ids && p[-1] == id) || (p + 1 < c->ids + c->nids &&
                                           p[1] == id);
}

typedef struct drop_ctx {
    uint64_t id;
    const char *name;  /* remove this name's record too (or NULL), if it
                          still names id (0: is still damaged) */
    bool staged;       /* remove the staged entry of id */
    bool unlink_file;
    bool done;
} drop_ctx;

/* Deletes what belongs to an id nobody may use any more, re-checking
 * inside the transaction; the file goes before the commit so a crash can
 * only leave entries without a file, which the next check removes. */
static int drop_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    drop_ctx *d = arg;
    int rc;
    d->done = false;
    if (d->name) {
        /* The name must still be what we judged: the same id (0: still a
         * damaged record), not something republished since. */
        mmsi_record rec;
        rc = mmsi_cat_get(&store->cat, txn, d->name, &rec);
        if (rc == MMS_ERR_NOTFOUND || (d->id && rc != MMS_OK) ||
            (d->id && rec.id != d->id) || (!d->id && rc == MMS_OK))
            return MMS_OK;
        if ((rc = mmsi_del(txn, store->cat.db_arrays, d->name, strlen(d->name),
                           d->name)) != MMS_OK)
            return rc;
    }
    if (d->staged && (rc = mmsi_staged_del(&store->cat, txn, d->id)) != MMS_OK)
        return rc;
    if (d->id) {
        bool used = true;
        if ((rc = mmsi_cat_id_named(&store->cat, txn, NULL, d->id, &used)) != MMS_OK)
            return rc;
        if (used)
            return MMS_OK; /* renamed or republished meanwhile: keep it */
        if ((rc = mmsi_cat_delete_id(&store->cat, txn, d->id)) != MMS_OK)
            return rc;
        if (d->unlink_file) {
            int e = mmsi_datafile_unlink(store->datafd, d->id);
            if (e != 0)
                return mmsi_errno(e, "check: deleting %016" PRIx64 ".npy",
                                  d->id);
        }
    }
    d->done = true;
    return MMS_OK;
}

static bool drop(check_ctx *c, drop_ctx d)
{
    if (!c->repair)
        return false;
    int rc = mmsi_store_write(c->store, drop_txn, &d);
    if (rc != MMS_OK && c->rc == 0)
        c->rc = rc;
    return rc == MMS_OK && d.done;
}

typedef struct bad_block {
    uint64_t block, first_row, nrows;
} bad_block;

typedef struct bad_list {
    bad_block *v;
    size_t n, cap;
} bad_list;

static int collect_bad_block(const char *name, uint64_t block,
                             uint64_t first_row, uint64_t nrows, void *ctx)
{
    (void)name;
    bad_list *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        bad_block *p = realloc(b->v, cap * sizeof *p);
        if (!p)
            return mmsi_err(MMS_ERR_NOMEM, "check");
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = (bad_block){block, first_row, nrows};
    return 0;
}

static void report_bad_blocks(check_ctx *c, const char *name,
                              const bad_list *b)
{
    for (size_t i = 0; i < b->n && c->rc == 0; i++) {
        char detail[128];
        uint64_t first = b->v[i].first_row, n = b->v[i].nrows;
        snprintf(detail, sizeof detail, "rows %" PRIu64 "-%" PRIu64
                 " (block %" PRIu64 ") differ from their last synced "
                 "checksum", first, first + n - 1, b->v[i].block);
        c->remaining++;
        mms_problem p = {.kind = MMS_PROBLEM_CHECKSUM, .name = name,
                         .block = b->v[i].block, .first_row = first,
                         .nrows = n, .detail = detail};
        int r = c->fn ? c->fn(&p, c->fn_ctx) : 0;
        if (r != 0)
            c->rc = r;
    }
}

/* ---- judging by the catalog as it is now --------------------------------
 * The entries are a snapshot; other processes go on creating, resizing,
 * publishing and removing while check runs. Nothing is reported or
 * repaired on the snapshot's word alone: each finding is confirmed
 * against the catalog as it is then, inside a write transaction when the
 * store is writable (so no create, resize or publish is half-way). */

static int confirm(check_ctx *c, mmsi_store_fn fn, void *ctx)
{
    return (c->store->flags & MMS_RDONLY) ? mmsi_store_read(c->store, fn, ctx)
                                          : mmsi_store_write(c->store, fn,
                                                             ctx);
}

typedef struct current_ctx {
    entry *e;
    bool same;       /* the name still names e's version */
} current_ctx;

static int current_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    current_ctx *cc = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, cc->e->name, &rec);
    cc->same = rc == MMS_OK && rec.id == cc->e->rec.id;
    if (cc->same)
        cc->e->rec = rec; /* resized since the snapshot: its shape now */
    return rc == MMS_ERR_NOTFOUND || rc == MMS_ERR_CORRUPT ? MMS_OK : rc;
}

/* Whether e's name still names e's version (e->rec then updated). */
static bool still_current(check_ctx *c, entry *e)
{
    current_ctx cc = {.e = e};
    int rc = mmsi_store_read(c->store, current_txn, &cc);
    if (rc != MMS_OK && c->rc == 0)
        c->rc = rc;
    return rc == MMS_OK && cc.same;
}

typedef struct header_ctx {
    check_ctx *c;
    entry *e;
    bool gone;       /* the name moved to another version */
    bool agrees;     /* the header agrees with the current record */
    bool fixed;
} header_ctx;

/* Looks at e's header again against the current record, and repairs it
 * from that record when the file is otherwise plausible (an interrupted
 * resize leaves exactly that). Inside the write transaction a resize has
 * committed its shape or not begun: rewriting from the catalog writes
 * what the resize itself writes next. */
static int header_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    header_ctx *h = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, h->e->name, &rec);
    h->gone = rc != MMS_OK || rec.id != h->e->rec.id;
    if (h->gone)
        return rc == MMS_ERR_NOTFOUND || rc == MMS_ERR_CORRUPT ? MMS_OK : rc;
    h->e->rec = rec;
    mmsi_geometry g;
    if (mmsi_rec_geometry(&rec, &g) != MMS_OK)
        return MMS_OK;
    int fd;
    if (mmsi_datafile_open(store->datafd, rec.id, h->c->repair, &fd) != 0)
        return MMS_OK;
    struct stat st;
    unsigned char hdr[MMSI_HEADER_SIZE];
    ssize_t n = pread(fd, hdr, sizeof hdr, 0);
    h->agrees = mmsi_npy_check(hdr, n < 0 ? 0 : (size_t)n, rec.dtype,
                               rec.ndim, rec.shape) == MMS_OK;
    /* A resize commits its shape, then rewrites the header outside the
     * transaction: with RESIZING set and a writer alive, that is a resize
     * under way, not damage (its own header write comes next). */
    if (!h->agrees && (rec.flags & MMSI_REC_RESIZING) &&
        mmsi_presence_alive(store, txn, rec.id, fd))
        h->agrees = true;
    if (!h->agrees && h->c->repair && fstat(fd, &st) == 0 &&
        (uint64_t)st.st_size >= g.file_size && n >= 6 &&
        memcmp(hdr, "\x93NUMPY", 6) == 0)
        h->fixed = mmsi_npy_rewrite(fd, &rec) == MMS_OK;
    close(fd);
    return MMS_OK;
}

typedef struct named_ctx {
    uint64_t id;
    bool named;
} named_ctx;

static int named_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    named_ctx *nc = arg;
    return mmsi_cat_id_named(&store->cat, txn, NULL, nc->id, &nc->named);
}

/* Whether a record or staged entry names id now (a create, publish or
 * staged build that began after the snapshot). */
static bool named_now(check_ctx *c, uint64_t id)
{
    named_ctx nc = {.id = id};
    int rc = confirm(c, named_txn, &nc);
    if (rc != MMS_OK && c->rc == 0)
        c->rc = rc;
    return rc != MMS_OK || nc.named;
}

static void check_array(check_ctx *c, entry *e)
{
    mms_store *store = c->store;
    if (!still_current(c, e))
        return; /* removed or replaced since the snapshot: nothing to judge */
    char *path = mmsi_data_path(store->path, e->rec.id);
    mmsi_geometry g;
    mmsi_rec_geometry(&e->rec, &g);
    int fd, err = mmsi_datafile_open(store->datafd, e->rec.id, false, &fd);
    if (err == ENOENT && !still_current(c, e)) {
        free(path); /* published or removed away just now */
        return;
    }
    if (err == ENOENT) {
        drop_ctx d = {.id = e->rec.id, .name = e->name};
        bool fixed = drop(c, d);
        report(c, MMS_PROBLEM_MISSING_FILE, e->name, path, e->rec.id, fixed,
               "data file is missing%s", fixed ? ": name removed" : "");
        free(path);
        return;
    }
    if (err != 0) {
        /* There, but not usable: say why; the name stays. */
        report(c, MMS_PROBLEM_BAD_FILE, e->name, path, e->rec.id, 0,
               "data file cannot be opened: %s",
               err == ELOOP ? "it is a symbolic link (a store holds no "
                              "links)"
               : err == EACCES || err == EPERM
                   ? "permission denied (made by another user? its owner "
                     "must be the store's)"
                   : strerror(err));
        free(path);
        return;
    }
    struct stat st;
    unsigned char hdr[MMSI_HEADER_SIZE];
    ssize_t n = pread(fd, hdr, sizeof hdr, 0);
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < g.file_size) {
        report(c, MMS_PROBLEM_BAD_FILE, e->name, path, e->rec.id, 0,
               "data file is shorter than the catalog's capacity");
    } else if (mmsi_npy_check(hdr, n < 0 ? 0 : (size_t)n, e->rec.dtype,
                              e->rec.ndim, e->rec.shape) != MMS_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", mms_errmsg());
        header_ctx h = {.c = c, .e = e};
        int rc = confirm(c, header_txn, &h);
        if (rc != MMS_OK && c->rc == 0)
            c->rc = rc;
        if (rc == MMS_OK && !h.gone && !h.agrees)
            report(c, MMS_PROBLEM_BAD_FILE, e->name, path, e->rec.id,
                   h.fixed, "%s%s", why,
                   h.fixed ? ": header rewritten from the catalog" : "");
        if (rc == MMS_OK && h.gone) {
            close(fd);
            free(path);
            return;
        }
    }
    /* Whatever the header said: a writer killed inside a resize leaves
     * both a stale header and writes that may be torn. */
    if (c->rc == 0 && (uint64_t)st.st_size >= g.file_size) {
        mms_state state;
        if (mmsi_presence_state(store, e->name, &e->rec, fd, &state) ==
                MMS_OK &&
            state == MMS_STATE_INTERRUPTED) {
            /* verify marks it clean when every block matches. */
            bad_list bad = {0};
            int rc = mms_verify(store, e->name, collect_bad_block, &bad);
            bool clean = rc == MMS_OK && !(store->flags & MMS_RDONLY);
            report(c, MMS_PROBLEM_INTERRUPTED, e->name, path, e->rec.id,
                   clean, "a writer died with the array open%s",
                   rc == MMS_OK ? "; every block matches its checksum: "
                                  "marked clean"
                                : "; rows written after its last sync may "
                                  "be torn");
            report_bad_blocks(c, e->name, &bad);
            free(bad.v);
            if (rc != MMS_OK && rc != MMS_ERR_CHECKSUM && c->rc == 0)
                c->rc = rc;
        }
    }
    close(fd);
    free(path);
}

static void check_staged(check_ctx *c, const entry *e)
{
    mms_state state;
    if (mmsi_presence_state(c->store, NULL, &e->rec, -1, &state) != MMS_OK ||
        state != MMS_STATE_INTERRUPTED)
        return; /* being built by a live process (or gone meanwhile) */
    char *path = mmsi_data_path(c->store->path, e->rec.id);
    drop_ctx d = {.id = e->rec.id, .staged = true, .unlink_file = true};
    bool fixed = drop(c, d);
    report(c, MMS_PROBLEM_DEAD_STAGED, e->name, path, e->rec.id, fixed,
           "a staged version whose builder died%s",
           fixed ? ": discarded" : "");
    free(path);
}

static void check_orphan_files(check_ctx *c)
{
    int dfd = dup(c->store->datafd);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dir) {
        if (dfd >= 0)
            close(dfd);
        c->rc = c->rc ? c->rc : mmsi_errno(errno, "check: listing data/");
        return;
    }
    rewinddir(dir);
    struct dirent *d;
    while ((d = readdir(dir)) != NULL && c->rc == 0) {
        if (d->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/data/%s", c->store->path, d->d_name);
        uint64_t id;
        char tail[8];
        if (strlen(d->d_name) == 20 &&
            sscanf(d->d_name, "%16" SCNx64 "%7s", &id, tail) == 2 &&
            strcmp(tail, ".npy") == 0) {
            if (named(c, id) || named_now(c, id))
                continue;
            drop_ctx dc = {.id = id, .unlink_file = true};
            bool fixed = drop(c, dc);
            report(c, MMS_PROBLEM_ORPHAN_FILE, NULL, path, id, fixed,
                   "no array or staged version names this file%s",
                   fixed ? ": deleted" : "");
        } else {
            report(c, MMS_PROBLEM_ORPHAN_FILE, NULL, path, 0, 0,
                   "a file that is not an mmstore data file (left alone)");
        }
    }
    closedir(dir);
}

/* Checksum and attribute entries whose id nothing names. */
static int orphan_ids_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    check_ctx *c = arg;
    MDB_dbi dbis[2] = {store->cat.db_blocks, store->cat.db_attrs};
    /* Collected first, reported after: no transaction during callbacks. */
    uint64_t *found = NULL;
    size_t nfound = 0, cap = 0;
    int r = MMS_OK;
    for (int i = 0; i < 2 && r == MMS_OK; i++) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(txn, dbis[i], &cur);
        if (rc != 0)
            return mmsi_err_lmdb(rc, "check");
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
            if (k.mv_size < 8)
                break;
            uint64_t id = mmsi_get_be64(k.mv_data);
            if (!named(c, id)) {
                if (nfound == cap) {
                    cap = cap ? cap * 2 : 16;
                    uint64_t *p = realloc(found, cap * sizeof *p);
                    if (!p) {
                        r = mmsi_err(MMS_ERR_NOMEM, "check");
                        break;
                    }
                    found = p;
                }
                found[nfound++] = id;
            }
            /* Skip to the next id. */
            unsigned char next[8];
            if (id == UINT64_MAX)
                break;
            mmsi_put_be64(next, id + 1);
            k.mv_size = 8;
            k.mv_data = next;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
        mdb_cursor_close(cur);
    }
    free(c->ids_orphan);
    c->ids_orphan = found;
    c->norphan = nfound;
    return r;
}

typedef struct next_id_ctx {
    uint64_t highest;  /* the highest id in use */
    uint64_t next;     /* the catalog's next_id */
    bool repair, fixed;
} next_id_ctx;

/* Inside the write transaction: looks at next_id again, and moves it past
 * highest when repairing. */
static int next_id_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    next_id_ctx *n = arg;
    int rc = mmsi_meta_get_u64(&store->cat, txn, "next_id", &n->next);
    if (rc != MMS_OK || n->next > n->highest || !n->repair)
        return rc;
    if ((rc = mmsi_meta_put_u64(&store->cat, txn, "next_id",
                                n->highest + 1)) == MMS_OK)
        n->fixed = true;
    return rc;
}

/* A next_id at or below an id a record or staged version names makes
 * creates skip ids (never reuse them: create checks), and says the catalog
 * is older than its data. Orphan files are repair's to delete, not ids in
 * use. */
static void check_next_id(check_ctx *c)
{
    next_id_ctx n = {.repair = c->repair};
    n.highest = c->nids ? c->ids[c->nids - 1] : 0;
    if (n.highest == 0 || n.highest == UINT64_MAX)
        return;
    /* In a write transaction: a create links its file before the commit
     * that moves next_id, so only there are both seen at once. */
    int rc = confirm(c, next_id_txn, &n);
    if (rc != MMS_OK) {
        if (c->rc == 0)
            c->rc = rc;
        return;
    }
    if (n.next > n.highest && !n.fixed)
        return;
    report(c, MMS_PROBLEM_STALE_NEXT_ID, NULL, NULL, n.highest, n.fixed,
           "the catalog's next id %" PRIu64 " is not above %016" PRIx64
           ", an id in use (a catalog older than its data/)%s", n.next,
           n.highest, n.fixed ? ": moved past it" : "");
}

int mms_check(mms_store *store, unsigned flags, mms_check_fn fn, void *ctx)
{
    if (!store)
        return mmsi_err(MMS_ERR_INVAL, "mms_check: store is NULL");
    if (flags & ~MMS_CHECK_REPAIR)
        return mmsi_err(MMS_ERR_INVAL, "mms_check: unknown flags 0x%x", flags);
    int rc = mmsi_check_fork(store);
    if (rc != MMS_OK)
        return rc;
    check_ctx c = {.store = store, .repair = flags & MMS_CHECK_REPAIR,
                   .fn = fn, .fn_ctx = ctx};
    if (c.repair &&
        (rc = mmsi_store_check_writable(store, "check --repair")) != MMS_OK)
        return rc;
    if (!(store->flags & MMS_RDONLY)) {
        int dead = 0;
        mdb_reader_check(store->cat.env, &dead);
        if (dead > 0) {
            mms_problem p = {.kind = MMS_PROBLEM_STALE_READERS,
                             .nrows = (uint64_t)dead, .repaired = 1,
                             .detail = "reader slots of dead processes "
                                       "cleared"};
            if (fn && (rc = fn(&p, ctx)) != 0)
                return rc;
        }
    }
    if ((rc = mmsi_store_read(store, collect_txn, &c)) != MMS_OK)
        goto out;
    c.ids = malloc((c.n ? c.n : 1) * sizeof *c.ids);
    if (!c.ids) {
        rc = mmsi_err(MMS_ERR_NOMEM, "check");
        goto out;
    }
    for (size_t i = 0; i < c.n; i++)
        if (c.entries[i].rec.id)
            c.ids[c.nids++] = c.entries[i].rec.id;
    qsort(c.ids, c.nids, sizeof *c.ids, cmp_u64);
    check_next_id(&c);
    for (size_t i = 0; i < c.n && c.rc == 0; i++) {
        const entry *e = &c.entries[i];
        if (e->decode_rc == MMS_OK && e->rec.id && shared(&c, e->rec.id))
            report(&c, MMS_PROBLEM_SHARED_FILE, e->name, NULL, e->rec.id, 0,
                   "another %s names the same data file %016" PRIx64 ".npy: "
                   "writes through either change both (copy one with "
                   "'mmstore cp', then remove it)",
                   e->staged ? "name" : "name or staged version", e->rec.id);
    }

    for (size_t i = 0; i < c.n && c.rc == 0; i++) {
        entry *e = &c.entries[i];
        if (e->decode_rc != MMS_OK) {
            drop_ctx d = {.name = e->staged ? NULL : e->name,
                          .id = e->staged ? e->rec.id : 0,
                          .staged = e->staged, .unlink_file = e->staged};
            bool fixed = drop(&c, d);
            report(&c, MMS_PROBLEM_BAD_RECORD, e->name, NULL, e->rec.id, fixed,
                   "damaged catalog record%s", fixed ? ": removed" : "");
        } else if (e->staged) {
            check_staged(&c, e);
        } else {
            check_array(&c, e);
        }
    }
    if (c.rc == 0)
        check_orphan_files(&c);
    if (c.rc == 0 && (rc = mmsi_store_read(store, orphan_ids_txn, &c)) != MMS_OK)
        c.rc = rc;
    for (size_t i = 0; i < c.norphan && c.rc == 0; i++) {
        if (named_now(&c, c.ids_orphan[i]))
            continue; /* a version made since the snapshot */
        drop_ctx d = {.id = c.ids_orphan[i]};
        bool fixed = drop(&c, d);
        report(&c, MMS_PROBLEM_ORPHAN_ENTRIES, NULL, NULL, c.ids_orphan[i],
               fixed, "checksum or attribute entries of no array%s",
               fixed ? ": deleted" : "");
    }
    rc = c.rc ? c.rc
              : c.remaining ? mmsi_err(MMS_ERR_CORRUPT, "check %s: %ld "
                                       "problems remain", store->path,
                                       c.remaining)
                            : MMS_OK;
out:
    free(c.entries);
    free(c.ids);
    free(c.ids_orphan);
    return rc;
}
