/* test_attr.c - attributes: small named values attached to an array. */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

/* A new store holding the arrays "a" and "b". */
static mms_store *new_store(const char **path_out)
{
    mms_store *s = tu_new_store(path_out);
    uint64_t shape[1] = {4};

    for (int i = 0; i < 2; i++) {
        mms_array *a = NULL;
        TU_OK_FATAL(mms_array_create(s, i ? "b" : "a", MMS_INT32, 1, shape,
                                     0, &a));
        TU_OK(mms_array_close(a));
    }
    return s;
}

/* Asserts that key of name holds exactly len bytes of value. */
static void expect_value_at(int line, mms_store *s, const char *name,
                            const char *key, const void *value, size_t len)
{
    size_t got = (size_t)-1, cap = len + 16;
    unsigned char *buf = malloc(cap);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    rc = mms_attr_get(s, name, key, buf, cap, &got);
    {
        char msg[512];
        snprintf(msg, sizeof msg, "attr '%s' of '%s': rc %d (%s: %s), %zu "
                 "bytes; expected %zu bytes", key, name, rc, mms_strerror(rc),
                 mms_errmsg(), got, len);
        CU_assertImplementation(rc == MMS_OK && got == len &&
                                memcmp(buf, value, len) == 0,
                                line, msg, __FILE__, "", CU_FALSE);
    }
    free(buf);
}
#define expect_value(s, name, key, value, len)                               \
    expect_value_at(__LINE__, s, name, key, value, len)

typedef struct attr_listing {
    int n;
    char keys[8][64];
    size_t lens[8];
    char values[8][64];
    int stop_at, stop_value;
} attr_listing;

static int collect(const char *key, const void *value, size_t len, void *ctx)
{
    attr_listing *l = ctx;
    if (l->n < 8) {
        snprintf(l->keys[l->n], sizeof l->keys[0], "%s", key);
        l->lens[l->n] = len;
        memcpy(l->values[l->n], value, len < 64 ? len : 64);
    }
    l->n++;
    return l->n == l->stop_at ? l->stop_value : 0;
}

static size_t attr_records(const char *path, uint64_t id)
{
    unsigned char prefix[8];
    size_t n = (size_t)-1;
    su_put_be64(prefix, id);
    CU_ASSERT_EQUAL(su_cat_count(path, "attrs", prefix, sizeof prefix, &n),
                    0);
    return n;
}

/* ---- set and get ------------------------------------------------------- */

static void set_then_get_round_trips(void)
{
    mms_store *s = new_store(NULL);
    const unsigned char bin[] = {0, 1, 2, 0, 255, 0};

    TU_OK(mms_attr_set(s, "a", "units", "m/s", 3));
    TU_OK(mms_attr_set(s, "a", "binary", bin, sizeof bin));
    TU_OK(mms_attr_set(s, "a", "caf\xc3\xa9/key", "x", 1));
    expect_value(s, "a", "units", "m/s", 3);
    expect_value(s, "a", "binary", bin, sizeof bin);
    expect_value(s, "a", "caf\xc3\xa9/key", "x", 1);
    TU_OK(mms_store_close(s));
}

static void set_replaces_the_value(void)
{
    mms_store *s = new_store(NULL);

    TU_OK(mms_attr_set(s, "a", "k", "short", 5));
    TU_OK(mms_attr_set(s, "a", "k", "a much longer value", 19));
    expect_value(s, "a", "k", "a much longer value", 19);
    TU_OK(mms_attr_set(s, "a", "k", "z", 1));
    expect_value(s, "a", "k", "z", 1);
    TU_OK(mms_store_close(s));
}

static void zero_length_value_is_kept(void)
{
    mms_store *s = new_store(NULL);
    size_t len = 99;
    char buf[4];

    TU_OK(mms_attr_set(s, "a", "flag", "", 0));
    TU_OK(mms_attr_get(s, "a", "flag", buf, sizeof buf, &len));
    CU_ASSERT_EQUAL(len, 0);
    len = 99;
    TU_OK(mms_attr_get(s, "a", "flag", NULL, 0, &len));
    CU_ASSERT_EQUAL(len, 0);
    TU_OK(mms_store_close(s));
}

static void max_size_value_is_ok_and_one_more_is_toobig(void)
{
    mms_store *s = new_store(NULL);
    unsigned char *big = malloc(MMS_ATTR_VALUE_MAX + 1);

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (size_t i = 0; i <= MMS_ATTR_VALUE_MAX; i++)
        big[i] = (unsigned char)(i * 7 + 1);
    TU_OK(mms_attr_set(s, "a", "big", big, MMS_ATTR_VALUE_MAX));
    expect_value(s, "a", "big", big, MMS_ATTR_VALUE_MAX);

    TU_RC(MMS_ERR_TOOBIG, mms_attr_set(s, "a", "big", big + 1,
                                       MMS_ATTR_VALUE_MAX + 1));
    TU_RC(MMS_ERR_TOOBIG, mms_attr_set(s, "a", "other", big,
                                       MMS_ATTR_VALUE_MAX + 1));
    TU_RC(MMS_ERR_TOOBIG, mms_attr_set(s, "a", "huge", big, SIZE_MAX));
    /* The refused sets changed nothing. */
    expect_value(s, "a", "big", big, MMS_ATTR_VALUE_MAX);
    {
        size_t len;
        TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "a", "other", NULL, 0, &len));
    }
    free(big);
    TU_OK(mms_store_close(s));
}

static void get_with_small_buffer_is_range_with_len(void)
{
    mms_store *s = new_store(NULL);
    char buf[8];
    size_t len = 0;

    TU_OK(mms_attr_set(s, "a", "k", "0123456789", 10));
    memset(buf, '#', sizeof buf);
    TU_RC(MMS_ERR_RANGE, mms_attr_get(s, "a", "k", buf, sizeof buf, &len));
    CU_ASSERT_EQUAL(len, 10);
    for (size_t i = 0; i < sizeof buf; i++)
        TU_CHECKF(buf[i] == '#', "a too-small buffer was written at %zu", i);
    len = 0;
    TU_RC(MMS_ERR_RANGE, mms_attr_get(s, "a", "k", buf, 9, &len));
    CU_ASSERT_EQUAL(len, 10);

    /* Retrying with the size given works; an exact fit is enough. */
    {
        char exact[10];
        TU_OK(mms_attr_get(s, "a", "k", exact, len, &len));
        CU_ASSERT_EQUAL(len, 10);
        CU_ASSERT(memcmp(exact, "0123456789", 10) == 0);
    }
    TU_OK(mms_store_close(s));
}

static void get_with_null_buffer_gives_the_length(void)
{
    mms_store *s = new_store(NULL);
    size_t len = 0;
    int rc;

    TU_OK(mms_attr_set(s, "a", "k", "0123456789", 10));
    rc = mms_attr_get(s, "a", "k", NULL, 0, &len);
    /* The header allows this query; a zero-size buffer is also "too
     * small", so either answer is right as long as *len is. */
    TU_CHECKF(rc == MMS_OK || rc == MMS_ERR_RANGE, "length query returned %d "
              "(%s)", rc, mms_strerror(rc));
    CU_ASSERT_EQUAL(len, 10);
    TU_RC(MMS_ERR_INVAL, mms_attr_get(s, "a", "k", NULL, 0, NULL));
    TU_OK(mms_store_close(s));
}

/* ---- errors ------------------------------------------------------------ */

static void missing_key_is_notfound(void)
{
    mms_store *s = new_store(NULL);
    char buf[8];
    size_t len;

    TU_OK(mms_attr_set(s, "a", "there", "1", 1));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "a", "absent", buf, sizeof buf,
                                         &len));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_remove(s, "a", "absent"));
    /* The key exists on "a", not on "b". */
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "b", "there", buf, sizeof buf,
                                         &len));
    TU_OK(mms_store_close(s));
}

static void missing_array_is_notfound(void)
{
    mms_store *s = new_store(NULL);
    char buf[8];
    size_t len;
    attr_listing l = {0};

    TU_RC(MMS_ERR_NOTFOUND, mms_attr_set(s, "nope", "k", "v", 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "nope"));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "nope", "k", buf, sizeof buf,
                                         &len));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_remove(s, "nope", "k"));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_list(s, "nope", collect, &l));
    CU_ASSERT_EQUAL(l.n, 0);
    TU_OK(mms_store_close(s));
}

static void invalid_key_is_inval(void)
{
    mms_store *s = new_store(NULL);
    char toolong[MMS_NAME_MAX + 2], longest[MMS_NAME_MAX + 1];
    const char *bad[] = {"", toolong, "ctl\x01", "nl\n", "del\x7f", "/lead",
                         "\xff", "ab\xc3"};
    char buf[8];
    size_t len;
    attr_listing l = {0};

    memset(toolong, 'k', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    memset(longest, 'k', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mms_attr_set(s, "a", bad[i], "v", 1);
        TU_CHECKF(rc == MMS_ERR_INVAL, "attr_set with bad key #%zu returned "
                  "%d (%s), expected MMS_ERR_INVAL", i, rc, mms_strerror(rc));
        rc = mms_attr_get(s, "a", bad[i], buf, sizeof buf, &len);
        TU_CHECKF(rc == MMS_ERR_INVAL || rc == MMS_ERR_NOTFOUND, "attr_get "
                  "with bad key #%zu returned %d (%s)", i, rc,
                  mms_strerror(rc));
    }
    TU_RC(MMS_ERR_INVAL, mms_attr_set(s, "a", "k", NULL, 1));
    TU_RC(MMS_ERR_INVAL, mms_attr_set(NULL, "a", "k", "v", 1));
    TU_RC(MMS_ERR_INVAL, mms_attr_list(s, "a", NULL, NULL));

    /* Nothing was stored; the longest valid key is fine. */
    TU_OK(mms_attr_list(s, "a", collect, &l));
    CU_ASSERT_EQUAL(l.n, 0);
    TU_OK(mms_attr_set(s, "a", longest, "v", 1));
    expect_value(s, "a", longest, "v", 1);
    TU_OK(mms_store_close(s));
}

static int set_null_key(mms_store *s)
{
    return mms_attr_set(s, "a", NULL, "v", 1);
}

static int get_null_key(mms_store *s)
{
    char buf[8];
    size_t len;
    return mms_attr_get(s, "a", NULL, buf, sizeof buf, &len);
}

static int remove_null_key(mms_store *s)
{
    return mms_attr_remove(s, "a", NULL);
}

/* Runs call on a fresh handle of the store at path in a child process, so
 * that a crash fails this test instead of ending the program. Returns the
 * call's result, or INT_MIN (and the signal in *signo) if the child died. */
static int call_in_child(const char *path, int (*call)(mms_store *),
                         int *signo)
{
    int status = 0;
    pid_t pid = fork();

    *signo = 0;
    if (pid < 0)
        return INT_MIN;
    if (pid == 0) {
        mms_store *s = NULL;
        if (mms_store_open(path, 0, &s) != MMS_OK)
            _exit(1);
        _exit(128 + call(s)); /* results are 0 .. -19 */
    }
    if (waitpid(pid, &status, 0) != pid)
        return INT_MIN;
    if (WIFSIGNALED(status)) {
        *signo = WTERMSIG(status);
        return INT_MIN;
    }
    return WEXITSTATUS(status) - 128;
}

static void null_key_is_inval(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    static const struct {
        const char *what;
        int (*call)(mms_store *);
    } calls[] = {
        {"mms_attr_set", set_null_key},
        {"mms_attr_get", get_null_key},
        {"mms_attr_remove", remove_null_key},
    };

    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int signo, rc = call_in_child(path, calls[i].call, &signo);
        if (signo)
            TU_CHECKF(0, "%s with a NULL key killed the process with signal "
                      "%d", calls[i].what, signo);
        else
            TU_CHECKF(rc == MMS_ERR_INVAL, "%s with a NULL key returned %d "
                      "(%s), expected MMS_ERR_INVAL", calls[i].what, rc,
                      mms_strerror(rc));
    }
    TU_OK(mms_store_close(s));
}

/* ---- remove and list --------------------------------------------------- */

static void remove_deletes_only_that_key(void)
{
    mms_store *s = new_store(NULL);
    char buf[8];
    size_t len;

    TU_OK(mms_attr_set(s, "a", "x", "1", 1));
    TU_OK(mms_attr_set(s, "a", "y", "2", 1));
    TU_OK(mms_attr_remove(s, "a", "x"));
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "a", "x", buf, sizeof buf, &len));
    expect_value(s, "a", "y", "2", 1);
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_remove(s, "a", "x"));
    TU_OK(mms_store_close(s));
}

static void list_gives_keys_in_order_with_values(void)
{
    mms_store *s = new_store(NULL);
    attr_listing l = {0};

    TU_OK(mms_attr_set(s, "a", "zeta", "last", 4));
    TU_OK(mms_attr_set(s, "a", "alpha", "first", 5));
    TU_OK(mms_attr_set(s, "a", "Mid", "", 0));
    TU_OK(mms_attr_set(s, "a", "alpha2", "second", 6));
    TU_OK(mms_attr_set(s, "b", "other", "array", 5));
    TU_OK(mms_attr_list(s, "a", collect, &l));
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_STRING_EQUAL(l.keys[0], "Mid"); /* bytewise: 'M' < 'a' */
    CU_ASSERT_EQUAL(l.lens[0], 0);
    CU_ASSERT_STRING_EQUAL(l.keys[1], "alpha");
    CU_ASSERT(l.lens[1] == 5 && memcmp(l.values[1], "first", 5) == 0);
    CU_ASSERT_STRING_EQUAL(l.keys[2], "alpha2");
    CU_ASSERT(l.lens[2] == 6 && memcmp(l.values[2], "second", 6) == 0);
    CU_ASSERT_STRING_EQUAL(l.keys[3], "zeta");
    CU_ASSERT(l.lens[3] == 4 && memcmp(l.values[3], "last", 4) == 0);
    TU_OK(mms_store_close(s));
}

static void list_stops_with_the_callback_value(void)
{
    mms_store *s = new_store(NULL);
    attr_listing l = {.stop_at = 2, .stop_value = 17};

    TU_OK(mms_attr_set(s, "a", "k1", "1", 1));
    TU_OK(mms_attr_set(s, "a", "k2", "2", 1));
    TU_OK(mms_attr_set(s, "a", "k3", "3", 1));
    TU_RC(17, mms_attr_list(s, "a", collect, &l));
    CU_ASSERT_EQUAL(l.n, 2);
    memset(&l, 0, sizeof l);
    TU_OK(mms_attr_list(s, "b", collect, &l)); /* none */
    CU_ASSERT_EQUAL(l.n, 0);
    TU_OK(mms_store_close(s));
}

/* ---- lifetime ---------------------------------------------------------- */

static void attributes_survive_rename_and_reopen(void)
{
    const char *path;
    mms_store *s = new_store(&path);

    TU_OK(mms_attr_set(s, "a", "units", "kg", 2));
    TU_OK(mms_rename(s, "a", "renamed"));
    expect_value(s, "renamed", "units", "kg", 2);
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    expect_value(s, "renamed", "units", "kg", 2);
    TU_OK(mms_store_close(s));
}

static void attributes_disappear_with_remove(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    uint64_t shape[1] = {4};
    mms_array *a = NULL;
    mms_info old;
    attr_listing l = {0};
    char buf[8];
    size_t len;

    TU_OK(mms_attr_set(s, "a", "k1", "1", 1));
    TU_OK(mms_attr_set(s, "a", "k2", "2", 1));
    TU_OK(mms_stat(s, "a", &old));
    TU_OK(mms_remove(s, "a"));
    TU_OK_FATAL(mms_array_create(s, "a", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_attr_list(s, "a", collect, &l));
    CU_ASSERT_EQUAL(l.n, 0);
    TU_RC(MMS_ERR_NOTFOUND, mms_attr_get(s, "a", "k1", buf, sizeof buf,
                                         &len));
    TU_OK(mms_store_close(s));
    /* Gone from the catalog, not just hidden. */
    CU_ASSERT_EQUAL(attr_records(path, old.id), 0);
}

static void attributes_are_per_array(void)
{
    mms_store *s = new_store(NULL);

    TU_OK(mms_attr_set(s, "a", "k", "for a", 5));
    TU_OK(mms_attr_set(s, "b", "k", "for b!", 6));
    expect_value(s, "a", "k", "for a", 5);
    expect_value(s, "b", "k", "for b!", 6);
    TU_OK(mms_attr_remove(s, "a", "k"));
    expect_value(s, "b", "k", "for b!", 6);
    TU_OK(mms_store_close(s));
}

static void rdonly_store_refuses_set_and_remove(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    attr_listing l = {0};

    TU_OK(mms_attr_set(s, "a", "k", "v", 1));
    TU_OK(mms_store_close(s));
    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    TU_RC(MMS_ERR_RDONLY, mms_attr_set(s, "a", "k", "w", 1));
    TU_RC(MMS_ERR_RDONLY, mms_attr_set(s, "a", "new", "w", 1));
    TU_RC(MMS_ERR_RDONLY, mms_attr_remove(s, "a", "k"));
    expect_value(s, "a", "k", "v", 1);
    TU_OK(mms_attr_list(s, "a", collect, &l));
    CU_ASSERT_EQUAL(l.n, 1);
    TU_OK(mms_store_close(s));
}

/* ---- on disk ----------------------------------------------------------- */

static void attribute_records_match_format_md(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    mms_info info;
    unsigned char key[8 + 5];
    void *v = NULL;
    size_t len = 0;

    TU_OK(mms_attr_set(s, "b", "units", "m/s^2", 5));
    TU_OK(mms_stat(s, "b", &info));
    TU_OK(mms_store_close(s));

    su_put_be64(key, info.id);
    memcpy(key + 8, "units", 5);
    CU_ASSERT_EQUAL_FATAL(su_cat_get(path, "attrs", key, sizeof key, &v,
                                     &len), 0);
    CU_ASSERT(len == 5 && memcmp(v, "m/s^2", 5) == 0);
    free(v);
    CU_ASSERT_EQUAL(attr_records(path, info.id), 1);
}

static void many_large_attributes_grow_the_catalog(void)
{
    /* 320 values of 64 KiB: 20 MiB, more than LMDB's default map. */
    const char *path;
    mms_store *s = new_store(&path);
    unsigned char *big = malloc(MMS_ATTR_VALUE_MAX);
    const int n = 320;

    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (int i = 0; i < n; i++) {
        char key[32];
        memset(big, i & 0xff, MMS_ATTR_VALUE_MAX);
        snprintf(key, sizeof key, "blob%04d", i);
        int rc = mms_attr_set(s, i % 2 ? "a" : "b", key, big,
                              MMS_ATTR_VALUE_MAX);
        if (rc != MMS_OK) {
            TU_OK(rc);
            break;
        }
    }
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    for (int i = 0; i < n; i += 37) {
        char key[32];
        memset(big, i & 0xff, MMS_ATTR_VALUE_MAX);
        snprintf(key, sizeof key, "blob%04d", i);
        expect_value(s, i % 2 ? "a" : "b", key, big, MMS_ATTR_VALUE_MAX);
    }
    TU_OK(mms_store_close(s));
    free(big);
}

/* ---- suites ------------------------------------------------------------ */

static const tu_test value_tests[] = {
    TU_TEST(set_then_get_round_trips),
    TU_TEST(set_replaces_the_value),
    TU_TEST(zero_length_value_is_kept),
    TU_TEST(max_size_value_is_ok_and_one_more_is_toobig),
    TU_TEST(get_with_small_buffer_is_range_with_len),
    TU_TEST(get_with_null_buffer_gives_the_length),
    TU_END,
};

static const tu_test error_tests[] = {
    TU_TEST(missing_key_is_notfound),
    TU_TEST(missing_array_is_notfound),
    TU_TEST(invalid_key_is_inval),
    TU_TEST(null_key_is_inval),
    TU_END,
};

static const tu_test list_tests[] = {
    TU_TEST(remove_deletes_only_that_key),
    TU_TEST(list_gives_keys_in_order_with_values),
    TU_TEST(list_stops_with_the_callback_value),
    TU_END,
};

static const tu_test lifetime_tests[] = {
    TU_TEST(attributes_survive_rename_and_reopen),
    TU_TEST(attributes_disappear_with_remove),
    TU_TEST(attributes_are_per_array),
    TU_TEST(rdonly_store_refuses_set_and_remove),
    TU_END,
};

static const tu_test disk_tests[] = {
    TU_TEST(attribute_records_match_format_md),
    TU_TEST(many_large_attributes_grow_the_catalog),
    TU_END,
};

static const tu_suite suites[] = {
    {"values", value_tests},
    {"errors", error_tests},
    {"remove_and_list", list_tests},
    {"lifetime", lifetime_tests},
    {"on_disk", disk_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
