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
                r = MMSI_MAP_FULL_RETRY;
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
        if (r != MMSI_MAP_FULL_RETRY)
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
        return MMSI_MAP_FULL_RETRY;
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
        return MMSI_MAP_FULL_RETRY;
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: deleting %s", what);
    return MMS_OK;
}
