/* test_catalog.c - the LMDB catalog under pressure: map growth in this
 * process and in another one, stale reader slots of dead processes, and
 * the read transactions a process keeps between reads (issue 16 item 5):
 * their slots across fork, threads and close. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>

#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* 64 KiB attribute values: 1,200 of them (75 MiB) overflow the catalog's
 * initial 64 MiB map, so the map must grow while writes go on. */
#define BIG_VALUE MMS_ATTR_VALUE_MAX
#define MANY 1200

static void fill_value(unsigned char *v, int i)
{
    memset(v, (unsigned char)i, BIG_VALUE);
    memcpy(v, &i, sizeof i);
}

static int set_many(mms_store *s, const char *name, int from, int to)
{
    unsigned char *v = malloc(BIG_VALUE);
    int rc = v ? MMS_OK : MMS_ERR_NOMEM;
    for (int i = from; i < to && rc == MMS_OK; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%05d", i);
        fill_value(v, i);
        rc = mms_attr_set(s, name, key, v, BIG_VALUE);
    }
    free(v);
    return rc;
}

static void check_many(mms_store *s, const char *name, int from, int to)
{
    unsigned char *v = malloc(BIG_VALUE), *want = malloc(BIG_VALUE);
    CU_ASSERT_FATAL(v && want);
    int bad = 0;
    for (int i = from; i < to; i++) {
        char key[32];
        size_t len = 0;
        snprintf(key, sizeof key, "k%05d", i);
        fill_value(want, i);
        if (mms_attr_get(s, name, key, v, BIG_VALUE, &len) != MMS_OK ||
            len != BIG_VALUE || memcmp(v, want, BIG_VALUE) != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(v);
    free(want);
}

static void test_map_grows_when_full(void)
{
    const char *path = tu_store_path();
    mms_store *s;
    mms_array *a;
    uint64_t shape[1] = {10};
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    TU_OK_FATAL(mms_array_create(s, "a", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK_FATAL(set_many(s, "a", 0, MANY));
    check_many(s, "a", 0, MANY);
    TU_OK(mms_store_close(s));
    /* And everything is there after reopening. */
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    check_many(s, "a", 0, MANY);
    mms_info info;
    TU_OK(mms_stat(s, "a", &info));
    CU_ASSERT_EQUAL(info.shape[0], 10);
    TU_OK(mms_store_close(s));
}

/* Another process grows the map while we hold the store open: our next
 * reads and writes must adopt the new size (MDB_MAP_RESIZED). */
static void test_map_grown_by_another_process(void)
{
    const char *path = tu_store_path();
    mms_store *s;
    mms_array *a;
    uint64_t shape[1] = {10};
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    TU_OK_FATAL(mms_array_create(s, "a", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mms_store *c;
        int rc = mms_store_open(path, 0, &c);
        if (rc == MMS_OK)
            rc = set_many(c, "a", 0, MANY);
        if (rc != MMS_OK)
            fprintf(stderr, "child: %s\n", mms_errmsg());
        mms_store_close(c);
        _exit(rc == MMS_OK ? 0 : 1);
    }
    int status;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_many(s, "a", 0, MANY);
    TU_OK(set_many(s, "a", MANY, MANY + 10));
    check_many(s, "a", MANY - 5, MANY + 10);
    TU_OK(mms_store_close(s));
}

/* What mdb_reader_list says about one process: its slots, and how many of
 * them are inside a transaction (a txnid, not "-"). */
typedef struct reader_count {
    pid_t pid;
    int slots, active;
} reader_count;

static int count_readers(const char *msg, void *ctx)
{
    reader_count *c = ctx;
    char *end;
    long pid = strtol(msg, &end, 10);
    if (end == msg || pid != (long)c->pid)
        return 0; /* the header line, or another process */
    c->slots++;
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (n == 0 || msg[n - 1] != '-')
        c->active++;
    return 0;
}

/* Counts the reader slots of pid in the catalog from a fresh process (this
 * one must not open the environment a second time): slots * 16 + active,
 * or -1. */
static int readers_of(const char *cat, pid_t pid)
{
    pid_t child = fork();
    if (child == 0) {
        MDB_env *env;
        reader_count c = {pid, 0, 0};
        if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
            mdb_env_open(env, cat, MDB_RDONLY, 0600))
            _exit(255);
        mdb_reader_list(env, count_readers, &c);
        _exit(c.slots > 15 || c.active > 15 ? 254 : c.slots * 16 + c.active);
    }
    int status;
    if (child < 0 || waitpid(child, &status, 0) != child ||
        !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

#define SLOTS(n, active) ((n) * 16 + (active))

/* A process killed inside a read transaction leaves its reader slot
 * behind (while other processes keep the environment open, LMDB cannot
 * reset its table); opening the store clears it. */
static void test_stale_reader_cleared_on_open(void)
{
    const char *path = tu_store_path();
    mms_store *s, *s2;
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    char cat[4096];
    snprintf(cat, sizeof cat, "%s/catalog", path);
    int pipefd[2];
    CU_ASSERT_FATAL(pipe(pipefd) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        MDB_env *env;
        MDB_txn *txn;
        if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
            mdb_env_open(env, cat, MDB_RDONLY, 0600) ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
            _exit(1);
        if (write(pipefd[1], "r", 1) != 1)
            _exit(1);
        pause(); /* killed here, inside the read transaction */
        _exit(0);
    }
    char c;
    CU_ASSERT_FATAL(read(pipefd[0], &c, 1) == 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pipefd[0]);
    close(pipefd[1]);

    /* The dead reader's slot, inside its transaction. */
    CU_ASSERT_EQUAL(readers_of(cat, pid), SLOTS(1, 1));
    /* A second handle in this process shares the environment and still
     * clears dead readers when it opens. */
    TU_OK_FATAL(mms_store_open(path, 0, &s2));
    CU_ASSERT_EQUAL(readers_of(cat, pid), 0);
    TU_OK(mms_store_close(s2));
    TU_OK(mms_store_close(s));
}

/* Two handles on one store in one process share the catalog: closing one
 * leaves the other fully usable. */
static void test_two_handles_in_one_process(void)
{
    const char *path = tu_store_path();
    mms_store *s1, *s2;
    mms_array *a;
    uint64_t shape[1] = {4};
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s1));
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s2));
    TU_OK_FATAL(mms_array_create(s1, "a", MMS_INT64, 1, shape, 0, &a));
    ((int64_t *)mms_array_data(a))[3] = 42;
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s1));
    TU_OK_FATAL(mms_array_open(s2, "a", MMS_RDONLY, &a));
    CU_ASSERT_EQUAL(((int64_t *)mms_array_data(a))[3], 42);
    TU_OK(mms_array_close(a));
    TU_RC(MMS_ERR_RDONLY, mms_remove(s2, "a"));
    TU_OK(mms_store_close(s2));
}

/* The catalog's LMDB files must not leak into programs the user execs:
 * every descriptor on catalog/ is close-on-exec. */
static void test_catalog_descriptors_are_close_on_exec(void)
{
    const char *path = NULL;
    mms_store *s = tu_new_store(&path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    int checked = 0;
    DIR *d = opendir("/proc/self/fd");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char link[300], target[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (!strstr(target, "/catalog/"))
            continue;
        int flags = fcntl(atoi(e->d_name), F_GETFD);
        TU_CHECKF(flags >= 0 && (flags & FD_CLOEXEC), "descriptor %s on %s "
                  "is inherited across exec", e->d_name, target);
        checked++;
    }
    closedir(d);
    TU_CHECKF(checked >= 2, "found %d descriptors on catalog/ (data.mdb and "
              "lock.mdb expected)", checked);
    TU_OK(mms_store_close(s));
}

/* A data.mdb cut short by something else (a full disk during a copy, a
 * truncate) is refused with its path, not a SIGBUS at the first read
 * (issue 11 item 9). */
static void test_truncated_catalog_is_corrupt_not_sigbus(void)
{
    const char *path = NULL;
    mms_store *s = tu_new_store(&path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < 200; i++) {
        char name[32];
        mms_array *a;
        uint64_t shape[1] = {16};
        snprintf(name, sizeof name, "array%03d", i);
        TU_OK(mms_array_create(s, name, MMS_INT64, 1, shape, 0, &a));
        TU_OK(mms_array_close(a));
    }
    TU_OK(mms_store_close(s));
    char mdb[4096];
    snprintf(mdb, sizeof mdb, "%s/catalog/data.mdb", path);
    for (off_t len = 8192; len <= 49152; len += 8192) {
        TU_CHECKF(truncate(mdb, len) == 0, "truncate %s", mdb);
        int rc = mms_store_open(path, 0, &s);
        TU_CHECKF(rc == MMS_ERR_CORRUPT, "open of a store whose data.mdb is "
                  "cut to %lld bytes returned %d (%s)", (long long)len, rc,
                  mms_errmsg());
        TU_CHECKF(strstr(mms_errmsg(), "data.mdb") != NULL, "message '%s' "
                  "does not name data.mdb", mms_errmsg());
        if (rc == MMS_OK)
            mms_store_close(s);
    }
}

/* A new store at the test's path with the array "kept": 4 int64, element
 * 1 set to 7. */
static mms_store *store_with_kept(const char *path)
{
    mms_store *s;
    mms_array *a;
    uint64_t shape[1] = {4};
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    TU_OK_FATAL(mms_array_create(s, "kept", MMS_INT64, 1, shape, 0, &a));
    ((int64_t *)mms_array_data(a))[1] = 7;
    TU_OK(mms_array_close(a));
    return s;
}

static void *read_loop(void *arg)
{
    mms_store *s = arg;
    for (int i = 0; i < 200; i++) {
        mms_array *a;
        if (mms_array_open(s, "kept", MMS_RDONLY, &a) != MMS_OK)
            return (void *)1;
        int ok = ((int64_t *)mms_array_data(a))[1] == 7;
        if (mms_array_close(a) != MMS_OK || !ok)
            return (void *)1;
    }
    return NULL;
}

/* Catalog reads keep their transaction reset between reads, so a reading
 * process holds reader slots that are never inside a transaction between
 * calls: one for a single thread, at most 8 whatever its threads did, none
 * once the store is closed. A forked child neither uses nor frees the
 * parent's: it closes its inherited handle and reads through its own. */
static void test_kept_read_transactions(void)
{
    const char *path = tu_store_path();
    mms_array *a;
    char cat[4096];
    snprintf(cat, sizeof cat, "%s/catalog", path);
    pid_t me = getpid();
    mms_store *s = store_with_kept(path);
    CU_ASSERT_EQUAL(read_loop(s), NULL);
    CU_ASSERT_EQUAL(readers_of(cat, me), SLOTS(1, 0));

    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mms_store *own;
        int ok = mms_array_open(s, "kept", MMS_RDONLY, &a) == MMS_ERR_FORKED &&
                 mms_store_close(s) == MMS_OK &&
                 mms_store_open(path, MMS_RDONLY, &own) == MMS_OK &&
                 read_loop(own) == NULL && mms_store_close(own) == MMS_OK;
        _exit(ok ? 0 : 1);
    }
    int status;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(readers_of(cat, pid), 0);
    CU_ASSERT_EQUAL(readers_of(cat, me), SLOTS(1, 0));
    CU_ASSERT_EQUAL(read_loop(s), NULL);

    pthread_t t[12];
    for (int i = 0; i < 12; i++)
        CU_ASSERT_FATAL(pthread_create(&t[i], NULL, read_loop, s) == 0);
    for (int i = 0; i < 12; i++) {
        void *r;
        pthread_join(t[i], &r);
        CU_ASSERT_EQUAL(r, NULL);
    }
    int seen = readers_of(cat, me);
    CU_ASSERT(seen >= SLOTS(1, 0) && seen <= SLOTS(8, 0) && seen % 16 == 0);
    TU_OK(mms_store_close(s));
    CU_ASSERT_EQUAL(readers_of(cat, me), 0);
}

/* Readers killed with their store open leave their kept slots behind, and
 * read-only store opens do not clear them: more of them than the table
 * holds (1022) must not lock later readers out. Each child opens the store
 * read-only, reads, and is killed; this process keeps the environment
 * open all along (or LMDB would reset the table when the next child opens
 * it alone). */
static void test_reader_table_full_of_dead(void)
{
    const char *path = tu_store_path();
    mms_store *s = store_with_kept(path);
    int failed = 0;
    for (int i = 0; i < 1100 && !failed; i++) {
        int p[2];
        CU_ASSERT_FATAL(pipe(p) == 0);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            mms_store *r;
            mms_info st;
            char ok = mms_store_open(path, MMS_RDONLY, &r) == MMS_OK &&
                      mms_stat(r, "kept", &st) == MMS_OK ? 'y' : 'n';
            if (write(p[1], &ok, 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        char c = 0;
        if (read(p[0], &c, 1) != 1 || c != 'y')
            failed = i + 1;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(p[0]);
        close(p[1]);
    }
    CU_ASSERT_EQUAL(failed, 0);
    TU_OK(mms_store_close(s));
}

static const tu_test catalog_tests[] = {
    TU_TEST(test_map_grows_when_full),
    TU_TEST(test_map_grown_by_another_process),
    TU_TEST(test_stale_reader_cleared_on_open),
    TU_TEST(test_two_handles_in_one_process),
    TU_TEST(test_catalog_descriptors_are_close_on_exec),
    TU_TEST(test_truncated_catalog_is_corrupt_not_sigbus),
    TU_TEST(test_kept_read_transactions),
    TU_SLOW_TEST(test_reader_table_full_of_dead),
    TU_END};

static const tu_suite suites[] = {{"catalog", catalog_tests}, {NULL, NULL}};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
