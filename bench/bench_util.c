/*
 * bench_util.c - the shared parts of mms-bench (see bench.h): the run's
 * directory and its removal, errors, timing, pipes to workers, and the
 * table of results.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <xxhash.h>

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bench_state bench;

/* ---- the run's directory ------------------------------------------------ */

struct bench_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Removes the directory entry name (relative to dirfd) and, if it is a
 * directory, everything under it. Only async-signal-safe calls
 * (openat, getdents64, unlinkat, lseek, close), so the signal handler can
 * use it too. Symlinks are removed, never followed. */
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
        int removed = 0;
        for (long off = 0; off < n;) {
            struct bench_dirent64 *d = (struct bench_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            rm_tree_at(fd, d->d_name, depth + 1);
            removed = 1;
        }
        /* Entries were removed while reading: start over until empty. */
        if (!removed || lseek(fd, 0, SEEK_SET) < 0)
            break;
    }
    close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void cleanup(void)
{
    if (bench.have_tmpdir && getpid() == bench.owner) {
        rm_tree_at(AT_FDCWD, bench.tmpdir, 0);
        bench.have_tmpdir = 0;
    }
}

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGBUS,
                                      SIGSEGV};

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

int bench_setup(const char *dir)
{
    int n = snprintf(bench.tmpdir, sizeof bench.tmpdir, "%s/mms-bench.XXXXXX",
                     dir);
    if (n < 0 || (size_t)n >= sizeof bench.tmpdir) {
        fprintf(stderr, "mms-bench: --dir path too long\n");
        return 1;
    }
    bench.owner = getpid();
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0];
         i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(cleanup_signals[i], &sa, NULL);
    }
    if (!mkdtemp(bench.tmpdir)) {
        fprintf(stderr, "mms-bench: mkdtemp %s: %s\n", bench.tmpdir,
                strerror(errno));
        return 1;
    }
    bench.have_tmpdir = 1;
    path_in_tmp(bench.store_path, sizeof bench.store_path, "store");
    MMS(mms_store_open(bench.store_path, MMS_CREATE, &bench.store),
        "create store %s", bench.store_path);
    return 0;
}

void bench_teardown(void)
{
    if (bench.store)
        MMS(mms_store_close(bench.store), "close store");
    bench.store = NULL;
    cleanup();
}

void die(const char *fmt, ...)
{
    va_list ap;
    int worker = bench.owner && getpid() != bench.owner;
    fprintf(stderr, "mms-bench%s: ", worker ? " (worker)" : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (worker)
        _exit(1);   /* no atexit handlers, no stdio buffers of the parent */
    cleanup();
    exit(1);
}

void progress(const char *fmt, ...)
{
    va_list ap;
    fputs("mms-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- small helpers ------------------------------------------------------ */

uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

double *alloc_doubles(int n)
{
    double *v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
    if (!v)
        die("out of memory");
    return v;
}

void path_in_tmp(char *out, size_t size, const char *leaf)
{
    int n = snprintf(out, size, "%s/%s", bench.tmpdir, leaf);
    if (n < 0 || (size_t)n >= size)
        die("path too long: %s/%s", bench.tmpdir, leaf);
}

/* How busy the machine is: the 1-minute load average and the share of the
 * last 10 s in which some task waited for a CPU (/proc/pressure/cpu).
 * Other processes compete for the CPUs, and the medians are only as good
 * as this. */
void machine_load(char *out, size_t size)
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

void write_all_fd(int fd, const void *buf, size_t len)
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

size_t read_full(int fd, void *buf, size_t len)
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

void wait_workers(const pid_t *pids, int n)
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

void gate_start(gate *g)
{
    char b = 1;
    write_all_fd(g->ready_w, &b, 1);
    close(g->ready_w);
    if (read_full(g->go_r, &b, 1) != 0)
        die("worker: unexpected byte on the start pipe");
    close(g->go_r);
}

void gate_end(gate *g, uint64_t t0, uint64_t t1)
{
    const uint64_t sp[2] = {t0, t1};
    write_all_fd(g->res_w, sp, sizeof sp);
    close(g->res_w);
}

uint64_t run_gated(int nproc, gate_worker fn, void *ctx)
{
    int ready[2], go[2], res[2];
    if (nproc < 1 || nproc > BENCH_MAX_PROCS)
        die("run_gated: %d workers", nproc);
    SYS(pipe2(ready, O_CLOEXEC), "pipe");
    SYS(pipe2(go, O_CLOEXEC), "pipe");
    SYS(pipe2(res, O_CLOEXEC), "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pids[BENCH_MAX_PROCS];
    for (int i = 0; i < nproc; i++) {
        pid_t pid = fork();
        SYS(pid, "fork");
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            close(res[0]);
            gate g = {ready[1], go[0], res[1]};
            fn(i, ctx, &g);
            _exit(0);
        }
        pids[i] = pid;
    }
    close(ready[1]);
    close(go[0]);
    close(res[1]);
    char buf[BENCH_MAX_PROCS];
    size_t got = read_full(ready[0], buf, (size_t)nproc);
    close(go[1]); /* the start: every worker reads end of file */
    uint64_t sp[BENCH_MAX_PROCS][2];
    size_t want = (size_t)nproc * sizeof sp[0];
    size_t gotspans = got == (size_t)nproc ? read_full(res[0], sp, want) : 0;
    close(ready[0]);
    close(res[0]);
    wait_workers(pids, nproc);
    if (gotspans != want)
        die("only part of the workers reported");
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nproc; i++) {
        lo = sp[i][0] < lo ? sp[i][0] : lo;
        hi = sp[i][1] > hi ? sp[i][1] : hi;
    }
    return hi - lo;
}

/* The read kernel shared by mmstore and baseline passes: four independent
 * accumulators so the loop is bound by memory, not by the add chain. */
__attribute__((noinline)) uint64_t sum_u64(const uint64_t *p,
                                                  size_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}

void pwrite_all(int fd, const void *buf, size_t len, off_t off,
                       const char *path)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("pwrite %s: %s", path, strerror(errno));
        }
        if (n == 0)
            die("pwrite %s: wrote nothing", path);
        p += n;
        len -= (size_t)n;
        off += n;
    }
}

typedef struct xxh_job {
    const unsigned char *data;
    uint64_t nbytes, nblocks;
    uint64_t next;          /* next block, taken atomically */
    uint64_t acc;           /* xor of the hashes, so none is optimised out */
} xxh_job;

static void *xxh_worker(void *arg)
{
    xxh_job *job = arg;
    uint64_t acc = 0;
    for (;;) {
        uint64_t b = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (b >= job->nblocks)
            break;
        uint64_t off = b * MIB;
        size_t len = (size_t)(job->nbytes - off < MIB ? job->nbytes - off
                                                      : MIB);
        acc ^= XXH3_64bits(job->data + off, len);
    }
    __atomic_fetch_xor(&job->acc, acc, __ATOMIC_RELAXED);
    return NULL;
}

uint64_t xxh3_all_cpus(const void *data, uint64_t nbytes, int ncpu)
{
    xxh_job job = {data, nbytes, (nbytes + MIB - 1) / MIB, 0, 0};
    pthread_t tids[CPU_SETSIZE];
    int started = 0;
    for (int t = 1; t < ncpu; t++) {
        int e = pthread_create(&tids[started], NULL, xxh_worker, &job);
        if (e != 0)
            die("pthread_create: %s", strerror(e));
        started++;
    }
    xxh_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    return job.acc;
}

char *raw_open_map(const char *path, int *fd, size_t *len)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    SYS(*fd, "open %s", path);
    SYS(fstat(*fd, &st), "fstat %s", path);
    char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, *fd, 0);
    if (m == MAP_FAILED)
        die("mmap %s: %s", path, strerror(errno));
    *len = (size_t)st.st_size;
    return m;
}

void raw_close_map(char *map, int fd, size_t len, const char *path)
{
    SYS(munmap(map, len), "munmap %s", path);
    SYS(close(fd), "close %s", path);
}

/* A cyclic rotation would keep every method's predecessor the same (and
 * the predecessor matters: the pages a removed file frees are hot for
 * whoever allocates next), so the orders form a balanced Latin square:
 * over four repetitions each method runs once in each position and
 * follows each other method exactly once. */
int order4(int rep, int j)
{
    static const int square[4][4] = {
        {0, 1, 3, 2}, {1, 2, 0, 3}, {2, 3, 1, 0}, {3, 0, 2, 1}};
    return square[((rep % 4) + 4) % 4][j];
}

/* ---- results ------------------------------------------------------------ */

#define MAX_RESULTS 96
static result results[MAX_RESULTS];
static int nresults;
static char notes[8192];    /* printed under the table */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

stats stats_of(const double *v, int n)
{
    stats s = {NAN, NAN, NAN, v ? n : 0};
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

result *add_result(const char *id, const char *what, const char *base_what,
                   const char *unit, const double *mms, const double *base,
                   int n, enum kind kind, double ratio_target,
                   double abs_limit, const char *pages)
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
    r->base = stats_of(base, n);
    r->kind = kind;
    r->ratio_target = ratio_target;
    r->abs_limit = abs_limit;
    snprintf(r->pages, sizeof r->pages, "%s", pages ? pages : "-");
    if (kind == LOWER_IS_BETTER && abs_limit > 0)
        snprintf(r->target, sizeof r->target, "<%gx, <%g %s", ratio_target,
                 abs_limit, unit);
    else if (kind == LOWER_IS_BETTER)
        snprintf(r->target, sizeof r->target, "<=%gx", ratio_target);
    else if (kind == HIGHER_IS_BETTER && ratio_target == 1.0)
        snprintf(r->target, sizeof r->target, ">1x");
    else if (kind == HIGHER_IS_BETTER)
        snprintf(r->target, sizeof r->target, ">=%gx", ratio_target);
    else
        snprintf(r->target, sizeof r->target, "info");
    return r;
}

void add_note(const char *fmt, ...)
{
    size_t used = strlen(notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes + used, sizeof notes - used, fmt, ap);
    va_end(ap);
}

/* The figure number of an id ("10a1" -> 10). */
static int figure_of(const result *r)
{
    return atoi(r->id);
}

void sort_results(void)
{
    /* Insertion sort: stable, and there are fewer than 100. */
    for (int i = 1; i < nresults; i++) {
        result r = results[i];
        int j = i;
        for (; j > 0 && figure_of(&results[j - 1]) > figure_of(&r); j--)
            results[j] = results[j - 1];
        results[j] = r;
    }
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
        if (isnan(q))
            return 0;
        return q < r->ratio_target + 1e-12 &&
               (r->abs_limit <= 0 || r->mms.median < r->abs_limit);
    case HIGHER_IS_BETTER:
        if (isnan(q))
            return 0;
        /* ">1x" means strictly faster; ">=0.95x" includes equality. */
        return r->ratio_target == 1.0 ? q > 1.0
                                      : q >= r->ratio_target - 1e-12;
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

void print_table(FILE *f)
{
    int wwhat = (int)strlen("figure");
    for (int i = 0; i < nresults; i++) {
        int l = (int)strlen(results[i].what);
        if (l > wwhat)
            wwhat = l;
    }
    fprintf(f, "%-5s %-*s %13s %13s %7s %-14s %-4s %s\n", "id", wwhat,
            "figure", "mmstore", "baseline", "ratio", "target", "met",
            "pages");
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
        fprintf(f, "%-5s %-*s %13s %13s %7s %-14s %-4s %s\n", r->id, wwhat,
                r->what, a, b, q, r->target, met_text(met_of(r)), r->pages);
    }
    fprintf(f, "\nbaselines (measured in this run, interleaved with the "
               "mmstore runs):\n");
    for (int i = 0; i < nresults; i++)
        if (results[i].base.n &&
            strncmp(results[i].base_what, "the same", 8) != 0)
            fprintf(f, "  %-5s %s\n", results[i].id, results[i].base_what);
    if (notes[0])
        fprintf(f, "\n%s", notes);
}

static void json_number(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

void print_json(FILE *f, const char *load_start, const char *load_end)
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
        fprintf(f, ",\"target\":\"%s\",\"met\":%s,\"pages\":\"%s\","
                   "\"baseline_what\":\"%s\",\"reps\":%d,\"mmstore_min\":",
                r->target, met == 1 ? "true" : met == 0 ? "false" : "null",
                r->pages, r->base_what, r->mms.n);
        json_number(f, r->mms.min);
        fputs(",\"mmstore_max\":", f);
        json_number(f, r->mms.max);
        fputs(",\"baseline_min\":", f);
        json_number(f, r->base.n ? r->base.min : NAN);
        fputs(",\"baseline_max\":", f);
        json_number(f, r->base.n ? r->base.max : NAN);
        fprintf(f, "%s,\"cpus\":%d,\"version\":\"%s\","
                   "\"machine_start\":\"%s\",\"machine_end\":\"%s\"}\n",
                r->extra, bench.ncpu, mms_version(), load_start, load_end);
    }
}
