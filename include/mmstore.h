/*
 * mmstore.h - the public interface of libmmstore.
 *
 * mmstore keeps named, typed N-dimensional arrays in a directory (a "store").
 * Each array is one file, a valid NumPy .npy file whose data starts at byte
 * 4096, used through a MAP_SHARED mapping: every process that opens the array
 * sees the same bytes with no copies. An LMDB catalog records each array's
 * shape, dtype and per-block XXH3-64 checksums. See libmmstore(3),
 * docs/format.md and docs/concurrency.md.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *  - Fallible functions return MMS_OK (0) or a negative MMS_ERR_* code.
 *    mms_errmsg() then gives the calling thread's detailed message: what
 *    failed, on which array or path, and the system's reason.
 *  - A function that fails changes nothing visible: no half-made array, no
 *    catalog entry without its file, no file without its catalog entry.
 *  - A failed open or create sets *out to NULL. Close functions accept NULL.
 *  - Strings passed in are only read during the call; the library keeps its
 *    own copies.
 *  - Every function may fail with MMS_ERR_INVAL for a NULL handle or output
 *    pointer, MMS_ERR_NOMEM, MMS_ERR_IO for an unexpected system error, and
 *    MMS_ERR_FORKED when the store handle was opened by a parent process
 *    before fork() (a child must open its own; mapped data stays valid).
 *    These are not repeated in each comment.
 *  - Thread safety: a store handle may be used by many threads at once. An
 *    array handle may be shared by threads for data access (the pointer from
 *    mms_array_data) and for mms_array_info/sync/sync_range; functions that
 *    change the handle itself (resize, refresh, close) must not run
 *    concurrently with any other call on the same array handle.
 *
 * This header includes only standard headers: programs that use libmmstore
 * need none of its dependencies to compile.
 */
#ifndef MMSTORE_H
#define MMSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define MMS_API __attribute__((visibility("default")))
#else
#define MMS_API
#endif

/* Library version; mms_version() gives the version of the library loaded. */
#define MMS_VERSION_MAJOR 0
#define MMS_VERSION_MINOR 1
#define MMS_VERSION_PATCH 0
#define MMS_VERSION_STRING "0.1.0"

/* On-disk store format written by this library (docs/format.md). */
#define MMS_FORMAT_VERSION 1

/* Most dimensions an array may have (as NumPy). */
#define MMS_MAX_NDIM 32
/* Longest array name or attribute key, in bytes (not counting the NUL). */
#define MMS_NAME_MAX 255
/* Largest attribute value, in bytes. */
#define MMS_ATTR_VALUE_MAX 65536

/*
 * Result codes. This table is the single source of the enum below and of
 * mms_strerror(): X(NAME, value, message).
 */
#define MMS_ERROR_TABLE(X)                                                   \
    X(OK, 0, "success")                                                      \
    X(ERR_INVAL, -1, "invalid argument")                                     \
    X(ERR_NOTFOUND, -2, "not found")                                         \
    X(ERR_EXISTS, -3, "already exists")                                      \
    X(ERR_NOSPC, -4, "no space left on device")                              \
    X(ERR_NOMEM, -5, "out of memory")                                        \
    X(ERR_IO, -6, "input/output error")                                      \
    X(ERR_CORRUPT, -7, "corrupt store or data file")                         \
    X(ERR_VERSION, -8, "unsupported store format version")                   \
    X(ERR_RDONLY, -9, "read-only store or array")                            \
    X(ERR_PERM, -10, "permission denied")                                    \
    X(ERR_BUSY, -11, "resource busy")                                        \
    X(ERR_TIMEOUT, -12, "timed out")                                         \
    X(ERR_STALE, -13, "array handle is stale")                               \
    X(ERR_FORKED, -14, "handle used in a forked child")                      \
    X(ERR_CHECKSUM, -15, "checksum mismatch")                                \
    X(ERR_RANGE, -16, "out of range")                                        \
    X(ERR_DTYPE, -17, "unknown or unsuitable dtype")                         \
    X(ERR_TOOBIG, -18, "size too large")                                     \
    X(ERR_UNSUPPORTED, -19, "not supported")

#define MMS_ERROR_ENUM_(name, value, message) MMS_##name = (value),
enum mms_result { MMS_ERROR_TABLE(MMS_ERROR_ENUM_) };
#undef MMS_ERROR_ENUM_

/* Element types, with their NumPy descr strings. */
typedef enum mms_dtype {
    MMS_BOOL = 1,   /* |b1 */
    MMS_INT8,       /* |i1 */
    MMS_INT16,      /* <i2 */
    MMS_INT32,      /* <i4 */
    MMS_INT64,      /* <i8 */
    MMS_UINT8,      /* |u1 */
    MMS_UINT16,     /* <u2 */
    MMS_UINT32,     /* <u4 */
    MMS_UINT64,     /* <u8 */
    MMS_FLOAT16,    /* <f2 */
    MMS_FLOAT32,    /* <f4 */
    MMS_FLOAT64,    /* <f8 */
    MMS_COMPLEX64,  /* <c8 */
    MMS_COMPLEX128  /* <c16 */
} mms_dtype;

/* State of an array as the catalog and the writer lock tell it. */
typedef enum mms_state {
    MMS_STATE_CLEAN = 0,       /* no writer has it open; checksums current */
    MMS_STATE_WRITING = 1,     /* a live process has it open for writing */
    MMS_STATE_INTERRUPTED = 2, /* a writer died (or the host crashed) while
                                  it had the array open: data written after
                                  its last sync may be torn. Stays so, even
                                  across later writers' syncs, until an
                                  mms_verify passes with no writer present */
    MMS_STATE_STAGED = 3       /* built with MMS_STAGED, not yet published */
} mms_state;

/* Open and create flags. */
#define MMS_CREATE 0x01u  /* mms_store_open: create the store if absent */
#define MMS_RDONLY 0x02u  /* store or array: never write anything */
#define MMS_RDWR 0x04u    /* mms_array_open: map for reading and writing */
#define MMS_STAGED 0x08u  /* mms_array_create: build an unpublished version */
#define MMS_NOREPLACE 0x40u /* with MMS_STAGED: mms_array_publish fails with
                               MMS_ERR_EXISTS if the name exists by then */
#define MMS_SHARED_GROUP 0x10u /* mms_store_open with MMS_CREATE: make the
                                  store 0770 with a setgid directory so one
                                  group's processes share it (also when the
                                  environment variable MMS_GROUP is set) */
#define MMS_ALLOW_NETFS 0x20u  /* mms_store_open: allow a store on a network
                                  filesystem (unsafe: see libmmstore(3)) */

/* Lock modes. */
#define MMS_LOCK_SHARED 1
#define MMS_LOCK_EXCLUSIVE 2

typedef struct mms_store mms_store;
typedef struct mms_array mms_array;
typedef struct mms_lock mms_lock;

/* What the catalog knows of an array (filled by mms_stat, mms_array_info
 * and the listing callback). */
typedef struct mms_info {
    mms_dtype dtype;
    int ndim;                       /* 0 .. MMS_MAX_NDIM */
    uint64_t shape[MMS_MAX_NDIM];   /* entries past ndim are 0 */
    uint64_t nbytes;                /* prod(shape) * itemsize */
    uint64_t itemsize;              /* bytes per element */
    uint64_t generation;            /* 1 at creation, +1 per publish */
    uint64_t id;                    /* data file id, never reused */
    uint64_t capacity_rows;         /* rows along axis 0 the file holds
                                       without growing (1 for 0-d) */
    uint64_t block_size;            /* checksum block size in bytes */
    uint64_t checksum;              /* root of the block checksums */
    int64_t created_ns;             /* CLOCK_REALTIME, nanoseconds */
    int64_t modified_ns;            /* last create, sync or resize */
    mms_state state;
} mms_info;

/* ---- Versions, errors and dtypes ------------------------------------- */

/* The library's version string, e.g. "0.1.0". Static storage. */
MMS_API const char *mms_version(void);

/* A short static description of a result code ("not found"); unknown codes
 * give "unknown error". Never NULL. */
MMS_API const char *mms_strerror(int rc);

/* The calling thread's detailed message for its last failed call, e.g.
 * "open 'images/cat': data file /s/data/00000000000000a1.npy: No such file
 * or directory". Valid until the thread's next mmstore call; thread-local;
 * "" when there is none. Never NULL. */
MMS_API const char *mms_errmsg(void);

/* Bytes per element of dtype, or 0 for a value that is not a dtype. */
MMS_API size_t mms_dtype_size(mms_dtype dtype);

/* NumPy name of dtype ("float64"), or NULL for a value that is not a
 * dtype. Static storage. */
MMS_API const char *mms_dtype_name(mms_dtype dtype);

/* NumPy descr of dtype ("<f8"), or NULL. Static storage. */
MMS_API const char *mms_dtype_descr(mms_dtype dtype);

/* Parses the NumPy spellings of a dtype, with NumPy's meaning on 64-bit
 * Linux: names ("float64", "bool"), short codes ("f8", "i4", "u1", "c16",
 * "?", "d"), descrs ("<f8", "|u1", "=i2") and NumPy's C-style names
 * ("double", "single", "half", "intc", "long"...). Like np.dtype, "float"
 * is float64, "int" is int64 and "uint" is uint64. Big-endian descrs are
 * refused here: only the native (little-endian) layout is stored.
 * Errors: MMS_ERR_DTYPE (unknown or unsupported spelling). */
MMS_API int mms_dtype_parse(const char *text, mms_dtype *out);

/* ---- Stores ----------------------------------------------------------- */

/* Opens the store in directory path. flags: MMS_CREATE (make the directory,
 * catalog, data/ and LOCK if absent; mode 0700, or 0770 + setgid with
 * MMS_SHARED_GROUP), MMS_RDONLY (never write anything: arrays open
 * read-only only), MMS_ALLOW_NETFS. Clears stale LMDB reader slots of dead
 * processes unless MMS_RDONLY. The handle is owned by the caller and freed
 * by mms_store_close; it may be shared by threads, but not used in a child
 * after fork() (open a new one there).
 * Errors: MMS_ERR_NOTFOUND (no store there and no MMS_CREATE, or a
 * directory without a catalog),
 * MMS_ERR_CORRUPT (not a store, or a damaged catalog), MMS_ERR_VERSION
 * (written by a newer mmstore), MMS_ERR_UNSUPPORTED (network filesystem
 * without MMS_ALLOW_NETFS), MMS_ERR_PERM, MMS_ERR_RDONLY (MMS_CREATE with
 * MMS_RDONLY). */
MMS_API int mms_store_open(const char *path, unsigned flags, mms_store **out);

/* Closes a store. Every array handle opened from it must be closed first;
 * MMS_ERR_BUSY (and nothing is closed) otherwise. NULL is accepted. */
MMS_API int mms_store_close(mms_store *store);

/* The store's directory, as given to mms_store_open. Owned by the store. */
MMS_API const char *mms_store_path(const mms_store *store);

/* The store's checksum block size in bytes. */
MMS_API uint64_t mms_store_block_size(const mms_store *store);

/* Sets the checksum block size used when mms_store_open creates a store
 * (a power of two from 4096 to 1 GiB; default 1 MiB). Process-wide; call
 * before mms_store_open. Errors: MMS_ERR_INVAL. */
MMS_API int mms_store_set_default_block_size(uint64_t bytes);

/* ---- Arrays ----------------------------------------------------------- */

/* Creates a zero-filled array and opens it for reading and writing.
 * name: 1..255 bytes of UTF-8, no control characters, no leading '/'.
 * ndim 0..MMS_MAX_NDIM; shape may be NULL when ndim is 0. The data file is
 * fully allocated, fsynced and named by the catalog before this returns.
 * flags: 0, or MMS_STAGED: build a new version invisibly (new file, new
 * id) whether or not the name exists; nobody sees it until
 * mms_array_publish, and closing it unpublished discards it. MMS_STAGED |
 * MMS_NOREPLACE makes the publish fail instead of replacing a name that
 * exists by then (what an import without --replace needs: no check before
 * can close that race). The handle is the caller's, freed by
 * mms_array_close.
 * Errors: MMS_ERR_INVAL (bad name, ndim or flags), MMS_ERR_DTYPE,
 * MMS_ERR_TOOBIG (byte size overflows 64 bits or the platform's address
 * space), MMS_ERR_EXISTS (name taken), MMS_ERR_NOSPC (not enough free
 * space: nothing is left behind), MMS_ERR_RDONLY (read-only store),
 * MMS_ERR_PERM. */
MMS_API int mms_array_create(mms_store *store, const char *name,
                             mms_dtype dtype, int ndim, const uint64_t *shape,
                             unsigned flags, mms_array **out);

/* Opens an existing array by name and maps it. flags: MMS_RDONLY (mapped
 * PROT_READ) or MMS_RDWR (mapped read-write; the process is recorded as a
 * writer until close, and the array is marked dirty in the catalog).
 * The data file's header is checked against the catalog.
 * Errors: MMS_ERR_NOTFOUND (no such name), MMS_ERR_CORRUPT (bad catalog
 * record, missing data file, or a header that disagrees with the catalog),
 * MMS_ERR_VERSION (a record written by a newer mmstore), MMS_ERR_FORKED
 * (store opened in a parent process),
 * MMS_ERR_RDONLY (MMS_RDWR in a read-only store), MMS_ERR_PERM. */
MMS_API int mms_array_open(mms_store *store, const char *name, unsigned flags,
                           mms_array **out);

/* The array's data: C order, little-endian, nbytes long, page-aligned.
 * Never NULL for an open handle (a zero-size array still has one mapped
 * page). Valid until mms_array_close, or until mms_array_resize or
 * mms_array_refresh on this handle (which may move it). Writing through it
 * on a read-only handle raises SIGSEGV. */
MMS_API void *mms_array_data(const mms_array *array);

/* This handle's view of the array (its shape, as of open or its last
 * resize/refresh). state is the state the catalog had then. */
MMS_API int mms_array_info(const mms_array *array, mms_info *info);

/* The path of the array's data file (a valid .npy file). Owned by the
 * handle, valid until close. */
MMS_API const char *mms_array_path(const mms_array *array);

/* Makes every write through the mapping durable: the data is written back
 * (msync(MS_SYNC)) and hashed while it is, then one catalog transaction
 * commits the blocks' checksums. Costs O(array size).
 * Errors: MMS_ERR_RDONLY (read-only handle), MMS_ERR_STALE (the name was
 * removed or now names another version: these writes are lost),
 * MMS_ERR_IO (msync or fsync failed: the data may not be durable; it is
 * never reported as synced). */
MMS_API int mms_array_sync(mms_array *array);

/* As mms_array_sync for rows [first_row, first_row + nrows) of axis 0
 * (nrows 0 = to the end). Syncs and re-hashes whole checksum blocks, so
 * its cost grows with the range, not with the array. For a 0-d array the
 * single element is "row" 0.
 * Errors: as mms_array_sync, and MMS_ERR_RANGE (rows past the end). */
MMS_API int mms_array_sync_range(mms_array *array, uint64_t first_row,
                                 uint64_t nrows);

/* Copies len bytes from buf into the array's data at byte offset, with
 * pwrite(2): the fast path for bulk filling (import, copy), coherent with
 * every mapping. Not durable until a sync.
 * Errors: MMS_ERR_RDONLY, MMS_ERR_RANGE (past nbytes). */
MMS_API int mms_array_write(mms_array *array, uint64_t offset,
                            const void *buf, size_t len);

/* Grows or shrinks axis 0 to rows. Growing within the file's capacity
 * keeps the data address; growing past it extends the file (capacity grows
 * geometrically, so appends cost amortised O(1) per row) and may move the
 * data pointer. New rows read as zero. Shrinking is logical: the file is
 * never truncated while it may be mapped elsewhere. The header's shape is
 * rewritten in place and the catalog updated in one transaction.
 * Other processes see the new shape when they reopen (or refresh).
 * Errors: MMS_ERR_RDONLY, MMS_ERR_INVAL (0-d array), MMS_ERR_TOOBIG,
 * MMS_ERR_NOSPC, MMS_ERR_STALE. */
MMS_API int mms_array_resize(mms_array *array, uint64_t rows);

/* Publishes a staged version: syncs it (msync, then every block's
 * checksum) and, in one catalog transaction, makes the name point to it,
 * with the generation of the version it replaces plus one (1 if none) and
 * that version's attributes. The replaced version's file is unlinked:
 * processes that have it mapped keep a consistent old view until they call
 * mms_array_refresh; their syncs return MMS_ERR_STALE. Afterwards the
 * handle is an ordinary writable handle on the published array.
 * Errors: MMS_ERR_INVAL (not a staged handle), MMS_ERR_EXISTS (created
 * with MMS_NOREPLACE and the name exists: nothing was published, the
 * handle stays staged), MMS_ERR_STALE (the staged version was discarded),
 * MMS_ERR_IO (msync or commit failed: nothing was published). */
MMS_API int mms_array_publish(mms_array *array);

/* Moves the handle to what its name names now: the newest published
 * version, or the same version's new shape after another process resized
 * it. The data pointer and mms_array_info change; nobody ever gets SIGBUS,
 * since data files are never truncated. Not for staged handles.
 * Errors: MMS_ERR_STALE (the name was removed), MMS_ERR_BUSY (range locks
 * held through this handle), MMS_ERR_INVAL (staged handle), and those of
 * mms_array_open. */
MMS_API int mms_array_refresh(mms_array *array);

/* Called by mms_array_get_or_create, in exactly one process, to fill a new
 * staged version (write through mms_array_data or mms_array_write; no
 * sync needed). Return 0 to publish it, anything else to discard it (that
 * value is then returned). */
typedef int (*mms_fill_fn)(mms_array *array, void *ctx);

/* Get-or-create for caches: opens name with flags (MMS_RDONLY or MMS_RDWR)
 * if it exists; otherwise exactly one of the processes and threads calling
 * this at once computes it with fill into a staged version and publishes
 * it, while the others wait (on a named lock) and then attach. If the
 * computing process dies, the lock passes to a waiter, which computes it.
 * timeout_ms bounds the wait for another computer (-1 = for ever).
 * Errors: MMS_ERR_EXISTS (name exists with another dtype or shape),
 * MMS_ERR_TIMEOUT, the fill callback's value, and those of
 * mms_array_create and mms_array_open. */
MMS_API int mms_array_get_or_create(mms_store *store, const char *name,
                                    mms_dtype dtype, int ndim,
                                    const uint64_t *shape, unsigned flags,
                                    mms_fill_fn fill, void *ctx,
                                    int timeout_ms, mms_array **out);

/* Closes the handle. For a writable handle: syncs the whole array (as
 * mms_array_sync) and, if it was the last writer, marks the array clean.
 * The handle is freed even when that sync fails; the failure is returned
 * (MMS_ERR_IO, MMS_ERR_STALE) and the array stays marked dirty.
 * With range locks still held, nothing is closed and MMS_ERR_BUSY is
 * returned. A staged handle that was not published is discarded. NULL is
 * accepted. */
MMS_API int mms_array_close(mms_array *array);

/* ---- Catalog ---------------------------------------------------------- */

/* Fills info for the named array from the catalog, with its current state.
 * Errors: MMS_ERR_NOTFOUND, MMS_ERR_CORRUPT, MMS_ERR_INVAL (bad name). */
MMS_API int mms_stat(mms_store *store, const char *name, mms_info *info);

/* Removes the name and its data file. Processes that have it mapped keep a
 * valid mapping; their syncs return MMS_ERR_STALE.
 * Errors: MMS_ERR_NOTFOUND, MMS_ERR_RDONLY. */
MMS_API int mms_remove(mms_store *store, const char *name);

/* Renames an array: a catalog-only O(1) step (files are named by id).
 * Handles opened under the old name keep their mapping, but they belong to
 * that name: their syncs return MMS_ERR_STALE (reopen under the new one).
 * Errors: MMS_ERR_NOTFOUND (from), MMS_ERR_EXISTS (to), MMS_ERR_INVAL,
 * MMS_ERR_RDONLY. */
MMS_API int mms_rename(mms_store *store, const char *from, const char *to);

/* Called once per array by mms_list, in name order. name and info are
 * valid only during the call. Return 0 to go on; any other value stops the
 * listing and is returned by mms_list. The callback may call any mmstore
 * function (no catalog transaction is held while it runs). */
typedef int (*mms_list_fn)(const char *name, const mms_info *info, void *ctx);

/* Lists the arrays whose names start with prefix (NULL or "" = all).
 * Errors: MMS_ERR_CORRUPT (a damaged record: its name is in the message),
 * or the callback's non-zero value. */
MMS_API int mms_list(mms_store *store, const char *prefix, mms_list_fn fn,
                     void *ctx);

/* ---- Checksums -------------------------------------------------------- */

/* Called by mms_verify once per checksum block that does not match, in
 * block order: rows [first_row, first_row + nrows) of axis 0 hold it.
 * Return 0 to go on, non-zero to stop (mms_verify then returns it). */
typedef int (*mms_verify_fn)(const char *name, uint64_t block,
                             uint64_t first_row, uint64_t nrows, void *ctx);

/* Re-hashes every block of the named array (using every core) and compares
 * with the catalog. Returns MMS_OK when all match, MMS_ERR_CHECKSUM after
 * calling fn (may be NULL) for each mismatching block. When every block
 * matches and no writer is present, an interrupted array is marked clean
 * (unless the store is read-only): nothing it holds is torn.
 * Errors: MMS_ERR_NOTFOUND, MMS_ERR_CORRUPT, MMS_ERR_CHECKSUM. */
MMS_API int mms_verify(mms_store *store, const char *name, mms_verify_fn fn,
                       void *ctx);

/* ---- Whole-store check ------------------------------------------------ */

typedef enum mms_problem_kind {
    MMS_PROBLEM_INTERRUPTED = 1, /* a writer died with the array open; one
                                    MMS_PROBLEM_CHECKSUM follows per block
                                    that no longer matches */
    MMS_PROBLEM_CHECKSUM,        /* rows [first_row, +nrows) of block
                                    `block` differ from their last synced
                                    checksum */
    MMS_PROBLEM_MISSING_FILE,    /* the data file of a name is missing */
    MMS_PROBLEM_BAD_FILE,        /* the data file is too short, or its
                                    header disagrees with the catalog
                                    (repair rewrites the header when only
                                    the shape differs and the file holds
                                    the catalog's shape) */
    MMS_PROBLEM_BAD_RECORD,      /* a catalog record is damaged (repair
                                    removes the name) */
    MMS_PROBLEM_ORPHAN_FILE,     /* a file in data/ that no record names:
                                    left by a crash (repair deletes it) */
    MMS_PROBLEM_DEAD_STAGED,     /* a staged version whose builder died
                                    (repair discards it) */
    MMS_PROBLEM_ORPHAN_ENTRIES,  /* checksum or attribute entries of no
                                    array (repair deletes them) */
    MMS_PROBLEM_STALE_READERS    /* reader slots of dead processes in the
                                    LMDB lock file (count in nrows; always
                                    cleared) */
} mms_problem_kind;

typedef struct mms_problem {
    mms_problem_kind kind;
    const char *name;     /* the array's name, or NULL */
    const char *path;     /* the file concerned, or NULL */
    uint64_t id;          /* data file id, or 0 */
    uint64_t block, first_row, nrows;
    const char *detail;   /* one line saying what is wrong */
    int repaired;         /* 1 if MMS_CHECK_REPAIR fixed it */
} mms_problem;

/* Called by mms_check once per problem; everything it points to is valid
 * only during the call. Return 0 to go on. */
typedef int (*mms_check_fn)(const mms_problem *problem, void *ctx);

#define MMS_CHECK_REPAIR 0x1u /* fix what can be fixed without guessing:
                                 never accepts torn data as good */

/* Checks the whole store: every record decodes, every named file exists
 * with a header that matches, orphan files and catalog entries, staged
 * versions of dead builders, interrupted writers (verifying their blocks;
 * a fully matching one is marked clean), and stale reader slots. Returns
 * MMS_OK when nothing is wrong (or everything found was repaired),
 * MMS_ERR_CORRUPT when problems remain. Takes a while on large stores
 * (interrupted arrays are re-hashed). Errors: MMS_ERR_RDONLY
 * (MMS_CHECK_REPAIR in a read-only store), the callback's value. */
MMS_API int mms_check(mms_store *store, unsigned flags, mms_check_fn fn,
                      void *ctx);

/* ---- Attributes (small named values attached to an array) ------------ */

/* Sets key (1..255 bytes, like a name) to len bytes of value (at most
 * MMS_ATTR_VALUE_MAX), replacing any earlier value.
 * Errors: MMS_ERR_NOTFOUND (array), MMS_ERR_INVAL, MMS_ERR_TOOBIG,
 * MMS_ERR_RDONLY. */
MMS_API int mms_attr_set(mms_store *store, const char *name, const char *key,
                         const void *value, size_t len);

/* Copies the value of key into buf (size bytes) and sets *len to its full
 * length. A buffer too small gets nothing and MMS_ERR_RANGE, with *len set
 * so the caller can retry. buf NULL with size 0 asks only the length: it
 * returns MMS_OK with *len set.
 * Errors: MMS_ERR_NOTFOUND (array or key), MMS_ERR_RANGE. */
MMS_API int mms_attr_get(mms_store *store, const char *name, const char *key,
                         void *buf, size_t size, size_t *len);

/* Removes key. Errors: MMS_ERR_NOTFOUND (array or key), MMS_ERR_RDONLY. */
MMS_API int mms_attr_remove(mms_store *store, const char *name,
                            const char *key);

/* Called by mms_attr_list once per attribute, in key order; key and value
 * are valid only during the call. Return 0 to go on. */
typedef int (*mms_attr_fn)(const char *key, const void *value, size_t len,
                           void *ctx);

/* Lists the attributes of the named array.
 * Errors: MMS_ERR_NOTFOUND, or the callback's non-zero value. */
MMS_API int mms_attr_list(mms_store *store, const char *name, mms_attr_fn fn,
                          void *ctx);

/* ---- Locks (see docs/concurrency.md) --------------------------------- */

/* Locks rows [first_row, first_row + nrows) of axis 0 of the array's data
 * file (nrows 0 = from first_row to the end and beyond, for appends) with a
 * Linux OFD lock. mode: MMS_LOCK_SHARED or MMS_LOCK_EXCLUSIVE. Locks
 * exclude between processes and between threads and handles of one
 * process; the kernel drops them when the holder dies. They are advisory:
 * they order cooperating writers, they do not stop a write. A 0-d array
 * has the single row 0.
 * timeout_ms: 0 tries once (MMS_ERR_BUSY if held), -1 waits for ever, N > 0
 * waits up to N ms (MMS_ERR_TIMEOUT). OFD locks have no deadlock
 * detection: two processes each waiting for a range the other holds wait
 * for ever with -1; take ranges in one order, or use a timeout.
 * The lock is the caller's, released by mms_unlock (which also frees it);
 * it must be released before the array handle is closed. A lock handle
 * must not be used by two threads at once.
 * Errors: MMS_ERR_INVAL (mode, timeout < -1, rows beyond 2^62),
 * MMS_ERR_BUSY, MMS_ERR_TIMEOUT, MMS_ERR_RDONLY (exclusive lock through a
 * read-only handle: the kernel refuses write locks on read-only files). */
MMS_API int mms_lock_range(mms_array *array, uint64_t first_row,
                           uint64_t nrows, int mode, int timeout_ms,
                           mms_lock **out);

/* The store-wide named lock key (1..255 bytes, like a name): the
 * cross-process equivalent of a mutex or reader-writer lock, held on a
 * byte of STORE/LOCK chosen by hashing the key (distinct keys may, very
 * rarely, share a byte: they then exclude each other). Modes, timeouts,
 * ownership and errors as mms_lock_range; a read-only store gives
 * MMS_ERR_RDONLY for MMS_LOCK_EXCLUSIVE. */
MMS_API int mms_lock_named(mms_store *store, const char *key, int mode,
                           int timeout_ms, mms_lock **out);

/* Releases and frees a lock. NULL is accepted. In a child after fork()
 * the lock belongs to the parent: MMS_ERR_FORKED, and the lock is neither
 * released nor freed there. */
MMS_API int mms_unlock(mms_lock *lock);

/* One locked row range, as reported by mms_lock_list. */
typedef struct mms_lock_info {
    uint64_t first_row;
    uint64_t nrows;      /* 0 = from first_row to the end and beyond */
    int mode;            /* MMS_LOCK_SHARED or MMS_LOCK_EXCLUSIVE */
} mms_lock_info;

typedef int (*mms_lock_list_fn)(const mms_lock_info *lock, void *ctx);

/* Reports the row ranges of the array locked now, by any process or
 * handle (this one's included), in ascending rows, never overlapping:
 * where shared locks of several holders overlap, one of them is reported
 * for the overlap and the others for the rows only they cover. The
 * answer is a snapshot: locks may come and go during the call. Return 0
 * from fn to go on. Errors: the callback's non-zero value. */
MMS_API int mms_lock_list(mms_array *array, mms_lock_list_fn fn, void *ctx);

/* ---- Atomics and wait/wake on mapped elements ------------------------ */
/*
 * index is a flat element index (C order). The _i64 forms need an INT64
 * or UINT64 array, the _i32 forms (and mms_wait_u32/mms_wake) an INT32 or
 * UINT32 array
 * (MMS_ERR_DTYPE otherwise); MMS_ERR_RANGE for an index past the end;
 * MMS_ERR_RDONLY for a store, add or compare-exchange through a read-only
 * handle. All are sequentially consistent, lock-free, and work between
 * processes because the bytes are one shared mapping. They are not durable
 * until a sync. Safe from any thread.
 */
MMS_API int mms_atomic_load_i64(mms_array *array, uint64_t index,
                                int64_t *value);
MMS_API int mms_atomic_store_i64(mms_array *array, uint64_t index,
                                 int64_t value);
/* Adds delta and gives the value before in *old (old may be NULL). */
MMS_API int mms_atomic_add_i64(mms_array *array, uint64_t index,
                               int64_t delta, int64_t *old);
/* If the element equals expected, sets it to desired. *old (may be NULL)
 * receives the value before: the swap happened iff *old == expected. */
MMS_API int mms_atomic_cas_i64(mms_array *array, uint64_t index,
                               int64_t expected, int64_t desired,
                               int64_t *old);
MMS_API int mms_atomic_load_i32(mms_array *array, uint64_t index,
                                int32_t *value);
MMS_API int mms_atomic_store_i32(mms_array *array, uint64_t index,
                                 int32_t value);
MMS_API int mms_atomic_add_i32(mms_array *array, uint64_t index,
                               int32_t delta, int32_t *old);
MMS_API int mms_atomic_cas_i32(mms_array *array, uint64_t index,
                               int32_t expected, int32_t desired,
                               int32_t *old);

/* Sleeps while the 32-bit element (INT32 or UINT32 array) equals expected:
 * a futex on the shared file mapping, so another process's mms_wake ends
 * it. Returns MMS_OK at once if the value already differs, and MMS_OK once
 * it differs after a wake; spurious wake-ups are absorbed here.
 * timeout_ms: -1 waits for ever, 0 only checks, N > 0 waits up to N ms.
 * Errors: MMS_ERR_TIMEOUT (the value still equals expected),
 * MMS_ERR_DTYPE, MMS_ERR_RANGE, MMS_ERR_INVAL (timeout < -1). */
MMS_API int mms_wait_u32(mms_array *array, uint64_t index, uint32_t expected,
                         int timeout_ms);

/* Wakes up to count (count <= 0: all) processes and threads sleeping in
 * mms_wait_u32 on the element. Change the element first (e.g. with
 * mms_atomic_store_i32), then wake. Errors: MMS_ERR_DTYPE, MMS_ERR_RANGE. */
MMS_API int mms_wake(mms_array *array, uint64_t index, int count);

#ifdef __cplusplus
}
#endif

#endif /* MMSTORE_H */
