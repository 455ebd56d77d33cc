/*
 * soak.c - many processes on one store for a long time, some killed with
 * SIGKILL, then an oracle that checks every promise that must still hold.
 *
 *   tests/soak/soak [--seconds N] [--workers N] [--kill-every-ms MIN:MAX]
 *                   [--seed S] [--store DIR] [--with-repair]
 *
 * --kill-every-ms 0 (the default) starts no killer. Without --store the
 * store is made under $TMPDIR (else /tmp) and removed when every check
 * passed; --store DIR uses DIR (which must not exist) and keeps it. The
 * workers' ledgers are in DIR.ledgers/. --with-repair adds
 * mms_check(MMS_CHECK_REPAIR) to the workers' mix (1 operation in 100),
 * run while the others work; it is off by default because of the two
 * defects in tests/multiproc/test_writers.c's suite check (a check racing
 * a resize or a publish judges the array by a stale snapshot).
 *
 * Each worker process opens the store and does, until the end, a random
 * mix of:
 *  - row writes on soak/rows (INT64, COLS columns): an exclusive range lock
 *    on one row, the row written with a self-check (sequence number, writer
 *    id, row index, payload, XXH3 of the cells before it in the last cell),
 *    mms_array_sync_range, unlock;
 *  - atomic adds (mms_atomic_add_i64) on the counters of soak/ctr;
 *  - publishes of soak/pub: under a named lock, a staged version whose
 *    every element encodes its generation, published;
 *  - resizes of soak/rows between MINROWS and MAXROWS rows, under an
 *    exclusive range lock on rows MINROWS.. (only rows past MINROWS come
 *    and go; rows below it always exist);
 *  - read passes: every row of soak/rows under a shared range lock is zero
 *    or passes its self-check; a version of soak/pub is whole, still whole
 *    after a while through the same handle, and a refresh never goes back.
 * Writable handles are kept open between operations and closed at random.
 * soak/idle is written once at setup and never opened for writing again.
 *
 * The ledgers. Every worker appends fixed-size records, each with its own
 * XXH3, to its own file: intents before an act (a row about to be written,
 * an add about to be made, a handle about to be opened or made dirty),
 * outcomes after it. An acknowledged act (a row write whose sync returned,
 * an add that returned) is written and fdatasync'ed before the worker goes
 * on. The parent reads them after the workers are gone; a record torn by
 * a kill ends that ledger. Row writes, resizes, repairs and kills take
 * numbers from one shared counter, which orders them.
 *
 * The parent kills a random worker every MIN..MAX ms (SIGKILL), starts a
 * replacement, and samples resources every second. Then the oracle, from
 * the ledgers and the store:
 *  - every acknowledged row write is there, or a later write of the row
 *    that some worker meant (its sequence number is in a ledger); a row is
 *    torn only where a killed worker was writing it after the last
 *    acknowledgement; a row may be zero only if never acknowledged or cut
 *    off by a resize since; every torn row a reader saw is explained so;
 *  - each counter is exactly its acknowledged adds plus some of the adds
 *    that killed workers had begun;
 *  - no reader saw a version of soak/pub torn, changed or going back;
 *  - mms_stat says INTERRUPTED for every array a killed worker had open
 *    with unsynced writes, and for no array no killed worker had open for
 *    writing; without kills, for none; check(0) and mms_verify agree;
 *  - check --repair leaves one file per array in data/ (the debris before
 *    it is at most one per publisher killed while staging);
 *  - every array opens; no range or named lock is held; no LMDB reader
 *    slot is used once the oracle's own store is closed;
 *  - no sampled resource grew past a generous limit.
 * It prints one line per check, "ok - ..." or "FAIL - ...", comment lines
 * "# ..." with the counts, and "RESULT: N passed, M failed"; the exit
 * status is 0 only when all passed. The seed is printed first: a failing
 * run is replayed (up to timing) with the same --seed.
 */
#define _GNU_SOURCE
#include <mmstore.h>

#include "rng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- the arrays --------------------------------------------------------- */

enum { A_ROWS, A_CTR, A_PUB, A_IDLE, NARR };
static const char *const aname[NARR] = {"soak/rows", "soak/ctr", "soak/pub",
                                        "soak/idle"};

#define COLS 16      /* int64 cells per row of soak/rows */
#define MINROWS 32   /* rows of soak/rows that always exist */
#define MAXROWS 96
#define INITROWS 64
#define NCTR 8       /* counters in soak/ctr */
#define PUBN 512     /* elements of soak/pub */
#define IDLEN 64     /* soak/idle: written once at setup, never again */
#define BLOCK_SIZE 4096
#define LOCK_MS 2000 /* lock timeouts: back off rather than wait for ever */
#define PUB_LOCK "soak/pub"
#define MAXWORKERS 64
#define MAXINCARN 4096

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- row content -------------------------------------------------------- */

/* A row: [0] sequence number (> 0), [1] writer id, [2] row index,
 * [3..COLS-2] payload from the sequence number, [COLS-1] XXH3 of the rest.
 * An all-zero row was never written. */
static void row_fill(int64_t *r, uint64_t seq, uint64_t wid, uint64_t row)
{
    r[0] = (int64_t)seq;
    r[1] = (int64_t)wid;
    r[2] = (int64_t)row;
    for (int j = 3; j < COLS - 1; j++)
        r[j] = (int64_t)mix64(seq * 131 + (uint64_t)j);
    r[COLS - 1] = (int64_t)XXH3_64bits(r, sizeof(int64_t) * (COLS - 1));
}

static bool row_zero(const int64_t *r)
{
    for (int j = 0; j < COLS; j++)
        if (r[j] != 0)
            return false;
    return true;
}

static bool row_valid(const int64_t *r, uint64_t row)
{
    if (r[0] <= 0 || r[2] != (int64_t)row)
        return false;
    for (int j = 3; j < COLS - 1; j++)
        if (r[j] != (int64_t)mix64((uint64_t)r[0] * 131 + (uint64_t)j))
            return false;
    return r[COLS - 1] ==
           (int64_t)XXH3_64bits(r, sizeof(int64_t) * (COLS - 1));
}

static int64_t pub_value(uint64_t gen, uint64_t i)
{
    return (int64_t)((gen << 32) | i);
}

/* ---- the ledger --------------------------------------------------------- */

#define L_MAGIC 0x4b414f53u /* "SOAK" */

enum {
    L_OPENING = 1, /* arr, id: about to open (or publish) for writing */
    L_OPENED,      /* arr, id: open for writing */
    L_DIRTY,       /* arr: about to write through the mapping */
    L_CLEAN,       /* arr: everything written through the handle synced */
    L_CLOSING,     /* arr: about to close */
    L_CLOSED,      /* arr: closed (or the open failed) */
    L_ROW_INTENT,  /* a = row, b = seq: about to write the row */
    L_ROW_ACK,     /* a = row, b = seq: synced */
    L_ROW_UNACK,   /* a = row, b = seq, c = rc: the sync failed */
    L_ADD_INTENT,  /* a = counter, b = delta, c = token */
    L_ADD_ACK,     /* c = token: the add returned */
    L_STAGING,     /* about to create a staged version of soak/pub */
    L_STAGED,      /* id: the staged version exists */
    L_PUBLISHED,   /* id, a = generation */
    L_TORN_SEEN,   /* a = row: a reader saw a torn row under its lock */
    L_PUB_SEEN,    /* a = generation seen whole by a reader */
    L_FAIL,        /* a = code, b, c: a broken promise seen by the worker */
    L_READ_PASS,   /* a = rows checked, b = rows skipped (busy) */
    L_RESIZING,    /* a = rows, b = seq: about to resize soak/rows */
    L_RESIZED,     /* a = rows */
    L_REPAIR,      /* b = seq: about to run mms_check(MMS_CHECK_REPAIR) */
    L_REPAIRED,    /* a = its result (negated), b = seq after it */
    L_NTYPES
};

enum { F_PUB_TORN = 1, F_PUB_BACKWARD, F_PUB_GEN, F_PUB_CHANGED,
       F_REPAIR_DAMAGE };

/* Index of a soak array's name, or -1. */
static int arr_index(const char *name)
{
    for (int i = 0; i < NARR; i++)
        if (name && strcmp(name, aname[i]) == 0)
            return i;
    return -1;
}

typedef struct lrec {
    uint32_t magic;
    uint16_t type, arr;
    uint64_t id, a, b, c;
    uint64_t hash;
} lrec;

static int lfd = -1;

static void lput(int type, int arr, uint64_t id, uint64_t a, uint64_t b,
                 uint64_t c, bool durable)
{
    lrec r;
    memset(&r, 0, sizeof r);
    r.magic = L_MAGIC;
    r.type = (uint16_t)type;
    r.arr = (uint16_t)arr;
    r.id = id;
    r.a = a;
    r.b = b;
    r.c = c;
    r.hash = XXH3_64bits(&r, offsetof(lrec, hash));
    if (write(lfd, &r, sizeof r) != (ssize_t)sizeof r) {
        fprintf(stderr, "soak: ledger write: %s\n", strerror(errno));
        _exit(3);
    }
    if (durable && fdatasync(lfd) != 0) {
        fprintf(stderr, "soak: ledger fdatasync: %s\n", strerror(errno));
        _exit(3);
    }
}

/* ---- shared between the parent and the workers -------------------------- */

typedef struct shared {
    uint64_t seq;       /* sequence numbers of rows, resizes, repairs and
                           kills (atomic) */
    int stop;           /* set by the parent at the end */
} shared;

static bool with_repair; /* --with-repair: workers run check --repair */

static shared *sh;
static char store_dir[4096];
static char ledger_dir[4200];

static void ledger_path(char *buf, size_t size, unsigned wid)
{
    snprintf(buf, size, "%s/ledger-%04u", ledger_dir, wid);
}

/* ---- the worker --------------------------------------------------------- */

static unsigned wid;
static uint64_t wrng;
static mms_store *ws;

typedef struct whandle {
    mms_array *a;
    bool dirty;
    uint64_t unsynced; /* rows written whose sync failed */
} whandle;

static whandle wh[NARR];

__attribute__((format(printf, 2, 3), noreturn))
static void wdie(int rc, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: worker %u: %s: %s (%s)\n", wid, msg,
            mms_strerror(rc), mms_errmsg());
    _exit(3);
}

static mms_array *w_rw(int arr)
{
    if (wh[arr].a)
        return wh[arr].a;
    lput(L_OPENING, arr, 0, 0, 0, 0, false);
    int rc = mms_array_open(ws, aname[arr], MMS_RDWR, &wh[arr].a);
    if (rc != MMS_OK) {
        lput(L_CLOSED, arr, 0, 0, 0, 0, false);
        wdie(rc, "open %s for writing", aname[arr]);
    }
    lput(L_OPENED, arr, 0, 0, 0, 0, false);
    wh[arr].dirty = false;
    wh[arr].unsynced = 0;
    return wh[arr].a;
}

static void w_dirty(int arr)
{
    if (!wh[arr].dirty) {
        lput(L_DIRTY, arr, 0, 0, 0, 0, false);
        wh[arr].dirty = true;
    }
}

static void w_close(int arr)
{
    if (!wh[arr].a)
        return;
    lput(L_CLOSING, arr, 0, 0, 0, 0, false);
    int rc = mms_array_close(wh[arr].a);
    wh[arr].a = NULL;
    if (rc != MMS_OK)
        wdie(rc, "close %s", aname[arr]);
    lput(L_CLOSED, arr, 0, 0, 0, 0, false);
    wh[arr].dirty = false;
}

static void op_row_write(void)
{
    mms_array *a = w_rw(A_ROWS);
    int rc;
    if (rng_below(&wrng, 8) == 0 && (rc = mms_array_refresh(a)) != MMS_OK)
        wdie(rc, "refresh soak/rows");
    mms_info info;
    if ((rc = mms_array_info(a, &info)) != MMS_OK)
        wdie(rc, "info soak/rows");
    uint64_t rows = info.shape[0];
    uint64_t row = rng_below(&wrng, 4) ? rng_below(&wrng, MINROWS)
                                       : rng_below(&wrng, rows);
    mms_lock *lk;
    rc = mms_lock_range(a, row, 1, MMS_LOCK_EXCLUSIVE, LOCK_MS, &lk);
    if (rc == MMS_ERR_TIMEOUT)
        return;
    if (rc != MMS_OK)
        wdie(rc, "lock row %" PRIu64, row);
    uint64_t seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
    lput(L_ROW_INTENT, A_ROWS, 0, row, seq, 0, false);
    w_dirty(A_ROWS);
    int64_t *d = (int64_t *)mms_array_data(a) + row * COLS;
    int64_t tmp[COLS];
    row_fill(tmp, seq, wid, row);
    /* Cell by cell, so that a kill can tear the row; now and then with a
     * pause in the middle, so that kills find torn rows often enough. */
    bool pause = rng_below(&wrng, 3) == 0;
    for (int j = 0; j < COLS; j++) {
        if (pause && j == COLS / 2)
            sleep_ms(1 + (int64_t)rng_below(&wrng, 3));
        __atomic_store_n(&d[j], tmp[j], __ATOMIC_RELAXED);
    }
    rc = mms_array_sync_range(a, row, 1);
    if (rc == MMS_OK) {
        lput(L_ROW_ACK, A_ROWS, 0, row, seq, 0, true);
        if (wh[A_ROWS].unsynced == 0) {
            lput(L_CLEAN, A_ROWS, 0, 0, 0, 0, false);
            wh[A_ROWS].dirty = false;
        }
    } else if (rc == MMS_ERR_RANGE && row >= MINROWS) {
        /* A resize cut the row off before we locked it. */
        lput(L_ROW_UNACK, A_ROWS, 0, row, seq, (uint64_t)-rc, false);
        wh[A_ROWS].unsynced++;
    } else {
        wdie(rc, "sync row %" PRIu64, row);
    }
    if ((rc = mms_unlock(lk)) != MMS_OK)
        wdie(rc, "unlock row %" PRIu64, row);
}

static uint64_t add_token;

static void op_add(void)
{
    mms_array *a = w_rw(A_CTR);
    uint64_t idx = rng_below(&wrng, NCTR);
    int64_t delta = 1 + (int64_t)rng_below(&wrng, 1000);
    uint64_t tok = ++add_token;
    lput(L_ADD_INTENT, A_CTR, 0, idx, (uint64_t)delta, tok, false);
    w_dirty(A_CTR);
    if (rng_below(&wrng, 3) == 0)
        sleep_ms(1 + (int64_t)rng_below(&wrng, 3)); /* a window for kills */
    int rc = mms_atomic_add_i64(a, idx, delta, NULL);
    if (rc != MMS_OK)
        wdie(rc, "add to counter %" PRIu64, idx);
    lput(L_ADD_ACK, A_CTR, 0, idx, (uint64_t)delta, tok, true);
    if (rng_below(&wrng, 4) == 0) {
        if ((rc = mms_array_sync(a)) != MMS_OK)
            wdie(rc, "sync soak/ctr");
        lput(L_CLEAN, A_CTR, 0, 0, 0, 0, false);
        wh[A_CTR].dirty = false;
    }
}

static void op_publish(void)
{
    mms_lock *lk;
    int rc = mms_lock_named(ws, PUB_LOCK, MMS_LOCK_EXCLUSIVE, LOCK_MS, &lk);
    if (rc == MMS_ERR_TIMEOUT)
        return;
    if (rc != MMS_OK)
        wdie(rc, "named lock %s", PUB_LOCK);
    mms_info info;
    if ((rc = mms_stat(ws, aname[A_PUB], &info)) != MMS_OK)
        wdie(rc, "stat soak/pub");
    uint64_t gen = info.generation + 1;
    uint64_t shape[1] = {PUBN};
    mms_array *s;
    lput(L_STAGING, A_PUB, 0, gen, 0, 0, false);
    rc = mms_array_create(ws, aname[A_PUB], MMS_INT64, 1, shape, MMS_STAGED,
                          &s);
    if (rc != MMS_OK)
        wdie(rc, "create a staged soak/pub");
    if ((rc = mms_array_info(s, &info)) != MMS_OK)
        wdie(rc, "info of the staged soak/pub");
    uint64_t id = info.id;
    lput(L_STAGED, A_PUB, id, gen, 0, 0, false);
    int64_t *d = mms_array_data(s);
    for (uint64_t i = 0; i < PUBN; i++)
        d[i] = pub_value(gen, i);
    lput(L_OPENING, A_PUB, id, gen, 0, 0, false);
    if ((rc = mms_array_publish(s)) != MMS_OK)
        wdie(rc, "publish soak/pub generation %" PRIu64, gen);
    lput(L_OPENED, A_PUB, id, gen, 0, 0, false);
    if ((rc = mms_array_info(s, &info)) != MMS_OK)
        wdie(rc, "info of the published soak/pub");
    lput(L_PUBLISHED, A_PUB, id, info.generation, 0, 0, false);
    if (info.generation != gen)
        lput(L_FAIL, A_PUB, id, F_PUB_GEN, gen, info.generation, true);
    lput(L_CLOSING, A_PUB, id, 0, 0, 0, false);
    if ((rc = mms_array_close(s)) != MMS_OK)
        wdie(rc, "close the published soak/pub");
    lput(L_CLOSED, A_PUB, id, 0, 0, 0, false);
    if ((rc = mms_unlock(lk)) != MMS_OK)
        wdie(rc, "unlock %s", PUB_LOCK);
}

static void op_resize(void)
{
    mms_array *a = w_rw(A_ROWS);
    mms_lock *lk;
    int rc = mms_lock_range(a, MINROWS, 0, MMS_LOCK_EXCLUSIVE, LOCK_MS, &lk);
    if (rc == MMS_ERR_TIMEOUT)
        return;
    if (rc != MMS_OK)
        wdie(rc, "lock rows %d.. of soak/rows", MINROWS);
    uint64_t rows = MINROWS + rng_below(&wrng, MAXROWS - MINROWS + 1);
    /* A sequence number taken under the lock orders the resize among the
     * row writes past MINROWS, which take theirs under their row's lock. */
    uint64_t seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
    lput(L_RESIZING, A_ROWS, 0, rows, seq, 0, false);
    if ((rc = mms_array_resize(a, rows)) != MMS_OK)
        wdie(rc, "resize soak/rows to %" PRIu64, rows);
    lput(L_RESIZED, A_ROWS, 0, rows, 0, 0, false);
    if ((rc = mms_unlock(lk)) != MMS_OK)
        wdie(rc, "unlock rows %d.. of soak/rows", MINROWS);
}

/* First element of a version of soak/pub that does not encode gen, or -1. */
static int64_t pub_bad(const int64_t *d, uint64_t n, uint64_t gen)
{
    for (uint64_t i = 0; i < n; i++)
        if (d[i] != pub_value(gen, i))
            return (int64_t)i;
    return -1;
}

static void op_read(void)
{
    mms_array *a;
    int rc = mms_array_open(ws, aname[A_ROWS], MMS_RDONLY, &a);
    if (rc != MMS_OK)
        wdie(rc, "open soak/rows to read");
    mms_info info;
    if ((rc = mms_array_info(a, &info)) != MMS_OK)
        wdie(rc, "info soak/rows");
    const int64_t *d = mms_array_data(a);
    uint64_t checked = 0, busy = 0;
    for (uint64_t r = 0; r < info.shape[0]; r++) {
        mms_lock *lk;
        rc = mms_lock_range(a, r, 1, MMS_LOCK_SHARED, 0, &lk);
        if (rc == MMS_ERR_BUSY) {
            busy++;
            continue;
        }
        if (rc != MMS_OK)
            wdie(rc, "shared lock on row %" PRIu64, r);
        const int64_t *row = d + r * COLS;
        if (!row_zero(row) && !row_valid(row, r))
            lput(L_TORN_SEEN, A_ROWS, 0, r, (uint64_t)row[0], 0, true);
        checked++;
        if ((rc = mms_unlock(lk)) != MMS_OK)
            wdie(rc, "unlock row %" PRIu64, r);
    }
    lput(L_READ_PASS, A_ROWS, 0, checked, busy, 0, false);
    if ((rc = mms_array_close(a)) != MMS_OK)
        wdie(rc, "close soak/rows (read-only)");

    /* A version of soak/pub: whole, still whole a little later through the
     * same handle (even if it was replaced meanwhile), and a refresh never
     * goes back. */
    if ((rc = mms_array_open(ws, aname[A_PUB], MMS_RDONLY, &a)) != MMS_OK)
        wdie(rc, "open soak/pub to read");
    for (int round = 0; round < 3; round++) {
        if ((rc = mms_array_info(a, &info)) != MMS_OK)
            wdie(rc, "info soak/pub");
        d = mms_array_data(a);
        uint64_t gen = info.generation;
        int64_t bad = pub_bad(d, info.shape[0], gen);
        if (info.shape[0] != PUBN || bad >= 0)
            lput(L_FAIL, A_PUB, info.id, F_PUB_TORN, gen,
                 bad >= 0 ? (uint64_t)d[bad] : info.shape[0], true);
        else
            lput(L_PUB_SEEN, A_PUB, info.id, gen, 0, 0, false);
        sleep_ms((int64_t)rng_below(&wrng, 5));
        bad = pub_bad(d, info.shape[0], gen);
        if (bad >= 0)
            lput(L_FAIL, A_PUB, info.id, F_PUB_CHANGED, gen, (uint64_t)d[bad],
                 true);
        if ((rc = mms_array_refresh(a)) != MMS_OK)
            wdie(rc, "refresh soak/pub");
        mms_info after;
        if ((rc = mms_array_info(a, &after)) != MMS_OK)
            wdie(rc, "info soak/pub");
        if (after.generation < gen)
            lput(L_FAIL, A_PUB, after.id, F_PUB_BACKWARD, gen,
                 after.generation, true);
    }
    if ((rc = mms_array_close(a)) != MMS_OK)
        wdie(rc, "close soak/pub (read-only)");
}

static int on_repair_problem(const mms_problem *p, void *ctx)
{
    (void)ctx;
    /* A live worker's resize is no damage: note what the repair did. */
    if (p->kind == MMS_PROBLEM_BAD_FILE || p->kind == MMS_PROBLEM_MISSING_FILE ||
        p->kind == MMS_PROBLEM_BAD_RECORD)
        lput(L_FAIL, arr_index(p->name) < 0 ? 0 : arr_index(p->name), p->id,
             F_REPAIR_DAMAGE,
             (uint64_t)p->kind, (uint64_t)p->repaired, true);
    return 0;
}

/* mms_check(MMS_CHECK_REPAIR) while the others work: it may settle
 * INTERRUPTED arrays and reclaim debris, and must find nothing else wrong
 * (a killed worker's staged version or orphan file is not damage). */
static void op_repair(void)
{
    uint64_t seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
    lput(L_REPAIR, 0, 0, 0, seq, 0, false);
    int rc = mms_check(ws, MMS_CHECK_REPAIR, on_repair_problem, NULL);
    seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
    lput(L_REPAIRED, 0, 0, (uint64_t)-rc, seq, 0, false);
}

static void worker_main(unsigned id, uint64_t seed)
{
    wid = id;
    wrng = seed ^ mix64(id);
    char path[4300];
    ledger_path(path, sizeof path, id);
    lfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (lfd < 0) {
        fprintf(stderr, "soak: worker %u: %s: %s\n", id, path,
                strerror(errno));
        _exit(3);
    }
    int rc = mms_store_open(store_dir, 0, &ws);
    if (rc != MMS_OK)
        wdie(rc, "open the store");
    while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
        uint64_t op = rng_below(&wrng, 100);
        if (op < 40)
            op_row_write();
        else if (op < 65)
            op_add();
        else if (op < 80)
            op_read();
        else if (op < 88)
            op_publish();
        else if (op < 95)
            op_resize();
        else if (with_repair && op == 95)
            op_repair();
        else
            w_close((int)rng_below(&wrng, 2) ? A_ROWS : A_CTR);
    }
    w_close(A_ROWS);
    w_close(A_CTR);
    if ((rc = mms_store_close(ws)) != MMS_OK)
        wdie(rc, "close the store");
    fdatasync(lfd);
    close(lfd);
    _exit(0);
}

/* ---- the parent: results ------------------------------------------------ */

static int passed, failed;

__attribute__((format(printf, 2, 3)))
static void report(bool good, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", good ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (good)
        passed++;
    else
        failed++;
}

/* ---- the parent: workers ------------------------------------------------ */

typedef struct incarn {
    pid_t pid;
    bool killed;
    bool bad_exit;
    int status;
    uint64_t kill_seq;  /* sh->seq just after its death (killed ones) */
} incarn;

static incarn inc[MAXINCARN];
static unsigned nincarn;
static uint64_t seed;

static unsigned start_worker(void)
{
    if (nincarn >= MAXINCARN) {
        fprintf(stderr, "soak: more than %d workers\n", MAXINCARN);
        exit(2);
    }
    unsigned id = ++nincarn; /* ids start at 1; inc[0] is unused */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("soak: fork");
        exit(2);
    }
    if (pid == 0)
        worker_main(id, seed);
    inc[id].pid = pid;
    return id;
}

static void note_exit(unsigned id, int status)
{
    inc[id].status = status;
    inc[id].pid = 0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !inc[id].killed)
        inc[id].bad_exit = true;
}

/* ---- the parent: resources ---------------------------------------------- */

static long count_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static long proc_fds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
    return count_dir(p);
}

static long proc_rss_kib(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(p, "r");
    long size = 0, rss = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = -1;
        fclose(f);
    }
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

enum { T_RSS, T_FDS, T_WFDS, T_MDB, T_FILES, NTREND };
static const char *const tname[NTREND] = {
    "parent RSS (KiB)", "parent open fds", "largest worker's open fds",
    "catalog data.mdb (bytes)", "files in data/"};
typedef struct trend {
    long first, last, max;
    int n;
} trend;
static trend tr[NTREND];

static void sample(const unsigned *slot, int nworkers)
{
    char p[4200];
    struct stat st;
    long v[NTREND];
    v[T_RSS] = proc_rss_kib(getpid());
    v[T_FDS] = proc_fds(getpid());
    v[T_WFDS] = 0;
    for (int i = 0; i < nworkers; i++) {
        long n = inc[slot[i]].pid ? proc_fds(inc[slot[i]].pid) : -1;
        if (n > v[T_WFDS])
            v[T_WFDS] = n;
    }
    snprintf(p, sizeof p, "%s/catalog/data.mdb", store_dir);
    v[T_MDB] = stat(p, &st) == 0 ? (long)st.st_size : -1;
    snprintf(p, sizeof p, "%s/data", store_dir);
    v[T_FILES] = count_dir(p);
    for (int t = 0; t < NTREND; t++) {
        if (tr[t].n == 0)
            tr[t].first = v[t];
        tr[t].last = v[t];
        if (tr[t].n == 0 || v[t] > tr[t].max)
            tr[t].max = v[t];
        tr[t].n++;
    }
}

/* ---- the parent: setup -------------------------------------------------- */

static void die_rc(int rc, const char *what)
{
    fprintf(stderr, "soak: %s: %s (%s)\n", what, mms_strerror(rc),
            mms_errmsg());
    exit(2);
}

static void setup_store(void)
{
    mms_store *s;
    mms_array *a;
    int rc;
    if ((rc = mms_store_set_default_block_size(BLOCK_SIZE)) != MMS_OK)
        die_rc(rc, "block size");
    if ((rc = mms_store_open(store_dir, MMS_CREATE, &s)) != MMS_OK)
        die_rc(rc, "create the store");
    uint64_t rshape[2] = {INITROWS, COLS};
    if ((rc = mms_array_create(s, aname[A_ROWS], MMS_INT64, 2, rshape, 0,
                               &a)) != MMS_OK ||
        (rc = mms_array_close(a)) != MMS_OK)
        die_rc(rc, "create soak/rows");
    uint64_t cshape[1] = {NCTR};
    if ((rc = mms_array_create(s, aname[A_CTR], MMS_INT64, 1, cshape, 0,
                               &a)) != MMS_OK ||
        (rc = mms_array_close(a)) != MMS_OK)
        die_rc(rc, "create soak/ctr");
    uint64_t pshape[1] = {PUBN};
    if ((rc = mms_array_create(s, aname[A_PUB], MMS_INT64, 1, pshape, 0,
                               &a)) != MMS_OK)
        die_rc(rc, "create soak/pub");
    int64_t *d = mms_array_data(a);
    for (uint64_t i = 0; i < PUBN; i++)
        d[i] = pub_value(1, i);
    if ((rc = mms_array_close(a)) != MMS_OK)
        die_rc(rc, "close soak/pub");
    uint64_t ishape[1] = {IDLEN};
    if ((rc = mms_array_create(s, aname[A_IDLE], MMS_INT64, 1, ishape, 0,
                               &a)) != MMS_OK)
        die_rc(rc, "create soak/idle");
    d = mms_array_data(a);
    for (uint64_t i = 0; i < IDLEN; i++)
        d[i] = (int64_t)mix64(i);
    if ((rc = mms_array_close(a)) != MMS_OK)
        die_rc(rc, "close soak/idle");
    if ((rc = mms_store_close(s)) != MMS_OK)
        die_rc(rc, "close the store");
}

/* ---- the parent: reading the ledgers ------------------------------------ */

/* What one incarnation's ledger says. */
typedef struct wstate {
    int open[NARR];       /* 0 closed, 1 maybe open for writing, 2 open */
    bool dirty[NARR];
    uint64_t pub_id;      /* the soak/pub version it had open for writing */
    bool staging;         /* a staged version may exist (not published) */
    bool row_pending;     /* a row intent with no outcome */
    uint64_t pend_row, pend_seq;
    bool add_pending;
    uint64_t pend_ctr, pend_delta, pend_tok;
    bool repair_pending;
} wstate;

/* The latest end of a concurrent repair (--with-repair), in sh->seq: a
 * death before it may have been settled by that repair's verify. */
static uint64_t repair_end_max;

static wstate ws_of[MAXINCARN];

typedef struct rowmodel {
    uint64_t acked_seq;          /* latest acknowledged sequence number */
    uint64_t cut_seq;            /* latest resize that may have cut it off */
    uint64_t killed_seq;         /* latest intent of a killed writer */
} rowmodel;

static rowmodel rm[MAXROWS];

/* Every row intent (row, seq, wid), to check a row's content was meant. */
typedef struct intent {
    uint64_t seq, row, wid;
} intent;
static intent *intents;
static size_t nintents, capintents;

static int cmp_intent(const void *x, const void *y)
{
    const intent *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const intent *find_intent(uint64_t seq)
{
    intent key = {seq, 0, 0};
    return bsearch(&key, intents, nintents, sizeof key, cmp_intent);
}

static int64_t ctr_acked[NCTR];
typedef struct pending_add {
    uint64_t ctr;
    int64_t delta;
} pending_add;
static pending_add padd[MAXINCARN];
static unsigned npadd;

static struct {
    uint64_t row_acks, row_intents, row_unacks, adds, add_intents;
    uint64_t torn_seen, torn_unexplained, pub_seen, reader_fail;
    uint64_t read_passes, rows_checked, rows_busy, publishes, resizes;
    uint64_t bad_records, repairs, repair_damage;
} tot;

static uint64_t torn_rows[1024][2];
static unsigned ntorn;

static void read_ledger(unsigned id)
{
    char path[4300];
    ledger_path(path, sizeof path, id);
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* killed before it made its ledger */
    struct stat st;
    fstat(fd, &st);
    len = (size_t)st.st_size;
    lrec *recs = malloc(len + 1);
    if (!recs || read(fd, recs, len) != (ssize_t)len) {
        fprintf(stderr, "soak: cannot read %s\n", path);
        exit(2);
    }
    close(fd);
    wstate *w = &ws_of[id];
    size_t n = len / sizeof(lrec);
    for (size_t i = 0; i < n; i++) {
        const lrec *r = &recs[i];
        if (r->magic != L_MAGIC ||
            r->hash != XXH3_64bits(r, offsetof(lrec, hash)) ||
            r->arr >= NARR) {
            tot.bad_records++;
            break;
        }
        int arr = r->arr;
        switch (r->type) {
        case L_OPENING:
            w->open[arr] = 1;
            if (arr == A_PUB)
                w->pub_id = r->id;
            break;
        case L_OPENED:
            w->open[arr] = 2;
            if (arr == A_PUB) {
                w->pub_id = r->id;
                w->staging = false;
            }
            break;
        case L_DIRTY:
            w->dirty[arr] = true;
            break;
        case L_CLEAN:
            w->dirty[arr] = false;
            break;
        case L_CLOSING:
            w->open[arr] = 1;
            w->dirty[arr] = false;
            break;
        case L_CLOSED:
            w->open[arr] = 0;
            w->dirty[arr] = false;
            break;
        case L_ROW_INTENT:
            tot.row_intents++;
            if (nintents == capintents) {
                capintents = capintents ? 2 * capintents : 4096;
                intents = realloc(intents, capintents * sizeof *intents);
                if (!intents)
                    exit(2);
            }
            intents[nintents++] = (intent){r->b, r->a, id};
            w->row_pending = true;
            w->pend_row = r->a;
            w->pend_seq = r->b;
            break;
        case L_ROW_ACK:
            tot.row_acks++;
            w->row_pending = false;
            if (r->a < MAXROWS && r->b > rm[r->a].acked_seq)
                rm[r->a].acked_seq = r->b;
            break;
        case L_ROW_UNACK:
            tot.row_unacks++;
            w->row_pending = false;
            break;
        case L_ADD_INTENT:
            tot.add_intents++;
            w->add_pending = true;
            w->pend_ctr = r->a;
            w->pend_delta = r->b;
            w->pend_tok = r->c;
            break;
        case L_ADD_ACK:
            tot.adds++;
            w->add_pending = false;
            if (r->a < NCTR)
                ctr_acked[r->a] += (int64_t)r->b;
            break;
        case L_STAGING:
        case L_STAGED:
            w->staging = true;
            break;
        case L_PUBLISHED:
            tot.publishes++;
            break;
        case L_TORN_SEEN:
            tot.torn_seen++;
            if (ntorn < 1024) {
                torn_rows[ntorn][0] = r->a;
                torn_rows[ntorn][1] = id;
                ntorn++;
            }
            break;
        case L_PUB_SEEN:
            tot.pub_seen++;
            break;
        case L_REPAIR:
            tot.repairs++;
            w->repair_pending = true;
            break;
        case L_REPAIRED:
            w->repair_pending = false;
            if (r->b > repair_end_max)
                repair_end_max = r->b;
            break;
        case L_FAIL:
            if (r->a == F_REPAIR_DAMAGE)
                tot.repair_damage++;
            else
                tot.reader_fail++;
            printf("# worker %u saw a broken promise: code %" PRIu64
                   ", %" PRIu64 ", %" PRIu64 " (version id %" PRIu64 ")\n",
                   id, r->a, r->b, r->c, r->id);
            break;
        case L_READ_PASS:
            tot.read_passes++;
            tot.rows_checked += r->a;
            tot.rows_busy += r->b;
            break;
        case L_RESIZING:
            /* Begun is enough: a killed resizer may have committed. */
            for (uint64_t row = r->a; row < MAXROWS; row++)
                if (r->b > rm[row].cut_seq)
                    rm[row].cut_seq = r->b;
            break;
        case L_RESIZED:
            tot.resizes++;
            break;
        default:
            tot.bad_records++;
            i = n;
            break;
        }
    }
    if (len % sizeof(lrec) != 0)
        tot.bad_records++; /* a record torn by the kill */
    free(recs);
    if (!inc[id].killed)
        return;
    if (w->row_pending && w->pend_row < MAXROWS &&
        w->pend_seq > rm[w->pend_row].killed_seq)
        rm[w->pend_row].killed_seq = w->pend_seq;
    if (w->repair_pending && inc[id].kill_seq > repair_end_max)
        repair_end_max = inc[id].kill_seq;
    if (w->add_pending && npadd < MAXINCARN)
        padd[npadd++] = (pending_add){w->pend_ctr, (int64_t)w->pend_delta};
}

/* ---- the parent: the oracle ---------------------------------------------- */

typedef struct checkres {
    bool interrupted[NARR];
    uint64_t nblocks[NARR];      /* CHECKSUM problems */
    uint64_t blocks[NARR][64];
    unsigned kinds[16];          /* problems by kind */
    unsigned unrepaired[16];     /* problems by kind, not repaired */
    unsigned repaired;
    unsigned unnamed;            /* problems with no array name */
} checkres;

static int on_problem(const mms_problem *p, void *ctx)
{
    checkres *c = ctx;
    if ((unsigned)p->kind < 16) {
        c->kinds[p->kind]++;
        c->unrepaired[p->kind] += !p->repaired;
    }
    if (p->repaired)
        c->repaired++;
    int i = arr_index(p->name);
    printf("#   check: kind %d %s block %" PRIu64 " %s%s\n", (int)p->kind,
           p->name ? p->name : (p->path ? p->path : "-"), p->block,
           p->detail ? p->detail : "", p->repaired ? " (repaired)" : "");
    if (i < 0) {
        c->unnamed++;
        return 0;
    }
    if (p->kind == MMS_PROBLEM_INTERRUPTED)
        c->interrupted[i] = true;
    if (p->kind == MMS_PROBLEM_CHECKSUM && c->nblocks[i] < 64)
        c->blocks[i][c->nblocks[i]++] = p->block;
    return 0;
}

typedef struct vres {
    uint64_t n;
    uint64_t blocks[64];
} vres;

static int on_verify(const char *name, uint64_t block, uint64_t first_row,
                     uint64_t nrows, void *ctx)
{
    (void)name;
    (void)first_row;
    (void)nrows;
    vres *v = ctx;
    if (v->n < 64)
        v->blocks[v->n++] = block;
    return 0;
}

static int on_lock(const mms_lock_info *l, void *ctx)
{
    unsigned *n = ctx;
    (*n)++;
    printf("#   lock held: rows %" PRIu64 " +%" PRIu64 " mode %d\n",
           l->first_row, l->nrows, l->mode);
    return 0;
}

static int reader_line(const char *msg, void *ctx)
{
    return fputs(msg, ctx) < 0 ? -1 : 0;
}

/* LMDB reader slots: used ones, and those of processes that are gone. */
static int count_readers(int *used, int *dead)
{
    MDB_env *env;
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog", store_dir);
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(env, 8);
    if ((rc = mdb_env_open(env, path, MDB_RDONLY, 0600)) != 0) {
        mdb_env_close(env);
        return rc;
    }
    MDB_envinfo ei;
    mdb_env_info(env, &ei);
    *used = 0;
    *dead = 0;
    /* mdb_reader_list prints a header, then one line per used slot. */
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    mdb_reader_list(env, reader_line, f);
    fclose(f);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        int pid;
        if (sscanf(line, "%d", &pid) == 1 && pid > 0) {
            (*used)++;
            if (kill(pid, 0) != 0 && errno == ESRCH)
                (*dead)++;
        }
    }
    free(buf);
    mdb_env_close(env);
    return 0;
}

/* The data of a version, read from its file (data/<id>.npy, at 4096 as
 * docs/format.md says), so the checks of the data do not depend on the
 * array opening: a malloc'd buffer of len bytes, or NULL. */
static void *read_data(const mms_info *in, size_t len)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/data/%016" PRIx64 ".npy", store_dir,
             in->id);
    void *buf = calloc(1, len ? len : 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool good = buf && fd >= 0 &&
                pread(fd, buf, len, 4096) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    if (!good) {
        printf("# cannot read %zu bytes of %s: %s\n", len, path,
               strerror(errno));
        free(buf);
        return NULL;
    }
    return buf;
}

/* Is some subset of the pending adds on counter c worth exactly diff? */
static bool subset_sum(const int64_t *d, unsigned n, int64_t diff)
{
    if (diff == 0)
        return true;
    if (n == 0 || diff < 0)
        return false;
    return subset_sum(d + 1, n - 1, diff - d[0]) ||
           subset_sum(d + 1, n - 1, diff);
}

static bool same_blocks(const uint64_t *a, uint64_t na, const uint64_t *b,
                        uint64_t nb)
{
    if (na != nb)
        return false;
    for (uint64_t i = 0; i < na; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static void oracle(unsigned kills, int kill_min)
{
    int rc;
    char path[4200];

    /* The workers. */
    unsigned bad = 0;
    for (unsigned id = 1; id <= nincarn; id++)
        if (inc[id].bad_exit) {
            bad++;
            printf("# worker %u ended with status 0x%x\n", id,
                   (unsigned)inc[id].status);
        }
    report(bad == 0, "workers: %u ran, %u killed, %u ended badly", nincarn,
           kills, bad);

    for (unsigned id = 1; id <= nincarn; id++)
        read_ledger(id);
    if (nintents)
        qsort(intents, nintents, sizeof *intents, cmp_intent);
    printf("# ledgers: %" PRIu64 " row intents, %" PRIu64
           " acknowledged, %" PRIu64 " cut off by a resize; %" PRIu64
           " adds acknowledged of %" PRIu64 "; %" PRIu64 " publishes, %" PRIu64
           " resizes, %" PRIu64 " read passes (%" PRIu64 " rows checked, %" PRIu64
           " busy); %" PRIu64 " records torn by kills\n",
           tot.row_intents, tot.row_acks, tot.row_unacks, tot.adds,
           tot.add_intents, tot.publishes, tot.resizes, tot.read_passes,
           tot.rows_checked, tot.rows_busy, tot.bad_records);
    report(tot.bad_records <= kills,
           "ledgers: %" PRIu64 " torn records, at most one per kill (%u)",
           tot.bad_records, kills);

    /* What the deaths touched. */
    bool must[NARR] = {false}, may[NARR] = {false};
    uint64_t pub_must_id[MAXINCARN], pub_may_id[MAXINCARN];
    unsigned npm = 0, npy = 0, staging_deaths = 0, settled = 0;
    for (unsigned id = 1; id <= nincarn; id++) {
        if (!inc[id].killed)
            continue;
        const wstate *w = &ws_of[id];
        /* A concurrent repair that ended after this death may have
         * settled what it left: then INTERRUPTED is allowed, not due. */
        bool due = inc[id].kill_seq > repair_end_max;
        settled += !due;
        if (w->staging)
            staging_deaths++;
        for (int a = 0; a < NARR; a++) {
            if (a == A_PUB) {
                if (w->open[a] == 2 && w->dirty[a] && due)
                    pub_must_id[npm++] = w->pub_id;
                if (w->open[a])
                    pub_may_id[npy++] = w->pub_id;
                continue;
            }
            if (w->open[a] == 2 && w->dirty[a] && due)
                must[a] = true;
            if (w->open[a])
                may[a] = true;
        }
    }

    if (with_repair) {
        printf("# %" PRIu64 " concurrent repairs; %u deaths before the last "
               "one ended (their INTERRUPTED may have been settled)\n",
               tot.repairs, settled);
        report(tot.repair_damage == 0,
               "concurrent repairs: %" PRIu64 " found a bad file, record or "
               "missing file (a live resize or publish taken for damage)",
               tot.repair_damage);
    }

    mms_store *s;
    int used0 = -1, dead0 = -1;
    if ((rc = count_readers(&used0, &dead0)) != 0)
        printf("# cannot read the reader table: %s\n", mdb_strerror(rc));
    if ((rc = mms_store_open(store_dir, 0, &s)) != MMS_OK)
        die_rc(rc, "open the store for the oracle");

    mms_info info[NARR];
    for (int a = 0; a < NARR; a++)
        if ((rc = mms_stat(s, aname[a], &info[a])) != MMS_OK)
            die_rc(rc, aname[a]);
    for (unsigned i = 0; i < npm; i++)
        if (pub_must_id[i] == info[A_PUB].id)
            must[A_PUB] = true;
    for (unsigned i = 0; i < npy; i++)
        if (pub_may_id[i] == info[A_PUB].id)
            may[A_PUB] = true;
    unsigned n_int = 0;
    for (int a = 0; a < NARR; a++) {
        bool st = info[a].state == MMS_STATE_INTERRUPTED;
        n_int += st;
        bool good = info[a].state != MMS_STATE_WRITING &&
                    info[a].state != MMS_STATE_STAGED &&
                    (!must[a] || st) && (st ? may[a] : true);
        report(good,
               "%s is %s (state %d): a killed worker had it open for "
               "writing: %s, with unsynced writes: %s",
               aname[a], st ? "INTERRUPTED" : "not interrupted",
               (int)info[a].state, may[a] ? "yes" : "no",
               must[a] ? "yes" : "no");
    }
    if (kill_min == 0)
        report(n_int == 0, "no kills: %u arrays INTERRUPTED, expected 0",
               n_int);

    /* Rows: every acknowledged write intact, every row whole or explained. */
    uint64_t rows = info[A_ROWS].shape[0];
    if (rows > MAXROWS)
        rows = MAXROWS;
    int64_t *d = read_data(&info[A_ROWS], rows * COLS * sizeof(int64_t));
    if (!d)
        d = calloc(MAXROWS * COLS, sizeof(int64_t)); /* then all zero */
    unsigned r_ok = 0, r_zero = 0, r_later = 0, r_torn_killed = 0, r_bad = 0;
    uint64_t acked_rows = 0;
    for (uint64_t r = 0; r < rows && r < MAXROWS; r++) {
        const int64_t *row = d + r * COLS;
        /* A row past MINROWS that a resize may have cut off (and a later
         * one grown back, zero) after its last acknowledgement may be
         * zero; otherwise it holds that write or a later one. */
        uint64_t acked = rm[r].acked_seq;
        bool cut = rm[r].cut_seq > acked;
        acked_rows += acked != 0;
        if (row_zero(row)) {
            if (acked == 0 || cut) {
                r_zero++;
                continue;
            }
            r_bad++;
            printf("# row %" PRIu64 " is zero, acknowledged seq %" PRIu64
                   "\n", r, acked);
            continue;
        }
        if (row_valid(row, r)) {
            uint64_t sq = (uint64_t)row[0];
            const intent *in = find_intent(sq);
            if (in && in->row == r && in->wid == (uint64_t)row[1] &&
                sq >= acked) {
                if (sq == acked)
                    r_ok++;
                else
                    r_later++;
                continue;
            }
            r_bad++;
            printf("# row %" PRIu64 " holds seq %" PRIu64 " of writer %" PRId64
                   " (%s), acknowledged seq %" PRIu64 "\n",
                   r, sq, row[1], in ? "intended elsewhere" : "never intended",
                   acked);
            continue;
        }
        if (rm[r].killed_seq > acked) {
            r_torn_killed++;
            continue;
        }
        r_bad++;
        printf("# row %" PRIu64 " is torn (seq cell %" PRId64
               ") and no killed writer was writing it after seq %" PRIu64
               "\n", r, row[0], acked);
    }
    report(r_bad == 0,
           "rows: %" PRIu64 " rows in shape, %u hold their latest acknowledged "
           "write, %u a later unacknowledged one, %u zero (never written, or cut off by a resize), %u torn "
           "by a killed writer, %u wrong (%" PRIu64 " rows ever acknowledged)",
           rows, r_ok, r_later, r_zero, r_torn_killed, r_bad, acked_rows);
    unsigned unexplained = 0;
    for (unsigned i = 0; i < ntorn; i++) {
        uint64_t r = torn_rows[i][0];
        if (r >= MAXROWS || rm[r].killed_seq == 0) {
            unexplained++;
            printf("# worker %" PRIu64 " saw row %" PRIu64
                   " torn, and no killed writer was writing it\n",
                   torn_rows[i][1], r);
        }
    }
    report(unexplained == 0,
           "readers: %" PRIu64 " torn rows seen under a shared lock, %u not "
           "explained by a killed writer",
           tot.torn_seen, unexplained);
    free(d);

    /* Counters: exactly the acknowledged adds, plus some of the adds that
     * killed workers had begun. */
    d = read_data(&info[A_CTR], NCTR * sizeof(int64_t));
    if (!d)
        d = calloc(NCTR, sizeof(int64_t));
    unsigned c_bad = 0, c_pending = 0;
    int64_t total = 0;
    for (unsigned c = 0; c < NCTR; c++) {
        int64_t dl[MAXINCARN];
        unsigned k = 0;
        for (unsigned i = 0; i < npadd; i++)
            if (padd[i].ctr == c)
                dl[k++] = padd[i].delta;
        c_pending += k;
        total += d[c];
        int64_t diff = d[c] - ctr_acked[c];
        if (!(k <= 24 && subset_sum(dl, k, diff))) {
            c_bad++;
            printf("# counter %u is %" PRId64 ", acknowledged adds sum to %"
                   PRId64 ", %u adds of killed workers pending\n",
                   c, d[c], ctr_acked[c], k);
        }
    }
    report(c_bad == 0,
           "counters: %u of %d exact (total %" PRId64 ", %" PRIu64
           " acknowledged adds, %u begun by killed workers)",
           NCTR - c_bad, NCTR, total, tot.adds, c_pending);
    free(d);

    /* Publish: whole versions only, never backwards; the last one whole. */
    d = read_data(&info[A_PUB], PUBN * sizeof(int64_t));
    int64_t pb = d ? pub_bad(d, PUBN, info[A_PUB].generation) : 0;
    free(d);
    report(tot.reader_fail == 0 && pb < 0,
           "publish: %" PRIu64 " publishes, generation %" PRIu64
           " now and whole; readers saw %" PRIu64
           " versions whole, %" PRIu64 " torn, changed or backward",
           tot.publishes, info[A_PUB].generation, tot.pub_seen,
           tot.reader_fail);

    /* Every array opens (its header agrees with the catalog), and no row
     * range of any is locked. */
    unsigned nl = 0, nopen = 0;
    for (int i = 0; i < NARR; i++) {
        mms_array *a;
        if ((rc = mms_array_open(s, aname[i], MMS_RDONLY, &a)) != MMS_OK) {
            printf("# %s does not open: %s (%s)\n", aname[i],
                   mms_strerror(rc), mms_errmsg());
            continue;
        }
        nopen++;
        mms_lock_list(a, on_lock, &nl);
        mms_array_close(a);
    }
    report(nopen == NARR, "arrays: %u of %d open", nopen, NARR);
    mms_lock *nlk = NULL;
    rc = mms_lock_named(s, PUB_LOCK, MMS_LOCK_EXCLUSIVE, 0, &nlk);
    mms_unlock(nlk);
    report(nl == 0 && rc == MMS_OK,
           "locks: %u row ranges held (mms_lock_list), named lock %s", nl,
           rc == MMS_OK ? "free" : mms_strerror(rc));

    /* check(0) and verify agree with each other and with mms_stat. */
    checkres c0;
    memset(&c0, 0, sizeof c0);
    printf("# mms_check(0):\n");
    int crc = mms_check(s, 0, on_problem, &c0);
    unsigned disagree = 0, vmis = 0;
    for (int i = 0; i < NARR; i++) {
        bool st = info[i].state == MMS_STATE_INTERRUPTED;
        vres v;
        memset(&v, 0, sizeof v);
        int vrc = mms_verify(s, aname[i], on_verify, &v);
        vmis += (unsigned)v.n;
        bool good = c0.interrupted[i] == st &&
                    (vrc == MMS_OK || vrc == MMS_ERR_CHECKSUM) &&
                    (vrc == MMS_OK) == (v.n == 0) &&
                    same_blocks(c0.blocks[i], c0.nblocks[i], v.blocks, v.n) &&
                    (st || v.n == 0);
        if (!good) {
            disagree++;
            printf("# %s: stat %s, check(0) %s with %" PRIu64
                   " bad blocks, verify %s with %" PRIu64 "\n",
                   aname[i], st ? "INTERRUPTED" : "not interrupted",
                   c0.interrupted[i] ? "INTERRUPTED" : "not interrupted",
                   c0.nblocks[i], mms_strerror(vrc), v.n);
        }
    }
    report(disagree == 0,
           "check(0) (%s) and verify agree with mms_stat on all %d arrays "
           "(%u INTERRUPTED, %u mismatching blocks)",
           mms_strerror(crc), NARR, n_int, vmis);

    /* Repair reclaims the debris of killed publishers. */
    snprintf(path, sizeof path, "%s/data", store_dir);
    long before = count_dir(path);
    checkres cr;
    memset(&cr, 0, sizeof cr);
    printf("# mms_check(MMS_CHECK_REPAIR):\n");
    int rrc = mms_check(s, MMS_CHECK_REPAIR, on_problem, &cr);
    long after = count_dir(path);
    report(after == NARR && before - NARR <= (long)staging_deaths,
           "repair (%s): files in data/ %ld before, %ld after (one per "
           "array: %d); debris %ld, at most the %u publishers killed while "
           "staging; %u dead staged versions and %u orphan files repaired",
           mms_strerror(rrc), before, after, NARR, before - NARR,
           staging_deaths, cr.kinds[MMS_PROBLEM_DEAD_STAGED],
           cr.kinds[MMS_PROBLEM_ORPHAN_FILE]);
    checkres c1;
    memset(&c1, 0, sizeof c1);
    printf("# mms_check(0) after the repair:\n");
    int c1rc = mms_check(s, 0, on_problem, &c1);
    unsigned left = 0;
    for (int k = 0; k < 16; k++)
        if (k != MMS_PROBLEM_INTERRUPTED && k != MMS_PROBLEM_CHECKSUM)
            left += c1.unrepaired[k];
    report(left == 0 && c1.unnamed == 0,
           "after the repair check(0) says %s: %u problems left other than "
           "torn blocks of interrupted arrays (%u interrupted, %u blocks)",
           mms_strerror(c1rc), left, c1.kinds[MMS_PROBLEM_INTERRUPTED],
           c1.kinds[MMS_PROBLEM_CHECKSUM]);
    if ((rc = mms_store_close(s)) != MMS_OK)
        die_rc(rc, "close the store");

    int used1 = -1, dead1 = -1;
    if ((rc = count_readers(&used1, &dead1)) != 0)
        printf("# cannot read the reader table: %s\n", mdb_strerror(rc));
    report(rc == 0 && used1 == 0,
           "LMDB readers: %d slots used (%d of dead processes) when the "
           "workers were gone, %d used after the oracle's store closed",
           used0, dead0, used1);

    /* Resource trends. */
    unsigned grew = 0;
    for (int t = 0; t < NTREND; t++) {
        long limit;
        switch (t) {
        case T_RSS: limit = 4 * tr[t].first + 65536; break;
        case T_FDS: limit = 2 * tr[t].first + 16; break;
        case T_WFDS: limit = 2 * tr[t].first + 32; break;
        case T_MDB: limit = 16 * tr[t].first + (64L << 20); break;
        default: limit = 2 * (NARR + MAXWORKERS) + (long)staging_deaths; break;
        }
        bool good = tr[t].n > 0 && tr[t].last <= limit && tr[t].first >= 0;
        grew += !good;
        printf("# trend %-28s first %10ld last %10ld max %10ld limit %10ld "
               "(%d samples)\n",
               tname[t], tr[t].first, tr[t].last, tr[t].max, limit, tr[t].n);
    }
    report(grew == 0, "resources: %u of %d trends grew past their limit",
           grew, NTREND);
}

/* ---- main ----------------------------------------------------------------- */

/* The killer's next pause: MIN..MAX ms, in nanoseconds. */
static int64_t kill_gap_ns(uint64_t *krng, int min, int max)
{
    return (min + (int64_t)rng_below(krng, (uint64_t)(max - min + 1))) *
           1000000;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak [--seconds N] [--workers N] "
                    "[--kill-every-ms MIN:MAX | 0] [--seed S] [--store DIR] "
                    "[--with-repair]\n");
    exit(2);
}

static int rm_tree(const char *path)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", path, ledger_dir);
    return system(cmd);
}

int main(int argc, char **argv)
{
    long seconds = 60;
    int nworkers = 4;
    int kill_min = 0, kill_max = 0;
    const char *store_opt = NULL;
    bool have_seed = false;
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 't'},
        {"workers", required_argument, NULL, 'w'},
        {"kill-every-ms", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"store", required_argument, NULL, 'd'},
        {"with-repair", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': seconds = strtol(optarg, NULL, 10); break;
        case 'w': nworkers = atoi(optarg); break;
        case 'k':
            if (strcmp(optarg, "0") == 0)
                kill_min = kill_max = 0;
            else if (sscanf(optarg, "%d:%d", &kill_min, &kill_max) != 2 ||
                     kill_min <= 0 || kill_max < kill_min)
                usage();
            break;
        case 's':
            seed = strtoull(optarg, NULL, 0);
            have_seed = true;
            break;
        case 'd': store_opt = optarg; break;
        case 'r': with_repair = true; break;
        default: usage();
        }
    }
    if (optind != argc || seconds <= 0 || nworkers < 1 ||
        nworkers > MAXWORKERS)
        usage();
    if (!have_seed)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    uint64_t krng = seed ^ UINT64_C(0x5eed);

    if (store_opt) {
        snprintf(store_dir, sizeof store_dir, "%s", store_opt);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(store_dir, sizeof store_dir, "%s/mmstore-soak-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(store_dir)) {
            perror("soak: mkdtemp");
            return 2;
        }
        rmdir(store_dir); /* mms_store_open makes it */
    }
    snprintf(ledger_dir, sizeof ledger_dir, "%s.ledgers", store_dir);
    if (mkdir(ledger_dir, 0700) != 0) {
        fprintf(stderr, "soak: mkdir %s: %s\n", ledger_dir, strerror(errno));
        return 2;
    }
    printf("# soak: --seconds %ld --workers %d --kill-every-ms %d:%d "
           "--seed %" PRIu64 " --store %s%s\n",
           seconds, nworkers, kill_min, kill_max, seed, store_dir,
           with_repair ? " --with-repair" : "");
    fflush(stdout);

    setup_store();
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("soak: mmap");
        return 2;
    }

    unsigned slot[MAXWORKERS];
    for (int i = 0; i < nworkers; i++)
        slot[i] = start_worker();

    int64_t start = now_ns();
    int64_t end = start + (int64_t)seconds * 1000000000;
    int64_t next_sample = start + 1000000000;
    int64_t next_kill =
        kill_min ? start + kill_gap_ns(&krng, kill_min, kill_max) : INT64_MAX;
    unsigned kills = 0, early = 0;
    for (;;) {
        int64_t now = now_ns();
        if (now >= end)
            break;
        /* Workers that ended by themselves (they should not). */
        for (int i = 0; i < nworkers; i++) {
            int status;
            if (waitpid(inc[slot[i]].pid, &status, WNOHANG) ==
                inc[slot[i]].pid) {
                note_exit(slot[i], status);
                fprintf(stderr, "soak: worker %u ended early\n", slot[i]);
                slot[i] = start_worker();
                if (++early > (unsigned)nworkers) {
                    fprintf(stderr, "soak: %u workers ended early: the run "
                                    "stops here\n", early);
                    end = now;
                }
            }
        }
        if (now >= next_kill) {
            int i = (int)rng_below(&krng, (uint64_t)nworkers);
            unsigned id = slot[i];
            kill(inc[id].pid, SIGKILL);
            int status;
            waitpid(inc[id].pid, &status, 0);
            inc[id].kill_seq =
                __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
            /* Killed, unless it had ended by itself just before. */
            inc[id].killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
            kills += inc[id].killed;
            note_exit(id, status);
            slot[i] = start_worker();
            next_kill = now + kill_gap_ns(&krng, kill_min, kill_max);
        }
        if (now >= next_sample) {
            sample(slot, nworkers);
            next_sample += 1000000000;
        }
        int64_t wake = next_kill < next_sample ? next_kill : next_sample;
        if (wake > end)
            wake = end;
        int64_t ms = (wake - now_ns()) / 1000000;
        sleep_ms(ms < 1 ? 1 : (ms > 100 ? 100 : ms));
    }
    sample(slot, nworkers);
    __atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
    int64_t deadline = now_ns() + (int64_t)120 * 1000000000;
    for (int i = 0; i < nworkers; i++) {
        unsigned id = slot[i];
        int status;
        for (;;) {
            pid_t p = waitpid(inc[id].pid, &status, WNOHANG);
            if (p == inc[id].pid)
                break;
            if (now_ns() > deadline) {
                fprintf(stderr, "soak: worker %u did not stop: killed\n", id);
                kill(inc[id].pid, SIGKILL);
                waitpid(inc[id].pid, &status, 0);
                break;
            }
            sleep_ms(10);
        }
        note_exit(id, status);
    }
    printf("# %ld s done, %u kills; the oracle:\n", seconds, kills);
    oracle(kills, kill_min);
    printf("# seed %" PRIu64 "%s\n", seed,
           failed ? ": rerun with --seed to replay" : "");
    printf("RESULT: %d passed, %d failed\n", passed, failed);
    if (failed)
        printf("# the store and the ledgers are kept: %s, %s\n", store_dir,
               ledger_dir);
    else if (!store_opt)
        rm_tree(store_dir);
    return failed ? 1 : 0;
}
