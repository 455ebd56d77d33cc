/* attr.c - small named values attached to an array, keyed by its data
 * file id so that a rename keeps them and a remove drops them. */
#include "objects.h"

#include <stdlib.h>
#include <string.h>

typedef struct attr_ctx {
    const char *name, *key;
    const void *value;
    size_t len;           /* set: value length; get: full length */
    void *buf;
    size_t size;
    mms_attr_fn fn;
    void *fn_ctx;
    /* list: copies, so that no transaction is held during callbacks */
    unsigned char *items;
    size_t items_len;
} attr_ctx;

/* The attrs key of c->key for the array c->name names now (inside txn):
 * big-endian id, then the key's bytes. */
static int attr_key(mms_store *store, MDB_txn *txn, const attr_ctx *c,
                    unsigned char out[8 + MMS_NAME_MAX], size_t *len)
{
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, c->name, &rec);
    if (rc != MMS_OK)
        return rc;
    size_t n = strlen(c->key);
    mmsi_put_be64(out, rec.id);
    memcpy(out + 8, c->key, n);
    *len = 8 + n;
    return MMS_OK;
}

static int check(mms_store *store, const char *name, bool has_key,
                 const char *key, const char *what)
{
    if (!store)
        return mmsi_err(MMS_ERR_INVAL, "%s: store is NULL", what);
    int rc = mmsi_check_name(name, "name");
    if (rc == MMS_OK && has_key)
        rc = mmsi_check_name(key, "attribute key");
    return rc;
}

static int set_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    attr_ctx *c = arg;
    unsigned char k[8 + MMS_NAME_MAX];
    size_t klen;
    int rc = attr_key(store, txn, c, k, &klen);
    if (rc != MMS_OK)
        return rc;
    return mmsi_put(txn, store->cat.db_attrs, k, klen, c->value, c->len, c->key);
}

int mms_attr_set(mms_store *store, const char *name, const char *key,
                 const void *value, size_t len)
{
    int rc = check(store, name, true, key, "mms_attr_set");
    if (rc != MMS_OK)
        return rc;
    if (!value && len)
        return mmsi_err(MMS_ERR_INVAL, "attribute '%s' of '%s': value is "
                        "NULL", key, name);
    if (len > MMS_ATTR_VALUE_MAX)
        return mmsi_err(MMS_ERR_TOOBIG, "attribute '%s' of '%s': %zu bytes "
                        "(at most %d)", key, name, len, MMS_ATTR_VALUE_MAX);
    if ((rc = mmsi_store_check_writable(store, "set attribute")) != MMS_OK)
        return rc;
    attr_ctx c = {.name = name, .key = key, .value = value ? value : "",
                  .len = len};
    rc = mmsi_store_write(store, set_txn, &c);
    return rc == MMS_OK ? rc : mmsi_err_context(rc, "set attribute '%s' of "
                                                "'%s'", key, name);
}

static int get_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    attr_ctx *c = arg;
    unsigned char k[8 + MMS_NAME_MAX];
    MDB_val key = {0, k}, v;
    int rc = attr_key(store, txn, c, k, &key.mv_size);
    if (rc != MMS_OK)
        return rc;
    rc = mdb_get(txn, store->cat.db_attrs, &key, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "'%s' has no attribute '%s'",
                        c->name, c->key);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "reading attribute '%s' of '%s'", c->key,
                             c->name);
    c->len = v.mv_size;
    if (!c->buf && c->size == 0)
        return MMS_OK; /* a length query */
    if (v.mv_size > c->size)
        return mmsi_err(MMS_ERR_RANGE, "attribute '%s' of '%s' has %zu "
                        "bytes, the buffer %zu", c->key, c->name, v.mv_size,
                        c->size);
    if (v.mv_size)
        memcpy(c->buf, v.mv_data, v.mv_size);
    return MMS_OK;
}

int mms_attr_get(mms_store *store, const char *name, const char *key,
                 void *buf, size_t size, size_t *len)
{
    int rc = check(store, name, true, key, "mms_attr_get");
    if (rc != MMS_OK)
        return rc;
    if (!len || (!buf && size))
        return mmsi_err(MMS_ERR_INVAL, "mms_attr_get: NULL argument");
    attr_ctx c = {.name = name, .key = key, .buf = buf, .size = size};
    rc = mmsi_store_read(store, get_txn, &c);
    if (rc == MMS_OK || rc == MMS_ERR_RANGE)
        *len = c.len;
    return rc;
}

static int remove_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    attr_ctx *c = arg;
    unsigned char k[8 + MMS_NAME_MAX];
    size_t klen;
    int rc = attr_key(store, txn, c, k, &klen);
    if (rc != MMS_OK)
        return rc;
    rc = mmsi_del(txn, store->cat.db_attrs, k, klen, c->key);
    if (rc == MMS_ERR_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "'%s' has no attribute '%s'",
                        c->name, c->key);
    return rc;
}

int mms_attr_remove(mms_store *store, const char *name, const char *key)
{
    int rc = check(store, name, true, key, "mms_attr_remove");
    if (rc != MMS_OK)
        return rc;
    if ((rc = mmsi_store_check_writable(store, "remove attribute")) != MMS_OK)
        return rc;
    attr_ctx c = {.name = name, .key = key};
    return mmsi_store_write(store, remove_txn, &c);
}

/* Item layout in c->items: u16 key length, key, u32 value length, value. */
static int list_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    attr_ctx *c = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, c->name, &rec);
    if (rc != MMS_OK)
        return rc;
    free(c->items);
    c->items = NULL;
    c->items_len = 0;
    size_t cap = 0;
    unsigned char prefix[8];
    mmsi_put_be64(prefix, rec.id);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, store->cat.db_attrs, &cur)) != 0)
        return mmsi_err_lmdb(rc, "listing attributes of '%s'", c->name);
    MDB_val k = {8, prefix}, v;
    int r = MMS_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 9 || memcmp(k.mv_data, prefix, 8) != 0)
            break;
        size_t klen = k.mv_size - 8;
        if (klen > MMS_NAME_MAX || v.mv_size > MMS_ATTR_VALUE_MAX) {
            r = mmsi_err(MMS_ERR_CORRUPT, "attributes of '%s': an entry is "
                         "too large", c->name);
            break;
        }
        size_t need = c->items_len + 2 + klen + 4 + v.mv_size;
        if (need > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            while (ncap < need)
                ncap *= 2;
            unsigned char *p = realloc(c->items, ncap);
            if (!p) {
                r = mmsi_err(MMS_ERR_NOMEM, "listing attributes of '%s'",
                             c->name);
                break;
            }
            c->items = p;
            cap = ncap;
        }
        unsigned char *p = c->items + c->items_len;
        mmsi_put_le16(p, (uint16_t)klen);
        memcpy(p + 2, (unsigned char *)k.mv_data + 8, klen);
        mmsi_put_le32(p + 2 + klen, (uint32_t)v.mv_size);
        memcpy(p + 6 + klen, v.mv_data, v.mv_size);
        c->items_len = need;
    }
    if (r == MMS_OK && rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "listing attributes of '%s'", c->name);
    mdb_cursor_close(cur);
    return r;
}

int mms_attr_list(mms_store *store, const char *name, mms_attr_fn fn,
                  void *ctx)
{
    int rc = check(store, name, false, NULL, "mms_attr_list");
    if (rc != MMS_OK)
        return rc;
    if (!fn)
        return mmsi_err(MMS_ERR_INVAL, "mms_attr_list: fn is NULL");
    attr_ctx c = {.name = name};
    rc = mmsi_store_read(store, list_txn, &c);
    for (size_t off = 0; rc == MMS_OK && off < c.items_len;) {
        const unsigned char *p = c.items + off;
        size_t klen = mmsi_get_le16(p);
        char key[MMS_NAME_MAX + 1];
        memcpy(key, p + 2, klen);
        key[klen] = '\0';
        size_t vlen = mmsi_get_le32(p + 2 + klen);
        rc = fn(key, p + 6 + klen, vlen, ctx);
        off += 6 + klen + vlen;
    }
    free(c.items);
    return rc;
}
