/* test_printer.c - the NumPy-style printer of `mmstore show`
 * (tools/printer.c) and the shape formatter (tools/cli.c): what they print
 * is what NumPy's print() and str(shape) print, for every dtype, for
 * nan and infinities, for 0-d and empty views, across line wraps, and for
 * arrays of more than 1000 elements, which NumPy summarises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "printer.h"
#include "testutil.h"

/* A C-order view of the ndim-d data of dtype. */
static cli_view view_of(mms_dtype dtype, int ndim, const uint64_t *shape,
                        const void *data)
{
    cli_view v = {.base = data, .dtype = dtype, .ndim = ndim};
    int64_t stride = (int64_t)mms_dtype_size(dtype);
    for (int i = ndim - 1; i >= 0; i--) {
        v.shape[i] = shape[i];
        v.stride[i] = stride;
        stride *= (int64_t)shape[i];
    }
    return v;
}

/* Asserts that the view prints as want; at the caller's line. */
static void expect_view(unsigned line, const cli_view *v, const char *want)
{
    char *text = NULL;
    int rc = cli_format_view(v, &text);
    TU_CHECKF_AT(line, rc == CLI_OK && text && strcmp(text, want) == 0,
                 "printed\n%s\ninstead of\n%s", text ? text : "(nothing)",
                 want);
    free(text);
}

/* The values are given as ctype, parts per element of them (2 for the
 * parts of complex numbers). */
#define EXPECT_1D_PARTS(dtype, ctype, parts, want, ...)                      \
    do {                                                                     \
        static const ctype data_[] = {__VA_ARGS__};                          \
        uint64_t n_ = sizeof data_ / sizeof data_[0] / (parts);              \
        cli_view v_ = view_of((dtype), 1, &n_, data_);                       \
        expect_view(__LINE__, &v_, (want));                                  \
    } while (0)
#define EXPECT_1D(dtype, ctype, want, ...)                                   \
    EXPECT_1D_PARTS(dtype, ctype, 1, want, __VA_ARGS__)

#define EXPECT_0D(dtype, ctype, value, want)                                 \
    do {                                                                     \
        static const ctype data_ = value;                                    \
        cli_view v_ = view_of((dtype), 0, NULL, &data_);                     \
        expect_view(__LINE__, &v_, (want));                                  \
    } while (0)

/* ---- the shape formatter ------------------------------------------------- */

static void test_shapes_print_as_python_tuples(void)
{
    char buf[CLI_SHAPE_MAX];
    uint64_t shape[MMS_MAX_NDIM] = {1000, 3};
    CU_ASSERT_STRING_EQUAL(cli_format_shape(0, shape, buf, sizeof buf), "()");
    CU_ASSERT_STRING_EQUAL(cli_format_shape(1, shape, buf, sizeof buf),
                           "(1000,)");
    CU_ASSERT_STRING_EQUAL(cli_format_shape(2, shape, buf, sizeof buf),
                           "(1000, 3)");
    uint64_t big[MMS_MAX_NDIM];
    for (int i = 0; i < MMS_MAX_NDIM; i++)
        big[i] = UINT64_MAX;
    cli_format_shape(MMS_MAX_NDIM, big, buf, sizeof buf);
    TU_CHECKF(strlen(buf) == 2 + MMS_MAX_NDIM * 20 + (MMS_MAX_NDIM - 1) * 2,
              "the largest shape is cut: %zu characters", strlen(buf));
    CU_ASSERT_EQUAL(buf[strlen(buf) - 1], ')');
}

static void test_shape_formatter_never_overflows(void)
{
    uint64_t shape[3] = {123456, 7, 8};
    char buf[16];
    memset(buf, 'x', sizeof buf);
    const char *s = cli_format_shape(3, shape, buf, 8);
    CU_ASSERT_PTR_EQUAL(s, buf);
    TU_CHECKF(strlen(buf) == 7 && strncmp(buf, "(123456", 7) == 0,
              "cut to '%s'", buf);
    CU_ASSERT_EQUAL(buf[8], 'x');
}

/* ---- one line ------------------------------------------------------------- */

static void test_integers_and_booleans(void)
{
    EXPECT_1D(MMS_INT64, int64_t, "[1 2 3]", 1, 2, 3);
    EXPECT_1D(MMS_INT32, int32_t, "[ -1  10 100]", -1, 10, 100);
    EXPECT_1D(MMS_INT8, int8_t, "[-128  127]", -128, 127);
    EXPECT_1D(MMS_INT16, int16_t, "[0]", 0);
    EXPECT_1D(MMS_UINT8, uint8_t, "[  0 255]", 0, 255);
    EXPECT_1D(MMS_UINT16, uint16_t, "[65535]", 65535);
    EXPECT_1D(MMS_UINT32, uint32_t, "[4294967295          1]", 4294967295u,
              1);
    EXPECT_1D(MMS_UINT64, uint64_t, "[                   0 "
              "18446744073709551615]", 0, UINT64_MAX);
    EXPECT_1D(MMS_BOOL, uint8_t, "[ True False  True]", 1, 0, 7);
}

static void test_floats_as_numpy_prints_them(void)
{
    EXPECT_1D(MMS_FLOAT64, double, "[0.5  1.   2.25]", 0.5, 1, 2.25);
    EXPECT_1D(MMS_FLOAT64, double, "[0.1 0.2 0.3]", 0.1, 0.2, 0.1 + 0.2);
    EXPECT_1D(MMS_FLOAT64, double, "[0.33333333]", 1.0 / 3);
    EXPECT_1D(MMS_FLOAT64, double, "[-1.  0.  1.]", -1, 0, 1);
    EXPECT_1D(MMS_FLOAT32, float, "[0.1]", 0.1f);
    EXPECT_1D(MMS_FLOAT32, float, "[0.33333334]", 1.0f / 3);
    EXPECT_1D(MMS_FLOAT16, uint16_t, "[0.1 0.2]", 0x2e66, 0x3266);
    EXPECT_1D(MMS_FLOAT16, uint16_t, "[65504.]", 0x7bff);
}

static void test_large_ranges_switch_to_scientific(void)
{
    EXPECT_1D(MMS_FLOAT64, double, "[1.e-05 1.e+05]", 1e-5, 1e5);
    EXPECT_1D(MMS_FLOAT64, double, "[1.0e+08 1.5e+00]", 1e8, 1.5);
    EXPECT_1D(MMS_FLOAT64, double, "[1.e+16]", 1e16);
    EXPECT_1D(MMS_FLOAT64, double, "[1.e-05    nan]", 1e-5, NAN);
}

static void test_nan_and_infinities(void)
{
    EXPECT_1D(MMS_FLOAT64, double, "[ nan  inf -inf   1.]", NAN, INFINITY,
              -INFINITY, 1);
    EXPECT_1D(MMS_FLOAT32, float, "[nan inf]", NAN, INFINITY);
    EXPECT_1D(MMS_FLOAT16, uint16_t, "[-inf  nan]", 0xfc00, 0x7e00);
}

static void test_complex_numbers(void)
{
    EXPECT_1D_PARTS(MMS_COMPLEX128, double, 2, "[ 1. +2.j  -1.5-0.5j]", 1, 2,
                    -1.5, -0.5);
    EXPECT_1D_PARTS(MMS_COMPLEX64, float, 2, "[0.+1.j]", 0, 1);
    EXPECT_1D_PARTS(MMS_COMPLEX128, double, 2, "[nan+infj  1. -1.j]", NAN,
                    INFINITY, 1, -1);
}

static void test_zero_d_views_print_as_scalars(void)
{
    EXPECT_0D(MMS_FLOAT64, double, 1.0, "1.0");
    EXPECT_0D(MMS_FLOAT64, double, 0.1, "0.1");
    EXPECT_0D(MMS_FLOAT64, double, 123456.0, "123456.0");
    EXPECT_0D(MMS_FLOAT64, double, 1e16, "1e+16");
    EXPECT_0D(MMS_FLOAT64, double, -INFINITY, "-inf");
    EXPECT_0D(MMS_FLOAT64, double, NAN, "nan");
    EXPECT_0D(MMS_FLOAT32, float, 1.0f / 3, "0.33333334");
    EXPECT_0D(MMS_FLOAT16, uint16_t, 0x2e66, "0.1");
    EXPECT_0D(MMS_INT32, int32_t, -5, "-5");
    EXPECT_0D(MMS_UINT64, uint64_t, UINT64_MAX, "18446744073709551615");
    EXPECT_0D(MMS_BOOL, uint8_t, 1, "True");
    static const double z[2] = {1, 2};
    cli_view v = view_of(MMS_COMPLEX128, 0, NULL, z);
    expect_view(__LINE__, &v, "(1+2j)");
}

static void test_empty_views(void)
{
    static const double none[1];
    uint64_t shape[2] = {0, 3};
    cli_view v = view_of(MMS_FLOAT64, 1, shape, none);
    expect_view(__LINE__, &v, "[]");
    v = view_of(MMS_FLOAT64, 2, shape, none);
    expect_view(__LINE__, &v, "[]");
}

/* ---- more than one line ---------------------------------------------------------- */

static void test_axes_nest_in_brackets(void)
{
    static const int64_t data[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint64_t s2[2] = {2, 2}, s3[3] = {2, 2, 2};
    cli_view v = view_of(MMS_INT64, 2, s2, data);
    expect_view(__LINE__, &v, "[[0 1]\n [2 3]]");
    v = view_of(MMS_INT64, 3, s3, data);
    expect_view(__LINE__, &v, "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]");
}

static void test_negative_strides(void)
{
    static const int32_t data[3] = {1, 2, 3};
    uint64_t n = 3;
    cli_view v = view_of(MMS_INT32, 1, &n, data);
    v.base = (const unsigned char *)&data[2];
    v.stride[0] = -4;
    expect_view(__LINE__, &v, "[3 2 1]");
}

static void test_lines_wrap_at_75_columns(void)
{
    double data[30];
    for (int i = 0; i < 30; i++)
        data[i] = i;
    uint64_t n = 30;
    cli_view v = view_of(MMS_FLOAT64, 1, &n, data);
    expect_view(__LINE__, &v,
                "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. "
                "14. 15. 16. 17.\n"
                " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]");
}

static void test_more_than_1000_elements_are_summarised(void)
{
    int64_t *data = malloc(2000 * sizeof *data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    for (int i = 0; i < 2000; i++)
        data[i] = i;
    uint64_t n = 2000, s2[2] = {100, 20};
    cli_view v = view_of(MMS_INT64, 1, &n, data);
    expect_view(__LINE__, &v, "[   0    1    2 ... 1997 1998 1999]");
    v = view_of(MMS_INT64, 2, s2, data);
    expect_view(__LINE__, &v,
                "[[   0    1    2 ...   17   18   19]\n"
                " [  20   21   22 ...   37   38   39]\n"
                " [  40   41   42 ...   57   58   59]\n"
                " ...\n"
                " [1940 1941 1942 ... 1957 1958 1959]\n"
                " [1960 1961 1962 ... 1977 1978 1979]\n"
                " [1980 1981 1982 ... 1997 1998 1999]]");
    /* exactly 1000 elements: all of them */
    n = 1000;
    v = view_of(MMS_INT64, 1, &n, data);
    char *text = NULL;
    CU_ASSERT_EQUAL(cli_format_view(&v, &text), CLI_OK);
    TU_CHECKF(text && !strstr(text, "...") && strstr(text, " 500 ") &&
                  strstr(text, "999]"),
              "1000 elements were summarised: %.80s", text ? text : "");
    free(text);
    free(data);
}

/* ---- --json --------------------------------------------------------------------- */

static void expect_json(unsigned line, const cli_view *v, const char *want)
{
    json_t *doc = cli_view_json(v);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    TU_CHECKF_AT(line, text && strcmp(text, want) == 0, "JSON %s, not %s",
                 text ? text : "(none)", want);
    free(text);
    json_decref(doc);
}

static void test_json_values(void)
{
    static const double f[3] = {1.5, NAN, -INFINITY};
    static const double z[4] = {1, 2, 3, NAN};
    static const uint64_t u[2] = {1, UINT64_MAX};
    static const uint8_t b[2] = {0, 1};
    uint64_t n3 = 3, n2 = 2, s12[2] = {1, 2};
    cli_view v = view_of(MMS_FLOAT64, 1, &n3, f);
    expect_json(__LINE__, &v, "[1.5,null,null]");
    v = view_of(MMS_COMPLEX128, 2, s12, z);
    expect_json(__LINE__, &v, "[[[1.0,2.0],[3.0,null]]]");
    v = view_of(MMS_UINT64, 1, &n2, u);
    expect_json(__LINE__, &v, "[1,1.8446744073709552e19]");
    v = view_of(MMS_BOOL, 1, &n2, b);
    expect_json(__LINE__, &v, "[false,true]");
}

static const tu_test shape_tests[] = {
    TU_TEST(test_shapes_print_as_python_tuples),
    TU_TEST(test_shape_formatter_never_overflows),
    TU_END};

static const tu_test line_tests[] = {
    TU_TEST(test_integers_and_booleans),
    TU_TEST(test_floats_as_numpy_prints_them),
    TU_TEST(test_large_ranges_switch_to_scientific),
    TU_TEST(test_nan_and_infinities),
    TU_TEST(test_complex_numbers),
    TU_TEST(test_zero_d_views_print_as_scalars),
    TU_TEST(test_empty_views),
    TU_END};

static const tu_test array_tests[] = {
    TU_TEST(test_axes_nest_in_brackets),
    TU_TEST(test_negative_strides),
    TU_TEST(test_lines_wrap_at_75_columns),
    TU_TEST(test_more_than_1000_elements_are_summarised),
    TU_TEST(test_json_values),
    TU_END};

static const tu_suite suites[] = {{"shape", shape_tests},
                                  {"printer_line", line_tests},
                                  {"printer_array", array_tests},
                                  {NULL, NULL}};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
