/* array.c - arrays: create, open, map, sync, resize, close; the catalog
 * operations on names (stat, remove, rename, list).
 *
 * Crash-safety orderings kept here (format.md, "Order of writes"):
 *  - a data file is complete, fsynced and linked into data/ (and data/
 *    fsynced) before the catalog transaction that names it commits;
 *  - data is msynced before the transaction that records its checksums;
 *  - a name is removed from the catalog before its file is unlinked.
 * Writer presence is a shared OFD lock on byte 1 of the data file, held by
 * every writable handle; the catalog's DIRTY flag is set while any writer
 * exists. DIRTY with no lock holder means a writer died. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- writer-presence lock -------------------------------------------------- */

static int writer_lock(int fd, short type, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                       .l_start = MMSI_WRITER_LOCK_OFFSET, .l_len = 1};
    int rc;
    do
        rc = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : errno;
}

/* True when some open file description other than fd's holds the writer
 * byte (fd's own lock never conflicts with itself). */
int mmsi_writer_present(int fd, bool *present)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = MMSI_WRITER_LOCK_OFFSET, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return errno;
    *present = fl.l_type != F_UNLCK;
    return 0;
}

static int open_data_file(mms_store *store, uint64_t id, bool writable,
                          int *fd)
{
    char name[32];
    mmsi_data_name(name, sizeof name, id);
    *fd = openat(store->datafd, name, (writable ? O_RDWR : O_RDONLY) |
                 O_CLOEXEC | O_NOFOLLOW);
    return *fd < 0 ? errno : 0;
}

int mmsi_array_state(mms_store *store, const mmsi_record *rec, int fd,
                     mms_state *state)
{
    if (rec->flags & MMSI_REC_INTERRUPTED) {
        *state = MMS_STATE_INTERRUPTED;
        return MMS_OK;
    }
    if (!(rec->flags & MMSI_REC_DIRTY)) {
        *state = MMS_STATE_CLEAN;
        return MMS_OK;
    }
    int own = -1, e;
    if (fd < 0 && (e = open_data_file(store, rec->id, false, &own)) != 0) {
        if (e == ENOENT) {
            /* A file removed under us: the record is gone or replaced. */
            *state = MMS_STATE_INTERRUPTED;
            return MMS_OK;
        }
        return mmsi_errno(e, "checking the writer lock of data file "
                          "%016" PRIx64 ".npy", rec->id);
    }
    bool present = false;
    e = mmsi_writer_present(fd >= 0 ? fd : own, &present);
    if (own >= 0)
        close(own);
    if (e != 0)
        return mmsi_errno(e, "checking the writer lock of data file "
                          "%016" PRIx64 ".npy", rec->id);
    *state = present ? MMS_STATE_WRITING : MMS_STATE_INTERRUPTED;
    return MMS_OK;
}

/* ---- records ----------------------------------------------------------------- */

typedef struct stat_ctx {
    const char *name;
    mmsi_record rec;
} stat_ctx;

static int stat_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    stat_ctx *s = arg;
    return mmsi_cat_get(store, txn, s->name, &s->rec);
}

static int read_record(mms_store *store, const char *name, mmsi_record *rec)
{
    stat_ctx s = {.name = name};
    int rc = mmsi_cat_read(store, stat_txn, &s);
    *rec = s.rec;
    return rc;
}

/* ---- handles --------------------------------------------------------------- */

static void count_handle(mms_store *store, int delta)
{
    pthread_mutex_lock(&store->arrays_lock);
    store->narrays += delta;
    pthread_mutex_unlock(&store->arrays_lock);
}

static void free_handle(mms_array *a)
{
    mmsi_held_remove(&a->held);
    if (a->map && a->map != MAP_FAILED)
        munmap(a->map, a->map_len);
    if (a->fd >= 0)
        close(a->fd); /* also drops this handle's OFD locks */
    mmsi_fdpool_destroy(&a->lock_pool);
    free(a->name);
    free(a->path);
    pthread_mutex_destroy(&a->view_lock);
    free(a);
}

static mms_array *new_handle(mms_store *store, const char *name)
{
    mms_array *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = store;
    a->fd = -1;
    a->map = MAP_FAILED;
    pthread_mutex_init(&a->view_lock, NULL);
    mmsi_fdpool_init(&a->lock_pool, -1, false);
    if (!(a->name = strdup(name))) {
        free(a);
        return NULL;
    }
    return a;
}

/* Maps the data region (file offset 4096 on) of a->fd for a->geo. */
static int map_data(mms_array *a)
{
    a->lock_pool.source = a->fd;
    a->lock_pool.writable = a->writable;
    size_t len = (size_t)(a->geo.file_size - MMSI_HEADER_SIZE);
    int prot = PROT_READ | (a->writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, len, prot, MAP_SHARED, a->fd, MMSI_HEADER_SIZE);
    if (p == MAP_FAILED)
        return mmsi_errno(errno, "mapping '%s' (%s, %zu bytes)", a->name,
                          a->path, len);
    a->map = p;
    a->map_len = len;
    return MMS_OK;
}

static int check_args(mms_store *store, const char *name, void *out,
                      const char *what)
{
    if (!store || !out)
        return mmsi_err(MMS_ERR_INVAL, "%s: NULL argument", what);
    return mmsi_check_name(name, "name");
}

/* MMS_ERR_NOSPC when the store's filesystem has fewer than need bytes
 * free: checked before allocating, so that a request far too large fails at
 * once instead of filling the disk (which other processes share) first. */
static int check_free_space(mms_store *store, uint64_t need, const char *op,
                            const char *name)
{
    struct statvfs vfs;
    if (fstatvfs(store->datafd, &vfs) != 0)
        return MMS_OK; /* posix_fallocate will still tell */
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < need)
        return mmsi_err(MMS_ERR_NOSPC, "%s '%s': needs %" PRIu64 " bytes, "
                        "%s has %" PRIu64 " free", op, name, need,
                        store->path, avail);
    return MMS_OK;
}

/* The record a's writes belong to: its staged entry, or the record of its
 * name, which must still be a's version and shape. Otherwise the handle is
 * stale and its writes are not the array's. */
static int own_get(mms_store *store, MDB_txn *txn, mms_array *a,
                   mmsi_record *rec)
{
    int rc;
    if (a->staged) {
        rc = mmsi_staged_get(store, txn, a->rec.id, a->name, rec);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "staged version of '%s' was "
                            "discarded", a->name);
    } else {
        rc = mmsi_cat_get(store, txn, a->name, rec);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "'%s' was removed: writes "
                            "through this handle are lost", a->name);
    }
    if (rc != MMS_OK)
        return rc;
    if (rec->id != a->rec.id)
        return mmsi_err(MMS_ERR_STALE, "'%s' now names another version: "
                        "writes through this handle are lost", a->name);
    if (rec->ndim != a->rec.ndim || (rec->ndim && rec->shape[0] !=
                                                      a->rec.shape[0]))
        return mmsi_err(MMS_ERR_STALE, "'%s' was resized by another handle: "
                        "refresh it", a->name);
    return MMS_OK;
}

static int own_put(mms_store *store, MDB_txn *txn, mms_array *a,
                   const mmsi_record *rec)
{
    return a->staged ? mmsi_staged_put(store, txn, a->name, rec)
                     : mmsi_cat_put(store, txn, a->name, rec);
}

/* ---- create ---------------------------------------------------------------- */

typedef struct create_ctx {
    mms_array *a;
    bool committed;
    bool linked;        /* data/<id>.npy names our file (maybe uncommitted) */
    uint64_t linked_id;
} create_ctx;

/* Links the anonymous (O_TMPFILE) file fd as data/<id>.npy. A name left by
 * a crashed, never-committed create of the same id is replaced. */
static int link_data_file(mms_store *store, int fd, uint64_t id)
{
    char name[32], proc[64];
    mmsi_data_name(name, sizeof name, id);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (linkat(AT_FDCWD, proc, store->datafd, name, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return errno;
        /* Is the existing name already our file (a retried transaction)? */
        struct stat mine, there;
        if (fstat(fd, &mine) == 0 &&
            fstatat(store->datafd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            mine.st_ino == there.st_ino && mine.st_dev == there.st_dev)
            return 0;
        /* Ids at or above next_id were never committed: the file is a
         * leftover of a crash between link and commit. */
        if (unlinkat(store->datafd, name, 0) != 0 && errno != ENOENT)
            return errno;
    }
    return EEXIST;
}

static int create_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    create_ctx *c = arg;
    mms_array *a = c->a;
    mmsi_record old;
    int rc = a->staged ? MMS_ERR_NOTFOUND
                       : mmsi_cat_get(store, txn, a->name, &old);
    if (rc == MMS_OK)
        return mmsi_err(MMS_ERR_EXISTS, "create '%s': the name is taken",
                        a->name);
    if (rc != MMS_ERR_NOTFOUND)
        return rc;
    uint64_t id;
    if ((rc = mmsi_meta_get_u64(store, txn, "next_id", &id)) != MMS_OK)
        return rc;
    if (id == 0 || id == UINT64_MAX)
        return mmsi_err(MMS_ERR_CORRUPT, "store %s: next id %" PRIu64
                        " is out of range", store->path, id);
    if (!c->linked) {
        int e = link_data_file(store, a->fd, id);
        if (e != 0)
            return mmsi_errno(e, "create '%s': linking data file %016"
                              PRIx64 ".npy", a->name, id);
        c->linked = true;
        c->linked_id = id;
        if (fsync(store->datafd) != 0)
            return mmsi_errno(errno, "create '%s': fsync of %s/data",
                              a->name, store->path);
    } else if (c->linked_id != id) {
        /* The retried body must see the same next_id it linked. */
        return mmsi_err(MMS_ERR_IO, "create '%s': next id changed during "
                        "a retried transaction", a->name);
    }
    a->rec.id = id;
    if ((rc = mmsi_meta_put_u64(store, txn, "next_id", id + 1)) != MMS_OK ||
        (rc = mmsi_blocks_init_zero(store, txn, &a->rec,
                                    a->geo.nbytes)) != MMS_OK)
        return rc;
    return own_put(store, txn, a, &a->rec);
}

/* Makes the unnamed data file: O_TMPFILE where the filesystem has it. */
static int make_temp_file(mms_store *store, const char *name, int *fd)
{
    mode_t mode = store->shared_group ? 0660 : 0600;
    *fd = openat(store->datafd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (*fd < 0)
        return mmsi_errno(errno, "create '%s': cannot make an unnamed file "
                          "in %s/data (O_TMPFILE)", name, store->path);
    if (store->shared_group)
        fchmod(*fd, mode); /* umask must not narrow a shared store */
    return MMS_OK;
}

int mms_array_create(mms_store *store, const char *name, mms_dtype dtype,
                     int ndim, const uint64_t *shape, unsigned flags,
                     mms_array **out)
{
    if (out)
        *out = NULL;
    int rc = check_args(store, name, out, "mms_array_create");
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "create")) != MMS_OK)
        return rc;
    if ((flags & ~(MMS_STAGED | MMS_NOREPLACE)) ||
        ((flags & MMS_NOREPLACE) && !(flags & MMS_STAGED)))
        return mmsi_err(MMS_ERR_INVAL, "create '%s': unknown flags 0x%x",
                        name, flags);
    if (!mmsi_dtype_valid((int)dtype))
        return mmsi_err(MMS_ERR_DTYPE, "create '%s': %d is not a dtype",
                        name, (int)dtype);
    if (ndim < 0 || ndim > MMS_MAX_NDIM)
        return mmsi_err(MMS_ERR_INVAL, "create '%s': ndim %d is outside "
                        "0..%d", name, ndim, MMS_MAX_NDIM);
    if (ndim > 0 && !shape)
        return mmsi_err(MMS_ERR_INVAL, "create '%s': shape is NULL", name);

    mms_array *a = new_handle(store, name);
    if (!a)
        return mmsi_err(MMS_ERR_NOMEM, "create '%s'", name);
    a->writable = true;
    a->staged = (flags & MMS_STAGED) != 0;
    a->noreplace = (flags & MMS_NOREPLACE) != 0;
    int64_t now = mmsi_now_ns();
    a->rec = (mmsi_record){.dtype = dtype, .ndim = ndim,
                           .flags = MMSI_REC_DIRTY,
                           .capacity_rows = ndim ? shape[0] : 1,
                           .block_size = store->block_size, .generation = 1,
                           .created_ns = now, .modified_ns = now};
    for (int i = 0; i < ndim; i++)
        a->rec.shape[i] = shape[i];
    create_ctx c = {.a = a};
    if ((rc = mmsi_rec_geometry(&a->rec, &a->geo)) != MMS_OK) {
        rc = mmsi_err_context(rc, "create '%s'", name);
        goto fail;
    }

    /* Fail early, before allocating anything, when the name is taken or
     * the disk cannot hold the file. */
    mms_info info;
    if (a->staged) {
        /* A staged version may replace an existing name. */
    } else if ((rc = mms_stat(store, name, &info)) == MMS_OK) {
        rc = mmsi_err(MMS_ERR_EXISTS, "create '%s': the name is taken", name);
        goto fail;
    } else if (rc != MMS_ERR_NOTFOUND) {
        goto fail;
    }
    if ((rc = check_free_space(store, a->geo.file_size, "create",
                               name)) != MMS_OK)
        goto fail;

    if ((rc = make_temp_file(store, name, &a->fd)) != MMS_OK)
        goto fail;
    /* Allocate every block so writes through the mapping never meet
     * ENOSPC (SIGBUS); then the header; then make both durable before the
     * catalog can name the file. */
    int e = posix_fallocate(a->fd, 0, (off_t)a->geo.file_size);
    if (e != 0) {
        rc = mmsi_errno(e, "create '%s': allocating %" PRIu64 " bytes in "
                        "%s/data", name, a->geo.file_size, store->path);
        goto fail;
    }
    unsigned char hdr[MMSI_HEADER_SIZE];
    if ((rc = mmsi_npy_format(hdr, dtype, ndim, a->rec.shape)) != MMS_OK)
        goto fail;
    if (pwrite(a->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
        fsync(a->fd) != 0) {
        rc = mmsi_errno(errno, "create '%s': writing the data file header",
                        name);
        goto fail;
    }
    if (writer_lock(a->fd, F_RDLCK, true) != 0) {
        rc = mmsi_errno(errno, "create '%s': taking the writer lock", name);
        goto fail;
    }
    mmsi_held_add(&a->held, &a->fd);
    if ((rc = map_data(a)) != MMS_OK)
        goto fail;
    if ((rc = mmsi_cat_write(store, create_txn, &c)) != MMS_OK)
        goto fail;
    c.committed = true;
    if (!(a->path = mmsi_data_path(store, a->rec.id))) {
        /* Committed: the array exists; only our handle failed. */
        rc = mmsi_err(MMS_ERR_NOMEM, "create '%s'", name);
        goto fail;
    }
    a->writer_locked = true;
    count_handle(store, 1);
    *out = a;
    return MMS_OK;

fail:
    if (c.linked && !c.committed) {
        char fname[32];
        mmsi_data_name(fname, sizeof fname, c.linked_id);
        unlinkat(store->datafd, fname, 0);
    }
    free_handle(a);
    return rc;
}

/* ---- open ------------------------------------------------------------------ */

typedef struct mark_ctx {
    mms_array *a;
    bool others;     /* other writers hold the writer byte */
} mark_ctx;

/* Marks the array DIRTY for a new writer; DIRTY with no other writer means
 * an earlier writer died, which stays recorded as INTERRUPTED. */
static int mark_dirty_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    mark_ctx *m = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(store, txn, m->a->name, &rec);
    if (rc != MMS_OK)
        return rc;
    if (rec.id != m->a->rec.id)
        return mmsi_err(MMS_ERR_BUSY, "open '%s': replaced while opening",
                        m->a->name);
    if (rec.flags & MMSI_REC_DIRTY) {
        /* Look again inside the transaction: a writer that opened since
         * the first look committed DIRTY before this transaction began. */
        int e = mmsi_writer_present(m->a->fd, &m->others);
        if (e != 0)
            return mmsi_errno(e, "open '%s': checking the writer lock",
                              m->a->name);
        if (!m->others)
            rec.flags |= MMSI_REC_INTERRUPTED;
    }
    rec.flags |= MMSI_REC_DIRTY;
    m->a->rec = rec;
    return mmsi_cat_put(store, txn, m->a->name, &rec);
}

typedef enum recheck_outcome {
    RECHECK_MATCHES,  /* the header agrees (now), or the catalog is trusted */
    RECHECK_CHANGED,  /* the record changed: open again from scratch */
    RECHECK_BAD       /* a lasting disagreement: corrupt */
} recheck_outcome;

typedef struct recheck_ctx {
    mms_array *a;
    mmsi_record before;
    recheck_outcome outcome;
} recheck_ctx;

/* Aborts a transaction that has nothing to commit (not an error). */
#define RECHECK_ABORT MMS_ERR_BUSY

/* Inside a write transaction no resize is half-way (a resize commits its
 * new shape before it rewrites the header, and clears RESIZING after), so
 * here a header that disagrees under RESIZING was left by a resize that
 * died between the two: the catalog is the truth and the header is
 * rewritten from it. */
static int recheck_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    recheck_ctx *c = arg;
    mms_array *a = c->a;
    int rc = mmsi_cat_get(store, txn, a->name, &a->rec);
    if (rc == MMS_ERR_NOTFOUND) {
        c->outcome = RECHECK_CHANGED;
        return RECHECK_ABORT;
    }
    if (rc != MMS_OK)
        return rc;
    const mmsi_record *b = &c->before;
    if (a->rec.id != b->id || a->rec.ndim != b->ndim ||
        memcmp(a->rec.shape, b->shape, sizeof b->shape) != 0 ||
        a->rec.capacity_rows != b->capacity_rows) {
        c->outcome = RECHECK_CHANGED;
        return RECHECK_ABORT;
    }
    unsigned char hdr[MMSI_HEADER_SIZE];
    ssize_t n = pread(a->fd, hdr, sizeof hdr, 0);
    if (n < 0)
        return mmsi_errno(errno, "open '%s': reading %s", a->name, a->path);
    rc = mmsi_npy_check(hdr, (size_t)n, a->rec.dtype, a->rec.ndim,
                        a->rec.shape);
    if (rc == MMS_OK) {
        c->outcome = RECHECK_MATCHES;
        return RECHECK_ABORT;
    }
    if (!(a->rec.flags & MMSI_REC_RESIZING)) {
        c->outcome = RECHECK_BAD;
        return mmsi_err_context(rc, "open '%s': %s", a->name, a->path);
    }
    c->outcome = RECHECK_MATCHES;
    if (store->flags & MMS_RDONLY)
        return RECHECK_ABORT; /* never write: trust the catalog */
    char fname[32];
    mmsi_data_name(fname, sizeof fname, a->rec.id);
    int fd = openat(store->datafd, fname, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return mmsi_errno(errno, "open '%s': repairing the header of %s",
                          a->name, a->path);
    rc = mmsi_npy_rewrite(fd, &a->rec);
    close(fd);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "open '%s': %s", a->name, a->path);
    a->rec.flags &= ~MMSI_REC_RESIZING;
    return mmsi_cat_put(store, txn, a->name, &a->rec);
}

/* The header disagreed with the record we read. A resize racing us does
 * that for a moment, and a resize that died does it for good: look again
 * inside a write transaction (which waits for a resize in progress). */
static int recheck_header(mms_array *a)
{
    recheck_ctx c = {.a = a, .before = a->rec, .outcome = RECHECK_BAD};
    int rc = mmsi_cat_write(a->store, recheck_txn, &c);
    if (rc != MMS_OK && rc != RECHECK_ABORT)
        return rc;
    switch (c.outcome) {
    case RECHECK_MATCHES:
        return MMS_OK;
    case RECHECK_CHANGED:
        return MMS_ERR_BUSY; /* open_retry starts again */
    default:
        return rc == MMS_OK ? MMS_ERR_CORRUPT : rc;
    }
}

/* One attempt at opening: MMS_ERR_BUSY means the name moved to another
 * file while we looked (a concurrent remove or replace): try again. */
static int open_once(mms_array *a)
{
    mms_store *store = a->store;
    int rc = read_record(store, a->name, &a->rec);
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_rec_geometry(&a->rec, &a->geo)) != MMS_OK)
        return rc;
    free(a->path);
    if (!(a->path = mmsi_data_path(store, a->rec.id)))
        return mmsi_err(MMS_ERR_NOMEM, "open '%s'", a->name);
    int e = open_data_file(store, a->rec.id, a->writable, &a->fd);
    if (e == ENOENT) {
        /* Removed or replaced between our catalog read and the open? */
        mmsi_record now;
        if (read_record(store, a->name, &now) != MMS_ERR_CORRUPT &&
            (now.id != a->rec.id))
            return MMS_ERR_BUSY;
        return mmsi_err(MMS_ERR_CORRUPT, "open '%s': data file %s is "
                        "missing", a->name, a->path);
    }
    if (e != 0)
        return mmsi_errno(e, "open '%s': data file %s", a->name, a->path);
    struct stat st;
    if (fstat(a->fd, &st) != 0)
        return mmsi_errno(errno, "open '%s': stat of %s", a->name, a->path);
    if ((uint64_t)st.st_size < a->geo.file_size)
        return mmsi_err(MMS_ERR_CORRUPT, "open '%s': data file %s has %lld "
                        "bytes, the catalog needs %" PRIu64, a->name, a->path,
                        (long long)st.st_size, a->geo.file_size);
    unsigned char hdr[MMSI_HEADER_SIZE];
    ssize_t n = pread(a->fd, hdr, sizeof hdr, 0);
    if (n < 0)
        return mmsi_errno(errno, "open '%s': reading %s", a->name, a->path);
    if ((rc = mmsi_npy_check(hdr, (size_t)n, a->rec.dtype, a->rec.ndim,
                             a->rec.shape)) != MMS_OK &&
        (rc = recheck_header(a)) != MMS_OK)
        return rc;
    if (a->writable) {
        /* Lock first, then look: a closing writer that converts its lock
         * to exclusive to clear DIRTY must see us. */
        if ((e = writer_lock(a->fd, F_RDLCK, true)) != 0)
            return mmsi_errno(e, "open '%s': taking the writer lock",
                              a->name);
        a->writer_locked = true;
        mmsi_held_add(&a->held, &a->fd);
        mark_ctx m = {.a = a};
        if ((e = mmsi_writer_present(a->fd, &m.others)) != 0)
            return mmsi_errno(e, "open '%s': checking the writer lock",
                              a->name);
        if (!(a->rec.flags & MMSI_REC_DIRTY) || !m.others) {
            if ((rc = mmsi_cat_write(store, mark_dirty_txn, &m)) != MMS_OK)
                return rc;
        }
    }
    return map_data(a);
}

/* Opens a (fresh from new_handle) again while a concurrent remove or
 * publish moves the name to another file between our catalog read and our
 * open: the reader retries instead of failing on a just-unlinked file. */
static int open_retry(mms_array *a)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        int rc = open_once(a);
        if (rc != MMS_ERR_BUSY)
            return rc;
        /* Undo the attempt: close the file, forget the mapping. */
        if (a->map != MAP_FAILED)
            munmap(a->map, a->map_len);
        a->map = MAP_FAILED;
        if (a->fd >= 0)
            close(a->fd);
        a->fd = -1;
        a->writer_locked = false;
        mmsi_held_remove(&a->held);
    }
    return mmsi_err(MMS_ERR_BUSY, "open '%s': replaced too many times while "
                    "opening", a->name);
}

int mms_array_open(mms_store *store, const char *name, unsigned flags,
                   mms_array **out)
{
    if (out)
        *out = NULL;
    int rc = check_args(store, name, out, "mms_array_open");
    if (rc != MMS_OK)
        return rc;
    if (flags & ~(MMS_RDONLY | MMS_RDWR) ||
        (flags & MMS_RDONLY && flags & MMS_RDWR))
        return mmsi_err(MMS_ERR_INVAL, "open '%s': flags must be MMS_RDONLY "
                        "or MMS_RDWR", name);
    if ((flags & MMS_RDWR) &&
        (rc = mmsi_store_check_writable(store, "open for writing")) != MMS_OK)
        return rc;
    mms_array *a = new_handle(store, name);
    if (!a)
        return mmsi_err(MMS_ERR_NOMEM, "open '%s'", name);
    a->writable = (flags & MMS_RDWR) != 0;
    if ((rc = open_retry(a)) != MMS_OK) {
        free_handle(a);
        return rc;
    }
    count_handle(store, 1);
    *out = a;
    return MMS_OK;
}

/* ---- access ---------------------------------------------------------------- */

void *mms_array_data(const mms_array *array)
{
    return array ? array->map : NULL;
}

const char *mms_array_path(const mms_array *array)
{
    return array ? array->path : NULL;
}

int mms_array_info(const mms_array *array, mms_info *info)
{
    if (!array || !info)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_info: NULL argument");
    pthread_mutex_lock(&((mms_array *)array)->view_lock);
    mmsi_rec_to_info(&array->rec, info);
    pthread_mutex_unlock(&((mms_array *)array)->view_lock);
    if (array->staged)
        info->state = MMS_STATE_STAGED;
    else if (array->writable)
        info->state = MMS_STATE_WRITING;
    else if (array->rec.flags & MMSI_REC_INTERRUPTED)
        info->state = MMS_STATE_INTERRUPTED;
    else if (array->rec.flags & MMSI_REC_DIRTY)
        info->state = MMS_STATE_WRITING;
    return MMS_OK;
}

int mms_array_write(mms_array *array, uint64_t offset, const void *buf,
                    size_t len)
{
    if (!array || (!buf && len))
        return mmsi_err(MMS_ERR_INVAL, "mms_array_write: NULL argument");
    if (!array->writable)
        return mmsi_err(MMS_ERR_RDONLY, "write '%s': the handle is "
                        "read-only", array->name);
    uint64_t end;
    if (mmsi_add_overflow(offset, len, &end) || end > array->geo.nbytes)
        return mmsi_err(MMS_ERR_RANGE, "write '%s': bytes %" PRIu64 "+%zu "
                        "are past the end (%" PRIu64 " bytes)", array->name,
                        offset, len, array->geo.nbytes);
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(array->fd, p, len,
                           (off_t)(MMSI_HEADER_SIZE + offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return mmsi_errno(n < 0 ? errno : EIO, "write '%s': %s",
                              array->name, array->path);
        p += n;
        offset += (uint64_t)n;
        len -= (size_t)n;
    }
    return MMS_OK;
}

/* ---- sync ------------------------------------------------------------------ */

typedef struct sync_ctx {
    mms_array *a;
    uint64_t first_block, nblocks;
    const uint64_t *hashes; /* of those blocks, as they went to disk */
    int64_t stamp;     /* the record's modified_ns before they were hashed */
    bool closing;      /* clear DIRTY too, if we are the last writer */
    mmsi_record rec;   /* the committed record */
} sync_ctx;

static int stamp_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    sync_ctx *s = arg;
    int rc = own_get(store, txn, s->a, &s->rec);
    if (rc == MMS_OK)
        s->stamp = s->rec.modified_ns;
    return rc;
}

static int sync_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    sync_ctx *s = arg;
    mms_array *a = s->a;
    int rc = own_get(store, txn, a, &s->rec);
    if (rc != MMS_OK)
        return rc;
    /* Another writer's sync committed since we hashed: its checksums may
     * describe bytes newer than ours, and the last commit must leave the
     * newest. Hash again here, under the writer lock, as it did. */
    if (s->rec.modified_ns != s->stamp)
        rc = mmsi_blocks_update(store, txn, &s->rec, a->map, a->geo.nbytes,
                                s->first_block,
                                s->first_block + s->nblocks - 1);
    else
        rc = mmsi_blocks_put(store, txn, &s->rec, s->first_block,
                             s->nblocks, s->hashes);
    if (rc != MMS_OK)
        return rc;
    if (s->closing) {
        /* Converting our shared lock to exclusive succeeds only when no
         * other writer holds the byte: then nobody else may have unsynced
         * writes, and the array is clean. Openers lock before they look,
         * so none can slip in between. */
        if (writer_lock(a->fd, F_WRLCK, false) == 0)
            s->rec.flags &= ~MMSI_REC_DIRTY;
        else
            /* Others remain. Leave now, inside the transaction: holding
             * the byte until after the commit would let another closing
             * writer's transaction see us and leave DIRTY set for good. */
            writer_lock(a->fd, F_UNLCK, false);
    }
    s->rec.modified_ns = mmsi_now_ns();
    return own_put(store, txn, a, &s->rec);
}

/* msync of data bytes [start, end), page-aligned outward. */
static int msync_bytes(mms_array *a, uint64_t start, uint64_t end)
{
    if (end <= start)
        return MMS_OK;
    uint64_t s = start & ~(uint64_t)(MMSI_PAGE - 1);
    if (msync((unsigned char *)a->map + s, (size_t)(end - s), MS_SYNC) != 0)
        return mmsi_errno(errno, "sync '%s': msync of %s failed; the data "
                          "may not be durable", a->name, a->path);
    return MMS_OK;
}

/* Makes blocks [first, first + count) durable and hashes them, the two at
 * once: writeback of the dirty pages starts (sync_file_range), the blocks
 * are hashed while the disk works, and msync(MS_SYNC) then waits for the
 * writeback and flushes the device. The hashes describe the bytes msync
 * wrote unless someone changed them meanwhile; that writer's own sync
 * records them later (sync_txn hashes again if it committed first).
 * *hashes: free() it. */
static int durable_blocks(mms_array *a, uint64_t first, uint64_t count,
                          uint64_t **hashes)
{
    *hashes = NULL;
    if (count == 0)
        return MMS_OK;
    uint64_t bs = a->rec.block_size, nbytes = a->geo.nbytes;
    uint64_t start = first * bs, end = (first + count) * bs;
    if (end > nbytes)
        end = nbytes;
    /* Only a hint: a file system without it still gets the msync. */
    (void)sync_file_range(a->fd, (off64_t)(MMSI_HEADER_SIZE + start),
                          (off64_t)(end - start), SYNC_FILE_RANGE_WRITE);
    int rc = mmsi_blocks_hash(a->map, nbytes, bs, first, count, hashes);
    if (rc == MMS_OK)
        rc = msync_bytes(a, start, end);
    if (rc != MMS_OK) {
        free(*hashes);
        *hashes = NULL;
    }
    return rc;
}

static int sync_rows(mms_array *a, uint64_t first_row, uint64_t nrows,
                     bool closing)
{
    if (!a->writable)
        return mmsi_err(MMS_ERR_RDONLY, "sync '%s': the handle is read-only",
                        a->name);
    uint64_t rows = a->geo.rows, end_row;
    if (nrows == 0)
        nrows = first_row < rows ? rows - first_row : 0;
    if (first_row > rows || mmsi_add_overflow(first_row, nrows, &end_row) ||
        end_row > rows)
        return mmsi_err(MMS_ERR_RANGE, "sync '%s': rows %" PRIu64 "+%" PRIu64
                        " are past the end (%" PRIu64 " rows)", a->name,
                        first_row, nrows, rows);
    sync_ctx s = {.a = a, .closing = closing};
    uint64_t bs = a->rec.block_size;
    uint64_t start = first_row * a->geo.row_bytes;
    uint64_t end = end_row * a->geo.row_bytes;
    uint64_t *hashes = NULL;
    if (end > start) {
        /* Whole blocks are synced and hashed: a block's checksum must only
         * ever describe bytes that are on disk. */
        s.first_block = start / bs;
        s.nblocks = (end - 1) / bs + 1 - s.first_block;
        int rc = mmsi_cat_read(a->store, stamp_txn, &s);
        if (rc != MMS_OK)
            return mmsi_err_context(rc, "sync '%s'", a->name);
        rc = durable_blocks(a, s.first_block, s.nblocks, &hashes);
        if (rc != MMS_OK)
            return rc;
        s.hashes = hashes;
    }
    int rc = mmsi_cat_write(a->store, sync_txn, &s);
    free(hashes);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "sync '%s'", a->name);
    pthread_mutex_lock(&a->view_lock);
    a->rec.root = s.rec.root;
    a->rec.modified_ns = s.rec.modified_ns;
    pthread_mutex_unlock(&a->view_lock);
    return MMS_OK;
}

int mms_array_sync_range(mms_array *array, uint64_t first_row,
                         uint64_t nrows)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_sync_range: NULL array");
    return sync_rows(array, first_row, nrows, false);
}

int mms_array_sync(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_sync: NULL array");
    return sync_rows(array, 0, 0, false);
}

/* ---- resize ---------------------------------------------------------------- */

typedef struct resize_ctx {
    mms_array *a;
    mmsi_record rec;     /* the new record */
    mmsi_geometry geo;   /* the new geometry */
} resize_ctx;

static int resize_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    resize_ctx *r = arg;
    mms_array *a = r->a;
    mmsi_record cur;
    int rc = own_get(store, txn, a, &cur);
    if (rc != MMS_OK)
        return rc;
    uint64_t new_rows = r->rec.shape[0], cap = r->rec.capacity_rows;
    r->rec = cur;
    r->rec.shape[0] = new_rows;
    r->rec.capacity_rows = cap;
    uint64_t bs = cur.block_size;
    uint64_t old_nbytes = a->geo.nbytes, new_nbytes = r->geo.nbytes;
    uint64_t old_blocks = a->geo.nblocks, new_blocks = r->geo.nblocks;
    if (new_nbytes < old_nbytes) {
        rc = mmsi_blocks_drop(store, txn, &r->rec, new_blocks, old_blocks);
        /* The new last block lost its tail: re-hash it. */
        if (rc == MMS_OK && new_nbytes % bs)
            rc = mmsi_blocks_update(store, txn, &r->rec, a->map, new_nbytes,
                                    new_blocks - 1, new_blocks - 1);
    } else if (new_nbytes > old_nbytes) {
        rc = mmsi_blocks_update(store, txn, &r->rec, a->map, new_nbytes,
                                old_nbytes / bs, new_blocks - 1);
    }
    if (rc != MMS_OK)
        return rc;
    r->rec.modified_ns = mmsi_now_ns();
    r->rec.flags |= MMSI_REC_RESIZING;
    return own_put(store, txn, a, &r->rec);
}

/* The header now says what the catalog says: clear RESIZING, unless the
 * array moved on meanwhile (another resize owns the flag then). */
static int resized_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    resize_ctx *r = arg;
    mmsi_record cur;
    int rc = own_get(store, txn, r->a, &cur);
    if (rc != MMS_OK)
        return rc == MMS_ERR_STALE ? MMS_OK : rc;
    if (cur.ndim == 0 || cur.shape[0] != r->rec.shape[0] ||
        !(cur.flags & MMSI_REC_RESIZING))
        return MMS_OK;
    cur.flags &= ~MMSI_REC_RESIZING;
    r->rec = cur;
    return own_put(store, txn, r->a, &cur);
}

/* Writes zeros over data bytes [start, end) with pwrite (no page faults). */
static int zero_bytes(mms_array *a, uint64_t start, uint64_t end)
{
    static const unsigned char zeros[65536];
    while (start < end) {
        size_t n = end - start < sizeof zeros ? (size_t)(end - start)
                                              : sizeof zeros;
        ssize_t w = pwrite(a->fd, zeros, n, (off_t)(MMSI_HEADER_SIZE + start));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mmsi_errno(w < 0 ? errno : EIO, "resize '%s': zeroing "
                              "new rows of %s", a->name, a->path);
        start += (uint64_t)w;
    }
    return MMS_OK;
}

int mms_array_resize(mms_array *array, uint64_t rows)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_resize: NULL array");
    mms_array *a = array;
    if (!a->writable)
        return mmsi_err(MMS_ERR_RDONLY, "resize '%s': the handle is "
                        "read-only", a->name);
    if (a->rec.ndim == 0)
        return mmsi_err(MMS_ERR_INVAL, "resize '%s': a 0-d array has no "
                        "axis 0", a->name);
    resize_ctx r = {.a = a, .rec = a->rec};
    r.rec.shape[0] = rows;
    if (rows > a->rec.capacity_rows) {
        /* Grow capacity geometrically so appending row by row costs
         * amortised O(1); fall back to the exact size if that overflows. */
        uint64_t cap = a->rec.capacity_rows + a->rec.capacity_rows / 2;
        r.rec.capacity_rows = cap > rows ? cap : rows;
        if (mmsi_rec_geometry(&r.rec, &r.geo) != MMS_OK)
            r.rec.capacity_rows = rows;
    }
    int rc = mmsi_rec_geometry(&r.rec, &r.geo);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "resize '%s' to %" PRIu64 " rows",
                                a->name, rows);
    uint64_t old_nbytes = a->geo.nbytes;
    if (r.geo.file_size > a->geo.file_size) {
        struct stat st;
        uint64_t have = fstat(a->fd, &st) == 0 ? (uint64_t)st.st_blocks * 512
                                                : 0;
        if (r.geo.file_size > have &&
            (rc = check_free_space(a->store, r.geo.file_size - have,
                                   "resize", a->name)) != MMS_OK)
            return rc;
        int e = posix_fallocate(a->fd, 0, (off_t)r.geo.file_size);
        if (e != 0)
            return mmsi_errno(e, "resize '%s': allocating %" PRIu64
                              " bytes", a->name, r.geo.file_size);
        size_t len = (size_t)(r.geo.file_size - MMSI_HEADER_SIZE);
        void *p = mremap(a->map, a->map_len, len, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return mmsi_errno(errno, "resize '%s': remapping %zu bytes",
                              a->name, len);
        a->map = p;
        a->map_len = len;
    }
    if (r.geo.nbytes > old_nbytes) {
        /* Rows past an earlier shrink still hold old bytes: new rows must
         * read as zero. Freshly allocated space already does. */
        uint64_t old_cap = a->geo.file_size - MMSI_HEADER_SIZE;
        uint64_t zend = r.geo.nbytes < old_cap ? r.geo.nbytes : old_cap;
        if ((rc = zero_bytes(a, old_nbytes, zend)) != MMS_OK)
            return rc;
    }
    /* The blocks re-hashed below must be on disk before their checksums
     * are: sync the boundary block and everything new. */
    uint64_t bs = a->rec.block_size;
    uint64_t lo = old_nbytes < r.geo.nbytes ? old_nbytes : r.geo.nbytes;
    if ((rc = msync_bytes(a, lo / bs * bs, r.geo.nbytes)) != MMS_OK)
        return rc;
    /* Three steps, so that a crash anywhere leaves a consistent array: the
     * catalog commits the new shape marked RESIZING; the header follows;
     * the mark goes. An open that finds the mark and an old header
     * rewrites the header from the catalog (recheck_header). */
    rc = mmsi_cat_write(a->store, resize_txn, &r);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "resize '%s'", a->name);
    pthread_mutex_lock(&a->view_lock);
    a->rec = r.rec;
    pthread_mutex_unlock(&a->view_lock);
    a->geo = r.geo;
    if ((rc = mmsi_npy_rewrite(a->fd, &r.rec)) != MMS_OK)
        return mmsi_err_context(rc, "resize '%s': %s (the catalog has the "
                                "new shape; the next open repairs the "
                                "header)", a->name, a->path);
    if ((rc = mmsi_cat_write(a->store, resized_txn, &r)) != MMS_OK)
        return mmsi_err_context(rc, "resize '%s'", a->name);
    pthread_mutex_lock(&a->view_lock);
    a->rec = r.rec;
    pthread_mutex_unlock(&a->view_lock);
    return MMS_OK;
}

/* ---- publish and refresh ---------------------------------------------------- */

typedef struct publish_ctx {
    mms_array *a;
    const uint64_t *hashes; /* of every block, as they went to disk */
    mmsi_record rec;
    uint64_t old_id; /* the version it replaces, 0 if none */
} publish_ctx;

static int publish_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    publish_ctx *p = arg;
    mms_array *a = p->a;
    int rc = own_get(store, txn, a, &p->rec);
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_blocks_put(store, txn, &p->rec, 0, a->geo.nblocks,
                              p->hashes)) != MMS_OK)
        return rc;
    mmsi_record old;
    p->old_id = 0;
    rc = mmsi_cat_get(store, txn, a->name, &old);
    if ((rc == MMS_OK || rc == MMS_ERR_CORRUPT) && a->noreplace)
        return mmsi_err(MMS_ERR_EXISTS, "publish '%s': the name exists "
                        "(the version was staged with MMS_NOREPLACE)",
                        a->name);
    if (rc == MMS_OK) {
        /* The new version keeps the name's attributes and continues its
         * generations; the old version's catalog entries go now, its file
         * after the commit. */
        p->old_id = old.id;
        p->rec.generation = old.generation + 1;
        if ((rc = mmsi_attrs_copy(store, txn, old.id, p->rec.id)) != MMS_OK ||
            (rc = mmsi_cat_delete_id(store, txn, old.id)) != MMS_OK)
            return rc;
    } else if (rc == MMS_ERR_NOTFOUND) {
        p->rec.generation = 1;
    } else {
        return rc;
    }
    p->rec.modified_ns = mmsi_now_ns();
    if ((rc = mmsi_staged_del(store, txn, p->rec.id)) != MMS_OK)
        return rc;
    return mmsi_cat_put(store, txn, a->name, &p->rec);
}

int mms_array_publish(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_publish: NULL array");
    mms_array *a = array;
    if (!a->staged)
        return mmsi_err(MMS_ERR_INVAL, "publish '%s': the handle is not a "
                        "staged version (create it with MMS_STAGED)", a->name);
    /* Durable first: readers that attach after the commit must find every
     * byte on disk and every checksum matching. */
    /* Only this handle writes a staged version: nobody else's sync can
     * commit between the hashing and publish_txn. */
    uint64_t *hashes;
    int rc = durable_blocks(a, 0, a->geo.nblocks, &hashes);
    if (rc != MMS_OK)
        return rc;
    publish_ctx p = {.a = a, .hashes = hashes};
    rc = mmsi_cat_write(a->store, publish_txn, &p);
    free(hashes);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "publish '%s'", a->name);
    a->staged = false;
    pthread_mutex_lock(&a->view_lock);
    a->rec = p.rec;
    pthread_mutex_unlock(&a->view_lock);
    if (p.old_id) {
        /* Readers of the old version keep their mapping; the name is
         * already theirs no more. */
        char fname[32];
        mmsi_data_name(fname, sizeof fname, p.old_id);
        if (unlinkat(a->store->datafd, fname, 0) != 0 && errno != ENOENT)
            return mmsi_errno(errno, "publish '%s': published, but the old "
                              "version's file %s could not be deleted",
                              a->name, fname);
    }
    return MMS_OK;
}

int mms_array_refresh(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_refresh: NULL array");
    mms_array *a = array;
    if (a->staged)
        return mmsi_err(MMS_ERR_INVAL, "refresh '%s': a staged version has "
                        "nothing to refresh", a->name);
    if (__atomic_load_n(&a->nlocks, __ATOMIC_RELAXED) > 0)
        return mmsi_err(MMS_ERR_BUSY, "refresh '%s': range locks are still "
                        "held", a->name);
    mms_array *n = new_handle(a->store, a->name);
    if (!n)
        return mmsi_err(MMS_ERR_NOMEM, "refresh '%s'", a->name);
    n->writable = a->writable;
    int rc = open_retry(n);
    if (rc != MMS_OK) {
        free_handle(n);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "refresh '%s': the array was "
                            "removed", a->name);
        return rc;
    }
    /* Swap the new file and mapping in; closing the old descriptor drops
     * its writer lock (the new one holds its own already). */
    mmsi_fdpool_destroy(&a->lock_pool);
    munmap(a->map, a->map_len);
    close(a->fd);
    free(a->path);
    pthread_mutex_lock(&a->view_lock);
    a->rec = n->rec;
    pthread_mutex_unlock(&a->view_lock);
    a->geo = n->geo;
    a->fd = n->fd;
    a->map = n->map;
    a->map_len = n->map_len;
    a->path = n->path;
    a->writer_locked = n->writer_locked;
    mmsi_fdpool_init(&a->lock_pool, a->fd, a->writable);
    n->fd = -1;
    n->map = MAP_FAILED;
    n->path = NULL;
    free_handle(n);
    return MMS_OK;
}

typedef struct discard_ctx {
    uint64_t id;
} discard_ctx;

static int discard_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    discard_ctx *d = arg;
    int rc = mmsi_staged_del(store, txn, d->id);
    return rc == MMS_OK ? mmsi_cat_delete_id(store, txn, d->id) : rc;
}

/* A staged version closed before publishing is abandoned: its catalog
 * entries first, then its file. */
static int discard_staged(mms_array *a)
{
    discard_ctx d = {a->rec.id};
    int rc = mmsi_cat_write(a->store, discard_txn, &d);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "discarding the staged version of '%s'",
                                a->name);
    char fname[32];
    mmsi_data_name(fname, sizeof fname, a->rec.id);
    if (unlinkat(a->store->datafd, fname, 0) != 0 && errno != ENOENT)
        return mmsi_errno(errno, "discarding the staged version of '%s': "
                          "deleting %s", a->name, fname);
    return MMS_OK;
}

/* ---- close ----------------------------------------------------------------- */

int mms_array_close(mms_array *array)
{
    if (!array)
        return MMS_OK;
    long locks = __atomic_load_n(&array->nlocks, __ATOMIC_RELAXED);
    if (locks > 0)
        return mmsi_err(MMS_ERR_BUSY, "close '%s': %ld range locks are "
                        "still held (unlock them first)", array->name, locks);
    int rc = MMS_OK;
    if (array->staged)
        rc = mmsi_check_fork(array->store) == MMS_OK ? discard_staged(array)
                                                     : MMS_ERR_FORKED;
    else if (array->writable && array->writer_locked)
        rc = sync_rows(array, 0, 0, true);
    mms_store *store = array->store;
    free_handle(array);
    count_handle(store, -1);
    return rc;
}

/* ---- catalog operations on names --------------------------------------------- */

int mms_stat(mms_store *store, const char *name, mms_info *info)
{
    int rc = check_args(store, name, info, "mms_stat");
    if (rc != MMS_OK)
        return rc;
    mmsi_record rec;
    if ((rc = read_record(store, name, &rec)) != MMS_OK)
        return rc;
    mms_info tmp;
    mmsi_rec_to_info(&rec, &tmp);
    if ((rc = mmsi_array_state(store, &rec, -1, &tmp.state)) != MMS_OK)
        return mmsi_err_context(rc, "stat '%s'", name);
    *info = tmp;
    return MMS_OK;
}

static int remove_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    stat_ctx *s = arg;
    int rc = mmsi_cat_get(store, txn, s->name, &s->rec);
    if (rc == MMS_ERR_CORRUPT) {
        /* A damaged record can still be removed; its id is unknown, so its
         * blocks and file are left for 'mmstore check'. */
        s->rec.id = 0;
    } else if (rc != MMS_OK) {
        return rc;
    }
    if ((rc = mmsi_del(txn, store->db_arrays, s->name, strlen(s->name),
                       s->name)) != MMS_OK)
        return rc;
    return s->rec.id ? mmsi_cat_delete_id(store, txn, s->rec.id) : MMS_OK;
}

int mms_remove(mms_store *store, const char *name)
{
    int rc = check_args(store, name, (void *)1, "mms_remove");
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "remove")) != MMS_OK)
        return rc;
    stat_ctx s = {.name = name};
    if ((rc = mmsi_cat_write(store, remove_txn, &s)) != MMS_OK)
        return mmsi_err_context(rc, "remove '%s'", name);
    if (s.rec.id) {
        /* After the commit: a crash here leaves an orphan file, never a
         * name without its file. Mappings of it stay valid. */
        char fname[32];
        mmsi_data_name(fname, sizeof fname, s.rec.id);
        if (unlinkat(store->datafd, fname, 0) != 0 && errno != ENOENT)
            return mmsi_errno(errno, "remove '%s': the name is gone but its "
                              "data file %s could not be deleted", name,
                              fname);
    }
    return MMS_OK;
}

typedef struct rename_ctx {
    const char *from, *to;
} rename_ctx;

static int rename_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    rename_ctx *r = arg;
    mmsi_record rec, other;
    int rc = mmsi_cat_get(store, txn, r->from, &rec);
    if (rc != MMS_OK)
        return rc;
    if (strcmp(r->from, r->to) == 0)
        return MMS_OK;
    rc = mmsi_cat_get(store, txn, r->to, &other);
    if (rc == MMS_OK || rc == MMS_ERR_CORRUPT)
        return mmsi_err(MMS_ERR_EXISTS, "rename '%s' to '%s': the target "
                        "name is taken", r->from, r->to);
    if (rc != MMS_ERR_NOTFOUND)
        return rc;
    if ((rc = mmsi_cat_put(store, txn, r->to, &rec)) != MMS_OK)
        return rc;
    return mmsi_del(txn, store->db_arrays, r->from, strlen(r->from), r->from);
}

int mms_rename(mms_store *store, const char *from, const char *to)
{
    int rc = check_args(store, from, (void *)1, "mms_rename");
    if (rc != MMS_OK || (rc = mmsi_check_name(to, "new name")) != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "rename")) != MMS_OK)
        return rc;
    rename_ctx r = {from, to};
    rc = mmsi_cat_write(store, rename_txn, &r);
    return rc == MMS_OK ? MMS_OK
                        : mmsi_err_context(rc, "rename '%s' to '%s'", from,
                                           to);
}

/* ---- list ------------------------------------------------------------------ */

#define LIST_CHUNK 256

typedef struct list_ctx {
    const char *prefix;
    size_t plen;
    char after[MMS_NAME_MAX + 1]; /* resume after this name ("" = start) */
    int n;
    bool done;
    char names[LIST_CHUNK][MMS_NAME_MAX + 1];
    mmsi_record recs[LIST_CHUNK];
} list_ctx;

/* Collects up to LIST_CHUNK records after l->after, so that no transaction
 * is held while the caller's callback runs. */
static int list_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    list_ctx *l = arg;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_arrays, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "listing %s", store->path);
    const char *start = l->after[0] ? l->after : l->prefix;
    MDB_val k = {strlen(start), (void *)start}, v;
    l->n = 0;
    /* LMDB refuses empty keys: an empty prefix starts at the first. */
    rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && l->after[0] && k.mv_size == strlen(l->after) &&
        memcmp(k.mv_data, l->after, k.mv_size) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    int r = MMS_OK;
    while (rc == 0 && l->n < LIST_CHUNK) {
        if (k.mv_size < l->plen || memcmp(k.mv_data, l->prefix, l->plen)) {
            rc = MDB_NOTFOUND;
            break;
        }
        if (k.mv_size > MMS_NAME_MAX || memchr(k.mv_data, 0, k.mv_size)) {
            r = mmsi_err(MMS_ERR_CORRUPT, "listing %s: a catalog key of %zu "
                         "bytes is not a valid name", store->path, k.mv_size);
            break;
        }
        char *name = l->names[l->n];
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if ((r = mmsi_rec_decode(name, v.mv_data, v.mv_size,
                                 &l->recs[l->n])) != MMS_OK)
            break;
        l->n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (r == MMS_OK && rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "listing %s", store->path);
    l->done = rc == MDB_NOTFOUND;
    mdb_cursor_close(cur);
    return r;
}

int mms_list(mms_store *store, const char *prefix, mms_list_fn fn, void *ctx)
{
    if (!store || !fn)
        return mmsi_err(MMS_ERR_INVAL, "mms_list: NULL argument");
    if (!prefix)
        prefix = "";
    if (strlen(prefix) > MMS_NAME_MAX)
        return mmsi_err(MMS_ERR_INVAL, "mms_list: prefix longer than %d "
                        "bytes", MMS_NAME_MAX);
    list_ctx *l = calloc(1, sizeof *l);
    if (!l)
        return mmsi_err(MMS_ERR_NOMEM, "listing %s", store->path);
    l->prefix = prefix;
    l->plen = strlen(prefix);
    int rc = MMS_OK;
    do {
        if ((rc = mmsi_cat_read(store, list_txn, l)) != MMS_OK)
            break;
        for (int i = 0; i < l->n && rc == MMS_OK; i++) {
            mms_info info;
            mmsi_rec_to_info(&l->recs[i], &info);
            rc = mmsi_array_state(store, &l->recs[i], -1, &info.state);
            if (rc == MMS_OK)
                rc = fn(l->names[i], &info, ctx);
        }
        if (l->n > 0)
            memcpy(l->after, l->names[l->n - 1], sizeof l->after);
    } while (rc == MMS_OK && !l->done && l->n > 0);
    free(l);
    return rc;
}
