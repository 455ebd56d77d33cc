/* names.c - the catalog operations on names: stat, remove, rename, list.
 * A name is removed from the catalog before its file is unlinked: a crash
 * between leaves an orphan file (found by check), never a name without its
 * file. */
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

int mms_stat(mms_store *store, const char *name, mms_info *info)
{
    int rc = mmsi_check_args(store, name, info, "mms_stat");
    if (rc != MMS_OK)
        return rc;
    mmsi_record rec;
    if ((rc = mmsi_read_record(store, name, &rec)) != MMS_OK)
        return rc;
    mms_info tmp;
    mmsi_rec_to_info(&rec, &tmp);
    if ((rc = mmsi_presence_state(store, name, &rec, -1, &tmp.state)) != MMS_OK)
        return mmsi_err_context(rc, "stat '%s'", name);
    *info = tmp;
    return MMS_OK;
}

typedef struct remove_ctx {
    const char *name;
    mmsi_record rec;
} remove_ctx;

static int remove_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    remove_ctx *s = arg;
    int rc = mmsi_cat_get(&store->cat, txn, s->name, &s->rec);
    if (rc == MMS_ERR_CORRUPT) {
        /* A damaged record can still be removed; its id is unknown, so its
         * blocks and file are left for 'mmstore check'. */
        s->rec.id = 0;
    } else if (rc != MMS_OK) {
        return rc;
    }
    if ((rc = mmsi_del(txn, store->cat.db_arrays, s->name, strlen(s->name),
                       s->name)) != MMS_OK)
        return rc;
    /* Two records naming one file (a damaged catalog; check reports it):
     * the file and its entries are the other name's too, and stay. */
    bool shared = false;
    if (s->rec.id && (rc = mmsi_cat_id_named(&store->cat, txn, s->name,
                                             s->rec.id, &shared)) != MMS_OK)
        return rc;
    if (shared)
        s->rec.id = 0;
    return s->rec.id ? mmsi_cat_delete_id(&store->cat, txn, s->rec.id) : MMS_OK;
}

int mms_remove(mms_store *store, const char *name)
{
    int rc = mmsi_check_args(store, name, (void *)1, "mms_remove");
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "remove")) != MMS_OK)
        return rc;
    remove_ctx s = {.name = name};
    if ((rc = mmsi_store_write(store, remove_txn, &s)) != MMS_OK)
        return mmsi_err_context(rc, "remove '%s'", name);
    if (s.rec.id) {
        /* After the commit: a crash here leaves an orphan file, never a
         * name without its file. Mappings of it stay valid. */
        int e = mmsi_datafile_unlink(store->datafd, s.rec.id);
        if (e != 0)
            return mmsi_errno(e, "remove '%s': the name is gone but its "
                              "data file %016" PRIx64 ".npy could not be "
                              "deleted", name, s.rec.id);
    }
    return MMS_OK;
}

typedef struct rename_ctx {
    const char *from, *to;
} rename_ctx;

static int rename_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    rename_ctx *r = arg;
    mmsi_record rec, other;
    int rc = mmsi_cat_get(&store->cat, txn, r->from, &rec);
    if (rc != MMS_OK)
        return rc;
    if (strcmp(r->from, r->to) == 0)
        return MMS_OK;
    rc = mmsi_cat_get(&store->cat, txn, r->to, &other);
    if (rc == MMS_OK || rc == MMS_ERR_CORRUPT)
        return mmsi_err(MMS_ERR_EXISTS, "rename '%s' to '%s': the target "
                        "name is taken", r->from, r->to);
    if (rc != MMS_ERR_NOTFOUND)
        return rc;
    if ((rc = mmsi_cat_put(&store->cat, txn, r->to, &rec)) != MMS_OK)
        return rc;
    return mmsi_del(txn, store->cat.db_arrays, r->from, strlen(r->from), r->from);
}

int mms_rename(mms_store *store, const char *from, const char *to)
{
    int rc = mmsi_check_args(store, from, (void *)1, "mms_rename");
    if (rc != MMS_OK || (rc = mmsi_check_name(to, "new name")) != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "rename")) != MMS_OK)
        return rc;
    rename_ctx r = {from, to};
    rc = mmsi_store_write(store, rename_txn, &r);
    return rc == MMS_OK ? MMS_OK
                        : mmsi_err_context(rc, "rename '%s' to '%s'", from,
                                           to);
}

#define LIST_CHUNK 256

typedef struct list_ctx {
    const char *prefix;
    size_t plen;
    char after[MMS_NAME_MAX + 1]; /* resume after this name ("" = start) */
    int n;
    bool done;
    long nbad;       /* damaged records passed over */
    char first_bad[4 * 60 + 8]; /* the first one's name, escaped */
    char names[LIST_CHUNK][MMS_NAME_MAX + 1];
    mmsi_record recs[LIST_CHUNK];
} list_ctx;

/* Collects up to LIST_CHUNK records after l->after, so that no transaction
 * is held while the caller's callback runs. */
static int list_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    list_ctx *l = arg;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->cat.db_arrays, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "listing %s", store->path);
    const char *start = l->after[0] ? l->after : l->prefix;
    MDB_val k = {strlen(start), (void *)start}, v;
    l->n = 0;
    /* LMDB refuses empty keys: an empty prefix starts at the first. */
    rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && l->after[0] && k.mv_size == strlen(l->after) &&
        memcmp(k.mv_data, l->after, k.mv_size) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    int r = MMS_OK;
    while (rc == 0 && l->n < LIST_CHUNK) {
        if (k.mv_size < l->plen || memcmp(k.mv_data, l->prefix, l->plen)) {
            rc = MDB_NOTFOUND;
            break;
        }
        if (k.mv_size > MMS_NAME_MAX || memchr(k.mv_data, 0, k.mv_size)) {
            r = mmsi_err(MMS_ERR_CORRUPT, "listing %s: a catalog key of %zu "
                         "bytes is not a valid name", store->path, k.mv_size);
            break;
        }
        char *name = l->names[l->n];
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        /* The next chunk resumes after the last key seen, good or not. */
        memcpy(l->after, name, k.mv_size + 1);
        int drc = mmsi_rec_decode(name, v.mv_data, v.mv_size,
                                  &l->recs[l->n]);
        if (drc == MMS_OK) {
            l->n++;
        } else if (drc == MMS_ERR_VERSION) {
            r = drc; /* written by a newer mmstore: not ours to list */
            break;
        } else if (l->nbad++ == 0) {
            /* One damaged record must not hide the others: passed over,
             * and named when the listing ends. */
            mmsi_escape(name, 60, l->first_bad, sizeof l->first_bad);
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (r == MMS_OK && rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "listing %s", store->path);
    l->done = rc == MDB_NOTFOUND;
    mdb_cursor_close(cur);
    return r;
}

int mms_list(mms_store *store, const char *prefix, mms_list_fn fn, void *ctx)
{
    if (!store || !fn)
        return mmsi_err(MMS_ERR_INVAL, "mms_list: NULL argument");
    if (!prefix)
        prefix = "";
    if (strlen(prefix) > MMS_NAME_MAX)
        return mmsi_err(MMS_ERR_INVAL, "mms_list: prefix longer than %d "
                        "bytes", MMS_NAME_MAX);
    list_ctx *l = calloc(1, sizeof *l);
    if (!l)
        return mmsi_err(MMS_ERR_NOMEM, "listing %s", store->path);
    l->prefix = prefix;
    l->plen = strlen(prefix);
    int rc = MMS_OK;
    do {
        if ((rc = mmsi_store_read(store, list_txn, l)) != MMS_OK)
            break;
        for (int i = 0; i < l->n && rc == MMS_OK; i++) {
            mms_info info;
            mmsi_rec_to_info(&l->recs[i], &info);
            rc = mmsi_presence_state(store, l->names[i], &l->recs[i], -1,
                                     &info.state);
            if (rc == MMS_OK)
                rc = fn(l->names[i], &info, ctx);
        }
    } while (rc == MMS_OK && !l->done);
    if (rc == MMS_OK && l->nbad)
        rc = mmsi_err(MMS_ERR_CORRUPT, "listing %s: the catalog record of "
                      "'%s'%s is damaged, so it was left out of the listing "
                      "('mmstore check --repair' removes damaged records)",
                      store->path, l->first_bad,
                      l->nbad > 1 ? " and others" : "");
    free(l);
    return rc;
}
