/* internal.h - private declarations shared by libmmstore's source files.
 * Never installed. Internal functions shared across files carry the mmsi_
 * prefix, which cannot be mistaken for public API. */
#ifndef MMS_INTERNAL_H
#define MMS_INTERNAL_H

#include "config.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mmstore.h"

/* ---- errors (error.c) ---------------------------------------------------
 * Every failure sets the thread's message through one of these and returns
 * the code, so "return mmsi_err(...)" is the idiom. */
int mmsi_err(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As mmsi_err, appending ": strerror(errnum)" and choosing the code from
 * errnum (ENOSPC -> NOSPC, EACCES/EPERM -> PERM, ENOMEM -> NOMEM, EROFS ->
 * RDONLY, ENOENT -> NOTFOUND, EEXIST -> EXISTS, EFBIG -> TOOBIG, else IO). */
int mmsi_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The code mmsi_errno would choose for errnum. */
int mmsi_errno_code(int errnum);
/* As mmsi_err for an LMDB return code (MDB_NOTFOUND -> NOTFOUND,
 * MDB_CORRUPTED/MDB_INVALID/MDB_PAGE_NOTFOUND -> CORRUPT, errno values as
 * mmsi_errno). */
int mmsi_err_lmdb(int mdb_rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with "what: " (for adding context on the way
 * up) and returns rc unchanged. */
int mmsi_err_context(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mmsi_err_clear(void);

/* ---- dtypes (dtype.c) -------------------------------------------------- */
bool mmsi_dtype_valid(int dtype);

/* ---- names (store.c) --------------------------------------------------- */
/* MMS_OK or MMS_ERR_INVAL with a message saying what is wrong with it.
 * what is "name" or "attribute key". */
int mmsi_check_name(const char *name, const char *what);

/* ---- overflow-checked arithmetic --------------------------------------- */
static inline bool mmsi_mul_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool mmsi_add_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* ---- little/big-endian codecs ------------------------------------------ */
static inline void mmsi_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t mmsi_get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline void mmsi_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t mmsi_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline void mmsi_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline uint16_t mmsi_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline void mmsi_put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}
static inline uint64_t mmsi_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- the .npy data file (npy.c) ---------------------------------------- */
#define MMSI_HEADER_SIZE 4096u   /* data starts here: page-aligned */
#define MMSI_PAGE 4096u
#define MMSI_WRITER_LOCK_OFFSET 1 /* "writer present" byte (format.md) */

/* Formats the 4096-byte .npy header for dtype/ndim/shape into buf. */
int mmsi_npy_format(unsigned char *buf, mms_dtype dtype, int ndim,
                    const uint64_t *shape);
/* Checks that buf (4096 bytes read from a data file) is the header
 * mmsi_npy_format would write for dtype/ndim/shape. On mismatch returns
 * MMS_ERR_CORRUPT with a message saying what differs. */
int mmsi_npy_check(const unsigned char *buf, size_t len, mms_dtype dtype,
                   int ndim, const uint64_t *shape);

/* ---- the catalog record (catalog.c) ------------------------------------ */
#define MMSI_REC_FIXED 72u
#define MMSI_REC_DIRTY 0x1u
#define MMSI_REC_INTERRUPTED 0x2u
/* A resize committed its new shape and may not have rewritten the data
 * file's header yet (a crash can leave it so): the catalog's shape is the
 * truth and the header is rewritten from it. */
#define MMSI_REC_RESIZING 0x4u
#define MMSI_REC_KNOWN_FLAGS (MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED | \
                              MMSI_REC_RESIZING)

typedef struct mmsi_record {
    uint64_t id;
    mms_dtype dtype;
    int ndim;
    uint32_t flags;
    uint64_t shape[MMS_MAX_NDIM];
    uint64_t capacity_rows;
    uint64_t block_size;
    uint64_t root;
    uint64_t generation;
    int64_t created_ns;
    int64_t modified_ns;
} mmsi_record;

/* Rewrites the 4096-byte header of data file fd from rec, durably. */
int mmsi_npy_rewrite(int fd, const mmsi_record *rec);

/* Derived sizes of a record (all overflow-checked by mmsi_rec_geometry). */
typedef struct mmsi_geometry {
    uint64_t itemsize;
    uint64_t rows;       /* shape[0], or 1 for 0-d */
    uint64_t row_bytes;  /* bytes per row of axis 0 (itemsize for 0-d) */
    uint64_t nbytes;     /* rows * row_bytes */
    uint64_t nblocks;    /* ceil(nbytes / block_size) */
    uint64_t file_size;  /* header + data capacity, page-rounded */
} mmsi_geometry;

/* Computes the geometry for rec (using capacity_rows for file_size).
 * MMS_ERR_TOOBIG on overflow (message names what overflows). */
int mmsi_rec_geometry(const mmsi_record *rec, mmsi_geometry *g);
size_t mmsi_rec_size(int ndim);
void mmsi_rec_encode(const mmsi_record *rec, unsigned char *buf);
/* Decodes and validates a record; MMS_ERR_CORRUPT naming name otherwise. */
int mmsi_rec_decode(const char *name, const void *data, size_t len,
                    mmsi_record *rec);
void mmsi_rec_to_info(const mmsi_record *rec, mms_info *info);

/* Block checksum keys and root terms. */
void mmsi_block_key(unsigned char key[16], uint64_t id, uint64_t block);
uint64_t mmsi_root_term(uint64_t block, uint64_t hash);

/* ---- descriptors that hold locks (lock.c) ------------------------------
 * fork() shares open file descriptions, and with them OFD locks: a child
 * that outlived its parent would keep the parent's locks (and writer
 * bytes) alive. Every descriptor holding a lock is registered here, and the
 * fork child handler closes them all in the child (setting them to -1),
 * so locks still vanish when their holder dies. */
typedef struct mmsi_held {
    int *fd;
    bool linked;
    struct mmsi_held *prev, *next;
} mmsi_held;
void mmsi_held_add(mmsi_held *h, int *fd);
void mmsi_held_remove(mmsi_held *h);
void mmsi_held_close_in_child(void);

/* ---- descriptor pools for locks (lock.c) ------------------------------- */
#define MMSI_FDPOOL_SIZE 16
typedef struct mmsi_fdpool {
    pthread_mutex_t mu;
    int source;      /* the descriptor whose file is reopened */
    bool writable;
    int n;
    int fds[MMSI_FDPOOL_SIZE]; /* descriptors holding no lock */
} mmsi_fdpool;
void mmsi_fdpool_init(mmsi_fdpool *pool, int fd, bool writable);
void mmsi_fdpool_destroy(mmsi_fdpool *pool);

/* ---- the store (store.c, catalog.c) ------------------------------------ */
struct mms_store {
    char *path;
    int dirfd;         /* STORE/ */
    int datafd;        /* STORE/data/ */
    int lockfd;        /* STORE/LOCK */
    unsigned flags;
    bool shared_group; /* files are 0660 instead of 0600 */
    uint64_t block_size;
    struct mmsi_catalog *cat; /* shared by every handle of this process */
    unsigned long fork_generation; /* mmsi_fork_generation() at open */
    MDB_env *env;             /* cat->env */
    MDB_dbi db_meta, db_arrays, db_blocks, db_attrs, db_staged;
    mmsi_fdpool lock_pool;       /* for named locks on LOCK */
    pthread_mutex_t arrays_lock; /* guards narrays */
    long narrays;                /* open array handles */
};

/* A write-transaction body: may be run more than once (after the map grew),
 * so it must not change anything outside the transaction until it returns
 * MMS_OK. Return MMS_OK to commit, anything else to abort. */
typedef int (*mmsi_write_fn)(mms_store *store, MDB_txn *txn, void *ctx);
typedef int (*mmsi_read_fn)(mms_store *store, MDB_txn *txn, void *ctx);

int mmsi_cat_open(mms_store *store, bool create);
/* MMS_ERR_FORKED when store was opened in a parent of this process. */
int mmsi_check_fork(const mms_store *store);
unsigned long mmsi_fork_generation(void);
void mmsi_cat_close(mms_store *store);
/* Runs fn in a write transaction and commits it; grows the map and retries
 * on MDB_MAP_FULL. */
int mmsi_cat_write(mms_store *store, mmsi_write_fn fn, void *ctx);
/* Runs fn in a read transaction. */
int mmsi_cat_read(mms_store *store, mmsi_read_fn fn, void *ctx);

/* mdb_put / mdb_del with the map-full retry protocol of mmsi_cat_write:
 * transaction bodies must use these and pass their result up unchanged. */
int mmsi_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const void *val, size_t vlen, const char *what);
int mmsi_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
             const char *what);

/* Reads and decodes the record of name. MMS_ERR_NOTFOUND with a message
 * naming it when absent. */
int mmsi_cat_get(mms_store *store, MDB_txn *txn, const char *name,
                 mmsi_record *rec);
int mmsi_cat_put(mms_store *store, MDB_txn *txn, const char *name,
                 const mmsi_record *rec);
/* Staged (unpublished) versions: id -> record + target name. */
int mmsi_staged_get(mms_store *store, MDB_txn *txn, uint64_t id,
                    const char *name, mmsi_record *rec);
int mmsi_staged_put(mms_store *store, MDB_txn *txn, const char *name,
                    const mmsi_record *rec);
int mmsi_staged_del(mms_store *store, MDB_txn *txn, uint64_t id);
/* Copies every attrs entry of id from to id to (inside txn). */
int mmsi_attrs_copy(mms_store *store, MDB_txn *txn, uint64_t from,
                    uint64_t to);

/* Deletes every blocks and attrs entry of id (and nothing else). */
int mmsi_cat_delete_id(mms_store *store, MDB_txn *txn, uint64_t id);
/* Reads/writes meta u64 values. */
int mmsi_meta_get_u64(mms_store *store, MDB_txn *txn, const char *key,
                      uint64_t *out);
int mmsi_meta_put_u64(mms_store *store, MDB_txn *txn, const char *key,
                      uint64_t value);

int mmsi_store_check_writable(const mms_store *store, const char *what);
/* "data/<id>.npy" relative to the store dir, into buf (>= 32 bytes). */
void mmsi_data_name(char *buf, size_t size, uint64_t id);
/* Absolute-ish path store->path + "/data/<id>.npy", malloc'd. */
char *mmsi_data_path(const mms_store *store, uint64_t id);
int64_t mmsi_now_ns(void);

/* The state of an array from its record: DIRTY with nobody holding the
 * writer byte of its data file is INTERRUPTED. fd may be -1 (the file is
 * opened here). */
int mmsi_array_state(mms_store *store, const mmsi_record *rec, int fd,
                     mms_state *state);
/* Whether an open file description other than fd's holds the writer byte
 * of the data file fd; 0 or an errno value. */
int mmsi_writer_present(int fd, bool *present);

/* ---- arrays (array.c) -------------------------------------------------- */
struct mms_array {
    mms_store *store;
    char *name;
    char *path;
    int fd;
    bool writable;
    bool writer_locked; /* holds the shared writer-present lock */
    bool staged;        /* an unpublished version (MMS_STAGED) */
    bool noreplace;     /* MMS_NOREPLACE: publish only a new name */
    mmsi_held held;     /* registers fd while it holds the writer byte */
    pthread_mutex_t view_lock; /* guards rec.root/modified_ns updates by
                                  concurrent syncs against info readers */
    mmsi_record rec;    /* this handle's view */
    mmsi_geometry geo;
    void *map;          /* data region (file offset 4096) */
    size_t map_len;
    mmsi_fdpool lock_pool; /* for range locks on the data file */
    long nlocks;        /* outstanding range locks (atomic) */
};

/* ---- checksums (checksum.c) -------------------------------------------- */
/* Re-hashes blocks [first, last] of data (nbytes long), writes their
 * entries in the blocks DB and updates rec->root. Inside txn. */
int mmsi_blocks_update(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                       const unsigned char *data, uint64_t nbytes,
                       uint64_t first, uint64_t last);
/* The two halves of mmsi_blocks_update, for callers that hash before their
 * transaction (while the disk writes the data back): *out gets count
 * hashes of blocks [first, first + count) (free() it; NULL when count is
 * 0), and mmsi_blocks_put records them. */
int mmsi_blocks_hash(const unsigned char *data, uint64_t nbytes,
                     uint64_t block_size, uint64_t first, uint64_t count,
                     uint64_t **out);
int mmsi_blocks_put(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                    uint64_t first, uint64_t count, const uint64_t *hashes);
/* Deletes block entries [from, to) of rec (subtracting their root terms). */
int mmsi_blocks_drop(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                     uint64_t from, uint64_t to);
/* Writes the checksums of an all-zero array of nbytes and sets rec->root. */
int mmsi_blocks_init_zero(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                          uint64_t nbytes);

#endif
