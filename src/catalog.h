/* catalog.h - the catalog layer of libmmstore (src/README.md): the LMDB
 * environment shared by a process's store handles and transactions with
 * the map-growth protocol (catalog.c), the entries: records of arrays and
 * staged versions, meta values, attributes, writers (entries.c), and the
 * block checksums with their root (checksum.c). Includes format.h and base.h only. Never installed. */
#ifndef MMS_CATALOG_H
#define MMS_CATALOG_H

#include "format.h"

#include <lmdb.h>

/* A store handle's view of its catalog. The environment behind it is
 * shared by every handle of this process on the same catalog (LMDB forbids
 * opening one twice in a process). */
typedef struct mmsi_cat {
    const char *path;          /* the store's directory, for messages;
                                  owned by the store handle */
    struct mmsi_catalog *shared;
    unsigned long fork_generation; /* mmsi_fork_generation() at open */
    MDB_env *env;
    MDB_dbi db_meta, db_arrays, db_blocks, db_attrs, db_staged, db_writers;
    bool has_writers;          /* false only for an old catalog opened
                                  where it cannot be written */
} mmsi_cat;

/* Opens (create: and makes) the catalog in STORE/catalog of the store
 * directory dirfd, whose path is path (kept, not copied). shared_group
 * widens new files to the group; rdonly skips clearing dead readers. */
int mmsi_cat_open(mmsi_cat *cat, const char *path, int dirfd, bool create,
                  bool shared_group, bool rdonly);
void mmsi_cat_close(mmsi_cat *cat);
/* MMS_ERR_FORKED when cat was opened in a parent of this process. */
int mmsi_cat_check_fork(const mmsi_cat *cat);

/* A transaction body: may be run more than once (after the map grew), so
 * it must not change anything outside the transaction until it returns
 * MMS_OK. Return MMS_OK to commit, anything else to abort. */
typedef int (*mmsi_txn_fn)(MDB_txn *txn, void *ctx);
/* Runs fn in a write transaction and commits it; grows the map and retries
 * on MDB_MAP_FULL, adopts another process's map size on MDB_MAP_RESIZED. */
int mmsi_cat_write(mmsi_cat *cat, mmsi_txn_fn fn, void *ctx);
/* Runs fn in a read transaction. */
int mmsi_cat_read(mmsi_cat *cat, mmsi_txn_fn fn, void *ctx);

/* Returned by mmsi_put, mmsi_del (and entries.c's own cursor deletes)
 * inside a transaction body when the map is full: the body passes it up
 * and mmsi_cat_write grows the map and runs it again. */
#define MMSI_MAP_FULL_RETRY (-1000)

/* mdb_put / mdb_del with the map-full retry protocol of mmsi_cat_write:
 * transaction bodies must use these and pass their result up unchanged. */
int mmsi_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const void *val, size_t vlen, const char *what);
int mmsi_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const char *what);

/* Reads and decodes the record of name. MMS_ERR_NOTFOUND with a message
 * naming it when absent. */
int mmsi_cat_get(mmsi_cat *cat, MDB_txn *txn, const char *name,
                 mmsi_record *rec);
int mmsi_cat_put(mmsi_cat *cat, MDB_txn *txn, const char *name,
                 const mmsi_record *rec);
/* Staged (unpublished) versions: id -> record + target name. */
int mmsi_staged_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                    const char *name, mmsi_record *rec);
int mmsi_staged_put(mmsi_cat *cat, MDB_txn *txn, const char *name,
                    const mmsi_record *rec);
int mmsi_staged_del(mmsi_cat *cat, MDB_txn *txn, uint64_t id);
/* Copies every attrs entry of id from to id to (inside txn). */
int mmsi_attrs_copy(mmsi_cat *cat, MDB_txn *txn, uint64_t from,
                    uint64_t to);
/* Whether a staged entry or a record other than except's (NULL: any)
 * names version id. O(number of arrays): for removals and check. */
int mmsi_cat_id_named(mmsi_cat *cat, MDB_txn *txn, const char *except,
                      uint64_t id, bool *named);
/* Deletes every blocks, attrs and writers entry of id (and nothing
 * else). */
int mmsi_cat_delete_id(mmsi_cat *cat, MDB_txn *txn, uint64_t id);
/* Reads/writes meta u64 values. */
int mmsi_meta_get_u64(mmsi_cat *cat, MDB_txn *txn, const char *key,
                      uint64_t *out);
int mmsi_meta_put_u64(mmsi_cat *cat, MDB_txn *txn, const char *key,
                      uint64_t value);

/* ---- writers (catalog.c) -----------------------------------------------
 * The writable handles of a version that may have unsynced writes, one
 * entry per writer slot they hold (format.h). since_ns and pid identify the
 * writer: an entry read twice with the same values is the same writer. */
#define MMSI_WRITER_VAL 12u
typedef struct mmsi_writer {
    unsigned slot;
    uint32_t pid;
    int64_t since_ns;
} mmsi_writer;
int mmsi_writer_put(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                    const mmsi_writer *w);
/* Deleting an absent entry is success. */
int mmsi_writer_del(mmsi_cat *cat, MDB_txn *txn, uint64_t id, unsigned slot);
/* The entries of version id, in slot order, at most max of them (more is
 * MMS_ERR_CORRUPT). */
int mmsi_writers_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id,
                     mmsi_writer *out, size_t max, size_t *n);

/* ---- checksums (checksum.c) --------------------------------------------
 * Block i covers data bytes [i*B, min((i+1)*B, nbytes)); the root is a sum
 * of per-block terms, so changing k blocks costs O(k). */

/* Hashes blocks [first, first + count) of data (nbytes long) with every
 * CPU the process may use when there is enough work: *out gets count
 * hashes (free() it; NULL when count is 0). */
int mmsi_blocks_hash(const unsigned char *data, uint64_t nbytes,
                     uint64_t block_size, uint64_t first, uint64_t count,
                     uint64_t **out);
/* Records hashes of blocks [first, first + count) and updates rec->root. */
int mmsi_blocks_put(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                    uint64_t first, uint64_t count, const uint64_t *hashes);
/* Re-hashes blocks [first, last] of data (nbytes long), writes their
 * entries and updates rec->root. Inside txn. */
int mmsi_blocks_update(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                       const unsigned char *data, uint64_t nbytes,
                       uint64_t first, uint64_t last);
/* Deletes block entries [from, to) of rec (subtracting their root terms). */
int mmsi_blocks_drop(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                     uint64_t from, uint64_t to);
/* Writes the checksums of an all-zero array of nbytes and sets rec->root. */
int mmsi_blocks_init_zero(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                          uint64_t nbytes);
/* The recorded hash of one block; *found false when it has none. */
int mmsi_block_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id, uint64_t block,
                   uint64_t *hash, bool *found);

#endif
