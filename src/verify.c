/* verify.c - mms_verify: every block of an array hashed again, with every
 * CPU the process may use, against the checksums the catalog recorded;
 * mismatches are named as row ranges. A passing verify with no writer
 * present settles an interrupted array: it is clean again. */
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct verify_ctx {
    const char *name;
    mmsi_record rec;
    uint64_t nblocks;
    uint64_t *expect;
    int fd;
    mmsi_writer *w0;   /* the writers registered when the checksums were read */
    size_t n0;
} verify_ctx;

static bool same_writer(const mmsi_writer *a, const mmsi_writer *b)
{
    return a->slot == b->slot && a->pid == b->pid &&
           a->since_ns == b->since_ns;
}

/* Whether every writer in w (n of them) is dead: nobody holds its slot. */
static int all_dead(int fd, const mmsi_writer *w, size_t n, bool *dead)
{
    *dead = true;
    for (size_t i = 0; i < n && *dead; i++) {
        bool held;
        int e = mmsi_slot_held(fd, w[i].slot, &held);
        if (e != 0)
            return mmsi_errno(e, "checking writer slot %u", w[i].slot);
        *dead = !held;
    }
    return MMS_OK;
}

/* Every block matched the checksums of the record we read, and every
 * writer registered then was already dead, so none wrote while we hashed:
 * nothing an interrupted writer left is torn, and the array is clean
 * again, unless someone synced since we read the checksums or a writer
 * registered since (alive, or dead after writing who knows what). */
static int clear_interrupted_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    verify_ctx *v = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, v->name, &rec);
    if (rc != MMS_OK)
        return rc;
    if (rec.id != v->rec.id || rec.root != v->rec.root)
        return MMS_OK;
    mmsi_writer *w = malloc(MMSI_SLOTS * sizeof *w);
    size_t n = 0;
    if (!w)
        return mmsi_err(MMS_ERR_NOMEM, "verify '%s'", v->name);
    rc = mmsi_writers_get(&store->cat, txn, rec.id, w, MMSI_SLOTS, &n);
    bool known = true;
    for (size_t i = 0; i < n && known; i++) {
        known = false;
        for (size_t k = 0; k < v->n0 && !known; k++)
            known = same_writer(&w[i], &v->w0[k]);
    }
    free(w);
    if (rc != MMS_OK || !known)
        return rc; /* a newer writer: its own presence protocol decides */
    bool alive;
    if ((rc = mmsi_presence_reap(store, txn, v->fd, -1, &rec, &alive)) !=
        MMS_OK)
        return rc;
    if (!alive)
        rec.flags &= ~(MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED);
    return mmsi_cat_put(&store->cat, txn, v->name, &rec);
}

static int read_expected(mms_store *store, MDB_txn *txn, void *arg)
{
    verify_ctx *v = arg;
    int rc = mmsi_cat_get(&store->cat, txn, v->name, &v->rec);
    if (rc != MMS_OK)
        return rc;
    mmsi_geometry g;
    mmsi_rec_geometry(&v->rec, &g);
    v->nblocks = g.nblocks;
    free(v->expect);
    v->expect = malloc((g.nblocks ? g.nblocks : 1) * sizeof *v->expect);
    if (!v->expect)
        return mmsi_err(MMS_ERR_NOMEM, "verify '%s'", v->name);
    uint64_t root = 0;
    for (uint64_t b = 0; b < g.nblocks; b++) {
        bool found;
        if ((rc = mmsi_block_get(&store->cat, txn, v->rec.id, b, &v->expect[b],
                            &found)) != MMS_OK)
            return mmsi_err_context(rc, "verify '%s'", v->name);
        if (!found)
            return mmsi_err(MMS_ERR_CORRUPT, "verify '%s': the catalog has "
                            "no checksum for block %llu", v->name,
                            (unsigned long long)b);
        root += mmsi_root_term(b, v->expect[b]);
    }
    if (root != v->rec.root)
        return mmsi_err(MMS_ERR_CORRUPT, "verify '%s': the catalog's block "
                        "checksums do not add up to its root", v->name);
    return mmsi_writers_get(&store->cat, txn, v->rec.id, v->w0, MMSI_SLOTS,
                            &v->n0);
}

int mms_verify(mms_store *store, const char *name, mms_verify_fn fn,
               void *ctx)
{
    if (!store)
        return mmsi_err(MMS_ERR_INVAL, "mms_verify: store is NULL");
    int rc = mmsi_check_name(name, "name");
    if (rc != MMS_OK)
        return rc;
    verify_ctx v = {.name = name};
    v.w0 = malloc(MMSI_SLOTS * sizeof *v.w0);
    if (!v.w0)
        return mmsi_err(MMS_ERR_NOMEM, "verify '%s'", name);
    uint64_t *got = NULL;
    void *map = MAP_FAILED;
    size_t map_len = 0;
    int fd = -1;
    char *path = NULL;
    if ((rc = mmsi_store_read(store, read_expected, &v)) != MMS_OK)
        goto out;
    mmsi_geometry g;
    mmsi_rec_geometry(&v.rec, &g);
    path = mmsi_data_path(store->path, v.rec.id);
    if (!path) {
        rc = mmsi_err(MMS_ERR_NOMEM, "verify '%s'", name);
        goto out;
    }
    int e = mmsi_datafile_open(store->datafd, v.rec.id, false, &fd);
    if (e != 0) {
        rc = e == ENOENT
                 ? mmsi_err(MMS_ERR_CORRUPT, "verify '%s': data file %s is "
                            "missing", name, path)
                 : mmsi_errno(e, "verify '%s': %s", name, path);
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < MMSI_HEADER_SIZE +
                                                          g.nbytes) {
        rc = mmsi_err(MMS_ERR_CORRUPT, "verify '%s': data file %s is "
                      "shorter than the array", name, path);
        goto out;
    }
    /* Only writers dead before the hashing began can be settled by it. */
    bool settle = false;
    if ((v.rec.flags & (MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED)) &&
        !(store->flags & MMS_RDONLY) &&
        (rc = all_dead(fd, v.w0, v.n0, &settle)) != MMS_OK)
        goto out;
    if (g.nbytes > 0) {
        map_len = (size_t)g.nbytes;
        map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd,
                   MMSI_HEADER_SIZE);
        if (map == MAP_FAILED) {
            rc = mmsi_errno(errno, "verify '%s': mmap of %s", name, path);
            goto out;
        }
        madvise(map, map_len, MADV_SEQUENTIAL);
        if ((rc = mmsi_blocks_hash(map, g.nbytes, v.rec.block_size, 0,
                                   g.nblocks, &got)) != MMS_OK)
            goto out;
    }
    uint64_t bad = 0;
    for (uint64_t b = 0; b < g.nblocks; b++) {
        if (got[b] == v.expect[b])
            continue;
        bad++;
        if (fn) {
            uint64_t off = b * v.rec.block_size;
            uint64_t end = off + v.rec.block_size < g.nbytes
                               ? off + v.rec.block_size : g.nbytes;
            uint64_t first_row = off / g.row_bytes;
            uint64_t last_row = (end - 1) / g.row_bytes;
            int r = fn(name, b, first_row, last_row - first_row + 1, ctx);
            if (r != 0) {
                rc = r;
                goto out;
            }
        }
    }
    if (!bad && (v.rec.flags & (MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED)) &&
        !(store->flags & MMS_RDONLY)) {
        v.fd = fd;
        if (settle &&
            (rc = mmsi_store_write(store, clear_interrupted_txn, &v)) != MMS_OK)
            goto out;
    }
    rc = bad ? mmsi_err(MMS_ERR_CHECKSUM, "verify '%s': %llu of %llu "
                        "blocks do not match their checksums", name,
                        (unsigned long long)bad,
                        (unsigned long long)g.nblocks)
             : MMS_OK;
out:
    if (map != MAP_FAILED)
        munmap(map, map_len);
    if (fd >= 0)
        close(fd);
    free(path);
    free(got);
    free(v.expect);
    free(v.w0);
    return rc;
}
