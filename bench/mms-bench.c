/*
 * mms-bench - measures libmmstore against the physical baseline of the same
 * machine, both in the same run (issue 2, "Performance").
 *
 * For every figure it prints the median of several repetitions of the
 * mmstore operation, the median of the raw system-call baseline that does
 * the same physical work, and their ratio, next to the target. Baselines are
 * always measured in the same run, interleaved with the mmstore runs,
 * because this class of machine is shared and noisy.
 *
 * Figures:
 *  1  open an existing array by name vs open+fstat+mmap of the same file
 *  2  sequential read of a mapped array vs a raw mmap read of the same file
 *  3  create + fill + sync vs create + posix_fallocate + pwrite + fsync
 *  4  sync_range of one 4 KiB row in a small and a large array
 *  5  mms_verify vs XXH3-64 over a RAM buffer, on every CPU and on one
 *  6-10  coordination: locks, atomics, wait/wake, publish, atomics and
 *        locks with 1-8 processes (bench_coord.c)
 *  11-12 scaling with array size and with process count (bench_scale.c)
 *  13 the open latency tail: many readers opening while publishers
 *     republish, beside raw opens and LMDB alone (bench_tail.c)
 *
 * This file holds the options and figures 1-5; bench_util.c the shared
 * parts (bench.h). It uses only <mmstore.h>, libxxhash and libc, like every tool. It writes
 * only inside a fresh directory under --dir and removes it at the end, on
 * error, and on SIGINT/SIGTERM/SIGHUP (the removal is async-signal-safe).
 * It never drops the page cache: the "pages" column says which passes find
 * their data in memory already.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <xxhash.h>

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define ROW_BYTES 4096u         /* figure 4: one row of 4096 uint8 */
#define SMALL_SYNC_BYTES (64 * MIB)

/* ---- small helpers ---------------------------------------------------- */

/* Puts every thread of this process on the CPUs of set. sched_setaffinity
 * on pid 0 would move only the calling thread, and a library may keep
 * worker threads: walk /proc/self/task. */
static void set_process_affinity(const cpu_set_t *set)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        die("opendir /proc/self/task: %s", strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (sched_setaffinity(tid, sizeof *set, set) != 0 && errno != ESRCH)
            die("sched_setaffinity(thread %d): %s", (int)tid,
                strerror(errno));
    }
    closedir(d);
}

static void format_size(char *out, size_t size, uint64_t bytes)
{
    if (bytes % GIB == 0)
        snprintf(out, size, "%llu GiB", (unsigned long long)(bytes / GIB));
    else if (bytes >= GIB)
        snprintf(out, size, "%.2f GiB", (double)bytes / GIB);
    else
        snprintf(out, size, "%llu MiB", (unsigned long long)(bytes / MIB));
}

/* ---- configuration ---------------------------------------------------- */

typedef struct config {
    const char *dir;
    double size_gib;
    uint64_t size;          /* bytes of the "1 GiB" figures */
    uint64_t big_sync;      /* figure 4's large array: 4 x size */
    int quick, json;
    unsigned figures;       /* bit f set: run figure f (1..5) */
    int open_reps, open_batch, rw_batch;
    int read_reps, fill_reps, sync_ops, verify_reps;
    int ncpu;
    cpu_set_t cpus;         /* the CPUs we may run on at start */
} config;

static const uint64_t *g_pattern;   /* size bytes of non-zero data */
static uint64_t g_pattern_sum;

static void make_pattern(const config *c)
{
    uint64_t *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap %llu bytes for the fill buffer: %s",
            (unsigned long long)c->size, strerror(errno));
    size_t n = c->size / 8;
    for (size_t i = 0; i < n; i++)
        p[i] = (i + 1) * UINT64_C(0x9E3779B97F4A7C15) ^ (i >> 11);
    g_pattern = p;
    g_pattern_sum = sum_u64(p, n);
}

/* ---- figure 1: open by name ----------------------------------------- */

static void bench_open(const config *c, const char *read_path)
{
    fprintf(stderr, "mms-bench: [1] open by name\n");
    /* A 1 MiB array for the read-write open: closing a writable handle
     * syncs the whole array, which on the 1 GiB array would dwarf the
     * open itself. */
    const uint64_t rw_shape[1] = {MIB / 8};
    mms_array *a;
    MMS(mms_array_create(bench.store, "bench/open-rw", MMS_UINT64, 1, rw_shape,
                         0, &a), "create bench/open-rw");
    char rw_path[PATH_MAX];
    snprintf(rw_path, sizeof rw_path, "%s", mms_array_path(a));
    MMS(mms_array_close(a), "close bench/open-rw");

    int reps = c->open_reps, K = c->open_batch, KW = c->rw_batch;
    double *m_full = calloc((size_t)reps, sizeof(double));
    double *r_full = calloc((size_t)reps, sizeof(double));
    double *m_open = calloc((size_t)reps, sizeof(double));
    double *r_open = calloc((size_t)reps, sizeof(double));
    double *m_rw = calloc((size_t)reps, sizeof(double));
    double *r_rw = calloc((size_t)reps, sizeof(double));
    double *m_rwc = calloc((size_t)reps, sizeof(double));
    double *r_rwc = calloc((size_t)reps, sizeof(double));
    if (!m_full || !r_full || !m_open || !r_open || !m_rw || !r_rw ||
        !m_rwc || !r_rwc)
        die("out of memory");

    for (int rep = 0; rep < reps; rep++) {
        uint64_t t0, t1, sum;
        struct stat st;

        /* 1a: open RDONLY + data + close, as a whole. */
        t0 = now_ns();
        for (int k = 0; k < K; k++) {
            MMS(mms_array_open(bench.store, "bench/read", MMS_RDONLY, &a),
                "open bench/read read-only");
            if (!mms_array_data(a))
                die("mms_array_data returned NULL for an open handle");
            MMS(mms_array_close(a), "close bench/read");
        }
        t1 = now_ns();
        m_full[rep] = (double)(t1 - t0) / K / 1e3;

        t0 = now_ns();
        for (int k = 0; k < K; k++) {
            int fd;
            size_t len;
            char *m = raw_open_map(read_path, &fd, &len);
            raw_close_map(m, fd, len, read_path);
        }
        t1 = now_ns();
        r_full[rep] = (double)(t1 - t0) / K / 1e3;

        /* 1b: the open alone (the mapping is made inside it). */
        sum = 0;
        for (int k = 0; k < K; k++) {
            t0 = now_ns();
            MMS(mms_array_open(bench.store, "bench/read", MMS_RDONLY, &a),
                "open bench/read read-only");
            t1 = now_ns();
            sum += t1 - t0;
            MMS(mms_array_close(a), "close bench/read");
        }
        m_open[rep] = (double)sum / K / 1e3;

        sum = 0;
        for (int k = 0; k < K; k++) {
            int fd;
            size_t len;
            t0 = now_ns();
            char *m = raw_open_map(read_path, &fd, &len);
            t1 = now_ns();
            sum += t1 - t0;
            raw_close_map(m, fd, len, read_path);
        }
        r_open[rep] = (double)sum / K / 1e3;

        /* 1c/1d: read-write open (records a writer: one catalog commit)
         * and open + close (close syncs and marks the array clean). */
        uint64_t so = 0, sc = 0;
        for (int k = 0; k < KW; k++) {
            t0 = now_ns();
            MMS(mms_array_open(bench.store, "bench/open-rw", MMS_RDWR, &a),
                "open bench/open-rw read-write");
            t1 = now_ns();
            MMS(mms_array_close(a), "close bench/open-rw");
            uint64_t t2 = now_ns();
            so += t1 - t0;
            sc += t2 - t0;
        }
        m_rw[rep] = (double)so / KW / 1e3;
        m_rwc[rep] = (double)sc / KW / 1e3;

        so = sc = 0;
        for (int k = 0; k < KW; k++) {
            t0 = now_ns();
            int fd = open(rw_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
            SYS(fd, "open %s", rw_path);
            SYS(fstat(fd, &st), "fstat %s", rw_path);
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                           MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                die("mmap %s: %s", rw_path, strerror(errno));
            t1 = now_ns();
            SYS(munmap(m, (size_t)st.st_size), "munmap %s", rw_path);
            SYS(close(fd), "close %s", rw_path);
            uint64_t t2 = now_ns();
            so += t1 - t0;
            sc += t2 - t0;
        }
        r_rw[rep] = (double)so / KW / 1e3;
        r_rwc[rep] = (double)sc / KW / 1e3;
    }

    add_result("1a", "open RDONLY + data + close", "raw open + fstat + mmap + "
               "munmap + close of the same data file",
               "us", m_full, r_full, reps, LOWER_IS_BETTER, 3, 20, "warm");
    add_result("1b", "open RDONLY alone", "raw open + fstat + mmap of the "
               "same data file",
               "us", m_open, r_open, reps, LOWER_IS_BETTER, 3, 20, "warm");
    add_result("1c", "open RDWR alone (1 MiB; 1 commit)", "raw open O_RDWR + "
               "fstat + mmap RW of the same 1 MiB data file",
               "us", m_rw, r_rw, reps, INFORMATIONAL, 0, 0, "warm");
    add_result("1d", "open RDWR + close (1 MiB array)", "raw open O_RDWR + "
               "fstat + mmap RW + munmap + close of the same file",
               "us", m_rwc, r_rwc, reps, INFORMATIONAL, 0, 0, "warm");
    free(m_full); free(r_full); free(m_open); free(r_open);
    free(m_rw); free(r_rw); free(m_rwc); free(r_rwc);
    MMS(mms_remove(bench.store, "bench/open-rw"), "remove bench/open-rw");
}

/* ---- figure 2: sequential read --------------------------------------- */

static void bench_read(const config *c, const char *read_path)
{
    fprintf(stderr, "mms-bench: [2] sequential read\n");
    int reps = c->read_reps;
    double *m1 = calloc((size_t)reps, sizeof(double));
    double *m2 = calloc((size_t)reps, sizeof(double));
    double *r1 = calloc((size_t)reps, sizeof(double));
    double *r2 = calloc((size_t)reps, sizeof(double));
    if (!m1 || !m2 || !r1 || !r2)
        die("out of memory");
    size_t n = c->size / 8;
    double gb = (double)c->size / 1e9;

    for (int rep = 0; rep < reps; rep++) {
        for (int which = 0; which < 2; which++) {
            /* Alternate which goes first, so neither always follows the
             * other's page-table teardown. */
            int do_mms = (which == 0) == (rep % 2 == 0);
            uint64_t t0, t1, t2, s1, s2;
            if (do_mms) {
                mms_array *a;
                t0 = now_ns();
                MMS(mms_array_open(bench.store, "bench/read", MMS_RDONLY, &a),
                    "open bench/read read-only");
                const uint64_t *p = mms_array_data(a);
                s1 = sum_u64(p, n);
                t1 = now_ns();
                s2 = sum_u64(p, n);
                t2 = now_ns();
                MMS(mms_array_close(a), "close bench/read");
                m1[rep] = gb / ((double)(t1 - t0) / 1e9);
                m2[rep] = gb / ((double)(t2 - t1) / 1e9);
            } else {
                int fd;
                size_t len;
                t0 = now_ns();
                char *m = raw_open_map(read_path, &fd, &len);
                const uint64_t *p =
                    (const uint64_t *)(m + NPY_DATA_OFFSET);
                s1 = sum_u64(p, n);
                t1 = now_ns();
                s2 = sum_u64(p, n);
                t2 = now_ns();
                raw_close_map(m, fd, len, read_path);
                r1[rep] = gb / ((double)(t1 - t0) / 1e9);
                r2[rep] = gb / ((double)(t2 - t1) / 1e9);
            }
            if (s1 != g_pattern_sum || s2 != g_pattern_sum)
                die("%s read of bench/read summed to %llx/%llx, expected "
                    "%llx: the data is not what was written",
                    do_mms ? "mmstore" : "raw", (unsigned long long)s1,
                    (unsigned long long)s2,
                    (unsigned long long)g_pattern_sum);
        }
    }
    add_result("2a", "read sum u64, fresh handle (open incl.)",
               "raw open + fstat + mmap + read sum of the same file, fresh "
               "mapping", "GB/s", m1, r1, reps, HIGHER_IS_BETTER, 0.95, 0,
               "warm (page cache), fresh mapping");
    add_result("2b", "read sum u64, second pass", "raw mmap read sum, "
               "second pass over the same mapping", "GB/s", m2, r2, reps,
               HIGHER_IS_BETTER, 0.95, 0, "warm, mapping populated");
    free(m1); free(m2); free(r1); free(r2);
}

/* ---- figure 3: create + fill + sync ---------------------------------- */

enum { FILL_MAP, FILL_WRITE, RAW_PWRITE, RAW_MMAP, NFILL };

/* One create + fill + sync of c->size bytes by the given method. Puts the
 * three phase times (ms) in ph and returns the total in ns; *close_ms gets
 * the close of a mmstore array (not part of the figure). */
static uint64_t fill_once(const config *c, int method, double ph[3],
                          double *close_ms)
{
    static const char *const names[2] = {"bench/fill-a", "bench/fill-b"};
    const uint64_t shape[1] = {c->size / 8};
    char raw_path[PATH_MAX];
    path_in_tmp(raw_path, sizeof raw_path, "raw-fill.bin");
    uint64_t t0, t1, t2, t3;

    if (method == FILL_MAP || method == FILL_WRITE) {
        const char *name = names[method];
        mms_array *a;
        t0 = now_ns();
        MMS(mms_array_create(bench.store, name, MMS_UINT64, 1, shape, 0, &a),
            "create %s", name);
        t1 = now_ns();
        if (method == FILL_MAP)
            memcpy(mms_array_data(a), g_pattern, c->size);
        else
            MMS(mms_array_write(a, 0, g_pattern, c->size), "write %s", name);
        t2 = now_ns();
        MMS(mms_array_sync(a), "sync %s", name);
        t3 = now_ns();
        MMS(mms_array_close(a), "close %s", name);
        *close_ms = (double)(now_ns() - t3) / 1e6;
        MMS(mms_remove(bench.store, name), "remove %s", name);
    } else {
        int oflags = (method == RAW_MMAP ? O_RDWR : O_WRONLY) | O_CREAT |
                     O_EXCL | O_CLOEXEC | O_NOFOLLOW;
        t0 = now_ns();
        int fd = open(raw_path, oflags, 0600);
        SYS(fd, "create %s", raw_path);
        int e = posix_fallocate(fd, 0, (off_t)c->size);
        if (e != 0)
            die("posix_fallocate %s: %s", raw_path, strerror(e));
        void *m = NULL;
        if (method == RAW_MMAP) {
            m = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                     0);
            if (m == MAP_FAILED)
                die("mmap %s: %s", raw_path, strerror(errno));
        }
        t1 = now_ns();
        if (method == RAW_MMAP)
            memcpy(m, g_pattern, c->size);
        else
            pwrite_all(fd, g_pattern, c->size, 0, raw_path);
        t2 = now_ns();
        if (method == RAW_MMAP)
            SYS(msync(m, c->size, MS_SYNC), "msync %s", raw_path);
        else
            SYS(fsync(fd), "fsync %s", raw_path);
        t3 = now_ns();
        if (m)
            SYS(munmap(m, c->size), "munmap %s", raw_path);
        SYS(close(fd), "close %s", raw_path);
        SYS(unlink(raw_path), "unlink %s", raw_path);
        *close_ms = NAN;
    }
    ph[0] = (double)(t1 - t0) / 1e6;
    ph[1] = (double)(t2 - t1) / 1e6;
    ph[2] = (double)(t3 - t2) / 1e6;
    return t3 - t0;
}

static void bench_fill(const config *c)
{
    fprintf(stderr, "mms-bench: [3] create + fill + sync\n");
    int reps = c->fill_reps;
    double *gbps[NFILL], *ph[NFILL][3];
    double *close_ms = calloc((size_t)reps, sizeof(double));
    if (!close_ms)
        die("out of memory");
    for (int v = 0; v < NFILL; v++) {
        gbps[v] = calloc((size_t)reps, sizeof(double));
        if (!gbps[v])
            die("out of memory");
        for (int i = 0; i < 3; i++)
            if (!(ph[v][i] = calloc((size_t)reps, sizeof(double))))
                die("out of memory");
    }
    double gb = (double)c->size / 1e9;

    /* One untimed round first: the first files made after the pages of a
     * removed file are freed (or after memory went back to the host) pay
     * for fresh pages, and that must not fall on one method only. Then
     * the order follows order4(), so that no method always runs on the
     * pages its same predecessor just freed. */
    for (int rep = -1; rep < reps; rep++) {
        for (int j = 0; j < NFILL; j++) {
            int v = order4(rep, j);
            double p[3], cm;
            uint64_t ns = fill_once(c, v, p, &cm);
            if (rep < 0)
                continue;
            gbps[v][rep] = gb / ((double)ns / 1e9);
            for (int i = 0; i < 3; i++)
                ph[v][i][rep] = p[i];
            if (v == FILL_MAP)
                close_ms[rep] = cm;
        }
    }
    const char *raw_pw = "raw create + posix_fallocate + pwrite + fsync of "
                         "the same bytes";
    result *ra = add_result("3a", "create + memcpy via map + sync", raw_pw,
                            "GB/s", gbps[FILL_MAP], gbps[RAW_PWRITE], reps,
                            HIGHER_IS_BETTER, 0.8, 0, "new file each rep");
    result *rb = add_result("3b", "create + mms_array_write + sync", raw_pw,
                            "GB/s", gbps[FILL_WRITE], gbps[RAW_PWRITE], reps,
                            HIGHER_IS_BETTER, 0.8, 0, "new file each rep");
    add_result("3c", "create + memcpy via map + sync, vs raw map",
               "raw create + posix_fallocate + mmap + memcpy + msync(MS_SYNC)"
               " of the same bytes", "GB/s", gbps[FILL_MAP], gbps[RAW_MMAP],
               reps, INFORMATIONAL, 0, 0, "new file each rep");
    add_result("3d", "close after 3a's sync", NULL, "ms", close_ms, NULL,
               reps, INFORMATIONAL, 0, 0, "warm, just synced");

    /* Where the time goes: phase medians, printed under the table and
     * carried in the JSON of 3a and 3b. */
    stats st[NFILL][3];
    for (int v = 0; v < NFILL; v++)
        for (int i = 0; i < 3; i++)
            st[v][i] = stats_of(ph[v][i], reps);
    static const char *const keys[NFILL] = {"mms_map", "mms_write",
                                            "raw_pwrite", "raw_mmap"};
    result *rs[2] = {ra, rb};
    for (int k = 0; k < 2; k++) {
        size_t used = 0;
        used += (size_t)snprintf(rs[k]->extra, sizeof rs[k]->extra,
                                 ",\"phases_ms\":{");
        for (int v = 0; v < NFILL && used < sizeof rs[k]->extra; v++)
            used += (size_t)snprintf(rs[k]->extra + used,
                                     sizeof rs[k]->extra - used,
                                     "%s\"%s\":[%.1f,%.1f,%.1f]",
                                     v ? "," : "", keys[v],
                                     st[v][0].median, st[v][1].median,
                                     st[v][2].median);
        if (used < sizeof rs[k]->extra)
            snprintf(rs[k]->extra + used, sizeof rs[k]->extra - used, "}");
    }
    static const char *const label[NFILL] = {
        "3a mms create / memcpy via map / mms_array_sync",
        "3b mms create / mms_array_write / mms_array_sync",
        "raw open+fallocate / pwrite / fsync",
        "raw open+fallocate+mmap / memcpy / msync"};
    add_note("figure 3 phases (medians, ms)"
             "                        create     fill     sync\n");
    for (int v = 0; v < NFILL; v++)
        add_note("  %-50s %8.1f %8.1f %8.1f\n", label[v], st[v][0].median,
                 st[v][1].median, st[v][2].median);
    for (int v = 0; v < NFILL; v++) {
        free(gbps[v]);
        for (int i = 0; i < 3; i++)
            free(ph[v][i]);
    }
    free(close_ms);
}

/* ---- figure 4: sync_range of one 4 KiB row --------------------------- */

static uint64_t row_for(int i, int nops, uint64_t rows)
{
    /* Evenly spread over the array, so the big array's rows land in
     * different checksum blocks and far apart in the file. */
    return ((uint64_t)i * (rows / (uint64_t)nops)) % rows;
}

/* Bytes this process has dirtied in the page cache so far (Linux counts a
 * whole folio when one byte of it is dirtied): /proc/self/io write_bytes.
 * -1 if unavailable. */
static int64_t dirtied_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return -1;
    char line[128];
    int64_t v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "write_bytes:", 12) == 0)
            v = strtoll(line + 12, NULL, 10);
    fclose(f);
    return v;
}

/* A raw file allocated like an array's data file (posix_fallocate, data
 * at 4096), fsynced and mapped MAP_SHARED. */
typedef struct raw_map {
    char path[PATH_MAX];
    int fd;
    size_t len;
    uint8_t *map, *data;
} raw_map;

static void raw_map_open(raw_map *r, const char *leaf, uint64_t data_bytes)
{
    path_in_tmp(r->path, sizeof r->path, leaf);
    r->len = NPY_DATA_OFFSET + data_bytes;
    r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                 0600);
    SYS(r->fd, "create %s", r->path);
    int e = posix_fallocate(r->fd, 0, (off_t)r->len);
    if (e != 0)
        die("posix_fallocate %s: %s", r->path, strerror(e));
    SYS(fsync(r->fd), "fsync %s", r->path);
    r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (r->map == MAP_FAILED)
        die("mmap %s: %s", r->path, strerror(errno));
    r->data = r->map + NPY_DATA_OFFSET;
}

static void raw_map_close(raw_map *r)
{
    SYS(munmap(r->map, r->len), "munmap %s", r->path);
    SYS(close(r->fd), "close %s", r->path);
    SYS(unlink(r->path), "unlink %s", r->path);
}

/* Figure 4 syncs one row per checksum block of the 64 MiB array (at most
 * c->sync_ops rows), over as many timed passes as give c->sync_ops
 * samples or more. */
static void sync_plan(const config *c, uint64_t block, int *nrows,
                      int *passes)
{
    uint64_t n = SMALL_SYNC_BYTES / block;
    *nrows = n < 1 ? 1 : n > (uint64_t)c->sync_ops ? c->sync_ops : (int)n;
    *passes = (c->sync_ops + *nrows - 1) / *nrows;
}

enum { SR_SMALL, SR_BIG, SR_RAW, SR_RAW_READ, NSR };

static void bench_sync_range(const config *c)
{
    fprintf(stderr, "mms-bench: [4] sync_range of 4 KiB (creating a "
            "%.2f GiB array)\n", (double)c->big_sync / GIB);
    const uint64_t small_rows = SMALL_SYNC_BYTES / ROW_BYTES;
    const uint64_t big_rows = c->big_sync / ROW_BYTES;
    uint64_t shape_s[2] = {small_rows, ROW_BYTES};
    uint64_t shape_b[2] = {big_rows, ROW_BYTES};
    mms_array *as, *ab;
    MMS(mms_array_create(bench.store, "bench/sync-64m", MMS_UINT8, 2, shape_s, 0,
                         &as), "create bench/sync-64m");
    MMS(mms_array_create(bench.store, "bench/sync-big", MMS_UINT8, 2, shape_b, 0,
                         &ab), "create bench/sync-big");
    uint8_t *data[2] = {mms_array_data(as), mms_array_data(ab)};
    mms_array *arr[2] = {as, ab};
    const uint64_t rows[NSR] = {small_rows, big_rows, small_rows, small_rows};

    /* Baselines: one dirty 4 KiB page in a 4 KiB folio (the physical
     * minimum; set up below like the arrays' rows), and the same in a file
     * read whole first, whose pages sit in large folios. Each msync is
     * followed by a durable write to a small "commit" file, already
     * written and synced. */
    raw_map raw[2];
    raw_map_open(&raw[0], "raw-sync.bin", SMALL_SYNC_BYTES);
    raw_map_open(&raw[1], "raw-sync-read.bin", SMALL_SYNC_BYTES);
    char commit_path[PATH_MAX];
    path_in_tmp(commit_path, sizeof commit_path, "raw-commit.bin");
    int cfd = open(commit_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
                   O_NOFOLLOW, 0600);
    SYS(cfd, "create %s", commit_path);
    {
        uint8_t page[4096];
        memset(page, 0x5a, sizeof page);
        pwrite_all(cfd, page, sizeof page, 0, commit_path);
        SYS(fsync(cfd), "fsync %s", commit_path);
    }

    /* One row per checksum block, at the block's start, as many in both
     * arrays. The kernel writes back a whole folio when any byte of it is
     * dirty (figure 4d), and a page that was read (by readahead around a
     * fault, or by the hashing of a block) sits in a large folio: the
     * figure would compare folio sizes, not array sizes. So each row is
     * first written with pwrite (mms_array_write), before anything maps
     * or reads these files: a 4 KiB write to an uncached page makes a
     * 4 KiB folio, and readahead leaves cached pages alone. The "dirtied"
     * note below checks it. Samples come from several timed passes. */
    int nrows, passes;
    sync_plan(c, mms_store_block_size(bench.store), &nrows, &passes);
    int nops = nrows * passes;
    {
        uint8_t first[ROW_BYTES];
        memset(first, 0xa5, sizeof first);
        for (int i = 0; i < nrows; i++) {
            for (int v = 0; v < 2; v++) {
                uint64_t r = row_for(i, nrows, rows[v]);
                MMS(mms_array_write(arr[v], r * ROW_BYTES, first, ROW_BYTES),
                    "write row %llu of %s", (unsigned long long)r,
                    v == SR_SMALL ? "bench/sync-64m" : "bench/sync-big");
            }
            pwrite_all(raw[0].fd, first, ROW_BYTES, (off_t)(NPY_DATA_OFFSET +
                       row_for(i, nrows, rows[SR_RAW]) * ROW_BYTES),
                       raw[0].path);
        }
        /* The other raw file is read whole first, as after a bulk read. */
        volatile uint64_t sum = sum_u64((const uint64_t *)raw[1].data,
                                        SMALL_SYNC_BYTES / 8);
        (void)sum;
    }
    double *t[NSR], *dirtied[NSR];
    for (int v = 0; v < NSR; v++) {
        t[v] = calloc((size_t)nops, sizeof(double));
        dirtied[v] = calloc((size_t)nops, sizeof(double));
        if (!t[v] || !dirtied[v])
            die("out of memory");
    }

    /* Pass 0 (not timed) writes and syncs every row once, so that the
     * timed passes rewrite blocks that are already written on disk in all
     * files: no unwritten-extent conversion on either side. The four
     * files take turns in order4()'s balanced order. */
    for (int pass = 0; pass <= passes; pass++) {
        for (int i = 0; i < nrows; i++) {
            uint8_t val = (uint8_t)(1 + pass * 67 + i);
            for (int j = 0; j < NSR; j++) {
                int v = order4(i + pass, j);
                uint64_t r = row_for(i, nrows, rows[v]);
                uint8_t *row = (v < SR_RAW ? data[v]
                                           : raw[v - SR_RAW].data) +
                               r * ROW_BYTES;
                int64_t d0 = dirtied_bytes();
                memset(row, val, ROW_BYTES);
                int64_t d1 = dirtied_bytes();
                uint64_t t0 = now_ns();
                if (v < SR_RAW) {
                    MMS(mms_array_sync_range(arr[v], r, 1),
                        "sync_range %s row %llu",
                        v == SR_SMALL ? "bench/sync-64m" : "bench/sync-big",
                        (unsigned long long)r);
                } else {
                    const char *rp = raw[v - SR_RAW].path;
                    uint64_t stamp = (uint64_t)i + (uint64_t)pass * 1000;
                    SYS(msync(row, ROW_BYTES, MS_SYNC), "msync %s", rp);
                    pwrite_all(cfd, &stamp, sizeof stamp, 0, commit_path);
                    SYS(fdatasync(cfd), "fdatasync %s", commit_path);
                }
                uint64_t t1 = now_ns();
                if (pass == 0)
                    continue;
                int k = (pass - 1) * nrows + i;
                t[v][k] = (double)(t1 - t0) / 1e3;
                dirtied[v][k] = (d0 < 0 || d1 < 0) ? NAN
                                                   : (double)(d1 - d0) / KIB;
            }
        }
    }

    char big_size[32], big_label[96], cmp_label[96];
    format_size(big_size, sizeof big_size, c->big_sync);
    snprintf(big_label, sizeof big_label, "sync_range 4 KiB row, %s array",
             big_size);
    snprintf(cmp_label, sizeof cmp_label, "sync_range: %s vs 64 MiB array",
             big_size);
    const char *bw = "raw msync(MS_SYNC) of one dirty 4 KiB page (a 4 KiB "
                     "folio) + pwrite 8 B + fdatasync of a small file";
    result *rs[NSR];
    rs[SR_SMALL] = add_result("4a", "sync_range 4 KiB row, 64 MiB array",
                              bw, "us", t[SR_SMALL], t[SR_RAW], nops,
                              INFORMATIONAL, 0, 0, "warm, row rewritten");
    rs[SR_BIG] = add_result("4b", big_label, bw, "us", t[SR_BIG], t[SR_RAW],
                            nops, INFORMATIONAL, 0, 0,
                            "warm, row rewritten");
    add_result("4c", cmp_label, "4b's median / 4a's median (the small array "
               "is the baseline)", "us", t[SR_BIG], t[SR_SMALL], nops,
               LOWER_IS_BETTER, 1.25, 0, "as 4a/4b");
    rs[SR_RAW_READ] = add_result("4d", "  raw, file read first (large "
                                 "folios)", "the 4a/4b baseline (4 KiB "
                                 "folios)", "us",
                                 t[SR_RAW_READ], t[SR_RAW], nops,
                                 INFORMATIONAL, 0, 0, "warm, read first");
    rs[SR_RAW] = NULL;

    /* How much one 4 KiB row write dirtied (whole folios), per file. */
    stats dk[NSR];
    for (int v = 0; v < NSR; v++)
        dk[v] = stats_of(dirtied[v], nops);
    for (int v = 0; v < NSR; v++)
        if (rs[v])
            snprintf(rs[v]->extra, sizeof rs[v]->extra,
                     ",\"dirtied_kib_per_row\":%.0f,"
                     "\"baseline_dirtied_kib_per_row\":%.0f",
                     dk[v].median, dk[SR_RAW].median);
    add_note("figure 4: page cache dirtied by one 4 KiB row write "
             "(median KiB, /proc/self/io):\n"
             "  64 MiB array %.0f, %s array %.0f, raw %.0f, "
             "raw read first %.0f\n"
             "  (a partly dirty large folio is written back whole)\n",
             dk[SR_SMALL].median, big_size, dk[SR_BIG].median,
             dk[SR_RAW].median, dk[SR_RAW_READ].median);

    raw_map_close(&raw[0]);
    raw_map_close(&raw[1]);
    SYS(close(cfd), "close %s", commit_path);
    SYS(unlink(commit_path), "unlink %s", commit_path);
    fprintf(stderr, "mms-bench:       closing the arrays (a writable close "
            "syncs the whole array)\n");
    MMS(mms_array_close(as), "close bench/sync-64m");
    MMS(mms_array_close(ab), "close bench/sync-big");
    MMS(mms_remove(bench.store, "bench/sync-64m"), "remove bench/sync-64m");
    MMS(mms_remove(bench.store, "bench/sync-big"), "remove bench/sync-big");
    for (int v = 0; v < NSR; v++) {
        free(t[v]);
        free(dirtied[v]);
    }
}

/* ---- figure 5: verify ------------------------------------------------ */

/* The physical all-core baseline of verify: XXH3-64 of every 1 MiB block
 * of the RAM buffer, blocks handed out to one thread per CPU. */
static void bench_verify(const config *c)
{
    fprintf(stderr, "mms-bench: [5] verify\n");
    int reps = c->verify_reps;
    double *all = calloc((size_t)reps, sizeof(double));
    double *one = calloc((size_t)reps, sizeof(double));
    double *raw = calloc((size_t)reps, sizeof(double));
    double *rawn = calloc((size_t)reps, sizeof(double));
    double *rawp = calloc((size_t)reps, sizeof(double));
    if (!all || !one || !raw || !rawn || !rawp)
        die("out of memory");
    double gb = (double)c->size / 1e9;
    int first_cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &c->cpus)) {
            first_cpu = i;
            break;
        }
    if (first_cpu < 0)
        die("no CPU in this process's affinity mask");
    cpu_set_t just_one;
    CPU_ZERO(&just_one);
    CPU_SET(first_cpu, &just_one);
    volatile XXH64_hash_t sink = 0;

    for (int rep = 0; rep < reps; rep++) {
        for (int j = 0; j < 4; j++) {
            int which = order4(rep, j);
            uint64_t t0, t1;
            if (which == 3) {
                t0 = now_ns();
                sink = xxh3_all_cpus(g_pattern, c->size, c->ncpu);
                t1 = now_ns();
                rawp[rep] = gb / ((double)(t1 - t0) / 1e9);
            } else if (which == 0) {
                t0 = now_ns();
                MMS(mms_verify(bench.store, "bench/read", NULL, NULL),
                    "verify bench/read");
                t1 = now_ns();
                all[rep] = gb / ((double)(t1 - t0) / 1e9);
            } else if (which == 1) {
                set_process_affinity(&just_one);
                t0 = now_ns();
                int rc = mms_verify(bench.store, "bench/read", NULL, NULL);
                t1 = now_ns();
                set_process_affinity(&c->cpus);
                MMS(rc, "verify bench/read on one CPU");
                one[rep] = gb / ((double)(t1 - t0) / 1e9);
            } else {
                t0 = now_ns();
                sink = XXH3_64bits(g_pattern, c->size);
                t1 = now_ns();
                raw[rep] = gb / ((double)(t1 - t0) / 1e9);
                rawn[rep] = raw[rep] * c->ncpu;
            }
        }
    }
    (void)sink;
    char w[96];
    add_result("5a", "verify, all CPUs, vs 1 core", "raw XXH3_64bits over a "
               "RAM buffer of the same size, 1 thread", "GB/s", all, raw,
               reps, INFORMATIONAL, 0, 0, "warm (page cache)");
    snprintf(w, sizeof w, "verify, all CPUs, vs %d x 1 core", c->ncpu);
    add_result("5b", w, "CPUs x the raw XXH3 1-thread throughput", "GB/s",
               all, rawn, reps, HIGHER_IS_BETTER, 0.8, 0,
               "warm (page cache)");
    add_result("5c", "verify, all CPUs vs restricted to 1 CPU",
               "mms_verify with every thread pinned to one CPU "
               "(sched_setaffinity)", "GB/s", all, one, reps,
               HIGHER_IS_BETTER, 1.0, 0, "warm (page cache)");
    add_result("5d", "verify on 1 CPU vs 1 core", "raw XXH3_64bits, 1 "
               "thread, RAM buffer", "GB/s", one, raw, reps, INFORMATIONAL,
               0, 0, "warm (page cache)");
    snprintf(w, sizeof w, "verify, all CPUs, vs raw XXH3 on %d threads",
             c->ncpu);
    add_result("5e", w, "raw XXH3_64bits of each 1 MiB block of the RAM "
               "buffer, one thread per CPU", "GB/s", all, rawp, reps,
               INFORMATIONAL, 0, 0, "warm (page cache)");
    free(all); free(one); free(raw); free(rawn); free(rawp);
}

/* ---- main ------------------------------------------------------------ */

#define ALL_FIGURES 0x3ffeu     /* bits 1..13 */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mms-bench [--dir DIR] [--size-gib N] [--quick] [--json] "
        "[--only LIST]\n"
        "                 [--readers N] [--publishers N] [--seconds T]\n"
        "Measures libmmstore against the raw system-call baseline of the "
        "same work,\nboth in the same run, and prints medians, ratios and "
        "targets.\n"
        "Figures: 1 open, 2 read, 3 create+fill+sync, 4 sync_range, "
        "5 verify,\n6 locks, 7 atomics, 8 wait/wake, 9 publish, 10 "
        "atomics and locks with 1-8\nprocesses, 11 scaling with array "
        "size (64 MiB-4 GiB), 12 scaling of reads\nand opens with 1-8 "
        "processes, 13 the open latency tail with many readers.\n"
        "  --dir DIR      make the benchmark store under DIR (default "
        "$TMPDIR or /tmp)\n"
        "  --size-gib N   size of the \"1 GiB\" figures (default 1; "
        "fractions allowed);\n"
        "                 the large sync_range array is 4 x N GiB\n"
        "  --quick        fewer repetitions, 0.25 GiB (unless --size-gib "
        "is given),\n"
        "                 figure 11 up to 1 GiB\n"
        "  --json         one JSON object per figure instead of the table\n"
        "  --only LIST    run only these figures, e.g. 3 or 1,2,11\n"
        "  --readers N    figure 13: reader processes (default 64; "
        "--quick 16)\n"
        "  --publishers N figure 13: publisher processes (default 2)\n"
        "  --seconds T    figure 13: seconds per way, over two rounds "
        "(default 10;\n"
        "                 --quick 2)\n"
        "  --help         this text\n"
        "Everything it makes is removed at the end, on error and on "
        "SIGINT/SIGTERM.\n");
}

/* Parses --only: figure numbers 1..13 separated by commas. */
static int parse_figures(const char *list, unsigned *out)
{
    unsigned set = 0;
    const char *q = list;
    while (*q) {
        char *end;
        errno = 0;
        long f = strtol(q, &end, 10);
        if (errno || end == q || f < 1 || f > 13 || (*end && *end != ','))
            return -1;
        set |= 1u << f;
        q = *end ? end + 1 : end;
    }
    if (!set)
        return -1;
    *out = set;
    return 0;
}

int main(int argc, char **argv)
{
    config c;
    memset(&c, 0, sizeof c);
    c.dir = getenv("TMPDIR");
    if (!c.dir || !*c.dir)
        c.dir = "/tmp";
    c.size_gib = -1;
    c.figures = ALL_FIGURES;
    int tail_readers = -1, tail_publishers = -1;
    double tail_seconds = 0;

    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"size-gib", required_argument, NULL, 's'},
        {"quick", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},
        {"only", required_argument, NULL, 'o'},
        {"readers", required_argument, NULL, 'r'},
        {"publishers", required_argument, NULL, 'p'},
        {"seconds", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            c.dir = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            c.size_gib = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(c.size_gib > 0) ||
                c.size_gib > 64) {
                fprintf(stderr, "mms-bench: --size-gib: '%s' is not a size "
                        "in GiB between 0 and 64\n", optarg);
                return 2;
            }
            break;
        }
        case 'q':
            c.quick = 1;
            break;
        case 'j':
            c.json = 1;
            break;
        case 'o':
            if (parse_figures(optarg, &c.figures) != 0) {
                fprintf(stderr, "mms-bench: --only: '%s' is not a list of "
                        "figures 1..13 (e.g. 1,2,11)\n", optarg);
                return 2;
            }
            break;
        case 'r':
        case 'p':
        case 't': {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            int whole = ch != 't';
            if (errno || end == optarg || *end || !(v >= (ch == 'p' ? 0 : 1))
                || v > (ch == 't' ? 3600 : 1000) || (whole && v != (int)v)) {
                fprintf(stderr, "mms-bench: --%s: '%s' is out of range\n",
                        ch == 'r' ? "readers" : ch == 'p' ? "publishers"
                                                          : "seconds",
                        optarg);
                return 2;
            }
            if (ch == 'r')
                tail_readers = (int)v;
            else if (ch == 'p')
                tail_publishers = (int)v;
            else
                tail_seconds = v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (c.size_gib < 0)
        c.size_gib = c.quick ? 0.25 : 1.0;
    /* Whole MiB, at least 1 MiB (one checksum block). */
    c.size = (uint64_t)(c.size_gib * (double)GIB) / MIB * MIB;
    if (c.size < MIB)
        c.size = MIB;
    c.big_sync = 4 * c.size;
    if (c.big_sync < 2 * SMALL_SYNC_BYTES)
        c.big_sync = 2 * SMALL_SYNC_BYTES;
    if (c.quick) {
        c.open_reps = 7; c.open_batch = 100; c.rw_batch = 5;
        c.read_reps = 3; c.fill_reps = 4; c.sync_ops = 21;
        c.verify_reps = 3;
    } else {
        c.open_reps = 15; c.open_batch = 200; c.rw_batch = 10;
        c.read_reps = 7; c.fill_reps = 8; c.sync_ops = 101;
        c.verify_reps = 7;
    }
    if (sched_getaffinity(0, sizeof c.cpus, &c.cpus) != 0) {
        fprintf(stderr, "mms-bench: sched_getaffinity: %s\n",
                strerror(errno));
        return 1;
    }
    c.ncpu = CPU_COUNT(&c.cpus);
    bench.ncpu = c.ncpu;
    bench.json = c.json;

    /* Room: the read array (size) or one fill array at a time (size),
     * then figure 4's two arrays and its raw file; figure 11 holds one
     * array and one raw file of its largest size at a time. */
    struct statvfs vfs;
    if (statvfs(c.dir, &vfs) != 0) {
        fprintf(stderr, "mms-bench: %s: %s\n", c.dir, strerror(errno));
        return 1;
    }
    uint64_t need = c.big_sync + 3 * SMALL_SYNC_BYTES + 256 * MIB;
    if (2 * c.size + 256 * MIB > need)
        need = 2 * c.size + 256 * MIB;
    uint64_t scale_max = c.quick ? GIB : 4 * GIB;
    if ((c.figures & (1u << 11)) && 2 * scale_max + 256 * MIB > need)
        need = 2 * scale_max + 256 * MIB;
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < need) {
        fprintf(stderr, "mms-bench: %s has %.1f GiB free, the benchmark "
                "needs %.1f GiB: use --dir or a smaller --size-gib\n",
                c.dir, (double)avail / GIB, (double)need / GIB);
        return 1;
    }

    if (bench_setup(c.dir) != 0)
        return 1;
    uint64_t block = mms_store_block_size(bench.store);
    char load_start[96];
    machine_load(load_start, sizeof load_start);

    if (!c.json) {
        printf("mms-bench: libmmstore %s, %d CPUs, block size %llu KiB, "
               "\"1 GiB\" figures = %.3f GiB, large sync array = %.2f GiB\n",
               mms_version(), c.ncpu, (unsigned long long)(block / KIB),
               (double)c.size / GIB, (double)c.big_sync / GIB);
        int nrows, passes;
        sync_plan(&c, block, &nrows, &passes);
        printf("store under %s\n", c.dir);
        if (c.figures & 0x3eu)
            printf("core: medians of %d (open: %d batches of %d), %d "
               "(read), %d (fill), %d (sync_range: %d rows x %d passes), "
               "%d (verify) runs; GB = 1e9 bytes\n", c.open_reps,
               c.open_reps, c.open_batch, c.read_reps, c.fill_reps,
               nrows * passes, nrows, passes, c.verify_reps);
        printf("machine at start: %s\n", load_start);
        fflush(stdout);
    }

    if (c.figures & 0x3eu) {
        make_pattern(&c);
        if (c.figures & ((1u << 1) | (1u << 2) | (1u << 5))) {
            /* The array read by figures 1, 2 and 5: filled with the pwrite
             * path, closed (which syncs it), so its pages are in the page
             * cache. */
            progress("preparing a %.3f GiB array", (double)c.size / GIB);
            const uint64_t shape[1] = {c.size / 8};
            mms_array *a;
            MMS(mms_array_create(bench.store, "bench/read", MMS_UINT64, 1,
                                 shape, 0, &a), "create bench/read");
            MMS(mms_array_write(a, 0, g_pattern, c.size), "write bench/read");
            char read_path[PATH_MAX];
            snprintf(read_path, sizeof read_path, "%s", mms_array_path(a));
            MMS(mms_array_close(a), "close bench/read");

            if (c.figures & (1u << 1))
                bench_open(&c, read_path);
            if (c.figures & (1u << 2))
                bench_read(&c, read_path);
            if (c.figures & (1u << 5))
                bench_verify(&c);
            /* Verify ran before fill: this frees its disk space first. */
            MMS(mms_remove(bench.store, "bench/read"), "remove bench/read");
        }
        if (c.figures & (1u << 3))
            bench_fill(&c);
        if (c.figures & (1u << 4))
            bench_sync_range(&c);
        munmap((void *)g_pattern, c.size);
    }
    bench_coordination(c.quick, c.figures);
    if (c.figures & (1u << 11))
        bench_scaling_size(c.quick);
    if (c.figures & (1u << 12))
        bench_scaling_procs(c.quick);
    if (c.figures & (1u << 13))
        bench_open_tail(c.quick, tail_readers, tail_publishers,
                        tail_seconds);
    bench_teardown();

    sort_results();
    char load_end[96];
    machine_load(load_end, sizeof load_end);
    if (c.json)
        print_json(stdout, load_start, load_end);
    else {
        putchar('\n');
        print_table(stdout);
        printf("\nmachine at start: %s; at end: %s\n", load_start,
               load_end);
        printf("\npages: \"warm\" = the data file's pages were already in "
               "the page cache (nothing is\ndropped); \"new file\" = a file "
               "created in that repetition; RAM = an anonymous buffer.\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mms-bench: writing results: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
