/*
 * test_atomics.c - atomics on 32- and 64-bit elements of a mapped array and
 * mms_wait_u32 / mms_wake between real processes: exact totals from
 * contended adds, load/store/compare-exchange semantics and wrap-around,
 * dtype, range and read-only errors, wait timeouts, wakes across processes
 * (and wakes that change nothing), and a producer/consumer ring between two
 * processes that must deliver every item once, in order, without spinning.
 *
 * Children are forked with procutil and open their own store handle. They
 * hand numbers back (times, CPU use) through a small int64 "report" array
 * in the store: every process maps the same bytes.
 */
#define _GNU_SOURCE
#include "procutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_path; /* the store of the running test, for children */

/* Opens a new store at path and creates a zero-filled 1-d array. */
static bool make_array(const char *path, mms_store **s, const char *name,
                       mms_dtype dtype, uint64_t n, mms_array **a)
{
    *a = NULL;
    if (!*s && !PU_OK(mms_store_open(path, MMS_CREATE, s)))
        return false;
    return PU_OK(mms_array_create(*s, name, dtype, 1, &n, 0, a));
}

/* In a child: opens the store and an array, or fails. */
static void child_open(mms_store **s, const char *name, unsigned flags,
                       mms_array **a)
{
    char what[300];
    if (!*s)
        pu_child_ok(mms_store_open(g_path, 0, s), "mms_store_open in a "
                    "child");
    snprintf(what, sizeof what, "mms_array_open('%s', %s) in a child", name,
             flags == MMS_RDONLY ? "MMS_RDONLY" : "MMS_RDWR");
    pu_child_ok(mms_array_open(*s, name, flags, a), what);
}

/* ---- a watchdog for waits with timeout -1 ------------------------------
 * If a wait that should end does not, the watchdog changes the element
 * and wakes everybody after its deadline, so the test fails instead of
 * hanging. */

typedef struct watchdog {
    mms_array *array;   /* a writable handle */
    uint64_t index;
    int32_t rescue;     /* stored into the element when it fires */
    int ms;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, fired, started;
} watchdog;

static void *watchdog_main(void *varg)
{
    watchdog *w = varg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += w->ms / 1000;
    deadline.tv_nsec += (long)(w->ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    int e = 0;
    while (!w->stop && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
    bool fire = !w->stop;
    w->fired = fire;
    pthread_mutex_unlock(&w->mu);
    if (fire) {
        mms_atomic_store_i32(w->array, w->index, w->rescue);
        mms_wake(w->array, w->index, 0);
    }
    return NULL;
}

static bool watchdog_start(watchdog *w, mms_array *array, uint64_t index,
                           int32_t rescue, int ms)
{
    *w = (watchdog){ .array = array, .index = index, .rescue = rescue,
                     .ms = ms };
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->tid, NULL, watchdog_main, w);
    w->started = e == 0;
    return PU_CHECK(e == 0, "pthread_create for the watchdog: %s",
                    strerror(e));
}

/* Stops the watchdog; false if it had fired. */
static bool watchdog_stop(watchdog *w)
{
    if (!w->started)
        return false;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->tid, NULL);
    w->started = false;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return !w->fired;
}

/* ---- 1. contended adds from 4 processes x 2 threads --------------------- */

#define ADD_PROCS 4
#define ADD_THREADS 2
#define ADD_ITERS 10000
#define ADD_N 16
#define ADD_INDEX 5

typedef struct add_thread {
    mms_array *array;
    int bits;
} add_thread;

/* Adds one ADD_ITERS times. Other threads only add too, so the values
 * before each of this thread's adds must strictly increase. */
static void *add_thread_main(void *varg)
{
    const add_thread *t = varg;
    int64_t prev = -1;
    for (int i = 0; i < ADD_ITERS; i++) {
        int64_t old;
        int rc;
        if (t->bits == 64) {
            rc = mms_atomic_add_i64(t->array, ADD_INDEX, 1, &old);
        } else {
            int32_t old32;
            rc = mms_atomic_add_i32(t->array, ADD_INDEX, 1, &old32);
            old = old32;
        }
        if (rc != MMS_OK)
            pu_child_fail("add %d: mms_atomic_add_i%d returned %d (%s: %s)",
                          i, t->bits, rc, mms_strerror(rc), mms_errmsg());
        if (old <= prev)
            pu_child_fail("add %d: mms_atomic_add_i%d reported %" PRId64
                          " as the value before, after %" PRId64
                          " for this thread's previous add", i, t->bits, old,
                          prev);
        prev = old;
    }
    return NULL;
}

static void child_add(void *varg)
{
    const int *bits = varg;
    mms_store *s = NULL;
    mms_array *a;
    child_open(&s, *bits == 64 ? "counters64" : "counters32", MMS_RDWR, &a);
    add_thread t = { a, *bits };
    pthread_t tid[ADD_THREADS];
    pu_child_send('r');
    pu_child_expect('g');
    for (int i = 0; i < ADD_THREADS; i++) {
        int e = pthread_create(&tid[i], NULL, add_thread_main, &t);
        if (e != 0)
            pu_child_fail("pthread_create: %s", strerror(e));
    }
    for (int i = 0; i < ADD_THREADS; i++)
        pthread_join(tid[i], NULL);
    pu_child_ok(mms_array_close(a), "mms_array_close in an adding process");
    pu_child_ok(mms_store_close(s), "mms_store_close in an adding process");
}

static void run_adds(int bits)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child c[ADD_PROCS];
    for (int i = 0; i < ADD_PROCS; i++)
        c[i] = (pu_child)PU_CHILD_INIT;
    g_path = path;
    if (!make_array(path, &s, bits == 64 ? "counters64" : "counters32",
                    bits == 64 ? MMS_INT64 : MMS_INT32, ADD_N, &a))
        goto out;
    for (int i = 0; i < ADD_PROCS; i++)
        if (!PU_START(&c[i], "adding process", child_add, &bits) ||
            !PU_WAIT_FOR(&c[i], 'r', "opened the array"))
            goto out;
    for (int i = 0; i < ADD_PROCS; i++)
        if (!PU_TELL(&c[i], 'g'))
            goto out;
    for (int i = 0; i < ADD_PROCS; i++)
        if (!PU_FINISH(&c[i]))
            goto out;
    int64_t want = (int64_t)ADD_PROCS * ADD_THREADS * ADD_ITERS;
    for (uint64_t i = 0; i < ADD_N; i++) {
        int64_t v = bits == 64 ? ((const int64_t *)mms_array_data(a))[i]
                               : ((const int32_t *)mms_array_data(a))[i];
        int64_t expect = i == ADD_INDEX ? want : 0;
        PU_CHECK(v == expect, "int%d element %" PRIu64 " is %" PRId64 " after "
                 "%d processes x %d threads x %d atomic adds of 1 to element "
                 "%d, expected %" PRId64, bits, i, v, ADD_PROCS, ADD_THREADS,
                 ADD_ITERS, ADD_INDEX, expect);
    }
out:
    for (int i = 0; i < ADD_PROCS; i++)
        pu_reap(&c[i]);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_atomic_add_i64_from_processes_and_threads_is_exact(void)
{
    run_adds(64);
}

static void test_atomic_add_i32_from_processes_and_threads_is_exact(void)
{
    run_adds(32);
}

/* ---- 2. semantics ------------------------------------------------------- */

static void test_load_and_store_touch_only_their_element(void)
{
    mms_store *s = NULL;
    mms_array *a64 = NULL, *a32 = NULL;
    uint64_t shape[2] = { 4, 3 };
    const char *path = tu_store_path();
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !PU_OK(mms_array_create(s, "i64", MMS_INT64, 2, shape, 0, &a64)) ||
        !PU_OK(mms_array_create(s, "i32", MMS_INT32, 2, shape, 0, &a32)))
        goto out;
    const int64_t big = INT64_C(0x0123456789abcdef);
    int64_t v64 = 0;
    int32_t v32 = 0;
    /* index is flat, C order: 7 is row 2, column 1. */
    PU_OK(mms_atomic_store_i64(a64, 7, big));
    PU_OK(mms_atomic_store_i64(a64, 11, -2));
    if (PU_OK(mms_atomic_load_i64(a64, 7, &v64)))
        PU_CHECK(v64 == big, "mms_atomic_load_i64 read %" PRId64 " back, "
                 "stored %" PRId64, v64, big);
    const int64_t *d64 = mms_array_data(a64);
    for (int i = 0; i < 12; i++) {
        int64_t want = i == 7 ? big : i == 11 ? -2 : 0;
        PU_CHECK(d64[i] == want, "int64 element %d reads %" PRId64 " through "
                 "the mapping, expected %" PRId64, i, d64[i], want);
    }
    PU_OK(mms_atomic_store_i32(a32, 4, -5));
    PU_OK(mms_atomic_store_i32(a32, 0, INT32_MIN));
    if (PU_OK(mms_atomic_load_i32(a32, 4, &v32)))
        PU_CHECK(v32 == -5, "mms_atomic_load_i32 read %" PRId32 " back, "
                 "stored -5", v32);
    const int32_t *d32 = mms_array_data(a32);
    for (int i = 0; i < 12; i++) {
        int32_t want = i == 4 ? -5 : i == 0 ? INT32_MIN : 0;
        PU_CHECK(d32[i] == want, "int32 element %d reads %" PRId32 " through "
                 "the mapping, expected %" PRId32, i, d32[i], want);
    }
    /* A write through the mapping is what load sees. */
    ((int64_t *)mms_array_data(a64))[3] = 42;
    if (PU_OK(mms_atomic_load_i64(a64, 3, &v64)))
        PU_CHECK(v64 == 42, "mms_atomic_load_i64 reads %" PRId64 " where the "
                 "mapping has 42", v64);
out:
    mms_array_close(a64);
    mms_array_close(a32);
    mms_store_close(s);
}

static void test_compare_exchange_swaps_only_when_equal(void)
{
    mms_store *s = NULL;
    mms_array *a64 = NULL, *a32 = NULL;
    const char *path = tu_store_path();
    if (!make_array(path, &s, "i64", MMS_INT64, 4, &a64) ||
        !make_array(path, &s, "i32", MMS_INT32, 4, &a32))
        goto out;
    int64_t old64, v64;
    int32_t old32, v32;

    PU_OK(mms_atomic_store_i64(a64, 2, 10));
    old64 = 0;
    PU_OK(mms_atomic_cas_i64(a64, 2, 11, 20, &old64));
    PU_CHECK(old64 == 10, "a failed cas_i64 reported %" PRId64 " as the "
             "value before, expected 10", old64);
    if (PU_OK(mms_atomic_load_i64(a64, 2, &v64)))
        PU_CHECK(v64 == 10, "cas_i64(expected 11) on 10 changed it to %"
                 PRId64, v64);
    PU_OK(mms_atomic_cas_i64(a64, 2, 10, 20, &old64));
    PU_CHECK(old64 == 10, "a successful cas_i64 reported %" PRId64 " as the "
             "value before, expected 10", old64);
    if (PU_OK(mms_atomic_load_i64(a64, 2, &v64)))
        PU_CHECK(v64 == 20, "cas_i64(10 -> 20) on 10 left %" PRId64, v64);
    /* old may be NULL, both ways. */
    PU_OK(mms_atomic_cas_i64(a64, 2, 99, 30, NULL));
    PU_OK(mms_atomic_cas_i64(a64, 2, 20, INT64_MIN, NULL));
    if (PU_OK(mms_atomic_load_i64(a64, 2, &v64)))
        PU_CHECK(v64 == INT64_MIN, "cas_i64 with old NULL left %" PRId64
                 ", expected INT64_MIN (one refused swap, one done)", v64);
    PU_CHECK(((const int64_t *)mms_array_data(a64))[1] == 0 &&
             ((const int64_t *)mms_array_data(a64))[3] == 0,
             "cas_i64 on element 2 changed a neighbour");

    PU_OK(mms_atomic_store_i32(a32, 1, -7));
    PU_OK(mms_atomic_cas_i32(a32, 1, 7, 1, &old32));
    PU_CHECK(old32 == -7, "a failed cas_i32 reported %" PRId32 ", expected "
             "-7", old32);
    if (PU_OK(mms_atomic_load_i32(a32, 1, &v32)))
        PU_CHECK(v32 == -7, "cas_i32(expected 7) on -7 changed it to %"
                 PRId32, v32);
    PU_OK(mms_atomic_cas_i32(a32, 1, -7, INT32_MAX, &old32));
    PU_CHECK(old32 == -7, "a successful cas_i32 reported %" PRId32
             ", expected -7", old32);
    if (PU_OK(mms_atomic_load_i32(a32, 1, &v32)))
        PU_CHECK(v32 == INT32_MAX, "cas_i32(-7 -> INT32_MAX) left %" PRId32,
                 v32);
    PU_OK(mms_atomic_cas_i32(a32, 1, INT32_MAX, 5, NULL));
    if (PU_OK(mms_atomic_load_i32(a32, 1, &v32)))
        PU_CHECK(v32 == 5, "cas_i32 with old NULL left %" PRId32
                 ", expected 5", v32);
    PU_CHECK(((const int32_t *)mms_array_data(a32))[0] == 0 &&
             ((const int32_t *)mms_array_data(a32))[2] == 0,
             "cas_i32 on element 1 changed a neighbour");
out:
    mms_array_close(a64);
    mms_array_close(a32);
    mms_store_close(s);
}

static void test_add_returns_the_value_before_and_wraps_around(void)
{
    mms_store *s = NULL;
    mms_array *a64 = NULL, *a32 = NULL;
    const char *path = tu_store_path();
    if (!make_array(path, &s, "i64", MMS_INT64, 2, &a64) ||
        !make_array(path, &s, "i32", MMS_INT32, 2, &a32))
        goto out;
    int64_t old64 = 0, v64 = 0;
    int32_t old32 = 0, v32 = 0;
    PU_OK(mms_atomic_add_i64(a64, 1, 5, &old64));
    PU_CHECK(old64 == 0, "add_i64 on 0 reported %" PRId64 " as before",
             old64);
    PU_OK(mms_atomic_add_i64(a64, 1, -12, &old64));
    PU_CHECK(old64 == 5, "add_i64 on 5 reported %" PRId64 " as before",
             old64);
    PU_OK(mms_atomic_add_i64(a64, 1, 2, NULL));
    if (PU_OK(mms_atomic_load_i64(a64, 1, &v64)))
        PU_CHECK(v64 == -5, "0 + 5 - 12 + 2 gave %" PRId64, v64);

    PU_OK(mms_atomic_store_i64(a64, 0, INT64_MAX));
    PU_OK(mms_atomic_add_i64(a64, 0, 1, &old64));
    PU_CHECK(old64 == INT64_MAX, "add_i64 on INT64_MAX reported %" PRId64
             " as before", old64);
    if (PU_OK(mms_atomic_load_i64(a64, 0, &v64)))
        PU_CHECK(v64 == INT64_MIN, "INT64_MAX + 1 gave %" PRId64 ", expected "
                 "INT64_MIN (two's complement wrap-around)", v64);
    PU_OK(mms_atomic_add_i64(a64, 0, -1, NULL));
    if (PU_OK(mms_atomic_load_i64(a64, 0, &v64)))
        PU_CHECK(v64 == INT64_MAX, "INT64_MIN - 1 gave %" PRId64 ", expected "
                 "INT64_MAX", v64);
    PU_OK(mms_atomic_add_i64(a64, 0, INT64_MIN, NULL));
    if (PU_OK(mms_atomic_load_i64(a64, 0, &v64)))
        PU_CHECK(v64 == -1, "INT64_MAX + INT64_MIN gave %" PRId64, v64);

    PU_OK(mms_atomic_store_i32(a32, 0, INT32_MAX));
    PU_OK(mms_atomic_add_i32(a32, 0, 1, &old32));
    PU_CHECK(old32 == INT32_MAX, "add_i32 on INT32_MAX reported %" PRId32
             " as before", old32);
    if (PU_OK(mms_atomic_load_i32(a32, 0, &v32)))
        PU_CHECK(v32 == INT32_MIN, "INT32_MAX + 1 gave %" PRId32 ", expected "
                 "INT32_MIN", v32);
    PU_OK(mms_atomic_add_i32(a32, 0, INT32_MIN, &old32));
    if (PU_OK(mms_atomic_load_i32(a32, 0, &v32)))
        PU_CHECK(v32 == 0, "INT32_MIN + INT32_MIN gave %" PRId32 ", expected "
                 "0", v32);
    PU_CHECK(((const int32_t *)mms_array_data(a32))[1] == 0,
             "add_i32 on element 0 changed element 1");
out:
    mms_array_close(a64);
    mms_array_close(a32);
    mms_store_close(s);
}

static void test_unsigned_arrays_take_the_signed_forms_bit_for_bit(void)
{
    mms_store *s = NULL;
    mms_array *u64 = NULL, *u32 = NULL;
    const char *path = tu_store_path();
    if (!make_array(path, &s, "u64", MMS_UINT64, 3, &u64) ||
        !make_array(path, &s, "u32", MMS_UINT32, 3, &u32))
        goto out;
    const uint64_t *d64 = mms_array_data(u64);
    const uint32_t *d32 = mms_array_data(u32);
    int64_t old64;
    int32_t old32;
    PU_OK(mms_atomic_store_i64(u64, 1, -1));
    PU_CHECK(d64[1] == UINT64_MAX, "store_i64(-1) on uint64 reads %" PRIu64
             ", expected UINT64_MAX", d64[1]);
    PU_OK(mms_atomic_add_i64(u64, 1, 1, &old64));
    PU_CHECK(old64 == -1 && d64[1] == 0, "UINT64_MAX + 1 gave %" PRIu64
             " (before: %" PRId64 "), expected 0 (before: -1)", d64[1],
             old64);
    PU_OK(mms_atomic_cas_i64(u64, 2, 0, INT64_MIN, &old64));
    PU_CHECK(d64[2] == UINT64_C(1) << 63, "cas_i64 to INT64_MIN on uint64 "
             "reads %" PRIu64 ", expected 2^63", d64[2]);
    PU_OK(mms_atomic_store_i32(u32, 0, -2));
    PU_CHECK(d32[0] == UINT32_MAX - 1, "store_i32(-2) on uint32 reads %"
             PRIu32 ", expected 4294967294", d32[0]);
    PU_OK(mms_atomic_add_i32(u32, 0, 3, &old32));
    PU_CHECK(old32 == -2 && d32[0] == 1, "4294967294 + 3 on uint32 gave %"
             PRIu32 " (before: %" PRId32 "), expected 1 (before: -2)",
             d32[0], old32);
    PU_OK(mms_atomic_cas_i32(u32, 2, 0, -1, NULL));
    PU_CHECK(d32[2] == UINT32_MAX, "cas_i32 to -1 on uint32 reads %" PRIu32,
             d32[2]);
    /* Waiting on the full uint32 range. */
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(u32, 2, UINT32_MAX, 0));
    PU_OK(mms_wait_u32(u32, 2, 0, 0));
out:
    mms_array_close(u64);
    mms_array_close(u32);
    mms_store_close(s);
}

static void test_unsuitable_dtypes_give_dtype_errors(void)
{
    mms_store *s = NULL;
    const char *path = tu_store_path();
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)))
        return;
    for (int d = MMS_BOOL; d <= MMS_COMPLEX128; d++) {
        mms_array *a = NULL;
        uint64_t n = 4;
        const char *dn = mms_dtype_name((mms_dtype)d);
        if (!PU_OK(mms_array_create(s, dn, (mms_dtype)d, 1, &n, 0, &a)))
            continue;
        bool ok64 = d == MMS_INT64 || d == MMS_UINT64;
        bool ok32 = d == MMS_INT32 || d == MMS_UINT32;
        int want64 = ok64 ? MMS_OK : MMS_ERR_DTYPE;
        int want32 = ok32 ? MMS_OK : MMS_ERR_DTYPE;
        int64_t v64;
        int32_t v32;
        /* In this order: on a suitable array element 0 (i64 forms) or 1
         * (i32 forms) goes 0 -> 1 -> 2 -> 3. */
        int rc[11];
        rc[0] = mms_atomic_load_i64(a, 0, &v64);
        rc[1] = mms_atomic_store_i64(a, 0, 1);
        rc[2] = mms_atomic_add_i64(a, 0, 1, &v64);
        rc[3] = mms_atomic_cas_i64(a, 0, 2, 3, &v64);
        rc[4] = mms_atomic_load_i32(a, 1, &v32);
        rc[5] = mms_atomic_store_i32(a, 1, 1);
        rc[6] = mms_atomic_add_i32(a, 1, 1, &v32);
        rc[7] = mms_atomic_cas_i32(a, 1, 2, 3, &v32);
        rc[8] = mms_wait_u32(a, 1, 3, 0);
        rc[9] = mms_wait_u32(a, 1, 12345, 0);
        rc[10] = mms_wake(a, 1, 0);
        static const char *fn[11] = {
            "load_i64", "store_i64", "add_i64", "cas_i64", "load_i32",
            "store_i32", "add_i32", "cas_i32", "wait_u32(expected 3)",
            "wait_u32(expected 12345)", "wake"
        };
        for (int i = 0; i < 11; i++) {
            int want = i < 4 ? want64 : want32;
            if (i == 8 && ok32)
                want = MMS_ERR_TIMEOUT; /* the element is 3 */
            PU_CHECK(rc[i] == want, "mms_%s on a %s array returned %d (%s), "
                     "expected %d (%s)", fn[i], dn, rc[i],
                     mms_strerror(rc[i]), want, mms_strerror(want));
        }
        if (ok64)
            PU_CHECK(((const int64_t *)mms_array_data(a))[0] == 3,
                     "on a %s array store 1, add 1, cas(2 -> 3) left %"
                     PRId64, dn, ((const int64_t *)mms_array_data(a))[0]);
        if (ok32)
            PU_CHECK(((const int32_t *)mms_array_data(a))[1] == 3,
                     "on a %s array store 1, add 1, cas(2 -> 3) left %"
                     PRId32, dn, ((const int32_t *)mms_array_data(a))[1]);
        if (!ok32 && !ok64) {
            /* Refused calls wrote nothing. */
            const unsigned char *b = mms_array_data(a);
            size_t size = mms_dtype_size((mms_dtype)d) * n;
            for (size_t i = 0; i < size; i++)
                if (!PU_CHECK(b[i] == 0, "a refused atomic on a %s array "
                              "changed byte %zu to %u", dn, i, b[i]))
                    break;
        }
        PU_OK(mms_array_close(a));
    }
    mms_store_close(s);
}

static void test_indexes_past_the_end_give_range_errors(void)
{
    mms_store *s = NULL;
    mms_array *a64 = NULL, *a32 = NULL, *scalar = NULL, *empty = NULL;
    uint64_t shape[2] = { 3, 5 }, zero = 0;
    const char *path = tu_store_path();
    if (!PU_OK(mms_store_open(path, MMS_CREATE, &s)) ||
        !PU_OK(mms_array_create(s, "i64", MMS_INT64, 2, shape, 0, &a64)) ||
        !PU_OK(mms_array_create(s, "u32", MMS_UINT32, 2, shape, 0, &a32)) ||
        !PU_OK(mms_array_create(s, "scalar", MMS_INT64, 0, NULL, 0,
                                &scalar)) ||
        !PU_OK(mms_array_create(s, "empty", MMS_INT32, 1, &zero, 0, &empty)))
        goto out;
    int64_t v64;
    int32_t v32;
    /* 15 elements: 14 is the last. */
    PU_OK(mms_atomic_store_i64(a64, 14, 9));
    PU_OK(mms_atomic_store_i32(a32, 14, 9));
    const uint64_t bad[] = { 15, 16, UINT64_C(1) << 61, UINT64_C(1) << 62,
                             UINT64_MAX / 4 + 1, UINT64_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t x = bad[i];
        int rc[10] = {
            mms_atomic_load_i64(a64, x, &v64),
            mms_atomic_store_i64(a64, x, 1),
            mms_atomic_add_i64(a64, x, 1, NULL),
            mms_atomic_cas_i64(a64, x, 0, 1, NULL),
            mms_atomic_load_i32(a32, x, &v32),
            mms_atomic_store_i32(a32, x, 1),
            mms_atomic_add_i32(a32, x, 1, NULL),
            mms_atomic_cas_i32(a32, x, 0, 1, NULL),
            mms_wait_u32(a32, x, 0, 0),
            mms_wake(a32, x, 0),
        };
        for (int j = 0; j < 10; j++)
            PU_CHECK(rc[j] == MMS_ERR_RANGE, "atomic call #%d with index %"
                     PRIu64 " of 15 elements returned %d (%s), expected "
                     "MMS_ERR_RANGE", j, x, rc[j], mms_strerror(rc[j]));
    }
    /* A 0-d array has element 0 only; an empty one has none. */
    PU_OK(mms_atomic_add_i64(scalar, 0, 4, NULL));
    if (PU_OK(mms_atomic_load_i64(scalar, 0, &v64)))
        PU_CHECK(v64 == 4, "the 0-d element reads %" PRId64 ", expected 4",
                 v64);
    PU_RC(MMS_ERR_RANGE, mms_atomic_load_i64(scalar, 1, &v64));
    PU_RC(MMS_ERR_RANGE, mms_atomic_store_i32(empty, 0, 1));
    PU_RC(MMS_ERR_RANGE, mms_wait_u32(empty, 0, 0, 0));
    PU_RC(MMS_ERR_RANGE, mms_wake(empty, 0, 1));
    /* Argument errors. */
    PU_RC(MMS_ERR_INVAL, mms_atomic_load_i64(NULL, 0, &v64));
    PU_RC(MMS_ERR_INVAL, mms_atomic_add_i32(NULL, 0, 1, NULL));
    PU_RC(MMS_ERR_INVAL, mms_atomic_load_i64(a64, 0, NULL));
    PU_RC(MMS_ERR_INVAL, mms_atomic_load_i32(a32, 0, NULL));
    PU_RC(MMS_ERR_INVAL, mms_wait_u32(NULL, 0, 0, 0));
    PU_RC(MMS_ERR_INVAL, mms_wake(NULL, 0, 1));
    PU_RC(MMS_ERR_INVAL, mms_wait_u32(a32, 0, 0, -2));
    PU_RC(MMS_ERR_INVAL, mms_wait_u32(a32, 0, 1, -100));
out:
    mms_array_close(a64);
    mms_array_close(a32);
    mms_array_close(scalar);
    mms_array_close(empty);
    mms_store_close(s);
}

static void test_read_only_handle_loads_but_refuses_writes(void)
{
    mms_store *s = NULL;
    mms_array *w64 = NULL, *w32 = NULL, *r64 = NULL, *r32 = NULL;
    const char *path = tu_store_path();
    if (!make_array(path, &s, "i64", MMS_INT64, 4, &w64) ||
        !make_array(path, &s, "i32", MMS_INT32, 4, &w32) ||
        !PU_OK(mms_array_open(s, "i64", MMS_RDONLY, &r64)) ||
        !PU_OK(mms_array_open(s, "i32", MMS_RDONLY, &r32)))
        goto out;
    PU_OK(mms_atomic_store_i64(w64, 2, 123));
    PU_OK(mms_atomic_store_i32(w32, 2, 321));
    int64_t v64 = 0, old64 = 0;
    int32_t v32 = 0, old32 = 0;
    if (PU_OK(mms_atomic_load_i64(r64, 2, &v64)))
        PU_CHECK(v64 == 123, "a read-only handle loads %" PRId64 ", the "
                 "writable one stored 123", v64);
    if (PU_OK(mms_atomic_load_i32(r32, 2, &v32)))
        PU_CHECK(v32 == 321, "a read-only handle loads %" PRId32 ", the "
                 "writable one stored 321", v32);
    PU_RC(MMS_ERR_RDONLY, mms_atomic_store_i64(r64, 2, 1));
    PU_RC(MMS_ERR_RDONLY, mms_atomic_add_i64(r64, 2, 1, &old64));
    PU_RC(MMS_ERR_RDONLY, mms_atomic_cas_i64(r64, 2, 123, 1, &old64));
    PU_RC(MMS_ERR_RDONLY, mms_atomic_store_i32(r32, 2, 1));
    PU_RC(MMS_ERR_RDONLY, mms_atomic_add_i32(r32, 2, 1, &old32));
    PU_RC(MMS_ERR_RDONLY, mms_atomic_cas_i32(r32, 2, 321, 1, &old32));
    PU_CHECK(((const int64_t *)mms_array_data(w64))[2] == 123 &&
             ((const int32_t *)mms_array_data(w32))[2] == 321,
             "a refused atomic through a read-only handle changed the "
             "element");
    /* Waiting and waking need no write access. */
    PU_OK(mms_wait_u32(r32, 2, 0, -1));
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(r32, 2, 321, 10));
    PU_OK(mms_wake(r32, 2, 1));
out:
    mms_array_close(r64);
    mms_array_close(r32);
    mms_array_close(w64);
    mms_array_close(w32);
    mms_store_close(s);
}

/* ---- 3. wait and wake --------------------------------------------------- */

static void test_wait_returns_at_once_when_the_value_already_differs(void)
{
    mms_store *s = NULL;
    mms_array *a = NULL;
    watchdog w = { .started = false };
    if (!make_array(tu_store_path(), &s, "flag", MMS_UINT32, 4, &a))
        goto out;
    PU_OK(mms_atomic_store_i32(a, 3, 5));
    if (!watchdog_start(&w, a, 3, 999, 30000))
        goto out;
    int64_t t0 = pu_now_ns();
    PU_OK(mms_wait_u32(a, 3, 4, -1));
    PU_OK(mms_wait_u32(a, 3, 0, 100000));
    PU_OK(mms_wait_u32(a, 3, 6, 0));
    double took = pu_ms_since(t0);
    PU_CHECK(watchdog_stop(&w), "mms_wait_u32(expected 4, -1) on an element "
             "holding 5 slept until the watchdog changed it");
    PU_CHECK(took < 5000.0, "three waits on an element that already "
             "differed took %.1f ms", took);
out:
    watchdog_stop(&w);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_wait_times_out_while_the_value_stays_equal(void)
{
    mms_store *s = NULL;
    mms_array *a = NULL;
    if (!make_array(tu_store_path(), &s, "flag", MMS_INT32, 4, &a))
        goto out;
    PU_OK(mms_atomic_store_i32(a, 1, -3));
    int64_t t0 = pu_now_ns();
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(a, 1, (uint32_t)-3, 0));
    double took = pu_ms_since(t0);
    PU_CHECK(took < 1000.0, "mms_wait_u32 with timeout 0 took %.1f ms", took);
    t0 = pu_now_ns();
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(a, 1, (uint32_t)-3, 100));
    took = pu_ms_since(t0);
    PU_CHECK(took >= 99.0, "mms_wait_u32 with timeout 100 ms gave up after "
             "%.1f ms", took);
    PU_CHECK(took <= 5000.0, "mms_wait_u32 with timeout 100 ms took %.1f ms "
             "to give up", took);
    /* Element 0 (still 0) next to it is another futex word. */
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(a, 0, 0, 0));
out:
    mms_array_close(a);
    mms_store_close(s);
}

/* Sleeps 100 ms after 'g', then sets flag[2] to 1 and wakes one waiter. */
static void child_set_and_wake(void *arg)
{
    (void)arg;
    mms_store *s = NULL;
    mms_array *a;
    child_open(&s, "flag", MMS_RDWR, &a);
    pu_child_send('r');
    pu_child_expect('g');
    pu_sleep_ms(100);
    pu_child_ok(mms_atomic_store_i32(a, 2, 1), "mms_atomic_store_i32 in the "
                "waking child");
    pu_child_ok(mms_wake(a, 2, 1), "mms_wake in the waking child");
    pu_child_ok(mms_array_close(a), "mms_array_close in the waking child");
    pu_child_ok(mms_store_close(s), "mms_store_close in the waking child");
}

static void test_another_process_setting_and_waking_ends_a_wait(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL;
    pu_child c = PU_CHILD_INIT;
    watchdog w = { .started = false };
    g_path = path;
    if (!make_array(path, &s, "flag", MMS_UINT32, 4, &a) ||
        !PU_OK(mms_array_sync(a)))
        goto out;
    if (!PU_START(&c, "waking child", child_set_and_wake, NULL) ||
        !PU_WAIT_FOR(&c, 'r', "opened the array") ||
        !watchdog_start(&w, a, 2, 999, 60000))
        goto out;
    /* The child sets the flag at least 100 ms after this. */
    int64_t t0 = pu_now_ns();
    if (!PU_TELL(&c, 'g'))
        goto out;
    int rc = mms_wait_u32(a, 2, 0, -1);
    double took = pu_ms_since(t0);
    bool in_time = watchdog_stop(&w);
    PU_RC(MMS_OK, rc);
    PU_CHECK(in_time, "mms_wait_u32(-1) was still sleeping after 60 s; the "
             "child's store and wake did not end it");
    int32_t v = 0;
    if (PU_OK(mms_atomic_load_i32(a, 2, &v)))
        PU_CHECK(v == 1, "after the wait the flag is %" PRId32 ", expected "
                 "the child's 1", v);
    PU_CHECK(took >= 99.0, "mms_wait_u32(-1) returned after %.1f ms, before "
             "the child changed the value (>= 100 ms)", took);
    PU_FINISH(&c);
out:
    watchdog_stop(&w);
    pu_reap(&c);
    mms_array_close(a);
    mms_store_close(s);
}

/* Wakes flag[0] every 5 ms without changing it, until told 's'; then
 * records how many wakes it made in report[0]. */
static void child_wake_without_change(void *arg)
{
    (void)arg;
    mms_store *s = NULL;
    mms_array *a, *report;
    child_open(&s, "flag", MMS_RDWR, &a);
    child_open(&s, "report", MMS_RDWR, &report);
    pu_child_send('r');
    int64_t wakes = 0;
    for (;;) {
        pu_child_ok(mms_wake(a, 0, 0), "mms_wake in the waking child");
        wakes++;
        char t = pu_child_poll(5);
        if (t == 's')
            break;
        if (t != 0)
            pu_child_fail("the waking child got '%c', expected 's'", t);
    }
    pu_child_ok(mms_atomic_store_i64(report, 0, wakes), "recording the "
                "number of wakes");
    pu_child_ok(mms_array_close(report), "mms_array_close in the child");
    pu_child_ok(mms_array_close(a), "mms_array_close in the child");
    pu_child_ok(mms_store_close(s), "mms_store_close in the child");
}

static void test_wakes_without_a_change_do_not_end_a_wait(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL, *report = NULL;
    pu_child c = PU_CHILD_INIT;
    g_path = path;
    if (!make_array(path, &s, "flag", MMS_INT32, 2, &a) ||
        !make_array(path, &s, "report", MMS_INT64, 2, &report))
        goto out;
    if (!PU_START(&c, "child waking without a change",
                  child_wake_without_change, NULL) ||
        !PU_WAIT_FOR(&c, 'r', "started waking"))
        goto out;
    int64_t t0 = pu_now_ns();
    PU_RC(MMS_ERR_TIMEOUT, mms_wait_u32(a, 0, 0, 600));
    double took = pu_ms_since(t0);
    PU_CHECK(took >= 599.0, "with wakes but no change, mms_wait_u32(600 ms) "
             "returned after %.1f ms", took);
    if (!PU_TELL(&c, 's') || !PU_FINISH(&c))
        goto out;
    int64_t wakes = ((const int64_t *)mms_array_data(report))[0];
    PU_CHECK(wakes >= 2, "the child made only %" PRId64 " wakes during the "
             "wait", wakes);
out:
    pu_reap(&c);
    mms_array_close(report);
    mms_array_close(a);
    mms_store_close(s);
}

/* Waits on flag[1] == 0 through a read-only handle of a read-only store,
 * then checks the value it was woken for. */
static void child_wait_read_only(void *arg)
{
    (void)arg;
    mms_store *s;
    mms_array *a;
    pu_child_ok(mms_store_open(g_path, MMS_RDONLY, &s),
                "mms_store_open(MMS_RDONLY) in the waiting child");
    child_open(&s, "flag", MMS_RDONLY, &a);
    pu_child_send('r');
    pu_child_ok(mms_wait_u32(a, 1, 0, -1), "mms_wait_u32(-1) through a "
                "read-only handle");
    int32_t v;
    pu_child_ok(mms_atomic_load_i32(a, 1, &v), "mms_atomic_load_i32 through "
                "a read-only handle");
    if (v != 7)
        pu_child_fail("woken with the flag at %" PRId32 ", expected 7", v);
    pu_child_send('o');
    pu_child_ok(mms_array_close(a), "mms_array_close in the waiting child");
    pu_child_ok(mms_store_close(s), "mms_store_close in the waiting child");
}

static void test_wait_and_wake_work_through_read_only_handles(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL, *ro = NULL;
    pu_child c = PU_CHILD_INIT;
    g_path = path;
    if (!make_array(path, &s, "flag", MMS_UINT32, 2, &a) ||
        !PU_OK(mms_array_sync(a)) ||
        !PU_OK(mms_array_open(s, "flag", MMS_RDONLY, &ro)))
        goto out;
    if (!PU_START(&c, "read-only waiter", child_wait_read_only, NULL) ||
        !PU_WAIT_FOR(&c, 'r', "is about to wait"))
        goto out;
    int early = PU_POLL_FOR(&c, 'o', "woke up", 200);
    if (early < 0 || !PU_CHECK(early == 0, "the read-only waiter returned "
                               "before the flag changed"))
        goto out;
    PU_OK(mms_atomic_store_i32(a, 1, 7));
    PU_OK(mms_wake(ro, 1, 0)); /* woken through a read-only handle */
    if (!PU_WAIT_FOR(&c, 'o', "woke up with the flag at 7"))
        goto out;
    PU_FINISH(&c);
out:
    pu_reap(&c);
    mms_array_close(ro);
    mms_array_close(a);
    mms_store_close(s);
}

/* Two waiters and one wake: each waiter records in report when it started
 * and returned, and the return code. To make "wakes one" observable, the
 * parent wakes only once the kernel shows both asleep in a futex wait. */

#define TW_TIMEOUT_MS 4000

typedef struct waiter_arg {
    int slot;
} waiter_arg;

static void child_timed_waiter(void *varg)
{
    const waiter_arg *w = varg;
    mms_store *s = NULL;
    mms_array *a, *report;
    child_open(&s, "flag", MMS_RDONLY, &a);
    child_open(&s, "report", MMS_RDWR, &report);
    pu_child_send('r');
    int64_t start = pu_now_ns();
    int rc = mms_wait_u32(a, 0, 0, TW_TIMEOUT_MS);
    int64_t end = pu_now_ns();
    pu_child_ok(mms_atomic_store_i64(report, 3 * w->slot, start), "report");
    pu_child_ok(mms_atomic_store_i64(report, 3 * w->slot + 1, end), "report");
    pu_child_ok(mms_atomic_store_i64(report, 3 * w->slot + 2, rc), "report");
    pu_child_ok(mms_array_close(report), "mms_array_close in a waiter");
    pu_child_ok(mms_array_close(a), "mms_array_close in a waiter");
    pu_child_ok(mms_store_close(s), "mms_store_close in a waiter");
}

/* True once /proc says pid sleeps in a futex wait (or, where wchan is
 * hidden, sleeps at all: after its last token the child makes no other
 * blocking call). */
static bool asleep_in_futex(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    if (!paren || paren[1] != ' ' || paren[2] != 'S')
        return false;
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return true;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "futex") != NULL || strcmp(buf, "0") == 0 || n == 0;
}

static void run_two_waiters(int count, int expect_woken)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *a = NULL, *report = NULL;
    pu_child c[2] = { PU_CHILD_INIT, PU_CHILD_INIT };
    waiter_arg wa[2] = { { 0 }, { 1 } };
    g_path = path;
    if (!make_array(path, &s, "flag", MMS_UINT32, 2, &a) ||
        !make_array(path, &s, "report", MMS_INT64, 6, &report) ||
        !PU_OK(mms_array_sync(a)))
        goto out;
    for (int i = 0; i < 2; i++)
        if (!PU_START(&c[i], "waiter", child_timed_waiter, &wa[i]) ||
            !PU_WAIT_FOR(&c[i], 'r', "is about to wait"))
            goto out;
    int64_t t0 = pu_now_ns();
    bool both = false;
    while (!both && pu_ms_since(t0) < TW_TIMEOUT_MS / 2) {
        both = asleep_in_futex(c[0].pid) && asleep_in_futex(c[1].pid);
        if (!both)
            pu_sleep_ms(2);
    }
    if (!PU_CHECK(both, "after %d ms the two waiters were not both asleep "
                  "in a futex wait (see /proc/PID/stat and wchan)",
                  TW_TIMEOUT_MS / 2))
        goto out;
    int64_t woke_at = pu_now_ns();
    PU_OK(mms_atomic_store_i32(a, 0, 1));
    PU_OK(mms_wake(a, 0, count));
    if (!PU_FINISH(&c[0]) || !PU_FINISH(&c[1]))
        goto out;
    const int64_t *r = mms_array_data(report);
    int woken = 0;
    for (int i = 0; i < 2; i++) {
        int64_t start = r[3 * i], end = r[3 * i + 1], rc = r[3 * i + 2];
        double slept = (double)(end - start) / 1e6;
        PU_CHECK(rc == MMS_OK, "waiter %d returned %" PRId64 " (%s), "
                 "expected MMS_OK: the value had changed", i, rc,
                 mms_strerror((int)rc));
        PU_CHECK(end >= woke_at, "waiter %d returned %.1f ms before the "
                 "wake", i, (double)(woke_at - end) / 1e6);
        if (slept < TW_TIMEOUT_MS - 1)
            woken++;
    }
    PU_CHECK(woken == expect_woken, "mms_wake(count %d) with two waiters "
             "asleep ended %d waits before their %d ms timeout, expected %d "
             "(waiter 0 slept %.1f ms, waiter 1 %.1f ms)", count, woken,
             TW_TIMEOUT_MS, expect_woken, (double)(r[1] - r[0]) / 1e6,
             (double)(r[4] - r[3]) / 1e6);
out:
    pu_reap(&c[0]);
    pu_reap(&c[1]);
    mms_array_close(report);
    mms_array_close(a);
    mms_store_close(s);
}

static void test_wake_with_count_1_wakes_exactly_one_of_two_waiters(void)
{
    run_two_waiters(1, 1);
}

static void test_wake_with_count_0_wakes_every_waiter(void)
{
    run_two_waiters(0, 2);
}

/* ---- 4. producer and consumer over a persistent ring -------------------- */

#define RING_SLOTS 64
#define RING_ITEMS 100000
#define RING_PAUSE_EVERY 1000
#define RING_PAUSE_MS 20

/* What each side reports, at report[4 * side + field] (side 0 is the
 * producer, 1 the consumer). */
enum { REP_CPU, REP_SLEPT, REP_WAIT_CPU, REP_WAIT_WALL, REP_FIELDS };

typedef struct ring_side {
    const char *who;
    int64_t slept;      /* ns in its own deliberate pauses */
    int64_t wait_cpu;   /* CPU ns used inside mms_wait_u32 */
    int64_t wait_wall;  /* wall ns spent inside mms_wait_u32 */
} ring_side;

static int64_t ring_item(int64_t i)
{
    return i * 7 + 3;
}

/* CPU time of the calling process (each side is single-threaded). */
static int64_t cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void ring_check(const ring_side *side, int rc, const char *what,
                       int64_t i)
{
    if (rc != MMS_OK)
        pu_child_fail("%s, item %" PRId64 ": %s returned %d (%s: %s)",
                      side->who, i, what, rc, mms_strerror(rc), mms_errmsg());
}

static void ring_pause(ring_side *side)
{
    int64_t t = pu_now_ns();
    pu_sleep_ms(RING_PAUSE_MS);
    side->slept += pu_now_ns() - t;
}

/* Sleeps while ctl[index] == seen, timing the wait in wall and CPU time. */
static void ring_wait(ring_side *side, mms_array *ctl, uint64_t index,
                      uint32_t seen, int64_t i)
{
    int64_t wall = pu_now_ns(), cpu = cpu_ns();
    ring_check(side, mms_wait_u32(ctl, index, seen, -1), "mms_wait_u32", i);
    side->wait_cpu += cpu_ns() - cpu;
    side->wait_wall += pu_now_ns() - wall;
}

static void ring_report(const ring_side *side, int n, int64_t cpu0)
{
    mms_store *s = NULL;
    mms_array *report;
    child_open(&s, "report", MMS_RDWR, &report);
    int64_t *r = (int64_t *)mms_array_data(report) + REP_FIELDS * n;
    r[REP_CPU] = cpu_ns() - cpu0;
    r[REP_SLEPT] = side->slept;
    r[REP_WAIT_CPU] = side->wait_cpu;
    r[REP_WAIT_WALL] = side->wait_wall;
    pu_child_ok(mms_array_close(report), "mms_array_close('report')");
    pu_child_ok(mms_store_close(s), "mms_store_close");
}

/* ctl[0] = items pushed (head), ctl[1] = items popped (tail), both
 * counting up; item i lives in ring[i % RING_SLOTS]. Every 1,000 items
 * the producer pauses; the consumer pauses half-way between. */
static void child_producer(void *arg)
{
    (void)arg;
    mms_store *s = NULL;
    mms_array *ring, *ctl;
    ring_side side = { .who = "producer" };
    child_open(&s, "ring", MMS_RDWR, &ring);
    child_open(&s, "ctl", MMS_RDWR, &ctl);
    pu_child_send('r');
    pu_child_expect('g');
    int64_t cpu0 = cpu_ns();
    uint32_t head = 0;
    for (int64_t i = 0; i < RING_ITEMS; i++) {
        if (i > 0 && i % RING_PAUSE_EVERY == 0)
            ring_pause(&side);
        for (;;) {
            int32_t tail;
            ring_check(&side, mms_atomic_load_i32(ctl, 1, &tail),
                       "loading the tail", i);
            if (head - (uint32_t)tail < RING_SLOTS)
                break;
            ring_wait(&side, ctl, 1, (uint32_t)tail, i); /* full */
        }
        ring_check(&side, mms_atomic_store_i64(ring, head % RING_SLOTS,
                                               ring_item(i)),
                   "storing the item", i);
        head++;
        ring_check(&side, mms_atomic_store_i32(ctl, 0, (int32_t)head),
                   "publishing the head", i);
        ring_check(&side, mms_wake(ctl, 0, 1), "waking the consumer", i);
    }
    ring_report(&side, 0, cpu0);
    pu_child_ok(mms_array_close(ctl), "mms_array_close in the producer");
    pu_child_ok(mms_array_close(ring), "mms_array_close in the producer");
    pu_child_ok(mms_store_close(s), "mms_store_close in the producer");
}

static void child_consumer(void *arg)
{
    (void)arg;
    mms_store *s = NULL;
    mms_array *ring, *ctl;
    ring_side side = { .who = "consumer" };
    child_open(&s, "ring", MMS_RDWR, &ring);
    child_open(&s, "ctl", MMS_RDWR, &ctl);
    pu_child_send('r');
    pu_child_expect('g');
    int64_t cpu0 = cpu_ns();
    uint32_t tail = 0;
    for (int64_t i = 0; i < RING_ITEMS; i++) {
        if (i % RING_PAUSE_EVERY == RING_PAUSE_EVERY / 2)
            ring_pause(&side);
        for (;;) {
            int32_t head;
            ring_check(&side, mms_atomic_load_i32(ctl, 0, &head),
                       "loading the head", i);
            if ((uint32_t)head != tail)
                break;
            ring_wait(&side, ctl, 0, tail, i); /* empty */
        }
        int64_t item;
        ring_check(&side, mms_atomic_load_i64(ring, tail % RING_SLOTS,
                                              &item),
                   "loading the item", i);
        if (item != ring_item(i))
            pu_child_fail("the consumer's item %" PRId64 " (slot %u) is %"
                          PRId64 ", expected %" PRId64, i,
                          tail % RING_SLOTS, item, ring_item(i));
        tail++;
        ring_check(&side, mms_atomic_store_i32(ctl, 1, (int32_t)tail),
                   "publishing the tail", i);
        ring_check(&side, mms_wake(ctl, 1, 1), "waking the producer", i);
    }
    ring_report(&side, 1, cpu0);
    pu_child_ok(mms_array_close(ctl), "mms_array_close in the consumer");
    pu_child_ok(mms_array_close(ring), "mms_array_close in the consumer");
    pu_child_ok(mms_store_close(s), "mms_store_close in the consumer");
}

static void test_ring_between_two_processes_delivers_every_item_once_in_order(void)
{
    const char *path = tu_store_path();
    mms_store *s = NULL;
    mms_array *ring = NULL, *ctl = NULL, *report = NULL;
    pu_child prod = PU_CHILD_INIT, cons = PU_CHILD_INIT;
    g_path = path;
    if (!make_array(path, &s, "ring", MMS_INT64, RING_SLOTS, &ring) ||
        !make_array(path, &s, "ctl", MMS_UINT32, 2, &ctl) ||
        !make_array(path, &s, "report", MMS_INT64, 2 * REP_FIELDS, &report))
        goto out;
    mms_array_close(ring);
    mms_array_close(ctl);
    mms_array_close(report);
    ring = ctl = report = NULL;
    if (!PU_START(&cons, "consumer", child_consumer, NULL) ||
        !PU_START(&prod, "producer", child_producer, NULL) ||
        !PU_WAIT_FOR(&cons, 'r', "opened the ring") ||
        !PU_WAIT_FOR(&prod, 'r', "opened the ring"))
        goto out;
    int64_t t0 = pu_now_ns();
    if (!PU_TELL(&cons, 'g') || !PU_TELL(&prod, 'g') ||
        !PU_FINISH(&prod) || !PU_FINISH(&cons))
        goto out;
    double wall = pu_ms_since(t0);

    /* The ring is persistent: a new store handle finds where it ended. */
    if (!PU_OK(mms_store_close(s)))
        goto out;
    s = NULL;
    if (!PU_OK(mms_store_open(path, MMS_RDONLY, &s)) ||
        !PU_OK(mms_array_open(s, "ctl", MMS_RDONLY, &ctl)) ||
        !PU_OK(mms_array_open(s, "ring", MMS_RDONLY, &ring)) ||
        !PU_OK(mms_array_open(s, "report", MMS_RDONLY, &report)))
        goto out;
    const uint32_t *c = mms_array_data(ctl);
    PU_CHECK(c[0] == RING_ITEMS && c[1] == RING_ITEMS, "after the run head "
             "and tail are %" PRIu32 " and %" PRIu32 ", expected %d and %d",
             c[0], c[1], RING_ITEMS, RING_ITEMS);
    const int64_t *d = mms_array_data(ring);
    for (int64_t i = RING_ITEMS - RING_SLOTS; i < RING_ITEMS; i++)
        if (!PU_CHECK(d[i % RING_SLOTS] == ring_item(i), "ring slot %d holds "
                      "%" PRId64 " after the run, expected item %" PRId64
                      " = %" PRId64, (int)(i % RING_SLOTS),
                      d[i % RING_SLOTS], i, ring_item(i)))
            break;

    /* No busy waiting. While one side pauses, the other soon finds the
     * ring empty (or full) and waits: it must spend most of the other's
     * pauses inside mms_wait_u32, using next to no CPU there. A spinning
     * wait would burn CPU for all that time. */
    const int64_t *r = mms_array_data(report);
    static const char *who[2] = { "producer", "consumer" };
    int pauses = RING_ITEMS / RING_PAUSE_EVERY - 1;
    for (int n = 0; n < 2; n++) {
        const int64_t *me = r + REP_FIELDS * n, *other = r + REP_FIELDS * !n;
        double slept = (double)other[REP_SLEPT] / 1e6;
        double wait_cpu = (double)me[REP_WAIT_CPU] / 1e6;
        double wait_wall = (double)me[REP_WAIT_WALL] / 1e6;
        double cpu = (double)me[REP_CPU] / 1e6;
        PU_CHECK(slept >= pauses * RING_PAUSE_MS * 0.99, "the %s slept %.0f "
                 "ms in its pauses, expected at least %d ms", who[!n], slept,
                 pauses * RING_PAUSE_MS);
        PU_CHECK(wait_wall >= slept / 2, "the %s spent %.0f ms in "
                 "mms_wait_u32 while the %s paused for %.0f ms", who[n],
                 wait_wall, who[!n], slept);
        PU_CHECK(wait_cpu < wait_wall / 4, "the %s used %.0f ms of CPU in "
                 "%.0f ms of mms_wait_u32: it spins instead of sleeping",
                 who[n], wait_cpu, wait_wall);
        /* Overall too, except under valgrind, whose CPU cost for the
         * 100,000 items alone can reach the pauses. */
        if (!RUNNING_ON_VALGRIND)
            PU_CHECK(cpu < slept / 2, "the %s used %.0f ms of CPU in all "
                     "while the %s paused for %.0f ms (wall %.0f ms)",
                     who[n], cpu, who[!n], slept, wall);
    }
    printf("\n    ring: %d items in %.0f ms; CPU (in waits) / wall in "
           "waits: producer %.0f (%.1f) / %.0f ms, consumer %.0f (%.1f) / "
           "%.0f ms\n    ", RING_ITEMS, wall, (double)r[REP_CPU] / 1e6,
           (double)r[REP_WAIT_CPU] / 1e6, (double)r[REP_WAIT_WALL] / 1e6,
           (double)r[REP_FIELDS + REP_CPU] / 1e6,
           (double)r[REP_FIELDS + REP_WAIT_CPU] / 1e6,
           (double)r[REP_FIELDS + REP_WAIT_WALL] / 1e6);
out:
    pu_reap(&prod);
    pu_reap(&cons);
    mms_array_close(report);
    mms_array_close(ctl);
    mms_array_close(ring);
    mms_store_close(s);
}

static const tu_test add_tests[] = {
    TU_TEST(test_atomic_add_i64_from_processes_and_threads_is_exact),
    TU_TEST(test_atomic_add_i32_from_processes_and_threads_is_exact),
    TU_END
};

static const tu_test semantics_tests[] = {
    TU_TEST(test_load_and_store_touch_only_their_element),
    TU_TEST(test_compare_exchange_swaps_only_when_equal),
    TU_TEST(test_add_returns_the_value_before_and_wraps_around),
    TU_TEST(test_unsigned_arrays_take_the_signed_forms_bit_for_bit),
    TU_TEST(test_unsuitable_dtypes_give_dtype_errors),
    TU_TEST(test_indexes_past_the_end_give_range_errors),
    TU_TEST(test_read_only_handle_loads_but_refuses_writes),
    TU_END
};

static const tu_test wait_tests[] = {
    TU_TEST(test_wait_returns_at_once_when_the_value_already_differs),
    TU_TEST(test_wait_times_out_while_the_value_stays_equal),
    TU_TEST(test_another_process_setting_and_waking_ends_a_wait),
    TU_TEST(test_wakes_without_a_change_do_not_end_a_wait),
    TU_TEST(test_wait_and_wake_work_through_read_only_handles),
    /* Slow: the waiter left asleep must reach its 4 s timeout. */
    TU_SLOW_TEST(test_wake_with_count_1_wakes_exactly_one_of_two_waiters),
    TU_TEST(test_wake_with_count_0_wakes_every_waiter),
    TU_END
};

static const tu_test ring_tests[] = {
    /* Slow: 100,000 items with 100 pauses of 20 ms on each side (4 s). */
    TU_SLOW_TEST(test_ring_between_two_processes_delivers_every_item_once_in_order),
    TU_END
};

static const tu_suite suites[] = {
    { "contended atomic adds", add_tests },
    { "atomic semantics and errors", semantics_tests },
    { "wait and wake", wait_tests },
    { "producer and consumer", ring_tests },
    { NULL, NULL }
};

int main(int argc, char **argv)
{
    /* A child that dies must not kill us through a pipe write. */
    signal(SIGPIPE, SIG_IGN);
    return tu_main(argc, argv, suites);
}
