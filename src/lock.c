/* lock.c - range locks on an array's rows and named locks on STORE/LOCK.
 *
 * Both are Linux OFD locks: they belong to an open file description, so
 * they exclude between threads of one process as well as between processes
 * as long as each lock has its own description, and the kernel drops them
 * when the last descriptor of that description closes, i.e. when the
 * holder dies. Each lock therefore takes a descriptor of its own, reopened
 * through /proc/self/fd (which also works for an unlinked data file), from
 * a small per-handle pool so that an uncontended lock + unlock costs two
 * fcntl calls, not an open and a close as well. */
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* Row r of axis 0 is byte 4096 + r of the data file (format.md). */
#define ROW_LOCK_BASE ((uint64_t)MMSI_HEADER_SIZE)
#define MAX_LOCK_ROW (UINT64_C(1) << 62)
/* Polling for a lock with a timeout: the kernel only offers "try" or "wait
 * for ever", so timed waits retry with backoff from 20 µs up to 5 ms. */
#define POLL_MIN_NS 20000L
#define POLL_MAX_NS 5000000L

struct mms_lock {
    mmsi_fdpool *pool;
    int fd;
    mmsi_held held;
    off_t start, len;
    mms_array *array;          /* range locks: to count outstanding locks */
    unsigned long fork_generation;
};

static struct timespec add_ms(struct timespec t, int ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* 0, or EAGAIN (held, timeout 0), ETIMEDOUT, or another errno. */
static int take(int fd, short type, off_t start, off_t len, int timeout_ms)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                       .l_start = start, .l_len = len};
    if (timeout_ms < 0) {
        while (fcntl(fd, F_OFD_SETLKW, &fl) != 0)
            if (errno != EINTR)
                return errno;
        return 0;
    }
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno != EAGAIN && errno != EACCES)
        return errno;
    if (timeout_ms == 0)
        return EAGAIN;
    struct timespec now, deadline;
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline = add_ms(now, timeout_ms);
    long pause_ns = POLL_MIN_NS;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!before(now, deadline))
            return ETIMEDOUT;
        long left = (deadline.tv_sec - now.tv_sec) * 1000000000L +
                    (deadline.tv_nsec - now.tv_nsec);
        struct timespec nap = {0, pause_ns < left ? pause_ns : left};
        nanosleep(&nap, NULL);
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
            return 0;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR)
            return errno;
        if (pause_ns < POLL_MAX_NS)
            pause_ns *= 2;
    }
}

static int lock_common(mmsi_fdpool *pool, mms_array *array, off_t start,
                       off_t len, int mode, int timeout_ms, mms_lock **out,
                       const char *what)
{
    mms_lock *l = malloc(sizeof *l);
    if (!l)
        return mmsi_err(MMS_ERR_NOMEM, "%s", what);
    l->fd = mmsi_fdpool_get(pool);
    if (l->fd < 0) {
        int e = errno;
        free(l);
        return mmsi_errno(e, "%s: reopening the file to lock", what);
    }
    int e = take(l->fd, mode == MMS_LOCK_EXCLUSIVE ? F_WRLCK : F_RDLCK, start,
                 len, timeout_ms);
    if (e != 0) {
        mmsi_fdpool_put(pool, l->fd);
        free(l);
        if (e == EAGAIN)
            return mmsi_err(MMS_ERR_BUSY, "%s: held by another lock", what);
        if (e == ETIMEDOUT)
            return mmsi_err(MMS_ERR_TIMEOUT, "%s: still held after %d ms",
                            what, timeout_ms);
        return mmsi_errno(e, "%s", what);
    }
    l->pool = pool;
    l->start = start;
    l->len = len;
    l->array = array;
    l->fork_generation = mmsi_fork_generation();
    mmsi_held_add(&l->held, &l->fd);
    if (array)
        __atomic_add_fetch(&array->nlocks, 1, __ATOMIC_RELAXED);
    *out = l;
    return MMS_OK;
}

static int check_mode(int mode, int timeout_ms, const char *what)
{
    if (mode != MMS_LOCK_SHARED && mode != MMS_LOCK_EXCLUSIVE)
        return mmsi_err(MMS_ERR_INVAL, "%s: mode %d is neither "
                        "MMS_LOCK_SHARED nor MMS_LOCK_EXCLUSIVE", what, mode);
    if (timeout_ms < -1)
        return mmsi_err(MMS_ERR_INVAL, "%s: timeout %d ms (use -1 to wait "
                        "for ever)", what, timeout_ms);
    return MMS_OK;
}

int mms_lock_range(mms_array *array, uint64_t first_row, uint64_t nrows,
                   int mode, int timeout_ms, mms_lock **out)
{
    if (out)
        *out = NULL;
    if (!array || !out)
        return mmsi_err(MMS_ERR_INVAL, "mms_lock_range: NULL argument");
    char what[MMS_NAME_MAX + 64];
    snprintf(what, sizeof what, "lock rows of '%s'", array->name);
    int rc = check_mode(mode, timeout_ms, what);
    if (rc != MMS_OK || (rc = mmsi_check_fork(array->store)) != MMS_OK)
        return rc;
    if (first_row > MAX_LOCK_ROW || nrows > MAX_LOCK_ROW - first_row)
        return mmsi_err(MMS_ERR_INVAL, "%s: rows beyond 2^62", what);
    if (mode == MMS_LOCK_EXCLUSIVE && !array->writable)
        return mmsi_err(MMS_ERR_RDONLY, "%s: an exclusive lock needs a "
                        "handle opened MMS_RDWR", what);
    return lock_common(&array->lock_pool, array,
                       (off_t)(ROW_LOCK_BASE + first_row), (off_t)nrows, mode,
                       timeout_ms, out, what);
}

int mms_lock_named(mms_store *store, const char *key, int mode,
                   int timeout_ms, mms_lock **out)
{
    if (out)
        *out = NULL;
    if (!store || !out)
        return mmsi_err(MMS_ERR_INVAL, "mms_lock_named: NULL argument");
    int rc = mmsi_check_name(key, "lock key");
    if (rc != MMS_OK)
        return rc;
    char what[MMS_NAME_MAX + 64];
    snprintf(what, sizeof what, "named lock '%s'", key);
    if ((rc = check_mode(mode, timeout_ms, what)) != MMS_OK ||
        (rc = mmsi_check_fork(store)) != MMS_OK)
        return rc;
    if (mode == MMS_LOCK_EXCLUSIVE && (store->flags & MMS_RDONLY))
        return mmsi_err(MMS_ERR_RDONLY, "%s: store %s was opened read-only",
                        what, store->path);
    /* Any byte below 2^62 of LOCK: offsets must stay positive off_t. */
    uint64_t byte = XXH3_64bits(key, strlen(key)) >> 2;
    return lock_common(&store->lock_pool, NULL, (off_t)byte, 1, mode,
                       timeout_ms, out, what);
}

int mms_unlock(mms_lock *lock)
{
    if (!lock)
        return MMS_OK;
    if (lock->fork_generation != mmsi_fork_generation())
        return mmsi_err(MMS_ERR_FORKED, "unlock: the lock was taken before "
                        "fork(); only the parent can release it");
    mmsi_held_remove(&lock->held);
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET,
                       .l_start = lock->start, .l_len = lock->len};
    int rc = MMS_OK;
    if (fcntl(lock->fd, F_OFD_SETLK, &fl) != 0) {
        /* Not reusable in a doubtful state: closing drops the lock. */
        rc = mmsi_errno(errno, "unlock");
        close(lock->fd);
    } else {
        mmsi_fdpool_put(lock->pool, lock->fd);
    }
    if (lock->array)
        __atomic_sub_fetch(&lock->array->nlocks, 1, __ATOMIC_RELAXED);
    free(lock);
    return rc;
}

/* ---- listing ------------------------------------------------------------- */

typedef struct list_ctx {
    int fd;
    mms_lock_list_fn fn;
    void *ctx;
    int rc;
} list_ctx;

/* F_OFD_GETLK reports one conflicting lock, not necessarily the lowest, so
 * the range is split around each lock found and both sides are searched,
 * left first: O(locks) calls, in ascending order. A write-lock probe
 * conflicts with every lock, shared or exclusive. */
static void list_range(list_ctx *l, off_t start, off_t end) /* end 0 = inf */
{
    if (l->rc != 0 || (end != 0 && end <= start))
        return;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                       .l_start = start, .l_len = end ? end - start : 0};
    int rc;
    do
        rc = fcntl(l->fd, F_OFD_GETLK, &fl);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        l->rc = mmsi_errno(errno, "listing locks");
        return;
    }
    if (fl.l_type == F_UNLCK)
        return;
    off_t lo = fl.l_start < start ? start : fl.l_start;
    off_t hi = fl.l_len == 0 ? 0 : fl.l_start + fl.l_len;
    if (end != 0 && (hi == 0 || hi > end))
        hi = end;
    list_range(l, start, lo);
    if (l->rc != 0)
        return;
    mms_lock_info info = {
        .first_row = (uint64_t)(lo - (off_t)ROW_LOCK_BASE),
        .nrows = hi == 0 ? 0 : (uint64_t)(hi - lo),
        .mode = fl.l_type == F_WRLCK ? MMS_LOCK_EXCLUSIVE : MMS_LOCK_SHARED};
    if ((l->rc = l->fn(&info, l->ctx)) != 0)
        return;
    if (hi != 0)
        list_range(l, hi, end);
}

int mms_lock_list(mms_array *array, mms_lock_list_fn fn, void *ctx)
{
    if (!array || !fn)
        return mmsi_err(MMS_ERR_INVAL, "mms_lock_list: NULL argument");
    /* A fresh open file description, so this handle's own locks show. */
    list_ctx l = {.fd = mmsi_fdpool_get(&array->lock_pool), .fn = fn, .ctx = ctx};
    if (l.fd < 0)
        return mmsi_errno(errno, "listing locks of '%s'", array->name);
    list_range(&l, (off_t)ROW_LOCK_BASE, 0);
    mmsi_fdpool_put(&array->lock_pool, l.fd);
    return l.rc;
}
