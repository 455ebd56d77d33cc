/* test_store.c - opening, creating and closing stores. */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BLOCK_SIZE (UINT64_C(1) << 20)

/* ---- helpers ----------------------------------------------------------- */

static mode_t mode_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return (mode_t)-1;
    return st.st_mode & 07777;
}

static void assert_mode(const char *store, const char *rel, mode_t expected,
                        int line)
{
    char path[PATH_MAX], msg[PATH_MAX + 64];
    mode_t got;

    snprintf(path, sizeof path, "%s%s%s", store, *rel ? "/" : "", rel);
    got = mode_of(path);
    snprintf(msg, sizeof msg, "%s has mode %04o, expected %04o", path,
             (unsigned)got, (unsigned)expected);
    CU_assertImplementation(got == expected, line, msg, __FILE__, "",
                            CU_FALSE);
}

static int is_dir(const char *store, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", store, rel);
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *store, const char *rel, off_t *size)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", store, rel);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (size)
        *size = st.st_size;
    return 1;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A new store at a fresh path, closed again; returns its path. */
static const char *make_store(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    TU_OK(mms_store_open(path, MMS_CREATE, &s));
    TU_OK(mms_store_close(s));
    return path;
}

/* Creates name as a small int32 array filled with value + index. */
static void make_array(mms_store *s, const char *name, int32_t value)
{
    uint64_t shape[2] = {16, 8};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, name, MMS_INT32, 2, shape, 0, &a));
    int32_t *d = mms_array_data(a);
    for (int i = 0; i < 16 * 8; i++)
        d[i] = value + i;
    TU_OK(mms_array_close(a));
}

/* ---- snapshots of a store's files, to prove read-only opens write nothing */

#define SNAP_MAX 64

typedef struct snap_file {
    char path[PATH_MAX];
    struct stat st;
    void *data;
    size_t len;
} snap_file;

typedef struct snapshot {
    int n;
    snap_file files[SNAP_MAX];
    int entries_root, entries_catalog, entries_data;
} snapshot;

static void snap_add(snapshot *sn, const char *path)
{
    snap_file *f;
    CU_ASSERT_FATAL(sn->n < SNAP_MAX);
    f = &sn->files[sn->n++];
    snprintf(f->path, sizeof f->path, "%s", path);
    CU_ASSERT_EQUAL_FATAL(lstat(path, &f->st), 0);
    f->data = su_read_file(path, &f->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->data);
}

/* Records catalog/data.mdb, LOCK and every data file. (catalog/lock.mdb is
 * LMDB's reader table: read-only LMDB readers write to it by design.) */
static void snap_take(snapshot *sn, const char *store)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;

    memset(sn, 0, sizeof *sn);
    snprintf(path, sizeof path, "%s/catalog/data.mdb", store);
    snap_add(sn, path);
    snprintf(path, sizeof path, "%s/LOCK", store);
    snap_add(sn, path);
    snprintf(path, sizeof path, "%s/data", store);
    d = opendir(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/data/%s", store, e->d_name);
        snap_add(sn, path);
    }
    closedir(d);
    sn->entries_root = su_count_entries(store);
    snprintf(path, sizeof path, "%s/catalog", store);
    sn->entries_catalog = su_count_entries(path);
    snprintf(path, sizeof path, "%s/data", store);
    sn->entries_data = su_count_entries(path);
}

static void snap_compare(const snapshot *before, const snapshot *after)
{
    CU_ASSERT_EQUAL(before->n, after->n);
    CU_ASSERT_EQUAL(before->entries_root, after->entries_root);
    CU_ASSERT_EQUAL(before->entries_catalog, after->entries_catalog);
    CU_ASSERT_EQUAL(before->entries_data, after->entries_data);
    for (int i = 0; i < before->n && i < after->n; i++) {
        const snap_file *b = &before->files[i], *a = &after->files[i];
        char msg[PATH_MAX + 64];
        snprintf(msg, sizeof msg, "%s was modified by a read-only session",
                 b->path);
        CU_assertImplementation(
            strcmp(a->path, b->path) == 0 && a->st.st_size == b->st.st_size &&
                a->st.st_mtim.tv_sec == b->st.st_mtim.tv_sec &&
                a->st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec &&
                a->len == b->len && memcmp(a->data, b->data, a->len) == 0,
            __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

static void snap_free(snapshot *sn)
{
    for (int i = 0; i < sn->n; i++)
        free(sn->files[i].data);
    sn->n = 0;
}

/* ---- creating and opening --------------------------------------------- */

static void create_makes_layout_with_mode_0700(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mode_t old = umask(022);
    off_t size = -1;

    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT(is_dir(path, "."));
    CU_ASSERT(is_dir(path, "catalog"));
    CU_ASSERT(is_file(path, "catalog/data.mdb", NULL));
    CU_ASSERT(is_dir(path, "data"));
    CU_ASSERT(is_file(path, "LOCK", &size));
    CU_ASSERT_EQUAL(size, 0);
    CU_ASSERT_EQUAL(su_count_entries(path), 3);
    {
        char data[PATH_MAX];
        snprintf(data, sizeof data, "%s/data", path);
        CU_ASSERT_EQUAL(su_count_entries(data), 0);
    }
    assert_mode(path, "", 0700, __LINE__);
    assert_mode(path, "catalog", 0700, __LINE__);
    assert_mode(path, "data", 0700, __LINE__);
    assert_mode(path, "LOCK", 0600, __LINE__);
    assert_mode(path, "catalog/data.mdb", 0600, __LINE__);
    assert_mode(path, "catalog/lock.mdb", 0600, __LINE__);
    TU_OK(mms_store_close(s));
    umask(old);
}

static void create_in_existing_empty_directory(void)
{
    const char *dir = tu_tmpdir(); /* exists, empty */
    mms_store *s = NULL;

    TU_OK_FATAL(mms_store_open(dir, MMS_CREATE, &s));
    CU_ASSERT(is_dir(dir, "catalog"));
    CU_ASSERT(is_dir(dir, "data"));
    CU_ASSERT(is_file(dir, "LOCK", NULL));
    TU_OK(mms_store_close(s));
}

static void create_writes_meta_records(void)
{
    const char *a = make_store(), *b = make_store();
    void *v = NULL, *u2 = NULL;
    size_t len = 0, len2 = 0;
    int rc;

    rc = su_cat_get(a, "meta", "format", 6, &v, &len);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(len, 4);
    if (len == 4)
        CU_ASSERT_EQUAL(su_le32(v), MMS_FORMAT_VERSION);
    free(v);

    rc = su_cat_get(a, "meta", "block_size", 10, &v, &len);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(len, 8);
    if (len == 8)
        CU_ASSERT_EQUAL(su_le64(v), DEFAULT_BLOCK_SIZE);
    free(v);

    rc = su_cat_get(a, "meta", "next_id", 7, &v, &len);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(len, 8);
    if (len == 8)
        CU_ASSERT_EQUAL(su_le64(v), 1);
    free(v);

    /* Every store gets its own random uuid. */
    CU_ASSERT_EQUAL_FATAL(su_cat_get(a, "meta", "uuid", 4, &v, &len), 0);
    CU_ASSERT_EQUAL_FATAL(su_cat_get(b, "meta", "uuid", 4, &u2, &len2), 0);
    CU_ASSERT_EQUAL(len, 16);
    CU_ASSERT_EQUAL(len2, 16);
    if (len == 16 && len2 == 16)
        CU_ASSERT(memcmp(v, u2, 16) != 0);
    free(v);
    free(u2);
}

static void reopen_keeps_the_store(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_info info;

    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    make_array(s, "kept", 7);
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    TU_OK(mms_stat(s, "kept", &info));
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s)); /* already there */
    TU_OK(mms_stat(s, "kept", &info));
    CU_ASSERT_EQUAL(info.shape[0], 16);
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    TU_OK(mms_stat(s, "kept", &info));
    TU_OK(mms_store_close(s));
}

static void open_missing_without_create_is_notfound(void)
{
    const char *path = tu_store_path();
    mms_store *s = (mms_store *)&s; /* must be reset to NULL */

    TU_RC(MMS_ERR_NOTFOUND, mms_store_open(path, 0, &s));
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_FALSE(exists(path));
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), path));
}

static void rdonly_open_of_missing_is_notfound(void)
{
    const char *path = tu_store_path();
    mms_store *s = (mms_store *)&s;

    TU_RC(MMS_ERR_NOTFOUND, mms_store_open(path, MMS_RDONLY, &s));
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_FALSE(exists(path));
}

static void create_with_rdonly_is_rdonly(void)
{
    const char *path = tu_store_path();
    mms_store *s = (mms_store *)&s;

    TU_RC(MMS_ERR_RDONLY, mms_store_open(path, MMS_CREATE | MMS_RDONLY, &s));
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_FALSE(exists(path));
}

static void open_rejects_null_arguments(void)
{
    mms_store *s = (mms_store *)&s;

    TU_RC(MMS_ERR_INVAL, mms_store_open(NULL, MMS_CREATE, &s));
    CU_ASSERT_PTR_NULL(s);
    TU_RC(MMS_ERR_INVAL, mms_store_open(tu_store_path(), MMS_CREATE, NULL));
}

static void directory_that_is_not_a_store_is_refused_untouched(void)
{
    const char *dir = tu_tmpdir();
    char file[PATH_MAX], sub[PATH_MAX];
    const char text[] = "not a store\n";
    mms_store *s = (mms_store *)&s;
    void *back;
    size_t len;
    int rc, fd;

    snprintf(file, sizeof file, "%s/notes.txt", dir);
    snprintf(sub, sizeof sub, "%s/photos", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, sizeof text - 1), (ssize_t)sizeof text - 1);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);

    /* "No store there" or "not a store": either way refused, untouched. */
    for (int ro = 0; ro < 2; ro++) {
        rc = mms_store_open(dir, ro ? MMS_RDONLY : 0, &s);
        CU_ASSERT(rc == MMS_ERR_NOTFOUND || rc == MMS_ERR_CORRUPT);
        CU_ASSERT_PTR_NULL(s);
    }
    CU_ASSERT_EQUAL(su_count_entries(dir), 2);
    back = su_read_file(file, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT(len == sizeof text - 1 && memcmp(back, text, len) == 0);
    free(back);
}

static void catalog_of_garbage_is_corrupt(void)
{
    const char *path = make_store();
    char mdb[PATH_MAX];
    unsigned char junk[65536];
    mms_store *s = (mms_store *)&s;
    uint64_t x = 0x9e3779b97f4a7c15u;
    int fd;

    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[i] = (unsigned char)x;
    }
    snprintf(mdb, sizeof mdb, "%s/catalog/data.mdb", path);
    fd = open(mdb, O_WRONLY | O_TRUNC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);

    TU_RC(MMS_ERR_CORRUPT, mms_store_open(path, 0, &s));
    CU_ASSERT_PTR_NULL(s);
    TU_RC(MMS_ERR_CORRUPT, mms_store_open(path, MMS_RDONLY, &s));
    CU_ASSERT_PTR_NULL(s);
    TU_RC(MMS_ERR_CORRUPT, mms_store_open(path, MMS_CREATE, &s));
    CU_ASSERT_PTR_NULL(s);
}

static void catalog_without_meta_is_corrupt(void)
{
    /* A directory with the right layout whose catalog is some other LMDB
     * environment is not an mmstore store. */
    const char *dir = tu_tmpdir();
    char path[PATH_MAX];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char key[] = "hello", value[] = "world";
    MDB_val k = {5, key}, v = {5, value};
    mms_store *s = (mms_store *)&s;
    int fd;

    snprintf(path, sizeof path, "%s/catalog", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/data", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/LOCK", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/catalog", dir);
    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, 0, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_put(txn, dbi, &k, &v, 0), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    TU_RC(MMS_ERR_CORRUPT, mms_store_open(dir, MMS_RDONLY, &s));
    CU_ASSERT_PTR_NULL(s);
    TU_RC(MMS_ERR_CORRUPT, mms_store_open(dir, 0, &s));
    CU_ASSERT_PTR_NULL(s);
}

static void newer_format_is_version_error(void)
{
    const char *path = make_store();
    unsigned char fmt[4];
    mms_store *s = (mms_store *)&s;
    void *v = NULL;
    size_t len = 0;
    int rc;

    su_put_le32(fmt, MMS_FORMAT_VERSION + 1);
    rc = su_cat_put(path, "meta", "format", 6, fmt, sizeof fmt);
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    TU_RC(MMS_ERR_VERSION, mms_store_open(path, 0, &s));
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(strlen(mms_errmsg()) > 0);
    TU_RC(MMS_ERR_VERSION, mms_store_open(path, MMS_RDONLY, &s));
    CU_ASSERT_PTR_NULL(s);
    TU_RC(MMS_ERR_VERSION, mms_store_open(path, MMS_CREATE, &s));
    CU_ASSERT_PTR_NULL(s);

    /* Refusing did not "upgrade" the store. */
    CU_ASSERT_EQUAL_FATAL(su_cat_get(path, "meta", "format", 6, &v, &len), 0);
    CU_ASSERT(len == 4 && su_le32(v) == MMS_FORMAT_VERSION + 1);
    free(v);
}

/* ---- permissions ------------------------------------------------------- */

static void check_shared_layout(const char *path)
{
    assert_mode(path, "", 02770, __LINE__);
    assert_mode(path, "catalog", 02770, __LINE__);
    assert_mode(path, "data", 02770, __LINE__);
    assert_mode(path, "LOCK", 0660, __LINE__);
    assert_mode(path, "catalog/data.mdb", 0660, __LINE__);
    assert_mode(path, "catalog/lock.mdb", 0660, __LINE__);
}

static void shared_group_makes_0770_setgid(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    uint64_t shape[1] = {10};
    mode_t old = umask(022); /* the library must not depend on umask */

    TU_OK_FATAL(mms_store_open(path, MMS_CREATE | MMS_SHARED_GROUP, &s));
    check_shared_layout(path);
    TU_OK_FATAL(mms_array_create(s, "x", MMS_UINT8, 1, shape, 0, &a));
    assert_mode(mms_array_path(a), "", 0660, __LINE__);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));

    /* Reopened without the flag, the store is still shared. */
    s = NULL;
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    TU_OK_FATAL(mms_array_create(s, "y", MMS_UINT8, 1, shape, 0, &a));
    assert_mode(mms_array_path(a), "", 0660, __LINE__);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    umask(old);
}

static void mms_group_environment_makes_shared_store(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mode_t old = umask(022);

    CU_ASSERT_EQUAL_FATAL(setenv("MMS_GROUP", "1", 1), 0);
    TU_OK(mms_store_open(path, MMS_CREATE, &s));
    unsetenv("MMS_GROUP");
    check_shared_layout(path);
    TU_OK(mms_store_close(s));
    umask(old);
}

static void private_store_files_are_0600(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    uint64_t shape[1] = {10};
    mode_t old = umask(0); /* nor on a permissive umask */

    unsetenv("MMS_GROUP");
    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    assert_mode(path, "", 0700, __LINE__);
    assert_mode(path, "LOCK", 0600, __LINE__);
    TU_OK_FATAL(mms_array_create(s, "x", MMS_UINT8, 1, shape, 0, &a));
    assert_mode(mms_array_path(a), "", 0600, __LINE__);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    umask(old);
}

/* ---- accessors and block size ----------------------------------------- */

static void store_path_is_a_copy_of_the_given_path(void)
{
    char buf[PATH_MAX];
    mms_store *s = NULL;

    snprintf(buf, sizeof buf, "%s", tu_store_path());
    TU_OK_FATAL(mms_store_open(buf, MMS_CREATE, &s));
    CU_ASSERT_STRING_EQUAL(mms_store_path(s), buf);
    CU_ASSERT_PTR_NOT_EQUAL(mms_store_path(s), buf);
    buf[0] = 'X'; /* the library keeps its own copy */
    CU_ASSERT_EQUAL(mms_store_path(s)[0], '/');
    TU_OK(mms_store_close(s));
}

static void block_size_default_is_1mib(void)
{
    mms_store *s = NULL;
    TU_OK_FATAL(mms_store_open(tu_store_path(), MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), DEFAULT_BLOCK_SIZE);
    TU_OK(mms_store_close(s));
}

static void set_default_block_size_applies_to_new_stores_only(void)
{
    const char *small = tu_store_path(), *big = tu_store_path();
    mms_store *s = NULL;
    mms_info info;

    TU_OK_FATAL(mms_store_set_default_block_size(4096));
    TU_OK_FATAL(mms_store_open(small, MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), 4096);
    make_array(s, "a", 1);
    TU_OK(mms_stat(s, "a", &info));
    CU_ASSERT_EQUAL(info.block_size, 4096);
    TU_OK(mms_store_close(s));

    TU_OK(mms_store_set_default_block_size(UINT64_C(1) << 30));
    s = NULL;
    TU_OK_FATAL(mms_store_open(big, MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), UINT64_C(1) << 30);
    TU_OK(mms_store_close(s));

    /* An existing store keeps the block size it was made with. */
    s = NULL;
    TU_OK_FATAL(mms_store_open(small, MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), 4096);
    TU_OK(mms_store_close(s));
    s = NULL;
    TU_OK_FATAL(mms_store_open(small, MMS_RDONLY, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), 4096);
    TU_OK(mms_store_close(s));

    TU_OK(mms_store_set_default_block_size(65536));
    s = NULL;
    TU_OK_FATAL(mms_store_open(tu_store_path(), MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), 65536);
    TU_OK(mms_store_close(s));

    TU_OK(mms_store_set_default_block_size(DEFAULT_BLOCK_SIZE));
}

static void set_default_block_size_rejects_invalid_values(void)
{
    const uint64_t bad[] = {0, 1, 2048, 4095, 4097, 3 * 4096, 1000000,
                            (UINT64_C(1) << 30) + 4096, UINT64_C(1) << 31,
                            UINT64_C(1) << 63, UINT64_MAX};
    mms_store *s = NULL;

    TU_OK_FATAL(mms_store_set_default_block_size(DEFAULT_BLOCK_SIZE));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mms_store_set_default_block_size(bad[i]);
        char msg[128];
        snprintf(msg, sizeof msg, "mms_store_set_default_block_size(%llu) "
                 "returned %d, expected MMS_ERR_INVAL",
                 (unsigned long long)bad[i], rc);
        CU_assertImplementation(rc == MMS_ERR_INVAL, __LINE__, msg, __FILE__,
                                "", CU_FALSE);
    }
    /* The refused values left the default alone. */
    TU_OK_FATAL(mms_store_open(tu_store_path(), MMS_CREATE, &s));
    CU_ASSERT_EQUAL(mms_store_block_size(s), DEFAULT_BLOCK_SIZE);
    TU_OK(mms_store_close(s));
}

/* ---- read-only stores -------------------------------------------------- */

static int count_arrays(const char *name, const mms_info *info, void *ctx)
{
    (void)name;
    (void)info;
    (*(int *)ctx)++;
    return 0;
}

static int count_attrs(const char *key, const void *value, size_t len,
                       void *ctx)
{
    (void)key;
    (void)value;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

/* A store with two arrays (one with attributes), every handle closed. */
static const char *make_populated_store(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;

    TU_OK_FATAL(mms_store_open(path, MMS_CREATE, &s));
    make_array(s, "one", 100);
    make_array(s, "dir/two", 200);
    TU_OK(mms_attr_set(s, "one", "units", "m/s", 3));
    TU_OK(mms_store_close(s));
    return path;
}

static void rdonly_store_never_modifies_files(void)
{
    const char *path = make_populated_store();
    snapshot *before = calloc(1, sizeof *before);
    snapshot *after = calloc(1, sizeof *after);
    const char *names[] = {"one", "dir/two"};
    mms_store *s = NULL;
    struct timespec pause = {0, 50 * 1000 * 1000};

    CU_ASSERT_FATAL(before && after);
    snap_take(before, path);
    nanosleep(&pause, NULL); /* so that any write would change an mtime */

    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    for (int i = 0; i < 2; i++) {
        mms_array *a = NULL, *w = (mms_array *)&w;
        mms_info info;
        int64_t sum = 0;
        int nattrs = 0;
        char buf[16];
        size_t len;

        TU_OK(mms_stat(s, names[i], &info));
        TU_OK_FATAL(mms_array_open(s, names[i], MMS_RDONLY, &a));
        TU_OK(mms_array_info(a, &info));
        const int32_t *d = mms_array_data(a);
        for (int k = 0; k < 16 * 8; k++)
            sum += d[k];
        CU_ASSERT_EQUAL(sum, (i ? 200 : 100) * 128 + 127 * 128 / 2);
        TU_OK(mms_verify(s, names[i], NULL, NULL));
        TU_OK(mms_attr_list(s, names[i], count_attrs, &nattrs));
        CU_ASSERT_EQUAL(nattrs, i ? 0 : 1);
        if (i == 0)
            TU_OK(mms_attr_get(s, names[i], "units", buf, sizeof buf, &len));
        TU_RC(MMS_ERR_RDONLY, mms_array_open(s, names[i], MMS_RDWR, &w));
        CU_ASSERT_PTR_NULL(w);
        TU_OK(mms_array_close(a));
    }
    {
        int n = 0;
        TU_OK(mms_list(s, NULL, count_arrays, &n));
        CU_ASSERT_EQUAL(n, 2);
    }
    TU_OK(mms_store_close(s));

    snap_take(after, path);
    snap_compare(before, after);
    snap_free(before);
    snap_free(after);
    free(before);
    free(after);
}

static void rdonly_store_refuses_every_write(void)
{
    const char *path = make_populated_store();
    uint64_t shape[1] = {4};
    mms_store *s = NULL;
    mms_array *a = (mms_array *)&a, *r = NULL;
    mms_info info;
    char buf[16];
    size_t len = 0;
    int32_t v = 5;

    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    TU_RC(MMS_ERR_RDONLY, mms_array_create(s, "new", MMS_INT8, 1, shape, 0,
                                           &a));
    CU_ASSERT_PTR_NULL(a);
    a = (mms_array *)&a;
    TU_RC(MMS_ERR_RDONLY, mms_array_open(s, "one", MMS_RDWR, &a));
    CU_ASSERT_PTR_NULL(a);
    TU_RC(MMS_ERR_RDONLY, mms_remove(s, "one"));
    TU_RC(MMS_ERR_RDONLY, mms_rename(s, "one", "three"));
    TU_RC(MMS_ERR_RDONLY, mms_attr_set(s, "one", "k", "v", 1));
    TU_RC(MMS_ERR_RDONLY, mms_attr_remove(s, "one", "units"));

    /* A read-only array handle refuses the writing calls. */
    TU_OK_FATAL(mms_array_open(s, "one", MMS_RDONLY, &r));
    TU_RC(MMS_ERR_RDONLY, mms_array_write(r, 0, &v, sizeof v));
    TU_RC(MMS_ERR_RDONLY, mms_array_sync(r));
    TU_RC(MMS_ERR_RDONLY, mms_array_sync_range(r, 0, 1));
    TU_RC(MMS_ERR_RDONLY, mms_array_resize(r, 32));
    CU_ASSERT_EQUAL(((const int32_t *)mms_array_data(r))[0], 100);
    TU_OK(mms_array_close(r));

    /* Nothing changed. */
    TU_OK(mms_stat(s, "one", &info));
    CU_ASSERT_EQUAL(info.shape[0], 16);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "three", &info));
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "new", &info));
    TU_OK(mms_attr_get(s, "one", "units", buf, sizeof buf, &len));
    CU_ASSERT(len == 3 && memcmp(buf, "m/s", 3) == 0);
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "one", "k", buf, sizeof buf,
                                         &len));
    TU_OK(mms_store_close(s));
}

/* ---- threads ----------------------------------------------------------- */

typedef struct thread_work {
    mms_store *store;
    int index;
    int failures;
    char first_failure[256];
} thread_work;

static void thread_fail(thread_work *w, const char *what, int rc)
{
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure,
                 "thread %d: %s returned %d (%s: %s)", w->index, what, rc,
                 mms_strerror(rc), mms_errmsg());
}

/* Creates, fills, syncs, reads back, renames and removes its own arrays. */
static void *thread_body(void *arg)
{
    thread_work *w = arg;
    uint64_t shape[1] = {64};

    for (int i = 0; i < 20; i++) {
        char name[32], moved[32];
        mms_array *a = NULL;
        mms_info info;
        int rc;

        snprintf(name, sizeof name, "t%d/%d", w->index, i);
        snprintf(moved, sizeof moved, "t%d/moved%d", w->index, i);
        if ((rc = mms_array_create(w->store, name, MMS_INT64, 1, shape, 0,
                                   &a)) != MMS_OK) {
            thread_fail(w, "create", rc);
            continue;
        }
        int64_t *d = mms_array_data(a);
        for (int k = 0; k < 64; k++)
            d[k] = w->index * 100000 + i * 100 + k;
        if ((rc = mms_array_sync(a)) != MMS_OK)
            thread_fail(w, "sync", rc);
        if ((rc = mms_array_close(a)) != MMS_OK)
            thread_fail(w, "close", rc);
        if ((rc = mms_attr_set(w->store, name, "owner", &w->index,
                               sizeof w->index)) != MMS_OK)
            thread_fail(w, "attr_set", rc);
        if ((rc = mms_rename(w->store, name, moved)) != MMS_OK)
            thread_fail(w, "rename", rc);
        a = NULL;
        if ((rc = mms_array_open(w->store, moved, MMS_RDONLY, &a)) != MMS_OK) {
            thread_fail(w, "open", rc);
        } else {
            const int64_t *r = mms_array_data(a);
            for (int k = 0; k < 64; k++) {
                if (r[k] != w->index * 100000 + i * 100 + k) {
                    thread_fail(w, "reading back", MMS_OK);
                    break;
                }
            }
            mms_array_close(a);
        }
        if ((rc = mms_verify(w->store, moved, NULL, NULL)) != MMS_OK)
            thread_fail(w, "verify", rc);
        if ((rc = mms_stat(w->store, moved, &info)) != MMS_OK ||
            info.shape[0] != 64)
            thread_fail(w, "stat", rc);
        if ((rc = mms_remove(w->store, moved)) != MMS_OK)
            thread_fail(w, "remove", rc);
    }
    return NULL;
}

static void store_handle_is_shared_by_threads(void)
{
    mms_store *s = NULL;
    pthread_t t[3];
    thread_work w[3];
    int n = 0;

    TU_OK_FATAL(mms_store_open(tu_store_path(), MMS_CREATE, &s));
    for (int i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].store = s;
        w[i].index = i;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, thread_body, &w[i]),
                              0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CU_assertImplementation(w[i].failures == 0, __LINE__,
                                w[i].first_failure, __FILE__, "", CU_FALSE);
    }
    TU_OK(mms_list(s, NULL, count_arrays, &n));
    CU_ASSERT_EQUAL(n, 0);
    TU_OK(mms_store_close(s));
}

/* ---- closing ----------------------------------------------------------- */

static void close_accepts_null(void)
{
    TU_OK(mms_store_close(NULL));
    TU_OK(mms_array_close(NULL));
}

static void close_with_open_array_is_busy_and_keeps_the_store(void)
{
    mms_store *s = NULL;
    mms_array *a = NULL, *b = NULL;
    uint64_t shape[1] = {8};
    mms_info info;

    TU_OK_FATAL(mms_store_open(tu_store_path(), MMS_CREATE, &s));
    TU_OK_FATAL(mms_array_create(s, "a", MMS_INT64, 1, shape, 0, &a));
    TU_OK_FATAL(mms_array_open(s, "a", MMS_RDONLY, &b));
    TU_RC(MMS_ERR_BUSY, mms_store_close(s));

    /* Still usable. */
    ((int64_t *)mms_array_data(a))[3] = 42;
    TU_OK(mms_array_sync(a));
    TU_OK(mms_stat(s, "a", &info));
    TU_OK(mms_array_close(a));
    TU_RC(MMS_ERR_BUSY, mms_store_close(s)); /* b is still open */
    CU_ASSERT_EQUAL(((const int64_t *)mms_array_data(b))[3], 42);
    TU_OK(mms_array_close(b));
    TU_OK(mms_store_close(s));
}

static const tu_test open_tests[] = {
    TU_TEST(create_makes_layout_with_mode_0700),
    TU_TEST(create_in_existing_empty_directory),
    TU_TEST(create_writes_meta_records),
    TU_TEST(reopen_keeps_the_store),
    TU_TEST(open_missing_without_create_is_notfound),
    TU_TEST(rdonly_open_of_missing_is_notfound),
    TU_TEST(create_with_rdonly_is_rdonly),
    TU_TEST(open_rejects_null_arguments),
    TU_TEST(directory_that_is_not_a_store_is_refused_untouched),
    TU_TEST(catalog_of_garbage_is_corrupt),
    TU_TEST(catalog_without_meta_is_corrupt),
    TU_TEST(newer_format_is_version_error),
    TU_END,
};

static const tu_test perm_tests[] = {
    TU_TEST(shared_group_makes_0770_setgid),
    TU_TEST(mms_group_environment_makes_shared_store),
    TU_TEST(private_store_files_are_0600),
    TU_END,
};

static const tu_test accessor_tests[] = {
    TU_TEST(store_path_is_a_copy_of_the_given_path),
    TU_TEST(block_size_default_is_1mib),
    TU_TEST(set_default_block_size_applies_to_new_stores_only),
    TU_TEST(set_default_block_size_rejects_invalid_values),
    TU_END,
};

static const tu_test rdonly_tests[] = {
    TU_TEST(rdonly_store_never_modifies_files),
    TU_TEST(rdonly_store_refuses_every_write),
    TU_END,
};

static const tu_test thread_tests[] = {
    TU_TEST(store_handle_is_shared_by_threads),
    TU_END,
};

static const tu_test close_tests[] = {
    TU_TEST(close_accepts_null),
    TU_TEST(close_with_open_array_is_busy_and_keeps_the_store),
    TU_END,
};

static const tu_suite suites[] = {
    {"open", open_tests},
    {"permissions", perm_tests},
    {"accessors", accessor_tests},
    {"rdonly", rdonly_tests},
    {"threads", thread_tests},
    {"close", close_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    unsetenv("MMS_GROUP"); /* the tests choose the store modes themselves */
    return tu_main(argc, argv, suites);
}
