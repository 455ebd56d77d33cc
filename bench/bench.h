/*
 * bench.h - what the parts of bench/mms-bench share: the run's temporary
 * directory and store, error exits, timing, medians, and the table of
 * results (each figure beside its baseline, with ratio and target).
 *
 * mms-bench is one program in several files: mms-bench.c (options, the
 * core figures 1-5), bench_coord.c (coordination, figures 6-10) and
 * bench_scale.c (scaling with array size and process count, figures 11
 * and 12) and bench_tail.c (the open latency tail with many readers,
 * figure 13). It uses only <mmstore.h>, libxxhash and libc.
 */
#ifndef MMS_BENCH_H
#define MMS_BENCH_H

#include <mmstore.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define NPY_DATA_OFFSET 4096u   /* docs/format.md: data starts at byte 4096 */
#define BENCH_MAX_PROCS 8       /* the most worker processes of a figure */

/* The run: everything it makes lives under tmpdir, removed at the end, on
 * error and on SIGINT/SIGTERM/SIGHUP (by the process that made it only:
 * forked workers never remove anything). */
typedef struct bench_state {
    char tmpdir[PATH_MAX];
    int have_tmpdir;
    pid_t owner;                /* the process that made tmpdir */
    char store_path[PATH_MAX];  /* tmpdir/store */
    mms_store *store;           /* the owner's handle on it */
    int ncpu;                   /* CPUs this process may run on */
    int json;                   /* --json: progress only, no table */
} bench_state;

extern bench_state bench;

/* Makes tmpdir under dir and the store in it, installs the signal
 * cleanup. Returns 0, or 1 after saying why on stderr. */
int bench_setup(const char *dir);
/* Closes the store and removes tmpdir (the owner only). */
void bench_teardown(void);

/* Prints "mms-bench: ...", removes tmpdir and exits 1; in a forked worker,
 * says so and leaves with _exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                              noreturn));

/* Checks an mmstore result code: on failure prints what was being done,
 * the code's name and mms_errmsg(), and dies. */
#define MMS(call, ...)                                                       \
    do {                                                                     \
        int mms_rc_ = (call);                                                \
        if (mms_rc_ != MMS_OK) {                                             \
            /* mms_errmsg() lasts only until the next mmstore call */       \
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

/* Progress on stderr ("mms-bench: [N] what"), so stdout is only results. */
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(void);                 /* CLOCK_MONOTONIC */
double *alloc_doubles(int n);          /* zeroed; dies when out of memory */
void path_in_tmp(char *out, size_t size, const char *leaf);
/* The load average and CPU pressure: how far to trust the medians. */
void machine_load(char *out, size_t size);

/* Pipes between the benchmark and its workers. */
void write_all_fd(int fd, const void *buf, size_t len);
size_t read_full(int fd, void *buf, size_t len);  /* short only at EOF */
/* Waits for n workers; dies if any of them failed. */
void wait_workers(const pid_t *pids, int n);
/* Worker processes that start together (figures 7, 10, 12). run_gated
 * forks nproc (<= BENCH_MAX_PROCS) workers, each running fn(i, ctx, g):
 * it opens its own handles, calls gate_start (which returns when every
 * worker is ready), does its work between two now_ns() readings, reports
 * them with gate_end and _exits. run_gated returns the nanoseconds from
 * the first worker's start to the last one's end; it dies if a worker
 * fails or does not report. */
typedef struct gate {
    int ready_w, go_r, res_w;
} gate;
void gate_start(gate *g);
void gate_end(gate *g, uint64_t t0, uint64_t t1);
typedef void (*gate_worker)(int i, void *ctx, gate *g);
uint64_t run_gated(int nproc, gate_worker fn, void *ctx);

/* The read kernel of every read figure: the sum of n uint64. */
uint64_t sum_u64(const uint64_t *p, size_t n);
/* pwrite of all len bytes at off; dies on error (path names the file). */
void pwrite_all(int fd, const void *buf, size_t len, off_t off,
                const char *path);

/* The raw read-only open of the open figures (1, 2, 12, 13): open +
 * fstat + mmap MAP_SHARED of the whole file; *len gets its size. Dies on
 * error. raw_close_map undoes it: munmap + close. */
char *raw_open_map(const char *path, int *fd, size_t *len);
void raw_close_map(char *map, int fd, size_t len, const char *path);

/* Raw XXH3-64 of each 1 MiB block of data on ncpu threads (the verify
 * baseline); returns the xor of the hashes. */
uint64_t xxh3_all_cpus(const void *data, uint64_t nbytes, int ncpu);

/* The four-way balanced Latin square of mms-bench.c (figure 3): the j-th
 * method to run in repetition rep. */
int order4(int rep, int j);

/* ---- results ---------------------------------------------------------- */

typedef struct stats {
    double median, min, max;
    int n;
} stats;

stats stats_of(const double *v, int n);    /* v NULL or n 0: all NAN */

enum kind {
    LOWER_IS_BETTER,   /* latencies: met when ratio <= target */
    HIGHER_IS_BETTER,  /* throughputs: met when ratio >= target (">1x"
                          when the target is 1: strictly faster) */
    INFORMATIONAL      /* no target */
};

typedef struct result {
    char id[8];
    char what[96];
    char base_what[128];
    const char *unit;       /* "us", "ms", "GB/s", "M/s", "k/s" */
    stats mms, base;        /* base.n == 0: no baseline */
    enum kind kind;
    double ratio_target;    /* see kind */
    double abs_limit;       /* LOWER_IS_BETTER: also mms.median < this
                               (0 = no such limit) */
    char target[32];
    char pages[48];         /* where the data was: warm, new file, RAM */
    char extra[320];        /* more JSON members, starting with ',' */
} result;

/* Adds a figure from n paired measurements (base may be NULL: no
 * baseline). pages may be NULL. The pointer lives until the table is
 * printed. */
result *add_result(const char *id, const char *what, const char *base_what,
                   const char *unit, const double *mms, const double *base,
                   int n, enum kind kind, double ratio_target,
                   double abs_limit, const char *pages);
/* Appends to the notes printed under the table. */
void add_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sorts the results by figure number (the figures run in another order
 * to keep the disk use low), keeping the order within a figure. */
void sort_results(void);
void print_table(FILE *f);
/* One JSON object per figure, with min and max, the machine's load at the
 * start and the end. */
void print_json(FILE *f, const char *load_start, const char *load_end);

/* ---- the parts -------------------------------------------------------- */

/* Figures 6-10 (bench_coord.c); quick: fewer repetitions. figures: bit f
 * set to run figure f. */
void bench_coordination(int quick, unsigned figures);
/* Figures 11 and 12 (bench_scale.c). */
void bench_scaling_size(int quick);
void bench_scaling_procs(int quick);
/* Figure 13 (bench_tail.c): the open latency tail with many readers and
 * publishers. readers/publishers < 0, seconds <= 0: the defaults. */
void bench_open_tail(int quick, int readers, int publishers, double seconds);

#endif /* MMS_BENCH_H */
