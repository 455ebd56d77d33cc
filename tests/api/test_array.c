/* test_array.c - arrays: create, open, map, write, sync, resize, and the
 * catalog calls stat, remove, rename and list. */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"

#include <inttypes.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define GIB (UINT64_C(1) << 30)
/* "More than the free space": with a margin wide enough that other tenants
 * of a shared disk freeing space meanwhile do not make it fit. */
#define NOSPC_MARGIN (16 * GIB)

/* ---- helpers ----------------------------------------------------------- */

static int list_count_fn(const char *name, const mms_info *info, void *ctx)
{
    (void)name;
    (void)info;
    (*(int *)ctx)++;
    return 0;
}

static int array_count(mms_store *s)
{
    int n = 0;
    TU_OK(mms_list(s, NULL, list_count_fn, &n));
    return n;
}

static uint64_t row_bytes_of(const mms_info *info)
{
    uint64_t rb = info->itemsize;
    for (int i = 1; i < info->ndim; i++)
        rb *= info->shape[i];
    return rb;
}

/* The file size docs/format.md gives for an array. */
static uint64_t expected_file_size(const mms_info *info)
{
    uint64_t cap = info->ndim ? info->capacity_rows : 1;
    uint64_t bytes = cap * row_bytes_of(info);
    bytes = (bytes + PAGE - 1) / PAGE * PAGE;
    return PAGE + (bytes > PAGE ? bytes : PAGE);
}

/* Checks the .npy file at path against docs/format.md for info. */
static void check_npy_at(int line, const char *path, const mms_info *info)
{
    unsigned char hdr[PAGE];
    char dict[2048];
    size_t dlen;
    struct stat st;
    const char *descr = mms_dtype_descr(info->dtype);
    int rc = su_pread(path, 0, hdr, sizeof hdr);

    TU_CHECKF_AT(line, rc == 0, "cannot read the header of %s: %s", path,
                 su_strerror(rc));
    if (rc)
        return;
    TU_CHECKF_AT(line, memcmp(hdr, "\x93NUMPY", 6) == 0, "%s: bad magic",
                 path);
    TU_CHECKF_AT(line, hdr[6] == 1 && hdr[7] == 0, "%s: version %d.%d, "
                 "expected 1.0", path, hdr[6], hdr[7]);
    TU_CHECKF_AT(line, su_le16(hdr + 8) == PAGE - 10, "%s: HEADER_LEN %u, "
                 "expected 4086", path, su_le16(hdr + 8));
    su_npy_dict(dict, sizeof dict, descr ? descr : "?", info->ndim,
                info->shape);
    dlen = strlen(dict);
    TU_CHECKF_AT(line, memcmp(hdr + 10, dict, dlen) == 0,
                 "%s: header dict is \"%.*s\", expected \"%s\"", path,
                 (int)dlen, (const char *)hdr + 10, dict);
    for (size_t i = 10 + dlen; i < PAGE - 1; i++) {
        if (hdr[i] != ' ') {
            TU_CHECKF_AT(line, 0, "%s: header byte %zu is 0x%02x, expected a "
                         "space", path, i, hdr[i]);
            break;
        }
    }
    TU_CHECKF_AT(line, hdr[PAGE - 1] == '\n', "%s: header does not end in a "
                 "newline at byte 4095", path);
    TU_CHECKF_AT(line, stat(path, &st) == 0, "stat %s: %s", path,
                 strerror(errno));
    TU_CHECKF_AT(line, (uint64_t)st.st_size == expected_file_size(info), "%s "
                 "is %lld bytes, format.md says %llu for capacity %llu rows",
                 path, (long long)st.st_size,
                 (unsigned long long)expected_file_size(info),
                 (unsigned long long)info->capacity_rows);
    TU_CHECKF_AT(line, (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size,
                 "%s is not fully allocated: %lld blocks of 512 for %lld "
                 "bytes", path, (long long)st.st_blocks,
                 (long long)st.st_size);
}
#define check_npy(path, info) check_npy_at(__LINE__, path, info)

/* Fills n bytes with a pattern that depends on seed and position. */
static void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 31u + seed * 7u + (i >> 8));
}

static int has_pattern(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (unsigned char)(i * 31u + seed * 7u + (i >> 8)))
            return 0;
    }
    return 1;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return 0;
    }
    return 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The permissions of the mapping containing addr in /proc/self/maps
 * ("rw-s"), or "" if none. */
static void mapping_perms(const void *addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    uintptr_t a = (uintptr_t)addr;

    perms[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo &&
            a < hi) {
            memcpy(perms, p, 5);
            break;
        }
    }
    fclose(f);
}

/* Runs fn with the file size limit set to limit bytes and SIGXFSZ ignored,
 * so that a library which allocates before checking free space fails with
 * EFBIG instead of filling the (shared) disk. */
static int with_fsize_limit(uint64_t limit, int (*fn)(void *), void *ctx)
{
    struct rlimit old, lim;
    struct sigaction ign = {.sa_handler = SIG_IGN}, oldsa;
    int rc;

    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > limit)
        lim.rlim_cur = limit;
    sigaction(SIGXFSZ, &ign, &oldsa);
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = fn(ctx);
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &oldsa, NULL);
    return rc;
}

/* Free bytes for an unprivileged user on the filesystem holding path. */
static uint64_t free_bytes(const char *path)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) != 0)
        return 0;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

static const struct {
    mms_dtype dtype;
    size_t size;
    const char *descr;
} dtypes[] = {
    {MMS_BOOL, 1, "|b1"},       {MMS_INT8, 1, "|i1"},
    {MMS_INT16, 2, "<i2"},      {MMS_INT32, 4, "<i4"},
    {MMS_INT64, 8, "<i8"},      {MMS_UINT8, 1, "|u1"},
    {MMS_UINT16, 2, "<u2"},     {MMS_UINT32, 4, "<u4"},
    {MMS_UINT64, 8, "<u8"},     {MMS_FLOAT16, 2, "<f2"},
    {MMS_FLOAT32, 4, "<f4"},    {MMS_FLOAT64, 8, "<f8"},
    {MMS_COMPLEX64, 8, "<c8"},  {MMS_COMPLEX128, 16, "<c16"},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

/* ---- create ------------------------------------------------------------ */

static void create_gives_zeroed_page_aligned_data(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {1000, 3};
    mms_array *a = NULL;
    double *d;

    TU_OK_FATAL(mms_array_create(s, "m", MMS_FLOAT64, 2, shape, 0, &a));
    d = mms_array_data(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL((uintptr_t)d % PAGE, 0);
    CU_ASSERT(all_zero(d, 3000 * sizeof *d));
    for (int i = 0; i < 3000; i++)
        d[i] = i * 0.5; /* writable */
    CU_ASSERT_EQUAL(d[2999], 1499.5);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void create_reports_info(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[3] = {7, 5, 3};
    mms_array *a = NULL;
    mms_info info;
    int64_t t0 = now_ns(), t1;

    TU_OK_FATAL(mms_array_create(s, "i", MMS_INT16, 3, shape, 0, &a));
    t1 = now_ns();
    memset(&info, 0xa5, sizeof info);
    TU_OK_FATAL(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.dtype, MMS_INT16);
    CU_ASSERT_EQUAL(info.ndim, 3);
    CU_ASSERT_EQUAL(info.shape[0], 7);
    CU_ASSERT_EQUAL(info.shape[1], 5);
    CU_ASSERT_EQUAL(info.shape[2], 3);
    for (int i = 3; i < MMS_MAX_NDIM; i++)
        TU_CHECKF(info.shape[i] == 0, "shape[%d] past ndim is %llu, not 0", i,
                  (unsigned long long)info.shape[i]);
    CU_ASSERT_EQUAL(info.itemsize, 2);
    CU_ASSERT_EQUAL(info.nbytes, 7 * 5 * 3 * 2);
    CU_ASSERT_EQUAL(info.generation, 1);
    CU_ASSERT(info.id >= 1);
    CU_ASSERT(info.capacity_rows >= 7);
    CU_ASSERT_EQUAL(info.block_size, mms_store_block_size(s));
    TU_CHECKF(info.created_ns >= t0 && info.created_ns <= t1,
              "created_ns %lld is not between %lld and %lld",
              (long long)info.created_ns, (long long)t0, (long long)t1);
    CU_ASSERT(info.modified_ns >= info.created_ns);
    TU_RC(MMS_ERR_INVAL, mms_array_info(a, NULL));
    TU_RC(MMS_ERR_INVAL, mms_array_info(NULL, &info));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void create_every_dtype_round_trips(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {3, 5};

    for (size_t k = 0; k < NDTYPES; k++) {
        char name[64];
        mms_array *a = NULL;
        mms_info info;
        size_t n = 15 * dtypes[k].size;

        snprintf(name, sizeof name, "dtype/%s", dtypes[k].descr + 1);
        TU_OK_FATAL(mms_array_create(s, name, dtypes[k].dtype, 2, shape, 0,
                                     &a));
        TU_OK(mms_array_info(a, &info));
        TU_CHECKF(info.dtype == dtypes[k].dtype && info.itemsize ==
                  dtypes[k].size && info.nbytes == n, "%s: dtype %d itemsize "
                  "%llu nbytes %llu", dtypes[k].descr, (int)info.dtype,
                  (unsigned long long)info.itemsize,
                  (unsigned long long)info.nbytes);
        check_npy(mms_array_path(a), &info);
        if (dtypes[k].dtype == MMS_BOOL)
            memset(mms_array_data(a), 1, n);
        else
            fill_pattern(mms_array_data(a), n, (unsigned)k);
        TU_OK(mms_array_close(a));

        a = NULL;
        TU_OK_FATAL(mms_array_open(s, name, MMS_RDONLY, &a));
        if (dtypes[k].dtype == MMS_BOOL) {
            const unsigned char *b = mms_array_data(a);
            for (size_t i = 0; i < n; i++)
                TU_CHECKF(b[i] == 1, "bool element %zu is %d", i, b[i]);
        } else {
            TU_CHECKF(has_pattern(mms_array_data(a), n, (unsigned)k),
                      "%s: data differs after reopen", dtypes[k].descr);
        }
        TU_OK(mms_array_close(a));
    }
    TU_OK(mms_store_close(s));
}

static void create_ndim_0_1_2_32(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[MMS_MAX_NDIM];
    const int ndims[] = {0, 1, 2, 32};

    for (size_t k = 0; k < sizeof ndims / sizeof ndims[0]; k++) {
        int nd = ndims[k];
        char name[32];
        mms_array *a = NULL;
        mms_info info;
        uint64_t elems = 1;

        for (int i = 0; i < nd; i++) {
            shape[i] = (i == 0) ? 3 : (i == nd - 1) ? 2 : 1;
            elems *= shape[i];
        }
        snprintf(name, sizeof name, "nd%d", nd);
        TU_OK_FATAL(mms_array_create(s, name, MMS_INT32, nd, shape, 0, &a));
        TU_OK(mms_array_info(a, &info));
        TU_CHECKF(info.ndim == nd && info.nbytes == elems * 4,
                  "ndim %d: info says ndim %d nbytes %llu", nd, info.ndim,
                  (unsigned long long)info.nbytes);
        for (int i = 0; i < nd; i++)
            CU_ASSERT_EQUAL(info.shape[i], shape[i]);
        fill_pattern(mms_array_data(a), (size_t)info.nbytes, (unsigned)nd);
        check_npy(mms_array_path(a), &info);
        TU_OK(mms_array_close(a));
    }
    TU_OK(mms_store_close(s));

    /* Everything is still there after reopening the store. */
    s = NULL;
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    for (size_t k = 0; k < sizeof ndims / sizeof ndims[0]; k++) {
        char name[32];
        mms_array *a = NULL;
        mms_info info;
        snprintf(name, sizeof name, "nd%d", ndims[k]);
        TU_OK_FATAL(mms_array_open(s, name, MMS_RDONLY, &a));
        TU_OK(mms_array_info(a, &info));
        CU_ASSERT_EQUAL(info.ndim, ndims[k]);
        TU_CHECKF(has_pattern(mms_array_data(a), (size_t)info.nbytes,
                              (unsigned)ndims[k]),
                  "ndim %d: data differs after reopening the store", ndims[k]);
        TU_OK(mms_array_close(a));
    }
    TU_OK(mms_store_close(s));
}

static void zero_d_array_holds_one_element(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = NULL;
    mms_info info;
    double *d;

    TU_OK_FATAL(mms_array_create(s, "scalar", MMS_FLOAT64, 0, NULL, 0, &a));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.ndim, 0);
    CU_ASSERT_EQUAL(info.nbytes, 8);
    CU_ASSERT_EQUAL(info.shape[0], 0);
    CU_ASSERT_EQUAL(info.capacity_rows, 1);
    check_npy(mms_array_path(a), &info);
    d = mms_array_data(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(*d, 0.0);
    *d = 3.25;
    TU_OK(mms_array_sync_range(a, 0, 1));
    TU_OK(mms_array_sync_range(a, 0, 0));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 1, 1));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 0, 2));
    TU_RC(MMS_ERR_INVAL, mms_array_resize(a, 2));
    TU_OK(mms_array_close(a));

    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "scalar", MMS_RDONLY, &a));
    CU_ASSERT_EQUAL(*(const double *)mms_array_data(a), 3.25);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void zero_size_arrays_have_a_mapped_page(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t empty1[1] = {0}, empty3[3] = {5, 0, 3};
    mms_array *a = NULL, *b = NULL;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "e1", MMS_FLOAT64, 1, empty1, 0, &a));
    TU_OK_FATAL(mms_array_create(s, "e3", MMS_INT32, 3, empty3, 0, &b));
    for (int k = 0; k < 2; k++) {
        mms_array *x = k ? b : a;
        const volatile unsigned char *p = mms_array_data(x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL((uintptr_t)p % PAGE, 0);
        CU_ASSERT_EQUAL(p[0], 0); /* the page is mapped and readable */
        TU_OK(mms_array_info(x, &info));
        CU_ASSERT_EQUAL(info.nbytes, 0);
        CU_ASSERT_EQUAL(info.checksum, 0); /* no blocks */
        check_npy(mms_array_path(x), &info);
        TU_OK(mms_array_sync(x));
    }
    TU_OK(mms_verify(s, "e1", NULL, NULL));
    TU_OK(mms_verify(s, "e3", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_array_close(b));

    /* They reopen and grow like any other array. */
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "e3", MMS_RDWR, &a));
    TU_OK(mms_array_resize(a, 9));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.shape[0], 9);
    CU_ASSERT_EQUAL(info.nbytes, 0);
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "e1", MMS_RDWR, &a));
    TU_OK(mms_array_resize(a, 10));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.nbytes, 80);
    CU_ASSERT(all_zero(mms_array_data(a), 80));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void ids_are_never_reused(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {4}, ids[3];
    mms_array *a = NULL;
    mms_info info;

    for (int i = 0; i < 3; i++) {
        TU_OK_FATAL(mms_array_create(s, "again", MMS_UINT8, 1, shape, 0, &a));
        TU_OK(mms_array_info(a, &info));
        ids[i] = info.id;
        ((unsigned char *)mms_array_data(a))[0] = 9;
        TU_OK(mms_array_close(a));
        TU_OK(mms_remove(s, "again"));
    }
    CU_ASSERT_EQUAL(ids[0], 1); /* next_id starts at 1 */
    CU_ASSERT(ids[1] > ids[0]);
    CU_ASSERT(ids[2] > ids[1]);
    TU_OK(mms_store_close(s));
}

static void names_at_the_limits_are_accepted(void)
{
    mms_store *s = tu_new_store(NULL);
    char longest[MMS_NAME_MAX + 1];
    const char *names[] = {
        longest, "x", "caf\xc3\xa9/na\xc3\xafve/\xe6\x95\xb0\xe6\x8d\xae",
        "a b/c-d_e.f", "images/", "emoji\xf0\x9f\x98\x80", "a//b",
    };
    uint64_t shape[1] = {2};

    memset(longest, 'n', MMS_NAME_MAX);
    longest[MMS_NAME_MAX] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mms_array *a = NULL;
        mms_info info;
        TU_OK(mms_array_create(s, names[i], MMS_UINT8, 1, shape, 0, &a));
        TU_OK(mms_array_close(a));
        TU_OK(mms_stat(s, names[i], &info));
    }
    CU_ASSERT_EQUAL(array_count(s), (int)(sizeof names / sizeof names[0]));
    TU_OK(mms_store_close(s));
}

/* ---- bad input to create ----------------------------------------------- */

static void create_rejects_invalid_names(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    char toolong[MMS_NAME_MAX + 2];
    const char *bad[] = {
        "",            toolong,        "a\x01" "b",  "tab\there",
        "nl\n",        "del\x7f",      "us\x1f",     "/abs",
        "\xff",        "ab\xc3",       "\x80x",      "\xc0\xaf",
        "\xed\xa0\x80", "\xf8\x88\x80\x80\x80",
    };
    uint64_t shape[1] = {4};

    memset(toolong, 'n', MMS_NAME_MAX + 1);
    toolong[MMS_NAME_MAX + 1] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mms_array *a = (mms_array *)&a;
        int rc = mms_array_create(s, bad[i], MMS_UINT8, 1, shape, 0, &a);
        TU_CHECKF(rc == MMS_ERR_INVAL, "create with bad name #%zu (%.20s...) "
                  "returned %d (%s), expected MMS_ERR_INVAL", i, bad[i], rc,
                  mms_strerror(rc));
        CU_ASSERT_PTR_NULL(a);
        if (rc == MMS_OK && a && a != (mms_array *)&a)
            mms_array_close(a);
    }
    {
        mms_array *a = (mms_array *)&a;
        TU_RC(MMS_ERR_INVAL, mms_array_create(s, NULL, MMS_UINT8, 1, shape,
                                              0, &a));
        CU_ASSERT_PTR_NULL(a);
    }
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    TU_OK(mms_store_close(s));
}

static void create_rejects_unknown_dtype(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {4};
    const int bad[] = {0, 15, 99, -1};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mms_array *a = (mms_array *)&a;
        TU_RC(MMS_ERR_DTYPE, mms_array_create(s, "d", (mms_dtype)bad[i], 1,
                                              shape, 0, &a));
        CU_ASSERT_PTR_NULL(a);
    }
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    TU_OK(mms_store_close(s));
}

static void create_rejects_ndim_out_of_range(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[MMS_MAX_NDIM + 1];
    mms_array *a = (mms_array *)&a;

    for (int i = 0; i <= MMS_MAX_NDIM; i++)
        shape[i] = 1;
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "n", MMS_INT8, -1, shape, 0, &a));
    CU_ASSERT_PTR_NULL(a);
    a = (mms_array *)&a;
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "n", MMS_INT8, MMS_MAX_NDIM + 1,
                                          shape, 0, &a));
    CU_ASSERT_PTR_NULL(a);
    a = (mms_array *)&a;
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "n", MMS_INT8, INT_MIN, shape, 0,
                                          &a));
    CU_ASSERT_PTR_NULL(a);
    a = (mms_array *)&a;
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "n", MMS_INT8, 2, NULL, 0, &a));
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    TU_OK(mms_store_close(s));
}

static void create_rejects_unknown_flags_and_null_arguments(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {4};
    mms_array *a = (mms_array *)&a;

    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "f", MMS_INT8, 1, shape, 0x1000,
                                          &a));
    CU_ASSERT_PTR_NULL(a);
    TU_RC(MMS_ERR_INVAL, mms_array_create(NULL, "f", MMS_INT8, 1, shape, 0,
                                          &a));
    TU_RC(MMS_ERR_INVAL, mms_array_create(s, "f", MMS_INT8, 1, shape, 0,
                                          NULL));
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    TU_OK(mms_store_close(s));
}

static void create_overflowing_shape_is_toobig(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    static const struct {
        mms_dtype dtype;
        int ndim;
        uint64_t shape[3];
    } cases[] = {
        {MMS_FLOAT64, 1, {UINT64_C(1) << 61}},            /* 2^64 bytes */
        {MMS_UINT8, 2, {UINT64_C(1) << 32, UINT64_C(1) << 32}},
        {MMS_INT8, 2, {3, UINT64_MAX / 2}},
        {MMS_COMPLEX128, 3, {UINT64_MAX, UINT64_MAX, 2}},
        {MMS_UINT8, 1, {UINT64_MAX}},   /* no overflow, beyond any address */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mms_array *a = (mms_array *)&a;
        int rc = mms_array_create(s, "big", cases[i].dtype, cases[i].ndim,
                                  cases[i].shape, 0, &a);
        TU_CHECKF(rc == MMS_ERR_TOOBIG, "create of too-big case %zu returned "
                  "%d (%s: %s), expected MMS_ERR_TOOBIG", i, rc,
                  mms_strerror(rc), mms_errmsg());
        CU_ASSERT_PTR_NULL(a);
    }
    {
        /* 32 dimensions of 4: 4^32 = 2^64 elements. */
        uint64_t shape[MMS_MAX_NDIM];
        mms_array *a = (mms_array *)&a;
        for (int i = 0; i < MMS_MAX_NDIM; i++)
            shape[i] = 4;
        TU_RC(MMS_ERR_TOOBIG, mms_array_create(s, "big", MMS_INT8,
                                               MMS_MAX_NDIM, shape, 0, &a));
        CU_ASSERT_PTR_NULL(a);
    }
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    TU_OK(mms_store_close(s));
}

typedef struct create_args {
    mms_store *s;
    const char *name;
    uint64_t bytes;
    mms_array *out;
} create_args;

static int create_bytes(void *ctx)
{
    create_args *c = ctx;
    uint64_t shape[1] = {c->bytes};
    c->out = (mms_array *)c;
    return mms_array_create(c->s, c->name, MMS_UINT8, 1, shape, 0, &c->out);
}

static void create_larger_than_free_space_is_nospc_and_leaves_nothing(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t before = free_bytes(path);
    uint64_t want = before + NOSPC_MARGIN;
    create_args c = {.s = s, .name = "huge", .bytes = want};
    mms_info info;
    int rc;

    if (want >= (UINT64_C(8) << 40)) {
        /* ext4 cannot hold one file that large: no way to ask for "more
         * than free" without hitting a size limit first. */
        fprintf(stderr, "skipped: %llu bytes free\n",
                (unsigned long long)before);
        TU_OK(mms_store_close(s));
        return;
    }
    rc = with_fsize_limit(GIB, create_bytes, &c);
    TU_CHECKF(rc == MMS_ERR_NOSPC, "create of %llu bytes with %llu free "
              "returned %d (%s: %s), expected MMS_ERR_NOSPC",
              (unsigned long long)want, (unsigned long long)before, rc,
              mms_strerror(rc), mms_errmsg());
    CU_ASSERT_PTR_NULL(c.out);
    CU_ASSERT(strlen(mms_errmsg()) > 0);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "huge", &info));
    CU_ASSERT_EQUAL(array_count(s), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    /* The store still works. */
    c.bytes = 4096;
    c.name = "small";
    TU_OK(create_bytes(&c));
    TU_OK(mms_array_close(c.out));
    TU_OK(mms_store_close(s));
}

static void create_existing_name_is_exists(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {64}, other[2] = {2, 2};
    mms_array *a = NULL, *b = (mms_array *)&b;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "taken", MMS_UINT8, 1, shape, 0, &a));
    fill_pattern(mms_array_data(a), 64, 3);
    TU_OK(mms_array_close(a));
    TU_RC(MMS_ERR_EXISTS, mms_array_create(s, "taken", MMS_FLOAT32, 2, other,
                                           0, &b));
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "taken"));
    CU_ASSERT_EQUAL(su_data_entries(path), 1);
    TU_OK(mms_stat(s, "taken", &info));
    CU_ASSERT_EQUAL(info.dtype, MMS_UINT8);
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "taken", MMS_RDONLY, &a));
    CU_ASSERT(has_pattern(mms_array_data(a), 64, 3));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- bad input to open ------------------------------------------------- */

/* A closed store holding "victim", float64 (1000, 3) with a pattern, and
 * "bystander"; returns the path of victim's data file in file. */
static const char *make_victim(char *file, size_t size, mms_info *vinfo)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {1000, 3};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, "victim", MMS_FLOAT64, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 24000, 1);
    TU_OK(mms_array_info(a, vinfo));
    snprintf(file, size, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));
    TU_OK_FATAL(mms_array_create(s, "bystander", MMS_INT8, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    return path;
}

static void expect_open_corrupt_at(int line, const char *store,
                                   const char *what)
{
    mms_store *s = NULL;
    mms_array *a = (mms_array *)&a;
    int rc;

    TU_OK_FATAL(mms_store_open(store, 0, &s));
    for (int rw = 0; rw < 2; rw++) {
        a = (mms_array *)&a;
        rc = mms_array_open(s, "victim", rw ? MMS_RDWR : MMS_RDONLY, &a);
        TU_CHECKF_AT(line, rc == MMS_ERR_CORRUPT, "open (%s) with %s returned "
                     "%d (%s: %s), expected MMS_ERR_CORRUPT",
                     rw ? "RDWR" : "RDONLY", what, rc, mms_strerror(rc),
                     mms_errmsg());
        TU_CHECKF_AT(line, strstr(mms_errmsg(), "victim") != NULL, "the "
                     "message for %s does not name the array: \"%s\"", what,
                     mms_errmsg());
        TU_CHECKF_AT(line, a == NULL, "a failed open left *out non-NULL");
        if (rc == MMS_OK)
            mms_array_close(a);
    }
    /* Other arrays are unaffected. */
    a = NULL;
    TU_OK(mms_array_open(s, "bystander", MMS_RDONLY, &a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}
#define expect_open_corrupt(store, what)                                    \
    expect_open_corrupt_at(__LINE__, store, what)

static void expect_open_ok(const char *store)
{
    mms_store *s = NULL;
    mms_array *a = NULL;

    TU_OK_FATAL(mms_store_open(store, 0, &s));
    TU_OK(mms_array_open(s, "victim", MMS_RDONLY, &a));
    if (a)
        CU_ASSERT(has_pattern(mms_array_data(a), 24000, 1));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void open_missing_is_notfound_naming_the_array(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_array *a = (mms_array *)&a;

    TU_RC(MMS_ERR_NOTFOUND, mms_array_open(s, "no/such/array", MMS_RDONLY,
                                           &a));
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "no/such/array"));
    TU_RC(MMS_ERR_INVAL, mms_array_open(NULL, "x", MMS_RDONLY, &a));
    TU_RC(MMS_ERR_INVAL, mms_array_open(s, "x", MMS_RDONLY, NULL));
    TU_OK(mms_store_close(s));
}

static void open_with_missing_data_file_is_corrupt(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);

    CU_ASSERT_EQUAL_FATAL(unlink(file), 0);
    expect_open_corrupt(store, "a missing data file");
}

static void replace_in_header(const char *file, const char *from,
                              const char *to)
{
    char hdr[PAGE + 1];
    char *at;

    CU_ASSERT_EQUAL_FATAL(strlen(from), strlen(to));
    CU_ASSERT_EQUAL_FATAL(su_pread(file, 0, hdr, PAGE), 0);
    hdr[PAGE] = '\0';
    at = memmem(hdr, PAGE, from, strlen(from));
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    CU_ASSERT_EQUAL_FATAL(su_pwrite(file, (uint64_t)(at - hdr), to,
                                    strlen(to)), 0);
}

static void open_with_disagreeing_header_is_corrupt(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);

    replace_in_header(file, "(1000, 3)", "(1001, 3)");
    expect_open_corrupt(store, "a header shape of (1001, 3)");
    replace_in_header(file, "(1001, 3)", "(1000, 3)");
    expect_open_ok(store);

    replace_in_header(file, "(1000, 3)", "(3, 1000)");
    expect_open_corrupt(store, "a header shape of (3, 1000)");
    replace_in_header(file, "(3, 1000)", "(1000, 3)");

    replace_in_header(file, "'<f8'", "'<i8'");
    expect_open_corrupt(store, "a header descr of <i8");
    replace_in_header(file, "'<i8'", "'<f8'");

    replace_in_header(file, "False,", "True ,");
    expect_open_corrupt(store, "fortran_order True");
    replace_in_header(file, "True ,", "False,");

    replace_in_header(file, "\x93NUMPY", "\x93NUMPX");
    expect_open_corrupt(store, "a bad magic");
    replace_in_header(file, "\x93NUMPX", "\x93NUMPY");
    expect_open_ok(store);
}

static void open_with_truncated_data_file_is_corrupt(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);

    /* Mapping a file shorter than the data would mean SIGBUS later. */
    CU_ASSERT_EQUAL_FATAL(truncate(file, PAGE + 100), 0);
    expect_open_corrupt(store, "a truncated data file");
    CU_ASSERT_EQUAL_FATAL(truncate(file, 0), 0);
    expect_open_corrupt(store, "an empty data file");
}

static int list_ignore(const char *name, const mms_info *info, void *ctx)
{
    (void)name;
    (void)info;
    (void)ctx;
    return 0;
}

/* Replaces victim's catalog record by rec (len bytes) and checks that open,
 * stat, list and verify all say CORRUPT naming it, and that bystander is
 * fine. */
static void expect_record_corrupt_at(int line, const char *store,
                                     const void *rec, size_t len,
                                     const char *what)
{
    mms_store *s = NULL;
    mms_info info;
    int rc = su_cat_put(store, "arrays", "victim", 6, rec, len);

    TU_CHECKF_AT(line, rc == 0, "editing the catalog: %s", su_strerror(rc));
    expect_open_corrupt_at(line, store, what);
    TU_OK_FATAL(mms_store_open(store, MMS_RDONLY, &s));
    rc = mms_stat(s, "victim", &info);
    TU_CHECKF_AT(line, rc == MMS_ERR_CORRUPT && strstr(mms_errmsg(), "victim"),
                 "stat with %s returned %d (%s: %s), expected MMS_ERR_CORRUPT "
                 "naming the array", what, rc, mms_strerror(rc), mms_errmsg());
    rc = mms_list(s, NULL, list_ignore, NULL);
    TU_CHECKF_AT(line, rc == MMS_ERR_CORRUPT && strstr(mms_errmsg(), "victim"),
                 "list with %s returned %d (%s: %s), expected MMS_ERR_CORRUPT "
                 "naming the array", what, rc, mms_strerror(rc), mms_errmsg());
    rc = mms_verify(s, "victim", NULL, NULL);
    TU_CHECKF_AT(line, rc == MMS_ERR_CORRUPT, "verify with %s returned %d "
                 "(%s)", what, rc, mms_strerror(rc));
    TU_OK(mms_stat(s, "bystander", &info));
    TU_OK(mms_store_close(s));
}
#define expect_record_corrupt(store, rec, len, what)                         \
    expect_record_corrupt_at(__LINE__, store, rec, len, what)

static void flipped_catalog_record_byte_is_corrupt(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);
    unsigned char *rec = NULL;
    void *v = NULL;
    size_t len = 0;
    int rc = su_cat_get(store, "arrays", "victim", 6, &v, &len);

    TU_CHECKF(rc == 0, "reading the record: %s", su_strerror(rc));
    CU_ASSERT_EQUAL_FATAL(len, SU_RECORD_SIZE(2));
    rec = v;
    /* One bit in the id, in the shape, and in the trailing hash. */
    const size_t offsets[] = {17, SU_RECORD_FIXED + 3, len - 1};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        char what[64];
        rec[offsets[i]] ^= 0x10;
        snprintf(what, sizeof what, "a flipped record byte %zu", offsets[i]);
        expect_record_corrupt(store, rec, len, what);
        rec[offsets[i]] ^= 0x10;
    }
    CU_ASSERT_EQUAL(su_cat_put(store, "arrays", "victim", 6, rec, len), 0);
    expect_open_ok(store);
    free(v);
}

static void malformed_catalog_records_are_corrupt(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);
    unsigned char orig[SU_RECORD_SIZE(MMS_MAX_NDIM + 1)];
    unsigned char rec[sizeof orig];
    const size_t len = SU_RECORD_SIZE(2);
    void *v = NULL;
    size_t vlen = 0;

    CU_ASSERT_EQUAL_FATAL(su_cat_get(store, "arrays", "victim", 6, &v,
                                     &vlen), 0);
    CU_ASSERT_EQUAL_FATAL(vlen, len);
    memcpy(orig, v, len);
    free(v);

    /* Each is well hashed, so only the named field is wrong. */
    memcpy(rec, orig, len);
    expect_record_corrupt(store, rec, 0, "an empty record");
    expect_record_corrupt(store, rec, 50, "a truncated record");

    memcpy(rec, orig, len);
    su_put_le64(rec + len, 0);
    su_record_rehash(rec, len + 8);
    expect_record_corrupt(store, rec, len + 8, "a record 8 bytes too long");

    memcpy(rec, orig, len);
    memcpy(rec, "XXXX", 4);
    su_record_rehash(rec, len);
    expect_record_corrupt(store, rec, len, "a bad magic");

    memcpy(rec, orig, len);
    rec[4] = 2;
    su_record_rehash(rec, len);
    {
        /* A newer record version is not damage: it is MMS_ERR_VERSION
         * (docs/format.md), still naming the array. */
        mms_store *s = NULL;
        mms_array *a = NULL;
        mms_info vinfo;
        CU_ASSERT_EQUAL_FATAL(su_cat_put(store, "arrays", "victim", 6, rec,
                                         len), 0);
        TU_OK_FATAL(mms_store_open(store, MMS_RDONLY, &s));
        TU_RC(MMS_ERR_VERSION, mms_array_open(s, "victim", MMS_RDONLY, &a));
        CU_ASSERT_PTR_NULL(a);
        TU_RC(MMS_ERR_VERSION, mms_stat(s, "victim", &vinfo));
        CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "victim"));
        TU_RC(MMS_ERR_VERSION, mms_list(s, NULL, list_ignore, NULL));
        TU_OK(mms_stat(s, "bystander", &vinfo));
        TU_OK(mms_store_close(s));
    }

    const uint32_t bad_dtypes[] = {0, 15, 99};
    for (size_t i = 0; i < 3; i++) {
        memcpy(rec, orig, len);
        su_put_le32(rec + 8, bad_dtypes[i]);
        su_record_rehash(rec, len);
        expect_record_corrupt(store, rec, len, "an unknown dtype");
    }

    memcpy(rec, orig, len);
    rec[6] = 3; /* ndim 3 in a record sized for 2 */
    su_record_rehash(rec, len);
    expect_record_corrupt(store, rec, len, "ndim disagreeing with size");

    {
        /* ndim 33, with a record of the size 33 dimensions would need. */
        size_t big = SU_RECORD_SIZE(MMS_MAX_NDIM + 1);
        memset(rec, 0, sizeof rec);
        memcpy(rec, orig, SU_RECORD_FIXED);
        rec[6] = MMS_MAX_NDIM + 1;
        rec[7] = 0;
        for (int i = 0; i <= MMS_MAX_NDIM; i++)
            su_put_le64(rec + SU_RECORD_FIXED + 8 * i, i ? 1 : 1000);
        su_record_rehash(rec, big);
        expect_record_corrupt(store, rec, big, "ndim 33");
    }

    memcpy(rec, orig, len);
    su_put_le64(rec + 24, 999); /* capacity_rows < shape[0] = 1000 */
    su_record_rehash(rec, len);
    expect_record_corrupt(store, rec, len, "capacity below shape[0]");

    memcpy(rec, orig, len);
    su_put_le64(rec + SU_RECORD_FIXED, UINT64_C(1) << 62);
    su_put_le64(rec + 24, UINT64_C(1) << 62);
    su_record_rehash(rec, len);
    expect_record_corrupt(store, rec, len, "a byte size overflowing 64 bits");

    /* The original record still works: the checks were about the edits. */
    CU_ASSERT_EQUAL(su_cat_put(store, "arrays", "victim", 6, orig, len), 0);
    expect_open_ok(store);
}

static void rdwr_open_in_rdonly_store_is_rdonly(void)
{
    char file[PATH_MAX];
    mms_info info;
    const char *store = make_victim(file, sizeof file, &info);
    mms_store *s = NULL;
    mms_array *a = (mms_array *)&a;

    TU_OK_FATAL(mms_store_open(store, MMS_RDONLY, &s));
    TU_RC(MMS_ERR_RDONLY, mms_array_open(s, "victim", MMS_RDWR, &a));
    CU_ASSERT_PTR_NULL(a);
    TU_OK(mms_stat(s, "victim", &info));
    CU_ASSERT_EQUAL(info.state, MMS_STATE_CLEAN);
    TU_OK(mms_store_close(s));
}

/* ---- the data file ----------------------------------------------------- */

static void data_file_is_a_valid_npy_named_by_id(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {1000, 3};
    mms_array *a = NULL;
    mms_info info;
    char expected[PATH_MAX];
    struct stat st1, st2;
    unsigned char back[64];

    TU_OK_FATAL(mms_array_create(s, "npy", MMS_FLOAT64, 2, shape, 0, &a));
    TU_OK(mms_array_info(a, &info));
    check_npy(mms_array_path(a), &info);
    {
        /* format.md's own example header, byte for byte. */
        char hdr[80];
        const char *ex = "{'descr': '<f8', 'fortran_order': False, "
                         "'shape': (1000, 3), }";
        CU_ASSERT_EQUAL(su_pread(mms_array_path(a), 10, hdr, strlen(ex)), 0);
        CU_ASSERT(memcmp(hdr, ex, strlen(ex)) == 0);
    }
    su_data_path(expected, sizeof expected, path, info.id);
    CU_ASSERT_EQUAL(stat(expected, &st1), 0);
    CU_ASSERT_EQUAL(stat(mms_array_path(a), &st2), 0);
    CU_ASSERT(st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev);
    CU_ASSERT_EQUAL(su_data_entries(path), 1);

    /* The mapping is the file's bytes from offset 4096. */
    fill_pattern(mms_array_data(a), 24000, 5);
    TU_OK(mms_array_sync(a));
    CU_ASSERT_EQUAL(su_pread(expected, PAGE, back, sizeof back), 0);
    CU_ASSERT(has_pattern(back, sizeof back, 5));
    CU_ASSERT_EQUAL(su_pread(expected, PAGE + 24000 - 64, back, 64), 0);
    CU_ASSERT(memcmp(back, (unsigned char *)mms_array_data(a) + 24000 - 64,
                     64) == 0);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void catalog_record_matches_format_md(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {3, 5};
    mms_array *a = NULL;
    mms_info info;
    unsigned char *rec, check[SU_RECORD_SIZE(2)];
    void *v = NULL;
    size_t len = 0;

    TU_OK_FATAL(mms_array_create(s, "rec", MMS_INT16, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 30, 2);
    TU_OK(mms_array_close(a));
    TU_OK(mms_stat(s, "rec", &info));
    TU_OK(mms_store_close(s));

    CU_ASSERT_EQUAL_FATAL(su_cat_get(path, "arrays", "rec", 3, &v, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, SU_RECORD_SIZE(2));
    rec = v;
    CU_ASSERT(memcmp(rec, "MMSA", 4) == 0);
    CU_ASSERT_EQUAL(su_le16(rec + 4), 1);
    CU_ASSERT_EQUAL(su_le16(rec + 6), 2);
    CU_ASSERT_EQUAL(su_le32(rec + 8), 3); /* int16 */
    CU_ASSERT_EQUAL(su_le32(rec + 12), 0); /* clean: no DIRTY */
    CU_ASSERT_EQUAL(su_le64(rec + 16), info.id);
    CU_ASSERT_EQUAL(su_le64(rec + 24), info.capacity_rows);
    CU_ASSERT_EQUAL(su_le64(rec + 32), info.block_size);
    CU_ASSERT_EQUAL(su_le64(rec + 40), info.checksum);
    CU_ASSERT_EQUAL(su_le64(rec + 48), 1);
    CU_ASSERT_EQUAL((int64_t)su_le64(rec + 56), info.created_ns);
    CU_ASSERT_EQUAL((int64_t)su_le64(rec + 64), info.modified_ns);
    CU_ASSERT_EQUAL(su_le64(rec + 72), 3);
    CU_ASSERT_EQUAL(su_le64(rec + 80), 5);
    memcpy(check, rec, len);
    su_record_rehash(check, len);
    TU_CHECKF(memcmp(check, rec, len) == 0, "the record's trailing hash is "
              "not XXH3-64 of its first %zu bytes", len - 8);
    free(v);
}

/* ---- mappings ---------------------------------------------------------- */

static void rdonly_open_maps_prot_read(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {PAGE};
    mms_array *a = NULL;
    char perms[5];
    unsigned char *p;
    pid_t pid;
    int status = 0;

    TU_OK_FATAL(mms_array_create(s, "ro", MMS_UINT8, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "ro", MMS_RDONLY, &a));
    p = mms_array_data(a);
    mapping_perms(p, perms);
    TU_CHECKF(strcmp(perms, "r--s") == 0, "read-only data is mapped \"%s\", "
              "expected \"r--s\"", perms);

    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile unsigned char *)p = 1;
        _exit(0);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    TU_CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "writing to read-only data did not raise SIGSEGV (status 0x%x)",
              status);
    CU_ASSERT_EQUAL(p[0], 0);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void rdwr_open_maps_shared_writable(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {PAGE};
    mms_array *a = NULL, *b = NULL;
    char perms[5];

    TU_OK_FATAL(mms_array_create(s, "rw", MMS_UINT8, 1, shape, 0, &a));
    mapping_perms(mms_array_data(a), perms);
    TU_CHECKF(strcmp(perms, "rw-s") == 0, "created data is mapped \"%s\", "
              "expected \"rw-s\"", perms);
    TU_OK_FATAL(mms_array_open(s, "rw", MMS_RDWR, &b));
    mapping_perms(mms_array_data(b), perms);
    TU_CHECKF(strcmp(perms, "rw-s") == 0, "RDWR data is mapped \"%s\", "
              "expected \"rw-s\"", perms);
    TU_OK(mms_array_close(a));
    TU_OK(mms_array_close(b));
    TU_OK(mms_store_close(s));
}

static void writes_are_seen_by_other_handles_at_once(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {1000};
    mms_array *w = NULL, *r = NULL;
    int64_t *wd;
    const int64_t *rd;

    TU_OK_FATAL(mms_array_create(s, "shared", MMS_INT64, 1, shape, 0, &w));
    TU_OK_FATAL(mms_array_open(s, "shared", MMS_RDONLY, &r));
    wd = mms_array_data(w);
    rd = mms_array_data(r);
    CU_ASSERT_PTR_NOT_EQUAL(wd, rd); /* two mappings, one file */
    for (int i = 0; i < 1000; i++)
        wd[i] = i * 3;
    for (int i = 0; i < 1000; i++) {
        if (rd[i] != i * 3) {
            TU_CHECKF(0, "element %d reads %lld through the other handle", i,
                      (long long)rd[i]);
            break;
        }
    }
    TU_OK(mms_array_close(w));
    TU_OK(mms_array_close(r));
    TU_OK(mms_store_close(s));
}

static void writes_persist_across_close_and_store_reopen(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {300, 7};
    mms_array *a = NULL;
    char file[PATH_MAX];
    unsigned char back[2100];

    TU_OK_FATAL(mms_array_create(s, "keep", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 2100, 9);
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "keep", MMS_RDWR, &a));
    CU_ASSERT(has_pattern(mms_array_data(a), 2100, 9));
    ((unsigned char *)mms_array_data(a))[2099] ^= 0xff;
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "keep", MMS_RDONLY, &a));
    CU_ASSERT(has_pattern(mms_array_data(a), 2099, 9));
    CU_ASSERT_EQUAL_FATAL(su_pread(file, PAGE, back, sizeof back), 0);
    CU_ASSERT(memcmp(back, mms_array_data(a), sizeof back) == 0);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- mms_array_write --------------------------------------------------- */

static void write_copies_into_the_data(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {100};
    mms_array *a = NULL;
    int32_t src[10], *d, back;

    for (int i = 0; i < 10; i++)
        src[i] = 1000 + i;
    TU_OK_FATAL(mms_array_create(s, "w", MMS_INT32, 1, shape, 0, &a));
    d = mms_array_data(a);
    TU_OK(mms_array_write(a, 40, src, sizeof src));
    CU_ASSERT_EQUAL(d[9], 0);
    CU_ASSERT_EQUAL(d[10], 1000);
    CU_ASSERT_EQUAL(d[19], 1009);
    CU_ASSERT_EQUAL(d[20], 0);
    TU_OK(mms_array_write(a, 396, src, 4)); /* exactly the last element */
    CU_ASSERT_EQUAL(d[99], 1000);
    TU_OK(mms_array_sync(a));
    CU_ASSERT_EQUAL(su_pread(mms_array_path(a), PAGE + 76, &back, 4), 0);
    CU_ASSERT_EQUAL(back, 1009);
    TU_OK(mms_verify(s, "w", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void write_past_nbytes_is_range(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {100};
    mms_array *a = NULL;
    int32_t src[2] = {7, 8}, *d;
    unsigned char spare;

    TU_OK_FATAL(mms_array_create(s, "w", MMS_INT32, 1, shape, 0, &a));
    d = mms_array_data(a);
    TU_RC(MMS_ERR_RANGE, mms_array_write(a, 396, src, 8));
    TU_RC(MMS_ERR_RANGE, mms_array_write(a, 400, src, 1));
    TU_RC(MMS_ERR_RANGE, mms_array_write(a, UINT64_MAX - 3, src, 8));
    TU_RC(MMS_ERR_RANGE, mms_array_write(a, UINT64_C(1) << 40, src, 4));
    CU_ASSERT_EQUAL(d[99], 0); /* nothing was written */
    CU_ASSERT_EQUAL(su_pread(mms_array_path(a), PAGE + 400, &spare, 1), 0);
    CU_ASSERT_EQUAL(spare, 0);
    TU_RC(MMS_ERR_INVAL, mms_array_write(a, 0, NULL, 4));
    TU_RC(MMS_ERR_INVAL, mms_array_write(NULL, 0, src, 4));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void write_on_rdonly_handle_is_rdonly(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {100};
    mms_array *a = NULL;
    int32_t v = 5;

    TU_OK_FATAL(mms_array_create(s, "w", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "w", MMS_RDONLY, &a));
    TU_RC(MMS_ERR_RDONLY, mms_array_write(a, 0, &v, sizeof v));
    CU_ASSERT_EQUAL(((const int32_t *)mms_array_data(a))[0], 0);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- sync -------------------------------------------------------------- */

static void sync_and_sync_range_of_valid_rows_succeed(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {100, 4};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, "s", MMS_FLOAT32, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 1600, 4);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_sync_range(a, 0, 100));
    TU_OK(mms_array_sync_range(a, 99, 1));
    TU_OK(mms_array_sync_range(a, 50, 0)); /* to the end */
    TU_OK(mms_array_sync_range(a, 0, 0));
    TU_OK(mms_verify(s, "s", NULL, NULL));
    TU_RC(MMS_ERR_INVAL, mms_array_sync(NULL));
    TU_RC(MMS_ERR_INVAL, mms_array_sync_range(NULL, 0, 1));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void sync_range_past_the_end_is_range(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {100, 4};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, "s", MMS_FLOAT32, 2, shape, 0, &a));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 100, 1));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 99, 2));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 0, 101));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 101, 0));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, UINT64_MAX, 2));
    TU_RC(MMS_ERR_RANGE, mms_array_sync_range(a, 1, UINT64_MAX));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void sync_on_rdonly_handle_is_rdonly(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {10};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, "s", MMS_FLOAT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "s", MMS_RDONLY, &a));
    TU_RC(MMS_ERR_RDONLY, mms_array_sync(a));
    TU_RC(MMS_ERR_RDONLY, mms_array_sync_range(a, 0, 1));
    TU_OK(mms_array_close(a)); /* closing a read-only handle syncs nothing */
    TU_OK(mms_store_close(s));
}

static void sync_after_remove_is_stale(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {1000};
    mms_array *a = NULL, *r = NULL;
    char file[PATH_MAX];
    int64_t *d;

    TU_OK_FATAL(mms_array_create(s, "doomed", MMS_INT64, 1, shape, 0, &a));
    TU_OK_FATAL(mms_array_open(s, "doomed", MMS_RDONLY, &r));
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_remove(s, "doomed"));
    CU_ASSERT_NOT_EQUAL(access(file, F_OK), 0);

    /* The mappings stay valid... */
    d = mms_array_data(a);
    d[999] = 77;
    CU_ASSERT_EQUAL(((const int64_t *)mms_array_data(r))[999], 77);
    /* ... but the writes are lost, and every call that would record them
     * says so. */
    TU_RC(MMS_ERR_STALE, mms_array_sync(a));
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "doomed"));
    TU_RC(MMS_ERR_STALE, mms_array_sync_range(a, 0, 1));
    TU_RC(MMS_ERR_STALE, mms_array_resize(a, 2000));
    TU_RC(MMS_ERR_STALE, mms_array_close(a));
    TU_OK(mms_array_close(r));
    TU_OK(mms_store_close(s));
}

static void sync_after_name_reused_is_stale(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {100};
    mms_array *old = NULL, *fresh = NULL;

    TU_OK_FATAL(mms_array_create(s, "reused", MMS_INT64, 1, shape, 0, &old));
    TU_OK(mms_remove(s, "reused"));
    TU_OK_FATAL(mms_array_create(s, "reused", MMS_INT64, 1, shape, 0,
                                 &fresh));
    ((int64_t *)mms_array_data(old))[0] = 5;
    TU_RC(MMS_ERR_STALE, mms_array_sync(old));
    TU_RC(MMS_ERR_STALE, mms_array_close(old));
    TU_OK(mms_array_sync(fresh));
    CU_ASSERT_EQUAL(((const int64_t *)mms_array_data(fresh))[0], 0);
    TU_OK(mms_array_close(fresh));
    TU_OK(mms_verify(s, "reused", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void sync_and_resize_update_modified_time(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {100};
    mms_array *a = NULL;
    mms_info i0, i1, i2;

    TU_OK_FATAL(mms_array_create(s, "t", MMS_INT64, 1, shape, 0, &a));
    TU_OK(mms_stat(s, "t", &i0));
    pause_ms(20);
    ((int64_t *)mms_array_data(a))[0] = 1;
    TU_OK(mms_array_sync(a));
    TU_OK(mms_stat(s, "t", &i1));
    CU_ASSERT(i1.modified_ns > i0.modified_ns);
    CU_ASSERT_EQUAL(i1.created_ns, i0.created_ns);
    pause_ms(20);
    TU_OK(mms_array_resize(a, 200));
    TU_OK(mms_stat(s, "t", &i2));
    CU_ASSERT(i2.modified_ns > i1.modified_ns);
    CU_ASSERT_EQUAL(i2.created_ns, i0.created_ns);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- resize ------------------------------------------------------------ */

static void resize_within_capacity_keeps_the_address(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {10, 4};
    mms_array *a = NULL;
    mms_info info;
    void *p;

    TU_OK_FATAL(mms_array_create(s, "r", MMS_FLOAT32, 2, shape, 0, &a));
    TU_OK(mms_array_resize(a, 11)); /* may grow the file */
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.shape[0], 11);
    TU_CHECKF(info.capacity_rows > 11, "capacity after growing to 11 rows is "
              "%llu: it does not grow geometrically",
              (unsigned long long)info.capacity_rows);
    p = mms_array_data(a);
    TU_OK(mms_array_resize(a, info.capacity_rows));
    CU_ASSERT_PTR_EQUAL(mms_array_data(a), p);
    TU_OK(mms_array_resize(a, 3));
    CU_ASSERT_PTR_EQUAL(mms_array_data(a), p);
    TU_OK(mms_array_resize(a, info.capacity_rows - 1));
    CU_ASSERT_PTR_EQUAL(mms_array_data(a), p);
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.nbytes, (info.capacity_rows - 1) * 16);
    check_npy(mms_array_path(a), &info);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void resize_past_capacity_keeps_the_data(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {1000, 4};
    mms_array *a = NULL;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "r", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 4000, 6);
    TU_OK(mms_array_info(a, &info));
    TU_OK(mms_array_resize(a, info.capacity_rows * 4 + 1000));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT(has_pattern(mms_array_data(a), 4000, 6));
    CU_ASSERT(all_zero((unsigned char *)mms_array_data(a) + 4000,
                       (size_t)info.nbytes - 4000));
    check_npy(mms_array_path(a), &info);
    TU_OK(mms_array_close(a));

    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "r", MMS_RDONLY, &a));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT(has_pattern(mms_array_data(a), 4000, 6));
    CU_ASSERT(info.shape[0] > 1000);
    TU_OK(mms_verify(s, "r", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void resize_new_rows_are_zero_after_shrink_then_grow(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {100, 16};
    mms_array *a = NULL;
    unsigned char *d, back[1440];

    TU_OK_FATAL(mms_array_create(s, "z", MMS_UINT8, 2, shape, 0, &a));
    d = mms_array_data(a);
    memset(d, 0xab, 1600);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_resize(a, 10));
    TU_OK(mms_array_resize(a, 100));
    d = mms_array_data(a);
    for (int i = 0; i < 160; i++)
        TU_CHECKF(d[i] == 0xab, "kept byte %d is 0x%02x", i, d[i]);
    TU_CHECKF(all_zero(d + 160, 1440), "rows 10..99 are not zero after "
              "shrinking to 10 rows and growing back");
    TU_OK(mms_array_close(a));
    /* On disk too. */
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "z", MMS_RDONLY, &a));
    CU_ASSERT_EQUAL(su_pread(mms_array_path(a), PAGE + 160, back,
                             sizeof back), 0);
    CU_ASSERT(all_zero(back, sizeof back));
    TU_OK(mms_verify(s, "z", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void resize_shrink_is_logical(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {500, 16};
    mms_array *a = NULL;
    mms_info before, after, st;
    struct stat f0, f1;

    TU_OK_FATAL(mms_array_create(s, "shrink", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 8000, 8);
    TU_OK(mms_array_info(a, &before));
    CU_ASSERT_EQUAL_FATAL(stat(mms_array_path(a), &f0), 0);
    TU_OK(mms_array_resize(a, 10));
    CU_ASSERT_EQUAL_FATAL(stat(mms_array_path(a), &f1), 0);
    CU_ASSERT_EQUAL(f1.st_size, f0.st_size); /* never truncated */
    TU_OK(mms_array_info(a, &after));
    CU_ASSERT_EQUAL(after.shape[0], 10);
    CU_ASSERT_EQUAL(after.nbytes, 160);
    CU_ASSERT_EQUAL(after.capacity_rows, before.capacity_rows);
    check_npy(mms_array_path(a), &after);
    TU_OK(mms_stat(s, "shrink", &st));
    CU_ASSERT_EQUAL(st.shape[0], 10);
    CU_ASSERT_EQUAL(st.nbytes, 160);
    CU_ASSERT(has_pattern(mms_array_data(a), 160, 8));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "shrink", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void resize_rewrites_the_header_shape(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[3] = {10, 2, 3};
    mms_array *a = NULL, *r = NULL;
    mms_info info;
    char file[PATH_MAX];

    TU_OK_FATAL(mms_array_create(s, "h", MMS_COMPLEX64, 3, shape, 0, &a));
    TU_OK_FATAL(mms_array_open(s, "h", MMS_RDONLY, &r));
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    const uint64_t sizes[] = {250, 9999, 7, 0, 12};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        TU_OK(mms_array_resize(a, sizes[i]));
        TU_OK(mms_array_info(a, &info));
        CU_ASSERT_EQUAL(info.shape[0], sizes[i]);
        check_npy(file, &info);
    }
    /* A handle opened before keeps its own view until reopened. */
    TU_OK(mms_array_info(r, &info));
    CU_ASSERT_EQUAL(info.shape[0], 10);
    TU_OK(mms_array_close(r));
    TU_OK(mms_array_close(a));
    r = NULL;
    TU_OK_FATAL(mms_array_open(s, "h", MMS_RDONLY, &r));
    TU_OK(mms_array_info(r, &info));
    CU_ASSERT_EQUAL(info.shape[0], 12);
    TU_OK(mms_array_close(r));
    TU_OK(mms_store_close(s));
}

static void resize_capacity_grows_geometrically(void)
{
    /* Rows of one page each: growing the file by a page (or a constant)
     * per append would grow it once per row. */
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {1, 512};
    mms_array *a = NULL;
    mms_info info;
    uint64_t cap, growths = 0;
    const uint64_t rows = 600; /* 600 resizes, each a synced commit */

    TU_OK_FATAL(mms_array_create(s, "log", MMS_INT64, 2, shape, 0, &a));
    TU_OK(mms_array_info(a, &info));
    cap = info.capacity_rows;
    for (uint64_t n = 1; n < rows; n++) {
        int rc = mms_array_resize(a, n + 1);
        if (rc != MMS_OK) {
            TU_OK(rc);
            break;
        }
        ((int64_t *)mms_array_data(a))[n * 512] = (int64_t)n;
        TU_OK(mms_array_info(a, &info));
        if (info.capacity_rows != cap) {
            growths++;
            cap = info.capacity_rows;
            check_npy(mms_array_path(a), &info);
        }
    }
    TU_CHECKF(growths <= 30, "appending %llu rows one by one grew the "
              "capacity %llu times: growth is not geometric",
              (unsigned long long)rows, (unsigned long long)growths);
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "log", MMS_RDONLY, &a));
    const int64_t *d = mms_array_data(a);
    for (uint64_t n = 1; n < rows; n++) {
        if (d[n * 512] != (int64_t)n) {
            TU_CHECKF(0, "appended row %llu reads %lld",
                      (unsigned long long)n, (long long)d[n * 512]);
            break;
        }
    }
    TU_OK(mms_verify(s, "log", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void resize_to_zero_rows_and_back(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {5, 3};
    mms_array *a = NULL;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "z", MMS_INT32, 2, shape, 0, &a));
    memset(mms_array_data(a), 0x11, 60);
    TU_OK(mms_array_resize(a, 0));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.nbytes, 0);
    CU_ASSERT_PTR_NOT_NULL(mms_array_data(a));
    check_npy(mms_array_path(a), &info);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_resize(a, 5));
    CU_ASSERT(all_zero(mms_array_data(a), 60));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "z", NULL, NULL));
    TU_OK(mms_store_close(s));
}

typedef struct resize_args {
    mms_array *a;
    uint64_t rows;
} resize_args;

static int resize_rows(void *ctx)
{
    resize_args *r = ctx;
    return mms_array_resize(r->a, r->rows);
}

static void resize_errors_change_nothing(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[2] = {100, 16};
    mms_array *a = NULL, *ro = NULL, *z = NULL;
    mms_info before, after;
    struct stat f0, f1;
    void *p;
    uint64_t avail;

    TU_OK_FATAL(mms_array_create(s, "z", MMS_INT8, 0, NULL, 0, &z));
    TU_RC(MMS_ERR_INVAL, mms_array_resize(z, 1));
    TU_OK(mms_array_close(z));

    TU_OK_FATAL(mms_array_create(s, "r", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 1600, 12);
    TU_OK(mms_array_info(a, &before));
    p = mms_array_data(a);
    CU_ASSERT_EQUAL_FATAL(stat(mms_array_path(a), &f0), 0);

    TU_OK_FATAL(mms_array_open(s, "r", MMS_RDONLY, &ro));
    TU_RC(MMS_ERR_RDONLY, mms_array_resize(ro, 200));
    TU_OK(mms_array_close(ro));

    TU_RC(MMS_ERR_TOOBIG, mms_array_resize(a, UINT64_MAX / 16 + 1));
    TU_RC(MMS_ERR_TOOBIG, mms_array_resize(a, UINT64_MAX));

    avail = free_bytes(path);
    if (avail + NOSPC_MARGIN < (UINT64_C(8) << 40)) {
        resize_args r = {a, (avail + NOSPC_MARGIN) / 16};
        int rc = with_fsize_limit(GIB, resize_rows, &r);
        TU_CHECKF(rc == MMS_ERR_NOSPC, "resize to %llu rows of 16 bytes with "
                  "%llu bytes free returned %d (%s: %s), expected "
                  "MMS_ERR_NOSPC before allocating anything",
                  (unsigned long long)r.rows, (unsigned long long)avail, rc,
                  mms_strerror(rc), mms_errmsg());
    }

    TU_OK(mms_array_info(a, &after));
    CU_ASSERT_EQUAL(after.shape[0], 100);
    CU_ASSERT_EQUAL(after.capacity_rows, before.capacity_rows);
    CU_ASSERT_PTR_EQUAL(mms_array_data(a), p);
    CU_ASSERT(has_pattern(mms_array_data(a), 1600, 12));
    CU_ASSERT_EQUAL_FATAL(stat(mms_array_path(a), &f1), 0);
    CU_ASSERT_EQUAL(f1.st_size, f0.st_size);
    check_npy(mms_array_path(a), &after);
    TU_OK(mms_stat(s, "r", &after));
    CU_ASSERT_EQUAL(after.shape[0], 100);
    TU_RC(MMS_ERR_INVAL, mms_array_resize(NULL, 1));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- stat and state ---------------------------------------------------- */

static void stat_matches_array_info(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[2] = {64, 9};
    mms_array *a = NULL;
    mms_info ai, si;

    TU_OK_FATAL(mms_array_create(s, "st", MMS_UINT16, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 64 * 9 * 2, 1);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_info(a, &ai));
    TU_OK(mms_stat(s, "st", &si));
    CU_ASSERT_EQUAL(si.dtype, ai.dtype);
    CU_ASSERT_EQUAL(si.ndim, ai.ndim);
    CU_ASSERT(memcmp(si.shape, ai.shape, sizeof si.shape) == 0);
    CU_ASSERT_EQUAL(si.nbytes, ai.nbytes);
    CU_ASSERT_EQUAL(si.itemsize, ai.itemsize);
    CU_ASSERT_EQUAL(si.generation, ai.generation);
    CU_ASSERT_EQUAL(si.id, ai.id);
    CU_ASSERT_EQUAL(si.capacity_rows, ai.capacity_rows);
    CU_ASSERT_EQUAL(si.block_size, ai.block_size);
    CU_ASSERT_EQUAL(si.created_ns, ai.created_ns);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void stat_of_missing_or_invalid_name_fails(void)
{
    mms_store *s = tu_new_store(NULL);
    mms_info info;
    char toolong[MMS_NAME_MAX + 2];

    memset(toolong, 'x', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "missing", &info));
    CU_ASSERT_PTR_NOT_NULL(strstr(mms_errmsg(), "missing"));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, "", &info));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, toolong, &info));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, "/lead", &info));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, "ctl\x01", &info));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, NULL, &info));
    TU_RC(MMS_ERR_INVAL, mms_stat(s, "missing", NULL));
    TU_RC(MMS_ERR_INVAL, mms_stat(NULL, "missing", &info));
    TU_OK(mms_store_close(s));
}

static mms_state state_of(mms_store *s, const char *name)
{
    mms_info info;
    info.state = (mms_state)-1;
    TU_OK(mms_stat(s, name, &info));
    return info.state;
}

static void state_is_writing_while_open_for_writing(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {10};
    mms_array *a = NULL, *b = NULL, *r = NULL;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "st", MMS_UINT8, 1, shape, 0, &a));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_WRITING);
    TU_OK(mms_array_close(a));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_CLEAN);

    TU_OK_FATAL(mms_array_open(s, "st", MMS_RDONLY, &r));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_CLEAN);
    TU_OK(mms_array_info(r, &info));
    CU_ASSERT_EQUAL(info.state, MMS_STATE_CLEAN);

    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "st", MMS_RDWR, &a));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_WRITING);
    TU_OK_FATAL(mms_array_open(s, "st", MMS_RDWR, &b));
    TU_OK(mms_array_close(a));
    /* b still writes. */
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_WRITING);
    TU_OK(mms_array_close(b));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_CLEAN);
    TU_OK(mms_array_close(r));
    CU_ASSERT_EQUAL(state_of(s, "st"), MMS_STATE_CLEAN);
    TU_OK(mms_store_close(s));
}

/* ---- remove and rename ------------------------------------------------- */

static void remove_deletes_the_name_and_the_file(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {100};
    mms_array *a = NULL, *r = NULL;
    mms_info info, again;
    char file[PATH_MAX];

    TU_OK_FATAL(mms_array_create(s, "gone", MMS_INT32, 1, shape, 0, &a));
    fill_pattern(mms_array_data(a), 400, 2);
    TU_OK(mms_array_info(a, &info));
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_attr_set(s, "gone", "k", "v", 1));

    TU_OK_FATAL(mms_array_open(s, "gone", MMS_RDONLY, &r));
    TU_OK(mms_remove(s, "gone"));
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "gone", &again));
    a = (mms_array *)&a;
    TU_RC(MMS_ERR_NOTFOUND, mms_array_open(s, "gone", MMS_RDONLY, &a));
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_NOT_EQUAL(access(file, F_OK), 0);
    CU_ASSERT_EQUAL(su_data_entries(path), 0);
    CU_ASSERT_EQUAL(array_count(s), 0);
    /* The open handle's mapping is still good. */
    CU_ASSERT(has_pattern(mms_array_data(r), 400, 2));
    TU_OK(mms_array_close(r));

    TU_RC(MMS_ERR_NOTFOUND, mms_remove(s, "gone"));
    TU_RC(MMS_ERR_NOTFOUND, mms_remove(s, "never"));
    TU_RC(MMS_ERR_INVAL, mms_remove(NULL, "gone"));
    TU_RC(MMS_ERR_INVAL, mms_remove(s, NULL));

    /* A new array of the same name is new. */
    a = NULL;
    TU_OK_FATAL(mms_array_create(s, "gone", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_info(a, &again));
    CU_ASSERT(again.id > info.id);
    CU_ASSERT(all_zero(mms_array_data(a), 400));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void rename_moves_the_name_and_keeps_the_data(void)
{
    const char *path;
    mms_store *s = tu_new_store(&path);
    uint64_t shape[1] = {100};
    mms_array *a = NULL;
    mms_info before, after;
    char file[PATH_MAX];

    TU_OK_FATAL(mms_array_create(s, "old", MMS_INT32, 1, shape, 0, &a));
    fill_pattern(mms_array_data(a), 400, 3);
    TU_OK(mms_array_info(a, &before));
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));

    TU_OK(mms_rename(s, "old", "new/place"));
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "old", &after));
    TU_OK(mms_stat(s, "new/place", &after));
    CU_ASSERT_EQUAL(after.id, before.id);
    CU_ASSERT_EQUAL(after.generation, before.generation);
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "new/place", MMS_RDONLY, &a));
    CU_ASSERT_STRING_EQUAL(mms_array_path(a), file); /* no file moved */
    CU_ASSERT(has_pattern(mms_array_data(a), 400, 3));
    TU_OK(mms_array_close(a));
    CU_ASSERT_EQUAL(su_data_entries(path), 1);
    TU_OK(mms_verify(s, "new/place", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void rename_errors_change_nothing(void)
{
    mms_store *s = tu_new_store(NULL);
    uint64_t shape[1] = {10};
    mms_array *a = NULL;
    mms_info ia, ib, check;

    TU_OK_FATAL(mms_array_create(s, "a", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK_FATAL(mms_array_create(s, "b", MMS_INT32, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_stat(s, "a", &ia));
    TU_OK(mms_stat(s, "b", &ib));

    TU_RC(MMS_ERR_NOTFOUND, mms_rename(s, "missing", "c"));
    TU_RC(MMS_ERR_EXISTS, mms_rename(s, "a", "b"));
    TU_RC(MMS_ERR_INVAL, mms_rename(s, "a", ""));
    TU_RC(MMS_ERR_INVAL, mms_rename(s, "a", "/root"));
    TU_RC(MMS_ERR_INVAL, mms_rename(s, "a", "bad\x02"));
    TU_RC(MMS_ERR_INVAL, mms_rename(s, "a", NULL));
    TU_RC(MMS_ERR_INVAL, mms_rename(s, NULL, "c"));
    TU_RC(MMS_ERR_INVAL, mms_rename(NULL, "a", "c"));

    TU_OK(mms_stat(s, "a", &check));
    CU_ASSERT_EQUAL(check.id, ia.id);
    TU_OK(mms_stat(s, "b", &check));
    CU_ASSERT_EQUAL(check.id, ib.id);
    TU_RC(MMS_ERR_NOTFOUND, mms_stat(s, "c", &check));
    CU_ASSERT_EQUAL(array_count(s), 2);
    TU_OK(mms_store_close(s));
}

/* ---- list -------------------------------------------------------------- */

typedef struct listing {
    int n;
    char names[16][64];
    uint64_t rows[16];
    int stop_at;      /* return stop_value on this call (1-based); 0 never */
    int stop_value;
    mms_store *store; /* if set, the callback calls the library */
    int inner_failures;
} listing;

static int collect(const char *name, const mms_info *info, void *ctx)
{
    listing *l = ctx;
    if (l->n < 16) {
        snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
        l->rows[l->n] = info->shape[0];
    }
    l->n++;
    if (l->store) {
        mms_info again;
        if (mms_stat(l->store, name, &again) != MMS_OK ||
            again.shape[0] != info->shape[0] ||
            mms_attr_set(l->store, name, "seen", "1", 1) != MMS_OK)
            l->inner_failures++;
    }
    return l->n == l->stop_at ? l->stop_value : 0;
}

static const char *const list_names[] = {
    "b", "a", "images/dog", "images/cat", "imagesX", "images/sub/x",
    "labels/0",
};
static const char *const list_sorted[] = {
    "a", "b", "images/cat", "images/dog", "images/sub/x", "imagesX",
    "labels/0",
};
#define NLIST (sizeof list_names / sizeof list_names[0])

/* A store holding list_names; each has as many rows as its index + 1. */
static mms_store *make_list_store(void)
{
    mms_store *s = tu_new_store(NULL);
    for (size_t i = 0; i < NLIST; i++) {
        uint64_t shape[1] = {i + 1};
        mms_array *a = NULL;
        TU_OK_FATAL(mms_array_create(s, list_names[i], MMS_UINT8, 1, shape,
                                     0, &a));
        TU_OK(mms_array_close(a));
    }
    return s;
}

static uint64_t rows_of(const char *name)
{
    for (size_t i = 0; i < NLIST; i++) {
        if (strcmp(list_names[i], name) == 0)
            return i + 1;
    }
    return 0;
}

static void check_listing_at(int line, const listing *l,
                             const char *const *expected, int n)
{
    TU_CHECKF_AT(line, l->n == n, "listing gave %d names, expected %d", l->n,
                 n);
    for (int i = 0; i < n && i < l->n; i++) {
        TU_CHECKF_AT(line, strcmp(l->names[i], expected[i]) == 0,
                     "listing entry %d is \"%s\", expected \"%s\"", i,
                     l->names[i], expected[i]);
        TU_CHECKF_AT(line, l->rows[i] == rows_of(expected[i]),
                     "listing info for \"%s\" has %llu rows", expected[i],
                     (unsigned long long)l->rows[i]);
    }
}
#define check_listing(l, expected, n) check_listing_at(__LINE__, l, expected, n)

static void list_gives_every_array_in_name_order(void)
{
    mms_store *s = make_list_store();
    listing l = {0};

    TU_OK(mms_list(s, NULL, collect, &l));
    check_listing(&l, list_sorted, (int)NLIST);
    memset(&l, 0, sizeof l);
    TU_OK(mms_list(s, "", collect, &l));
    check_listing(&l, list_sorted, (int)NLIST);
    TU_RC(MMS_ERR_INVAL, mms_list(s, NULL, NULL, NULL));
    TU_RC(MMS_ERR_INVAL, mms_list(NULL, NULL, collect, &l));
    TU_OK(mms_store_close(s));
}

static void list_filters_by_prefix(void)
{
    mms_store *s = make_list_store();
    listing l = {0};
    static const char *const images_dir[] = {"images/cat", "images/dog",
                                             "images/sub/x"};
    static const char *const images[] = {"images/cat", "images/dog",
                                         "images/sub/x", "imagesX"};
    static const char *const sub[] = {"images/sub/x"};

    TU_OK(mms_list(s, "images/", collect, &l));
    check_listing(&l, images_dir, 3);
    memset(&l, 0, sizeof l);
    TU_OK(mms_list(s, "images", collect, &l));
    check_listing(&l, images, 4);
    memset(&l, 0, sizeof l);
    TU_OK(mms_list(s, "images/sub/", collect, &l));
    check_listing(&l, sub, 1);
    memset(&l, 0, sizeof l);
    TU_OK(mms_list(s, "zzz", collect, &l));
    CU_ASSERT_EQUAL(l.n, 0);
    memset(&l, 0, sizeof l);
    TU_OK(mms_list(s, "0", collect, &l)); /* sorts before every name */
    CU_ASSERT_EQUAL(l.n, 0);
    TU_OK(mms_store_close(s));
}

static void list_stops_with_the_callback_value(void)
{
    mms_store *s = make_list_store();
    listing l = {.stop_at = 3, .stop_value = 42};

    TU_RC(42, mms_list(s, NULL, collect, &l));
    CU_ASSERT_EQUAL(l.n, 3);
    check_listing(&l, list_sorted, 3);
    memset(&l, 0, sizeof l);
    l.stop_at = 1;
    l.stop_value = -1000;
    TU_RC(-1000, mms_list(s, "images/", collect, &l));
    CU_ASSERT_EQUAL(l.n, 1);
    TU_OK(mms_store_close(s));
}

static void list_callback_may_call_the_library(void)
{
    mms_store *s = make_list_store();
    listing l = {.store = s};
    char v[4];
    size_t len = 0;

    alarm(60); /* a listing that holds a transaction would deadlock */
    TU_OK(mms_list(s, NULL, collect, &l));
    alarm(0);
    CU_ASSERT_EQUAL(l.n, (int)NLIST);
    CU_ASSERT_EQUAL(l.inner_failures, 0);
    for (size_t i = 0; i < NLIST; i++)
        TU_OK(mms_attr_get(s, list_names[i], "seen", v, sizeof v, &len));
    TU_OK(mms_store_close(s));
}

static void list_of_empty_store_calls_nothing(void)
{
    mms_store *s = tu_new_store(NULL);
    listing l = {0};
    TU_OK(mms_list(s, NULL, collect, &l));
    CU_ASSERT_EQUAL(l.n, 0);
    TU_OK(mms_store_close(s));
}

/* ---- suites ------------------------------------------------------------ */

/* A catalog restored from an older snapshot can hand out a next_id that a
 * record still names (issue 11 item 3): create must never remove a file a
 * record names; it takes the next free id instead. */
static void create_with_a_stale_next_id_never_removes_a_live_file(void)
{
    const char *path = NULL;
    mms_store *s = tu_new_store(&path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    uint64_t shape[1] = {512};
    mms_array *a = NULL;
    TU_OK_FATAL(mms_array_create(s, "old", MMS_INT64, 1, shape, 0, &a));
    int64_t *d = mms_array_data(a);
    for (int i = 0; i < 512; i++)
        d[i] = 7 * i;
    TU_OK(mms_array_close(a));
    mms_info before;
    TU_OK(mms_stat(s, "old", &before));
    TU_OK(mms_store_close(s));

    unsigned char one[8];
    su_put_le64(one, before.id); /* next_id back to the live array's id */
    TU_CHECKF(su_cat_put(path, "meta", "next_id", 7, one, 8) == 0,
              "setting next_id back failed");

    TU_OK_FATAL(mms_store_open(path, 0, &s));
    TU_OK(mms_array_create(s, "new", MMS_INT64, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    mms_info after, fresh;
    TU_OK(mms_stat(s, "old", &after));
    TU_OK(mms_stat(s, "new", &fresh));
    TU_CHECKF(fresh.id != before.id, "the new array took id %" PRIu64
              ", which 'old' still names", fresh.id);
    TU_OK(mms_verify(s, "old", NULL, NULL));
    TU_OK(mms_array_open(s, "old", MMS_RDONLY, &a));
    if (a) {
        const int64_t *od = mms_array_data(a);
        TU_CHECKF(od[511] == 7 * 511, "'old' element 511 is %" PRId64
                  " after the create, expected %d", od[511], 7 * 511);
        TU_OK(mms_array_close(a));
    }
    /* check says the catalog's next id was behind, and repair moves it
     * past every id in use. */
    TU_OK(mms_store_close(s));
    TU_CHECKF(su_cat_put(path, "meta", "next_id", 7, one, 8) == 0,
              "setting next_id back again failed");
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    TU_RC(MMS_ERR_CORRUPT, mms_check(s, 0, NULL, NULL));
    TU_OK(mms_check(s, MMS_CHECK_REPAIR, NULL, NULL));
    TU_OK(mms_check(s, 0, NULL, NULL));
    /* And the id counter moved past both. */
    TU_OK(mms_array_create(s, "third", MMS_INT64, 1, shape, 0, &a));
    TU_OK(mms_array_close(a));
    mms_info third;
    TU_OK(mms_stat(s, "third", &third));
    TU_CHECKF(third.id > fresh.id, "third id %" PRIu64 " not above %" PRIu64,
              third.id, fresh.id);
    TU_OK(mms_store_close(s));
}

static const tu_test create_tests[] = {
    TU_TEST(create_gives_zeroed_page_aligned_data),
    TU_TEST(create_reports_info),
    TU_TEST(create_every_dtype_round_trips),
    TU_TEST(create_ndim_0_1_2_32),
    TU_TEST(create_with_a_stale_next_id_never_removes_a_live_file),
    TU_TEST(zero_d_array_holds_one_element),
    TU_TEST(zero_size_arrays_have_a_mapped_page),
    TU_TEST(ids_are_never_reused),
    TU_TEST(names_at_the_limits_are_accepted),
    TU_END,
};

static const tu_test bad_create_tests[] = {
    TU_TEST(create_rejects_invalid_names),
    TU_TEST(create_rejects_unknown_dtype),
    TU_TEST(create_rejects_ndim_out_of_range),
    TU_TEST(create_rejects_unknown_flags_and_null_arguments),
    TU_TEST(create_overflowing_shape_is_toobig),
    TU_TEST(create_larger_than_free_space_is_nospc_and_leaves_nothing),
    TU_TEST(create_existing_name_is_exists),
    TU_END,
};

static const tu_test bad_open_tests[] = {
    TU_TEST(open_missing_is_notfound_naming_the_array),
    TU_TEST(open_with_missing_data_file_is_corrupt),
    TU_TEST(open_with_disagreeing_header_is_corrupt),
    TU_TEST(open_with_truncated_data_file_is_corrupt),
    TU_TEST(flipped_catalog_record_byte_is_corrupt),
    TU_TEST(malformed_catalog_records_are_corrupt),
    TU_TEST(rdwr_open_in_rdonly_store_is_rdonly),
    TU_END,
};

static const tu_test format_tests[] = {
    TU_TEST(data_file_is_a_valid_npy_named_by_id),
    TU_TEST(catalog_record_matches_format_md),
    TU_END,
};

static const tu_test mapping_tests[] = {
    TU_TEST(rdonly_open_maps_prot_read),
    TU_TEST(rdwr_open_maps_shared_writable),
    TU_TEST(writes_are_seen_by_other_handles_at_once),
    TU_TEST(writes_persist_across_close_and_store_reopen),
    TU_END,
};

static const tu_test write_tests[] = {
    TU_TEST(write_copies_into_the_data),
    TU_TEST(write_past_nbytes_is_range),
    TU_TEST(write_on_rdonly_handle_is_rdonly),
    TU_END,
};

static const tu_test sync_tests[] = {
    TU_TEST(sync_and_sync_range_of_valid_rows_succeed),
    TU_TEST(sync_range_past_the_end_is_range),
    TU_TEST(sync_on_rdonly_handle_is_rdonly),
    TU_TEST(sync_after_remove_is_stale),
    TU_TEST(sync_after_name_reused_is_stale),
    TU_TEST(sync_and_resize_update_modified_time),
    TU_END,
};

static const tu_test resize_tests[] = {
    TU_TEST(resize_within_capacity_keeps_the_address),
    TU_TEST(resize_past_capacity_keeps_the_data),
    TU_TEST(resize_new_rows_are_zero_after_shrink_then_grow),
    TU_TEST(resize_shrink_is_logical),
    TU_TEST(resize_rewrites_the_header_shape),
    TU_TEST(resize_capacity_grows_geometrically),
    TU_TEST(resize_to_zero_rows_and_back),
    TU_TEST(resize_errors_change_nothing),
    TU_END,
};

static const tu_test catalog_tests[] = {
    TU_TEST(stat_matches_array_info),
    TU_TEST(stat_of_missing_or_invalid_name_fails),
    TU_TEST(state_is_writing_while_open_for_writing),
    TU_TEST(remove_deletes_the_name_and_the_file),
    TU_TEST(rename_moves_the_name_and_keeps_the_data),
    TU_TEST(rename_errors_change_nothing),
    TU_END,
};

/* One damaged record hides no other array (issue 11 item 18): the list
 * goes on past it, across chunk boundaries too, then names it. */
static void list_passes_over_a_damaged_record_and_names_it(void)
{
    const char *path = NULL;
    mms_store *s = tu_new_store(&path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    uint64_t shape[1] = {2};
    char name[32];
    for (int i = 0; i < 600; i++) { /* more than one chunk of 256 */
        mms_array *a;
        snprintf(name, sizeof name, "n%03d", i);
        TU_OK_FATAL(mms_array_create(s, name, MMS_INT8, 1, shape, 0, &a));
        TU_OK(mms_array_close(a));
    }
    TU_OK(mms_store_close(s));
    static const char *const bad[] = {"n000", "n255", "n256", "n599"};
    for (int i = 0; i < 4; i++)
        TU_CHECKF(su_cat_put(path, "arrays", bad[i], 4, "garbage", 7) == 0,
                  "damaging %s failed", bad[i]);
    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    listing l = {0};
    TU_RC(MMS_ERR_CORRUPT, mms_list(s, NULL, collect, &l));
    TU_CHECKF(l.n == 596, "listed %d arrays, expected the 596 good ones", l.n);
    TU_CHECKF(strstr(mms_errmsg(), "'n000'") && strstr(mms_errmsg(), "others"),
              "message '%s' does not name the damaged record", mms_errmsg());
    TU_OK(mms_store_close(s));
}

static const tu_test list_tests[] = {
    TU_TEST(list_gives_every_array_in_name_order),
    TU_TEST(list_filters_by_prefix),
    TU_TEST(list_stops_with_the_callback_value),
    TU_TEST(list_callback_may_call_the_library),
    TU_TEST(list_of_empty_store_calls_nothing),
    TU_TEST(list_passes_over_a_damaged_record_and_names_it),
    TU_END,
};

static const tu_suite suites[] = {
    {"create", create_tests},
    {"create_errors", bad_create_tests},
    {"open_errors", bad_open_tests},
    {"format", format_tests},
    {"mapping", mapping_tests},
    {"write", write_tests},
    {"sync", sync_tests},
    {"resize", resize_tests},
    {"catalog", catalog_tests},
    {"list", list_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
