/* test_io_errors.c - a failed write-back is never forgotten (DESIGN 5,
 * "fsyncgate", issue 11 item 1). Linux reports an msync/fdatasync error
 * once and marks the failed pages clean, so a retry "succeeds" without
 * writing them: after one failure every later sync, sync_range, publish and
 * close of that handle must fail with MMS_ERR_IO, and the array must stay
 * dirty (INTERRUPTED once the handle is gone) instead of recording
 * checksums of data that never reached the disk.
 *
 * The errors are injected by this program's own msync and fdatasync, which
 * interpose on libc's for the library too (the dynamic linker resolves the
 * library's calls to the executable's definitions) and fail the n-th call
 * after fi_arm(). */
#define _GNU_SOURCE
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- the injector --------------------------------------------------------- */

static int fail_msync_at, fail_fdatasync_at; /* 1 = the next call; 0 = off */
static int msync_calls, fdatasync_calls;

/* Whether fd is an array's data file, not the catalog's: LMDB's commits
 * fdatasync too. (A data file made with O_TMPFILE keeps an anonymous name
 * in /proc even once linked, so look for what it is not.) */
static int is_data_file(int fd)
{
    char proc[64], path[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, path, sizeof path - 1);
    if (n <= 4)
        return 0;
    path[n] = '\0';
    return strstr(path, ".mdb") == NULL;
}

int msync(void *addr, size_t len, int flags);
int fdatasync(int fd);
int fsync(int fd);

/* Paths fsync()ed while recording is on (fi_record). */
#define MAX_SYNCED 64
static int recording;
static int nsynced;
static char synced[MAX_SYNCED][512];

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (recording && nsynced < MAX_SYNCED) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(proc, synced[nsynced], sizeof synced[0] - 1);
        if (n > 0) {
            synced[nsynced][n] = '\0';
            nsynced++;
        }
    }
    return real(fd);
}

static bool was_synced(const char *path)
{
    for (int i = 0; i < nsynced; i++)
        if (strcmp(synced[i], path) == 0)
            return true;
    return false;
}

int msync(void *addr, size_t len, int flags)
{
    static int (*real)(void *, size_t, int);
    if (!real)
        real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");
    if (fail_msync_at && ++msync_calls == fail_msync_at) {
        /* As the kernel does: the pages are written back (or dropped) and
         * marked clean, and only this call hears of the error. */
        real(addr, len, flags);
        errno = EIO;
        return -1;
    }
    return real(addr, len, flags);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (fail_fdatasync_at && is_data_file(fd) &&
        ++fdatasync_calls == fail_fdatasync_at) {
        real(fd);
        errno = EIO;
        return -1;
    }
    return real(fd);
}

static void fi_arm_msync(int nth)
{
    msync_calls = 0;
    fail_msync_at = nth;
}

static void fi_arm_fdatasync(int nth)
{
    fdatasync_calls = 0;
    fail_fdatasync_at = nth;
}

static void fi_off(void)
{
    fail_msync_at = fail_fdatasync_at = 0;
}

/* ---- helpers --------------------------------------------------------------- */

static mms_state state_of(mms_store *s, const char *name)
{
    mms_info info;
    TU_OK(mms_stat(s, name, &info));
    return info.state;
}

static mms_array *writer(mms_store *s, const char *name)
{
    uint64_t shape[2] = {64, 16};
    mms_array *a = NULL;
    TU_OK(mms_array_create(s, name, MMS_INT64, 2, shape, 0, &a));
    return a;
}

/* ---- tests ------------------------------------------------------------------ */

static void a_failed_msync_fails_every_later_sync_and_the_close(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = writer(s, "x");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    int64_t *d = mms_array_data(a);
    d[0] = 1;
    fi_arm_msync(1);
    TU_RC(MMS_ERR_IO, mms_array_sync(a));
    TU_CHECKF(strstr(mms_errmsg(), "msync") != NULL, "message '%s' does not "
              "say msync failed", mms_errmsg());
    /* msync works again, but the kernel forgot the failed pages: nothing
     * may be recorded as synced through this handle any more. */
    fi_off();
    d[1] = 2;
    TU_RC(MMS_ERR_IO, mms_array_sync(a));
    TU_CHECKF(strstr(mms_errmsg(), "earlier write-back") != NULL,
              "message '%s' does not name the earlier failure", mms_errmsg());
    TU_RC(MMS_ERR_IO, mms_array_sync_range(a, 0, 1));
    CU_ASSERT_EQUAL(state_of(s, "x"), MMS_STATE_WRITING);
    TU_RC(MMS_ERR_IO, mms_array_close(a));
    /* The handle is gone without leaving: the array is not clean. */
    CU_ASSERT_EQUAL(state_of(s, "x"), MMS_STATE_INTERRUPTED);
    TU_OK(mms_store_close(s));
}

static void a_failed_msync_in_sync_range_is_sticky_too(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = writer(s, "x");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    fi_arm_msync(1);
    TU_RC(MMS_ERR_IO, mms_array_sync_range(a, 10, 2));
    fi_off();
    TU_RC(MMS_ERR_IO, mms_array_sync_range(a, 10, 2));
    TU_RC(MMS_ERR_IO, mms_array_close(a));
    CU_ASSERT_EQUAL(state_of(s, "x"), MMS_STATE_INTERRUPTED);
    TU_OK(mms_store_close(s));
}

static void a_failed_msync_in_publish_publishes_nothing_ever(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {1000};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, "p", MMS_FLOAT64, 1, shape, MMS_STAGED,
                                 &a));
    fi_arm_msync(1);
    TU_RC(MMS_ERR_IO, mms_array_publish(a));
    fi_off();
    TU_RC(MMS_ERR_IO, mms_array_publish(a));
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "p", &info));
    mms_array_close(a); /* discards the staged version */
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "p", &info));
    TU_OK(mms_store_close(s));
}

static void a_failed_fdatasync_in_resize_is_sticky(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = writer(s, "x");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    fi_arm_fdatasync(1); /* the header rewrite's, after the shape commit */
    TU_RC(MMS_ERR_IO, mms_array_resize(a, 100));
    fi_off();
    /* A failed resize changes nothing visible (issue 11 item 7): the shape
     * went back, in the catalog and in the handle's view. */
    mms_info info;
    TU_OK(mms_stat(s, "x", &info));
    TU_CHECKF(info.shape[0] == 64, "after the failed resize the catalog says "
              "%llu rows, expected the 64 it had",
              (unsigned long long)info.shape[0]);
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.shape[0], 64);
    TU_RC(MMS_ERR_IO, mms_array_sync(a));
    TU_RC(MMS_ERR_IO, mms_array_close(a));
    CU_ASSERT_EQUAL(state_of(s, "x"), MMS_STATE_INTERRUPTED);
    /* The header may say 100 rows: the next open rewrites it from the
     * catalog, and the checksums match the 64 rows. */
    mms_array *r = NULL;
    TU_OK(mms_array_open(s, "x", MMS_RDONLY, &r));
    TU_OK(mms_array_close(r));
    TU_OK(mms_verify(s, "x", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void other_handles_are_not_touched_by_one_handles_failure(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = writer(s, "x"), *b = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    TU_OK(mms_array_open(s, "x", MMS_RDWR, &b));
    fi_arm_msync(1);
    TU_RC(MMS_ERR_IO, mms_array_sync(a));
    fi_off();
    /* b's own syncs go on: the error belongs to a's write-back. */
    TU_OK(mms_array_sync(b));
    TU_RC(MMS_ERR_IO, mms_array_close(a));
    TU_OK(mms_array_close(b));
    /* a never left: its writes may be lost. */
    CU_ASSERT_EQUAL(state_of(s, "x"), MMS_STATE_INTERRUPTED);
    TU_OK(mms_store_close(s));
}

/* A new store's names survive a power cut: its directory's entries, its
 * own name in its parent, and LMDB's files in catalog/ are fsynced before
 * mms_store_open returns (issue 11 item 19). */
static void store_creation_fsyncs_every_new_directory_entry(void)
{
    const char *dir = tu_tmpdir();
    char path[4096], real_dir[4096], want[4200];
    snprintf(path, sizeof path, "%s/new-store", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real_dir));
    mms_store *s = NULL;
    nsynced = 0;
    recording = 1;
    int rc = mms_store_open(path, MMS_CREATE, &s);
    recording = 0;
    TU_OK_FATAL(rc);
    const char *need[3] = {"", "/new-store", "/new-store/catalog"};
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "%s%s", real_dir, need[i]);
        TU_CHECKF(was_synced(want), "%s was not fsynced while the store was "
                  "created (%d fsyncs seen)", want, nsynced);
    }
    TU_OK(mms_store_close(s));
}

static const tu_test io_tests[] = {
    TU_TEST(a_failed_msync_fails_every_later_sync_and_the_close),
    TU_TEST(a_failed_msync_in_sync_range_is_sticky_too),
    TU_TEST(a_failed_msync_in_publish_publishes_nothing_ever),
    TU_TEST(a_failed_fdatasync_in_resize_is_sticky),
    TU_TEST(other_handles_are_not_touched_by_one_handles_failure),
    TU_END,
};

static const tu_test durability_tests[] = {
    TU_TEST(store_creation_fsyncs_every_new_directory_entry),
    TU_END,
};

static const tu_suite suites[] = {
    {"fsyncgate", io_tests},
    {"durability", durability_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
