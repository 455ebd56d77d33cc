/* store.c - opening and closing a store: its directory, LOCK file and
 * catalog; the store's transactions. */
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BLOCK_SIZE (1u << 20)

static uint64_t default_block_size = DEFAULT_BLOCK_SIZE;

int mms_store_set_default_block_size(uint64_t bytes)
{
    if (bytes < 4096 || bytes > (1u << 30) || (bytes & (bytes - 1)))
        return mmsi_err(MMS_ERR_INVAL, "block size %" PRIu64 ": must be a "
                        "power of two from 4096 to 1 GiB", bytes);
    __atomic_store_n(&default_block_size, bytes, __ATOMIC_RELAXED);
    return MMS_OK;
}

/* Runs an objects-layer body (which wants its store) as a catalog body. */
typedef struct store_txn {
    mms_store *store;
    mmsi_store_fn fn;
    void *ctx;
} store_txn;

static int store_txn_body(MDB_txn *txn, void *arg)
{
    store_txn *t = arg;
    return t->fn(t->store, txn, t->ctx);
}

int mmsi_store_write(mms_store *store, mmsi_store_fn fn, void *ctx)
{
    store_txn t = {store, fn, ctx};
    return mmsi_cat_write(&store->cat, store_txn_body, &t);
}

int mmsi_store_read(mms_store *store, mmsi_store_fn fn, void *ctx)
{
    store_txn t = {store, fn, ctx};
    return mmsi_cat_read(&store->cat, store_txn_body, &t);
}

int mmsi_store_check_writable(const mms_store *store, const char *what)
{
    if (store->flags & MMS_RDONLY)
        return mmsi_err(MMS_ERR_RDONLY, "%s: store %s was opened read-only",
                        what, store->path);
    return MMS_OK;
}

/* Filesystems on which LMDB's locks, OFD locks and mmap coherence between
 * hosts do not hold (statfs f_type values from linux/magic.h). */
static const char *network_fs_name(long type)
{
    switch ((unsigned long)type) {
    case 0x6969: return "NFS";
    case 0x517b: return "SMB";
    case 0xff534d42: return "CIFS";
    case 0xfe534d42: return "SMB2";
    case 0x65735546: return "FUSE";
    case 0x564c: return "NCP";
    case 0x7461636f: return "OCFS2";
    case 0x47504653: return "GPFS";
    case 0x0bd00bd0: return "Lustre";
    case 0x00c36400: return "Ceph";
    case 0x6b414653: return "AFS";
    case 0x01021997: return "9P";
    default: return NULL;
    }
}

/* The meta records of a new store, or the check of an existing one. */
static int init_meta(mms_store *store, MDB_txn *txn, void *ctx)
{
    (void)ctx;
    uint64_t format;
    int rc = mmsi_meta_get_u64(&store->cat, txn, "format", &format);
    if (rc == MMS_ERR_NOTFOUND) {
        unsigned char uuid[16], f[4];
        if (getrandom(uuid, sizeof uuid, 0) != (ssize_t)sizeof uuid)
            return mmsi_errno(errno, "store %s: getrandom", store->path);
        uuid[6] = (uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        mmsi_put_le32(f, MMS_FORMAT_VERSION);
        uint64_t bs = __atomic_load_n(&default_block_size, __ATOMIC_RELAXED);
        if ((rc = mmsi_put(txn, store->cat.db_meta, "format", 6, f, 4,
                           "format")) ||
            (rc = mmsi_put(txn, store->cat.db_meta, "uuid", 4, uuid, 16,
                           "uuid")) ||
            (rc = mmsi_meta_put_u64(&store->cat, txn, "block_size", bs)) ||
            (rc = mmsi_meta_put_u64(&store->cat, txn, "next_id", 1)))
            return rc;
        return MMS_OK;
    }
    return rc;
}

static int read_meta(mms_store *store, MDB_txn *txn, void *ctx)
{
    (void)ctx;
    uint64_t format, bs, next;
    int rc = mmsi_meta_get_u64(&store->cat, txn, "format", &format);
    if (rc == MMS_ERR_NOTFOUND)
        return mmsi_err(MMS_ERR_CORRUPT, "%s is not an mmstore store (its "
                        "catalog has no format record)", store->path);
    if (rc != MMS_OK)
        return rc;
    if (format > MMS_FORMAT_VERSION)
        return mmsi_err(MMS_ERR_VERSION, "store %s has format version %"
                        PRIu64 "; this library (%s) reads up to %d",
                        store->path, format, MMS_VERSION_STRING,
                        MMS_FORMAT_VERSION);
    if (format == 0)
        return mmsi_err(MMS_ERR_CORRUPT, "store %s has format version 0",
                        store->path);
    if ((rc = mmsi_meta_get_u64(&store->cat, txn, "block_size", &bs)) != MMS_OK ||
        (rc = mmsi_meta_get_u64(&store->cat, txn, "next_id", &next)) != MMS_OK)
        return rc == MMS_ERR_NOTFOUND ? MMS_ERR_CORRUPT : rc;
    if (bs < 4096 || bs > (1u << 30) || (bs & (bs - 1)) || next == 0)
        return mmsi_err(MMS_ERR_CORRUPT, "store %s: bad block size %" PRIu64
                        " or next id %" PRIu64, store->path, bs, next);
    store->block_size = bs;
    return MMS_OK;
}

/* Makes STORE/, data/ and LOCK when absent (racing creators are fine:
 * EEXIST is success). */
/* fsync of the directory holding path's last component. */
static int fsync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return mmsi_err(MMS_ERR_NOMEM, "creating store %s", path);
    char *slash = strrchr(copy, '/');
    const char *parent = !slash ? "." : slash == copy ? "/" : copy;
    if (slash && slash != copy)
        *slash = '\0';
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = MMS_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = mmsi_errno(errno, "fsync of %s, the directory holding store %s",
                        parent, path);
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

static int fsync_subdir(mms_store *store, const char *sub)
{
    int fd = openat(store->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                    O_NOFOLLOW);
    int rc = MMS_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = mmsi_errno(errno, "fsync of %s/%s", store->path, sub);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int make_layout(mms_store *store, bool shared)
{
    mode_t dmode = shared ? 02770 : 0700;
    if (mkdir(store->path, dmode) != 0 && errno != EEXIST)
        return mmsi_errno(errno, "creating store directory %s", store->path);
    store->dirfd = open(store->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                        O_NOFOLLOW);
    if (store->dirfd < 0)
        return mmsi_errno(errno, "opening store directory %s", store->path);
    if (shared && fchmod(store->dirfd, dmode) != 0)
        return mmsi_errno(errno, "chmod of store directory %s", store->path);
    const char *sub[2] = {"catalog", "data"};
    for (int i = 0; i < 2; i++) {
        if (mkdirat(store->dirfd, sub[i], dmode) != 0 && errno != EEXIST)
            return mmsi_errno(errno, "creating %s/%s", store->path, sub[i]);
        if (shared) {
            int fd = openat(store->dirfd, sub[i], O_RDONLY | O_DIRECTORY |
                            O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0 || fchmod(fd, dmode) != 0) {
                int e = errno;
                if (fd >= 0)
                    close(fd);
                return mmsi_errno(e, "chmod of %s/%s", store->path, sub[i]);
            }
            close(fd);
        }
    }
    int fd = openat(store->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC |
                    O_NOFOLLOW, shared ? 0660 : 0600);
    if (fd < 0)
        return mmsi_errno(errno, "creating %s/LOCK", store->path);
    if (shared)
        fchmod(fd, 0660); /* the umask must not narrow a shared store */
    close(fd);
    /* The new names must survive a power cut: STORE's entries (catalog/,
     * data/, LOCK), and STORE's own name in its parent. */
    if (fsync(store->dirfd) != 0)
        return mmsi_errno(errno, "fsync of store directory %s", store->path);
    return fsync_parent(store->path);
}

/* The store's own entries must be what they are, never symbolic links: a
 * link could lead a store's catalog or data anywhere, and the layout
 * checks would then disagree about it (a linked catalog/ was followed, a
 * linked data/ refused as "not a directory"). Absent entries are the
 * caller's to report. */
static int check_entry(mms_store *store, const char *name, mode_t type)
{
    struct stat st;
    if (fstatat(store->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? MMS_OK
                               : mmsi_errno(errno, "%s/%s", store->path, name);
    if (S_ISLNK(st.st_mode))
        return mmsi_err(MMS_ERR_CORRUPT, "store %s: %s is a symbolic link; a "
                        "store holds no links (replace it with the %s itself)",
                        store->path, name,
                        type == S_IFDIR ? "directory" : "file");
    if ((st.st_mode & S_IFMT) != type)
        return mmsi_err(MMS_ERR_CORRUPT, "store %s: %s is not a %s",
                        store->path, name,
                        type == S_IFDIR ? "directory" : "regular file");
    return MMS_OK;
}

static int open_layout(mms_store *store, bool create)
{
    if (store->dirfd < 0) {
        store->dirfd = open(store->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                            O_NOFOLLOW);
        if (store->dirfd < 0) {
            if (errno == ENOENT)
                return mmsi_err(MMS_ERR_NOTFOUND, "no store at %s (create "
                                "it with MMS_CREATE or 'mmstore init')",
                                store->path);
            return mmsi_errno(errno, "opening store directory %s",
                              store->path);
        }
    }
    struct stat st;
    if (fstat(store->dirfd, &st) != 0)
        return mmsi_errno(errno, "stat of %s", store->path);
    store->shared_group = (st.st_mode & S_ISGID) != 0;
    int rc;
    if ((rc = check_entry(store, "catalog", S_IFDIR)) != MMS_OK ||
        (rc = check_entry(store, "catalog/data.mdb", S_IFREG)) != MMS_OK ||
        (rc = check_entry(store, "catalog/lock.mdb", S_IFREG)) != MMS_OK ||
        (rc = check_entry(store, "data", S_IFDIR)) != MMS_OK ||
        (rc = check_entry(store, "LOCK", S_IFREG)) != MMS_OK)
        return rc;
    if (!create && fstatat(store->dirfd, "catalog/data.mdb", &st,
                           AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return mmsi_err(MMS_ERR_NOTFOUND, "%s is not an mmstore store "
                            "(no catalog/data.mdb)", store->path);
        return mmsi_errno(errno, "%s/catalog/data.mdb", store->path);
    }
    store->datafd = openat(store->dirfd, "data", O_RDONLY | O_DIRECTORY |
                           O_CLOEXEC | O_NOFOLLOW);
    if (store->datafd < 0)
        return errno == ENOENT
                   ? mmsi_err(MMS_ERR_CORRUPT, "store %s has no data/ "
                              "directory", store->path)
                   : mmsi_errno(errno, "opening %s/data", store->path);
    int lflags = (store->flags & MMS_RDONLY) ? O_RDONLY : O_RDWR;
    store->lockfd = openat(store->dirfd, "LOCK", lflags | O_CLOEXEC |
                           O_NOFOLLOW);
    if (store->lockfd < 0)
        return errno == ENOENT
                   ? mmsi_err(MMS_ERR_CORRUPT, "store %s has no LOCK file",
                              store->path)
                   : mmsi_errno(errno, "opening %s/LOCK", store->path);
    return MMS_OK;
}

static void free_store(mms_store *store)
{
    mmsi_cat_close(&store->cat);
    if (store->dirfd >= 0)
        close(store->dirfd);
    if (store->datafd >= 0)
        close(store->datafd);
    if (store->lockfd >= 0)
        close(store->lockfd);
    pthread_mutex_destroy(&store->arrays_lock);
    mmsi_fdpool_destroy(&store->lock_pool);
    free(store->path);
    free(store);
}

int mms_store_open(const char *path, unsigned flags, mms_store **out)
{
    if (!out)
        return mmsi_err(MMS_ERR_INVAL, "mms_store_open: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return mmsi_err(MMS_ERR_INVAL, "mms_store_open: empty path");
    if (flags & ~(MMS_CREATE | MMS_RDONLY | MMS_SHARED_GROUP |
                  MMS_ALLOW_NETFS))
        return mmsi_err(MMS_ERR_INVAL, "mms_store_open %s: unknown flags "
                        "0x%x", path, flags);
    if ((flags & MMS_CREATE) && (flags & MMS_RDONLY))
        return mmsi_err(MMS_ERR_RDONLY, "mms_store_open %s: cannot create "
                        "a store read-only", path);
    mms_store *store = calloc(1, sizeof *store);
    if (!store || !(store->path = strdup(path))) {
        free(store);
        return mmsi_err(MMS_ERR_NOMEM, "mms_store_open %s", path);
    }
    store->flags = flags;
    store->dirfd = store->datafd = store->lockfd = -1;
    pthread_mutex_init(&store->arrays_lock, NULL);
    mmsi_fdpool_init(&store->lock_pool, -1, false);

    int rc = MMS_OK;
    if (flags & MMS_CREATE) {
        const char *g = getenv("MMS_GROUP");
        rc = make_layout(store, (flags & MMS_SHARED_GROUP) || (g && *g));
    }
    if (rc == MMS_OK)
        rc = open_layout(store, flags & MMS_CREATE);
    if (rc == MMS_OK) {
        store->lock_pool.source = store->lockfd;
        store->lock_pool.writable = !(flags & MMS_RDONLY);
    }
    if (rc == MMS_OK && !(flags & MMS_ALLOW_NETFS)) {
        struct statfs sf;
        const char *fs;
        if (fstatfs(store->dirfd, &sf) == 0 &&
            (fs = network_fs_name((long)sf.f_type)) != NULL)
            rc = mmsi_err(MMS_ERR_UNSUPPORTED, "store %s is on a %s "
                          "filesystem, where LMDB, OFD locks and shared "
                          "mappings are not safe (use a local filesystem, "
                          "or MMS_ALLOW_NETFS at your own risk)", path, fs);
    }
    if (rc == MMS_OK)
        rc = mmsi_cat_open(&store->cat, store->path, store->dirfd,
                           flags & MMS_CREATE, store->shared_group,
                           flags & MMS_RDONLY);
    if (rc == MMS_OK && (flags & MMS_CREATE))
        rc = mmsi_store_write(store, init_meta, NULL);
    if (rc == MMS_OK && (flags & MMS_CREATE))
        rc = fsync_subdir(store, "catalog"); /* the names of LMDB's files */
    if (rc == MMS_OK)
        rc = mmsi_store_read(store, read_meta, NULL);
    if (rc != MMS_OK) {
        free_store(store);
        return rc;
    }
    *out = store;
    return MMS_OK;
}

int mms_store_close(mms_store *store)
{
    if (!store)
        return MMS_OK;
    pthread_mutex_lock(&store->arrays_lock);
    long n = store->narrays;
    pthread_mutex_unlock(&store->arrays_lock);
    if (n > 0)
        return mmsi_err(MMS_ERR_BUSY, "closing store %s: %ld array handles "
                        "are still open", store->path, n);
    free_store(store);
    return MMS_OK;
}

const char *mms_store_path(const mms_store *store)
{
    return store ? store->path : NULL;
}

uint64_t mms_store_block_size(const mms_store *store)
{
    return store ? store->block_size : 0;
}
