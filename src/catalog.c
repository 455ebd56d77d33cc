/* catalog.c - the LMDB catalog: environment, transactions, records.
 *
 * All catalog writes go through mmsi_cat_write, so the two LMDB situations
 * that need the whole process's cooperation are handled in one place:
 *  - MDB_MAP_FULL: the map is grown (doubled) and the transaction body is
 *    run again from the start;
 *  - MDB_MAP_RESIZED: another process grew the map; we adopt its size.
 * Both need "no transaction active in this process", which txn_lock (read
 * for every transaction, write for resizing) guarantees.
 *
 * Read transactions are kept between reads (issue 16 item 5): with
 * MDB_NOTLS, mdb_txn_begin takes a reader slot under LMDB's process-shared
 * reader-table mutex and mdb_txn_abort gives it back, so every catalog read
 * of every process went through that one mutex; on a loaded machine its
 * holder gets preempted and every reader queues behind it. A transaction
 * reset with mdb_txn_reset keeps its slot (MDB_NOTLS ties the slot to the
 * MDB_txn, not to a thread), and mdb_txn_renew reuses it without the
 * mutex. Each catalog keeps a small pool of such reset transactions, taken
 * by whichever thread reads next:
 *  - a reset transaction is not active (it pins no pages and no view of
 *    the map), so grow_map may remap under the write lock with the pool
 *    full; a renew after another process grew the map reports
 *    MDB_MAP_RESIZED like a begin, keeps its slot, and goes back to the
 *    pool while the map is adopted;
 *  - no thread owns a pooled transaction, so a thread's exit leaves
 *    nothing behind; the pool is emptied (slots freed) before the
 *    environment closes;
 *  - after fork() the child never touches the parent's catalog (the fork
 *    check fails first, and mmsi_cat_close leaves it alone): the pooled
 *    slots carry the parent's pid, and freeing them would free the
 *    parent's;
 *  - a process killed with its store open leaves its kept slots (idle:
 *    they hold back no pages). A writable store open clears the slots of
 *    dead processes, and so does a read that finds the table full. */
#include "catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#define INITIAL_MAP_SIZE (64ull << 20)
#define MAX_READERS 1022
/* Reset read transactions kept per catalog: as many as this process has
 * run at once, up to this many (each holds one of MAX_READERS slots). */
#define READ_POOL 8
/* Returned by mmsi_put inside a transaction body when the map is full: the
 * body passes it up and mmsi_cat_write grows the map and runs it again. */
#define MAP_FULL_RETRY (-1000)

/* The named databases (format.md); the last, "writers", came later and is
 * made when a writable process opens a catalog without it. */
#define NDBS 6
#define DB_WRITERS 5
static const char *const db_names[NDBS] = {"meta", "arrays", "blocks",
                                           "attrs", "staged", "writers"};

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
    MDB_dbi dbi[NDBS];
    bool has_writers;  /* a catalog made before "writers" existed, in a
                          file this process may not write, has none */
    /* Transactions hold this for reading; growing the LMDB map (which needs
     * no transaction active in this process) holds it for writing. */
    pthread_rwlock_t txn_lock;
    /* Reset read transactions, ready for mdb_txn_renew. */
    pthread_mutex_t pool_lock;
    MDB_txn *pool[READ_POOL];
    int npool;
    struct mmsi_catalog *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmsi_catalog *registry;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
    /* The registry lock may have been held by another thread at fork. */
    pthread_mutex_init(&registry_lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, in_child);
}

int mmsi_cat_check_fork(const mmsi_cat *cat)
{
    if (cat->fork_generation != mmsi_fork_generation())
        return mmsi_err(MMS_ERR_FORKED, "store %s was opened before fork(): "
                        "a child process must open its own store handle",
                        cat->path);
    return MMS_OK;
}

/* A catalog written before the "writers" database existed gets it. */
static int add_writers_db(struct mmsi_catalog *sh, const char *path)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(sh->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, db_names[DB_WRITERS], MDB_CREATE,
                          &sh->dbi[DB_WRITERS]);
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog %s: adding the 'writers' database",
                             path);
    sh->has_writers = true;
    return MMS_OK;
}

/* mdb_txn_begin of a read transaction. Processes killed while their store
 * was open leave their kept slots behind (top of this file), and only a
 * writable store open clears them: a read that finds the table full
 * clears them too, and tries again. */
static int begin_reader(MDB_env *env, MDB_txn **out)
{
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, out);
    int dead = 0;
    if (rc == MDB_READERS_FULL && mdb_reader_check(env, &dead) == 0 &&
        dead > 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, out);
    return rc;
}

static int env_open(struct mmsi_catalog *sh, const char *path, int dirfd,
                    bool create, bool shared_group)
{
    int rc = mdb_env_create(&sh->env);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog %s", path);
    mdb_env_set_maxdbs(sh->env, 8);
    mdb_env_set_maxreaders(sh->env, MAX_READERS);
    mdb_env_set_mapsize(sh->env, INITIAL_MAP_SIZE);
    /* Read-only store handles share the environment with writable ones,
     * so it is opened for writing whenever the file allows; the library
     * itself never writes through an MMS_RDONLY store. */
    char data[PATH_MAX + 16];
    snprintf(data, sizeof data, "%s/data.mdb", path);
    unsigned flags = MDB_NOTLS;
    if (!create && access(data, W_OK) != 0)
        flags |= MDB_RDONLY;
    rc = mdb_env_open(sh->env, path, flags,
                      shared_group ? 0660 : 0600);
    if (rc != 0) {
        int r = mmsi_err_lmdb(rc, "catalog %s", path);
        mdb_env_close(sh->env);
        sh->env = NULL;
        return r;
    }
    /* Programs the user execs must not inherit the catalog (LMDB opens
     * its data file without close-on-exec). */
    int mfd;
    if (mdb_env_get_fd(sh->env, &mfd) == 0 && mfd >= 0)
        fcntl(mfd, F_SETFD, fcntl(mfd, F_GETFD) | FD_CLOEXEC);
    /* LMDB reads its pages through its mapping: a data.mdb shorter than its
     * own last page (truncated by something else) would be SIGBUS at the
     * first read past the end. The meta pages were read with pread. */
    MDB_envinfo ei;
    MDB_stat ms;
    struct stat fst;
    if (mdb_env_info(sh->env, &ei) == 0 && mdb_env_stat(sh->env, &ms) == 0 &&
        fstat(mfd, &fst) == 0 &&
        (uint64_t)fst.st_size < ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize) {
        int r = mmsi_err(MMS_ERR_CORRUPT, "catalog %s/data.mdb is truncated: "
                         "%lld bytes, but its last page ends at byte %llu",
                         path, (long long)fst.st_size,
                         ((unsigned long long)ei.me_last_pgno + 1) *
                             ms.ms_psize);
        mdb_env_close(sh->env);
        sh->env = NULL;
        return r;
    }
    if (create && shared_group) {
        /* LMDB created its files through the umask: widen them to the
         * group, or other members could not lock or write the catalog. */
        fchmodat(dirfd, "catalog/data.mdb", 0660, 0);
        fchmodat(dirfd, "catalog/lock.mdb", 0660, 0);
    }
    MDB_txn *txn;
    rc = create ? mdb_txn_begin(sh->env, NULL, 0, &txn)
                : begin_reader(sh->env, &txn);
    if (rc != 0) {
        int r = mmsi_err_lmdb(rc, "catalog %s", path);
        mdb_env_close(sh->env);
        sh->env = NULL;
        return r;
    }
    int r = MMS_OK;
    for (int i = 0; i < NDBS && r == MMS_OK; i++) {
        rc = mdb_dbi_open(txn, db_names[i], create ? MDB_CREATE : 0,
                          &sh->dbi[i]);
        if (rc == MDB_NOTFOUND && i == DB_WRITERS)
            continue;
        if (rc == MDB_NOTFOUND)
            r = mmsi_err(MMS_ERR_CORRUPT, "catalog %s has no '%s' database: "
                         "not an mmstore store", path, db_names[i]);
        else if (rc != 0)
            r = mmsi_err_lmdb(rc, "catalog %s: database '%s'", path,
                              db_names[i]);
        else if (i == DB_WRITERS)
            sh->has_writers = true;
    }
    /* Committing (even a read-only transaction) keeps the dbi handles. */
    if (r == MMS_OK && (rc = mdb_txn_commit(txn)) != 0)
        r = mmsi_err_lmdb(rc, "catalog %s", path);
    else if (r != MMS_OK)
        mdb_txn_abort(txn);
    if (r == MMS_OK && !sh->has_writers && !(flags & MDB_RDONLY))
        r = add_writers_db(sh, path);
    if (r != MMS_OK) {
        mdb_env_close(sh->env);
        sh->env = NULL;
    }
    return r;
}

int mmsi_cat_open(mmsi_cat *cat, const char *store_path, int dirfd,
                  bool create, bool shared_group, bool rdonly)
{
    char path[PATH_MAX];
    cat->path = store_path;
    snprintf(path, sizeof path, "%s/catalog", store_path);
    pthread_once(&atfork_once, register_atfork);
    cat->fork_generation = mmsi_fork_generation();
    pthread_mutex_lock(&registry_lock);
    pid_t pid = getpid();
    struct mmsi_catalog *sh = NULL;
    struct stat st;
    int rc = MMS_OK;
    if (fstatat(dirfd, "catalog/data.mdb", &st, AT_SYMLINK_NOFOLLOW)
        == 0) {
        for (sh = registry; sh; sh = sh->next)
            if (sh->pid == pid && sh->dev == st.st_dev &&
                sh->ino == st.st_ino)
                break;
    }
    if (!sh) {
        sh = calloc(1, sizeof *sh);
        if (!sh) {
            rc = mmsi_err(MMS_ERR_NOMEM, "catalog %s", path);
            goto out;
        }
        if ((rc = env_open(sh, path, dirfd, create, shared_group)) != MMS_OK) {
            free(sh);
            sh = NULL;
            goto out;
        }
        if (fstatat(dirfd, "catalog/data.mdb", &st,
                    AT_SYMLINK_NOFOLLOW) != 0) {
            rc = mmsi_errno(errno, "catalog %s/data.mdb", path);
            mdb_env_close(sh->env);
            free(sh);
            sh = NULL;
            goto out;
        }
        sh->dev = st.st_dev;
        sh->ino = st.st_ino;
        sh->pid = pid;
        pthread_rwlock_init(&sh->txn_lock, NULL);
        pthread_mutex_init(&sh->pool_lock, NULL);
        sh->next = registry;
        registry = sh;
    } else if (create) {
        /* Shared with an earlier handle that opened it without creating:
         * make sure the databases exist. */
        MDB_txn *txn;
        rc = mdb_txn_begin(sh->env, NULL, 0, &txn);
        if (rc == 0) {
            for (int i = 0; i < NDBS && rc == 0; i++)
                rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &sh->dbi[i]);
            rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
        }
        if (rc == 0)
            sh->has_writers = true;
        if (rc != 0) {
            rc = mmsi_err_lmdb(rc, "catalog %s", path);
            sh = NULL;
            goto out;
        }
    }
    if (!rdonly) {
        int dead = 0;
        mdb_reader_check(sh->env, &dead); /* slots of dead readers */
    }
    sh->refs++;
    cat->shared = sh;
    cat->env = sh->env;
    cat->db_meta = sh->dbi[0];
    cat->db_arrays = sh->dbi[1];
    cat->db_blocks = sh->dbi[2];
    cat->db_attrs = sh->dbi[3];
    cat->db_staged = sh->dbi[4];
    cat->db_writers = sh->dbi[DB_WRITERS];
    cat->has_writers = sh->has_writers;
out:
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void mmsi_cat_close(mmsi_cat *cat)
{
    struct mmsi_catalog *sh = cat->shared;
    if (!sh)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--sh->refs == 0) {
        for (struct mmsi_catalog **p = &registry; *p; p = &(*p)->next)
            if (*p == sh) {
                *p = sh->next;
                break;
            }
        /* A catalog inherited through fork() belongs to the parent: its
         * environment must not be closed (or used) here, nor its pooled
         * transactions ended (their slots are the parent's). */
        if (sh->pid == getpid()) {
            for (int i = 0; i < sh->npool; i++)
                mdb_txn_abort(sh->pool[i]);
            mdb_env_close(sh->env);
        }
        sh->npool = 0;
        pthread_mutex_destroy(&sh->pool_lock);
        pthread_rwlock_destroy(&sh->txn_lock);
        free(sh);
    }
    pthread_mutex_unlock(&registry_lock);
    cat->shared = NULL;
    cat->env = NULL;
}

/* Grows the map to twice the size it had when the caller saw MAP_FULL
 * (unless another thread already did), or adopts another process's size
 * (double_it false). */
static int grow_map(mmsi_cat *cat, size_t seen, bool double_it)
{
    pthread_rwlock_wrlock(&cat->shared->txn_lock);
    MDB_envinfo info;
    mdb_env_info(cat->env, &info);
    int rc = 0;
    if (!double_it)
        rc = mdb_env_set_mapsize(cat->env, 0);
    else if (info.me_mapsize <= seen)
        rc = mdb_env_set_mapsize(cat->env, seen * 2);
    pthread_rwlock_unlock(&cat->shared->txn_lock);
    if (rc != 0)
        return mmsi_err_lmdb(rc, "growing the catalog map of %s", cat->path);
    return MMS_OK;
}

/* A reset read transaction from the pool, or NULL when it is empty. */
static MDB_txn *pool_take(struct mmsi_catalog *sh)
{
    MDB_txn *txn = NULL;
    pthread_mutex_lock(&sh->pool_lock);
    if (sh->npool > 0)
        txn = sh->pool[--sh->npool];
    pthread_mutex_unlock(&sh->pool_lock);
    return txn;
}

/* Keeps the ended (reset, or failed to renew) read transaction txn for the
 * next read, or aborts it, freeing its slot, when the pool is full. */
static void pool_give(struct mmsi_catalog *sh, MDB_txn *txn)
{
    pthread_mutex_lock(&sh->pool_lock);
    if (sh->npool < READ_POOL) {
        sh->pool[sh->npool++] = txn;
        txn = NULL;
    }
    pthread_mutex_unlock(&sh->pool_lock);
    if (txn)
        mdb_txn_abort(txn);
}

/* Starts a read transaction: renews a pooled one, else begins one (which
 * takes a reader slot under LMDB's reader-table mutex). */
static int read_begin(struct mmsi_catalog *sh, MDB_txn **out)
{
    MDB_txn *txn = pool_take(sh);
    if (!txn)
        return begin_reader(sh->env, out);
    int rc = mdb_txn_renew(txn);
    if (rc == 0) {
        *out = txn;
    } else if (rc == MDB_MAP_RESIZED) {
        pool_give(sh, txn); /* ended, slot kept: renewable after the grow */
    } else if (rc != MDB_BAD_RSLOT) {
        mdb_txn_abort(txn);
    }
    /* MDB_BAD_RSLOT: the slot is no longer ours (the lock file was reset
     * under us): aborting would free another reader's slot, so the handle
     * is leaked instead (a few hundred bytes, once). */
    return rc;
}

static int run_txn(mmsi_cat *cat, bool write, mmsi_txn_fn fn, void *ctx)
{
    int frc = mmsi_cat_check_fork(cat);
    if (frc != MMS_OK)
        return frc;
    for (;;) {
        MDB_envinfo info;
        MDB_txn *txn;
        pthread_rwlock_rdlock(&cat->shared->txn_lock);
        mdb_env_info(cat->env, &info);
        int rc = write ? mdb_txn_begin(cat->env, NULL, 0, &txn)
                       : read_begin(cat->shared, &txn);
        if (rc == MDB_MAP_RESIZED) {
            pthread_rwlock_unlock(&cat->shared->txn_lock);
            if ((rc = grow_map(cat, 0, false)) != MMS_OK)
                return rc;
            continue;
        }
        if (rc != 0) {
            pthread_rwlock_unlock(&cat->shared->txn_lock);
            return mmsi_err_lmdb(rc, "catalog transaction in %s", cat->path);
        }
        int r = fn(txn, ctx);
        if (r == MMS_OK && write) {
            rc = mdb_txn_commit(txn);
            if (rc == MDB_MAP_FULL)
                r = MAP_FULL_RETRY;
            else if (rc != 0)
                r = mmsi_err_lmdb(rc, "committing the catalog of %s",
                                  cat->path);
        } else if (write) {
            mdb_txn_abort(txn);
        } else {
            /* Reset before the read lock goes: grow_map needs it ended. */
            mdb_txn_reset(txn);
            pool_give(cat->shared, txn);
        }
        pthread_rwlock_unlock(&cat->shared->txn_lock);
        if (r != MAP_FULL_RETRY)
            return r;
        if ((r = grow_map(cat, info.me_mapsize, true)) != MMS_OK)
            return r;
    }
}

int mmsi_cat_write(mmsi_cat *cat, mmsi_txn_fn fn, void *ctx)
{
    return run_txn(cat, true, fn, ctx);
}

int mmsi_cat_read(mmsi_cat *cat, mmsi_txn_fn fn, void *ctx)
{
    return run_txn(cat, false, fn, ctx);
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
        r = MAP_FULL_RETRY;
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
