/* test_check.c - whole-store check and repair, and the lock listing. */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEN 64
#define DEFAULT_BLOCK_SIZE (UINT64_C(1) << 20) /* libmmstore(3) */

typedef struct seen {
    int n;
    mms_problem_kind kind[MAX_SEEN];
    char name[MAX_SEEN][64];
    int repaired[MAX_SEEN];
    uint64_t first_row[MAX_SEEN];
} seen;

static int record(const mms_problem *p, void *ctx)
{
    seen *s = ctx;
    if (s->n < MAX_SEEN) {
        s->kind[s->n] = p->kind;
        snprintf(s->name[s->n], sizeof s->name[0], "%s",
                 p->name ? p->name : "");
        s->repaired[s->n] = p->repaired;
        s->first_row[s->n] = p->first_row;
        s->n++;
    }
    return 0;
}

/* Index of the first problem of kind (for name, if not NULL), or -1. */
static int find(const seen *s, mms_problem_kind kind, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (s->kind[i] == kind && (!name || strcmp(s->name[i], name) == 0))
            return i;
    return -1;
}

static void data_path(mms_store *s, const char *name, char *out, size_t size)
{
    mms_info info;
    TU_OK_FATAL(mms_stat(s, name, &info));
    snprintf(out, size, "%s/data/%016llx.npy", mms_store_path(s),
             (unsigned long long)info.id);
}

/* A new store with 4 KiB checksum blocks holding narrays int64 arrays of
 * 4096 elements, a0, a1, ..., element i of ai set to i + 1. The default
 * block size is process-wide: it is put back at once, so that no test
 * depends on which test ran before it. */
static mms_store *store_with(int narrays)
{
    mms_store *s;
    mms_array *a;
    uint64_t shape[1] = {4096};
    TU_OK_FATAL(mms_store_set_default_block_size(4096));
    int rc = mms_store_open(tu_store_path(), MMS_CREATE, &s);
    mms_store_set_default_block_size(DEFAULT_BLOCK_SIZE);
    TU_RC_FATAL(MMS_OK, rc);
    CU_ASSERT_EQUAL_FATAL(mms_store_block_size(s), 4096);
    for (int i = 0; i < narrays; i++) {
        char name[16];
        snprintf(name, sizeof name, "a%d", i);
        TU_OK_FATAL(mms_array_create(s, name, MMS_INT64, 1, shape, 0, &a));
        ((int64_t *)mms_array_data(a))[i] = i + 1;
        TU_OK(mms_array_close(a));
    }
    return s;
}

static void clean_store_has_no_problems(void)
{
    mms_store *s = store_with(3);
    seen got = {0};
    TU_OK(mms_check(s, 0, record, &got));
    CU_ASSERT_EQUAL(got.n, 0);
    TU_OK(mms_check(s, MMS_CHECK_REPAIR, record, &got));
    CU_ASSERT_EQUAL(got.n, 0);
    TU_OK(mms_store_close(s));
}

static void missing_file_is_reported_and_repair_removes_the_name(void)
{
    mms_store *s = store_with(2);
    char path[4096];
    data_path(s, "a0", path, sizeof path);
    CU_ASSERT_FATAL(unlink(path) == 0);
    seen got = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, 0, record, &got));
    int i = find(&got, MMS_PROBLEM_MISSING_FILE, "a0");
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(got.repaired[i], 0);
    mms_info info;
    TU_OK(mms_stat(s, "a0", &info)); /* a plain check changes nothing */
    seen fixed = {0};
    TU_OK(mms_check(s, MMS_CHECK_REPAIR, record, &fixed));
    i = find(&fixed, MMS_PROBLEM_MISSING_FILE, "a0");
    CU_ASSERT(i >= 0 && fixed.repaired[i] == 1);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "a0", &info));
    TU_OK(mms_stat(s, "a1", &info)); /* the bystander is untouched */
    TU_OK(mms_check(s, 0, NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void header_disagreeing_is_rewritten_by_repair(void)
{
    mms_store *s = store_with(1);
    char path[4096];
    data_path(s, "a0", path, sizeof path);
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    /* As an interrupted resize leaves it: the shape text differs. */
    CU_ASSERT_FATAL(pwrite(fd, "(9999,)", 7, 60) == 7);
    close(fd);
    mms_array *a = NULL;
    TU_RC(MMS_ERR_CORRUPT, mms_array_open(s, "a0", MMS_RDONLY, &a));
    seen got = {0};
    TU_OK(mms_check(s, MMS_CHECK_REPAIR, record, &got));
    int i = find(&got, MMS_PROBLEM_BAD_FILE, "a0");
    CU_ASSERT(i >= 0 && got.repaired[i] == 1);
    TU_OK_FATAL(mms_array_open(s, "a0", MMS_RDONLY, &a));
    CU_ASSERT_EQUAL(((int64_t *)mms_array_data(a))[0], 1);
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "a0", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void orphan_file_is_deleted_by_repair_and_foreign_files_kept(void)
{
    mms_store *s = store_with(1);
    char orphan[4096], foreign[4096];
    snprintf(orphan, sizeof orphan, "%s/data/00000000000000ff.npy",
             mms_store_path(s));
    snprintf(foreign, sizeof foreign, "%s/data/notes.txt", mms_store_path(s));
    close(open(orphan, O_CREAT | O_WRONLY, 0600));
    close(open(foreign, O_CREAT | O_WRONLY, 0600));
    seen got = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, MMS_CHECK_REPAIR, record, &got));
    CU_ASSERT_EQUAL(got.n, 2);
    CU_ASSERT_EQUAL(access(orphan, F_OK), -1);
    CU_ASSERT_EQUAL(access(foreign, F_OK), 0); /* never delete what is not ours */
    TU_OK(mms_store_close(s));
}

/* A writer killed with unsynced writes, and a staged version whose builder
 * died: both found; repair discards the staged one, never the torn data. */
static void dead_writer_and_dead_builder(void)
{
    mms_store *s = store_with(2);
    uint64_t shape[1] = {4096};
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mms_store *c;
        mms_array *w, *st;
        if (mms_store_open(mms_store_path(s), 0, &c) ||
            mms_array_open(c, "a0", MMS_RDWR, &w) ||
            mms_array_create(c, "a1", MMS_INT64, 1, shape, MMS_STAGED, &st))
            _exit(1);
        ((int64_t *)mms_array_data(w))[1000] = 77; /* block 1, unsynced */
        kill(getpid(), SIGKILL);
    }
    int status;
    waitpid(pid, &status, 0);
    CU_ASSERT_FATAL(WIFSIGNALED(status));
    seen got = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, MMS_CHECK_REPAIR, record, &got));
    int i = find(&got, MMS_PROBLEM_INTERRUPTED, "a0");
    int j = find(&got, MMS_PROBLEM_CHECKSUM, "a0");
    int k = find(&got, MMS_PROBLEM_DEAD_STAGED, "a1");
    CU_ASSERT(i >= 0 && got.repaired[i] == 0);
    CU_ASSERT(j > i); /* the blocks follow their array */
    CU_ASSERT(j >= 0 && got.first_row[j] == 512);
    CU_ASSERT(k >= 0 && got.repaired[k] == 1);
    mms_info info;
    TU_OK(mms_stat(s, "a0", &info));
    CU_ASSERT_EQUAL(info.state, MMS_STATE_INTERRUPTED);
    /* The staged file is gone, a1 itself is as it was. */
    TU_OK(mms_stat(s, "a1", &info));
    CU_ASSERT_EQUAL(info.generation, 1);
    seen again = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, 0, record, &again));
    CU_ASSERT_EQUAL(find(&again, MMS_PROBLEM_DEAD_STAGED, NULL), -1);
    CU_ASSERT(find(&again, MMS_PROBLEM_INTERRUPTED, "a0") >= 0);
    TU_OK(mms_store_close(s));
}

/* A writer killed inside a resize, after the shape commit and before the
 * header rewrite, leaves a stale header and possibly torn rows: check must
 * report both, and its repair of the header must not hide the other
 * (issue 11 item 7). Simulated by a writer that writes without syncing,
 * makes its header disagree, and is killed. */
static void stale_header_does_not_hide_an_interrupted_writer(void)
{
    mms_store *s = store_with(1);
    char path[4096];
    data_path(s, "a0", path, sizeof path);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mms_store *c;
        mms_array *w;
        if (mms_store_open(mms_store_path(s), 0, &c) ||
            mms_array_open(c, "a0", MMS_RDWR, &w))
            _exit(1);
        ((int64_t *)mms_array_data(w))[1000] = 77; /* block 1, unsynced */
        int fd = open(path, O_RDWR | O_CLOEXEC);
        char hdr[129] = {0};
        if (fd < 0 || pread(fd, hdr, 128, 0) != 128)
            _exit(2);
        char *digit = strstr(hdr + 10, "(4096,)");
        if (!digit || pwrite(fd, "5", 1, digit + 1 - hdr) != 1)
            _exit(3);
        kill(getpid(), SIGKILL);
    }
    int status;
    waitpid(pid, &status, 0);
    TU_CHECKF(WIFSIGNALED(status), "the writer child exited with %d before "
              "its kill", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (!WIFSIGNALED(status)) {
        mms_store_close(s);
        return;
    }
    seen got = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, MMS_CHECK_REPAIR, record, &got));
    int h = find(&got, MMS_PROBLEM_BAD_FILE, "a0");
    int i = find(&got, MMS_PROBLEM_INTERRUPTED, "a0");
    int j = find(&got, MMS_PROBLEM_CHECKSUM, "a0");
    TU_CHECKF(h >= 0 && got.repaired[h] == 1, "the stale header was not "
              "reported and rewritten");
    TU_CHECKF(i >= 0 && got.repaired[i] == 0, "the killed writer was not "
              "reported once the header was rewritten");
    TU_CHECKF(j >= 0 && got.first_row[j] == 512, "the torn block 1 was not "
              "named");
    TU_OK(mms_store_close(s));
}

static void live_staged_version_is_not_a_problem(void)
{
    mms_store *s = store_with(1);
    mms_array *st;
    uint64_t shape[1] = {8};
    TU_OK_FATAL(mms_array_create(s, "new", MMS_INT64, 1, shape, MMS_STAGED,
                                 &st));
    seen got = {0};
    TU_OK(mms_check(s, MMS_CHECK_REPAIR, record, &got));
    CU_ASSERT_EQUAL(got.n, 0);
    TU_OK(mms_array_publish(st));
    TU_OK(mms_array_close(st));
    TU_OK(mms_check(s, 0, NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void repair_refused_on_read_only_store(void)
{
    mms_store *s = store_with(1), *ro;
    TU_OK_FATAL(mms_store_open(mms_store_path(s), MMS_RDONLY, &ro));
    TU_RC(MMS_ERR_RDONLY, mms_check(ro, MMS_CHECK_REPAIR, NULL, NULL));
    TU_OK(mms_check(ro, 0, NULL, NULL));
    TU_OK(mms_store_close(ro));
    TU_OK(mms_store_close(s));
}

typedef struct locks_seen {
    int n;
    mms_lock_info l[8];
} locks_seen;

static int note_lock(const mms_lock_info *l, void *ctx)
{
    locks_seen *s = ctx;
    if (s->n < 8)
        s->l[s->n] = *l;
    s->n++;
    return 0;
}

static void lock_list_shows_ranges_in_order(void)
{
    mms_store *s = store_with(1);
    mms_array *a, *b;
    mms_lock *l1, *l2, *l3;
    TU_OK_FATAL(mms_array_open(s, "a0", MMS_RDWR, &a));
    TU_OK_FATAL(mms_array_open(s, "a0", MMS_RDONLY, &b));
    locks_seen none = {0};
    TU_OK(mms_lock_list(b, note_lock, &none));
    CU_ASSERT_EQUAL(none.n, 0);
    TU_OK_FATAL(mms_lock_range(a, 100, 0, MMS_LOCK_SHARED, 0, &l3));
    TU_OK_FATAL(mms_lock_range(a, 10, 5, MMS_LOCK_EXCLUSIVE, 0, &l1));
    TU_OK_FATAL(mms_lock_range(b, 0, 2, MMS_LOCK_SHARED, 0, &l2));
    locks_seen got = {0};
    TU_OK(mms_lock_list(b, note_lock, &got));
    CU_ASSERT_EQUAL_FATAL(got.n, 3);
    CU_ASSERT(got.l[0].first_row == 0 && got.l[0].nrows == 2 &&
              got.l[0].mode == MMS_LOCK_SHARED);
    CU_ASSERT(got.l[1].first_row == 10 && got.l[1].nrows == 5 &&
              got.l[1].mode == MMS_LOCK_EXCLUSIVE);
    CU_ASSERT(got.l[2].first_row == 100 && got.l[2].nrows == 0 &&
              got.l[2].mode == MMS_LOCK_SHARED);
    TU_OK(mms_unlock(l1));
    TU_OK(mms_unlock(l2));
    TU_OK(mms_unlock(l3));
    locks_seen after = {0};
    TU_OK(mms_lock_list(a, note_lock, &after));
    CU_ASSERT_EQUAL(after.n, 0);
    TU_OK(mms_array_close(b));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* Two names for one data file (issue 11 item 4): check says so for both,
 * and removing one leaves the file and its checksums to the other. */
static void two_names_one_file_is_reported_and_remove_keeps_the_file(void)
{
    mms_store *s = store_with(1);
    char store[4096];
    snprintf(store, sizeof store, "%s", mms_store_path(s));
    TU_OK(mms_store_close(s));
    void *rec = NULL;
    size_t len = 0;
    TU_CHECKF(su_cat_get(store, "arrays", "a0", 2, &rec, &len) == 0,
              "reading the record of a0 failed");
    TU_CHECKF(su_cat_put(store, "arrays", "twin", 4, rec, len) == 0,
              "writing the record of twin failed");
    free(rec);
    TU_OK_FATAL(mms_store_open(store, 0, &s));
    seen found = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, 0, record, &found));
    int a = find(&found, MMS_PROBLEM_SHARED_FILE, "a0");
    int t = find(&found, MMS_PROBLEM_SHARED_FILE, "twin");
    TU_CHECKF(a >= 0 && t >= 0, "check reported %d problems, without a "
              "shared file for both a0 and twin", found.n);
    TU_OK(mms_remove(s, "twin"));
    TU_OK(mms_verify(s, "a0", NULL, NULL));
    mms_array *arr = NULL;
    TU_OK(mms_array_open(s, "a0", MMS_RDONLY, &arr));
    if (arr) {
        TU_CHECKF(((const int64_t *)mms_array_data(arr))[0] == 1,
                  "a0's data changed after removing its twin");
        TU_OK(mms_array_close(arr));
    }
    seen after = {0};
    TU_OK(mms_check(s, 0, record, &after));
    TU_OK(mms_store_close(s));
}

/* Symbolic links in a store's layout are refused, every one alike, with
 * one clear message (issue 11 item 15). */
static void links_in_the_layout_are_refused_alike(void)
{
    const char *entries[3] = {"catalog", "data", "LOCK"};
    for (int i = 0; i < 3; i++) {
        mms_store *s = store_with(0);
        char store[4096], real[4200], link[4200];
        snprintf(store, sizeof store, "%s", mms_store_path(s));
        TU_OK(mms_store_close(s));
        snprintf(link, sizeof link, "%s/%s", store, entries[i]);
        snprintf(real, sizeof real, "%s/%s.real", store, entries[i]);
        TU_CHECKF(rename(link, real) == 0 && symlink(real, link) == 0,
                  "making %s a link failed", link);
        int rc = mms_store_open(store, 0, &s);
        TU_CHECKF(rc == MMS_ERR_CORRUPT && strstr(mms_errmsg(),
                                                  "symbolic link"),
                  "opening a store whose %s is a link returned %d (%s)",
                  entries[i], rc, mms_errmsg());
        if (rc == MMS_OK)
            mms_store_close(s);
    }
}

/* A data file that is a link is reported as what it is, not as missing,
 * and repair keeps the name (issue 11 item 15). */
static void linked_data_file_is_not_called_missing(void)
{
    mms_store *s = store_with(1);
    char path[4096], real[4200];
    data_path(s, "a0", path, sizeof path);
    snprintf(real, sizeof real, "%s.real", path);
    TU_CHECKF(rename(path, real) == 0 && symlink(real, path) == 0,
              "making %s a link failed", path);
    seen got = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, MMS_CHECK_REPAIR, record, &got));
    CU_ASSERT_EQUAL(find(&got, MMS_PROBLEM_MISSING_FILE, "a0"), -1);
    int b = find(&got, MMS_PROBLEM_BAD_FILE, "a0");
    TU_CHECKF(b >= 0 && got.repaired[b] == 0, "a linked data file was not "
              "reported as a bad file");
    mms_info info;
    TU_OK(mms_stat(s, "a0", &info)); /* the name stays */
    TU_OK(mms_store_close(s));
}

/* root creating an array in another user's store gives the file to the
 * store's owner, who could not open it otherwise (issue 11 item 15). Only
 * root can set this up; as anyone else the test checks the plain case. */
static void arrays_made_by_root_belong_to_the_stores_owner(void)
{
    mms_store *s = store_with(0);
    char store[4096], cmd[4300];
    snprintf(store, sizeof store, "%s", mms_store_path(s));
    TU_OK(mms_store_close(s));
    uid_t owner = geteuid() == 0 ? 65534 : geteuid();
    gid_t group = geteuid() == 0 ? 65534 : getegid();
    if (geteuid() == 0) {
        snprintf(cmd, sizeof cmd, "chown -R %u:%u '%s'", (unsigned)owner,
                 (unsigned)group, store);
        TU_CHECKF(system(cmd) == 0, "%s failed", cmd);
    }
    TU_OK_FATAL(mms_store_open(store, 0, &s));
    mms_array *a = NULL;
    uint64_t shape[1] = {16};
    TU_OK(mms_array_create(s, "by_root", MMS_INT64, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    char path[4096];
    data_path(s, "by_root", path, sizeof path);
    struct stat st;
    TU_CHECKF(stat(path, &st) == 0 && st.st_uid == owner && st.st_gid == group,
              "%s belongs to %u:%u, not to the store's owner %u:%u", path,
              (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)owner,
              (unsigned)group);
    TU_OK(mms_store_close(s));
}

static const tu_test check_tests[] = {
    TU_TEST(clean_store_has_no_problems),
    TU_TEST(missing_file_is_reported_and_repair_removes_the_name),
    TU_TEST(header_disagreeing_is_rewritten_by_repair),
    TU_TEST(orphan_file_is_deleted_by_repair_and_foreign_files_kept),
    TU_TEST(dead_writer_and_dead_builder),
    TU_TEST(stale_header_does_not_hide_an_interrupted_writer),
    TU_TEST(live_staged_version_is_not_a_problem),
    TU_TEST(repair_refused_on_read_only_store),
    TU_TEST(two_names_one_file_is_reported_and_remove_keeps_the_file),
    TU_TEST(links_in_the_layout_are_refused_alike),
    TU_TEST(linked_data_file_is_not_called_missing),
    TU_TEST(arrays_made_by_root_belong_to_the_stores_owner),
    TU_END};

static const tu_test lock_list_tests[] = {
    TU_TEST(lock_list_shows_ranges_in_order),
    TU_END};

static const tu_suite suites[] = {{"check", check_tests},
                                  {"lock_list", lock_list_tests},
                                  {NULL, NULL}};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
