/* sync.c - making writes through the mapping durable and recording their
 * checksums: msync of whole blocks first, then the catalog transaction
 * that records their hashes (a block's checksum only ever describes bytes
 * that are on disk). */
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
    int rc = mmsi_own_get(store, txn, s->a, &s->rec);
    if (rc == MMS_OK)
        s->stamp = s->rec.modified_ns;
    return rc;
}

static int sync_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    sync_ctx *s = arg;
    mms_array *a = s->a;
    int rc = mmsi_own_get(store, txn, a, &s->rec);
    if (rc != MMS_OK)
        return rc;
    /* Another writer's sync committed since we hashed: its checksums may
     * describe bytes newer than ours, and the last commit must leave the
     * newest. Hash again here, under the writer lock, as it did. */
    if (s->rec.modified_ns != s->stamp)
        rc = mmsi_blocks_update(&store->cat, txn, &s->rec, a->map, a->geo.nbytes,
                                s->first_block,
                                s->first_block + s->nblocks - 1);
    else
        rc = mmsi_blocks_put(&store->cat, txn, &s->rec, s->first_block,
                             s->nblocks, s->hashes);
    if (rc != MMS_OK)
        return rc;
    if (s->closing) {
        /* Converting our shared lock to exclusive succeeds only when no
         * other writer holds the byte: then nobody else may have unsynced
         * writes, and the array is clean. Openers lock before they look,
         * so none can slip in between. */
        if (mmsi_writer_lock(a->fd, F_WRLCK, false) == 0)
            s->rec.flags &= ~MMSI_REC_DIRTY;
        else
            /* Others remain. Leave now, inside the transaction: holding
             * the byte until after the commit would let another closing
             * writer's transaction see us and leave DIRTY set for good. */
            mmsi_writer_lock(a->fd, F_UNLCK, false);
    }
    s->rec.modified_ns = mmsi_now_ns();
    return mmsi_own_put(store, txn, a, &s->rec);
}

/* msync of data bytes [start, end), page-aligned outward. */
int mmsi_msync_bytes(mms_array *a, uint64_t start, uint64_t end)
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
int mmsi_durable_blocks(mms_array *a, uint64_t first, uint64_t count,
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
        rc = mmsi_msync_bytes(a, start, end);
    if (rc != MMS_OK) {
        free(*hashes);
        *hashes = NULL;
    }
    return rc;
}

int mmsi_sync_rows(mms_array *a, uint64_t first_row, uint64_t nrows,
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
        int rc = mmsi_store_read(a->store, stamp_txn, &s);
        if (rc != MMS_OK)
            return mmsi_err_context(rc, "sync '%s'", a->name);
        rc = mmsi_durable_blocks(a, s.first_block, s.nblocks, &hashes);
        if (rc != MMS_OK)
            return rc;
        s.hashes = hashes;
    }
    int rc = mmsi_store_write(a->store, sync_txn, &s);
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
    return mmsi_sync_rows(array, first_row, nrows, false);
}

int mms_array_sync(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_sync: NULL array");
    return mmsi_sync_rows(array, 0, 0, false);
}
