/* test_checksum.c - block checksums, their root, sync_range and verify. */
#define _GNU_SOURCE
#include "testutil.h"
#include "storeutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define BLOCK 4096u
#define DEFAULT_BLOCK_SIZE (UINT64_C(1) << 20)

/* ---- helpers ----------------------------------------------------------- */

/* A new store with 4096-byte checksum blocks. */
static mms_store *new_store(const char **path_out)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    int rc;

    TU_OK_FATAL(mms_store_set_default_block_size(BLOCK));
    rc = mms_store_open(path, MMS_CREATE, &s);
    mms_store_set_default_block_size(DEFAULT_BLOCK_SIZE);
    TU_RC_FATAL(MMS_OK, rc);
    CU_ASSERT_EQUAL_FATAL(mms_store_block_size(s), BLOCK);
    if (path_out)
        *path_out = path;
    return s;
}

static void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 131u + seed * 17u + (i >> 12));
}

/* Creates name as a uint8 (rows, row_bytes) array holding a pattern and
 * closes it (which syncs it); returns its data file path in file. */
static void make_array(mms_store *s, const char *name, uint64_t rows,
                       uint64_t row_bytes, unsigned seed, char *file,
                       size_t size)
{
    uint64_t shape[2] = {rows, row_bytes};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, name, MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), (size_t)(rows * row_bytes), seed);
    if (file)
        snprintf(file, size, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));
}

static uint64_t checksum_of(mms_store *s, const char *name)
{
    mms_info info;
    info.checksum = 0;
    TU_OK(mms_stat(s, name, &info));
    return info.checksum;
}

/* What mms_verify reported. */
#define MAX_REPORTS 16
typedef struct reports {
    int n;
    char name[64];
    uint64_t block[MAX_REPORTS], first_row[MAX_REPORTS], nrows[MAX_REPORTS];
    int stop_value; /* returned from every call */
} reports;

static int record(const char *name, uint64_t block, uint64_t first_row,
                  uint64_t nrows, void *ctx)
{
    reports *r = ctx;
    if (r->n < MAX_REPORTS) {
        snprintf(r->name, sizeof r->name, "%s", name);
        r->block[r->n] = block;
        r->first_row[r->n] = first_row;
        r->nrows[r->n] = nrows;
    }
    r->n++;
    return r->stop_value;
}

/* The rows that hold block b of an array of nbytes with row_bytes rows. */
static void rows_of_block(uint64_t b, uint64_t nbytes, uint64_t row_bytes,
                          uint64_t *first, uint64_t *n)
{
    uint64_t start = b * BLOCK;
    uint64_t end = start + BLOCK < nbytes ? start + BLOCK : nbytes;
    uint64_t last = (end + row_bytes - 1) / row_bytes;
    *first = start / row_bytes;
    *n = last - *first;
}

/* Verifies name and expects exactly one report, for block. */
static void expect_one_bad_block_at(int line, mms_store *s, const char *name,
                                    uint64_t block, uint64_t nbytes,
                                    uint64_t row_bytes)
{
    reports r = {0};
    uint64_t first, n;
    int rc = mms_verify(s, name, record, &r);

    rows_of_block(block, nbytes, row_bytes, &first, &n);
    TU_CHECKF_AT(line, rc == MMS_ERR_CHECKSUM, "verify of '%s' returned %d "
                 "(%s), expected MMS_ERR_CHECKSUM", name, rc,
                 mms_strerror(rc));
    TU_CHECKF_AT(line, r.n == 1, "verify of '%s' reported %d blocks, expected "
                 "block %llu only (first report: block %llu)", name, r.n,
                 (unsigned long long)block, (unsigned long long)r.block[0]);
    if (r.n < 1)
        return;
    TU_CHECKF_AT(line, strcmp(r.name, name) == 0, "verify reported name '%s'",
                 r.name);
    TU_CHECKF_AT(line, r.block[0] == block && r.first_row[0] == first &&
                 r.nrows[0] == n, "verify reported block %llu rows [%llu, "
                 "+%llu), expected block %llu rows [%llu, +%llu)",
              (unsigned long long)r.block[0],
              (unsigned long long)r.first_row[0],
              (unsigned long long)r.nrows[0], (unsigned long long)block,
              (unsigned long long)first, (unsigned long long)n);
}
#define expect_one_bad_block(s, name, block, nbytes, row_bytes)              \
    expect_one_bad_block_at(__LINE__, s, name, block, nbytes, row_bytes)

/* ---- verify ------------------------------------------------------------ */

static void verify_passes_after_create_and_sync(void)
{
    mms_store *s = new_store(NULL);
    uint64_t shape[1] = {10 * BLOCK + 5};
    mms_array *a = NULL;
    mms_info info;

    TU_OK_FATAL(mms_array_create(s, "v", MMS_UINT8, 1, shape, 0, &a));
    TU_OK(mms_array_info(a, &info));
    CU_ASSERT_EQUAL(info.block_size, BLOCK);
    TU_OK(mms_verify(s, "v", NULL, NULL)); /* zeros, hashed at creation */
    fill_pattern(mms_array_data(a), (size_t)shape[0], 1);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_verify(s, "v", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "v", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void flipped_byte_reports_its_block_and_rows(void)
{
    /* 420 rows of 100 bytes = 42000 bytes: 10 full blocks and a last one
     * of 1040 bytes; blocks do not start or end on row boundaries. */
    mms_store *s = new_store(NULL);
    const uint64_t rows = 420, rb = 100, nbytes = rows * rb;
    const uint64_t offsets[] = {17, 5 * BLOCK + 123, 5 * BLOCK,
                                6 * BLOCK - 1, 10 * BLOCK, nbytes - 1};
    char file[PATH_MAX];

    make_array(s, "rows", rows, rb, 2, file, sizeof file);
    TU_OK(mms_verify(s, "rows", NULL, NULL));
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        uint64_t off = offsets[i];
        CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + off, 0x01),
                              0);
        expect_one_bad_block(s, "rows", off / BLOCK, nbytes, rb);
        CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + off, 0x01),
                              0);
        TU_OK(mms_verify(s, "rows", NULL, NULL));
    }
    TU_OK(mms_store_close(s));
}

static void flipped_byte_in_aligned_rows(void)
{
    /* float64 rows of 64 elements: 512 bytes, 8 rows per block. */
    mms_store *s = new_store(NULL);
    uint64_t shape[2] = {100, 64};
    const uint64_t nbytes = 100 * 512;
    mms_array *a = NULL;
    char file[PATH_MAX];
    reports r = {0};

    TU_OK_FATAL(mms_array_create(s, "f", MMS_FLOAT64, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), (size_t)nbytes, 3);
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));

    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + 3 * BLOCK + 9,
                                       0x80), 0);
    TU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "f", record, &r));
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.block[0], 3);
    CU_ASSERT_EQUAL(r.first_row[0], 24);
    CU_ASSERT_EQUAL(r.nrows[0], 8);
    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + 3 * BLOCK + 9,
                                       0x80), 0);

    /* The last block holds rows 96..99 only. */
    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + nbytes - 1,
                                       0x80), 0);
    memset(&r, 0, sizeof r);
    TU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "f", record, &r));
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.block[0], 12);
    CU_ASSERT_EQUAL(r.first_row[0], 96);
    CU_ASSERT_EQUAL(r.nrows[0], 4);
    TU_OK(mms_store_close(s));
}

static void verify_reports_blocks_in_order_and_stops(void)
{
    mms_store *s = new_store(NULL);
    const uint64_t rows = 64, rb = 1024; /* 4 rows per block, 16 blocks */
    char file[PATH_MAX];
    reports r = {0};

    make_array(s, "two", rows, rb, 4, file, sizeof file);
    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + 7 * BLOCK, 4),
                          0);
    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + 2 * BLOCK + 1,
                                       4), 0);

    TU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "two", record, &r));
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    CU_ASSERT_EQUAL(r.block[0], 2);
    CU_ASSERT_EQUAL(r.first_row[0], 8);
    CU_ASSERT_EQUAL(r.nrows[0], 4);
    CU_ASSERT_EQUAL(r.block[1], 7);
    CU_ASSERT_EQUAL(r.first_row[1], 28);

    memset(&r, 0, sizeof r);
    r.stop_value = 9;
    TU_RC(9, mms_verify(s, "two", record, &r));
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.block[0], 2);

    TU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "two", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void verify_of_many_blocks_names_the_exact_one(void)
{
    /* 16 MiB in 4096 blocks: the work is split between threads. */
    mms_store *s = new_store(NULL);
    const uint64_t rows = 4096, rb = 4096;
    const uint64_t bad[] = {0, 1, 2047, 2048, 3001, 4095};
    char file[PATH_MAX];

    make_array(s, "big", rows, rb, 5, file, sizeof file);
    TU_OK(mms_verify(s, "big", NULL, NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t off = bad[i] * BLOCK + 77;
        CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + off, 0x40),
                              0);
        expect_one_bad_block(s, "big", bad[i], rows * rb, rb);
        CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + off, 0x40),
                              0);
    }
    TU_OK(mms_verify(s, "big", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void verify_of_zero_d_and_empty_arrays(void)
{
    mms_store *s = new_store(NULL);
    uint64_t empty[2] = {0, 7};
    mms_array *a = NULL;
    char file[PATH_MAX];
    reports r = {0};

    TU_OK_FATAL(mms_array_create(s, "scalar", MMS_FLOAT64, 0, NULL, 0, &a));
    *(double *)mms_array_data(a) = 2.5;
    snprintf(file, sizeof file, "%s", mms_array_path(a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "scalar", NULL, NULL));
    CU_ASSERT_EQUAL_FATAL(su_flip_byte(file, SU_DATA_OFFSET + 7, 1), 0);
    TU_RC(MMS_ERR_CHECKSUM, mms_verify(s, "scalar", record, &r));
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_EQUAL(r.block[0], 0);
    CU_ASSERT_EQUAL(r.first_row[0], 0);
    CU_ASSERT_EQUAL(r.nrows[0], 1);

    a = NULL;
    TU_OK_FATAL(mms_array_create(s, "empty", MMS_INT32, 2, empty, 0, &a));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "empty", NULL, NULL));
    CU_ASSERT_EQUAL(checksum_of(s, "empty"), 0);
    TU_OK(mms_store_close(s));
}

static void verify_of_missing_array_is_notfound(void)
{
    mms_store *s = new_store(NULL);
    TU_RC(MMS_ERR_NOTFOUND, mms_verify(s, "missing", NULL, NULL));
    TU_RC(MMS_ERR_INVAL, mms_verify(NULL, "missing", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void unsynced_write_is_reported_until_sync(void)
{
    mms_store *s = new_store(NULL);
    uint64_t shape[1] = {8 * BLOCK};
    mms_array *a = NULL;
    unsigned char *d;

    TU_OK_FATAL(mms_array_create(s, "u", MMS_UINT8, 1, shape, 0, &a));
    d = mms_array_data(a);
    d[3 * BLOCK + 100] = 0x5a;
    expect_one_bad_block(s, "u", 3, 8 * BLOCK, 1);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_verify(s, "u", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

/* ---- the checksum root ------------------------------------------------- */

static void checksum_changes_with_data_and_sync(void)
{
    mms_store *s = new_store(NULL);
    uint64_t shape[1] = {3 * BLOCK + 10};
    mms_array *a = NULL;
    mms_info info;
    uint64_t c0, c1, c2;
    unsigned char *d;

    TU_OK_FATAL(mms_array_create(s, "c", MMS_UINT8, 1, shape, 0, &a));
    TU_OK(mms_array_info(a, &info));
    c0 = info.checksum;
    CU_ASSERT_EQUAL(checksum_of(s, "c"), c0);
    CU_ASSERT_NOT_EQUAL(c0, 0); /* four blocks of zeros */

    d = mms_array_data(a);
    d[BLOCK + 1] = 1;
    CU_ASSERT_EQUAL(checksum_of(s, "c"), c0); /* not synced yet */
    TU_OK(mms_array_sync(a));
    c1 = checksum_of(s, "c");
    CU_ASSERT_NOT_EQUAL(c1, c0);

    d[3 * BLOCK + 9] = 1; /* the partial last block */
    TU_OK(mms_array_sync(a));
    c2 = checksum_of(s, "c");
    CU_ASSERT_NOT_EQUAL(c2, c1);
    CU_ASSERT_NOT_EQUAL(c2, c0);

    /* Back to zeros: back to the first root. */
    d[BLOCK + 1] = 0;
    d[3 * BLOCK + 9] = 0;
    TU_OK(mms_array_sync(a));
    CU_ASSERT_EQUAL(checksum_of(s, "c"), c0);
    TU_OK(mms_array_close(a));
    CU_ASSERT_EQUAL(checksum_of(s, "c"), c0);
    TU_OK(mms_store_close(s));
}

static void same_contents_give_the_same_checksum(void)
{
    mms_store *s1 = new_store(NULL), *s2 = new_store(NULL);
    uint64_t c1, c2, c3;

    make_array(s1, "one", 300, 100, 6, NULL, 0);
    make_array(s1, "other/name", 300, 100, 6, NULL, 0);
    make_array(s2, "one", 300, 100, 6, NULL, 0);
    c1 = checksum_of(s1, "one");
    c2 = checksum_of(s1, "other/name");
    c3 = checksum_of(s2, "one");
    CU_ASSERT_EQUAL(c1, c2);
    CU_ASSERT_EQUAL(c1, c3);
    make_array(s2, "different", 300, 100, 7, NULL, 0);
    CU_ASSERT_NOT_EQUAL(checksum_of(s2, "different"), c1);
    TU_OK(mms_store_close(s1));
    TU_OK(mms_store_close(s2));
}

/* Checks the blocks DB and the root of name against docs/format.md; the
 * store at path must be closed. */
static void check_root_at(int line, const char *path, const char *name)
{
    mms_store *s = NULL;
    mms_info info;
    char file[PATH_MAX];
    uint64_t *hashes = NULL, n = 0, nblocks;
    unsigned char *data;
    size_t len;
    void *rec;
    size_t rlen;
    int rc;

    TU_OK_FATAL(mms_store_open(path, MMS_RDONLY, &s));
    TU_OK(mms_stat(s, name, &info));
    TU_OK(mms_store_close(s));

    rc = su_cat_blocks(path, info.id, &hashes, &n);
    TU_CHECKF_AT(line, rc == 0, "reading the blocks of '%s': %s", name,
                 su_strerror(rc));
    nblocks = (info.nbytes + info.block_size - 1) / info.block_size;
    TU_CHECKF_AT(line, n == nblocks, "'%s' has %llu block checksums for %llu "
                 "bytes, expected %llu", name, (unsigned long long)n,
                 (unsigned long long)info.nbytes, (unsigned long long)nblocks);

    su_data_path(file, sizeof file, path, info.id);
    data = su_read_file(file, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    CU_ASSERT_FATAL(len >= SU_DATA_OFFSET + info.nbytes);
    for (uint64_t b = 0; b < n && b < nblocks; b++) {
        uint64_t start = b * info.block_size;
        uint64_t size = info.nbytes - start < info.block_size
                            ? info.nbytes - start
                            : info.block_size;
        uint64_t h = XXH3_64bits(data + SU_DATA_OFFSET + start, size);
        TU_CHECKF_AT(line, hashes[b] == h, "'%s' block %llu: catalog has "
                     "%016llx, the data hashes to %016llx", name,
                     (unsigned long long)b, (unsigned long long)hashes[b],
                     (unsigned long long)h);
    }
    TU_CHECKF_AT(line, su_root(hashes, n) == info.checksum, "'%s': root of "
                 "the blocks is %016llx, info.checksum is %016llx", name,
                 (unsigned long long)su_root(hashes, n),
                 (unsigned long long)info.checksum);
    rc = su_cat_get(path, "arrays", name, strlen(name), &rec, &rlen);
    TU_CHECKF_AT(line, rc == 0 && rlen >= 48 && su_le64((char *)rec + 40) ==
                 info.checksum, "the record of '%s' does not hold the root",
                 name);
    free(rec);
    free(data);
    free(hashes);
}
#define check_root(path, name) check_root_at(__LINE__, path, name)

static void root_is_consistent_with_format_md(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    uint64_t shape[2] = {1000, 3};
    mms_array *a = NULL;

    make_array(s, "partial", 420, 100, 8, NULL, 0);  /* 11 blocks */
    make_array(s, "exact", 16, 1024, 9, NULL, 0);    /* 4 full blocks */
    make_array(s, "tiny", 1, 10, 10, NULL, 0);       /* one short block */
    TU_OK_FATAL(mms_array_create(s, "f8", MMS_FLOAT64, 2, shape, 0, &a));
    for (int i = 0; i < 3000; i++)
        ((double *)mms_array_data(a))[i] = i / 7.0;
    TU_OK(mms_array_close(a));
    a = NULL;
    TU_OK_FATAL(mms_array_create(s, "empty", MMS_UINT8, 1, shape, 0, &a));
    TU_OK(mms_array_resize(a, 0));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));

    check_root(path, "partial");
    check_root(path, "exact");
    check_root(path, "tiny");
    check_root(path, "f8");
    check_root(path, "empty");
}

static void resize_keeps_blocks_and_root_consistent(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    uint64_t shape[2] = {100, 512};
    mms_array *a = NULL;

    TU_OK_FATAL(mms_array_create(s, "r", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 100 * 512, 11);
    TU_OK(mms_array_sync(a));
    TU_OK(mms_array_resize(a, 37)); /* ends inside block 4 */
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    check_root(path, "r");

    s = NULL;
    TU_OK_FATAL(mms_store_open(path, 0, &s));
    a = NULL;
    TU_OK_FATAL(mms_array_open(s, "r", MMS_RDWR, &a));
    TU_OK(mms_array_resize(a, 300));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "r", NULL, NULL));
    TU_OK(mms_store_close(s));
    check_root(path, "r");
}

static void resized_checksum_matches_a_fresh_array(void)
{
    mms_store *s = new_store(NULL);
    uint64_t shape[2] = {100, 512}, half[2] = {50, 512};
    mms_array *a = NULL, *b = NULL;

    TU_OK_FATAL(mms_array_create(s, "r", MMS_UINT8, 2, shape, 0, &a));
    fill_pattern(mms_array_data(a), 50 * 512, 12);
    memset((unsigned char *)mms_array_data(a) + 50 * 512, 0xee, 50 * 512);
    TU_OK(mms_array_sync(a));

    TU_OK_FATAL(mms_array_create(s, "half", MMS_UINT8, 2, half, 0, &b));
    fill_pattern(mms_array_data(b), 50 * 512, 12);
    TU_OK(mms_array_close(b));
    TU_OK(mms_array_resize(a, 50));
    TU_OK(mms_array_sync(a));
    CU_ASSERT_EQUAL(checksum_of(s, "r"), checksum_of(s, "half"));

    b = NULL;
    TU_OK_FATAL(mms_array_create(s, "full", MMS_UINT8, 2, shape, 0, &b));
    fill_pattern(mms_array_data(b), 50 * 512, 12); /* then zeros */
    TU_OK(mms_array_close(b));
    TU_OK(mms_array_resize(a, 100));
    TU_OK(mms_array_sync(a));
    CU_ASSERT_EQUAL(checksum_of(s, "r"), checksum_of(s, "full"));
    TU_OK(mms_array_close(a));
    TU_OK(mms_verify(s, "r", NULL, NULL));
    TU_OK(mms_store_close(s));
}

static void remove_drops_the_block_checksums(void)
{
    const char *path;
    mms_store *s = new_store(&path);
    mms_info info;
    uint64_t *hashes = NULL, n = 0;

    make_array(s, "gone", 64, 1024, 13, NULL, 0);
    TU_OK(mms_stat(s, "gone", &info));
    TU_OK(mms_remove(s, "gone"));
    TU_OK(mms_store_close(s));
    CU_ASSERT_EQUAL(su_cat_blocks(path, info.id, &hashes, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(hashes);
}

/* ---- sync_range -------------------------------------------------------- */

static void sync_range_rehashes_only_touched_blocks(void)
{
    /* 64 rows of 512 bytes: 8 rows per block, 8 blocks. */
    mms_store *s = new_store(NULL);
    uint64_t shape[2] = {64, 512};
    mms_array *a = NULL;
    unsigned char *d;

    TU_OK_FATAL(mms_array_create(s, "sr", MMS_UINT8, 2, shape, 0, &a));
    d = mms_array_data(a);
    d[1 * 512 + 3] = 1;  /* block 0 */
    d[41 * 512 + 5] = 1; /* block 5 */
    TU_OK(mms_array_sync_range(a, 40, 8));
    expect_one_bad_block(s, "sr", 0, 64 * 512, 512);

    /* Syncing one row re-hashes its whole block. */
    d[47 * 512 + 511] = 2; /* block 5, last row */
    TU_OK(mms_array_sync_range(a, 41, 1));
    expect_one_bad_block(s, "sr", 0, 64 * 512, 512);

    /* A range across a block boundary covers both blocks. */
    d[48 * 512] = 3;     /* block 6 */
    d[39 * 512 + 1] = 3; /* block 4 */
    TU_OK(mms_array_sync_range(a, 39, 10));
    expect_one_bad_block(s, "sr", 0, 64 * 512, 512);

    /* nrows 0 means to the end, which does not reach block 0. */
    d[63 * 512] = 4;
    TU_OK(mms_array_sync_range(a, 8, 0));
    expect_one_bad_block(s, "sr", 0, 64 * 512, 512);

    TU_OK(mms_array_sync_range(a, 0, 1));
    TU_OK(mms_verify(s, "sr", NULL, NULL));
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
}

static void sync_range_updates_the_root_incrementally(void)
{
    /* A root kept by adding and subtracting terms equals the one from a
     * full sync of the same data. */
    const char *path;
    mms_store *s = new_store(&path);
    uint64_t shape[2] = {64, 512};
    mms_array *a = NULL;
    uint64_t partial, full;

    TU_OK_FATAL(mms_array_create(s, "inc", MMS_UINT8, 2, shape, 0, &a));
    unsigned char *d = mms_array_data(a);
    for (int r = 0; r < 64; r += 9) {
        d[r * 512 + r] = (unsigned char)(r + 1);
        TU_OK(mms_array_sync_range(a, (uint64_t)r, 1));
    }
    partial = checksum_of(s, "inc");
    TU_OK(mms_array_sync(a));
    full = checksum_of(s, "inc");
    CU_ASSERT_EQUAL(partial, full);
    TU_OK(mms_array_close(a));
    TU_OK(mms_store_close(s));
    check_root(path, "inc");
}

/* ---- suites ------------------------------------------------------------ */

static const tu_test verify_tests[] = {
    TU_TEST(verify_passes_after_create_and_sync),
    TU_TEST(flipped_byte_reports_its_block_and_rows),
    TU_TEST(flipped_byte_in_aligned_rows),
    TU_TEST(verify_reports_blocks_in_order_and_stops),
    TU_TEST(verify_of_many_blocks_names_the_exact_one),
    TU_TEST(verify_of_zero_d_and_empty_arrays),
    TU_TEST(verify_of_missing_array_is_notfound),
    TU_TEST(unsynced_write_is_reported_until_sync),
    TU_END,
};

static const tu_test root_tests[] = {
    TU_TEST(checksum_changes_with_data_and_sync),
    TU_TEST(same_contents_give_the_same_checksum),
    TU_TEST(root_is_consistent_with_format_md),
    TU_TEST(resize_keeps_blocks_and_root_consistent),
    TU_TEST(resized_checksum_matches_a_fresh_array),
    TU_TEST(remove_drops_the_block_checksums),
    TU_END,
};

static const tu_test sync_range_tests[] = {
    TU_TEST(sync_range_rehashes_only_touched_blocks),
    TU_TEST(sync_range_updates_the_root_incrementally),
    TU_END,
};

static const tu_suite suites[] = {
    {"verify", verify_tests},
    {"root", root_tests},
    {"sync_range", sync_range_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
