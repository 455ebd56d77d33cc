/* cache.c - get-or-create: one process computes, the others wait, all
 * attach. Built only from public calls: a named lock elects the computer
 * (and passes to a waiter if it dies: the kernel drops its lock), and a
 * staged version published at the end means nobody ever attaches to a
 * half-filled array. */
#include "objects.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

/* The existing array must be what the caller would have made. */
static int check_match(mms_array *a, mms_dtype dtype, int ndim,
                       const uint64_t *shape)
{
    mms_info info;
    int rc = mms_array_info(a, &info);
    if (rc != MMS_OK)
        return rc;
    bool same = info.dtype == dtype && info.ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = info.shape[i] == shape[i];
    if (!same)
        return mmsi_err(MMS_ERR_EXISTS, "get-or-create '%s': it exists with "
                        "another dtype or shape", a->name);
    return MMS_OK;
}

static int open_matching(mms_store *store, const char *name, mms_dtype dtype,
                         int ndim, const uint64_t *shape, unsigned flags,
                         mms_array **out)
{
    int rc = mms_array_open(store, name, flags, out);
    if (rc == MMS_OK && (rc = check_match(*out, dtype, ndim, shape)) !=
                            MMS_OK) {
        mms_array_close(*out);
        *out = NULL;
    }
    return rc;
}

int mms_array_get_or_create(mms_store *store, const char *name,
                            mms_dtype dtype, int ndim, const uint64_t *shape,
                            unsigned flags, mms_fill_fn fill, void *ctx,
                            int timeout_ms, mms_array **out)
{
    if (out)
        *out = NULL;
    if (!store || !out || !fill || (ndim > 0 && !shape))
        return mmsi_err(MMS_ERR_INVAL, "mms_array_get_or_create: NULL "
                        "argument");
    int rc = open_matching(store, name, dtype, ndim, shape, flags, out);
    if (rc != MMS_ERR_NOTFOUND)
        return rc;
    /* The lock key is derived from the name (keys and names have the same
     * length limit, so the name itself plus a prefix may not fit). */
    char key[64];
    snprintf(key, sizeof key, "mmstore.get-or-create.%016llx",
             (unsigned long long)XXH3_64bits(name, strlen(name)));
    mms_lock *lock;
    if ((rc = mms_lock_named(store, key, MMS_LOCK_EXCLUSIVE, timeout_ms,
                             &lock)) != MMS_OK)
        return mmsi_err_context(rc, "get-or-create '%s': waiting for the "
                                "process computing it", name);
    /* Whoever held the lock before us may have published it. */
    rc = open_matching(store, name, dtype, ndim, shape, flags, out);
    if (rc == MMS_ERR_NOTFOUND) {
        mms_array *staged;
        rc = mms_array_create(store, name, dtype, ndim, shape, MMS_STAGED,
                              &staged);
        if (rc == MMS_OK) {
            rc = fill(staged, ctx);
            if (rc == MMS_OK)
                rc = mms_array_publish(staged);
            else
                mmsi_err(rc, "get-or-create '%s': the fill callback "
                         "returned %d", name, rc);
            int crc = mms_array_close(staged); /* discards if unpublished */
            if (rc == MMS_OK)
                rc = crc;
        }
        if (rc == MMS_OK)
            rc = open_matching(store, name, dtype, ndim, shape, flags, out);
    }
    mms_unlock(lock);
    return rc;
}
