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
} verify_ctx;

/* Every block matched the checksums of the record we read: nothing written
 * by an interrupted writer is torn, so the array is clean again, unless a
 * writer is present now or someone synced since we read the checksums. */
static int clear_interrupted_txn(mms_store *store, MDB_txn *txn, void *arg)
{
    verify_ctx *v = arg;
    mmsi_record rec;
    int rc = mmsi_cat_get(&store->cat, txn, v->name, &rec);
    if (rc != MMS_OK)
        return rc;
    bool present = true;
    if (rec.id != v->rec.id || rec.root != v->rec.root ||
        mmsi_writer_present(v->fd, &present) != 0 || present)
        return MMS_OK;
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
    return MMS_OK;
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
        mms_state state;
        v.fd = fd;
        if ((rc = mmsi_datafile_state(store->datafd, &v.rec, fd, &state)) != MMS_OK)
            goto out;
        if (state == MMS_STATE_INTERRUPTED &&
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
    return rc;
}
