/* sync.c - making writes through the mapping durable and recording their
 * checksums: msync of whole blocks first, then the catalog transaction
 * that records their hashes (a block's checksum only ever describes bytes
 * that are on disk).
 *
 * Blocks are those of the version's current shape, which another handle
 * may have changed since this one looked (a resize of the same file is
 * not a lost write): rows are clipped to the current shape, and a block
 * that reaches past this handle's mapping is read through a temporary
 * one. */
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

/* Data bytes [0, nbytes) of a's file, readable: a's own mapping when it
 * reaches that far, else a temporary read-only one. */
typedef struct span {
    const unsigned char *data;
    void *tmp;
    size_t tmp_len;
} span;

static int span_open(mms_array *a, uint64_t nbytes, span *sp)
{
    sp->tmp = NULL;
    sp->tmp_len = 0;
    if (nbytes <= a->map_len) {
        sp->data = a->map;
        return MMS_OK;
    }
    size_t len = (size_t)nbytes;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, a->fd, MMSI_HEADER_SIZE);
    if (p == MAP_FAILED)
        return mmsi_errno(errno, "sync '%s': mapping %zu bytes of %s", a->name,
                          len, a->path);
    sp->data = sp->tmp = p;
    sp->tmp_len = len;
    return MMS_OK;
}

static void span_close(span *sp)
{
    if (sp->tmp)
        munmap(sp->tmp, sp->tmp_len);
    sp->tmp = NULL;
}

/* msync(MS_SYNC) of bytes [start, end) of sp, page-aligned outward. */
static int span_msync(mms_array *a, const span *sp, uint64_t start,
                      uint64_t end)
{
    if (end <= start)
        return MMS_OK;
    uint64_t s = start & ~(uint64_t)(MMSI_PAGE - 1);
    if (msync((void *)(sp->data + s), (size_t)(end - s), MS_SYNC) != 0)
        return mmsi_io_failed(a, errno, "msync");
    return MMS_OK;
}

int mmsi_io_failed(mms_array *a, int errnum, const char *what)
{
    int none = 0;
    __atomic_compare_exchange_n(&a->io_error, &none, errnum ? errnum : EIO,
                                false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return mmsi_err(MMS_ERR_IO, "'%s': %s of %s failed: %s; the data may not "
                    "be on disk, and this handle records nothing more as "
                    "synced (close it: the array stays dirty until a verify "
                    "settles it)", a->name, what, a->path ? a->path : "its data "
                    "file", strerror(errnum ? errnum : EIO));
}

int mmsi_check_io(mms_array *a, const char *op)
{
    int e = __atomic_load_n(&a->io_error, __ATOMIC_SEQ_CST);
    if (e == 0)
        return MMS_OK;
    return mmsi_err(MMS_ERR_IO, "%s '%s': an earlier write-back of %s failed "
                    "(%s): the kernel may have dropped those writes, so "
                    "nothing more is recorded as synced through this handle",
                    op, a->name, a->path ? a->path : "its data file",
                    strerror(e));
}

int mmsi_msync_bytes(mms_array *a, uint64_t start, uint64_t end)
{
    span sp = {.data = a->map};
    return span_msync(a, &sp, start, end);
}

/* Makes blocks [first, first + count) of data (nbytes long) durable and
 * hashes them, the two at once: writeback of the dirty pages starts
 * (sync_file_range), the blocks are hashed while the disk works, and
 * msync(MS_SYNC) then waits for the writeback and flushes the device. The
 * hashes describe the bytes msync wrote unless someone changed them
 * meanwhile; that writer's own sync records them later (sync_txn hashes
 * again if it committed first). *hashes: free() it. */
static int durable_span(mms_array *a, const span *sp, uint64_t nbytes,
                        uint64_t first, uint64_t count, uint64_t **hashes)
{
    *hashes = NULL;
    if (count == 0)
        return MMS_OK;
    uint64_t bs = a->rec.block_size;
    uint64_t start = first * bs, end = (first + count) * bs;
    if (end > nbytes)
        end = nbytes;
    /* Only a hint: a file system without it still gets the msync. */
    (void)sync_file_range(a->fd, (off64_t)(MMSI_HEADER_SIZE + start),
                          (off64_t)(end - start), SYNC_FILE_RANGE_WRITE);
    int rc = mmsi_blocks_hash(sp->data, nbytes, bs, first, count, hashes);
    if (rc == MMS_OK)
        rc = span_msync(a, sp, start, end);
    if (rc != MMS_OK) {
        free(*hashes);
        *hashes = NULL;
    }
    return rc;
}

int mmsi_durable_blocks(mms_array *a, uint64_t first, uint64_t count,
                        uint64_t **hashes)
{
    span sp = {.data = a->map};
    return durable_span(a, &sp, a->geo.nbytes, first, count, hashes);
}

typedef struct sync_ctx {
    mms_array *a;
    uint64_t first_row, end_row; /* asked for, in rows of a's view */
    uint64_t first_block, nblocks;
    const uint64_t *hashes; /* of those blocks, as they went to disk */
    int64_t stamp;     /* the record's modified_ns before they were hashed */
    bool closing;      /* leave as a writer too */
    mmsi_record rec;   /* the record: read before hashing, then committed */
    mmsi_geometry geo; /* its geometry */
} sync_ctx;

/* The blocks of s->rec's geometry that rows [first_row, end_row) touch,
 * the rows clipped to its shape. */
static void blocks_of(sync_ctx *s)
{
    uint64_t end_row = s->end_row < s->geo.rows ? s->end_row : s->geo.rows;
    uint64_t start = s->first_row * s->geo.row_bytes;
    uint64_t end = end_row * s->geo.row_bytes;
    uint64_t bs = s->rec.block_size;
    s->first_block = s->nblocks = 0;
    if (end > start) {
        s->first_block = start / bs;
        s->nblocks = (end - 1) / bs + 1 - s->first_block;
    }
}

static int stamp_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    sync_ctx *s = arg;
    int rc = mmsi_own_get(store, txn, s->a, &s->rec);
    if (rc == MMS_OK) {
        s->stamp = s->rec.modified_ns;
        rc = mmsi_rec_geometry(&s->rec, &s->geo);
    }
    return rc;
}

static int sync_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    sync_ctx *s = arg;
    mms_array *a = s->a;
    int rc = mmsi_own_get(store, txn, a, &s->rec);
    if (rc != MMS_OK)
        return rc;
    if (s->rec.modified_ns != s->stamp) {
        /* Another writer's sync (or a resize) committed since we hashed:
         * its checksums may describe bytes newer than ours, and the last
         * commit must leave the newest. Hash again here, under the
         * catalog's writer lock, as it did, in the shape it left. */
        if ((rc = mmsi_rec_geometry(&s->rec, &s->geo)) != MMS_OK)
            return rc;
        blocks_of(s);
        span sp;
        if (s->nblocks && (rc = span_open(a, s->geo.nbytes, &sp)) == MMS_OK) {
            rc = mmsi_blocks_update(&store->cat, txn, &s->rec, sp.data,
                                    s->geo.nbytes, s->first_block,
                                    s->first_block + s->nblocks - 1);
            span_close(&sp);
        }
    } else {
        rc = mmsi_blocks_put(&store->cat, txn, &s->rec, s->first_block,
                             s->nblocks, s->hashes);
    }
    if (rc != MMS_OK)
        return rc;
    bool alive;
    if (s->closing)
        rc = mmsi_presence_leave(store, txn, a, &s->rec);
    else if (a->slot >= 0)
        rc = mmsi_presence_reap(store, txn, a->fd, a->slot, &s->rec, &alive);
    if (rc != MMS_OK)
        return rc;
    s->rec.modified_ns = mmsi_now_ns();
    return mmsi_own_put(store, txn, a, &s->rec);
}

int mmsi_sync_rows(mms_array *a, uint64_t first_row, uint64_t nrows,
                   bool closing)
{
    if (!a->writable)
        return mmsi_err(MMS_ERR_RDONLY, "sync '%s': the handle is read-only",
                        a->name);
    int rc = mmsi_check_io(a, closing ? "close" : "sync");
    if (rc != MMS_OK)
        return rc;
    sync_ctx s = {.a = a, .closing = closing, .first_row = first_row};
    rc = mmsi_store_read(a->store, stamp_txn, &s);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "sync '%s'", a->name);
    /* Rows count in the version's current shape: another handle may have
     * resized it since this one looked. */
    uint64_t rows = s.geo.rows;
    if (nrows == 0)
        nrows = first_row < rows ? rows - first_row : 0;
    if (first_row > rows || mmsi_add_overflow(first_row, nrows, &s.end_row) ||
        s.end_row > rows)
        return mmsi_err(MMS_ERR_RANGE, "sync '%s': rows %" PRIu64 "+%" PRIu64
                        " are past the end (%" PRIu64 " rows)", a->name,
                        first_row, nrows, rows);
    blocks_of(&s);
    uint64_t *hashes = NULL;
    if (s.nblocks) {
        /* Whole blocks are synced and hashed: a block's checksum must only
         * ever describe bytes that are on disk. */
        span sp;
        if ((rc = span_open(a, s.geo.nbytes, &sp)) != MMS_OK)
            return rc;
        rc = durable_span(a, &sp, s.geo.nbytes, s.first_block, s.nblocks,
                          &hashes);
        span_close(&sp);
        if (rc != MMS_OK)
            return rc;
        s.hashes = hashes;
    }
    rc = mmsi_store_write(a->store, sync_txn, &s);
    free(hashes);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "sync '%s'", a->name);
    pthread_mutex_lock(&a->view_lock);
    a->rec.root = s.rec.root;
    a->rec.modified_ns = s.rec.modified_ns;
    a->rec.flags = s.rec.flags;
    pthread_mutex_unlock(&a->view_lock);
    if (closing) {
        mmsi_slot_unlock(a->fd, (unsigned)a->slot);
        a->slot = -1;
    }
    return MMS_OK;
}

int mms_array_sync_range(mms_array *array, uint64_t first_row,
                         uint64_t nrows)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_sync_range: NULL array");
    return mmsi_sync_rows(array, first_row, nrows, false);
}

int mms_array_sync(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_sync: NULL array");
    return mmsi_sync_rows(array, 0, 0, false);
}
