/* sum.c - sharing beats copying: sum N int64 values (default 100 million,
 * 800 MB) three ways and compare the wall times:
 *   (a) one process sums its own mapping of the array;
 *   (b) W worker processes receive COPIES of their chunks through pipes
 *       from the parent, each reading into its own buffer;
 *   (c) W worker processes attach to the array by name and sum their chunk
 *       of the one shared mapping.
 * All three sums must equal n(n-1)/2 (the array holds 0, 1, ..., n-1).
 * usage: sum STORE_DIR [--count N] [--workers W]
 * build: cc -O2 -o sum sum.c $(pkg-config --cflags --libs mmstore)
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <mmstore.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAME "sum/values"
#define MAX_WORKERS 64
#define BUF_BYTES (1u << 20) /* pipe reads and writes, and the fill, by 1 MiB */

struct result {              /* what a worker sends back: < PIPE_BUF bytes, */
    int worker;              /* so each write to the shared pipe is atomic */
    uint64_t sum;
    double store_us;         /* (c) only: time to open the store */
    double array_us;         /* (c) only: time to open and map the array */
};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sum: %s: %s: %s\n", what, mms_strerror(rc), mms_errmsg());
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t sum_i64(const int64_t *x, uint64_t n)
{
    uint64_t s = 0;             /* unsigned: wraps instead of overflowing */
    for (uint64_t i = 0; i < n; i++)
        s += (uint64_t)x[i];
    return s;
}

/* Reads until len bytes or end of file; returns the bytes read, -1 on error. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r == 0)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0)
            got += (size_t)r;
    }
    return (ssize_t)got;
}

/* (b) worker: sum the int64 values that arrive on fd, 1 MiB at a time. */
static int copy_worker(int fd, struct result *res)
{
    int64_t *buf = malloc(BUF_BYTES);
    ssize_t got;
    if (buf == NULL)
        return 1;
    while ((got = read_full(fd, buf, BUF_BYTES)) > 0)
        res->sum += sum_i64(buf, (uint64_t)got / 8);
    free(buf);
    return got < 0;
}

/* (c) worker: a process of its own opens the store, attaches by name and
 * sums its rows of the shared mapping: nothing is copied. */
static int attach_worker(const char *dir, uint64_t first, uint64_t n,
                         struct result *res)
{
    mms_store *store = NULL;
    mms_array *array = NULL;
    int rc;
    double t0 = now(), t1;
    if ((rc = mms_store_open(dir, MMS_RDONLY, &store)) != MMS_OK)
        return fail("worker: open store", rc);
    t1 = now();
    if ((rc = mms_array_open(store, NAME, MMS_RDONLY, &array)) != MMS_OK) {
        mms_store_close(store);
        return fail("worker: open array", rc);
    }
    res->store_us = (t1 - t0) * 1e6;
    res->array_us = (now() - t1) * 1e6;
    res->sum = sum_i64((const int64_t *)mms_array_data(array) + first, n);
    if ((rc = mms_array_close(array)) != MMS_OK ||
        (rc = mms_store_close(store)) != MMS_OK)
        return fail("worker: close", rc);
    return 0;
}

/* Writes len bytes to fd; -1 on error (EPIPE if the reader died). */
static int write_full(int fd, const void *buf, size_t len)
{
    while (len > 0) {
        ssize_t r = write(fd, buf, len);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0) {
            buf = (const char *)buf + r;
            len -= (size_t)r;
        }
    }
    return 0;
}

/* Runs nw workers, (b) with x != NULL, else (c); adds up their results. */
static int run_workers(const char *dir, const int64_t *x, uint64_t n, int nw,
                       uint64_t *sum, struct result *res_w)
{
    int res[2], data[2], to_worker[MAX_WORKERS], ok = 1;
    pid_t pid[MAX_WORKERS];
    if (pipe(res) != 0)
        return -1;
    fflush(stdout);
    for (int w = 0; w < nw; w++) {
        if (x != NULL && pipe(data) != 0)
            return -1;
        if ((pid[w] = fork()) < 0)
            return -1;
        if (pid[w] == 0) {
            struct result r = {.worker = w};
            int status;
            close(res[0]);
            if (x != NULL) {        /* the write ends must all be closed */
                close(data[1]);     /* here, or the pipe never ends */
                for (int v = 0; v < w; v++)
                    close(to_worker[v]);
            }
            status = x != NULL ? copy_worker(data[0], &r)
                               : attach_worker(dir, n * w / nw,
                                               n * (w + 1) / nw - n * w / nw,
                                               &r);
            if (status == 0 && write(res[1], &r, sizeof r) != sizeof r)
                status = 1;
            _exit(status);
        }
        if (x != NULL) {
            close(data[0]);
            to_worker[w] = data[1];
            fcntl(data[1], F_SETPIPE_SZ, BUF_BYTES); /* copying's best case */
        }
    }
    close(res[1]);
    /* (b): the parent copies each worker's chunk into its pipe. */
    for (int w = 0; x != NULL && w < nw; w++) {
        const int64_t *chunk = x + n * w / nw;
        size_t len = (n * (w + 1) / nw - n * w / nw) * 8;
        if (ok && write_full(to_worker[w], chunk, len) != 0) {
            perror("sum: writing to a worker's pipe");
            ok = 0;
        }
        close(to_worker[w]);        /* end of file for the worker */
    }
    struct result r;
    *sum = 0;
    for (int w = 0; w < nw; w++) {
        if (read_full(res[0], &r, sizeof r) != sizeof r) {
            ok = 0;
            break;
        }
        *sum += r.sum;
        res_w[r.worker] = r;
    }
    close(res[0]);
    for (int w = 0; w < nw; w++) {
        int status;
        if (waitpid(pid[w], &status, 0) != pid[w] || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            ok = 0;
    }
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint64_t n = 100000000, sum_a, sum_b, sum_c;
    int nw = 4, rc, ret = 1, bad = argc < 2 || argc % 2 != 0;
    struct result res_w[MAX_WORKERS];
    double t;
    mms_store *store = NULL;
    mms_array *array = NULL;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            n = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--workers") == 0)
            nw = atoi(argv[i + 1]);
        else
            bad = 1;
    }
    if (bad || n < 1 || n > UINT32_MAX || nw < 1 ||
        nw > MAX_WORKERS) {
        fprintf(stderr, "usage: sum STORE_DIR [--count N] [--workers W]\n"
                        "  (1 <= N <= 2^32 - 1, 1 <= W <= %d)\n", MAX_WORKERS);
        return 2;
    }
    const char *dir = argv[1];
    signal(SIGPIPE, SIG_IGN);   /* a dead worker's pipe: EPIPE, not death */

    /* Create the array once: 0, 1, ..., n-1, written with mms_array_write
     * (pwrite, the fast path for bulk filling), then made durable. */
    if ((rc = mms_store_open(dir, MMS_CREATE, &store)) != MMS_OK)
        return fail("open store", rc);
    if ((rc = mms_remove(store, NAME)) != MMS_OK && rc != MMS_ERR_NOTFOUND) {
        fail("remove the previous run's array", rc);
        goto out;
    }
    t = now();
    rc = mms_array_create(store, NAME, MMS_INT64, 1, &n, 0, &array);
    if (rc != MMS_OK) {
        fail("create", rc);
        goto out;
    }
    int64_t *buf = malloc(BUF_BYTES);
    for (uint64_t i = 0; buf != NULL && i < n; i += BUF_BYTES / 8) {
        uint64_t k = n - i < BUF_BYTES / 8 ? n - i : BUF_BYTES / 8;
        for (uint64_t j = 0; j < k; j++)
            buf[j] = (int64_t)(i + j);
        if ((rc = mms_array_write(array, i * 8, buf, k * 8)) != MMS_OK)
            break;
    }
    free(buf);
    if (buf == NULL || rc != MMS_OK ||
        (rc = mms_array_sync(array)) != MMS_OK) {
        fail("fill", buf == NULL ? MMS_ERR_NOMEM : rc);
        goto out;
    }
    rc = mms_array_close(array);    /* each run below maps it afresh */
    array = NULL;
    if (rc != MMS_OK) {
        fail("close after filling", rc);
        goto out;
    }
    printf("%" PRIu64 " int64 values (%.0f MB) in '%s', %d workers\n", n,
           n * 8 / 1e6, NAME, nw);
    printf("create, fill, sync, close:                 %8.3f s\n", now() - t);

    /* (a) One process, its own mapping. */
    t = now();
    if ((rc = mms_array_open(store, NAME, MMS_RDONLY, &array)) != MMS_OK) {
        fail("open", rc);
        goto out;
    }
    sum_a = sum_i64(mms_array_data(array), n);
    double ta = now() - t;
    printf("(a) 1 process sums its mapping:            %8.3f s\n", ta);
    /* The same again: the pages are mapped now, so this pass shows what
     * memory bandwidth alone allows; the first pass also paid one page
     * fault per 4 KiB, as every fresh mapping below does. */
    t = now();
    if (sum_i64(mms_array_data(array), n) != sum_a) {
        fprintf(stderr, "sum: (a) the second pass gave another sum\n");
        goto out;
    }
    double t2 = now() - t;
    printf("    its second pass (pages already mapped): %8.3f s  %5.1f GB/s\n",
           t2, n * 8 / t2 / 1e9);

    /* (b) The parent reads its mapping (already faulted in by (a): the best
     * case for copying) and copies each chunk into a worker's pipe. */
    t = now();
    if (run_workers(dir, mms_array_data(array), n, nw, &sum_b, res_w)) {
        fprintf(stderr, "sum: (b) a worker failed\n");
        goto out;
    }
    double tb = now() - t;
    printf("(b) %2d workers get copies through pipes:   %8.3f s  %6.2fx (a)\n",
           nw, tb, tb / ta);

    /* (c) Each worker attaches by name: no copy. */
    t = now();
    if (run_workers(dir, NULL, n, nw, &sum_c, res_w)) {
        fprintf(stderr, "sum: (c) a worker failed\n");
        goto out;
    }
    double tc = now() - t;
    printf("(c) %2d workers attach by name:             %8.3f s  %6.2fx (a)"
           "  (b)/(c) = %.2f\n", nw, tc, tc / ta, tb / tc);
    printf("    each worker's attach, store open + array open:");
    for (int w = 0; w < nw; w++)
        printf(" %.0f+%.0f", res_w[w].store_us, res_w[w].array_us);
    printf(" us\n");

    /* n(n-1)/2, halving the even factor first so nothing overflows. */
    uint64_t want = n % 2 == 0 ? n / 2 * (n - 1) : (n - 1) / 2 * n;
    printf("sums: (a) %" PRIu64 ", (b) %" PRIu64 ", (c) %" PRIu64 "\n",
           sum_a, sum_b, sum_c);
    if (sum_a != want || sum_b != want || sum_c != want) {
        fprintf(stderr, "sum: expected n(n-1)/2 = %" PRIu64 "\n", want);
        goto out;
    }
    printf("all three equal n(n-1)/2 = %" PRIu64 ": OK\n", want);
    ret = 0;
out:
    if ((rc = mms_array_close(array)) != MMS_OK)
        ret = fail("close array", rc);
    if ((rc = mms_store_close(store)) != MMS_OK)
        ret = fail("close store", rc);
    return ret;
}
