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
 * It uses only <mmstore.h>, libxxhash and libc. It writes only inside a
 * fresh directory under dir and removes it at the end, on error, and on
 * SIGINT/SIGTERM/SIGHUP (async-signal-safe removal, by the process that
 * made it only; forked workers never remove anything).
 */
#define _GNU_SOURCE
#include "bench_coord.h"

#include <mmstore.h>
#include <xxhash.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)
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
#define MAX_PROCS 8

static const char *const A_LOCK = "bench/lock";
static const char *const A_COUNTER = "bench/counter";
static const char *const A_PING = "bench/pingpong";
static const char *const A_PUB = "bench/publish";

/* ---- run state and cleanup ------------------------------------------ */

static struct {
    char tmpdir[PATH_MAX];   /* everything we make lives under it */
    int have_tmpdir;
    pid_t owner;             /* the process that made tmpdir */
    char store_path[PATH_MAX];
    char raw_counter[PATH_MAX];   /* figure 7/10 raw baseline file */
    char raw_ping[PATH_MAX];      /* figure 8 raw baseline file */
    char raw_flush[PATH_MAX];     /* figure 9 baseline file */
    mms_store *store;
    struct sigaction old_sa[5];
} g;

static const int cleanup_signals[5] = {SIGINT, SIGTERM, SIGHUP, SIGBUS,
                                       SIGSEGV};

struct coord_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Removes the entry name (relative to dirfd) and everything under it,
 * with async-signal-safe calls only; symlinks are removed, not followed. */
static void rm_tree_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return;
    if ((errno != EISDIR && errno != EPERM) || depth > 16)
        return;
    int fd = openat(dirfd, name,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    for (;;) {
        char buf[4096] __attribute__((aligned(8)));
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        int progress = 0;
        for (long off = 0; off < n;) {
            struct coord_dirent64 *d = (struct coord_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            rm_tree_at(fd, d->d_name, depth + 1);
            progress = 1;
        }
        if (!progress || lseek(fd, 0, SEEK_SET) < 0)
            break;
    }
    close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void cleanup(void)
{
    /* Forked workers share g: only the maker removes the directory. */
    if (g.have_tmpdir && getpid() == g.owner) {
        rm_tree_at(AT_FDCWD, g.tmpdir, 0);
        g.have_tmpdir = 0;
    }
}

static void on_signal(int sig)
{
    cleanup();
    /* Hand the signal to whatever was installed before us (mms-bench's
     * own cleanup when linked into it, else the default action). */
    for (int i = 0; i < 5; i++)
        if (cleanup_signals[i] == sig)
            sigaction(sig, &g.old_sa[i], NULL);
    raise(sig);
}

static void install_signal_cleanup(void)
{
    for (int i = 0; i < 5; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(cleanup_signals[i], &sa, &g.old_sa[i]);
    }
}

static void restore_signals(void)
{
    for (int i = 0; i < 5; i++)
        sigaction(cleanup_signals[i], &g.old_sa[i], NULL);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    int worker = getpid() != g.owner;
    fprintf(stderr, "mms-bench-coord%s: ", worker ? " (worker)" : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (worker)
        _exit(1);   /* no atexit handlers, no stdio buffers of the parent */
    cleanup();
    exit(1);
}

/* Checks an mmstore result code: on failure says what was being done, the
 * code's name and mms_errmsg(), removes our files and exits 1. */
#define MMS(call, ...)                                                       \
    do {                                                                     \
        int mms_rc_ = (call);                                                \
        if (mms_rc_ != MMS_OK) {                                             \
            char msg_[1024], what_[PATH_MAX + 256];                          \
            snprintf(msg_, sizeof msg_, "%s", mms_errmsg());                 \
            snprintf(what_, sizeof what_, __VA_ARGS__);                      \
            die("%s: %s (%d): %s", what_, mms_strerror(mms_rc_), mms_rc_,    \
                msg_);                                                       \
        }                                                                    \
    } while (0)

/* Checks a system call that returns -1 and sets errno. */
#define SYS(call, ...)                                                       \
    do {                                                                     \
        if ((call) == -1) {                                                  \
            int e_ = errno;                                                  \
            char what_[PATH_MAX + 256];                                      \
            snprintf(what_, sizeof what_, __VA_ARGS__);                      \
            die("%s: %s", what_, strerror(e_));                              \
        }                                                                    \
    } while (0)

/* ---- small helpers ---------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static double *alloc_doubles(int n)
{
    double *v = calloc((size_t)n, sizeof *v);
    if (!v)
        die("out of memory");
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median, min, max;
    int n;
} stats;

static stats stats_of(const double *v, int n)
{
    stats s = {NAN, NAN, NAN, n};
    if (n <= 0 || !v)
        return s;
    double *c = alloc_doubles(n);
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    s.median = (n % 2) ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2.0;
    s.min = c[0];
    s.max = c[n - 1];
    free(c);
    return s;
}

static void path_in_tmp(char *out, size_t size, const char *leaf)
{
    int n = snprintf(out, size, "%s/%s", g.tmpdir, leaf);
    if (n < 0 || (size_t)n >= size)
        die("path too long: %s/%s", g.tmpdir, leaf);
}

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

static void machine_load(char *out, size_t size)
{
    double load = -1, some = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1;
        fclose(f);
    }
    f = fopen("/proc/pressure/cpu", "r");
    if (f) {
        if (fscanf(f, "some avg10=%lf", &some) != 1)
            some = -1;
        fclose(f);
    }
    snprintf(out, size, "load average %.2f, CPU pressure %.0f%%", load,
             some);
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

/* ---- results ---------------------------------------------------------- */

enum kind {
    LOWER_IS_BETTER,   /* latencies: met when ratio <= target */
    HIGHER_IS_BETTER,  /* throughputs: met when ratio >= target */
    INFORMATIONAL      /* no target */
};

typedef struct result {
    char id[8];
    char what[96];
    char base_what[128];
    const char *unit;       /* "us", "ms", "M/s", "k/s" */
    stats mms, base;        /* base.n == 0: no baseline */
    enum kind kind;
    double ratio_target;
    char target[16];
} result;

#define MAX_RESULTS 40
static result results[MAX_RESULTS];
static int nresults;
static char g_notes[4096];  /* printed under the table */

static void add_result(const char *id, const char *what,
                       const char *base_what, const char *unit,
                       const double *mms, const double *base, int n,
                       enum kind kind, double ratio_target)
{
    if (nresults >= MAX_RESULTS)
        die("too many results");
    result *r = &results[nresults++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->what, sizeof r->what, "%s", what);
    snprintf(r->base_what, sizeof r->base_what, "%s",
             base_what ? base_what : "-");
    r->unit = unit;
    r->mms = stats_of(mms, n);
    r->base = stats_of(base, base ? n : 0);
    r->kind = kind;
    r->ratio_target = ratio_target;
    if (kind == LOWER_IS_BETTER)
        snprintf(r->target, sizeof r->target, "<=%gx", ratio_target);
    else if (kind == HIGHER_IS_BETTER)
        snprintf(r->target, sizeof r->target, ">=%gx", ratio_target);
    else
        snprintf(r->target, sizeof r->target, "info");
}

static void add_note(const char *fmt, ...) __attribute__((format(printf, 1,
                                                                  2)));
static void add_note(const char *fmt, ...)
{
    size_t used = strlen(g_notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_notes + used, sizeof g_notes - used, fmt, ap);
    va_end(ap);
}

static double ratio_of(const result *r)
{
    if (r->base.n == 0 || !(r->base.median > 0))
        return NAN;
    return r->mms.median / r->base.median;
}

/* 1 met, 0 missed, -1 no target. */
static int met_of(const result *r)
{
    double q = ratio_of(r);
    switch (r->kind) {
    case LOWER_IS_BETTER:
        return !isnan(q) && q <= r->ratio_target + 1e-12;
    case HIGHER_IS_BETTER:
        return !isnan(q) && q >= r->ratio_target - 1e-12;
    case INFORMATIONAL:
        break;
    }
    return -1;
}

static void format_value(char *out, size_t size, double v, const char *unit)
{
    if (isnan(v))
        snprintf(out, size, "-");
    else if (v >= 100)
        snprintf(out, size, "%.0f %s", v, unit);
    else if (v >= 10)
        snprintf(out, size, "%.1f %s", v, unit);
    else
        snprintf(out, size, "%.2f %s", v, unit);
}

static const char *met_text(int met)
{
    return met == 1 ? "yes" : met == 0 ? "NO" : "-";
}

static void print_table(FILE *f)
{
    int wwhat = (int)strlen("figure");
    for (int i = 0; i < nresults; i++) {
        int l = (int)strlen(results[i].what);
        if (l > wwhat)
            wwhat = l;
    }
    fprintf(f, "%-5s %-*s %13s %13s %8s %-8s %s\n", "id", wwhat, "figure",
            "mmstore", "baseline", "ratio", "target", "met");
    for (int i = 0; i < nresults; i++) {
        const result *r = &results[i];
        char a[32], b[32], q[16];
        format_value(a, sizeof a, r->mms.median, r->unit);
        format_value(b, sizeof b, r->base.n ? r->base.median : NAN, r->unit);
        double x = ratio_of(r);
        if (isnan(x))
            snprintf(q, sizeof q, "-");
        else
            snprintf(q, sizeof q, "%.2fx", x);
        fprintf(f, "%-5s %-*s %13s %13s %8s %-8s %s\n", r->id, wwhat,
                r->what, a, b, q, r->target, met_text(met_of(r)));
    }
    fprintf(f, "\nbaselines (measured in this run, interleaved with the "
               "mmstore runs):\n");
    for (int i = 0; i < nresults; i++)
        if (results[i].base.n)
            fprintf(f, "  %-5s %s\n", results[i].id, results[i].base_what);
    if (g_notes[0])
        fprintf(f, "\n%s", g_notes);
}

static void json_number(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

static void print_json(FILE *f, const char *load_start, const char *load_end,
                       long ncpu)
{
    for (int i = 0; i < nresults; i++) {
        const result *r = &results[i];
        int met = met_of(r);
        fprintf(f, "{\"figure\":\"%s\",\"what\":\"%s\",\"unit\":\"%s\","
                   "\"mmstore\":", r->id, r->what, r->unit);
        json_number(f, r->mms.median);
        fputs(",\"baseline\":", f);
        json_number(f, r->base.n ? r->base.median : NAN);
        fputs(",\"ratio\":", f);
        json_number(f, ratio_of(r));
        fprintf(f, ",\"target\":\"%s\",\"met\":%s,\"baseline_what\":\"%s\","
                   "\"reps\":%d,\"mmstore_min\":", r->target,
                met == 1 ? "true" : met == 0 ? "false" : "null",
                r->base_what, r->mms.n);
        json_number(f, r->mms.min);
        fputs(",\"mmstore_max\":", f);
        json_number(f, r->mms.max);
        fputs(",\"baseline_min\":", f);
        json_number(f, r->base.n ? r->base.min : NAN);
        fputs(",\"baseline_max\":", f);
        json_number(f, r->base.n ? r->base.max : NAN);
        fprintf(f, ",\"cpus\":%ld,\"version\":\"%s\",\"machine_start\":\"%s\","
                   "\"machine_end\":\"%s\"}\n", ncpu, mms_version(),
                load_start, load_end);
    }
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
        MMS(mms_lock_named(g.store, NAMED_KEY, MMS_LOCK_EXCLUSIVE, 0, &l),
            "named lock %s", NAMED_KEY);
        MMS(mms_unlock(l), "unlock named lock %s", NAMED_KEY);
    }
    return (double)(now_ns() - t0) / batch / 1e3;
}

static void bench_locks(const config *c)
{
    fprintf(stderr, "mms-bench-coord: [6] range and named locks\n");
    const uint64_t shape[1] = {LOCK_ROWS};
    mms_array *a;
    MMS(mms_array_create(g.store, A_LOCK, MMS_UINT8, 1, shape, 0, &a),
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
               reps, LOWER_IS_BETTER, 1.5);
    add_result("6a2", "range lock + unlock, 1,000 other ranges held",
               "the same raw pair with the same 1,000 ranges held",
               "us", mh, rh, reps, INFORMATIONAL, 0);
    add_result("6b", "named lock + unlock (exclusive, try)",
               "raw F_OFD_SETLK F_WRLCK + F_UNLCK of one byte of STORE/LOCK",
               "us", mn, rn, reps, INFORMATIONAL, 0);
    free(m); free(r); free(mh); free(rh); free(mn); free(rn);
    SYS(close(fd), "close %s", data_path);
    SYS(close(lfd), "close %s", lock_path);
    MMS(mms_array_close(a), "close %s", A_LOCK);
    MMS(mms_remove(g.store, A_LOCK), "remove %s", A_LOCK);
}

/* ---- workers: figures 7 and 10 ----------------------------------------- */

enum job { JOB_ATOMIC_ADD, JOB_LOCKED_INC };

typedef struct span {
    uint64_t t0, t1;
} span;

static void write_all_fd(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("writing to a pipe: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

/* Reads up to len bytes; fewer only at end of file. */
static size_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("reading from a pipe: %s", strerror(errno));
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* A worker process: opens its own handles, says it is ready, waits for the
 * start (end of file on go_r), runs ops operations, reports its span. */
static void __attribute__((noreturn))
worker_main(enum job job, int raw, uint64_t ops, int ready_w, int go_r,
            int res_w)
{
    mms_store *s = NULL;
    mms_array *a = NULL;
    int fd = -1;
    unsigned char *data;
    if (raw) {
        data = map_raw_file(g.raw_counter, &fd);
    } else {
        MMS(mms_store_open(g.store_path, 0, &s), "worker: open store %s",
            g.store_path);
        MMS(mms_array_open(s, A_COUNTER, MMS_RDWR, &a), "worker: open %s",
            A_COUNTER);
        data = mms_array_data(a);
    }
    int64_t *ctr = (int64_t *)data;
    char b = 1;
    write_all_fd(ready_w, &b, 1);
    close(ready_w);
    if (read_full(go_r, &b, 1) != 0)
        die("worker: unexpected byte on the start pipe");
    close(go_r);

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
    uint64_t t1 = now_ns();
    span sp = {t0, t1};
    write_all_fd(res_w, &sp, sizeof sp);
    close(res_w);
    if (raw) {
        unmap_raw_file(data, fd);
    } else {
        MMS(mms_array_close(a), "worker: close %s", A_COUNTER);
        MMS(mms_store_close(s), "worker: close store");
    }
    _exit(0);
}

static void wait_workers(const pid_t *pids, int n)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int st;
        while (waitpid(pids[i], &st, 0) < 0)
            if (errno != EINTR)
                die("waitpid: %s", strerror(errno));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    if (failed)
        die("a worker process failed (see above)");
}

/* Runs nproc workers of one job on one counter (reset to 0 first, checked
 * after); returns all operations per second, from the first worker's
 * start to the last one's end. */
static double run_workers(enum job job, int raw, int nproc, uint64_t ops,
                          int64_t *mms_ctr_data, int64_t *raw_ctr)
{
    int64_t *ctr = raw ? raw_ctr : mms_ctr_data;
    __atomic_store_n(ctr, 0, __ATOMIC_SEQ_CST);
    int ready[2], go[2], res[2];
    SYS(pipe2(ready, O_CLOEXEC), "pipe");
    SYS(pipe2(go, O_CLOEXEC), "pipe");
    SYS(pipe2(res, O_CLOEXEC), "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pids[MAX_PROCS];
    for (int i = 0; i < nproc; i++) {
        pid_t pid = fork();
        SYS(pid, "fork");
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            close(res[0]);
            worker_main(job, raw, ops, ready[1], go[0], res[1]);
        }
        pids[i] = pid;
    }
    close(ready[1]);
    close(go[0]);
    close(res[1]);
    char buf[MAX_PROCS];
    size_t got = read_full(ready[0], buf, (size_t)nproc);
    close(go[1]);   /* the start: every worker reads end of file */
    span sp[MAX_PROCS];
    size_t gotspans = got == (size_t)nproc
                          ? read_full(res[0], sp, nproc * sizeof *sp)
                          : 0;
    close(ready[0]);
    close(res[0]);
    wait_workers(pids, nproc);
    if (gotspans != nproc * sizeof *sp)
        die("only part of the workers reported");
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nproc; i++) {
        if (sp[i].t0 < lo)
            lo = sp[i].t0;
        if (sp[i].t1 > hi)
            hi = sp[i].t1;
    }
    int64_t want = (int64_t)(ops * (uint64_t)nproc);
    int64_t have = __atomic_load_n(ctr, __ATOMIC_SEQ_CST);
    if (have != want)
        die("%s %s with %d processes: counter is %lld, expected %lld "
            "(lost updates)", raw ? "raw" : "mmstore",
            job == JOB_ATOMIC_ADD ? "atomic adds" : "locked increments",
            nproc, (long long)have, (long long)want);
    return (double)want / ((double)(hi - lo) / 1e9);
}

/* ---- figure 7: atomics from two processes ------------------------------ */

static void bench_atomics(const config *c, int64_t *mms_ctr, int64_t *raw_ctr)
{
    fprintf(stderr, "mms-bench-coord: [7] atomic add from two processes\n");
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
               HIGHER_IS_BETTER, 0.9);
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
        MMS(mms_store_open(g.store_path, 0, &s), "worker: open store %s",
            g.store_path);
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
    fprintf(stderr, "mms-bench-coord: [8] wait/wake ping-pong\n");
    const uint64_t shape[1] = {RAW_DATA_BYTES / 4};
    mms_array *a;
    MMS(mms_array_create(g.store, A_PING, MMS_UINT32, 1, shape, 0, &a),
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
               1.5);
    free(m);
    free(r);
    unmap_raw_file((unsigned char *)w, fd);
    MMS(mms_array_close(a), "close %s", A_PING);
    MMS(mms_remove(g.store, A_PING), "remove %s", A_PING);
}

/* ---- figure 9: publish of a 1 MiB version ------------------------------ */

static void publish_once(double v, double *t_create, double *t_fill,
                         double *t_publish, double *t_close)
{
    const uint64_t shape[1] = {PUB_BYTES / 8};
    mms_array *a;
    uint64_t t0 = now_ns();
    MMS(mms_array_create(g.store, A_PUB, MMS_FLOAT64, 1, shape, MMS_STAGED,
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
    fprintf(stderr, "mms-bench-coord: [9] publish of a 1 MiB version\n");
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
    MMS(mms_stat(g.store, A_PUB, &info), "stat %s", A_PUB);
    if (info.generation != (uint64_t)reps + 1)
        die("%s: generation %llu after %d publishes, expected %llu", A_PUB,
            (unsigned long long)info.generation, reps + 1,
            (unsigned long long)reps + 1);
    const char *one = "one pwrite of 4 KiB + fdatasync (the first half of "
                      "9a's baseline)";
    add_result("9a", "publish 1 MiB: create STAGED + fill + publish + close",
               "2 x (pwrite of 4 KiB + fdatasync) on an allocated file",
               "ms", tot, base2, reps, INFORMATIONAL, 0);
    add_result("9b", " step: mms_array_create(MMS_STAGED)", one, "ms", cr,
               base1, reps, INFORMATIONAL, 0);
    add_result("9c", " step: fill 1 MiB through the mapping", NULL, "ms",
               fi, NULL, reps, INFORMATIONAL, 0);
    add_result("9d", " step: mms_array_publish", one, "ms", pu, base1, reps,
               INFORMATIONAL, 0);
    add_result("9e", " step: mms_array_close after publish", one, "ms", cl,
               base1, reps, INFORMATIONAL, 0);
    add_result("9f", " (raw XXH3-64 of 1 MiB in RAM, for scale)", NULL, "ms",
               hash, NULL, reps, INFORMATIONAL, 0);
    add_note("9: ratios of the steps are in units of one pwrite+fdatasync "
             "(one device flush); xxh3 sink %llx\n",
             (unsigned long long)(sink & 0xf));
    free(tot); free(base2); free(cr); free(fi); free(pu); free(cl);
    free(base1); free(hash); free(ram);
    SYS(close(fd), "close %s", g.raw_flush);
    SYS(unlink(g.raw_flush), "unlink %s", g.raw_flush);
    MMS(mms_remove(g.store, A_PUB), "remove %s", A_PUB);
}

/* ---- figure 10: scaling with the number of processes ------------------- */

static void bench_scaling(const config *c, int64_t *mms_ctr, int64_t *raw_ctr)
{
    fprintf(stderr, "mms-bench-coord: [10] scaling with 1, 2, 4, 8 "
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
                           "M/s", m, r, reps, INFORMATIONAL, 0);
            } else {
                snprintf(what, sizeof what, "locked increment, %d "
                         "process%s (total)", np, np > 1 ? "es" : "");
                add_result(id, what, k == 0 ? "raw F_OFD_SETLKW + "
                           "increment + F_UNLCK on a shared file mapping, "
                           "same process count" : "the same raw locks",
                           "k/s", m, r, reps, INFORMATIONAL, 0);
            }
        }
    }
    free(m);
    free(r);
}

/* ---- entry point ------------------------------------------------------ */

int mms_bench_coord(const char *dir, int quick, int json)
{
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
    nresults = 0;
    g_notes[0] = '\0';
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    int n = snprintf(g.tmpdir, sizeof g.tmpdir, "%s/mms-bench-coord.XXXXXX",
                     dir);
    if (n < 0 || (size_t)n >= sizeof g.tmpdir) {
        fprintf(stderr, "mms-bench-coord: directory path too long\n");
        return 1;
    }
    g.owner = getpid();
    install_signal_cleanup();
    if (!mkdtemp(g.tmpdir)) {
        fprintf(stderr, "mms-bench-coord: mkdtemp %s: %s\n", g.tmpdir,
                strerror(errno));
        restore_signals();
        return 1;
    }
    g.have_tmpdir = 1;
    path_in_tmp(g.store_path, sizeof g.store_path, "store");
    path_in_tmp(g.raw_counter, sizeof g.raw_counter, "raw-counter");
    path_in_tmp(g.raw_ping, sizeof g.raw_ping, "raw-pingpong");
    path_in_tmp(g.raw_flush, sizeof g.raw_flush, "raw-flush");
    MMS(mms_store_open(g.store_path, MMS_CREATE, &g.store),
        "create store %s", g.store_path);
    make_raw_file(g.raw_counter);
    make_raw_file(g.raw_ping);

    char load_start[96];
    machine_load(load_start, sizeof load_start);
    if (!json) {
        printf("mms-bench-coord: libmmstore %s, %ld CPUs, store under %s; "
               "medians of %d (locks: batches of %d, %d with 1,000 held), "
               "%d (atomics, %llu adds per process), %d (ping-pong, %d "
               "round trips), %d (publish), %d (scaling) runs\n",
               mms_version(), ncpu, dir, c.lock_reps, c.lock_batch,
               c.held_batch, c.atomic_reps,
               (unsigned long long)c.atomic_ops, c.ping_reps, c.ping_trips,
               c.pub_reps, c.scale_reps);
        printf("machine at start: %s\n", load_start);
        fflush(stdout);
    }

    bench_locks(&c);

    /* The counter of figures 7 and 10: element 0 of an int64 array, and
     * its raw twin at the same offset of a plain file. */
    const uint64_t cshape[1] = {RAW_DATA_BYTES / 8};
    mms_array *counter;
    MMS(mms_array_create(g.store, A_COUNTER, MMS_INT64, 1, cshape, 0,
                         &counter), "create %s", A_COUNTER);
    int raw_fd;
    int64_t *raw_ctr = (int64_t *)map_raw_file(g.raw_counter, &raw_fd);
    int64_t *mms_ctr = mms_array_data(counter);
    bench_atomics(&c, mms_ctr, raw_ctr);
    bench_pingpong(&c);
    bench_publish(&c);
    bench_scaling(&c, mms_ctr, raw_ctr);
    unmap_raw_file((unsigned char *)raw_ctr, raw_fd);
    MMS(mms_array_close(counter), "close %s", A_COUNTER);

    MMS(mms_store_close(g.store), "close store");
    g.store = NULL;
    cleanup();
    restore_signals();

    char load_end[96];
    machine_load(load_end, sizeof load_end);
    if (json) {
        print_json(stdout, load_start, load_end, ncpu);
    } else {
        putchar('\n');
        print_table(stdout);
        printf("\nmachine at start: %s; at end: %s\n", load_start,
               load_end);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mms-bench-coord: writing results: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}
