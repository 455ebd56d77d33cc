/*
 * bench_scale.c - how the costs grow: figures 11 and 12 of mms-bench.
 *
 * 11  with array size, 64 MiB, 256 MiB, 1 GiB and 4 GiB (--quick: up to
 *     1 GiB), each beside its raw baseline on a file of the same size:
 *       a  create + mms_array_write + sync vs open + fallocate + pwrite +
 *          fsync (new files; GB/s)
 *       b  open RDONLY by name + sum every element + close vs open + mmap
 *          + sum + munmap of the same data file (warm; GB/s)
 *       c  mms_verify vs raw XXH3 of the same mapped bytes on as many
 *          threads (warm; GB/s)
 *       d  open RDONLY + data + close vs open + fstat + mmap + munmap +
 *          close (µs: must not grow with the size)
 *       e  sync_range of one 4 KiB row vs msync of one dirty page +
 *          fdatasync (ms: must not grow with the size)
 * 12  with 1, 2, 4 and 8 processes on the same 1 GiB array (--quick:
 *     256 MiB), all of them started together behind a barrier:
 *       a  each opens the array by name and sums all of it (aggregate
 *          GB/s: one copy of the data in memory however many readers)
 *          vs the same with raw open + mmap of the data file
 *       b  opens RDONLY + data + close in a loop (aggregate opens/s) vs
 *          raw open + fstat + mmap + munmap + close
 *       c  each syncs its own 4 KiB rows with sync_range (aggregate
 *          syncs/s) vs raw msync of a page + fdatasync of the same file
 *
 * Baselines run interleaved with the mmstore runs (the order alternates
 * every repetition). Sums are checked: a wrong sum fails the benchmark.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <xxhash.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * MIB)        /* the write source, reused for every size */
#define ROW 4096u               /* figures 11e and 12c: rows of 4 KiB */
#define OPEN_BATCH 100          /* opens per timed batch */

static const char *const A_SCALE = "bench/scale";
static const char *const A_SHARED = "bench/shared";

/* 64 MiB of non-zero data; element i of a file written from it repeatedly
 * is chunk[i % (CHUNK / 8)]. */
static uint64_t *chunk;
static uint64_t chunk_sum;

static void make_chunk(void)
{
    if (chunk)
        return;
    chunk = malloc(CHUNK);
    if (!chunk)
        die("out of memory");
    for (size_t i = 0; i < CHUNK / 8; i++)
        chunk[i] = (i + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ (i >> 7);
    chunk_sum = sum_u64(chunk, CHUNK / 8);
}

/* The sum of a file of size bytes written from chunk (size % CHUNK == 0). */
static uint64_t expected_sum(uint64_t size)
{
    return chunk_sum * (size / CHUNK);
}

static double gbps(uint64_t bytes, uint64_t ns)
{
    return (double)bytes / (double)ns;   /* bytes per ns = GB/s */
}

static void size_label(char *out, size_t n, uint64_t bytes)
{
    if (bytes >= GIB)
        snprintf(out, n, "%llu GiB", (unsigned long long)(bytes / GIB));
    else
        snprintf(out, n, "%llu MiB", (unsigned long long)(bytes / MIB));
}

/* ---- figure 11: array size ---------------------------------------------- */

/* 11a, mmstore: create, write every chunk, sync; the handle stays open
 * for the other parts (closing it is not timed). */
static double fill_mms(uint64_t size, mms_array **out)
{
    const uint64_t shape[1] = {size / 8};
    mms_array *a;
    uint64_t t0 = now_ns();
    MMS(mms_array_create(bench.store, A_SCALE, MMS_UINT64, 1, shape, 0, &a),
        "create %s", A_SCALE);
    for (uint64_t off = 0; off < size; off += CHUNK)
        MMS(mms_array_write(a, off, chunk, CHUNK), "write %s", A_SCALE);
    MMS(mms_array_sync(a), "sync %s", A_SCALE);
    uint64_t t1 = now_ns();
    *out = a;
    return gbps(size, t1 - t0);
}

/* 11a, raw: the same bytes after the same 4 KiB of header space. */
static double fill_raw(uint64_t size, const char *path)
{
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    SYS(fd, "create %s", path);
    int e = posix_fallocate(fd, 0, (off_t)(NPY_DATA_OFFSET + size));
    if (e != 0)
        die("posix_fallocate %s: %s", path, strerror(e));
    for (uint64_t off = 0; off < size; off += CHUNK)
        pwrite_all(fd, chunk, CHUNK, (off_t)(NPY_DATA_OFFSET + off), path);
    SYS(fsync(fd), "fsync %s", path);
    uint64_t t1 = now_ns();
    SYS(close(fd), "close %s", path);
    return gbps(size, t1 - t0);
}

static double read_mms(uint64_t size)
{
    mms_array *a;
    uint64_t t0 = now_ns();
    MMS(mms_array_open(bench.store, A_SCALE, MMS_RDONLY, &a), "open %s",
        A_SCALE);
    uint64_t s = sum_u64(mms_array_data(a), size / 8);
    MMS(mms_array_close(a), "close %s", A_SCALE);
    uint64_t t1 = now_ns();
    if (s != expected_sum(size))
        die("%s: wrong sum through the mapping", A_SCALE);
    return gbps(size, t1 - t0);
}

/* Maps a data file read-only; returns the data (past the header). */
static const uint64_t *map_data(const char *path, uint64_t size, int *fd)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    SYS(*fd, "open %s", path);
    void *m = mmap(NULL, NPY_DATA_OFFSET + size, PROT_READ, MAP_SHARED, *fd,
                   0);
    if (m == MAP_FAILED)
        die("mmap %s: %s", path, strerror(errno));
    return (const uint64_t *)((const char *)m + NPY_DATA_OFFSET);
}

static void unmap_data(const uint64_t *data, uint64_t size, int fd)
{
    munmap((char *)data - NPY_DATA_OFFSET, NPY_DATA_OFFSET + size);
    close(fd);
}

static double read_raw(const char *path, uint64_t size)
{
    int fd;
    uint64_t t0 = now_ns();
    const uint64_t *d = map_data(path, size, &fd);
    uint64_t s = sum_u64(d, size / 8);
    unmap_data(d, size, fd);
    uint64_t t1 = now_ns();
    if (s != expected_sum(size))
        die("%s: wrong sum through a raw mapping", path);
    return gbps(size, t1 - t0);
}

static double opens_mms(void)
{
    uint64_t t0 = now_ns();
    for (int k = 0; k < OPEN_BATCH; k++) {
        mms_array *a;
        MMS(mms_array_open(bench.store, A_SCALE, MMS_RDONLY, &a), "open %s",
            A_SCALE);
        if (!mms_array_data(a))
            die("%s: no data pointer", A_SCALE);
        MMS(mms_array_close(a), "close %s", A_SCALE);
    }
    return (double)(now_ns() - t0) / OPEN_BATCH / 1e3;
}

static double opens_raw(const char *path)
{
    uint64_t t0 = now_ns();
    for (int k = 0; k < OPEN_BATCH; k++) {
        int fd;
        size_t len;
        char *m = raw_open_map(path, &fd, &len);
        raw_close_map(m, fd, len, path);
    }
    return (double)(now_ns() - t0) / OPEN_BATCH / 1e3;
}

/* 11e and 12c: change one 4 KiB row and make it durable. */
static double sync_row_mms(mms_array *a, uint64_t row, uint64_t v)
{
    uint64_t *p = (uint64_t *)((char *)mms_array_data(a) + row * ROW);
    uint64_t t0 = now_ns();
    p[0] = v;
    MMS(mms_array_sync_range(a, row * ROW / 8, ROW / 8), "sync_range %s",
        mms_array_path(a));
    return (double)(now_ns() - t0) / 1e6;
}

/* The raw twin: msync of the page, then fdatasync of the file, as a
 * careful application that records "this is durable" would do. */
static double sync_row_raw(int fd, char *map, uint64_t row, uint64_t v,
                           const char *path)
{
    char *page = map + NPY_DATA_OFFSET + row * ROW;
    uint64_t t0 = now_ns();
    ((uint64_t *)page)[0] = v;
    SYS(msync(page, ROW, MS_SYNC), "msync %s", path);
    SYS(fdatasync(fd), "fdatasync %s", path);
    return (double)(now_ns() - t0) / 1e6;
}

static void scale_one(uint64_t size, int reps, int k)
{
    char raw_path[PATH_MAX], sz[16], id[16], what[96];
    path_in_tmp(raw_path, sizeof raw_path, "raw-scale");
    size_label(sz, sizeof sz, size);
    progress("[11] %s", sz);
    double *fm = alloc_doubles(reps), *fr = alloc_doubles(reps);
    double *rm = alloc_doubles(reps), *rr = alloc_doubles(reps);
    double *vm = alloc_doubles(reps), *vr = alloc_doubles(reps);
    double *om = alloc_doubles(reps), *orw = alloc_doubles(reps);
    double *sm = alloc_doubles(reps), *sr = alloc_doubles(reps);

    /* 11a: new files every repetition; the last pair stays for the rest.
     * One untimed round first: the first pages a size needs come from the
     * host slowly (BASELINES.md), whichever method asks first; after it,
     * each method reuses the pages the previous round freed. */
    mms_array *a = NULL;
    fill_mms(size, &a);
    fill_raw(size, raw_path);
    for (int rep = 0; rep < reps; rep++) {
        MMS(mms_array_close(a), "close %s", A_SCALE);
        MMS(mms_remove(bench.store, A_SCALE), "remove %s", A_SCALE);
        SYS(unlink(raw_path), "unlink %s", raw_path);
        if (rep % 2 == 0) {
            fm[rep] = fill_mms(size, &a);
            fr[rep] = fill_raw(size, raw_path);
        } else {
            fr[rep] = fill_raw(size, raw_path);
            fm[rep] = fill_mms(size, &a);
        }
    }
    char data_path[PATH_MAX];
    snprintf(data_path, sizeof data_path, "%s", mms_array_path(a));

    /* 11b-d on the array's own data file: the same bytes, warm. */
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < reps; rep++) {
        for (int j = 0; j < 2; j++) {
            int raw = (j + rep) % 2;
            if (raw) {
                rr[rep] = read_raw(data_path, size);
                int fd;
                const uint64_t *d = map_data(data_path, size, &fd);
                uint64_t t0 = now_ns();
                sink ^= xxh3_all_cpus(d, size, bench.ncpu);
                vr[rep] = gbps(size, now_ns() - t0);
                unmap_data(d, size, fd);
                orw[rep] = opens_raw(data_path);
            } else {
                rm[rep] = read_mms(size);
                uint64_t t0 = now_ns();
                MMS(mms_verify(bench.store, A_SCALE, NULL, NULL), "verify %s",
                    A_SCALE);
                vm[rep] = gbps(size, now_ns() - t0);
                om[rep] = opens_mms();
            }
        }
    }
    (void)sink;

    /* 11e: the open read-write handle's rows vs the raw file's rows (its
     * own file, so that the two never share dirty pages). */
    int rfd = open(raw_path, O_RDWR | O_CLOEXEC);
    SYS(rfd, "open %s", raw_path);
    char *rmap = mmap(NULL, NPY_DATA_OFFSET + size, PROT_READ | PROT_WRITE,
                      MAP_SHARED, rfd, 0);
    if (rmap == MAP_FAILED)
        die("mmap %s: %s", raw_path, strerror(errno));
    uint64_t nrows = size / ROW;
    for (int rep = 0; rep < reps; rep++) {
        double tm = 0, tr = 0;
        for (int i = 0; i < 8; i++) {
            /* spread over the file, never the same row twice in a row */
            uint64_t row = ((uint64_t)(rep * 8 + i) * 7919u) % nrows;
            tm += sync_row_mms(a, row, (uint64_t)rep);
            tr += sync_row_raw(rfd, rmap, row, (uint64_t)rep, raw_path);
        }
        sm[rep] = tm / 8;
        sr[rep] = tr / 8;
    }
    munmap(rmap, NPY_DATA_OFFSET + size);
    close(rfd);
    MMS(mms_array_close(a), "close %s", A_SCALE);
    MMS(mms_remove(bench.store, A_SCALE), "remove %s", A_SCALE);
    SYS(unlink(raw_path), "unlink %s", raw_path);

    const int first = k == 0;
    result *r[5];
    snprintf(id, sizeof id, "11a%d", k + 1);
    snprintf(what, sizeof what, "create + write + sync, %s", sz);
    r[0] = add_result(id, what, first ? "open + fallocate + pwrite + fsync "
                      "of a new file of the same size" : "the same, same "
                      "size", "GB/s", fm, fr, reps, INFORMATIONAL, 0, 0,
                      "new file");
    snprintf(id, sizeof id, "11b%d", k + 1);
    snprintf(what, sizeof what, "open + read all + close, %s", sz);
    r[1] = add_result(id, what, first ? "open + mmap + sum + munmap of the "
                      "same data file" : "the same, same size", "GB/s", rm,
                      rr, reps, INFORMATIONAL, 0, 0, "warm");
    snprintf(id, sizeof id, "11c%d", k + 1);
    snprintf(what, sizeof what, "verify, %s", sz);
    r[2] = add_result(id, what, first ? "raw XXH3 of each 1 MiB block of "
                      "the same mapping, one thread per CPU" : "the same, "
                      "same size", "GB/s", vm, vr, reps, INFORMATIONAL, 0, 0,
                      "warm");
    snprintf(id, sizeof id, "11d%d", k + 1);
    snprintf(what, sizeof what, "open RDONLY + data + close, %s", sz);
    r[3] = add_result(id, what, first ? "open + fstat + mmap + munmap + "
                      "close of the data file" : "the same, same size", "us",
                      om, orw, reps, INFORMATIONAL, 0, 0, "warm");
    snprintf(id, sizeof id, "11e%d", k + 1);
    snprintf(what, sizeof what, "sync_range of one 4 KiB row, %s", sz);
    r[4] = add_result(id, what, first ? "write + msync of the page + "
                      "fdatasync, file of the same size" : "the same, same "
                      "size", "ms", sm, sr, reps, INFORMATIONAL, 0, 0,
                      "warm");
    for (int i = 0; i < 5; i++)
        snprintf(r[i]->extra, sizeof r[i]->extra, ",\"bytes\":%llu",
                 (unsigned long long)size);
    free(fm); free(fr); free(rm); free(rr); free(vm); free(vr);
    free(om); free(orw); free(sm); free(sr);
}

void bench_scaling_size(int quick)
{
    static const uint64_t sizes[4] = {64 * MIB, 256 * MIB, GIB, 4 * GIB};
    make_chunk();
    int n = quick ? 3 : 4;
    if (!bench.json) {
        printf("scaling with size: 64 MiB to %s, medians of %s\n",
               quick ? "1 GiB" : "4 GiB",
               quick ? "2 runs" : "3 runs (2 at 4 GiB)");
        fflush(stdout);
    }
    for (int k = 0; k < n; k++)
        scale_one(sizes[k], quick ? 2 : sizes[k] > GIB ? 2 : 3, k);
    add_note("11: each size's files are new in 11a, then read, verified, "
             "opened and synced warm; 11d and 11e should not grow with the "
             "size.\n");
}

/* ---- figure 12: process count ------------------------------------------ */

enum job { JOB_READ, JOB_OPEN, JOB_SYNC };

typedef struct procs_run {
    enum job job;
    int raw;
    uint64_t size;         /* bytes of the shared array */
    int ops;               /* opens or syncs per worker */
    char data_path[PATH_MAX];
} procs_run;

/* One worker: its own handles, then the barrier, then the work; reports
 * its span. Worker w syncs rows w, w + 8, w + 16, ... (its own pages). */
static void procs_worker(int w, void *ctx, gate *g)
{
    const procs_run *p = ctx;
    mms_store *s = NULL;
    mms_array *a = NULL;
    int fd = -1;
    char *map = NULL;
    size_t maplen = NPY_DATA_OFFSET + p->size;
    if (p->raw && p->job == JOB_SYNC) {
        fd = open(p->data_path, O_RDWR | O_CLOEXEC);
        SYS(fd, "open %s", p->data_path);
        map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
            die("mmap %s: %s", p->data_path, strerror(errno));
    } else if (!p->raw) {
        MMS(mms_store_open(bench.store_path, 0, &s), "open store %s",
            bench.store_path);
        if (p->job == JOB_SYNC)
            MMS(mms_array_open(s, A_SHARED, MMS_RDWR, &a), "open %s",
                A_SHARED);
    }
    gate_start(g);

    uint64_t t0 = now_ns();
    if (p->job == JOB_READ) {
        uint64_t sum;
        if (p->raw) {
            int rfd;
            const uint64_t *d = map_data(p->data_path, p->size, &rfd);
            sum = sum_u64(d, p->size / 8);
            unmap_data(d, p->size, rfd);
        } else {
            MMS(mms_array_open(s, A_SHARED, MMS_RDONLY, &a), "open %s",
                A_SHARED);
            sum = sum_u64(mms_array_data(a), p->size / 8);
            MMS(mms_array_close(a), "close %s", A_SHARED);
            a = NULL;
        }
        if (sum != expected_sum(p->size))
            die("worker %d: wrong sum of %s", w, A_SHARED);
    } else if (p->job == JOB_OPEN) {
        for (int k = 0; k < p->ops; k++) {
            if (p->raw) {
                int rfd;
                const uint64_t *d = map_data(p->data_path, p->size, &rfd);
                unmap_data(d, p->size, rfd);
            } else {
                MMS(mms_array_open(s, A_SHARED, MMS_RDONLY, &a), "open %s",
                    A_SHARED);
                MMS(mms_array_close(a), "close %s", A_SHARED);
                a = NULL;
            }
        }
    } else {
        for (int k = 0; k < p->ops; k++) {
            uint64_t row = (uint64_t)w + (uint64_t)k * BENCH_MAX_PROCS;
            if (p->raw)
                sync_row_raw(fd, map, row, (uint64_t)k, p->data_path);
            else
                sync_row_mms(a, row, (uint64_t)k);
        }
    }
    gate_end(g, t0, now_ns());
    if (map)
        munmap(map, maplen);
    if (fd >= 0)
        close(fd);
    MMS(mms_array_close(a), "close %s", A_SHARED);
    MMS(mms_store_close(s), "close store");
}

/* Runs nproc workers of one job; returns the operations (reads of the
 * whole array count as its bytes) per second over the span from the first
 * start to the last end. */
static double run_procs(const procs_run *p, int nproc)
{
    double secs = (double)run_gated(nproc, procs_worker, (void *)p) / 1e9;
    if (p->job == JOB_READ)
        return (double)p->size * nproc / 1e9 / secs;          /* GB/s */
    return (double)p->ops * nproc / secs / 1e3;               /* k/s */
}

void bench_scaling_procs(int quick)
{
    static const int counts[4] = {1, 2, 4, 8};
    static const char *const jobs[3] = {"read all", "open + close",
                                        "sync_range of own rows"};
    static const char *const bases[3] = {
        "open + mmap + sum + munmap of the same data file, same process "
        "count",
        "open + fstat + mmap + munmap + close of the data file, same "
        "process count",
        "write + msync of the page + fdatasync of the same data file, same "
        "process count"};
    make_chunk();
    uint64_t size = quick ? 256 * MIB : GIB;
    int reps = quick ? 3 : 5;
    procs_run p = {.size = size};
    if (!bench.json) {
        printf("scaling with processes: 1, 2, 4, 8 on %d CPUs, a %s array, "
               "medians of %d runs\n", bench.ncpu, quick ? "256 MiB" : "1 GiB",
               reps);
        fflush(stdout);
    }

    const uint64_t shape[1] = {size / 8};
    mms_array *a;
    MMS(mms_array_create(bench.store, A_SHARED, MMS_UINT64, 1, shape, 0, &a),
        "create %s", A_SHARED);
    for (uint64_t off = 0; off < size; off += CHUNK)
        MMS(mms_array_write(a, off, chunk, CHUNK), "write %s", A_SHARED);
    snprintf(p.data_path, sizeof p.data_path, "%s", mms_array_path(a));
    MMS(mms_array_close(a), "close %s", A_SHARED);

    double *m = alloc_doubles(reps), *r = alloc_doubles(reps);
    for (int job = 0; job < 3; job++) {
        progress("[12] %s with 1, 2, 4, 8 processes", jobs[job]);
        p.job = (enum job)job;
        p.ops = job == JOB_OPEN ? (quick ? 200 : 1000) : (quick ? 8 : 24);
        for (int k = 0; k < 4; k++) {
            int np = counts[k];
            for (int rep = 0; rep < reps; rep++) {
                for (int j = 0; j < 2; j++) {
                    p.raw = (j + rep) % 2;
                    (p.raw ? r : m)[rep] = run_procs(&p, np);
                }
            }
            char id[16], what[96];
            snprintf(id, sizeof id, "12%c%d", 'a' + job, np);
            snprintf(what, sizeof what, "%s, %d process%s (total)",
                     jobs[job], np, np > 1 ? "es" : "");
            add_result(id, what, k == 0 ? bases[job] : "the same raw work",
                       job == JOB_READ ? "GB/s" : "k/s", m, r, reps,
                       INFORMATIONAL, 0, 0, "warm");
        }
    }
    free(m);
    free(r);
    MMS(mms_remove(bench.store, A_SHARED), "remove %s", A_SHARED);
    add_note("12: every process opens its own store handle before the "
             "start; a read is one whole pass over the array per process "
             "(the pages are shared, never copied); the syncs of 12c go to "
             "disjoint rows of one array.\n");
}
