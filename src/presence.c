/* presence.c - which writers may have unsynced writes to an array version,
 * and which of them died (docs/concurrency.md, "Writer presence").
 *
 * Every writable handle holds an exclusive OFD lock on a slot byte of its
 * data file of its own (format.h) and registers (version id, slot) in the
 * catalog's "writers" database in the same write transaction that marks the
 * record DIRTY; it deregisters in the transaction of its closing sync, and
 * releases the lock only after that commit. Registrations change only
 * inside write transactions, which LMDB serialises, so inside one:
 *
 *     registered and nobody holds the slot  =>  that writer died
 *
 * because a live writer holds its slot from before its registration
 * commits until after its deregistration commits, and the kernel drops the
 * lock of a process that dies. Every writer that opens, syncs or closes
 * looks (mmsi_presence_reap): a death is recorded as INTERRUPTED before the
 * looker's own checksums commit, whoever else still holds the array. The
 * last writer to leave clears DIRTY. */
#include "objects.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The registered writers of id, in a buffer the caller frees. */
static int read_writers(mms_store *store, MDB_txn *txn, uint64_t id,
                        mmsi_writer **out, size_t *n)
{
    *out = malloc(MMSI_SLOTS * sizeof **out);
    if (!*out)
        return mmsi_err(MMS_ERR_NOMEM, "reading the writers of %016" PRIx64,
                        id);
    int rc = mmsi_writers_get(&store->cat, txn, id, *out, MMSI_SLOTS, n);
    if (rc != MMS_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int mmsi_presence_reap(mms_store *store, MDB_txn *txn, int fd,
                       int own_slot, mmsi_record *rec, bool *alive)
{
    mmsi_writer *w;
    size_t n;
    *alive = false;
    int rc = read_writers(store, txn, rec->id, &w, &n);
    for (size_t i = 0; i < n && rc == MMS_OK; i++) {
        if ((int)w[i].slot == own_slot)
            continue;
        bool held = false;
        int e = mmsi_slot_held(fd, w[i].slot, &held);
        if (e != 0) {
            rc = mmsi_errno(e, "checking writer slot %u of %016" PRIx64
                            ".npy", w[i].slot, rec->id);
        } else if (held) {
            *alive = true;
        } else {
            /* Died with the array open: whatever it wrote since its last
             * sync may be torn. */
            rec->flags |= MMSI_REC_INTERRUPTED;
            rc = mmsi_writer_del(&store->cat, txn, rec->id, w[i].slot);
        }
    }
    free(w);
    return rc;
}

bool mmsi_presence_alive(mms_store *store, MDB_txn *txn, uint64_t id, int fd)
{
    mmsi_writer *w;
    size_t n;
    bool alive = false;
    if (read_writers(store, txn, id, &w, &n) != MMS_OK)
        return false;
    for (size_t i = 0; i < n && !alive; i++)
        if (mmsi_slot_held(fd, w[i].slot, &alive) != 0)
            alive = false;
    free(w);
    return alive;
}

/* Takes a slot no registered writer of rec->id has and nobody holds. */
static int take_slot(mms_store *store, MDB_txn *txn, mms_array *a,
                     const mmsi_record *rec)
{
    mmsi_writer *w;
    size_t n;
    int rc = read_writers(store, txn, rec->id, &w, &n);
    if (rc != MMS_OK)
        return rc;
    unsigned char taken[MMSI_SLOTS] = {0};
    for (size_t i = 0; i < n; i++)
        taken[w[i].slot] = 1;
    free(w);
    for (unsigned s = 0; s < MMSI_SLOTS; s++) {
        if (taken[s])
            continue;
        /* Held but not registered: a writer that left and has not yet
         * released its lock. */
        int e = mmsi_slot_trylock(a->fd, s);
        if (e == EAGAIN)
            continue;
        if (e != 0)
            return mmsi_errno(e, "'%s': taking a writer slot of %s",
                              a->name, a->path ? a->path : "its data file");
        a->slot = (int)s;
        return MMS_OK;
    }
    return mmsi_err(MMS_ERR_BUSY, "'%s' has %u writers already, the most "
                    "one array version can have", a->name, MMSI_SLOTS);
}

int mmsi_presence_join(mms_store *store, MDB_txn *txn, mms_array *a,
                       mmsi_record *rec)
{
    bool alive;
    /* A body run again (the map grew) keeps the slot it locked: only the
     * registration went with the aborted transaction. */
    int rc = mmsi_presence_reap(store, txn, a->fd, a->slot, rec, &alive);
    if (rc != MMS_OK)
        return rc;
    /* DIRTY with no writer registered: one died before registrations were
     * kept, or its death was found by a look that could not record it. */
    if ((rec->flags & MMSI_REC_DIRTY) && !alive)
        rec->flags |= MMSI_REC_INTERRUPTED;
    if (a->slot < 0 && (rc = take_slot(store, txn, a, rec)) != MMS_OK)
        return rc;
    a->since_ns = mmsi_now_ns();
    mmsi_writer me = {.slot = (unsigned)a->slot, .pid = (uint32_t)getpid(),
                      .since_ns = a->since_ns};
    if ((rc = mmsi_writer_put(&store->cat, txn, rec->id, &me)) != MMS_OK)
        return rc;
    rec->flags |= MMSI_REC_DIRTY;
    return MMS_OK;
}

int mmsi_presence_leave(mms_store *store, MDB_txn *txn, mms_array *a,
                        mmsi_record *rec)
{
    bool alive;
    int rc = mmsi_writer_del(&store->cat, txn, rec->id, (unsigned)a->slot);
    if (rc == MMS_OK)
        rc = mmsi_presence_reap(store, txn, a->fd, a->slot, rec, &alive);
    if (rc == MMS_OK && !alive)
        rec->flags &= ~MMSI_REC_DIRTY; /* the last writer is gone */
    return rc;
}

/* ---- looking from outside (no write transaction) ------------------------ */

typedef struct look_ctx {
    const char *name;   /* the array's name, or NULL for a staged version */
    uint64_t id;
    mmsi_record rec;
    mmsi_writer *w;
    size_t n;
} look_ctx;

static int look_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    look_ctx *l = arg;
    int rc = l->name ? mmsi_cat_get(&store->cat, txn, l->name, &l->rec)
                     : mmsi_staged_get(&store->cat, txn, l->id, "(staged)",
                                       &l->rec);
    if (rc != MMS_OK)
        return rc;
    return mmsi_writers_get(&store->cat, txn, l->rec.id, l->w, MMSI_SLOTS,
                            &l->n);
}

/* Whether the entry of writer x is still in the catalog, unchanged. */
static int still_registered(mms_store *store, look_ctx *l, const mmsi_writer *x,
                            bool *same)
{
    look_ctx again = {.name = l->name, .id = l->rec.id, .w = NULL};
    again.w = malloc(MMSI_SLOTS * sizeof *again.w);
    if (!again.w)
        return mmsi_err(MMS_ERR_NOMEM, "looking at writers");
    int rc = mmsi_store_read(store, look_txn, &again);
    *same = false;
    for (size_t i = 0; rc == MMS_OK && i < again.n; i++)
        if (again.w[i].slot == x->slot && again.w[i].pid == x->pid &&
            again.w[i].since_ns == x->since_ns)
            *same = true;
    free(again.w);
    return rc == MMS_ERR_NOTFOUND ? MMS_OK : rc;
}

/* One look: the state from a snapshot of the record and its writers, and
 * the slots as they are now. *settled false: a writer left between the
 * snapshot and the look at its slot; look again. */
static int look_once(mms_store *store, look_ctx *l, int fd, mms_state *state,
                     bool *settled)
{
    *settled = true;
    int rc = mmsi_store_read(store, look_txn, l);
    if (rc != MMS_OK)
        return rc;
    if (l->rec.flags & MMSI_REC_INTERRUPTED) {
        *state = MMS_STATE_INTERRUPTED;
        return MMS_OK;
    }
    if (!(l->rec.flags & MMSI_REC_DIRTY)) {
        *state = MMS_STATE_CLEAN;
        return MMS_OK;
    }
    int own = -1, e = 0;
    if (l->rec.id != l->id)
        fd = -1; /* fd is another version's file */
    if (fd < 0 && (e = mmsi_datafile_open(store->datafd, l->rec.id, false,
                                          &own)) != 0) {
        if (e != ENOENT)
            return mmsi_errno(e, "checking the writers of data file %016"
                              PRIx64 ".npy", l->rec.id);
        /* Removed or replaced under us: look again. */
        *settled = false;
        return MMS_OK;
    }
    bool alive = false, dead = false;
    for (size_t i = 0; i < l->n && rc == MMS_OK && !dead; i++) {
        bool held = false;
        if ((e = mmsi_slot_held(fd >= 0 ? fd : own, l->w[i].slot,
                                &held)) != 0) {
            rc = mmsi_errno(e, "checking the writers of data file %016"
                            PRIx64 ".npy", l->rec.id);
        } else if (held) {
            alive = true;
        } else {
            /* Dead, or it deregistered after our snapshot and then let go:
             * an entry still there, unchanged, after we saw its slot free
             * belonged to a writer that was registered all along without
             * holding its slot, which only death does. */
            bool same = false;
            rc = still_registered(store, l, &l->w[i], &same);
            if (rc == MMS_OK && same)
                dead = true;
            else if (rc == MMS_OK)
                *settled = false;
        }
    }
    if (own >= 0)
        close(own);
    if (rc != MMS_OK)
        return rc;
    if (dead || l->n == 0)
        *state = MMS_STATE_INTERRUPTED;
    else if (alive)
        *state = MMS_STATE_WRITING;
    else
        *settled = false;
    return MMS_OK;
}

int mmsi_presence_state(mms_store *store, const char *name,
                        const mmsi_record *rec, int fd, mms_state *state)
{
    /* Most arrays have no writer: their record says all. */
    if (rec->flags & MMSI_REC_INTERRUPTED) {
        *state = MMS_STATE_INTERRUPTED;
        return MMS_OK;
    }
    if (!(rec->flags & MMSI_REC_DIRTY)) {
        *state = MMS_STATE_CLEAN;
        return MMS_OK;
    }
    look_ctx l = {.name = name, .id = rec->id};
    l.w = malloc(MMSI_SLOTS * sizeof *l.w);
    if (!l.w)
        return mmsi_err(MMS_ERR_NOMEM, "looking at writers");
    int rc = MMS_OK;
    bool settled = false;
    /* Writers coming and going between the snapshot and the look can keep
     * it unsettled; each round sees a newer snapshot. */
    for (int round = 0; round < 100 && rc == MMS_OK && !settled; round++) {
        rc = look_once(store, &l, fd, state, &settled);
        if (!settled)
            fd = -1; /* the version may have changed: open it anew */
    }
    free(l.w);
    if (rc == MMS_OK && !settled)
        *state = MMS_STATE_WRITING; /* writers keep coming and going */
    return rc;
}
