/* test_csv.c - the CSV format of the mmstore tool (tools/formats/csv.c):
 * the cell reader of every dtype with its range checks, the cell writer
 * (shortest text that reads back the same bits), and whole imports into a
 * store: shapes, headers, comments, and ragged or bad rows refused with
 * their line and column, leaving nothing behind. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/format.h"
#include "testutil.h"
#include "unitutil.h"

/* ---- the cell reader ------------------------------------------------------ */

/* Parses cell as dtype into out; the reason of a failure in why. */
static int cell(mms_dtype dtype, const char *text, void *out, char *why)
{
    why[0] = '\0';
    return cli_csv_parse_cell(dtype, text, out, why, 160);
}

#define CELL_INT(dtype, text, ctype, want)                                   \
    do {                                                                     \
        ctype v_ = 0;                                                        \
        char why_[160];                                                      \
        int rc_ = cell((dtype), (text), &v_, why_);                          \
        TU_CHECKF(rc_ == CLI_OK && v_ == (ctype)(want),                      \
                  "%s as %s: rc %d (%s), value %lld", (text),               \
                  mms_dtype_name(dtype), rc_, why_, (long long)v_);          \
    } while (0)

#define CELL_BAD(dtype, text, want)                                          \
    do {                                                                     \
        unsigned char v_[16];                                                \
        char why_[160];                                                      \
        int rc_ = cell((dtype), (text), v_, why_);                           \
        TU_CHECKF(rc_ == CLI_FAIL && strstr(why_, (want)),                   \
                  "%s as %s: rc %d, reason '%s', expected '%s'", (text),     \
                  mms_dtype_name(dtype), rc_, why_, (want));                 \
    } while (0)

static void test_integers_in_range_are_read(void)
{
    CELL_INT(MMS_INT8, "127", int8_t, 127);
    CELL_INT(MMS_INT8, "-128", int8_t, -128);
    CELL_INT(MMS_INT16, "-32768", int16_t, -32768);
    CELL_INT(MMS_INT32, "2147483647", int32_t, 2147483647);
    CELL_INT(MMS_INT64, "-9223372036854775808", int64_t, INT64_MIN);
    CELL_INT(MMS_UINT8, "255", uint8_t, 255);
    CELL_INT(MMS_UINT16, "65535", uint16_t, 65535);
    CELL_INT(MMS_UINT32, "4294967295", uint32_t, 4294967295u);
    CELL_INT(MMS_UINT64, "0", uint64_t, 0);
    uint64_t u;
    char why[160];
    CU_ASSERT_EQUAL(cell(MMS_UINT64, "18446744073709551615", &u, why),
                    CLI_OK);
    CU_ASSERT_EQUAL(u, UINT64_MAX);
}

static void test_integers_out_of_range_are_refused(void)
{
    CELL_BAD(MMS_INT8, "128", "is out of range for int8");
    CELL_BAD(MMS_INT8, "-129", "is out of range for int8");
    CELL_BAD(MMS_INT16, "32768", "is out of range for int16");
    CELL_BAD(MMS_INT32, "-2147483649", "is out of range for int32");
    CELL_BAD(MMS_INT64, "9223372036854775808", "is out of range for int64");
    CELL_BAD(MMS_UINT8, "256", "is out of range for uint8");
    CELL_BAD(MMS_UINT32, "4294967296", "is out of range for uint32");
    CELL_BAD(MMS_UINT64, "18446744073709551616", "is out of range for "
                                                 "uint64");
    /* a minus sign is no unsigned integer, not even -0 */
    CELL_BAD(MMS_UINT8, "-1", "is not an integer");
    CELL_BAD(MMS_UINT64, "-0", "is not an integer");
}

static void test_cells_that_are_not_numbers_are_refused(void)
{
    CELL_BAD(MMS_INT32, "1.5", "is not an integer");
    CELL_BAD(MMS_INT32, "12abc", "is not an integer");
    CELL_BAD(MMS_INT32, "x", "is not an integer");
    CELL_BAD(MMS_FLOAT64, "1.5.2", "is not a number");
    CELL_BAD(MMS_FLOAT32, "abc", "is not a number");
    CELL_BAD(MMS_BOOL, "yes", "is not a boolean");
    CELL_BAD(MMS_COMPLEX128, "1+j", "is not a complex number");
    CELL_BAD(MMS_COMPLEX128, "1+2", "is not a complex number");
    CELL_BAD(MMS_COMPLEX64, "(1+2j", "is not a complex number");
    static const mms_dtype all[] = {MMS_BOOL, MMS_INT8, MMS_UINT64,
                                    MMS_FLOAT16, MMS_FLOAT64,
                                    MMS_COMPLEX64};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CELL_BAD(all[i], "", "empty cell");
}

static void test_floats_are_rounded_once_from_the_text(void)
{
    char why[160];
    double d;
    float f;
    uint16_t h;
    CU_ASSERT_EQUAL(cell(MMS_FLOAT64, "0.1", &d, why), CLI_OK);
    CU_ASSERT_EQUAL(d, 0.1);
    CU_ASSERT_EQUAL(cell(MMS_FLOAT64, "-inf", &d, why), CLI_OK);
    CU_ASSERT_TRUE(isinf(d) && d < 0);
    CU_ASSERT_EQUAL(cell(MMS_FLOAT64, "nan", &d, why), CLI_OK);
    CU_ASSERT_TRUE(isnan(d));
    CU_ASSERT_EQUAL(cell(MMS_FLOAT64, "-0.0", &d, why), CLI_OK);
    CU_ASSERT_TRUE(d == 0 && signbit(d));
    /* float32 from the text, not from the double (double rounding) */
    CU_ASSERT_EQUAL(cell(MMS_FLOAT32, "0.1", &f, why), CLI_OK);
    CU_ASSERT_EQUAL(f, 0.1f);
    /* 1 + 2^-24 + 2^-60: just above the midpoint of two floats; as a
     * double it is the midpoint itself, which would round down to 1 */
    CU_ASSERT_EQUAL(cell(MMS_FLOAT32, "1.00000005960464477625798673798840354"
                         "7205962240695953369140625", &f, why), CLI_OK);
    TU_CHECKF(f == 1.0f + 0x1p-23f, "1 + 2^-24 + 2^-60 read as float32 "
              "%.9g, not 1 + 2^-23", (double)f);
    static const struct {
        const char *text;
        uint16_t bits;
    } halves[] = {
        {"1", 0x3c00},      {"-2", 0xc000},     {"65504", 0x7bff},
        {"65519", 0x7bff},  {"65520", 0x7c00},  {"1e10", 0x7c00},
        {"6e-8", 0x0001},   {"2e-8", 0x0000},   {"-0", 0x8000},
        {"inf", 0x7c00},    {"nan", 0x7e00},    {"0.1", 0x2e66},
        {"1.0009765625", 0x3c01}, {"1.00048828125", 0x3c00},
        {"1.00146484375", 0x3c02},
    };
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++) {
        int rc = cell(MMS_FLOAT16, halves[i].text, &h, why);
        TU_CHECKF(rc == CLI_OK && h == halves[i].bits,
                  "%s as float16: 0x%04x, expected 0x%04x", halves[i].text,
                  h, halves[i].bits);
    }
}

static void test_booleans_and_complex_numbers(void)
{
    uint8_t b;
    char why[160];
    static const struct {
        const char *text;
        uint8_t want;
    } bools[] = {{"True", 1}, {"false", 0}, {"TRUE", 1}, {"0", 0},
                 {"1", 1},    {"2.5", 1},   {"0.0", 0}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        int rc = cell(MMS_BOOL, bools[i].text, &b, why);
        TU_CHECKF(rc == CLI_OK && b == bools[i].want, "%s as bool: %d",
                  bools[i].text, b);
    }
    static const struct {
        const char *text;
        double re, im;
    } zs[] = {{"1.5-2j", 1.5, -2}, {"(1.5-2j)", 1.5, -2}, {"2j", 0, 2},
              {"3", 3, 0},         {"-1e3+1e-3j", -1e3, 1e-3}};
    for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
        double z[2];
        float zf[2];
        int rc = cell(MMS_COMPLEX128, zs[i].text, z, why);
        TU_CHECKF(rc == CLI_OK && z[0] == zs[i].re && z[1] == zs[i].im,
                  "%s as complex128: (%g, %g)", zs[i].text, z[0], z[1]);
        rc = cell(MMS_COMPLEX64, zs[i].text, zf, why);
        TU_CHECKF(rc == CLI_OK && zf[0] == (float)zs[i].re &&
                      zf[1] == (float)zs[i].im,
                  "%s as complex64: (%g, %g)", zs[i].text, zf[0], zf[1]);
    }
    double z[2];
    CU_ASSERT_EQUAL(cell(MMS_COMPLEX128, "nan+infj", z, why), CLI_OK);
    CU_ASSERT_TRUE(isnan(z[0]) && isinf(z[1]));
}

/* ---- the cell writer -------------------------------------------------------- */

static const char *fmt(const void *elem, mms_dtype dtype)
{
    static char out[96];
    int n = cli_csv_format_value(out, sizeof out, elem, dtype);
    TU_CHECKF(n > 0 && (size_t)n == strlen(out), "length %d for '%s'", n,
              out);
    return out;
}

#define FMT_IS(ctype, value, dtype, want)                                    \
    do {                                                                     \
        ctype v_ = (value);                                                  \
        const char *got_ = fmt(&v_, (dtype));                                \
        TU_CHECKF(strcmp(got_, (want)) == 0, "%s written as '%s', not '%s'", \
                  #value, got_, (want));                                     \
    } while (0)

static void test_writes_the_shortest_text(void)
{
    FMT_IS(double, 0.1, MMS_FLOAT64, "0.1");
    FMT_IS(double, 1.0 / 3, MMS_FLOAT64, "0.3333333333333333");
    FMT_IS(double, 1e300, MMS_FLOAT64, "1e+300");
    FMT_IS(double, -0.0, MMS_FLOAT64, "-0");
    FMT_IS(double, -INFINITY, MMS_FLOAT64, "-inf");
    FMT_IS(double, NAN, MMS_FLOAT64, "nan");
    FMT_IS(float, 0.1f, MMS_FLOAT32, "0.1");
    FMT_IS(float, 1.0f / 3, MMS_FLOAT32, "0.33333334");
    FMT_IS(uint16_t, 0x3555, MMS_FLOAT16, "0.3333");
    FMT_IS(uint16_t, 0x3c00, MMS_FLOAT16, "1");
    FMT_IS(uint8_t, 2, MMS_BOOL, "1");
    FMT_IS(uint8_t, 0, MMS_BOOL, "0");
    FMT_IS(int8_t, -128, MMS_INT8, "-128");
    FMT_IS(int64_t, INT64_MIN, MMS_INT64, "-9223372036854775808");
    FMT_IS(uint64_t, UINT64_MAX, MMS_UINT64, "18446744073709551615");
    double z[2] = {1.5, -2};
    CU_ASSERT_STRING_EQUAL(fmt(z, MMS_COMPLEX128), "1.5-2j");
    double w[2] = {NAN, INFINITY};
    CU_ASSERT_STRING_EQUAL(fmt(w, MMS_COMPLEX128), "nan+infj");
    float zf[2] = {0.1f, 0.2f};
    CU_ASSERT_STRING_EQUAL(fmt(zf, MMS_COMPLEX64), "0.1+0.2j");
}

/* Every float16, and a spread of float32 and float64 bit patterns, read
 * back bit for bit from what is written. */
static void test_what_is_written_reads_back_the_same_bits(void)
{
    char why[160];
    int bad = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i, back;
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
            continue; /* NaNs: one NaN is written */
        const char *text = fmt(&h, MMS_FLOAT16);
        if (cell(MMS_FLOAT16, text, &back, why) != CLI_OK || back != h)
            if (bad++ < 5)
                TU_CHECKF(0, "float16 0x%04x written as %s reads back "
                          "as 0x%04x", h, text, back);
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double d, dback;
        float f, fback;
        uint32_t x32 = (uint32_t)(x >> 32);
        memcpy(&d, &x, 8);
        memcpy(&f, &x32, 4);
        if (!isnan(d)) {
            const char *text = fmt(&d, MMS_FLOAT64);
            if (cell(MMS_FLOAT64, text, &dback, why) != CLI_OK ||
                memcmp(&d, &dback, 8) != 0)
                if (bad++ < 5)
                    TU_CHECKF(0, "float64 %a written as %s reads back "
                              "as %a", d, text, dback);
        }
        if (!isnan(f)) {
            const char *text = fmt(&f, MMS_FLOAT32);
            if (cell(MMS_FLOAT32, text, &fback, why) != CLI_OK ||
                memcmp(&f, &fback, 4) != 0)
                if (bad++ < 5)
                    TU_CHECKF(0, "float32 %a written as %s reads back "
                              "as %a", (double)f, text, (double)fback);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* ---- whole imports ------------------------------------------------------------ */

/* A store of its own for each test, closed by close_store. */
static mms_store *store;

static void close_store(void)
{
    TU_RC(MMS_OK, mms_store_close(store));
    store = NULL;
}

/* Imports text (read chunk bytes at a time) as name with the options;
 * returns the status; *msg is what was printed. On success the array is
 * published and its info is in *info, its first bytes in data. */
static int import_csv(const char *name, const char *text, size_t chunk,
                      const cli_io_opts *opts, mms_info *info, void *data,
                      size_t size, const char **msg)
{
    if (!store)
        TU_RC_FATAL(MMS_OK, mms_store_open(tu_store_path(), MMS_CREATE,
                                            &store));
    cli_globals g = {.quiet = true};
    ut_mem_src m;
    cli_import_job job = {.g = &g, .store = store, .name = name,
                          .path = "t.csv", .opts = opts,
                          .src = ut_mem_src_init(&m, text, strlen(text),
                                                 chunk, "t.csv")};
    mms_array *a = NULL;
    ut_stderr_begin();
    int rc = cli_format_csv.import(&job, &a);
    *msg = ut_stderr_end();
    if (rc != CLI_OK) {
        CU_ASSERT_PTR_NULL(a);
        mms_info gone;
        TU_CHECKF(mms_stat(store, name, &gone) == MMS_ERR_NOTFOUND,
                  "a failed import of %s left an array behind", name);
        return rc;
    }
    TU_RC(MMS_OK, mms_array_publish(a));
    TU_RC(MMS_OK, mms_array_info(a, info));
    memcpy(data, mms_array_data(a), info->nbytes < size ? info->nbytes
                                                          : size);
    TU_RC(MMS_OK, mms_array_close(a));
    return rc;
}

static cli_io_opts csv_opts(mms_dtype dtype, char delimiter, bool header)
{
    return (cli_io_opts){.zstd = -1, .level = 3, .delimiter = delimiter,
                         .header = header, .have_dtype = dtype != 0,
                         .dtype = dtype, .ndim = -1};
}

static void test_rows_and_columns_make_the_shape(void)
{
    cli_io_opts o = csv_opts(0, ',', false);
    mms_info in;
    double d[6];
    const char *msg;
    for (size_t chunk = 0; chunk < 3; chunk++) {
        char name[32];
        snprintf(name, sizeof name, "grid%zu", chunk);
        int rc = import_csv(name, "# a comment\n\n1, 2,3\r\n 4,\"5\",6", chunk,
                            &o, &in, d, sizeof d, &msg);
        TU_CHECKF(rc == CLI_OK, "refused: %s", msg);
        CU_ASSERT_EQUAL(in.dtype, MMS_FLOAT64);
        CU_ASSERT_EQUAL(in.ndim, 2);
        CU_ASSERT_EQUAL(in.shape[0], 2);
        CU_ASSERT_EQUAL(in.shape[1], 3);
        for (int i = 0; i < 6; i++)
            TU_CHECKF(d[i] == i + 1, "element %d is %g", i, d[i]);
    }
    int32_t v[3];
    o = csv_opts(MMS_INT32, ' ', false);
    CU_ASSERT_EQUAL(import_csv("column", "  7\n\t-8 \n9\n", 0, &o, &in, v,
                               sizeof v, &msg), CLI_OK);
    CU_ASSERT_EQUAL(in.ndim, 1);
    CU_ASSERT_EQUAL(in.shape[0], 3);
    CU_ASSERT_TRUE(v[0] == 7 && v[1] == -8 && v[2] == 9);
    o = csv_opts(MMS_UINT8, '\t', false);
    uint8_t u[4];
    CU_ASSERT_EQUAL(import_csv("tabs", "1 \t 2\n3\t\t4\n", 0, &o, &in, u,
                               sizeof u, &msg), CLI_OK);
    CU_ASSERT_TRUE(in.ndim == 2 && in.shape[0] == 2 && in.shape[1] == 2);
    CU_ASSERT_TRUE(u[0] == 1 && u[1] == 2 && u[2] == 3 && u[3] == 4);
    close_store();
}

static void test_header_row_and_empty_tables(void)
{
    cli_io_opts o = csv_opts(MMS_INT16, ';', true);
    mms_info in;
    int16_t v[2];
    const char *msg;
    CU_ASSERT_EQUAL(import_csv("h", "x;y\n1;2\n", 0, &o, &in, v, sizeof v,
                               &msg), CLI_OK);
    CU_ASSERT_TRUE(in.ndim == 2 && in.shape[0] == 1 && in.shape[1] == 2);
    CU_ASSERT_TRUE(v[0] == 1 && v[1] == 2);
    CU_ASSERT_EQUAL(import_csv("h0", "a;b;c\n", 0, &o, &in, v, sizeof v,
                               &msg), CLI_OK);
    TU_CHECKF(in.ndim == 2 && in.shape[0] == 0 && in.shape[1] == 3,
              "a header and no rows: %d axes (%llu, %llu)", in.ndim,
              (unsigned long long)in.shape[0],
              (unsigned long long)in.shape[1]);
    o = csv_opts(0, ',', false);
    CU_ASSERT_EQUAL(import_csv("none", "# nothing\n\n", 0, &o, &in, v,
                               sizeof v, &msg), CLI_OK);
    CU_ASSERT_TRUE(in.ndim == 1 && in.shape[0] == 0);
    close_store();
}

static void test_a_line_longer_than_the_buffer(void)
{
    size_t cells = 50000; /* 100 KB: more than the first 64 KiB buffer */
    char *text = malloc(2 * cells + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t i = 0; i < cells; i++)
        memcpy(text + 2 * i, i + 1 < cells ? "1," : "1\n", 2);
    text[2 * cells] = '\0';
    cli_io_opts o = csv_opts(MMS_UINT8, ',', false);
    mms_info in;
    uint8_t first[4];
    const char *msg;
    CU_ASSERT_EQUAL(import_csv("wide", text, 0, &o, &in, first,
                               sizeof first, &msg), CLI_OK);
    CU_ASSERT_TRUE(in.ndim == 2 && in.shape[0] == 1 &&
                   in.shape[1] == cells);
    free(text);
    close_store();
}

/* CPU seconds of import_csv of text read chunk bytes at a time. */
static double timed_import(const char *name, const char *text, size_t chunk,
                           size_t cells)
{
    cli_io_opts o = csv_opts(MMS_UINT8, ',', false);
    mms_info in;
    uint8_t first[4];
    const char *msg;
    clock_t t0 = clock();
    int rc = import_csv(name, text, chunk, &o, &in, first, sizeof first,
                        &msg);
    double t = (double)(clock() - t0) / CLOCKS_PER_SEC;
    TU_CHECKF(rc == CLI_OK && in.ndim == 2 && in.shape[1] == cells,
              "%s: rc %d (%s)", name, rc, msg);
    return t;
}

/* A pipe hands a long line over in pieces: each piece must cost its own
 * length, not the line's so far (which made a 200 MB line from a pipe take
 * 30 times as long as from a file). A 4 MiB line in 32-byte pieces against
 * the same line read whole; the bound is generous, the quadratic reader
 * took hundreds of times longer. CPU time: other processes do not count. */
static void test_a_long_line_in_small_pieces_is_linear(void)
{
    size_t cells = (size_t)1 << 21; /* 4 MiB of "1," */
    char *text = malloc(2 * cells + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t i = 0; i < cells; i++)
        memcpy(text + 2 * i, i + 1 < cells ? "1," : "1\n", 2);
    text[2 * cells] = '\0';
    double whole = timed_import("whole", text, 0, cells);
    double pieces = timed_import("pieces", text, 32, cells);
    TU_CHECKF(pieces < 10 * whole + 0.5,
              "a 4 MiB line in 32-byte reads took %.3f s of CPU, read whole "
              "%.3f s", pieces, whole);
    free(text);
    close_store();
}

/* The longest line is capped (cli_csv_line_max, lowered here): a longer
 * one is refused with its line number, whatever the size of the reads. */
static void test_a_line_over_the_limit_is_refused(void)
{
    size_t saved = cli_csv_line_max;
    cli_csv_line_max = 4096;
    char *text = malloc(20000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    strcpy(text, "1,2\n");
    size_t n = strlen(text);
    while (n < 10000)
        n += (size_t)sprintf(text + n, "%s", "1,2,");
    strcpy(text + n, "3\n");
    for (size_t chunk = 0; chunk < 2000; chunk += 999) {
        cli_io_opts o = csv_opts(MMS_UINT8, ',', false);
        mms_info in;
        uint8_t first[4];
        const char *msg;
        int rc = import_csv("long", text, chunk, &o, &in, first,
                            sizeof first, &msg);
        TU_CHECKF(rc == CLI_FAIL && strstr(msg, "t.csv: line 2 is longer "
                                                "than 4096 bytes"),
                  "chunk %zu: rc %d, message '%s'", chunk, rc, msg);
    }
    cli_csv_line_max = saved;
    free(text);
    close_store();
}

/* A UTF-8 byte order mark (Excel writes one) starts the text, not the
 * first cell; anywhere else it is not a number. */
static void test_a_byte_order_mark_is_skipped(void)
{
    cli_io_opts o = csv_opts(MMS_INT32, ',', false);
    mms_info in;
    int32_t v[4];
    const char *msg;
    for (size_t chunk = 0; chunk < 3; chunk++) {
        char name[16];
        snprintf(name, sizeof name, "bom%zu", chunk);
        int rc = import_csv(name, "\xef\xbb\xbf" "1,2\n3,4\n", chunk, &o, &in,
                            v, sizeof v, &msg);
        TU_CHECKF(rc == CLI_OK && in.ndim == 2 && in.shape[0] == 2 &&
                  v[0] == 1 && v[3] == 4,
                  "reads of %zu bytes: rc %d (%s)", chunk, rc, msg);
    }
    o = csv_opts(MMS_INT32, ',', true);
    TU_CHECKF(import_csv("bomh", "\xef\xbb\xbfx,y\n5,6\n", 0, &o, &in, v,
                         sizeof v, &msg) == CLI_OK && v[0] == 5,
              "a BOM before a header row: %s", msg);
    o = csv_opts(MMS_INT32, ',', false);
    TU_CHECKF(import_csv("bomlate", "1,2\n\xef\xbb\xbf" "3,4\n", 0, &o, &in, v,
                         sizeof v, &msg) == CLI_FAIL &&
              strstr(msg, "line 2, column 1"),
              "a BOM on line 2 was taken: %s", msg);
    close_store();
}

/* Each refused: the status and the message, with its line and column
 * (counted over every line, comments and blank ones too). */
static void test_bad_rows_are_refused_where_they_are(void)
{
    static const struct {
        const char *name, *text;
        mms_dtype dtype;
        const char *want;
    } cases[] = {
        {"short", "1,2,3\n4,5\n", 0,
         "t.csv: line 2, column 3: missing cell: the row has 2 columns, "
         "earlier rows 3"},
        {"long", "1,2\n# c\n\n3,4,5\n", 0,
         "t.csv: line 4, column 3: extra cell: earlier rows have 2 columns"},
        {"range", "1\n2\n300\n", MMS_INT8,
         "t.csv: line 3, column 1: '300' is out of range for int8"},
        {"empty", "1,,3\n", 0, "t.csv: line 1, column 2: empty cell"},
        {"nan", "1,2\n3,x\n", MMS_FLOAT32,
         "t.csv: line 2, column 2: 'x' is not a number"},
        {"longcell", "12345678901234567890123456789012345678901234567890\n",
         MMS_INT64, "'1234567890123456789012345678901234567890'... is out "
                    "of range for int64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_io_opts o = csv_opts(cases[i].dtype, ',', false);
        mms_info in;
        unsigned char data[64];
        const char *msg;
        int rc = import_csv(cases[i].name, cases[i].text, 1, &o, &in, data,
                            sizeof data, &msg);
        TU_CHECKF(rc == CLI_FAIL, "%s: accepted", cases[i].name);
        TU_CHECKF(strstr(msg, cases[i].want) != NULL,
                  "%s: message '%s' does not say '%s'", cases[i].name, msg,
                  cases[i].want);
    }
    close_store();
}

static const tu_test reader_tests[] = {
    TU_TEST(test_integers_in_range_are_read),
    TU_TEST(test_integers_out_of_range_are_refused),
    TU_TEST(test_cells_that_are_not_numbers_are_refused),
    TU_TEST(test_floats_are_rounded_once_from_the_text),
    TU_TEST(test_booleans_and_complex_numbers),
    TU_END};

static const tu_test writer_tests[] = {
    TU_TEST(test_writes_the_shortest_text),
    TU_TEST(test_what_is_written_reads_back_the_same_bits),
    TU_END};

static const tu_test import_tests[] = {
    TU_TEST(test_rows_and_columns_make_the_shape),
    TU_TEST(test_header_row_and_empty_tables),
    TU_TEST(test_a_line_longer_than_the_buffer),
    TU_TEST(test_a_long_line_in_small_pieces_is_linear),
    TU_TEST(test_a_line_over_the_limit_is_refused),
    TU_TEST(test_a_byte_order_mark_is_skipped),
    TU_TEST(test_bad_rows_are_refused_where_they_are),
    TU_END};

static const tu_suite suites[] = {{"csv_cells", reader_tests},
                                  {"csv_writer", writer_tests},
                                  {"csv_import", import_tests},
                                  {NULL, NULL}};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
