/* test_record.c - the format layer below the API: the catalog record codec
 * (format.md, "arrays"), the overflow-checked geometry derived from a
 * record, block keys and root terms, the library's .npy header, data file
 * names. Links the library's internals (libmmstore-internal.la). */
#include "testutil.h"

#include "format.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static mmsi_record sample(int ndim)
{
    mmsi_record r = {.id = 0x0123456789abcdefULL, .dtype = MMS_FLOAT32,
                     .ndim = ndim, .flags = MMSI_REC_DIRTY,
                     .block_size = 1u << 20, .root = 0xfeedfacecafebeefULL,
                     .generation = 7, .created_ns = -5,
                     .modified_ns = INT64_MAX};
    for (int i = 0; i < ndim; i++)
        r.shape[i] = i < 4 ? (uint64_t)(i + 2) : 1; /* sizes stay small */
    r.capacity_rows = ndim ? r.shape[0] + 10 : 1;
    return r;
}

static int decode(const unsigned char *buf, size_t len, mmsi_record *out)
{
    return mmsi_rec_decode("x", buf, len, out);
}

/* Re-seals a record body that a test changed, so that only the change is
 * judged, not the checksum. */
static void reseal(unsigned char *buf, int ndim)
{
    size_t body = MMSI_REC_FIXED + 8u * (size_t)ndim;
    mmsi_put_le64(buf + body, XXH3_64bits(buf, body));
}

static void record_round_trips_for_every_ndim(void)
{
    const int ndims[] = {0, 1, 2, MMS_MAX_NDIM};
    for (size_t k = 0; k < sizeof ndims / sizeof *ndims; k++) {
        mmsi_record r = sample(ndims[k]), back;
        unsigned char buf[MMSI_REC_FIXED + 8 * MMS_MAX_NDIM + 8];
        size_t len = mmsi_rec_size(r.ndim);
        TU_CHECKF(len == MMSI_REC_FIXED + 8u * (size_t)r.ndim + 8,
                  "ndim %d: record size %zu", r.ndim, len);
        mmsi_rec_encode(&r, buf);
        TU_OK(decode(buf, len, &back));
        TU_CHECKF(memcmp(&r, &back, sizeof r) == 0,
                  "ndim %d: the decoded record differs", r.ndim);
    }
}

static void record_layout_is_little_endian_as_documented(void)
{
    mmsi_record r = sample(2);
    unsigned char buf[256];
    mmsi_rec_encode(&r, buf);
    CU_ASSERT(memcmp(buf, "MMSA", 4) == 0);
    CU_ASSERT_EQUAL(mmsi_get_le16(buf + 4), 1);          /* version */
    CU_ASSERT_EQUAL(mmsi_get_le16(buf + 6), 2);          /* ndim */
    CU_ASSERT_EQUAL(mmsi_get_le32(buf + 8), MMS_FLOAT32);
    CU_ASSERT_EQUAL(mmsi_get_le64(buf + 16), r.id);
    CU_ASSERT_EQUAL(buf[16], 0xef);                       /* low byte first */
    CU_ASSERT_EQUAL(mmsi_get_le64(buf + MMSI_REC_FIXED), 2);
    CU_ASSERT_EQUAL(mmsi_get_le64(buf + MMSI_REC_FIXED + 8), 3);
}

static void record_with_any_byte_changed_is_corrupt(void)
{
    mmsi_record r = sample(3), back;
    unsigned char buf[256];
    size_t len = mmsi_rec_size(3);
    mmsi_rec_encode(&r, buf);
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x40;
        int rc = decode(buf, len, &back);
        TU_CHECKF(rc == MMS_ERR_CORRUPT || rc == MMS_ERR_VERSION,
                  "byte %zu flipped: decode returned %d", i, rc);
        buf[i] ^= 0x40;
    }
    TU_OK(decode(buf, len, &back));
}

static void record_of_wrong_length_is_corrupt(void)
{
    mmsi_record r = sample(2), back;
    unsigned char buf[256] = {0};
    size_t len = mmsi_rec_size(2);
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, 0, &back));
    TU_RC(MMS_ERR_CORRUPT, decode(buf, MMSI_REC_FIXED + 7, &back));
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len - 1, &back));
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len + 8, &back));
    CU_ASSERT(strstr(mms_errmsg(), "'x'") != NULL); /* names the array */
}

static void record_of_newer_version_is_refused_as_version(void)
{
    mmsi_record r = sample(1), back;
    unsigned char buf[256];
    mmsi_rec_encode(&r, buf);
    mmsi_put_le16(buf + 4, 2);
    reseal(buf, 1);
    TU_RC(MMS_ERR_VERSION, decode(buf, mmsi_rec_size(1), &back));
}

static void record_with_ndim_over_the_limit_is_corrupt(void)
{
    unsigned char buf[MMSI_REC_FIXED + 8 * 40 + 8];
    mmsi_record r = sample(MMS_MAX_NDIM), back;
    mmsi_rec_encode(&r, buf);
    mmsi_put_le16(buf + 6, MMS_MAX_NDIM + 1);
    size_t len = MMSI_REC_FIXED + 8u * (MMS_MAX_NDIM + 1) + 8;
    memset(buf + MMSI_REC_FIXED + 8 * MMS_MAX_NDIM, 0, 16);
    reseal(buf, MMS_MAX_NDIM + 1);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
}

/* Each field a lying record may carry, sealed with a valid checksum: the
 * decoder must judge the values themselves. */
static void record_with_bad_values_is_corrupt(void)
{
    mmsi_record base = sample(2), back;
    unsigned char buf[256];
    size_t len = mmsi_rec_size(2);

    mmsi_record r = base;
    r.dtype = (mms_dtype)999;
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
    r = base;
    r.id = 0;
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
    r = base;
    r.flags = 0x80;
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
    const uint64_t bad_blocks[] = {0, 2048, 3 << 20, (uint64_t)1 << 31};
    for (size_t i = 0; i < 4; i++) {
        r = base;
        r.block_size = bad_blocks[i];
        mmsi_rec_encode(&r, buf);
        TU_CHECKF(decode(buf, len, &back) == MMS_ERR_CORRUPT,
                  "block size %llu accepted",
                  (unsigned long long)bad_blocks[i]);
    }
    r = base;
    r.capacity_rows = r.shape[0] - 1;
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
    r = base;
    r.shape[1] = UINT64_MAX / 2; /* rows * row bytes overflows */
    mmsi_rec_encode(&r, buf);
    TU_RC(MMS_ERR_CORRUPT, decode(buf, len, &back));
}

static void geometry_of_an_ordinary_array(void)
{
    mmsi_record r = sample(2); /* float32, shape (2, 3), capacity 12 rows */
    mmsi_geometry g;
    TU_OK(mmsi_rec_geometry(&r, &g));
    CU_ASSERT_EQUAL(g.itemsize, 4);
    CU_ASSERT_EQUAL(g.rows, 2);
    CU_ASSERT_EQUAL(g.row_bytes, 12);
    CU_ASSERT_EQUAL(g.nbytes, 24);
    CU_ASSERT_EQUAL(g.nblocks, 1);
    CU_ASSERT_EQUAL(g.file_size, MMSI_HEADER_SIZE + MMSI_PAGE);
    r.block_size = 4096;
    r.shape[0] = 1000;
    r.capacity_rows = 1000;
    TU_OK(mmsi_rec_geometry(&r, &g));
    CU_ASSERT_EQUAL(g.nbytes, 12000);
    CU_ASSERT_EQUAL(g.nblocks, 3); /* 4096 + 4096 + 3808 */
    CU_ASSERT_EQUAL(g.file_size, MMSI_HEADER_SIZE + 3 * MMSI_PAGE);
}

static void geometry_of_scalars_and_empty_arrays(void)
{
    mmsi_record r = sample(0);
    r.dtype = MMS_COMPLEX128;
    mmsi_geometry g;
    TU_OK(mmsi_rec_geometry(&r, &g));
    CU_ASSERT_EQUAL(g.rows, 1);
    CU_ASSERT_EQUAL(g.nbytes, 16);
    CU_ASSERT_EQUAL(g.nblocks, 1);
    r = sample(1);
    r.shape[0] = 0;
    r.capacity_rows = 0;
    TU_OK(mmsi_rec_geometry(&r, &g));
    CU_ASSERT_EQUAL(g.nbytes, 0);
    CU_ASSERT_EQUAL(g.nblocks, 0);
    /* Even an empty array has one data page: it can be mapped. */
    CU_ASSERT_EQUAL(g.file_size, MMSI_HEADER_SIZE + MMSI_PAGE);
}

static void geometry_overflow_is_too_big_never_wraps(void)
{
    mmsi_record r = sample(3);
    mmsi_geometry g;
    r.shape[1] = UINT64_C(1) << 40;
    r.shape[2] = UINT64_C(1) << 40; /* row bytes overflow */
    TU_RC(MMS_ERR_TOOBIG, mmsi_rec_geometry(&r, &g));
    r = sample(2);
    r.shape[0] = r.capacity_rows = UINT64_C(1) << 62; /* rows * 12 */
    TU_RC(MMS_ERR_TOOBIG, mmsi_rec_geometry(&r, &g));
    r = sample(1);
    r.dtype = MMS_UINT8;
    r.shape[0] = 1;
    r.capacity_rows = UINT64_MAX; /* capacity, not shape, overflows */
    TU_RC(MMS_ERR_TOOBIG, mmsi_rec_geometry(&r, &g));
    r.capacity_rows = (uint64_t)INT64_MAX - 100; /* fits 64 bits, not off_t */
    TU_RC(MMS_ERR_TOOBIG, mmsi_rec_geometry(&r, &g));
}

static void info_from_a_record(void)
{
    mmsi_record r = sample(2);
    mms_info info;
    mmsi_rec_to_info(&r, &info);
    CU_ASSERT_EQUAL(info.dtype, MMS_FLOAT32);
    CU_ASSERT_EQUAL(info.ndim, 2);
    CU_ASSERT_EQUAL(info.shape[0], 2);
    CU_ASSERT_EQUAL(info.shape[1], 3);
    CU_ASSERT_EQUAL(info.nbytes, 24);
    CU_ASSERT_EQUAL(info.generation, 7);
    CU_ASSERT_EQUAL(info.checksum, r.root);
    CU_ASSERT_EQUAL(info.capacity_rows, 12);
    CU_ASSERT_EQUAL(info.state, MMS_STATE_CLEAN);
}

static void block_keys_sort_by_id_then_block(void)
{
    unsigned char a[16], b[16], c[16];
    mmsi_block_key(a, 1, 0xffffffff);
    mmsi_block_key(b, 2, 0);
    mmsi_block_key(c, 2, 1);
    CU_ASSERT(memcmp(a, b, 16) < 0); /* LMDB compares keys bytewise */
    CU_ASSERT(memcmp(b, c, 16) < 0);
}

static void root_terms_depend_on_the_block_index(void)
{
    CU_ASSERT_NOT_EQUAL(mmsi_root_term(0, 42), mmsi_root_term(1, 42));
    CU_ASSERT_NOT_EQUAL(mmsi_root_term(0, 42), mmsi_root_term(0, 43));
    /* Swapping two blocks' contents changes the root. */
    CU_ASSERT_NOT_EQUAL(mmsi_root_term(0, 5) + mmsi_root_term(1, 6),
                        mmsi_root_term(0, 6) + mmsi_root_term(1, 5));
}

static void npy_header_is_4096_bytes_numpy_can_read(void)
{
    unsigned char hdr[MMSI_HEADER_SIZE];
    uint64_t shape[2] = {1000, 3};
    TU_OK(mmsi_npy_format(hdr, MMS_FLOAT64, 2, shape));
    CU_ASSERT(memcmp(hdr, "\x93NUMPY\x01\x00", 8) == 0);
    CU_ASSERT_EQUAL(mmsi_get_le16(hdr + 8), MMSI_HEADER_SIZE - 10);
    CU_ASSERT_EQUAL(hdr[MMSI_HEADER_SIZE - 1], '\n');
    const char *dict = "{'descr': '<f8', 'fortran_order': False, "
                       "'shape': (1000, 3), }";
    CU_ASSERT(memcmp(hdr + 10, dict, strlen(dict)) == 0);
    TU_OK(mmsi_npy_check(hdr, sizeof hdr, MMS_FLOAT64, 2, shape));
    uint64_t one[1] = {5};
    TU_OK(mmsi_npy_format(hdr, MMS_BOOL, 1, one));
    CU_ASSERT(strstr((char *)hdr + 10, "'shape': (5,), }") != NULL);
    TU_OK(mmsi_npy_format(hdr, MMS_INT8, 0, NULL));
    CU_ASSERT(strstr((char *)hdr + 10, "'shape': (), }") != NULL);
}

static void npy_header_that_disagrees_is_corrupt(void)
{
    unsigned char hdr[MMSI_HEADER_SIZE];
    uint64_t shape[2] = {1000, 3}, other[2] = {1001, 3};
    TU_OK(mmsi_npy_format(hdr, MMS_FLOAT64, 2, shape));
    TU_RC(MMS_ERR_CORRUPT, mmsi_npy_check(hdr, sizeof hdr, MMS_FLOAT32, 2,
                                          shape));
    TU_RC(MMS_ERR_CORRUPT, mmsi_npy_check(hdr, sizeof hdr, MMS_FLOAT64, 2,
                                          other));
    TU_RC(MMS_ERR_CORRUPT, mmsi_npy_check(hdr, sizeof hdr, MMS_FLOAT64, 1,
                                          shape));
    TU_RC(MMS_ERR_CORRUPT, mmsi_npy_check(hdr, 100, MMS_FLOAT64, 2, shape));
    hdr[3] = 'X';
    TU_RC(MMS_ERR_CORRUPT, mmsi_npy_check(hdr, sizeof hdr, MMS_FLOAT64, 2,
                                          shape));
}

static void data_files_are_named_by_id_only(void)
{
    char name[32];
    mmsi_data_name(name, sizeof name, 0x2a);
    CU_ASSERT_STRING_EQUAL(name, "000000000000002a.npy");
    char *path = mmsi_data_path("/s", UINT64_MAX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    CU_ASSERT_STRING_EQUAL(path, "/s/data/ffffffffffffffff.npy");
    free(path);
}

static const tu_test codec_tests[] = {
    TU_TEST(record_round_trips_for_every_ndim),
    TU_TEST(record_layout_is_little_endian_as_documented),
    TU_TEST(record_with_any_byte_changed_is_corrupt),
    TU_TEST(record_of_wrong_length_is_corrupt),
    TU_TEST(record_of_newer_version_is_refused_as_version),
    TU_TEST(record_with_ndim_over_the_limit_is_corrupt),
    TU_TEST(record_with_bad_values_is_corrupt),
    TU_END,
};

static const tu_test geometry_tests[] = {
    TU_TEST(geometry_of_an_ordinary_array),
    TU_TEST(geometry_of_scalars_and_empty_arrays),
    TU_TEST(geometry_overflow_is_too_big_never_wraps),
    TU_TEST(info_from_a_record),
    TU_TEST(block_keys_sort_by_id_then_block),
    TU_TEST(root_terms_depend_on_the_block_index),
    TU_END,
};

static const tu_test file_tests[] = {
    TU_TEST(npy_header_is_4096_bytes_numpy_can_read),
    TU_TEST(npy_header_that_disagrees_is_corrupt),
    TU_TEST(data_files_are_named_by_id_only),
    TU_END,
};

static const tu_suite suites[] = {
    {"codec", codec_tests},
    {"geometry", geometry_tests},
    {"files", file_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
