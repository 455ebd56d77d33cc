/* array.c - access to an open array (its data, path, info, pwrite) and
 * closing it: a writer's last full sync, or discarding a staged version
 * that was never published. */
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

typedef struct discard_ctx {
    uint64_t id;
} discard_ctx;

static int discard_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    discard_ctx *d = arg;
    int rc = mmsi_staged_del(&store->cat, txn, d->id);
    return rc == MMS_OK ? mmsi_cat_delete_id(&store->cat, txn, d->id) : rc;
}

/* A staged version closed before publishing is abandoned: its catalog
 * entries first, then its file. */
static int discard_staged(mms_array *a)
{
    discard_ctx d = {a->rec.id};
    int rc = mmsi_store_write(a->store, discard_txn, &d);
    if (rc != MMS_OK)
        return mmsi_err_context(rc, "discarding the staged version of '%s'",
                                a->name);
    int e = mmsi_datafile_unlink(a->store->datafd, a->rec.id);
    if (e != 0)
        return mmsi_errno(e, "discarding the staged version of '%s': "
                          "deleting %016" PRIx64 ".npy", a->name, a->rec.id);
    return MMS_OK;
}

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
    else if (array->writable && array->slot >= 0)
        rc = mmsi_sync_rows(array, 0, 0, true);
    mms_store *store = array->store;
    mmsi_handle_free(array);
    mmsi_handle_count(store, -1);
    return rc;
}
