/* storeutil.c - direct access to a store's catalog and data files. */
#define _GNU_SOURCE
#include "storeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

const char *su_strerror(int rc)
{
    return mdb_strerror(rc); /* also knows errno values */
}

/* Opens STORE/catalog and database db inside a new transaction. */
static int cat_begin(const char *store, const char *db, unsigned txn_flags,
                     MDB_env **env, MDB_txn **txn, MDB_dbi *dbi)
{
    char path[PATH_MAX];
    int rc;

    *env = NULL;
    *txn = NULL;
    snprintf(path, sizeof path, "%s/catalog", store);
    if ((rc = mdb_env_create(env)) != 0)
        return rc;
    if ((rc = mdb_env_set_maxdbs(*env, 8)) != 0 ||
        (rc = mdb_env_open(*env, path, txn_flags & MDB_RDONLY, 0600)) != 0 ||
        (rc = mdb_txn_begin(*env, NULL, txn_flags, txn)) != 0 ||
        (rc = mdb_dbi_open(*txn, db, 0, dbi)) != 0) {
        if (*txn)
            mdb_txn_abort(*txn);
        mdb_env_close(*env);
        *env = NULL;
        *txn = NULL;
        return rc;
    }
    return 0;
}

int su_cat_get(const char *store, const char *db, const void *key,
               size_t klen, void **val, size_t *vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v;
    int rc = cat_begin(store, db, MDB_RDONLY, &env, &txn, &dbi);

    *val = NULL;
    *vlen = 0;
    if (rc)
        return rc;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
        *val = malloc(v.mv_size ? v.mv_size : 1);
        if (!*val) {
            rc = ENOMEM;
        } else {
            memcpy(*val, v.mv_data, v.mv_size);
            *vlen = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

int su_cat_put(const char *store, const char *db, const void *key,
               size_t klen, const void *val, size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = cat_begin(store, db, 0, &env, &txn, &dbi);

    if (rc)
        return rc;
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

int su_cat_count(const char *store, const char *db, const void *prefix,
                 size_t plen, size_t *count)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = cat_begin(store, db, MDB_RDONLY, &env, &txn, &dbi);

    *count = 0;
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc == 0) {
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
            if (k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0)
                (*count)++;
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int su_cat_blocks(const char *store, uint64_t id, uint64_t **hashes,
                  uint64_t *n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned char start[16];
    uint64_t *h = NULL, count = 0, cap = 0;
    int rc = cat_begin(store, "blocks", MDB_RDONLY, &env, &txn, &dbi);

    *hashes = NULL;
    *n = 0;
    if (rc)
        return rc;
    su_put_be64(start, id);
    su_put_be64(start + 8, 0);
    k.mv_size = sizeof start;
    k.mv_data = start;
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc == 0) {
        MDB_cursor_op op = MDB_SET_RANGE;
        while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
            op = MDB_NEXT;
            if (k.mv_size != 16 || be64(k.mv_data) != id)
                break;
            if (be64((unsigned char *)k.mv_data + 8) != count ||
                v.mv_size != 8) {
                rc = EINVAL;
                break;
            }
            if (count == cap) {
                uint64_t *nh;
                cap = cap ? 2 * cap : 64;
                nh = realloc(h, cap * sizeof *h);
                if (!nh) {
                    rc = ENOMEM;
                    break;
                }
                h = nh;
            }
            h[count++] = su_le64(v.mv_data);
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (rc) {
        free(h);
        return rc;
    }
    *hashes = h;
    *n = count;
    return 0;
}

uint64_t su_root(const uint64_t *hashes, uint64_t n)
{
    uint64_t root = 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char le[8];
        su_put_le64(le, hashes[i]);
        root += XXH3_64bits_withSeed(le, sizeof le, i);
    }
    return root;
}

void su_record_rehash(void *record, size_t len)
{
    unsigned char *r = record;
    su_put_le64(r + len - 8, XXH3_64bits(r, len - 8));
}

uint16_t su_le16(const void *p)
{
    const unsigned char *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t su_le32(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

uint64_t su_le64(const void *p)
{
    const unsigned char *b = p;
    return (uint64_t)su_le32(b) | (uint64_t)su_le32(b + 4) << 32;
}

void su_put_le32(void *p, uint32_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

void su_put_le64(void *p, uint64_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

void su_put_be64(void *p, uint64_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
}

void su_data_path(char *buf, size_t size, const char *store, uint64_t id)
{
    snprintf(buf, size, "%s/data/%016llx.npy", store, (unsigned long long)id);
}

int su_count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    }
    closedir(d);
    return n;
}

int su_data_entries(const char *store)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data", store);
    return su_count_entries(path);
}

void *su_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *buf = NULL;
    size_t done = 0;

    *len = 0;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto out;
    while (done < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);
        if (r <= 0) {
            free(buf);
            buf = NULL;
            goto out;
        }
        done += (size_t)r;
    }
    *len = done;
out:
    close(fd);
    return buf;
}

int su_pread(const char *path, uint64_t offset, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return errno;
    if (pread(fd, buf, len, (off_t)offset) != (ssize_t)len)
        rc = errno ? errno : EIO;
    close(fd);
    return rc;
}

int su_pwrite(const char *path, uint64_t offset, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return errno;
    if (pwrite(fd, buf, len, (off_t)offset) != (ssize_t)len)
        rc = errno ? errno : EIO;
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    close(fd);
    return rc;
}

int su_flip_byte(const char *path, uint64_t offset, unsigned char mask)
{
    unsigned char b;
    int rc = su_pread(path, offset, &b, 1);

    if (rc)
        return rc;
    b ^= mask;
    return su_pwrite(path, offset, &b, 1);
}

void su_npy_dict(char *buf, size_t size, const char *descr, int ndim,
                 const uint64_t *shape)
{
    char dims[32 * 22 + 2]; /* 32 dims of up to 20 digits and ", " */
    size_t used = 0;

    dims[0] = '\0';
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%llu",
                                 i ? ", " : "", (unsigned long long)shape[i]);
    }
    if (ndim == 1)
        snprintf(dims + used, sizeof dims - used, ",");
    snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, "
             "'shape': (%s), }", descr, dims);
}
