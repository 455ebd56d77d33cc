/* resize.c - mms_array_resize: growing or shrinking axis 0. Capacity grows
 * geometrically; a file is never truncated while it may be mapped. */
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

typedef struct resize_ctx {
    mms_array *a;
    uint64_t rows;       /* asked for */
    mmsi_record rec;     /* the new record */
    mmsi_geometry geo;   /* the new geometry */
    mmsi_record before;  /* the record the resize started from */
} resize_ctx;

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

/* The new record and geometry for r->rows rows from the current record:
 * capacity grows geometrically, so appending row by row costs amortised
 * O(1); the exact size when that would overflow. */
static int new_shape(resize_ctx *r, const mmsi_record *cur)
{
    r->rec = *cur;
    r->rec.shape[0] = r->rows;
    if (r->rows > cur->capacity_rows) {
        uint64_t cap = cur->capacity_rows + cur->capacity_rows / 2;
        r->rec.capacity_rows = cap > r->rows ? cap : r->rows;
        if (mmsi_rec_geometry(&r->rec, &r->geo) != MMS_OK)
            r->rec.capacity_rows = r->rows;
    }
    int rc = mmsi_rec_geometry(&r->rec, &r->geo);
    return rc == MMS_OK ? rc : mmsi_err_context(rc, "resize '%s' to %" PRIu64
                                                " rows", r->a->name, r->rows);
}

/* Makes the file and a's mapping hold the new capacity. */
static int grow_file(resize_ctx *r, const mmsi_geometry *cur)
{
    mms_array *a = r->a;
    if (r->geo.file_size > cur->file_size) {
        struct stat st;
        uint64_t have = fstat(a->fd, &st) == 0 ? (uint64_t)st.st_blocks * 512
                                                : 0;
        int rc;
        if (r->geo.file_size > have &&
            (rc = mmsi_check_free_space(a->store->datafd,
                                        r->geo.file_size - have, "resize",
                                        a->name, a->store->path)) != MMS_OK)
            return rc;
        int e = posix_fallocate(a->fd, 0, (off_t)r->geo.file_size);
        if (e != 0)
            return mmsi_errno(e, "resize '%s': allocating %" PRIu64
                              " bytes", a->name, r->geo.file_size);
    }
    size_t len = (size_t)(r->geo.file_size - MMSI_HEADER_SIZE);
    if (len > a->map_len) {
        void *p = mremap(a->map, a->map_len, len, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return mmsi_errno(errno, "resize '%s': remapping %zu bytes",
                              a->name, len);
        a->map = p;
        a->map_len = len;
    }
    return MMS_OK;
}

/* The whole resize but the header, inside the catalog's write transaction:
 * the current record (which another handle may have resized since this
 * one looked) says which rows are new, so no row another writer has is
 * ever zeroed. The file work is idempotent, as a body run again must be. */
static int resize_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    resize_ctx *r = arg;
    mms_array *a = r->a;
    mmsi_record cur;
    mmsi_geometry cg;
    int rc = mmsi_own_get(store, txn, a, &cur);
    if (rc != MMS_OK || (rc = mmsi_rec_geometry(&cur, &cg)) != MMS_OK ||
        (rc = new_shape(r, &cur)) != MMS_OK || (rc = grow_file(r, &cg)) != MMS_OK)
        return rc;
    r->before = cur;
    uint64_t bs = cur.block_size;
    uint64_t old_nbytes = cg.nbytes, new_nbytes = r->geo.nbytes;
    if (new_nbytes > old_nbytes) {
        /* Rows past an earlier shrink still hold old bytes: new rows must
         * read as zero. Freshly allocated space already does. */
        uint64_t old_cap = cg.file_size - MMSI_HEADER_SIZE;
        uint64_t zend = new_nbytes < old_cap ? new_nbytes : old_cap;
        if ((rc = zero_bytes(a, old_nbytes, zend)) != MMS_OK)
            return rc;
    }
    /* The blocks re-hashed below must be on disk before their checksums
     * are: sync the boundary block and everything new. */
    uint64_t lo = old_nbytes < new_nbytes ? old_nbytes : new_nbytes;
    if ((rc = mmsi_msync_bytes(a, lo / bs * bs, new_nbytes)) != MMS_OK)
        return rc;
    uint64_t new_blocks = r->geo.nblocks;
    if (new_nbytes < old_nbytes) {
        rc = mmsi_blocks_drop(&store->cat, txn, &r->rec, new_blocks,
                              cg.nblocks);
        /* The new last block lost its tail: re-hash it. */
        if (rc == MMS_OK && new_nbytes % bs)
            rc = mmsi_blocks_update(&store->cat, txn, &r->rec, a->map,
                                    new_nbytes, new_blocks - 1,
                                    new_blocks - 1);
    } else if (new_nbytes > old_nbytes) {
        rc = mmsi_blocks_update(&store->cat, txn, &r->rec, a->map, new_nbytes,
                                old_nbytes / bs, new_blocks - 1);
    }
    if (rc != MMS_OK)
        return rc;
    r->rec.modified_ns = mmsi_now_ns();
    r->rec.flags |= MMSI_REC_RESIZING;
    return mmsi_own_put(store, txn, a, &r->rec);
}

/* The header could not be written: the shape goes back to what it was,
 * with its checksums, unless the array moved on meanwhile. RESIZING stays,
 * so an open that finds a header left half-way rewrites it from the
 * catalog. Rows the resize zeroed lie past the old shape: not the
 * array's. */
static int unresize_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    resize_ctx *r = arg;
    mms_array *a = r->a;
    mmsi_record cur;
    int rc = mmsi_own_get(store, txn, a, &cur);
    if (rc != MMS_OK)
        return rc;
    if (cur.shape[0] != r->rec.shape[0] || cur.modified_ns != r->rec.modified_ns)
        return MMS_OK; /* another resize or sync since: it is theirs now */
    mmsi_geometry old_g, new_g;
    if ((rc = mmsi_rec_geometry(&r->before, &old_g)) != MMS_OK ||
        (rc = mmsi_rec_geometry(&cur, &new_g)) != MMS_OK)
        return rc;
    uint64_t bs = cur.block_size;
    cur.shape[0] = r->before.shape[0];
    if (old_g.nbytes < new_g.nbytes) {
        rc = mmsi_blocks_drop(&store->cat, txn, &cur, old_g.nblocks,
                              new_g.nblocks);
        if (rc == MMS_OK && old_g.nbytes % bs)
            rc = mmsi_blocks_update(&store->cat, txn, &cur, a->map,
                                    old_g.nbytes, old_g.nblocks - 1,
                                    old_g.nblocks - 1);
    } else if (old_g.nbytes > new_g.nbytes) {
        rc = mmsi_blocks_update(&store->cat, txn, &cur, a->map, old_g.nbytes,
                                new_g.nbytes / bs, old_g.nblocks - 1);
    }
    if (rc != MMS_OK)
        return rc;
    cur.modified_ns = mmsi_now_ns();
    r->rec = cur;
    return mmsi_own_put(store, txn, a, &cur);
}

/* The header now says what the catalog says: clear RESIZING, unless the
 * array moved on meanwhile (another resize owns the flag then). */
static int resized_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    resize_ctx *r = arg;
    mmsi_record cur;
    int rc = mmsi_own_get(store, txn, r->a, &cur);
    if (rc != MMS_OK)
        return rc == MMS_ERR_STALE ? MMS_OK : rc;
    if (cur.ndim == 0 || cur.shape[0] != r->rec.shape[0] ||
        !(cur.flags & MMSI_REC_RESIZING))
        return MMS_OK;
    cur.flags &= ~MMSI_REC_RESIZING;
    r->rec = cur;
    return mmsi_own_put(store, txn, r->a, &cur);
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
    /* Three steps, so that a crash anywhere leaves a consistent array: the
     * catalog commits the new shape marked RESIZING; the header follows;
     * the mark goes. An open that finds the mark and an old header
     * rewrites the header from the catalog (recheck_header). */
    resize_ctx r = {.a = a, .rows = rows};
    int rc = mmsi_store_write(a->store, resize_txn, &r);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "resize '%s'", a->name);
    pthread_mutex_lock(&a->view_lock);
    a->rec = r.rec;
    pthread_mutex_unlock(&a->view_lock);
    a->geo = r.geo;
    if ((rc = mmsi_npy_rewrite(a->fd, &r.rec)) != MMS_OK) {
        /* A failed call changes nothing visible: the catalog's shape goes
         * back (and the next open rewrites the header from it). */
        if (rc == MMS_ERR_IO)
            /* fdatasync writes back the file's data pages too: after it
             * failed, those may be lost (sticky, as a failed msync). */
            __atomic_store_n(&a->io_error, EIO, __ATOMIC_SEQ_CST);
        char why[512];
        snprintf(why, sizeof why, "%s", mms_errmsg());
        int back = mmsi_store_write(a->store, unresize_txn, &r);
        if (back == MMS_OK) {
            pthread_mutex_lock(&a->view_lock);
            a->rec = r.rec;
            pthread_mutex_unlock(&a->view_lock);
            mmsi_rec_geometry(&a->rec, &a->geo);
        }
        return mmsi_err(rc, "resize '%s': %s (%s)", a->name, why,
                        back == MMS_OK ? "the shape is as it was"
                                       : "the catalog has the new shape; the "
                                         "next open repairs the header");
    }
    /* Clearing the mark only tidies: the shape and header agree already,
     * and an open that finds the mark with an agreeing header does
     * nothing. A failure here is no failure of the resize. */
    mmsi_store_write(a->store, resized_txn, &r);
    pthread_mutex_lock(&a->view_lock);
    a->rec = r.rec;
    pthread_mutex_unlock(&a->view_lock);
    return MMS_OK;
}
