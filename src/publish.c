/* publish.c - mms_array_publish: a staged version becomes the name's
 * current version in one catalog transaction; readers of the old one keep
 * their mapping until they refresh. */
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
    int rc = mmsi_own_get(store, txn, a, &p->rec);
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_blocks_put(&store->cat, txn, &p->rec, 0, a->geo.nblocks,
                              p->hashes)) != MMS_OK)
        return rc;
    mmsi_record old;
    p->old_id = 0;
    rc = mmsi_cat_get(&store->cat, txn, a->name, &old);
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
        if ((rc = mmsi_attrs_copy(&store->cat, txn, old.id, p->rec.id)) != MMS_OK ||
            (rc = mmsi_cat_delete_id(&store->cat, txn, old.id)) != MMS_OK)
            return rc;
    } else if (rc == MMS_ERR_NOTFOUND) {
        p->rec.generation = 1;
    } else {
        return rc;
    }
    p->rec.modified_ns = mmsi_now_ns();
    if ((rc = mmsi_staged_del(&store->cat, txn, p->rec.id)) != MMS_OK)
        return rc;
    return mmsi_cat_put(&store->cat, txn, a->name, &p->rec);
}

int mms_array_publish(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_publish: NULL array");
    mms_array *a = array;
    if (!a->staged)
        return mmsi_err(MMS_ERR_INVAL, "publish '%s': the handle is not a "
                        "staged version (create it with MMS_STAGED)", a->name);
    int rc = mmsi_check_io(a, "publish");
    if (rc != MMS_OK)
        return rc;
    /* Durable first: readers that attach after the commit must find every
     * byte on disk and every checksum matching. */
    /* Only this handle writes a staged version: nobody else's sync can
     * commit between the hashing and publish_txn. */
    uint64_t *hashes;
    rc = mmsi_durable_blocks(a, 0, a->geo.nblocks, &hashes);
    if (rc != MMS_OK)
        return rc;
    publish_ctx p = {.a = a, .hashes = hashes};
    rc = mmsi_store_write(a->store, publish_txn, &p);
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
        int e = mmsi_datafile_unlink(a->store->datafd, p.old_id);
        if (e != 0)
            return mmsi_errno(e, "publish '%s': published, but the old "
                              "version's file %016" PRIx64 ".npy could not "
                              "be deleted", a->name, p.old_id);
    }
    return MMS_OK;
}
