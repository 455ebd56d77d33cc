/* create.c - mms_array_create: a new array, or a staged version.
 *
 * Crash safety (format.md, "Order of writes"): the data file is allocated,
 * its header written and both fsynced in an unnamed file; it is linked
 * into data/ (and data/ fsynced) inside the catalog transaction that names
 * it, before that commits. A crash leaves nothing, or a whole array. */
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

typedef struct create_ctx {
    mms_array *a;
    bool committed;
    bool linked;        /* data/<id>.npy names our file (maybe uncommitted) */
    uint64_t linked_id;
} create_ctx;

/* How many ids whose files exist a create skips before it gives up. */
#define MAX_SKIPPED_IDS 100000

static int create_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    create_ctx *c = arg;
    mms_array *a = c->a;
    mmsi_record old;
    int rc = a->staged ? MMS_ERR_NOTFOUND
                       : mmsi_cat_get(&store->cat, txn, a->name, &old);
    if (rc == MMS_OK)
        return mmsi_err(MMS_ERR_EXISTS, "create '%s': the name is taken",
                        a->name);
    if (rc != MMS_ERR_NOTFOUND)
        return rc;
    uint64_t id;
    if ((rc = mmsi_meta_get_u64(&store->cat, txn, "next_id", &id)) != MMS_OK)
        return rc;
    if (id == 0 || id == UINT64_MAX)
        return mmsi_err(MMS_ERR_CORRUPT, "store %s: next id %" PRIu64
                        " is out of range", store->path, id);
    if (!c->linked) {
        /* An id whose file exists is skipped, never reused: the file is a
         * crashed create's leftover (check --repair removes it) or, with a
         * next_id gone back, a live array's. */
        int e, skipped = 0;
        while ((e = mmsi_datafile_link(store->datafd, a->fd, id)) == EEXIST &&
               skipped < MAX_SKIPPED_IDS && id < UINT64_MAX - 1) {
            id++;
            skipped++;
        }
        if (e == EEXIST)
            return mmsi_err(MMS_ERR_CORRUPT, "create '%s': data files exist "
                            "for the next %d ids of %s (its catalog is older "
                            "than its data/ directory): run 'mmstore check "
                            "--repair'", a->name, skipped, store->path);
        if (e != 0)
            return mmsi_errno(e, "create '%s': linking data file %016"
                              PRIx64 ".npy", a->name, id);
        c->linked = true;
        c->linked_id = id;
        if (fsync(store->datafd) != 0)
            return mmsi_errno(errno, "create '%s': fsync of %s/data",
                              a->name, store->path);
    } else if (c->linked_id < id) {
        /* A body run again sees the next_id it started from. */
        return mmsi_err(MMS_ERR_IO, "create '%s': next id changed during "
                        "a retried transaction", a->name);
    } else {
        id = c->linked_id;
    }
    a->rec.id = id;
    a->rec.flags = 0; /* the creator's join makes it DIRTY */
    if ((rc = mmsi_presence_join(store, txn, a, &a->rec)) != MMS_OK ||
        (rc = mmsi_meta_put_u64(&store->cat, txn, "next_id", id + 1)) != MMS_OK ||
        (rc = mmsi_blocks_init_zero(&store->cat, txn, &a->rec,
                                    a->geo.nbytes)) != MMS_OK)
        return rc;
    return mmsi_own_put(store, txn, a, &a->rec);
}

int mms_array_create(mms_store *store, const char *name, mms_dtype dtype,
                     int ndim, const uint64_t *shape, unsigned flags,
                     mms_array **out)
{
    if (out)
        *out = NULL;
    int rc = mmsi_check_args(store, name, out, "mms_array_create");
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

    mms_array *a = mmsi_handle_new(store, name);
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
    if ((rc = mmsi_check_free_space(store->datafd, a->geo.file_size,
                                    "create", name, store->path)) != MMS_OK)
        goto fail;

    if ((rc = mmsi_datafile_make_temp(store->datafd, store->shared_group, store->path, name, &a->fd)) != MMS_OK)
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
    mmsi_held_add(&a->held, &a->fd); /* it will hold a writer slot */
    if ((rc = mmsi_handle_map(a)) != MMS_OK)
        goto fail;
    if ((rc = mmsi_store_write(store, create_txn, &c)) != MMS_OK)
        goto fail;
    c.committed = true;
    if (!(a->path = mmsi_data_path(store->path, a->rec.id))) {
        /* Committed: the array exists; only our handle failed. */
        rc = mmsi_err(MMS_ERR_NOMEM, "create '%s'", name);
        goto fail;
    }
    mmsi_handle_count(store, 1);
    *out = a;
    return MMS_OK;

fail:
    if (c.linked && !c.committed) {
        mmsi_datafile_unlink(store->datafd, c.linked_id);
    }
    mmsi_handle_free(a);
    return rc;
}
