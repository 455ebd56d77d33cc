/* catalog.c - the LMDB catalog: environment, transactions, records.
 *
 * All catalog writes go through mmsi_cat_write, so the two LMDB situations
 * that need the whole process's cooperation are handled in one place:
 *  - MDB_MAP_FULL: the map is grown (doubled) and the transaction body is
 *    run again from the start;
 *  - MDB_MAP_RESIZED: another process grew the map; we adopt its size.
 * Both need "no transaction active in this process", which txn_lock (read
 * for every transaction, write for resizing) guarantees. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#define INITIAL_MAP_SIZE (64ull << 20)
#define MAX_READERS 1022
/* Returned by mmsi_put inside a transaction body when the map is full: the
 * body passes it up and mmsi_cat_write grows the map and runs it again. */
#define MAP_FULL_RETRY (-1000)

static const unsigned char rec_magic[4] = {'M', 'M', 'S', 'A'};

/* ---- records ------------------------------------------------------------ */

size_t mmsi_rec_size(int ndim)
{
    return MMSI_REC_FIXED + 8u * (size_t)ndim + 8u;
}

void mmsi_rec_encode(const mmsi_record *rec, unsigned char *buf)
{
    memcpy(buf, rec_magic, 4);
    mmsi_put_le16(buf + 4, 1);
    mmsi_put_le16(buf + 6, (uint16_t)rec->ndim);
    mmsi_put_le32(buf + 8, (uint32_t)rec->dtype);
    mmsi_put_le32(buf + 12, rec->flags);
    mmsi_put_le64(buf + 16, rec->id);
    mmsi_put_le64(buf + 24, rec->capacity_rows);
    mmsi_put_le64(buf + 32, rec->block_size);
    mmsi_put_le64(buf + 40, rec->root);
    mmsi_put_le64(buf + 48, rec->generation);
    mmsi_put_le64(buf + 56, (uint64_t)rec->created_ns);
    mmsi_put_le64(buf + 64, (uint64_t)rec->modified_ns);
    for (int i = 0; i < rec->ndim; i++)
        mmsi_put_le64(buf + MMSI_REC_FIXED + 8 * i, rec->shape[i]);
    size_t body = MMSI_REC_FIXED + 8u * (size_t)rec->ndim;
    mmsi_put_le64(buf + body, XXH3_64bits(buf, body));
}

int mmsi_rec_decode(const char *name, const void *data, size_t len,
                    mmsi_record *rec)
{
    const unsigned char *p = data;
    memset(rec, 0, sizeof *rec);
    if (len < MMSI_REC_FIXED + 8 || memcmp(p, rec_magic, 4) != 0)
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' is not an "
                        "array record (%zu bytes)", name, len);
    if (mmsi_get_le16(p + 4) != 1)
        return mmsi_err(MMS_ERR_VERSION, "catalog record of '%s' has "
                        "version %u, newer than this library", name,
                        mmsi_get_le16(p + 4));
    unsigned ndim = mmsi_get_le16(p + 6);
    if (ndim > MMS_MAX_NDIM || len != mmsi_rec_size((int)ndim))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s': ndim %u "
                        "does not fit its %zu bytes", name, ndim, len);
    size_t body = MMSI_REC_FIXED + 8u * ndim;
    if (XXH3_64bits(p, body) != mmsi_get_le64(p + body))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' fails its "
                        "checksum", name);
    rec->ndim = (int)ndim;
    uint32_t dtype = mmsi_get_le32(p + 8);
    rec->flags = mmsi_get_le32(p + 12);
    rec->id = mmsi_get_le64(p + 16);
    rec->capacity_rows = mmsi_get_le64(p + 24);
    rec->block_size = mmsi_get_le64(p + 32);
    rec->root = mmsi_get_le64(p + 40);
    rec->generation = mmsi_get_le64(p + 48);
    rec->created_ns = (int64_t)mmsi_get_le64(p + 56);
    rec->modified_ns = (int64_t)mmsi_get_le64(p + 64);
    for (unsigned i = 0; i < ndim; i++)
        rec->shape[i] = mmsi_get_le64(p + MMSI_REC_FIXED + 8 * i);
    if (!mmsi_dtype_valid((int)dtype))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has "
                        "unknown dtype code %u", name, dtype);
    rec->dtype = (mms_dtype)dtype;
    if (rec->id == 0 || (rec->flags & ~MMSI_REC_KNOWN_FLAGS))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has a bad "
                        "id or flags", name);
    if (rec->block_size < 4096 || rec->block_size > (1u << 30) ||
        (rec->block_size & (rec->block_size - 1)))
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has bad "
                        "block size %llu", name,
                        (unsigned long long)rec->block_size);
    mmsi_geometry g;
    if (mmsi_rec_geometry(rec, &g) != MMS_OK)
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has a "
                        "shape or capacity whose size overflows", name);
    if (rec->ndim > 0 && rec->capacity_rows < rec->shape[0])
        return mmsi_err(MMS_ERR_CORRUPT, "catalog record of '%s' has "
                        "capacity below its shape", name);
    return MMS_OK;
}

int mmsi_rec_geometry(const mmsi_record *rec, mmsi_geometry *g)
{
    memset(g, 0, sizeof *g);
    g->itemsize = mms_dtype_size(rec->dtype);
    g->row_bytes = g->itemsize;
    for (int i = 1; i < rec->ndim; i++)
        if (mmsi_mul_overflow(g->row_bytes, rec->shape[i], &g->row_bytes))
            return mmsi_err(MMS_ERR_TOOBIG, "shape overflows 64 bits");
    g->rows = rec->ndim ? rec->shape[0] : 1;
    uint64_t cap_rows = rec->ndim ? rec->capacity_rows : 1, cap_bytes;
    if (mmsi_mul_overflow(g->rows, g->row_bytes, &g->nbytes) ||
        mmsi_mul_overflow(cap_rows, g->row_bytes, &cap_bytes))
        return mmsi_err(MMS_ERR_TOOBIG, "array size overflows 64 bits");
    /* Round the data capacity up to whole pages, at least one, and leave
     * room for the header; the result must also fit off_t and size_t. */
    uint64_t pages = cap_bytes / MMSI_PAGE + (cap_bytes % MMSI_PAGE != 0);
    if (pages == 0)
        pages = 1;
    if (pages > ((uint64_t)INT64_MAX - MMSI_HEADER_SIZE) / MMSI_PAGE ||
        pages * MMSI_PAGE > SIZE_MAX / 2)
        return mmsi_err(MMS_ERR_TOOBIG, "array size exceeds the largest "
                        "file or mapping this system supports");
    g->file_size = MMSI_HEADER_SIZE + pages * MMSI_PAGE;
    g->nblocks = rec->block_size ? g->nbytes / rec->block_size +
                                       (g->nbytes % rec->block_size != 0)
                                 : 0;
    return MMS_OK;
}

void mmsi_rec_to_info(const mmsi_record *rec, mms_info *info)
{
    mmsi_geometry g;
    memset(info, 0, sizeof *info);
    mmsi_rec_geometry(rec, &g); /* validated when the record was made */
    info->dtype = rec->dtype;
    info->ndim = rec->ndim;
    memcpy(info->shape, rec->shape, sizeof(uint64_t) * (size_t)rec->ndim);
    info->nbytes = g.nbytes;
    info->itemsize = g.itemsize;
    info->generation = rec->generation;
    info->id = rec->id;
    info->capacity_rows = rec->ndim ? rec->capacity_rows : 1;
    info->block_size = rec->block_size;
    info->checksum = rec->root;
    info->created_ns = rec->created_ns;
    info->modified_ns = rec->modified_ns;
    info->state = MMS_STATE_CLEAN;
}

void mmsi_block_key(unsigned char key[16], uint64_t id, uint64_t block)
{
    mmsi_put_be64(key, id);
    mmsi_put_be64(key + 8, block);
}

uint64_t mmsi_root_term(uint64_t block, uint64_t hash)
{
    unsigned char b[8];
    mmsi_put_le64(b, hash);
    return XXH3_64bits_withSeed(b, sizeof b, block);
}

/* ---- the environment ---------------------------------------------------- */

/* LMDB must not have one environment open twice in a process: closing
 * either drops the fcntl locks of both. So every store handle of a process
 * on the same catalog shares one mmsi_catalog, found by the device and
 * inode of data.mdb and counted. After fork() the child starts with an
 * empty registry: the parent's environments are not usable there. */
struct mmsi_catalog {
    dev_t dev;
    ino_t ino;
    pid_t pid;
    int refs;
    MDB_env *env;
    MDB_dbi dbi[5];
    /* Transactions hold this for reading; growing the LMDB map (which needs
     * no transaction active in this process) holds it for writing. */
    pthread_rwlock_t txn_lock;
    struct mmsi_catalog *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmsi_catalog *registry;

/* Bumped in every forked child, so a handle made before the fork can tell
 * (with one load, no getpid system call) that it is being used in one. */
static unsigned long fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    fork_generation++;
    mmsi_held_close_in_child();
    /* The registry lock may have been held by another thread at fork. */
    pthread_mutex_init(&registry_lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, in_child);
}

unsigned long mmsi_fork_generation(void)
{
    return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

int mmsi_check_fork(const mms_store *store)
{
    if (store->fork_generation != mmsi_fork_generation())
        return mmsi_err(MMS_ERR_FORKED, "store %s was opened before fork(): "
                        "a child process must open its own store handle",
                        store->path);
    return MMS_OK;
}

static int env_open(mms_store *store, struct mmsi_catalog *cat,
                    const char *path, bool create)
{
    int rc = mdb_env_create(&cat->env);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog %s", path);
    mdb_env_set_maxdbs(cat->env, 8);
    mdb_env_set_maxreaders(cat->env, MAX_READERS);
    mdb_env_set_mapsize(cat->env, INITIAL_MAP_SIZE);
    /* Read-only store handles share the environment with writable ones,
     * so it is opened for writing whenever the file allows; the library
     * itself never writes through an MMS_RDONLY store. */
    char data[PATH_MAX + 16];
    snprintf(data, sizeof data, "%s/data.mdb", path);
    unsigned flags = MDB_NOTLS;
    if (!create && access(data, W_OK) != 0)
        flags |= MDB_RDONLY;
    rc = mdb_env_open(cat->env, path, flags,
                      store->shared_group ? 0660 : 0600);
    if (rc != 0) {
        int r = mmsi_err_lmdb(rc, "catalog %s", path);
        mdb_env_close(cat->env);
        cat->env = NULL;
        return r;
    }
    if (create && store->shared_group) {
        /* LMDB created its files through the umask: widen them to the
         * group, or other members could not lock or write the catalog. */
        fchmodat(store->dirfd, "catalog/data.mdb", 0660, 0);
        fchmodat(store->dirfd, "catalog/lock.mdb", 0660, 0);
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(cat->env, NULL, create ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) {
        int r = mmsi_err_lmdb(rc, "catalog %s", path);
        mdb_env_close(cat->env);
        cat->env = NULL;
        return r;
    }
    static const char *names[5] = {"meta", "arrays", "blocks", "attrs",
                                   "staged"};
    int r = MMS_OK;
    for (int i = 0; i < 5 && r == MMS_OK; i++) {
        rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0,
                          &cat->dbi[i]);
        if (rc == MDB_NOTFOUND)
            r = mmsi_err(MMS_ERR_CORRUPT, "catalog %s has no '%s' database: "
                         "not an mmstore store", path, names[i]);
        else if (rc != 0)
            r = mmsi_err_lmdb(rc, "catalog %s: database '%s'", path,
                              names[i]);
    }
    /* Committing (even a read-only transaction) keeps the dbi handles. */
    if (r == MMS_OK && (rc = mdb_txn_commit(txn)) != 0)
        r = mmsi_err_lmdb(rc, "catalog %s", path);
    else if (r != MMS_OK)
        mdb_txn_abort(txn);
    if (r != MMS_OK) {
        mdb_env_close(cat->env);
        cat->env = NULL;
    }
    return r;
}

int mmsi_cat_open(mms_store *store, bool create)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/catalog", store->path);
    pthread_once(&atfork_once, register_atfork);
    store->fork_generation = mmsi_fork_generation();
    pthread_mutex_lock(&registry_lock);
    pid_t pid = getpid();
    struct mmsi_catalog *cat = NULL;
    struct stat st;
    int rc = MMS_OK;
    if (fstatat(store->dirfd, "catalog/data.mdb", &st, AT_SYMLINK_NOFOLLOW)
        == 0) {
        for (cat = registry; cat; cat = cat->next)
            if (cat->pid == pid && cat->dev == st.st_dev &&
                cat->ino == st.st_ino)
                break;
    }
    if (!cat) {
        cat = calloc(1, sizeof *cat);
        if (!cat) {
            rc = mmsi_err(MMS_ERR_NOMEM, "catalog %s", path);
            goto out;
        }
        if ((rc = env_open(store, cat, path, create)) != MMS_OK) {
            free(cat);
            cat = NULL;
            goto out;
        }
        if (fstatat(store->dirfd, "catalog/data.mdb", &st,
                    AT_SYMLINK_NOFOLLOW) != 0) {
            rc = mmsi_errno(errno, "catalog %s/data.mdb", path);
            mdb_env_close(cat->env);
            free(cat);
            cat = NULL;
            goto out;
        }
        cat->dev = st.st_dev;
        cat->ino = st.st_ino;
        cat->pid = pid;
        pthread_rwlock_init(&cat->txn_lock, NULL);
        cat->next = registry;
        registry = cat;
    } else if (create) {
        /* Shared with an earlier handle that opened it without creating:
         * make sure the databases exist. */
        MDB_txn *txn;
        static const char *names[5] = {"meta", "arrays", "blocks", "attrs",
                                       "staged"};
        rc = mdb_txn_begin(cat->env, NULL, 0, &txn);
        for (int i = 0; i < 5 && rc == 0; i++)
            rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &cat->dbi[i]);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
        if (rc != 0) {
            rc = mmsi_err_lmdb(rc, "catalog %s", path);
            cat = NULL;
            goto out;
        }
    }
    if (!(store->flags & MMS_RDONLY)) {
        int dead = 0;
        mdb_reader_check(cat->env, &dead); /* slots of dead readers */
    }
    cat->refs++;
    store->cat = cat;
    store->env = cat->env;
    store->db_meta = cat->dbi[0];
    store->db_arrays = cat->dbi[1];
    store->db_blocks = cat->dbi[2];
    store->db_attrs = cat->dbi[3];
    store->db_staged = cat->dbi[4];
out:
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void mmsi_cat_close(mms_store *store)
{
    struct mmsi_catalog *cat = store->cat;
    if (!cat)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--cat->refs == 0) {
        for (struct mmsi_catalog **p = &registry; *p; p = &(*p)->next)
            if (*p == cat) {
                *p = cat->next;
                break;
            }
        /* A catalog inherited through fork() belongs to the parent: its
         * environment must not be closed (or used) here. */
        if (cat->pid == getpid())
            mdb_env_close(cat->env);
        pthread_rwlock_destroy(&cat->txn_lock);
        free(cat);
    }
    pthread_mutex_unlock(&registry_lock);
    store->cat = NULL;
    store->env = NULL;
}

/* Grows the map to twice the size it had when the caller saw MAP_FULL
 * (unless another thread already did), or adopts another process's size
 * (double_it false). */
static int grow_map(mms_store *store, size_t seen, bool double_it)
{
    pthread_rwlock_wrlock(&store->cat->txn_lock);
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    int rc = 0;
    if (!double_it)
        rc = mdb_env_set_mapsize(store->env, 0);
    else if (info.me_mapsize <= seen)
        rc = mdb_env_set_mapsize(store->env, seen * 2);
    pthread_rwlock_unlock(&store->cat->txn_lock);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "growing the catalog map of %s", store->path);
    return MMS_OK;
}

static int run_txn(mms_store *store, bool write, int (*fn)(mms_store *,
                   MDB_txn *, void *), void *ctx)
{
    int frc = mmsi_check_fork(store);
    if (frc != MMS_OK)
        return frc;
    for (;;) {
        MDB_envinfo info;
        MDB_txn *txn;
        pthread_rwlock_rdlock(&store->cat->txn_lock);
        mdb_env_info(store->env, &info);
        int rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY, &txn);
        if (rc == MDB_MAP_RESIZED) {
            pthread_rwlock_unlock(&store->cat->txn_lock);
            if ((rc = grow_map(store, 0, false)) != MMS_OK)
                return rc;
            continue;
        }
        if (rc != 0) {
            pthread_rwlock_unlock(&store->cat->txn_lock);
            return mmsi_err_lmdb(rc, "catalog transaction in %s", store->path);
        }
        int r = fn(store, txn, ctx);
        if (r == MMS_OK && write) {
            rc = mdb_txn_commit(txn);
            if (rc == MDB_MAP_FULL)
                r = MAP_FULL_RETRY;
            else if (rc != 0)
                r = mmsi_err_lmdb(rc, "committing the catalog of %s",
                                  store->path);
        } else {
            mdb_txn_abort(txn);
        }
        pthread_rwlock_unlock(&store->cat->txn_lock);
        if (r != MAP_FULL_RETRY)
            return r;
        if ((r = grow_map(store, info.me_mapsize, true)) != MMS_OK)
            return r;
    }
}

int mmsi_cat_write(mms_store *store, mmsi_write_fn fn, void *ctx)
{
    return run_txn(store, true, fn, ctx);
}

int mmsi_cat_read(mms_store *store, mmsi_read_fn fn, void *ctx)
{
    return run_txn(store, false, fn, ctx);
}

int mmsi_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const void *val, size_t vlen, const char *what)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc == MDB_MAP_FULL)
        return MAP_FULL_RETRY;
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: writing %s", what);
    return MMS_OK;
}

int mmsi_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const char *what)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, dbi, &k, NULL);
    if (rc == MDB_MAP_FULL)
        return MAP_FULL_RETRY;
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: deleting %s", what);
    return MMS_OK;
}

int mmsi_cat_get(mms_store *store, MDB_txn *txn, const char *name,
                 mmsi_record *rec)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, store->db_arrays, &k, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "no array named '%s' in %s", name,
                        store->path);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: reading '%s'", name);
    return mmsi_rec_decode(name, v.mv_data, v.mv_size, rec);
}

int mmsi_cat_put(mms_store *store, MDB_txn *txn, const char *name,
                 const mmsi_record *rec)
{
    unsigned char buf[MMSI_REC_FIXED + 8 * MMS_MAX_NDIM + 8];
    mmsi_rec_encode(rec, buf);
    return mmsi_put(txn, store->db_arrays, name, strlen(name), buf,
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
        r = MAP_FULL_RETRY;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        r = mmsi_err_lmdb(rc, "catalog: deleting %s", what);
    mdb_cursor_close(cur);
    return r;
}

int mmsi_cat_delete_id(mms_store *store, MDB_txn *txn, uint64_t id)
{
    int rc = delete_prefix(txn, store->db_blocks, id, "block checksums");
    if (rc == MMS_OK)
        rc = delete_prefix(txn, store->db_attrs, id, "attributes");
    return rc;
}

int mmsi_meta_get_u64(mms_store *store, MDB_txn *txn, const char *key,
                      uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return mmsi_err(MMS_ERR_NOTFOUND, "catalog of %s has no '%s' entry",
                        store->path, key);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog of %s: reading '%s'", store->path,
                             key);
    if (v.mv_size == 4)
        *out = mmsi_get_le32(v.mv_data);
    else if (v.mv_size == 8)
        *out = mmsi_get_le64(v.mv_data);
    else
        return mmsi_err(MMS_ERR_CORRUPT, "catalog of %s: '%s' entry has %zu "
                        "bytes", store->path, key, v.mv_size);
    return MMS_OK;
}

int mmsi_meta_put_u64(mms_store *store, MDB_txn *txn, const char *key,
                      uint64_t value)
{
    unsigned char b[8];
    mmsi_put_le64(b, value);
    return mmsi_put(txn, store->db_meta, key, strlen(key), b, 8, key);
}

int mmsi_staged_get(mms_store *store, MDB_txn *txn, uint64_t id,
                    const char *name, mmsi_record *rec)
{
    unsigned char key[8];
    mmsi_put_be64(key, id);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, store->db_staged, &k, &v);
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

int mmsi_staged_put(mms_store *store, MDB_txn *txn, const char *name,
                    const mmsi_record *rec)
{
    unsigned char key[8], buf[MMSI_REC_FIXED + 8 * MMS_MAX_NDIM + 8 +
                              MMS_NAME_MAX];
    size_t len = mmsi_rec_size(rec->ndim), nlen = strlen(name);
    mmsi_put_be64(key, rec->id);
    mmsi_rec_encode(rec, buf);
    memcpy(buf + len, name, nlen);
    return mmsi_put(txn, store->db_staged, key, 8, buf, len + nlen,
                    "staged version");
}

int mmsi_staged_del(mms_store *store, MDB_txn *txn, uint64_t id)
{
    unsigned char key[8];
    mmsi_put_be64(key, id);
    int rc = mmsi_del(txn, store->db_staged, key, 8, "staged version");
    return rc == MMS_ERR_NOTFOUND ? MMS_OK : rc;
}

int mmsi_attrs_copy(mms_store *store, MDB_txn *txn, uint64_t from,
                    uint64_t to)
{
    unsigned char prefix[8];
    mmsi_put_be64(prefix, from);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_attrs, &cur);
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
            r = mmsi_put(txn, store->db_attrs, items[i].key, items[i].klen,
                         items[i].val, items[i].vlen, "attribute");
        free(items[i].val);
    }
    free(items);
    return r;
}
