/* counter.c - a counter shared by PROCS processes, each adding 1 to it
 * COUNT times, four ways, on four elements of one int64 array:
 *   (a) lock      read-modify-write under mms_lock_range on the element's
 *                 row: correct, a kernel lock and unlock per increment
 *   (b) no lock   plain read-modify-write: updates are lost
 *   (c) atomic    mms_atomic_add_i64: correct, no lock at all
 *   (d) C11       atomic_fetch_add on the element through mms_array_data:
 *                 the same instruction as (c), inlined
 * The processes of each way attach first, then start together. Each way
 * prints its final value, the lost updates and increments per second.
 * (a), (c) and (d) must lose nothing: the program fails if they do.
 * usage: counter STORE_DIR [PROCS [COUNT]]
 *   default 4 processes x 1000000 increments; (a) does COUNT / 10, since
 *   each of its increments costs two system calls
 * build: cc -O2 -o counter counter.c $(pkg-config --cflags --libs mmstore)
 */
#include <mmstore.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME "counter/counts"
enum way { LOCK, NO_LOCK, ATOMIC, C11, WAYS };
static const char *const way_name[WAYS] = {
    "(a) mms_lock_range", "(b) no lock", "(c) mms_atomic_add_i64",
    "(d) C11 atomic_fetch_add"};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "counter: %s: %s: %s\n", what, mms_strerror(rc),
            mms_errmsg());
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One process's share: count increments of element `way` (row `way` of
 * the (WAYS,) array). Its own store handle: a forked child must not use
 * its parent's. It attaches, then waits at the start line: the end of
 * file on `start`, when the parent closes the pipe's other end. */
static int increment(const char *dir, enum way way, long count, int start)
{
    mms_store *store = NULL;
    mms_array *a = NULL;
    int rc, ret = 1;
    if ((rc = mms_store_open(dir, 0, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_array_open(store, NAME, MMS_RDWR, &a)) != MMS_OK) {
        fail("open", rc);
        goto out;
    }
    int64_t *x = mms_array_data(a);
    char c;
    if (read(start, &c, 1) != 0) {
        fprintf(stderr, "counter: no start signal\n");
        goto out;
    }
    for (long i = 0; i < count; i++) {
        switch (way) {
        case LOCK: {
            mms_lock *lock;
            if ((rc = mms_lock_range(a, LOCK, 1, MMS_LOCK_EXCLUSIVE, -1,
                                     &lock)) != MMS_OK) {
                fail("lock", rc);
                goto out;
            }
            x[LOCK] = x[LOCK] + 1;
            /* The lock and unlock are system calls, which the compiler
             * cannot move the element's load and store across. */
            if ((rc = mms_unlock(lock)) != MMS_OK) {
                fail("unlock", rc);
                goto out;
            }
            break;
        }
        case NO_LOCK:
            /* volatile: one real load and one real store per increment,
             * as a program that forgot the lock would do. */
            ((volatile int64_t *)x)[NO_LOCK] += 1;
            break;
        case ATOMIC:
            mms_atomic_add_i64(a, ATOMIC, 1, NULL);
            break;
        default:
            /* The mapping is ordinary shared memory: C11 atomics work on
             * it between processes (a lock-free 8-byte atomic is a single
             * instruction on the cache line, whoever maps it). */
            atomic_fetch_add((_Atomic int64_t *)&x[C11], 1);
            break;
        }
    }
    ret = 0;
out:
    if ((rc = mms_array_close(a)) != MMS_OK)
        ret = fail("close", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}

/* Runs procs processes of one way at once; returns the seconds from
 * their start to the last one's exit, or a negative number if one failed.
 * (Waiting a moment for all to attach keeps their store opens out of the
 * time; a process not ready by then starts late, and is timed anyway.) */
static double run(const char *dir, enum way way, int procs, long count)
{
    pid_t pids[64];
    int ok = 1, start[2];
    if (pipe(start) != 0) {
        perror("counter: pipe");
        return -1;
    }
    fflush(stdout);
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            perror("counter: fork");
            procs = p;
            ok = 0;
            break;
        }
        if (pids[p] == 0) {
            close(start[1]);
            _exit(increment(dir, way, count, start[0]));
        }
    }
    close(start[0]);
    struct timespec settle = {0, 50000000}; /* 50 ms to attach */
    nanosleep(&settle, NULL);
    double t0 = now();
    close(start[1]); /* go */
    for (int p = 0; p < procs; p++) {
        int status;
        if (waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            ok = 0;
    }
    return ok ? now() - t0 : -1;
}

int main(int argc, char **argv)
{
    const uint64_t shape[1] = {WAYS};
    mms_store *store = NULL;
    mms_array *a = NULL;
    int rc, ret = 1;
    int procs = argc > 2 ? atoi(argv[2]) : 4;
    long count = argc > 3 ? atol(argv[3]) : 1000000;
    if (argc < 2 || argc > 4 || procs < 1 || procs > 64 || count < 10 ||
        count > 1000000000) {
        fprintf(stderr, "usage: counter STORE_DIR [PROCS 1..64 [COUNT "
                        ">= 10]]\n");
        return 2;
    }
    if ((rc = mms_store_open(argv[1], MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    /* A fresh counter each run: zeros, as every new array starts. */
    if ((rc = mms_remove(store, NAME)) != MMS_OK && rc != MMS_ERR_NOTFOUND) {
        fail("remove", rc);
        goto out;
    }
    if ((rc = mms_array_create(store, NAME, MMS_INT64, 1, shape, 0, &a)) !=
        MMS_OK) {
        fail("create", rc);
        goto out;
    }
    const int64_t *x = mms_array_data(a);
    printf("%d processes x %ld increments each ((a): %ld)\n", procs, count,
           count / 10);
    printf("%-26s %10s  %14s  %7s  %12s\n", "way", "counter", "lost",
           "time", "increments/s");
    int wrong = 0;
    for (enum way w = LOCK; w < WAYS; w++) {
        long n = w == LOCK ? count / 10 : count;
        int64_t want = (int64_t)procs * n;
        double s = run(argv[1], w, procs, n);
        if (s < 0) {
            fprintf(stderr, "counter: a process of %s failed\n", way_name[w]);
            goto out;
        }
        int64_t got = x[w]; /* the children's writes, in our mapping */
        printf("%-26s %10" PRId64 "  %7" PRId64 " (%3.0f%%)  %5.3f s  "
               "%12.0f\n", way_name[w], got, want - got,
               100.0 * (want - got) / want, s, want / s);
        if (w != NO_LOCK && got != want)
            wrong = 1;
        if (w == NO_LOCK && got > want)
            wrong = 1; /* more than the increments: impossible */
    }
    /* The counts are the array's data: make them durable like any. */
    if ((rc = mms_array_sync(a)) != MMS_OK) {
        fail("sync", rc);
        goto out;
    }
    if (wrong) {
        fprintf(stderr, "counter: a correct way lost increments\n");
        goto out;
    }
    printf("(a), (c) and (d) lost nothing: OK\n");
    ret = 0;
out:
    if ((rc = mms_array_close(a)) != MMS_OK)
        ret = fail("close", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
