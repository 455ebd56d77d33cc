/* open.c - mms_array_open and mms_array_refresh: attaching to the current
 * version of a name, checking its file against the catalog, repairing a
 * header a dead resize left behind, and announcing a writer. */
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* a becomes a writer of the version it opened (presence.c). */
static int join_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    mms_array *a = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, a->name, &rec);
    if (rc != MMS_OK)
        return rc;
    if (rec.id != a->rec.id)
        return mmsi_err(MMS_ERR_BUSY, "open '%s': replaced while opening",
                        a->name);
    if ((rc = mmsi_presence_join(store, txn, a, &rec)) != MMS_OK)
        return rc;
    a->rec = rec;
    return mmsi_cat_put(&store->cat, txn, a->name, &rec);
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
    int rc = mmsi_cat_get(&store->cat, txn, a->name, &a->rec);
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
    int fd, e = mmsi_datafile_open(store->datafd, a->rec.id, true, &fd);
    if (e != 0)
        return mmsi_errno(e, "open '%s': repairing the header of %s",
                          a->name, a->path);
    rc = mmsi_npy_rewrite(fd, &a->rec);
    close(fd);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "open '%s': %s", a->name, a->path);
    a->rec.flags &= ~MMSI_REC_RESIZING;
    return mmsi_cat_put(&store->cat, txn, a->name, &a->rec);
}

/* The header disagreed with the record we read. A resize racing us does
 * that for a moment, and a resize that died does it for good: look again
 * inside a write transaction (which waits for a resize in progress). */
static int recheck_header(mms_array *a)
{
    recheck_ctx c = {.a = a, .before = a->rec, .outcome = RECHECK_BAD};
    int rc = mmsi_store_write(a->store, recheck_txn, &c);
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
    int rc = mmsi_read_record(store, a->name, &a->rec);
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_rec_geometry(&a->rec, &a->geo)) != MMS_OK)
        return rc;
    free(a->path);
    if (!(a->path = mmsi_data_path(store->path, a->rec.id)))
        return mmsi_err(MMS_ERR_NOMEM, "open '%s'", a->name);
    int e = mmsi_datafile_open(store->datafd, a->rec.id, a->writable, &a->fd);
    if (e == ENOENT) {
        /* Removed or replaced between our catalog read and the open? */
        mmsi_record now;
        if (mmsi_read_record(store, a->name, &now) != MMS_ERR_CORRUPT &&
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
        mmsi_held_add(&a->held, &a->fd); /* it will hold a writer slot */
        if ((rc = mmsi_store_write(store, join_txn, a)) != MMS_OK)
            return rc;
    }
    return mmsi_handle_map(a);
}

/* Opens a (fresh from new_handle) again while a concurrent remove or
 * publish moves the name to another file between our catalog read and our
 * open: the reader retries instead of failing on a just-unlinked file. */
int mmsi_open_current(mms_array *a)
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
        a->slot = -1; /* its lock went with the descriptor */
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
    int rc = mmsi_check_args(store, name, out, "mms_array_open");
    if (rc != MMS_OK)
        return rc;
    if (flags & ~(MMS_RDONLY | MMS_RDWR) ||
        (flags & MMS_RDONLY && flags & MMS_RDWR))
        return mmsi_err(MMS_ERR_INVAL, "open '%s': flags must be MMS_RDONLY "
                        "or MMS_RDWR", name);
    if ((flags & MMS_RDWR) &&
        (rc = mmsi_store_check_writable(store, "open for writing")) != MMS_OK)
        return rc;
    mms_array *a = mmsi_handle_new(store, name);
    if (!a)
        return mmsi_err(MMS_ERR_NOMEM, "open '%s'", name);
    a->writable = (flags & MMS_RDWR) != 0;
    if ((rc = mmsi_open_current(a)) != MMS_OK) {
        mmsi_handle_free(a);
        return rc;
    }
    mmsi_handle_count(store, 1);
    *out = a;
    return MMS_OK;
}

/* Drops a's writer entry (the version may be gone: that is no error). */
static int drop_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    mms_array *a = arg;
    return mmsi_writer_del(&store->cat, txn, a->rec.id, (unsigned)a->slot);
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
    mms_array *n = mmsi_handle_new(a->store, a->name);
    if (!n)
        return mmsi_err(MMS_ERR_NOMEM, "refresh '%s'", a->name);
    n->writable = a->writable;
    int rc = mmsi_open_current(n);
    if (rc != MMS_OK) {
        mmsi_handle_free(n);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "refresh '%s': the array was "
                            "removed", a->name);
        return rc;
    }
    /* The old view stops being a writer: n writes on, with its own slot.
     * Its entry goes before its descriptor closes, or the slot would look
     * like a writer that died. */
    if (a->slot >= 0 && (rc = mmsi_store_write(a->store, drop_txn, a)) !=
                            MMS_OK) {
        mmsi_handle_free(n);
        return mmsi_err_context(rc, "refresh '%s'", a->name);
    }
    /* Swap the new file and mapping in. */
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
    a->slot = n->slot;
    a->since_ns = n->since_ns;
    mmsi_fdpool_init(&a->lock_pool, a->fd, a->writable);
    n->fd = -1;
    n->map = MAP_FAILED;
    n->path = NULL;
    mmsi_handle_free(n);
    return MMS_OK;
}
