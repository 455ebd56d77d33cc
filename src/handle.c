/* handle.c - an array handle's life (new, map, free, counted by its
 * store) and what every operation on one checks: its arguments, and that
 * the catalog record it writes to is still its own. */
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

void mmsi_handle_count(mms_store *store, int delta)
{
    pthread_mutex_lock(&store->arrays_lock);
    store->narrays += delta;
    pthread_mutex_unlock(&store->arrays_lock);
}

void mmsi_handle_free(mms_array *a)
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

mms_array *mmsi_handle_new(mms_store *store, const char *name)
{
    mms_array *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = store;
    a->fd = -1;
    a->slot = -1;
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
int mmsi_handle_map(mms_array *a)
{
    a->lock_pool.source = a->fd;
    a->lock_pool.writable = a->writable;
    size_t len = (size_t)(a->geo.file_size - MMSI_HEADER_SIZE);
    int prot = PROT_READ | (a->writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, len, prot, MAP_SHARED, a->fd, MMSI_HEADER_SIZE);
    if (p == MAP_FAILED)
        return mmsi_errno(errno, "mapping '%s' (%s, %zu bytes)", a->name,
                          a->path ? a->path : "its new data file", len);
    a->map = p;
    a->map_len = len;
    return MMS_OK;
}

int mmsi_check_args(mms_store *store, const char *name, void *out,
                      const char *what)
{
    if (!store || !out)
        return mmsi_err(MMS_ERR_INVAL, "%s: NULL argument", what);
    return mmsi_check_name(name, "name");
}

typedef struct stat_ctx {
    const char *name;
    mmsi_record rec;
} stat_ctx;

static int stat_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    stat_ctx *s = arg;
    return mmsi_cat_get(&store->cat, txn, s->name, &s->rec);
}

int mmsi_read_record(mms_store *store, const char *name, mmsi_record *rec)
{
    stat_ctx s = {.name = name};
    int rc = mmsi_store_read(store, stat_txn, &s);
    *rec = s.rec;
    return rc;
}

/* The record a's writes belong to: its staged entry, or the record of its
 * name, which must still be a's version (its file). Otherwise the handle is
 * stale and its writes are not the array's. Another handle may have resized
 * the version since a looked: the record then has the newer shape, which is
 * the array's. */
int mmsi_own_get(mms_store *store, MDB_txn *txn, mms_array *a,
                   mmsi_record *rec)
{
    int rc;
    if (a->staged) {
        rc = mmsi_staged_get(&store->cat, txn, a->rec.id, a->name, rec);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "staged version of '%s' was "
                            "discarded", a->name);
    } else {
        rc = mmsi_cat_get(&store->cat, txn, a->name, rec);
        if (rc == MMS_ERR_NOTFOUND)
            return mmsi_err(MMS_ERR_STALE, "'%s' was removed: writes "
                            "through this handle are lost", a->name);
    }
    if (rc != MMS_OK)
        return rc;
    if (rec->id != a->rec.id)
        return mmsi_err(MMS_ERR_STALE, "'%s' now names another version: "
                        "writes through this handle are lost", a->name);
    if (rec->ndim != a->rec.ndim)
        return mmsi_err(MMS_ERR_CORRUPT, "'%s': the catalog says %d "
                        "dimensions, the open version has %d", a->name,
                        rec->ndim, a->rec.ndim);
    return MMS_OK;
}

int mmsi_own_put(mms_store *store, MDB_txn *txn, mms_array *a,
                   const mmsi_record *rec)
{
    return a->staged ? mmsi_staged_put(&store->cat, txn, a->name, rec)
                     : mmsi_cat_put(&store->cat, txn, a->name, rec);
}
