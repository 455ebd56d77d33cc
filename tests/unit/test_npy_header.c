/* test_npy_header.c - the .npy header reader and writer of the mmstore
 * tool (tools/formats/npy.c): the dicts NumPy writes are read exactly,
 * everything else is refused with a reason (the corpus in tests/corpus/
 * included), and the header written is byte for byte np.save's. */
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "testutil.h"
#include "unitutil.h"

/* Parses dict text as a header of format version major; returns the
 * parser's result, the reason in why. */
static int parse(const char *text, int major, cli_npy *h, char *why,
                 size_t whylen)
{
    why[0] = '\0';
    return cli_npy_parse_dict(text, strlen(text), major, h, why, whylen);
}

/* Asserts that text is refused and that the reason contains want. */
#define REJECT(text, major, want)                                            \
    do {                                                                     \
        cli_npy h_;                                                          \
        char why_[256];                                                      \
        int rc_ = parse((text), (major), &h_, why_, sizeof why_);            \
        TU_CHECKF(rc_ == CLI_FAIL, "%s was accepted", (text));               \
        TU_CHECKF(strstr(why_, (want)) != NULL,                              \
                  "%s: reason '%s' does not say '%s'", (text), why_,         \
                  (want));                                                   \
    } while (0)

/* ---- what NumPy writes -------------------------------------------------- */

static void test_reads_the_dict_np_save_writes(void)
{
    cli_npy h;
    char why[256];
    int rc = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4)"
                   ", }                    \n", 1, &h, why, sizeof why);
    TU_CHECKF(rc == CLI_OK, "refused: %s", why);
    CU_ASSERT_EQUAL(h.dtype, MMS_FLOAT64);
    CU_ASSERT_EQUAL(h.ndim, 2);
    CU_ASSERT_EQUAL(h.shape[0], 3);
    CU_ASSERT_EQUAL(h.shape[1], 4);
    CU_ASSERT_EQUAL(h.nbytes, 96);
    CU_ASSERT_EQUAL(h.swap, 0);
    CU_ASSERT_FALSE(h.fortran);
}

static void test_reads_what_a_hand_made_file_may_vary(void)
{
    static const char *const ok[] = {
        /* key order, double quotes, no trailing comma, no spaces */
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}",
        "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'descr':'<i4','fortran_order':False,'shape':(2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2, ), }",
        /* Python 2's long suffix, in version 1.0 files */
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cli_npy h;
        char why[256];
        int rc = parse(ok[i], 1, &h, why, sizeof why);
        TU_CHECKF(rc == CLI_OK, "%s refused: %s", ok[i], why);
        TU_CHECKF(rc != CLI_OK || (h.dtype == MMS_INT32 && h.ndim == 1 &&
                                   h.shape[0] == 2 && h.nbytes == 8),
                  "%s: read as dtype %d ndim %d", ok[i], (int)h.dtype,
                  h.ndim);
    }
}

static void test_byte_order_sets_the_swap_unit(void)
{
    static const struct {
        const char *descr;
        mms_dtype dtype;
        size_t swap;
    } cases[] = {
        {"<f8", MMS_FLOAT64, 0},   {">f8", MMS_FLOAT64, 8},
        {">i2", MMS_INT16, 2},     {"|u1", MMS_UINT8, 0},
        {">u1", MMS_UINT8, 0},     {"|b1", MMS_BOOL, 0},
        {">c16", MMS_COMPLEX128, 8}, {">c8", MMS_COMPLEX64, 4},
        {"=f4", MMS_FLOAT32, 0},   {"<f2", MMS_FLOAT16, 0},
        {"u8", MMS_UINT64, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128], why[256];
        cli_npy h;
        snprintf(text, sizeof text, "{'descr': '%s', 'fortran_order': "
                 "False, 'shape': (1,), }", cases[i].descr);
        int rc = parse(text, 1, &h, why, sizeof why);
        TU_CHECKF(rc == CLI_OK, "%s refused: %s", cases[i].descr, why);
        TU_CHECKF(h.dtype == cases[i].dtype && h.swap == cases[i].swap,
                  "%s: dtype %d swap %zu, expected %d and %zu",
                  cases[i].descr, (int)h.dtype, h.swap,
                  (int)cases[i].dtype, cases[i].swap);
    }
}

static void test_zero_d_and_empty_shapes(void)
{
    cli_npy h;
    char why[256];
    CU_ASSERT_EQUAL(parse("{'descr': '<c16', 'fortran_order': False, "
                          "'shape': (), }", 3, &h, why, sizeof why), CLI_OK);
    CU_ASSERT_EQUAL(h.ndim, 0);
    TU_CHECKF(h.nbytes == 16, "0-d complex128 is %llu bytes, not 16",
              (unsigned long long)h.nbytes);
    CU_ASSERT_EQUAL(parse("{'descr': '<f8', 'fortran_order': True, "
                          "'shape': (0, 5), }", 2, &h, why, sizeof why),
                    CLI_OK);
    CU_ASSERT_EQUAL(h.nbytes, 0);
    CU_ASSERT_TRUE(h.fortran);
}

/* ---- what it refuses ---------------------------------------------------- */

static void test_refuses_malformed_dicts(void)
{
    REJECT("[1, 2, 3]", 1, "expected '{'");
    REJECT("{'descr': '<f8', 'fortran_order': False, }", 1,
           "has no 'shape'");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), "
           "'extra': 1, }", 1, "unexpected key 'extra'");
    REJECT("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
           "'shape': (4,), }", 1, "appears twice");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4,)", 1,
           "expected ',' or '}'");
    /* the string runs on to the next quote */
    REJECT("{'descr': '<f8, 'fortran_order': False, 'shape': (4,), }", 1,
           "descr '<f8, ' is not a NumPy dtype");
    REJECT("{'descr': '<f8' 'fortran_order': False, 'shape': (4,), }", 1,
           "expected ',' or '}' after an entry");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), } x", 1,
           "after the header dict");
    REJECT("{'descr': '<f8', 'fortran_order': 0, 'shape': (4,), }", 1,
           "expected True or False");
    REJECT("{'descr': '<f8', 'fortran_order': Falsey, 'shape': (4,), }", 1,
           "expected True or False");
    REJECT("{'descr': '<\\f8', 'fortran_order': False, 'shape': (4,), }", 1,
           "escape sequence");
    REJECT("{'descr': '<f8", 1, "unterminated string");
    REJECT("", 1, "the end of the header");
}

static void test_refuses_shapes_numpy_would_not_write(void)
{
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': [4], }", 1,
           "shape is a list");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4), }", 1,
           "trailing comma");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (-4,), }", 1,
           "negative");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4.0,), }", 1,
           "expected ',' or ')' after axis 0");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (04,), }", 1,
           "leading zero");
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': 4, }", 1,
           "expected '('");
    /* 'L' is Python 2's, and version 3.0 came with Python 3 */
    REJECT("{'descr': '<f8', 'fortran_order': False, 'shape': (4L,), }", 3,
           "expected ',' or ')'");
    char text[512];
    int n = snprintf(text, sizeof text, "{'descr': '<f8', 'fortran_order': "
                     "False, 'shape': (");
    for (int i = 0; i <= MMS_MAX_NDIM; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "1, ");
    snprintf(text + n, sizeof text - (size_t)n, "), }");
    REJECT(text, 1, "more than");
}

static void test_refuses_sizes_that_overflow(void)
{
    REJECT("{'descr': '<f8', 'fortran_order': False, "
           "'shape': (99999999999999999999999,), }", 1,
           "axis 0 does not fit in 64 bits");
    REJECT("{'descr': '<f8', 'fortran_order': False, "
           "'shape': (4294967296, 4294967296), }", 1, "overflows 64 bits");
    /* the elements fit in 64 bits, their bytes do not */
    REJECT("{'descr': '<f8', 'fortran_order': False, "
           "'shape': (2305843009213693952,), }", 1, "overflows 64 bits");
    /* an empty axis does not make the others' product acceptable */
    REJECT("{'descr': '<u1', 'fortran_order': False, "
           "'shape': (0, 4294967296, 4294967296), }", 1,
           "overflows 64 bits");
    cli_npy h;
    char why[256];
    CU_ASSERT_EQUAL(parse("{'descr': '<u1', 'fortran_order': False, "
                          "'shape': (18446744073709551615,), }", 1, &h, why,
                          sizeof why), CLI_OK);
    CU_ASSERT_EQUAL(h.nbytes, UINT64_MAX);
}

static void test_refuses_dtypes_mmstore_does_not_hold(void)
{
    static const struct {
        const char *descr, *want;
    } cases[] = {
        {"|O", "Python objects"},  {"<U2", "Unicode strings"},
        {"|S2", "byte strings"},   {"<M8[ns]", "datetimes"},
        {"<m8", "timedeltas"},     {"<f16", "long double"},
        {"<c32", "complex long double"}, {"<x4", "not a NumPy dtype"},
        {"<i3", "not a NumPy dtype"},    {"<f", "not a NumPy dtype"},
        {"", "not a NumPy dtype"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{'descr': '%s', 'fortran_order': "
                 "False, 'shape': (1,), }", cases[i].descr);
        REJECT(text, 1, cases[i].want);
    }
    REJECT("{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, "
           "'shape': (3,), }", 1, "structured dtypes");
}

/* ---- the whole header, from a source ------------------------------------ */

static int read_header_of(const void *bytes, size_t len, size_t chunk,
                          cli_npy *h)
{
    ut_mem_src m;
    return cli_npy_read_header(ut_mem_src_init(&m, bytes, len, chunk,
                                               "mem.npy"), h);
}

static void test_writes_exactly_what_np_save_writes(void)
{
    char buf[4096];
    uint64_t shape[2] = {3, 4};
    size_t n = cli_npy_format_header(buf, sizeof buf, MMS_FLOAT64, 2, shape);
    /* magic, version 1.0, length 118, the dict, 21 - 1 spaces of room for
     * the growth axis, padding to 128 bytes, a newline */
    static const char dict[] =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
    TU_CHECKF(n == 128, "header is %zu bytes, np.save writes 128", n);
    CU_ASSERT_EQUAL(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10), 0);
    CU_ASSERT_EQUAL(memcmp(buf + 10, dict, sizeof dict - 1), 0);
    size_t spaces = 0;
    for (size_t i = 10 + sizeof dict - 1; i < n - 1; i++)
        spaces += buf[i] == ' ';
    CU_ASSERT_EQUAL(spaces, n - 1 - 10 - (sizeof dict - 1));
    CU_ASSERT_EQUAL(buf[n - 1], '\n');

    /* what it writes, it reads back, in any chunking */
    for (size_t chunk = 0; chunk < 4; chunk++) {
        cli_npy h;
        CU_ASSERT_EQUAL_FATAL(read_header_of(buf, n, chunk, &h), CLI_OK);
        CU_ASSERT_EQUAL(h.header_len, 128);
        CU_ASSERT_EQUAL(h.major, 1);
        CU_ASSERT_EQUAL(h.dtype, MMS_FLOAT64);
        CU_ASSERT_EQUAL(h.shape[1], 4);
    }
}

static void test_header_is_aligned_for_every_shape(void)
{
    uint64_t shape[MMS_MAX_NDIM];
    for (int ndim = 0; ndim <= MMS_MAX_NDIM; ndim++) {
        for (int i = 0; i < ndim; i++) /* lengths of 1 to 9 digits */
            shape[i] = i == 0 ? 123456789 : (uint64_t)(i % 2 + 1);
        char buf[4096];
        size_t n = cli_npy_format_header(buf, sizeof buf, MMS_COMPLEX64,
                                         ndim, shape);
        TU_CHECKF(n > 0 && n % 64 == 0, "%d axes: header of %zu bytes",
                  ndim, n);
        cli_npy h;
        ut_stderr_begin();
        int rc = read_header_of(buf, n, 7, &h);
        const char *err = ut_stderr_end();
        TU_CHECKF(rc == CLI_OK, "%d axes: not read back: %s", ndim, err);
        TU_CHECKF(rc != CLI_OK || (h.ndim == ndim && h.header_len == n),
                  "%d axes: read back as %d axes, %llu bytes", ndim, h.ndim,
                  (unsigned long long)h.header_len);
    }
}

static void test_header_needs_room(void)
{
    char buf[64];
    uint64_t shape[1] = {5};
    CU_ASSERT_EQUAL(cli_npy_format_header(buf, sizeof buf, MMS_UINT8, 1,
                                          shape), 0);
    CU_ASSERT_EQUAL(cli_npy_format_header(buf, sizeof buf, MMS_UINT8, -1,
                                          shape), 0);
}

static void test_reader_names_what_is_wrong(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        {"\x93NUM", 4, "truncated .npy: it ends after 4 bytes, inside the "
                       "magic string"},
        {"\x93NUMPX\x01\x00", 8, "not a .npy file"},
        {"\x93NUMPY\x04\x00\x10\x00", 10, "version 4.0 is not supported"},
        {"\x93NUMPY\x01\x01\x10\x00", 10, "version 1.1 is not supported"},
        {"\x93NUMPY\x02\x00\xf0\xff\xff\xff{", 13, "claims to be"},
        {"\x93NUMPY\x01\x00\x40\x00{'descr'", 17, "inside the header dict"},
        {"\x93NUMPY\x01\x00\x04\x00{}  ", 14, "bad .npy header: the header "
                                             "has no 'descr'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_npy h;
        ut_stderr_begin();
        int rc = read_header_of(cases[i].bytes, cases[i].len, 0, &h);
        const char *err = ut_stderr_end();
        TU_CHECKF(rc == CLI_FAIL, "case %zu was accepted", i);
        TU_CHECKF(strstr(err, cases[i].want) && strstr(err, "mem.npy: "),
                  "case %zu: message '%s' does not say '%s'", i, err,
                  cases[i].want);
    }
}

/* Every malformed .npy of the corpus is refused by the header reader
 * (short-data.npy's header is fine: its data is what is short). */
static void test_corpus_headers_are_refused(void)
{
    static const char *const bad[] = {
        "bad-magic.npy", "bad-version.npy", "descr-bytes.npy",
        "descr-datetime.npy", "descr-longdouble.npy", "descr-object.npy",
        "descr-structured.npy", "descr-unicode.npy", "descr-unknown.npy",
        "empty.npy", "header-duplicate-key.npy", "header-extra-key.npy",
        "header-fortran-not-bool.npy", "header-garbage-after.npy",
        "header-missing-comma.npy", "header-missing-shape.npy",
        "header-not-a-dict.npy", "header-shape-float.npy",
        "header-shape-list.npy", "header-shape-negative.npy",
        "header-shape-not-tuple.npy", "header-too-long.npy",
        "header-unterminated-string.npy", "header-unterminated.npy",
        "shape-axis-overflow.npy", "shape-overflow.npy",
        "truncated-header.npy", "truncated-magic.npy",
    };
    const char *top = getenv("top_srcdir");
    char path[4096];
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        bool good = i == sizeof bad / sizeof bad[0];
        snprintf(path, sizeof path, "%s/tests/corpus/%s", top ? top : "..",
                 good ? "short-data.npy" : bad[i]);
        cli_in *in;
        cli_npy h;
        ut_stderr_begin();
        int rc = cli_in_open(path, 0, &in);
        if (rc == CLI_OK)
            rc = cli_npy_read_header(cli_in_src(in), &h);
        const char *err = ut_stderr_end();
        cli_in_close(in);
        if (good)
            TU_CHECKF(rc == CLI_OK && h.shape[0] == 1000,
                      "short-data.npy: header not read: %s", err);
        else
            TU_CHECKF(rc == CLI_FAIL && strstr(err, bad[i]) &&
                          !strstr(err, "cannot open"),
                      "%s: accepted, or not for its header: '%s'", bad[i],
                      err);
    }
}

static const tu_test dict_tests[] = {
    TU_TEST(test_reads_the_dict_np_save_writes),
    TU_TEST(test_reads_what_a_hand_made_file_may_vary),
    TU_TEST(test_byte_order_sets_the_swap_unit),
    TU_TEST(test_zero_d_and_empty_shapes),
    TU_TEST(test_refuses_malformed_dicts),
    TU_TEST(test_refuses_shapes_numpy_would_not_write),
    TU_TEST(test_refuses_sizes_that_overflow),
    TU_TEST(test_refuses_dtypes_mmstore_does_not_hold),
    TU_END};

static const tu_test header_tests[] = {
    TU_TEST(test_writes_exactly_what_np_save_writes),
    TU_TEST(test_header_is_aligned_for_every_shape),
    TU_TEST(test_header_needs_room),
    TU_TEST(test_reader_names_what_is_wrong),
    TU_TEST(test_corpus_headers_are_refused),
    TU_END};

static const tu_suite suites[] = {{"npy_dict", dict_tests},
                                  {"npy_header", header_tests},
                                  {NULL, NULL}};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
