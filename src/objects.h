/* objects.h - the objects layer of libmmstore (src/README.md): the store
 * and array handles and what the public API does with them. store.c opens
 * stores and runs their transactions; handle.c keeps an array handle's
 * life and the checks every operation shares; sync.c, resize.c,
 * create.c, open.c (open and refresh), publish.c, array.c (access and
 * close), names.c (stat, remove, rename, list), attr.c, lock.c and
 * atomic.c each do one thing. Includes catalog.h and below. Never
 * installed. */
#ifndef MMS_OBJECTS_H
#define MMS_OBJECTS_H

#include "catalog.h"

/* ---- the store (store.c) ------------------------------------------------ */
struct mms_store {
    char *path;
    int dirfd;         /* STORE/ */
    int datafd;        /* STORE/data/ */
    int lockfd;        /* STORE/LOCK */
    unsigned flags;
    bool shared_group; /* files are 0660 instead of 0600 */
    uint64_t block_size;
    mmsi_cat cat;                /* the catalog, shared per process */
    mmsi_fdpool lock_pool;       /* for named locks on LOCK */
    pthread_mutex_t arrays_lock; /* guards narrays */
    long narrays;                /* open array handles */
};

/* A transaction body of the objects layer: as mmsi_txn_fn, with the store
 * it runs on. */
typedef int (*mmsi_store_fn)(mms_store *store, MDB_txn *txn, void *ctx);
/* mmsi_cat_write / mmsi_cat_read on the store's catalog. */
int mmsi_store_write(mms_store *store, mmsi_store_fn fn, void *ctx);
int mmsi_store_read(mms_store *store, mmsi_store_fn fn, void *ctx);
/* MMS_ERR_RDONLY (naming what was refused) for a read-only store. */
int mmsi_store_check_writable(const mms_store *store, const char *what);

/* MMS_ERR_FORKED when store was opened in a parent of this process. */
static inline int mmsi_check_fork(const mms_store *store)
{
    return mmsi_cat_check_fork(&store->cat);
}

/* ---- array handles (handle.c) ------------------------------------------- */
struct mms_array {
    mms_store *store;
    char *name;
    char *path;
    int fd;
    bool writable;
    int slot;           /* the writer slot it holds and registered, or -1
                           (presence.c) */
    int64_t since_ns;   /* when it registered: its identity there */
    bool staged;        /* an unpublished version (MMS_STAGED) */
    bool noreplace;     /* MMS_NOREPLACE: publish only a new name */
    mmsi_held held;     /* registers fd while it holds a writer slot */
    pthread_mutex_t view_lock; /* guards rec.root/modified_ns updates by
                                  concurrent syncs against info readers */
    mmsi_record rec;    /* this handle's view */
    mmsi_geometry geo;
    void *map;          /* data region (file offset 4096) */
    size_t map_len;
    mmsi_fdpool lock_pool; /* for range locks on the data file */
    long nlocks;        /* outstanding range locks (atomic) */
    int io_error;       /* errno of a failed write-back, sticky (atomic) */
};

/* A new handle on name with no file or mapping yet; NULL without memory. */
mms_array *mmsi_handle_new(mms_store *store, const char *name);
/* Unmaps, closes (dropping the handle's OFD locks) and frees. */
void mmsi_handle_free(mms_array *a);
/* Counts open handles of the store (mms_store_close refuses while any). */
void mmsi_handle_count(mms_store *store, int delta);
/* Maps the data region (file offset 4096 on) of a->fd for a->geo. */
int mmsi_handle_map(mms_array *a);
/* MMS_ERR_INVAL for a NULL store or out, or a bad name; what names the
 * call. */
int mmsi_check_args(mms_store *store, const char *name, void *out,
                    const char *what);
/* Reads the record of name in a transaction of its own. */
int mmsi_read_record(mms_store *store, const char *name, mmsi_record *rec);
/* The record a's writes belong to: its staged entry, or the record of its
 * name, which must still be a's version (MMS_ERR_STALE otherwise: its
 * writes are not the array's). Its shape may be newer than a's view. */
int mmsi_own_get(mms_store *store, MDB_txn *txn, mms_array *a,
                 mmsi_record *rec);
/* Writes a's record where mmsi_own_get found it. */
int mmsi_own_put(mms_store *store, MDB_txn *txn, mms_array *a,
                 const mmsi_record *rec);

/* ---- sync (sync.c) -------------------------------------------------------
 * A failed msync or fdatasync is sticky (DESIGN 5, "fsyncgate"): Linux
 * reports a write-back error once and marks the failed pages clean, so a
 * retry would "succeed" without writing them. After one, every sync,
 * publish and close of the handle fails with MMS_ERR_IO, nothing more is
 * recorded as synced, and the handle never leaves the array's writers: its
 * slot dies with its descriptor, and the array reads INTERRUPTED. */
/* Records errnum as a's sticky write-back error; returns MMS_ERR_IO with a
 * message (what failed, on what). */
int mmsi_io_failed(mms_array *a, int errnum, const char *what);
/* MMS_ERR_IO when an earlier write-back of a failed, naming op. */
int mmsi_check_io(mms_array *a, const char *op);
/* msync(MS_SYNC) of data bytes [start, end), page-aligned outward. */
int mmsi_msync_bytes(mms_array *a, uint64_t start, uint64_t end);
/* Makes blocks [first, first + count) durable and hashes them at once;
 * *hashes: free() it. */
int mmsi_durable_blocks(mms_array *a, uint64_t first, uint64_t count,
                        uint64_t **hashes);
/* Syncs rows [first_row, first_row + nrows) (nrows 0: to the end) and
 * records their checksums; closing: leave the writer byte, and clear
 * DIRTY when a was the last writer. */
int mmsi_sync_rows(mms_array *a, uint64_t first_row, uint64_t nrows,
                   bool closing);

/* ---- writer presence (presence.c) ---------------------------------------
 * Inside write transactions only (they serialise every change of it). */
/* Records registered writers of rec->id (other than own_slot) that died as
 * INTERRUPTED in rec and drops their entries; *alive: another writer
 * lives. fd: any descriptor of the version's data file. */
int mmsi_presence_reap(mms_store *store, MDB_txn *txn, int fd,
                       int own_slot, mmsi_record *rec, bool *alive);
/* Whether a registered writer of version id holds its slot (fd: any
 * descriptor of its file). Looks only: records no death. */
bool mmsi_presence_alive(mms_store *store, MDB_txn *txn, uint64_t id, int fd);
/* a becomes a writer of rec: reaps the dead, takes and registers a slot
 * (kept in a->slot, locked on a->fd), sets DIRTY. */
int mmsi_presence_join(mms_store *store, MDB_txn *txn, mms_array *a,
                       mmsi_record *rec);
/* a stops being a writer of rec: drops its entry, reaps the dead, clears
 * DIRTY when no writer is left. The caller releases the slot after the
 * commit. */
int mmsi_presence_leave(mms_store *store, MDB_txn *txn, mms_array *a,
                        mmsi_record *rec);
/* The state of name's version (name NULL: of the staged version rec->id)
 * as a reader sees it, outside write transactions: from rec's flags when
 * they say CLEAN or INTERRUPTED, else by looking at its writers again in
 * read transactions: WRITING, INTERRUPTED (one died) or CLEAN (they left).
 * fd: a descriptor of rec's data file, or -1. */
int mmsi_presence_state(mms_store *store, const char *name,
                        const mmsi_record *rec, int fd, mms_state *state);

/* ---- open (open.c) ------------------------------------------------------- */
/* Opens the current version of a->name into a (fresh from
 * mmsi_handle_new, a->writable set), retrying while a concurrent remove
 * or publish moves the name to another file. */
int mmsi_open_current(mms_array *a);

#endif
