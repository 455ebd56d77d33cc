/*
 * test_publish.c - atomic publish (DESIGN section 6): staged versions are
 * invisible until mms_array_publish, which moves the name to them in one
 * step with the next generation and the name's attributes, and deletes the
 * old version's file and catalog entries; readers that hold the old
 * version keep it until mms_array_refresh; writes through superseded,
 * removed or resized-elsewhere handles are refused with MMS_ERR_STALE.
 * Then get-or-create, and real processes: a reader racing 1,000 publishes
 * never sees a mixed array; readers racing resizes and removes by another
 * process never fail (beyond "not found" or "stale" for a removed name);
 * 8 processes compute one cached array once; a computer killed midway is
 * replaced by a waiter.
 *
 * Multi-process tests use procutil (forked children that report through
 * pipes); a test with children alive never leaves through a fatal
 * assertion.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"
#include "procutil.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

static bool data_file_exists(const char *store, uint64_t id)
{
    char path[PATH_MAX];
    su_data_path(path, sizeof path, store, id);
    return access(path, F_OK) == 0;
}

static uint64_t elements_of(const mms_info *info)
{
    uint64_t n = 1;
    for (int i = 0; i < info->ndim; i++)
        n *= info->shape[i];
    return n;
}

/* Sets every element of an INT64 array to value (through the mapping). */
static void fill_i64(mms_array *a, int64_t value)
{
    mms_info info;
    TU_OK_FATAL(mms_array_info(a, &info));
    int64_t *p = mms_array_data(a);
    for (uint64_t i = 0; i < elements_of(&info); i++)
        p[i] = value;
}

/* Index of the first of n elements that is not value, or -1. */
static int64_t first_not(const int64_t *p, uint64_t n, int64_t value)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != value)
            return (int64_t)i;
    return -1;
}

/* Checks that every element a's handle sees equals value. */
static void expect_all_at(unsigned line, mms_array *a, int64_t value,
                          const char *when)
{
    mms_info info;
    int rc = mms_array_info(a, &info);
    if (rc != MMS_OK) {
        TU_CHECKF_AT(line, 0, "%s: mms_array_info returned %s", when,
                     mms_strerror(rc));
        return;
    }
    const int64_t *p = mms_array_data(a);
    int64_t bad = first_not(p, elements_of(&info), value);
    TU_CHECKF_AT(line, bad < 0, "%s: element %" PRId64 " is %" PRId64
                 ", expected every element to be %" PRId64, when, bad,
                 bad < 0 ? 0 : p[bad], value);
}
#define EXPECT_ALL(a, value, when)                                           \
    expect_all_at(__LINE__, (a), (value), (when))

/* Opens name read-only and checks every element equals value. */
static void expect_named_all_at(unsigned line, mms_store *s, const char *name,
                                int64_t value, const char *when)
{
    mms_array *a = NULL;
    int rc = mms_array_open(s, name, MMS_RDONLY, &a);
    TU_CHECKF_AT(line, rc == MMS_OK, "%s: mms_array_open('%s') returned "
                 "%s: %s", when, name, mms_strerror(rc), mms_errmsg());
    if (rc == MMS_OK)
        expect_all_at(line, a, value, when);
    mms_array_close(a);
}
#define EXPECT_NAMED_ALL(s, name, value, when)                               \
    expect_named_all_at(__LINE__, (s), (name), (value), (when))

typedef struct seen {
    int count;
    bool found;
    const char *want;
    uint64_t id;
    int times;
} seen;

static int list_fn(const char *name, const mms_info *info, void *ctx)
{
    seen *w = ctx;
    w->count++;
    if (strcmp(name, w->want) == 0) {
        w->found = true;
        w->id = info->id;
        w->times++;
    }
    return 0;
}

/* Lists the whole store, noting how often want appears and with which id. */
static seen list_for(mms_store *s, const char *want)
{
    seen w = {.want = want};
    TU_OK(mms_list(s, NULL, list_fn, &w));
    return w;
}

/* How many keys of catalog database db start with id (big-endian). The
 * store must be closed in this process. */
static size_t count_for_id(const char *store, const char *db, uint64_t id)
{
    unsigned char prefix[8];
    size_t n = 0;
    su_put_be64(prefix, id);
    int rc = su_cat_count(store, db, prefix, sizeof prefix, &n);
    TU_CHECKF(rc == 0, "counting '%s' entries of id %" PRIu64 ": %s", db, id,
              su_strerror(rc));
    return n;
}

static size_t count_all(const char *store, const char *db)
{
    size_t n = 0;
    int rc = su_cat_count(store, db, NULL, 0, &n);
    TU_CHECKF(rc == 0, "counting '%s' entries: %s", db, su_strerror(rc));
    return n;
}

/* Makes name a published INT64 array of shape {rows, cols} holding value,
 * closed, with generation 1. Returns its id. */
static uint64_t make_array(mms_store *s, const char *name, uint64_t rows,
                           uint64_t cols, int64_t value)
{
    uint64_t shape[2] = {rows, cols};
    mms_array *a = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_create(s, name, MMS_INT64, 2, shape, 0, &a));
    fill_i64(a, value);
    TU_OK_FATAL(mms_array_info(a, &info));
    TU_OK_FATAL(mms_array_close(a));
    return info.id;
}

/* ---- staged versions are invisible -------------------------------------- */

static void staged_new_name_is_invisible_until_publish(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {4, 3};
    mms_array *st = NULL;
    mms_info info, sinfo;

    TU_OK_FATAL(mms_array_create(s, "fresh", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    TU_OK(mms_array_info(st, &sinfo));
    TU_CHECKF(sinfo.state == MMS_STATE_STAGED, "a staged handle's info.state "
              "is %d, expected MMS_STATE_STAGED", (int)sinfo.state);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "fresh", &info));
    mms_array *a = NULL;
    TU_RC(MMS_ERR_NOTFOUND, mms_array_open(s, "fresh", MMS_RDONLY, &a));
    CU_ASSERT_PTR_NULL(a);
    seen w = list_for(s, "fresh");
    TU_CHECKF(!w.found && w.count == 0, "mms_list shows %d arrays (staged "
              "name %s) before publish; expected none", w.count, w.found ?
              "listed" : "not listed");
    TU_RC(MMS_ERR_NOTFOUND, mms_verify(s, "fresh", NULL, NULL));

    fill_i64(st, 42);
    TU_OK_FATAL(mms_array_publish(st));

    TU_OK(mms_stat(s, "fresh", &info));
    TU_CHECKF(info.generation == 1, "a new name is published with generation "
              "%" PRIu64 ", expected 1", info.generation);
    TU_CHECKF(info.id == sinfo.id, "the name points to id %" PRIu64 ", the "
              "staged version was id %" PRIu64, info.id, sinfo.id);
    TU_CHECKF(info.ndim == 2 && info.shape[0] == 4 && info.shape[1] == 3,
              "published shape is %d-d (%" PRIu64 ", %" PRIu64 "), expected "
              "(4, 3)", info.ndim, info.shape[0], info.shape[1]);
    w = list_for(s, "fresh");
    TU_CHECKF(w.found && w.times == 1 && w.count == 1 && w.id == sinfo.id,
              "after publish mms_list shows %d arrays, 'fresh' %d times (id "
              "%" PRIu64 "), expected it once with id %" PRIu64, w.count,
              w.times, w.id, sinfo.id);
    EXPECT_NAMED_ALL(s, "fresh", 42, "reading the published version");
    TU_OK(mms_verify(s, "fresh", NULL, NULL));

    /* The publishing handle is now an ordinary writable handle. */
    TU_OK(mms_array_info(st, &info));
    TU_CHECKF(info.state == MMS_STATE_WRITING && info.generation == 1,
              "after publish the handle says state %d, generation %" PRIu64
              "; expected MMS_STATE_WRITING, 1", (int)info.state,
              info.generation);
    ((int64_t *)mms_array_data(st))[5] = 7;
    TU_OK(mms_array_sync(st));
    TU_OK(mms_array_close(st));
    TU_OK(mms_verify(s, "fresh", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void staged_over_existing_name_leaves_old_version_until_publish(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t old_id = make_array(s, "x", 5, 4, 1);
    mms_info before, info, sinfo;
    TU_OK_FATAL(mms_stat(s, "x", &before));

    uint64_t shape[2] = {6, 2};
    mms_array *st = NULL;
    TU_OK_FATAL(mms_array_create(s, "x", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    TU_OK(mms_array_info(st, &sinfo));
    TU_CHECKF(sinfo.state == MMS_STATE_STAGED && sinfo.id != old_id,
              "staged version over an existing name: state %d, id %" PRIu64
              " (old id %" PRIu64 "); expected MMS_STATE_STAGED and a new id",
              (int)sinfo.state, sinfo.id, old_id);
    fill_i64(st, 2);

    /* Nothing about the visible version has changed. */
    TU_OK(mms_stat(s, "x", &info));
    TU_CHECKF(info.id == old_id && info.generation == 1 &&
              info.shape[0] == 5 && info.shape[1] == 4 &&
              info.checksum == before.checksum &&
              info.modified_ns == before.modified_ns,
              "while a staged version is pending, mms_stat says id %" PRIu64
              " generation %" PRIu64 " shape (%" PRIu64 ", %" PRIu64 "); "
              "expected the old version: id %" PRIu64 ", generation 1, "
              "(5, 4), unchanged checksum and mtime", info.id,
              info.generation, info.shape[0], info.shape[1], old_id);
    seen w = list_for(s, "x");
    TU_CHECKF(w.count == 1 && w.times == 1 && w.id == old_id, "while staged, "
              "mms_list shows %d arrays and 'x' %d times with id %" PRIu64 "; "
              "expected only the old version (id %" PRIu64 ")", w.count,
              w.times, w.id, old_id);
    EXPECT_NAMED_ALL(s, "x", 1, "reading 'x' while a new version is staged");
    TU_OK(mms_verify(s, "x", NULL, NULL));

    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_stat(s, "x", &info));
    TU_CHECKF(info.id == sinfo.id && info.generation == 2 &&
              info.shape[0] == 6 && info.shape[1] == 2,
              "after publish mms_stat says id %" PRIu64 " generation %" PRIu64
              " shape (%" PRIu64 ", %" PRIu64 "); expected id %" PRIu64
              ", generation 2, (6, 2)", info.id, info.generation,
              info.shape[0], info.shape[1], sinfo.id);
    EXPECT_NAMED_ALL(s, "x", 2, "reading 'x' after publish");
    TU_CHECKF(!data_file_exists(path, old_id), "the old version's data file "
              "(id %" PRIu64 ") is still in data/ after publish", old_id);
    TU_CHECKF(data_file_exists(path, sinfo.id), "the published version's data "
              "file (id %" PRIu64 ") is not in data/", sinfo.id);
    TU_CHECKF(su_data_entries(path) == 1, "data/ holds %d files after "
              "publishing over one array, expected 1", su_data_entries(path));
    TU_OK(mms_array_close(st));
    TU_OK(mms_store_close(s));

    /* The catalog keeps nothing of the old version, and nothing staged. */
    TU_CHECKF(count_for_id(path, "blocks", old_id) == 0, "the old version's "
              "block checksums are still in the catalog");
    TU_CHECKF(count_for_id(path, "attrs", old_id) == 0, "the old version's "
              "attributes are still in the catalog");
    TU_CHECKF(count_all(path, "staged") == 0, "a 'staged' entry remains after "
              "publish");
    uint64_t *hashes = NULL, n = 0;
    int rc = su_cat_blocks(path, sinfo.id, &hashes, &n);
    TU_CHECKF(rc == 0, "reading the new version's blocks: %s",
              su_strerror(rc));
    TU_CHECKF(n == 1 && su_root(hashes, n) == info.checksum,
              "the new version has %" PRIu64 " block checksums adding up to "
              "%016" PRIx64 "; expected 1 adding up to the record's root "
              "%016" PRIx64, n, n ? su_root(hashes, n) : 0, info.checksum);
    free(hashes);
}

static void publish_carries_the_names_attributes_over(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t old_id = make_array(s, "withattrs", 2, 2, 0);
    TU_OK(mms_attr_set(s, "withattrs", "unit", "m/s", 3));
    mms_array *st = NULL;
    uint64_t shape[2] = {2, 2};
    TU_OK_FATAL(mms_array_create(s, "withattrs", MMS_INT64, 2, shape,
                                 MMS_STAGED, &st));
    /* Set after staging, before publishing: publish copies what the name
     * has at that moment. */
    TU_OK(mms_attr_set(s, "withattrs", "late", "yes", 3));
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_array_close(st));

    char buf[16];
    size_t len = 0;
    TU_OK(mms_attr_get(s, "withattrs", "unit", buf, sizeof buf, &len));
    TU_CHECKF(len == 3 && memcmp(buf, "m/s", 3) == 0, "attribute 'unit' "
              "after publish is %zu bytes '%.*s', expected 'm/s'", len,
              (int)len, buf);
    len = 0;
    TU_OK(mms_attr_get(s, "withattrs", "late", buf, sizeof buf, &len));
    TU_CHECKF(len == 3 && memcmp(buf, "yes", 3) == 0, "attribute 'late' (set "
              "while staged) after publish is %zu bytes '%.*s', expected "
              "'yes'", len, (int)len, buf);
    mms_info info;
    TU_OK(mms_stat(s, "withattrs", &info));
    TU_OK(mms_store_close(s));
    TU_CHECKF(count_for_id(path, "attrs", info.id) == 2, "the new version has "
              "%zu attributes in the catalog, expected 2",
              count_for_id(path, "attrs", info.id));
    TU_CHECKF(count_for_id(path, "attrs", old_id) == 0, "the old version's "
              "attributes stay in the catalog after publish");
}

static void each_publish_adds_one_to_the_generation(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    make_array(s, "gen", 3, 3, 0);
    for (int v = 1; v <= 4; v++) {
        uint64_t shape[2] = {3, 3};
        mms_array *st = NULL;
        mms_info info;
        TU_OK_FATAL(mms_array_create(s, "gen", MMS_INT64, 2, shape,
                                     MMS_STAGED, &st));
        fill_i64(st, v);
        TU_OK_FATAL(mms_array_publish(st));
        TU_OK(mms_array_info(st, &info));
        TU_CHECKF(info.generation == (uint64_t)v + 1, "publish number %d "
                  "gives the handle generation %" PRIu64 ", expected %d", v,
                  info.generation, v + 1);
        TU_OK(mms_array_close(st));
        TU_OK(mms_stat(s, "gen", &info));
        TU_CHECKF(info.generation == (uint64_t)v + 1, "after publish number "
                  "%d mms_stat says generation %" PRIu64 ", expected %d", v,
                  info.generation, v + 1);
        EXPECT_NAMED_ALL(s, "gen", v, "reading the newest version");
    }
    TU_CHECKF(su_data_entries(path) == 1, "data/ holds %d files after 4 "
              "publishes over one name, expected 1", su_data_entries(path));
    TU_OK(mms_store_close(s));
}

static void two_staged_versions_of_one_name_publish_in_turn(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {100};
    mms_array *v1 = NULL, *v2 = NULL;
    mms_info i1, i2, info;
    TU_OK_FATAL(mms_array_create(s, "twice", MMS_INT64, 1, shape, MMS_STAGED,
                                 &v1));
    TU_OK_FATAL(mms_array_create(s, "twice", MMS_INT64, 1, shape, MMS_STAGED,
                                 &v2));
    TU_OK(mms_array_info(v1, &i1));
    TU_OK(mms_array_info(v2, &i2));
    TU_CHECKF(i1.id != i2.id, "two staged versions share id %" PRIu64, i1.id);
    fill_i64(v1, 1);
    fill_i64(v2, 2);
    TU_OK_FATAL(mms_array_publish(v2));
    TU_OK_FATAL(mms_array_publish(v1));
    TU_OK(mms_stat(s, "twice", &info));
    TU_CHECKF(info.id == i1.id && info.generation == 2, "after publishing two "
              "staged versions the name has id %" PRIu64 " generation %" PRIu64
              "; expected the last published (id %" PRIu64 ") at generation 2",
              info.id, info.generation, i1.id);
    EXPECT_NAMED_ALL(s, "twice", 1, "reading after the second publish");
    TU_CHECKF(!data_file_exists(path, i2.id), "the first published version's "
              "file is still in data/ after the second publish");
    /* The superseded one is stale now. */
    TU_RC(MMS_ERR_STALE, mms_array_sync(v2));
    TU_RC(MMS_ERR_STALE, mms_array_close(v2));
    TU_OK(mms_array_close(v1));
    TU_OK(mms_store_close(s));
}

static void plain_create_of_a_name_with_a_pending_staged_version(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {10};
    mms_array *st = NULL, *plain = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_create(s, "race", MMS_INT64, 1, shape, MMS_STAGED,
                                 &st));
    /* The staged version holds no name: a plain create succeeds ... */
    TU_OK_FATAL(mms_array_create(s, "race", MMS_INT64, 1, shape, 0, &plain));
    mms_array *again = NULL;
    /* ... and a second plain create is refused as usual. */
    TU_RC(MMS_ERR_EXISTS, mms_array_create(s, "race", MMS_INT64, 1, shape, 0,
                                           &again));
    CU_ASSERT_PTR_NULL(again);
    fill_i64(plain, 5);
    TU_OK(mms_array_sync(plain));
    fill_i64(st, 6);
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_stat(s, "race", &info));
    TU_CHECKF(info.generation == 2, "publishing over a name created meanwhile "
              "gives generation %" PRIu64 ", expected 2", info.generation);
    EXPECT_NAMED_ALL(s, "race", 6, "reading after the staged publish");
    TU_RC(MMS_ERR_STALE, mms_array_sync(plain));
    TU_RC(MMS_ERR_STALE, mms_array_close(plain));
    TU_OK(mms_array_close(st));
    TU_OK(mms_store_close(s));
}

/* ---- discarding and refusing -------------------------------------------- */

static void closing_an_unpublished_staged_version_discards_it(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t kept = make_array(s, "kept", 3, 3, 9);
    mms_info before;
    TU_OK(mms_stat(s, "kept", &before));
    int files = su_data_entries(path);
    uint64_t shape[2] = {300, 300};
    mms_array *st_new = NULL, *st_old = NULL;
    mms_info i_new, i_old;

    TU_OK_FATAL(mms_array_create(s, "never", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st_new));
    TU_OK_FATAL(mms_array_create(s, "kept", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st_old));
    TU_OK(mms_array_info(st_new, &i_new));
    TU_OK(mms_array_info(st_old, &i_old));
    TU_CHECKF(su_data_entries(path) == files + 2, "data/ holds %d files with "
              "two staged versions, expected %d", su_data_entries(path),
              files + 2);
    fill_i64(st_new, 3);
    fill_i64(st_old, 4);
    TU_OK(mms_array_sync(st_new)); /* synced, but still never published */
    TU_OK(mms_array_close(st_new));
    TU_OK(mms_array_close(st_old));

    TU_CHECKF(su_data_entries(path) == files, "data/ holds %d files after "
              "closing two unpublished staged versions, expected %d",
              su_data_entries(path), files);
    TU_CHECKF(!data_file_exists(path, i_new.id) &&
              !data_file_exists(path, i_old.id),
              "a discarded staged version's data file is still in data/");
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "never", &info));
    TU_OK(mms_stat(s, "kept", &info));
    TU_CHECKF(info.id == kept && info.generation == 1 &&
              info.checksum == before.checksum,
              "discarding a staged version of 'kept' changed it: id %" PRIu64
              " generation %" PRIu64, info.id, info.generation);
    EXPECT_NAMED_ALL(s, "kept", 9, "reading 'kept' after the discard");
    TU_OK(mms_store_close(s));

    TU_CHECKF(count_all(path, "staged") == 0, "'staged' catalog entries "
              "remain after closing unpublished staged versions");
    TU_CHECKF(count_for_id(path, "blocks", i_new.id) == 0 &&
              count_for_id(path, "blocks", i_old.id) == 0,
              "a discarded staged version's block checksums remain");
}

static void publish_of_a_handle_that_is_not_staged_is_invalid(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {8};
    mms_array *plain = NULL, *ro = NULL, *st = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_create(s, "p", MMS_INT64, 1, shape, 0, &plain));
    TU_RC(MMS_ERR_INVAL, mms_array_publish(plain));
    TU_OK_FATAL(mms_array_open(s, "p", MMS_RDONLY, &ro));
    TU_RC(MMS_ERR_INVAL, mms_array_publish(ro));
    TU_RC(MMS_ERR_INVAL, mms_array_publish(NULL));
    TU_OK(mms_stat(s, "p", &info));
    TU_CHECKF(info.generation == 1, "a refused publish changed the generation "
              "to %" PRIu64, info.generation);

    /* Once published, a staged handle is an ordinary one. */
    TU_OK_FATAL(mms_array_create(s, "q", MMS_INT64, 1, shape, MMS_STAGED,
                                 &st));
    TU_OK(mms_array_publish(st));
    TU_RC(MMS_ERR_INVAL, mms_array_publish(st));
    TU_OK(mms_stat(s, "q", &info));
    TU_CHECKF(info.generation == 1, "a second publish of one handle changed "
              "the generation to %" PRIu64, info.generation);
    TU_OK(mms_array_close(st));
    TU_OK(mms_array_close(ro));
    TU_OK(mms_array_close(plain));
    TU_OK(mms_store_close(s));
}

static void refresh_of_a_staged_handle_is_invalid(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {8};
    mms_array *st = NULL;
    TU_OK_FATAL(mms_array_create(s, "st", MMS_INT64, 1, shape, MMS_STAGED,
                                 &st));
    TU_RC(MMS_ERR_INVAL, mms_array_refresh(st));
    mms_info info;
    TU_OK(mms_array_info(st, &info));
    TU_CHECKF(info.state == MMS_STATE_STAGED, "after a refused refresh the "
              "handle's state is %d, expected MMS_STATE_STAGED",
              (int)info.state);
    TU_OK(mms_array_close(st));
    TU_OK(mms_store_close(s));
}

/* ---- old readers, stale writers ----------------------------------------- */

static void reader_keeps_the_old_version_until_refresh(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t old_id = make_array(s, "v", 1000, 1, 7);
    mms_array *reader = NULL, *st = NULL;
    mms_info info, sinfo;
    TU_OK_FATAL(mms_array_open(s, "v", MMS_RDONLY, &reader));
    const int64_t *old_data = mms_array_data(reader);

    uint64_t shape[2] = {2000, 1};
    TU_OK_FATAL(mms_array_create(s, "v", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    fill_i64(st, 8);
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_array_info(st, &sinfo));
    TU_OK(mms_array_close(st));

    /* The old file is unlinked, but the reader's mapping is intact. */
    EXPECT_ALL(reader, 7, "the old reader after publish, before refresh");
    TU_OK(mms_array_info(reader, &info));
    TU_CHECKF(info.id == old_id && info.generation == 1 &&
              info.shape[0] == 1000,
              "before refresh the reader's info says id %" PRIu64
              " generation %" PRIu64 " rows %" PRIu64 "; expected its old "
              "version (id %" PRIu64 ", 1, 1000)", info.id, info.generation,
              info.shape[0], old_id);
    TU_CHECKF(mms_array_data(reader) == old_data, "the reader's data pointer "
              "moved without a refresh");

    TU_OK_FATAL(mms_array_refresh(reader));
    TU_OK(mms_array_info(reader, &info));
    TU_CHECKF(info.id == sinfo.id && info.generation == 2 &&
              info.shape[0] == 2000,
              "after refresh the reader's info says id %" PRIu64 " generation "
              "%" PRIu64 " rows %" PRIu64 "; expected id %" PRIu64 ", 2, 2000",
              info.id, info.generation, info.shape[0], sinfo.id);
    EXPECT_ALL(reader, 8, "the reader after refresh");
    /* A refresh with nothing new keeps the view. */
    TU_OK(mms_array_refresh(reader));
    EXPECT_ALL(reader, 8, "the reader after a second refresh");
    TU_OK(mms_array_close(reader));
    TU_OK(mms_store_close(s));
}

static void sync_through_a_superseded_handle_is_stale(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "w", 16, 4, 1);
    mms_array *w = NULL, *st = NULL;
    TU_OK_FATAL(mms_array_open(s, "w", MMS_RDWR, &w));
    uint64_t shape[2] = {16, 4};
    TU_OK_FATAL(mms_array_create(s, "w", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    fill_i64(st, 2);
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_array_close(st));

    /* Writes through the superseded handle go to the old file only. */
    fill_i64(w, 99);
    TU_RC(MMS_ERR_STALE, mms_array_sync(w));
    TU_RC(MMS_ERR_STALE, mms_array_sync_range(w, 0, 1));
    TU_RC(MMS_ERR_STALE, mms_array_resize(w, 20));
    EXPECT_NAMED_ALL(s, "w", 2, "reading the published version after "
                     "writes through a superseded handle");
    TU_OK(mms_verify(s, "w", NULL, NULL));
    TU_RC(MMS_ERR_STALE, mms_array_close(w));
    mms_info info;
    TU_OK(mms_stat(s, "w", &info));
    TU_CHECKF(info.generation == 2 && info.shape[0] == 16, "a stale handle's "
              "calls changed the array: generation %" PRIu64 ", rows %" PRIu64,
              info.generation, info.shape[0]);
    TU_OK(mms_store_close(s));
}

static void sync_and_refresh_of_a_removed_array_are_stale(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "gone", 8, 8, 3);
    mms_array *w = NULL, *r = NULL;
    TU_OK_FATAL(mms_array_open(s, "gone", MMS_RDWR, &w));
    TU_OK_FATAL(mms_array_open(s, "gone", MMS_RDONLY, &r));
    TU_OK_FATAL(mms_remove(s, "gone"));
    fill_i64(w, 4);
    TU_RC(MMS_ERR_STALE, mms_array_sync(w));
    TU_RC(MMS_ERR_STALE, mms_array_sync_range(w, 2, 2));
    /* Mappings stay valid after the remove. */
    EXPECT_ALL(r, 4, "a reader of a removed array (it shares the writer's "
               "file)");
    TU_RC(MMS_ERR_STALE, mms_array_refresh(r));
    EXPECT_ALL(r, 4, "a reader after a refused refresh");
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "gone", &info));
    TU_RC(MMS_ERR_STALE, mms_array_close(w));
    TU_OK(mms_array_close(r));

    /* A new array under the name is another version: still stale. */
    make_array(s, "gone2", 8, 8, 0);
    TU_OK_FATAL(mms_array_open(s, "gone2", MMS_RDWR, &w));
    TU_OK_FATAL(mms_remove(s, "gone2"));
    make_array(s, "gone2", 8, 8, 6);
    TU_RC(MMS_ERR_STALE, mms_array_sync(w));
    TU_RC(MMS_ERR_STALE, mms_array_close(w));
    EXPECT_NAMED_ALL(s, "gone2", 6, "the re-created array");
    TU_OK(mms_store_close(s));
}

static void staged_version_can_be_resized_before_publish(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {4, 512};
    mms_array *st = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_create(s, "grown", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    TU_OK_FATAL(mms_array_resize(st, 300)); /* past the file's capacity */
    TU_OK(mms_array_info(st, &info));
    TU_CHECKF(info.state == MMS_STATE_STAGED && info.shape[0] == 300, "after "
              "resizing a staged version: state %d, %" PRIu64 " rows; "
              "expected MMS_STATE_STAGED, 300", (int)info.state,
              info.shape[0]);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "grown", &info));
    fill_i64(st, 12);
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_stat(s, "grown", &info));
    TU_CHECKF(info.shape[0] == 300 && info.shape[1] == 512 &&
              info.generation == 1, "the published resized version has shape "
              "(%" PRIu64 ", %" PRIu64 "), generation %" PRIu64 "; expected "
              "(300, 512), 1", info.shape[0], info.shape[1], info.generation);
    EXPECT_NAMED_ALL(s, "grown", 12, "reading the resized published version");
    TU_OK(mms_verify(s, "grown", NULL, NULL));
    TU_OK(mms_array_close(st));
    TU_OK(mms_store_close(s));
}

static void refresh_moves_a_writable_handle_to_the_new_version(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "rw", 8, 8, 1);
    mms_array *w = NULL, *st = NULL;
    mms_info info, sinfo;
    TU_OK_FATAL(mms_array_open(s, "rw", MMS_RDWR, &w));
    uint64_t shape[2] = {8, 8};
    TU_OK_FATAL(mms_array_create(s, "rw", MMS_INT64, 2, shape, MMS_STAGED,
                                 &st));
    fill_i64(st, 2);
    TU_OK_FATAL(mms_array_publish(st));
    TU_OK(mms_array_info(st, &sinfo));
    TU_OK(mms_array_close(st));
    TU_RC(MMS_ERR_STALE, mms_array_sync(w));

    TU_OK_FATAL(mms_array_refresh(w));
    TU_OK(mms_array_info(w, &info));
    TU_CHECKF(info.id == sinfo.id && info.generation == 2, "after refresh the "
              "writable handle has id %" PRIu64 " generation %" PRIu64
              "; expected %" PRIu64 ", 2", info.id, info.generation, sinfo.id);
    EXPECT_ALL(w, 2, "the writable handle after refresh");
    fill_i64(w, 3);
    TU_OK(mms_array_sync(w));
    TU_OK(mms_stat(s, "rw", &info));
    TU_CHECKF(info.state == MMS_STATE_WRITING, "with the refreshed writable "
              "handle open, mms_stat says state %d, expected "
              "MMS_STATE_WRITING", (int)info.state);
    TU_OK(mms_array_close(w));
    TU_OK(mms_stat(s, "rw", &info));
    TU_CHECKF(info.state == MMS_STATE_CLEAN, "after closing the refreshed "
              "handle mms_stat says state %d, expected MMS_STATE_CLEAN",
              (int)info.state);
    EXPECT_NAMED_ALL(s, "rw", 3, "reading what the refreshed handle wrote");
    TU_OK(mms_verify(s, "rw", NULL, NULL));
    TU_OK(mms_store_close(s));
}

/* ---- growth seen by others ----------------------------------------------- */

static void refresh_maps_rows_another_handle_grew(void)
{
    mms_store *s = tu_new_store(NULL);
    const uint64_t cols = 512, rows = 4, grown = 3000;
    make_array(s, "grow", rows, cols, -1);
    mms_array *r = NULL, *w = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_open(s, "grow", MMS_RDONLY, &r));
    TU_OK_FATAL(mms_array_open(s, "grow", MMS_RDWR, &w));
    /* Far past the file's capacity: the file is extended. */
    TU_OK_FATAL(mms_array_resize(w, grown));
    int64_t *wd = mms_array_data(w);
    for (uint64_t i = rows; i < grown; i++)
        for (uint64_t j = 0; j < cols; j++)
            wd[i * cols + j] = (int64_t)(i * 1000 + j);
    TU_OK(mms_array_sync(w));

    TU_OK(mms_array_info(r, &info));
    TU_CHECKF(info.shape[0] == rows, "before refresh the reader sees %" PRIu64
              " rows, expected its old %" PRIu64, info.shape[0], rows);
    TU_OK_FATAL(mms_array_refresh(r));
    TU_OK(mms_array_info(r, &info));
    TU_CHECKF(info.shape[0] == grown && info.generation == 1,
              "after refresh the reader sees %" PRIu64 " rows, generation %"
              PRIu64 "; expected %" PRIu64 ", 1", info.shape[0],
              info.generation, grown);
    const int64_t *rd = mms_array_data(r);
    uint64_t bad = 0, first_bad = 0;
    for (uint64_t i = 0; i < grown; i++)
        for (uint64_t j = 0; j < cols; j++) {
            int64_t want = i < rows ? -1 : (int64_t)(i * 1000 + j);
            if (rd[i * cols + j] != want && bad++ == 0)
                first_bad = i * cols + j;
        }
    TU_CHECKF(bad == 0, "after refresh %" PRIu64 " elements differ from what "
              "the other handle wrote, the first at flat index %" PRIu64, bad,
              first_bad);
    TU_OK(mms_array_close(w));
    TU_OK(mms_array_close(r));
    TU_OK(mms_store_close(s));
}

/* A resize of the same version by another handle loses no write: syncs
 * through the older view go on (in the version's current shape), and a
 * refresh shows the new shape. */
static void sync_after_a_resize_by_another_handle_syncs_and_refresh_shows_it(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "rs", 4, 2, 1);
    mms_array *a = NULL, *b = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_open(s, "rs", MMS_RDWR, &a));
    TU_OK_FATAL(mms_array_open(s, "rs", MMS_RDWR, &b));
    TU_OK_FATAL(mms_array_resize(b, 9));
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_sync_range(a, 0, 1));
    TU_OK_FATAL(mms_array_refresh(a));
    TU_OK(mms_array_info(a, &info));
    TU_CHECKF(info.shape[0] == 9, "after refresh the handle sees %" PRIu64
              " rows, expected 9", info.shape[0]);
    int64_t *d = mms_array_data(a);
    d[8 * 2 + 1] = 77;
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_sync_range(a, 8, 1));
    TU_OK(mms_verify(s, "rs", NULL, NULL));

    /* A shrink is a resize too: rows past the new end are not the
     * array's any more. */
    TU_OK(mms_array_resize(a, 3));
    TU_OK(mms_array_sync(b));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(b, 5, 1));
    TU_OK(mms_array_refresh(b));
    TU_OK(mms_array_sync(b));
    TU_OK(mms_array_info(b, &info));
    TU_CHECKF(info.shape[0] == 3, "after a shrink and refresh the handle sees "
              "%" PRIu64 " rows, expected 3", info.shape[0]);
    TU_OK(mms_array_close(a));
    TU_OK(mms_array_close(b));
    TU_OK(mms_verify(s, "rs", NULL, NULL));
    TU_OK(mms_store_close(s));
}

/* ---- get-or-create in one process ---------------------------------------- */

typedef struct fill_ctx {
    int calls;
    int64_t value;
    int result;
} fill_ctx;

static int fill_value(mms_array *a, void *arg)
{
    fill_ctx *f = arg;
    f->calls++;
    mms_info info;
    if (mms_array_info(a, &info) != MMS_OK || info.state != MMS_STATE_STAGED)
        return 1000; /* the callback must get a staged version */
    int64_t *p = mms_array_data(a);
    for (uint64_t i = 0; i < elements_of(&info); i++)
        p[i] = f->value;
    return f->result;
}

static void get_or_create_fills_once_then_opens(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {10, 10};
    fill_ctx f = {.value = 31};
    mms_array *a = NULL, *b = NULL;
    mms_info info;
    TU_OK_FATAL(mms_array_get_or_create(s, "cache/one", MMS_INT64, 2, shape,
                                        MMS_RDONLY, fill_value, &f, 1000,
                                        &a));
    TU_CHECKF(f.calls == 1, "the fill callback ran %d times for an absent "
              "array, expected once", f.calls);
    EXPECT_ALL(a, 31, "the array get-or-create made");
    TU_OK(mms_array_info(a, &info));
    TU_CHECKF(info.generation == 1 && info.state != MMS_STATE_STAGED,
              "get-or-create gave a handle with generation %" PRIu64 ", state "
              "%d; expected a published generation 1", info.generation,
              (int)info.state);
    TU_OK(mms_verify(s, "cache/one", NULL, NULL));

    f.value = 32;
    TU_OK_FATAL(mms_array_get_or_create(s, "cache/one", MMS_INT64, 2, shape,
                                        MMS_RDWR, fill_value, &f, 1000, &b));
    TU_CHECKF(f.calls == 1, "the fill callback ran again for an existing "
              "array (%d calls)", f.calls);
    EXPECT_ALL(b, 31, "the existing array get-or-create opened");

    mms_array *c = NULL;
    uint64_t other[2] = {10, 11};
    TU_RC(MMS_ERR_EXISTS, mms_array_get_or_create(s, "cache/one", MMS_INT64,
                                                  2, other, MMS_RDONLY,
                                                  fill_value, &f, 1000, &c));
    TU_RC(MMS_ERR_EXISTS, mms_array_get_or_create(s, "cache/one", MMS_INT32,
                                                  2, shape, MMS_RDONLY,
                                                  fill_value, &f, 1000, &c));
    CU_ASSERT_PTR_NULL(c);
    TU_CHECKF(f.calls == 1, "a mismatching get-or-create ran the callback");
    TU_OK(mms_array_close(b));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void get_or_create_returns_the_fill_error_and_leaves_nothing(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {1000};
    fill_ctx f = {.value = 1, .result = 42};
    mms_array *a = NULL;
    TU_RC(42, mms_array_get_or_create(s, "cache/fails", MMS_INT64, 1, shape,
                                      MMS_RDONLY, fill_value, &f, 1000, &a));
    CU_ASSERT_PTR_NULL(a);
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "cache/fails", &info));
    TU_CHECKF(su_data_entries(path) == 0, "a failed fill left %d files in "
              "data/", su_data_entries(path));
    /* The lock was released: the next call computes it. */
    f.result = 0;
    TU_OK(mms_array_get_or_create(s, "cache/fails", MMS_INT64, 1, shape,
                                  MMS_RDONLY, fill_value, &f, 1000, &a));
    TU_CHECKF(f.calls == 2, "the fill ran %d times, expected 2", f.calls);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    TU_CHECKF(count_all(path, "staged") == 0, "a failed fill left a 'staged' "
              "entry in the catalog");
}

/* ---- many processes ------------------------------------------------------- */

/* (a) A writer publishes versions 1..N of a 64 Ki-element array, version v
 * holding v in every element; a reader refreshes and checks in a tight
 * loop that every element equals element 0 and that generation is
 * element 0 plus 1. */
#define RACE_ELEMENTS (64 * 1024)
#define RACE_VERSIONS 1000

typedef struct race_arg {
    const char *path;
} race_arg;

static void race_writer(void *arg)
{
    race_arg *r = arg;
    mms_store *s = NULL;
    uint64_t shape[1] = {RACE_ELEMENTS};
    pu_child_ok(mms_store_open(r->path, 0, &s), "writer: mms_store_open");
    pu_child_send('R');
    pu_child_expect('G');
    for (int64_t v = 1; v <= RACE_VERSIONS; v++) {
        mms_array *st = NULL;
        pu_child_ok(mms_array_create(s, "race", MMS_INT64, 1, shape,
                                     MMS_STAGED, &st),
                    "writer: staged mms_array_create");
        int64_t *p = mms_array_data(st);
        for (uint64_t i = 0; i < RACE_ELEMENTS; i++)
            p[i] = v;
        pu_child_ok(mms_array_publish(st), "writer: mms_array_publish");
        pu_child_ok(mms_array_close(st), "writer: mms_array_close");
    }
    pu_child_ok(mms_store_close(s), "writer: mms_store_close");
    pu_child_send('D');
}

static void reader_never_sees_a_mixed_version_during_1000_publishes(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {RACE_ELEMENTS};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, "race", MMS_INT64, 1, shape, 0, &a));
    TU_OK_FATAL(mms_array_close(a)); /* version 0: all zero, generation 1 */
    TU_OK_FATAL(mms_array_open(s, "race", MMS_RDONLY, &a));

    race_arg arg = {path};
    pu_child writer = PU_CHILD_INIT;
    long iterations = 0, versions_seen = 0, refresh_failures = 0;
    long mixed = 0, backwards = 0, gen_mismatch = 0;
    int64_t last = -1, newest = -1;
    char first_problem[512] = "";
    if (!PU_START(&writer, "publishing writer", race_writer, &arg) ||
        !PU_WAIT_FOR(&writer, 'R', "writer opened the store") ||
        !PU_TELL(&writer, 'G'))
        goto out;
    int64_t deadline = pu_now_ns() + (int64_t)PU_WAIT_MS * 1000000;
    bool done = false, last_round = false;
    for (;;) {
        if (iterations % 64 == 0 && !done) {
            /* Stop soon after the writer is done or gone. */
            int r = PU_POLL_FOR(&writer, 'D', "writer published every "
                                "version", 0);
            if (r < 0)
                break;
            done = r == 1;
        }
        int rc = mms_array_refresh(a);
        if (rc != MMS_OK) {
            if (refresh_failures++ == 0)
                snprintf(first_problem, sizeof first_problem, "refresh "
                         "returned %s: %s", mms_strerror(rc), mms_errmsg());
            if (refresh_failures > 10)
                break;
            continue;
        }
        mms_info info;
        mms_array_info(a, &info);
        const volatile int64_t *p = mms_array_data(a);
        int64_t v = p[0];
        iterations++;
        for (uint64_t i = 1; i < RACE_ELEMENTS; i++) {
            if (p[i] != v) {
                if (mixed++ == 0)
                    snprintf(first_problem, sizeof first_problem, "element "
                             "%" PRIu64 " is %" PRId64 " while element 0 is "
                             "%" PRId64 " (generation %" PRIu64 ")", i, p[i],
                             v, info.generation);
                break;
            }
        }
        if (info.generation != (uint64_t)v + 1 && gen_mismatch++ == 0)
            snprintf(first_problem, sizeof first_problem, "version %" PRId64
                     " came with generation %" PRIu64 ", expected %" PRId64,
                     v, info.generation, v + 1);
        if (v < last && backwards++ == 0)
            snprintf(first_problem, sizeof first_problem, "saw version %"
                     PRId64 " after version %" PRId64, v, last);
        if (v != last)
            versions_seen++;
        last = v;
        if (v > newest)
            newest = v;
        if (v == RACE_VERSIONS || last_round || pu_now_ns() > deadline)
            break;
        last_round = done; /* one more read after the writer finished */
        /* Tight, but on two shared cores the writer must get its turn. */
        sched_yield();
    }
    if (writer.pid > 0 && (done || PU_WAIT_FOR(&writer, 'D', "writer "
                                               "published every version")))
        PU_FINISH(&writer);
    TU_CHECKF(mixed == 0 && backwards == 0 && gen_mismatch == 0 &&
              refresh_failures == 0,
              "in %ld reads: %ld mixed arrays, %ld versions going backwards, "
              "%ld generation mismatches, %ld failed refreshes; first: %s",
              iterations, mixed, backwards, gen_mismatch, refresh_failures,
              first_problem);
    TU_CHECKF(newest == RACE_VERSIONS, "the reader's newest version was %"
              PRId64 ", expected it to reach %d", newest, RACE_VERSIONS);
    TU_CHECKF(versions_seen > 1, "the reader saw only %ld distinct versions "
              "in %ld reads: the race was not exercised", versions_seen,
              iterations);
    printf("\n    reader: %ld reads, %ld distinct versions of %d ",
           iterations, versions_seen, RACE_VERSIONS + 1);
out:
    pu_reap(&writer);
    mms_array_close(a);
    TU_CHECKF(su_data_entries(path) == 1, "data/ holds %d files after %d "
              "publishes over one name, expected 1", su_data_entries(path),
              RACE_VERSIONS);
    TU_OK(mms_store_close(s));
}

/* A writer process resizes an array up and down (past the file's capacity
 * too) while the parent, and a child with the store opened read-only,
 * refresh and reopen it in tight loops: no call fails, and every row seen
 * holds its index (written after growing) or 0 (not yet written). Nobody
 * gets SIGBUS: it would kill the reader. */
#define GROW_COLS 64
#define GROW_STEPS 200
#define GROW_MAX_ROWS 3000

static uint64_t grow_rows(int step)
{
    uint64_t x = (uint64_t)step * UINT64_C(0x9e3779b97f4a7c15);
    x ^= x >> 29;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 32;
    return 1 + x % GROW_MAX_ROWS;
}

static void resize_writer(void *arg)
{
    race_arg *r = arg;
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child_ok(mms_store_open(r->path, 0, &s), "writer: mms_store_open");
    pu_child_ok(mms_array_open(s, "grow", MMS_RDWR, &a), "writer: open");
    pu_child_send('R');
    pu_child_expect('G');
    uint64_t rows = 1;
    for (int step = 0; step < GROW_STEPS; step++) {
        uint64_t want = grow_rows(step);
        pu_child_ok(mms_array_resize(a, want), "writer: mms_array_resize");
        int64_t *d = mms_array_data(a);
        for (uint64_t i = rows; i < want; i++)
            d[i * GROW_COLS] = (int64_t)i;
        if (want > rows)
            pu_child_ok(mms_array_sync_range(a, rows, want - rows),
                        "writer: mms_array_sync_range");
        rows = want;
    }
    pu_child_ok(mms_array_close(a), "writer: mms_array_close");
    pu_child_ok(mms_store_close(s), "writer: mms_store_close");
    pu_child_send('D');
}

/* Checks what a handle sees; false (with the first problem) if wrong. */
static bool grow_view_ok(mms_array *a, char *problem, size_t size)
{
    mms_info info;
    mms_array_info(a, &info);
    const volatile int64_t *d = mms_array_data(a);
    for (uint64_t i = 0; i < info.shape[0]; i++) {
        int64_t v = d[i * GROW_COLS];
        if (v != 0 && v != (int64_t)i) {
            snprintf(problem, size, "row %" PRIu64 " of %" PRIu64 " holds %"
                     PRId64, i, info.shape[0], v);
            return false;
        }
    }
    return true;
}

/* A second reader in its own process, with the store opened MMS_RDONLY:
 * it opens and refreshes until told to stop ('S'), and fails at the first
 * call that does. */
static void ro_grow_reader(void *arg)
{
    race_arg *r = arg;
    mms_store *s = NULL;
    mms_array *a = NULL;
    char problem[512];
    pu_child_ok(mms_store_open(r->path, MMS_RDONLY, &s),
                "read-only reader: mms_store_open(MMS_RDONLY)");
    pu_child_ok(mms_array_open(s, "grow", MMS_RDONLY, &a),
                "read-only reader: first open");
    pu_child_send('R');
    for (long i = 1;; i++) {
        if (i % 16 == 0 && pu_child_poll(0) == 'S')
            break;
        mms_array *view = a;
        if (i % 2)
            pu_child_ok(mms_array_refresh(a), "read-only reader: "
                        "mms_array_refresh during resizes");
        else
            pu_child_ok(mms_array_open(s, "grow", MMS_RDONLY, &view),
                        "read-only reader: mms_array_open during resizes");
        if (!grow_view_ok(view, problem, sizeof problem))
            pu_child_fail("read-only reader: %s", problem);
        if (view != a)
            mms_array_close(view);
    }
    pu_child_ok(mms_array_close(a), "read-only reader: close");
    pu_child_ok(mms_store_close(s), "read-only reader: store close");
}

static void readers_never_fail_while_another_process_resizes(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {1, GROW_COLS};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, "grow", MMS_INT64, 2, shape, 0, &a));
    TU_OK_FATAL(mms_array_close(a));
    TU_OK_FATAL(mms_array_open(s, "grow", MMS_RDONLY, &a));

    race_arg arg = {path};
    pu_child writer = PU_CHILD_INIT, ro = PU_CHILD_INIT;
    long iterations = 0, failures = 0, wrong = 0;
    char first_problem[512] = "";
    bool done = false, last_round = false;
    if (!PU_START(&writer, "resizing writer", resize_writer, &arg) ||
        !PU_START(&ro, "reader of a read-only store", ro_grow_reader, &arg) ||
        !PU_WAIT_FOR(&writer, 'R', "writer opened the array") ||
        !PU_WAIT_FOR(&ro, 'R', "read-only reader opened the array") ||
        !PU_TELL(&writer, 'G'))
        goto out;
    int64_t deadline = pu_now_ns() + (int64_t)PU_WAIT_MS * 1000000;
    for (;;) {
        if (iterations % 16 == 0 && !done) {
            int r = PU_POLL_FOR(&writer, 'D', "writer resized", 0);
            if (r < 0)
                break;
            done = r == 1;
        }
        iterations++;
        /* Alternately refresh the held handle and open a new one. */
        mms_array *view = NULL;
        int rc;
        const char *call;
        if (iterations % 2) {
            call = "mms_array_refresh";
            rc = mms_array_refresh(a);
            view = a;
        } else {
            call = "mms_array_open";
            rc = mms_array_open(s, "grow", MMS_RDONLY, &view);
        }
        if (rc != MMS_OK) {
            if (failures++ == 0)
                snprintf(first_problem, sizeof first_problem, "%s returned "
                         "%s: %s", call, mms_strerror(rc), mms_errmsg());
        } else {
            char problem[512];
            if (!grow_view_ok(view, problem, sizeof problem) &&
                wrong++ == 0 && failures == 0)
                snprintf(first_problem, sizeof first_problem, "%s", problem);
        }
        if (view != a)
            mms_array_close(view);
        if (last_round || pu_now_ns() > deadline)
            break;
        last_round = done;
    }
    if (writer.pid > 0 && (done || PU_WAIT_FOR(&writer, 'D', "writer "
                                               "resized")))
        PU_FINISH(&writer);
    if (ro.pid > 0 && PU_TELL(&ro, 'S'))
        PU_FINISH(&ro);
    TU_CHECKF(failures == 0 && wrong == 0, "in %ld opens and refreshes while "
              "another process resized the array %d times: %ld failed, %ld "
              "saw wrong rows; first: %s", iterations, GROW_STEPS, failures,
              wrong, first_problem);
out:
    pu_reap(&writer);
    pu_reap(&ro);
    mms_array_close(a);
    TU_OK(mms_store_close(s));
}

/* A writer process removes and re-creates a name over and over while the
 * parent opens and refreshes it: the only failures are "not found" (open)
 * and "stale" (refresh) when the name is absent, never a missing file. */
#define CHURN_STEPS 100

static void churn_writer(void *arg)
{
    race_arg *r = arg;
    mms_store *s = NULL;
    uint64_t shape[1] = {1024};
    pu_child_ok(mms_store_open(r->path, 0, &s), "writer: mms_store_open");
    pu_child_send('R');
    pu_child_expect('G');
    for (int step = 0; step < CHURN_STEPS; step++) {
        mms_array *a = NULL;
        pu_child_ok(mms_remove(s, "churn"), "writer: mms_remove");
        pu_child_ok(mms_array_create(s, "churn", MMS_INT64, 1, shape, 0, &a),
                    "writer: mms_array_create");
        pu_child_ok(mms_array_close(a), "writer: mms_array_close");
    }
    pu_child_ok(mms_store_close(s), "writer: mms_store_close");
    pu_child_send('D');
}

static void readers_racing_removes_get_only_notfound_or_stale(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {1024};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, "churn", MMS_INT64, 1, shape, 0, &a));
    TU_OK_FATAL(mms_array_close(a));
    TU_OK_FATAL(mms_array_open(s, "churn", MMS_RDONLY, &a));

    race_arg arg = {path};
    pu_child writer = PU_CHILD_INIT;
    long iterations = 0, failures = 0, absent = 0;
    char first_problem[512] = "";
    bool done = false, last_round = false;
    if (!PU_START(&writer, "removing writer", churn_writer, &arg) ||
        !PU_WAIT_FOR(&writer, 'R', "writer opened the store") ||
        !PU_TELL(&writer, 'G'))
        goto out;
    int64_t deadline = pu_now_ns() + (int64_t)PU_WAIT_MS * 1000000;
    for (;;) {
        if (iterations % 16 == 0 && !done) {
            int r = PU_POLL_FOR(&writer, 'D', "writer churned", 0);
            if (r < 0)
                break;
            done = r == 1;
        }
        iterations++;
        int rc, allowed;
        const char *call;
        if (iterations % 2) {
            call = "mms_array_refresh";
            allowed = MMS_ERR_STALE;
            rc = mms_array_refresh(a);
        } else {
            mms_array *b = NULL;
            call = "mms_array_open";
            allowed = MMS_ERR_NOTFOUND;
            rc = mms_array_open(s, "churn", MMS_RDONLY, &b);
            mms_array_close(b);
        }
        if (rc == allowed)
            absent++;
        else if (rc != MMS_OK && failures++ == 0)
            snprintf(first_problem, sizeof first_problem, "%s returned %s: "
                     "%s", call, mms_strerror(rc), mms_errmsg());
        if (last_round || pu_now_ns() > deadline)
            break;
        last_round = done;
    }
    if (writer.pid > 0 && (done || PU_WAIT_FOR(&writer, 'D', "writer "
                                               "churned")))
        PU_FINISH(&writer);
    TU_CHECKF(failures == 0, "in %ld opens and refreshes racing %d removes, "
              "%ld failed with something other than not-found or stale; "
              "first: %s", iterations, CHURN_STEPS, failures, first_problem);
out:
    pu_reap(&writer);
    mms_array_close(a);
    TU_OK(mms_store_close(s));
}

/* (b), (c) get-or-create across processes. The fill callback counts its
 * runs on a separate counter array with an atomic add. */
#define GOC_ELEMENTS 4096
#define GOC_PROCS 8

typedef struct goc_arg {
    const char *path;
    bool hang;        /* fill: tell the parent, then sleep until killed */
    int fill_ms;      /* fill: sleep this long (others pile up meanwhile) */
} goc_arg;

typedef struct goc_fill {
    mms_array *counter;
    const goc_arg *arg;
} goc_fill;

static int64_t goc_value(uint64_t i)
{
    return (int64_t)(i * 2654435761u) ^ 0x5a5a;
}

static int goc_fill_fn(mms_array *a, void *ctx)
{
    goc_fill *f = ctx;
    pu_child_ok(mms_atomic_add_i64(f->counter, 0, 1, NULL),
                "fill: mms_atomic_add_i64 on the counter");
    if (f->arg->hang) {
        pu_child_send('F');
        pu_sleep_ms(PU_WAIT_MS);
        pu_child_fail("the hanging fill was not killed");
    }
    int64_t *p = mms_array_data(a);
    /* Half, then a pause, then the rest: waiters attaching early would see
     * a half-filled array. */
    for (uint64_t i = 0; i < GOC_ELEMENTS / 2; i++)
        p[i] = goc_value(i);
    pu_sleep_ms(f->arg->fill_ms);
    for (uint64_t i = GOC_ELEMENTS / 2; i < GOC_ELEMENTS; i++)
        p[i] = goc_value(i);
    return 0;
}

static void goc_child(void *argp)
{
    const goc_arg *arg = argp;
    mms_store *s = NULL;
    goc_fill f = {.arg = arg};
    uint64_t shape[1] = {GOC_ELEMENTS};
    pu_child_ok(mms_store_open(arg->path, 0, &s), "mms_store_open");
    pu_child_ok(mms_array_open(s, "calls", MMS_RDWR, &f.counter),
                "opening the counter");
    pu_child_send('R');
    pu_child_expect('G');
    mms_array *a = NULL;
    pu_child_ok(mms_array_get_or_create(s, "cache/shared", MMS_INT64, 1,
                                        shape, MMS_RDONLY, goc_fill_fn, &f,
                                        PU_WAIT_MS, &a),
                "mms_array_get_or_create");
    const int64_t *p = mms_array_data(a);
    for (uint64_t i = 0; i < GOC_ELEMENTS; i++)
        if (p[i] != goc_value(i))
            pu_child_fail("element %" PRIu64 " of the cached array is %"
                          PRId64 ", expected %" PRId64, i, p[i],
                          goc_value(i));
    mms_info info;
    pu_child_ok(mms_array_info(a, &info), "mms_array_info");
    if (info.generation != 1)
        pu_child_fail("the cached array has generation %" PRIu64
                      ", expected 1", info.generation);
    pu_child_ok(mms_array_close(a), "closing the cached array");
    pu_child_ok(mms_array_close(f.counter), "closing the counter");
    pu_child_ok(mms_store_close(s), "mms_store_close");
}

static mms_store *goc_store(const char **path)
{
    mms_store *s = tu_new_store(path);
    uint64_t one[1] = {1};
    mms_array *counter = NULL;
    TU_OK_FATAL(mms_array_create(s, "calls", MMS_INT64, 1, one, 0, &counter));
    TU_OK_FATAL(mms_array_close(counter));
    return s;
}

static int64_t goc_calls(mms_store *s)
{
    mms_array *counter = NULL;
    int64_t calls = -1;
    if (mms_array_open(s, "calls", MMS_RDONLY, &counter) == MMS_OK)
        calls = ((const int64_t *)mms_array_data(counter))[0];
    mms_array_close(counter);
    return calls;
}

static void check_cached_values(mms_store *s)
{
    mms_array *a = NULL;
    int rc = mms_array_open(s, "cache/shared", MMS_RDONLY, &a);
    TU_CHECKF(rc == MMS_OK, "opening the cached array afterwards: %s: %s",
              mms_strerror(rc), mms_errmsg());
    if (rc != MMS_OK)
        return;
    const int64_t *p = mms_array_data(a);
    uint64_t bad = 0;
    for (uint64_t i = 0; i < GOC_ELEMENTS; i++)
        bad += p[i] != goc_value(i);
    TU_CHECKF(bad == 0, "%" PRIu64 " elements of the cached array are wrong",
              bad);
    mms_info info;
    TU_OK(mms_array_info(a, &info));
    TU_CHECKF(info.generation == 1, "the cached array has generation %"
              PRIu64 ", expected 1: it was published more than once",
              info.generation);
    mms_array_close(a);
    TU_OK(mms_verify(s, "cache/shared", NULL, NULL));
}

static void get_or_create_in_8_processes_fills_exactly_once(void)
{
    const char *path;
    mms_store *s = goc_store(&path);
    goc_arg arg = {.path = path, .fill_ms = 100};
    pu_child kids[GOC_PROCS];
    bool ok = true;
    for (int i = 0; i < GOC_PROCS; i++)
        kids[i] = (pu_child)PU_CHILD_INIT;
    for (int i = 0; ok && i < GOC_PROCS; i++)
        ok = PU_START(&kids[i], "get-or-create child", goc_child, &arg);
    for (int i = 0; ok && i < GOC_PROCS; i++)
        ok = PU_WAIT_FOR(&kids[i], 'R', "ready to call get-or-create");
    for (int i = 0; ok && i < GOC_PROCS; i++)
        ok = PU_TELL(&kids[i], 'G');
    for (int i = 0; ok && i < GOC_PROCS; i++)
        ok = PU_FINISH(&kids[i]);
    for (int i = 0; i < GOC_PROCS; i++)
        pu_reap(&kids[i]);
    if (ok) {
        int64_t calls = goc_calls(s);
        TU_CHECKF(calls == 1, "the fill callback ran %" PRId64 " times in %d "
                  "processes, expected exactly once", calls, GOC_PROCS);
        check_cached_values(s);
    }
    TU_OK(mms_store_close(s));
}

static void get_or_create_passes_to_a_waiter_when_the_computer_dies(void)
{
    const char *path;
    mms_store *s = goc_store(&path);
    goc_arg hang = {.path = path, .hang = true};
    goc_arg normal = {.path = path, .fill_ms = 10};
    pu_child computer = PU_CHILD_INIT;
    pu_child waiters[3] = {PU_CHILD_INIT, PU_CHILD_INIT, PU_CHILD_INIT};
    bool ok = PU_START(&computer, "computing child", goc_child, &hang) &&
              PU_WAIT_FOR(&computer, 'R', "computer ready") &&
              PU_TELL(&computer, 'G') &&
              PU_WAIT_FOR(&computer, 'F', "computer inside its fill");
    for (int i = 0; ok && i < 3; i++)
        ok = PU_START(&waiters[i], "waiting child", goc_child, &normal) &&
             PU_WAIT_FOR(&waiters[i], 'R', "waiter ready") &&
             PU_TELL(&waiters[i], 'G');
    if (ok) {
        /* Give the waiters time to block on the computer's lock. */
        pu_sleep_ms(300);
        for (int i = 0; ok && i < 3; i++)
            ok = PU_CHECK(PU_POLL_FOR(&waiters[i], 'X', "nothing", 0) == 0,
                          "a waiter finished while the computer was still "
                          "filling");
        mms_info info;
        ok = ok && PU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "cache/shared",
                                                     &info));
        ok = ok && PU_CHECK(goc_calls(s) == 1, "the fill ran %" PRId64
                            " times before the kill, expected once",
                            goc_calls(s));
        /* This process times out waiting for the computer. */
        fill_ctx f = {.value = 0};
        mms_array *got = NULL;
        uint64_t shape[1] = {GOC_ELEMENTS};
        int64_t t0 = pu_now_ns();
        ok = ok && PU_RC(MMS_ERR_TIMEOUT,
                         mms_array_get_or_create(s, "cache/shared", MMS_INT64,
                                                 1, shape, MMS_RDONLY,
                                                 fill_value, &f, 200, &got));
        int64_t waited_ms = (pu_now_ns() - t0) / 1000000;
        ok = ok && PU_CHECK(got == NULL && f.calls == 0 && waited_ms >= 150 &&
                            waited_ms < 20000, "get-or-create with a 200 ms "
                            "timeout returned after %" PRId64 " ms with the "
                            "fill run %d times", waited_ms, f.calls);
        ok = ok && PU_KILL(&computer);
    }
    for (int i = 0; ok && i < 3; i++)
        ok = PU_FINISH(&waiters[i]);
    pu_reap(&computer);
    for (int i = 0; i < 3; i++)
        pu_reap(&waiters[i]);
    if (ok) {
        int64_t calls = goc_calls(s);
        TU_CHECKF(calls == 2, "the fill ran %" PRId64 " times, expected twice "
                  "(once killed, once completed by a waiter)", calls);
        check_cached_values(s);
    }
    TU_OK(mms_store_close(s));
}

/* ---- the suites ------------------------------------------------------------ */

/* MMS_NOREPLACE: a staged version that must not replace anything fails
 * to publish if the name appeared meanwhile, and stays staged; without a
 * competitor it publishes as usual. */
static void noreplace_publish_refuses_an_existing_name(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *st = NULL, *other = NULL, *st2 = NULL;
    uint64_t shape[1] = {8};
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "x", MMS_INT64, 1, shape,
                                          MMS_NOREPLACE, &st));
    TU_OK_FATAL(mms_array_create(s, "x", MMS_INT64, 1, shape,
                                 MMS_STAGED | MMS_NOREPLACE, &st));
    ((int64_t *)mms_array_data(st))[0] = 1;
    /* Someone else creates the name after we staged. */
    TU_OK_FATAL(mms_array_create(s, "x", MMS_INT64, 1, shape, 0, &other));
    ((int64_t *)mms_array_data(other))[0] = 2;
    TU_OK(mms_array_close(other));
    TU_RC(MMS_ERR_EXISTS, mms_array_publish(st));
    mms_info info;
    TU_OK(mms_array_info(st, &info));
    CU_ASSERT_EQUAL(info.state, MMS_STATE_STAGED);
    TU_OK(mms_array_close(st)); /* discarded */
    mms_array *r = NULL;
    TU_OK_FATAL(mms_array_open(s, "x", MMS_RDONLY, &r));
    CU_ASSERT_EQUAL(((int64_t *)mms_array_data(r))[0], 2);
    TU_OK(mms_array_close(r));
    TU_OK_FATAL(mms_array_create(s, "y", MMS_INT64, 1, shape,
                                 MMS_STAGED | MMS_NOREPLACE, &st2));
    TU_OK(mms_array_publish(st2));
    TU_OK(mms_array_close(st2));
    TU_OK(mms_stat(s, "y", &info));
    CU_ASSERT_EQUAL(info.generation, 1);
    TU_OK(mms_check(s, 0, NULL, NULL));
    TU_OK(mms_store_close(s));
}

/* ---- many versions as one (mms_array_publish_all) ------------------------ */

static mms_array *staged(mms_store *s, const char *name, unsigned flags,
                         int64_t value)
{
    uint64_t shape[2] = {4, 3};
    mms_array *a = NULL;
    TU_OK(mms_array_create(s, name, MMS_INT64, 2, shape, MMS_STAGED | flags,
                           &a));
    if (a)
        fill_i64(a, value);
    return a;
}

static int64_t first_value(mms_store *s, const char *name)
{
    mms_array *a = NULL;
    int64_t v = -12345;
    if (mms_array_open(s, name, MMS_RDONLY, &a) == MMS_OK) {
        v = ((const int64_t *)mms_array_data(a))[0];
        mms_array_close(a);
    }
    return v;
}

static void publish_all_publishes_every_version_at_once(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "b", 4, 3, 1);
    mms_array *v[3] = {staged(s, "a", 0, 10), staged(s, "b", 0, 20),
                       staged(s, "c", 0, 30)};
    CU_ASSERT_FATAL(v[0] && v[1] && v[2]);
    TU_OK(mms_array_publish_all(v, 3));
    CU_ASSERT_EQUAL(first_value(s, "a"), 10);
    CU_ASSERT_EQUAL(first_value(s, "b"), 20);
    CU_ASSERT_EQUAL(first_value(s, "c"), 30);
    mms_info info;
    TU_OK(mms_stat(s, "b", &info));
    CU_ASSERT_EQUAL(info.generation, 2); /* replaced b's first version */
    for (int i = 0; i < 3; i++) {
        TU_OK(mms_array_info(v[i], &info));
        CU_ASSERT_NOT_EQUAL(info.state, MMS_STATE_STAGED);
        TU_OK(mms_array_close(v[i]));
    }
    TU_OK(mms_verify(s, "b", NULL, NULL));
    TU_OK(mms_store_close(s));
}

/* One version that cannot be published (its name was taken, and it was
 * staged MMS_NOREPLACE) keeps every other one unpublished too. */
static void publish_all_publishes_none_when_one_fails(void)
{
    mms_store *s = tu_new_store(NULL);
    make_array(s, "taken", 4, 3, 5);
    mms_array *v[3] = {staged(s, "a", 0, 10),
                       staged(s, "taken", MMS_NOREPLACE, 20),
                       staged(s, "c", 0, 30)};
    CU_ASSERT_FATAL(v[0] && v[1] && v[2]);
    TU_RC(MMS_ERR_EXISTS, mms_array_publish_all(v, 3));
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "a", &info));
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "c", &info));
    CU_ASSERT_EQUAL(first_value(s, "taken"), 5);
    /* Still staged: the others can go on their own. */
    TU_OK(mms_array_info(v[0], &info));
    CU_ASSERT_EQUAL(info.state, MMS_STATE_STAGED);
    mms_array *two[2] = {v[0], v[2]};
    TU_OK(mms_array_publish_all(two, 2));
    CU_ASSERT_EQUAL(first_value(s, "a"), 10);
    for (int i = 0; i < 3; i++)
        mms_array_close(v[i]);
    TU_OK(mms_check(s, 0, NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void publish_all_refuses_a_bad_set_before_doing_anything(void)
{
    mms_store *s = tu_new_store(NULL), *s2 = tu_new_store(NULL);
    mms_array *a = staged(s, "a", 0, 1), *dup = staged(s, "a", 0, 2);
    mms_array *other = staged(s2, "o", 0, 3);
    mms_array *plain = NULL;
    uint64_t shape[2] = {4, 3};
    TU_OK(mms_array_create(s, "plain", MMS_INT64, 2, shape, 0, &plain));
    CU_ASSERT_FATAL(a && dup && other && plain);
    mms_array *same_name[2] = {a, dup}, *twice[2] = {a, a};
    mms_array *two_stores[2] = {a, other}, *not_staged[2] = {a, plain};
    mms_array *with_null[2] = {a, NULL};
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(same_name, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(twice, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(two_stores, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(not_staged, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(with_null, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(NULL, 0));
    TU_RC(MMS_ERR_INVAL, mms_array_publish_all(same_name, 0));
    mms_info info;
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "a", &info));
    mms_array_close(a);
    mms_array_close(dup);
    mms_array_close(plain);
    mms_array_close(other);
    TU_OK(mms_store_close(s));
    TU_OK(mms_store_close(s2));
}

static const tu_test staged_tests[] = {
    TU_TEST(noreplace_publish_refuses_an_existing_name),
    TU_TEST(staged_new_name_is_invisible_until_publish),
    TU_TEST(staged_over_existing_name_leaves_old_version_until_publish),
    TU_TEST(publish_carries_the_names_attributes_over),
    TU_TEST(each_publish_adds_one_to_the_generation),
    TU_TEST(two_staged_versions_of_one_name_publish_in_turn),
    TU_TEST(plain_create_of_a_name_with_a_pending_staged_version),
    TU_TEST(closing_an_unpublished_staged_version_discards_it),
    TU_TEST(publish_of_a_handle_that_is_not_staged_is_invalid),
    TU_TEST(refresh_of_a_staged_handle_is_invalid),
    TU_TEST(publish_all_publishes_every_version_at_once),
    TU_TEST(publish_all_publishes_none_when_one_fails),
    TU_TEST(publish_all_refuses_a_bad_set_before_doing_anything),
    TU_END,
};

static const tu_test stale_tests[] = {
    TU_TEST(reader_keeps_the_old_version_until_refresh),
    TU_TEST(sync_through_a_superseded_handle_is_stale),
    TU_TEST(sync_and_refresh_of_a_removed_array_are_stale),
    TU_TEST(refresh_maps_rows_another_handle_grew),
    TU_TEST(sync_after_a_resize_by_another_handle_syncs_and_refresh_shows_it),
    TU_TEST(staged_version_can_be_resized_before_publish),
    TU_TEST(refresh_moves_a_writable_handle_to_the_new_version),
    TU_END,
};

static const tu_test goc_tests[] = {
    TU_TEST(get_or_create_fills_once_then_opens),
    TU_TEST(get_or_create_returns_the_fill_error_and_leaves_nothing),
    TU_END,
};

static const tu_test multiproc_tests[] = {
    /* Slow: 4-5 s of 1,000 synced publishes racing a reader. */
    TU_SLOW_TEST(reader_never_sees_a_mixed_version_during_1000_publishes),
    TU_TEST(readers_never_fail_while_another_process_resizes),
    TU_TEST(readers_racing_removes_get_only_notfound_or_stale),
    TU_TEST(get_or_create_in_8_processes_fills_exactly_once),
    TU_TEST(get_or_create_passes_to_a_waiter_when_the_computer_dies),
    TU_END,
};

static const tu_suite suites[] = {
    {"staged", staged_tests},
    {"stale", stale_tests},
    {"get_or_create", goc_tests},
    {"processes", multiproc_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
