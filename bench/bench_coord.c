/*
 * bench_coord.c - the coordination figures of issue 3 ("Performance"),
 * each measured beside its raw baseline in the same run, interleaved (the
 * order alternates every repetition), as medians of several repetitions:
 *
 *  6  range lock + unlock (uncontended; then with 1,000 other ranges held
 *     on the same file) vs a raw F_OFD_SETLK lock/unlock pair on the same
 *     data file; named lock + unlock vs the same pair on STORE/LOCK
 *  7  mms_atomic_add_i64 on one counter from two processes vs a raw
 *     __atomic_fetch_add on a MAP_SHARED file mapping from two processes
 *  8  wait/wake ping-pong between two processes (mms_wait_u32/mms_wake on
 *     two elements) vs a raw shared futex ping-pong on a file mapping
 *  9  publish of a 1 MiB version (create MMS_STAGED + fill + publish +
 *     close), step by step, vs two fsync'd small writes
 * 10  atomic adds and lock-protected increments with 1, 2, 4 and 8
 *     processes
 *
 * Every worker process opens its own store and array handles (or its own
 * descriptor and mapping for the raw baselines) before a start barrier
 * and reports its own start and end times; the throughput of a run is all
 * operations over the span from the first start to the last end. The
 * counters are checked after every run: a lost update fails the benchmark.
 *
 * Part of mms-bench (bench.h): it works in the run's store and directory.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <xxhash.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEADER_BYTES 4096u        /* docs/format.md: data at byte 4096 */
#define RAW_DATA_BYTES 8192u      /* raw counter / ping-pong files' data */
#define LOCK_ROWS 65536u          /* rows of the range-lock array (uint8) */
#define HELD_RANGES 1000
#define LOCK_ROW 4000u            /* the row locked in figure 6a: past
                                     every held range (rows 0, 2, ..) */
#define NAMED_KEY "bench/named"
#define NAMED_RAW_BYTE 12345      /* figure 6b's raw lock byte on LOCK */
#define PUB_BYTES MIB             /* figure 9: a 1 MiB version */
#define WAIT_MS 10000             /* a worker that stops answering */

static const char *const A_LOCK = "bench/lock";
static const char *const A_COUNTER = "bench/counter";
static const char *const A_PING = "bench/pingpong";
static const char *const A_PUB = "bench/publish";

/* The raw baselines' files, beside the store in the run's directory. */
static struct {
    char raw_counter[PATH_MAX];   /* figure 7/10 raw baseline file */
    char raw_ping[PATH_MAX];      /* figure 8 raw baseline file */
    char raw_flush[PATH_MAX];     /* figure 9 baseline file */
} g;

/* ---- small helpers ---------------------------------------------------- */

/* A file of HEADER_BYTES + RAW_DATA_BYTES allocated bytes, zero-filled:
 * the raw twin of a small array's data file (data at the same offset). */
static void make_raw_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    SYS(fd, "create %s", path);
    int e = posix_fallocate(fd, 0, HEADER_BYTES + RAW_DATA_BYTES);
    if (e != 0)
        die("posix_fallocate %s: %s", path, strerror(e));
    SYS(fsync(fd), "fsync %s", path);
    SYS(close(fd), "close %s", path);
}

/* Maps a raw file made by make_raw_file; *fd_out keeps its descriptor. */
static unsigned char *map_raw_file(const char *path, int *fd_out)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    SYS(fd, "open %s", path);
    void *m = mmap(NULL, HEADER_BYTES + RAW_DATA_BYTES,
                   PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        die("mmap %s: %s", path, strerror(errno));
    *fd_out = fd;
    return (unsigned char *)m + HEADER_BYTES;
}

static void unmap_raw_file(unsigned char *data, int fd)
{
    munmap(data - HEADER_BYTES, HEADER_BYTES + RAW_DATA_BYTES);
    close(fd);
}

/* Raw OFD lock calls: 0 or an errno. */
static int ofd_lock(int fd, short type, off_t start, off_t len, int wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                       .l_start = start, .l_len = len};
    while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

static long futex_call(uint32_t *addr, int op, uint32_t val,
                       const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

/* Sleeps while *w == expected: the raw shared futex (no
 * FUTEX_PRIVATE_FLAG, so it is keyed by the file page). */
static void raw_wait(uint32_t *w, uint32_t expected)
{
    while (__atomic_load_n(w, __ATOMIC_SEQ_CST) == expected) {
        struct timespec to = {WAIT_MS / 1000, 0};
        if (futex_call(w, FUTEX_WAIT, expected, &to) != 0 &&
            errno != EAGAIN && errno != EINTR)
            die("futex wait: %s (the other side stopped answering?)",
                strerror(errno));
    }
}

static void raw_wake(uint32_t *w)
{
    if (futex_call(w, FUTEX_WAKE, 1, NULL) < 0)
        die("futex wake: %s", strerror(errno));
}

/* ---- configuration ---------------------------------------------------- */

typedef struct config {
    int quick;
    int lock_reps, lock_batch, held_batch;
    int atomic_reps;
    uint64_t atomic_ops;        /* per process, figure 7 */
    int ping_reps, ping_trips;
    int pub_reps;
    int scale_reps;
    uint64_t scale_atomic_ops;  /* in total, split between processes */
    uint64_t scale_locked_ops;  /* in total */
} config;

/* ---- figure 6: range and named locks ---------------------------------- */

static double time_mms_range_locks(mms_array *a, int batch)
{
    uint64_t t0 = now_ns();
    for (int k = 0; k < batch; k++) {
        mms_lock *l;
        MMS(mms_lock_range(a, LOCK_ROW, 1, MMS_LOCK_EXCLUSIVE, 0, &l),
            "lock row %u of %s", LOCK_ROW, A_LOCK);
        MMS(mms_unlock(l), "unlock row %u of %s", LOCK_ROW, A_LOCK);
    }
    return (double)(now_ns() - t0) / batch / 1e3;
}

static double time_raw_locks(int fd, off_t byte, int batch, const char *path)
{
    uint64_t t0 = now_ns();
    for (int k = 0; k < batch; k++) {
        int e = ofd_lock(fd, F_WRLCK, byte, 1, 0);
        if (e == 0)
            e = ofd_lock(fd, F_UNLCK, byte, 1, 0);
        if (e != 0)
            die("raw F_OFD_SETLK on %s: %s", path, strerror(e));
    }
    return (double)(now_ns() - t0) / batch / 1e3;
}

static double time_mms_named_locks(int batch)
{
    uint64_t t0 = now_ns();
    for (int k = 0; k < batch; k++) {
        mms_lock *l;
        MMS(mms_lock_named(bench.store, NAMED_KEY, MMS_LOCK_EXCLUSIVE, 0, &l),
            "named lock %s", NAMED_KEY);
        MMS(mms_unlock(l), "unlock named lock %s", NAMED_KEY);
    }
    return (double)(now_ns() - t0) / batch / 1e3;
}

static void bench_locks(const config *c)
{
    fprintf(stderr, "mms-bench: [6] range and named locks\n");
    const uint64_t shape[1] = {LOCK_ROWS};
    mms_array *a;
    MMS(mms_array_create(bench.store, A_LOCK, MMS_UINT8, 1, shape, 0, &a),
        "create %s", A_LOCK);
    char data_path[PATH_MAX];
    snprintf(data_path, sizeof data_path, "%s", mms_array_path(a));
    /* The raw baseline's own open file description on the same file. */
    int fd = open(data_path, O_RDWR | O_CLOEXEC);
    SYS(fd, "open %s", data_path);
    char lock_path[PATH_MAX];
    path_in_tmp(lock_path, sizeof lock_path, "store/LOCK");
    int lfd = open(lock_path, O_RDWR | O_CLOEXEC);
    SYS(lfd, "open %s", lock_path);
    const off_t row_byte = (off_t)(HEADER_BYTES + LOCK_ROW);

    int reps = c->lock_reps;
    double *m = alloc_doubles(reps), *r = alloc_doubles(reps);
    double *mh = alloc_doubles(reps), *rh = alloc_doubles(reps);
    double *mn = alloc_doubles(reps), *rn = alloc_doubles(reps);

    /* One untimed round: the descriptor pool, caches, page tables. */
    time_mms_range_locks(a, 100);
    time_raw_locks(fd, row_byte, 100, data_path);
    time_mms_named_locks(100);
    time_raw_locks(lfd, NAMED_RAW_BYTE, 100, lock_path);

    for (int rep = 0; rep < reps; rep++) {
        if (rep % 2 == 0) {
            m[rep] = time_mms_range_locks(a, c->lock_batch);
            r[rep] = time_raw_locks(fd, row_byte, c->lock_batch, data_path);
            mn[rep] = time_mms_named_locks(c->lock_batch);
            rn[rep] = time_raw_locks(lfd, NAMED_RAW_BYTE, c->lock_batch,
                                     lock_path);
        } else {
            r[rep] = time_raw_locks(fd, row_byte, c->lock_batch, data_path);
            m[rep] = time_mms_range_locks(a, c->lock_batch);
            rn[rep] = time_raw_locks(lfd, NAMED_RAW_BYTE, c->lock_batch,
                                     lock_path);
            mn[rep] = time_mms_named_locks(c->lock_batch);
        }
    }

    /* 1,000 other ranges held by another open file description (another
     * owner for the kernel) on the same file: rows 0, 2, .., 1998, so they
     * never merge. Every lock call then walks them. */
    int hfd = open(data_path, O_RDWR | O_CLOEXEC);
    SYS(hfd, "open %s", data_path);
    for (int i = 0; i < HELD_RANGES; i++) {
        int e = ofd_lock(hfd, F_WRLCK, (off_t)(HEADER_BYTES + 2 * i), 1, 0);
        if (e != 0)
            die("holding range %d of %s: %s", i, data_path, strerror(e));
    }
    time_mms_range_locks(a, 20);
    for (int rep = 0; rep < reps; rep++) {
        if (rep % 2 == 0) {
            mh[rep] = time_mms_range_locks(a, c->held_batch);
            rh[rep] = time_raw_locks(fd, row_byte, c->held_batch, data_path);
        } else {
            rh[rep] = time_raw_locks(fd, row_byte, c->held_batch, data_path);
            mh[rep] = time_mms_range_locks(a, c->held_batch);
        }
    }
    SYS(close(hfd), "close %s", data_path);   /* drops the 1,000 ranges */

    add_result("6a", "range lock + unlock, uncontended (exclusive, try)",
               "raw F_OFD_SETLK F_WRLCK + F_UNLCK of the same byte of the "
               "same data file (own open file description)", "us", m, r,
               reps, LOWER_IS_BETTER, 1.5, 0, NULL);
    add_result("6a2", "range lock + unlock, 1,000 other ranges held",
               "the same raw pair with the same 1,000 ranges held",
               "us", mh, rh, reps, INFORMATIONAL, 0, 0, NULL);
    add_result("6b", "named lock + unlock (exclusive, try)",
               "raw F_OFD_SETLK F_WRLCK + F_UNLCK of one byte of STORE/LOCK",
               "us", mn, rn, reps, INFORMATIONAL, 0, 0, NULL);
    free(m); free(r); free(mh); free(rh); free(mn); free(rn);
    SYS(close(fd), "close %s", data_path);
    SYS(close(lfd), "close %s", lock_path);
    MMS(mms_array_close(a), "close %s", A_LOCK);
    MMS(mms_remove(bench.store, A_LOCK), "remove %s", A_LOCK);
}

/* ---- workers: figures 7 and 10 ----------------------------------------- */

enum job { JOB_ATOMIC_ADD, JOB_LOCKED_INC };

typedef struct counter_job {
    enum job job;
    int raw;
    uint64_t ops;
} counter_job;

/* A worker process (run_gated): opens its own handles, waits at the start
 * line, runs ops operations, reports its span. */
static void counter_worker(int w, void *ctx, gate *start)
{
    const counter_job *cj = ctx;
    enum job job = cj->job;
    int raw = cj->raw;
    uint64_t ops = cj->ops;
    (void)w;
    mms_store *s = NULL;
    mms_array *a = NULL;
    int fd = -1;
    unsigned char *data;
    if (raw) {
        data = map_raw_file(g.raw_counter, &fd);
    } else {
        MMS(mms_store_open(bench.store_path, 0, &s), "worker: open store %s",
            bench.store_path);
        MMS(mms_array_open(s, A_COUNTER, MMS_RDWR, &a), "worker: open %s",
            A_COUNTER);
        data = mms_array_data(a);
    }
    int64_t *ctr = (int64_t *)data;
    gate_start(start);

    uint64_t t0 = now_ns();
    if (job == JOB_ATOMIC_ADD && raw) {
        for (uint64_t i = 0; i < ops; i++)
            __atomic_fetch_add(ctr, 1, __ATOMIC_SEQ_CST);
    } else if (job == JOB_ATOMIC_ADD) {
        for (uint64_t i = 0; i < ops; i++)
            if (mms_atomic_add_i64(a, 0, 1, NULL) != MMS_OK)
                die("worker: mms_atomic_add_i64: %s", mms_errmsg());
    } else if (raw) {
        for (uint64_t i = 0; i < ops; i++) {
            int e = ofd_lock(fd, F_WRLCK, HEADER_BYTES, 1, 1);
            if (e != 0)
                die("worker: raw F_OFD_SETLKW: %s", strerror(e));
            *(volatile int64_t *)ctr += 1;
            if ((e = ofd_lock(fd, F_UNLCK, HEADER_BYTES, 1, 0)) != 0)
                die("worker: raw unlock: %s", strerror(e));
        }
    } else {
        for (uint64_t i = 0; i < ops; i++) {
            mms_lock *l;
            /* -1: F_OFD_SETLKW, like the raw loop (a timeout would poll) */
            MMS(mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, -1, &l),
                "worker: lock row 0 of %s", A_COUNTER);
            *(volatile int64_t *)ctr += 1;
            MMS(mms_unlock(l), "worker: unlock row 0 of %s", A_COUNTER);
        }
    }
    gate_end(start, t0, now_ns());
    if (raw) {
        unmap_raw_file(data, fd);
    } else {
        MMS(mms_array_close(a), "worker: close %s", A_COUNTER);
        MMS(mms_store_close(s), "worker: close store");
    }
}

/* Runs nproc workers of one job on one counter (reset to 0 first, checked
 * after); returns all operations per second, from the first worker's
 * start to the last one's end. */
static double run_workers(enum job job, int raw, int nproc, uint64_t ops,
                          int64_t *mms_ctr_data, int64_t *raw_ctr)
{
    int64_t *ctr = raw ? raw_ctr : mms_ctr_data;
    __atomic_store_n(ctr, 0, __ATOMIC_SEQ_CST);
    counter_job cj = {job, raw, ops};
    uint64_t ns = run_gated(nproc, counter_worker, &cj);
    int64_t want = (int64_t)(ops * (uint64_t)nproc);
    int64_t have = __atomic_load_n(ctr, __ATOMIC_SEQ_CST);
    if (have != want)
        die("%s %s with %d processes: counter is %lld, expected %lld "
            "(lost updates)", raw ? "raw" : "mmstore",
            job == JOB_ATOMIC_ADD ? "atomic adds" : "locked increments",
            nproc, (long long)have, (long long)want);
    return (double)want / ((double)ns / 1e9);
}

/* ---- figure 7: atomics from two processes ------------------------------ */

static void bench_atomics(const config *c, int64_t *mms_ctr, int64_t *raw_ctr)
{
    fprintf(stderr, "mms-bench: [7] atomic add from two processes\n");
    int reps = c->atomic_reps;
    double *m = alloc_doubles(reps), *r = alloc_doubles(reps);
    run_workers(JOB_ATOMIC_ADD, 0, 2, c->atomic_ops / 10, mms_ctr, raw_ctr);
    run_workers(JOB_ATOMIC_ADD, 1, 2, c->atomic_ops / 10, mms_ctr, raw_ctr);
    for (int rep = 0; rep < reps; rep++) {
        int first = rep % 2;
        for (int j = 0; j < 2; j++) {
            int raw = j ^ first;
            double v = run_workers(JOB_ATOMIC_ADD, raw, 2, c->atomic_ops,
                                   mms_ctr, raw_ctr) / 1e6;
            (raw ? r : m)[rep] = v;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "mms_atomic_add_i64, 2 processes, 1 counter "
             "(total)");
    add_result("7", what, "raw __atomic_fetch_add (seq_cst) on a MAP_SHARED "
               "file mapping, 2 processes, 1 counter", "M/s", m, r, reps,
               HIGHER_IS_BETTER, 0.9, 0, NULL);
    free(m);
    free(r);
}

/* ---- figure 8: wait/wake ping-pong ------------------------------------ */

/* The answering side: waits for element 0 to become i, sets element 1 to
 * i and wakes it, for i = 1..trips. */
static void __attribute__((noreturn))
pong_main(int raw, int trips, int ready_w)
{
    mms_store *s = NULL;
    mms_array *a = NULL;
    int fd = -1;
    uint32_t *w = NULL;
    if (raw) {
        w = (uint32_t *)map_raw_file(g.raw_ping, &fd);
    } else {
        MMS(mms_store_open(bench.store_path, 0, &s), "worker: open store %s",
            bench.store_path);
        MMS(mms_array_open(s, A_PING, MMS_RDWR, &a), "worker: open %s",
            A_PING);
    }
    char b = 1;
    write_all_fd(ready_w, &b, 1);
    close(ready_w);
    for (uint32_t i = 1; i <= (uint32_t)trips; i++) {
        if (raw) {
            raw_wait(&w[0], i - 1);
            __atomic_store_n(&w[1], i, __ATOMIC_SEQ_CST);
            raw_wake(&w[1]);
        } else {
            MMS(mms_wait_u32(a, 0, i - 1, WAIT_MS), "worker: wait %u", i);
            MMS(mms_atomic_store_i32(a, 1, (int32_t)i), "worker: store");
            MMS(mms_wake(a, 1, 1), "worker: wake");
        }
    }
    if (raw) {
        unmap_raw_file((unsigned char *)w, fd);
    } else {
        MMS(mms_array_close(a), "worker: close %s", A_PING);
        MMS(mms_store_close(s), "worker: close store");
    }
    _exit(0);
}

/* One ping-pong run; returns the round-trip time in µs. */
static double run_pingpong(int raw, int trips, mms_array *a, uint32_t *w)
{
    if (raw) {
        __atomic_store_n(&w[0], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&w[1], 0, __ATOMIC_SEQ_CST);
    } else {
        MMS(mms_atomic_store_i32(a, 0, 0), "reset %s", A_PING);
        MMS(mms_atomic_store_i32(a, 1, 0), "reset %s", A_PING);
    }
    int ready[2];
    SYS(pipe2(ready, O_CLOEXEC), "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    SYS(pid, "fork");
    if (pid == 0) {
        close(ready[0]);
        pong_main(raw, trips, ready[1]);
    }
    close(ready[1]);
    char b;
    size_t got = read_full(ready[0], &b, 1);
    close(ready[0]);
    if (got != 1) {
        wait_workers(&pid, 1);
        die("the ping-pong worker did not start");
    }
    uint64_t t0 = now_ns();
    for (uint32_t i = 1; i <= (uint32_t)trips; i++) {
        if (raw) {
            __atomic_store_n(&w[0], i, __ATOMIC_SEQ_CST);
            raw_wake(&w[0]);
            raw_wait(&w[1], i - 1);
        } else {
            MMS(mms_atomic_store_i32(a, 0, (int32_t)i), "store");
            MMS(mms_wake(a, 0, 1), "wake");
            MMS(mms_wait_u32(a, 1, i - 1, WAIT_MS), "wait for answer %u", i);
        }
    }
    uint64_t t1 = now_ns();
    wait_workers(&pid, 1);
    return (double)(t1 - t0) / trips / 1e3;
}

static void bench_pingpong(const config *c)
{
    fprintf(stderr, "mms-bench: [8] wait/wake ping-pong\n");
    const uint64_t shape[1] = {RAW_DATA_BYTES / 4};
    mms_array *a;
    MMS(mms_array_create(bench.store, A_PING, MMS_UINT32, 1, shape, 0, &a),
        "create %s", A_PING);
    int fd;
    uint32_t *w = (uint32_t *)map_raw_file(g.raw_ping, &fd);
    int reps = c->ping_reps;
    double *m = alloc_doubles(reps), *r = alloc_doubles(reps);
    run_pingpong(0, c->ping_trips / 10, a, w);
    run_pingpong(1, c->ping_trips / 10, a, w);
    for (int rep = 0; rep < reps; rep++) {
        int first = rep % 2;
        for (int j = 0; j < 2; j++) {
            int raw = j ^ first;
            (raw ? r : m)[rep] = run_pingpong(raw, c->ping_trips, a, w);
        }
    }
    add_result("8", "wait/wake ping-pong, 2 processes, round trip",
               "raw FUTEX_WAIT/FUTEX_WAKE (shared) ping-pong on a "
               "MAP_SHARED file mapping", "us", m, r, reps, LOWER_IS_BETTER,
               1.5, 0, NULL);
    free(m);
    free(r);
    unmap_raw_file((unsigned char *)w, fd);
    MMS(mms_array_close(a), "close %s", A_PING);
    MMS(mms_remove(bench.store, A_PING), "remove %s", A_PING);
}

/* ---- figure 9: publish of a 1 MiB version ------------------------------ */

static void publish_once(double v, double *t_create, double *t_fill,
                         double *t_publish, double *t_close)
{
    const uint64_t shape[1] = {PUB_BYTES / 8};
    mms_array *a;
    uint64_t t0 = now_ns();
    MMS(mms_array_create(bench.store, A_PUB, MMS_FLOAT64, 1, shape, MMS_STAGED,
                         &a), "create %s staged", A_PUB);
    uint64_t t1 = now_ns();
    double *d = mms_array_data(a);
    for (size_t i = 0; i < PUB_BYTES / 8; i++)
        d[i] = v;
    uint64_t t2 = now_ns();
    MMS(mms_array_publish(a), "publish %s", A_PUB);
    uint64_t t3 = now_ns();
    MMS(mms_array_close(a), "close %s", A_PUB);
    uint64_t t4 = now_ns();
    if (t_create) {
        *t_create = (double)(t1 - t0) / 1e6;
        *t_fill = (double)(t2 - t1) / 1e6;
        *t_publish = (double)(t3 - t2) / 1e6;
        *t_close = (double)(t4 - t3) / 1e6;
    }
}

static void bench_publish(const config *c)
{
    fprintf(stderr, "mms-bench: [9] publish of a 1 MiB version\n");
    int fd = open(g.raw_flush, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    SYS(fd, "create %s", g.raw_flush);
    static unsigned char block[4096] __attribute__((aligned(4096)));
    unsigned char *ram = malloc(PUB_BYTES);
    if (!ram)
        die("out of memory");
    for (size_t i = 0; i < PUB_BYTES; i++)
        ram[i] = (unsigned char)(i * 131u + (i >> 12));
    /* Allocate the baseline's two blocks once: the measured writes then
     * overwrite allocated blocks, as a catalog commit mostly does. */
    for (int i = 0; i < 2; i++)
        if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != 4096)
            die("pwrite %s: %s", g.raw_flush, strerror(errno));
    SYS(fsync(fd), "fsync %s", g.raw_flush);

    /* Generation 1, untimed: every timed publish replaces a version. */
    publish_once(0.0, NULL, NULL, NULL, NULL);

    int reps = c->pub_reps;
    double *tot = alloc_doubles(reps), *base2 = alloc_doubles(reps);
    double *cr = alloc_doubles(reps), *fi = alloc_doubles(reps);
    double *pu = alloc_doubles(reps), *cl = alloc_doubles(reps);
    double *base1 = alloc_doubles(reps), *hash = alloc_doubles(reps);
    uint64_t sink = 0;
    for (int rep = 0; rep < reps; rep++) {
        uint64_t t0, t1, t2;
        int mms_first = rep % 2 == 0;
        if (mms_first) {
            publish_once(rep + 1.0, &cr[rep], &fi[rep], &pu[rep], &cl[rep]);
            tot[rep] = cr[rep] + fi[rep] + pu[rep] + cl[rep];
        }
        block[0] = (unsigned char)rep;
        t0 = now_ns();
        if (pwrite(fd, block, sizeof block, 0) != 4096)
            die("pwrite %s: %s", g.raw_flush, strerror(errno));
        SYS(fdatasync(fd), "fdatasync %s", g.raw_flush);
        t1 = now_ns();
        if (pwrite(fd, block, sizeof block, 4096) != 4096)
            die("pwrite %s: %s", g.raw_flush, strerror(errno));
        SYS(fdatasync(fd), "fdatasync %s", g.raw_flush);
        t2 = now_ns();
        base2[rep] = (double)(t2 - t0) / 1e6;
        base1[rep] = (double)(t1 - t0) / 1e6;
        if (!mms_first) {
            publish_once(rep + 1.0, &cr[rep], &fi[rep], &pu[rep], &cl[rep]);
            tot[rep] = cr[rep] + fi[rep] + pu[rep] + cl[rep];
        }
        ram[0] = (unsigned char)rep;
        t0 = now_ns();
        sink += XXH3_64bits(ram, PUB_BYTES);
        hash[rep] = (double)(now_ns() - t0) / 1e6;
    }
    /* Every publish bumped the generation by one (a check, not a time). */
    mms_info info;
    MMS(mms_stat(bench.store, A_PUB, &info), "stat %s", A_PUB);
    if (info.generation != (uint64_t)reps + 1)
        die("%s: generation %llu after %d publishes, expected %llu", A_PUB,
            (unsigned long long)info.generation, reps + 1,
            (unsigned long long)reps + 1);
    const char *one = "one pwrite of 4 KiB + fdatasync (the first half of "
                      "9a's baseline)";
    add_result("9a", "publish 1 MiB: create STAGED + fill + publish + close",
               "2 x (pwrite of 4 KiB + fdatasync) on an allocated file",
               "ms", tot, base2, reps, INFORMATIONAL, 0, 0, NULL);
    add_result("9b", " step: mms_array_create(MMS_STAGED)", one, "ms", cr,
               base1, reps, INFORMATIONAL, 0, 0, NULL);
    add_result("9c", " step: fill 1 MiB through the mapping", NULL, "ms",
               fi, NULL, reps, INFORMATIONAL, 0, 0, NULL);
    add_result("9d", " step: mms_array_publish", one, "ms", pu, base1, reps,
               INFORMATIONAL, 0, 0, NULL);
    add_result("9e", " step: mms_array_close after publish", one, "ms", cl,
               base1, reps, INFORMATIONAL, 0, 0, NULL);
    add_result("9f", " (raw XXH3-64 of 1 MiB in RAM, for scale)", NULL, "ms",
               hash, NULL, reps, INFORMATIONAL, 0, 0, NULL);
    add_note("9: ratios of the steps are in units of one pwrite+fdatasync "
             "(one device flush); xxh3 sink %llx\n",
             (unsigned long long)(sink & 0xf));
    free(tot); free(base2); free(cr); free(fi); free(pu); free(cl);
    free(base1); free(hash); free(ram);
    SYS(close(fd), "close %s", g.raw_flush);
    SYS(unlink(g.raw_flush), "unlink %s", g.raw_flush);
    MMS(mms_remove(bench.store, A_PUB), "remove %s", A_PUB);
}

/* ---- figure 10: scaling with the number of processes ------------------- */

static void bench_scaling(const config *c, int64_t *mms_ctr, int64_t *raw_ctr)
{
    fprintf(stderr, "mms-bench: [10] scaling with 1, 2, 4, 8 "
                    "processes\n");
    static const int counts[4] = {1, 2, 4, 8};
    int reps = c->scale_reps;
    double *m = alloc_doubles(reps), *r = alloc_doubles(reps);
    for (int job = 0; job < 2; job++) {
        uint64_t total = job == JOB_ATOMIC_ADD ? c->scale_atomic_ops
                                               : c->scale_locked_ops;
        for (int k = 0; k < 4; k++) {
            int np = counts[k];
            uint64_t ops = total / (uint64_t)np;
            for (int rep = 0; rep < reps; rep++) {
                int first = rep % 2;
                for (int j = 0; j < 2; j++) {
                    int raw = j ^ first;
                    double v = run_workers((enum job)job, raw, np, ops,
                                           mms_ctr, raw_ctr);
                    (raw ? r : m)[rep] =
                        job == JOB_ATOMIC_ADD ? v / 1e6 : v / 1e3;
                }
            }
            char id[8], what[96];
            snprintf(id, sizeof id, "10%c%d", job == JOB_ATOMIC_ADD ? 'a'
                                                                    : 'b',
                     np);
            if (job == JOB_ATOMIC_ADD) {
                snprintf(what, sizeof what, "atomic add, %d process%s, "
                         "1 counter (total)", np, np > 1 ? "es" : "");
                add_result(id, what, k == 0 ? "raw __atomic_fetch_add on "
                           "a shared file mapping, same process count"
                                            : "the same raw adds",
                           "M/s", m, r, reps, INFORMATIONAL, 0, 0, NULL);
            } else {
                snprintf(what, sizeof what, "locked increment, %d "
                         "process%s (total)", np, np > 1 ? "es" : "");
                add_result(id, what, k == 0 ? "raw F_OFD_SETLKW + "
                           "increment + F_UNLCK on a shared file mapping, "
                           "same process count" : "the same raw locks",
                           "k/s", m, r, reps, INFORMATIONAL, 0, 0, NULL);
            }
        }
    }
    free(m);
    free(r);
}

/* ---- entry point ------------------------------------------------------ */

void bench_coordination(int quick, unsigned figures)
{
    if (!(figures & 0x7c0u))    /* figures 6..10 */
        return;
    config c;
    memset(&c, 0, sizeof c);
    c.quick = quick;
    if (quick) {
        c.lock_reps = 7; c.lock_batch = 2000; c.held_batch = 500;
        c.atomic_reps = 5; c.atomic_ops = 2000000;
        c.ping_reps = 5; c.ping_trips = 5000;
        c.pub_reps = 11;
        c.scale_reps = 3; c.scale_atomic_ops = 4000000;
        c.scale_locked_ops = 4000;
    } else {
        c.lock_reps = 15; c.lock_batch = 10000; c.held_batch = 2000;
        c.atomic_reps = 9; c.atomic_ops = 5000000;
        c.ping_reps = 9; c.ping_trips = 20000;
        c.pub_reps = 31;
        c.scale_reps = 5; c.scale_atomic_ops = 8000000;
        c.scale_locked_ops = 16000;
    }
    path_in_tmp(g.raw_counter, sizeof g.raw_counter, "raw-counter");
    path_in_tmp(g.raw_ping, sizeof g.raw_ping, "raw-pingpong");
    path_in_tmp(g.raw_flush, sizeof g.raw_flush, "raw-flush");
    make_raw_file(g.raw_counter);
    make_raw_file(g.raw_ping);
    if (!bench.json) {
        printf("coordination: medians of %d (locks: batches of %d, %d with "
               "1,000 held), %d (atomics, %llu adds per process), %d "
               "(ping-pong, %d round trips), %d (publish), %d (process "
               "scaling) runs\n", c.lock_reps, c.lock_batch, c.held_batch,
               c.atomic_reps, (unsigned long long)c.atomic_ops, c.ping_reps,
               c.ping_trips, c.pub_reps, c.scale_reps);
        fflush(stdout);
    }

    if (figures & (1u << 6))
        bench_locks(&c);

    /* The counter of figures 7 and 10: element 0 of an int64 array, and
     * its raw twin at the same offset of a plain file. */
    const uint64_t cshape[1] = {RAW_DATA_BYTES / 8};
    mms_array *counter;
    MMS(mms_array_create(bench.store, A_COUNTER, MMS_INT64, 1, cshape, 0,
                         &counter), "create %s", A_COUNTER);
    int raw_fd;
    int64_t *raw_ctr = (int64_t *)map_raw_file(g.raw_counter, &raw_fd);
    int64_t *mms_ctr = mms_array_data(counter);
    if (figures & (1u << 7))
        bench_atomics(&c, mms_ctr, raw_ctr);
    if (figures & (1u << 8))
        bench_pingpong(&c);
    if (figures & (1u << 9))
        bench_publish(&c);
    if (figures & (1u << 10))
        bench_scaling(&c, mms_ctr, raw_ctr);
    unmap_raw_file((unsigned char *)raw_ctr, raw_fd);
    MMS(mms_array_close(counter), "close %s", A_COUNTER);
    MMS(mms_remove(bench.store, A_COUNTER), "remove %s", A_COUNTER);
    SYS(unlink(g.raw_counter), "unlink %s", g.raw_counter);
    SYS(unlink(g.raw_ping), "unlink %s", g.raw_ping);
}
