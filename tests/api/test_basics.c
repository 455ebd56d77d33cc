/* test_basics.c - result codes, messages, version and dtype helpers. */
#define _GNU_SOURCE
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- result codes ------------------------------------------------------ */

typedef struct code_entry {
    const char *name;
    int value;
    const char *message;
} code_entry;

#define CODE_ENTRY_(name, value, message) {#name, value, message},
static const code_entry codes[] = {MMS_ERROR_TABLE(CODE_ENTRY_)};
#undef CODE_ENTRY_
#define NCODES (sizeof codes / sizeof codes[0])

static void strerror_gives_the_table_message_for_every_code(void)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *m = mms_strerror(codes[i].value);
        char msg[256];
        snprintf(msg, sizeof msg, "mms_strerror(MMS_%s = %d) is \"%s\", "
                 "expected \"%s\"", codes[i].name, codes[i].value,
                 m ? m : "(null)", codes[i].message);
        CU_assertImplementation(m && strcmp(m, codes[i].message) == 0,
                                __LINE__, msg, __FILE__, "", CU_FALSE);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT(strlen(m) > 0);
    }
}

static void strerror_messages_are_distinct(void)
{
    for (size_t i = 0; i < NCODES; i++) {
        for (size_t j = i + 1; j < NCODES; j++) {
            char msg[256];
            snprintf(msg, sizeof msg, "MMS_%s and MMS_%s share the message "
                     "\"%s\"", codes[i].name, codes[j].name,
                     mms_strerror(codes[i].value));
            CU_assertImplementation(strcmp(mms_strerror(codes[i].value),
                                           mms_strerror(codes[j].value)) != 0,
                                    __LINE__, msg, __FILE__, "", CU_FALSE);
        }
    }
}

static void error_codes_are_zero_then_consecutive_negatives(void)
{
    /* OK is 0 and the errors are -1, -2, ... with no gap: callers may test
     * rc < 0, and the table must stay in that order. */
    for (size_t i = 0; i < NCODES; i++)
        CU_ASSERT_EQUAL(codes[i].value, -(int)i);
    CU_ASSERT_EQUAL(MMS_OK, 0);
    CU_ASSERT_EQUAL(MMS_ERR_UNSUPPORTED, -(int)(NCODES - 1));
}

static void strerror_of_unknown_code_is_unknown_error(void)
{
    const int unknown[] = {1, 2, 100, -(int)NCODES, -(int)NCODES - 1, -1000,
                           INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = mms_strerror(unknown[i]);
        char msg[128];
        snprintf(msg, sizeof msg, "mms_strerror(%d) is \"%s\", expected "
                 "\"unknown error\"", unknown[i], m ? m : "(null)");
        CU_assertImplementation(m && strcmp(m, "unknown error") == 0,
                                __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

/* ---- version ----------------------------------------------------------- */

static void version_matches_header(void)
{
    const char *v = mms_version();
    char expected[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(v, MMS_VERSION_STRING);
    snprintf(expected, sizeof expected, "%d.%d.%d", MMS_VERSION_MAJOR,
             MMS_VERSION_MINOR, MMS_VERSION_PATCH);
    CU_ASSERT_STRING_EQUAL(MMS_VERSION_STRING, expected);
    CU_ASSERT_PTR_EQUAL(mms_version(), v); /* static storage */
}

/* ---- mms_errmsg -------------------------------------------------------- */

static void *errmsg_in_new_thread(void *arg)
{
    const char *m = mms_errmsg();
    (void)arg;
    return (void *)(m && strcmp(m, "") == 0 ? "ok" : "bad");
}

static void errmsg_is_thread_local_and_names_the_path(void)
{
    char path[4096];
    mms_store *s = (mms_store *)1;
    pthread_t t;
    void *res = NULL;

    snprintf(path, sizeof path, "%s/no-store-here", tu_tmpdir());
    TU_RC(MMS_ERR_NOTFOUND, mms_store_open(path, 0, &s));
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mms_errmsg());
    if (!strstr(mms_errmsg(), path))
        CU_FAIL("mms_errmsg() after a failed open does not name the path");
    /* Another thread has made no call: its message is empty. */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, errmsg_in_new_thread,
                                         NULL), 0);
    pthread_join(t, &res);
    CU_ASSERT_STRING_EQUAL((const char *)res, "ok");
    /* ... and it did not disturb ours. */
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), path));
}

/* ---- dtypes ------------------------------------------------------------ */

typedef struct dtype_entry {
    mms_dtype dtype;
    size_t size;
    const char *name;
    const char *descr;
} dtype_entry;

static const dtype_entry dtypes[] = {
    {MMS_BOOL, 1, "bool", "|b1"},
    {MMS_INT8, 1, "int8", "|i1"},
    {MMS_INT16, 2, "int16", "<i2"},
    {MMS_INT32, 4, "int32", "<i4"},
    {MMS_INT64, 8, "int64", "<i8"},
    {MMS_UINT8, 1, "uint8", "|u1"},
    {MMS_UINT16, 2, "uint16", "<u2"},
    {MMS_UINT32, 4, "uint32", "<u4"},
    {MMS_UINT64, 8, "uint64", "<u8"},
    {MMS_FLOAT16, 2, "float16", "<f2"},
    {MMS_FLOAT32, 4, "float32", "<f4"},
    {MMS_FLOAT64, 8, "float64", "<f8"},
    {MMS_COMPLEX64, 8, "complex64", "<c8"},
    {MMS_COMPLEX128, 16, "complex128", "<c16"},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

static void dtype_codes_match_format_md(void)
{
    /* docs/format.md stores these numbers in catalog records. */
    for (size_t i = 0; i < NDTYPES; i++)
        CU_ASSERT_EQUAL((int)dtypes[i].dtype, (int)i + 1);
}

static void dtype_size_name_descr_of_every_dtype(void)
{
    for (size_t i = 0; i < NDTYPES; i++) {
        const dtype_entry *e = &dtypes[i];
        const char *name = mms_dtype_name(e->dtype);
        const char *descr = mms_dtype_descr(e->dtype);
        char msg[256];

        snprintf(msg, sizeof msg, "dtype %d: size %zu name %s descr %s, "
                 "expected %zu %s %s", (int)e->dtype,
                 mms_dtype_size(e->dtype), name ? name : "(null)",
                 descr ? descr : "(null)", e->size, e->name, e->descr);
        CU_assertImplementation(mms_dtype_size(e->dtype) == e->size &&
                                name && strcmp(name, e->name) == 0 &&
                                descr && strcmp(descr, e->descr) == 0,
                                __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

static void dtype_helpers_reject_values_that_are_not_dtypes(void)
{
    const int bad[] = {0, -1, (int)NDTYPES + 1, 99, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mms_dtype d = (mms_dtype)bad[i];
        char msg[128];
        snprintf(msg, sizeof msg, "dtype helpers accept the value %d",
                 bad[i]);
        CU_assertImplementation(mms_dtype_size(d) == 0 &&
                                mms_dtype_name(d) == NULL &&
                                mms_dtype_descr(d) == NULL,
                                __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

static void check_parse(const char *text, mms_dtype expected, int line)
{
    mms_dtype got = (mms_dtype)0;
    int rc = mms_dtype_parse(text, &got);
    char msg[256];

    snprintf(msg, sizeof msg, "mms_dtype_parse(\"%s\") gave rc %d (%s) "
             "dtype %d, expected MMS_OK dtype %d (%s)", text, rc,
             mms_strerror(rc), (int)got, (int)expected,
             mms_dtype_name(expected));
    CU_assertImplementation(rc == MMS_OK && got == expected, line, msg,
                            __FILE__, "", CU_FALSE);
}

static void dtype_parse_accepts_every_name_and_descr(void)
{
    for (size_t i = 0; i < NDTYPES; i++) {
        check_parse(dtypes[i].name, dtypes[i].dtype, __LINE__);
        check_parse(dtypes[i].descr, dtypes[i].dtype, __LINE__);
    }
}

static void dtype_parse_accepts_numpy_spellings(void)
{
    static const struct {
        const char *text;
        mms_dtype dtype;
    } spellings[] = {
        {"float64", MMS_FLOAT64}, {"f8", MMS_FLOAT64}, {"<f8", MMS_FLOAT64},
        {"=f8", MMS_FLOAT64},     {"double", MMS_FLOAT64},
        {"float32", MMS_FLOAT32}, {"f4", MMS_FLOAT32}, {"<f4", MMS_FLOAT32},
        {"float16", MMS_FLOAT16}, {"f2", MMS_FLOAT16}, {"half", MMS_FLOAT16},
        {"int8", MMS_INT8},       {"i1", MMS_INT8},    {"|i1", MMS_INT8},
        {"int16", MMS_INT16},     {"i2", MMS_INT16},   {"=i2", MMS_INT16},
        {"int32", MMS_INT32},     {"i4", MMS_INT32},   {"<i4", MMS_INT32},
        {"int64", MMS_INT64},     {"i8", MMS_INT64},   {"<i8", MMS_INT64},
        {"uint8", MMS_UINT8},     {"u1", MMS_UINT8},   {"|u1", MMS_UINT8},
        {"uint16", MMS_UINT16},   {"u2", MMS_UINT16},
        {"uint32", MMS_UINT32},   {"u4", MMS_UINT32},
        {"uint64", MMS_UINT64},   {"u8", MMS_UINT64},  {"<u8", MMS_UINT64},
        {"bool", MMS_BOOL},       {"?", MMS_BOOL},     {"|b1", MMS_BOOL},
        {"b1", MMS_BOOL},
        {"complex64", MMS_COMPLEX64},   {"c8", MMS_COMPLEX64},
        {"complex128", MMS_COMPLEX128}, {"c16", MMS_COMPLEX128},
        {"<c16", MMS_COMPLEX128},
    };
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++)
        check_parse(spellings[i].text, spellings[i].dtype, __LINE__);
}

static void dtype_parse_accepts_c_names(void)
{
    /* NumPy's meaning on 64-bit Linux, as the header promises:
     * np.dtype("float") is float64 and np.dtype("int") is int64. */
    check_parse("double", MMS_FLOAT64, __LINE__);
    check_parse("float", MMS_FLOAT64, __LINE__);
    check_parse("single", MMS_FLOAT32, __LINE__);
    check_parse("half", MMS_FLOAT16, __LINE__);
    check_parse("int", MMS_INT64, __LINE__);
    check_parse("intc", MMS_INT32, __LINE__);
    check_parse("uint", MMS_UINT64, __LINE__);
    check_parse("uint8", MMS_UINT8, __LINE__);
}

static void dtype_parse_rejects_unsupported_spellings(void)
{
    static const char *const bad[] = {
        ">f8", ">i4", ">c16", ">u2", /* big-endian: not stored */
        "object", "O", "S10", "U5", "V8", "M8[ns]", "float128", "f16",
        "", "f8x", "f3", "i3", "u16", "f8 x", "Float64", "<<f8", "<", "|",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mms_dtype got = (mms_dtype)0;
        int rc = mms_dtype_parse(bad[i], &got);
        char msg[160];
        snprintf(msg, sizeof msg, "mms_dtype_parse(\"%s\") returned %d (%s) "
                 "dtype %d, expected MMS_ERR_DTYPE", bad[i], rc,
                 mms_strerror(rc), (int)got);
        CU_assertImplementation(rc == MMS_ERR_DTYPE, __LINE__, msg, __FILE__,
                                "", CU_FALSE);
    }
}

static void dtype_parse_rejects_null_arguments(void)
{
    mms_dtype got;
    int rc = mms_dtype_parse(NULL, &got);

    /* NULL text is not a dtype spelling; either code is a clean refusal. */
    CU_ASSERT(rc == MMS_ERR_INVAL || rc == MMS_ERR_DTYPE);
    TU_RC(MMS_ERR_INVAL, mms_dtype_parse("f8", NULL));
}

static const tu_test result_tests[] = {
    TU_TEST(strerror_gives_the_table_message_for_every_code),
    TU_TEST(strerror_messages_are_distinct),
    TU_TEST(error_codes_are_zero_then_consecutive_negatives),
    TU_TEST(strerror_of_unknown_code_is_unknown_error),
    TU_TEST(errmsg_is_thread_local_and_names_the_path),
    TU_TEST(version_matches_header),
    TU_END,
};

static const tu_test dtype_tests[] = {
    TU_TEST(dtype_codes_match_format_md),
    TU_TEST(dtype_size_name_descr_of_every_dtype),
    TU_TEST(dtype_helpers_reject_values_that_are_not_dtypes),
    TU_TEST(dtype_parse_accepts_every_name_and_descr),
    TU_TEST(dtype_parse_accepts_numpy_spellings),
    TU_TEST(dtype_parse_accepts_c_names),
    TU_TEST(dtype_parse_rejects_unsupported_spellings),
    TU_TEST(dtype_parse_rejects_null_arguments),
    TU_END,
};

static const tu_suite suites[] = {
    {"results", result_tests},
    {"dtypes", dtype_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
