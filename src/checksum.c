/* checksum.c - per-block XXH3-64 checksums, their root, and verify.
 *
 * Block i covers data bytes [i*B, min((i+1)*B, nbytes)). The root is a sum
 * of per-block terms (format.md), so a sync of k blocks updates it in O(k):
 * subtract the old terms, add the new ones, all inside the catalog write
 * transaction that records them. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Hashing fewer blocks than this is not worth starting threads for. */
#define PARALLEL_MIN_BYTES (8u << 20)

typedef struct hash_job {
    const unsigned char *data;
    uint64_t nbytes, block_size, first, count;
    uint64_t *out;       /* out[i] = hash of block first + i */
    uint64_t next;       /* next block to take (atomic) */
} hash_job;

static void hash_one(hash_job *job, uint64_t i)
{
    uint64_t off = (job->first + i) * job->block_size;
    uint64_t len = job->nbytes - off < job->block_size ? job->nbytes - off
                                                        : job->block_size;
    /* Map the block's pages in one call rather than fault by fault (the
     * data is page-aligned; blocks are whole pages but the last). Each
     * thread does its own blocks, so this parallelises too. Kernels
     * before 5.14 refuse it harmlessly. */
    madvise((void *)(job->data + off), (size_t)len, MADV_POPULATE_READ);
    job->out[i] = XXH3_64bits(job->data + off, (size_t)len);
}

static void *hash_worker(void *arg)
{
    hash_job *job = arg;
    for (;;) {
        uint64_t i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= job->count)
            return NULL;
        hash_one(job, i);
    }
}

/* Hashes blocks [first, first + count) of data into out, with one thread
 * per online CPU when there is enough work. */
static void hash_blocks(const unsigned char *data, uint64_t nbytes,
                        uint64_t block_size, uint64_t first, uint64_t count,
                        uint64_t *out)
{
    hash_job job = {data, nbytes, block_size, first, count, out, 0};
    /* The CPUs this process may run on, not all online ones: a process
     * pinned to one CPU gains nothing from a second thread. */
    cpu_set_t set;
    long ncpu = sched_getaffinity(0, sizeof set, &set) == 0
                    ? CPU_COUNT(&set)
                    : sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = ncpu > 1 ? (int)(ncpu > 64 ? 64 : ncpu) : 1;
    if (count * block_size < PARALLEL_MIN_BYTES || count < 2)
        nthreads = 1;
    pthread_t tids[64];
    int started = 0;
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&tids[started], NULL, hash_worker, &job) == 0)
            started++;
    hash_worker(&job); /* the caller works too; fine if no thread started */
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

static int get_block(mms_store *store, MDB_txn *txn, uint64_t id,
                     uint64_t block, uint64_t *hash, bool *found)
{
    unsigned char key[16];
    mmsi_block_key(key, id, block);
    MDB_val k = {16, key}, v;
    int rc = mdb_get(txn, store->db_blocks, &k, &v);
    *found = false;
    if (rc == MDB_NOTFOUND)
        return MMS_OK;
    if (rc != 0)
        return mmsi_err_lmdb(rc, "catalog: reading block checksum");
    if (v.mv_size != 8)
        return mmsi_err(MMS_ERR_CORRUPT, "catalog: block checksum entry of "
                        "%zu bytes", v.mv_size);
    *hash = mmsi_get_le64(v.mv_data);
    *found = true;
    return MMS_OK;
}

static int put_block(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                     uint64_t block, uint64_t hash)
{
    uint64_t old;
    bool found;
    int rc = get_block(store, txn, rec->id, block, &old, &found);
    if (rc != MMS_OK)
        return rc;
    if (found)
        rec->root -= mmsi_root_term(block, old);
    rec->root += mmsi_root_term(block, hash);
    unsigned char key[16], val[8];
    mmsi_block_key(key, rec->id, block);
    mmsi_put_le64(val, hash);
    return mmsi_put(txn, store->db_blocks, key, 16, val, 8,
                    "block checksum");
}

int mmsi_blocks_update(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                       const unsigned char *data, uint64_t nbytes,
                       uint64_t first, uint64_t last)
{
    if (nbytes == 0 || first > last)
        return MMS_OK;
    uint64_t count = last - first + 1;
    uint64_t small[16];
    uint64_t *hashes = count <= 16 ? small : malloc(count * sizeof *hashes);
    if (!hashes)
        return mmsi_err(MMS_ERR_NOMEM, "hashing %llu blocks",
                        (unsigned long long)count);
    hash_blocks(data, nbytes, rec->block_size, first, count, hashes);
    int rc = mmsi_blocks_put(store, txn, rec, first, count, hashes);
    if (hashes != small)
        free(hashes);
    return rc;
}

int mmsi_blocks_hash(const unsigned char *data, uint64_t nbytes,
                     uint64_t block_size, uint64_t first, uint64_t count,
                     uint64_t **out)
{
    *out = NULL;
    if (count == 0)
        return MMS_OK;
    uint64_t *hashes = malloc(count * sizeof *hashes);
    if (!hashes)
        return mmsi_err(MMS_ERR_NOMEM, "hashing %llu blocks",
                        (unsigned long long)count);
    hash_blocks(data, nbytes, block_size, first, count, hashes);
    *out = hashes;
    return MMS_OK;
}

int mmsi_blocks_put(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                    uint64_t first, uint64_t count, const uint64_t *hashes)
{
    int rc = MMS_OK;
    for (uint64_t i = 0; i < count && rc == MMS_OK; i++)
        rc = put_block(store, txn, rec, first + i, hashes[i]);
    return rc;
}

int mmsi_blocks_drop(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                     uint64_t from, uint64_t to)
{
    for (uint64_t b = from; b < to; b++) {
        uint64_t old;
        bool found;
        int rc = get_block(store, txn, rec->id, b, &old, &found);
        if (rc != MMS_OK)
            return rc;
        if (!found)
            continue;
        rec->root -= mmsi_root_term(b, old);
        unsigned char key[16];
        mmsi_block_key(key, rec->id, b);
        if ((rc = mmsi_del(txn, store->db_blocks, key, 16,
                           "block checksum")) != MMS_OK)
            return rc;
    }
    return MMS_OK;
}

int mmsi_blocks_init_zero(mms_store *store, MDB_txn *txn, mmsi_record *rec,
                          uint64_t nbytes)
{
    uint64_t bs = rec->block_size;
    uint64_t nblocks = nbytes / bs + (nbytes % bs != 0);
    rec->root = 0;
    if (nblocks == 0)
        return MMS_OK;
    /* Every full block of zeros has the same hash: compute it once. */
    unsigned char *zero = calloc(1, (size_t)bs);
    if (!zero)
        return mmsi_err(MMS_ERR_NOMEM, "hashing a zero block");
    uint64_t full = XXH3_64bits(zero, (size_t)bs);
    uint64_t tail = nbytes % bs ? XXH3_64bits(zero, (size_t)(nbytes % bs))
                                : full;
    free(zero);
    int rc = MMS_OK;
    for (uint64_t b = 0; b < nblocks && rc == MMS_OK; b++) {
        uint64_t h = b + 1 == nblocks ? tail : full;
        unsigned char key[16], val[8];
        mmsi_block_key(key, rec->id, b);
        mmsi_put_le64(val, h);
        rec->root += mmsi_root_term(b, h);
        rc = mmsi_put(txn, store->db_blocks, key, 16, val, 8,
                      "block checksum");
    }
    return rc;
}

/* ---- verify -------------------------------------------------------------- */

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
    int rc = mmsi_cat_get(store, txn, v->name, &rec);
    if (rc != MMS_OK)
        return rc;
    bool present = true;
    if (rec.id != v->rec.id || rec.root != v->rec.root ||
        mmsi_writer_present(v->fd, &present) != 0 || present)
        return MMS_OK;
    rec.flags &= ~(MMSI_REC_DIRTY | MMSI_REC_INTERRUPTED);
    return mmsi_cat_put(store, txn, v->name, &rec);
}

static int read_expected(mms_store *store, MDB_txn *txn, void *arg)
{
    verify_ctx *v = arg;
    int rc = mmsi_cat_get(store, txn, v->name, &v->rec);
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
        if ((rc = get_block(store, txn, v->rec.id, b, &v->expect[b],
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
    if ((rc = mmsi_cat_read(store, read_expected, &v)) != MMS_OK)
        goto out;
    mmsi_geometry g;
    mmsi_rec_geometry(&v.rec, &g);
    path = mmsi_data_path(store, v.rec.id);
    if (!path) {
        rc = mmsi_err(MMS_ERR_NOMEM, "verify '%s'", name);
        goto out;
    }
    fd = openat(store->datafd, strrchr(path, '/') + 1,
                O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = errno == ENOENT
                 ? mmsi_err(MMS_ERR_CORRUPT, "verify '%s': data file %s is "
                            "missing", name, path)
                 : mmsi_errno(errno, "verify '%s': %s", name, path);
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
        got = malloc(g.nblocks * sizeof *got);
        if (!got) {
            rc = mmsi_err(MMS_ERR_NOMEM, "verify '%s'", name);
            goto out;
        }
        madvise(map, map_len, MADV_SEQUENTIAL);
        hash_blocks(map, g.nbytes, v.rec.block_size, 0, g.nblocks, got);
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
        if ((rc = mmsi_array_state(store, &v.rec, fd, &state)) != MMS_OK)
            goto out;
        if (state == MMS_STATE_INTERRUPTED &&
            (rc = mmsi_cat_write(store, clear_interrupted_txn, &v)) != MMS_OK)
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
