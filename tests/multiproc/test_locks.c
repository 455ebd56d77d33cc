/*
 * test_locks.c - range locks (mms_lock_range) and named locks
 * (mms_lock_named) between real processes and threads: mutual exclusion
 * under contention, release by the kernel when a holder is killed, shared
 * and exclusive modes, try-locks and timeouts, disjoint and open-ended row
 * ranges, the on-disk lock layout, listing the locks of other processes,
 * argument and read-only errors, closing an array with a lock held, and
 * what a forked child may and may not do with its parent's handles.
 *
 * Children are forked with procutil and report through pipes; they open
 * their own store handle unless the test is about using the parent's.
 * Since range locks exclude between handles of one process too, the parent
 * often probes a lock through a second handle of its own.
 */
#define _GNU_SOURCE
#include "procutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROW_LOCK_BASE 4096 /* format.md: row r is byte 4096 + r */

/* Creates a store at path with an int64 array of rows x cols named name,
 * holding row * 1000 + col; leaves the store and a RDWR handle open. */
static bool make_store(const char *path, const char *name, uint64_t rows,
                       uint64_t cols, mms_store **s, mms_array **a)
{
    uint64_t shape[2] = { rows, cols };
    *s = NULL;
    *a = NULL;
    if (!PU_OK(mms_store_open(path, MMS_CREATE, s)) ||
        !PU_OK(mms_array_create(*s, name, MMS_INT64, 2, shape, 0, a)))
        return false;
    int64_t *d = mms_array_data(*a);
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++)
            d[r * cols + c] = (int64_t)(r * 1000 + c);
    return PU_OK(mms_array_sync(*a));
}

/* ---- probes: a third process tries locks with timeout 0 ----------------- */

typedef struct probe {
    const char *key;  /* named lock key, or NULL for a range lock */
    uint64_t first, nrows;
    int mode;
    int expected;     /* MMS_OK or MMS_ERR_BUSY */
} probe;

typedef struct probe_arg {
    const char *path;
    const char *array;
    const probe *probes; /* terminated by mode 0 */
} probe_arg;

static const char *mode_name(int mode)
{
    return mode == MMS_LOCK_EXCLUSIVE ? "EXCLUSIVE"
           : mode == MMS_LOCK_SHARED  ? "SHARED"
                                      : "(bad mode)";
}

static void child_probe(void *varg)
{
    const probe_arg *arg = varg;
    mms_store *s;
    mms_array *a;
    pu_child_ok(mms_store_open(arg->path, 0, &s), "mms_store_open in the "
                "probing process");
    pu_child_ok(mms_array_open(s, arg->array, MMS_RDWR, &a),
                "mms_array_open in the probing process");
    for (const probe *p = arg->probes; p->mode; p++) {
        mms_lock *l;
        char what[512];
        int rc;
        if (p->key) {
            rc = mms_lock_named(s, p->key, p->mode, 0, &l);
            snprintf(what, sizeof what, "another process's mms_lock_named"
                     "('%s', %s, timeout 0)", p->key, mode_name(p->mode));
        } else {
            rc = mms_lock_range(a, p->first, p->nrows, p->mode, 0, &l);
            snprintf(what, sizeof what, "another process's mms_lock_range"
                     "(rows %" PRIu64 "+%" PRIu64 ", %s, timeout 0)",
                     p->first, p->nrows, mode_name(p->mode));
        }
        pu_child_rc_is(rc, p->expected, what);
        if (rc == MMS_OK)
            pu_child_ok(mms_unlock(l), "mms_unlock in the probing process");
    }
    pu_child_ok(mms_array_close(a), "mms_array_close in the probing process");
    pu_child_ok(mms_store_close(s), "mms_store_close in the probing process");
}

/* Runs the probes in a new process and checks it agreed with them all. */
static bool probe_from_another_process_at(const char *file, int line,
                                          const char *path, const char *array,
                                          const probe *probes)
{
    probe_arg arg = { path, array, probes };
    pu_child c = PU_CHILD_INIT;
    bool ok = pu_start_at(file, line, &c, "probing process", child_probe,
                          &arg) &&
              pu_finish_at(file, line, &c);
    pu_reap(&c);
    return ok;
}

#define PROBE(path, array, ...)                                              \
    probe_from_another_process_at(__FILE__, __LINE__, (path), (array),       \
                                  (const probe[]){ __VA_ARGS__, { 0 } })

/* ---- 1. counters incremented by 4 processes x 2 threads ----------------- */

#define INC_PROCS 4
#define INC_THREADS 2
#define INC_ITERS 10000
#define INC_ROWS 8
#define INC_COLS 4
#define INC_ROW 5 /* the counter row: [count, holder, 0, 0] */

typedef struct inc_arg {
    const char *path;
    bool own_handles; /* each thread opens its own array handle */
    int iters;        /* increments per thread */
    int timeout_ms;   /* for each mms_lock_range */
} inc_arg;

typedef struct inc_thread {
    const inc_arg *test;
    mms_store *store;
    mms_array *shared; /* the process's handle, when threads share one */
    int64_t me;        /* a number no other thread of the test uses */
} inc_thread;

/* Read, add one, write back: no atomics, so only the lock keeps two
 * holders from losing each other's updates. The holder cell catches an
 * overlap at once: it must still name this thread when it unlocks. */
static void *inc_thread_main(void *varg)
{
    inc_thread *t = varg;
    mms_array *a = t->shared;
    if (t->test->own_handles)
        pu_child_ok(mms_array_open(t->store, "counter", MMS_RDWR, &a),
                    "mms_array_open('counter', MMS_RDWR) in a thread");
    volatile int64_t *row = (int64_t *)mms_array_data(a) + INC_ROW * INC_COLS;
    for (int i = 0; i < t->test->iters; i++) {
        mms_lock *l;
        int rc = mms_lock_range(a, INC_ROW, 1, MMS_LOCK_EXCLUSIVE,
                                t->test->timeout_ms, &l);
        if (rc != MMS_OK)
            pu_child_fail("thread %" PRId64 ", increment %d: mms_lock_range("
                          "row %d, EXCLUSIVE, %d) returned %d (%s: %s)",
                          t->me, i, INC_ROW, t->test->timeout_ms, rc,
                          mms_strerror(rc), mms_errmsg());
        row[1] = t->me;
        int64_t v = row[0];
        for (volatile int spin = 0; spin < 50; spin++)
            ; /* widen the window a missing lock would let others into */
        row[0] = v + 1;
        if (row[1] != t->me)
            pu_child_fail("thread %" PRId64 ", increment %d: thread %" PRId64
                          " wrote the counter row while this one held an "
                          "exclusive lock on it", t->me, i, row[1]);
        if ((rc = mms_unlock(l)) != MMS_OK)
            pu_child_fail("thread %" PRId64 ": mms_unlock returned %d (%s: "
                          "%s)", t->me, rc, mms_strerror(rc), mms_errmsg());
    }
    if (t->test->own_handles)
        pu_child_ok(mms_array_close(a), "mms_array_close in a thread");
    return NULL;
}

typedef struct inc_proc_arg {
    const inc_arg *test;
    int index;
} inc_proc_arg;

static void child_increment(void *varg)
{
    const inc_proc_arg *p = varg;
    mms_store *s;
    mms_array *a = NULL;
    pu_child_ok(mms_store_open(p->test->path, 0, &s),
                "mms_store_open in an incrementing process");
    if (!p->test->own_handles)
        pu_child_ok(mms_array_open(s, "counter", MMS_RDWR, &a),
                    "mms_array_open('counter', MMS_RDWR) in an incrementing "
                    "process");
    inc_thread t[INC_THREADS];
    pthread_t tid[INC_THREADS];
    pu_child_send('r');
    pu_child_expect('g'); /* everybody starts at once */
    for (int i = 0; i < INC_THREADS; i++) {
        t[i] = (inc_thread){ p->test, s, a,
                             (int64_t)(p->index * INC_THREADS + i + 1) };
        int e = pthread_create(&tid[i], NULL, inc_thread_main, &t[i]);
        if (e != 0)
            pu_child_fail("pthread_create: %s", strerror(e));
    }
    for (int i = 0; i < INC_THREADS; i++)
        pthread_join(tid[i], NULL);
    pu_child_ok(mms_array_close(a), "mms_array_close in an incrementing "
                "process");
    pu_child_ok(mms_store_close(s), "mms_store_close in an incrementing "
                "process");
}

static void run_increments(bool own_handles)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child c[INC_PROCS];
    /* valgrind (3.19 at least) does not know that F_OFD_SETLKW blocks:
     * a thread waiting in it keeps valgrind's lock on its process, so the
     * holder, another thread of that process, never runs again. Under
     * valgrind the threads wait with a timeout instead (the library polls
     * with F_OFD_SETLK then), and do fewer rounds, as everything is ~50
     * times slower there. */
    inc_arg arg = { path, own_handles, INC_ITERS, -1 };
    if (RUNNING_ON_VALGRIND) {
        arg.iters = INC_ITERS / 10;
        arg.timeout_ms = PU_WAIT_MS;
    }
    inc_proc_arg parg[INC_PROCS];
    uint64_t shape[2] = { INC_ROWS, INC_COLS };
    for (int i = 0; i < INC_PROCS; i++)
        c[i] = (pu_child)PU_CHILD_INIT;
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !PU_OK(mms_array_create(s, "counter", MMS_INT64, 2, shape, 0, &a)) ||
        !PU_OK(mms_array_close(a)))
        goto out;
    a = NULL;
    for (int i = 0; i < INC_PROCS; i++) {
        parg[i] = (inc_proc_arg){ &arg, i };
        if (!PU_START(&c[i], "incrementing process", child_increment,
                      &parg[i]) ||
            !PU_WAIT_FOR(&c[i], 'r', "opened the store"))
            goto out;
    }
    for (int i = 0; i < INC_PROCS; i++)
        if (!PU_TELL(&c[i], 'g'))
            goto out;
    for (int i = 0; i < INC_PROCS; i++)
        if (!PU_FINISH(&c[i]))
            goto out;
    if (!PU_OK(mms_array_open(s, "counter", MMS_RDONLY, &a)))
        goto out;
    const int64_t *d = mms_array_data(a);
    int64_t want = (int64_t)INC_PROCS * INC_THREADS * arg.iters;
    PU_CHECK(d[INC_ROW * INC_COLS] == want, "the counter is %" PRId64
             " after %d processes x %d threads x %d locked increments, "
             "expected %" PRId64 ": %" PRId64 " updates were lost",
             d[INC_ROW * INC_COLS], INC_PROCS, INC_THREADS, arg.iters, want,
             want - d[INC_ROW * INC_COLS]);
    for (uint64_t i = 0; i < INC_ROWS * INC_COLS; i++) {
        if (i / INC_COLS == INC_ROW && i % INC_COLS < 2)
            continue;
        if (!PU_CHECK(d[i] == 0, "element %" PRIu64 " outside the counter "
                      "cells is %" PRId64 ", expected 0", i, d[i]))
            break;
    }
out:
    for (int i = 0; i < INC_PROCS; i++)
        pu_reap(&c[i]);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_locked_increments_from_threads_sharing_a_handle_are_exact(void)
{
    run_increments(false);
}

static void test_locked_increments_from_threads_with_own_handles_are_exact(void)
{
    run_increments(true);
}

/* ---- 2. a killed holder releases at once -------------------------------- */

static const char *g_path; /* the store of the running test, for children */

/* Holds rows 2..4 of "data" and the named lock "job" exclusively until it
 * is killed. */
static void child_hold_and_wait_to_be_killed(void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    mms_lock *lr, *ln;
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in the holder");
    pu_child_ok(mms_array_open(s, "data", MMS_RDWR, &a),
                "mms_array_open in the holder");
    pu_child_ok(mms_lock_range(a, 2, 3, MMS_LOCK_EXCLUSIVE, 0, &lr),
                "the holder's mms_lock_range(rows 2+3, EXCLUSIVE, 0)");
    pu_child_ok(mms_lock_named(s, "job", MMS_LOCK_EXCLUSIVE, 0, &ln),
                "the holder's mms_lock_named('job', EXCLUSIVE, 0)");
    pu_child_send('l');
    pu_child_expect('x'); /* never sent: the parent kills us */
    pu_child_fail("the holder was told to go on instead of being killed");
}

/* Waits for ever for row 4, held by the holder, then holds it until told
 * to let go. */
static void child_wait_for_row_4(void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    mms_lock *l;
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in the waiter");
    pu_child_ok(mms_array_open(s, "data", MMS_RDWR, &a),
                "mms_array_open in the waiter");
    pu_child_rc_is(mms_lock_range(a, 4, 1, MMS_LOCK_EXCLUSIVE, 0, &l),
                   MMS_ERR_BUSY, "the waiter's try-lock of row 4 while the "
                   "holder has it");
    pu_child_send('w');
    pu_child_ok(mms_lock_range(a, 4, 1, MMS_LOCK_EXCLUSIVE, -1, &l),
                "the waiter's mms_lock_range(row 4, EXCLUSIVE, -1)");
    pu_child_send('g');
    pu_child_expect('u');
    pu_child_ok(mms_unlock(l), "the waiter's mms_unlock");
    pu_child_ok(mms_array_close(a), "mms_array_close in the waiter");
    pu_child_ok(mms_store_close(s), "mms_store_close in the waiter");
}

static void test_holder_killed_with_sigkill_releases_its_locks_at_once(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l = NULL;
    pu_child holder = PU_CHILD_INIT, waiter = PU_CHILD_INIT;
    g_path = path;
    if (!make_store(path, "data", 16, 4, &s, &a))
        goto out;
    if (!PU_START(&holder, "lock holder", child_hold_and_wait_to_be_killed,
                  NULL) ||
        !PU_WAIT_FOR(&holder, 'l', "took its locks"))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 2, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 3, 1, MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_named(s, "job", MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_named(s, "job", MMS_LOCK_SHARED, 0, &l));
    if (!PU_START(&waiter, "waiter for row 4", child_wait_for_row_4, NULL) ||
        !PU_WAIT_FOR(&waiter, 'w', "started waiting for row 4"))
        goto out;
    int early = PU_POLL_FOR(&waiter, 'g', "got row 4", 300);
    if (early < 0 || !PU_CHECK(early == 0, "the waiter got row 4 while the "
                               "holder still held it"))
        goto out;

    if (!PU_KILL(&holder))
        goto out;
    /* The holder is reaped: its descriptors are closed, so its locks must
     * be gone now, not after some timeout. */
    if (PU_OK(mms_lock_range(a, 2, 1, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    if (PU_OK(mms_lock_named(s, "job", MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    /* The process that was waiting with -1 gets row 4 without being
     * told. */
    if (!PU_WAIT_FOR(&waiter, 'g', "got row 4 after the holder was killed"))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 4, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    if (!PU_TELL(&waiter, 'u') || !PU_FINISH(&waiter))
        goto out;
    if (PU_OK(mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
out:
    pu_reap(&holder);
    pu_reap(&waiter);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 3. shared locks coexist; exclusive ones wait ----------------------- */

typedef struct hold_arg {
    uint64_t first, nrows;
    int mode;
} hold_arg;

/* Takes one range lock on "data" with timeout 0 (through a read-only
 * handle when it is shared), says 'l', releases it when told 'u' and says
 * 'r'. */
static void child_hold_range(void *varg)
{
    const hold_arg *h = varg;
    mms_store *s;
    mms_array *a;
    mms_lock *l;
    char what[256];
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in a holder");
    pu_child_ok(mms_array_open(s, "data", h->mode == MMS_LOCK_SHARED ?
                               MMS_RDONLY : MMS_RDWR, &a),
                "mms_array_open in a holder");
    snprintf(what, sizeof what, "mms_lock_range(rows %" PRIu64 "+%" PRIu64
             ", %s, timeout 0) in a holder", h->first, h->nrows,
             mode_name(h->mode));
    pu_child_ok(mms_lock_range(a, h->first, h->nrows, h->mode, 0, &l), what);
    pu_child_send('l');
    pu_child_expect('u');
    pu_child_ok(mms_unlock(l), "mms_unlock in a holder");
    pu_child_send('r');
    pu_child_ok(mms_array_close(a), "mms_array_close in a holder");
    pu_child_ok(mms_store_close(s), "mms_store_close in a holder");
}

/* Says 'w', waits for ever for an exclusive lock on row 7, says 'x', and
 * releases it when told 'u'. */
static void child_wait_exclusive_row_7(void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    mms_lock *l;
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in the "
                "exclusive waiter");
    pu_child_ok(mms_array_open(s, "data", MMS_RDWR, &a),
                "mms_array_open in the exclusive waiter");
    pu_child_send('w');
    pu_child_ok(mms_lock_range(a, 7, 1, MMS_LOCK_EXCLUSIVE, -1, &l),
                "mms_lock_range(row 7, EXCLUSIVE, -1) in the exclusive "
                "waiter");
    pu_child_send('x');
    pu_child_expect('u');
    pu_child_ok(mms_unlock(l), "mms_unlock in the exclusive waiter");
    pu_child_ok(mms_array_close(a), "mms_array_close in the exclusive "
                "waiter");
    pu_child_ok(mms_store_close(s), "mms_store_close in the exclusive "
                "waiter");
}

static void test_shared_locks_coexist_and_exclusive_ones_wait_or_time_out(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l = NULL;
    pu_child ca = PU_CHILD_INIT, cb = PU_CHILD_INIT, cx = PU_CHILD_INIT;
    hold_arg ha = { 0, 10, MMS_LOCK_SHARED }, hb = { 5, 10, MMS_LOCK_SHARED };
    g_path = path;
    if (!make_store(path, "data", 32, 4, &s, &a))
        goto out;
    /* B's try-lock succeeds while A holds an overlapping shared lock. */
    if (!PU_START(&ca, "shared holder A (rows 0..9)", child_hold_range,
                  &ha) ||
        !PU_WAIT_FOR(&ca, 'l', "took its shared lock") ||
        !PU_START(&cb, "shared holder B (rows 5..14)", child_hold_range,
                  &hb) ||
        !PU_WAIT_FOR(&cb, 'l', "took its shared lock"))
        goto out;

    /* A third shared lock, in this process, coexists with both. */
    if (PU_OK(mms_lock_range(a, 7, 1, MMS_LOCK_SHARED, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 7, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_CHECK(l == NULL, "a failed mms_lock_range left *out non-NULL");
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 14, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l));
    if (PU_OK(mms_lock_range(a, 15, 5, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;

    int64_t t0 = pu_now_ns();
    PU_RC(MMS_ERR_TIMEOUT,
          mms_lock_range(a, 7, 1, MMS_LOCK_EXCLUSIVE, 200, &l));
    double waited = pu_ms_since(t0);
    PU_CHECK(waited >= 199.0, "an exclusive lock with timeout 200 ms gave up "
             "after %.1f ms", waited);
    PU_CHECK(waited <= 5000.0, "an exclusive lock with timeout 200 ms took "
             "%.1f ms to give up", waited);
    PU_CHECK(l == NULL, "a timed-out mms_lock_range left *out non-NULL");

    /* An exclusive waiter (-1) gets row 7 only once both shared holders
     * have let go. */
    if (!PU_START(&cx, "exclusive waiter (row 7)",
                  child_wait_exclusive_row_7, NULL) ||
        !PU_WAIT_FOR(&cx, 'w', "is about to wait for row 7"))
        goto out;
    int got = PU_POLL_FOR(&cx, 'x', "got row 7", 300);
    if (got < 0 || !PU_CHECK(got == 0, "the exclusive waiter got row 7 while "
                             "two processes held shared locks on it"))
        goto out;
    if (!PU_TELL(&ca, 'u') || !PU_WAIT_FOR(&ca, 'r', "released"))
        goto out;
    got = PU_POLL_FOR(&cx, 'x', "got row 7", 300);
    if (got < 0 || !PU_CHECK(got == 0, "the exclusive waiter got row 7 while "
                             "holder B still held a shared lock on it"))
        goto out;
    if (!PU_TELL(&cb, 'u') || !PU_WAIT_FOR(&cb, 'r', "released") ||
        !PU_WAIT_FOR(&cx, 'x', "got row 7 after both shared holders left"))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 7, 1, MMS_LOCK_SHARED, 0, &l));
    if (PU_OK(mms_lock_range(a, 0, 7, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    if (!PU_TELL(&cx, 'u') || !PU_FINISH(&cx) || !PU_FINISH(&ca) ||
        !PU_FINISH(&cb))
        goto out;
    /* After a wait with -1 the lock is really taken. */
    if (PU_OK(mms_lock_range(a, 7, 1, MMS_LOCK_EXCLUSIVE, -1, &l)))
        PU_OK(mms_unlock(l));
out:
    pu_reap(&ca);
    pu_reap(&cb);
    pu_reap(&cx);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 4. row ranges ------------------------------------------------------ */

/* Asks the kernel, through a descriptor of our own, which OFD lock covers
 * bytes [start, start + len) of path; F_UNLCK in *type when none. */
static bool raw_getlk(const char *path, off_t start, off_t len, short *type,
                      off_t *lstart, off_t *llen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (!PU_CHECK(fd >= 0, "open %s: %s", path, strerror(errno)))
        return false;
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = start, .l_len = len };
    int r = fcntl(fd, F_OFD_GETLK, &fl);
    int e = errno;
    close(fd);
    if (!PU_CHECK(r == 0, "F_OFD_GETLK on %s: %s", path, strerror(e)))
        return false;
    *type = fl.l_type;
    *lstart = fl.l_start;
    *llen = fl.l_len;
    return true;
}

static void test_disjoint_row_ranges_do_not_conflict(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l1 = NULL, *l2 = NULL, *l = NULL;
    if (!make_store(path, "rows", 100, 4, &s, &a))
        goto out;
    if (!PU_OK(mms_lock_range(a, 0, 10, MMS_LOCK_EXCLUSIVE, 0, &l1)) ||
        !PU_OK(mms_lock_range(a, 10, 10, MMS_LOCK_EXCLUSIVE, 0, &l2)))
        goto out;
    /* Through the same handle: a lock excludes other locks of its own
     * process, so the parent can probe. */
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 9, 2, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 19, 1, MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 0, 1, MMS_LOCK_SHARED, 0, &l));
    if (PU_OK(mms_lock_range(a, 20, 80, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    PROBE(path, "rows",
          { NULL, 0, 10, MMS_LOCK_EXCLUSIVE, MMS_ERR_BUSY },
          { NULL, 9, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { NULL, 10, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { NULL, 20, 1, MMS_LOCK_EXCLUSIVE, MMS_OK },
          { NULL, 20, 0, MMS_LOCK_EXCLUSIVE, MMS_OK },
          { NULL, 99, 1, MMS_LOCK_EXCLUSIVE, MMS_OK });
    /* The layout of format.md: row r is byte 4096 + r of the data file. */
    short type;
    off_t start, len;
    if (raw_getlk(mms_array_path(a), ROW_LOCK_BASE + 5, 1, &type, &start,
                  &len))
        PU_CHECK(type == F_WRLCK && start == ROW_LOCK_BASE && len == 10,
                 "F_OFD_GETLK on byte 4096+5 of the data file found type %d "
                 "at %lld+%lld, expected a write lock at 4096+10 (rows "
                 "0..9)", type, (long long)start, (long long)len);
    PU_OK(mms_unlock(l1));
    PU_OK(mms_unlock(l2));
    l1 = l2 = NULL;
    if (raw_getlk(mms_array_path(a), ROW_LOCK_BASE, 100, &type, &start,
                  &len))
        PU_CHECK(type == F_UNLCK, "F_OFD_GETLK found a lock of type %d at "
                 "%lld+%lld after every range lock was released", type,
                 (long long)start, (long long)len);
out:
    mms_unlock(l1);
    mms_unlock(l2);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_nrows_zero_covers_every_row_from_first_row_on_and_beyond(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *tail = NULL, *l = NULL;
    if (!make_store(path, "rows", 100, 4, &s, &a))
        goto out;
    if (!PU_OK(mms_lock_range(a, 50, 0, MMS_LOCK_EXCLUSIVE, 0, &tail)))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 50, 1, MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 99, 1, MMS_LOCK_SHARED, 0, &l));
    /* Rows past the current end, where appends will go. */
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 100, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY,
          mms_lock_range(a, 1000000, 5, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, UINT64_C(1) << 40, 1,
                                       MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 40, 20, MMS_LOCK_EXCLUSIVE, 0, &l));
    if (PU_OK(mms_lock_range(a, 0, 50, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    PROBE(path, "rows",
          { NULL, 49, 1, MMS_LOCK_EXCLUSIVE, MMS_OK },
          { NULL, 50, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { NULL, 100, 0, MMS_LOCK_EXCLUSIVE, MMS_ERR_BUSY },
          { NULL, 5000000, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY });
    short type;
    off_t start, len;
    if (raw_getlk(mms_array_path(a), ROW_LOCK_BASE + 1000000, 1, &type,
                  &start, &len))
        PU_CHECK(type == F_WRLCK && start == ROW_LOCK_BASE + 50 && len == 0,
                 "F_OFD_GETLK far past the end found type %d at %lld+%lld, "
                 "expected a write lock from byte 4096+50 to the end of "
                 "the file and beyond (length 0)", type, (long long)start,
                 (long long)len);

    /* The array grows: the new rows were covered all along. */
    if (PU_OK(mms_array_resize(a, 300)))
        PU_RC(MMS_ERR_BUSY,
              mms_lock_range(a, 250, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_OK(mms_unlock(tail));
    tail = NULL;
    if (PU_OK(mms_lock_range(a, 1000000, 5, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    if (PU_OK(mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
out:
    mms_unlock(tail);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_a_0d_array_has_the_single_row_0(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l = NULL, *l2 = NULL;
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !PU_OK(mms_array_create(s, "scalar", MMS_INT64, 0, NULL, 0, &a)))
        goto out;
    if (!PU_OK(mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l)))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 0, 1, MMS_LOCK_SHARED, 0, &l2));
    PU_RC(MMS_ERR_BUSY, mms_lock_range(a, 0, 0, MMS_LOCK_SHARED, 0, &l2));
    PROBE(path, "scalar", { NULL, 0, 1, MMS_LOCK_EXCLUSIVE, MMS_ERR_BUSY });
    PU_OK(mms_unlock(l));
    l = NULL;
    PROBE(path, "scalar", { NULL, 0, 1, MMS_LOCK_EXCLUSIVE, MMS_OK });
out:
    mms_unlock(l);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_range_lock_rejects_bad_arguments_and_sets_out_to_null(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l;
    const uint64_t big = (UINT64_C(1) << 62) + 1;
    if (!make_store(path, "rows", 10, 2, &s, &a))
        goto out;
    l = (mms_lock *)&l;
    PU_RC(MMS_ERR_INVAL, mms_lock_range(a, 0, 1, 0, 0, &l));
    PU_CHECK(l == NULL, "mms_lock_range with mode 0 left *out non-NULL");
    PU_RC(MMS_ERR_INVAL, mms_lock_range(a, 0, 1, 3, 0, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_range(a, 0, 1, -1, 0, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_range(a, 0, 1, MMS_LOCK_SHARED, -2, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, -1000, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(a, big, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(a, 0, big, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(a, UINT64_MAX, 1, MMS_LOCK_SHARED, 0, &l));
    /* Each bound within 2^62, but the range ends beyond it. */
    PU_RC(MMS_ERR_INVAL, mms_lock_range(a, UINT64_C(1) << 62,
                                        UINT64_C(1) << 62,
                                        MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_CHECK(l == NULL, "a failed mms_lock_range left *out non-NULL");
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(NULL, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 0, NULL));
    /* None of the failures left a lock behind. */
    if (PU_OK(mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    PU_OK(mms_unlock(NULL));
out:
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 4b. lock listing ---------------------------------------------------- */

#define LIST_MAX 32
#define LIST_ROWS 64

typedef struct listed {
    int n;
    mms_lock_info l[LIST_MAX];
} listed;

static int note_lock_stop(const mms_lock_info *lock, void *ctx)
{
    (void)lock;
    (void)ctx;
    return 7;
}

static int note_lock(const mms_lock_info *lock, void *ctx)
{
    listed *got = ctx;
    if (got->n == LIST_MAX)
        return 1;
    got->l[got->n++] = *lock;
    return 0;
}

/* Checks a listing against the expected mode of every row below
 * LIST_ROWS (0 = unlocked) and of the rows beyond: ascending,
 * non-overlapping ranges that cover exactly the locked rows. */
static bool listing_is_at(int line, const listed *got,
                          const int *mode_of_row, int mode_beyond,
                          const char *when)
{
    for (int i = 1; i < got->n; i++) {
        const mms_lock_info *p = &got->l[i - 1], *q = &got->l[i];
        if (p->nrows == 0 || p->first_row + p->nrows > q->first_row)
            return pu_fail_at(__FILE__, line, "%s: listed range %d (rows %"
                              PRIu64 "+%" PRIu64 ") overlaps or follows "
                              "range %d (rows %" PRIu64 "+%" PRIu64 ")",
                              when, i - 1, p->first_row, p->nrows, i,
                              q->first_row, q->nrows);
    }
    for (uint64_t row = 0; row <= LIST_ROWS; row++) {
        /* Row LIST_ROWS stands for every row beyond, up to 2^40. */
        uint64_t r = row < LIST_ROWS ? row : UINT64_C(1) << 40;
        int want = row < LIST_ROWS ? mode_of_row[row] : mode_beyond;
        int have = 0;
        for (int i = 0; i < got->n; i++) {
            const mms_lock_info *x = &got->l[i];
            if (r >= x->first_row &&
                (x->nrows == 0 || r < x->first_row + x->nrows))
                have = x->mode;
        }
        if (have != want)
            return pu_fail_at(__FILE__, line, "%s: row %" PRIu64 " is listed "
                              "as %s, expected %s (%d ranges listed)", when,
                              r, have ? mode_name(have) : "unlocked",
                              want ? mode_name(want) : "unlocked", got->n);
    }
    return pu_pass_at(__FILE__, line, when);
}

#define LISTING_IS(got, modes, beyond, when)                                 \
    listing_is_at(__LINE__, (got), (modes), (beyond), (when))

static void test_lock_list_shows_other_processes_locks_until_they_die(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL, *ro = NULL;
    pu_child c[4] = { PU_CHILD_INIT, PU_CHILD_INIT, PU_CHILD_INIT,
                      PU_CHILD_INIT };
    hold_arg h[4] = { { 0, 10, MMS_LOCK_SHARED }, { 5, 10, MMS_LOCK_SHARED },
                      { 20, 5, MMS_LOCK_EXCLUSIVE },
                      { 40, 0, MMS_LOCK_EXCLUSIVE } };
    int modes[LIST_ROWS] = { 0 };
    listed got = { 0 };
    g_path = path;
    if (!make_store(path, "data", LIST_ROWS, 2, &s, &a) ||
        !PU_OK(mms_array_open(s, "data", MMS_RDONLY, &ro)))
        goto out;
    if (PU_OK(mms_lock_list(ro, note_lock, &got)))
        LISTING_IS(&got, modes, 0, "with no lock held");
    for (int i = 0; i < 4; i++)
        if (!PU_START(&c[i], "holder", child_hold_range, &h[i]) ||
            !PU_WAIT_FOR(&c[i], 'l', "took its lock"))
            goto out;
    for (int r = 0; r < 15; r++)
        modes[r] = MMS_LOCK_SHARED;
    for (int r = 20; r < 25; r++)
        modes[r] = MMS_LOCK_EXCLUSIVE;
    for (int r = 40; r < LIST_ROWS; r++)
        modes[r] = MMS_LOCK_EXCLUSIVE;
    got.n = 0;
    if (PU_OK(mms_lock_list(ro, note_lock, &got)))
        LISTING_IS(&got, modes, MMS_LOCK_EXCLUSIVE, "with four holders");
    if (got.n > 0)
        PU_CHECK(got.l[got.n - 1].first_row == 40 &&
                 got.l[got.n - 1].nrows == 0, "the last listed range is "
                 "rows %" PRIu64 "+%" PRIu64 ", expected 40+0 (to the end "
                 "and beyond)", got.l[got.n - 1].first_row,
                 got.l[got.n - 1].nrows);
    /* Killed holders vanish from the list; so do released ones. */
    if (!PU_KILL(&c[0]) || !PU_KILL(&c[3]) || !PU_TELL(&c[2], 'u') ||
        !PU_WAIT_FOR(&c[2], 'r', "released"))
        goto out;
    for (int r = 0; r < LIST_ROWS; r++)
        modes[r] = r >= 5 && r < 15 ? MMS_LOCK_SHARED : 0;
    got.n = 0;
    if (PU_OK(mms_lock_list(a, note_lock, &got)))
        LISTING_IS(&got, modes, 0, "after two holders were killed and one "
                   "released");
    /* This handle's own locks are listed too. */
    mms_lock *own = NULL;
    if (PU_OK(mms_lock_range(a, 30, 2, MMS_LOCK_EXCLUSIVE, 0, &own))) {
        modes[30] = modes[31] = MMS_LOCK_EXCLUSIVE;
        got.n = 0;
        if (PU_OK(mms_lock_list(a, note_lock, &got)))
            LISTING_IS(&got, modes, 0, "with a lock of the listing handle");
        PU_OK(mms_unlock(own));
    }
    PU_RC(7, mms_lock_list(a, note_lock_stop, NULL));
    if (!PU_TELL(&c[1], 'u') || !PU_FINISH(&c[1]) || !PU_FINISH(&c[2]))
        goto out;
out:
    for (int i = 0; i < 4; i++)
        pu_reap(&c[i]);
    mms_array_close(ro);
    mms_array_close(a);
    mms_store_close(s);
}

/* ---- 5. named locks ----------------------------------------------------- */

typedef struct named_arg {
    const char *key;
    int mode;
} named_arg;

/* Takes one named lock with timeout 0, says 'l', releases it when told 'u'
 * and says 'r'. */
static void child_hold_named(void *varg)
{
    const named_arg *n = varg;
    mms_store *s;
    mms_lock *l;
    char what[300];
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in a holder");
    snprintf(what, sizeof what, "mms_lock_named('%s', %s, 0) in a holder",
             n->key, mode_name(n->mode));
    pu_child_ok(mms_lock_named(s, n->key, n->mode, 0, &l), what);
    pu_child_send('l');
    pu_child_expect('u');
    pu_child_ok(mms_unlock(l), "mms_unlock in a holder");
    pu_child_send('r');
    pu_child_ok(mms_store_close(s), "mms_store_close in a holder");
}

static void test_named_lock_excludes_other_processes_until_released(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l = NULL;
    pu_child c = PU_CHILD_INIT;
    named_arg na = { "alpha", MMS_LOCK_EXCLUSIVE };
    g_path = path;
    if (!make_store(path, "data", 4, 4, &s, &a))
        goto out;
    if (!PU_START(&c, "holder of 'alpha'", child_hold_named, &na) ||
        !PU_WAIT_FOR(&c, 'l', "took 'alpha'"))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_lock_named(s, "alpha", MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_CHECK(l == NULL, "a failed mms_lock_named left *out non-NULL");
    PU_RC(MMS_ERR_BUSY, mms_lock_named(s, "alpha", MMS_LOCK_SHARED, 0, &l));
    int64_t t0 = pu_now_ns();
    PU_RC(MMS_ERR_TIMEOUT,
          mms_lock_named(s, "alpha", MMS_LOCK_EXCLUSIVE, 150, &l));
    double waited = pu_ms_since(t0);
    PU_CHECK(waited >= 149.0 && waited <= 5000.0, "mms_lock_named with "
             "timeout 150 ms gave up after %.1f ms", waited);
    /* A different key is a different lock. */
    if (PU_OK(mms_lock_named(s, "beta", MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    /* Named locks and range locks live in different files. */
    if (PU_OK(mms_lock_range(a, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    PROBE(path, "data",
          { "alpha", 0, 0, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { "beta", 0, 0, MMS_LOCK_EXCLUSIVE, MMS_OK });
    if (!PU_TELL(&c, 'u') || !PU_WAIT_FOR(&c, 'r', "released 'alpha'"))
        goto out;
    if (PU_OK(mms_lock_named(s, "alpha", MMS_LOCK_EXCLUSIVE, 0, &l))) {
        PROBE(path, "data", { "alpha", 0, 0, MMS_LOCK_SHARED, MMS_ERR_BUSY });
        PU_OK(mms_unlock(l));
    }
    l = NULL;
    PU_FINISH(&c);
out:
    pu_reap(&c);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_named_shared_locks_coexist_and_keep_out_exclusive(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_lock *l = NULL;
    pu_child c1 = PU_CHILD_INIT, c2 = PU_CHILD_INIT;
    named_arg na = { "readers", MMS_LOCK_SHARED };
    g_path = path;
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)))
        goto out;
    if (!PU_START(&c1, "first shared holder", child_hold_named, &na) ||
        !PU_WAIT_FOR(&c1, 'l', "took 'readers' shared") ||
        !PU_START(&c2, "second shared holder", child_hold_named, &na) ||
        !PU_WAIT_FOR(&c2, 'l', "took 'readers' shared"))
        goto out;
    if (PU_OK(mms_lock_named(s, "readers", MMS_LOCK_SHARED, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    PU_RC(MMS_ERR_BUSY,
          mms_lock_named(s, "readers", MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_TIMEOUT,
          mms_lock_named(s, "readers", MMS_LOCK_EXCLUSIVE, 50, &l));
    if (!PU_TELL(&c1, 'u') || !PU_WAIT_FOR(&c1, 'r', "released"))
        goto out;
    PU_RC(MMS_ERR_BUSY,
          mms_lock_named(s, "readers", MMS_LOCK_EXCLUSIVE, 0, &l));
    if (!PU_TELL(&c2, 'u') || !PU_WAIT_FOR(&c2, 'r', "released"))
        goto out;
    if (PU_OK(mms_lock_named(s, "readers", MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    PU_FINISH(&c1);
    PU_FINISH(&c2);
out:
    pu_reap(&c1);
    pu_reap(&c2);
    mms_store_close(s);
}

static void test_named_lock_rejects_bad_keys_modes_and_timeouts(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_lock *l;
    char longest[MMS_NAME_MAX + 2];
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)))
        return;
    const char *bad[] = { "", "/leading-slash", "new\nline", "tab\tkey",
                          "del\x7f" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = (mms_lock *)&l;
        int rc = mms_lock_named(s, bad[i], MMS_LOCK_SHARED, 0, &l);
        PU_CHECK(rc == MMS_ERR_INVAL, "mms_lock_named with key #%zu ('%s') "
                 "returned %d (%s), expected MMS_ERR_INVAL", i, bad[i], rc,
                 mms_strerror(rc));
        PU_CHECK(l == NULL, "mms_lock_named with bad key #%zu left *out "
                 "non-NULL", i);
    }
    memset(longest, 'k', MMS_NAME_MAX + 1);
    longest[MMS_NAME_MAX + 1] = '\0';
    PU_RC(MMS_ERR_INVAL,
          mms_lock_named(s, longest, MMS_LOCK_EXCLUSIVE, 0, &l));
    longest[MMS_NAME_MAX] = '\0'; /* 255 bytes: the longest allowed */
    if (PU_OK(mms_lock_named(s, longest, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    PU_RC(MMS_ERR_INVAL, mms_lock_named(s, NULL, MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_named(s, "key", 0, 0, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_named(s, "key", 3, 0, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_named(s, "key", MMS_LOCK_SHARED, -2, &l));
    PU_RC(MMS_ERR_INVAL, mms_lock_named(NULL, "key", MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_INVAL,
          mms_lock_named(s, "key", MMS_LOCK_SHARED, 0, NULL));
    /* Nothing was left locked by the failures. */
    if (PU_OK(mms_lock_named(s, "key", MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    mms_store_close(s);
}

static void test_read_only_store_and_handle_refuse_exclusive_locks(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL, *ro = NULL;
    mms_array *a = NULL, *ra = NULL;
    mms_lock *l = NULL, *shared = NULL;
    if (!make_store(path, "data", 8, 2, &s, &a) ||
        !PU_OK(mms_store_open(path, MMS_RDONLY, &ro)))
        goto out;
    l = (mms_lock *)&l;
    PU_RC(MMS_ERR_RDONLY,
          mms_lock_named(ro, "key", MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_CHECK(l == NULL, "a refused mms_lock_named left *out non-NULL");
    /* A shared named lock through the read-only store is a real lock. */
    if (PU_OK(mms_lock_named(ro, "key", MMS_LOCK_SHARED, 0, &shared))) {
        PU_RC(MMS_ERR_BUSY,
              mms_lock_named(s, "key", MMS_LOCK_EXCLUSIVE, 0, &l));
        PROBE(path, "data", { "key", 0, 0, MMS_LOCK_EXCLUSIVE,
                              MMS_ERR_BUSY });
        PU_OK(mms_unlock(shared));
    }
    shared = NULL;

    /* Range locks through a read-only handle of a writable store. */
    if (!PU_OK(mms_array_open(s, "data", MMS_RDONLY, &ra)))
        goto out;
    PU_RC(MMS_ERR_RDONLY,
          mms_lock_range(ra, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PU_RC(MMS_ERR_RDONLY,
          mms_lock_range(ra, 0, 0, MMS_LOCK_EXCLUSIVE, -1, &l));
    if (PU_OK(mms_lock_range(ra, 2, 2, MMS_LOCK_SHARED, 0, &shared))) {
        PU_RC(MMS_ERR_BUSY,
              mms_lock_range(a, 3, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
        PU_OK(mms_unlock(shared));
    }
    shared = NULL;
    PU_OK(mms_array_close(ra));
    ra = NULL;
    /* And through a handle of the read-only store. */
    if (PU_OK(mms_array_open(ro, "data", MMS_RDONLY, &ra))) {
        PU_RC(MMS_ERR_RDONLY,
              mms_lock_range(ra, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
        if (PU_OK(mms_lock_range(ra, 0, 1, MMS_LOCK_SHARED, 0, &shared)))
            PU_OK(mms_unlock(shared));
        shared = NULL;
    }
out:
    mms_array_close(ra);
    mms_array_close(a);
    mms_store_close(ro);
    mms_store_close(s);
}

/* ---- 6. closing with a lock held ---------------------------------------- */

static void test_array_close_with_a_range_lock_held_is_busy_and_closes_nothing(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL, *other = NULL;
    mms_lock *l1 = NULL, *l2 = NULL, *l = NULL;
    if (!make_store(path, "data", 8, 2, &s, &a) ||
        !PU_OK(mms_array_open(s, "data", MMS_RDWR, &other)))
        goto out;
    if (!PU_OK(mms_lock_range(a, 1, 1, MMS_LOCK_EXCLUSIVE, 0, &l1)) ||
        !PU_OK(mms_lock_range(a, 5, 2, MMS_LOCK_SHARED, 0, &l2)))
        goto out;
    PU_RC(MMS_ERR_BUSY, mms_array_close(a));
    /* The handle is still open and its locks still held. */
    int64_t *d = mms_array_data(a);
    PU_CHECK(d[1 * 2 + 1] == 1001, "after a refused close the handle's data "
             "reads %" PRId64 " at row 1 column 1, expected 1001",
             d[1 * 2 + 1]);
    mms_info info;
    PU_OK(mms_array_info(a, &info));
    PU_RC(MMS_ERR_BUSY,
          mms_lock_range(other, 1, 1, MMS_LOCK_SHARED, 0, &l));
    PU_RC(MMS_ERR_BUSY,
          mms_lock_range(other, 6, 1, MMS_LOCK_EXCLUSIVE, 0, &l));
    PROBE(path, "data", { NULL, 1, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY });
    d[3 * 2] = 77; /* still mapped read-write */
    PU_OK(mms_unlock(l1));
    l1 = NULL;
    PU_RC(MMS_ERR_BUSY, mms_array_close(a)); /* one lock is left */
    PU_OK(mms_unlock(l2));
    l2 = NULL;
    if (PU_OK(mms_array_close(a))) {
        a = NULL;
        const int64_t *o = mms_array_data(other);
        PU_CHECK(o[3 * 2] == 77, "a write made through the handle between "
                 "the refused and the real close reads %" PRId64
                 " through another handle", o[3 * 2]);
        if (PU_OK(mms_lock_range(other, 0, 0, MMS_LOCK_EXCLUSIVE, 0, &l)))
            PU_OK(mms_unlock(l));
    }
out:
    mms_unlock(l1);
    mms_unlock(l2);
    mms_array_close(a);
    mms_array_close(other);
    mms_store_close(s);
}

/* ---- 7. fork safety ----------------------------------------------------- */

#define FORK_ROWS 16
#define FORK_COLS 4

typedef struct fork_arg {
    mms_store *store;  /* the parent's handles, used in the child */
    mms_array *array;
    mms_lock *range;   /* the parent's exclusive lock on row 3 */
    mms_lock *named;   /* the parent's exclusive lock 'parent-lock' */
} fork_arg;

static void child_use_parent_handles(void *varg)
{
    const fork_arg *f = varg;
    mms_info info;
    mms_array *a = (mms_array *)&info;
    mms_lock *l = (mms_lock *)&info;
    pu_child_rc_is(mms_stat(f->store, "data", &info), MMS_ERR_FORKED,
                   "mms_stat on the parent's store handle in the child");
    pu_child_rc_is(mms_array_open(f->store, "data", MMS_RDONLY, &a),
                   MMS_ERR_FORKED, "mms_array_open on the parent's store "
                   "handle in the child");
    if (a != NULL)
        pu_child_fail("mms_array_open refused with MMS_ERR_FORKED left *out "
                      "non-NULL");
    pu_child_rc_is(mms_lock_named(f->store, "other", MMS_LOCK_EXCLUSIVE, 0,
                                  &l),
                   MMS_ERR_FORKED, "mms_lock_named on the parent's store "
                   "handle in the child");
    if (l != NULL)
        pu_child_fail("mms_lock_named refused with MMS_ERR_FORKED left *out "
                      "non-NULL");
    pu_child_rc_is(mms_lock_range(f->array, 10, 1, MMS_LOCK_EXCLUSIVE, 0,
                                  &l),
                   MMS_ERR_FORKED, "mms_lock_range on the parent's array "
                   "handle in the child");
    pu_child_rc_is(mms_unlock(f->range), MMS_ERR_FORKED,
                   "mms_unlock of the parent's range lock in the child");
    pu_child_rc_is(mms_unlock(f->named), MMS_ERR_FORKED,
                   "mms_unlock of the parent's named lock in the child");
    /* The mapping is the parent's and stays usable both ways. */
    int64_t *d = mms_array_data(f->array);
    for (int64_t i = 0; i < FORK_ROWS * FORK_COLS; i++)
        if (d[i] != (i / FORK_COLS) * 1000 + i % FORK_COLS)
            pu_child_fail("the child reads element %" PRId64 " of the "
                          "parent's mapping as %" PRId64, i, d[i]);
    for (int64_t c = 0; c < FORK_COLS; c++)
        d[8 * FORK_COLS + c] = -1 - c;
    pu_child_send('d');
    pu_child_expect('q'); /* alive while the parent checks its locks */
}

static void test_forked_child_gets_forked_and_cannot_release_parent_locks(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *range = NULL, *named = NULL;
    pu_child c = PU_CHILD_INIT;
    fork_arg f;
    if (!make_store(path, "data", FORK_ROWS, FORK_COLS, &s, &a) ||
        !PU_OK(mms_lock_range(a, 3, 1, MMS_LOCK_EXCLUSIVE, 0, &range)) ||
        !PU_OK(mms_lock_named(s, "parent-lock", MMS_LOCK_EXCLUSIVE, 0,
                              &named)))
        goto out;
    f = (fork_arg){ s, a, range, named };
    if (!PU_START(&c, "forked child using the parent's handles",
                  child_use_parent_handles, &f) ||
        !PU_WAIT_FOR(&c, 'd', "tried the parent's handles"))
        goto out;
    const int64_t *d = mms_array_data(a);
    for (int64_t col = 0; col < FORK_COLS; col++)
        PU_CHECK(d[8 * FORK_COLS + col] == -1 - col, "the child wrote %"
                 PRId64 " at row 8 column %" PRId64 " through the inherited "
                 "mapping; the parent reads %" PRId64, -1 - col, col,
                 d[8 * FORK_COLS + col]);
    /* A third process finds both locks still held, while the child lives
     * and after it has exited. */
    PROBE(path, "data",
          { NULL, 3, 1, MMS_LOCK_EXCLUSIVE, MMS_ERR_BUSY },
          { NULL, 3, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { NULL, 4, 1, MMS_LOCK_EXCLUSIVE, MMS_OK },
          { "parent-lock", 0, 0, MMS_LOCK_SHARED, MMS_ERR_BUSY });
    if (!PU_TELL(&c, 'q') || !PU_FINISH(&c))
        goto out;
    PROBE(path, "data",
          { NULL, 3, 1, MMS_LOCK_SHARED, MMS_ERR_BUSY },
          { "parent-lock", 0, 0, MMS_LOCK_SHARED, MMS_ERR_BUSY });
    /* The parent still owns them: it releases them, and the store handle
     * still works here. */
    mms_info info;
    PU_OK(mms_stat(s, "data", &info));
    PU_OK(mms_unlock(range));
    PU_OK(mms_unlock(named));
    range = named = NULL;
    PROBE(path, "data",
          { NULL, 3, 1, MMS_LOCK_EXCLUSIVE, MMS_OK },
          { "parent-lock", 0, 0, MMS_LOCK_EXCLUSIVE, MMS_OK });
out:
    pu_reap(&c);
    mms_unlock(range);
    mms_unlock(named);
    mms_array_close(a);
    mms_store_close(s);
}

/* A holder that forked a child of its own is killed: the lock was the
 * holder's (its child gets MMS_ERR_FORKED on it), so it must go with the
 * holder even though the grandchild, which inherited its descriptors,
 * lives on. */
typedef struct grand_arg {
    int gate[2]; /* the grandchild lives until the write end is closed */
} grand_arg;

static void child_hold_then_fork(void *varg)
{
    grand_arg *g = varg;
    mms_store *s;
    mms_array *a;
    mms_lock *lr, *ln;
    close(g->gate[1]);
    pu_child_ok(mms_store_open(g_path, 0, &s), "mms_store_open in the holder");
    pu_child_ok(mms_array_open(s, "data", MMS_RDWR, &a),
                "mms_array_open in the holder");
    pu_child_ok(mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &lr),
                "the holder's mms_lock_range(row 0, EXCLUSIVE, 0)");
    pu_child_ok(mms_lock_named(s, "held", MMS_LOCK_EXCLUSIVE, 0, &ln),
                "the holder's mms_lock_named('held', EXCLUSIVE, 0)");
    pid_t pid = fork();
    if (pid < 0)
        pu_child_fail("fork in the holder: %s", strerror(errno));
    if (pid == 0) {
        pu_child_detach();
        char byte;
        while (read(g->gate[0], &byte, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(g->gate[0]);
    pu_child_send('l');
    pu_child_expect('x'); /* never sent: the parent kills us */
    pu_child_fail("the holder was told to go on instead of being killed");
}

static void test_killed_holder_releases_its_locks_though_its_fork_lives(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    mms_lock *l = NULL;
    pu_child holder = PU_CHILD_INIT;
    grand_arg g = { { -1, -1 } };
    g_path = path;
    if (!make_store(path, "data", 4, 2, &s, &a))
        goto out;
    if (!PU_CHECK(pipe2(g.gate, O_CLOEXEC) == 0, "pipe: %s", strerror(errno)))
        goto out;
    if (!PU_START(&holder, "holder with a forked child",
                  child_hold_then_fork, &g))
        goto out;
    close(g.gate[0]);
    g.gate[0] = -1;
    if (!PU_WAIT_FOR(&holder, 'l', "took its locks and forked") ||
        !PU_KILL(&holder))
        goto out;
    if (PU_OK(mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
    if (PU_OK(mms_lock_named(s, "held", MMS_LOCK_EXCLUSIVE, 0, &l)))
        PU_OK(mms_unlock(l));
    l = NULL;
out:
    /* Let the grandchild go, and wait until whatever it kept is gone. */
    if (g.gate[1] >= 0)
        close(g.gate[1]);
    if (g.gate[0] >= 0)
        close(g.gate[0]);
    if (s && a) {
        if (mms_lock_range(a, 0, 1, MMS_LOCK_EXCLUSIVE, 10000, &l) == MMS_OK)
            mms_unlock(l);
        if (mms_lock_named(s, "held", MMS_LOCK_EXCLUSIVE, 10000, &l) ==
            MMS_OK)
            mms_unlock(l);
    }
    pu_reap(&holder);
    mms_array_close(a);
    mms_store_close(s);
}

static const tu_test exclusion_tests[] = {
    TU_TEST(test_locked_increments_from_threads_sharing_a_handle_are_exact),
    TU_TEST(test_locked_increments_from_threads_with_own_handles_are_exact),
    TU_END
};

static const tu_test range_tests[] = {
    TU_TEST(test_holder_killed_with_sigkill_releases_its_locks_at_once),
    TU_TEST(test_shared_locks_coexist_and_exclusive_ones_wait_or_time_out),
    TU_TEST(test_disjoint_row_ranges_do_not_conflict),
    TU_TEST(test_nrows_zero_covers_every_row_from_first_row_on_and_beyond),
    TU_TEST(test_a_0d_array_has_the_single_row_0),
    TU_TEST(test_range_lock_rejects_bad_arguments_and_sets_out_to_null),
    TU_TEST(test_array_close_with_a_range_lock_held_is_busy_and_closes_nothing),
    TU_TEST(test_lock_list_shows_other_processes_locks_until_they_die),
    TU_END
};

static const tu_test named_tests[] = {
    TU_TEST(test_named_lock_excludes_other_processes_until_released),
    TU_TEST(test_named_shared_locks_coexist_and_keep_out_exclusive),
    TU_TEST(test_named_lock_rejects_bad_keys_modes_and_timeouts),
    TU_TEST(test_read_only_store_and_handle_refuse_exclusive_locks),
    TU_END
};

static const tu_test fork_tests[] = {
    TU_TEST(test_forked_child_gets_forked_and_cannot_release_parent_locks),
    TU_TEST(test_killed_holder_releases_its_locks_though_its_fork_lives),
    TU_END
};

static const tu_suite suites[] = {
    { "mutual exclusion under contention", exclusion_tests },
    { "range locks", range_tests },
    { "named locks", named_tests },
    { "locks and fork", fork_tests },
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    /* A child that dies must not kill us through a pipe write. */
    signal(SIGPIPE, SIG_IGN);
    return tu_main(argc, argv, suites);
}
