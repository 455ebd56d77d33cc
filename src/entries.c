/* entries.c - what the catalog holds, entry by entry (format.md): the
 * records of arrays and staged versions, meta values, attributes copied
 * to a new version, everything of a version deleted, who names an id, and
 * the writers of each version. Bodies of transactions that catalog.c
 * runs; they use its mmsi_put/mmsi_del (the map-full protocol). */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

int mmsi_cat_get(mmsi_cat *cat, MDB_txn *txn, const char *name,
                 mmsi_record *rec)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, cat->db_arrays, &k, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "no array named '%s' in %s", name,
                        cat->path);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: reading '%s'", name);
    return mmsi_rec_decode(name, v.mv_data, v.mv_size, rec);
}

int mmsi_cat_put(mmsi_cat *cat, MDB_txn *txn, const char *name,
                 const mmsi_record *rec)
{
    unsigned char buf[MMSI_REC_FIXED + 8 * MMS_MAX_NDIM + 8];
    mmsi_rec_encode(rec, buf);
    return mmsi_put(txn, cat->db_arrays, name, strlen(name), buf,
                    mmsi_rec_size(rec->ndim), name);
}

/* Deletes every entry of db whose key starts with the 8-byte big-endian
 * id. */
static int delete_prefix(MDB_txn *txn, MDB_dbi dbi, uint64_t id,
                         const char *what)
{
    unsigned char prefix[8];
    mmsi_put_be64(prefix, id);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: %s", what);
    MDB_val k = {8, prefix}, v;
    int r = MMS_OK;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size >= 8 && memcmp(k.mv_data, prefix, 8) == 0) {
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        /* Re-seek rather than trust the cursor's position after a delete
         * of the last entry. */
        k.mv_size = 8;
        k.mv_data = prefix;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    if (rc == MDB_MAP_FULL)
        r = MMSI_MAP_FULL_RETRY;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "catalog: deleting %s", what);
    mdb_cursor_close(cur);
    return r;
}

int mmsi_cat_delete_id(mmsi_cat *cat, MDB_txn *txn, uint64_t id)
{
    int rc = delete_prefix(txn, cat->db_blocks, id, "block checksums");
    if (rc == MMS_OK)
        rc = delete_prefix(txn, cat->db_attrs, id, "attributes");
    if (rc == MMS_OK && cat->has_writers)
        rc = delete_prefix(txn, cat->db_writers, id, "writers");
    return rc;
}

int mmsi_meta_get_u64(mmsi_cat *cat, MDB_txn *txn, const char *key,
                      uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, cat->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "catalog of %s has no '%s' entry",
                        cat->path, key);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog of %s: reading '%s'", cat->path,
                             key);
    if (v.mv_size == 4)
        *out = mmsi_get_le32(v.mv_data);
    else if (v.mv_size == 8)
        *out = mmsi_get_le64(v.mv_data);
    else
        return mmsi_err(MMS_ERR_CORRUPT, "catalog of %s: '%s' entry has %zu "
                        "bytes", cat->path, key, v.mv_size);
    return MMS_OK;
}

int mmsi_meta_put_u64(mmsi_cat *cat, MDB_txn *txn, const char *key,
                      uint64_t value)
{
    unsigned char b[8];
    mmsi_put_le64(b, value);
    return mmsi_put(txn, cat->db_meta, key, strlen(key), b, 8, key);
}

int mmsi_staged_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                    const char *name, mmsi_record *rec)
{
    unsigned char key[8];
    mmsi_put_be64(key, id);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, cat->db_staged, &k, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "no staged version %016llx of "
                        "'%s'", (unsigned long long)id, name);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: reading staged '%s'", name);
    if (v.mv_size < MMSI_REC_FIXED + 8)
        return mmsi_err(MMS_ERR_CORRUPT, "staged record of '%s' is too "
                        "short", name);
    unsigned ndim = mmsi_get_le16((unsigned char *)v.mv_data + 6);
    size_t len = mmsi_rec_size(ndim > MMS_MAX_NDIM ? 0 : (int)ndim);
    if (ndim > MMS_MAX_NDIM || len > v.mv_size)
        return mmsi_err(MMS_ERR_CORRUPT, "staged record of '%s' is "
                        "malformed", name);
    rc = mmsi_rec_decode(name, v.mv_data, len, rec);
    if (rc == MMS_OK && rec->id != id)
        rc = mmsi_err(MMS_ERR_CORRUPT, "staged record of '%s' has id %llx "
                      "under key %llx", name, (unsigned long long)rec->id,
                      (unsigned long long)id);
    return rc;
}

int mmsi_staged_put(mmsi_cat *cat, MDB_txn *txn, const char *name,
                    const mmsi_record *rec)
{
    unsigned char key[8], buf[MMSI_REC_FIXED + 8 * MMS_MAX_NDIM + 8 +
                              MMS_NAME_MAX];
    size_t len = mmsi_rec_size(rec->ndim), nlen = strlen(name);
    mmsi_put_be64(key, rec->id);
    mmsi_rec_encode(rec, buf);
    memcpy(buf + len, name, nlen);
    return mmsi_put(txn, cat->db_staged, key, 8, buf, len + nlen,
                    "staged version");
}

int mmsi_staged_del(mmsi_cat *cat, MDB_txn *txn, uint64_t id)
{
    unsigned char key[8];
    mmsi_put_be64(key, id);
    int rc = mmsi_del(txn, cat->db_staged, key, 8, "staged version");
    return rc == MMS_ERR_NOTFOUND ? MMS_OK : rc;
}

int mmsi_attrs_copy(mmsi_cat *cat, MDB_txn *txn, uint64_t from,
                    uint64_t to)
{
    unsigned char prefix[8];
    mmsi_put_be64(prefix, from);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, cat->db_attrs, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: copying attributes");
    /* Collect first: putting while iterating the same database would move
     * the cursor. Attributes are few and small. */
    MDB_val k = {8, prefix}, v;
    int r = MMS_OK;
    size_t n = 0, cap = 0;
    struct kv { unsigned char key[8 + MMS_NAME_MAX]; size_t klen; void *val;
                size_t vlen; } *items = NULL;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 9 || k.mv_size > 8 + MMS_NAME_MAX ||
            memcmp(k.mv_data, prefix, 8) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct kv *p = realloc(items, cap * sizeof *items);
            if (!p) {
                r = mmsi_err(MMS_ERR_NOMEM, "copying attributes");
                break;
            }
            items = p;
        }
        mmsi_put_be64(items[n].key, to);
        memcpy(items[n].key + 8, (unsigned char *)k.mv_data + 8,
               k.mv_size - 8);
        items[n].klen = k.mv_size;
        items[n].val = v.mv_data; /* valid until the txn writes */
        items[n].vlen = v.mv_size;
        n++;
    }
    mdb_cursor_close(cur);
    if (r == MMS_OK && rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "catalog: copying attributes");
    /* Values point into the map: copy each before the first put can
     * move pages. */
    for (size_t i = 0; i < n && r == MMS_OK; i++) {
        void *copy = malloc(items[i].vlen ? items[i].vlen : 1);
        if (!copy) {
            r = mmsi_err(MMS_ERR_NOMEM, "copying attributes");
            for (size_t j = 0; j < i; j++)
                free(items[j].val);
            n = 0;
            break;
        }
        memcpy(copy, items[i].val, items[i].vlen);
        items[i].val = copy;
    }
    for (size_t i = 0; i < n; i++) {
        if (r == MMS_OK)
            r = mmsi_put(txn, cat->db_attrs, items[i].key, items[i].klen,
                         items[i].val, items[i].vlen, "attribute");
        free(items[i].val);
    }
    free(items);
    return r;
}

int mmsi_cat_id_named(mmsi_cat *cat, MDB_txn *txn, const char *except,
                      uint64_t id, bool *named)
{
    unsigned char key[8];
    mmsi_put_be64(key, id);
    MDB_val k = {8, key}, v;
    *named = false;
    int rc = mdb_get(txn, cat->db_staged, &k, &v);
    if (rc == 0) {
        *named = true;
        return MMS_OK;
    }
    if (rc != MDB_NOTFOUND)
        return mmsi_err_lmdb(rc, "catalog: looking for version %016llx",
                             (unsigned long long)id);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, cat->db_arrays, &cur)) != 0)
        return mmsi_err_lmdb(rc, "catalog: looking for version %016llx",
                             (unsigned long long)id);
    size_t elen = except ? strlen(except) : 0;
    /* The id sits at offset 16 of a record (format.md); a record too short
     * to hold one names nothing. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !*named;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (except && k.mv_size == elen && memcmp(k.mv_data, except, elen) == 0)
            continue;
        *named = v.mv_size >= 24 &&
                 mmsi_get_le64((unsigned char *)v.mv_data + 16) == id;
    }
    int r = rc == 0 || rc == MDB_NOTFOUND
                ? MMS_OK
                : mmsi_err_lmdb(rc, "catalog: looking for version %016llx",
                                (unsigned long long)id);
    mdb_cursor_close(cur);
    return r;
}

/* ---- writers ------------------------------------------------------------
 * (id, slot) -> the writer's identity: a writable handle that may have
 * unsynced writes to version id holds that slot of its data file. */

static void writer_key(unsigned char key[10], uint64_t id, unsigned slot)
{
    mmsi_put_be64(key, id);
    key[8] = (unsigned char)(slot >> 8);
    key[9] = (unsigned char)slot;
}

int mmsi_writer_put(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                    const mmsi_writer *w)
{
    if (!cat->has_writers)
        return mmsi_err(MMS_ERR_RDONLY, "catalog of %s has no 'writers' "
                        "database and cannot get one", cat->path);
    unsigned char key[10], val[MMSI_WRITER_VAL];
    writer_key(key, id, w->slot);
    mmsi_put_le32(val, w->pid);
    mmsi_put_le64(val + 4, (uint64_t)w->since_ns);
    return mmsi_put(txn, cat->db_writers, key, sizeof key, val, sizeof val,
                    "writer");
}

int mmsi_writer_del(mmsi_cat *cat, MDB_txn *txn, uint64_t id, unsigned slot)
{
    if (!cat->has_writers)
        return MMS_OK;
    unsigned char key[10];
    writer_key(key, id, slot);
    int rc = mmsi_del(txn, cat->db_writers, key, sizeof key, "writer");
    return rc == MMS_ERR_NOTFOUND ? MMS_OK : rc;
}

int mmsi_writers_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                     mmsi_writer *out, size_t max, size_t *n)
{
    *n = 0;
    if (!cat->has_writers)
        return MMS_OK;
    unsigned char prefix[10];
    writer_key(prefix, id, 0);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, cat->db_writers, &cur);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: reading writers");
    MDB_val k = {sizeof prefix, prefix}, v;
    int r = MMS_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 8 && memcmp(k.mv_data, prefix, 8) == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        unsigned slot = (unsigned)kp[8] << 8 | kp[9];
        if (k.mv_size != 10 || v.mv_size != MMSI_WRITER_VAL ||
            slot >= MMSI_SLOTS) {
            r = mmsi_err(MMS_ERR_CORRUPT, "catalog: a writer entry of "
                         "version %016llx is malformed",
                         (unsigned long long)id);
            break;
        }
        if (*n == max) {
            r = mmsi_err(MMS_ERR_CORRUPT, "catalog: more than %zu writers "
                         "of version %016llx", max, (unsigned long long)id);
            break;
        }
        out[*n].slot = slot;
        out[*n].pid = mmsi_get_le32(v.mv_data);
        out[*n].since_ns = (int64_t)mmsi_get_le64((unsigned char *)v.mv_data +
                                                  4);
        (*n)++;
    }
    if (r == MMS_OK && rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "catalog: reading writers");
    mdb_cursor_close(cur);
    return r;
}
