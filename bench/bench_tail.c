/*
 * bench_tail.c - figure 13 of mms-bench: the latency tail of opening an
 * array read-only while many processes do it at once (issue 16 item 5).
 *
 * N reader processes (default 64) loop for T seconds: open RDONLY one of
 * four small arrays by name, read one element, close. Meanwhile P
 * publisher processes (default 2) republish those arrays in a loop
 * (create MMS_STAGED + fill + publish + close). Every open is timed; each
 * reader keeps a log-linear histogram (1/32-octave buckets, so a
 * percentile is good to 3 %), its exact maximum and its counts of opens
 * >= 100 ms and >= 1 s, and sends them to the parent through a pipe.
 *
 * The same loop, under the same publishers, runs in three more ways, so
 * that the cost of each part is visible separately:
 *   raw   open + fstat + mmap of a data file by path (no catalog; munmap +
 *         close after the timed part, as mmstore's close is)
 *   lmdb  mdb_txn_begin(RDONLY) + mdb_get + mdb_txn_abort in an
 *         environment opened with MDB_NOTLS: what every catalog read of
 *         mmstore did before issue 16 item 5 (the begin takes a reader
 *         slot under LMDB's process-shared reader-table mutex, the abort
 *         gives it back)
 *   renew mdb_txn_renew + mdb_get + mdb_txn_reset of one transaction
 *         kept per process: the slot is kept, the mutex never taken
 * The LMDB environment is the benchmark's own (tmpdir/lmdb), holding the
 * four names: the benchmark reads no store internals.
 *
 * The four ways run in two rounds, the second in the reverse order, each
 * for T/2 seconds (at least 1 s); their histograms are merged. The
 * machine's load is printed with the result: the tail is mostly the
 * scheduler's when there are more runnable processes than CPUs.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <lmdb.h>

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL_ARRAYS 4
#define TAIL_ELEMS 4096u          /* uint64 per array: 32 KiB */
#define SUB_BITS 5                /* 32 buckets per power of two */
#define NBUCKETS (64 << SUB_BITS)
#define MAX_READERS_OPT 1000

enum { M_MMS, M_RAW, M_LMDB, M_RENEW, NMODES };
static const char *const mode_name[NMODES] = {
    "mms_array_open RDONLY", "raw open+fstat+mmap",
    "LMDB begin+get+abort", "LMDB renew+get+reset"};

typedef struct hist {
    uint64_t count, ge100ms, ge1s, max_ns;
    uint64_t bucket[NBUCKETS];
} hist;

static unsigned bucket_of(uint64_t ns)
{
    if (ns < (1u << SUB_BITS))
        return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    unsigned sub = (unsigned)(ns >> (msb - SUB_BITS)) & ((1u << SUB_BITS) - 1);
    return ((msb - SUB_BITS + 1) << SUB_BITS) + sub;
}

/* The middle of bucket b, in ns. */
static double bucket_value(unsigned b)
{
    if (b < (1u << SUB_BITS))
        return b;
    unsigned msb = (b >> SUB_BITS) + SUB_BITS - 1;
    uint64_t lo = (UINT64_C(1) << msb) |
                  ((uint64_t)(b & ((1u << SUB_BITS) - 1)) << (msb - SUB_BITS));
    return (double)lo + (double)(UINT64_C(1) << (msb - SUB_BITS)) / 2;
}

static void hist_add(hist *h, uint64_t ns)
{
    h->count++;
    h->bucket[bucket_of(ns)]++;
    if (ns > h->max_ns)
        h->max_ns = ns;
    if (ns >= 100000000u)
        h->ge100ms++;
    if (ns >= 1000000000u)
        h->ge1s++;
}

static void hist_merge(hist *into, const hist *h)
{
    into->count += h->count;
    into->ge100ms += h->ge100ms;
    into->ge1s += h->ge1s;
    if (h->max_ns > into->max_ns)
        into->max_ns = h->max_ns;
    for (unsigned b = 0; b < NBUCKETS; b++)
        into->bucket[b] += h->bucket[b];
}

/* The q-quantile in µs (NAN when empty); never above the exact max. */
static double hist_quantile_us(const hist *h, double q)
{
    if (!h->count)
        return NAN;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        seen += h->bucket[b];
        if (seen > rank) {
            double v = bucket_value(b);
            return (v > (double)h->max_ns ? (double)h->max_ns : v) / 1e3;
        }
    }
    return (double)h->max_ns / 1e3;
}

/* ---- the run's shared setup ---------------------------------------------- */

typedef struct tail_cfg {
    int readers, publishers;
    double seconds;             /* per mode, over both rounds */
    char names[TAIL_ARRAYS][32];
    char raw_path[TAIL_ARRAYS][PATH_MAX];
    char lmdb_dir[PATH_MAX];
} tail_cfg;

static MDB_env *lmdb_open(const char *dir, unsigned flags)
{
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(env, MAX_READERS_OPT + 64);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, 16 * MIB);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_NOTLS | flags, 0600);
    if (rc != 0)
        die("LMDB environment %s: %s", dir, mdb_strerror(rc));
    return env;
}

static void setup(tail_cfg *c)
{
    const uint64_t shape[1] = {TAIL_ELEMS};
    static uint64_t buf[TAIL_ELEMS];
    for (int i = 0; i < TAIL_ARRAYS; i++) {
        snprintf(c->names[i], sizeof c->names[i], "bench/tail-%d", i);
        mms_array *a;
        MMS(mms_array_create(bench.store, c->names[i], MMS_UINT64, 1, shape,
                             0, &a), "create %s", c->names[i]);
        uint64_t *d = mms_array_data(a);
        for (unsigned k = 0; k < TAIL_ELEMS; k++)
            d[k] = k + 1;
        MMS(mms_array_close(a), "close %s", c->names[i]);

        char leaf[32];
        snprintf(leaf, sizeof leaf, "raw-tail-%d.bin", i);
        path_in_tmp(c->raw_path[i], sizeof c->raw_path[i], leaf);
        int fd = open(c->raw_path[i], O_WRONLY | O_CREAT | O_EXCL |
                      O_CLOEXEC | O_NOFOLLOW, 0600);
        SYS(fd, "create %s", c->raw_path[i]);
        for (unsigned k = 0; k < TAIL_ELEMS; k++)
            buf[k] = k + 1;
        static const uint8_t zero[NPY_DATA_OFFSET];
        pwrite_all(fd, zero, sizeof zero, 0, c->raw_path[i]);
        pwrite_all(fd, buf, sizeof buf, NPY_DATA_OFFSET, c->raw_path[i]);
        SYS(close(fd), "close %s", c->raw_path[i]);
    }
    path_in_tmp(c->lmdb_dir, sizeof c->lmdb_dir, "lmdb");
    SYS(mkdir(c->lmdb_dir, 0700), "mkdir %s", c->lmdb_dir);
    MDB_env *env = lmdb_open(c->lmdb_dir, 0);
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    for (int i = 0; i < TAIL_ARRAYS && rc == 0; i++) {
        uint64_t v[8] = {(uint64_t)i + 1};
        MDB_val k = {strlen(c->names[i]), c->names[i]}, d = {sizeof v, v};
        rc = mdb_put(txn, dbi, &k, &d, 0);
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    if (rc != 0)
        die("filling %s: %s", c->lmdb_dir, mdb_strerror(rc));
    mdb_env_close(env);
}

/* ---- the workers --------------------------------------------------------- */

/* Waits for the parent to close the start pipe; returns the deadline. */
static uint64_t wait_start(int go_r, double seconds)
{
    char ch;
    while (read(go_r, &ch, 1) < 0 && errno == EINTR)
        ;
    close(go_r);
    return now_ns() + (uint64_t)(seconds * 1e9);
}

static void reader(const tail_cfg *c, int mode, int idx, int go_r,
                   int res_w, double seconds)
{
    hist *h = calloc(1, sizeof *h);
    if (!h)
        die("out of memory");
    mms_store *s = NULL;
    MDB_env *env = NULL;
    MDB_txn *keep = NULL;
    MDB_dbi dbi = 0;
    if (mode == M_MMS) {
        MMS(mms_store_open(bench.store_path, MMS_RDONLY, &s),
            "reader: open store %s", bench.store_path);
    } else if (mode == M_LMDB || mode == M_RENEW) {
        env = lmdb_open(c->lmdb_dir, 0);
        MDB_txn *txn;
        int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
        if (rc == 0)
            rc = mdb_dbi_open(txn, NULL, 0, &dbi);
        if (rc != 0)
            die("reader: %s: %s", c->lmdb_dir, mdb_strerror(rc));
        if (mode == M_RENEW)
            mdb_txn_reset(keep = txn);
        else
            mdb_txn_abort(txn);
    }
    volatile uint64_t sink = 0;
    uint64_t deadline = wait_start(go_r, seconds);
    for (unsigned k = (unsigned)idx;; k++) {
        int i = (int)(k % TAIL_ARRAYS);
        uint64_t t0 = now_ns(), t1;
        if (t0 >= deadline)
            break;
        if (mode == M_MMS) {
            mms_array *a;
            MMS(mms_array_open(s, c->names[i], MMS_RDONLY, &a),
                "reader: open %s", c->names[i]);
            t1 = now_ns();
            sink += ((const uint64_t *)mms_array_data(a))[k % TAIL_ELEMS];
            MMS(mms_array_close(a), "reader: close %s", c->names[i]);
        } else if (mode == M_RAW) {
            int fd;
            size_t len;
            char *m = raw_open_map(c->raw_path[i], &fd, &len);
            t1 = now_ns();
            sink += ((const uint64_t *)(m + NPY_DATA_OFFSET))[k % TAIL_ELEMS];
            raw_close_map(m, fd, len, c->raw_path[i]);
        } else {
            MDB_txn *txn = keep;
            int rc = mode == M_RENEW ? mdb_txn_renew(txn)
                                     : mdb_txn_begin(env, NULL, MDB_RDONLY,
                                                     &txn);
            MDB_val key = {strlen(c->names[i]), (void *)c->names[i]}, v;
            if (rc == 0)
                rc = mdb_get(txn, dbi, &key, &v);
            if (rc != 0)
                die("reader: LMDB read of %s: %s", c->names[i],
                    mdb_strerror(rc));
            sink += ((const uint64_t *)v.mv_data)[0];
            if (mode == M_RENEW)
                mdb_txn_reset(txn);
            else
                mdb_txn_abort(txn);
            t1 = now_ns();
        }
        hist_add(h, t1 - t0);
    }
    (void)sink;
    if (s)
        MMS(mms_store_close(s), "reader: close store");
    if (keep)
        mdb_txn_abort(keep);
    if (env)
        mdb_env_close(env);
    write_all_fd(res_w, h, sizeof *h);
    _exit(0);
}

static void publisher(const tail_cfg *c, int idx, int go_r, int res_w,
                      double seconds)
{
    mms_store *s;
    MMS(mms_store_open(bench.store_path, 0, &s), "publisher: open store %s",
        bench.store_path);
    const uint64_t shape[1] = {TAIL_ELEMS};
    uint64_t n = 0, deadline = wait_start(go_r, seconds);
    /* Publisher idx republishes arrays idx, idx + P, ...: with P <= 4 no
     * two publishers share an array (closing a handle whose version was
     * replaced meanwhile would fail with MMS_ERR_STALE; with more
     * publishers that is expected and ignored). */
    for (unsigned k = (unsigned)idx; now_ns() < deadline;
         k += (unsigned)c->publishers) {
        const char *name = c->names[k % TAIL_ARRAYS];
        mms_array *a;
        MMS(mms_array_create(s, name, MMS_UINT64, 1, shape, MMS_STAGED, &a),
            "publisher: create staged %s", name);
        uint64_t *d = mms_array_data(a);
        for (unsigned e = 0; e < TAIL_ELEMS; e++)
            d[e] = e + 1;
        MMS(mms_array_publish(a), "publisher: publish %s", name);
        int rc = mms_array_close(a);
        if (rc != MMS_ERR_STALE)
            MMS(rc, "publisher: close %s", name);
        n++;
    }
    MMS(mms_store_close(s), "publisher: close store");
    write_all_fd(res_w, &n, sizeof n);
    _exit(0);
}

/* Runs one mode for seconds with all workers; merges the readers'
 * histograms into h and adds the publishes to *pubs. */
static void run_mode(const tail_cfg *c, int mode, double seconds, hist *h,
                     uint64_t *pubs)
{
    int nw = c->readers + c->publishers;
    pid_t *pids = calloc((size_t)nw, sizeof *pids);
    int *res = calloc((size_t)nw, sizeof *res);
    if (!pids || !res)
        die("out of memory");
    int go[2];
    SYS(pipe(go), "pipe");
    fflush(NULL);
    for (int w = 0; w < nw; w++) {
        int r[2];
        SYS(pipe(r), "pipe");
        pid_t pid = fork();
        SYS(pid, "fork");
        if (pid == 0) {
            close(go[1]);
            close(r[0]);
            for (int j = 0; j < w; j++)
                close(res[j]);
            if (w < c->readers)
                reader(c, mode, w, go[0], r[1], seconds);
            else
                publisher(c, w - c->readers, go[0], r[1], seconds);
        }
        close(r[1]);
        pids[w] = pid;
        res[w] = r[0];
    }
    close(go[0]);
    close(go[1]);   /* go */
    hist *one = malloc(sizeof *one);
    if (!one)
        die("out of memory");
    for (int w = 0; w < nw; w++) {
        if (w < c->readers) {
            if (read_full(res[w], one, sizeof *one) != sizeof *one)
                die("reader %d sent no result", w);
            hist_merge(h, one);
        } else {
            uint64_t n;
            if (read_full(res[w], &n, sizeof n) != sizeof n)
                die("publisher %d sent no result", w - c->readers);
            *pubs += n;
        }
        close(res[w]);
    }
    wait_workers(pids, nw);
    free(one);
    free(pids);
    free(res);
}

void bench_open_tail(int quick, int readers, int publishers, double seconds)
{
    tail_cfg c;
    memset(&c, 0, sizeof c);
    c.readers = readers > 0 ? readers : quick ? 16 : 64;
    c.publishers = publishers >= 0 ? publishers : 2;
    c.seconds = seconds > 0 ? seconds : quick ? 2 : 10;
    if (c.readers > MAX_READERS_OPT)
        die("--readers: at most %d", MAX_READERS_OPT);
    fprintf(stderr, "mms-bench: [13] open latency tail: %d readers, %d "
            "publishers, %.1f s per way\n", c.readers, c.publishers,
            c.seconds);
    setup(&c);
    char load0[96], load1[96];
    machine_load(load0, sizeof load0);
    hist *h = calloc(NMODES, sizeof *h);
    if (!h)
        die("out of memory");
    uint64_t pubs[NMODES] = {0};
    double part = c.seconds / 2 < 1 ? 1 : c.seconds / 2;
    for (int round = 0; round < 2; round++)
        for (int j = 0; j < NMODES; j++) {
            int m = round == 0 ? j : NMODES - 1 - j;
            progress("[13] round %d: %s", round + 1, mode_name[m]);
            run_mode(&c, m, part, &h[m], &pubs[m]);
        }
    machine_load(load1, sizeof load1);

    double q[NMODES][4];
    for (int m = 0; m < NMODES; m++) {
        q[m][0] = hist_quantile_us(&h[m], 0.50);
        q[m][1] = hist_quantile_us(&h[m], 0.99);
        q[m][2] = hist_quantile_us(&h[m], 0.999);
        q[m][3] = (double)h[m].max_ns / 1e3;
    }
    static const char *const what[4] = {"p50", "p99", "p99.9", "max"};
    char w[96], id[8];
    for (int k = 0; k < 4; k++) {
        snprintf(id, sizeof id, "13%c", 'a' + k);
        snprintf(w, sizeof w, "open RDONLY %s, %d readers + %d publishers",
                 what[k], c.readers, c.publishers);
        result *r = add_result(id, w, k == 0 ? "raw open + fstat + mmap "
                               "of a data file, same readers and "
                               "publishers" : "the same as 13a", "us",
                               &q[M_MMS][k], &q[M_RAW][k], 1,
                               k == 2 ? LOWER_IS_BETTER : INFORMATIONAL,
                               1e6, k == 2 ? 10000 : 0, "warm, 32 KiB");
        if (k == 2)
            snprintf(r->target, sizeof r->target, "<10 ms");
    }
    for (int k = 2; k < 4; k++) {
        snprintf(id, sizeof id, "13%c", 'a' + k + 2);
        snprintf(w, sizeof w, "  LMDB begin+get+abort %s (MDB_NOTLS)",
                 what[k]);
        add_result(id, w, k == 2 ? "LMDB renew+get+reset of one kept "
                   "read transaction, same load" : "the same as 13e", "us",
                   &q[M_LMDB][k],
                   &q[M_RENEW][k], 1, INFORMATIONAL, 0, 0, "warm");
    }
    add_note("figure 13: %d readers, %d publishers, %.1f s per way in two "
             "rounds (us; >=100ms, >=1s: counts)\n", c.readers,
             c.publishers, 2 * part);
    add_note("  %-24s %9s %9s %9s %10s %8s %6s %10s %8s\n", "way", "p50",
             "p99", "p99.9", "max", ">=100ms", ">=1s", "opens",
             "publishes");
    for (int m = 0; m < NMODES; m++)
        add_note("  %-24s %9.1f %9.1f %9.1f %10.0f %8llu %6llu %10llu "
                 "%8llu\n", mode_name[m], q[m][0], q[m][1], q[m][2], q[m][3],
                 (unsigned long long)h[m].ge100ms,
                 (unsigned long long)h[m].ge1s,
                 (unsigned long long)h[m].count,
                 (unsigned long long)pubs[m]);
    add_note("  machine before: %s; after: %s\n", load0, load1);
    free(h);
    for (int i = 0; i < TAIL_ARRAYS; i++) {
        MMS(mms_remove(bench.store, c.names[i]), "remove %s", c.names[i]);
        SYS(unlink(c.raw_path[i]), "unlink %s", c.raw_path[i]);
    }
    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/data.mdb", c.lmdb_dir);
    unlink(f);
    snprintf(f, sizeof f, "%s/lock.mdb", c.lmdb_dir);
    unlink(f);
    rmdir(c.lmdb_dir);
}
