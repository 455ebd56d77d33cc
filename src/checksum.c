/* checksum.c - per-block XXH3-64 checksums and their root.
 *
 * Block i covers data bytes [i*B, min((i+1)*B, nbytes)). The root is a sum
 * of per-block terms (format.md), so a sync of k blocks updates it in O(k):
 * subtract the old terms, add the new ones, all inside the catalog write
 * transaction that records them. */
#include "catalog.h"

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

int mmsi_block_get(mmsi_cat *cat, MDB_txn *txn, uint64_t id, uint64_t block,
                   uint64_t *hash, bool *found)
{
    unsigned char key[16];
    mmsi_block_key(key, id, block);
    MDB_val k = {16, key}, v;
    int rc = mdb_get(txn, cat->db_blocks, &k, &v);
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

static int put_block(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                     uint64_t block, uint64_t hash)
{
    uint64_t old;
    bool found;
    int rc = mmsi_block_get(cat, txn, rec->id, block, &old, &found);
    if (rc != MMS_OK)
        return rc;
    if (found)
        rec->root -= mmsi_root_term(block, old);
    rec->root += mmsi_root_term(block, hash);
    unsigned char key[16], val[8];
    mmsi_block_key(key, rec->id, block);
    mmsi_put_le64(val, hash);
    return mmsi_put(txn, cat->db_blocks, key, 16, val, 8,
                    "block checksum");
}

int mmsi_blocks_update(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
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
    int rc = mmsi_blocks_put(cat, txn, rec, first, count, hashes);
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

int mmsi_blocks_put(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                    uint64_t first, uint64_t count, const uint64_t *hashes)
{
    int rc = MMS_OK;
    for (uint64_t i = 0; i < count && rc == MMS_OK; i++)
        rc = put_block(cat, txn, rec, first + i, hashes[i]);
    return rc;
}

int mmsi_blocks_drop(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
                     uint64_t from, uint64_t to)
{
    for (uint64_t b = from; b < to; b++) {
        uint64_t old;
        bool found;
        int rc = mmsi_block_get(cat, txn, rec->id, b, &old, &found);
        if (rc != MMS_OK)
            return rc;
        if (!found)
            continue;
        rec->root -= mmsi_root_term(b, old);
        unsigned char key[16];
        mmsi_block_key(key, rec->id, b);
        if ((rc = mmsi_del(txn, cat->db_blocks, key, 16,
                           "block checksum")) != MMS_OK)
            return rc;
    }
    return MMS_OK;
}

int mmsi_blocks_init_zero(mmsi_cat *cat, MDB_txn *txn, mmsi_record *rec,
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
        rc = mmsi_put(txn, cat->db_blocks, key, 16, val, 8,
                      "block checksum");
    }
    return rc;
}
