/* publish.c - mms_array_publish and mms_array_publish_all: staged
 * versions become their names' current versions in one catalog
 * transaction (all of them, or none); readers of the old ones keep their
 * mapping until they refresh. */
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

/* Every version of the set, in one transaction: a failure of any aborts
 * all. */
typedef struct publish_set {
    publish_ctx *p;
    size_t n;
} publish_set;

static int publish_set_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    publish_set *set = arg;
    int rc = MMS_OK;
    for (size_t i = 0; i < set->n && rc == MMS_OK; i++)
        rc = publish_txn(store, txn, &set->p[i]);
    return rc;
}

/* The checks of mms_array_publish_all, before anything is done. */
static int check_set(mms_array *const *arrays, size_t n)
{
    if (!arrays || n == 0)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_publish_all: no arrays");
    for (size_t i = 0; i < n; i++) {
        const mms_array *a = arrays[i];
        if (!a)
            return mmsi_err(MMS_ERR_INVAL, "mms_array_publish_all: array %zu "
                            "is NULL", i);
        if (!a->staged)
            return mmsi_err(MMS_ERR_INVAL, "publish '%s': the handle is not "
                            "a staged version (create it with MMS_STAGED)",
                            a->name);
        if (a->store != arrays[0]->store)
            return mmsi_err(MMS_ERR_INVAL, "publish '%s': not of the same "
                            "store handle as '%s'", a->name, arrays[0]->name);
        for (size_t k = 0; k < i; k++)
            if (arrays[k] == a || strcmp(arrays[k]->name, a->name) == 0)
                return mmsi_err(MMS_ERR_INVAL, "publish '%s': named twice "
                                "in one publish", a->name);
    }
    return MMS_OK;
}

int mms_array_publish_all(mms_array *const *arrays, size_t n)
{
    int rc = check_set(arrays, n);
    if (rc != MMS_OK)
        return rc;
    publish_ctx *p = calloc(n, sizeof *p);
    if (!p)
        return mmsi_err(MMS_ERR_NOMEM, "publishing %zu arrays", n);
    /* Durable first: readers that attach after the commit must find every
     * byte on disk and every checksum matching. Only its own handle writes
     * a staged version, so nobody else's sync can commit between the
     * hashing and the transaction. */
    for (size_t i = 0; i < n && rc == MMS_OK; i++) {
        uint64_t *hashes = NULL;
        p[i].a = arrays[i];
        rc = mmsi_check_io(arrays[i], "publish");
        if (rc == MMS_OK)
            rc = mmsi_durable_blocks(arrays[i], 0, arrays[i]->geo.nblocks,
                                     &hashes);
        p[i].hashes = hashes;
    }
    publish_set set = {p, n};
    if (rc == MMS_OK) {
        rc = mmsi_store_write(arrays[0]->store, publish_set_txn, &set);
        if (rc != MMS_OK)
            rc = n == 1 ? mmsi_err_context(rc, "publish '%s'", arrays[0]->name)
                        : mmsi_err_context(rc, "publishing %zu arrays "
                                           "(none was)", n);
    }
    int unlink_rc = MMS_OK;
    for (size_t i = 0; i < n; i++) {
        free((void *)p[i].hashes);
        if (rc != MMS_OK)
            continue;
        mms_array *a = arrays[i];
        a->staged = false;
        pthread_mutex_lock(&a->view_lock);
        a->rec = p[i].rec;
        pthread_mutex_unlock(&a->view_lock);
        /* Readers of the old version keep their mapping; the name is
         * theirs no more. */
        int e = p[i].old_id ? mmsi_datafile_unlink(a->store->datafd,
                                                   p[i].old_id)
                            : 0;
        if (e != 0 && unlink_rc == MMS_OK)
            unlink_rc = mmsi_errno(e, "publish '%s': published, but the old "
                                   "version's file %016" PRIx64 ".npy could "
                                   "not be deleted", a->name, p[i].old_id);
    }
    free(p);
    return rc != MMS_OK ? rc : unlink_rc;
}

int mms_array_publish(mms_array *array)
{
    if (!array)
        return mmsi_err(MMS_ERR_INVAL, "mms_array_publish: NULL array");
    return mms_array_publish_all(&array, 1);
}
