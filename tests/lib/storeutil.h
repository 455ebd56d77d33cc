/*
 * storeutil.h - helpers for tests that look at a store's files directly,
 * without libmmstore: the LMDB catalog and the .npy data files, with the
 * layouts of docs/format.md. They let a test check the on-disk format and
 * damage a store on purpose.
 *
 * The catalog functions open STORE/catalog with plain LMDB. LMDB forbids one
 * process to have two environments on the same files at once, so the store
 * must not be open (by mms_store_open) in this process while they run.
 * They return 0 or an LMDB or errno code; su_strerror() describes it.
 */
#ifndef MMS_STOREUTIL_H
#define MMS_STOREUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Size of the fixed part of an "arrays" record, before shape and hash. */
#define SU_RECORD_FIXED 72
/* Size of an "arrays" record for ndim dimensions. */
#define SU_RECORD_SIZE(ndim) (SU_RECORD_FIXED + 8 * (size_t)(ndim) + 8)
/* Offset of the data in a data file. */
#define SU_DATA_OFFSET 4096

const char *su_strerror(int rc);

/* Copies the value of key in database db into a malloc'd *val (free it). */
int su_cat_get(const char *store, const char *db, const void *key,
               size_t klen, void **val, size_t *vlen);

/* Stores key -> val in database db, in one committed transaction. */
int su_cat_put(const char *store, const char *db, const void *key,
               size_t klen, const void *val, size_t vlen);

/* Counts the keys of database db that start with prefix (plen may be 0). */
int su_cat_count(const char *store, const char *db, const void *prefix,
                 size_t plen, size_t *count);

/* Reads the block checksums of data file id from the "blocks" database into
 * a malloc'd array indexed by block (free it); *n is their number. Fails
 * with EINVAL when the block indexes are not 0, 1, ... n-1. */
int su_cat_blocks(const char *store, uint64_t id, uint64_t **hashes,
                  uint64_t *n);

/* The record root of docs/format.md from block checksums. */
uint64_t su_root(const uint64_t *hashes, uint64_t n);

/* Recomputes the trailing XXH3-64 of an "arrays" record of len bytes. */
void su_record_rehash(void *record, size_t len);

/* Little-endian and big-endian integer access. */
uint16_t su_le16(const void *p);
uint32_t su_le32(const void *p);
uint64_t su_le64(const void *p);
void su_put_le32(void *p, uint32_t v);
void su_put_le64(void *p, uint64_t v);
void su_put_be64(void *p, uint64_t v);

/* STORE/data/<id as %016x>.npy into buf. */
void su_data_path(char *buf, size_t size, const char *store, uint64_t id);

/* Number of entries in directory path (without "." and ".."), or -1. */
int su_count_entries(const char *path);

/* Number of files in STORE/data/ (su_count_entries of it), or -1. */
int su_data_entries(const char *store);

/* Reads the whole file into a malloc'd buffer (free it); NULL on error. */
void *su_read_file(const char *path, size_t *len);

/* Reads len bytes at offset of file path; 0 or an errno code. */
int su_pread(const char *path, uint64_t offset, void *buf, size_t len);

/* Writes len bytes at offset of file path; 0 or an errno code. */
int su_pwrite(const char *path, uint64_t offset, const void *buf, size_t len);

/* XORs the byte at offset of file path with mask; 0 or an errno code. */
int su_flip_byte(const char *path, uint64_t offset, unsigned char mask);

/* The expected .npy header dict text for descr and shape, as format.md
 * spells it: "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }". */
void su_npy_dict(char *buf, size_t size, const char *descr, int ndim,
                 const uint64_t *shape);

#endif
